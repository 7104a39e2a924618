//! The replay rules of the crate docs, on byte fixtures, natively.

use pathway_memory::error::{Damage, LineError};
use pathway_memory::format::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE, encode_event};
use pathway_memory::oracle::entries;

/// (line, record or message) for every entry.
fn replay(bytes: &[u8], max_line: u64) -> Vec<(u64, Result<String, String>)> {
    entries(bytes, max_line)
        .map(|e| {
            (
                e.line,
                e.record.map(str::to_owned).map_err(|d| d.to_string()),
            )
        })
        .collect()
}

fn ok(line: u64, record: &str) -> (u64, Result<String, String>) {
    (line, Ok(record.to_string()))
}

#[test]
fn each_line_is_one_record() {
    assert_eq!(
        replay(b"{\"a\":1}\n[2]\n\"three\"\n", DEFAULT_MAX_LINE),
        vec![ok(1, "{\"a\":1}"), ok(2, "[2]"), ok(3, "\"three\"")]
    );
}

#[test]
fn bom_at_the_start_is_ignored() {
    assert_eq!(
        replay(b"\xEF\xBB\xBF{}\n1\n", DEFAULT_MAX_LINE),
        vec![ok(1, "{}"), ok(2, "1")]
    );
}

#[test]
fn bom_elsewhere_is_damage() {
    let got = replay(b"{}\n\xEF\xBB\xBF1\n", DEFAULT_MAX_LINE);
    assert_eq!(got[0], ok(1, "{}"));
    assert_eq!(got[1].0, 2);
    assert!(
        got[1]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("line 2: at byte offset 3: not exactly one JSON value")
    );
}

#[test]
fn carriage_return_before_newline_is_dropped() {
    assert_eq!(
        replay(b"{}\r\n[1]\r\n", DEFAULT_MAX_LINE),
        vec![ok(1, "{}"), ok(2, "[1]")]
    );
}

#[test]
fn blank_lines_give_no_entry_but_keep_line_numbers() {
    assert_eq!(
        replay(b"\n{}\n   \n\t\r\n\n2\n", DEFAULT_MAX_LINE),
        vec![ok(2, "{}"), ok(6, "2")]
    );
}

#[test]
fn invalid_utf8_line_is_reported_and_the_rest_replays() {
    let got: Vec<_> = entries(b"1\n\"a\xC3\x28\"\n3\n", DEFAULT_MAX_LINE).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].record, Ok("1"));
    assert_eq!(
        got[1].record,
        Err(Damage {
            line: 2,
            offset: 2,
            torn: false,
            error: LineError::InvalidUtf8 { offset: 2 }
        })
    );
    assert_eq!(got[2].record, Ok("3"));
}

#[test]
fn line_over_the_limit_in_the_middle_is_reported_and_the_rest_replays() {
    let got = replay(b"[1]\n[1,2,3,4]\n[2]\n", 5);
    assert_eq!(got[0], ok(1, "[1]"));
    assert_eq!(
        got[1],
        (
            2,
            Err(
                "line 2: at byte offset 4: 9 bytes, over the line limit of 5 bytes \
                 (PATHWAY_MAX_LINE); skipped, the other records are unaffected"
                    .to_string()
            )
        )
    );
    assert_eq!(got[2], ok(3, "[2]"));
}

#[test]
fn lines_that_are_not_exactly_one_value_are_damage() {
    for bad in ["{", "1 2", "NaN", "{} x", "\"\\q\"", "[1,]"] {
        let file = format!("1\n{bad}\n2\n");
        let got = replay(file.as_bytes(), DEFAULT_MAX_LINE);
        assert_eq!(got.len(), 3, "{bad:?}");
        assert!(
            got[1].1.as_ref().unwrap_err().starts_with("line 2: "),
            "{bad:?}: {got:?}"
        );
        assert_eq!((got[0].clone(), got[2].clone()), (ok(1, "1"), ok(3, "2")));
    }
}

#[test]
fn valid_last_line_without_newline_is_a_record() {
    assert_eq!(
        replay(b"1\n{\"a\":2}", DEFAULT_MAX_LINE),
        vec![ok(1, "1"), ok(2, "{\"a\":2}")]
    );
}

#[test]
fn invalid_last_line_without_newline_is_a_torn_write() {
    let got: Vec<_> = entries(b"1\n{\"a\":", DEFAULT_MAX_LINE).collect();
    let damage = got[1].record.clone().unwrap_err();
    assert!(damage.torn);
    assert_eq!((damage.line, damage.offset), (2, 2));
    assert!(
        damage
            .to_string()
            .starts_with("line 2: torn write at byte offset 2")
    );
}

#[test]
fn every_cut_of_the_last_record_keeps_all_earlier_records() {
    let file = b"{\"k\":1}\n{\"k\":2}\n{\"k\":\"three\"}\n";
    let last_start = 16;
    for cut in last_start..file.len() {
        let got = replay(&file[..cut], DEFAULT_MAX_LINE);
        assert_eq!(
            got[..2],
            [ok(1, "{\"k\":1}"), ok(2, "{\"k\":2}")],
            "cut at {cut}"
        );
        if cut == last_start {
            assert_eq!(got.len(), 2);
        } else if cut == file.len() - 1 {
            // Only the newline is missing: the record is whole.
            assert_eq!(got[2], ok(3, "{\"k\":\"three\"}"));
        } else {
            assert!(
                got[2].1.as_ref().unwrap_err().contains("torn write"),
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn binary_garbage_never_panics_and_never_hides_good_lines() {
    let mut file = b"1\n".to_vec();
    file.extend((0u8..=255).cycle().take(10_000));
    file.extend_from_slice(b"\n2\n");
    let got = replay(&file, DEFAULT_MAX_LINE);
    assert_eq!(got.first(), Some(&ok(1, "1")));
    assert_eq!(got.last().map(|e| &e.1), Some(&Ok("2".to_string())));
}

#[test]
fn stored_line_of_an_accepted_event_replays_to_the_same_text() {
    for event in ["{}", "[1, 2]", "{\n \"a\": true\n}", "\"\\u00e9\"", "-1e-7"] {
        let line = encode_event(event, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).unwrap();
        let file = format!("{line}\n");
        assert_eq!(
            replay(file.as_bytes(), DEFAULT_MAX_LINE),
            vec![ok(1, &line)]
        );
    }
}
