//! Rule 2: a refused event is reported with its reason and index, and the
//! file is left byte for byte as it was.

use crate::common;
use crate::common::raw;

use common::{open, read_log, test_dir, write_log};
use pathway_host::{Cause, Error, InvalidJson, LogError, Memory, Options, TooLarge};

const STORED: &[u8] = b"{\"kept\":1}\n";

fn invalid_json(error: Error) -> InvalidJson {
    match error {
        Error::Log(LogError {
            cause: Cause::InvalidJson(e),
            ..
        }) => e,
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
        Error::Log(LogError {
            cause: Cause::TooLarge(TooLarge { index, size, limit }),
            ..
        }) => {
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
                "pathway append refused: the event is not exactly one JSON value: key must be \
                 a string at byte offset 1; nothing was stored"
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
        Error::Log(LogError {
            cause: Cause::TooLarge(t),
            ..
        }) => {
            assert_eq!((t.index, t.size, t.limit), (1, 5, 3))
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    assert_eq!(read_log(dir.path()), STORED);
}

#[test]
fn refusal_message_names_the_event_and_what_to_do() {
    let dir = test_dir("refusal_message");
    let mut memory = open(dir.path());
    let error = memory.append_batch(&["1", "{"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "event 1 of the batch is not exactly one JSON value: EOF while parsing an object at \
         byte offset 1; nothing was stored; fix the event and try again"
    );
    let error = memory.try_append("{").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the event is not exactly one JSON value: EOF while parsing an object at byte offset \
         1; nothing was stored; fix the event and try again"
    );
    let upto = memory.walk_to_end().unwrap();
    let error = memory.compact(&["[1]", "2", "[3"], &upto).unwrap_err();
    assert_eq!(
        error.to_string(),
        "snapshot event 2 is not exactly one JSON value: EOF while parsing a list at byte \
         offset 2; the log was not compacted and is as it was; fix the event and try again"
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
        // Refused when the log is opened, not at its first call.
        match Memory::open(dir.path(), options).unwrap_err() {
            Error::Log(LogError {
                cause: Cause::InvalidConfig,
                message,
            }) => {
                assert!(
                    message.starts_with(&format!("PATHWAY_LOG={name:?} cannot be used")),
                    "{message}"
                );
            }
            other => panic!("expected invalid-config for {name:?}, got {other:?}"),
        }
    }
    // A host that skips `open-log` gets the same error from every call.
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    wasi.preopened_dir(dir.path(), "/", wasmtime_wasi::FsPerms::ReadWrite)
        .unwrap()
        .env("PATHWAY_LOG", "../escape.jsonl");
    let (pathway, mut store) = raw::instantiate(pathway_host::COMPONENT_BYTES, wasi);
    let log = pathway.pathway_memory_log();
    let appended = log.call_try_append(&mut store, "1").unwrap().unwrap_err();
    let replayed = log.call_replay_entries(&mut store).unwrap().unwrap_err();
    for error in [appended, replayed] {
        assert!(
            matches!(error.cause, raw::Cause::InvalidConfig),
            "{error:?}"
        );
        assert!(error.message.starts_with("PATHWAY_LOG=\"../escape.jsonl\""));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(!dir.path().parent().unwrap().join("escape.jsonl").exists());
}
