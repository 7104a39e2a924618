//! What a compaction or repair (a rewrite) leaves for appenders to see,
//! and what appenders look at: the files a rewrite claims exclusively
//! (`<log>.compact`, `<log>.lock`), when such a file counts as left by a
//! crash, and the tombstone line a rewrite appends to the file it
//! replaced. The rewrite's steps are in [`crate::rewrite`]; the appender's
//! side in [`crate::append`]. Both use this module; neither reaches into
//! the other.

#![forbid(unsafe_code)]

use crate::frame::Frame;
use crate::fs::{self, Code, File, FileSystem, FsError, Open};
use crate::store_error::{StoreError, open_error};

/// A rewrite's lock or new file untouched for this long was left by a
/// crash: appenders stop waiting for it and the next rewrite replaces it.
pub const STALE_AFTER_SECS: u64 = 30;

/// Starts the line a rewrite appends to the file it replaced. `\x01` cannot
/// begin a JSON value, so no record is ever mistaken for it.
pub const TOMBSTONE: &[u8] = b"\x01pathway-replaced-";

/// How often appenders look at a held lock again.
const LOCK_POLL_NANOS: u64 = 1_000_000;

/// `<log>.lock`: while it exists (and is fresh), a rewrite is in its final
/// steps and appenders wait.
pub fn lock_name(log: &str) -> String {
    format!("{log}.lock")
}

/// `<log>.compact`: the new log a rewrite is writing.
pub fn new_log_name(log: &str) -> String {
    format!("{log}.compact")
}

/// Whether `name` exists and was touched less than [`STALE_AFTER_SECS`] ago.
pub fn is_fresh<F: FileSystem>(fs: &F, name: &str) -> bool {
    fs.age_secs(name).is_some_and(|age| age < STALE_AFTER_SECS)
}

/// Waits (polling every millisecond) while a rewrite holds a fresh lock
/// on `log`; a stale one (left by a crash) is ignored.
pub fn wait_while_locked<F: FileSystem>(fs: &F, log: &str) -> Result<(), StoreError> {
    let lock = lock_name(log);
    // The clock is read only once there is a lock to wait for.
    let mut start = None;
    while is_fresh(fs, &lock) {
        let now = fs.now_nanos();
        let start = *start.get_or_insert(now);
        if now.saturating_sub(start) > STALE_AFTER_SECS * 1_000_000_000 {
            return Err(StoreError::Locked { lock });
        }
        fs.pause(LOCK_POLL_NANOS);
    }
    Ok(())
}

/// Why [`claim`] did not create the file.
#[derive(Debug)]
pub enum ClaimError {
    /// A fresh file of that name exists: another rewrite runs.
    Held {
        name: String,
    },
    Store(StoreError),
}

/// Creates `name` exclusively: of the rewrites that try, one succeeds. A
/// file left by a crash (untouched for [`STALE_AFTER_SECS`]) is replaced.
pub fn claim<F: FileSystem>(fs: &F, name: &str) -> Result<F::File, ClaimError> {
    let open = || fs.open(name, Open::CreateNew);
    let stale = || fs.age_secs(name).is_some_and(|age| age >= STALE_AFTER_SECS);
    match open() {
        Err(FsError {
            code: Code::Exists, ..
        }) if stale() => {
            let _ = fs.remove(name);
            open()
        }
        other => other,
    }
    .map_err(|error| match error.code {
        Code::Exists => ClaimError::Held {
            name: name.to_string(),
        },
        _ => ClaimError::Store(open_error(name)(error)),
    })
}

/// The tombstone line, with a random id so that it is unique in the file;
/// led by `\n` in case a writer's record was cut short before it.
pub fn tombstone(id: u64) -> Vec<u8> {
    let mut marker = b"\n".to_vec();
    marker.extend_from_slice(TOMBSTONE);
    marker.extend_from_slice(format!("{id:016x}\n").as_bytes());
    marker
}

/// Whether the rewrite that replaced `file` (and has finished) copied the
/// frame an appender wrote at or after `from` into the new log: only if its
/// tombstone comes after those bytes. `from` must have been read while the
/// file was still linked, so the tombstone, appended after the rename,
/// cannot lie before it. No tombstone at all (the rewrite failed before
/// marking the file) means not copied.
pub fn copied_by_rewrite<T: File>(file: &T, frame: &Frame, from: u64) -> Result<bool, FsError> {
    let ours = fs::find(file, frame.bytes(), from)?;
    let tombstone = fs::find(file, TOMBSTONE, from)?;
    Ok(matches!((tombstone, ours), (Some(t), Some(o)) if o < t))
}
