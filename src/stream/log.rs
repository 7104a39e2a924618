//! [`StreamLog`]: the log interface on a [`Stream`], the one
//! implementation every host runs (see the module docs of `stream` for
//! the layout and the compaction's steps).

use crate::config::Config;
use crate::cursor::CursorError;
use crate::error::{Call, EventError};
use crate::format;
use crate::pager::OwnedEntry;
use crate::rewrite::{CheckReport, DamagedLine, DeepLine, Rewritten};
use crate::tail::UNCOUNTED;

use super::cursor::{Phase, StreamCursor};
use super::error::{Leftover, RemoteError, Stored, subject};
use super::{Message, Outgoing, Stream, StreamError, Target, Topic};

/// Headers of commit and snapshot messages.
const SNAPSHOT: &str = "Pathway-Snapshot";
const FIRST: &str = "Pathway-First";
const COUNT: &str = "Pathway-Count";
const UPTO: &str = "Pathway-Upto";
/// Of a quarantined message: the sequence it had in the events.
const SEQ: &str = "Pathway-Seq";

/// Bytes read per page when a whole pass (check, repair, the bytes a
/// compaction keeps) walks the log.
const WALK_PAGE: u64 = 4 << 20;

/// Why a call on a [`StreamLog`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamLogError {
    /// An event of the call was refused; nothing was stored.
    Refused {
        call: Call,
        index: usize,
        error: EventError,
    },
    Cursor(CursorError),
    Remote(RemoteError),
    /// The append would take the stream past the quota; nothing was sent.
    Quota(crate::error::QuotaExceeded),
}

impl From<CursorError> for StreamLogError {
    fn from(e: CursorError) -> Self {
        StreamLogError::Cursor(e)
    }
}

impl From<RemoteError> for StreamLogError {
    fn from(e: RemoteError) -> Self {
        StreamLogError::Remote(e)
    }
}

/// The commit in force: the snapshot (`count` messages of compaction `id`
/// from sequence `first`) and the last event sequence it folds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Commit {
    seq: u64,
    id: String,
    first: u64,
    count: u64,
    upto: u64,
}

impl Commit {
    fn of(message: &Message) -> Commit {
        let number = |name| {
            message
                .header(name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Commit {
            seq: message.seq,
            id: message.header(SNAPSHOT).unwrap_or_default().to_string(),
            first: number(FIRST),
            count: number(COUNT),
            upto: number(UPTO),
        }
    }
}

/// A page of a stream log: entries, the cursor after them, and whether
/// nothing followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPage {
    pub entries: Vec<OwnedEntry>,
    pub next: String,
    pub at_end: bool,
}

/// What `compact` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    pub snapshot_records: u64,
    pub kept_bytes: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// What `repair` did: sizes, the removed lines, where they went.
pub type Repaired = (Rewritten, Vec<DamagedLine>, String);

/// The log kept in `S`.
pub struct StreamLog<S: Stream> {
    stream: S,
    target: Target,
    config: Config,
    /// The largest message the store takes (payload and headers), 0: any.
    max_payload: u64,
    /// Unique per log handle: the prefix of its message ids.
    writer: String,
    sent: u64,
    /// The lines and message ids of the last append whose outcome is
    /// unknown (the store stopped answering): appending the same events
    /// again reuses the ids, so the store keeps each once.
    unsettled: Option<(Vec<Vec<u8>>, Vec<String>)>,
}

impl<S: Stream> StreamLog<S> {
    /// Connects to the stream the host grants.
    pub fn open(mut stream: S, config: Config) -> Result<StreamLog<S>, StreamLogError> {
        let target = stream.target();
        let max_payload = stream
            .connect()
            .map_err(|e| RemoteError::connecting(e, &target))?;
        Ok(StreamLog {
            stream,
            target,
            config,
            max_payload,
            writer: writer_id(),
            sent: 0,
            unsettled: None,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    fn remote(&self, during: &'static str, stored: Stored) -> impl Fn(StreamError) -> RemoteError {
        let target = self.target.clone();
        move |e| RemoteError::during(e, &target, during, stored)
    }

    /// Validates every event, then publishes them all and waits for every
    /// ack. A refusal stores nothing. If the store stops answering, the
    /// error says how many were acknowledged; calling again with the same
    /// events stores the rest once.
    pub fn append<E: AsRef<str>>(
        &mut self,
        call: Call,
        events: &[E],
    ) -> Result<(), StreamLogError> {
        let lines = self.encode(call, events)?;
        let ids = match &self.unsettled {
            Some((last, ids)) if *last == lines => ids.clone(),
            _ => {
                let ids: Vec<String> = (0..lines.len() as u64)
                    .map(|i| format!("{}-{}", self.writer, self.sent + i))
                    .collect();
                self.sent += lines.len() as u64;
                ids
            }
        };
        let messages: Vec<Outgoing> = lines
            .iter()
            .zip(&ids)
            .map(|(line, id)| Outgoing {
                topic: Topic::Events,
                id: id.clone(),
                headers: Vec::new(),
                payload: line.clone(),
                expect_last: None,
            })
            .collect();
        self.check_sizes(&messages)?;
        let subject = super::error::subject(&self.target.name, Topic::Events).len() as u64;
        self.check_quota(messages.iter().map(|m| stored_size(m, subject)).sum())?;
        let total = messages.len();
        match self.stream.publish(messages) {
            Ok(_) => {
                self.unsettled = None;
                Ok(())
            }
            Err(e) => {
                if matches!(e, StreamError::Unavailable { .. }) {
                    self.unsettled = Some((lines, ids));
                }
                let stored = Stored::Partly { acked: 0, total };
                Err(self.remote("appending", stored)(e).into())
            }
        }
    }

    fn encode<E: AsRef<str>>(
        &self,
        call: Call,
        events: &[E],
    ) -> Result<Vec<Vec<u8>>, StreamLogError> {
        let Config {
            max_line,
            max_depth,
            ..
        } = self.config;
        events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                format::encode_event(event.as_ref(), max_line, max_depth)
                    .map(|line| line.into_owned().into_bytes())
                    .map_err(|error| StreamLogError::Refused { call, index, error })
            })
            .collect()
    }

    /// Refuses, before anything is sent, an append of `needed` bytes that
    /// would take the stream past the quota (the store's own count of its
    /// bytes, all topics), looked up right before each append.
    fn check_quota(&mut self, needed: u64) -> Result<(), StreamLogError> {
        let Some(limit) = self.config.quota else {
            return Ok(());
        };
        let used = self.stored_bytes()?;
        if used.saturating_add(needed) > limit {
            return Err(StreamLogError::Quota(crate::error::QuotaExceeded {
                used,
                limit,
                needed,
            }));
        }
        Ok(())
    }

    /// Refuses, before anything is sent, a message the store would refuse
    /// as larger than its `max_payload`.
    fn check_sizes(&self, messages: &[Outgoing]) -> Result<(), RemoteError> {
        if self.max_payload == 0 {
            return Ok(());
        }
        for (index, message) in messages.iter().enumerate() {
            let size = wire_size(message);
            if size > self.max_payload {
                return Err(RemoteError::OverMaxPayload {
                    index,
                    size,
                    max_payload: self.max_payload,
                });
            }
        }
        Ok(())
    }

    /// The commit in force, if a compaction or repair committed.
    fn commit(&mut self) -> Result<Option<Commit>, RemoteError> {
        let last = self
            .stream
            .last(Topic::Commit)
            .map_err(self.remote("reading", Stored::Nothing))?;
        Ok(last.as_ref().map(Commit::of))
    }

    /// Entries from `cursor` until about `max_bytes` of payload were read
    /// (at least one entry when there is one).
    pub fn page(
        &mut self,
        cursor: Option<&str>,
        max_bytes: u64,
    ) -> Result<StreamPage, StreamLogError> {
        let commit = self.commit()?;
        let mut at = start(cursor, commit.as_ref())?;
        let mut entries = Vec::new();
        let at_end = self.walk(commit.as_ref(), &mut at, max_bytes, |_, _, entry| {
            entries.extend(entry)
        })?;
        Ok(StreamPage {
            entries,
            next: at.encode(),
            at_end,
        })
    }

    /// The bytes the store keeps for the log (all its topics, as the
    /// store counts them): one call, whatever the log's size.
    pub fn stored_bytes(&mut self) -> Result<u64, StreamLogError> {
        let stats = self
            .stream
            .stats()
            .map_err(self.remote("reading", Stored::Nothing))?;
        Ok(stats.bytes)
    }

    /// The last `count` entries, read backwards from the end in windows of
    /// sequences that grow fourfold until they hold enough (the cost
    /// grows with `count`, not with the log), and a cursor at the end.
    /// Like the file log's `last`, neither counts lines nor bytes before
    /// them ([`UNCOUNTED`]); a compaction refuses the cursor.
    pub fn last(&mut self, count: usize) -> Result<(Vec<OwnedEntry>, String), StreamLogError> {
        let commit = self.commit()?;
        let events_from = commit.as_ref().map_or(1, |c| c.upto + 1);
        let newest = self
            .stream
            .last(Topic::Events)
            .map_err(self.remote("reading", Stored::Nothing))?;
        let end = newest.map_or(events_from, |m| (m.seq + 1).max(events_from));
        let mut found = self.newest(Topic::Events, events_from, end, count, |_| true)?;
        if let Some(c) = commit
            .as_ref()
            .filter(|c| c.count > 0 && found.len() < count)
        {
            let id = c.id.clone();
            let mut older =
                self.newest(Topic::Snapshot, c.first, c.seq, count - found.len(), |m| {
                    m.header(SNAPSHOT) == Some(id.as_str())
                })?;
            older.append(&mut found);
            found = older;
        }
        let cursor = StreamCursor {
            commit: commit.map_or(0, |c| c.seq),
            phase: Phase::Events,
            seq: end,
            index: 0,
            lines: UNCOUNTED,
            offset: UNCOUNTED,
        };
        Ok((found, cursor.encode()))
    }

    /// The last `count` entries of `topic` among the messages with
    /// sequences in `lo..hi` that `keep` accepts, oldest first.
    fn newest(
        &mut self,
        topic: Topic,
        lo: u64,
        hi: u64,
        count: usize,
        keep: impl Fn(&Message) -> bool,
    ) -> Result<Vec<OwnedEntry>, StreamLogError> {
        let max_line = self.config.max_line;
        let mut window = (count as u64).max(16);
        loop {
            if count == 0 || hi <= lo {
                return Ok(Vec::new());
            }
            let from = hi.saturating_sub(window).max(lo);
            let mut at = StreamCursor {
                commit: 0,
                phase: Phase::Events,
                seq: from,
                index: 0,
                lines: UNCOUNTED,
                offset: UNCOUNTED,
            };
            let mut entries = Vec::new();
            'read: loop {
                let batch = self
                    .stream
                    .read(topic, at.seq, WALK_PAGE)
                    .map_err(self.remote("reading", Stored::Nothing))?;
                let end = batch.end || batch.messages.is_empty();
                for message in batch.messages {
                    if message.seq >= hi {
                        break 'read;
                    }
                    at.seq = message.seq + 1;
                    if keep(&message) {
                        entries.extend(take(&mut at, &message.payload, max_line));
                    }
                }
                if end {
                    break;
                }
            }
            if entries.len() >= count || from == lo {
                let skip = entries.len().saturating_sub(count);
                entries.drain(..skip);
                return Ok(entries);
            }
            window = window.saturating_mul(4);
        }
    }

    /// Reads messages from `at` until about `budget` bytes (at least one
    /// message when there is one), handing each to `visit` with its topic
    /// and its entry (none for a blank one), and moves `at` past them.
    /// Returns whether the log ended there.
    fn walk(
        &mut self,
        commit: Option<&Commit>,
        at: &mut StreamCursor,
        budget: u64,
        mut visit: impl FnMut(Topic, &Message, Option<OwnedEntry>),
    ) -> Result<bool, StreamLogError> {
        let max_line = self.config.max_line;
        let mut read = 0u64;
        loop {
            if read > 0 && read >= budget {
                return Ok(false);
            }
            let want = budget.saturating_sub(read).max(1);
            if at.phase == Phase::Snapshot {
                let Some(commit) = commit.filter(|c| at.index < c.count) else {
                    at.phase = Phase::Events;
                    at.index = 0;
                    at.seq = commit.map_or(1, |c| c.upto + 1);
                    continue;
                };
                let batch = self
                    .stream
                    .read(Topic::Snapshot, at.seq, want)
                    .map_err(self.remote("reading", Stored::Nothing))?;
                let end = batch.end || batch.messages.is_empty();
                for message in batch.messages {
                    if at.index >= commit.count {
                        break;
                    }
                    at.seq = message.seq + 1;
                    // A message of a compaction that did not commit.
                    if message.header(SNAPSHOT) != Some(commit.id.as_str()) {
                        continue;
                    }
                    at.index += 1;
                    let entry = take(at, &message.payload, max_line);
                    read += message.payload.len() as u64 + 1;
                    visit(Topic::Snapshot, &message, entry);
                }
                if at.index < commit.count && end {
                    return Err(CursorError::Stale {
                        reason: "the snapshot it points into was purged",
                    }
                    .into());
                }
                continue;
            }
            let batch = self
                .stream
                .read(Topic::Events, at.seq, want)
                .map_err(self.remote("reading", Stored::Nothing))?;
            let end = batch.end || batch.messages.is_empty();
            for message in batch.messages {
                at.seq = message.seq + 1;
                let entry = take(at, &message.payload, max_line);
                read += message.payload.len() as u64 + 1;
                visit(Topic::Events, &message, entry);
            }
            // As the file log pages: a page that filled its budget is not
            // the end, even when nothing follows (the next page, empty,
            // is); so pages have the same shape on either storage, whatever
            // a transport knows of the end.
            if end && read < budget {
                return Ok(true);
            }
        }
    }

    /// Replaces everything up to `upto` by `snapshot` (see the module docs
    /// for the steps and what a crash between them leaves).
    pub fn compact<E: AsRef<str>>(
        &mut self,
        snapshot: &[E],
        upto: &str,
    ) -> Result<Compacted, StreamLogError> {
        let lines = self.encode(Call::Snapshot, snapshot)?;
        let commit = self.commit()?;
        let at = start(Some(upto), commit.as_ref())?;
        if at.lines == UNCOUNTED {
            return Err(CursorError::Stale {
                reason: crate::cursor::UNBOUND,
            }
            .into());
        }
        let folded = match (at.phase, &commit) {
            (Phase::Events, _) => at.seq.saturating_sub(1),
            // Read to the snapshot's end, not yet past it: the same point.
            (Phase::Snapshot, Some(c)) if at.index >= c.count => c.upto,
            (Phase::Snapshot, _) => {
                return Err(CursorError::Stale {
                    reason: "it points into the snapshot; compact up to a cursor past it",
                }
                .into());
            }
        };
        let id = format!("{}-c{}", self.writer, self.sent);
        self.sent += 1;
        let messages: Vec<Outgoing> = lines
            .into_iter()
            .enumerate()
            .map(|(i, payload)| Outgoing {
                topic: Topic::Snapshot,
                id: format!("{id}-{i}"),
                headers: vec![(SNAPSHOT.to_string(), id.clone())],
                payload,
                expect_last: None,
            })
            .collect();
        self.check_sizes(&messages)?;
        let count = messages.len() as u64;
        let snapshot_bytes: u64 = messages.iter().map(|m| m.payload.len() as u64 + 1).sum();
        let seqs = self
            .stream
            .publish(messages)
            .map_err(self.remote("compacting", Stored::Nothing))?;
        let next = Commit {
            seq: 0,
            id: id.clone(),
            first: seqs.first().copied().unwrap_or(0),
            count,
            upto: folded,
        };
        let committed = self.commit_to(&next, commit.as_ref(), &format!("{id}-commit"))?;
        self.purge_before(&next, committed)?;
        // Sizes as lines (payload and `\n`), as `check` and the file log
        // count them: what the cursor had read, and what follows it.
        let kept_bytes = self.bytes_from(folded + 1)?;
        Ok(Compacted {
            snapshot_records: count,
            kept_bytes,
            bytes_before: at.offset + kept_bytes,
            bytes_after: snapshot_bytes + kept_bytes,
        })
    }

    /// Publishes `next` as the commit in force, if `prev` still is;
    /// returns its sequence.
    fn commit_to(
        &mut self,
        next: &Commit,
        prev: Option<&Commit>,
        id: &str,
    ) -> Result<u64, RemoteError> {
        let message = Outgoing {
            topic: Topic::Commit,
            id: id.to_string(),
            headers: vec![
                (SNAPSHOT.to_string(), next.id.clone()),
                (FIRST.to_string(), next.first.to_string()),
                (COUNT.to_string(), next.count.to_string()),
                (UPTO.to_string(), next.upto.to_string()),
            ],
            payload: Vec::new(),
            expect_last: Some(prev.map_or(0, |c| c.seq)),
        };
        let seqs = self
            .stream
            .publish(vec![message])
            .map_err(self.remote("committing", Stored::Nothing))?;
        Ok(seqs.first().copied().unwrap_or(0))
    }

    /// Purges what the commit at `committed` replaced: the events it folds,
    /// older snapshots (and partial ones), older commits.
    fn purge_before(&mut self, next: &Commit, committed: u64) -> Result<(), RemoteError> {
        let snapshot_from = if next.count > 0 {
            next.first
        } else {
            committed
        };
        for (topic, below) in [
            (Topic::Events, next.upto + 1),
            (Topic::Snapshot, snapshot_from),
            (Topic::Commit, committed),
        ] {
            self.stream
                .purge(topic, below)
                .map_err(self.remote("purging", Stored::CommittedNotPurged))?;
        }
        Ok(())
    }

    /// Bytes (as lines: payload plus `\n`) of the events from `seq` on.
    fn bytes_from(&mut self, mut seq: u64) -> Result<u64, RemoteError> {
        let mut bytes = 0;
        loop {
            let batch = self
                .stream
                .read(Topic::Events, seq, WALK_PAGE)
                .map_err(self.remote("reading", Stored::Nothing))?;
            for message in &batch.messages {
                bytes += message.payload.len() as u64 + 1;
                seq = message.seq + 1;
            }
            if batch.end || batch.messages.is_empty() {
                return Ok(bytes);
            }
        }
    }

    /// Reads the whole log a page at a time and reports on it.
    pub fn check(&mut self) -> Result<CheckReport, StreamLogError> {
        let commit = self.commit()?;
        let mut at = start(None, commit.as_ref())?;
        let max_depth = self.config.max_depth;
        let mut report = CheckReport::default();
        loop {
            let end = self.walk(commit.as_ref(), &mut at, WALK_PAGE, |_, _, entry| {
                let Some(entry) = entry else { return };
                match &entry.record {
                    Ok(text) => {
                        report.records += 1;
                        if let Some(at) = format::too_deep(text.as_bytes(), max_depth) {
                            report.too_deep.push(DeepLine {
                                line: entry.line,
                                offset: entry.offset,
                                at,
                            });
                        }
                    }
                    Err(damage) => report.damaged.push(DamagedLine {
                        damage: damage.clone(),
                        length: entry.length,
                    }),
                }
            })?;
            if end {
                break;
            }
        }
        report.bytes = at.offset;
        let stats = self
            .stream
            .stats()
            .map_err(self.remote("reading", Stored::Nothing))?;
        let committed = commit.as_ref().map_or(0, |c| c.count);
        let snapshot = stats.count(Topic::Snapshot);
        if snapshot > committed {
            report.leftovers.push(
                Leftover::UncommittedSnapshot {
                    subject: subject(&self.target.name, Topic::Snapshot),
                    messages: snapshot - committed,
                }
                .to_string(),
            );
        }
        let quarantined = stats.count(Topic::Quarantine);
        if quarantined > 0 {
            report.leftovers.push(
                Leftover::Quarantine {
                    subject: subject(&self.target.name, Topic::Quarantine),
                    messages: quarantined,
                }
                .to_string(),
            );
        }
        Ok(report)
    }

    /// Moves every damaged event message to the quarantine topic (published
    /// first, then removed, so a crash between keeps both, never neither),
    /// and commits, so that older cursors are stale. A clean log is left
    /// untouched.
    pub fn repair(&mut self) -> Result<Repaired, StreamLogError> {
        let commit = self.commit()?;
        let mut at = start(None, commit.as_ref())?;
        let mut damaged: Vec<(u64, Vec<u8>, DamagedLine)> = Vec::new();
        loop {
            let end = self.walk(
                commit.as_ref(),
                &mut at,
                WALK_PAGE,
                |topic, message, entry| {
                    if let (Topic::Events, Some(entry)) = (topic, entry)
                        && let Err(damage) = entry.record
                    {
                        let line = DamagedLine {
                            damage,
                            length: entry.length,
                        };
                        damaged.push((message.seq, message.payload.clone(), line));
                    }
                },
            )?;
            if end {
                break;
            }
        }
        let mut removed = Vec::with_capacity(damaged.len());
        for (seq, payload, line) in damaged {
            let moved = Outgoing {
                topic: Topic::Quarantine,
                id: format!("pathway-quarantine-{}-{seq}", self.target.name),
                headers: vec![(SEQ.to_string(), seq.to_string())],
                payload,
                expect_last: None,
            };
            self.stream
                .publish(vec![moved])
                .map_err(self.remote("repairing", Stored::Nothing))?;
            self.stream
                .remove(seq)
                .map_err(self.remote("repairing", Stored::Nothing))?;
            removed.push(line);
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
            self.commit_to(&same, commit.as_ref(), &format!("{id}-commit"))?;
        }
        // Sizes as lines, as `check` counts them.
        let bytes_before = at.offset;
        let bytes_after = bytes_before - removed.iter().map(|l| l.length + 1).sum::<u64>();
        let quarantine = format!(
            "subject {} of stream {}",
            subject(&self.target.name, Topic::Quarantine),
            self.target.name
        );
        let sizes = Rewritten {
            bytes_before,
            bytes_after,
            late_bytes: 0,
        };
        Ok((sizes, removed, quarantine))
    }
}

/// Where `cursor` starts reading, checked against the commit in force.
fn start(cursor: Option<&str>, commit: Option<&Commit>) -> Result<StreamCursor, CursorError> {
    let commit_seq = commit.map_or(0, |c| c.seq);
    let Some(text) = cursor else {
        let (phase, seq) = match commit {
            Some(c) if c.count > 0 => (Phase::Snapshot, c.first),
            _ => (Phase::Events, commit.map_or(1, |c| c.upto + 1)),
        };
        return Ok(StreamCursor {
            commit: commit_seq,
            phase,
            seq,
            index: 0,
            lines: 0,
            offset: 0,
        });
    };
    let mut at = StreamCursor::decode(text)?;
    if at.commit != commit_seq {
        // Events keep their sequences across a compaction: a cursor past
        // what the commit in force folds reads on (see `crate::moved` for
        // the file log's counterpart), counting no lines from there.
        match commit {
            Some(c) if at.phase == Phase::Events && at.seq > c.upto => {
                at.commit = commit_seq;
                at.lines = UNCOUNTED;
                at.offset = UNCOUNTED;
            }
            _ => {
                return Err(CursorError::Stale {
                    reason: "it points into what a compaction of the stream folded into its \
                             snapshot",
                });
            }
        }
    }
    Ok(at)
}

/// Moves `at` past a message and judges its payload as the file log
/// judges a line (every message is a whole line: never torn). `None` for
/// a blank one.
fn take(at: &mut StreamCursor, payload: &[u8], max_line: u64) -> Option<OwnedEntry> {
    // From a cursor of `last`, both stay UNCOUNTED.
    at.lines = at.lines.saturating_add(1);
    let offset = at.offset;
    at.offset = at.offset.saturating_add(payload.len() as u64 + 1);
    let entry = format::judge(payload, offset, at.lines, true, max_line)?;
    Some(OwnedEntry {
        line: entry.line,
        offset: entry.offset,
        length: entry.length,
        record: entry.record.map(str::to_owned),
    })
}

/// Bytes of a message as NATS counts them against `max_payload`: payload
/// and headers, the id among them (`Nats-Msg-Id`).
fn wire_size(message: &Outgoing) -> u64 {
    let header = |name: &str, value: &str| name.len() + 2 + value.len() + 2;
    let headers: usize = message
        .headers
        .iter()
        .map(|(n, v)| header(n, v))
        .sum::<usize>()
        + header("Nats-Msg-Id", &message.id);
    // "NATS/1.0\r\n" ... "\r\n"
    (message.payload.len() + headers + 12) as u64
}

/// Bytes a message takes in the store as JetStream counts a stream's
/// bytes (its file store's record: 22 bytes of header, the subject, the
/// headers' length in 4 bytes, the headers, the payload and an 8-byte
/// hash): what the quota is held to.
fn stored_size(message: &Outgoing, subject: u64) -> u64 {
    22 + subject + 4 + wire_size(message) + 8
}

/// A prefix for message ids that no other handle, here or on another
/// machine, uses: std's random hash keys, the time and a counter.
fn writer_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static HANDLES: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u64(HANDLES.fetch_add(1, Ordering::Relaxed));
    format!("pw{:016x}", hasher.finish())
}
