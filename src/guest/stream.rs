//! The log in the stream the host grants (world `pathway-stream`): the
//! imported `stream` functions as the core's [`Stream`], and the core's
//! [`StreamLog`] behind the exports.

use super::{
    Backend, Cause, LogError, TooLarge, check_report, cursor_error, entry, refusal, repair_report,
    settings, wit,
};
use crate::config::Config;
use crate::error::Call;
use crate::stream::error::RemoteError;
use crate::stream::log::{StreamLog, StreamLogError};
use crate::stream::{Batch, Message, Outgoing, Stats, Stream, StreamError, Target, Topic};

use super::pathway::memory::stream as imported;

/// The host's stream, through the imported functions.
pub(super) struct Imported;

fn topic(t: Topic) -> imported::Topic {
    match t {
        Topic::Events => imported::Topic::Events,
        Topic::Snapshot => imported::Topic::Snapshot,
        Topic::Commit => imported::Topic::Commit,
        Topic::Quarantine => imported::Topic::Quarantine,
    }
}

fn from_topic(t: imported::Topic) -> Topic {
    match t {
        imported::Topic::Events => Topic::Events,
        imported::Topic::Snapshot => Topic::Snapshot,
        imported::Topic::Commit => Topic::Commit,
        imported::Topic::Quarantine => Topic::Quarantine,
    }
}

fn error(e: imported::StreamError) -> StreamError {
    match e {
        imported::StreamError::Unavailable(u) => StreamError::Unavailable {
            reason: u.reason,
            tries: u.tries,
            millis: u.millis,
            acked: u.acked,
        },
        imported::StreamError::Missing => StreamError::Missing,
        imported::StreamError::Denied(text) => StreamError::Denied(text),
        imported::StreamError::Conflict => StreamError::Conflict,
        imported::StreamError::Refused(text) => StreamError::Refused(text),
    }
}

fn message(m: imported::Message) -> Message {
    Message {
        seq: m.seq,
        headers: m.headers,
        payload: m.payload,
    }
}

impl Stream for Imported {
    fn target(&self) -> Target {
        let t = imported::target();
        Target {
            name: t.name,
            location: t.location,
        }
    }

    fn connect(&mut self) -> Result<u64, StreamError> {
        imported::connect().map_err(error)
    }

    fn publish(&mut self, messages: Vec<Outgoing>) -> Result<Vec<u64>, StreamError> {
        let messages: Vec<imported::Outgoing> = messages
            .into_iter()
            .map(|m| imported::Outgoing {
                topic: topic(m.topic),
                id: m.id,
                headers: m.headers,
                payload: m.payload,
                expect_last: m.expect_last,
            })
            .collect();
        imported::publish(&messages).map_err(error)
    }

    fn last(&mut self, t: Topic) -> Result<Option<Message>, StreamError> {
        imported::last(topic(t))
            .map(|m| m.map(message))
            .map_err(error)
    }

    fn read(&mut self, t: Topic, start: u64, max_bytes: u64) -> Result<Batch, StreamError> {
        let batch = imported::read(topic(t), start, max_bytes).map_err(error)?;
        Ok(Batch {
            messages: batch.messages.into_iter().map(message).collect(),
            end: batch.end,
        })
    }

    fn purge(&mut self, t: Topic, below: u64) -> Result<(), StreamError> {
        imported::purge(topic(t), below).map_err(error)
    }

    fn remove(&mut self, seq: u64) -> Result<(), StreamError> {
        imported::remove(seq).map_err(error)
    }

    fn stats(&mut self) -> Result<Stats, StreamError> {
        let stats = imported::stats().map_err(error)?;
        Ok(Stats {
            bytes: stats.bytes,
            counts: stats
                .counts
                .into_iter()
                .map(|(t, n)| (from_topic(t), n))
                .collect(),
        })
    }
}

pub(super) struct StreamStorage(StreamLog<Imported>);

/// A failure of the store as the typed error every host decides on.
fn remote_error(e: RemoteError) -> LogError {
    let cause = match &e {
        RemoteError::NoServer { .. }
        | RemoteError::ServerGone { .. }
        | RemoteError::Refused { .. } => Cause::Io,
        RemoteError::StreamMissing { .. } => Cause::NoDirectory,
        RemoteError::PermissionDenied { .. } => Cause::AccessDenied,
        RemoteError::Raced { .. } => Cause::Busy,
        RemoteError::OverMaxPayload {
            index,
            size,
            max_payload,
        } => Cause::TooLarge(TooLarge {
            index: u32::try_from(*index).unwrap_or(u32::MAX),
            size: *size,
            limit: *max_payload,
        }),
    };
    LogError {
        cause,
        message: e.to_string(),
    }
}

fn log_error(e: StreamLogError) -> LogError {
    match e {
        StreamLogError::Refused { call, index, error } => refusal(call, index, error),
        StreamLogError::Cursor(e) => cursor_error(e),
        StreamLogError::Remote(e) => remote_error(e),
        StreamLogError::Quota(q) => super::quota_exceeded(q),
    }
}

/// Until named logs are kept on streams, a named log must not alias the
/// stream's one log.
fn named_on_stream(name: &str) -> LogError {
    LogError {
        cause: Cause::Io,
        message: format!(
            "the log {name:?} cannot be opened: named logs are kept in directories only so \
             far, a stream holds one log; grant a directory for named logs"
        ),
    }
}

impl Backend for StreamStorage {
    fn open(config: Config) -> Result<Self, LogError> {
        if let Some(name) = &config.name {
            return Err(named_on_stream(name));
        }
        StreamLog::open(Imported, config)
            .map(StreamStorage)
            .map_err(log_error)
    }

    fn settings(&self) -> wit::Settings {
        // An ack means the store has the message (on a quorum of a
        // replicated stream's servers): there is nothing to sync.
        let name = self.0.target().name.clone();
        settings(self.0.config(), name, "ack".to_string())
    }

    fn append(&mut self, call: Call, events: &[String]) -> Result<(), LogError> {
        self.0.append(call, events).map_err(log_error)
    }

    fn page(&mut self, cursor: Option<&str>, max_bytes: u64) -> Result<wit::Page, LogError> {
        let page = self.0.page(cursor, max_bytes).map_err(log_error)?;
        Ok(wit::Page {
            entries: page.entries.into_iter().map(entry).collect(),
            // Every message is a whole line: a stream has no torn tail.
            tail: None,
            next: page.next,
            at_end: page.at_end,
        })
    }

    fn open_named(_config: &Config, name: &str) -> Result<Self, LogError> {
        Err(named_on_stream(name))
    }

    fn last(&mut self, count: u32) -> Result<wit::Recent, LogError> {
        let (entries, next) = self.0.last(count as usize).map_err(log_error)?;
        Ok(wit::Recent {
            entries: entries.into_iter().map(entry).collect(),
            next,
        })
    }

    fn delete(&mut self) -> Result<u64, LogError> {
        Err(named_on_stream(&self.0.target().name))
    }

    fn fork_to(&mut self, target: &str, _at: Option<&str>) -> Result<u64, LogError> {
        Err(named_on_stream(target))
    }

    fn logs(&mut self, after: Option<&str>, max: u32) -> Result<wit::LogList, LogError> {
        // The stream's one log, under the stream's name.
        let name = self.0.target().name.clone();
        if max == 0 || after.is_some_and(|after| name.as_str() <= after) {
            return Ok(wit::LogList {
                logs: Vec::new(),
                next: None,
            });
        }
        let bytes = self.0.stored_bytes().map_err(log_error)?;
        Ok(wit::LogList {
            logs: vec![wit::LogInfo { name, bytes }],
            next: None,
        })
    }

    fn sync(&mut self) -> Result<(), LogError> {
        Ok(())
    }

    fn compact(&mut self, snapshot: &[String], upto: &str) -> Result<wit::CompactReport, LogError> {
        let done = self.0.compact(snapshot, upto).map_err(log_error)?;
        Ok(wit::CompactReport {
            snapshot_records: done.snapshot_records,
            kept_bytes: done.kept_bytes,
            bytes_before: done.bytes_before,
            bytes_after: done.bytes_after,
        })
    }

    fn check(&mut self) -> Result<wit::CheckReport, LogError> {
        // A stream has no checksum file: the store checks what it keeps.
        let report = self.0.check().map_err(log_error)?;
        Ok(check_report(report, String::new()))
    }

    fn repair(&mut self) -> Result<wit::RepairReport, LogError> {
        let (sizes, removed, quarantine) = self.0.repair().map_err(log_error)?;
        Ok(repair_report(sizes, removed, quarantine))
    }
}
