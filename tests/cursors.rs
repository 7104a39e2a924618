//! A cursor made before a compaction, used after it on a file system that
//! gave the new log the old one's identity (inode reuse), with the same
//! 32 bytes before the cursor (logs of records of one shape often have):
//! a page may still resume there (the cheap check cannot tell), but a
//! compaction, which replaces everything before its cursor, is refused,
//! since the bytes before the cursor are not the ones it was made on. It
//! once replaced them, and records no one had read were lost.

#![forbid(unsafe_code)]

mod sim;

use pathway_memory::config::SyncMode;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::rewrite::{RewriteError, compact};
use pathway_memory::store::Store;
use sim::{LOG, config, replay};

/// Records of one length whose last 32 bytes are all alike.
fn record(n: usize) -> String {
    format!(r#"{{"n":"{n:05}","pad":"{}"}}"#, "x".repeat(40))
}

fn store(fs: &MemFs) -> Store<MemFs> {
    Store::new(config(SyncMode::Always), fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, n: usize) {
    let text = record(n);
    store.append_frame(Frame::new([text.as_str()])).unwrap();
}

/// A cursor at the end of the log, read page by page as a host does.
fn end_cursor(store: &Store<MemFs>) -> String {
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.page(cursor.as_deref(), 200).unwrap();
        cursor = Some(next.encode());
        if page.at_end {
            return cursor.unwrap();
        }
    }
}

#[test]
fn a_stale_cursor_on_a_reused_identity_cannot_compact_away_records_it_never_saw() {
    let fs = MemFs::new();
    fs.reuse_identities();
    let mut reader = store(&fs);
    let mut other = store(&fs);
    for n in 0..10 {
        append(&mut other, n);
    }
    // The reader reads the log and makes its snapshot of records 0..10.
    let stale = end_cursor(&reader);
    assert!(stale.starts_with("pc3-"), "{stale}");

    // Meanwhile another compacts (keeping the records as they are, so the
    // new log starts like the old) and appends 10 more.
    let upto = end_cursor(&other);
    let kept: Vec<String> = (0..10).map(record).collect();
    compact(
        &mut other,
        &Frame::new(kept.iter().map(String::as_str)),
        &upto,
    )
    .unwrap();
    for n in 10..20 {
        append(&mut other, n);
    }
    // It compacts again: the first 5 records fold into one summary of the
    // same length, so the 32 bytes before the stale cursor's offset are
    // again the end of a record.
    let upto = end_cursor(&other);
    let mut folded = vec![format!(r#"{{"n":"99999","pad":"{}"}}"#, "x".repeat(40))];
    folded.extend((5..20).map(record));
    compact(
        &mut other,
        &Frame::new(folded.iter().map(String::as_str)),
        &upto,
    )
    .unwrap();
    let before = replay(&fs);
    assert_eq!(before.len(), 16);

    // The reader compacts with its stale cursor: refused, nothing lost.
    let snapshot = Frame::new(kept.iter().map(String::as_str));
    match compact(&mut reader, &snapshot, &stale) {
        Err(RewriteError::Cursor(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("the bytes before the cursor are not the ones it was made on"),
                "{text}"
            );
        }
        other => panic!("a stale cursor was accepted: {other:?}"),
    }
    assert_eq!(replay(&fs), before);
    assert!(fs.names().iter().all(|n| {
        [
            LOG.to_string(),
            format!("{LOG}.sha256"),
            format!("{LOG}.moved"),
        ]
        .contains(n)
    }));

    // A cursor read afresh compacts.
    let fresh = end_cursor(&reader);
    compact(&mut reader, &snapshot, &fresh).unwrap();
    assert_eq!(replay(&fs), kept);
}

#[test]
fn a_cursor_of_0_2_pages_on_but_cannot_compact() {
    let fs = MemFs::new();
    let mut s = store(&fs);
    for n in 0..5 {
        append(&mut s, n);
    }
    let now = end_cursor(&s);
    // The same cursor as 0.2 wrote it: no hash of the bytes before it.
    let mut parts: Vec<&str> = now.split('-').collect();
    parts[0] = "pc1";
    parts.truncate(5);
    let old = parts.join("-");
    append(&mut s, 5);
    let (page, next) = s.page(Some(&old), 1 << 20).unwrap();
    assert_eq!(page.entries.len(), 1);
    // Still no hash of what lies before it.
    assert_eq!(next.prefix, None);
    match compact(&mut s, &Frame::new(["{}"]), &old) {
        Err(RewriteError::Cursor(e)) => {
            assert!(e.to_string().contains("0.2 or earlier"), "{e}")
        }
        other => panic!("a 0.2 cursor compacted: {other:?}"),
    }
    assert_eq!(replay(&fs).len(), 6);
}
