//! A full device: appends fail with a clear I/O error that says what of
//! the record reached the file (a partly written record stays, as a crash
//! would leave it, and replays as a torn write: nothing is cut or
//! overwritten, since it could be another instance's identical record in
//! the middle of its write), keep every earlier record, and work again
//! once space is freed; `repair` then moves the partial record out.
//!
//! The device is a small tmpfs the test mounts; that needs root (as on the
//! project's machines and in CI). Elsewhere the test says so and skips,
//! unless `PATHWAY_REQUIRE_TMPFS=1` makes that a failure.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{LOG, figures, read_log, test_dir};
use pathway_host::{Cause, Error, LineProblem, LogError, Memory, Options};

/// A tmpfs of `size` bytes mounted on a temp dir, unmounted on drop.
struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(test: &str, size: usize) -> Option<Tmpfs> {
        let dir = test_dir(test);
        let path = dir.path().to_path_buf();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { _dir: dir, path }),
            other => {
                let required = std::env::var_os("PATHWAY_REQUIRE_TMPFS").is_some_and(|v| v == "1");
                assert!(
                    !required && !is_root(),
                    "mounting a tmpfs failed ({other:?}) though running as root"
                );
                common::skipped(test, &format!("mounting a tmpfs needs root ({other:?})"));
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn record(n: usize, pad: usize) -> String {
    format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(pad))
}

/// The failure of an append on a full device: `insufficient-space`.
fn io_message(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Log(LogError {
            cause: Cause::InsufficientSpace,
            message,
        })) => message,
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// Fills the device with records until an append fails; returns them and
/// the failure's message.
fn fill(memory: &mut Memory, dir: &Path, pad: usize) -> (Vec<String>, String) {
    let mut stored = Vec::new();
    loop {
        let before = read_log_or_empty(dir);
        let event = record(stored.len(), pad);
        match memory.try_append(&event) {
            Ok(()) => stored.push(event),
            Err(e) => {
                let message = io_message(Err(e));
                let now = read_log_or_empty(dir);
                assert_partial_after(&now, &before, &event, &message, "a failed append");
                return (stored, message);
            }
        }
        assert!(stored.len() < 100_000, "the device never filled up");
    }
}

/// The log is byte for byte what it was (without printing megabytes).
fn assert_same_bytes(now: &[u8], before: &[u8], what: &str) {
    assert!(
        now == before,
        "{what} changed the log: {} bytes before, {} now; first difference at byte {:?}",
        before.len(),
        now.len(),
        now.iter().zip(before).position(|(a, b)| a != b)
    );
}

/// The log is what it was, plus at most an unterminated start of `event`
/// (the failed call's partly written bytes), and the message says which.
fn assert_partial_after(now: &[u8], before: &[u8], event: &str, message: &str, what: &str) {
    assert_same_bytes(&now[..before.len().min(now.len())], before, what);
    let added = &now[before.len().min(now.len())..];
    if added.is_empty() {
        assert!(
            message.contains("nothing of this call was stored"),
            "{message}"
        );
    } else {
        assert!(
            added.len() < event.len() + 1 && event.as_bytes().starts_with(added),
            "{what} left more than a start of its record: {:?}",
            String::from_utf8_lossy(added)
        );
        assert!(
            message.contains(&format!(
                "its partly written bytes ({} at byte offset {}) stay, as a crash would leave them",
                added.len(),
                before.len()
            )),
            "{message}"
        );
    }
}

fn read_log_or_empty(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG)).unwrap_or_default()
}

/// The log's records are `expected`, in order, and it has at most `damaged`
/// damaged lines (the partly written records failed appends left).
fn expect_records(memory: &mut Memory, expected: &[String], damaged: usize) {
    let entries = memory.replay().unwrap();
    let bad: Vec<_> = entries.iter().filter(|e| e.is_err()).collect();
    assert!(bad.len() <= damaged, "damaged lines: {bad:?}");
    for error in &bad {
        let line = error.as_ref().unwrap_err();
        assert!(line.problem == LineProblem::InvalidJson, "{line:?}");
    }
    let records: Vec<&String> = entries.iter().filter_map(|e| e.as_ref().ok()).collect();
    assert_eq!(records.len(), expected.len());
    for (i, (entry, want)) in records.iter().zip(expected).enumerate() {
        assert_eq!(*entry, want, "record {i}");
    }
}

#[test]
fn appends_on_a_full_device_fail_cleanly_and_work_again_once_space_is_freed() {
    let Some(fs) = Tmpfs::mount("disk_full", 256 << 10) else {
        return;
    };
    let dir = &fs.path;
    // Ballast to free later; the rest of the device is the log's.
    std::fs::write(dir.join("ballast"), vec![0u8; 64 << 10]).unwrap();
    let mut memory = Memory::open(dir, Options::default()).unwrap();

    // Records of ~1 KB: the last one is cut by the full device part-way.
    let (mut stored, message) = fill(&mut memory, dir, 1000);
    // Calls that failed on the full device, each checked to change nothing
    // but the partly written record it left.
    let mut failed = 1;
    assert!(stored.len() > 100, "only {} records fit", stored.len());
    assert!(
        message.contains("appending to \"pathway.jsonl\" failed")
            && message.contains("insufficient-space")
            && message.contains("records already stored are untouched")
            && message.contains("free space on the device, then append again"),
        "{message}"
    );
    expect_records(&mut memory, &stored, 1);

    // A record far larger than what is left: it reserves its space by
    // appending zero bytes; those that reach the file become a blank line
    // (nothing is cut: another instance may have appended after them).
    let before = read_log(dir);
    let big = record(0, 200 << 10);
    let message = io_message(memory.try_append(&big));
    failed += 1;
    let after = read_log(dir);
    let blanked = after.len() > before.len();
    assert!(
        if blanked {
            message.contains("were made a blank line, which replay skips; nothing was cut")
        } else {
            message.contains("nothing of this call was stored")
        },
        "{message}"
    );
    assert!(
        after.starts_with(&before) && after[before.len()..].iter().all(|b| b" \n".contains(b)),
        "a failed big append left more than blanks"
    );
    expect_records(&mut memory, &stored, 1);
    let before = after;

    // A batch is all or nothing here too.
    let batch: Vec<String> = (0..50).map(|n| record(n, 1000)).collect();
    assert!(matches!(
        memory.append_batch(&batch),
        Err(Error::Log(LogError {
            cause: Cause::InsufficientSpace,
            ..
        }))
    ));
    assert_same_bytes(&read_log(dir), &before, "a failed append");

    // A compaction needs room for the new file: it fails, leaves the log
    // and no leftover behind.
    let snapshot: Vec<String> = (0..100).map(|n| record(n, 1000)).collect();
    let upto = memory.walk_to_end().unwrap();
    failed += 2; // the batch above, and this compaction
    match memory.compact(&snapshot, &upto) {
        Err(Error::Log(LogError {
            cause: Cause::InsufficientSpace,
            message,
        })) => {
            assert!(message.contains("insufficient-space"), "{message}")
        }
        other => panic!("expected the compaction to fail, got {other:?}"),
    }
    assert_same_bytes(&read_log(dir), &before, "a failed append");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ballast", LOG]);

    // Space freed: the same instance appends again, after every old record.
    std::fs::remove_file(dir.join("ballast")).unwrap();
    for n in 0..20 {
        let event = record(stored.len() + n, 1000);
        memory.append(&event).unwrap();
        stored.push(event);
    }
    expect_records(&mut memory, &stored, 1);
    // The partly written record is a damaged line now, which `check`
    // reports (and `repair` would move out, given room for the new log).
    let report = memory.check().unwrap();
    assert_eq!(report.records, stored.len() as u64);
    assert!(report.damaged.len() <= 1 && !report.torn_tail);
    figures("full device (tmpfs)", failed, stored.len(), failed);
}

#[test]
fn a_failed_append_after_a_torn_tail_leaves_the_torn_tail_as_it_was() {
    let Some(fs) = Tmpfs::mount("disk_full_torn", 64 << 10) else {
        return;
    };
    let dir = &fs.path;
    let mut memory = Memory::open(dir, Options::default()).unwrap();
    let (stored, _) = fill(&mut memory, dir, 500);
    // Tear the last record, as a crash would; the space it frees is less
    // than the next record needs, so the append that would end the torn
    // line first fails.
    let mut bytes = read_log(dir);
    bytes.truncate(bytes.len() - 300);
    std::fs::write(dir.join(LOG), &bytes).unwrap();
    let message = io_message(memory.try_append(&record(9999, 1000)));
    assert!(message.contains("insufficient-space"), "{message}");
    // The torn line is at most ended by the `\n` the append put before its
    // record (a whole line is never cut), and followed by what reached the
    // file of the record itself.
    let now = read_log(dir);
    assert_same_bytes(
        &now[..bytes.len()],
        &bytes,
        "a failed append after a torn tail",
    );
    let added = &now[bytes.len()..];
    if !added.is_empty() {
        assert_eq!(added[0], b'\n', "the torn line was not ended");
        assert!(message.contains("1 bytes of whole lines"), "{message}");
        let rest = &added[1..];
        assert!(
            record(9999, 1000).as_bytes().starts_with(rest),
            "more than a start of the record after the torn tail: {:?}",
            String::from_utf8_lossy(rest)
        );
    }
    // Room again: the append ends the torn line and stores the record.
    std::fs::write(dir.join(LOG), &bytes[..bytes.len() - 4000]).unwrap();
    memory.append(&record(9999, 10)).unwrap();
    let entries = memory.replay().unwrap();
    assert_eq!(entries.last().unwrap().as_ref().unwrap(), &record(9999, 10));
    assert!(entries.len() < stored.len() + 1);
}

#[test]
fn a_batch_cut_by_a_full_device_keeps_its_whole_records_and_reports_the_partial_one() {
    let Some(fs) = Tmpfs::mount("disk_full_batch", 64 << 10) else {
        return;
    };
    let dir = &fs.path;
    std::fs::write(dir.join("ballast"), vec![0u8; 8 << 10]).unwrap();
    let mut memory = Memory::open(dir, Options::default()).unwrap();
    let (stored, _) = fill(&mut memory, dir, 1000);
    let before = read_log(dir);
    // Room for a few records of a batch of ten, not for all.
    std::fs::remove_file(dir.join("ballast")).unwrap();
    let batch: Vec<String> = (0..10).map(|n| record(1000 + n, 1000)).collect();
    let message = match memory.append_batch(&batch) {
        Err(Error::Log(LogError {
            cause: Cause::InsufficientSpace,
            message,
        })) => message,
        other => panic!("expected the batch to fail, got {other:?}"),
    };
    let now = read_log(dir);
    assert_same_bytes(&now[..before.len()], &before, "a cut batch");
    let mut added = &now[before.len()..];
    // The `\n` that ended the partly written record the filling left.
    let mut ended = 0;
    if before.last() != Some(&b'\n') {
        assert_eq!(added.first(), Some(&b'\n'));
        added = &added[1..];
        ended = 1;
    }
    let mut lines: Vec<&[u8]> = added.split_inclusive(|&b| b == b'\n').collect();
    // The record the device cut part-way stays, unterminated, after the
    // whole ones.
    let partial = lines.pop_if(|line| line.last() != Some(&b'\n'));
    let kept = lines.len();
    assert!(
        (1..10).contains(&kept),
        "{kept} of the batch's records stayed"
    );
    for (line, event) in lines.iter().zip(&batch) {
        assert_eq!(*line, format!("{event}\n").as_bytes());
    }
    let whole: usize = lines.iter().map(|l| l.len()).sum::<usize>() + ended;
    assert!(
        message.contains(&format!("{whole} bytes of whole lines")),
        "{message}"
    );
    if let Some(partial) = partial {
        assert!(batch[lines.len()].as_bytes().starts_with(partial));
        assert!(
            message.contains(&format!(
                "its partly written bytes ({} at byte offset {}) stay",
                partial.len(),
                before.len() + whole
            )),
            "{message}"
        );
    }
    let mut expected = stored.clone();
    expected.extend(batch[..kept].iter().cloned());
    expect_records(&mut memory, &expected, 2);
    figures("batch cut by a full device", 1, stored.len() + kept, 1);
}

#[test]
fn a_failed_append_never_cuts_a_record_another_instance_stored() {
    // Two instances append the same record at once to a log that ends in
    // a torn line, on a device with room for exactly one of them: the one
    // that fails must not take the other's (identical) bytes for its own.
    let trials = 10;
    for trial in 0..trials {
        let Some(fs) = Tmpfs::mount("disk_full_race", 64 << 10) else {
            return;
        };
        let dir = fs.path.clone();
        let frame = b"\n{\"e\":1}\n".len();
        let size = 8192 - frame;
        let mut log = b"{\"x\":0}\n".repeat((size - 10) / 8);
        log.resize(size, b'g');
        std::fs::write(dir.join(LOG), &log).unwrap();
        let mut ballast = std::fs::File::create(dir.join("ballast")).unwrap();
        while std::io::Write::write_all(&mut ballast, &[0u8; 512]).is_ok() {}
        drop(ballast);
        let barrier = std::sync::Barrier::new(2);
        let acknowledged = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (dir, barrier) = (&dir, &barrier);
                    scope.spawn(move || {
                        let mut memory = Memory::open(dir, Options::default()).unwrap();
                        memory.replay().unwrap();
                        barrier.wait();
                        memory.try_append("{\"e\":1}").is_ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count()
        });
        let after = read_log(&dir);
        let stored = after.windows(7).filter(|w| w == b"{\"e\":1}").count();
        assert!(
            stored >= acknowledged,
            "trial {trial}: {acknowledged} appends acknowledged, {stored} in the log"
        );
    }
    figures(
        "identical records racing on a full device",
        trials,
        0,
        trials,
    );
}
