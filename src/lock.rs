//! What a compaction or repair (a rewrite) leaves for appenders to see,
//! and what appenders look at: the files a rewrite claims exclusively
//! (`<log>.compact`, `<log>.lock`), the heartbeat that keeps them fresh
//! and when one counts as left by a crash, and the seal line a rewrite
//! appends to the log right before it copies the last bytes and renames.
//! The rewrite's steps are in [`crate::rewrite`]; the appender's side in
//! [`crate::append`]. Both use this module; neither reaches into the other.
//!
//! The seal decides, for every appended byte, who moves it into the new
//! log: bytes before the rewrite's last seal are copied by the rewrite
//! before it renames; an appender whose bytes land after a seal notices it
//! (see [`crate::append`]) and, once the file was renamed away, appends
//! them again itself. Nothing is copied after the rename, so a rewrite
//! killed at any step leaves no record lost or doubled.
//!
//! A rewrite that is only stopped (for any time) may wake up after others
//! took it for dead, so staleness alone decides nothing: whoever acts on
//! it first fences the rewrite ([`fence`]), removing its new log
//! `<log>.compact.<id>`, a name no other rewrite uses, so that its rename
//! fails. The id is in its claim (`<log>.compact`, see `take_over`) and
//! in its seal.

#![forbid(unsafe_code)]

use crate::fs::{self, Code, File, FileSystem, FsError, Open};
use crate::store_error::{StoreError, open_error};

/// A rewrite's lock or new file untouched for this long was left by a
/// crash (or its rewrite is stuck): appenders stop waiting for it and the
/// next rewrite takes it over.
pub const STALE_AFTER_MILLIS: u64 = 2_000;

/// A working rewrite touches its files at least this often (when it gets
/// to run), well inside [`STALE_AFTER_MILLIS`].
pub const HEARTBEAT_MILLIS: u64 = 250;

/// A rewrite renames only if its last heartbeat is younger than this, so
/// that no one can have taken its claims for stale in between.
const RENAME_WITHIN_MILLIS: u64 = STALE_AFTER_MILLIS / 2;

/// An append gives up waiting for a rewrite that keeps its lock fresh for
/// this long.
pub const WAIT_LIMIT_SECS: u64 = 30;

pub use crate::format::{SEAL, SEAL_ID_LEN, SEAL_V1};

/// How often appenders look at a held lock again.
const LOCK_POLL_NANOS: u64 = 1_000_000;

/// `<log>.lock`: while it exists (and is fresh), a rewrite is in its final
/// steps and appenders wait.
pub fn lock_name(log: &str) -> String {
    format!("{log}.lock")
}

/// `<log>.compact`: the claim of the rewrite that runs (created
/// exclusively, so one runs at a time). It holds the rewrite's id, which
/// names the new log ([`new_log_name`]).
pub fn claim_name(log: &str) -> String {
    format!("{log}.compact")
}

/// `<log>.compact.<id>`: the new log the rewrite with this id is writing,
/// and renames over the log at its end. No other rewrite ever uses the
/// name, so removing it fences that rewrite for good (see [`fence`]).
pub fn new_log_name(log: &str, id: u64) -> String {
    format!("{log}.compact.{id:016x}")
}

/// `<log>.big`: a record larger than the write permit is being written
/// into space reserved for it at the log's end, or a rewrite runs (which
/// must not copy such space before it is filled). Created exclusively.
pub fn big_name(log: &str) -> String {
    format!("{log}.big")
}

/// `<log>.big.link`: a second name of the log while a record larger than
/// the write permit is written, so that appenders see two links in the
/// stat they make anyway, and wait while `<log>.big` is fresh.
pub fn big_link_name(log: &str) -> String {
    format!("{log}.big.link")
}

/// Whether `name` exists and was touched less than [`STALE_AFTER_MILLIS`]
/// ago.
pub fn is_fresh<F: FileSystem>(fs: &F, name: &str) -> bool {
    fs.age_millis(name)
        .is_some_and(|age| age < STALE_AFTER_MILLIS)
}

/// The id of the rewrite that holds a fresh `<log>.lock`, if one does.
pub fn running_lock<F: FileSystem>(fs: &F, log: &str) -> Option<u64> {
    let name = lock_name(log);
    if !is_fresh(fs, &name) {
        return None;
    }
    signed_id(&fs.open(&name, Open::Read).ok()?)
}

/// Whether a rewrite holds a fresh lock on `log`. A stale one is taken
/// for left by a crash or by a stopped rewrite, which is fenced first
/// (through `<log>.compact`, signed before any lock is taken), so that it
/// cannot rename after all: the caller may go on and append, also after
/// the stopped rewrite's seal.
pub fn is_locked<F: FileSystem>(fs: &F, log: &str) -> bool {
    match fs.age_millis(&lock_name(log)) {
        Some(age) if age < STALE_AFTER_MILLIS => true,
        Some(_) => {
            fence_running_rewrite(fs, log);
            false
        }
        None => false,
    }
}

/// Waits (polling every millisecond) while a rewrite holds a fresh lock
/// on `log`; a stale one (left by a crash) is ignored.
pub fn wait_while_locked<F: FileSystem>(fs: &F, log: &str) -> Result<(), StoreError> {
    wait_while_fresh(fs, &lock_name(log))
}

/// Waits (polling every millisecond) while `lock` exists and is fresh.
pub fn wait_while_fresh<F: FileSystem>(fs: &F, lock: &str) -> Result<(), StoreError> {
    let lock = lock.to_string();
    // The clock is read only once there is a lock to wait for.
    let mut start = None;
    while is_fresh(fs, &lock) {
        let now = fs.now_nanos();
        let start = *start.get_or_insert(now);
        if now.saturating_sub(start) > WAIT_LIMIT_SECS * 1_000_000_000 {
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

/// Creates `name` exclusively: of the rewrites (or big appends) that try,
/// one succeeds; the caller then [`sign`]s it with its id. A file left by
/// a crash or by a stopped process (untouched for [`STALE_AFTER_MILLIS`])
/// is taken over: see `take_over`.
pub fn claim<F: FileSystem>(fs: &F, log: &str, name: &str) -> Result<F::File, ClaimError> {
    let open = || fs.open(name, Open::CreateNew);
    match open() {
        Err(FsError {
            code: Code::Exists, ..
        }) if is_stale(fs, name) => {
            take_over(fs, log, name);
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

/// Whether `name` exists and was not touched for [`STALE_AFTER_MILLIS`].
fn is_stale<F: FileSystem>(fs: &F, name: &str) -> bool {
    fs.age_millis(name)
        .is_some_and(|age| age >= STALE_AFTER_MILLIS)
}

/// Writes the owner's id into the claim it just created.
pub fn sign<T: File>(claim: &T, id: u64) -> Result<(), FsError> {
    claim.write_at(0, format!("{id:016x}\n").as_bytes())
}

/// The id a claim was signed with; `None` if it is not signed (yet).
fn signed_id<T: File>(claim: &T) -> Option<u64> {
    parse_id(&claim.read_at(0, 16).ok()?)
}

/// A rewrite's id as its claim and its seal write it: 16 hex digits.
fn parse_id(hex: &[u8]) -> Option<u64> {
    let hex = std::str::from_utf8(hex).ok()?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

/// The ids of every rewrite's new log (`<log>.compact.<id>`) in the
/// directory: running, or left by a rewrite that died, or by a takeover
/// that died between taking a stopped rewrite's claim and fencing it.
/// Empty if the host cannot list the directory.
pub fn new_logs<F: FileSystem>(fs: &F, log: &str) -> Vec<u64> {
    let prefix = format!("{log}.compact.");
    let mut ids = Vec::new();
    let _ = fs.list(&mut |name| {
        ids.extend(
            name.strip_prefix(&prefix)
                .and_then(|id| parse_id(id.as_bytes())),
        );
    });
    ids
}

/// The id of the rewrite that holds `<log>.compact`, if one does.
pub fn running_rewrite<F: FileSystem>(fs: &F, log: &str) -> Option<u64> {
    signed_id(&fs.open(&claim_name(log), Open::Read).ok()?)
}

/// Fences the rewrite that holds `<log>.compact`, if any.
pub fn fence_running_rewrite<F: FileSystem>(fs: &F, log: &str) {
    if let Some(id) = running_rewrite(fs, log) {
        fence(fs, log, id);
    }
}

/// Takes a stale claim away from its owner, which may be dead or only
/// stopped: removes the name, then reads the owner's id through a handle
/// opened before, and fences it. The order makes the fence certain: an
/// owner signs its claim after creating its new log and checks that the
/// claim still has its name before it renames (see
/// [`crate::rewrite`]), so either the id is read here and the new log
/// already exists to be removed, or the owner signed after the name was
/// gone and finds it gone.
fn take_over<F: FileSystem>(fs: &F, log: &str, name: &str) {
    let held = fs.open(name, Open::Read).ok();
    let _ = fs.remove(name);
    if let Some(id) = held.as_ref().and_then(signed_id) {
        fence(fs, log, id);
    }
}

/// Makes the rename of the rewrite with this id impossible: removes its
/// new log, which no other rewrite ever names. If it is gone already, that
/// rewrite renamed it (the old log then has no links) or gave up.
pub fn fence<F: FileSystem>(fs: &F, log: &str, id: u64) {
    let _ = fs.remove(&new_log_name(log, id));
}

/// The seal line, with a random id so that it is unique in the file; led
/// by `\n` in case a writer's record was cut short before it. Whitespace
/// only (see [`SEAL`]).
pub fn seal(id: u64) -> Vec<u8> {
    let mut marker = b"\n".to_vec();
    marker.extend_from_slice(SEAL);
    marker.extend((0..SEAL_ID_LEN).rev().map(
        |bit| {
            if (id >> bit) & 1 == 1 { b'\t' } else { b' ' }
        },
    ));
    marker.push(b'\n');
    marker
}

/// The seal a delete appends: a seal whose id is followed by
/// [`crate::format::DELETE_SEAL_END`], so that an appender whose file was
/// removed tells a delete from a compaction (see [`last_seal_deletes`]).
/// Every reader skips it (JSON whitespace), every appender takes it for a
/// seal.
pub fn delete_seal(id: u64) -> Vec<u8> {
    let mut marker = seal(id);
    marker.pop();
    marker.extend_from_slice(crate::format::DELETE_SEAL_END);
    marker.push(b'\n');
    marker
}

/// Whether the last seal at or after `from` is a delete's: a file that
/// has no name left and ends so was deleted, not replaced (a rewrite
/// that renames it away seals it last; one taken over after another's
/// seal was fenced and renamed nothing).
pub fn last_seal_deletes<T: File>(file: &T, from: u64) -> Result<bool, FsError> {
    let mut last = None;
    let mut next = find_seal(file, from)?;
    while let Some((at, _)) = next {
        last = Some(at);
        next = find_seal(file, at + 1)?;
    }
    let Some(at) = last else {
        return Ok(false);
    };
    let end = crate::format::DELETE_SEAL_END;
    let after = at + SEAL.len() as u64 + SEAL_ID_LEN as u64;
    Ok(fs::read_exact(file, after, end.len() as u64)? == end)
}

/// A seal's id from the bytes after its marker; `None` if torn.
fn seal_id(bits: &[u8]) -> Option<u64> {
    if bits.len() != SEAL_ID_LEN {
        return None;
    }
    bits.iter().try_fold(0u64, |id, b| match b {
        b' ' => Some(id << 1),
        b'\t' => Some(id << 1 | 1),
        _ => None,
    })
}

/// The first seal at or after `from`, of either form: where it starts and
/// its id (`None`: torn).
fn find_seal<T: File>(file: &T, from: u64) -> Result<Option<(u64, Option<u64>)>, FsError> {
    let now = fs::find(file, SEAL, from)?;
    let v1 = fs::find(file, SEAL_V1, from)?;
    Ok(match (now, v1) {
        (Some(at), v1) if v1.is_none_or(|v1| at < v1) => {
            let bits = fs::read_exact(file, at + SEAL.len() as u64, SEAL_ID_LEN as u64)?;
            Some((at, seal_id(&bits)))
        }
        (_, Some(at)) => {
            let hex = fs::read_exact(file, at + SEAL_V1.len() as u64, 16)?;
            Some((at, parse_id(&hex)))
        }
        _ => None,
    })
}

/// Whether a seal lies after `at` (bytes that end there): the rewrite
/// that renamed the file away copied them then. The rewrite copies
/// everything before its last seal and renames only when nothing new
/// follows that seal, so bytes with a seal after them were copied, and
/// bytes with none were not (an appender whose bytes land after a seal
/// always notices; see [`crate::append`]).
pub fn sealed_after<T: File>(file: &T, at: u64) -> Result<bool, FsError> {
    Ok(find_seal(file, at)?.is_some())
}

/// The ids of the seals that start in `from..until`: the rewrites that do
/// not copy bytes at `until`, `None` for a seal whose id cannot be read
/// (only a power cut tears one). Empty when none does.
pub fn seals_before<T: File>(file: &T, from: u64, until: u64) -> Result<Vec<Option<u64>>, FsError> {
    let mut ids = Vec::new();
    let mut next = find_seal(file, from)?;
    while let Some((at, id)) = next.filter(|&(at, _)| at < until) {
        ids.push(id);
        next = find_seal(file, at + 1)?;
    }
    Ok(ids)
}

/// A rewrite's claims on `<log>.compact` and `<log>.lock`, kept fresh by
/// touching them every [`HEARTBEAT_MILLIS`] while the rewrite works. A
/// step that blocks longer than [`STALE_AFTER_MILLIS`] (a huge sync, a
/// stopped process) lets appenders go on and another rewrite take over;
/// [`Heartbeat::still_ours`] then stops this one before it renames.
pub struct Heartbeat {
    last_nanos: u64,
    /// The longest time between two touches since [`Heartbeat::watch`].
    longest_gap_nanos: u64,
}

impl Heartbeat {
    pub fn new<F: FileSystem>(fs: &F) -> Heartbeat {
        Heartbeat {
            last_nanos: fs.now_nanos(),
            longest_gap_nanos: 0,
        }
    }

    /// Starts measuring the gaps between touches anew: from when the lock
    /// is held, any gap counts, since an appender that found the lock
    /// stale during it may have taken its record for stored. The gap
    /// running when it is called counts (the lock may have been created
    /// late in it).
    pub fn watch(&mut self) {
        self.longest_gap_nanos = 0;
    }

    /// Touches `files` if a beat is due.
    pub fn beat<F: FileSystem>(&mut self, fs: &F, files: &[&F::File]) -> Result<(), FsError> {
        let now = fs.now_nanos();
        if now.saturating_sub(self.last_nanos) >= HEARTBEAT_MILLIS * 1_000_000 {
            self.touch(fs, files)?;
        }
        Ok(())
    }

    /// Touches `files` now.
    pub fn touch<F: FileSystem>(&mut self, fs: &F, files: &[&F::File]) -> Result<(), FsError> {
        for file in files {
            file.touch()?;
        }
        let now = fs.now_nanos();
        self.longest_gap_nanos = self
            .longest_gap_nanos
            .max(now.saturating_sub(self.last_nanos));
        self.last_nanos = now;
        Ok(())
    }

    /// Touches `files` and tells whether they are still this rewrite's:
    /// each still has its name (a rewrite that took one over removed it
    /// first) and no gap between touches since [`Heartbeat::watch`] came
    /// near the staleness. Checked right before the rename.
    pub fn still_ours<F: FileSystem>(
        &mut self,
        fs: &F,
        files: &[&F::File],
    ) -> Result<bool, FsError> {
        self.touch(fs, files)?;
        for file in files {
            if file.stat()?.links == 0 {
                return Ok(false);
            }
        }
        let within = RENAME_WITHIN_MILLIS * 1_000_000;
        Ok(self.longest_gap_nanos < within
            && fs.now_nanos().saturating_sub(self.last_nanos) < within)
    }
}
