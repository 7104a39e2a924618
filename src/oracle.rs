//! The whole-file reader: bytes of a log file held in memory -> entries
//! with line numbers, by the recovery rules:
//! a UTF-8 BOM at the start is ignored, a `\r` before `\n` is dropped, blank
//! lines give no entry, every other line gives a record or a [`Damage`], and
//! a last line without `\n` is a record if valid, else a torn write.
//!
//! The component reads a page at a time ([`crate::pager`]); this is the
//! rules in their simplest form, the oracle the tests compare the pager
//! (and the component) with. [`judge`] is the one place the rules are
//! applied to a line; both readers use it.

#![forbid(unsafe_code)]

pub use crate::format::{BOM, Entry, judge};

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
