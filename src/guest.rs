//! The wasm glue: bindings generated from `wit/`, the exported `log`
//! interface, and the one store of this instance. Every error crosses the
//! boundary here as a typed `log-error` whose message is made once, by the
//! `Display` of the error inside.

use std::cell::RefCell;

use crate::checksum::{self, Mismatch};
use crate::config::{Config, EPOCH_TICK_MS};
use crate::cursor::CursorError;
use crate::error::{
    Call, Damage, EventError, HostFailure, IoKind, LineError, Refusal, too_deep_reason,
};
use crate::format::encode_event;
use crate::frame::Frame;
use crate::pager::OwnedEntry;
use crate::rewrite::{self, DamagedLine, RewriteError};
use crate::store::WasiStore as Store;
use crate::store_error::{PageError, StoreError};

wit_bindgen::generate!({ world: "pathway", path: "wit" });

use exports::pathway::memory::log as wit;
use wit::{Cause, Guest, InvalidJson, LogError, TooLarge};

/// Bytes read per page when `replay` collects the whole log.
const REPLAY_PAGE: u64 = 4 << 20;

/// How often a whole-log replay starts over on a log replaced under it
/// before it gives up with the `stale-cursor` error.
const REPLAY_RESTARTS: u32 = 8;

thread_local! {
    /// Opened on first use; a configuration or directory error is kept and
    /// returned by every call, since neither can change in an instance.
    static STORE: RefCell<Option<Result<Store, LogError>>> = const { RefCell::new(None) };
}

/// Runs `f` on the store, opening it on first use.
fn with_store<R>(f: impl FnOnce(&mut Store) -> Result<R, LogError>) -> Result<R, LogError> {
    STORE.with_borrow_mut(|slot| {
        let store = slot.get_or_insert_with(|| {
            let config =
                Config::from_vars(|name| std::env::var(name).ok()).map_err(|e| LogError {
                    cause: Cause::InvalidConfig,
                    message: e.to_string(),
                })?;
            Store::open(config).map_err(store_error)
        });
        match store {
            Ok(store) => f(store),
            Err(e) => Err(e.clone()),
        }
    })
}

fn store_error(error: StoreError) -> LogError {
    let cause = match error.kind() {
        IoKind::NoDirectory => Cause::NoDirectory,
        IoKind::NotAFile => Cause::NotAFile,
        IoKind::AccessDenied => Cause::AccessDenied,
        IoKind::InsufficientSpace => Cause::InsufficientSpace,
        IoKind::Busy => Cause::Busy,
        IoKind::Other => Cause::Io,
    };
    LogError {
        cause,
        message: error.to_string(),
    }
}

fn cursor_error(error: CursorError) -> LogError {
    let cause = match error {
        CursorError::Invalid { .. } => Cause::InvalidCursor,
        CursorError::Stale { .. } => Cause::StaleCursor,
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
        RewriteError::Integrity(m) => LogError {
            message: m.to_string(),
            cause: Cause::Integrity(integrity(m)),
        },
        RewriteError::Cursor(e) => cursor_error(e),
        RewriteError::Store(e) => store_error(e),
    }
}

fn integrity(m: Mismatch) -> wit::Integrity {
    wit::Integrity {
        bytes: m.bytes,
        expected: checksum::hex(&m.expected),
        actual: m.actual.map(|a| checksum::hex(&a)),
    }
}

fn checksum_state(state: checksum::State) -> wit::Checksum {
    match state {
        checksum::State::None => wit::Checksum::None,
        checksum::State::Stale => wit::Checksum::Stale,
        checksum::State::Unreadable => wit::Checksum::Unreadable,
        checksum::State::Verified { bytes } => wit::Checksum::Verified(bytes),
        checksum::State::Mismatch(m) => wit::Checksum::Mismatch(integrity(m)),
    }
}

fn refusal(call: Call, index: usize, error: EventError) -> LogError {
    let message = Refusal {
        call,
        index,
        error: &error,
    }
    .to_string();
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let cause = match error {
        EventError::InvalidJson { offset, reason } => Cause::InvalidJson(InvalidJson {
            index,
            offset,
            reason,
        }),
        EventError::TooLarge { size, limit } => Cause::TooLarge(TooLarge { index, size, limit }),
        EventError::TooDeep { offset, limit } => Cause::InvalidJson(InvalidJson {
            index,
            offset,
            reason: too_deep_reason(offset, limit),
        }),
    };
    LogError { cause, message }
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

fn append_events(call: Call, events: &[String]) -> Result<(), LogError> {
    with_store(|store| {
        let frame = frame_events(call, events, store.config())?;
        store.append_frame(frame).map_err(store_error)
    })
}

fn damaged_line(damage: Damage, length: u64) -> wit::DamagedLine {
    let problem = match damage.error {
        LineError::InvalidUtf8 { .. } => wit::LineProblem::InvalidUtf8,
        LineError::InvalidJson { .. } => wit::LineProblem::InvalidJson,
        LineError::TooLarge { .. } => wit::LineProblem::TooLarge,
    };
    wit::DamagedLine {
        line: damage.line,
        offset: damage.offset,
        length,
        torn: damage.torn,
        problem,
        reason: damage.error.to_string(),
        message: damage.to_string(),
    }
}

fn entry(entry: OwnedEntry) -> wit::Entry {
    let length = entry.length;
    entry.record.map_err(|damage| damaged_line(damage, length))
}

fn reported(line: DamagedLine) -> wit::DamagedLine {
    damaged_line(line.damage, line.length)
}

/// Every entry of the log, page by page; starts over on a log replaced
/// under it (a compaction or repair by another instance), so the result is
/// one log's records, never a mix.
fn replay_entries() -> Result<Vec<wit::Entry>, LogError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    let mut restarts = 0;
    loop {
        let page = with_store(|store| {
            store
                .page(cursor.as_deref(), REPLAY_PAGE)
                .map_err(page_error)
        });
        match page {
            Err(LogError {
                cause: Cause::StaleCursor,
                ..
            }) if restarts < REPLAY_RESTARTS => {
                restarts += 1;
                entries.clear();
                cursor = None;
            }
            Err(error) => return Err(error),
            Ok((page, next)) => {
                entries.extend(page.entries.into_iter().map(entry));
                if page.at_end {
                    entries.extend(page.tail.map(entry));
                    return Ok(entries);
                }
                cursor = Some(next.encode());
            }
        }
    }
}

struct Component;

impl Guest for Component {
    fn open_log() -> Result<wit::Settings, LogError> {
        with_store(|store| {
            let config = store.config();
            Ok(wit::Settings {
                log_name: config.log_name.clone(),
                max_line: config.max_line,
                max_depth: config.max_depth,
                sync: config.sync.to_string(),
                epoch_tick_ms: EPOCH_TICK_MS,
            })
        })
    }

    fn append(event: String) {
        if let Err(error) = Self::try_append(event) {
            // The documented trap: `append` has no error channel.
            panic!("{}", crate::error::append_trap_text(&error.message));
        }
    }

    fn try_append(event: String) -> Result<(), LogError> {
        append_events(Call::Append, std::slice::from_ref(&event))
    }

    fn append_batch(events: Vec<String>) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        append_events(Call::Batch, &events)
    }

    fn replay() -> Vec<Result<String, String>> {
        match replay_entries() {
            Ok(entries) => entries
                .into_iter()
                .map(|entry| entry.map_err(|damaged| damaged.message))
                .collect(),
            Err(error) => vec![Err(error.message)],
        }
    }

    fn replay_entries() -> Result<Vec<wit::Entry>, LogError> {
        replay_entries()
    }

    fn sync() -> Result<(), LogError> {
        with_store(|store| store.sync().map_err(store_error))
    }

    fn replay_page(cursor: Option<String>, max_bytes: u32) -> Result<wit::Page, LogError> {
        let (page, next) = with_store(|store| {
            store
                .page(cursor.as_deref(), u64::from(max_bytes))
                .map_err(page_error)
        })?;
        Ok(wit::Page {
            entries: page.entries.into_iter().map(entry).collect(),
            tail: page.tail.map(entry),
            next: next.encode(),
            at_end: page.at_end,
        })
    }

    fn compact(snapshot: Vec<String>, upto: String) -> Result<wit::CompactReport, LogError> {
        with_store(|store| {
            let frame = frame_events(Call::Snapshot, &snapshot, store.config())?;
            let (rewritten, kept_bytes) =
                rewrite::compact(store, &frame, &upto).map_err(rewrite_error)?;
            Ok(wit::CompactReport {
                snapshot_records: snapshot.len() as u64,
                kept_bytes,
                bytes_before: rewritten.bytes_before,
                bytes_after: rewritten.bytes_after,
            })
        })
    }

    fn check() -> Result<wit::CheckReport, LogError> {
        with_store(|store| {
            let report = rewrite::check(store).map_err(store_error)?;
            let checksum_message = report.checksum.message(&store.config().log_name);
            Ok(wit::CheckReport {
                bytes: report.bytes,
                records: report.records,
                damaged: report.damaged.into_iter().map(reported).collect(),
                torn_tail: report.torn_tail,
                leftovers: report.leftovers,
                too_deep: report
                    .too_deep
                    .into_iter()
                    .map(|d| wit::DeepLine {
                        line: d.line,
                        offset: d.offset,
                        at: d.at,
                    })
                    .collect(),
                checksum: checksum_state(report.checksum),
                checksum_message,
            })
        })
    }

    fn repair() -> Result<wit::RepairReport, LogError> {
        with_store(|store| {
            let (rewritten, removed, quarantine) = rewrite::repair(store).map_err(rewrite_error)?;
            Ok(wit::RepairReport {
                removed: removed.into_iter().map(reported).collect(),
                quarantine,
                bytes_before: rewritten.bytes_before,
                bytes_after: rewritten.bytes_after,
            })
        })
    }

    fn host_message(failure: wit::HostFailure) -> String {
        let failure = match failure {
            wit::HostFailure::Deadline(millis) => HostFailure::Deadline { millis },
            wit::HostFailure::MemoryCap(wit::MemoryCap { wanted, cap }) => {
                HostFailure::MemoryCap { wanted, cap }
            }
        };
        failure.to_string()
    }
}

export!(Component);
