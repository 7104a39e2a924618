//! Paged replay: entries from a position in the log, reading a chunk at a
//! time, so memory stays bounded by the page size and the line limit
//! whatever the log's size. The rules are the same as [`crate::oracle`]'s
//! (both use [`judge`]); the one addition is the unterminated last line,
//! which a page reports as its `tail` without moving past it, since another
//! appender may still end it.

#![forbid(unsafe_code)]

use std::convert::Infallible;

use crate::cursor::PrefixHash;
use crate::error::{Damage, LineError};
use crate::format::is_blank;
use crate::format::{BOM, Entry, judge, seal_line_id};

/// Bytes asked for per read (wasmtime returns at most 64 KiB a call).
pub const CHUNK: u64 = 64 * 1024;

/// Something that reads bytes at an offset: the log file in the component,
/// a byte slice in tests.
pub trait ReadAt {
    type Error;
    /// Up to `len` bytes at `offset`; empty at the end of the file.
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, Self::Error>;
}

impl ReadAt for &[u8] {
    type Error = Infallible;
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, Infallible> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let end = start
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(self.len());
        Ok(self[start..end].to_vec())
    }
}

/// Exactly `len` bytes at `offset`, fewer only at the end of the file.
pub fn read_range<R: ReadAt>(src: &mut R, offset: u64, len: u64) -> Result<Vec<u8>, R::Error> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (bytes.len() as u64) < len {
        let chunk = src.read_at(offset + bytes.len() as u64, len - bytes.len() as u64)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Where the next line starts and how many lines lie before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub offset: u64,
    pub lines: u64,
}

/// An entry that owns its text, as a page returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    pub line: u64,
    pub offset: u64,
    /// Bytes of the line, without its `\n`.
    pub length: u64,
    pub record: Result<String, Damage>,
}

impl From<Entry<'_>> for OwnedEntry {
    fn from(entry: Entry<'_>) -> OwnedEntry {
        OwnedEntry {
            line: entry.line,
            offset: entry.offset,
            length: entry.length,
            record: entry.record.map(str::to_owned),
        }
    }
}

/// Entries from one position on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Entries of complete lines, in file order.
    pub entries: Vec<OwnedEntry>,
    /// The last line when it has no `\n` yet: judged as it stands (a record,
    /// or a torn write), but not consumed: `next` stays before it.
    pub tail: Option<OwnedEntry>,
    /// Where to continue.
    pub next: Position,
    /// Nothing but (at most) the tail lies after `next`.
    pub at_end: bool,
    /// Where each seal line the page read past ends, with its id (see
    /// [`crate::lock`]): a reader stops after the seal of a compaction that
    /// runs.
    pub seals: Vec<(Position, u64)>,
}

/// Reads entries from `from` until at least `max_bytes` of the file were
/// consumed or the file ends. A page holds at least one line when one is
/// there, so every call makes progress. Lines over `max_line` are skipped
/// chunk by chunk, never held whole.
pub fn read_page<R: ReadAt>(
    src: &mut R,
    from: Position,
    max_bytes: u64,
    max_line: u64,
) -> Result<Page, R::Error> {
    read_page_hashed(src, from, max_bytes, max_line, &mut PrefixHash::default())
}

/// [`read_page`], adding every byte it consumes (from `from` to the
/// page's `next`) to `hash`.
pub fn read_page_hashed<R: ReadAt>(
    src: &mut R,
    from: Position,
    max_bytes: u64,
    max_line: u64,
    hash: &mut PrefixHash,
) -> Result<Page, R::Error> {
    let mut pos = from;
    if pos.offset == 0 && src.read_at(0, BOM.len() as u64)? == BOM {
        pos.offset = BOM.len() as u64;
        hash.update(BOM);
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_offset = pos.offset;
    let mut consumed = 0u64;
    let mut entries = Vec::new();
    let mut seals = Vec::new();
    loop {
        // Full once at least one line was consumed: every call makes progress.
        if consumed > 0 && consumed >= max_bytes {
            return Ok(Page {
                entries,
                tail: None,
                next: pos,
                at_end: false,
                seals,
            });
        }
        let start = (pos.offset - buf_offset) as usize;
        if let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
            let line = pos.lines.saturating_add(1);
            let raw = &buf[start..start + i];
            entries.extend(judge(raw, pos.offset, line, true, max_line).map(OwnedEntry::from));
            hash.update(&buf[start..=start + i]);
            pos = Position {
                offset: pos.offset + i as u64 + 1,
                lines: line,
            };
            if let Some(id) = seal_line_id(raw) {
                seals.push((pos, id));
            }
            consumed += i as u64 + 1;
            continue;
        }
        // No `\n` in what is buffered: the line goes on, or the file ends.
        let partial = (buf.len() - start) as u64;
        if partial > max_line + 1 {
            // Consumed only if a `\n` ends it.
            let mut line_hash = *hash;
            line_hash.update(&buf[start..]);
            let Skipped {
                size,
                ended,
                last,
                blank,
            } = skip_line(
                src,
                buf_offset + buf.len() as u64,
                partial,
                buf.last().copied(),
                is_blank(&buf[start..]),
                &mut line_hash,
            )?;
            // Whitespace only, however long: no entry, as in `judge`.
            let damage = (!blank).then(|| OwnedEntry {
                line: pos.lines.saturating_add(1),
                offset: pos.offset,
                length: size,
                record: Err(Damage {
                    line: pos.lines.saturating_add(1),
                    offset: pos.offset,
                    torn: !ended,
                    error: LineError::TooLarge {
                        // Measured as `judge` does: without a final `\r`.
                        size: size - u64::from(last == Some(b'\r')),
                        limit: max_line,
                    },
                }),
            });
            if !ended {
                return Ok(Page {
                    entries,
                    tail: damage,
                    next: pos,
                    at_end: true,
                    seals,
                });
            }
            entries.extend(damage);
            *hash = line_hash;
            pos = Position {
                offset: pos.offset + size + 1,
                lines: pos.lines.saturating_add(1),
            };
            consumed += size + 1;
            buf.clear();
            buf_offset = pos.offset;
            continue;
        }
        buf.drain(..start);
        buf_offset = pos.offset;
        let chunk = src.read_at(buf_offset + buf.len() as u64, CHUNK)?;
        if chunk.is_empty() {
            let tail = judge(
                &buf,
                pos.offset,
                pos.lines.saturating_add(1),
                false,
                max_line,
            )
            .map(OwnedEntry::from);
            return Ok(Page {
                entries,
                tail,
                next: pos,
                at_end: true,
                seals,
            });
        }
        buf.extend_from_slice(&chunk);
    }
}

/// What [`skip_line`] found of a line too long to hold.
struct Skipped {
    /// Its size without `\n`.
    size: u64,
    /// A `\n` ended it (else the file did).
    ended: bool,
    /// Its last byte.
    last: Option<u8>,
    /// Nothing but whitespace.
    blank: bool,
}

/// Reads past a line too long to hold, from `offset`, where `seen` bytes of
/// it (the last being `last`, all whitespace if `blank`) are already known,
/// to its `\n` (included in `hash`) or the end of the file.
fn skip_line<R: ReadAt>(
    src: &mut R,
    mut offset: u64,
    mut seen: u64,
    mut last: Option<u8>,
    mut blank: bool,
    hash: &mut PrefixHash,
) -> Result<Skipped, R::Error> {
    loop {
        let chunk = src.read_at(offset, CHUNK)?;
        if chunk.is_empty() {
            return Ok(Skipped {
                size: seen,
                ended: false,
                last,
                blank,
            });
        }
        if let Some(i) = memchr::memchr(b'\n', &chunk) {
            hash.update(&chunk[..=i]);
            return Ok(Skipped {
                size: seen + i as u64,
                ended: true,
                last: if i > 0 { Some(chunk[i - 1]) } else { last },
                blank: blank && is_blank(&chunk[..i]),
            });
        }
        blank = blank && is_blank(&chunk);
        hash.update(&chunk);
        seen += chunk.len() as u64;
        offset += chunk.len() as u64;
        last = chunk.last().copied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::entries;

    /// All entries, page by page, plus the last page's tail.
    fn paged(bytes: &[u8], max_bytes: u64, max_line: u64) -> (Vec<OwnedEntry>, usize) {
        let mut src = bytes;
        let mut pos = Position::default();
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let page = read_page(&mut src, pos, max_bytes, max_line).unwrap();
            pages += 1;
            all.extend(page.entries);
            pos = page.next;
            if page.at_end {
                all.extend(page.tail);
                return (all, pages);
            }
        }
    }

    fn whole(bytes: &[u8], max_line: u64) -> Vec<OwnedEntry> {
        entries(bytes, max_line).map(OwnedEntry::from).collect()
    }

    #[test]
    fn pages_of_any_size_give_the_same_entries_as_a_whole_replay() {
        let file =
            b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \nnot json\n[1,2,3,4,5,6,7,8]\n\"\xff\"\n{\"torn\":";
        for max_bytes in [1, 2, 5, 16, 1000] {
            assert_eq!(
                paged(file, max_bytes, 12).0,
                whole(file, 12),
                "max_bytes {max_bytes}"
            );
        }
    }

    #[test]
    fn a_page_hashes_exactly_the_bytes_it_consumes() {
        let mut file = b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \nnot json\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize));
        file.extend(b"\n[1,2]\n{\"torn\":");
        for max_bytes in [1, 5, 1000, 1 << 20] {
            let mut pos = Position::default();
            let mut hash = PrefixHash::default();
            loop {
                let page =
                    read_page_hashed(&mut &file[..], pos, max_bytes, 1000, &mut hash).unwrap();
                pos = page.next;
                let mut whole = PrefixHash::default();
                whole.update(&file[..pos.offset as usize]);
                assert_eq!(hash, whole, "max_bytes {max_bytes}, at {pos:?}");
                if page.at_end {
                    break;
                }
            }
        }
    }

    #[test]
    fn unterminated_last_line_is_the_tail_and_not_consumed() {
        let mut src: &[u8] = b"1\n{\"a\":2}";
        let page = read_page(&mut src, Position::default(), 100, 100).unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.tail.unwrap().record, Ok("{\"a\":2}".to_string()));
        assert_eq!(
            (page.next, page.at_end),
            (
                Position {
                    offset: 2,
                    lines: 1
                },
                true
            )
        );
    }

    #[test]
    fn a_page_resumes_where_the_last_one_stopped() {
        let mut src: &[u8] = b"1\n2\n3\n";
        let first = read_page(&mut src, Position::default(), 2, 100).unwrap();
        assert_eq!(
            (first.entries.len(), first.next.offset, first.at_end),
            (1, 2, false)
        );
        let rest = read_page(&mut src, first.next, 100, 100).unwrap();
        let lines: Vec<_> = rest
            .entries
            .iter()
            .map(|e| (e.line, e.record.clone().unwrap()))
            .collect();
        assert_eq!(lines, [(2, "2".to_string()), (3, "3".to_string())]);
        assert!(rest.at_end && rest.tail.is_none());
    }

    #[test]
    fn lines_over_the_limit_are_skipped_without_holding_them() {
        let mut file = b"1\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 3 * CHUNK as usize));
        file.extend(b"\n2\n");
        let (got, _) = paged(&file, 1 << 20, 1000);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1].record.clone().unwrap_err().error,
            LineError::TooLarge {
                size: 3 * CHUNK,
                limit: 1000
            }
        );
        assert_eq!(got[2].record, Ok("2".to_string()));
    }

    #[test]
    fn an_unterminated_line_over_the_limit_is_a_torn_tail() {
        let file = [b"1\n".as_slice(), &[b'x'; 5000]].concat();
        let (got, _) = paged(&file, 100, 1000);
        let damage = got[1].record.clone().unwrap_err();
        assert!(damage.torn);
        assert_eq!(
            damage.error,
            LineError::TooLarge {
                size: 5000,
                limit: 1000
            }
        );
    }
}
