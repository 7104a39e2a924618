//! [`NatsLog`]: the log interface served from a NATS JetStream stream
//! instead of a file, for hosts that run one agent on several machines.
//!
//! Events are validated and refused by the component's own code
//! (`pathway_memory::format`), with the same limit (`PATHWAY_MAX_LINE`)
//! and the same words; failures of the server are worded once in
//! `pathway_memory::remote_error` and mapped onto the WIT causes.
//!
//! ## Layout of a stream `S`
//! - `pathway.S.events`: one message per event, its payload the stored
//!   line (without `\n`). Each carries a `Nats-Msg-Id`, so an append that
//!   is retried (after a lost ack, or by the caller with the same events)
//!   is stored once within the stream's duplicate window.
//! - `pathway.S.snapshot`: the events of compaction snapshots.
//! - `pathway.S.commit`: one message per compaction or repair; the last
//!   one names the snapshot in force (`Pathway-First`, `Pathway-Count`)
//!   and the last event sequence it folds (`Pathway-Upto`). It is the
//!   commit point: replay reads that snapshot, then the events after
//!   `Pathway-Upto`. Cursors are bound to it, so one made before a
//!   compaction or repair is `stale-cursor`, as with the file log.
//! - `pathway.S.quarantine`: what `repair` removed, with the sequence
//!   each had (`Pathway-Seq`).
//!
//! ## Compaction, and a crash in it
//! 1. publish the snapshot's events, 2. publish the commit (with
//!    `Nats-Expected-Last-Subject-Sequence`: a concurrent compaction
//!    fails `busy`), 3. purge the events up to the cursor and the older
//!    snapshots and commits. A crash before 2 leaves an unreferenced
//!    partial snapshot: replay ignores it and the next compaction purges
//!    it. A crash after 2 leaves old events that replay already skips
//!    (they are at or before `Pathway-Upto`). Events published after the
//!    cursor are never purged.

mod cursor;
mod wire;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pathway_memory::config::Config;
use pathway_memory::cursor::CursorError;
use pathway_memory::error::{Call, Damage, EventError, LineError, Refusal};
use pathway_memory::format;
use pathway_memory::remote_error::{Leftover, RemoteError};

use crate::bindings::exports::pathway::memory::log::HostFailure as WitHostFailure;
use crate::{
    Cause, CheckReport, Checksum, CompactReport, DamagedLine, DeepLine, Entry, Error, InvalidJson,
    LineProblem, LogError, Options, Page, RepairReport, Settings, TooLarge, TrapKind,
};
use cursor::{NatsCursor, Phase};
use wire::{Commit, Wire};

/// Where a [`NatsLog`] lives: a server (or cluster) URL and a stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// `nats://host:port`; several, comma-separated, for a cluster.
    pub url: String,
    /// The JetStream stream (letters, digits, `-`, `_`).
    pub stream: String,
    /// Create the stream with this many replicas (1 or 3, say) when it
    /// does not exist; `None`: a missing stream is an error that says how
    /// to create it.
    pub create_replicas: Option<usize>,
}

/// The log interface on a JetStream stream. Synchronous, like
/// [`Memory`](crate::Memory): each call runs on a runtime of its own.
pub struct NatsLog {
    /// Boxed: the stream handle carries its whole info.
    wire: Box<Wire>,
    target: NatsTarget,
    options: Options,
    settings: Settings,
    /// Unique per handle: the prefix of its message ids.
    writer: String,
    sent: u64,
    /// The events and message ids of the last append that failed with an
    /// unknown outcome: appending the same events again reuses the ids, so
    /// the server stores each once.
    unsettled: Option<(Vec<String>, Vec<String>)>,
}

impl NatsLog {
    /// Connects to `target` and opens its stream (creating it when asked).
    pub fn open(target: NatsTarget, options: Options) -> Result<NatsLog, Error> {
        // The limits as the component reads them from its environment: the
        // same defaults, ranges and words.
        let config = Config::from_vars(|name| match name {
            "PATHWAY_MAX_LINE" => options.max_line.map(|n| n.to_string()),
            "PATHWAY_MAX_DEPTH" => options.max_depth.map(|n| n.to_string()),
            _ => None,
        })
        .map_err(|e| {
            Error::Log(LogError {
                cause: Cause::InvalidConfig,
                message: e.to_string(),
            })
        })?;
        let deadline = options.call_timeout.min(Duration::from_secs(30));
        let wire = Box::new(Wire::connect(&target, deadline).map_err(|e| remote(&e))?);
        let settings = Settings {
            log_name: target.stream.clone(),
            max_line: config.max_line,
            max_depth: config.max_depth,
            sync: "ack".to_string(),
            epoch_tick_ms: pathway_memory::config::EPOCH_TICK_MS,
        };
        Ok(NatsLog {
            wire,
            writer: writer_id(),
            target,
            options,
            settings,
            sent: 0,
            unsettled: None,
        })
    }

    /// Deletes the stream and everything in it, for good.
    pub fn delete_stream(self) -> Result<(), Error> {
        self.wire.delete_stream().map_err(|e| remote(&e))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn target(&self) -> &NatsTarget {
        &self.target
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// Appends one event and waits for the stream's ack. A refused event
    /// is an [`Error::Trap`] of kind [`TrapKind::Guest`] with the words the
    /// component's `append` traps with, as [`Memory::append`](crate::Memory)
    /// gives it; other failures are as for [`NatsLog::try_append`].
    pub fn append(&mut self, event: &str) -> Result<(), Error> {
        self.try_append(event).map_err(|error| match error {
            Error::Log(refused)
                if matches!(refused.cause, Cause::InvalidJson(_) | Cause::TooLarge(_)) =>
            {
                let text = pathway_memory::error::append_trap_text(&refused.message);
                Error::Trap {
                    kind: TrapKind::Guest,
                    message: text.clone(),
                    stderr: text,
                }
            }
            other => other,
        })
    }

    /// Appends one event: validated, published, acknowledged.
    pub fn try_append(&mut self, event: &str) -> Result<(), Error> {
        self.publish(Call::Append, &[event])
    }

    /// Validates every event, then publishes them all and waits for every
    /// ack. A refusal stores nothing. If the server goes away for longer
    /// than the call timeout, the error says how many were acknowledged;
    /// calling again with the same events stores the rest once.
    pub fn append_batch<S: AsRef<str>>(&mut self, events: &[S]) -> Result<(), Error> {
        self.publish(Call::Batch, events)
    }

    fn publish<S: AsRef<str>>(&mut self, call: Call, events: &[S]) -> Result<(), Error> {
        let max_line = self.settings.max_line;
        let max_depth = self.settings.max_depth;
        let mut lines = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let line = format::encode_event(event.as_ref(), max_line, max_depth)
                .map_err(|e| Error::Log(refusal(call, index, e)))?;
            lines.push(line.into_owned());
        }
        let ids = match &self.unsettled {
            Some((last, ids)) if *last == lines => ids.clone(),
            _ => {
                let ids: Vec<String> = (0..lines.len())
                    .map(|i| format!("{}-{}", self.writer, self.sent + i as u64))
                    .collect();
                self.sent += lines.len() as u64;
                ids
            }
        };
        let subject = self.wire.subjects.events.clone();
        let messages = lines
            .iter()
            .zip(&ids)
            .map(|(line, id)| (subject.clone(), line.clone(), wire::msg_id(id)))
            .collect();
        match self.wire.publish_all(messages, self.options.call_timeout) {
            Ok(_) => {
                self.unsettled = None;
                Ok(())
            }
            Err(e) => {
                if matches!(e, RemoteError::ServerGone { .. }) {
                    self.unsettled = Some((lines, ids));
                }
                Err(remote(&e))
            }
        }
    }

    /// Every entry, page by page; starts over if a compaction or repair
    /// commits meanwhile, so the result is one state's entries, never a mix.
    pub fn replay(&mut self) -> Result<Vec<Entry>, Error> {
        let mut restarts = 0;
        'again: loop {
            let mut entries = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = match self.replay_page(cursor.as_deref(), 4 << 20) {
                    Err(Error::Log(LogError {
                        cause: Cause::StaleCursor,
                        ..
                    })) if restarts < 8 => {
                        restarts += 1;
                        continue 'again;
                    }
                    other => other?,
                };
                entries.extend(page.entries);
                if page.at_end {
                    return Ok(entries);
                }
                cursor = Some(page.next);
            }
        }
    }

    /// The WIT `replay`'s shape: `Err("line N: ...")` for a damaged entry.
    pub fn replay_text(&mut self) -> Result<Vec<Result<String, String>>, Error> {
        Ok(self
            .replay()?
            .into_iter()
            .map(|e| e.map_err(|d| d.message))
            .collect())
    }

    /// An ack already means the stream stored the message (on a quorum of
    /// an R3 stream's servers); when that reaches the disk is the servers'
    /// `sync_interval`. Nothing to do here.
    pub fn sync(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Entries from `cursor` until about `max_bytes` of payload were read
    /// (at least one entry when there is one). Memory stays bounded by the
    /// page, whatever the stream's size.
    pub fn replay_page(&mut self, cursor: Option<&str>, max_bytes: u32) -> Result<Page, Error> {
        let max_line = self.settings.max_line;
        let timeout = self.options.call_timeout;
        let commit = self.wire.commit(timeout).map_err(|e| remote(&e))?;
        let mut at = self.start(cursor, &commit)?;
        let mut entries = Vec::new();
        let budget = u64::from(max_bytes);
        let mut read = 0u64;
        let mut at_end = false;
        while read == 0 || read < budget {
            if at.phase == Phase::Snapshot {
                // A snapshot is read a message at a time: it is what one
                // host folded, small next to the events.
                if let Some((seq, payload)) = self.next_message(&mut at, &commit, false)? {
                    read += take(&mut at, &mut entries, seq, &payload, max_line);
                    continue;
                }
            }
            let subject = self.wire.subjects.events.clone();
            let (batch, end) = self
                .wire
                .read_from(
                    &subject,
                    at.commit,
                    at.seq,
                    budget.saturating_sub(read).max(1),
                    timeout,
                )
                .map_err(|e| remote(&e))?;
            for (seq, payload) in batch {
                read += take(&mut at, &mut entries, seq, &payload, max_line);
            }
            if end {
                at_end = true;
                break;
            }
        }
        Ok(Page {
            entries,
            tail: None,
            next: at.encode(),
            at_end,
        })
    }

    /// A cursor at the end of the log as it is now.
    pub fn end_cursor(&mut self) -> Result<String, Error> {
        let mut cursor = None;
        loop {
            let page = self.replay_page(cursor.as_deref(), 4 << 20)?;
            if page.at_end {
                return Ok(page.next);
            }
            cursor = Some(page.next);
        }
    }

    /// Where `cursor` starts reading, checked against the commit in force.
    fn start(&self, cursor: Option<&str>, commit: &Option<Commit>) -> Result<NatsCursor, Error> {
        let commit_seq = commit.as_ref().map_or(0, |c| c.seq);
        let Some(text) = cursor else {
            return Ok(match commit {
                Some(c) if c.count > 0 => NatsCursor {
                    commit: c.seq,
                    phase: Phase::Snapshot,
                    seq: c.first,
                    index: 0,
                    lines: 0,
                    offset: 0,
                },
                _ => NatsCursor {
                    commit: commit_seq,
                    phase: Phase::Events,
                    seq: commit.as_ref().map_or(1, |c| c.upto + 1),
                    index: 0,
                    lines: 0,
                    offset: 0,
                },
            });
        };
        let at = NatsCursor::decode(text).map_err(|e| Error::Log(cursor_error(&e)))?;
        if at.commit != commit_seq {
            return Err(Error::Log(cursor_error(&CursorError::Stale {
                reason: "a compaction or repair of the stream committed since it was made",
            })));
        }
        Ok(at)
    }

    /// The next message of the log after `at` (moving from the snapshot to
    /// the events when the snapshot is done): its sequence and payload.
    /// With `all` false, only snapshot messages: `None` once the snapshot
    /// is done (the cursor then stands at the first event).
    fn next_message(
        &mut self,
        at: &mut NatsCursor,
        commit: &Option<Commit>,
        all: bool,
    ) -> Result<Option<(u64, Vec<u8>)>, Error> {
        let timeout = self.options.call_timeout;
        if at.phase == Phase::Snapshot {
            if commit.as_ref().is_some_and(|c| at.index < c.count) {
                let subject = self.wire.subjects.snapshot.clone();
                let id = commit.as_ref().map(|c| c.id.as_str());
                loop {
                    let found = self
                        .wire
                        .next_on(&subject, at.seq, timeout)
                        .map_err(|e| remote(&e))?;
                    match found {
                        Some((seq, payload, ours)) if ours.as_deref() == id => {
                            at.index += 1;
                            return Ok(Some((seq, payload)));
                        }
                        // A message of a compaction that did not commit.
                        Some((seq, ..)) => at.seq = seq + 1,
                        None => {
                            return Err(Error::Log(cursor_error(&CursorError::Stale {
                                reason: "the snapshot it points into was purged",
                            })));
                        }
                    }
                }
            }
            at.phase = Phase::Events;
            at.index = 0;
            at.seq = commit.as_ref().map_or(1, |c| c.upto + 1);
            if !all {
                return Ok(None);
            }
        }
        let subject = self.wire.subjects.events.clone();
        let found = self
            .wire
            .next_on(&subject, at.seq, timeout)
            .map_err(|e| remote(&e))?;
        Ok(found.map(|(seq, payload, _)| (seq, payload)))
    }

    /// Replaces everything up to `upto` by `snapshot` (see the module docs
    /// for the steps and what a crash between them leaves).
    pub fn compact<S: AsRef<str>>(
        &mut self,
        snapshot: &[S],
        upto: &str,
    ) -> Result<CompactReport, Error> {
        let max_line = self.settings.max_line;
        let max_depth = self.settings.max_depth;
        let mut lines = Vec::with_capacity(snapshot.len());
        for (index, event) in snapshot.iter().enumerate() {
            let line = format::encode_event(event.as_ref(), max_line, max_depth)
                .map_err(|e| Error::Log(refusal(Call::Snapshot, index, e)))?;
            lines.push(line.into_owned());
        }
        let timeout = self.options.call_timeout;
        let commit = self.wire.commit(timeout).map_err(|e| remote(&e))?;
        let at = self.start(Some(upto), &commit)?;
        let folded = match (at.phase, &commit) {
            (Phase::Events, _) => at.seq.saturating_sub(1),
            // Read to the snapshot's end, not yet past it: the same point.
            (Phase::Snapshot, Some(c)) if at.index >= c.count => c.upto,
            (Phase::Snapshot, _) => {
                return Err(Error::Log(cursor_error(&CursorError::Stale {
                    reason: "it points into the snapshot; compact up to a cursor past it",
                })));
            }
        };
        let bytes_before = self.wire.stored_bytes(timeout).map_err(|e| remote(&e))?;
        let id = format!("{}-c{}", self.writer, self.sent);
        self.sent += 1;
        let subject = self.wire.subjects.snapshot.clone();
        let messages = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let mut headers = wire::msg_id(&format!("{id}-{i}"));
                headers.insert(wire::SNAPSHOT, id.as_str());
                (subject.clone(), line.clone(), headers)
            })
            .collect();
        let seqs = self
            .wire
            .publish_all(messages, timeout)
            .map_err(|e| remote(&e))?;
        let next = Commit {
            seq: 0,
            id: id.clone(),
            first: seqs.first().copied().unwrap_or(0),
            count: seqs.len() as u64,
            upto: folded,
        };
        let committed = self
            .wire
            .commit_to(&next, commit.as_ref(), &format!("{id}-commit"), timeout)
            .map_err(|e| remote(&e))?;
        self.wire
            .purge_before(&next, committed, timeout)
            .map_err(|e| remote(&e))?;
        let kept_bytes = self.bytes_after(folded + 1)?;
        let bytes_after = self.wire.stored_bytes(timeout).map_err(|e| remote(&e))?;
        Ok(CompactReport {
            snapshot_records: lines.len() as u64,
            kept_bytes,
            bytes_before,
            bytes_after,
        })
    }

    /// Bytes (as lines: payload plus `\n`) of the events from `seq` on.
    fn bytes_after(&mut self, seq: u64) -> Result<u64, Error> {
        let subject = self.wire.subjects.events.clone();
        let timeout = self.options.call_timeout;
        let (mut seq, mut bytes) = (seq, 0);
        while let Some((at, payload, _)) = self
            .wire
            .next_on(&subject, seq, timeout)
            .map_err(|e| remote(&e))?
        {
            bytes += payload.len() as u64 + 1;
            seq = at + 1;
        }
        Ok(bytes)
    }

    /// Reads the whole log a page at a time and reports on it.
    pub fn check(&mut self) -> Result<CheckReport, Error> {
        let mut cursor: Option<String> = None;
        let (mut records, mut damaged, mut too_deep) = (0u64, Vec::new(), Vec::new());
        // Each message is a line of the log the stream stands for.
        let (mut line, mut offset) = (0u64, 0u64);
        let max_depth = self.settings.max_depth;
        let bytes = loop {
            let page = self.replay_page(cursor.as_deref(), 4 << 20)?;
            for entry in page.entries {
                line += 1;
                match entry {
                    Ok(text) => {
                        records += 1;
                        if let Some(at) = format::too_deep(text.as_bytes(), max_depth) {
                            too_deep.push(DeepLine { line, offset, at });
                        }
                        offset += text.len() as u64 + 1;
                    }
                    Err(d) => {
                        (line, offset) = (d.line, d.offset + d.length + 1);
                        damaged.push(d);
                    }
                }
            }
            let at = NatsCursor::decode(&page.next).map_err(|e| Error::Log(cursor_error(&e)))?;
            if page.at_end {
                break at.offset;
            }
            cursor = Some(page.next);
        };
        let timeout = self.options.call_timeout;
        let commit = self.wire.commit(timeout).map_err(|e| remote(&e))?;
        let counts = self.wire.subject_counts(timeout).map_err(|e| remote(&e))?;
        let subjects = &self.wire.subjects;
        let count = |subject: &str| counts.get(subject).copied().unwrap_or(0);
        let committed = commit.as_ref().map_or(0, |c| c.count);
        let mut leftovers = Vec::new();
        let snapshot = count(&subjects.snapshot);
        if snapshot > committed {
            leftovers.push(Leftover::UncommittedSnapshot {
                subject: subjects.snapshot.clone(),
                messages: snapshot - committed,
            });
        }
        let quarantined = count(&subjects.quarantine);
        if quarantined > 0 {
            leftovers.push(Leftover::Quarantine {
                subject: subjects.quarantine.clone(),
                messages: quarantined,
            });
        }
        Ok(CheckReport {
            bytes,
            records,
            damaged,
            torn_tail: false,
            leftovers: leftovers.iter().map(Leftover::to_string).collect(),
            too_deep,
            // A stream has no checksum file: JetStream checks what it
            // stores itself.
            checksum: Checksum::None,
            checksum_message: String::new(),
        })
    }

    /// Moves every damaged event message to the quarantine subject, then
    /// deletes it from the events, and commits (so older cursors are
    /// stale). A clean log is left untouched.
    pub fn repair(&mut self) -> Result<RepairReport, Error> {
        let timeout = self.options.call_timeout;
        let max_line = self.settings.max_line;
        let commit = self.wire.commit(timeout).map_err(|e| remote(&e))?;
        let bytes_before = self.wire.stored_bytes(timeout).map_err(|e| remote(&e))?;
        let mut at = self.start(None, &commit)?;
        let mut removed = Vec::new();
        while let Some((seq, payload)) = self.next_message(&mut at, &commit, true)? {
            at.seq = seq + 1;
            at.lines += 1;
            let offset = at.offset;
            at.offset += payload.len() as u64 + 1;
            if at.phase != Phase::Events {
                continue;
            }
            if let Some(Err(line)) = judge(&payload, offset, at.lines, max_line) {
                self.wire
                    .quarantine(seq, payload, timeout)
                    .map_err(|e| remote(&e))?;
                removed.push(line);
            }
        }
        if !removed.is_empty() {
            let id = format!("{}-r{}", self.writer, self.sent);
            self.sent += 1;
            let same = commit.clone().unwrap_or(Commit {
                seq: 0,
                id: String::new(),
                first: 0,
                count: 0,
                upto: 0,
            });
            self.wire
                .commit_to(&same, commit.as_ref(), &format!("{id}-commit"), timeout)
                .map_err(|e| remote(&e))?;
        }
        let bytes_after = self.wire.stored_bytes(timeout).map_err(|e| remote(&e))?;
        Ok(RepairReport {
            removed,
            quarantine: format!(
                "subject {} of stream {}",
                self.wire.subjects.quarantine, self.target.stream
            ),
            bytes_before,
            bytes_after,
        })
    }

    /// The component's words for a failure the host detected.
    pub(crate) fn host_message(&self, failure: &WitHostFailure) -> String {
        use pathway_memory::error::HostFailure;
        let ours = match failure {
            WitHostFailure::Deadline(millis) => HostFailure::Deadline { millis: *millis },
            WitHostFailure::MemoryCap(cap) => HostFailure::MemoryCap {
                wanted: cap.wanted,
                cap: cap.cap,
            },
        };
        ours.to_string()
    }
}

impl fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsLog")
            .field("target", &self.target)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Moves `at` past the message `seq` and adds its entry; returns the bytes
/// it counts for (payload plus `\n`, as a line of the file log).
fn take(
    at: &mut NatsCursor,
    entries: &mut Vec<Entry>,
    seq: u64,
    payload: &[u8],
    max_line: u64,
) -> u64 {
    at.seq = seq + 1;
    at.lines += 1;
    let offset = at.offset;
    let size = payload.len() as u64 + 1;
    at.offset += size;
    entries.extend(judge(payload, offset, at.lines, max_line));
    size
}

/// A payload judged as the file log judges a line (every message is a
/// whole line: never torn). `None` for a blank one.
fn judge(payload: &[u8], offset: u64, line: u64, max_line: u64) -> Option<Entry> {
    let entry = format::judge(payload, offset, line, true, max_line)?;
    let length = entry.length;
    Some(
        entry
            .record
            .map(str::to_owned)
            .map_err(|damage| damaged_line(damage, length)),
    )
}

fn damaged_line(damage: Damage, length: u64) -> DamagedLine {
    let problem = match damage.error {
        LineError::InvalidUtf8 { .. } => LineProblem::InvalidUtf8,
        LineError::InvalidJson { .. } => LineProblem::InvalidJson,
        LineError::TooLarge { .. } => LineProblem::TooLarge,
    };
    DamagedLine {
        line: damage.line,
        offset: damage.offset,
        length,
        torn: damage.torn,
        problem,
        reason: damage.error.to_string(),
        message: damage.to_string(),
    }
}

/// A refused event, worded and typed as the component does.
fn refusal(call: Call, index: usize, error: EventError) -> LogError {
    let message = Refusal {
        call,
        index,
        error: &error,
    }
    .to_string();
    let index = index as u32;
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
            reason: pathway_memory::error::too_deep_reason(offset, limit),
        }),
    };
    LogError { cause, message }
}

fn cursor_error(e: &CursorError) -> LogError {
    let cause = match e {
        CursorError::Invalid { .. } => Cause::InvalidCursor,
        CursorError::Stale { .. } => Cause::StaleCursor,
    };
    LogError {
        cause,
        message: e.to_string(),
    }
}

/// A server failure as the typed error every host decides on.
fn remote(e: &RemoteError) -> Error {
    let cause = match e {
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
            index: *index as u32,
            size: *size,
            limit: *max_payload,
        }),
    };
    Error::Log(LogError {
        cause,
        message: e.to_string(),
    })
}

/// A prefix for message ids that no other handle, here or on another
/// machine, uses: the process, the time and std's per-process random keys.
fn writer_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("pw{:016x}", hasher.finish())
}

/// Shared between the connection's event callback and the calls: the last
/// permissions violation the server reported.
pub(crate) type Denied = Arc<Mutex<Option<String>>>;

/// How long to wait between tries while a server is away.
pub(crate) fn backoff(try_no: u32, started: Instant, timeout: Duration) -> Option<Duration> {
    let pause = Duration::from_millis(50u64 << try_no.min(4));
    (started.elapsed() + pause < timeout).then_some(pause)
}
