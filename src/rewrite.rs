//! Compaction, repair and check: the operations that read the whole log and
//! may replace it. A replacement is written to `<log>.compact` (created
//! exclusively, so one rewrite runs at a time), synced, and renamed over the
//! log while `<log>.lock` makes appenders wait, so a crash at any step
//! leaves the old log or the new one, never a mix, and no record is lost,
//! doubled or reordered. Before the rename the log is sealed (see
//! [`crate::lock`]): the rewrite copies every byte before its seal, and
//! appenders move what lands after it themselves, so nothing is left to do
//! after the rename but to release the lock. Both claimed files are kept
//! fresh by a heartbeat; a rewrite killed at any step holds up appenders
//! and the next rewrite for at most [`lock::STALE_AFTER_MILLIS`].

#![forbid(unsafe_code)]

use std::fmt;

use crate::checksum::{self, Hasher, Mismatch};
use crate::cursor::{CHECK_LEN, Cursor, CursorError};
use crate::error::Damage;
use crate::frame::Frame;
use crate::fs::{Code, File, FileSystem, Open};
use crate::lock::{self, ClaimError, Heartbeat, claim, seal};
use crate::moved::Moved;
use crate::pager::{CHUNK, OwnedEntry, Position, read_page};
use crate::quarantine::Quarantine;
use crate::reader::LogFile;
use crate::store::Store;
use crate::store_error::{PageError, Step, StoreError, io_error, open_error};

mod delete;

pub use delete::{delete, is_tombstone};

/// Bytes of the log read per page while scanning.
const SCAN_PAGE: u64 = 1 << 20;

/// How long a rewrite waits for a big append to release `<log>.big`
/// (half the staleness, so that one left by a crash reads as busy).
const BIG_WAIT_NANOS: u64 = lock::STALE_AFTER_MILLIS / 2 * 1_000_000;

/// How often the final steps copy what appenders added meanwhile before
/// they rename anyway (the late copy takes the rest).
const FINAL_COPIES: usize = 4;

/// Why a rewrite did not happen; the log is as it was.
#[derive(Debug)]
pub enum RewriteError {
    Busy {
        lock: String,
    },
    /// Its claims went stale (a step blocked for longer than the
    /// staleness) and it stopped before renaming.
    TakenOver {
        lock: String,
    },
    /// Another rewrite replaced the log between this one's first read and
    /// its claim.
    Replaced {
        log: String,
    },
    /// The log has other names than its own (someone hard-linked it): a
    /// file renamed away would keep those, and instances that have it open
    /// would go on appending to it unawares.
    HardLinked {
        log: String,
        links: u64,
    },
    /// There is no log of that name (delete).
    NoLog {
        log: String,
    },
    /// Bytes the last rewrite wrote changed since: see [`checksum`].
    Integrity(Mismatch),
    Cursor(CursorError),
    Store(StoreError),
}

impl From<StoreError> for RewriteError {
    fn from(e: StoreError) -> RewriteError {
        RewriteError::Store(e)
    }
}

impl From<ClaimError> for RewriteError {
    fn from(e: ClaimError) -> RewriteError {
        match e {
            ClaimError::Held { name } => RewriteError::Busy { lock: name },
            ClaimError::Store(e) => RewriteError::Store(e),
        }
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
            RewriteError::TakenOver { lock } => write!(
                f,
                "{lock:?} was not touched for over {} ms (a step blocked, or the process was \
                 stopped), so it could count as left by a crash: stopped before renaming; \
                 the log is as it was, try again",
                lock::STALE_AFTER_MILLIS
            ),
            RewriteError::Replaced { log } => write!(
                f,
                "another compaction or repair replaced {log:?} while this one started: \
                 nothing was changed; read the log again and try again"
            ),
            RewriteError::HardLinked { log, links } => write!(
                f,
                "{log:?} has {links} names (a hard link made outside pathway-memory): \
                 instances that have it open would not see a compaction or repair replace \
                 it and would go on appending to the replaced file, so none runs; nothing \
                 was changed; remove the other names, then try again"
            ),
            RewriteError::NoLog { log } => write!(
                f,
                "there is no log {:?} to delete: nothing was changed; `logs` lists the logs \
                 there are",
                crate::fork::shown(log)
            ),
            RewriteError::Integrity(m) => m.fmt(f),
            RewriteError::Cursor(e) => e.fmt(f),
            RewriteError::Store(e) => e.fmt(f),
        }
    }
}

/// Sizes before and after a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewritten {
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Bytes other instances appended to the old file after its seal;
    /// their appenders append them again to the new log.
    pub late_bytes: u64,
}

/// A damaged line with its extent, as check and repair report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedLine {
    pub damage: Damage,
    /// Bytes of the line, without its `\n`.
    pub length: u64,
}

impl DamagedLine {
    fn new(damage: &Damage, length: u64) -> DamagedLine {
        DamagedLine {
            damage: damage.clone(),
            length,
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
    /// Records nested deeper than `PATHWAY_MAX_DEPTH` allows an append.
    pub too_deep: Vec<DeepLine>,
    /// The log against the checksum of the last rewrite.
    pub checksum: checksum::State,
}

/// A stored record nested deeper than the limit (appended before there was
/// one, or under a higher one): replay returns it, readers with a lower
/// limit cannot read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepLine {
    pub line: u64,
    pub offset: u64,
    /// Where, inside the line, the first array or object too deep opens.
    pub at: u64,
}

/// The log, open as `log`, against the checksum of the last rewrite.
fn verify_checksum<F: FileSystem>(
    store: &Store<F>,
    log: Option<&F::File>,
) -> Result<checksum::State, StoreError> {
    let name = &store.config().log_name;
    checksum::verify(store.fs(), name, log).map_err(io_error(&checksum::name(name), Step::Reading))
}

/// Refuses to rewrite a log whose last rewrite's bytes changed since: the
/// rewrite would write a new checksum over them.
fn refuse_changed<F: FileSystem>(store: &Store<F>, log: &F::File) -> Result<(), RewriteError> {
    match verify_checksum(store, Some(log))? {
        checksum::State::Mismatch(m) => Err(RewriteError::Integrity(m)),
        _ => Ok(()),
    }
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
pub fn check<F: FileSystem>(store: &Store<F>) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport {
        leftovers: leftovers(store),
        ..CheckReport::default()
    };
    let Some(mut log) = store.open_log()? else {
        report.checksum = verify_checksum(store, None)?;
        return Ok(report);
    };
    report.bytes = log.size()?;
    report.checksum = verify_checksum(store, Some(log.file()))?;
    let max_depth = store.config().max_depth;
    scan(&mut log, store.config().max_line, |entry, is_tail| {
        match &entry.record {
            Ok(text) => {
                report.records += 1;
                if let Some(at) = crate::format::too_deep(text.as_bytes(), max_depth) {
                    report.too_deep.push(DeepLine {
                        line: entry.line,
                        offset: entry.offset,
                        at,
                    });
                }
            }
            Err(damage) => {
                report.torn_tail |= is_tail && damage.torn;
                report.damaged.push(DamagedLine::new(damage, entry.length));
            }
        }
        Ok(())
    })?;
    Ok(report)
}

/// Files a rewrite leaves next to the log: its claims, the quarantine,
/// and every rewrite's new log (a running one's too).
fn leftovers<F: FileSystem>(store: &Store<F>) -> Vec<String> {
    let name = &store.config().log_name;
    let mut ids = lock::new_logs(store.fs(), name);
    // A host that cannot list the directory still shows the running one's.
    ids.extend(lock::running_rewrite(store.fs(), name));
    ids.sort_unstable();
    ids.dedup();
    [".big", ".big.link", ".compact", ".lock", ".quarantine"]
        .iter()
        .map(|suffix| format!("{name}{suffix}"))
        .chain(ids.into_iter().map(|id| lock::new_log_name(name, id)))
        .filter(|path| store.fs().age_millis(path).is_some())
        .collect()
}

/// Calls `visit` for every entry (the tail last, flagged), page by page;
/// returns the position after the last complete line and the tail's length.
fn scan<T: File>(
    log: &mut LogFile<T>,
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

/// A rewrite's claims and the new log it writes: the files the heartbeat
/// keeps fresh.
struct NewLog<T> {
    /// Names this rewrite: its claim, new log, lock and seal carry it.
    id: u64,
    /// `<log>.compact`, signed with the id: while it is fresh, no other
    /// compaction or repair starts.
    claim: T,
    claim_path: String,
    /// `<log>.compact.<id>`, the new log.
    file: T,
    path: String,
    written: u64,
    /// Of every byte written, for the checksum file.
    hasher: Hasher,
    /// `<log>.big`, held for the whole rewrite: no record larger than the
    /// write permit is half-filled in what it copies.
    big: T,
    big_path: String,
    lock: Option<T>,
    heartbeat: Heartbeat,
}

impl<T: File> NewLog<T> {
    /// Claims `<log>.compact` exclusively, creates the new log, and signs
    /// the claim, in that order (see `lock::take_over`), then claims
    /// `<log>.big`.
    fn create<F: FileSystem<File = T>>(store: &Store<F>) -> Result<NewLog<T>, RewriteError> {
        let fs = store.fs();
        let name = &store.config().log_name;
        let claim_path = lock::claim_name(name);
        let claim = lock::claim(fs, name, &claim_path)?;
        let id = fs.random_u64();
        let path = lock::new_log_name(name, id);
        let give_up = |error: RewriteError| {
            let _ = fs.remove(&path);
            if claim.stat().is_ok_and(|s| s.links > 0) {
                let _ = fs.remove(&claim_path);
            }
            Err(error)
        };
        let file = match fs.open(&path, Open::CreateNew) {
            Ok(file) => file,
            Err(e) => return give_up(open_error(&path)(e).into()),
        };
        if let Err(e) = lock::sign(&claim, id) {
            return give_up(io_error(&claim_path, Step::Writing)(e).into());
        }
        let big_path = lock::big_name(name);
        let mut heartbeat = Heartbeat::new(fs);
        // A big append holds it for a moment: wait for it, touching ours.
        // Held for longer, it is another rewrite's (or one that crashed
        // moments ago): busy.
        let start = fs.now_nanos();
        let big = loop {
            match lock::claim(fs, name, &big_path) {
                Ok(big) => break big,
                Err(ClaimError::Held { name }) => {
                    if fs.now_nanos().saturating_sub(start) > BIG_WAIT_NANOS {
                        return give_up(RewriteError::Busy { lock: name });
                    }
                    if let Err(e) = heartbeat.beat(fs, &[&claim, &file]) {
                        return give_up(io_error(&path, Step::Touching)(e).into());
                    }
                    fs.pause(1_000_000);
                }
                Err(e) => return give_up(e.into()),
            }
        };
        if let Err(e) = lock::sign(&big, id) {
            let _ = fs.remove(&big_path);
            return give_up(io_error(&big_path, Step::Writing)(e).into());
        }
        // Holding the claim, every other rewrite's new log is one that died
        // or was taken over: remove it (for a stopped one that is its
        // fence, which a takeover that died may not have made).
        if claim.stat().is_ok_and(|s| s.links > 0) {
            for other in lock::new_logs(fs, name) {
                if other != id {
                    lock::fence(fs, name, other);
                }
            }
        }
        // A second name left by a big append that died would keep the old
        // file linked after the rename, where appenders look for none.
        let _ = fs.remove(&lock::big_link_name(name));
        Ok(NewLog {
            id,
            claim,
            claim_path,
            file,
            path,
            written: 0,
            hasher: Hasher::default(),
            big,
            big_path,
            lock: None,
            heartbeat,
        })
    }

    /// The heartbeat and the files it keeps fresh.
    fn claimed(&mut self) -> (&mut Heartbeat, Vec<&T>) {
        let files = [&self.claim, &self.file, &self.big]
            .into_iter()
            .chain(&self.lock)
            .collect();
        (&mut self.heartbeat, files)
    }

    /// Takes `<log>.lock` for the final steps, signed with the rewrite's id
    /// so that whoever takes it over fences this rewrite (already fenced
    /// by then: see `lock::take_over`); returns its name.
    fn take_lock<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        log: &str,
    ) -> Result<String, RewriteError> {
        let lock_name = lock::lock_name(log);
        let held = claim(fs, log, &lock_name)?;
        let signed = lock::sign(&held, self.id);
        self.lock = Some(held);
        signed.map_err(io_error(&lock_name, Step::Writing))?;
        self.heartbeat.watch();
        Ok(lock_name)
    }

    /// The checks right before the rename, all of which stop the rewrite
    /// with the log as it was: both claims still ours, the log linked
    /// nowhere else (see `RewriteError::HardLinked`). Then the checksum of
    /// the file about to be replaced goes, durably, so that no crash or
    /// stop leaves it beside the new log (where a file system that reuses
    /// identities could take it for the new log's); a rewrite that stops
    /// now leaves the old log without one: unchecked, never falsely
    /// changed.
    fn ready_to_rename<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        old: &LogFile<T>,
        log: &str,
        lock_name: &str,
    ) -> Result<(), RewriteError> {
        if !self.still_ours(fs)? {
            return Err(RewriteError::TakenOver {
                lock: lock_name.to_string(),
            });
        }
        let links = old
            .file()
            .stat()
            .map_err(io_error(old.name(), Step::ReadingSize))?
            .links;
        if links > 1 {
            return Err(RewriteError::HardLinked {
                log: log.to_string(),
                links,
            });
        }
        if fs.remove(&checksum::name(log)).is_ok() {
            let _ = fs.sync_directory();
        }
        Ok(())
    }

    /// Renames the new log over the log; fails if someone took this
    /// rewrite for stopped and removed the new log (see `lock::fence`):
    /// then nothing was renamed.
    fn rename_over<F: FileSystem<File = T>>(
        &self,
        fs: &F,
        log: &str,
        lock_name: &str,
    ) -> Result<(), RewriteError> {
        match fs.rename(&self.path, log) {
            Err(e) if e.code == Code::NoEntry => Err(RewriteError::TakenOver {
                lock: lock_name.to_string(),
            }),
            renamed => Ok(renamed.map_err(io_error(log, Step::RenamingOver))?),
        }
    }

    /// Releases `<log>.lock`, only if still ours: a rewrite that took it
    /// over holds it.
    fn release_lock<F: FileSystem>(&mut self, fs: &F, lock_name: &str) -> Result<(), StoreError> {
        let ours = self
            .lock
            .take()
            .is_some_and(|lock| lock.stat().is_ok_and(|s| s.links > 0));
        if ours {
            fs.remove(lock_name)
                .map_err(io_error(lock_name, Step::Removing))?;
        }
        Ok(())
    }

    /// Releases `<log>.big` and `<log>.compact`, unless another took them
    /// over.
    fn release<F: FileSystem>(&self, fs: &F) {
        for (file, path) in [(&self.big, &self.big_path), (&self.claim, &self.claim_path)] {
            if file.stat().is_ok_and(|s| s.links > 0) {
                let _ = fs.remove(path);
            }
        }
    }

    /// Touches the claimed files if a beat is due.
    fn beat<F: FileSystem<File = T>>(&mut self, fs: &F) -> Result<(), StoreError> {
        let (heartbeat, files) = self.claimed();
        let beaten = heartbeat.beat(fs, &files);
        beaten.map_err(io_error(&self.path, Step::Touching))
    }

    /// Whether both claims are still this rewrite's, right before the
    /// rename.
    fn still_ours<F: FileSystem<File = T>>(&mut self, fs: &F) -> Result<bool, StoreError> {
        let (heartbeat, files) = self.claimed();
        let ours = heartbeat.still_ours(fs, &files);
        ours.map_err(io_error(&self.path, Step::Touching))
    }

    /// Removes the unfinished new log after an error (no other rewrite
    /// uses its name), and releases the claims.
    fn abandon<F: FileSystem>(&self, fs: &F) {
        let _ = fs.remove(&self.path);
        self.release(fs);
    }

    fn write(&mut self, frame: &Frame) -> Result<(), StoreError> {
        self.file
            .append(frame)
            .map_err(io_error(&self.path, Step::Writing))?;
        self.written += frame.bytes().len() as u64;
        self.hasher.update(frame.bytes());
        Ok(())
    }

    /// Copies `old[from..to]` as it is, a chunk at a time.
    fn copy<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        old: &mut LogFile<T>,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let mut at = from;
        while at < to {
            self.beat(fs)?;
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
        self.file
            .sync_data()
            .map_err(io_error(&self.path, Step::Syncing))
    }
}

/// The steps every rewrite ends with. Without the lock: copy what was
/// appended to the old log since `copied_to` and sync. Then, holding
/// `<log>.lock` (appenders that find the log changed since their last
/// write wait): copy what arrived meanwhile and sync, until nothing new
/// arrived; append a seal to the old log; copy what lies before the seal
/// and sync; check that both claims are still ours; rename over the log;
/// sync the directory; release the lock. An appender whose bytes land
/// after the seal notices it and appends them again once the rewrite has
/// renamed (see [`crate::append`]), so nothing is copied after the rename.
/// On error the new log is removed and the old one keeps its records (and
/// perhaps the seal, which readers skip).
fn replace<F: FileSystem>(
    store: &Store<F>,
    old: &mut LogFile<F::File>,
    mut new: NewLog<F::File>,
    copied_to: u64,
    moved: Option<Moved>,
) -> Result<Rewritten, RewriteError> {
    // Held claims keep every other rewrite from renaming (a stopped one is
    // fenced): the file read so far must still be the log.
    let result = match old.file().stat() {
        Ok(stat) if stat.links == 0 => Err(RewriteError::Replaced {
            log: store.config().log_name.clone(),
        }),
        Ok(stat) if stat.links > 1 => Err(RewriteError::HardLinked {
            log: store.config().log_name.clone(),
            links: stat.links,
        }),
        Ok(_) => replace_steps(store, old, &mut new, copied_to, moved),
        Err(e) => Err(io_error(old.name(), Step::ReadingSize)(e).into()),
    };
    if result.is_err() {
        new.abandon(store.fs());
    } else {
        new.release(store.fs());
    }
    result
}

fn replace_steps<F: FileSystem>(
    store: &Store<F>,
    old: &mut LogFile<F::File>,
    new: &mut NewLog<F::File>,
    mut copied_to: u64,
    moved: Option<Moved>,
) -> Result<Rewritten, RewriteError> {
    let fs = store.fs();
    let name = store.config().log_name.clone();
    let bytes_before = old.size()?;
    new.copy(fs, old, copied_to, bytes_before)?;
    copied_to = bytes_before;
    new.sync()?;
    new.beat(fs)?;
    failpoint("after-write");

    let lock_name = new.take_lock(fs, &name)?;
    failpoint("after-lock");
    let result = (|| -> Result<Rewritten, RewriteError> {
        // Appenders with the log open append without looking at the lock
        // while no one else writes: copy what they appended until a look
        // finds nothing new, so that few of them land after the seal.
        for _ in 0..FINAL_COPIES {
            let size = old.size()?;
            if size == copied_to {
                break;
            }
            new.copy(fs, old, copied_to, size)?;
            copied_to = size;
            new.sync()?;
            new.beat(fs)?;
        }
        // Everything before the seal is ours to copy; appenders move what
        // lands after it, and fence this rewrite (by the id in the seal)
        // before they take it for stopped.
        let marker = seal(new.id);
        old.file()
            .append(&Frame::raw(&marker))
            .map_err(io_error(old.name(), Step::Marking))?;
        failpoint("after-seal");
        let sealed_at = old.find(&marker, copied_to)?.unwrap_or(copied_to);
        new.copy(fs, old, copied_to, sealed_at)?;
        new.sync()?;
        failpoint("after-sync");
        new.ready_to_rename(fs, old, &name, &lock_name)?;
        failpoint("after-checksum-removed");
        // Where the kept bytes go, for cursors made on the old file (see
        // `crate::moved`): written before the rename, so that a reader who
        // sees the new log finds it. Not written, cursors go stale, as
        // after a repair.
        if let (Some(mut moved), Ok(to)) = (moved, new.file.identity()) {
            moved.to = to;
            moved.end = sealed_at;
            moved.id = new.id;
            let _ = crate::moved::record(fs, &name, &moved);
        }
        new.rename_over(fs, &name, &lock_name)?;
        failpoint("after-rename");
        // Makes the rename durable. Hosts that cannot sync a directory
        // still have the synced new log under the name.
        let _ = fs.sync_directory();
        failpoint("after-dir-sync");
        // The checksum of what was written, for the file now the log. Not
        // written (a failed write, a crash before it), `check` finds none
        // (the old one was removed before the rename): the rename stands
        // either way.
        if let Ok(file) = new.file.identity() {
            let sum = checksum::Checksum {
                file,
                bytes: new.written,
                sha256: std::mem::take(&mut new.hasher).finish(),
            };
            let _ = checksum::write(fs, &name, &sum);
        }
        failpoint("after-checksum");
        let late_bytes = old.size()?.saturating_sub(sealed_at + marker.len() as u64);
        Ok(Rewritten {
            bytes_before,
            bytes_after: new.written,
            late_bytes,
        })
    })();
    let released = new.release_lock(fs, &lock_name);
    let rewritten = result?;
    released?;
    Ok(rewritten)
}

/// Replaces the log up to `upto` with `snapshot`, keeping every byte after
/// `upto`. Returns the sizes and the bytes kept after the cursor.
pub fn compact<F: FileSystem>(
    store: &mut Store<F>,
    snapshot: &Frame,
    upto: &str,
) -> Result<(Rewritten, u64), RewriteError> {
    let upto = Cursor::decode(upto).map_err(RewriteError::Cursor)?;
    let name = store.config().log_name.clone();
    // Another rewrite runs: say so first (while it does, pages stop at its
    // seal, and their cursors could not compact anyway).
    let claim_path = lock::claim_name(&name);
    if lock::is_fresh(store.fs(), &claim_path) {
        return Err(RewriteError::Busy { lock: claim_path });
    }
    // A missing log is created empty, so that a log another instance
    // creates meanwhile is not renamed away.
    let mut old = match store.open_log_for_rewrite()? {
        Some(old) => old,
        None => {
            store
                .fs()
                .open(&name, Open::Append)
                .map_err(open_error(&name))?;
            store
                .open_log_for_rewrite()?
                .ok_or_else(|| StoreError::Io {
                    name: name.clone(),
                    during: Step::Creating,
                    error: crate::fs::FsError::new(crate::fs::Code::NoEntry, "it vanished"),
                })?
        }
    };
    old.verify_whole(&upto)?;
    // Made on an earlier file that had this one's identity (a file system
    // that reuses them): stale, whatever the bytes say.
    let chain = crate::moved::read(store.fs(), &name);
    if upto
        .generation
        .is_some_and(|g| g != crate::moved::generation(&chain, old.identity))
    {
        return Err(RewriteError::Cursor(CursorError::Stale {
            reason: "it was made on a file of the log that a compaction replaced",
        }));
    }
    refuse_changed(store, old.file())?;
    let mut new = NewLog::create(store)?;
    if let Err(e) = new.write(snapshot) {
        new.abandon(store.fs());
        return Err(e.into());
    }
    let from = upto.position.offset;
    let before = old.read_exact_at(from - from.min(CHECK_LEN), from.min(CHECK_LEN));
    let moved = before.ok().map(|before| Moved {
        seq: 0,
        from: old.identity,
        to: 0,
        upto: from,
        end: from,
        at: snapshot.bytes().len() as u64,
        upto_lines: upto.position.lines,
        lines: snapshot.records() as u64,
        before,
        id: 0,
    });
    let rewritten = replace(store, &mut old, new, from, moved)?;
    Ok((rewritten, rewritten.bytes_before - from))
}

/// Rewrites the log without its damaged lines, which go to
/// `<log>.quarantine` first. A clean log is left untouched.
pub fn repair<F: FileSystem>(
    store: &mut Store<F>,
) -> Result<(Rewritten, Vec<DamagedLine>, String), RewriteError> {
    let quarantine = format!("{}.quarantine", store.config().log_name);
    let report = check(store)?;
    let untouched = Rewritten {
        bytes_before: report.bytes,
        bytes_after: report.bytes,
        late_bytes: 0,
    };
    if let checksum::State::Mismatch(m) = report.checksum {
        return Err(RewriteError::Integrity(m));
    }
    let (Some(mut old), Some(mut reader)) = (store.open_log_for_rewrite()?, store.open_log()?)
    else {
        return Ok((untouched, Vec::new(), quarantine));
    };
    if report.damaged.is_empty() {
        return Ok((untouched, Vec::new(), quarantine));
    }
    let mut new = NewLog::create(store)?;
    let mut removed = Vec::new();
    let scanned = (|| {
        let name = store.config().log_name.clone();
        let mut q = Quarantine::open(store.fs(), &quarantine, &name)?;
        // One handle scans, the other reads the damaged bytes.
        let (end, tail_len) = scan(
            &mut reader,
            store.config().max_line,
            |entry, _| match &entry.record {
                Ok(text) => {
                    new.beat(store.fs())?;
                    new.write(&Frame::new([text.as_str()]))
                }
                Err(damage) => {
                    new.beat(store.fs())?;
                    let line = DamagedLine::new(damage, entry.length);
                    q.keep(&mut old, damage, entry.length)?;
                    removed.push(line);
                    Ok(())
                }
            },
        )?;
        q.sync()?;
        // The quarantine may be new: its name must be durable before the
        // rename makes the log lose those lines (found by the power-cut
        // simulation). Hosts that cannot sync a directory still synced
        // its data.
        let _ = store.fs().sync_directory();
        Ok::<_, StoreError>(end.offset + tail_len)
    })();
    let scanned_to = match scanned {
        Ok(offset) => offset,
        Err(e) => {
            new.abandon(store.fs());
            return Err(e.into());
        }
    };
    failpoint("after-quarantine");
    let rewritten = replace(store, &mut old, new, scanned_to, None)?;
    Ok((rewritten, removed, quarantine))
}
