//! Compaction on a stream: nothing published after the cursor is lost,
//! cursors at or after it read on and those before it are stale, and the states a crash between the steps
//! leaves (a snapshot published but not committed; committed but not
//! purged) replay correctly.

use crate::support as nats_support;

use nats_support::{Server, open, publish_with};
use pathway_host::{Cause, Error, Memory};

fn records(log: &mut Memory) -> Vec<String> {
    log.replay()
        .unwrap()
        .into_iter()
        .map(|e| e.unwrap())
        .collect()
}

/// The cursor after the first `n` records.
fn cursor_after(log: &mut Memory, n: usize) -> String {
    let mut cursor = None;
    for _ in 0..n {
        let page = log.replay_page(cursor.as_deref(), 1).unwrap();
        assert_eq!(page.entries.len(), 1);
        cursor = Some(page.next);
    }
    cursor.unwrap()
}

#[test]
fn compaction_keeps_what_was_published_after_the_cursor() {
    let server = Server::single("compact_keeps");
    let mut log = open(&server.url(), "c", 1);
    log.append_batch(&["1", "2", "3", "4"]).unwrap();
    let upto = cursor_after(&mut log, 2);
    // Another host appends after the cursor was taken.
    open(&server.url(), "c", 1).try_append("5").unwrap();
    let report = log.compact(&[r#"{"sum":3}"#], &upto).unwrap();
    assert_eq!((report.snapshot_records, report.kept_bytes), (1, 6));
    assert_eq!(records(&mut log), [r#"{"sum":3}"#, "3", "4", "5"]);
    // The compaction's own cursor reads on after it (sequences stay);
    // one before it no longer fits.
    let page = log.replay_page(Some(&upto), 100).unwrap();
    assert_eq!(
        page.entries,
        [Ok("3".into()), Ok("4".into()), Ok("5".into())]
    );
    let early = cursor_after(&mut log, 1);
    let end = log.walk_to_end().unwrap();
    log.compact(&[r#"{"sum":6}"#], &end).unwrap();
    let Err(Error::Log(e)) = log.replay_page(Some(&early), 100) else {
        panic!("a cursor into the snapshot was resumed");
    };
    assert_eq!(e.cause, Cause::StaleCursor);
    // Compacting again, up to the end, leaves only the new snapshot.
    let end = log.walk_to_end().unwrap();
    log.compact(&["\"all\""], &end).unwrap();
    assert_eq!(records(&mut log), ["\"all\""]);
    log.try_append("6").unwrap();
    assert_eq!(records(&mut log), ["\"all\"", "6"]);
}

#[test]
fn a_snapshot_published_but_not_committed_is_ignored() {
    let server = Server::single("compact_uncommitted");
    let mut log = open(&server.url(), "u", 1);
    log.append_batch(&["1", "2"]).unwrap();
    // A compaction that crashed after step 1.
    publish_with(
        &server.url(),
        "pathway.u.snapshot",
        "\"half\"",
        &[("Pathway-Snapshot", "crashed")],
    );
    assert_eq!(records(&mut log), ["1", "2"]);
    assert_eq!(
        log.check().unwrap().leftovers,
        [
            "pathway.u.snapshot (1 message of a compaction that did not commit; replay ignores \
          them and the next compaction purges them)"
        ]
    );
    // The next compaction commits its own snapshot and purges the other.
    let end = log.walk_to_end().unwrap();
    log.compact(&["\"whole\""], &end).unwrap();
    assert_eq!(records(&mut log), ["\"whole\""]);
    assert!(log.check().unwrap().leftovers.is_empty());
}

#[test]
fn a_snapshot_committed_but_not_purged_replays_correctly() {
    let server = Server::single("compact_unpurged");
    let url = server.url();
    let mut log = open(&url, "p", 1);
    log.append_batch(&["1", "2", "3"]).unwrap(); // sequences 1, 2, 3
    // A compaction up to sequence 2 that crashed after step 2.
    let first = publish_with(
        &url,
        "pathway.p.snapshot",
        "\"s\"",
        &[("Pathway-Snapshot", "k")],
    );
    let first = first.to_string();
    publish_with(
        &url,
        "pathway.p.commit",
        "",
        &[
            ("Pathway-Snapshot", "k"),
            ("Pathway-First", &first),
            ("Pathway-Count", "1"),
            ("Pathway-Upto", "2"),
        ],
    );
    assert_eq!(records(&mut log), ["\"s\"", "3"]);
    log.try_append("4").unwrap();
    assert_eq!(records(&mut log), ["\"s\"", "3", "4"]);
}
