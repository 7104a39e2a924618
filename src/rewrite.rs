//! Compaction, repair and check: the operations that read the whole log and
//! may replace it. A replacement is written to `<log>.compact`, synced, and
//! renamed over the log, so a crash at any step leaves the old log or the
//! new one, never a mix. `<log>.lock`, created exclusively, keeps two
//! rewrites from running at once.

#![forbid(unsafe_code)]

use std::fmt;

use wasip2::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags};
use wasip2::io::streams::OutputStream;

use crate::cursor::{Cursor, CursorError};
use crate::error::Damage;
use crate::frame::Frame;
use crate::pager::{CHUNK, OwnedEntry, Position, read_page};
use crate::store::{LogFile, PageError, Store, StoreError, io_error, stream_error, write_frame};

/// Bytes of the log read per page while scanning.
const SCAN_PAGE: u64 = 1 << 20;
/// Catch-up rounds before giving up on a log that keeps growing.
const CATCH_UP_ROUNDS: usize = 16;

/// Why a rewrite did not happen; the log is as it was.
#[derive(Debug)]
pub enum RewriteError {
    Busy { lock: String },
    Cursor(CursorError),
    Store(StoreError),
    Growing { name: String },
}

impl From<StoreError> for RewriteError {
    fn from(e: StoreError) -> RewriteError {
        RewriteError::Store(e)
    }
}

impl From<PageError> for RewriteError {
    fn from(e: PageError) -> RewriteError {
        match e {
            PageError::Cursor(c) => RewriteError::Cursor(c),
            PageError::Store(s) => RewriteError::Store(s),
        }
    }
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::Busy { lock } => write!(
                f,
                "{lock:?} exists: another compaction or repair is running, or one crashed; \
                 if none runs, remove {lock:?} and try again"
            ),
            RewriteError::Cursor(e) => e.fmt(f),
            RewriteError::Store(e) => e.fmt(f),
            RewriteError::Growing { name } => write!(
                f,
                "{name:?} kept growing while it was being copied; nothing was replaced; \
                 try again when fewer appends arrive"
            ),
        }
    }
}

/// Sizes before and after a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewritten {
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Bytes other instances appended to the old file after it was renamed
    /// away, copied into the new log.
    pub late_bytes: u64,
}

/// A damaged line with its extent, as check and repair report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedLine {
    pub line: u64,
    pub offset: u64,
    pub length: u64,
    pub torn: bool,
    pub reason: String,
}

impl DamagedLine {
    fn new(damage: &Damage, length: u64) -> DamagedLine {
        DamagedLine {
            line: damage.line,
            offset: damage.offset,
            length,
            torn: damage.torn,
            reason: damage.error.to_string(),
        }
    }
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    pub bytes: u64,
    pub records: u64,
    pub damaged: Vec<DamagedLine>,
    pub torn_tail: bool,
    pub leftovers: Vec<String>,
}

/// Stops here, as a crash would, when the host names this point in
/// `PATHWAY_FAILPOINT` (only in components built with `failpoints`).
fn failpoint(_name: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("PATHWAY_FAILPOINT").as_deref() == Ok(_name) {
        panic!("failpoint {_name}: stopping here as a crash would");
    }
}

/// Reads the whole log a page at a time and reports on it.
pub fn check(store: &Store) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport {
        leftovers: leftovers(store),
        ..CheckReport::default()
    };
    let Some(mut log) = store.open_log()? else {
        return Ok(report);
    };
    report.bytes = log.size()?;
    scan(&mut log, store.config().max_line, |entry, is_tail| {
        match &entry.record {
            Ok(_) => report.records += 1,
            Err(damage) => {
                report.torn_tail |= is_tail && damage.torn;
                report.damaged.push(DamagedLine::new(damage, entry.length));
            }
        }
        Ok(())
    })?;
    Ok(report)
}

/// Files a rewrite leaves next to the log.
fn leftovers(store: &Store) -> Vec<String> {
    let name = &store.config().log_name;
    [".compact", ".lock", ".quarantine"]
        .iter()
        .map(|suffix| format!("{name}{suffix}"))
        .filter(|path| store.dir().stat_at(PathFlags::empty(), path).is_ok())
        .collect()
}

/// Calls `visit` for every entry (the tail last, flagged), page by page;
/// returns the position after the last complete line and the tail's length.
fn scan(
    log: &mut LogFile,
    max_line: u64,
    mut visit: impl FnMut(&OwnedEntry, bool) -> Result<(), StoreError>,
) -> Result<(Position, u64), StoreError> {
    let mut pos = Position::default();
    loop {
        let page = read_page(log, pos, SCAN_PAGE, max_line)?;
        for entry in &page.entries {
            visit(entry, false)?;
        }
        pos = page.next;
        if page.at_end {
            let tail_len = page.tail.as_ref().map_or(0, |t| t.length);
            if let Some(tail) = &page.tail {
                visit(tail, true)?;
            }
            return Ok((pos, tail_len));
        }
    }
}

/// `<log>.lock`, created exclusively; removed by [`Lock::release`].
struct Lock {
    path: String,
}

impl Lock {
    fn take(dir: &Descriptor, name: &str) -> Result<Lock, RewriteError> {
        let path = format!("{name}.lock");
        match dir.open_at(
            PathFlags::empty(),
            &path,
            OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
            DescriptorFlags::WRITE,
        ) {
            Ok(_) => Ok(Lock { path }),
            Err(ErrorCode::Exist) => Err(RewriteError::Busy { lock: path }),
            Err(code) => Err(StoreError::Open { name: path, code }.into()),
        }
    }

    fn release(self, dir: &Descriptor) -> Result<(), StoreError> {
        dir.unlink_file_at(&self.path)
            .map_err(io_error(&self.path, "removing"))
    }
}

/// Runs `body` holding the lock; the lock is removed whatever `body`
/// returns (a crash leaves it, and `check` reports it).
fn locked<T>(
    store: &mut Store,
    body: impl FnOnce(&mut Store) -> Result<T, RewriteError>,
) -> Result<T, RewriteError> {
    let lock = Lock::take(store.dir(), &store.config().log_name)?;
    failpoint("after-lock");
    let result = body(store);
    let released = lock.release(store.dir());
    let value = result?;
    released?;
    Ok(value)
}

/// The new log being written at `<log>.compact`.
struct NewLog {
    file: Descriptor,
    stream: OutputStream,
    path: String,
    written: u64,
}

impl NewLog {
    fn create(dir: &Descriptor, name: &str) -> Result<NewLog, StoreError> {
        let path = format!("{name}.compact");
        let file = dir
            .open_at(
                PathFlags::empty(),
                &path,
                OpenFlags::CREATE | OpenFlags::TRUNCATE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            )
            .map_err(|code| StoreError::Open {
                name: path.clone(),
                code,
            })?;
        let stream = file
            .write_via_stream(0)
            .map_err(io_error(&path, "opening a stream on"))?;
        Ok(NewLog {
            file,
            stream,
            path,
            written: 0,
        })
    }

    fn write(&mut self, frame: &Frame) -> Result<(), StoreError> {
        write_frame(&self.stream, frame).map_err(stream_error(&self.path, "writing"))?;
        self.written += frame.bytes().len() as u64;
        Ok(())
    }

    /// Copies `old[from..to]` as it is, a chunk at a time.
    fn copy(&mut self, old: &mut LogFile, from: u64, to: u64) -> Result<(), StoreError> {
        let mut at = from;
        while at < to {
            let chunk = old.read_exact_at(at, (to - at).min(CHUNK))?;
            if chunk.is_empty() {
                break;
            }
            at += chunk.len() as u64;
            self.write(&Frame::raw(&chunk))?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.file.sync().map_err(io_error(&self.path, "syncing"))
    }
}

/// The steps every rewrite ends with: copy what was appended to the old log
/// since `copied_to`, sync, rename over the log, sync the directory, and
/// copy what late appenders still put into the old file.
fn replace(
    store: &mut Store,
    old: &mut LogFile,
    mut new: NewLog,
    mut copied_to: u64,
) -> Result<Rewritten, RewriteError> {
    let name = store.config().log_name.clone();
    let bytes_before = old.size()?;
    failpoint("after-write");
    let mut rounds = 0;
    loop {
        let size = old.size()?;
        if size > copied_to {
            new.copy(old, copied_to, size)?;
            copied_to = size;
        }
        new.sync()?;
        // Nothing arrived while syncing: the copy is complete.
        if old.size()? == copied_to {
            break;
        }
        rounds += 1;
        if rounds == CATCH_UP_ROUNDS {
            return Err(RewriteError::Growing { name });
        }
    }
    failpoint("after-sync");
    store
        .dir()
        .rename_at(&new.path, store.dir(), &name)
        .map_err(io_error(&name, "renaming the new log over"))?;
    failpoint("after-rename");
    // Makes the rename durable. Hosts that cannot sync a directory still
    // have the synced new log under the name.
    let _ = store.dir().sync();
    failpoint("after-dir-sync");
    store.forget_appender();
    let late_end = old.size()?;
    if late_end > copied_to {
        let late = old.read_exact_at(copied_to, late_end - copied_to)?;
        store.append_raw(&late)?;
    }
    Ok(Rewritten {
        bytes_before,
        bytes_after: new.written + (late_end - copied_to),
        late_bytes: late_end - copied_to,
    })
}

/// Replaces the log up to `upto` with `snapshot`, keeping every byte after
/// `upto`. Returns the sizes and the bytes kept after the cursor.
pub fn compact(
    store: &mut Store,
    snapshot: &Frame,
    upto: &str,
) -> Result<(Rewritten, u64), RewriteError> {
    let upto = Cursor::decode(upto).map_err(RewriteError::Cursor)?;
    locked(store, |store| {
        let name = store.config().log_name.clone();
        // A missing log is created empty, so that a log another instance
        // creates meanwhile is not renamed away.
        let mut old = match store.open_log()? {
            Some(old) => old,
            None => {
                store.append(std::iter::empty())?;
                store.open_log()?.ok_or_else(|| StoreError::Io {
                    name: name.clone(),
                    during: "creating",
                    reason: "it vanished".into(),
                })?
            }
        };
        old.verify(&upto)?;
        let mut new = NewLog::create(store.dir(), &name)?;
        new.write(snapshot)?;
        let from = upto.position.offset;
        let rewritten = replace(store, &mut old, new, from)?;
        Ok((rewritten, rewritten.bytes_before - from))
    })
}

/// Rewrites the log without its damaged lines, which go to
/// `<log>.quarantine` first. A clean log is left untouched.
pub fn repair(store: &mut Store) -> Result<(Rewritten, Vec<DamagedLine>, String), RewriteError> {
    let quarantine = format!("{}.quarantine", store.config().log_name);
    let report = check(store)?;
    if report.damaged.is_empty() {
        return Ok((
            Rewritten {
                bytes_before: report.bytes,
                bytes_after: report.bytes,
                late_bytes: 0,
            },
            Vec::new(),
            quarantine,
        ));
    }
    locked(store, |store| {
        let name = store.config().log_name.clone();
        let Some(mut old) = store.open_log()? else {
            return Ok((Rewritten::default(), Vec::new(), quarantine.clone()));
        };
        let mut q = Quarantine::open(store.dir(), &quarantine, &name)?;
        let mut new = NewLog::create(store.dir(), &name)?;
        let mut removed = Vec::new();
        // A second handle on the same file: one scans, one reads damage.
        let Some(mut reader) = store.open_log()? else {
            return Ok((Rewritten::default(), Vec::new(), quarantine.clone()));
        };
        let (end, tail_len) = scan(
            &mut reader,
            store.config().max_line,
            |entry, _| match &entry.record {
                Ok(text) => new.write(&Frame::new([text.as_str()])),
                Err(damage) => {
                    let line = DamagedLine::new(damage, entry.length);
                    q.keep(&mut old, &line)?;
                    removed.push(line);
                    Ok(())
                }
            },
        )?;
        q.sync()?;
        failpoint("after-quarantine");
        let rewritten = replace(store, &mut old, new, end.offset + tail_len)?;
        Ok((rewritten, removed, quarantine.clone()))
    })
}

/// `<log>.quarantine`: one JSON line per removed line, its bytes in hex.
struct Quarantine {
    file: Descriptor,
    stream: OutputStream,
    path: String,
    log: String,
}

impl Quarantine {
    fn open(dir: &Descriptor, path: &str, log: &str) -> Result<Quarantine, StoreError> {
        let file = dir
            .open_at(
                PathFlags::empty(),
                path,
                OpenFlags::CREATE,
                DescriptorFlags::WRITE,
            )
            .map_err(|code| StoreError::Open {
                name: path.to_string(),
                code,
            })?;
        let stream = file
            .append_via_stream()
            .map_err(io_error(path, "opening a stream on"))?;
        Ok(Quarantine {
            file,
            stream,
            path: path.to_string(),
            log: log.to_string(),
        })
    }

    /// Appends the line's record, reading its bytes a chunk at a time.
    fn keep(&mut self, old: &mut LogFile, line: &DamagedLine) -> Result<(), StoreError> {
        let head = format!(
            "{{\"log\":{},\"line\":{},\"offset\":{},\"length\":{},\"torn\":{},\"reason\":{},\"hex\":\"",
            json_string(&self.log),
            line.line,
            line.offset,
            line.length,
            line.torn,
            json_string(&line.reason)
        );
        self.write(head.as_bytes())?;
        let mut at = line.offset;
        let end = line.offset + line.length;
        while at < end {
            let chunk = old.read_exact_at(at, (end - at).min(CHUNK))?;
            if chunk.is_empty() {
                break;
            }
            at += chunk.len() as u64;
            self.write(hex(&chunk).as_bytes())?;
        }
        self.write(b"\"}\n")
    }

    fn write(&self, bytes: &[u8]) -> Result<(), StoreError> {
        write_frame(&self.stream, &Frame::raw(bytes)).map_err(stream_error(&self.path, "writing"))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.file.sync().map_err(io_error(&self.path, "syncing"))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}
