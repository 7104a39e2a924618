//! Deleting a log, crash-safely and without losing an appender's record
//! unnoticed. A delete is a rewrite whose new log is a tombstone: it
//! claims `<log>.compact` (one rewrite at a time), writes and syncs
//! `<log>.compact.<id>` holding [`TOMBSTONE`], takes `<log>.lock`, appends
//! a delete's seal to the log ([`lock::delete_seal`]), renames the
//! tombstone over the log (the step that deletes: fenced like a
//! compaction's rename), and then removes the name and the side files.
//!
//! After a crash at any step the log is whole (before the rename; the seal
//! is JSON whitespace that readers skip) or gone (a tombstone, or no
//! file), never a prefix. An appender whose file was removed finds the
//! delete's seal last in it and fails with `deleted`
//! ([`crate::append`]); it never re-appends into a new log of the name.
//! A fresh appender that opens the tombstone meanwhile waits for the
//! lock, which is held until the name is gone.

use super::{NewLog, RewriteError, failpoint};
use crate::format::TOMBSTONE;
use crate::frame::Frame;
use crate::fs::{File, FileSystem};
use crate::lock;
use crate::reader::LogFile;
use crate::store::Store;
use crate::store_error::{Step, io_error};

/// Whether `file` holds exactly a tombstone: a delete stopped after its
/// rename, before it removed the name. Such a log is gone.
pub fn is_tombstone<T: File>(file: &T) -> bool {
    file.stat().is_ok_and(|s| s.size == TOMBSTONE.len() as u64)
        && crate::fs::read_exact(file, 0, TOMBSTONE.len() as u64).is_ok_and(|b| b == TOMBSTONE)
}

/// Deletes the store's log with its side files; returns its size. A log
/// that does not exist is [`RewriteError::NoLog`]; a tombstone (a delete
/// stopped by a crash) is deleted again, as a log would be.
pub fn delete<F: FileSystem>(store: &mut Store<F>) -> Result<u64, RewriteError> {
    let name = store.config().log_name.clone();
    let Some(mut old) = store.open_log_for_rewrite()? else {
        return Err(RewriteError::NoLog { log: name });
    };
    let mut new = NewLog::create(store)?;
    let fs = store.fs();
    let written = new.write(&Frame::raw(TOMBSTONE)).and_then(|()| new.sync());
    let result = match (written, old.file().stat()) {
        (Err(e), _) => Err(e.into()),
        (Ok(()), Err(e)) => Err(io_error(old.name(), Step::ReadingSize)(e).into()),
        (Ok(()), Ok(stat)) if stat.links == 0 => Err(RewriteError::Replaced { log: name }),
        (Ok(()), Ok(stat)) if stat.links > 1 => Err(RewriteError::HardLinked {
            log: name,
            links: stat.links,
        }),
        (Ok(()), Ok(_)) => delete_steps(store, &mut old, &mut new),
    };
    if result.is_err() {
        new.abandon(fs);
    } else {
        new.release(fs);
    }
    result
}

fn delete_steps<F: FileSystem>(
    store: &Store<F>,
    old: &mut LogFile<F::File>,
    new: &mut NewLog<F::File>,
) -> Result<u64, RewriteError> {
    let fs = store.fs();
    let name = store.config().log_name.clone();
    let lock_name = new.take_lock(fs, &name)?;
    failpoint("delete-after-lock");
    let result = (|| -> Result<u64, RewriteError> {
        let bytes = old.size()?;
        // Appenders whose bytes land after it find it last in the file
        // once it is gone, and fail with `deleted`.
        old.file()
            .append(&Frame::raw(&lock::delete_seal(new.id)))
            .map_err(io_error(old.name(), Step::Marking))?;
        failpoint("delete-after-seal");
        new.ready_to_rename(fs, old, &name, &lock_name)?;
        // The delete, fenced as a compaction's rename is.
        new.rename_over(fs, &name, &lock_name)?;
        failpoint("delete-after-rename");
        let _ = fs.sync_directory();
        // The side files go with it; then the name. A crash before this
        // leaves a tombstone, which is no log.
        let _ = fs.remove(&format!("{name}.quarantine"));
        let _ = fs.remove(&crate::moved::moved_name(&name));
        let _ = fs.remove(&name);
        let _ = fs.sync_directory();
        failpoint("delete-after-remove");
        Ok(bytes)
    })();
    // Only after the name is gone: a fresh appender waits for it rather
    // than append to the tombstone.
    let released = new.release_lock(fs, &lock_name);
    let bytes = result?;
    released?;
    Ok(bytes)
}
