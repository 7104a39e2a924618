//! The append protocol on the in-memory disk, natively: how many file
//! calls a steady append makes, and what happens when another writer's
//! unterminated line or a rewrite comes between two appends of one
//! instance.

use pathway_memory::config::{Config, SyncMode};
use pathway_memory::format::DEFAULT_MAX_LINE;
use pathway_memory::frame::Frame;
use pathway_memory::fs::{File, FileSystem, Open};
use pathway_memory::fs_mem::MemFs;
use pathway_memory::oracle::entries;
use pathway_memory::rewrite::compact;
use pathway_memory::store::Store;

const LOG: &str = "pathway.jsonl";

fn store(fs: &MemFs) -> Store<MemFs> {
    let config = Config {
        log_name: LOG.to_string(),
        quota: None,
        name: None,
        max_line: DEFAULT_MAX_LINE,
        max_depth: pathway_memory::format::DEFAULT_MAX_DEPTH,
        sync: SyncMode::Never,
    };
    Store::new(config, fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, record: &str) {
    store.append_frame(Frame::new([record])).expect("append");
}

/// Records and damaged lines (as `!` plus their text) in file order.
fn lines(fs: &MemFs) -> Vec<String> {
    let bytes = fs.read(LOG).unwrap_or_default();
    entries(&bytes, DEFAULT_MAX_LINE)
        .map(|e| match e.record {
            Ok(text) => text.to_string(),
            Err(damage) => {
                let start = damage.offset as usize;
                format!(
                    "!{}",
                    String::from_utf8_lossy(&bytes[start..][..e.length as usize])
                )
            }
        })
        .collect()
}

#[test]
fn a_steady_append_makes_three_file_calls_a_stat_the_write_and_a_stat() {
    let fs = MemFs::new();
    let mut store = store(&fs);
    append(&mut store, "1");
    for i in 2..10 {
        let before = fs.calls();
        append(&mut store, &i.to_string());
        assert_eq!(fs.calls() - before, 3, "append {i}");
    }
    assert_eq!(lines(&fs), ["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
}

#[test]
fn append_after_another_writers_torn_line_lands_on_a_line_of_its_own() {
    let fs = MemFs::new();
    let mut store = store(&fs);
    append(&mut store, "1");
    // Another process dies mid-record while this instance has the log open.
    let other = fs.open(LOG, Open::Append).unwrap();
    other.append(&Frame::raw(br#"{"torn":"#)).unwrap();
    append(&mut store, r#""next""#);
    assert_eq!(
        fs.read(LOG).unwrap(),
        b"1\n{\"torn\":\n\"next\"\n",
        "the same bytes as an append that looked first"
    );
    // Again, then another writer's record: each lands on a line of its
    // own, and the torn lines stay as they were written.
    other.append(&Frame::raw(br#"{"torn":"#)).unwrap();
    let before = fs.calls();
    append(&mut store, "2");
    assert!(fs.calls() - before > 3);
    other.append(&Frame::raw(b"3\n")).unwrap();
    append(&mut store, "4");
    assert_eq!(
        lines(&fs),
        [
            "1",
            r#"!{"torn":"#,
            r#""next""#,
            "!{\"torn\":",
            "2",
            "3",
            "4"
        ]
    );
    // And the instance is back to the steady state.
    let before = fs.calls();
    append(&mut store, "3");
    assert_eq!(fs.calls() - before, 3);
}

#[test]
fn appends_of_other_instances_in_between_cost_a_look_not_a_second_record() {
    let fs = MemFs::new();
    let (mut a, mut b) = (store(&fs), store(&fs));
    for i in 0..5 {
        append(&mut a, &format!("[\"a\",{i}]"));
        append(&mut b, &format!("[\"b\",{i}]"));
    }
    let seen = lines(&fs);
    assert_eq!(seen.len(), 10);
    assert!(seen.iter().all(|l| !l.starts_with('!')), "{seen:?}");
}

#[test]
fn an_append_to_a_file_a_compaction_replaced_is_made_again_in_the_new_log() {
    let fs = MemFs::new();
    let (mut a, mut b) = (store(&fs), store(&fs));
    append(&mut a, "1");
    append(&mut a, "2");
    let (_, end) = b.page(None, 1 << 20).unwrap();
    compact(&mut b, &Frame::new(["{\"sum\":3}"]), &end.encode()).unwrap();
    // `a` still has the old file open: its write lands after the
    // tombstone there, the stat after it shows no links, and the record is
    // appended again to the new log.
    append(&mut a, "4");
    assert_eq!(lines(&fs), ["{\"sum\":3}", "4"]);
    append(&mut a, "5");
    assert_eq!(lines(&fs), ["{\"sum\":3}", "4", "5"]);
}
