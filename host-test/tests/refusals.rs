//! Rule 2: a refused event is reported with its reason and index, and the
//! file is left byte for byte as it was.

mod common;

use common::{open, read_log, test_dir, write_log};
use pathway_host::{AppendError, Error, InvalidJson, Memory, Options, TooLarge};

const STORED: &[u8] = b"{\"kept\":1}\n";

fn invalid_json(error: Error) -> InvalidJson {
    match error {
        Error::Refused(AppendError::InvalidJson(e)) => e,
        other => panic!("expected an invalid-json refusal, got {other:?}"),
    }
}

#[test]
fn refused_appends_leave_the_file_byte_for_byte_unchanged() {
    let dir = test_dir("refused_unchanged");
    write_log(dir.path(), STORED);
    let mut memory = open(dir.path());
    let cases = [
        ("", 0, "EOF while parsing a value"),
        ("   ", 3, "EOF while parsing a value"),
        ("{} x", 3, "trailing characters"),
        ("1 2", 2, "trailing characters"),
        ("NaN", 0, "expected value"),
        (r#""\q""#, 2, "invalid escape"),
        ("{\"a\":", 5, "EOF while parsing a value"),
        (
            "\"raw\nnewline\"",
            3,
            "control character (\\u0000-\\u001F) found while parsing a string",
        ),
    ];
    for (event, offset, reason) in cases {
        let refused = invalid_json(memory.try_append(event).unwrap_err());
        assert_eq!(
            (refused.index, refused.offset, refused.reason.as_str()),
            (0, offset, reason),
            "event {event:?}"
        );
        assert_eq!(read_log(dir.path()), STORED, "event {event:?}");
    }
}

#[test]
fn event_over_the_limit_is_refused_with_size_and_limit() {
    let dir = test_dir("too_large");
    write_log(dir.path(), STORED);
    let options = Options {
        max_line: Some(10),
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    memory.try_append("[1,2,3,4]").unwrap();
    match memory.try_append("[1,2,3,4,5]").unwrap_err() {
        Error::Refused(AppendError::TooLarge(TooLarge { index, size, limit })) => {
            assert_eq!((index, size, limit), (0, 11, 10));
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    assert_eq!(read_log(dir.path()), b"{\"kept\":1}\n[1,2,3,4]\n");
}

#[test]
fn append_traps_with_the_reason_and_the_memory_stays_usable() {
    let dir = test_dir("append_trap");
    let mut memory = open(dir.path());
    match memory.append("{oops}").unwrap_err() {
        Error::Trap { stderr, .. } => assert!(
            stderr.contains(
                "pathway append refused: event 0: event is not exactly one JSON value: \
                 key must be a string at byte offset 1"
            ),
            "stderr: {stderr}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(!dir.path().join(common::LOG).exists());
    memory.append("{\"after\":true}").unwrap();
    assert_eq!(read_log(dir.path()), b"{\"after\":true}\n");
}

#[test]
fn batch_with_one_bad_event_stores_nothing_and_names_its_index() {
    let dir = test_dir("batch_refused");
    write_log(dir.path(), STORED);
    let mut memory = open(dir.path());
    let refused = invalid_json(memory.append_batch(&["1", "2", "{", "4"]).unwrap_err());
    assert_eq!((refused.index, refused.offset), (2, 1));
    let options = Options {
        max_line: Some(3),
        ..Options::default()
    };
    let mut small = Memory::open(dir.path(), options).unwrap();
    match small.append_batch(&["1", "[1,2]"]).unwrap_err() {
        Error::Refused(AppendError::TooLarge(t)) => {
            assert_eq!((t.index, t.size, t.limit), (1, 5, 3))
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    assert_eq!(read_log(dir.path()), STORED);
}

#[test]
fn refusal_message_names_the_event_and_what_to_do() {
    let dir = test_dir("refusal_message");
    let error = open(dir.path()).append_batch(&["1", "{"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "event 1 is not exactly one JSON value: EOF while parsing an object at byte offset 1; \
         nothing was stored"
    );
}

#[test]
fn unusable_configuration_is_refused_and_nothing_is_written() {
    let dir = test_dir("bad_config");
    for name in ["../escape.jsonl", "/etc/passwd", "", ".", "a/b"] {
        let options = Options {
            log_name: Some(name.into()),
            ..Options::default()
        };
        let mut memory = Memory::open(dir.path(), options).unwrap();
        match memory.try_append("1").unwrap_err() {
            Error::Refused(AppendError::InvalidConfig(message)) => {
                assert!(
                    message.starts_with(&format!("PATHWAY_LOG={name:?} cannot be used")),
                    "{message}"
                );
            }
            other => panic!("expected invalid-config for {name:?}, got {other:?}"),
        }
        match memory.replay().unwrap_err() {
            Error::Unreadable(message) => assert!(message.starts_with("PATHWAY_LOG="), "{message}"),
            other => panic!("expected unreadable, got {other:?}"),
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(!dir.path().parent().unwrap().join("escape.jsonl").exists());
}
