//! Rule 4: instances appending to one log at the same time lose and tear
//! nothing, for records below the host's one-write permit (64 KiB).

mod common;

use std::collections::HashSet;

use common::{open, test_dir};

const WRITERS: usize = 4;
const RECORDS: usize = 2000;

/// Most records fit one blocking write (4096 bytes); every tenth goes
/// through check-write, at 9 KB or just under the 64 KiB permit.
fn pad(seq: usize) -> usize {
    match seq % 10 {
        3 => 9_000,
        7 => 65_000,
        n => 40 + 30 * n,
    }
}

fn record(writer: usize, seq: usize) -> String {
    let pad = "x".repeat(pad(seq));
    format!("{{\"writer\":{writer},\"seq\":{seq},\"pad\":\"{pad}\"}}")
}

#[test]
fn instances_appending_concurrently_lose_and_tear_nothing() {
    let dir = test_dir("concurrent");
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let path = dir.path();
            scope.spawn(move || {
                let mut memory = open(path);
                for seq in 0..RECORDS {
                    if seq % 10 == 0 {
                        let batch = [record(writer, seq)];
                        memory.append_batch(&batch).unwrap();
                    } else {
                        memory.try_append(&record(writer, seq)).unwrap();
                    }
                }
            });
        }
    });

    let entries = open(dir.path()).replay().unwrap();
    assert_eq!(entries.len(), WRITERS * RECORDS);
    let mut seen = HashSet::new();
    let mut next_seq = [0usize; WRITERS];
    for entry in entries {
        let line = entry.expect("no record is torn");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let writer = value["writer"].as_u64().unwrap() as usize;
        let seq = value["seq"].as_u64().unwrap() as usize;
        assert_eq!(line, record(writer, seq));
        assert!(seen.insert((writer, seq)), "record {writer}/{seq} twice");
        // Each writer's records keep its order.
        assert_eq!(seq, next_seq[writer]);
        next_seq[writer] += 1;
    }
    assert_eq!(next_seq, [RECORDS; WRITERS]);
}

/// Records per process; `PATHWAY_SOAK=1` runs the 50,000 of the long soak.
fn per_process() -> usize {
    if std::env::var_os("PATHWAY_SOAK").is_some() {
        50_000
    } else {
        2_000
    }
}

#[test]
fn processes_appending_concurrently_lose_and_tear_nothing() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = test_dir("concurrent_processes");
    let per = per_process();
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_pathway"))
                .args([
                    "append",
                    "--each",
                    "--dir",
                    dir.path().to_str().unwrap(),
                    "-",
                ])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let input: String = (0..per).map(|seq| record(writer, seq) + "\n").collect();
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
            child
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let entries = open(dir.path()).replay().unwrap();
    assert_eq!(entries.len(), WRITERS * per);
    let mut next_seq = [0usize; WRITERS];
    for entry in entries {
        let line = entry.expect("no record is torn");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let writer = value["writer"].as_u64().unwrap() as usize;
        assert_eq!(line, record(writer, next_seq[writer]));
        next_seq[writer] += 1;
    }
    assert_eq!(next_seq, [per; WRITERS]);
}
