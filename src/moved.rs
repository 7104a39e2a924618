//! Cursors that survive compaction: each compaction records, in
//! `<log>.moved`, where the bytes it kept went, so that a cursor at or
//! after its `upto` point keeps reading without reading the log again
//! (JetStream keeps sequences across a purge and Kafka offsets across log
//! compaction in the same way). A cursor before `upto` points into what
//! the snapshot folded: stale, as before.
//!
//! A compaction replaces the old file's bytes `0..upto` by the snapshot
//! (`at` bytes, `lines` records) and keeps `upto..end` as they were, so a
//! position `p` in that range moves to `p - upto + at`. Bytes after `end`
//! (after the compaction's seal) are appended again by their appenders,
//! not moved: a cursor there is stale.
//!
//! The record is written (a whole new file, renamed over the old one)
//! before the compaction renames: a reader that sees the new log finds it.
//! A record of a compaction that stopped before its rename leads to a file
//! that never became the log and is never followed to the end. The file
//! keeps the last [`KEPT`] records; a cursor more compactions behind (or
//! one across a repair, which moves lines irregularly) is stale.
//!
//! The cursor's check (the 32 bytes before it) is verified against the
//! bytes they became: those kept, and, where the window reaches before a
//! compaction's `upto`, the up to 32 bytes before `upto` that the record
//! keeps. A moved cursor binds no hash of every byte before it (those were
//! replaced), so a compaction refuses it, as it refuses a cursor of `last`.

#![forbid(unsafe_code)]

use crate::cursor::{CHECK_LEN, Cursor, CursorError, check_hash};
use crate::frame::Frame;
use crate::fs::{File, FileSystem, FsError, Open};
use crate::pager::Position;
use crate::tail::UNCOUNTED;

/// How many compactions' records `<log>.moved` keeps.
pub const KEPT: usize = 128;

/// `<log>.moved`.
pub fn moved_name(log: &str) -> String {
    format!("{log}.moved")
}

/// Where one compaction moved the bytes it kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Counts the log's compactions (from 1): the generation of the file it
    /// made, which cursors made on that file carry.
    pub seq: u64,
    /// Identity of the file it replaced, and of the file it renamed over it.
    pub from: u64,
    pub to: u64,
    /// The old file's `upto..end` went to `at..` in the new one.
    pub upto: u64,
    pub end: u64,
    pub at: u64,
    /// Lines before `upto` in the old file, and records of the snapshot.
    pub upto_lines: u64,
    pub lines: u64,
    /// The up to [`CHECK_LEN`] bytes before `upto` in the old file.
    pub before: Vec<u8>,
    /// The compaction's id: its seal, at `end` in the old file, was
    /// [`crate::lock::seal`] of it.
    pub id: u64,
}

impl Moved {
    fn encode(&self) -> String {
        let before: String = self.before.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "m1 {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {before}\n",
            self.seq,
            self.from,
            self.to,
            self.upto,
            self.end,
            self.at,
            self.upto_lines,
            self.lines,
            self.id
        )
    }

    fn decode(line: &str) -> Option<Moved> {
        let mut parts = line.split(' ');
        if parts.next()? != "m1" {
            return None;
        }
        let mut n = || u64::from_str_radix(parts.next()?, 16).ok();
        let (seq, from, to, upto, end, at) = (n()?, n()?, n()?, n()?, n()?, n()?);
        let (upto_lines, lines, id) = (n()?, n()?, n()?);
        let hex = parts.next().unwrap_or("");
        let before = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        (before.len() as u64 == upto.min(CHECK_LEN) && upto <= end).then_some(Moved {
            seq,
            from,
            to,
            upto,
            end,
            at,
            upto_lines,
            lines,
            before,
            id,
        })
    }
}

/// The records `<log>.moved` holds, oldest first (none if it is missing or
/// unreadable: cursors are then stale, never misread).
pub fn read<F: FileSystem>(fs: &F, log: &str) -> Vec<Moved> {
    let Ok(file) = fs.open(&moved_name(log), Open::Read) else {
        return Vec::new();
    };
    let size = file.stat().map_or(0, |s| s.size);
    let bytes = crate::fs::read_exact(&file, 0, size).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(Moved::decode)
        .collect()
}

/// Adds `record` to `<log>.moved`, keeping the last [`KEPT`]: a new file,
/// synced and renamed over the old one, so a crash leaves one or the other.
pub fn record<F: FileSystem>(fs: &F, log: &str, record: &Moved) -> Result<(), FsError> {
    let mut all = read(fs, log);
    let seq = all.last().map_or(1, |last| last.seq + 1);
    all.push(Moved {
        seq,
        ..record.clone()
    });
    let skip = all.len().saturating_sub(KEPT);
    let text: String = all[skip..].iter().map(Moved::encode).collect();
    let temp = format!("{}.{:016x}", moved_name(log), fs.random_u64());
    let file = fs.open(&temp, Open::CreateNew)?;
    let written = file
        .append(&Frame::raw(text.as_bytes()))
        .and_then(|()| file.sync_data())
        .and_then(|()| fs.rename(&temp, &moved_name(log)));
    if written.is_err() {
        let _ = fs.remove(&temp);
    }
    written
}

/// The generation of the log's file `identity`: the number of the last
/// compaction that made it (0: none did).
pub fn generation(chain: &[Moved], identity: u64) -> u64 {
    chain
        .iter()
        .rev()
        .find(|m| m.to == identity)
        .map_or(0, |m| m.seq)
}

/// The records that lead from the file `file` of generation `seq` to the
/// log (`identity`, generation `current`). A compaction that stopped
/// before its rename left a record that leads nowhere: the next is tried.
fn path(chain: &[Moved], file: u64, seq: u64, identity: u64, current: u64) -> Option<Vec<&Moved>> {
    if file == identity && seq == current {
        return Some(Vec::new());
    }
    chain
        .iter()
        .filter(|m| m.seq > seq && m.from == file)
        .find_map(|m| {
            let mut rest = path(chain, m.to, m.seq, identity, current)?;
            rest.insert(0, m);
            Some(rest)
        })
}

/// `cursor`, made on an earlier file of the log than the one it is now
/// (`identity`, generation `current`), moved along the compactions in
/// `chain`; `read_log(offset, len)` reads the log. Stale when no chain of
/// records leads there, when it lies before a compaction's `upto` or after
/// its `end`, or when the bytes before it are not the ones it was made on.
pub fn follow(
    cursor: &Cursor,
    chain: &[Moved],
    identity: u64,
    current: u64,
    mut read_log: impl FnMut(u64, u64) -> Option<Vec<u8>>,
) -> Result<Cursor, CursorError> {
    let stale = |reason| Err(CursorError::Stale { reason });
    let from = cursor.generation.unwrap_or(0);
    let Some(steps) = path(chain, cursor.identity, from, identity, current) else {
        return stale(
            "it was made on an earlier file of the log, and no compaction recorded where it \
             moved: a repair since, or more than 128 compactions",
        );
    };
    let mut pos = cursor.position;
    // The window the check covers, rebuilt as the bytes were moved: what
    // came before a compaction's `upto`, what is read from the log, and
    // the seal line a reader stopped after.
    let (mut window_from, _) = Cursor::check_range(pos.offset);
    let mut window = Vec::new();
    let mut sealed: Vec<u8> = Vec::new();
    for step in steps {
        if pos.offset < step.upto {
            return stale("it points into what a compaction folded into its snapshot");
        }
        if pos.offset > step.end {
            // After the compaction's seal line (a page stops there while
            // the compaction runs): where the kept bytes end.
            let seal = crate::lock::seal(step.id);
            let past = (pos.offset - step.end) as usize;
            let ends_a_line = past == 1 || past == seal.len();
            if past > seal.len() || !ends_a_line {
                return stale("it points past what a compaction kept (bytes appended during it)");
            }
            let cut = (window_from.max(step.end) - step.end) as usize;
            let mut part = seal[cut..past].to_vec();
            part.extend_from_slice(&sealed);
            sealed = part;
            let newlines = seal[..past].iter().filter(|&&b| b == b'\n').count() as u64;
            window_from = window_from.min(step.end);
            pos = Position {
                offset: step.end,
                lines: if pos.lines == UNCOUNTED {
                    UNCOUNTED
                } else {
                    pos.lines.saturating_sub(newlines)
                },
            };
        }
        if window_from < step.upto {
            let kept_from = step.upto - step.before.len() as u64;
            let Some(part) = step
                .before
                .get((window_from.saturating_sub(kept_from)) as usize..)
            else {
                return stale("the bytes before the cursor changed");
            };
            window.extend_from_slice(part);
            window_from = step.upto;
        }
        let shift = |offset: u64| offset - step.upto + step.at;
        window_from = shift(window_from);
        pos = Position {
            offset: shift(pos.offset),
            lines: if pos.lines == UNCOUNTED || pos.lines < step.upto_lines {
                UNCOUNTED
            } else {
                pos.lines - step.upto_lines + step.lines
            },
        };
    }
    let rest = read_log(window_from, pos.offset - window_from)
        .filter(|b| b.len() as u64 == pos.offset - window_from);
    let Some(rest) = rest else {
        return stale("the log is now shorter than the cursor's offset");
    };
    window.extend_from_slice(&rest);
    window.extend_from_slice(&sealed);
    if check_hash(&window) != cursor.check {
        return stale("the bytes before the cursor changed");
    }
    let (start, len) = Cursor::check_range(pos.offset);
    let Some(before) = read_log(start, len) else {
        return stale("the log is now shorter than the cursor's offset");
    };
    Ok(Cursor {
        identity,
        position: pos,
        check: check_hash(&before),
        prefix: None,
        generation: Some(current),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let m = Moved {
            seq: 3,
            from: 1,
            to: 0xabc,
            upto: 40,
            end: 90,
            at: 7,
            upto_lines: 4,
            lines: 1,
            before: (0..32).collect(),
            id: 0xfeed,
        };
        assert_eq!(Moved::decode(m.encode().trim_end()), Some(m));
        assert_eq!(Moved::decode("m1 1 2"), None);
        assert_eq!(Moved::decode("garbage"), None);
    }
}
