//! A compaction killed after any of its file operations, on the simulated
//! disk: the process stops right there (a panic out of the file system, so
//! no clean-up runs), its files stay as they were. Then appends go on
//! within the staleness of its claims, the next compaction runs once they
//! are stale, and every acknowledged record is in the log exactly once.

#![forbid(unsafe_code)]

mod sim;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use pathway_memory::config::SyncMode;
use pathway_memory::frame::Frame;
use pathway_memory::fs::{File, FileSystem, Open};
use pathway_memory::fs_mem::MemFs;
use pathway_memory::lock::{STALE_AFTER_MILLIS, seal};
use pathway_memory::rewrite::{RewriteError, compact};
use pathway_memory::store::Store;
use sim::{LOG, config, replay};

const MILLI: u64 = 1_000_000;

/// Kills the compaction after its `kill_at`th file change, with another
/// instance appending after each change while no lock is held. Returns
/// false once the compaction finished before that change.
fn kill_compaction_at(kill_at: usize, figures: &mut Figures) -> bool {
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    let old: Vec<String> = (0..5).map(|i| format!(r#"{{"old":{i}}}"#)).collect();
    for text in &old {
        store.append_frame(Frame::new([text.as_str()])).unwrap();
        fs.advance(MILLI);
    }
    let (_, upto) = store.page(None, 1 << 30).unwrap();
    let other = Rc::new(RefCell::new(Store::new(
        config(SyncMode::Always),
        fs.clone(),
        "mem".into(),
    )));
    let acked = Rc::new(RefCell::new(Vec::new()));
    let late = |i: usize| format!(r#"{{"late":{i}}}"#);
    other
        .borrow_mut()
        .append_frame(Frame::new([late(0).as_str()]))
        .unwrap();
    acked.borrow_mut().push(late(0));
    let changes = Rc::new(RefCell::new(0));
    {
        let (fs2, other, acked, changes) =
            (fs.clone(), other.clone(), acked.clone(), changes.clone());
        fs.after_each_change(move || {
            *changes.borrow_mut() += 1;
            if *changes.borrow() == kill_at {
                panic!("killed after change {kill_at}");
            }
            fs2.advance(MILLI);
            if !fs2.names().iter().any(|n| n.ends_with(".lock")) {
                let text = late(acked.borrow().len());
                other
                    .borrow_mut()
                    .append_frame(Frame::new([text.as_str()]))
                    .unwrap();
                acked.borrow_mut().push(text);
            }
        });
    }
    let snapshot = r#"{"op":"state"}"#;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        compact(&mut store, &Frame::new([snapshot]), &upto.encode())
    }));
    fs.after_each_change(|| {});
    let finished = match outcome {
        Ok(result) => {
            result.expect("an unkilled compaction");
            true
        }
        Err(_) => false,
    };

    // Appends go on: the other instance (its log open) and a new one.
    let started = fs.now_nanos();
    for store in [
        &mut *other.borrow_mut(),
        &mut Store::new(config(SyncMode::Always), fs.clone(), "mem".into()),
    ] {
        let text = late(acked.borrow().len());
        store
            .append_frame(Frame::new([text.as_str()]))
            .unwrap_or_else(|e| panic!("kill at {kill_at}: append after the kill: {e}"));
        acked.borrow_mut().push(text);
    }
    let stalled = fs.now_nanos() - started;
    assert!(
        stalled <= (STALE_AFTER_MILLIS + 10) * MILLI,
        "kill at {kill_at}: appends stalled {} ms",
        stalled / MILLI
    );
    figures.longest_stall = figures.longest_stall.max(stalled);

    // Exactly once: the old records or the snapshot, then each
    // acknowledged record once.
    let seen = replay(&fs);
    let rest = if seen.starts_with(&old) {
        &seen[old.len()..]
    } else {
        assert_eq!(
            seen.first().map(String::as_str),
            Some(snapshot),
            "kill at {kill_at}"
        );
        &seen[1..]
    };
    let mut rest = rest.to_vec();
    rest.sort();
    let mut expected = acked.borrow().clone();
    expected.sort();
    assert_eq!(rest, expected, "kill at {kill_at}: acknowledged records");
    figures.records += expected.len();

    // The next compaction runs once the killed one's claims are stale.
    fs.advance(STALE_AFTER_MILLIS * MILLI);
    let (_, end) = store.page(None, 1 << 30).unwrap();
    compact(&mut store, &Frame::new([snapshot]), &end.encode())
        .unwrap_or_else(|e| panic!("kill at {kill_at}: the next compaction: {e}"));
    assert_eq!(replay(&fs), [snapshot], "kill at {kill_at}");
    !finished
}

#[derive(Default)]
struct Figures {
    kills: usize,
    records: usize,
    longest_stall: u64,
}

#[test]
fn a_compaction_killed_at_any_step_holds_appends_up_for_at_most_the_staleness_and_loses_or_doubles_no_record()
 {
    let mut figures = Figures::default();
    let mut kill_at = 1;
    while kill_compaction_at(kill_at, &mut figures) {
        figures.kills += 1;
        kill_at += 1;
    }
    assert!(
        figures.kills > 10,
        "the compaction has more steps than {}",
        figures.kills
    );
    eprintln!(
        "figures: killed compaction (simulated disk): {} kill points, {} acknowledged records \
         checked, 0 lost, 0 doubled, longest append stall {} ms (simulated)",
        figures.kills,
        figures.records,
        figures.longest_stall / MILLI
    );
}

#[test]
fn a_compaction_stalled_past_the_staleness_stops_before_renaming() {
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    for i in 0..3 {
        store
            .append_frame(Frame::new([format!("{i}").as_str()]))
            .unwrap();
    }
    let (_, upto) = store.page(None, 1 << 30).unwrap();
    // Once the lock is held, the process stops for longer than the
    // staleness (as a stopped process or a huge sync would), once.
    let stalled = Rc::new(RefCell::new(false));
    {
        let (fs2, stalled) = (fs.clone(), stalled.clone());
        fs.after_each_change(move || {
            if !*stalled.borrow() && fs2.names().iter().any(|n| n.ends_with(".lock")) {
                *stalled.borrow_mut() = true;
                fs2.advance((STALE_AFTER_MILLIS + 1) * MILLI);
            }
        });
    }
    let result = compact(&mut store, &Frame::new(["\"state\""]), &upto.encode());
    assert!(
        matches!(result, Err(RewriteError::TakenOver { .. })),
        "{:?}",
        result.map(|_| ())
    );
    assert_eq!(replay(&fs), ["0", "1", "2"]);
    assert_eq!(fs.names(), [LOG]);
}

#[test]
fn an_append_to_a_sealed_log_waits_for_a_fresh_lock_then_goes_on_when_it_is_stale() {
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    store.append_frame(Frame::new(["1"])).unwrap();
    // A rewrite took the lock and sealed the log, then died.
    fs.open(&format!("{LOG}.lock"), Open::CreateNew).unwrap();
    fs.open(LOG, Open::Append)
        .unwrap()
        .append(&Frame::raw(&seal(7)))
        .unwrap();
    let started = fs.now_nanos();
    store.append_frame(Frame::new(["2"])).unwrap();
    let waited = fs.now_nanos() - started;
    assert!(
        (STALE_AFTER_MILLIS * MILLI..=(STALE_AFTER_MILLIS + 2) * MILLI).contains(&waited),
        "waited {waited} ns"
    );
    assert_eq!(replay(&fs), ["1", "2"]);
}
