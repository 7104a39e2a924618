//! The bytes one append call writes: its records, each ended by `\n`, led by
//! a `\n` when the file ends in a torn line, so a new record always starts
//! on a line of its own. Knows where whole records end, so that a write
//! larger than the host permits at once is cut only between records.

#![forbid(unsafe_code)]

/// The bytes of one append call and where each record ends in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    bytes: Vec<u8>,
    /// Exclusive end of each record (its `\n` included), ascending.
    ends: Vec<usize>,
}

impl Frame {
    /// Frames `lines` (already encoded, without `\n`).
    pub fn new<'a>(lines: impl IntoIterator<Item = &'a str>) -> Frame {
        let mut frame = Frame::with_capacity(0, 0);
        for line in lines {
            frame.push(line);
        }
        frame
    }

    /// An empty frame with room for `bytes` bytes and `records` records.
    pub fn with_capacity(bytes: usize, records: usize) -> Frame {
        Frame {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(records),
        }
    }

    /// Adds one record (already encoded, without `\n`).
    pub fn push(&mut self, line: &str) {
        self.bytes.extend_from_slice(line.as_bytes());
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
    }

    /// Frames bytes that already are whole lines: no cut inside is
    /// preferred over another.
    pub fn raw(bytes: &[u8]) -> Frame {
        Frame {
            bytes: bytes.to_vec(),
            ends: Vec::new(),
        }
    }

    /// Puts a `\n` in front, to end the torn line the file ends in. That
    /// `\n` is a place to cut too: a record of exactly the host's permit
    /// stays one write after it.
    pub fn end_torn_line(&mut self) {
        self.bytes.insert(0, b'\n');
        for end in &mut self.ends {
            *end += 1;
        }
        self.ends.insert(0, 1);
    }

    /// Where each record starts (after a leading `\n`, if any).
    pub fn starts(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(0).chain(
            self.ends
                .iter()
                .copied()
                .filter(|&end| end < self.bytes.len()),
        )
    }

    /// Length of the longest record, its `\n` included (the whole frame
    /// for raw bytes).
    pub fn longest(&self) -> usize {
        let mut last = 0;
        let mut longest = 0;
        for &end in &self.ends {
            longest = longest.max(end - last);
            last = end;
        }
        longest.max(self.bytes.len() - last)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many records (lines) it holds.
    pub fn records(&self) -> usize {
        self.ends.len()
    }

    /// End of the next write that starts at `from` and may be at most
    /// `permit` bytes: after the last whole record that fits, or, when not
    /// even one record fits, `permit` bytes of it (that record is then
    /// written in pieces). Returns `from` only when `permit` is 0 or the
    /// frame is done.
    pub fn next_write_end(&self, from: usize, permit: usize) -> usize {
        let limit = from.saturating_add(permit).min(self.bytes.len());
        match self.ends.partition_point(|&end| end <= limit) {
            0 => limit,
            n if self.ends[n - 1] > from => self.ends[n - 1],
            _ => limit,
        }
    }
}

/// Whether an append must first end a torn last line: the file is not
/// empty and its last byte is not `\n`.
pub fn ends_in_torn_line(last_byte: Option<u8>) -> bool {
    matches!(last_byte, Some(b) if b != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_is_ended_by_a_newline() {
        let frame = Frame::new(["{}", "[1]"]);
        assert_eq!(frame.bytes(), b"{}\n[1]\n");
    }

    #[test]
    fn append_after_torn_tail_starts_a_new_line() {
        let mut frame = Frame::new(["{}"]);
        if ends_in_torn_line(Some(b'x')) {
            frame.end_torn_line();
        }
        assert_eq!(frame.bytes(), b"\n{}\n");
        assert!(!ends_in_torn_line(None));
        assert!(!ends_in_torn_line(Some(b'\n')));
    }

    #[test]
    fn starts_and_longest_record() {
        let mut frame = Frame::new(["{}", "[1,2]", "3"]);
        assert_eq!(frame.starts().collect::<Vec<_>>(), [0, 3, 9]);
        assert_eq!(frame.longest(), 6);
        frame.end_torn_line();
        assert_eq!(frame.starts().collect::<Vec<_>>(), [0, 1, 4, 10]);
        assert_eq!(frame.longest(), 6);
        let raw = Frame::raw(b"1\n22\n");
        assert_eq!(
            (raw.starts().collect::<Vec<_>>(), raw.longest()),
            (vec![0], 5)
        );
    }

    #[test]
    fn ending_a_torn_line_later_shifts_the_record_ends() {
        let mut frame = Frame::new(["{}", "[]"]);
        frame.end_torn_line();
        assert_eq!(frame.bytes(), b"\n{}\n[]\n");
        assert_eq!(frame.next_write_end(0, 4), 4);
    }

    #[test]
    fn writes_are_cut_only_between_records_when_they_fit() {
        // Records end at 3, 6 and 12.
        let frame = Frame::new(["{}", "[]", "\"abc\""]);
        assert_eq!(frame.next_write_end(0, 100), 12);
        assert_eq!(frame.next_write_end(0, 7), 6);
        assert_eq!(frame.next_write_end(0, 3), 3);
        assert_eq!(frame.next_write_end(3, 4), 6);
        assert_eq!(frame.next_write_end(6, 5), 11);
        assert_eq!(frame.next_write_end(6, 6), 12);
    }

    #[test]
    fn a_record_larger_than_the_permit_is_written_in_pieces() {
        let frame = Frame::new(["\"abcdefgh\""]);
        assert_eq!(frame.next_write_end(0, 4), 4);
        assert_eq!(frame.next_write_end(4, 4), 8);
        assert_eq!(frame.next_write_end(8, 4), 11);
        assert_eq!(frame.next_write_end(11, 4), 11);
        assert_eq!(frame.next_write_end(0, 0), 0);
    }
}
