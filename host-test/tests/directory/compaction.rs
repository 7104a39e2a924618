//! Compaction: snapshot + kept tail, crash-safe at every step, and no loss
//! of records other instances append meanwhile.

use crate::common;

use std::path::Path;

use common::{LOG, figures, open, read_log, records, soak, test_dir, write_log};
use pathway_host::{Cause, Checksum, Error, FAILPOINTS_COMPONENT_PATH, LogError};
use wasmtime::Store;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::common::raw;

#[test]
fn compaction_replaces_what_the_cursor_covers_and_keeps_later_records() {
    let dir = test_dir("compact_keeps_tail");
    let mut memory = open(dir.path());
    memory.append_batch(&["1", "2", "3"]).unwrap();
    let upto = memory.walk_to_end().unwrap();
    memory.append_batch(&["4", "5"]).unwrap();
    let report = memory
        .compact(&["{\"sum\":6}", "{\n \"pretty\": true\n}"], &upto)
        .unwrap();
    assert_eq!(
        (
            report.snapshot_records,
            report.kept_bytes,
            report.bytes_before,
            report.bytes_after
        ),
        (2, 4, 10, 32)
    );
    assert_eq!(
        read_log(dir.path()),
        b"{\"sum\":6}\n{ \"pretty\": true}\n4\n5\n"
    );
    // Appends go on in the same instance and in others.
    memory.try_append("6").unwrap();
    open(dir.path()).try_append("7").unwrap();
    assert_eq!(
        records(dir.path()),
        ["{\"sum\":6}", "{ \"pretty\": true}", "4", "5", "6", "7"]
    );
    // No leftovers; the checksum of what the compaction wrote, which
    // appends after it leave as it is.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "pathway.jsonl",
            "pathway.jsonl.moved",
            "pathway.jsonl.sha256"
        ]
    );
    assert_eq!(memory.check().unwrap().checksum, Checksum::Verified(32));
}

#[test]
fn compaction_with_a_bad_snapshot_event_changes_nothing() {
    let dir = test_dir("compact_bad_snapshot");
    write_log(dir.path(), b"1\n2\n");
    let mut memory = open(dir.path());
    let upto = memory.walk_to_end().unwrap();
    match memory.compact(&["{}", "nope"], &upto).unwrap_err() {
        Error::Log(LogError {
            cause: Cause::InvalidJson(e),
            message,
        }) => {
            assert_eq!(e.index, 1);
            assert!(message.starts_with("snapshot event 1 is not exactly one JSON value"));
        }
        other => panic!("expected an invalid snapshot event, got {other:?}"),
    }
    assert_eq!(read_log(dir.path()), b"1\n2\n");
}

#[test]
fn compaction_refuses_while_another_holds_the_lock() {
    let dir = test_dir("compact_busy");
    write_log(dir.path(), b"1\n");
    std::fs::write(dir.path().join("pathway.jsonl.lock"), b"").unwrap();
    let mut memory = open(dir.path());
    let upto = memory.walk_to_end().unwrap();
    match memory.compact(&["0"], &upto).unwrap_err() {
        Error::Log(LogError {
            cause: Cause::Busy,
            message,
        }) => assert_eq!(
            message,
            "\"pathway.jsonl.lock\" exists: another compaction or repair is running, or one \
             crashed; if none runs, remove \"pathway.jsonl.lock\" and try again"
        ),
        other => panic!("expected busy, got {other:?}"),
    }
    assert_eq!(read_log(dir.path()), b"1\n");
}

#[test]
fn compaction_of_a_missing_log_creates_it_from_the_snapshot() {
    let dir = test_dir("compact_missing");
    let mut memory = open(dir.path());
    let upto = memory.walk_to_end().unwrap();
    memory.compact(&["{\"fresh\":true}"], &upto).unwrap();
    assert_eq!(read_log(dir.path()), b"{\"fresh\":true}\n");
}

/// Runs `op` in the failpoints component, stopped at `failpoint`: the
/// call must trap there, as a crash would.
fn crash_at(
    dir: &Path,
    failpoint: &str,
    op: impl FnOnce(&raw::Log, &mut Store<raw::Host>) -> wasmtime::Result<()>,
) {
    let mut wasi = WasiCtxBuilder::new();
    wasi.preopened_dir(dir, "/", FsPerms::ReadWrite).unwrap();
    wasi.env("PATHWAY_FAILPOINT", failpoint);
    let component = std::fs::read(FAILPOINTS_COMPONENT_PATH).unwrap();
    let (pathway, mut store) = raw::instantiate(&component, wasi);
    let trap =
        op(pathway.pathway_memory_log(), &mut store).expect_err("the failpoint stops the call");
    assert!(
        format!("{trap:?}").contains("unreachable"),
        "{failpoint}: {trap:?}"
    );
}

/// The steps of a rewrite, in order; the log is renamed from the sixth on,
/// and its checksum written at the last.
const STEPS: [&str; 8] = [
    "after-write",
    "after-lock",
    "after-seal",
    "after-sync",
    "after-checksum-removed",
    "after-rename",
    "after-dir-sync",
    "after-checksum",
];

/// Makes a file look untouched for a minute, as after a crash long ago.
fn age(path: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(past)
        .unwrap();
}

#[test]
fn a_crash_at_any_step_of_compaction_leaves_the_old_or_the_new_log() {
    let old = ["1", "2", "3", "4"];
    for (step, failpoint) in STEPS.iter().enumerate() {
        let dir = test_dir(&format!("compact_crash_{failpoint}"));
        write_log(dir.path(), b"1\n2\n3\n");
        let upto = open(dir.path()).walk_to_end().unwrap();
        write_log(dir.path(), b"1\n2\n3\n4\n");
        crash_at(dir.path(), failpoint, |log, store| {
            log.call_compact(store, &["{\"sum\":6}".to_string()], &upto)
                .map(|_| ())
        });
        let renamed = step >= 5;
        if renamed {
            assert_eq!(records(dir.path()), ["{\"sum\":6}", "4"], "{failpoint}");
        } else {
            assert_eq!(records(dir.path()), old, "{failpoint}");
        }

        // What the crash left is reported, and a new compaction refuses
        // while it is fresh (the crashed one might still be running).
        // The new log is named after the rewrite's id (`.compact.<id>`),
        // until it is renamed over the log.
        let mut memory = open(dir.path());
        // The checksum of what it wrote: there once written, else none
        // (never one that does not match).
        let report = memory.check().unwrap();
        let checksum = if step == STEPS.len() - 1 {
            Checksum::Verified(12)
        } else {
            Checksum::None
        };
        assert_eq!(report.checksum, checksum, "{failpoint}");
        let mut leftovers = report.leftovers;
        leftovers.sort();
        let new_log = leftovers
            .iter()
            .find(|name| name.starts_with("pathway.jsonl.compact."))
            .cloned();
        assert_eq!(new_log.is_some(), !renamed, "{failpoint}: {leftovers:?}");
        let mut expected: Vec<String> = match step {
            0 => vec!["pathway.jsonl.big", "pathway.jsonl.compact"],
            _ => vec![
                "pathway.jsonl.big",
                "pathway.jsonl.compact",
                "pathway.jsonl.lock",
            ],
        }
        .into_iter()
        .map(String::from)
        .chain(new_log)
        .collect();
        expected.sort();
        assert_eq!(leftovers, expected, "{failpoint}");
        let end = memory.walk_to_end().unwrap();
        assert!(matches!(
            memory.compact(&["0"], &end),
            Err(Error::Log(LogError {
                cause: Cause::Busy,
                ..
            }))
        ));

        // Once stale, appenders no longer wait for them and the next
        // compaction replaces them.
        for leftover in &expected {
            age(&dir.path().join(leftover));
        }
        memory.try_append("5").unwrap();
        let end = memory.walk_to_end().unwrap();
        memory.compact(&["{\"all\":true}"], &end).unwrap();
        assert_eq!(records(dir.path()), ["{\"all\":true}"], "{failpoint}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "pathway.jsonl",
                "pathway.jsonl.moved",
                "pathway.jsonl.sha256"
            ],
            "{failpoint}: leftovers cleaned"
        );
        assert_eq!(memory.check().unwrap().checksum, Checksum::Verified(13));
    }
    figures(
        "a crash at each step of compaction",
        STEPS.len(),
        STEPS.len() * 7,
        STEPS.len(),
    );
}

#[test]
fn records_appended_during_compactions_are_not_lost() {
    let dir = test_dir("compact_concurrent");
    write_log(dir.path(), b"");
    let (total, compactions) = if soak() { (30_000, 200) } else { (3000, 20) };
    let appending = std::sync::atomic::AtomicBool::new(true);
    let mut replays = 0;
    std::thread::scope(|scope| {
        let path = dir.path();
        let appending = &appending;
        scope.spawn(move || {
            let mut memory = open(path);
            for seq in 0..total {
                memory.try_append(&format!("{{\"seq\":{seq}}}")).unwrap();
            }
            appending.store(false, std::sync::atomic::Ordering::Relaxed);
        });
        // Whole-log replays meanwhile: each is one log's records, in order,
        // even when a compaction replaces the log between its pages.
        let replays = &mut replays;
        scope.spawn(move || {
            let mut memory = open(path);
            while appending.load(std::sync::atomic::Ordering::Relaxed) {
                let mut last = -1;
                for entry in memory.replay().unwrap() {
                    let line = entry.expect("a whole replay during compactions");
                    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
                    let seq = value["seq"].as_i64().unwrap();
                    assert!(seq > last, "seq {seq} after {last}");
                    last = seq;
                }
                *replays += 1;
            }
        });
        scope.spawn(move || {
            let mut memory = open(path);
            for _ in 0..compactions {
                // Fold what was read so far into a snapshot of the same records.
                let mut snapshot = Vec::new();
                let mut entries = memory.entries(None, 1 << 16);
                for entry in entries.by_ref() {
                    snapshot.push(entry.unwrap().unwrap());
                }
                let upto = entries.cursor().unwrap().to_string();
                memory.compact(&snapshot, &upto).unwrap();
            }
        });
    });
    let expected: Vec<String> = (0..total).map(|seq| format!("{{\"seq\":{seq}}}")).collect();
    let got = records(dir.path());
    let damaged: Vec<_> = open(dir.path())
        .replay()
        .unwrap()
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(damaged.is_empty(), "damaged: {damaged:?}");
    let missing: Vec<_> = expected.iter().filter(|r| !got.contains(r)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let first_out_of_order = got.iter().zip(&expected).position(|(g, e)| g != e);
    assert_eq!(
        first_out_of_order,
        None,
        "order differs; {} records",
        got.len()
    );
    assert!(open(dir.path()).replay().unwrap().iter().all(Result::is_ok));
    assert_eq!(
        std::fs::read(dir.path().join(LOG)).unwrap().last(),
        Some(&b'\n')
    );
    assert!(replays > 0);
    figures(
        "appends and whole replays during compactions",
        compactions,
        total,
        0,
    );
}
