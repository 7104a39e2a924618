//! The store's failures as typed values, and their text, made here once:
//! what failed, on which file, and what to do. Hosts get the text and the
//! [`IoKind`] from [`StoreError::kind`]; nothing decides on the text.

#![forbid(unsafe_code)]

use std::fmt;

use crate::cursor::CursorError;
use crate::error::IoKind;
use crate::fs::{Code, FsError};
use crate::lock::WAIT_LIMIT_SECS;

/// What the store was doing when a file operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Checking,
    Creating,
    Identifying,
    Reading,
    ReadingSize,
    ReadingLastByte,
    Writing,
    Marking,
    Touching,
    BlankingPartialRecord,
    Syncing,
    RenamingOver,
    Removing,
    Listing,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Checking => "checking",
            Step::Creating => "creating",
            Step::Identifying => "identifying",
            Step::Reading => "reading",
            Step::ReadingSize => "reading the size of",
            Step::ReadingLastByte => "reading the last byte of",
            Step::Writing => "writing",
            Step::Marking => "marking",
            Step::Touching => "touching",
            Step::BlankingPartialRecord => "making its partial record a blank line",
            Step::Syncing => "syncing",
            Step::RenamingOver => "renaming the new log over",
            Step::Removing => "removing",
            Step::Listing => "listing the files of",
        })
    }
}

/// Which part of an append failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendStep {
    /// Writing the record: nothing is durable that was not before.
    Writing,
    /// Syncing it: records appended since the last sync may not be durable.
    Syncing,
}

/// A file operation that failed; the text names the file and the remedy.
#[derive(Debug)]
pub enum StoreError {
    NoDirectory,
    Open {
        name: String,
        error: FsError,
    },
    NotAFile {
        name: String,
    },
    Io {
        name: String,
        during: Step,
        error: FsError,
    },
    DirectoryGone {
        path: String,
    },
    Locked {
        lock: String,
    },
    /// Writing or syncing an appended record failed; `undo` says what
    /// became of the bytes that reached the file.
    Append {
        name: String,
        during: AppendStep,
        error: FsError,
        undo: Undo,
    },
    /// Another instance appended a byte-identical record in the same
    /// moment as this append, in `from..to`, and the copies tell different
    /// things (see [`Unsure`]): which one is this call's cannot be told,
    /// so the record is stored once or not at all, never twice.
    Unsure {
        name: String,
        from: u64,
        to: u64,
        why: Unsure,
    },
    /// The log was deleted while this append wrote to it (or before, by
    /// another instance): nothing of the call is stored.
    Deleted {
        name: String,
    },
    /// Storing more bytes would take the grant past its quota.
    QuotaExceeded(crate::error::QuotaExceeded),
}

/// What made the copies of a record tell different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsure {
    /// One copy on a line of its own, one on another writer's
    /// unterminated line.
    TornLine,
    /// One copy before a compaction's or repair's seal (copied to the new
    /// log), one after it (not copied).
    Sealed,
    /// A rewrite took this record's `<log>.big` over, and the old log held
    /// an identical record that it could have copied instead.
    TakenOver,
}

/// What a failed append did about the bytes of its call that reached the
/// file. Nothing is ever cut. Only bytes that are provably this call's (a
/// record whose sync failed and that nothing followed, space reserved for
/// a record larger than the write permit) are made a blank line; an
/// unterminated end that looks like ours stays, since another instance's
/// identical record could be in the middle of its write there.
#[derive(Debug)]
pub enum Undo {
    /// The file did not grow: nothing of the call was stored.
    NothingWritten,
    /// The file ends in an unterminated start of one of the call's records
    /// (`length` bytes at `offset`): it stays, as a crash would leave it,
    /// and replays as a torn write (a damaged line once another record
    /// follows). `kept` bytes of whole lines that reached the file during
    /// the call stay (other instances' records, a batch's first records,
    /// the `\n` that ended a torn last line).
    Partial { offset: u64, length: u64, kept: u64 },
    /// The file ends in whole lines: no partly written record to cut;
    /// `kept` bytes of whole lines reached it during the call (other
    /// instances' records, a batch's first records, the `\n` that ended a
    /// torn last line).
    Whole { kept: u64 },
    /// The file's end is not this call's (another instance wrote, or is
    /// writing, after it): nothing was cut.
    Left { grown: u64 },
    /// A sync failed after the whole record was written; other instances
    /// appended after it, so it stays, perhaps not on stable storage.
    Stays,
    /// The call's own bytes (a record whose sync failed, the space
    /// reserved for a record larger than the write permit) were made a
    /// blank line: `length` bytes at `offset`.
    Blanked { offset: u64, length: u64 },
    /// Looking at or cutting the file failed.
    Failed { offset: u64, error: Box<StoreError> },
}

/// Follows the bytes count of whole lines an [`Undo`] left in place.
const KEPT_LINES: &str = "bytes of whole lines that reached the log during the call stay: \
     other instances' records, or this batch's first records, or the newline that ended a torn \
     last line (replay shows which)";

impl fmt::Display for Undo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undo::NothingWritten => write!(f, "nothing of this call was stored"),
            Undo::Partial {
                offset,
                length,
                kept,
            } => {
                write!(
                    f,
                    "its partly written bytes ({length} at byte offset {offset}) stay, as a \
                     crash would leave them (another instance could be writing an identical \
                     record there, so nothing is cut or overwritten): replay reports them as \
                     a torn write, the next append ends their line, and `repair` moves it to \
                     the quarantine"
                )?;
                if *kept > 0 {
                    write!(f, "; {kept} {KEPT_LINES}")?;
                }
                Ok(())
            }
            Undo::Whole { kept } => {
                write!(f, "no partly written record was left; {kept} {KEPT_LINES}")
            }
            Undo::Left { grown } => write!(
                f,
                "the log grew by {grown} bytes during the call and its end is not \
                 this call's (another instance appends too), so nothing was cut; a \
                 part of this record that reached the log shows as a damaged line, \
                 which `repair` moves to the quarantine"
            ),
            Undo::Stays => write!(
                f,
                "the record was written and stays (other instances appended after \
                 it), but may not be on stable storage"
            ),
            Undo::Blanked { offset, length } => write!(
                f,
                "its bytes ({length} at byte offset {offset}) were made a blank line, which \
                 replay skips; nothing was cut"
            ),
            Undo::Failed { offset, error } => write!(
                f,
                "looking at its partly written bytes after byte offset \
                 {offset} failed too ({error}); a part of this record that reached \
                 the log shows as a damaged line, which `repair` moves to the \
                 quarantine"
            ),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::QuotaExceeded(q) => q.fmt(f),
            StoreError::Deleted { name } => write!(
                f,
                "{name:?} was deleted while this append was writing to it: nothing of the \
                 call is stored; append again to start a new log of that name"
            ),
            StoreError::NoDirectory => write!(
                f,
                "no directory is granted: the host preopened none; preopen exactly one \
                 directory for the log"
            ),
            StoreError::Open { name, error } => {
                let hint = match error.code {
                    Code::Access => {
                        "; the granted directory or file does not allow this: grant write access to change the log"
                    }
                    Code::Loop => "; the log must not be a symbolic link",
                    Code::IsDirectory => {
                        "; remove that directory or set PATHWAY_LOG to another name"
                    }
                    _ => "",
                };
                write!(
                    f,
                    "cannot open {name:?} in the granted directory: {error}{hint}"
                )
            }
            StoreError::NotAFile { name } => write!(
                f,
                "{name:?} in the granted directory is not a regular file; remove it or set \
                 PATHWAY_LOG to another name"
            ),
            StoreError::Io {
                name,
                during,
                error,
            } => write!(
                f,
                "{during} {name:?} failed: {error}; records already stored are untouched"
            ),
            StoreError::Locked { lock } => write!(
                f,
                "{lock:?} was held for over {WAIT_LIMIT_SECS} s while this append waited: \
                 a compaction or repair is slow or stuck; nothing was written, try again"
            ),
            StoreError::Append {
                name,
                during,
                error,
                undo,
            } => {
                let verb = match during {
                    AppendStep::Writing => "appending to",
                    AppendStep::Syncing => "syncing",
                };
                write!(f, "{verb} {name:?} failed: {error}; {undo}")?;
                let remedy = if error.code == Code::NoSpace {
                    "free space on the device, then append again"
                } else {
                    "append again once the cause is fixed"
                };
                match during {
                    AppendStep::Syncing => write!(
                        f,
                        "; records appended since the last successful sync may not be on \
                         stable storage either; {remedy}"
                    ),
                    AppendStep::Writing => {
                        write!(f, "; records already stored are untouched; {remedy}")
                    }
                }
            }
            StoreError::Unsure {
                name,
                from,
                to,
                why,
            } => {
                let why = match why {
                    Unsure::TornLine => {
                        "one on a line of its own, one on another writer's unterminated line"
                    }
                    Unsure::Sealed => {
                        "one before a compaction's seal, which copied it, one after it"
                    }
                    Unsure::TakenOver => {
                        "a compaction took this large record's claim over while it was \
                         written, and could have copied either"
                    }
                };
                write!(
                    f,
                    "appending to {name:?}: another instance appended a byte-identical record \
                     in the same moment (between byte offsets {from} and {to}) and the two \
                     copies fared differently ({why}); which one is this call's cannot be \
                     told, so this record is stored once or not at all, never twice; replay \
                     to see, and give events a field that makes each unique (an id, a \
                     timestamp) so that this cannot happen"
                )
            }
            StoreError::DirectoryGone { path } => write!(
                f,
                "the granted directory {path:?} is no longer usable (removed?); grant an \
                 existing directory"
            ),
        }
    }
}

impl StoreError {
    /// The kind of failure, for the WIT boundary.
    pub fn kind(&self) -> IoKind {
        match self {
            StoreError::NoDirectory | StoreError::DirectoryGone { .. } => IoKind::NoDirectory,
            StoreError::NotAFile { .. } => IoKind::NotAFile,
            StoreError::Locked { .. } => IoKind::Busy,
            StoreError::Unsure { .. } => IoKind::Other,
            StoreError::Deleted { .. } => IoKind::Deleted,
            StoreError::QuotaExceeded(_) => IoKind::QuotaExceeded,
            StoreError::Open { error, .. }
            | StoreError::Io { error, .. }
            | StoreError::Append { error, .. } => code_kind(error.code),
        }
    }
}

/// The kind of a file operation's failure.
pub fn code_kind(code: Code) -> IoKind {
    match code {
        Code::Access => IoKind::AccessDenied,
        Code::NoSpace => IoKind::InsufficientSpace,
        Code::IsDirectory | Code::Loop | Code::NotDirectory | Code::NotRegular => IoKind::NotAFile,
        Code::NoEntry | Code::Exists | Code::Closed | Code::Other => IoKind::Other,
    }
}

/// Maps an [`FsError`] to a [`StoreError::Io`] on `name`.
pub fn io_error(name: &str, during: Step) -> impl Fn(FsError) -> StoreError + '_ {
    move |error| StoreError::Io {
        name: name.to_string(),
        during,
        error,
    }
}

/// Maps a failed open of `name`: a name that is not a regular file is
/// [`StoreError::NotAFile`].
pub fn open_error(name: &str) -> impl Fn(FsError) -> StoreError + '_ {
    move |error| match error.code {
        Code::NotRegular => StoreError::NotAFile {
            name: name.to_string(),
        },
        _ => StoreError::Open {
            name: name.to_string(),
            error,
        },
    }
}

/// A failure of paged replay: a cursor that does not fit, or the store.
#[derive(Debug)]
pub enum PageError {
    Cursor(CursorError),
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_device_is_told_by_its_code_not_its_text() {
        let error = StoreError::Append {
            name: "pathway.jsonl".into(),
            during: AppendStep::Syncing,
            error: FsError::new(Code::NoSpace, "device full (insufficient-space)"),
            undo: Undo::Stays,
        };
        assert_eq!(error.kind(), IoKind::InsufficientSpace);
        let text = error.to_string();
        assert!(text.starts_with("syncing \"pathway.jsonl\" failed: device full"));
        assert!(text.ends_with("free space on the device, then append again"));
    }
}
