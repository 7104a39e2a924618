//! Bytes of a log file -> entries with line numbers, by the recovery rules:
//! a UTF-8 BOM at the start is ignored, a `\r` before `\n` is dropped, blank
//! lines give no entry, every other line gives a record or a [`Damage`], and
//! a last line without `\n` is a record if valid, else a torn write.
//!
//! [`judge`] is the one place these rules are applied to a line; both the
//! whole-file iterator here and the paged reader use it.

#![forbid(unsafe_code)]

use crate::error::Damage;
use crate::format::{is_blank, parse_line};

/// A UTF-8 byte order mark, ignored at the start of the file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One non-blank line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line number in the file.
    pub line: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// Bytes of the line, without its `\n`.
    pub length: u64,
    pub record: Result<&'a str, Damage>,
}

/// Judges one raw line (without its `\n`) that starts at `offset` and is
/// line number `line`; `ended` says whether a `\n` followed it. `None` for
/// a blank line.
pub fn judge(raw: &[u8], offset: u64, line: u64, ended: bool, max_line: u64) -> Option<Entry<'_>> {
    let text = raw.strip_suffix(b"\r").unwrap_or(raw);
    if is_blank(text) {
        return None;
    }
    let record = parse_line(text, max_line).map_err(|error| Damage {
        line,
        offset,
        torn: !ended,
        error,
    });
    Some(Entry {
        line,
        offset,
        length: raw.len() as u64,
        record,
    })
}

/// Iterates over the entries of a whole log file held in memory.
pub fn entries(bytes: &[u8], max_line: u64) -> Entries<'_> {
    let start = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    Entries {
        bytes,
        pos: start,
        line: 0,
        max_line,
    }
}

/// Iterator returned by [`entries`].
pub struct Entries<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    max_line: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let rest = &self.bytes[start..];
            let (raw, ended) = match memchr::memchr(b'\n', rest) {
                Some(end) => (&rest[..end], true),
                None => (rest, false),
            };
            self.pos = start + raw.len() + usize::from(ended);
            self.line += 1;
            if let Some(entry) = judge(raw, start as u64, self.line, ended, self.max_line) {
                return Some(entry);
            }
        }
        None
    }
}
