//! The log file through `wasi:filesystem` and `wasi:io` directly: the first
//! preopened directory, the file opened once for appending, one write per
//! append call (within the host's write permit), positional reads for
//! replay. `std::fs` is not used: on wasmtime it hands every write to a
//! thread pool (~40 µs an append), and wasi-libc's open flags are refused
//! by Node's preview2-shim.

#![forbid(unsafe_code)]

use std::fmt;

use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
    filesystem_error_code,
};
use wasip2::io::streams::{OutputStream, StreamError};
use wasip2::random::random;

use crate::config::{Config, SyncMode};
use crate::cursor::{Cursor, CursorError};
use crate::error::IoKind;
use crate::frame::{Frame, ends_in_torn_line};
use crate::pager::{CHUNK, Page, Position, ReadAt, read_page};

/// A rewrite's lock or new file untouched for this long was left by a
/// crash: appenders stop waiting for it and the next rewrite replaces it.
pub const STALE_AFTER_SECS: u64 = 30;

/// Starts the line a rewrite appends to the file it replaced. `\x01` cannot
/// begin a JSON value, so no record is ever mistaken for it.
pub const TOMBSTONE: &[u8] = b"\x01pathway-replaced-";

/// How often, and how long apart, an unterminated last line is looked at
/// again before it is taken for torn (see [`Appender::ends_in_torn_line`]).
const TORN_LINE_CHECKS: usize = 5;
const TORN_LINE_PAUSE_NANOS: u64 = 200_000;

/// `blocking-write-and-flush` takes at most this many bytes a call.
const BLOCKING_WRITE_MAX: usize = 4096;

/// A file operation that failed; the text names the file and the remedy.
#[derive(Debug)]
pub enum StoreError {
    NoDirectory,
    Open {
        name: String,
        code: ErrorCode,
    },
    NotAFile {
        name: String,
    },
    Io {
        name: String,
        during: &'static str,
        reason: String,
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
        during: &'static str,
        reason: String,
        undo: Undo,
    },
}

/// Follows the bytes count of whole lines an [`Undo`] left in place.
const KEPT_LINES: &str = "bytes of whole lines that reached the log during the call stay: \
     other instances' records, or this batch's first records, or the newline that ended a torn \
     last line (replay shows which)";

/// What a failed append did about the bytes of its call that reached the
/// file. Only an unterminated end of the file is ever cut: every append
/// that succeeded ended its bytes with `\n`, so no stored record is among
/// them, and whole lines cannot be told from another instance's identical
/// record, so they stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// The file did not grow: nothing of the call was stored.
    NothingWritten,
    /// The call's unterminated bytes at the file's end were cut off; the
    /// file is `to` bytes long. `kept` bytes of whole lines that reached the
    /// file during the call stay (other instances' records, a batch's first
    /// records, the `\n` that ended a torn last line).
    Cut { to: u64, kept: u64 },
    /// The file ends in whole lines: no partly written record to cut;
    /// `kept` bytes reached it during the call (as for `Cut`).
    Whole { kept: u64 },
    /// The file's end is not this call's (another instance wrote, or is
    /// writing, after it): nothing was cut.
    Left { grown: u64 },
    /// A sync failed after the whole record was written and was provably
    /// the file's end: it was removed.
    Removed { to: u64 },
    /// A sync failed after the whole record was written; other instances
    /// appended after it, so it stays, perhaps not on stable storage.
    Stays,
    /// Looking at or cutting the file failed.
    Failed { offset: u64, reason: String },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoDirectory => write!(
                f,
                "no directory is granted: the host preopened none; preopen exactly one \
                 directory for the log"
            ),
            StoreError::Open { name, code } => {
                let hint = match code {
                    ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => {
                        "; the granted directory or file does not allow this: grant write access to change the log"
                    }
                    ErrorCode::Loop => "; the log must not be a symbolic link",
                    ErrorCode::IsDirectory => {
                        "; remove that directory or set PATHWAY_LOG to another name"
                    }
                    _ => "",
                };
                write!(
                    f,
                    "cannot open {name:?} in the granted directory: {}{hint}",
                    describe(*code)
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
                reason,
            } => write!(
                f,
                "{during} {name:?} failed: {reason}; records already stored are untouched"
            ),
            StoreError::Locked { lock } => write!(
                f,
                "{lock:?} was held for over {STALE_AFTER_SECS} s while this append waited: \
                 a compaction or repair is slow or stuck; nothing was written, try again"
            ),
            StoreError::Append {
                name,
                during,
                reason,
                undo,
            } => {
                write!(f, "{during} {name:?} failed: {reason}; ")?;
                match undo {
                    Undo::NothingWritten => write!(f, "nothing of this call was stored")?,
                    Undo::Cut { to, kept: 0 } => write!(
                        f,
                        "its partly written bytes were removed (the log is {to} bytes again, \
                         as before the call)"
                    )?,
                    Undo::Cut { to, kept } => write!(
                        f,
                        "its partly written bytes were removed (the log is {to} bytes); \
                         {kept} {KEPT_LINES}"
                    )?,
                    Undo::Whole { kept } => {
                        write!(f, "no partly written record was left; {kept} {KEPT_LINES}")?
                    }
                    Undo::Left { grown } => write!(
                        f,
                        "the log grew by {grown} bytes during the call and its end is not \
                         this call's (another instance appends too), so nothing was cut; a \
                         part of this record that reached the log shows as a damaged line, \
                         which `repair` moves to the quarantine"
                    )?,
                    Undo::Removed { to } => write!(
                        f,
                        "the record was written, then removed again (the log is {to} bytes, \
                         as before the call)"
                    )?,
                    Undo::Stays => write!(
                        f,
                        "the record was written and stays (other instances appended after \
                         it), but may not be on stable storage"
                    )?,
                    Undo::Failed { offset, reason } => write!(
                        f,
                        "looking at or removing its partly written bytes after byte offset \
                         {offset} failed too ({reason}); a part of this record that reached \
                         the log shows as a damaged line, which `repair` moves to the \
                         quarantine"
                    )?,
                }
                let remedy = if reason.contains("insufficient-space") {
                    "free space on the device, then append again"
                } else {
                    "append again once the cause is fixed"
                };
                if *during == "syncing" {
                    write!(
                        f,
                        "; records appended since the last successful sync may not be on \
                         stable storage either; {remedy}"
                    )
                } else {
                    write!(f, "; records already stored are untouched; {remedy}")
                }
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
            StoreError::Open { code, .. } => code_kind(*code),
            // The reason is `describe(code)`, which ends in the code's name.
            StoreError::Io { reason, .. } | StoreError::Append { reason, .. } => {
                if reason.ends_with("(insufficient-space)") {
                    IoKind::InsufficientSpace
                } else if reason.ends_with("(access)")
                    || reason.ends_with("(not-permitted)")
                    || reason.ends_with("(read-only)")
                {
                    IoKind::AccessDenied
                } else {
                    IoKind::Other
                }
            }
        }
    }
}

/// The kind of a WASI error code.
pub fn code_kind(code: ErrorCode) -> IoKind {
    match code {
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => IoKind::AccessDenied,
        ErrorCode::InsufficientSpace | ErrorCode::Quota => IoKind::InsufficientSpace,
        ErrorCode::IsDirectory | ErrorCode::Loop | ErrorCode::NotDirectory => IoKind::NotAFile,
        _ => IoKind::Other,
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

pub fn describe(code: ErrorCode) -> String {
    format!("{} ({})", code.message().trim_end_matches('.'), code.name())
}

fn stream_reason(err: StreamError) -> String {
    match err {
        StreamError::Closed => "the host closed the stream".to_string(),
        StreamError::LastOperationFailed(e) => match filesystem_error_code(&e) {
            Some(code) => describe(code),
            None => e.to_debug_string(),
        },
    }
}

/// Maps an `ErrorCode` to a [`StoreError::Io`] on `name`.
pub fn io_error<'a>(name: &'a str, during: &'static str) -> impl Fn(ErrorCode) -> StoreError + 'a {
    move |code| StoreError::Io {
        name: name.to_string(),
        during,
        reason: describe(code),
    }
}

/// The log of one instance: the granted directory and, once something was
/// appended, the open file.
pub struct Store {
    config: Config,
    dir: Descriptor,
    dir_path: String,
    /// `<log>.lock`: while it exists, a compaction or repair runs.
    lock_name: String,
    appender: Option<Appender>,
}

/// Where an append's bytes went.
enum Landed {
    InLog,
    /// Into a file a rewrite had renamed away; the bytes are at or after
    /// `from` in it.
    InReplacedFile {
        from: u64,
    },
}

/// The file opened for appending, kept open across calls.
struct Appender {
    file: Descriptor,
    stream: OutputStream,
    /// File size right after this instance's last write. While the size is
    /// still that, the file ends in our own `\n` and the last byte need not
    /// be read.
    end_after_last_write: Option<u64>,
    /// Monotonic time of the last sync (or of opening), for `interval:`.
    last_sync: u64,
}

/// The log opened for reading.
pub struct LogFile {
    file: Descriptor,
    name: String,
    /// `metadata-hash` of the file; what cursors are bound to.
    pub identity: u64,
}

impl Store {
    /// Takes the first directory the host preopened, whatever its guest path.
    pub fn open(config: Config) -> Result<Store, StoreError> {
        let (dir, dir_path) = get_directories()
            .into_iter()
            .next()
            .ok_or(StoreError::NoDirectory)?;
        Ok(Store {
            lock_name: format!("{}.lock", config.log_name),
            config,
            dir,
            dir_path,
            appender: None,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn dir(&self) -> &Descriptor {
        &self.dir
    }

    /// Appends a frame once no compaction or repair holds the lock, so that
    /// no record lands in a file that is being replaced.
    pub fn append_frame(&mut self, frame: Frame) -> Result<(), StoreError> {
        self.wait_while_locked()?;
        self.write_frame(frame)
    }

    /// Appends bytes that already are whole lines, for the rewrite that
    /// holds the lock (copying what reached a replaced file).
    pub fn append_raw_locked(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.write_frame(Frame::raw(bytes))
    }

    /// Waits (polling every millisecond) while a rewrite holds a fresh
    /// `<log>.lock`; a stale one (left by a crash) is ignored.
    fn wait_while_locked(&self) -> Result<(), StoreError> {
        // The clock is read only once there is a lock to wait for: most
        // appends find none, and each WASI call costs about half a µs.
        let mut start = None;
        while self
            .file_age(&self.lock_name)
            .is_some_and(|age| age < STALE_AFTER_SECS)
        {
            let now = monotonic_clock::now();
            let start = *start.get_or_insert(now);
            if now.saturating_sub(start) > STALE_AFTER_SECS * 1_000_000_000 {
                return Err(StoreError::Locked {
                    lock: self.lock_name.clone(),
                });
            }
            monotonic_clock::subscribe_duration(1_000_000).block();
        }
        Ok(())
    }

    /// Seconds since `path` (in the directory) was last modified; `None`
    /// when it does not exist. A file whose time the host does not report
    /// counts as just modified.
    pub fn file_age(&self, path: &str) -> Option<u64> {
        let stat = self.dir.stat_at(PathFlags::empty(), path).ok()?;
        let now = wall_clock::now().seconds;
        Some(
            stat.data_modification_timestamp
                .map_or(0, |t| now.saturating_sub(t.seconds)),
        )
    }

    pub fn lock_name(&self) -> &str {
        &self.lock_name
    }

    fn write_frame(&mut self, frame: Frame) -> Result<(), StoreError> {
        // Taken out while writing: a failed stream stays failed, so after
        // an error none is kept and the next call opens afresh.
        let (mut appender, size) = self.take_linked_appender()?;
        let name = &self.config.log_name;
        match appender.append(&frame, size, name, self.config.sync)? {
            Landed::InLog => {
                self.appender = Some(appender);
                Ok(())
            }
            Landed::InReplacedFile { from } => {
                // A rewrite renamed the file over while we wrote. Once it is
                // done (its lock gone), its tombstone tells: our bytes after
                // it, or no tombstone at all (it failed before marking the
                // file), mean it did not copy them.
                self.wait_while_locked()?;
                if appender.copied_by_rewrite(&frame, from, name)? {
                    Ok(())
                } else {
                    self.write_frame(frame)
                }
            }
        }
    }

    /// The appender and its file's size, read by a stat that found the file
    /// still linked as the log. A rewrite appends its tombstone only after
    /// renaming the file away, so the tombstone then lies at or after this
    /// size, where [`Appender::copied_by_rewrite`] looks for it.
    fn take_linked_appender(&mut self) -> Result<(Appender, u64), StoreError> {
        // A file with no links left was replaced by a compaction or repair
        // (renamed over): reopen the log by name.
        if let Some(appender) = self.appender.take()
            && let Some(size) = appender.linked_size()
        {
            return Ok((appender, size));
        }
        let name = &self.config.log_name;
        loop {
            let appender = Appender::open(&self.dir, name, self.config.sync)?;
            let stat = appender
                .file
                .stat()
                .map_err(io_error(name, "reading the size of"))?;
            if stat.link_count > 0 {
                return Ok((appender, stat.size));
            }
            // Renamed over between our open and our stat: a rewrite took
            // the lock after we checked it, and may already have appended
            // its tombstone, before the size we would search from. Our
            // bytes would then seem copied when they are not: wait for the
            // rewrite and open the new log instead.
            self.wait_while_locked()?;
        }
    }

    /// Syncs the log's data, opening it if this instance has not appended.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let name = &self.config.log_name;
        match &mut self.appender {
            Some(appender) => appender.sync(name),
            None => match self.open_log()? {
                Some(log) => log.file.sync_data().map_err(io_error(name, "syncing")),
                None => Ok(()),
            },
        }
    }

    /// Forgets the open file, so the next append opens the log by name.
    pub fn forget_appender(&mut self) {
        self.appender = None;
    }

    /// The log opened for reading, or `None` when it does not exist yet.
    pub fn open_log(&self) -> Result<Option<LogFile>, StoreError> {
        self.open_log_with(DescriptorFlags::READ)
    }

    /// The log opened for reading and writing, for the rewrite that will
    /// replace it (it marks the old file once it is replaced).
    pub fn open_log_for_rewrite(&self) -> Result<Option<LogFile>, StoreError> {
        self.open_log_with(DescriptorFlags::READ | DescriptorFlags::WRITE)
    }

    fn open_log_with(&self, flags: DescriptorFlags) -> Result<Option<LogFile>, StoreError> {
        let name = &self.config.log_name;
        let file = match self
            .dir
            .open_at(PathFlags::empty(), name, OpenFlags::empty(), flags)
        {
            Ok(file) => file,
            Err(ErrorCode::NoEntry) => return self.check_dir_usable().map(|()| None),
            Err(code) => {
                return Err(StoreError::Open {
                    name: name.clone(),
                    code,
                });
            }
        };
        if file.get_type().map_err(io_error(name, "checking"))? != DescriptorType::RegularFile {
            return Err(StoreError::NotAFile { name: name.clone() });
        }
        let identity = file
            .metadata_hash()
            .map_err(io_error(name, "identifying"))?
            .lower;
        Ok(Some(LogFile {
            file,
            name: name.clone(),
            identity,
        }))
    }

    /// Entries from `cursor` (none: the start) until about `max_bytes` were
    /// read, and the cursor to continue from.
    pub fn page(&self, cursor: Option<&str>, max_bytes: u64) -> Result<(Page, Cursor), PageError> {
        let cursor = match cursor {
            Some(text) => Cursor::decode(text).map_err(PageError::Cursor)?,
            None => Cursor::default(),
        };
        let Some(mut log) = self.open_log()? else {
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
            };
            return Ok((page, cursor));
        };
        log.verify(&cursor).map_err(|e| match e {
            PageError::Cursor(c) => PageError::Cursor(c),
            other => other,
        })?;
        let page = read_page(&mut log, cursor.position, max_bytes, self.config.max_line)?;
        // Renamed over while we read: what follows our read in that file
        // (a rewrite's tombstone, then appends being made again in the new
        // log) is not the log's. The page may be fine, but its cursor would
        // be stale anyway: say so now.
        if log
            .file
            .stat()
            .map_err(io_error(&log.name, "reading the size of"))?
            .link_count
            == 0
        {
            return Err(PageError::Cursor(CursorError::Stale {
                reason: "a compaction or repair replaced the log while this page was read",
            }));
        }
        let next = log.cursor_at(page.next)?;
        Ok((page, next))
    }

    /// A missing log is an empty log only if the directory itself is still
    /// there; a removed directory must not read as "no records".
    fn check_dir_usable(&self) -> Result<(), StoreError> {
        match self.dir.stat() {
            Ok(stat) if stat.link_count > 0 => Ok(()),
            _ => Err(StoreError::DirectoryGone {
                path: self.dir_path.clone(),
            }),
        }
    }
}

impl LogFile {
    pub fn size(&self) -> Result<u64, StoreError> {
        file_size(&self.file, &self.name)
    }

    /// A cursor for `position` in this file.
    pub fn cursor_at(&mut self, position: Position) -> Result<Cursor, StoreError> {
        let (start, len) = Cursor::check_range(position.offset);
        let before = self.read_exact_at(start, len)?;
        Ok(Cursor {
            identity: self.identity,
            position,
            check: crate::cursor::check_hash(&before),
        })
    }

    /// Whether `cursor` still fits this file.
    pub fn verify(&mut self, cursor: &Cursor) -> Result<(), PageError> {
        let (start, len) = Cursor::check_range(cursor.position.offset);
        let before = self.read_exact_at(start, len)?;
        let size = self.size()?;
        cursor
            .verify(self.identity, size, &before)
            .map_err(PageError::Cursor)
    }

    /// Appends a tombstone to this (replaced) file: a line no record can
    /// be, with a random id. Bytes before it are the rewrite's to copy;
    /// an appender whose record lands after it appends the record again.
    pub fn append_tombstone(&self) -> Result<Vec<u8>, StoreError> {
        let mut marker = b"\n".to_vec();
        marker.extend_from_slice(TOMBSTONE);
        marker.extend_from_slice(format!("{:016x}\n", random::get_random_u64()).as_bytes());
        let stream = self
            .file
            .append_via_stream()
            .map_err(io_error(&self.name, "marking"))?;
        stream
            .blocking_write_and_flush(&marker)
            .map_err(stream_error(&self.name, "marking"))?;
        Ok(marker)
    }

    /// Offset of the first occurrence of `needle` at or after `from`.
    pub fn find(&mut self, needle: &[u8], from: u64) -> Result<Option<u64>, StoreError> {
        find_in(&self.file, &self.name, needle, from)
    }

    /// Up to `len` bytes at `offset`, fewer only at the end of the file.
    pub fn read_exact_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        read_exact(&self.file, &self.name, offset, len)
    }
}

impl ReadAt for LogFile {
    type Error = StoreError;
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        read_chunk(&self.file, &self.name, offset, len)
    }
}

/// Where the file's unterminated end starts: after its last `\n`, or at
/// `before` if no `\n` lies in `before..after`. `None` when that end is
/// longer than `longest`, so cannot be one of our records.
fn unterminated_end(
    file: &Descriptor,
    name: &str,
    before: u64,
    after: u64,
    longest: u64,
) -> Result<Option<u64>, StoreError> {
    let mut end = after;
    while end > before {
        if after - end > longest {
            return Ok(None);
        }
        let from = before.max(end.saturating_sub(CHUNK));
        let chunk = read_exact(file, name, from, end - from)?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk) {
            let start = from + i as u64 + 1;
            return Ok((after - start <= longest).then_some(start));
        }
        end = from;
    }
    Ok((after - before <= longest).then_some(before))
}

/// Cuts the file to `size` bytes (a failed append's own bytes off).
fn cut(file: &Descriptor, name: &str, size: u64) -> Result<(), StoreError> {
    file.set_size(size)
        .map_err(io_error(name, "cutting the partial record off"))
}

fn file_size(file: &Descriptor, name: &str) -> Result<u64, StoreError> {
    Ok(file
        .stat()
        .map_err(io_error(name, "reading the size of"))?
        .size)
}

/// Up to `len` bytes at `offset`, fewer only at the end of the file, a
/// chunk at a time.
fn read_exact(file: &Descriptor, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (bytes.len() as u64) < len {
        let at = offset + bytes.len() as u64;
        let chunk = read_chunk(file, name, at, len - bytes.len() as u64)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Up to `len` bytes (at most one chunk) at `offset`; empty at the end.
fn read_chunk(file: &Descriptor, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
    let (chunk, _end) = file
        .read(len.min(CHUNK), offset)
        .map_err(io_error(name, "reading"))?;
    Ok(chunk)
}

/// Offset of the first occurrence of `needle` in `file` at or after `from`,
/// reading a chunk at a time.
fn find_in(
    file: &Descriptor,
    name: &str,
    needle: &[u8],
    from: u64,
) -> Result<Option<u64>, StoreError> {
    let mut at = from;
    let mut window: Vec<u8> = Vec::new();
    loop {
        let chunk = read_chunk(file, name, at + window.len() as u64, CHUNK)?;
        if chunk.is_empty() {
            return Ok(None);
        }
        window.extend_from_slice(&chunk);
        if let Some(i) = memchr::memmem::find(&window, needle) {
            return Ok(Some(at + i as u64));
        }
        // Keep a needle's length of overlap for the next chunk.
        let keep = needle.len().saturating_sub(1).min(window.len());
        at += (window.len() - keep) as u64;
        window.drain(..window.len() - keep);
    }
}

impl Appender {
    /// Opens (creating it if needed) the log for appending. No symlink is
    /// followed: the log must be a regular file directly in the directory.
    fn open(dir: &Descriptor, name: &str, sync: SyncMode) -> Result<Appender, StoreError> {
        let file = dir
            .open_at(
                PathFlags::empty(),
                name,
                OpenFlags::CREATE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            )
            .map_err(|code| StoreError::Open {
                name: name.to_string(),
                code,
            })?;
        let io = |during| io_error(name, during);
        if file.get_type().map_err(io("checking"))? != DescriptorType::RegularFile {
            return Err(StoreError::NotAFile {
                name: name.to_string(),
            });
        }
        let stream = file
            .append_via_stream()
            .map_err(io("opening a stream on"))?;
        if sync != SyncMode::Never {
            // The file may be new: make its directory entry durable too.
            // Hosts that cannot sync a directory still sync the data.
            let _ = dir.sync();
        }
        Ok(Appender {
            file,
            stream,
            end_after_last_write: None,
            last_sync: monotonic_clock::now(),
        })
    }

    /// The file's size while it is still the log; `None` once a rewrite
    /// renamed it over (no links left) or when it cannot be read.
    fn linked_size(&self) -> Option<u64> {
        self.file
            .stat()
            .ok()
            .filter(|stat| stat.link_count > 0)
            .map(|stat| stat.size)
    }

    /// Writes the frame (ending a torn last line first), syncs as the mode
    /// says, and tells whether the file was still the log afterwards.
    fn append(
        &mut self,
        frame: &Frame,
        size: u64,
        name: &str,
        sync: SyncMode,
    ) -> Result<Landed, StoreError> {
        let io = |during| io_error(name, during);
        // The size just before the write: where this call's bytes start at
        // the earliest (others may append first).
        let mut before = size;
        let mut torn = false;
        if size != 0 && Some(size) != self.end_after_last_write {
            (torn, before) = self
                .ends_in_torn_line(size)
                .map_err(io("reading the last byte of"))?;
        }
        let written;
        let frame = if torn {
            let mut led = frame.clone();
            led.end_torn_line();
            written = led;
            &written
        } else {
            frame
        };
        if let Err(e) = write_frame(&self.stream, frame) {
            return Err(StoreError::Append {
                name: name.to_string(),
                during: "appending to",
                reason: stream_reason(e),
                undo: self.undo_write(frame, before, name),
            });
        }
        let after = self.file.stat().map_err(io("reading the size of"))?;
        if after.link_count == 0 {
            return Ok(Landed::InReplacedFile { from: size });
        }
        self.end_after_last_write = Some(size + frame.bytes().len() as u64);
        let due = match sync {
            SyncMode::Never => false,
            SyncMode::Always => true,
            SyncMode::Interval { millis } => {
                monotonic_clock::now().saturating_sub(self.last_sync)
                    >= millis.saturating_mul(1_000_000)
            }
        };
        if due && let Err(code) = self.sync_data() {
            // The caller hears "not stored": the record should not stay to
            // be found later next to the one it will append again.
            return Err(StoreError::Append {
                name: name.to_string(),
                during: "syncing",
                reason: describe(code),
                undo: self.undo_sync(frame, before, after.size, name),
            });
        }
        Ok(Landed::InLog)
    }

    /// Whether the file, `size` bytes long, ends in a torn line, and its
    /// size when that was decided. Another instance's write in progress
    /// looks torn too (the file grows as the kernel copies it): the line
    /// counts as torn only if it is still unterminated after
    /// [`TORN_LINE_CHECKS`] pauses. A line torn by a
    /// crash costs that wait once, on this instance's first append.
    fn ends_in_torn_line(&self, mut size: u64) -> Result<(bool, u64), ErrorCode> {
        // The last byte, if any (someone may have truncated the file).
        let last_byte = |size: u64| -> Result<Option<u8>, ErrorCode> {
            match size.checked_sub(1) {
                Some(at) => Ok(self.file.read(1, at)?.0.first().copied()),
                None => Ok(None),
            }
        };
        for _ in 0..TORN_LINE_CHECKS {
            if !ends_in_torn_line(last_byte(size)?) {
                return Ok((false, size));
            }
            monotonic_clock::subscribe_duration(TORN_LINE_PAUSE_NANOS).block();
            size = self.file.stat()?.size;
        }
        // Still unterminated: end the line. If a stalled writer finishes it
        // after all, that leaves a blank line (which replay skips), or, for
        // a record it writes in pieces (over 64 KiB), two damaged lines.
        Ok((ends_in_torn_line(last_byte(size)?), size))
    }

    /// After a failed write: cuts off the file's unterminated end if it is
    /// this call's, that is, lies after `before` (the size just before the
    /// write) and is the start of one of the frame's records. Whole lines
    /// stay, whoever wrote them (see [`Undo`]); so does an end that is
    /// still growing, since a writer in progress may be writing a record
    /// identical to ours.
    fn undo_write(&self, frame: &Frame, before: u64, name: &str) -> Undo {
        let file = &self.file;
        let undo = || -> Result<Undo, StoreError> {
            let after = file_size(file, name)?;
            if after <= before {
                return Ok(Undo::NothingWritten);
            }
            let grown = after - before;
            let Some(start) = unterminated_end(file, name, before, after, frame.longest() as u64)?
            else {
                return Ok(Undo::Left { grown });
            };
            if start == after {
                return Ok(Undo::Whole { kept: grown });
            }
            let tail = read_exact(file, name, start, after - start)?;
            let bytes = frame.bytes();
            if !frame.starts().any(|at| bytes[at..].starts_with(&tail)) {
                return Ok(Undo::Left { grown });
            }
            monotonic_clock::subscribe_duration(TORN_LINE_PAUSE_NANOS).block();
            if file_size(file, name)? != after {
                return Ok(Undo::Left { grown });
            }
            cut(file, name, start)?;
            Ok(Undo::Cut {
                to: start,
                kept: start - before,
            })
        };
        undo().unwrap_or_else(|e| Undo::Failed {
            offset: before,
            reason: e.to_string(),
        })
    }

    /// After a failed sync of a record written whole: removes it if it
    /// provably is the file's end, that is, the file grew by exactly its
    /// bytes from `before` to `written_end` and has not grown since.
    fn undo_sync(&self, frame: &Frame, before: u64, written_end: u64, name: &str) -> Undo {
        let undo = || -> Result<Undo, StoreError> {
            if written_end != before + frame.bytes().len() as u64
                || file_size(&self.file, name)? != written_end
            {
                return Ok(Undo::Stays);
            }
            cut(&self.file, name, before)?;
            Ok(Undo::Removed { to: before })
        };
        undo().unwrap_or_else(|e| Undo::Failed {
            offset: before,
            reason: e.to_string(),
        })
    }

    /// Whether the rewrite that replaced the file (and has finished) copied
    /// the frame we wrote at or after `from` into the new log: only if its
    /// tombstone comes after our bytes. `from` was read while the file was
    /// still linked, so the tombstone, appended after the rename, cannot lie
    /// before it.
    fn copied_by_rewrite(&self, frame: &Frame, from: u64, name: &str) -> Result<bool, StoreError> {
        let ours = find_in(&self.file, name, frame.bytes(), from)?;
        let tombstone = find_in(&self.file, name, TOMBSTONE, from)?;
        Ok(matches!((tombstone, ours), (Some(t), Some(o)) if o < t))
    }

    fn sync(&mut self, name: &str) -> Result<(), StoreError> {
        self.sync_data().map_err(io_error(name, "syncing"))
    }

    fn sync_data(&mut self) -> Result<(), ErrorCode> {
        self.file.sync_data()?;
        self.last_sync = monotonic_clock::now();
        Ok(())
    }
}

/// Writes a frame: one `blocking-write-and-flush` when it fits its
/// 4096-byte cap (run inline on wasmtime's current thread); otherwise
/// `check-write` / `write` pieces as large as the host permits, cut between
/// records.
pub fn write_frame(stream: &OutputStream, frame: &Frame) -> Result<(), StreamError> {
    let bytes = frame.bytes();
    if bytes.len() <= BLOCKING_WRITE_MAX {
        return stream.blocking_write_and_flush(bytes);
    }
    let mut from = 0;
    while from < bytes.len() {
        let permit = usize::try_from(stream.check_write()?).unwrap_or(usize::MAX);
        if permit == 0 {
            stream.subscribe().block();
            continue;
        }
        let end = frame.next_write_end(from, permit);
        stream.write(&bytes[from..end])?;
        from = end;
    }
    stream.blocking_flush()
}

/// Text of a failed stream operation, for errors.
pub fn stream_error<'a>(
    name: &'a str,
    during: &'static str,
) -> impl Fn(StreamError) -> StoreError + 'a {
    move |e| StoreError::Io {
        name: name.to_string(),
        during,
        reason: stream_reason(e),
    }
}
