//! Rules 5 to 8 through the real component: torn tails, damaged lines,
//! missing files, hostile content.

use crate::common;

use common::{err, ok, open, read_log, test_dir, write_log};
use pathway_host::{Cause, Error, InvalidJson, LogError, Memory, Options};

const RECORDS: &str = "{\"n\":1}\n{\"n\":2}\n{\"last\":\"record\"}\n";

#[test]
fn append_after_torn_tail_starts_a_new_line() {
    let last_start = RECORDS.len() - "{\"last\":\"record\"}\n".len();
    for cut in last_start..RECORDS.len() {
        let dir = test_dir(&format!("torn_tail_{cut}"));
        write_log(dir.path(), &RECORDS.as_bytes()[..cut]);
        let mut memory = open(dir.path());
        memory.try_append("{\"after\":1}").unwrap();
        let entries = memory.replay().unwrap();

        let mut expected = vec![ok("{\"n\":1}"), ok("{\"n\":2}")];
        let torn = &RECORDS[last_start..cut];
        if cut == RECORDS.len() - 1 {
            expected.push(ok(torn));
        } else if cut > last_start {
            assert!(
                err(&entries[2])
                    .starts_with("line 3: at byte offset 16: not exactly one JSON value"),
                "cut {cut}: {entries:?}"
            );
            expected.push(entries[2].clone());
        }
        expected.push(ok("{\"after\":1}"));
        assert_eq!(entries, expected, "cut at {cut}");

        // Append never rewrote a byte: the old bytes are a prefix.
        let newline = if cut > last_start { "\n" } else { "" };
        let file = format!("{}{newline}{{\"after\":1}}\n", &RECORDS[..cut]);
        assert_eq!(read_log(dir.path()), file.as_bytes(), "cut at {cut}");
    }
}

#[test]
fn torn_tail_left_by_another_writer_while_open_is_ended_first() {
    let dir = test_dir("torn_while_open");
    let mut memory = open(dir.path());
    memory.try_append("1").unwrap();
    // Another process crashes mid-write after our append.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(common::LOG))
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"torn").unwrap();
    memory.try_append("2").unwrap();
    assert_eq!(read_log(dir.path()), b"1\n{\"torn\n2\n");
}

#[test]
fn torn_last_line_is_reported_as_a_torn_write() {
    let dir = test_dir("torn_report");
    write_log(dir.path(), b"1\n{\"a\":");
    let entries = open(dir.path()).replay().unwrap();
    assert_eq!(entries[0], ok("1"));
    assert_eq!(
        err(&entries[1]),
        "line 2: torn write at byte offset 2: the last line has no newline and is not exactly \
         one JSON value: EOF while parsing a value at byte 5 of the line; skipped, and the next \
         append starts a new line"
    );
}

#[test]
fn bom_crlf_and_blank_lines_are_read_by_the_rules() {
    let dir = test_dir("bom_crlf_blank");
    write_log(
        dir.path(),
        b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n   \n[2]\r\n\t\n3",
    );
    assert_eq!(
        open(dir.path()).replay().unwrap(),
        vec![ok("{\"a\":1}"), ok("[2]"), ok("3")]
    );
}

#[test]
fn invalid_utf8_line_is_reported_and_never_rewritten() {
    let dir = test_dir("invalid_utf8");
    let bytes = b"1\n\"caf\xE9\"\n3\n";
    write_log(dir.path(), bytes);
    let mut memory = open(dir.path());
    let entries = memory.replay().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!((&entries[0], &entries[2]), (&ok("1"), &ok("3")));
    assert_eq!(
        err(&entries[1]),
        "line 2: at byte offset 2: not valid UTF-8 (first bad byte at byte 4 of the line); \
         skipped, the other records are unaffected"
    );
    memory.try_append("4").unwrap();
    assert_eq!(read_log(dir.path()), b"1\n\"caf\xE9\"\n3\n4\n");
}

#[test]
fn over_limit_line_in_the_middle_hides_nothing() {
    let dir = test_dir("over_limit_middle");
    let big = format!("\"{}\"", "x".repeat(2 << 20));
    write_log(dir.path(), format!("1\n{big}\n3\n").as_bytes());
    let entries = open(dir.path()).replay().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!((&entries[0], &entries[2]), (&ok("1"), &ok("3")));
    assert_eq!(
        err(&entries[1]),
        "line 2: at byte offset 2: 2097154 bytes, over the line limit of 1048576 bytes \
         (PATHWAY_MAX_LINE); skipped, the other records are unaffected"
    );
}

#[test]
fn missing_log_replays_as_empty() {
    let dir = test_dir("missing_log");
    assert_eq!(
        open(dir.path()).replay().unwrap(),
        Vec::<pathway_host::Entry>::new()
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "replay created nothing"
    );
}

#[test]
fn deep_nesting_neither_traps_on_append_nor_on_replay() {
    let dir = test_dir("deep_nesting");
    let depth = 200_000;
    let deep = "[".repeat(depth) + &"]".repeat(depth);
    let mut memory = open(dir.path());
    // Refused on append (common readers could not read it back), with
    // where; the deepest accepted is 127 levels.
    match memory.try_append(&deep) {
        Err(Error::Log(LogError {
            cause: Cause::InvalidJson(InvalidJson { offset, .. }),
            message,
        })) => {
            assert_eq!(offset, 127);
            assert!(
                message.contains("nests arrays and objects more than 127 levels deep"),
                "{message}"
            );
        }
        other => panic!("a 200,000 deep event was not refused: {other:?}"),
    }
    let deepest = "[".repeat(127) + &"]".repeat(127);
    memory.try_append(&deepest).unwrap();
    // Stored by another writer, a line of any depth replays; unclosed
    // nesting on disk is damage, not a crash.
    let mut file = read_log(dir.path());
    file.extend(deep.as_bytes());
    file.push(b'\n');
    file.extend("{\"a\":".repeat(depth).as_bytes());
    file.extend(b"\n5\n");
    write_log(dir.path(), &file);
    let entries = memory.replay().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        (&entries[0], &entries[1], &entries[3]),
        (&ok(&deepest), &ok(&deep), &ok("5"))
    );
    assert!(err(&entries[2]).starts_with("line 3: "));
}

#[test]
fn binary_garbage_gives_damage_not_a_trap() {
    let dir = test_dir("garbage");
    let mut bytes = b"\"start\"\n".to_vec();
    let mut x: u32 = 12345;
    bytes.extend((0..1_000_000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 16) as u8
    }));
    bytes.extend(b"\n\"end\"\n");
    write_log(dir.path(), &bytes);
    let entries = open(dir.path()).replay().unwrap();
    assert_eq!(entries.first(), Some(&ok("\"start\"")));
    assert_eq!(entries.last(), Some(&ok("\"end\"")));
    assert!(entries[1..entries.len() - 1].iter().all(Result::is_err));
}

#[test]
fn replay_honours_a_smaller_line_limit() {
    let dir = test_dir("small_limit");
    write_log(dir.path(), b"[1]\n[1,2,3]\n");
    let options = Options {
        max_line: Some(4),
        ..Options::default()
    };
    let entries = Memory::open(dir.path(), options).unwrap().replay().unwrap();
    assert_eq!(entries[0], ok("[1]"));
    assert!(
        err(&entries[1])
            .starts_with("line 2: at byte offset 4: 7 bytes, over the line limit of 4 bytes")
    );
}
