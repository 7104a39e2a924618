//! Bytes of a log file -> entries with line numbers, by the recovery rules:
//! a UTF-8 BOM at the start is ignored, a `\r` before `\n` is dropped, blank
//! lines give no entry, every other line gives a record or a [`Damage`], and
//! a last line without `\n` is a record if valid, else a torn write.

#![forbid(unsafe_code)]

use crate::error::Damage;
use crate::format::{is_blank, parse_line};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One non-blank line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line number in the file.
    pub line: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    pub record: Result<&'a str, Damage>,
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
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if is_blank(line) {
                continue;
            }
            let record = parse_line(line, self.max_line).map_err(|error| Damage {
                line: self.line,
                offset: start as u64,
                torn: !ended,
                error,
            });
            return Some(Entry {
                line: self.line,
                offset: start as u64,
                record,
            });
        }
        None
    }
}
