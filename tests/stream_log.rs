//! The log on a stream (`stream::log`), natively against the in-memory
//! store (`stream::mem`): what every host runs over NATS JetStream.

use pathway_memory::config::Config;
use pathway_memory::cursor::CursorError;
use pathway_memory::error::{Call, EventError};
use pathway_memory::stream::Topic;
use pathway_memory::stream::error::{RemoteError, Stored};
use pathway_memory::stream::log::{StreamLog, StreamLogError};
use pathway_memory::stream::mem::{Faults, MemStream};
use proptest::prelude::*;

fn config() -> Config {
    Config::from_vars(|_| None).unwrap()
}

fn open(stream: &MemStream) -> StreamLog<MemStream> {
    StreamLog::open(stream.clone(), config()).unwrap()
}

/// Every entry from the beginning, `budget` bytes a page: records as
/// text, damaged lines as their message.
fn replay(log: &mut StreamLog<MemStream>, budget: u64) -> Vec<Result<String, String>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = log.page(cursor.as_deref(), budget).unwrap();
        out.extend(
            page.entries
                .into_iter()
                .map(|e| e.record.map_err(|d| d.to_string())),
        );
        if page.at_end {
            return out;
        }
        cursor = Some(page.next);
    }
}

fn records(log: &mut StreamLog<MemStream>) -> Vec<String> {
    replay(log, 1 << 20)
        .into_iter()
        .map(|e| e.expect("no damaged entry"))
        .collect()
}

fn end_cursor(log: &mut StreamLog<MemStream>) -> String {
    let mut cursor: Option<String> = None;
    loop {
        let page = log.page(cursor.as_deref(), 1 << 20).unwrap();
        if page.at_end {
            return page.next;
        }
        cursor = Some(page.next);
    }
}

#[test]
fn appends_and_batches_read_back_in_order_at_any_page_size() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Append, &["{\"a\":1}"]).unwrap();
    log.append(Call::Batch, &["2", " [3] ", "\"four\""])
        .unwrap();
    let want = ["{\"a\":1}", "2", " [3] ", "\"four\""];
    for budget in [1, 2, 5, 1 << 20] {
        let got: Vec<_> = replay(&mut log, budget)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, want, "budget {budget}");
    }
}

#[test]
fn a_refused_event_stores_nothing_of_its_batch() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    let e = log.append(Call::Batch, &["1", "{", "3"]).unwrap_err();
    assert!(
        matches!(
            e,
            StreamLogError::Refused {
                call: Call::Batch,
                index: 1,
                error: EventError::InvalidJson { .. }
            }
        ),
        "{e:?}"
    );
    assert!(stream.payloads(Topic::Events).is_empty());
}

#[test]
fn an_append_whose_acks_were_lost_is_stored_once_when_called_again() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    stream.inject(Faults {
        lost_acks: 1,
        ..Faults::default()
    });
    let e = log.append(Call::Batch, &["1", "2"]).unwrap_err();
    let StreamLogError::Remote(RemoteError::ServerGone { stored, .. }) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*stored, Stored::Partly { acked: 0, total: 2 });
    assert!(e_text(&e).contains("call again with the same events"));
    // The same events again: the store already has them, under the same ids.
    log.append(Call::Batch, &["1", "2"]).unwrap();
    // Other events after a settled call get new ids: "1" twice is two records.
    log.append(Call::Append, &["1"]).unwrap();
    assert_eq!(records(&mut log), ["1", "2", "1"]);
}

fn e_text(e: &StreamLogError) -> String {
    match e {
        StreamLogError::Remote(r) => r.to_string(),
        StreamLogError::Cursor(c) => c.to_string(),
        StreamLogError::Refused { error, .. } => error.to_string(),
        StreamLogError::Quota(q) => q.to_string(),
    }
}

#[test]
fn two_writers_on_one_stream_never_share_an_id() {
    let stream = MemStream::new("s");
    let (mut a, mut b) = (open(&stream), open(&stream));
    for i in 0..50 {
        a.append(Call::Append, &[format!("{i}")]).unwrap();
        b.append(Call::Append, &[format!("{i}")]).unwrap();
    }
    assert_eq!(records(&mut a).len(), 100);
}

#[test]
fn compaction_keeps_what_follows_its_cursor_and_makes_cursors_before_it_stale() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Batch, &["1", "2", "3"]).unwrap();
    let upto = end_cursor(&mut log);
    let early = log.page(None, 1).unwrap().next;
    log.append(Call::Append, &["4"]).unwrap();
    let report = log.compact(&["{\"sum\":6}"], &upto).unwrap();
    assert_eq!(report.snapshot_records, 1);
    assert_eq!(report.kept_bytes, 2);
    // Sizes as lines, as check counts them: "1\n2\n3\n4\n", then
    // "{\"sum\":6}\n4\n".
    assert_eq!((report.bytes_before, report.bytes_after), (8, 12));
    assert_eq!(records(&mut log), ["{\"sum\":6}", "4"]);
    // The folded events are purged, and so is nothing else.
    assert_eq!(stream.payloads(Topic::Events), [b"4".to_vec()]);
    let e = log.page(Some(&early), 100).unwrap_err();
    assert!(
        matches!(e, StreamLogError::Cursor(CursorError::Stale { .. })),
        "{e:?}"
    );
    // A cursor at or past the compaction's point reads on.
    assert!(log.page(Some(&upto), 100).is_ok());
    // A second compaction over the first's snapshot, then an empty one.
    let upto = end_cursor(&mut log);
    log.compact(&["{\"sum\":10}"], &upto).unwrap();
    assert_eq!(records(&mut log), ["{\"sum\":10}"]);
    let upto = end_cursor(&mut log);
    log.compact::<&str>(&[], &upto).unwrap();
    assert!(records(&mut log).is_empty());
    log.append(Call::Append, &["5"]).unwrap();
    assert_eq!(records(&mut log), ["5"]);
    assert_eq!(stream.payloads(Topic::Snapshot).len(), 0);
    assert_eq!(stream.payloads(Topic::Commit).len(), 1);
}

#[test]
fn a_compaction_that_stops_before_its_commit_changes_nothing_a_reader_sees() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Batch, &["1", "2"]).unwrap();
    let upto = end_cursor(&mut log);
    stream.inject(Faults {
        fail_publish_on: Some(Topic::Commit),
        ..Faults::default()
    });
    let e = log.compact(&["\"snap\""], &upto).unwrap_err();
    assert!(matches!(
        e,
        StreamLogError::Remote(RemoteError::ServerGone { .. })
    ));
    assert_eq!(records(&mut log), ["1", "2"]);
    let report = log.check().unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(
        report.leftovers,
        [
            "pathway.s.snapshot (1 message of a compaction that did not commit; replay ignores \
          them and the next compaction purges them)"
        ]
    );
    // The cursor still fits: nothing committed. The next compaction
    // purges the orphan.
    log.compact(&["\"snap2\""], &upto).unwrap();
    assert_eq!(records(&mut log), ["\"snap2\""]);
    assert!(log.check().unwrap().leftovers.is_empty());
}

#[test]
fn a_compaction_that_stops_after_its_commit_is_already_in_force() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Batch, &["1", "2"]).unwrap();
    let upto = end_cursor(&mut log);
    stream.inject(Faults {
        fail_purge: true,
        ..Faults::default()
    });
    let e = log.compact(&["\"snap\""], &upto).unwrap_err();
    let StreamLogError::Remote(RemoteError::ServerGone { stored, .. }) = e else {
        panic!("{e:?}")
    };
    assert_eq!(stored, Stored::CommittedNotPurged);
    assert_eq!(records(&mut log), ["\"snap\""]);
    log.append(Call::Append, &["3"]).unwrap();
    let upto = end_cursor(&mut log);
    log.compact(&["\"all\""], &upto).unwrap();
    assert_eq!(records(&mut log), ["\"all\""]);
    assert!(stream.payloads(Topic::Events).is_empty());
}

#[test]
fn a_compaction_whose_cursor_was_made_before_another_commit_is_stale() {
    let stream = MemStream::new("s");
    let (mut a, mut b) = (open(&stream), open(&stream));
    a.append(Call::Batch, &["1", "2"]).unwrap();
    let upto_a = end_cursor(&mut a);
    let upto_b = end_cursor(&mut b);
    a.compact(&["\"a\""], &upto_a).unwrap();
    let e = b.compact(&["\"b\""], &upto_b).unwrap_err();
    // b's cursor was made under the old commit: stale, before it publishes.
    assert!(
        matches!(e, StreamLogError::Cursor(CursorError::Stale { .. })),
        "{e:?}"
    );
    assert_eq!(records(&mut b), ["\"a\""]);
}

#[test]
fn of_two_compactions_racing_to_commit_the_second_is_busy_and_changes_nothing() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Batch, &["1", "2"]).unwrap();
    let upto = end_cursor(&mut log);
    // Another writer's commit lands between this compaction's read of
    // the commit in force and its own commit.
    stream.inject(Faults {
        commit_first: true,
        ..Faults::default()
    });
    let e = log.compact(&["\"mine\""], &upto).unwrap_err();
    assert!(
        matches!(e, StreamLogError::Remote(RemoteError::Raced { .. })),
        "{e:?}"
    );
    assert!(e_text(&e).starts_with("another compaction or repair of stream \"s\" committed first"));
    // Nothing of the loser was purged: its events are all there.
    assert_eq!(
        stream.payloads(Topic::Events),
        [b"1".to_vec(), b"2".to_vec()]
    );
}

#[test]
fn a_hand_published_message_is_a_damaged_line_that_repair_quarantines() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Append, &["1"]).unwrap();
    stream.publish_raw(Topic::Events, b"not json");
    stream.publish_raw(Topic::Events, b"\xff\xfe");
    log.append(Call::Append, &["4"]).unwrap();
    let old = end_cursor(&mut log);
    let got = replay(&mut log, 1 << 20);
    assert_eq!(got[0], Ok("1".to_string()));
    assert!(
        got[1]
            .as_ref()
            .unwrap_err()
            .starts_with("line 2: at byte offset 2: ")
    );
    assert!(
        got[2]
            .as_ref()
            .unwrap_err()
            .starts_with("line 3: at byte offset 11: ")
    );
    assert_eq!(got[3], Ok("4".to_string()));
    let report = log.check().unwrap();
    assert_eq!((report.records, report.damaged.len()), (2, 2));
    assert_eq!(report.bytes, 2 + 9 + 3 + 2);
    let (sizes, removed, quarantine) = log.repair().unwrap();
    assert_eq!(removed.len(), 2);
    assert_eq!((sizes.bytes_before, sizes.bytes_after), (16, 4));
    assert_eq!(quarantine, "subject pathway.s.quarantine of stream s");
    assert_eq!(records(&mut log), ["1", "4"]);
    assert_eq!(
        stream.payloads(Topic::Quarantine),
        [b"not json".to_vec(), b"\xff\xfe".to_vec()]
    );
    // Sequences stay what they were: a cursor past the repaired messages
    // reads on (on a file log a repair moves lines, and cursors go stale).
    let page = log.page(Some(&old), 10).unwrap();
    assert!(page.entries.is_empty() && page.at_end);
    log.append(Call::Append, &["5"]).unwrap();
    let page = log.page(Some(&old), 10).unwrap();
    assert_eq!(page.entries[0].record, Ok("5".to_string()));
    // A clean log is left untouched: no new commit.
    let commits = stream.payloads(Topic::Commit).len();
    let (_, removed, _) = log.repair().unwrap();
    assert!(removed.is_empty());
    assert_eq!(stream.payloads(Topic::Commit).len(), commits);
}

#[test]
fn a_message_over_the_stores_limit_is_refused_before_anything_is_sent() {
    let mut stream = MemStream::new("s");
    stream.max_payload = 100;
    let mut log = open(&stream);
    let big = format!("\"{}\"", "x".repeat(100));
    let e = log.append(Call::Batch, &["1", big.as_str()]).unwrap_err();
    assert!(
        matches!(
            e,
            StreamLogError::Remote(RemoteError::OverMaxPayload { index: 1, .. })
        ),
        "{e:?}"
    );
    assert!(stream.payloads(Topic::Events).is_empty());
}

#[test]
fn a_missing_stream_or_an_absent_server_fails_the_open_with_what_to_do() {
    let mut stream = MemStream::new("s");
    stream.missing = true;
    let Err(StreamLogError::Remote(e)) = StreamLog::open(stream, config()) else {
        panic!()
    };
    assert!(
        e.to_string()
            .starts_with("the JetStream stream \"s\" does not exist on mem://test; create it")
    );
    let stream = MemStream::new("s");
    stream.inject(Faults {
        unavailable: 1,
        ..Faults::default()
    });
    let Err(StreamLogError::Remote(e)) = StreamLog::open(stream, config()) else {
        panic!()
    };
    assert!(
        e.to_string()
            .starts_with("no NATS server answers at mem://test: "),
        "{e}"
    );
}

#[test]
fn a_page_costs_one_read_of_the_store() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    let events: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    log.append(Call::Batch, &events).unwrap();
    let before = stream.calls().len();
    let page = log.page(None, 1 << 20).unwrap();
    assert!(page.at_end);
    assert_eq!(page.entries.len(), 1000);
    assert_eq!(&stream.calls()[before..], ["last commit", "read events"]);
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Compact,
    LostAcks(Vec<u8>),
    Garbage,
    Repair,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 1..4).prop_map(Op::Append),
        1 => Just(Op::Compact),
        1 => proptest::collection::vec(any::<u8>(), 1..3).prop_map(Op::LostAcks),
        1 => Just(Op::Garbage),
        1 => Just(Op::Repair),
    ]
}

proptest! {
    /// Any mix of appends, lost acks retried, compactions (the snapshot
    /// folds the log into one record: the list so far), hand-published
    /// garbage and repairs: replay is the model's records, at any page
    /// size.
    #[test]
    fn replay_matches_a_model_of_the_log(ops in proptest::collection::vec(op(), 1..40), budget in 1u64..64) {
        let stream = MemStream::new("p");
        let mut log = open(&stream);
        let mut model: Vec<Result<String, ()>> = Vec::new();
        for op in ops {
            match op {
                Op::Append(values) => {
                    let events: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                    log.append(Call::Batch, &events).unwrap();
                    model.extend(events.into_iter().map(Ok));
                }
                Op::LostAcks(values) => {
                    let events: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                    stream.inject(Faults { lost_acks: 1, ..Faults::default() });
                    prop_assert!(log.append(Call::Batch, &events).is_err());
                    log.append(Call::Batch, &events).unwrap();
                    model.extend(events.into_iter().map(Ok));
                }
                Op::Compact => {
                    let upto = end_cursor(&mut log);
                    let folded: Vec<String> = model.iter().filter_map(|r| r.clone().ok()).collect();
                    let snapshot = serde_json::to_string(&folded).unwrap();
                    log.compact(&[snapshot.as_str()], &upto).unwrap();
                    model = vec![Ok(snapshot)];
                }
                Op::Garbage => {
                    stream.publish_raw(Topic::Events, b"{oops");
                    model.push(Err(()));
                }
                Op::Repair => {
                    log.repair().unwrap();
                    model.retain(Result::is_ok);
                }
            }
            let got: Vec<Result<String, ()>> = replay(&mut log, budget)
                .into_iter()
                .map(|e| e.map_err(|_| ()))
                .collect();
            prop_assert_eq!(&got, &model);
            for count in [0, 1, 3, model.len(), model.len() + 2] {
                let (last, end) = log.last(count).unwrap();
                let last: Vec<Result<String, ()>> =
                    last.into_iter().map(|e| e.record.map_err(|_| ())).collect();
                prop_assert_eq!(&last[..], &model[model.len().saturating_sub(count)..]);
                let page = log.page(Some(&end), 1 << 20).unwrap();
                prop_assert!(page.entries.is_empty() && page.at_end);
            }
        }
    }
}

#[test]
fn the_cursor_of_last_reads_what_comes_later_and_a_compaction_refuses_it() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    log.append(Call::Batch, &["1", "2", "3"]).unwrap();
    let upto = end_cursor(&mut log);
    log.compact(&["[1,2,3]"], &upto).unwrap();
    log.append(Call::Batch, &["4"]).unwrap();
    stream.publish_raw(Topic::Events, b"{oops");
    let (last, end) = log.last(3).unwrap();
    let shown: Vec<_> = last
        .into_iter()
        .map(|e| e.record.map_err(|d| d.to_string()))
        .collect();
    assert_eq!(
        shown,
        [
            Ok("[1,2,3]".to_string()),
            Ok("4".to_string()),
            Err(
                "line read backwards from the end: not exactly one JSON value: key must be \
                 a string at byte 1 of the line; skipped, the other records are unaffected"
                    .to_string()
            )
        ]
    );
    log.append(Call::Batch, &["5", "6"]).unwrap();
    let page = log.page(Some(&end), 1 << 20).unwrap();
    let later: Vec<_> = page
        .entries
        .into_iter()
        .map(|e| e.record.unwrap())
        .collect();
    assert_eq!(later, ["5", "6"]);
    let refused = log.compact(&["[]"], &end).unwrap_err();
    assert!(
        matches!(refused, StreamLogError::Cursor(CursorError::Stale { .. })),
        "{refused:?}"
    );
}

#[test]
fn last_reads_a_window_at_the_end_not_the_whole_log() {
    let stream = MemStream::new("s");
    let mut log = open(&stream);
    let events: Vec<String> = (0..5_000).map(|i| i.to_string()).collect();
    log.append(Call::Batch, &events).unwrap();
    let before = stream.calls().len();
    let (last, _) = log.last(10).unwrap();
    let texts: Vec<_> = last.into_iter().map(|e| e.record.unwrap()).collect();
    assert_eq!(
        texts,
        (4_990..5_000).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    let calls = &stream.calls()[before..];
    assert!(calls.len() <= 4, "{calls:?}");
}
