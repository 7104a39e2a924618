//! Typed errors of the log. Their `Display` text is what hosts see, so each
//! says what failed, where, and what to do.

#![forbid(unsafe_code)]

use std::fmt;

/// Why an event was refused by `append`. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Not exactly one JSON value; `offset` is a byte offset into the event.
    InvalidJson { offset: u64, reason: String },
    /// The stored line would be `size` bytes, over `limit`.
    TooLarge { size: u64, limit: u64 },
    /// Arrays and objects nested deeper than `limit` (`PATHWAY_MAX_DEPTH`);
    /// `offset` is the byte offset of the one too deep.
    TooDeep { offset: u64, limit: u32 },
}

/// Why an event nested too deep is refused, with where.
pub fn too_deep_reason(offset: u64, limit: u32) -> String {
    format!(
        "nests arrays and objects more than {limit} levels deep (at byte offset {offset}, \
         PATHWAY_MAX_DEPTH): readers with a lower limit could not read the log (serde_json \
         reads {} levels by default, jq 1.6 256)",
        crate::format::DEFAULT_MAX_DEPTH
    )
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidJson { offset, reason } => write!(
                f,
                "is not exactly one JSON value: {reason} at byte offset {offset}"
            ),
            EventError::TooLarge { size, limit } => write!(
                f,
                "is {size} bytes, over the line limit of {limit} bytes (PATHWAY_MAX_LINE)"
            ),
            EventError::TooDeep { offset, limit } => {
                write!(f, "{}", too_deep_reason(*offset, *limit))
            }
        }
    }
}

/// What `append` (which has no error channel) says when it traps on a
/// refused event: the guest's panic message, and the text a host without
/// an instance to trap (the NATS provider) gives its `append` error.
pub fn append_trap_text(refusal: &str) -> String {
    format!("pathway append refused: {refusal}")
}

/// Which call refused an event: the words around a [`Refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `append` or `try-append`: one event.
    Append,
    /// `append-batch`: the event at an index of the list.
    Batch,
    /// `compact`: an event of the snapshot.
    Snapshot,
}

/// An event refused by a call: the one text of a refusal, in every host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal<'a> {
    pub call: Call,
    pub index: usize,
    pub error: &'a EventError,
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Refusal { call, index, error } = self;
        match call {
            Call::Append => write!(f, "the event {error}; nothing was stored")?,
            Call::Batch => write!(f, "event {index} of the batch {error}; nothing was stored")?,
            Call::Snapshot => write!(
                f,
                "snapshot event {index} {error}; the log was not compacted and is as it was"
            )?,
        }
        match error {
            EventError::InvalidJson { .. } => f.write_str("; fix the event and try again"),
            EventError::TooLarge { .. } => {
                f.write_str("; split the event, or raise the limit for every reader too")
            }
            EventError::TooDeep { .. } => f.write_str(
                "; flatten the event (a nested part can be stored as a JSON string) and try \
                 again, or raise PATHWAY_MAX_DEPTH if every reader of the log reads deeper",
            ),
        }
    }
}

/// A failure the host detects while the component is stopped; its text is
/// made here so that every host words it alike (WIT `host-message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFailure {
    /// A call ran past the host's deadline, in milliseconds.
    Deadline { millis: u64 },
    /// The component asked for `wanted` bytes of linear memory, over `cap`.
    MemoryCap { wanted: u64, cap: u64 },
}

impl fmt::Display for HostFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: u64 = 1 << 20;
        match self {
            HostFailure::Deadline { millis } => write!(
                f,
                "the call ran longer than the deadline of {millis} ms and was stopped; \
                 nothing stored is lost; raise the call timeout, or read the log page by page"
            ),
            HostFailure::MemoryCap { wanted, cap } => write!(
                f,
                "the component needed {} MiB of memory, over the cap of {} MiB, and was \
                 stopped; nothing stored is lost; raise the memory cap, or read the log page \
                 by page",
                wanted.div_ceil(MIB),
                cap / MIB
            ),
        }
    }
}

/// Why one stored line gives an `err` entry on replay. Offsets are relative
/// to the start of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    TooLarge { size: u64, limit: u64 },
    InvalidUtf8 { offset: u64 },
    InvalidJson { offset: u64, reason: String },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLarge { size, limit } => write!(
                f,
                "{size} bytes, over the line limit of {limit} bytes (PATHWAY_MAX_LINE)"
            ),
            LineError::InvalidUtf8 { offset } => {
                write!(
                    f,
                    "not valid UTF-8 (first bad byte at byte {offset} of the line)"
                )
            }
            LineError::InvalidJson { offset, reason } => {
                write!(
                    f,
                    "not exactly one JSON value: {reason} at byte {offset} of the line"
                )
            }
        }
    }
}

/// A damaged line as replay reports it: `line N: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// 1-based line number in the file.
    pub line: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The line is the last one, has no `\n` and is not a valid record:
    /// a write cut short by a crash.
    pub torn: bool,
    pub error: LineError,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Damage {
            line,
            offset,
            torn,
            error,
        } = self;
        // A line read backwards (`last`) has no number: its offset says
        // where it is.
        let uncounted = *line == crate::tail::UNCOUNTED;
        if uncounted && *offset == crate::tail::UNCOUNTED {
            // Read backwards on a stream: no byte offset either.
            f.write_str("line read backwards from the end: ")?;
        } else if uncounted {
            write!(f, "line at byte offset {offset}: ")?;
        } else {
            write!(f, "line {line}: ")?;
        }
        match (uncounted, torn) {
            (false, true) => write!(f, "torn write at byte offset {offset}: ")?,
            (true, true) => f.write_str("torn write: ")?,
            (false, false) => write!(f, "at byte offset {offset}: ")?,
            (true, false) => {}
        }
        if *torn {
            write!(
                f,
                "the last line has no newline and is {error}; skipped, and the next append \
                 starts a new line"
            )
        } else {
            write!(f, "{error}; skipped, the other records are unaffected")
        }
    }
}

/// What kind of failure met the log's file operations, for hosts to decide
/// on (the WIT `cause`); the `Display` of the error is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoKind {
    /// No directory is granted, or the granted one is gone.
    NoDirectory,
    /// The log's name is a directory, a symbolic link or another
    /// non-regular file.
    NotAFile,
    /// The grant or the file's permissions do not allow the operation.
    AccessDenied,
    /// The device is full.
    InsufficientSpace,
    /// A compaction or repair holds the log's lock.
    Busy,
    /// The log was deleted under an append.
    Deleted,
    /// The grant's quota would be passed.
    QuotaExceeded,
    /// Any other failed file operation.
    Other,
}

/// Storing `needed` more bytes would take the grant past its quota
/// (`PATHWAY_QUOTA`): `used` of `limit` bytes are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub used: u64,
    pub limit: u64,
    pub needed: u64,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let QuotaExceeded {
            used,
            limit,
            needed,
        } = self;
        write!(
            f,
            "storing {needed} more bytes would pass the quota: the grant holds {used} of \
             {limit} bytes (PATHWAY_QUOTA, all logs together); nothing was stored; delete or \
             compact logs to free room, or raise the quota"
        )
    }
}
