//! [`Log`]: a log from either provider, the file log in a directory
//! ([`Memory`]) or a NATS JetStream stream ([`NatsLog`]), behind one set of
//! calls, so the CLI and plugins do not care which.

use std::fmt;
use std::path::Path;

use crate::bindings::exports::pathway::memory::log::HostFailure;
use crate::{
    CheckReport, CompactReport, Entry, Error, Memory, NatsLog, Options, Page, RepairReport,
    Settings,
};

/// A log served by one of the two providers.
// One per open log, made once and moved rarely: boxing a variant would
// only add an indirection to every call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Log {
    File(Memory),
    Nats(NatsLog),
}

impl From<Memory> for Log {
    fn from(memory: Memory) -> Log {
        Log::File(memory)
    }
}

impl From<NatsLog> for Log {
    fn from(nats: NatsLog) -> Log {
        Log::Nats(nats)
    }
}

/// Calls the same method on whichever provider `$log` holds.
macro_rules! either {
    ($log:expr, $l:ident => $call:expr) => {
        match $log {
            Log::File($l) => $call,
            Log::Nats($l) => $call,
        }
    };
}

impl Log {
    /// Opens the stream of `options.nats` when set, else the file log in
    /// `dir` (ignored for NATS).
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Log, Error> {
        match options.nats.clone() {
            Some(target) => NatsLog::open(target, options).map(Log::Nats),
            None => Memory::open(dir, options).map(Log::File),
        }
    }

    pub fn settings(&self) -> &Settings {
        either!(self, l => l.settings())
    }

    pub(crate) fn options(&self) -> &Options {
        match self {
            Log::File(m) => &m.options,
            Log::Nats(n) => n.options(),
        }
    }

    /// Where the log is, for people: the file's path, or the stream.
    pub fn location(&self) -> Location<'_> {
        Location(self)
    }

    pub fn append(&mut self, event: &str) -> Result<(), Error> {
        either!(self, l => l.append(event))
    }

    pub fn try_append(&mut self, event: &str) -> Result<(), Error> {
        either!(self, l => l.try_append(event))
    }

    pub fn append_batch<S: AsRef<str>>(&mut self, events: &[S]) -> Result<(), Error> {
        either!(self, l => l.append_batch(events))
    }

    pub fn replay(&mut self) -> Result<Vec<Entry>, Error> {
        either!(self, l => l.replay())
    }

    pub fn replay_text(&mut self) -> Result<Vec<Result<String, String>>, Error> {
        either!(self, l => l.replay_text())
    }

    pub fn sync(&mut self) -> Result<(), Error> {
        either!(self, l => l.sync())
    }

    pub fn replay_page(&mut self, cursor: Option<&str>, max_bytes: u32) -> Result<Page, Error> {
        either!(self, l => l.replay_page(cursor, max_bytes))
    }

    pub fn end_cursor(&mut self) -> Result<String, Error> {
        either!(self, l => l.end_cursor())
    }

    pub fn compact<S: AsRef<str>>(
        &mut self,
        snapshot: &[S],
        upto: &str,
    ) -> Result<CompactReport, Error> {
        either!(self, l => l.compact(snapshot, upto))
    }

    pub fn check(&mut self) -> Result<CheckReport, Error> {
        either!(self, l => l.check())
    }

    pub fn repair(&mut self) -> Result<RepairReport, Error> {
        either!(self, l => l.repair())
    }

    /// The component's words for a failure the host detected.
    pub(crate) fn host_message(&mut self, failure: &HostFailure) -> Option<String> {
        match self {
            Log::File(m) => m.host_message(failure),
            Log::Nats(n) => Some(n.host_message(failure)),
        }
    }
}

/// [`Log::location`].
pub struct Location<'a>(&'a Log);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Log::File(m) => write!(f, "{}", m.log_path().display()),
            Log::Nats(n) => write!(f, "stream {} at {}", n.target().stream, n.target().url),
        }
    }
}
