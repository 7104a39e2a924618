//! Forking a log: a new log, under a new name, that starts as a copy of
//! another up to a cursor (default: its end). The copy is written to
//! `<new>.fork.<id>` in pages (bounded memory), synced, and given the new
//! name by a hard link, which fails if the name exists: the new log
//! appears whole or not at all, and never replaces one. Then the
//! temporary name goes. Appends to either log never show in the other:
//! they are two files.
//!
//! The copy is byte for byte (damaged lines stay damaged, a seal left by a
//! stopped rewrite stays skipped), read through one handle of the source,
//! so a compaction of the source meanwhile does not mix two versions.

#![forbid(unsafe_code)]

use std::fmt;

use crate::cursor::{Cursor, CursorError};
use crate::fs::{Code, File, FileSystem, Open};
use crate::pager::CHUNK;
use crate::reader::{self, LogFile};
use crate::rewrite::is_tombstone;
use crate::store_error::{PageError, Step, StoreError, io_error, open_error};
use crate::tail;

/// Why a fork did not happen; nothing was created.
#[derive(Debug)]
pub enum ForkError {
    /// The source does not exist.
    NoLog {
        log: String,
    },
    /// The new name is taken.
    Exists {
        log: String,
    },
    /// The new name holds what a delete stopped by a crash left.
    Tombstone {
        log: String,
    },
    Cursor(CursorError),
    Store(StoreError),
}

impl From<StoreError> for ForkError {
    fn from(e: StoreError) -> ForkError {
        ForkError::Store(e)
    }
}

impl From<PageError> for ForkError {
    fn from(e: PageError) -> ForkError {
        match e {
            PageError::Cursor(c) => ForkError::Cursor(c),
            PageError::Store(s) => ForkError::Store(s),
        }
    }
}

/// A log's name for people: `t` for the file `t.jsonl`.
pub(crate) fn shown(file: &str) -> &str {
    crate::names::log_of_file(file).unwrap_or(file)
}

impl fmt::Display for ForkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkError::NoLog { log } => write!(
                f,
                "there is no log {:?} to fork: nothing was created; `logs` lists the logs \
                 there are",
                shown(log)
            ),
            ForkError::Exists { log } => write!(
                f,
                "the log {:?} exists: a fork never replaces a log, nothing was changed; fork \
                 to another name, or delete that log first",
                shown(log)
            ),
            ForkError::Tombstone { log } => write!(
                f,
                "the log {:?} is what a delete that was stopped midway (a crash) left: \
                 nothing was changed; delete that log again, then fork",
                shown(log)
            ),
            ForkError::Cursor(e) => {
                write!(f, "{e} (a fork's cursor must come from the log it forks)")
            }
            ForkError::Store(e) => e.fmt(f),
        }
    }
}

/// The temporary name of a fork into `file`.
pub fn fork_file_name(file: &str, id: u64) -> String {
    format!("{file}.fork.{id:016x}")
}

/// Copies the log in `source` (a file name) up to `at` (a cursor of it;
/// none: its end, before an unterminated last line) into a new log
/// `target`; returns the bytes copied.
pub fn fork<F: FileSystem>(
    fs: &F,
    dir_path: &str,
    source: &str,
    target: &str,
    at: Option<&str>,
    max_line: u64,
    quota: Option<u64>,
) -> Result<u64, ForkError> {
    let no_log = || ForkError::NoLog {
        log: source.to_string(),
    };
    let mut log = reader::open_log(fs, source, Open::Read, dir_path)?.ok_or_else(no_log)?;
    if is_tombstone(log.file()) {
        return Err(no_log());
    }
    let upto = match at {
        Some(text) => {
            let cursor = Cursor::decode(text).map_err(ForkError::Cursor)?;
            let (cursor, _) = reader::resolve(fs, source, &mut log, cursor)?;
            log.verify(&cursor)?;
            cursor.position.offset
        }
        None => {
            let size = log.size()?;
            tail::read_last(&mut log, size, 0, max_line)?.end
        }
    };
    taken(fs, target)?;
    // A fork adds its copy to the grant: the quota counts it.
    crate::catalog::check_quota(fs, dir_path, quota, upto)?;
    let temp = fork_file_name(target, fs.random_u64());
    let copy = fs.open(&temp, Open::CreateNew).map_err(open_error(&temp))?;
    let done = copy_into(&mut log, &copy, &temp, upto).and_then(|()| link(fs, &temp, target));
    let _ = fs.remove(&temp);
    let _ = fs.sync_directory();
    done.map(|()| upto)
}

/// Fails if `name` exists: a log, or a tombstone.
fn taken<F: FileSystem>(fs: &F, name: &str) -> Result<(), ForkError> {
    match fs.open(name, Open::Read) {
        Ok(file) if is_tombstone(&file) => Err(ForkError::Tombstone {
            log: name.to_string(),
        }),
        Ok(_) => Err(ForkError::Exists {
            log: name.to_string(),
        }),
        Err(e) if e.code == Code::NoEntry => Ok(()),
        Err(e) => Err(open_error(name)(e).into()),
    }
}

fn copy_into<T: File>(
    log: &mut LogFile<T>,
    copy: &T,
    temp: &str,
    upto: u64,
) -> Result<(), ForkError> {
    let mut at = 0;
    while at < upto {
        let chunk = log.read_exact_at(at, (upto - at).min(CHUNK))?;
        if chunk.is_empty() {
            // The source is shorter than the cursor: it was cut.
            return Err(ForkError::Cursor(CursorError::Stale {
                reason: "the log is now shorter than the cursor's offset",
            }));
        }
        copy.write_at(at, &chunk)
            .map_err(io_error(temp, Step::Writing))?;
        at += chunk.len() as u64;
    }
    copy.sync_data().map_err(io_error(temp, Step::Syncing))?;
    Ok(())
}

/// Gives the synced copy its name, unless a log took it meanwhile.
fn link<F: FileSystem>(fs: &F, temp: &str, target: &str) -> Result<(), ForkError> {
    loop {
        match fs.link(temp, target) {
            Ok(()) => return Ok(()),
            // Gone again before we looked: try once more.
            Err(e) if e.code == Code::Exists => taken(fs, target)?,
            Err(e) => return Err(io_error(target, Step::Creating)(e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_name_is_no_log() {
        let name = fork_file_name("a.jsonl", 7);
        assert_eq!(name, "a.jsonl.fork.0000000000000007");
        assert_eq!(crate::names::log_of_file(&name), None);
    }
}
