//! The append protocol: the log opened once for appending and kept open;
//! per call, a torn last line ended first, the frame written in one write,
//! a sync as `PATHWAY_SYNC` says; after a failed sync, its record made a
//! blank line if its bytes are provably its own. Nothing of the file is
//! ever cut.
//!
//! A compaction or repair (a rewrite) seals the log before it copies the
//! last bytes and renames the new log over it (see [`crate::lock`]); an
//! append makes sure its bytes never lie after a seal unnoticed:
//! - an append that finds the file changed since its own last write (the
//!   only way a seal can be in front of it) looks at the lock first, and
//!   waits while a rewrite holds it, then opens the log afresh; a stale
//!   lock's rewrite is fenced first (see [`crate::lock::is_locked`]);
//! - an append whose write found others' bytes in front of it (the seal
//!   may be among them) looks for a seal there; if one lies before its
//!   bytes, or the file was renamed away (no links), it waits for the
//!   rewrite to end and fences it (the id is in the seal), so that a
//!   stopped rewrite cannot rename later. Then bytes with a seal after them were copied; bytes
//!   with none are appended again, to the new log, if the file was renamed
//!   away, and stay where they are if not.
//!
//! A record larger than the host's write permit would go out in pieces
//! that others' records could land between; it is written into space
//! reserved for it at the end instead (`append/reserved.rs`), while appenders that
//! see the log's second name (`<log>.big.link`) wait.
//!
//! The steady state (the file still ends where this instance's last write
//! ended it) is three host calls: a stat, the write, a stat after it.

#![forbid(unsafe_code)]

mod reserved;

use std::borrow::Cow;

use crate::config::{Config, SyncMode};
use crate::frame::{Frame, ends_in_torn_line};
use crate::fs::{self, File, FileSystem, FsError, Open};
use crate::lock::{
    self, big_name, fence, is_fresh, is_locked, sealed_after, seals_before, wait_while_fresh,
    wait_while_locked,
};
use crate::pager::CHUNK;
use crate::store_error::{AppendStep, Step, StoreError, Undo, Unsure, io_error, open_error};

/// How often, and how long apart, an unterminated last line is looked at
/// again before it is taken for torn (see [`Appender::torn_tail`]).
const TORN_LINE_CHECKS: usize = 5;
const TORN_LINE_PAUSE_NANOS: u64 = 200_000;

/// The append side of one store: the log's file once something was
/// appended, kept open across calls.
pub struct Appender<F: FileSystem> {
    open: Option<AppendFile<F::File>>,
}

/// Where an append's bytes went.
enum Landed {
    InLog,
    /// Nowhere: the file had no links left before the write.
    NotWritten,
    /// Nowhere: a rewrite holds a fresh lock, so the file may be sealed.
    Waiting,
    /// Nowhere: a record larger than the write permit is being written
    /// (or a rewrite runs, for a frame of that size).
    WaitingBig,
    /// In the log at `at`, but a rewrite took `<log>.big` over while the
    /// space for it was reserved: it stays if that rewrite did not rename,
    /// and is in the new log if the rewrite copied the space once it was
    /// filled.
    ClaimTakenOver {
        at: u64,
    },
    /// In the log, but after the seals of these rewrites (`None`: one
    /// whose id a power cut tore off), which do not copy them: whether
    /// they stay depends on whether one renames; the bytes are in
    /// `from..to`.
    BehindSeal {
        from: u64,
        to: u64,
        seals: Vec<Option<u64>>,
    },
    /// Into a file a rewrite had renamed away; the bytes are in `from..to`
    /// in it.
    InReplacedFile {
        from: u64,
        to: u64,
    },
    /// After another writer's unterminated line, which they ended.
    AfterTornLine,
}

/// A whole copy of a frame's bytes in the file.
#[derive(Clone, Copy, Debug)]
struct Copy {
    at: u64,
    starts_line: bool,
}

/// Frames up to this size go out in one write (wasmtime's write permit):
/// their bytes are contiguous in the file, so they can be looked for
/// after the write. Larger frames are always checked before.
const ONE_WRITE: usize = 64 * 1024;

/// The log file opened for appending.
struct AppendFile<T> {
    file: T,
    /// File size right after this instance's last write. While the size is
    /// still that, the file ends in our own `\n` and the last byte need not
    /// be read.
    end_after_last_write: Option<u64>,
    /// Monotonic time of the last sync (or of opening), for `interval:`.
    last_sync: u64,
    /// The file's size after this instance's last write: a seal appended
    /// since lies after it (see [`AppendFile::deleted`]).
    mark: u64,
}

impl<F: FileSystem> Default for Appender<F> {
    fn default() -> Self {
        Appender { open: None }
    }
}

impl<F: FileSystem> Appender<F> {
    /// Appends a frame, following a rewrite that seals or renames the log
    /// meanwhile (see the module docs).
    pub fn append(&mut self, fs: &F, config: &Config, frame: Frame) -> Result<(), StoreError> {
        let name = &config.log_name;
        // Taken out while writing: after an error none is kept and the next
        // call opens afresh.
        let mut open = match self.open.take() {
            Some(open) => open,
            None => AppendFile::open(fs, name, config.sync)?,
        };
        match open.append(fs, &frame, name, config.sync)? {
            Landed::InLog => {
                self.open = Some(open);
                Ok(())
            }
            Landed::NotWritten | Landed::Waiting => {
                // Renamed over, or maybe sealed, before we wrote: wait for
                // the rewrite and open the log by its name again, unless a
                // delete removed it (the name may hold a new log by now).
                wait_while_locked(fs, name)?;
                if open.deleted(name)? {
                    return Err(StoreError::Deleted { name: name.clone() });
                }
                self.append(fs, config, frame)
            }
            Landed::WaitingBig => {
                wait_while_fresh(fs, &big_name(name))?;
                self.open = Some(open);
                self.append(fs, config, frame)
            }
            Landed::InReplacedFile { from, to } => {
                wait_while_locked(fs, name)?;
                if open.deleted(name)? {
                    return Err(StoreError::Deleted { name: name.clone() });
                }
                self.after_rename(fs, config, open, frame, from, to)
            }
            Landed::ClaimTakenOver { at } => {
                wait_while_fresh(fs, &big_name(name))?;
                wait_while_locked(fs, name)?;
                lock::fence_running_rewrite(fs, name);
                if open.still_linked(fs, name)? {
                    self.open = Some(open);
                    return Ok(());
                }
                if open.deleted(name)? {
                    return Err(StoreError::Deleted { name: name.clone() });
                }
                // Renamed: the rewrite copied the space either before our
                // fill or after it; the new log tells which.
                let new = AppendFile::open(fs, name, config.sync)?;
                let size = new
                    .file
                    .stat()
                    .map_err(io_error(name, Step::ReadingSize))?
                    .size;
                let copied = new
                    .copies(&frame, 0, size)
                    .map_err(io_error(name, Step::Reading))?
                    .iter()
                    .any(|copy| copy.starts_line);
                if !copied {
                    self.open = Some(new);
                    return self.append(fs, config, frame);
                }
                // A copy in the new log is ours unless the old file held
                // another one the rewrite could have copied instead.
                let others = open
                    .copies(&frame, 0, u64::MAX)
                    .map_err(io_error(name, Step::Reading))?
                    .iter()
                    .any(|copy| copy.at != at && copy.at != at + 1);
                self.open = Some(new);
                if others {
                    return Err(StoreError::Unsure {
                        name: name.to_string(),
                        from: at,
                        to: at + frame.bytes().len() as u64,
                        why: Unsure::TakenOver,
                    });
                }
                Ok(())
            }
            Landed::BehindSeal { from, to, seals } => {
                // Our bytes follow a seal: they are not copied. Once the
                // rewrite is over (its lock gone) or taken for stopped (its
                // lock stale), it is fenced, so that it cannot rename after
                // all: then they stay if it did not rename, else they go
                // to the new log.
                wait_while_locked(fs, name)?;
                for id in seals {
                    match id {
                        Some(id) => fence(fs, name, id),
                        None => lock::fence_running_rewrite(fs, name),
                    }
                }
                if open.still_linked(fs, name)? {
                    self.open = Some(open);
                    return Ok(());
                }
                if open.deleted(name)? {
                    return Err(StoreError::Deleted { name: name.clone() });
                }
                self.after_rename(fs, config, open, frame, from, to)
            }
            Landed::AfterTornLine => {
                // Another writer's unterminated line was at the end when we
                // wrote, and our bytes went on it. Taken back when they
                // still were the end, else they stay in that (damaged)
                // line: append the frame again, looking first this time.
                self.open = Some(open);
                self.append(fs, config, frame)
            }
        }
    }

    /// Our bytes went into `from..to` of a file a rewrite renamed away: a
    /// seal after them says the rewrite copied them; else they are
    /// appended again, to the new log. Every whole copy of the frame there
    /// is looked at (another instance may have appended an identical
    /// record): if they do not all tell the same, which one is ours cannot
    /// be told, and the append says so rather than guess.
    fn after_rename(
        &mut self,
        fs: &F,
        config: &Config,
        open: AppendFile<F::File>,
        frame: Frame,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let name = &config.log_name;
        let reading = io_error(name, Step::Reading);
        let len = frame.bytes().len() as u64;
        let copies = open.copies(&frame, from, to).map_err(&reading)?;
        let mut copied = 0;
        for copy in &copies {
            // A copy on another writer's line was copied as part of that
            // (damaged) line, not as a record.
            if copy.starts_line && sealed_after(&open.file, copy.at + len).map_err(&reading)? {
                copied += 1;
            }
        }
        match copied {
            0 => self.append(fs, config, frame),
            n if n == copies.len() => Ok(()),
            _ => Err(StoreError::Unsure {
                name: name.to_string(),
                from,
                to,
                why: Unsure::Sealed,
            }),
        }
    }

    /// Syncs the log's data if this instance has it open; `false` if not.
    pub fn sync(&mut self, fs: &F, name: &str) -> Result<bool, StoreError> {
        match &mut self.open {
            Some(open) => open.sync(fs).map_err(io_error(name, Step::Syncing))?,
            None => return Ok(false),
        }
        Ok(true)
    }
}

impl<T: File> AppendFile<T> {
    /// Whether the file is still the log (no rewrite renamed another over
    /// it): it has a name, and `name` is that file. A link count alone
    /// would not tell when someone hard-linked the log elsewhere: the
    /// replaced file keeps that link.
    fn still_linked<F: FileSystem<File = T>>(
        &self,
        fs: &F,
        name: &str,
    ) -> Result<bool, StoreError> {
        let stat = self
            .file
            .stat()
            .map_err(io_error(name, Step::ReadingSize))?;
        if stat.links == 0 {
            return Ok(false);
        }
        let log = match fs.open(name, Open::Read) {
            Ok(log) => log,
            Err(error) if error.code == fs::Code::NoEntry => return Ok(false),
            Err(error) => return Err(open_error(name)(error)),
        };
        let identify = io_error(name, Step::Identifying);
        Ok(log.identity().map_err(&identify)? == self.file.identity().map_err(&identify)?)
    }

    /// Opens (creating it if needed) the log for appending. No symlink is
    /// followed: the log must be a regular file directly in the directory.
    fn open<F: FileSystem<File = T>>(
        fs: &F,
        name: &str,
        sync: SyncMode,
    ) -> Result<AppendFile<T>, StoreError> {
        let file = fs.open(name, Open::Append).map_err(open_error(name))?;
        if sync != SyncMode::Never {
            // The file may be new: make its directory entry durable too.
            // Hosts that cannot sync a directory still sync the data.
            let _ = fs.sync_directory();
        }
        Ok(AppendFile {
            file,
            end_after_last_write: None,
            last_sync: fs.now_nanos(),
            mark: 0,
        })
    }

    /// Whether a delete removed this file: it has no name left, and the
    /// last seal since this instance's last write is a delete's.
    fn deleted(&self, name: &str) -> Result<bool, StoreError> {
        let stat = self
            .file
            .stat()
            .map_err(io_error(name, Step::ReadingSize))?;
        if stat.links > 0 {
            return Ok(false);
        }
        lock::last_seal_deletes(&self.file, self.mark).map_err(io_error(name, Step::Reading))
    }

    /// Writes the frame, syncs as the mode says, and tells where it landed.
    ///
    /// The steady state is three host calls, a stat, the write and a stat
    /// after it: while the file's size is still what our last write left,
    /// it ends in our own `\n` and no byte needs reading. The stat after
    /// shows whether a rewrite renamed the file away (no links) and
    /// whether anyone else wrote in between (the size); only then are our
    /// bytes looked for, to make sure no unterminated line of another
    /// writer came in front of them in the moment between the stat and the
    /// write. Otherwise (first append, others appending, a frame written
    /// in pieces) the last byte is read first, and a torn last line is
    /// ended before the frame.
    fn append<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        frame: &Frame,
        name: &str,
        sync: SyncMode,
    ) -> Result<Landed, StoreError> {
        if frame.longest() > ONE_WRITE {
            // A record that would go out in pieces: see `append_reserved`.
            // A batch of smaller ones is written in pieces cut between its
            // records, each of which lands whole.
            return self.append_reserved(fs, frame, name, sync);
        }
        let one_write = frame.bytes().len() <= ONE_WRITE;
        // Where this call's bytes start at the earliest (others may append
        // first), read while the file was still the log.
        // The size is read before every write: a frame written blind could
        // land on another writer's unterminated line (one still writing a
        // record in pieces), and cutting it off again afterwards could cut
        // that writer's next piece too. When the file still ends where our
        // last write ended it, it ends in our `\n` and no byte is read.
        let known_end = self.end_after_last_write.take().filter(|_| one_write);
        let stat = self
            .file
            .stat()
            .map_err(io_error(name, Step::ReadingSize))?;
        if stat.links == 0 {
            return Ok(Landed::NotWritten);
        }
        // A second name: a record larger than the write permit is being
        // written (or someone linked the log; then `<log>.big` is stale or
        // missing and this costs one more call per append).
        if stat.links > 1 && is_fresh(fs, &big_name(name)) {
            return Ok(Landed::WaitingBig);
        }
        let (before, frame, led) = if known_end == Some(stat.size) {
            (stat.size, Cow::Borrowed(frame), false)
        } else {
            // Someone else wrote since our last write: a rewrite may have
            // sealed the file. Looked at after the stat, so that a seal
            // that lands later lands after `stat.size`, where the look
            // after the write finds it.
            if is_locked(fs, name) {
                return Ok(Landed::Waiting);
            }
            let (torn, before) = self
                .torn_tail(fs, stat.size)
                .map_err(io_error(name, Step::ReadingLastByte))?;
            if torn {
                let mut led = frame.clone();
                led.end_torn_line();
                (before, Cow::Owned(led), true)
            } else {
                (before, Cow::Borrowed(frame), false)
            }
        };
        let frame = frame.as_ref();
        let len = frame.bytes().len() as u64;
        if let Err(error) = self.file.append(frame) {
            return Err(StoreError::Append {
                name: name.to_string(),
                during: AppendStep::Writing,
                error,
                undo: self.undo_write(frame, before, name),
            });
        }
        let after = self
            .file
            .stat()
            .map_err(io_error(name, Step::ReadingSize))?;
        if after.links == 0 {
            return Ok(Landed::InReplacedFile {
                from: before,
                to: after.size,
            });
        }
        let others_wrote = after.size != before + len;
        // Where whole copies of the frame lie among what was written since
        // `before`: ours, and any identical record another instance wrote
        // in that moment.
        let mut copies = Vec::new();
        if others_wrote {
            copies = self
                .copies(frame, before, after.size)
                .map_err(io_error(name, Step::Reading))?;
        }
        if others_wrote && one_write && !led {
            // Others wrote since `before`: our bytes not at a line's start
            // means an unterminated line was in front of them (a frame led
            // by `\n` ended the torn line it found itself).
            let big = big_name(name);
            if !copies.iter().any(|c| c.starts_line) && is_fresh(fs, &big) {
                // What is in front of ours may be space reserved for a
                // record larger than the permit, which is a line once its
                // writer has filled it: look again then.
                wait_while_fresh(fs, &big)?;
                copies = self
                    .copies(frame, before, after.size)
                    .map_err(io_error(name, Step::Reading))?;
            }
            let whole = copies.iter().filter(|c| c.starts_line).count();
            if whole == 0 {
                self.take_back(&copies, len)
                    .map_err(io_error(name, Step::BlankingPartialRecord))?;
                return Ok(Landed::AfterTornLine);
            }
            if whole < copies.len() {
                // One copy on a line of its own, one on another writer's
                // line: which is ours cannot be told.
                return Err(StoreError::Unsure {
                    name: name.to_string(),
                    from: before,
                    to: after.size,
                    why: Unsure::TornLine,
                });
            }
            if copies.iter().any(|c| c.at + len == after.size) {
                self.end_after_last_write = Some(after.size);
                self.mark = after.size;
            }
        } else if after.size == before + len {
            self.end_after_last_write = Some(after.size);
            self.mark = after.size;
        }
        let due = self.sync_due(fs, sync);
        // A seal among the bytes others wrote in front of ours: the rewrite
        // does not copy ours.
        // If another instance's identical record came first, the seals in
        // front of the last copy are looked at: waiting for more rewrites
        // than needed is safe, missing one is not.
        let seals = if others_wrote {
            let until = copies.last().map_or(u64::MAX, |c| c.at);
            seals_before(&self.file, before, until).map_err(io_error(name, Step::Reading))?
        } else {
            Vec::new()
        };
        if due && let Err(error) = self.sync(fs) {
            self.end_after_last_write = None;
            // The caller hears "not stored": the record should not stay to
            // be found later next to the one it will append again.
            return Err(StoreError::Append {
                name: name.to_string(),
                during: AppendStep::Syncing,
                error,
                undo: self.undo_sync(frame, before, after.size, name),
            });
        }
        if !seals.is_empty() {
            self.end_after_last_write = None;
            return Ok(Landed::BehindSeal {
                from: before,
                to: after.size,
                seals,
            });
        }
        Ok(Landed::InLog)
    }

    /// Whether the mode wants a sync now.
    fn sync_due<F: FileSystem<File = T>>(&self, fs: &F, sync: SyncMode) -> bool {
        match sync {
            SyncMode::Never => false,
            SyncMode::Always => true,
            SyncMode::Interval { millis } => {
                fs.now_nanos().saturating_sub(self.last_sync) >= millis.saturating_mul(1_000_000)
            }
        }
    }

    /// Our frame went on another writer's unterminated line, as did every
    /// copy of it in the moment of our write (none is on a line of its
    /// own): they become blank lines, which end that line, and the next
    /// attempt appends the frame again. A copy that is another instance's
    /// is on a damaged line as well, and that instance appends it again
    /// too. Nothing is cut, so a process stopped here for any time cuts no
    /// one's record.
    fn take_back(&self, copies: &[Copy], len: u64) -> Result<(), FsError> {
        for copy in copies.iter().filter(|c| !c.starts_line) {
            self.blank(copy.at, copy.at + len)?;
        }
        Ok(())
    }

    /// Overwrites `from..to`, bytes of this instance's own, with a blank
    /// line (spaces and a `\n`), which replay skips.
    fn blank(&self, from: u64, to: u64) -> Result<(), FsError> {
        if from >= to {
            return Ok(());
        }
        let mut filler = vec![b' '; (to - from) as usize];
        filler[(to - from - 1) as usize] = b'\n';
        self.file.write_at(from, &filler)
    }

    /// Every whole copy of the frame's bytes that lies in `from..to`, and
    /// whether it starts a line. Our own bytes are one of them; more than
    /// one means another instance wrote an identical record in the same
    /// moment.
    fn copies(&self, frame: &Frame, from: u64, to: u64) -> Result<Vec<Copy>, FsError> {
        let len = frame.bytes().len() as u64;
        let mut copies = Vec::new();
        let mut at = from;
        while let Some(found) = fs::find(&self.file, frame.bytes(), at)? {
            if found.saturating_add(len) > to {
                break;
            }
            let starts_line = match found.checked_sub(1) {
                None => true,
                Some(prev) => self.file.read_at(prev, 1)?.first() == Some(&b'\n'),
            };
            copies.push(Copy {
                at: found,
                starts_line,
            });
            at = found + 1;
        }
        Ok(copies)
    }

    /// Whether the file, `size` bytes long, ends in a torn line, and its
    /// size when that was decided. Another instance's write in progress
    /// looks torn too (the file grows as the kernel copies it): the line
    /// counts as torn only if it is still unterminated after
    /// [`TORN_LINE_CHECKS`] pauses. A line torn by a crash costs that wait
    /// once, on this instance's first append.
    /// An empty file is not torn, and costs no call.
    fn torn_tail<F: FileSystem<File = T>>(
        &self,
        fs: &F,
        mut size: u64,
    ) -> Result<(bool, u64), FsError> {
        // The last byte, if any (someone may have truncated the file).
        let last_byte = |size: u64| -> Result<Option<u8>, FsError> {
            match size.checked_sub(1) {
                Some(at) => Ok(self.file.read_at(at, 1)?.first().copied()),
                None => Ok(None),
            }
        };
        for _ in 0..TORN_LINE_CHECKS {
            if !ends_in_torn_line(last_byte(size)?) {
                return Ok((false, size));
            }
            fs.pause(TORN_LINE_PAUSE_NANOS);
            size = self.file.stat()?.size;
        }
        // Still unterminated: end the line. If a stalled writer finishes it
        // after all, that leaves a blank line (which replay skips), or, for
        // a record it writes in pieces (over 64 KiB), two damaged lines.
        Ok((ends_in_torn_line(last_byte(size)?), size))
    }

    /// After a failed write (a full device): tells what became of the
    /// call's bytes. Nothing is cut or overwritten: an unterminated end of
    /// the file that looks like the start of one of our records could just
    /// as well be another instance's identical record, still being written
    /// (its writer would then acknowledge it damaged). So those bytes stay,
    /// as a crash would leave them: replay reports them as a torn write,
    /// the next append ends their line, and `repair` moves it out.
    fn undo_write(&self, frame: &Frame, before: u64, name: &str) -> Undo {
        let file = &self.file;
        let undo = || -> Result<Undo, (Step, FsError)> {
            let after = file.stat().map_err(|e| (Step::ReadingSize, e))?.size;
            if after <= before {
                return Ok(Undo::NothingWritten);
            }
            let grown = after - before;
            let Some(start) = unterminated_end(file, before, after, frame.longest() as u64)
                .map_err(|e| (Step::Reading, e))?
            else {
                return Ok(Undo::Left { grown });
            };
            if start == after {
                return Ok(Undo::Whole { kept: grown });
            }
            let tail =
                fs::read_exact(file, start, after - start).map_err(|e| (Step::Reading, e))?;
            let bytes = frame.bytes();
            if !frame.starts().any(|at| bytes[at..].starts_with(&tail)) {
                return Ok(Undo::Left { grown });
            }
            Ok(Undo::Partial {
                offset: start,
                length: after - start,
                kept: start - before,
            })
        };
        undo().unwrap_or_else(|(during, error)| failed(name, before, during, error))
    }

    /// After a failed sync of a frame written whole: makes it a blank
    /// line if its bytes provably are `before..written_end` (the file grew
    /// by exactly them). Nothing is cut: others may have appended after.
    fn undo_sync(&self, frame: &Frame, before: u64, written_end: u64, name: &str) -> Undo {
        if written_end != before + frame.bytes().len() as u64 {
            return Undo::Stays;
        }
        match self.blank(before, written_end) {
            Ok(()) => Undo::Blanked {
                offset: before,
                length: written_end - before,
            },
            Err(error) => failed(name, before, Step::BlankingPartialRecord, error),
        }
    }

    fn sync<F: FileSystem<File = T>>(&mut self, fs: &F) -> Result<(), FsError> {
        self.file.sync_data()?;
        self.last_sync = fs.now_nanos();
        Ok(())
    }
}

fn failed(name: &str, offset: u64, during: Step, error: FsError) -> Undo {
    Undo::Failed {
        offset,
        error: Box::new(io_error(name, during)(error)),
    }
}

/// Where the file's unterminated end starts: after its last `\n`, or at
/// `before` if no `\n` lies in `before..after`. `None` when that end is
/// longer than `longest`, so cannot be one of our records.
fn unterminated_end<T: File>(
    file: &T,
    before: u64,
    after: u64,
    longest: u64,
) -> Result<Option<u64>, FsError> {
    let mut end = after;
    while end > before {
        if after - end > longest {
            return Ok(None);
        }
        let from = before.max(end.saturating_sub(CHUNK));
        let chunk = fs::read_exact(file, from, end - from)?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk) {
            let start = from + i as u64 + 1;
            return Ok((after - start <= longest).then_some(start));
        }
        end = from;
    }
    Ok((after - before <= longest).then_some(before))
}
