//! Records larger than the host's write permit (64 KiB on wasmtime): an
//! append stream would write one in pieces, and other appenders' records
//! could land between them. Instead, holding `<log>.big` (created
//! exclusively: one such writer at a time, none while a rewrite runs), the
//! writer gives the log a second name, `<log>.big.link`, so that appenders
//! see two links in the stat they make before every write anyway and wait
//! while `<log>.big` is fresh; it lets the size settle (an appender that
//! looked just before the link may still be writing), reserves the frame's
//! space at the end by appending zero bytes (which cut nothing, however
//! long the writer is stopped), and fills it with one positional write,
//! which no append can split.
//!
//! A straggler whose record landed in the reserved space is found there
//! (the space must be all zero bytes): its record stays, the rest of the
//! space becomes a blank line, and the space is reserved again. A record
//! that lands after space not yet filled waits for the fill before it
//! judges its line (see the parent module). A writer killed mid-record
//! leaves the space as one damaged line (a torn write), and its claim goes
//! stale after [`crate::lock::STALE_AFTER_MILLIS`].

#![forbid(unsafe_code)]

use super::{AppendFile, Landed, TORN_LINE_CHECKS, TORN_LINE_PAUSE_NANOS, failed};
use crate::config::SyncMode;
use crate::frame::Frame;
use crate::fs::{self, File, FileSystem, FsError};
use crate::lock::{ClaimError, big_link_name, big_name, claim};
use crate::store_error::{AppendStep, Step, StoreError, Undo, io_error};

/// How often a reservation is tried again when others' bytes came between
/// its zero bytes, before the append gives up as busy.
const RESERVE_ATTEMPTS: usize = 8;

impl<T: File> AppendFile<T> {
    /// Appends a frame with a record larger than the write permit, which
    /// an append stream would write in pieces that others' records could
    /// land between. Instead, holding `<log>.big` (one such writer at a time,
    /// none while a rewrite runs) and with `<log>.big.link` giving the log
    /// a second name (appenders that stat it wait), the frame's space is
    /// reserved at the end by appending zero bytes and filled by a
    /// positional write, which no append can split.
    pub(super) fn append_reserved<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        frame: &Frame,
        name: &str,
        sync: SyncMode,
    ) -> Result<Landed, StoreError> {
        self.end_after_last_write = None;
        let big = big_name(name);
        let held = match claim(fs, name, &big) {
            Ok(file) => file,
            Err(ClaimError::Held { .. }) => return Ok(Landed::WaitingBig),
            Err(ClaimError::Store(e)) => return Err(e),
        };
        let link = big_link_name(name);
        // A link left by a writer that died; ours is made afresh.
        let _ = fs.remove(&link);
        let landed = match fs.link(name, &link) {
            Ok(()) => self.reserve_and_fill(fs, frame, name, sync, &held),
            Err(error) => Err(io_error(&link, Step::Creating)(error)),
        };
        let _ = fs.remove(&link);
        if held.stat().is_ok_and(|s| s.links > 0) {
            let _ = fs.remove(&big);
        }
        landed
    }

    fn reserve_and_fill<F: FileSystem<File = T>>(
        &mut self,
        fs: &F,
        frame: &Frame,
        name: &str,
        sync: SyncMode,
        held: &T,
    ) -> Result<Landed, StoreError> {
        let size_error = io_error(name, Step::ReadingSize);
        let mut attempts = 0;
        loop {
            // Appenders that looked before the link may still be writing:
            // wait until the size holds still.
            let mut stat = self.file.stat().map_err(&size_error)?;
            for _ in 0..TORN_LINE_CHECKS {
                fs.pause(TORN_LINE_PAUSE_NANOS);
                let now = self.file.stat().map_err(&size_error)?;
                let still = now.size == stat.size;
                stat = now;
                if still {
                    break;
                }
            }
            if stat.links == 0 {
                return Ok(Landed::NotWritten);
            }
            let (torn, before) = self
                .torn_tail(fs, stat.size)
                .map_err(io_error(name, Step::ReadingLastByte))?;
            let mut led = frame.clone();
            if torn {
                led.end_torn_line();
            }
            let bytes = led.bytes();
            let len = bytes.len() as u64;
            // Fresh for the reservation and the fill.
            held.touch().map_err(io_error(name, Step::Touching))?;
            // Reserved by appending zero bytes, which no record contains:
            // an append adds to the end and never cuts what others
            // appended, even if this process is stopped for any time in
            // between (setting the size could).
            if let Err(error) = self.file.append(&Frame::raw(&vec![0; bytes.len()])) {
                return Err(StoreError::Append {
                    name: name.to_string(),
                    during: AppendStep::Writing,
                    error,
                    undo: self.blank_own_zeros(before, held, name),
                });
            }
            let Some(at) = self
                .reservation(before, len)
                .map_err(io_error(name, Step::Reading))?
            else {
                // Others' bytes came between ours (a straggler between two
                // pieces of the append, or appenders that took our claim
                // for stale while we were stopped): our zero bytes become
                // blank lines, and we try again, a few times.
                if let Undo::Failed { error, .. } = self.blank_own_zeros(before, held, name) {
                    return Err(*error);
                }
                attempts += 1;
                if attempts == RESERVE_ATTEMPTS {
                    return Err(StoreError::Locked {
                        lock: big_name(name),
                    });
                }
                continue;
            };
            // Ours since our claim is: a writer that takes it over from now
            // on reserves after the end it finds, which is after our space.
            // Taken over already, the space may be that writer's: ours is
            // left as it is, and we wait for it.
            if held.stat().map_err(&size_error)?.links == 0 {
                return Ok(Landed::WaitingBig);
            }
            if let Err(error) = self.file.write_at(at, bytes) {
                let undo = self.undo_reservation(at, len, name);
                return Err(StoreError::Append {
                    name: name.to_string(),
                    during: AppendStep::Writing,
                    error,
                    undo,
                });
            }
            if held.stat().map_err(&size_error)?.links == 0 {
                // We stalled past the staleness and a rewrite took
                // `<log>.big` over: it may have copied the space before our
                // fill, or after it.
                return Ok(Landed::ClaimTakenOver { at });
            }
            let after = self.file.stat().map_err(&size_error)?;
            if after.links == 0 {
                return Ok(Landed::InReplacedFile {
                    from: before,
                    to: after.size,
                });
            }
            if self.sync_due(fs, sync)
                && let Err(error) = self.sync(fs)
            {
                return Err(StoreError::Append {
                    name: name.to_string(),
                    during: AppendStep::Syncing,
                    error,
                    undo: self.undo_sync(&led, at, at + len, name),
                });
            }
            return Ok(Landed::InLog);
        }
    }

    /// Where our zero bytes, `len` of them appended at or after `before`,
    /// lie whole: right at `before`, or after whole lines that others
    /// appended first (a straggler that looked before our link). `None`
    /// when others' bytes came between them.
    fn reservation(&self, before: u64, len: u64) -> Result<Option<u64>, FsError> {
        let Some(at) = fs::find(&self.file, &[0], before)? else {
            return Ok(None);
        };
        let starts_line = at == before || self.file.read_at(at - 1, 1)?.first() == Some(&b'\n');
        let whole = fs::read_exact(&self.file, at, len)?;
        Ok(
            (starts_line && whole.len() as u64 == len && whole.iter().all(|&b| b == 0))
                .then_some(at),
        )
    }

    /// After an append of zero bytes that failed part-way (a full device)
    /// or that others' bytes came between: the zero bytes from `before` on
    /// become blank lines, if our claim still holds (else they may be a
    /// writer's that took it over). Nothing is cut: others may have
    /// appended after them.
    fn blank_own_zeros(&self, before: u64, held: &T, name: &str) -> Undo {
        let undo = || -> Result<Undo, (Step, FsError)> {
            let size = self.file.stat().map_err(|e| (Step::ReadingSize, e))?.size;
            if size <= before {
                return Ok(Undo::NothingWritten);
            }
            if held.stat().map_err(|e| (Step::ReadingSize, e))?.links == 0 {
                return Ok(Undo::Left {
                    grown: size - before,
                });
            }
            let bytes = fs::read_exact(&self.file, before, size - before)
                .map_err(|e| (Step::Reading, e))?;
            let mut at = 0;
            while let Some(start) = bytes[at..].iter().position(|&b| b == 0).map(|p| p + at) {
                let end = bytes[start..]
                    .iter()
                    .position(|&b| b != 0)
                    .map_or(bytes.len(), |p| p + start);
                self.blank(before + start as u64, before + end as u64)
                    .map_err(|e| (Step::BlankingPartialRecord, e))?;
                at = end;
            }
            Ok(Undo::Blanked {
                offset: before,
                length: size - before,
            })
        };
        undo().unwrap_or_else(|(during, error)| failed(name, before, during, error))
    }

    /// After a failed fill of our reserved space: it becomes a blank line.
    /// Nothing is cut: others may have appended after it.
    fn undo_reservation(&self, at: u64, len: u64, name: &str) -> Undo {
        match self.blank(at, at + len) {
            Ok(()) => Undo::Blanked {
                offset: at,
                length: len,
            },
            Err(error) => failed(name, at, Step::BlankingPartialRecord, error),
        }
    }
}
