//! The log kept in an ordered, replicated message store instead of a file:
//! the protocol on top of the WIT `stream` interface (`wit/pathway.wit`),
//! written once here and run by the component's `pathway-stream` build.
//! A host provides only the transport ([`Stream`]: NATS JetStream in the
//! hosts we ship); every rule of the log is in [`log::StreamLog`].
//!
//! ## The log on a stream
//! - `events`: one message per event, its payload the stored line (without
//!   `\n`). Each carries an id unique to its writer, so an append that is
//!   retried (after a lost ack, or by the caller with the same events) is
//!   stored once within the store's duplicate window.
//! - `snapshot`: the events of compaction snapshots, each with the header
//!   `Pathway-Snapshot` naming its compaction.
//! - `commit`: one message per compaction or repair; the last one names
//!   the snapshot in force (`Pathway-Snapshot`, `Pathway-First`,
//!   `Pathway-Count`) and the last event sequence it folds (`Pathway-Upto`).
//!   It is the commit point: replay reads that snapshot, then the events
//!   after `Pathway-Upto`. Cursors are bound to it, so one made before a
//!   compaction or repair is `stale-cursor`, as with the file log.
//! - `quarantine`: what `repair` removed, with the sequence each had
//!   (`Pathway-Seq`).
//!
//! ## Compaction, and a crash in it
//! 1. publish the snapshot's events, 2. publish the commit, expecting the
//!    commit read before as the topic's last (a concurrent compaction
//!    fails `busy`), 3. purge the events up to the cursor and the older
//!    snapshots and commits. A crash before 2 leaves an unreferenced
//!    partial snapshot: replay ignores it and the next compaction purges
//!    it. A crash after 2 leaves old events that replay already skips
//!    (they are at or before `Pathway-Upto`). Events published after the
//!    cursor are never purged.
//!
//! The layout is the one the 0.2 host wrote natively, so its streams read
//! on unchanged.

pub mod cursor;
pub mod error;
pub mod log;
#[cfg(not(target_os = "wasi"))]
pub mod mem;

/// The parts of one log (WIT `topic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Events,
    Snapshot,
    Commit,
    Quarantine,
}

impl Topic {
    pub const ALL: [Topic; 4] = [
        Topic::Events,
        Topic::Snapshot,
        Topic::Commit,
        Topic::Quarantine,
    ];

    /// The topic's name, the last part of its NATS subject.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Events => "events",
            Topic::Snapshot => "snapshot",
            Topic::Commit => "commit",
            Topic::Quarantine => "quarantine",
        }
    }
}

/// A message to publish (WIT `outgoing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: Topic,
    /// Unique per message: the store's duplicate detection key.
    pub id: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
    /// Store only if the topic's last message has this sequence (0: none).
    pub expect_last: Option<u64>,
}

/// A stored message (WIT `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub seq: u64,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of header `name`, if it has one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What [`Stream::read`] returns (WIT `batch`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub messages: Vec<Message>,
    /// No message of the topic followed the last one returned.
    pub end: bool,
}

/// A failure of the transport (WIT `stream-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// No answer in the host's time.
    Unavailable {
        reason: String,
        tries: u32,
        millis: u64,
        /// Of a publish: messages acknowledged.
        acked: u32,
    },
    /// The stream does not exist.
    Missing,
    /// The store's permissions refuse the operation.
    Denied(String),
    /// `expect_last` did not hold.
    Conflict,
    /// Any other refusal, in the store's words.
    Refused(String),
}

/// Which stream the host grants (WIT `target`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub name: String,
    pub location: String,
}

/// What the store holds (WIT `stats`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    pub bytes: u64,
    pub counts: Vec<(Topic, u64)>,
}

impl Stats {
    pub fn count(&self, topic: Topic) -> u64 {
        self.counts
            .iter()
            .filter(|(t, _)| *t == topic)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The transport a host provides: the WIT `stream` interface's functions.
pub trait Stream {
    fn target(&self) -> Target;
    /// Connects; the largest message the store accepts (0: no limit).
    fn connect(&mut self) -> Result<u64, StreamError>;
    /// Publishes in order, waits for every ack; the sequences.
    fn publish(&mut self, messages: Vec<Outgoing>) -> Result<Vec<u64>, StreamError>;
    fn last(&mut self, topic: Topic) -> Result<Option<Message>, StreamError>;
    /// Messages of `topic` from `start` on, about `max_bytes` of payload
    /// (payload plus one each), at least one when there is one.
    fn read(&mut self, topic: Topic, start: u64, max_bytes: u64) -> Result<Batch, StreamError>;
    fn purge(&mut self, topic: Topic, below: u64) -> Result<(), StreamError>;
    fn remove(&mut self, seq: u64) -> Result<(), StreamError>;
    fn stats(&mut self) -> Result<Stats, StreamError>;
}
