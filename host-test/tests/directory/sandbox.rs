//! Rule 7 and the sandbox: what the component does with a read-only
//! directory, no directory at all, and names that try to leave it.

use crate::common;

use common::{LOG, figures, ok, test_dir, write_log};
use pathway_host::{COMPONENT_BYTES, Cause, Error, LogError, Memory, Options, TrapKind};
use wasmtime_wasi::WasiCtxBuilder;

use crate::common::raw;

/// The component's message, once its cause is the one expected.
fn failure(error: Error, expected: Cause) -> String {
    match error {
        Error::Log(LogError { cause, message }) if cause == expected => message,
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[test]
fn read_only_preopen_gives_a_clear_error_and_writes_nothing() {
    let dir = test_dir("read_only");
    write_log(dir.path(), b"1\n");
    let options = Options {
        read_only: true,
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    let message = failure(memory.try_append("2").unwrap_err(), Cause::AccessDenied);
    assert!(
        message.starts_with("cannot open \"pathway.jsonl\" in the granted directory: ")
            && message.ends_with("grant write access to change the log"),
        "{message}"
    );
    assert_eq!(memory.replay().unwrap(), vec![ok("1")]);
    assert_eq!(std::fs::read(dir.path().join(LOG)).unwrap(), b"1\n");
}

#[test]
fn no_directory_granted_is_an_error_not_an_empty_log() {
    // Built by hand: the host library always grants a directory.
    let (pathway, mut store) = raw::instantiate(COMPONENT_BYTES, WasiCtxBuilder::new());
    let log = pathway.pathway_memory_log();

    let expected = "no directory is granted: the host preopened none; preopen exactly one directory for the log";
    let replay = log.call_replay(&mut store).unwrap();
    assert_eq!(replay, vec![Err(expected.to_string())]);
    for error in [
        log.call_try_append(&mut store, "1").unwrap().unwrap_err(),
        log.call_replay_entries(&mut store).unwrap().unwrap_err(),
        log.call_open_log(&mut store).unwrap().unwrap_err(),
    ] {
        assert_eq!(error.cause, raw::Cause::NoDirectory);
        assert_eq!(error.message, expected);
    }
}

#[test]
fn a_directory_removed_after_opening_is_not_an_empty_log() {
    let dir = test_dir("dir_removed");
    let mut memory = open_default(dir.path());
    std::fs::remove_dir(dir.path()).unwrap();
    let message = failure(memory.replay().unwrap_err(), Cause::NoDirectory);
    assert!(
        message.starts_with("the granted directory \"/\" is no longer usable"),
        "{message}"
    );
}

#[test]
fn log_name_that_is_a_directory_is_refused() {
    let dir = test_dir("log_is_dir");
    std::fs::create_dir(dir.path().join(LOG)).unwrap();
    let mut memory = open_default(dir.path());
    let message = failure(memory.try_append("1").unwrap_err(), Cause::NotAFile);
    assert!(
        message.starts_with("cannot open \"pathway.jsonl\" in the granted directory: "),
        "{message}"
    );
    assert_eq!(
        failure(memory.replay().unwrap_err(), Cause::NotAFile),
        "\"pathway.jsonl\" in the granted directory is not a regular file; remove it or set \
         PATHWAY_LOG to another name"
    );
}

#[test]
fn symlink_log_pointing_outside_is_refused_and_the_target_untouched() {
    let outside = test_dir("symlink_target");
    let target = outside.path().join("secret.jsonl");
    std::fs::write(&target, b"\"secret\"\n").unwrap();
    let dir = test_dir("symlink_log");
    std::os::unix::fs::symlink(&target, dir.path().join(LOG)).unwrap();
    let mut memory = open_default(dir.path());
    let message = failure(memory.try_append("1").unwrap_err(), Cause::NotAFile);
    assert!(
        message.starts_with("cannot open \"pathway.jsonl\" in the granted directory: "),
        "{message}"
    );
    let message = failure(memory.replay().unwrap_err(), Cause::NotAFile);
    assert!(
        message.ends_with("the log must not be a symbolic link"),
        "{message}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"\"secret\"\n");
}

fn open_default(dir: &std::path::Path) -> Memory {
    Memory::open(dir, Options::default()).unwrap()
}

#[test]
fn replay_larger_than_the_transfer_limit_fails_clearly() {
    let dir = test_dir("transfer_limit");
    write_log(dir.path(), "\"0123456789\"\n".repeat(1000).as_bytes());
    let options = Options {
        max_transfer_bytes: 4096,
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    match memory.replay().unwrap_err() {
        Error::Trap { message, .. } => assert!(
            message.contains("too much data is being copied"),
            "{message}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    // The memory stays usable after the failed call.
    memory.try_append("1").unwrap();
}

#[test]
fn a_call_past_its_deadline_stops_with_a_clear_error() {
    let dir = test_dir("deadline");
    write_log(
        dir.path(),
        "{\"pad\":\"0123456789\"}\n".repeat(2_000_000).as_bytes(),
    );
    let options = Options {
        call_timeout: std::time::Duration::from_millis(50),
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    match memory.replay().unwrap_err() {
        Error::Trap {
            kind: TrapKind::Deadline,
            message,
            ..
        } => assert!(
            message.starts_with("the call ran longer than the deadline of 50 ms"),
            "{message}"
        ),
        other => panic!("expected a deadline trap, got {other:?}"),
    }
    // The memory stays usable: short calls still fit the deadline.
    memory.try_append("1").unwrap();
}

/// Every file and symlink under `root`: path, kind, content or target, and
/// modification time, to compare before and after.
fn tree(root: &std::path::Path) -> Vec<(String, String, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let (kind, content) = if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                ("link", target.into_os_string().into_encoded_bytes())
            } else if meta.is_dir() {
                stack.push(path.clone());
                ("dir", Vec::new())
            } else {
                ("file", std::fs::read(&path).unwrap())
            };
            let name = path.strip_prefix(root).unwrap().display().to_string();
            out.push((name, kind.to_string(), content, meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

/// Runs every operation of the interface on a raw instance (no `open-log`
/// first, as a host might); returns their errors.
fn try_everything(dir: &std::path::Path, name: &str, cursor: &str) -> Vec<raw::LogError> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.preopened_dir(dir, "/", wasmtime_wasi::FsPerms::ReadWrite)
        .unwrap()
        .env("PATHWAY_LOG", name);
    let (pathway, mut store) = raw::instantiate(COMPONENT_BYTES, wasi);
    let log = pathway.pathway_memory_log();
    let store = &mut store;
    let snapshot = ["{\"s\":1}".to_string()];
    let results = [
        log.call_try_append(&mut *store, "{\"escaped\":true}")
            .unwrap()
            .map(drop),
        log.call_append_batch(&mut *store, &["1".into(), "2".into()])
            .unwrap()
            .map(drop),
        log.call_replay_entries(&mut *store).unwrap().map(drop),
        log.call_replay_page(&mut *store, None, 1024)
            .unwrap()
            .map(drop),
        log.call_check(&mut *store).unwrap().map(drop),
        log.call_compact(&mut *store, &snapshot, cursor)
            .unwrap()
            .map(drop),
        log.call_repair(&mut *store).unwrap().map(drop),
    ];
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.expect_err(&format!("operation {i} on {name:?} succeeded")))
        .collect()
}

#[test]
fn no_name_reaches_outside_the_granted_directory() {
    let root = test_dir("escape_root");
    let granted = root.path().join("granted");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::create_dir(&granted).unwrap();
    std::fs::write(outside.join("secret.jsonl"), b"\"secret\"\n").unwrap();
    std::os::unix::fs::symlink("../outside/secret.jsonl", granted.join("rel-link")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.jsonl"), granted.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../outside/dir", granted.join("dir-link")).unwrap();
    std::os::unix::fs::symlink("../outside/none.jsonl", granted.join("dangling")).unwrap();
    std::fs::create_dir(granted.join("subdir")).unwrap();
    let passwd = std::fs::read("/etc/passwd").ok();
    // A well-formed cursor of another log, for `compact`.
    let elsewhere = test_dir("escape_cursor");
    let mut other = common::open(elsewhere.path());
    other.append("1").unwrap();
    let cursor = other.walk_to_end().unwrap();
    let before = tree(root.path());

    let names = [
        "../outside/secret.jsonl",
        "../escape.jsonl",
        "/etc/passwd",
        "/tmp/escape.jsonl",
        "",
        ".",
        "..",
        "dir-link/x.jsonl",
        "subdir/../../outside/secret.jsonl",
        "a\\b",
        "rel-link",
        "abs-link",
        "dir-link",
        "dangling",
        "subdir",
    ];
    let mut tried = 0;
    for name in names {
        let options = Options {
            log_name: Some(name.to_string()),
            ..Options::default()
        };
        // The library refuses a name that is not a plain file name when
        // the log is opened; one that names a link or a directory opens,
        // and then every call is refused.
        let expected = match Memory::open(&granted, options) {
            Err(Error::Log(e)) => {
                assert_eq!(e.cause, Cause::InvalidConfig, "{name:?}: {}", e.message);
                raw::Cause::InvalidConfig
            }
            Ok(_) => raw::Cause::NotAFile,
            Err(other) => panic!("{name:?}: {other}"),
        };
        for error in try_everything(&granted, name, &cursor) {
            // Each says what is wrong with the name or the file it names.
            assert_eq!(error.cause, expected, "{name:?}: {}", error.message);
            assert!(
                error.message.contains("PATHWAY_LOG=")
                    || error.message.contains("symbolic link")
                    || error.message.contains("not a regular file")
                    || error.message.contains("cannot open"),
                "{name:?}: {}",
                error.message
            );
            tried += 1;
        }
    }
    assert_eq!(tried, names.len() * 7);
    assert!(
        tree(root.path()) == before,
        "a file under the test's root changed"
    );
    assert_eq!(std::fs::read("/etc/passwd").ok(), passwd);
    assert!(!std::path::Path::new("/tmp/escape.jsonl").exists());
    figures("escaping log names x every operation", tried, 0, tried);
}
