//! `check` reports like redis-check-aof; `repair` removes damaged lines
//! crash-safely and keeps their bytes in the quarantine file.

use crate::common;

use common::{open, read_log, records, test_dir, write_log};
use pathway_host::{DamagedLine, LineProblem};

const DAMAGED: &[u8] = b"{\"n\":1}\ngarbage\n{\"n\":2}\n\"\xff\"\n\n{\"n\":3}\n{\"torn\":";

/// What a report says of a damaged line; its `message` is checked to be
/// replay's text for the same line (`the_report_says_of_a_line_what_replay_says`).
fn damaged(
    line: u64,
    offset: u64,
    length: u64,
    torn: bool,
    reason: &str,
) -> (u64, u64, u64, bool, String) {
    (line, offset, length, torn, reason.to_string())
}

fn fields(lines: &[DamagedLine]) -> Vec<(u64, u64, u64, bool, String)> {
    lines
        .iter()
        .map(|d| (d.line, d.offset, d.length, d.torn, d.reason.clone()))
        .collect()
}

#[test]
fn the_report_says_of_a_line_what_replay_says() {
    let dir = test_dir("check_replay_words");
    write_log(dir.path(), DAMAGED);
    let mut memory = open(dir.path());
    let report = memory.check().unwrap();
    let replayed: Vec<DamagedLine> = memory
        .replay()
        .unwrap()
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert_eq!(report.damaged, replayed);
    let problems: Vec<LineProblem> = report.damaged.iter().map(|d| d.problem).collect();
    assert_eq!(
        problems,
        [
            LineProblem::InvalidJson,
            LineProblem::InvalidUtf8,
            LineProblem::InvalidJson
        ]
    );
    assert!(
        report.damaged[2]
            .message
            .starts_with("line 7: torn write at byte offset")
    );
}

#[test]
fn check_reports_records_damaged_lines_and_a_torn_tail() {
    let dir = test_dir("check_damaged");
    write_log(dir.path(), DAMAGED);
    let report = open(dir.path()).check().unwrap();
    assert_eq!(
        (report.bytes, report.records, report.torn_tail),
        (DAMAGED.len() as u64, 3, true)
    );
    assert_eq!(
        fields(&report.damaged),
        [
            damaged(
                2,
                8,
                7,
                false,
                "not exactly one JSON value: expected value at byte 0 of the line"
            ),
            damaged(
                4,
                24,
                3,
                false,
                "not valid UTF-8 (first bad byte at byte 1 of the line)"
            ),
            damaged(
                7,
                37,
                8,
                true,
                "not exactly one JSON value: EOF while parsing a value at byte 8 of the line"
            ),
        ]
    );
    assert!(report.leftovers.is_empty());
}

#[test]
fn check_of_a_clean_or_missing_log_finds_nothing() {
    let dir = test_dir("check_clean");
    let report = open(dir.path()).check().unwrap();
    assert_eq!(
        (
            report.bytes,
            report.records,
            report.damaged.len(),
            report.torn_tail
        ),
        (0, 0, 0, false)
    );
    write_log(dir.path(), b"1\n2");
    let report = open(dir.path()).check().unwrap();
    assert_eq!(
        (report.records, report.damaged.len(), report.torn_tail),
        (2, 0, false)
    );
}

#[test]
fn repair_moves_damaged_lines_to_quarantine_and_keeps_the_rest() {
    let dir = test_dir("repair");
    write_log(dir.path(), DAMAGED);
    let mut memory = open(dir.path());
    let report = memory.repair().unwrap();
    assert_eq!(report.removed.len(), 3);
    assert_eq!(report.quarantine, "pathway.jsonl.quarantine");
    assert_eq!(
        (report.bytes_before, report.bytes_after),
        (DAMAGED.len() as u64, 24)
    );
    assert_eq!(read_log(dir.path()), b"{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");

    // Nothing is destroyed: every removed byte is in the quarantine file.
    let quarantine = std::fs::read_to_string(dir.path().join("pathway.jsonl.quarantine")).unwrap();
    let kept: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hex: Vec<&str> = kept.iter().map(|k| k["hex"].as_str().unwrap()).collect();
    assert_eq!(hex, ["67617262616765", "22ff22", "7b22746f726e223a"]);
    assert_eq!(kept[1]["offset"], 24);
    assert_eq!(kept[2]["torn"], true);

    // Appends go on, and the log checks clean.
    memory.try_append("{\"n\":4}").unwrap();
    let report = memory.check().unwrap();
    assert!(report.damaged.is_empty());
    assert_eq!(report.leftovers, ["pathway.jsonl.quarantine"]);
    assert_eq!(records(dir.path()).len(), 4);
}

#[test]
fn repair_of_a_clean_log_changes_nothing() {
    let dir = test_dir("repair_clean");
    write_log(dir.path(), b"1\r\n\n2\n");
    let report = open(dir.path()).repair().unwrap();
    assert!(report.removed.is_empty());
    assert_eq!(read_log(dir.path()), b"1\r\n\n2\n");
    assert!(!dir.path().join("pathway.jsonl.quarantine").exists());
}

#[test]
fn a_second_repair_appends_to_the_quarantine() {
    let dir = test_dir("repair_twice");
    write_log(dir.path(), b"1\nx\n");
    open(dir.path()).repair().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(common::LOG))
        .unwrap();
    std::io::Write::write_all(&mut file, b"y\n").unwrap();
    open(dir.path()).repair().unwrap();
    let quarantine = std::fs::read_to_string(dir.path().join("pathway.jsonl.quarantine")).unwrap();
    assert_eq!(quarantine.lines().count(), 2);
    assert_eq!(read_log(dir.path()), b"1\n");
}

/// A byte of the compacted part changed in place, the line still valid
/// JSON (a flipped bit): `check` reports the checksum mismatch, typed,
/// with the SHA-256 that `head -c N log | sha256sum` prints; `compact` and
/// `repair` refuse with cause `integrity` and leave the log as it is; the
/// CLI's `check` says so and exits 1. Removing the checksum accepts it.
#[test]
fn a_changed_byte_in_the_compacted_part_is_reported_and_not_folded_in() {
    use pathway_host::{Cause, Checksum, Error, LogError};
    use std::io::{Seek, SeekFrom, Write};

    let dir = test_dir("check_integrity");
    let mut memory = open(dir.path());
    for n in 0..3 {
        memory.try_append(&format!("{{\"n\":{n}}}")).unwrap();
    }
    let end = memory.walk_to_end().unwrap();
    memory.compact(&[r#"{"sum":3}"#], &end).unwrap();
    memory.try_append(r#"{"n":3}"#).unwrap();
    assert_eq!(memory.check().unwrap().checksum, Checksum::Verified(10));
    assert_eq!(memory.check().unwrap().checksum_message, "");

    // "3" -> "8" in `{"sum":3}`.
    let log = dir.path().join(common::LOG);
    let mut file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.seek(SeekFrom::Start(7)).unwrap();
    file.write_all(b"8").unwrap();
    drop(file);
    let before = read_log(dir.path());
    assert_eq!(records(dir.path()), [r#"{"sum":8}"#, r#"{"n":3}"#]);

    let report = memory.check().unwrap();
    assert!(report.damaged.is_empty());
    let Checksum::Mismatch(mismatch) = &report.checksum else {
        panic!("not a mismatch: {:?}", report.checksum);
    };
    assert_eq!(mismatch.bytes, 10);
    // What coreutils says of the same bytes.
    let head = std::process::Command::new("sh")
        .arg("-c")
        .arg("head -c 10 \"$0\" | sha256sum")
        .arg(&log)
        .output()
        .unwrap();
    let said = String::from_utf8(head.stdout).unwrap();
    assert_eq!(mismatch.actual.as_deref(), said.split_whitespace().next());
    let sum = std::fs::read_to_string(dir.path().join("pathway.jsonl.sha256")).unwrap();
    assert!(sum.contains(&mismatch.expected), "{sum}");
    assert!(
        report
            .checksum_message
            .starts_with("integrity: the first 10 bytes of pathway.jsonl hash to SHA-256 "),
        "{}",
        report.checksum_message
    );

    let end = memory.walk_to_end().unwrap();
    for refused in [
        memory.compact(&["{}"], &end).unwrap_err(),
        memory.repair().unwrap_err(),
    ] {
        let Error::Log(LogError {
            cause: Cause::Integrity(integrity),
            message,
        }) = &refused
        else {
            panic!("not an integrity error: {refused:?}");
        };
        assert_eq!(integrity, mismatch);
        assert_eq!(message, &report.checksum_message);
    }
    assert_eq!(read_log(dir.path()), before);

    let cli = std::process::Command::new(crate::common::pathway_bin())
        .arg("check")
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(1), "a changed log exits 1");
    let out = String::from_utf8(cli.stdout).unwrap();
    assert!(
        out.contains("checksum:  MISMATCH in the first 10 bytes"),
        "{out}"
    );

    // Accepted as it is: the next compaction writes a new checksum.
    std::fs::remove_file(dir.path().join("pathway.jsonl.sha256")).unwrap();
    assert_eq!(memory.check().unwrap().checksum, Checksum::None);
    let end = memory.walk_to_end().unwrap();
    memory.compact(&[r#"{"sum":11}"#], &end).unwrap();
    assert_eq!(memory.check().unwrap().checksum, Checksum::Verified(11));
}

/// `PATHWAY_MAX_DEPTH` (`Options::max_depth`): appends deeper than it are
/// refused as `invalid-json`; a stored record deeper than it (written
/// before the limit, or under a higher one) still replays, and `check`
/// reports it with where it goes too deep.
#[test]
fn records_deeper_than_the_limit_are_refused_and_stored_ones_reported() {
    use pathway_host::{Cause, DeepLine, Error, LogError, Memory, Options};

    let dir = test_dir("check_too_deep");
    let deep = "[".repeat(130) + &"]".repeat(130);
    write_log(dir.path(), format!("{deep}\n{{\"n\":1}}\n").as_bytes());
    let mut memory = open(dir.path());
    assert_eq!(memory.settings().max_depth, 127);
    assert_eq!(records(dir.path()), [deep.as_str(), "{\"n\":1}"]);
    let report = memory.check().unwrap();
    assert!(report.damaged.is_empty());
    assert_eq!(
        report.too_deep,
        [DeepLine {
            line: 1,
            offset: 0,
            at: 127
        }]
    );
    let refused = memory.try_append(&deep).unwrap_err();
    let Error::Log(LogError {
        cause: Cause::InvalidJson(invalid),
        message,
    }) = &refused
    else {
        panic!("{refused:?}");
    };
    assert_eq!(invalid.offset, 127);
    assert!(message.contains("more than 127 levels deep"), "{message}");

    let with = |max_depth| {
        Memory::open(
            dir.path(),
            Options {
                max_depth: Some(max_depth),
                ..Options::default()
            },
        )
    };
    let mut deeper = with(200).unwrap();
    assert_eq!(deeper.check().unwrap().too_deep, []);
    deeper.try_append(&deep).unwrap();
    let mut shallow = with(3).unwrap();
    shallow.try_append("[[[1]]]").unwrap();
    assert!(shallow.try_append("[[[[1]]]]").unwrap_err().is_refusal());
    assert_eq!(shallow.check().unwrap().too_deep.len(), 2);
    let bad = with(0).map(|_| ()).unwrap_err();
    assert!(
        matches!(
            &bad,
            Error::Log(LogError {
                cause: Cause::InvalidConfig,
                ..
            })
        ),
        "{bad:?}"
    );
    assert_eq!(records(dir.path()).len(), 4);

    // The CLI's `--max-depth`, the same limit.
    let cli = |args: &[&str]| {
        std::process::Command::new(crate::common::pathway_bin())
            .args(args)
            .arg("--dir")
            .arg(dir.path())
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(cli(&["append", "--max-depth", "3", "[[[[1]]]]"]), Some(1));
    assert_eq!(cli(&["append", "--max-depth", "4", "[[[[1]]]]"]), Some(0));
    assert_eq!(records(dir.path()).len(), 5);
}
