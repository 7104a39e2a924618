//! The `pathway` command line: exit codes 0 / 1 / 2, stdin, `--json`.

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{LOG, read_log, test_dir, write_log};

fn pathway(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(crate::common::pathway_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pathway");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn events_around_stdin_are_batches_of_their_own() {
    let dir = test_dir("cli_append");
    let d = dir.path().to_str().unwrap();
    let out = pathway(
        &["append", "--dir", d, "{\"a\":1}", "-", "[2]"],
        b"\"from stdin\"\n\n{\"b\":\n",
    );
    // The events before `-` are stored first; the stdin line `{"b":` is
    // incomplete: its batch (here all of stdin) is refused, and the
    // import stops before the events after `-`.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "pathway: error: stdin: line 3 was refused: event 1 of the batch is not exactly one JSON \
         value: EOF while parsing a value at byte offset 5; nothing was stored; fix the event and \
         try again; the import stopped: none of its events is stored; fix line 3 and resume from \
         line 1\n"
    );
    assert_eq!(read_log(dir.path()), b"{\"a\":1}\n");

    let out = pathway(
        &["append", "--dir", d, "{\"a\":1}", "-", "[2]"],
        b"\"from stdin\"\r\n\n3\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        read_log(dir.path()),
        b"{\"a\":1}\n{\"a\":1}\n\"from stdin\"\n3\n[2]\n"
    );
}

/// `pathway append ARGS` with stdin, stdout and stderr piped.
fn spawn_pathway(args: &[&str]) -> std::process::Child {
    Command::new(crate::common::pathway_bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pathway")
}

/// Polls until `done`, for at most 30 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The log's bytes, or none while it does not exist.
fn log_now(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG)).unwrap_or_default()
}

#[test]
fn append_from_stdin_stores_each_line_before_stdin_ends() {
    let dir = test_dir("cli_stdin_streams");
    let mut child = spawn_pathway(&["append", "--dir", dir.path().to_str().unwrap(), "-"]);
    let mut stdin = child.stdin.take().unwrap();
    let mut expected = Vec::new();
    for line in ["{\"a\":1}", "", "{\"a\":2}\r"] {
        writeln!(stdin, "{line}").unwrap();
        if !line.is_empty() {
            expected.extend_from_slice(line.trim_end().as_bytes());
            expected.push(b'\n');
        }
        // Stored while stdin is still open.
        wait_until("the line to be stored", || log_now(dir.path()) == expected);
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_log(dir.path()), b"{\"a\":1}\n{\"a\":2}\n");
}

#[test]
fn append_each_ack_acknowledges_each_line_before_stdin_ends() {
    use std::io::{BufRead, BufReader};
    let dir = test_dir("cli_stdin_acks");
    let d = dir.path().to_str().unwrap();
    let mut child = spawn_pathway(&["append", "--each", "--ack", "--dir", d, "7", "-"]);
    let mut stdin = child.stdin.take().unwrap();
    // Acks arrive through a channel, so a missing one fails the test after
    // a timeout instead of hanging it.
    let (send, acks) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = send.send(line.unwrap());
        }
    });
    let next_ack = || {
        acks.recv_timeout(std::time::Duration::from_secs(30))
            .expect("an ack")
    };
    assert_eq!(next_ack(), "0");
    for (index, event) in [(1, "{\"n\":1}"), (2, "{\"n\":2}")] {
        writeln!(stdin, "{event}").unwrap();
        assert_eq!(next_ack(), index.to_string());
        // Acknowledged means stored.
        assert!(text(&log_now(dir.path())).ends_with(&format!("{event}\n")));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_log(dir.path()), b"7\n{\"n\":1}\n{\"n\":2}\n");
}

#[test]
fn a_refused_stdin_line_refuses_its_batch_and_keeps_the_ones_before() {
    let dir = test_dir("cli_stdin_refused");
    let mut child = spawn_pathway(&["append", "--dir", dir.path().to_str().unwrap(), "-"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"1\n2\n\n3\n").unwrap();
    wait_until("the first lines to be stored", || {
        log_now(dir.path()) == b"1\n2\n3\n"
    });
    // Line 5 is refused: its batch (it and line 6) is not stored.
    stdin.write_all(b"{\"b\":\n6\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "pathway: error: stdin: line 5 was refused: event 0 of the batch is not exactly one JSON \
         value: EOF while parsing a value at byte offset 5; nothing was stored; fix the event and \
         try again; the import stopped: the 3 events before line 5 are stored, nothing from line \
         5 on is; fix line 5 and resume from line 5\n"
    );
    assert_eq!(read_log(dir.path()), b"1\n2\n3\n");
}

#[test]
fn stdin_batches_follow_the_batch_flags_and_report_as_json() {
    let dir = test_dir("cli_stdin_json");
    let d = dir.path().to_str().unwrap();
    // Timers that never run out: batches of two, by count alone.
    let args = [
        "append",
        "--dir",
        d,
        "--json",
        "--batch-events",
        "2",
        "--batch-idle-ms",
        "600000",
        "--batch-wait-ms",
        "600000",
        "-",
    ];
    let out = pathway(&args, b"1\n2\n\n3\n{\n5\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = "event 1 of the batch is not exactly one JSON value: EOF while parsing an \
                   object at byte offset 1; nothing was stored; fix the event and try again";
    assert_eq!(
        printed,
        serde_json::json!({"err": {
            "cause": "invalid-json",
            "message": format!(
                "line 5 was refused: {message}; the import stopped: the 2 events before line 3 \
                 are stored, nothing from line 3 on is; fix line 5 and resume from line 3"
            ),
            "line": 5,
            "resume_line": 3,
            "stored": 2,
            "byte": null,
            "error": {
                "cause": "invalid-json",
                "message": message,
                "index": 1,
                "offset": 1,
                "reason": "EOF while parsing an object",
            },
        }})
    );
    assert_eq!(read_log(dir.path()), b"1\n2\n");

    let out = pathway(&args, b"3\n\xe2\x82\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["err"]["cause"], "invalid-utf8");
    assert_eq!(
        (
            &printed["err"]["line"],
            &printed["err"]["byte"],
            &printed["err"]["stored"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(0),
            &serde_json::json!(0)
        )
    );
    let out = pathway(&args, b"3\n4\n");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "{\"ok\":null}\n")
    );
    assert_eq!(read_log(dir.path()), b"1\n2\n3\n4\n");
}

#[test]
fn append_with_a_log_name_or_a_file_name() {
    let dir = test_dir("cli_log_name");
    let d = dir.path().to_str().unwrap();
    for (flag, value, file) in [
        ("--log", "thread-1", "thread-1.jsonl"),
        ("--log-file", "x.log", "x.log"),
    ] {
        let out = pathway(&["append", "--dir", d, flag, value, "1"], b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(std::fs::read(dir.path().join(file)).unwrap(), b"1\n");
        let out = pathway(&["replay", "--dir", d, flag, value], b"");
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "1\n"));
    }
    // A file name where a log name goes: refused, nothing created.
    let out = pathway(&["append", "--dir", d, "--log", "x.jsonl", "1"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("contains `.jsonl`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("x.jsonl.jsonl").exists() && !dir.path().join("x.jsonl").exists());
}

#[test]
fn append_argument_that_is_not_utf8_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = test_dir("cli_not_utf8");
    let out = Command::new(crate::common::pathway_bin())
        .args(["append", "--dir", dir.path().to_str().unwrap()])
        .arg(std::ffi::OsStr::from_bytes(b"\"\xff\""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "pathway: error: argument 1 is not valid UTF-8; events must be UTF-8 JSON\n"
    );
    assert!(!dir.path().join(LOG).exists());
}

#[test]
fn replay_prints_records_and_reports_damage_with_exit_1() {
    let dir = test_dir("cli_replay");
    write_log(dir.path(), b"{\"a\":1}\nnot json\n[3]\n");
    let d = dir.path().to_str().unwrap();
    let out = pathway(&["replay", "--dir", d], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "{\"a\":1}\n[3]\n");
    let log = dir.path().join(LOG);
    assert_eq!(
        text(&out.stderr),
        format!(
            "pathway: warn: {}: line 2: at byte offset 8: not exactly one JSON value: expected \
             ident at byte 1 of the line; skipped, the other records are unaffected\n",
            log.display()
        )
    );

    let out = pathway(&["replay", "--dir", d, "--json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], serde_json::json!({"ok": "{\"a\":1}"}));
    assert_eq!(lines[1]["err"]["line"], 2);
    assert_eq!(lines[1]["err"]["problem"], "invalid-json");
    assert!(
        lines[1]["err"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2: ")
    );
    assert_eq!(lines[2], serde_json::json!({"ok": "[3]"}));
}

#[test]
fn replay_of_a_clean_log_exits_0_and_says_nothing() {
    let dir = test_dir("cli_clean");
    write_log(dir.path(), b"1\n2\n");
    let out = pathway(&["replay", "--dir", dir.path().to_str().unwrap()], b"");
    assert_eq!(
        (out.status.code(), text(&out.stdout), text(&out.stderr)),
        (Some(0), "1\n2\n", "")
    );
    let out = pathway(
        &["-v", "replay", "--dir", dir.path().to_str().unwrap()],
        b"",
    );
    assert!(text(&out.stderr).contains("replay kept 2 records and skipped 0 damaged lines"));
}

#[test]
fn missing_directory_and_bad_usage_exit_2() {
    let dir = test_dir("cli_missing");
    let missing = dir.path().join("nope");
    let out = pathway(&["replay", "--dir", missing.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pathway: error: cannot use {}: No such file or directory (os error 2); pass an \
             existing, accessible directory\n",
            missing.display()
        )
    );
    assert_eq!(
        pathway(&["append", "--dir", dir.path().to_str().unwrap()], b"")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(pathway(&["frobnicate"], b"").status.code(), Some(2));
}

#[test]
fn demo_shows_the_record_kept_after_a_crash() {
    let out = pathway(&["demo"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  ok   {\"op\":\"forget\",\"key\":\"goal\"}\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  err  line 3: "), "{stdout}");
}

#[test]
fn check_exits_1_on_damage_and_repair_fixes_it() {
    let dir = test_dir("cli_check_repair");
    let d = dir.path().to_str().unwrap();
    write_log(dir.path(), b"1\nnope\n2\n");
    let out = pathway(&["check", "--dir", d], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("records:   2\n"), "{stdout}");
    assert!(
        stdout.contains("  line 2 at byte offset 2, 4 bytes: not exactly one JSON value"),
        "{stdout}"
    );

    let out = pathway(&["check", "--dir", d, "--json"], b"");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            report["records"].as_u64(),
            report["damaged"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );
    assert_eq!(report["damaged"][0]["offset"], 2);

    let out = pathway(&["repair", "--dir", d], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("repaired "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(read_log(dir.path()), b"1\n2\n");
    assert_eq!(pathway(&["check", "--dir", d], b"").status.code(), Some(0));
}

#[test]
fn compact_replaces_the_log_with_the_snapshot() {
    let dir = test_dir("cli_compact");
    let d = dir.path().to_str().unwrap();
    write_log(dir.path(), b"{\"n\":1}\n{\"n\":2}\n");
    let snapshot = dir.path().join("snapshot.jsonl");
    std::fs::write(&snapshot, b"{\"total\":3}\n\n").unwrap();
    let compact = || {
        pathway(
            &[
                "compact",
                "--dir",
                d,
                "--snapshot",
                snapshot.to_str().unwrap(),
            ],
            b"",
        )
    };
    let out = compact();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_log(dir.path()), b"{\"total\":3}\n");

    std::fs::write(&snapshot, b"{\"total\":\n").unwrap();
    let out = compact();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .starts_with("pathway: error: snapshot event 0 is not exactly one JSON value")
    );
    assert_eq!(read_log(dir.path()), b"{\"total\":3}\n");
}

#[test]
fn replay_follow_prints_records_as_they_are_appended() {
    use std::io::{BufRead, BufReader};
    let dir = test_dir("cli_follow");
    let d = dir.path().to_str().unwrap();
    write_log(dir.path(), b"1\n");
    let mut child = Command::new(crate::common::pathway_bin())
        .args(["replay", "--dir", d, "--follow", "--poll-ms", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Lines arrive through a channel, so a broken follow fails the test
    // after a timeout instead of hanging it.
    let (send, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = send.send(line.unwrap());
        }
    });
    let next = || {
        lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a followed line")
    };
    assert_eq!(next(), "1");
    assert_eq!(
        pathway(&["append", "--dir", d, "2", "3"], b"")
            .status
            .code(),
        Some(0)
    );
    assert_eq!((next(), next()), ("2".to_string(), "3".to_string()));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn append_each_keeps_what_came_before_a_refused_event() {
    let dir = test_dir("cli_each");
    let d = dir.path().to_str().unwrap();
    let out = pathway(&["append", "--each", "--dir", d, "1", "2", "{", "4"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "pathway: error: the event is not exactly one JSON value: EOF while parsing an object at \
         byte offset 1; nothing was stored; fix the event and try again; it was event 2 of the \
         command line: the 2 events before it are stored, it and the rest are not\n"
    );
    assert_eq!(read_log(dir.path()), b"1\n2\n");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::io::Read;
    let dir = test_dir("cli_broken_pipe");
    write_log(dir.path(), "{\"n\":1}\n".repeat(200_000).as_bytes());
    let d = dir.path().to_str().unwrap();
    for args in [
        &["replay", "--dir", d][..],
        &["check", "--dir", d],
        &["wit"],
    ] {
        let mut child = Command::new(crate::common::pathway_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Like `| head -c 1`: read one byte, then close the pipe.
        let mut first = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn the_memory_cap_is_set_from_the_command_line_and_named_when_hit() {
    let dir = test_dir("cli_memory_cap");
    // About 3 MB of records: whole pages of 1 MiB need more than 2 MiB.
    write_log(
        dir.path(),
        "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
            .repeat(80_000)
            .as_bytes(),
    );
    let d = dir.path().to_str().unwrap();
    let out = pathway(&["check", "--dir", d, "--max-memory-mib", "2"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("pathway: error: the component needed ")
            && stderr.contains("MiB of memory, over the cap of 2 MiB")
            && stderr.contains("--max-memory-mib"),
        "{stderr}"
    );
    // The default cap reads it.
    let out = pathway(&["check", "--dir", d], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("records:   80000"));
    // Out-of-range values are usage errors.
    let out = pathway(&["check", "--dir", d, "--timeout-secs", "0"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn events_that_start_with_a_minus_are_events() {
    let dir = test_dir("cli_negative");
    let d = dir.path().to_str().unwrap();
    let out = pathway(
        &["append", "--dir", d, "-1", "-0.5", "-1E-3", "-", "--each"],
        b"-2e+5\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_log(dir.path()), b"-1\n-0.5\n-1E-3\n-2e+5\n");
    // Anything else that starts with `-` is an option, as before; after
    // `--` it is an event, refused by the component's rule.
    let out = pathway(&["append", "--dir", d, "--", "-x"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "pathway: error: event 0 of the batch is not exactly one JSON value: invalid number at \
         byte offset 1; nothing was stored; fix the event and try again\n"
    );
    assert_eq!(read_log(dir.path()), b"-1\n-0.5\n-1E-3\n-2e+5\n");
}
