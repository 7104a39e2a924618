//! Rules 1, 3 and 4 through the real component: what goes in comes back,
//! one line per record, across instances.

use crate::common;

use common::{LOG, ok, open, read_log, test_dir};
use pathway_host::{Memory, Options};

#[test]
fn round_trip_returns_every_record_in_order() {
    let dir = test_dir("round_trip");
    let mut memory = open(dir.path());
    let events = [
        r#"{"op":"a"}"#,
        "[1,2,3]",
        "\"text\"",
        "42",
        "-0.5e10",
        "true",
        "false",
        "null",
    ];
    for event in events {
        memory.try_append(event).unwrap();
    }
    assert_eq!(memory.replay().unwrap(), events.map(ok));
    assert_eq!(
        read_log(dir.path()),
        (events.join("\n") + "\n").into_bytes()
    );
}

#[test]
fn records_survive_a_new_instance() {
    let dir = test_dir("restart");
    open(dir.path()).try_append(r#"{"n":1}"#).unwrap();
    let mut second = open(dir.path());
    second.try_append(r#"{"n":2}"#).unwrap();
    drop(second);
    assert_eq!(
        open(dir.path()).replay().unwrap(),
        vec![ok(r#"{"n":1}"#), ok(r#"{"n":2}"#)]
    );
}

#[test]
fn append_through_the_trapping_call_stores_valid_events() {
    let dir = test_dir("append_ok");
    let mut memory = open(dir.path());
    memory.append("{}").unwrap();
    memory.append("[]").unwrap();
    assert_eq!(read_log(dir.path()), b"{}\n[]\n");
}

#[test]
fn pretty_json_is_stored_on_one_line_with_the_same_value() {
    let dir = test_dir("pretty");
    let mut memory = open(dir.path());
    let pretty = "{\r\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"x\\ny\"\n}";
    memory.try_append(pretty).unwrap();
    let stored = "{  \"a\": [    1,    2  ],  \"b\": \"x\\ny\"}";
    assert_eq!(read_log(dir.path()), format!("{stored}\n").into_bytes());
    let entries = memory.replay().unwrap();
    assert_eq!(entries, vec![ok(stored)]);
    let back: serde_json::Value = serde_json::from_str(stored).unwrap();
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(pretty).unwrap()
    );
}

#[test]
fn batch_is_stored_in_order_as_one_block() {
    let dir = test_dir("batch");
    let mut memory = open(dir.path());
    memory.try_append("0").unwrap();
    memory.append_batch(&["1", "{\"two\":2}", "[3]"]).unwrap();
    memory.append_batch::<&str>(&[]).unwrap();
    assert_eq!(read_log(dir.path()), b"0\n1\n{\"two\":2}\n[3]\n");
}

#[test]
fn records_larger_than_one_blocking_write_round_trip() {
    // 4096 bytes is the cap of blocking-write-and-flush and 64 KiB is
    // wasmtime's write permit: records on both sides of each.
    let dir = test_dir("large_records");
    let mut memory = open(dir.path());
    let sizes = [4094, 4095, 4096, 65_534, 65_535, 65_536, 300_000];
    let events: Vec<String> = sizes
        .iter()
        .map(|n| format!("\"{}\"", "x".repeat(n - 2)))
        .collect();
    for event in &events {
        memory.try_append(event).unwrap();
    }
    memory.append_batch(&events).unwrap();
    let expected: Vec<_> = events.iter().chain(&events).map(|e| ok(e)).collect();
    assert_eq!(memory.replay().unwrap(), expected);
}

#[test]
fn log_name_and_guest_path_come_from_the_options() {
    let dir = test_dir("options");
    for guest_path in [".", "/", "/data"] {
        let options = Options {
            log_name: Some("agent.jsonl".into()),
            guest_path: guest_path.into(),
            ..Options::default()
        };
        let mut memory = Memory::open(dir.path(), options).unwrap();
        memory.try_append(&format!("{guest_path:?}")).unwrap();
    }
    assert!(!dir.path().join(LOG).exists());
    assert_eq!(
        std::fs::read(dir.path().join("agent.jsonl")).unwrap(),
        b"\".\"\n\"/\"\n\"/data\"\n"
    );
}
