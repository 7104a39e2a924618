//! Paged replay: the same entries as `replay`, bounded memory, cursors that
//! follow the tail and fail clearly when the log was replaced.

use crate::common;

use common::{ok, open, paged, test_dir, write_log};
use pathway_host::{Cause, Error, LogError, Memory, Options, TrapKind};

const LOG: &[u8] = b"\xEF\xBB\xBF{\"n\":1}\r\n\n{\"n\":2}\nnot json\n\"\xff\"\n[3]\n{\"n\":";

#[test]
fn pages_of_any_size_give_the_same_entries_as_replay() {
    let dir = test_dir("pages_equal_replay");
    write_log(dir.path(), LOG);
    let mut memory = open(dir.path());
    let whole = memory.replay().unwrap();
    assert_eq!(whole.len(), 6);
    for max_bytes in [1, 7, 30, 1 << 20] {
        assert_eq!(
            paged(&mut memory, max_bytes),
            whole,
            "max_bytes {max_bytes}"
        );
    }
}

#[test]
fn unterminated_last_line_is_reported_but_not_consumed() {
    let dir = test_dir("page_tail");
    write_log(dir.path(), b"1\n{\"a\":2}");
    let mut memory = open(dir.path());
    let page = memory.replay_page(None, 1 << 20).unwrap();
    assert_eq!(
        (page.entries, page.tail, page.at_end),
        (vec![ok("1")], Some(ok("{\"a\":2}")), true)
    );
    // An append ends the line; from the cursor, both come as complete lines.
    memory.try_append("3").unwrap();
    let next = memory.replay_page(Some(&page.next), 1 << 20).unwrap();
    assert_eq!(
        (next.entries, next.tail),
        (vec![ok("{\"a\":2}"), ok("3")], None)
    );
}

#[test]
fn a_kept_cursor_reads_only_records_appended_later() {
    let dir = test_dir("follow_tail");
    let mut memory = open(dir.path());
    memory.append_batch(&["1", "2"]).unwrap();
    let cursor = memory.end_cursor().unwrap();
    let empty = memory.replay_page(Some(&cursor), 1 << 20).unwrap();
    assert!(empty.entries.is_empty() && empty.at_end);
    // Another instance (another process, say) appends.
    open(dir.path()).append_batch(&["3", "4"]).unwrap();
    let page = memory.replay_page(Some(&cursor), 1 << 20).unwrap();
    assert_eq!(page.entries, vec![ok("3"), ok("4")]);
    // Cursors are text: a new instance can continue from one.
    let later = open(dir.path())
        .replay_page(Some(&page.next), 1 << 20)
        .unwrap();
    assert!(later.entries.is_empty() && later.at_end);
}

#[test]
fn a_cursor_before_what_a_compaction_folded_fails_clearly() {
    let dir = test_dir("stale_cursor");
    let mut memory = open(dir.path());
    memory.append_batch(&["1", "2", "3"]).unwrap();
    let first = memory.replay_page(None, 2).unwrap();
    assert_eq!(first.entries, vec![ok("1")]);
    let end = memory.walk_to_end().unwrap();
    memory.compact(&["{\"sum\":6}"], &end).unwrap();
    match memory.replay_page(Some(&first.next), 1 << 20).unwrap_err() {
        Error::Log(LogError {
            cause: Cause::StaleCursor,
            message,
        }) => assert!(
            message.starts_with(
                "the cursor no longer fits the log: it points into what a compaction folded"
            ),
            "{message}"
        ),
        other => panic!("expected a stale cursor, got {other:?}"),
    }
}

#[test]
fn cursor_fails_clearly_when_the_log_was_truncated_or_rewritten() {
    let dir = test_dir("rewritten_under_cursor");
    write_log(dir.path(), b"1\n2\n3\n");
    let mut memory = open(dir.path());
    let cursor = memory.end_cursor().unwrap();
    // Same file, other bytes before the cursor.
    std::fs::write(dir.path().join(common::LOG), b"1\n2\n4\n").unwrap();
    assert!(matches!(
        memory.replay_page(Some(&cursor), 100),
        Err(Error::Log(LogError {
            cause: Cause::StaleCursor,
            ..
        }))
    ));
    std::fs::write(dir.path().join(common::LOG), b"1\n").unwrap();
    assert!(matches!(
        memory.replay_page(Some(&cursor), 100),
        Err(Error::Log(LogError {
            cause: Cause::StaleCursor,
            ..
        }))
    ));
}

#[test]
fn text_that_is_not_a_cursor_is_refused() {
    let dir = test_dir("invalid_cursor");
    let mut memory = open(dir.path());
    match memory.replay_page(Some("line 3"), 100).unwrap_err() {
        Error::Log(LogError {
            cause: Cause::InvalidCursor,
            message,
        }) => {
            assert!(
                message.starts_with("\"line 3\" is not a cursor of this log"),
                "{message}"
            )
        }
        other => panic!("expected an invalid cursor, got {other:?}"),
    }
}

#[test]
fn paged_replay_works_where_the_guest_cannot_hold_the_log() {
    let dir = test_dir("bounded_memory");
    let record = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(1000));
    let count = 40_000; // about 40 MB
    write_log(dir.path(), record.repeat(count).as_bytes());
    let options = Options {
        max_guest_memory: 16 << 20,
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    let mut records = 0;
    for entry in memory.entries(None, 1 << 20) {
        assert_eq!(entry.unwrap().unwrap().len(), record.len() - 1);
        records += 1;
    }
    assert_eq!(records, count);
    // The whole-log replay needs more than 16 MiB of guest memory.
    match memory.replay() {
        Err(Error::Trap {
            kind: TrapKind::MemoryCap,
            message,
            ..
        }) => assert!(
            message.contains("over the cap of 16 MiB, and was stopped; nothing stored is lost"),
            "{message}"
        ),
        other => panic!("expected the memory cap to stop the replay, got {other:?}"),
    }
    // The Memory stays usable after the cap stopped a call.
    assert_eq!(memory.entries(None, 1 << 20).count(), count);
}
