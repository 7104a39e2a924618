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
    /// Frames `lines` (already encoded, without `\n`). `end_torn_line`:
    /// the file's last byte is not `\n`, so the frame starts by ending it.
    pub fn new<'a>(lines: impl IntoIterator<Item = &'a str>, end_torn_line: bool) -> Frame {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        if end_torn_line {
            bytes.push(b'\n');
        }
        for line in lines {
            bytes.reserve(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            ends.push(bytes.len());
        }
        Frame { bytes, ends }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
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
        let frame = Frame::new(["{}", "[1]"], false);
        assert_eq!(frame.bytes(), b"{}\n[1]\n");
    }

    #[test]
    fn append_after_torn_tail_starts_a_new_line() {
        let frame = Frame::new(["{}"], ends_in_torn_line(Some(b'x')));
        assert_eq!(frame.bytes(), b"\n{}\n");
        assert!(!ends_in_torn_line(None));
        assert!(!ends_in_torn_line(Some(b'\n')));
    }

    #[test]
    fn writes_are_cut_only_between_records_when_they_fit() {
        // Records end at 3, 6 and 12.
        let frame = Frame::new(["{}", "[]", "\"abc\""], false);
        assert_eq!(frame.next_write_end(0, 100), 12);
        assert_eq!(frame.next_write_end(0, 7), 6);
        assert_eq!(frame.next_write_end(0, 3), 3);
        assert_eq!(frame.next_write_end(3, 4), 6);
        assert_eq!(frame.next_write_end(6, 5), 11);
        assert_eq!(frame.next_write_end(6, 6), 12);
    }

    #[test]
    fn a_record_larger_than_the_permit_is_written_in_pieces() {
        let frame = Frame::new(["\"abcdefgh\""], false);
        assert_eq!(frame.next_write_end(0, 4), 4);
        assert_eq!(frame.next_write_end(4, 4), 8);
        assert_eq!(frame.next_write_end(8, 4), 11);
        assert_eq!(frame.next_write_end(11, 4), 11);
        assert_eq!(frame.next_write_end(0, 0), 0);
    }
}
