//! Named logs on the simulated disk: listing a grant a page at a time, and
//! the last records of a log read backwards, against a whole replay.

mod sim;

use pathway_memory::catalog::{LogInfo, list};
use pathway_memory::config::SyncMode;
use pathway_memory::cursor::CursorError;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::oracle::entries;
use pathway_memory::pager::OwnedEntry;
use pathway_memory::rewrite::{RewriteError, compact};
use pathway_memory::store::Store;
use pathway_memory::store_error::PageError;
use pathway_memory::tail::{UNCOUNTED, read_last};
use proptest::prelude::*;
use sim::config;

fn store(fs: &MemFs, name: &str) -> Store<MemFs> {
    let config = config(SyncMode::Never).for_log(name).unwrap();
    Store::new(config, fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, events: &[&str]) {
    let mut frame = Frame::with_capacity(64, events.len());
    for e in events {
        frame.push(e);
    }
    store.append_frame(frame).unwrap();
}

/// Every page of the listing, `max` logs a page.
fn all_pages(fs: &MemFs, max: usize) -> (Vec<LogInfo>, usize) {
    let (mut all, mut pages, mut after) = (Vec::new(), 0, None::<String>);
    loop {
        let page = list(fs, "mem", after.as_deref(), max).unwrap();
        pages += 1;
        assert!(page.logs.len() <= max);
        all.extend(page.logs);
        match page.next {
            Some(next) => after = Some(next),
            None => return (all, pages),
        }
    }
}

#[test]
fn listing_pages_through_every_log_once_in_name_order_and_never_side_files() {
    let fs = MemFs::new();
    let mut names: Vec<String> = (0..500)
        .map(|i| format!("thread-{:04}", (i * 7919) % 500))
        .collect();
    for name in &names {
        let mut log = store(&fs, name);
        append(&mut log, &[r#"{"n":1}"#]);
    }
    for side in [
        "thread-0001.jsonl.lock",
        "thread-0001.jsonl.quarantine",
        "notes.txt",
        ".x.jsonl",
    ] {
        fs.put(side, b"{}\n");
    }
    names.sort();
    for max in [1, 7, 499, 500, 501, 10_000] {
        let (all, pages) = all_pages(&fs, max);
        let listed: Vec<&str> = all.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(listed, names, "max {max}");
        assert!(all.iter().all(|l| l.bytes == 8));
        assert_eq!(pages, 500usize.div_ceil(max).max(1), "max {max}");
    }
    eprintln!("figures: 500 logs listed in pages of 1 to 10,000, each once, no side file");
}

#[test]
fn an_empty_grant_lists_no_log() {
    let fs = MemFs::new();
    let page = list(&fs, "mem", None, 100).unwrap();
    assert_eq!((page.logs.len(), page.next), (0, None));
}

#[test]
fn named_logs_are_separate_files_and_the_default_log_is_named_pathway() {
    let fs = MemFs::new();
    append(&mut store(&fs, "a"), &["1"]);
    append(&mut store(&fs, "b"), &["2", "3"]);
    append(
        &mut Store::new(config(SyncMode::Never), fs.clone(), "mem".into()),
        &["0"],
    );
    assert_eq!(fs.read("a.jsonl").unwrap(), b"1\n");
    assert_eq!(fs.read("b.jsonl").unwrap(), b"2\n3\n");
    let listed: Vec<String> = all_pages(&fs, 10).0.into_iter().map(|l| l.name).collect();
    assert_eq!(listed, ["a", "b", "pathway"]);
}

#[test]
fn last_gives_the_newest_records_and_a_cursor_for_what_comes_later() {
    let fs = MemFs::new();
    let mut log = store(&fs, "t");
    let (none, start) = log.last(3).unwrap();
    assert!(none.is_empty());
    append(&mut log, &["1", "2", "3", "4"]);
    fs.put(
        "t.jsonl",
        &[fs.read("t.jsonl").unwrap(), b"not json\n5\n".to_vec()].concat(),
    );
    let (last, end) = log.last(3).unwrap();
    let shown: Vec<String> = last
        .iter()
        .map(|e| match &e.record {
            Ok(r) => r.clone(),
            Err(d) => d.to_string(),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "4",
            "line at byte offset 8: not exactly one JSON value: expected ident at byte 1 of \
             the line; skipped, the other records are unaffected",
            "5"
        ]
    );
    assert_eq!(last[1].line, UNCOUNTED);
    append(&mut log, &["6", "7"]);
    let (page, _) = log.page(Some(&end.encode()), 1 << 20).unwrap();
    let later: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.record.clone().unwrap())
        .collect();
    assert_eq!(later, ["6", "7"]);
    // The cursor of an empty log reads from the start.
    let (page, _) = log.page(Some(&start.encode()), 1 << 20).unwrap();
    assert_eq!(page.entries.len(), 8);
}

#[test]
fn a_compaction_refuses_the_cursor_of_last() {
    let fs = MemFs::new();
    let mut log = store(&fs, "t");
    append(&mut log, &["1", "2"]);
    let (_, end) = log.last(1).unwrap();
    let refused = compact(&mut log, &Frame::with_capacity(0, 0), &end.encode()).unwrap_err();
    assert!(
        matches!(&refused, RewriteError::Cursor(CursorError::Stale { reason }) if reason.contains("last")),
        "{refused:?}"
    );
    assert_eq!(fs.read("t.jsonl").unwrap(), b"1\n2\n");
}

#[test]
fn the_cursor_of_last_survives_a_compaction_up_to_it_and_one_before_goes_stale() {
    let fs = MemFs::new();
    let mut log = store(&fs, "t");
    append(&mut log, &["1", "2"]);
    let (_, first) = log.page(None, 1).unwrap();
    let (_, end) = log.last(1).unwrap();
    let (_, upto) = log.page(None, 1 << 20).unwrap();
    let mut snapshot = Frame::with_capacity(8, 1);
    snapshot.push("12");
    compact(&mut log, &snapshot, &upto.encode()).unwrap();
    append(&mut log, &["3"]);
    let (page, _) = log.page(Some(&end.encode()), 100).unwrap();
    let later: Vec<_> = page
        .entries
        .into_iter()
        .map(|e| e.record.unwrap())
        .collect();
    assert_eq!(later, ["3"]);
    assert!(matches!(
        log.page(Some(&first.encode()), 100),
        Err(PageError::Cursor(CursorError::Stale { .. }))
    ));
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{\"a\":1}".to_vec()),
        Just(b"[1,2,3,4,5,6,7,8,9]".to_vec()),
        Just(b"not json".to_vec()),
        Just(b"\"\xff\"".to_vec()),
        Just(b"   ".to_vec()),
        Just(b"7\r".to_vec()),
        Just(b"\t\r\t\r\t\r\t\r".to_vec()),
        Just(Vec::new()),
        (1usize..200).prop_map(|n| vec![b'x'; n]),
        (1usize..200).prop_map(|n| vec![b' '; n]),
    ]
}

proptest! {
    /// `last(n)` is the end of a whole replay, whatever the lines, the
    /// limit and an unterminated end.
    #[test]
    fn last_n_is_the_end_of_a_whole_replay(
        bom in any::<bool>(),
        lines in prop::collection::vec(line(), 0..40),
        torn in prop::option::of(line()),
        count in 0usize..45,
        max_line in prop_oneof![Just(4u64), Just(16), Just(150), Just(1 << 20)],
    ) {
        let mut file = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        for l in &lines {
            file.extend(l);
            file.push(b'\n');
        }
        let end = file.len() as u64;
        if let Some(t) = &torn {
            file.extend(t);
        }
        let all: Vec<OwnedEntry> = entries(&file, max_line).map(OwnedEntry::from).collect();
        let mut expected: Vec<OwnedEntry> = all[all.len().saturating_sub(count)..].to_vec();
        for e in &mut expected {
            e.line = UNCOUNTED;
            if let Err(d) = &mut e.record {
                d.line = UNCOUNTED;
            }
        }
        let found = read_last(&mut &file[..], file.len() as u64, count, max_line).unwrap();
        prop_assert_eq!(found.entries, expected);
        prop_assert_eq!(found.end, end);
    }
}
