//! Rule 4: instances appending to one log at the same time lose and tear
//! nothing, for records up to the host's one-write permit (64 KiB); above
//! it, a record written in pieces can interleave with another instance's,
//! and both are then reported as damaged lines, never silently changed.

use crate::common;

use std::collections::HashSet;

use common::{figures, open, test_dir};

const WRITERS: usize = 4;

/// wasmtime's `check-write` permit: the largest write that is one piece.
const PERMIT: usize = 64 << 10;

/// Records per writer; `PATHWAY_SOAK=1` runs the 50,000 of the long soak.
fn per_writer() -> usize {
    if std::env::var_os("PATHWAY_SOAK").is_some() {
        50_000
    } else {
        2_000
    }
}

/// Most records fit one blocking write (4096 bytes); every tenth goes
/// through check-write, at 9 KB or exactly the 64 KiB permit with its
/// newline (the largest record still written in one piece).
fn record(writer: usize, seq: usize) -> String {
    let head = format!("{{\"writer\":{writer},\"seq\":{seq},\"pad\":\"");
    let pad = match seq % 10 {
        3 => 9_000,
        7 => PERMIT - 1 - head.len() - 2,
        n => 40 + 30 * n,
    };
    format!("{head}{}\"}}", "x".repeat(pad))
}

#[test]
fn instances_appending_concurrently_lose_and_tear_nothing() {
    let dir = test_dir("concurrent");
    let per = per_writer();
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let path = dir.path();
            scope.spawn(move || {
                let mut memory = open(path);
                for seq in 0..per {
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

    // Read page by page: the soak's log (1.3 GB) is more than one call may
    // hold.
    let mut memory = open(dir.path());
    let mut seen = HashSet::new();
    let mut next_seq = [0usize; WRITERS];
    for entry in memory.entries(None, 1 << 20) {
        let entry = entry.unwrap();
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
    assert_eq!(next_seq, [per; WRITERS]);
    figures("4 instances appending at once", 1, WRITERS * per, 0);
}

#[test]
fn processes_appending_concurrently_lose_and_tear_nothing() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = test_dir("concurrent_processes");
    let per = per_writer();
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut child = Command::new(crate::common::pathway_bin())
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
    let mut memory = open(dir.path());
    let mut next_seq = [0usize; WRITERS];
    for entry in memory.entries(None, 1 << 20) {
        let entry = entry.unwrap();
        let line = entry.expect("no record is torn");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let writer = value["writer"].as_u64().unwrap() as usize;
        assert_eq!(line, record(writer, next_seq[writer]));
        next_seq[writer] += 1;
    }
    assert_eq!(next_seq, [per; WRITERS]);
    figures("4 processes appending at once", 1, WRITERS * per, 0);
}

#[test]
fn records_above_the_permit_land_whole_among_concurrent_appenders() {
    let dir = test_dir("concurrent_large");
    let big = |seq: usize| {
        let pad = "y".repeat(3 * PERMIT + seq * 1000);
        format!("{{\"big\":{seq},\"pad\":\"{pad}\"}}")
    };
    let (bigs, smalls) = (40, 3000);
    std::thread::scope(|scope| {
        let path = dir.path();
        scope.spawn(move || {
            let mut memory = open(path);
            for seq in 0..bigs {
                memory.append(&big(seq)).unwrap();
            }
        });
        for writer in 0..WRITERS - 1 {
            scope.spawn(move || {
                let mut memory = open(path);
                for seq in 0..smalls {
                    memory.append(&record(writer, seq % 10)).unwrap();
                }
            });
        }
    });

    let mut memory = open(dir.path());
    let entries = memory.replay().unwrap();
    let report = memory.check().unwrap();
    // Every record replays exactly as it was appended, each once.
    let mut intact_bigs = 0;
    let mut intact_smalls = 0;
    for entry in entries.iter().flatten() {
        let value: serde_json::Value = serde_json::from_str(entry).unwrap();
        if entry.starts_with("{\"big\"") {
            assert_eq!(entry, &big(value["big"].as_u64().unwrap() as usize));
            intact_bigs += 1;
        } else {
            let (writer, seq) = (value["writer"].as_u64(), value["seq"].as_u64());
            assert_eq!(
                entry,
                &record(writer.unwrap() as usize, seq.unwrap() as usize)
            );
            intact_smalls += 1;
        }
    }
    let damaged = entries.iter().filter(|e| e.is_err()).count();
    eprintln!(
        "records above the permit: {intact_bigs} of {bigs} intact, {intact_smalls} of {} \
         small records intact, {damaged} damaged lines",
        (WRITERS - 1) * smalls,
    );
    assert_eq!(damaged, 0, "{:?}", report.damaged);
    assert!(report.damaged.is_empty());
    assert_eq!(intact_bigs, bigs);
    assert_eq!(intact_smalls, (WRITERS - 1) * smalls);
    figures(
        "records above the permit among 3 appending instances",
        1,
        bigs + (WRITERS - 1) * smalls,
        0,
    );
}
