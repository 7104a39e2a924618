//! Delete and fork on the simulated disk: at every file call an appender
//! of the deleted log writes (a delete racing it, stopped there for any
//! time), a delete killed after each file change, and power cuts at every
//! cut point of a delete and of a fork. What must hold: the log is whole
//! or gone, never a prefix, nor resurrected; every acknowledged record of
//! a surviving log is there exactly once; an append that a delete overtook
//! fails with `deleted` and stores nothing; a fork is whole or absent.

mod sim;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use pathway_memory::catalog::list;
use pathway_memory::config::{Config, SyncMode};
use pathway_memory::cursor::CursorError;
use pathway_memory::fork::{ForkError, fork};
use pathway_memory::format::DEFAULT_MAX_LINE;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::lock::STALE_AFTER_MILLIS;
use pathway_memory::rewrite::{RewriteError, delete, repair};
use pathway_memory::store::Store;
use pathway_memory::store_error::StoreError;
use sim::config;

const MILLI: u64 = 1_000_000;

fn named(name: &str, sync: SyncMode) -> Config {
    config(sync).for_log(name).unwrap()
}

fn store(fs: &MemFs, name: &str) -> Store<MemFs> {
    Store::new(named(name, SyncMode::Always), fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, text: &str) -> Result<(), StoreError> {
    store.append_frame(Frame::new([text]))
}

/// The records of log `name` as a fresh reader pages them.
fn records(fs: &MemFs, name: &str) -> Vec<String> {
    let (page, _) = store(fs, name).page(None, 1 << 30).expect("replay");
    page.entries
        .into_iter()
        .chain(page.tail)
        .map(|e| e.record.expect("no damaged line"))
        .collect()
}

fn listed(fs: &MemFs) -> Vec<String> {
    list(fs, "mem", None, 1000)
        .unwrap()
        .logs
        .into_iter()
        .map(|l| l.name)
        .collect()
}

#[test]
fn a_delete_removes_the_log_and_its_side_files_and_a_missing_log_is_refused() {
    let fs = MemFs::new();
    let mut log = store(&fs, "t");
    append(&mut log, "1").unwrap();
    fs.put("t.jsonl", b"1\nnot json\n2\n");
    repair(&mut log).unwrap();
    assert!(fs.read("t.jsonl.quarantine").is_some() && fs.read("t.jsonl.sha256").is_some());
    append(&mut store(&fs, "other"), "9").unwrap();
    assert_eq!(delete(&mut store(&fs, "t")).unwrap(), 4);
    assert_eq!(fs.names(), ["other.jsonl"]);
    assert!(matches!(
        delete(&mut store(&fs, "t")),
        Err(RewriteError::NoLog { .. })
    ));
    // Created anew by the next append of that name.
    append(&mut store(&fs, "t"), "3").unwrap();
    assert_eq!(records(&fs, "t"), ["3"]);
}

#[test]
fn an_appender_of_a_deleted_log_is_told_and_never_writes_into_it() {
    let fs = MemFs::new();
    let mut appender = store(&fs, "t");
    append(&mut appender, "1").unwrap();
    delete(&mut store(&fs, "t")).unwrap();
    // Its file is gone: `deleted`, nothing stored, no log created.
    assert!(matches!(
        append(&mut appender, "2"),
        Err(StoreError::Deleted { .. })
    ));
    assert!(listed(&fs).is_empty());
    // Another instance created a new log of that name meanwhile: the old
    // appender is still told, and writes nothing into the new one.
    let mut second = store(&fs, "t");
    append(&mut second, "\"a\"").unwrap();
    delete(&mut store(&fs, "t")).unwrap();
    append(&mut store(&fs, "t"), "\"b\"").unwrap();
    assert!(matches!(
        append(&mut second, "\"c\""),
        Err(StoreError::Deleted { .. })
    ));
    assert_eq!(records(&fs, "t"), ["\"b\""]);
}

/// An append's text, and whether it was stored (`Err(true)`: `deleted`).
type Outcome = (String, Result<(), bool>);

/// A world of one log `t` with records in it, an appender that has it
/// open, and a delete that runs while, before its `at`th file call, the
/// appender appends (and waits, while the delete stands still, if the
/// delete's lock makes it).
fn delete_racing_an_append_at(at: usize, figures: &mut (usize, usize, usize)) -> bool {
    let fs = MemFs::new();
    let old: Vec<String> = (0..4).map(|i| format!(r#"{{"old":{i}}}"#)).collect();
    let mut first = store(&fs, "t");
    for text in &old {
        append(&mut first, text).unwrap();
    }
    let appender = Rc::new(RefCell::new(store(&fs, "t")));
    append(&mut appender.borrow_mut(), r#"{"b":0}"#).unwrap();
    // (text, Ok / Err(deleted)) of each append the appender made.
    let outcomes: Rc<RefCell<Vec<Outcome>>> = Rc::default();
    outcomes.borrow_mut().push((r#"{"b":0}"#.into(), Ok(())));
    let calls = Rc::new(RefCell::new(0usize));
    {
        let (fs2, appender, outcomes, calls) = (
            fs.clone(),
            appender.clone(),
            outcomes.clone(),
            calls.clone(),
        );
        fs.before_each_call(move || {
            *calls.borrow_mut() += 1;
            if *calls.borrow() != at {
                return;
            }
            fs2.advance(MILLI);
            let text = format!(r#"{{"b":{}}}"#, outcomes.borrow().len());
            let done = append(&mut appender.borrow_mut(), &text);
            let outcome = match done {
                Ok(()) => Ok(()),
                Err(StoreError::Deleted { .. }) => Err(true),
                Err(e) => panic!("call {at}: append during the delete: {e}"),
            };
            outcomes.borrow_mut().push((text, outcome));
        });
    }
    let deleted = delete(&mut store(&fs, "t"));
    fs.before_each_call(|| {});
    let reached = *calls.borrow() >= at;
    // After the delete returned: the appender's next append.
    let text = format!(r#"{{"b":{}}}"#, outcomes.borrow().len());
    let after = match append(&mut appender.borrow_mut(), &text) {
        Ok(()) => Ok(()),
        Err(StoreError::Deleted { .. }) => Err(true),
        Err(e) => panic!("call {at}: append after the delete: {e}"),
    };
    outcomes.borrow_mut().push((text.clone(), after));
    let seen = records(&fs, "t");
    let acked: Vec<String> = outcomes
        .borrow()
        .iter()
        .filter(|(_, o)| o.is_ok())
        .map(|(t, _)| t.clone())
        .collect();
    match deleted {
        Ok(_) => {
            figures.0 += 1;
            // Gone: no old record, none that a delete overtook; whatever
            // is there was acknowledged into a new log, after the delete
            // removed the name.
            assert!(!seen.iter().any(|r| old.contains(r)), "call {at}: {seen:?}");
            for (text, outcome) in outcomes.borrow().iter() {
                if outcome.is_err() {
                    assert!(
                        !seen.contains(text),
                        "call {at}: {text} was refused but stored"
                    );
                }
            }
            assert!(
                seen.iter().all(|r| acked.contains(r)),
                "call {at}: {seen:?}"
            );
            // The append right after the delete returned: refused, or
            // (an appender that was told already) in a new log.
            if after.is_ok() {
                assert_eq!(seen.last(), Some(&text), "call {at}");
            }
        }
        Err(RewriteError::TakenOver { .. } | RewriteError::Busy { .. }) => {
            figures.1 += 1;
            // Not deleted: whole, every acknowledged record once.
            let mut expected = old.clone();
            expected.extend(acked.iter().cloned());
            assert_eq!(seen, expected, "call {at}");
            assert!(
                outcomes.borrow().iter().all(|(_, o)| o.is_ok()),
                "call {at}"
            );
        }
        Err(e) => panic!("call {at}: delete: {e}"),
    }
    figures.2 += outcomes.borrow().iter().filter(|(_, o)| o.is_err()).count();
    reached
}

#[test]
fn a_delete_racing_an_appender_at_every_file_call_loses_nothing_it_did_not_delete() {
    let mut figures = (0, 0, 0);
    let mut at = 1;
    while delete_racing_an_append_at(at, &mut figures) {
        at += 1;
    }
    assert!(figures.0 > 0 && figures.2 > 0, "{figures:?}");
    eprintln!(
        "figures: delete racing an append before each of its {} file calls: {} deleted, {} \
         stopped and left whole, {} appends told `deleted`",
        at - 1,
        figures.0,
        figures.1,
        figures.2
    );
}

/// Kills the delete after its `kill_at`th file change. Returns false once
/// it finished before that change.
fn kill_delete_at(kill_at: usize) -> bool {
    let fs = MemFs::new();
    let old: Vec<String> = (0..4).map(|i| format!(r#"{{"old":{i}}}"#)).collect();
    let mut first = store(&fs, "t");
    for text in &old {
        append(&mut first, text).unwrap();
    }
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
    let outcome = catch_unwind(AssertUnwindSafe(|| delete(&mut store(&fs, "t"))));
    fs.after_each_change(|| {});
    let finished = match outcome {
        Ok(result) => {
            result.expect("an unkilled delete");
            true
        }
        Err(_) => false,
    };
    let seen = records(&fs, "t");
    let whole = seen == old;
    assert!(whole || seen.is_empty(), "kill at {kill_at}: {seen:?}");
    assert_eq!(
        listed(&fs).contains(&"t".to_string()),
        whole,
        "kill at {kill_at}"
    );
    // The first appender lost nothing if the log is whole, and is told if
    // it is gone; a new appender goes on after the staleness.
    fs.advance(STALE_AFTER_MILLIS * MILLI);
    match append(&mut first, "\"late\"") {
        Ok(()) => assert!(whole, "kill at {kill_at}: appended to a deleted log"),
        Err(StoreError::Deleted { .. }) => assert!(!whole, "kill at {kill_at}"),
        Err(e) => panic!("kill at {kill_at}: {e}"),
    }
    append(&mut store(&fs, "t"), "\"new\"").unwrap();
    let seen = records(&fs, "t");
    let expected: Vec<&str> = if whole {
        old.iter()
            .map(String::as_str)
            .chain(["\"late\"", "\"new\""])
            .collect()
    } else {
        vec!["\"new\""]
    };
    assert_eq!(seen, expected, "kill at {kill_at}");
    // Finished or not, deleting again works (a tombstone too).
    delete(&mut store(&fs, "t")).unwrap_or_else(|e| panic!("kill at {kill_at}: {e}"));
    assert!(listed(&fs).is_empty(), "kill at {kill_at}");
    !finished
}

#[test]
fn a_delete_killed_after_any_file_change_leaves_the_log_whole_or_gone() {
    let mut at = 1;
    while kill_delete_at(at) {
        at += 1;
    }
    eprintln!(
        "figures: delete killed after each of its {} file changes: whole or gone",
        at - 1
    );
}

#[test]
fn a_power_cut_during_a_delete_or_a_fork_leaves_each_log_whole_or_absent() {
    let fs = MemFs::new();
    let old: Vec<String> = (0..6).map(|i| format!(r#"{{"old":{i}}}"#)).collect();
    let mut first = store(&fs, "t");
    for text in &old {
        append(&mut first, text).unwrap();
    }
    first.sync().unwrap();
    fs.record_cut_points();
    fork(
        &fs,
        "mem",
        "t.jsonl",
        "f.jsonl",
        None,
        DEFAULT_MAX_LINE,
        None,
    )
    .unwrap();
    delete(&mut store(&fs, "t")).unwrap();
    let mut cuts = 0;
    for point in 0..fs.cut_points() {
        let disk = fs.cut_point(point);
        for keep in disk.cuts(3) {
            cuts += 1;
            let after = disk.power_cut(&keep);
            let at = format!("cut point {point}, {keep:?}");
            for name in ["t", "f"] {
                let seen = records(&after, name);
                assert!(seen == old || seen.is_empty(), "{at}: {name}: {seen:?}");
                let is_listed = listed(&after).contains(&name.to_string());
                assert_eq!(is_listed, !seen.is_empty(), "{at}: {name}");
            }
            // No fork without its source's records: the source goes only
            // after the fork is whole.
            assert!(
                !records(&after, "t").is_empty() || !records(&after, "f").is_empty(),
                "{at}"
            );
        }
    }
    eprintln!(
        "figures: power cuts during a fork and a delete: {} cut points, {cuts} cuts, each log \
         whole or absent",
        fs.cut_points()
    );
}

#[test]
fn a_fork_copies_up_to_its_cursor_and_the_two_logs_go_separate_ways() {
    let fs = MemFs::new();
    let mut source = store(&fs, "s");
    for text in ["1", "2", "3"] {
        append(&mut source, text).unwrap();
    }
    let (page, at) = source.page(None, 2).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(
        fork(
            &fs,
            "mem",
            "s.jsonl",
            "early.jsonl",
            Some(&at.encode()),
            DEFAULT_MAX_LINE,
            None,
        )
        .unwrap(),
        2
    );
    // An unterminated last line is not copied by a fork to the end.
    fs.put("s.jsonl", b"1\n2\n3\n{\"torn\":");
    fork(
        &fs,
        "mem",
        "s.jsonl",
        "all.jsonl",
        None,
        DEFAULT_MAX_LINE,
        None,
    )
    .unwrap();
    assert_eq!(records(&fs, "early"), ["1"]);
    assert_eq!(records(&fs, "all"), ["1", "2", "3"]);
    append(&mut store(&fs, "all"), "\"branch\"").unwrap();
    append(&mut store(&fs, "s"), "\"trunk\"").unwrap();
    assert_eq!(records(&fs, "all"), ["1", "2", "3", "\"branch\""]);
    assert!(
        !fs.read("s.jsonl")
            .unwrap()
            .windows(6)
            .any(|w| w == b"branch")
    );
    assert!(
        !fs.names().iter().any(|n| n.contains(".fork.")),
        "{:?}",
        fs.names()
    );
}

#[test]
fn a_fork_refuses_an_existing_name_a_missing_source_and_another_logs_cursor() {
    let fs = MemFs::new();
    append(&mut store(&fs, "a"), "1").unwrap();
    append(&mut store(&fs, "b"), "2").unwrap();
    let before = fs.names();
    assert!(matches!(
        fork(
            &fs,
            "mem",
            "a.jsonl",
            "b.jsonl",
            None,
            DEFAULT_MAX_LINE,
            None
        ),
        Err(ForkError::Exists { .. })
    ));
    assert!(matches!(
        fork(
            &fs,
            "mem",
            "none.jsonl",
            "c.jsonl",
            None,
            DEFAULT_MAX_LINE,
            None
        ),
        Err(ForkError::NoLog { .. })
    ));
    let (_, of_b) = store(&fs, "b").page(None, 1 << 20).unwrap();
    assert!(matches!(
        fork(
            &fs,
            "mem",
            "a.jsonl",
            "c.jsonl",
            Some(&of_b.encode()),
            DEFAULT_MAX_LINE,
            None,
        ),
        Err(ForkError::Cursor(CursorError::Stale { .. }))
    ));
    assert!(matches!(
        fork(
            &fs,
            "mem",
            "a.jsonl",
            "c.jsonl",
            Some("nonsense"),
            DEFAULT_MAX_LINE,
            None,
        ),
        Err(ForkError::Cursor(CursorError::Invalid { .. }))
    ));
    assert_eq!(fs.names(), before);
    assert_eq!(records(&fs, "b"), ["2"]);
}
