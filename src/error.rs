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
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidJson { offset, reason } => write!(
                f,
                "event is not exactly one JSON value: {reason} at byte offset {offset}; \
                 fix the event and append it again"
            ),
            EventError::TooLarge { size, limit } => write!(
                f,
                "event is {size} bytes, over the line limit of {limit} bytes \
                 (PATHWAY_MAX_LINE); split it or raise the limit for every reader"
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
        if *torn {
            write!(
                f,
                "line {line}: torn write at byte offset {offset}: the last line has no \
                 newline and is {error}; skipped, and the next append starts a new line"
            )
        } else {
            write!(
                f,
                "line {line}: at byte offset {offset}: {error}; skipped, \
                 the other records are unaffected"
            )
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
    /// Any other failed file operation.
    Other,
}
