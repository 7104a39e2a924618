//! The last records of a log, read backwards from its end a chunk at a
//! time: the cost grows with what is returned, never with the log's size,
//! and memory stays bounded by one chunk plus one line (a line over the
//! limit is skipped a chunk at a time, never held). The rules are
//! [`crate::pager`]'s (both use [`judge`]): blank lines and seals give no
//! entry, a damaged line is reported, an unterminated last line is judged
//! as it stands (a record, or a torn write).
//!
//! Reading backwards does not count the lines before: entries carry
//! [`UNCOUNTED`] as their line number (the WIT gives 0, and the message
//! names the byte offset, which is exact).

#![forbid(unsafe_code)]

use crate::error::{Damage, LineError};
use crate::format::{BOM, is_blank, judge};
use crate::pager::{CHUNK, OwnedEntry, ReadAt};

/// The line number of an entry read without counting the lines before it
/// (by [`read_last`], or paging from a cursor [`read_last`] made).
pub const UNCOUNTED: u64 = u64::MAX;

/// What [`read_last`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Last {
    /// Up to `count` entries, oldest first, the unterminated last line
    /// included (as a whole replay returns it).
    pub entries: Vec<OwnedEntry>,
    /// Where the unterminated last line starts (the file's size when every
    /// line ends in `\n`): where a reader continues to get what is
    /// appended later.
    pub end: u64,
}

/// The last `count` entries of the `size` bytes of `src`.
pub fn read_last<R: ReadAt>(
    src: &mut R,
    size: u64,
    count: usize,
    max_line: u64,
) -> Result<Last, R::Error> {
    let floor = if size >= BOM.len() as u64 && src.read_at(0, BOM.len() as u64)? == BOM {
        BOM.len() as u64
    } else {
        0
    };
    let mut back = Backwards {
        src,
        floor,
        start: size,
        buf: Vec::new(),
        max_line,
    };
    // The bytes after the last `\n`: the tail, not consumed.
    let mut newest_first = Vec::new();
    let mut end = size;
    if size > floor {
        let line = back.line(false)?;
        end = line.offset;
        if line.size > 0 && count > 0 {
            newest_first.extend(line.entry(max_line));
        }
    }
    while newest_first.len() < count && back.start > back.floor {
        // `start` is at a `\n`: the end of the line before it.
        newest_first.extend(back.line(true)?.entry(max_line));
    }
    newest_first.reverse();
    Ok(Last {
        entries: newest_first,
        end,
    })
}

/// Reads lines from the end towards the start.
struct Backwards<'a, R> {
    src: &'a mut R,
    /// Where the first line starts (after a BOM).
    floor: u64,
    /// Everything from here on was consumed; `buf` holds the bytes just
    /// before it.
    start: u64,
    buf: Vec<u8>,
    max_line: u64,
}

/// One line read backwards.
struct Line {
    offset: u64,
    /// Bytes without the `\n`.
    size: u64,
    /// Its bytes, when no longer than the limit allows to judge.
    bytes: Option<Vec<u8>>,
    last: Option<u8>,
    blank: bool,
    ended: bool,
}

impl Line {
    fn entry(self, max_line: u64) -> Option<OwnedEntry> {
        match &self.bytes {
            Some(bytes) => {
                judge(bytes, self.offset, UNCOUNTED, self.ended, max_line).map(OwnedEntry::from)
            }
            // Whitespace only, however long: no entry, as in `judge`.
            None if self.blank => None,
            None => Some(OwnedEntry {
                line: UNCOUNTED,
                offset: self.offset,
                length: self.size,
                record: Err(Damage {
                    line: UNCOUNTED,
                    offset: self.offset,
                    torn: !self.ended,
                    error: LineError::TooLarge {
                        // Measured as `judge` does: without a final `\r`.
                        size: self.size - u64::from(self.last == Some(b'\r')),
                        limit: max_line,
                    },
                }),
            }),
        }
    }
}

impl<R: ReadAt> Backwards<'_, R> {
    /// Reads `[from, self.start - buf.len())` and puts it in front of `buf`.
    fn prepend(&mut self, len: u64) -> Result<(), R::Error> {
        let to = self.start - self.buf.len() as u64;
        let from = to.saturating_sub(len).max(self.floor);
        let mut chunk = crate::pager::read_range(self.src, from, to - from)?;
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        Ok(())
    }

    /// The line that ends at `start` (at its `\n` when `ended`, else at the
    /// end of the file), which is then consumed with the `\n` before it.
    fn line(&mut self, ended: bool) -> Result<Line, R::Error> {
        if ended {
            // Drop the `\n` that ends this line.
            if self.buf.is_empty() {
                self.prepend(CHUNK)?;
            }
            self.buf.pop();
            self.start -= 1;
        }
        let end = self.start;
        loop {
            if let Some(i) = memchr::memrchr(b'\n', &self.buf) {
                let bytes = self.buf.split_off(i + 1);
                self.start = end - bytes.len() as u64;
                return Ok(self.whole(bytes, end, ended));
            }
            let buf_start = self.start - self.buf.len() as u64;
            if buf_start == self.floor {
                let bytes = std::mem::take(&mut self.buf);
                self.start = self.floor;
                return Ok(self.whole(bytes, end, ended));
            }
            if self.buf.len() as u64 > self.max_line + 1 {
                return self.skip(end, ended);
            }
            self.prepend(CHUNK)?;
        }
    }

    fn whole(&self, bytes: Vec<u8>, end: u64, ended: bool) -> Line {
        Line {
            offset: end - bytes.len() as u64,
            size: bytes.len() as u64,
            last: bytes.last().copied(),
            blank: is_blank(&bytes),
            bytes: Some(bytes).filter(|b| b.len() as u64 <= self.max_line + 1),
            ended,
        }
    }

    /// The rest of a line too long to hold: read back to its start a chunk
    /// at a time, keeping only what the entry needs.
    fn skip(&mut self, end: u64, ended: bool) -> Result<Line, R::Error> {
        let last = self.buf.last().copied();
        let mut blank = is_blank(&self.buf);
        self.start -= self.buf.len() as u64;
        self.buf.clear();
        loop {
            if self.start == self.floor {
                break;
            }
            self.prepend(CHUNK)?;
            if let Some(i) = memchr::memrchr(b'\n', &self.buf) {
                blank = blank && is_blank(&self.buf[i + 1..]);
                self.start -= (self.buf.len() - i - 1) as u64;
                self.buf.truncate(i + 1);
                break;
            }
            blank = blank && is_blank(&self.buf);
            self.start -= self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(Line {
            offset: self.start,
            size: end - self.start,
            bytes: None,
            last,
            blank,
            ended,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::entries;

    /// The last `count` entries a whole replay gives, line numbers dropped.
    fn expected(bytes: &[u8], count: usize, max_line: u64) -> Vec<OwnedEntry> {
        let all: Vec<OwnedEntry> = entries(bytes, max_line).map(OwnedEntry::from).collect();
        all[all.len().saturating_sub(count)..]
            .iter()
            .cloned()
            .map(uncounted)
            .collect()
    }

    fn uncounted(mut entry: OwnedEntry) -> OwnedEntry {
        entry.line = UNCOUNTED;
        if let Err(damage) = &mut entry.record {
            damage.line = UNCOUNTED;
        }
        entry
    }

    fn last(bytes: &[u8], count: usize, max_line: u64) -> Last {
        read_last(&mut &bytes[..], bytes.len() as u64, count, max_line).unwrap()
    }

    #[test]
    fn the_last_entries_are_those_a_whole_replay_ends_with() {
        let mut file =
            b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \nnot json\n[1,2,3,4,5,6,7,8]\n\"\xff\"\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize));
        file.extend(b"\n");
        file.extend(std::iter::repeat_n(b' ', 2 * CHUNK as usize));
        file.extend(b"\n7\n{\"torn\":");
        for count in 0..12 {
            for max_line in [12, 1000, CHUNK * 4] {
                assert_eq!(
                    last(&file, count, max_line).entries,
                    expected(&file, count, max_line),
                    "count {count}, max_line {max_line}"
                );
            }
        }
    }

    #[test]
    fn the_end_is_before_an_unterminated_line() {
        assert_eq!(last(b"1\n2\n{\"a\":", 1, 100).end, 4);
        assert_eq!(last(b"1\n2\n", 1, 100).end, 4);
        assert_eq!(last(b"", 5, 100).end, 0);
        assert_eq!(
            last(b"\xEF\xBB\xBF", 5, 100),
            Last {
                entries: vec![],
                end: 3
            }
        );
        // A tail too long to hold still ends where it starts.
        let mut file = b"1\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize));
        let found = last(&file, 2, 10);
        assert_eq!(found.end, 2);
        assert_eq!(found.entries, expected(&file, 2, 10));
        assert!(matches!(&found.entries[1].record, Err(d) if d.torn));
    }

    #[test]
    fn a_line_ending_in_cr_at_the_limit_is_a_record() {
        let file = b"{\"a\":12}\r\n{\"b\":345}\r\n";
        for max_line in [8, 9, 10] {
            assert_eq!(
                last(file, 2, max_line).entries,
                expected(file, 2, max_line),
                "max_line {max_line}"
            );
        }
    }

    #[test]
    fn reads_stay_near_the_end_of_a_large_log() {
        /// Counts the bytes read.
        struct Counting<'a>(&'a [u8], u64);
        impl ReadAt for Counting<'_> {
            type Error = std::convert::Infallible;
            fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, Self::Error> {
                let mut all: &[u8] = self.0;
                let bytes = all.read_at(offset, len)?;
                self.1 += bytes.len() as u64;
                Ok(bytes)
            }
        }
        let line = b"{\"event\":\"something happened\",\"n\":12345}\n";
        let file: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 200_000)
            .collect();
        let mut src = Counting(&file, 0);
        let found = read_last(&mut src, file.len() as u64, 10, 1 << 20).unwrap();
        assert_eq!(found.entries.len(), 10);
        assert!(src.1 <= CHUNK + 3, "read {} bytes of {}", src.1, file.len());
    }
}
