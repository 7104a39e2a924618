//! Cursors of paged replay: where to continue, bound to the file they were
//! read from. A host keeps them as opaque strings; a cursor that no longer
//! fits the log (compacted, repaired, truncated, another log) is refused,
//! never silently resumed somewhere else.
//!
//! Two checks, one cheap and one whole:
//! - every page checks the file's identity and a hash of the 32 bytes
//!   before the cursor;
//! - a compaction, which replaces everything before its cursor, checks a
//!   hash of every byte before it ([`PrefixHash`], carried in the cursor
//!   and kept up page by page at no extra read). A file system may give a
//!   later log the identity of one a compaction replaced (inode reuse), and
//!   logs of similar records often have the same 32 bytes before a line:
//!   only the whole check makes a stale cursor unable to replace records
//!   it never saw.

#![forbid(unsafe_code)]

use std::fmt;

use crate::pager::Position;

/// Cursors that name the compaction generation of their file.
const PREFIX_V3: &str = "pc3";
const PREFIX: &str = "pc2";
/// Cursors of 0.2 and earlier: no hash of the bytes before them.
const PREFIX_V1: &str = "pc1";
/// Why a compaction refuses a cursor of `last` (on either storage).
pub const UNBOUND: &str = "it was made by `last` (or by pathway-memory 0.2 or earlier), which \
                           does not bind a cursor to every record before it, and a compaction \
                           needs that: compact up to a cursor of replay-page";

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
    /// [`PrefixHash::words`] of every byte before the offset; `None` in a
    /// cursor of 0.2 or earlier, which a compaction refuses.
    pub prefix: Option<u64>,
    /// Which file of the log it was made on, as `<log>.moved` counts them
    /// (the sequence number of the compaction that made the file; 0: none
    /// did): a file system may give a later file the identity of an
    /// earlier one. `None` in a cursor of 0.3 before generations.
    pub generation: Option<u64>,
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
                "the cursor no longer fits the log: {reason}; replay again from the beginning"
            ),
        }
    }
}

impl Cursor {
    /// Text form: `pc2-<identity>-<offset>-<lines>-<check>-<prefix>`,
    /// numbers in hex (`pc1-` and no prefix for a cursor without one).
    pub fn encode(&self) -> String {
        let common = format!(
            "{:x}-{:x}-{:x}-{:x}",
            self.identity, self.position.offset, self.position.lines, self.check
        );
        match (self.generation, self.prefix) {
            (Some(generation), Some(prefix)) => {
                format!("{PREFIX_V3}-{common}-{prefix:x}-{generation:x}")
            }
            (Some(generation), None) => format!("{PREFIX_V3}-{common}-x-{generation:x}"),
            (None, Some(prefix)) => format!("{PREFIX}-{common}-{prefix:x}"),
            (None, None) => format!("{PREFIX_V1}-{common}"),
        }
    }

    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        let invalid = || CursorError::Invalid {
            cursor: text.chars().take(80).collect(),
        };
        let mut parts = text.split('-');
        let version = parts.next();
        let count = match version {
            Some(PREFIX_V3) | Some(PREFIX) => 5,
            Some(PREFIX_V1) => 4,
            _ => return Err(invalid()),
        };
        let mut numbers = [0u64; 5];
        let mut no_prefix = count == 4;
        for (i, n) in numbers[..count].iter_mut().enumerate() {
            let part = parts.next().ok_or_else(invalid)?;
            if i == 4 && version == Some(PREFIX_V3) && part == "x" {
                no_prefix = true;
                continue;
            }
            *n = u64::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        let generation = match version {
            Some(PREFIX_V3) => Some(
                parts
                    .next()
                    .and_then(|p| u64::from_str_radix(p, 16).ok())
                    .ok_or_else(invalid)?,
            ),
            _ => None,
        };
        if parts.next().is_some() {
            return Err(invalid());
        }
        let [identity, offset, lines, check, prefix] = numbers;
        // A cursor `last` made does not count the lines before it.
        if lines != crate::tail::UNCOUNTED && offset < lines {
            return Err(invalid());
        }
        Ok(Cursor {
            identity,
            position: Position { offset, lines },
            check,
            prefix: (!no_prefix).then_some(prefix),
            generation,
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

    /// The byte range whose hash a cursor at `offset` checks. It always
    /// holds the bytes after the last whole word before `offset`, which
    /// [`PrefixHash`] leaves out.
    pub fn check_range(offset: u64) -> (u64, u64) {
        let start = offset.saturating_sub(CHECK_LEN);
        (start, offset - start)
    }

    /// Checks the hash of every byte before the cursor, given that hash as
    /// the file is now (`None`: not computed, the cursor is at 0).
    pub fn verify_prefix(&self, now: Option<u64>) -> Result<(), CursorError> {
        if self.position.offset == 0 {
            return Ok(());
        }
        match (self.prefix, now) {
            (None, _) => Err(CursorError::Stale { reason: UNBOUND }),
            (Some(made), Some(now)) if made == now => Ok(()),
            _ => Err(CursorError::Stale {
                reason: "the bytes before the cursor are not the ones it was made on",
            }),
        }
    }
}

/// A running hash of a log's bytes from its start, a word (8 bytes, at an
/// offset that is a multiple of 8) at a time: cheap enough to keep up while
/// paging. [`PrefixHash::words`] covers the whole words hashed so far; the
/// up to 7 bytes after them wait in a carry, and a cursor leaves them to its
/// 32-byte check.
#[derive(Debug, Clone, Copy)]
pub struct PrefixHash {
    words: u64,
    carry: [u8; 8],
    carry_len: usize,
}

/// Equal when they hashed the same bytes: the carry past its length is
/// left over.
impl PartialEq for PrefixHash {
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words && self.carry[..self.carry_len] == other.carry[..other.carry_len]
    }
}

impl Eq for PrefixHash {}

impl Default for PrefixHash {
    fn default() -> Self {
        PrefixHash {
            words: 0x243F_6A88_85A3_08D3,
            carry: [0; 8],
            carry_len: 0,
        }
    }
}

impl PrefixHash {
    /// Goes on from a cursor at `offset`: `words`, its hash of the whole
    /// words before `offset`, and `before`, bytes that end at `offset` and
    /// hold at least the `offset % 8` after those words.
    pub fn resume(words: u64, offset: u64, before: &[u8]) -> PrefixHash {
        let carry_len = (offset % 8) as usize;
        let mut hash = PrefixHash {
            words,
            carry: [0; 8],
            carry_len,
        };
        hash.carry[..carry_len].copy_from_slice(&before[before.len() - carry_len..]);
        hash
    }

    /// Adds the bytes that follow what was hashed so far.
    pub fn update(&mut self, mut bytes: &[u8]) {
        if self.carry_len > 0 {
            let take = (8 - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            bytes = &bytes[take..];
            if self.carry_len < 8 {
                return;
            }
            self.words = mix(self.words, u64::from_le_bytes(self.carry));
            self.carry_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.words = mix(
                self.words,
                u64::from_le_bytes(word.try_into().unwrap_or([0; 8])),
            );
        }
        let rest = words.remainder();
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    /// The hash of the whole words so far.
    pub fn words(&self) -> u64 {
        self.words
    }
}

/// One word into the hash: a multiply by an odd constant and a shift, each
/// a bijection, so that any change of a word changes the result.
fn mix(state: u64, word: u64) -> u64 {
    let x = (state ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
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
            prefix: Some(42),
            generation: None,
        }
    }

    #[test]
    fn cursor_round_trips_through_its_text() {
        let c = cursor(1234, b"abc");
        assert!(c.encode().starts_with("pc2-"));
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        let old = Cursor { prefix: None, ..c };
        assert!(old.encode().starts_with("pc1-"));
        assert_eq!(Cursor::decode(&old.encode()), Ok(old));
        for prefix in [Some(42), None] {
            let new = Cursor {
                prefix,
                generation: Some(9),
                ..c
            };
            assert!(new.encode().starts_with("pc3-"));
            assert_eq!(Cursor::decode(&new.encode()), Ok(new));
        }
        assert!(Cursor::decode("pc3-1-2-0-4-x").is_err());
        assert!(Cursor::decode("pc3-1-2-0-4-x-y").is_err());
    }

    #[test]
    fn a_compaction_needs_the_hash_of_every_byte_before_the_cursor() {
        let c = cursor(1234, b"abc");
        assert_eq!(c.verify_prefix(Some(42)), Ok(()));
        assert!(matches!(
            c.verify_prefix(Some(43)),
            Err(CursorError::Stale { .. })
        ));
        let old = Cursor { prefix: None, ..c };
        assert!(matches!(
            old.verify_prefix(Some(42)),
            Err(CursorError::Stale { .. })
        ));
        assert_eq!(Cursor::default().verify_prefix(None), Ok(()));
    }

    /// The hash of `bytes[..n]`, word by word, as the reader keeps it.
    fn hash_of(bytes: &[u8]) -> PrefixHash {
        let mut h = PrefixHash::default();
        h.update(bytes);
        h
    }

    #[test]
    fn the_prefix_hash_is_the_same_however_the_bytes_are_split() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = hash_of(&bytes);
        for split in [0, 1, 7, 8, 9, 63, 64, 65, 199, 200] {
            let mut h = hash_of(&bytes[..split]);
            h.update(&bytes[split..]);
            assert_eq!(h, whole, "split at {split}");
            // Resumed from a cursor's words and the bytes before it.
            let words = hash_of(&bytes[..split]).words();
            let mut r = PrefixHash::resume(words, split as u64, &bytes[..split]);
            r.update(&bytes[split..]);
            assert_eq!(r.words(), whole.words(), "resumed at {split}");
        }
    }

    #[test]
    fn the_prefix_hash_sees_every_byte_and_its_place() {
        let bytes = b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n".to_vec();
        let base = hash_of(&bytes).words();
        for i in 0..bytes.len() / 8 * 8 {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            assert_ne!(hash_of(&changed).words(), base, "byte {i}");
        }
        // The same words in another order.
        let swapped = [&bytes[8..16], &bytes[..8], &bytes[16..]].concat();
        assert_ne!(hash_of(&swapped).words(), base);
    }

    #[test]
    fn text_that_is_not_a_cursor_is_invalid() {
        for bad in [
            "",
            "pc1",
            "pc1-1-2-3",
            "pc1-1-2-3-4-5",
            "pc3-1-2-1-4",
            "pc2-1-2-1-4",
            "pc2-1-2-1-4-5-6",
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
