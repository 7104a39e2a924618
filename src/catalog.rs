//! The logs of a grant, listed a page at a time in name order: `logs`
//! returns at most `max` of them after a name, so a directory of 100,000
//! logs is never held as one list (the directory is read as a stream, and
//! only the page's names are kept).

#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use crate::fs::{File, FileSystem, Open};
use crate::names;
use crate::store_error::{Step, StoreError, io_error};

/// One log of the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    pub name: String,
    /// Size of its file.
    pub bytes: u64,
}

/// A page of [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogList {
    /// In name order (by bytes of UTF-8).
    pub logs: Vec<LogInfo>,
    /// More logs follow: pass this name as `after` for the next page.
    pub next: Option<String>,
}

/// The logs whose names come after `after` (none: from the first), at most
/// `max` (at least 1). Side files and other files are never listed; a log
/// removed while the page is made is left out.
pub fn list<F: FileSystem>(
    fs: &F,
    dir_path: &str,
    after: Option<&str>,
    max: usize,
) -> Result<LogList, StoreError> {
    let max = max.max(1);
    let mut page: BTreeSet<String> = BTreeSet::new();
    let mut more = false;
    fs.list(&mut |file| {
        let Some(name) = names::log_of_file(&file) else {
            return;
        };
        if after.is_some_and(|after| name <= after) {
            return;
        }
        if page.len() == max {
            match page.last() {
                Some(last) if name < last.as_str() => {}
                _ => {
                    more = true;
                    return;
                }
            }
            page.pop_last();
            more = true;
        }
        page.insert(name.to_string());
    })
    .map_err(io_error(dir_path, Step::Listing))?;
    let last = page.last().cloned();
    let mut logs = Vec::with_capacity(page.len());
    for name in page {
        let file = format!("{name}{}", names::SUFFIX);
        match fs.open(&file, Open::Read) {
            // What a delete stopped by a crash left: no log.
            Ok(handle) if crate::rewrite::is_tombstone(&handle) => {}
            Ok(handle) => {
                let bytes = handle
                    .stat()
                    .map_err(io_error(&file, Step::ReadingSize))?
                    .size;
                logs.push(LogInfo { name, bytes });
            }
            // Removed since the directory was read.
            Err(e) if e.code == crate::fs::Code::NoEntry => {}
            Err(e) => return Err(crate::store_error::open_error(&file)(e)),
        }
    }
    let next = if more { last } else { None };
    Ok(LogList { logs, next })
}

/// The bytes every regular file of the grant holds: what a quota limits
/// (logs, their side files, anything else put there). One directory read
/// and one stat per file.
pub fn usage<F: FileSystem>(fs: &F, dir_path: &str) -> Result<u64, StoreError> {
    let mut used = 0u64;
    fs.list(&mut |file| {
        used = used.saturating_add(fs.size_of(&file).unwrap_or(0));
    })
    .map_err(io_error(dir_path, Step::Listing))?;
    Ok(used)
}

/// Fails with [`StoreError::QuotaExceeded`] if storing `needed` more bytes
/// would take the grant past `quota`. Checked right before each write, so
/// instances that append at once pass it by at most one call each.
pub fn check_quota<F: FileSystem>(
    fs: &F,
    dir_path: &str,
    quota: Option<u64>,
    needed: u64,
) -> Result<(), StoreError> {
    let Some(limit) = quota else {
        return Ok(());
    };
    let used = usage(fs, dir_path)?;
    if used.saturating_add(needed) > limit {
        return Err(StoreError::QuotaExceeded(crate::error::QuotaExceeded {
            used,
            limit,
            needed,
        }));
    }
    Ok(())
}
