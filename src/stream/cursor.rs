//! Cursors of a log kept in a stream: where the next page
//! starts, bound to the compaction (commit) it was read under, so that a
//! cursor into purged history is refused as stale, never resumed somewhere
//! else. The text is opaque to hosts, like the file log's.

use crate::cursor::CursorError;

const PREFIX: &str = "nc1";

/// Which part of the log a cursor is in: the latest snapshot, or the
/// events appended after the point it folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Snapshot,
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCursor {
    /// Stream sequence of the commit message it was read under; 0: none.
    pub commit: u64,
    pub phase: Phase,
    /// The next stream sequence to read (on the phase's subject).
    pub seq: u64,
    /// Snapshot messages read so far (snapshot phase only).
    pub index: u64,
    /// Entries (messages) before the cursor, and their bytes as lines of
    /// the file log would count them (payload plus `\n`): so that damaged
    /// messages are named by the same line and offset in both providers.
    pub lines: u64,
    pub offset: u64,
}

impl StreamCursor {
    /// Text form: `nc1-<commit>-<s|e>-<seq>-<index>-<lines>-<offset>`, hex.
    pub fn encode(&self) -> String {
        let phase = match self.phase {
            Phase::Snapshot => 's',
            Phase::Events => 'e',
        };
        format!(
            "{PREFIX}-{:x}-{phase}-{:x}-{:x}-{:x}-{:x}",
            self.commit, self.seq, self.index, self.lines, self.offset
        )
    }

    pub fn decode(text: &str) -> Result<StreamCursor, CursorError> {
        let invalid = || CursorError::Invalid {
            cursor: text.chars().take(80).collect(),
        };
        let mut parts = text.split('-');
        if parts.next() != Some(PREFIX) {
            return Err(invalid());
        }
        let mut hex = || {
            parts
                .next()
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(invalid)
        };
        let commit = hex()?;
        let phase = match text.split('-').nth(2) {
            Some("s") => Phase::Snapshot,
            Some("e") => Phase::Events,
            _ => return Err(invalid()),
        };
        let mut parts = text.split('-').skip(3);
        let mut hex = || {
            parts
                .next()
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(invalid)
        };
        let (seq, index, lines, offset) = (hex()?, hex()?, hex()?, hex()?);
        if text.split('-').count() != 7 || offset < lines {
            return Err(invalid());
        }
        Ok(StreamCursor {
            commit,
            phase,
            seq,
            index,
            lines,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_it_was_written() {
        let cursor = StreamCursor {
            commit: 7,
            phase: Phase::Snapshot,
            seq: 0x1f,
            index: 2,
            lines: 3,
            offset: 40,
        };
        assert_eq!(cursor.encode(), "nc1-7-s-1f-2-3-28");
        assert_eq!(StreamCursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn a_file_log_cursor_or_garbage_is_not_a_stream_cursor() {
        for text in [
            "pc1-0-0-0-0",
            "pc2-0-0-0-0-0",
            "nc1-0-x-1-0-0-0",
            "nc1-0-e-1-0-0",
            "",
            "nc1-0-e-1-0-5-1",
        ] {
            assert!(
                matches!(StreamCursor::decode(text), Err(CursorError::Invalid { .. })),
                "{text:?}"
            );
        }
    }
}
