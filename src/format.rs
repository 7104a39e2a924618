//! What a record is: one JSON value on one line. Validates and encodes an
//! event for `append`, and judges one stored line for `replay`.

#![forbid(unsafe_code)]

use std::borrow::Cow;

use serde::de::IgnoredAny;

use crate::error::{Damage, EventError, LineError};

/// `PATHWAY_MAX_LINE` when the host sets none: 1 MiB.
pub const DEFAULT_MAX_LINE: u64 = 1 << 20;

/// `PATHWAY_MAX_DEPTH` when the host sets none: how deep an appended event
/// may nest arrays and objects. 127, the most serde_json reads by default
/// (its limit of 128 counts the level it refuses), the lowest of the common
/// readers (jq 1.6 stops past 256, Python's json near 1,000). Replay reads
/// stored lines of any depth; `check` reports those deeper than the limit.
pub const DEFAULT_MAX_DEPTH: u32 = 127;

/// Checks that `event` is exactly one JSON value and that its stored line
/// fits `max_line`, and returns the line to store (without its `\n`).
///
/// A raw `\n` or `\r` can only stand between tokens of valid JSON (inside a
/// string it must be escaped), so pretty-printed JSON is put on one line by
/// removing them; the stored line parses to the same value.
pub fn encode_event(
    event: &str,
    max_line: u64,
    max_depth: u32,
) -> Result<Cow<'_, str>, EventError> {
    // Line breaks are counted only when the event could be over the limit
    // with them; otherwise one word-at-a-time search says whether there are
    // any (a byte-by-byte count was a tenth of an append batch's time).
    if event.len() as u64 > max_line {
        let breaks = memchr::memchr2_iter(b'\n', b'\r', event.as_bytes()).count();
        let size = (event.len() - breaks) as u64;
        if size > max_line {
            return Err(EventError::TooLarge {
                size,
                limit: max_line,
            });
        }
    }
    check_json(event).map_err(|(offset, reason)| EventError::InvalidJson { offset, reason })?;
    if let Some(offset) = too_deep(event.as_bytes(), max_depth) {
        return Err(EventError::TooDeep {
            offset,
            limit: max_depth,
        });
    }
    if memchr::memchr2(b'\n', b'\r', event.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(event));
    }
    Ok(Cow::Owned(
        event.chars().filter(|&c| c != '\n' && c != '\r').collect(),
    ))
}

/// Judges one stored line (its `\n` and any `\r` before it already removed)
/// and returns it as text when it holds exactly one JSON value.
pub fn parse_line(line: &[u8], max_line: u64) -> Result<&str, LineError> {
    if line.len() as u64 > max_line {
        return Err(LineError::TooLarge {
            size: line.len() as u64,
            limit: max_line,
        });
    }
    let text = std::str::from_utf8(line).map_err(|e| LineError::InvalidUtf8 {
        offset: e.valid_up_to() as u64,
    })?;
    check_json(text).map_err(|(offset, reason)| LineError::InvalidJson { offset, reason })?;
    Ok(text)
}

/// Where valid JSON `text` opens an array or object more than `limit`
/// levels deep, if it does. Only text with more than that many `[` and `{`
/// bytes (in strings or not) is scanned.
pub fn too_deep(text: &[u8], limit: u32) -> Option<u64> {
    let limit = limit as usize;
    memchr::memchr2_iter(b'[', b'{', text).nth(limit)?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(at as u64);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Whether a line holds nothing but JSON whitespace (it then gives no entry).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Validates one JSON value without building it. serde_json skips ignored
/// values with an explicit stack, so any nesting depth is checked without
/// recursion. On error: the byte offset and the parser's reason.
fn check_json(text: &str) -> Result<(), (u64, String)> {
    serde_json::from_str::<IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| (error_offset(text, &e), error_reason(&e)))
}

/// Byte offset of a serde_json error from its line and column. An error at
/// the end of the input is placed at its end.
fn error_offset(text: &str, e: &serde_json::Error) -> u64 {
    if e.is_eof() {
        return text.len() as u64;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + e.column().saturating_sub(1)).min(text.len()) as u64
}

/// serde_json's message without its " at line L column C" suffix, which
/// would name a position inside the event, not in the log.
fn error_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

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

/// Starts the line a compaction or repair appends to the log right before
/// it renames a new log over it (see `lock.rs`), followed by its id in 64
/// spaces and tabs (a 0 and a 1 bit each, highest first). The line is JSON
/// whitespace only, so `jq` and other JSON Lines readers skip it, as
/// replay does (a seal is left in the log only by a rewrite that stopped
/// before its rename). `\r` before `\t` starts no line we write (an
/// appended event is stored without `\r`), so no record is mistaken for a
/// seal.
pub const SEAL: &[u8] = b"\t\r\t\r\t\r\t\r";

/// The bits of a seal's id after [`SEAL`].
pub const SEAL_ID_LEN: usize = 64;

/// What follows a seal's id when a delete wrote it (a compaction's or
/// repair's ends there): the log was sealed to be removed, not replaced.
pub const DELETE_SEAL_END: &[u8] = b"\r\r";

/// The whole content a delete renames over the log just before it removes
/// the name: JSON whitespace, so a reader finds no record in it. A log
/// file holding exactly this (a delete stopped between its two steps) is
/// gone: not listed, and a fork may take its name.
pub const TOMBSTONE: &[u8] = b"\t\r\t\r\t\r\t\r\r\r\n";

/// How 0.2 and earlier started a seal line, followed by 16 hex digits:
/// `\x01` cannot begin a JSON value, but `jq` stops at it. Still
/// recognized: such lines give no entry.
pub const SEAL_V1: &[u8] = b"\x01pathway-sealed-";

/// Whether a line is a rewrite's seal or a non-empty start of one (a seal
/// torn by a power cut): [`SEAL`] and its id's bits, or [`SEAL_V1`] and 16
/// hex digits.
pub fn is_seal(text: &[u8]) -> bool {
    let starts = |marker: &[u8], id_len: usize, id_byte: fn(&u8) -> bool| {
        if text.is_empty() || text.len() > marker.len() + id_len {
            return false;
        }
        let (prefix, id) = text.split_at(text.len().min(marker.len()));
        marker.starts_with(prefix) && id.iter().all(id_byte)
    };
    starts(SEAL, SEAL_ID_LEN, |b| matches!(b, b' ' | b'\t'))
        || starts(SEAL_V1, 16, u8::is_ascii_hexdigit)
}

/// The id of a seal line (without its `\n`; a delete's ends in `\r\r`),
/// if it is one whose id can be read.
pub fn seal_line_id(line: &[u8]) -> Option<u64> {
    let text = line.strip_prefix(SEAL)?;
    let bits = text.get(..SEAL_ID_LEN)?;
    let rest = &text[SEAL_ID_LEN..];
    if rest.iter().any(|&b| b != b'\r') {
        return None;
    }
    bits.iter().try_fold(0u64, |id, b| match b {
        b' ' => Some(id << 1),
        b'\t' => Some(id << 1 | 1),
        _ => None,
    })
}

/// Judges one raw line (without its `\n`) that starts at `offset` and is
/// line number `line`; `ended` says whether a `\n` followed it. `None` for
/// a blank line and for a seal.
pub fn judge(raw: &[u8], offset: u64, line: u64, ended: bool, max_line: u64) -> Option<Entry<'_>> {
    let text = raw.strip_suffix(b"\r").unwrap_or(raw);
    if is_blank(text) || is_seal(text) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(event: &str) -> (u64, String) {
        match encode_event(event, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH) {
            Err(EventError::InvalidJson { offset, reason }) => (offset, reason),
            other => panic!("expected InvalidJson for {event:?}, got {other:?}"),
        }
    }

    #[test]
    fn append_accepts_one_value_of_any_type() {
        for event in [
            "{}",
            "[]",
            "1",
            "-0.5e3",
            "\"s\"",
            "true",
            "null",
            " {\"a\":[1,2]} ",
        ] {
            assert_eq!(
                encode_event(event, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).unwrap(),
                event
            );
        }
    }

    #[test]
    fn append_refuses_anything_but_exactly_one_value() {
        assert_eq!(invalid("").1, "EOF while parsing a value");
        assert_eq!(invalid("   ").1, "EOF while parsing a value");
        assert_eq!(invalid("{} x"), (3, "trailing characters".to_string()));
        assert_eq!(invalid("1 2"), (2, "trailing characters".to_string()));
        assert_eq!(invalid("NaN"), (0, "expected value".to_string()));
        assert_eq!(invalid(r#""\q""#).1, "invalid escape");
        assert_eq!(invalid("{\"a\":}").0, 5);
    }

    #[test]
    fn pretty_json_is_stored_on_one_line_with_the_same_value() {
        let pretty = "{\r\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"x\\ny\"\n}";
        let line = encode_event(pretty, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).unwrap();
        assert_eq!(line, "{  \"a\": [    1,    2  ],  \"b\": \"x\\ny\"}");
        let before: serde_json::Value = serde_json::from_str(pretty).unwrap();
        let after: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn error_offset_points_into_later_lines_of_pretty_json() {
        assert_eq!(invalid("[\n1,\n]"), (5, "expected value".to_string()));
    }

    #[test]
    fn append_refuses_lines_over_the_limit_counting_the_stored_bytes() {
        assert_eq!(
            encode_event("[1,2,3]", 6, DEFAULT_MAX_DEPTH),
            Err(EventError::TooLarge { size: 7, limit: 6 })
        );
        // Line breaks are not stored, so they do not count.
        assert_eq!(
            encode_event("[1,\n2]", 5, DEFAULT_MAX_DEPTH).unwrap(),
            "[1,2]"
        );
    }

    #[test]
    fn deep_nesting_is_checked_without_recursion() {
        let depth = 100_000;
        let unclosed = "[".repeat(depth);
        assert_eq!(invalid(&unclosed).1, "EOF while parsing a list");
        // Stored long ago, a line of any depth still replays.
        let deep = "[".repeat(depth) + &"]".repeat(depth);
        assert_eq!(
            parse_line(deep.as_bytes(), DEFAULT_MAX_LINE),
            Ok(deep.as_str())
        );
    }

    const MAX_DEPTH: usize = DEFAULT_MAX_DEPTH as usize;

    fn nested(depth: usize) -> String {
        "[".repeat(depth) + &"]".repeat(depth)
    }

    #[test]
    fn append_refuses_events_nested_deeper_than_common_readers_read() {
        assert!(encode_event(&nested(MAX_DEPTH), DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).is_ok());
        assert_eq!(
            encode_event(&nested(MAX_DEPTH + 1), DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH),
            Err(EventError::TooDeep {
                offset: MAX_DEPTH as u64,
                limit: DEFAULT_MAX_DEPTH
            })
        );
        assert_eq!(
            encode_event(&nested(100_000), DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH),
            Err(EventError::TooDeep {
                offset: MAX_DEPTH as u64,
                limit: DEFAULT_MAX_DEPTH
            })
        );
        // Brackets in strings do not count; objects do.
        let in_strings = format!("[{}]", r#""[{\"[", "#.repeat(500) + "1");
        assert!(encode_event(&in_strings, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).is_ok());
        let objects = r#"{"a":"#.repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            encode_event(&objects, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH),
            Err(EventError::TooDeep { .. })
        ));
        // Wide but shallow: many brackets, depth 2.
        let wide = format!("[{}[]]", "[],".repeat(10_000));
        assert!(encode_event(&wide, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).is_ok());
        // PATHWAY_MAX_DEPTH moves the limit either way.
        assert!(encode_event(&nested(3), DEFAULT_MAX_LINE, 3).is_ok());
        assert_eq!(
            encode_event(&nested(4), DEFAULT_MAX_LINE, 3),
            Err(EventError::TooDeep {
                offset: 3,
                limit: 3
            })
        );
        assert!(encode_event(&nested(1_000), DEFAULT_MAX_LINE, 1_000).is_ok());
    }

    /// The limit is serde_json's own: the deepest event append accepts is
    /// one serde_json reads into a `Value` with its default settings.
    #[test]
    fn the_deepest_event_append_accepts_is_one_serde_json_reads() {
        let deepest = nested(MAX_DEPTH);
        assert!(serde_json::from_str::<serde_json::Value>(&deepest).is_ok());
        let deeper = nested(MAX_DEPTH + 1);
        assert!(serde_json::from_str::<serde_json::Value>(&deeper).is_err());
    }

    #[test]
    fn replay_line_reports_the_first_bad_utf8_byte() {
        assert_eq!(
            parse_line(b"\"ab\xff\"", DEFAULT_MAX_LINE),
            Err(LineError::InvalidUtf8 { offset: 3 })
        );
    }

    #[test]
    fn a_seal_line_is_json_whitespace_that_no_stored_record_starts_like() {
        let seal = crate::lock::seal(0x8000_0000_0000_00ff);
        assert!(is_blank(&seal), "{seal:?}");
        let line = &seal[1..seal.len() - 1];
        assert!(is_seal(line));
        assert_eq!(judge(line, 0, 1, true, 4096), None);
        for torn in 1..line.len() {
            assert!(is_seal(&line[..torn]), "torn at {torn}");
        }
        // Blank lines of spaces (a record taken back) are not seals, and an
        // event cannot start like one: it is stored without `\r`.
        assert!(!is_seal(b"        "));
        let stored = encode_event("\t\r\t\r\t\r\t\r1", 4096, DEFAULT_MAX_DEPTH).unwrap();
        assert!(!stored.as_bytes().windows(SEAL.len()).any(|w| w == SEAL));
    }

    #[test]
    fn a_seal_line_or_a_torn_start_of_one_gives_no_entry() {
        // As 0.2 wrote them.
        let seal = b"\x01pathway-sealed-00000000000000ff";
        assert_eq!(judge(seal, 0, 1, true, 4096), None);
        assert_eq!(judge(&seal[..9], 0, 1, false, 4096), None);
        for lookalike in [
            &b"\x01pathway-sealed-zz"[..],
            b"\x01pathway-replaced-0",
            b"\x01x",
        ] {
            assert!(judge(lookalike, 0, 1, true, 4096).is_some_and(|e| e.record.is_err()));
        }
    }

    #[test]
    fn blank_means_json_whitespace_only() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" 0 "));
        assert!(!is_blank(b"\x0b"));
    }
}
