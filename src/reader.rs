//! Reading the log: the file opened by name for reading, pages of entries
//! from a cursor ([`crate::pager`] judges the lines), and cursors bound to
//! the file they were read from (its identity and a hash of the bytes
//! before them), so that a cursor never resumes in another file.

#![forbid(unsafe_code)]

use crate::config::Config;
use crate::cursor::{Cursor, CursorError, PrefixHash, check_hash};
use crate::fs::{self, Code, File, FileSystem, Open};
use crate::pager::{CHUNK, Page, Position, ReadAt, read_page_hashed};
use crate::store_error::{PageError, Step, StoreError, io_error, open_error};

/// The log opened for reading.
pub struct LogFile<T> {
    file: T,
    name: String,
    /// What cursors are bound to.
    pub identity: u64,
}

/// The log `name` opened for reading (`how`: [`Open::Read`], or
/// [`Open::ReadAppend`] for a rewrite, which marks the file it replaced),
/// or `None` when it does not exist. A missing log is an empty log only if
/// the directory itself is still there; a removed directory must not read
/// as "no records".
pub fn open_log<F: FileSystem>(
    fs: &F,
    name: &str,
    how: Open,
    dir_path: &str,
) -> Result<Option<LogFile<F::File>>, StoreError> {
    let file = match fs.open(name, how) {
        Ok(file) => file,
        Err(error) if error.code == Code::NoEntry => {
            return if fs.directory_exists() {
                Ok(None)
            } else {
                Err(StoreError::DirectoryGone {
                    path: dir_path.to_string(),
                })
            };
        }
        Err(error) => return Err(open_error(name)(error)),
    };
    let identity = file.identity().map_err(io_error(name, Step::Identifying))?;
    Ok(Some(LogFile {
        file,
        name: name.to_string(),
        identity,
    }))
}

/// Entries from `cursor` (none: the start) until about `max_bytes` were
/// read, and the cursor to continue from.
pub fn page<F: FileSystem>(
    fs: &F,
    config: &Config,
    dir_path: &str,
    cursor: Option<&str>,
    max_bytes: u64,
) -> Result<(Page, Cursor), PageError> {
    let cursor = match cursor {
        Some(text) => Cursor::decode(text).map_err(PageError::Cursor)?,
        None => Cursor::default(),
    };
    // A compaction that renames the log while the page is read moves the
    // cursor (see `crate::moved`): read the page again, on the new log.
    let mut tries = 0;
    loop {
        match page_once(fs, config, dir_path, cursor, max_bytes) {
            Err(PageError::Cursor(CursorError::Stale { reason }))
                if reason == REPLACED_WHILE_READ && tries < PAGE_TRIES =>
            {
                tries += 1;
            }
            done => return done,
        }
    }
}

/// How often a page is read again when compactions keep replacing the log
/// under it.
const PAGE_TRIES: u32 = 8;

const REPLACED_WHILE_READ: &str =
    "a compaction or repair replaced the log while this page was read";

fn page_once<F: FileSystem>(
    fs: &F,
    config: &Config,
    dir_path: &str,
    cursor: Cursor,
    max_bytes: u64,
) -> Result<(Page, Cursor), PageError> {
    let Some(mut log) = open_log(fs, &config.log_name, Open::Read, dir_path)? else {
        if cursor.position.offset > 0 {
            return Err(PageError::Cursor(CursorError::Stale {
                reason: "the log no longer exists",
            }));
        }
        let page = Page {
            entries: Vec::new(),
            tail: None,
            next: Position::default(),
            at_end: true,
            seals: Vec::new(),
        };
        return Ok((page, cursor));
    };
    let (cursor, generation) = resolve(fs, &config.log_name, &mut log, cursor)?;
    let before = log.verify(&cursor)?;
    // Stopped right after the seal of a compaction that runs (below): wait
    // there, still.
    if ends_a_seal(&before)
        && seal_before_runs(fs, &config.log_name, &mut log, cursor.position.offset)?
    {
        let page = Page {
            entries: Vec::new(),
            tail: None,
            next: cursor.position,
            at_end: true,
            seals: Vec::new(),
        };
        return Ok((
            page,
            Cursor {
                generation: Some(generation),
                ..cursor
            },
        ));
    }
    // The hash of every byte before the next cursor, kept up from this
    // one's (a cursor of 0.2 has none, and neither do those after it).
    let mut hash = match cursor.prefix {
        Some(words) => Some(PrefixHash::resume(words, cursor.position.offset, &before)),
        None if cursor.position.offset == 0 => Some(PrefixHash::default()),
        None => None,
    };
    let mut unknown = PrefixHash::default();
    let mut page = read_page_hashed(
        &mut log,
        cursor.position,
        max_bytes,
        config.max_line,
        hash.as_mut().unwrap_or(&mut unknown),
    )?;
    // A compaction in its final steps sealed the log: what lands after the
    // seal its appenders append again to the new log, once it is renamed.
    // Stop right after the seal line, where the compaction's record moves
    // the cursor to (see `crate::moved`): nothing is read twice. The seal
    // of a compaction that stopped (not the one whose lock is fresh) is
    // read past.
    let running = match page.seals.is_empty() {
        true => None,
        false => crate::lock::running_lock(fs, &config.log_name),
    };
    let barrier = running.and_then(|id| page.seals.iter().find(|&&(_, seal)| seal == id));
    if let Some(&(seal_end, _)) = barrier {
        page.entries.retain(|e| e.offset < seal_end.offset);
        page.tail = None;
        page.next = seal_end;
        page.at_end = true;
        // The hash covered what lies past the seal too.
        hash = None;
    }
    // Renamed over while we read: what follows our read in that file (a
    // rewrite's tombstone, then appends being made again in the new log)
    // is not the log's. The page may be fine, but its cursor would be
    // stale anyway: say so now.
    if log.stat_links()? == 0 {
        return Err(PageError::Cursor(CursorError::Stale {
            reason: REPLACED_WHILE_READ,
        }));
    }
    let next = log.cursor_at(page.next, hash.map(|h| h.words()), Some(generation))?;
    Ok((page, next))
}

/// Whether the line that ends right before `offset` is the seal of the
/// compaction that holds the log's lock now.
fn seal_before_runs<T: File>(
    fs: &impl FileSystem,
    name: &str,
    log: &mut LogFile<T>,
    offset: u64,
) -> Result<bool, PageError> {
    let Some(id) = crate::lock::running_lock(fs, name) else {
        return Ok(false);
    };
    let len = (crate::format::SEAL.len() + crate::format::SEAL_ID_LEN + 1) as u64;
    if offset < len {
        return Ok(false);
    }
    let line = log.read_exact_at(offset - len, len - 1)?;
    Ok(crate::format::seal_line_id(&line) == Some(id))
}

/// Whether the bytes before a cursor may end a seal line: its id's last
/// bits (spaces and tabs) and `\n`.
fn ends_a_seal(before: &[u8]) -> bool {
    before.len() as u64 == crate::cursor::CHECK_LEN
        && before.last() == Some(&b'\n')
        && before[..before.len() - 1]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t'))
}

/// `cursor` on the log as it is now, and the generation of its file (see
/// [`crate::moved`]): made on a file a compaction replaced, it is moved to
/// where its bytes went. (A cursor at 0 made on a file that existed moves
/// too: the snapshot comes before it. One made before any file existed is
/// the start.) A cursor of another file that no compaction leads from is
/// left as it is, for the page's check to refuse.
pub fn resolve<F: FileSystem>(
    fs: &F,
    name: &str,
    log: &mut LogFile<F::File>,
    cursor: Cursor,
) -> Result<(Cursor, u64), PageError> {
    let chain = crate::moved::read(fs, name);
    let current = crate::moved::generation(&chain, log.identity);
    let here = cursor.identity == log.identity && cursor.generation.is_none_or(|g| g == current);
    if cursor.identity == 0 || here || chain.is_empty() {
        return Ok((cursor, current));
    }
    let moved = crate::moved::follow(&cursor, &chain, log.identity, current, |offset, len| {
        log.read_exact_at(offset, len).ok()
    })
    .map_err(PageError::Cursor)?;
    Ok((moved, current))
}

impl<T: File> LogFile<T> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The open file, for a rewrite to mark once it replaced it.
    pub fn file(&self) -> &T {
        &self.file
    }

    pub fn size(&self) -> Result<u64, StoreError> {
        Ok(self
            .file
            .stat()
            .map_err(io_error(&self.name, Step::ReadingSize))?
            .size)
    }

    pub fn stat_links(&self) -> Result<u64, StoreError> {
        Ok(self
            .file
            .stat()
            .map_err(io_error(&self.name, Step::ReadingSize))?
            .links)
    }

    /// A cursor for `position` in this file, with `prefix`, the hash of
    /// the whole words before it ([`PrefixHash::words`]).
    pub fn cursor_at(
        &mut self,
        position: Position,
        prefix: Option<u64>,
        generation: Option<u64>,
    ) -> Result<Cursor, StoreError> {
        let (start, len) = Cursor::check_range(position.offset);
        let before = self.read_exact_at(start, len)?;
        Ok(Cursor {
            identity: self.identity,
            position,
            check: check_hash(&before),
            prefix,
            generation,
        })
    }

    /// Whether `cursor` still fits this file, by the cheap check (identity
    /// and the 32 bytes before it); returns those bytes.
    pub fn verify(&mut self, cursor: &Cursor) -> Result<Vec<u8>, PageError> {
        let (start, len) = Cursor::check_range(cursor.position.offset);
        let before = self.read_exact_at(start, len)?;
        let size = self.size()?;
        cursor
            .verify(self.identity, size, &before)
            .map_err(PageError::Cursor)?;
        Ok(before)
    }

    /// Whether `cursor` still fits this file, by the cheap check and the
    /// hash of every byte before it: for a compaction, which replaces
    /// those bytes. Reads them all, a chunk at a time.
    pub fn verify_whole(&mut self, cursor: &Cursor) -> Result<(), PageError> {
        self.verify(cursor)?;
        let end = cursor.position.offset;
        let now = if end == 0 || cursor.prefix.is_none() {
            None
        } else {
            let mut hash = PrefixHash::default();
            let mut at = 0;
            while at < end {
                let chunk = self.read_exact_at(at, CHUNK.min(end - at))?;
                if chunk.is_empty() {
                    break;
                }
                hash.update(&chunk);
                at += chunk.len() as u64;
            }
            Some(hash.words())
        };
        cursor.verify_prefix(now).map_err(PageError::Cursor)
    }

    /// Offset of the first occurrence of `needle` at or after `from`.
    pub fn find(&mut self, needle: &[u8], from: u64) -> Result<Option<u64>, StoreError> {
        fs::find(&self.file, needle, from).map_err(io_error(&self.name, Step::Reading))
    }

    /// Up to `len` bytes at `offset`, fewer only at the end of the file.
    pub fn read_exact_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        fs::read_exact(&self.file, offset, len).map_err(io_error(&self.name, Step::Reading))
    }
}

impl<T: File> ReadAt for LogFile<T> {
    type Error = StoreError;
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        self.file
            .read_at(offset, len.min(crate::pager::CHUNK))
            .map_err(io_error(&self.name, Step::Reading))
    }
}
