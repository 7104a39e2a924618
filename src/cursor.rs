//! Cursors of paged replay: where to continue, bound to the file they were
//! read from. A host keeps them as opaque strings; a cursor that no longer
//! fits the log (compacted, repaired, truncated, another log) is refused,
//! never silently resumed somewhere else.

#![forbid(unsafe_code)]

use std::fmt;

use crate::pager::Position;

const PREFIX: &str = "pc1";
/// How many bytes before the cursor's offset its check covers.
pub const CHECK_LEN: u64 = 32;

/// Where paged replay continues, and how to tell that the file is still
/// the one it was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// The file's identity as the host reports it (`metadata-hash`); 0 when
    /// the log did not exist yet.
    pub identity: u64,
    pub position: Position,
    /// [`check_hash`] of the `CHECK_LEN` bytes before the offset.
    pub check: u64,
}

/// Why a cursor cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorError {
    /// Not a cursor this component made.
    Invalid { cursor: String },
    /// Made on a file that is no longer the log, or on bytes that changed.
    Stale { reason: &'static str },
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CursorError::Invalid { cursor } => write!(
                f,
                "{cursor:?} is not a cursor of this log; pass a cursor returned by replay-page, \
                 or none to start at the beginning"
            ),
            CursorError::Stale { reason } => write!(
                f,
                "the cursor no longer fits the log: {reason} (compacted or repaired since?); \
                 replay again from the beginning"
            ),
        }
    }
}

impl Cursor {
    /// Text form: `pc1-<identity>-<offset>-<lines>-<check>`, numbers in hex.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}-{:x}-{:x}-{:x}-{:x}",
            self.identity, self.position.offset, self.position.lines, self.check
        )
    }

    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let invalid = || CursorError::Invalid {
            cursor: text.chars().take(80).collect(),
        };
        let mut parts = text.split('-');
        if parts.next() != Some(PREFIX) {
            return Err(invalid());
        }
        let mut numbers = [0u64; 4];
        for n in &mut numbers {
            *n = parts
                .next()
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(invalid)?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        let [identity, offset, lines, check] = numbers;
        if offset < lines {
            return Err(invalid());
        }
        Ok(Cursor {
            identity,
            position: Position { offset, lines },
            check,
        })
    }

    /// Checks the cursor against the log as it is now: its identity, size
    /// and the bytes just before the offset (`before`, read by the caller
    /// from `check_range`). A cursor at offset 0 fits any log.
    pub fn verify(&self, identity: u64, size: u64, before: &[u8]) -> Result<(), CursorError> {
        if self.position.offset == 0 {
            return Ok(());
        }
        if identity != self.identity {
            return Err(CursorError::Stale {
                reason: "it was made on another file",
            });
        }
        if self.position.offset > size {
            return Err(CursorError::Stale {
                reason: "the log is now shorter than the cursor's offset",
            });
        }
        if check_hash(before) != self.check {
            return Err(CursorError::Stale {
                reason: "the bytes before the cursor changed",
            });
        }
        Ok(())
    }

    /// The byte range whose hash a cursor at `offset` checks.
    pub fn check_range(offset: u64) -> (u64, u64) {
        let start = offset.saturating_sub(CHECK_LEN);
        (start, offset - start)
    }
}

/// FNV-1a, 64 bit: a cheap fingerprint, not a security measure.
pub fn check_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(offset: u64, before: &[u8]) -> Cursor {
        Cursor {
            identity: 7,
            position: Position { offset, lines: 2 },
            check: check_hash(before),
        }
    }

    #[test]
    fn cursor_round_trips_through_its_text() {
        let c = cursor(1234, b"abc");
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn text_that_is_not_a_cursor_is_invalid() {
        for bad in [
            "",
            "pc1",
            "pc1-1-2-3",
            "pc1-1-2-3-4-5",
            "pc2-1-2-1-4",
            "pc1-x-2-1-4",
            "pc1-1-1-2-0",
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(CursorError::Invalid { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cursor_on_another_file_or_changed_bytes_is_stale() {
        let c = cursor(10, b"1\n2\n");
        assert_eq!(c.verify(7, 10, b"1\n2\n"), Ok(()));
        assert!(matches!(
            c.verify(8, 10, b"1\n2\n"),
            Err(CursorError::Stale { .. })
        ));
        assert!(matches!(
            c.verify(7, 9, b"1\n2\n"),
            Err(CursorError::Stale { .. })
        ));
        assert!(matches!(
            c.verify(7, 10, b"1\n3\n"),
            Err(CursorError::Stale { .. })
        ));
        assert_eq!(Cursor::default().verify(99, 0, b""), Ok(()));
    }

    #[test]
    fn check_range_covers_the_bytes_before_the_offset() {
        assert_eq!(Cursor::check_range(10), (0, 10));
        assert_eq!(Cursor::check_range(100), (68, 32));
    }
}
