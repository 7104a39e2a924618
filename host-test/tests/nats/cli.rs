//! The CLI with `--nats URL --stream NAME` in place of `--dir`: append,
//! replay (with `--follow`), check, repair and compact on a stream.

use crate::support as nats_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use nats_support::{Server, publish_raw};

fn pathway(url: &str, args: &[&str]) -> Output {
    let (command, rest) = args.split_first().unwrap();
    Command::new(crate::common::pathway_bin())
        .arg(command)
        .args(["--nats", url, "--stream", "cli"])
        .args(rest)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_command_that_opens_a_log_works_on_a_stream() {
    let server = Server::single("cli");
    let url = server.url();
    let out = pathway(&url, &["append", "--replicas", "1", r#"{"a":1}"#, "[2]"]);
    assert_eq!(text(&out), (Some(0), String::new()));
    let out = pathway(&url, &["append", r#"{"a":"#]);
    assert_eq!(out.status.code(), Some(1), "a refusal exits 1");
    publish_raw(&url, "cli", &[b"not json"]);

    let out = pathway(&url, &["check"]);
    let (code, said) = text(&out);
    assert_eq!(code, Some(1));
    assert!(said.contains("records:   2\ndamaged:   1\n"), "{said}");
    assert!(
        said.contains("line 3 at byte offset 12, 8 bytes: not exactly one JSON value"),
        "{said}"
    );
    let (code, said) = text(&pathway(&url, &["repair"]));
    assert_eq!(code, Some(0));
    assert!(said.starts_with("repaired stream cli at "), "{said}");
    assert_eq!(
        text(&pathway(&url, &["replay"])),
        (Some(0), "{\"a\":1}\n[2]\n".to_string())
    );

    let dir = tempfile::Builder::new()
        .prefix("pathway-nats-cli-")
        .tempdir()
        .unwrap();
    let snapshot = dir.path().join("snapshot.jsonl");
    std::fs::write(&snapshot, "{\"state\":[1,2]}\n").unwrap();
    let out = pathway(&url, &["compact", "--snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        text(&pathway(&url, &["replay"])),
        (Some(0), "{\"state\":[1,2]}\n".to_string())
    );

    // --follow prints what another host appends later.
    let mut follow = Command::new(crate::common::pathway_bin())
        .args(["replay", "--nats", &url, "--stream", "cli", "--follow"])
        .args(["--poll-ms", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "{\"state\":[1,2]}");
    assert_eq!(
        pathway(&url, &["append", "\"later\""]).status.code(),
        Some(0)
    );
    assert_eq!(lines.next().unwrap().unwrap(), "\"later\"");
    follow.kill().unwrap();
    follow.wait().unwrap();
}
