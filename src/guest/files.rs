//! The file log in the preopened directory (world `pathway`).

use super::{
    Backend, Cause, LogError, check_report, cursor_error, entry, integrity, quota_exceeded,
    refusal, repair_report, settings, wit,
};
use crate::config::Config;
use crate::error::{Call, IoKind};
use crate::fork::ForkError;
use crate::format::encode_event;
use crate::frame::Frame;
use crate::rewrite::{self, RewriteError};
use crate::store::WasiStore;
use crate::store_error::{PageError, StoreError};

pub(super) struct Files(WasiStore);

fn store_error(error: StoreError) -> LogError {
    if let StoreError::QuotaExceeded(q) = error {
        return quota_exceeded(q);
    }
    let cause = match error.kind() {
        IoKind::NoDirectory => Cause::NoDirectory,
        IoKind::NotAFile => Cause::NotAFile,
        IoKind::AccessDenied => Cause::AccessDenied,
        IoKind::InsufficientSpace => Cause::InsufficientSpace,
        IoKind::Busy => Cause::Busy,
        IoKind::Deleted => Cause::Deleted,
        IoKind::QuotaExceeded => Cause::Io,
        IoKind::Other => Cause::Io,
    };
    LogError {
        cause,
        message: error.to_string(),
    }
}

fn page_error(error: PageError) -> LogError {
    match error {
        PageError::Cursor(e) => cursor_error(e),
        PageError::Store(e) => store_error(e),
    }
}

fn rewrite_error(error: RewriteError) -> LogError {
    match error {
        RewriteError::Busy { .. }
        | RewriteError::TakenOver { .. }
        | RewriteError::Replaced { .. } => LogError {
            cause: Cause::Busy,
            message: error.to_string(),
        },
        RewriteError::HardLinked { .. } => LogError {
            cause: Cause::Io,
            message: error.to_string(),
        },
        RewriteError::NoLog { .. } => LogError {
            cause: Cause::NoLog,
            message: error.to_string(),
        },
        RewriteError::Integrity(m) => LogError {
            message: m.to_string(),
            cause: Cause::Integrity(integrity(m)),
        },
        RewriteError::Cursor(e) => cursor_error(e),
        RewriteError::Store(e) => store_error(e),
    }
}

/// Validates every event and frames them, or names the first refused.
fn frame_events(call: Call, events: &[String], config: &Config) -> Result<Frame, LogError> {
    // Sized for the events plus their `\n`s (and a `\n` that may lead), so
    // the bytes are copied once, straight into the frame.
    let bytes = events.iter().map(|e| e.len() + 1).sum::<usize>() + 1;
    let mut frame = Frame::with_capacity(bytes, events.len());
    for (i, event) in events.iter().enumerate() {
        let line = encode_event(event, config.max_line, config.max_depth)
            .map_err(|e| refusal(call, i, e))?;
        frame.push(&line);
    }
    Ok(frame)
}

impl Backend for Files {
    fn open(config: Config) -> Result<Self, LogError> {
        WasiStore::open(config).map(Files).map_err(store_error)
    }

    fn settings(&self) -> wit::Settings {
        let config = self.0.config();
        settings(config, config.log_name.clone(), config.sync.to_string())
    }

    fn append(&mut self, call: Call, events: &[String]) -> Result<(), LogError> {
        let frame = frame_events(call, events, self.0.config())?;
        self.0.append_frame(frame).map_err(store_error)
    }

    fn page(&mut self, cursor: Option<&str>, max_bytes: u64) -> Result<wit::Page, LogError> {
        let (page, next) = self.0.page(cursor, max_bytes).map_err(page_error)?;
        Ok(wit::Page {
            entries: page.entries.into_iter().map(entry).collect(),
            tail: page.tail.map(entry),
            next: next.encode(),
            at_end: page.at_end,
        })
    }

    fn last(&mut self, count: u32) -> Result<wit::Recent, LogError> {
        let (entries, next) = self.0.last(count as usize).map_err(page_error)?;
        Ok(wit::Recent {
            entries: entries.into_iter().map(entry).collect(),
            next: next.encode(),
        })
    }

    fn logs(&mut self, after: Option<&str>, max: u32) -> Result<wit::LogList, LogError> {
        let list = self.0.logs(after, max as usize).map_err(store_error)?;
        Ok(wit::LogList {
            logs: list
                .logs
                .into_iter()
                .map(|l| wit::LogInfo {
                    name: l.name,
                    bytes: l.bytes,
                })
                .collect(),
            next: list.next,
        })
    }

    fn delete(&mut self) -> Result<u64, LogError> {
        crate::rewrite::delete(&mut self.0).map_err(rewrite_error)
    }

    fn fork_to(&mut self, target: &str, at: Option<&str>) -> Result<u64, LogError> {
        let target = crate::names::file_name(target).map_err(|e| LogError {
            cause: Cause::InvalidName,
            message: e.to_string(),
        })?;
        self.0.fork_to(&target, at).map_err(|error| match error {
            ForkError::NoLog { .. } => LogError {
                cause: Cause::NoLog,
                message: error.to_string(),
            },
            ForkError::Exists { .. } | ForkError::Tombstone { .. } => LogError {
                cause: Cause::LogExists,
                message: error.to_string(),
            },
            ForkError::Cursor(e) => {
                let mut e = cursor_error(e);
                e.message
                    .push_str(" (a fork's cursor must come from the log it forks)");
                e
            }
            ForkError::Store(e) => store_error(e),
        })
    }

    fn sync(&mut self) -> Result<(), LogError> {
        self.0.sync().map_err(store_error)
    }

    fn compact(&mut self, snapshot: &[String], upto: &str) -> Result<wit::CompactReport, LogError> {
        let frame = frame_events(Call::Snapshot, snapshot, self.0.config())?;
        let (rewritten, kept_bytes) =
            rewrite::compact(&mut self.0, &frame, upto).map_err(rewrite_error)?;
        Ok(wit::CompactReport {
            snapshot_records: snapshot.len() as u64,
            kept_bytes,
            bytes_before: rewritten.bytes_before,
            bytes_after: rewritten.bytes_after,
        })
    }

    fn check(&mut self) -> Result<wit::CheckReport, LogError> {
        let report = rewrite::check(&self.0).map_err(store_error)?;
        let message = report.checksum.message(&self.0.config().log_name);
        Ok(check_report(report, message))
    }

    fn repair(&mut self) -> Result<wit::RepairReport, LogError> {
        let (sizes, removed, quarantine) = rewrite::repair(&mut self.0).map_err(rewrite_error)?;
        Ok(repair_report(sizes, removed, quarantine))
    }
}
