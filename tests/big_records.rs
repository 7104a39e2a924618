//! Records larger than the host's write permit, on the simulated disk:
//! another instance appends after every file operation of a big append
//! (its link, its reservation, its fill), and every record lands whole
//! and once.

#![forbid(unsafe_code)]

mod sim;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use pathway_memory::config::SyncMode;
use pathway_memory::frame::Frame;
use pathway_memory::fs::FileSystem;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::rewrite::compact;
use pathway_memory::store::Store;
use sim::{LOG, config, replay};

#[test]
fn a_record_above_the_permit_lands_whole_while_another_instance_appends_at_every_step() {
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    let other = Rc::new(RefCell::new(Store::new(
        config(SyncMode::Never),
        fs.clone(),
        "mem".into(),
    )));
    let small = |i: usize| format!(r#"{{"small":{i}}}"#);
    other
        .borrow_mut()
        .append_frame(Frame::new([small(0).as_str()]))
        .unwrap();
    let appended = Rc::new(RefCell::new(vec![small(0)]));
    {
        let (fs2, other, appended) = (fs.clone(), other.clone(), appended.clone());
        fs.after_each_change(move || {
            fs2.advance(1_000_000);
            let text = small(appended.borrow().len());
            other
                .borrow_mut()
                .append_frame(Frame::new([text.as_str()]))
                .expect("small append during the big one");
            appended.borrow_mut().push(text);
        });
    }
    let bigs: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"big":{i},"pad":"{}"}}"#, "q".repeat(100_000 + i)))
        .collect();
    for big in &bigs {
        store
            .append_frame(Frame::new([big.as_str()]))
            .expect("big append");
    }
    fs.after_each_change(|| {});
    let mut seen = replay(&fs);
    seen.sort();
    let mut expected: Vec<String> = appended.borrow().clone();
    expected.extend(bigs.iter().cloned());
    expected.sort();
    assert!(
        appended.borrow().len() > 10,
        "the other instance appended meanwhile"
    );
    assert_eq!(seen, expected);
    assert_eq!(fs.names(), [LOG], "no claim or link left");
}

/// Kills a big append after its `kill_at`th file change (the process stops
/// there); false once the append finished before it.
fn kill_big_append_at(kill_at: usize, longest_stall: &mut u64) -> bool {
    let fs = MemFs::new();
    let mut small = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    small.append_frame(Frame::new(["0"])).unwrap();
    let changes = Rc::new(RefCell::new(0));
    {
        let changes = changes.clone();
        fs.after_each_change(move || {
            *changes.borrow_mut() += 1;
            if *changes.borrow() == kill_at {
                panic!("killed after change {kill_at}");
            }
        });
    }
    let big = format!(r#"{{"big":"{}"}}"#, "k".repeat(80_000));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
        store.append_frame(Frame::new([big.as_str()]))
    }));
    fs.after_each_change(|| {});
    let finished = outcome.is_ok();

    // Small appends go on within the staleness, each once, and the next
    // compaction runs.
    let started = fs.now_nanos();
    for i in 1..4 {
        small
            .append_frame(Frame::new([format!("{i}").as_str()]))
            .unwrap();
    }
    *longest_stall = (*longest_stall).max(fs.now_nanos() - started);
    assert!(
        fs.now_nanos() - started <= 2_100_000_000,
        "kill at {kill_at}"
    );
    let store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    let (page, end) = store.page(None, 1 << 30).unwrap();
    let records: Vec<String> = page
        .entries
        .iter()
        .filter_map(|e| e.record.clone().ok())
        .collect();
    let damaged = page.entries.iter().filter(|e| e.record.is_err()).count();
    let smalls: Vec<&String> = records
        .iter()
        .filter(|r| !r.starts_with("{\"big\""))
        .collect();
    assert_eq!(smalls, ["0", "1", "2", "3"], "kill at {kill_at}");
    let bigs = records.len() - smalls.len();
    assert!(
        bigs <= 1 && damaged <= 1,
        "kill at {kill_at}: the big record whole or one torn line"
    );
    if finished {
        assert_eq!(bigs, 1);
    }
    fs.advance(2_000_000_000);
    let mut store = store;
    compact(&mut store, &Frame::new(["\"state\""]), &end.encode())
        .unwrap_or_else(|e| panic!("kill at {kill_at}: compaction after: {e}"));
    assert_eq!(
        fs.names(),
        [LOG, "pathway.jsonl.moved", "pathway.jsonl.sha256"],
        "kill at {kill_at}: leftovers cleaned"
    );
    !finished
}

#[test]
fn a_big_append_killed_at_any_step_leaves_at_most_its_own_torn_line_and_holds_no_one_up_for_long() {
    let mut kills = 0;
    let mut longest_stall = 0;
    while kill_big_append_at(kills + 1, &mut longest_stall) {
        kills += 1;
    }
    assert!(kills >= 4, "a big append has more steps than {kills}");
    eprintln!(
        "figures: big append killed (simulated disk): {kills} kill points, small appends held up \
         at most {} ms (simulated), 0 records lost or doubled",
        longest_stall / 1_000_000
    );
}
