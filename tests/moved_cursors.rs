//! Cursors across compactions: a follower (reading to the end again and
//! again) and a pager (small pages) go on through 100 compactions while
//! two instances append, and each delivers every appended record exactly
//! once, in order per appender, never reading the log again from the
//! start. A cursor before a compaction's `upto`, or across a repair, is
//! stale; one whose bytes changed is stale.

mod sim;

use pathway_memory::config::SyncMode;
use pathway_memory::cursor::CursorError;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::rewrite::{compact, repair};
use pathway_memory::store::Store;
use pathway_memory::store_error::PageError;
use sim::{LOG, config};

fn store(fs: &MemFs) -> Store<MemFs> {
    Store::new(config(SyncMode::Never), fs.clone(), "mem".into())
}

/// A reader that keeps its cursor as text, as a host does.
struct Reader {
    cursor: Option<String>,
    page_bytes: u64,
    got: Vec<String>,
    pages: usize,
}

impl Reader {
    fn new(page_bytes: u64) -> Reader {
        Reader {
            cursor: None,
            page_bytes,
            got: Vec::new(),
            pages: 0,
        }
    }

    /// Reads to the end.
    fn drain(&mut self, log: &Store<MemFs>) {
        loop {
            let (page, next) = log
                .page(self.cursor.as_deref(), self.page_bytes)
                .unwrap_or_else(|e| panic!("after {} records: {e:?}", self.got.len()));
            self.pages += 1;
            self.got
                .extend(page.entries.into_iter().map(|e| e.record.unwrap()));
            self.cursor = Some(next.encode());
            if page.at_end {
                return;
            }
        }
    }
}

/// A cursor at the end that binds every byte before it (a compactor's).
fn walk(log: &Store<MemFs>) -> String {
    let mut reader = Reader::new(1 << 20);
    reader.drain(log);
    reader.cursor.unwrap()
}

#[test]
fn a_follower_and_a_pager_read_every_record_once_through_100_compactions() {
    let fs = MemFs::new();
    let (mut a, mut b, mut compactor) = (store(&fs), store(&fs), store(&fs));
    let mut follower = Reader::new(1 << 20);
    let mut pager = Reader::new(64);
    let (mut sent_a, mut sent_b) = (0, 0);
    for round in 0..100 {
        for _ in 0..3 {
            a.append_frame(Frame::new([format!(r#"{{"a":{sent_a}}}"#).as_str()]))
                .unwrap();
            sent_a += 1;
        }
        b.append_frame(Frame::new([format!(r#"{{"b":{sent_b}}}"#).as_str()]))
            .unwrap();
        sent_b += 1;
        let upto = walk(&compactor);
        follower.drain(&compactor);
        pager.drain(&compactor);
        // Appended after the compactor read: kept after its cursor.
        a.append_frame(Frame::new([format!(r#"{{"a":{sent_a}}}"#).as_str()]))
            .unwrap();
        sent_a += 1;
        let summary = format!(r#"{{"round":{round}}}"#);
        compact(&mut compactor, &Frame::new([summary.as_str()]), &upto)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    follower.drain(&compactor);
    pager.drain(&compactor);
    let expected: Vec<String> = {
        let mut all: Vec<String> = (0..sent_a).map(|i| format!(r#"{{"a":{i}}}"#)).collect();
        all.extend((0..sent_b).map(|i| format!(r#"{{"b":{i}}}"#)));
        all.sort();
        all
    };
    for (name, reader) in [("follower", &follower), ("pager", &pager)] {
        let per = |key: &str| -> Vec<String> {
            reader
                .got
                .iter()
                .filter(|r| r.contains(key))
                .cloned()
                .collect()
        };
        // In order per appender, each once; never a snapshot.
        let a_got = per("\"a\"");
        let b_got = per("\"b\"");
        assert_eq!(
            a_got,
            (0..sent_a)
                .map(|i| format!(r#"{{"a":{i}}}"#))
                .collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(
            b_got,
            (0..sent_b)
                .map(|i| format!(r#"{{"b":{i}}}"#))
                .collect::<Vec<_>>(),
            "{name}"
        );
        let mut all = reader.got.clone();
        all.sort();
        assert_eq!(all, expected, "{name}: nothing else, nothing twice");
    }
    eprintln!(
        "figures: 100 compactions, 2 appenders, {} records: the follower ({} pages) and the \
         pager ({} pages of 64 bytes) each read every record once, in order per appender",
        expected.len(),
        follower.pages,
        pager.pages
    );
}

#[test]
fn a_cursor_before_upto_across_a_repair_or_on_changed_bytes_is_stale() {
    let fs = MemFs::new();
    let mut log = store(&fs);
    for i in 0..6 {
        log.append_frame(Frame::new([i.to_string().as_str()]))
            .unwrap();
    }
    let (_, early) = log.page(None, 2).unwrap();
    let upto = walk(&log);
    log.append_frame(Frame::new(["6"])).unwrap();
    let (_, late) = log.page(Some(&upto), 1 << 20).unwrap();
    compact(&mut log, &Frame::new(["[0,1,2,3,4,5]"]), &upto).unwrap();
    let stale = |log: &Store<MemFs>, cursor: &str| {
        matches!(
            log.page(Some(cursor), 1 << 20),
            Err(PageError::Cursor(CursorError::Stale { .. }))
        )
    };
    assert!(stale(&log, &early.encode()), "before upto");
    assert!(!stale(&log, &upto) && !stale(&log, &late.encode()));
    // The bytes a moved cursor was made on changed: stale.
    let bytes = fs.read(LOG).unwrap();
    let mut changed = bytes.clone();
    let at = changed.len() - 2;
    changed[at] = b'7';
    fs.put(LOG, &changed);
    assert!(stale(&log, &late.encode()), "changed bytes");
    fs.put(LOG, &bytes);
    // Across a repair, which moves lines irregularly: stale.
    let mut damaged = bytes.clone();
    damaged.extend(b"oops\n8\n");
    fs.put(LOG, &damaged);
    let (_, before_repair) = log.page(None, 1 << 20).unwrap();
    repair(&mut log).unwrap();
    assert!(stale(&log, &before_repair.encode()), "across a repair");
}

#[test]
fn a_cursor_moves_through_compactions_that_reuse_its_files_identity() {
    // Each compaction's new file may get the identity of one replaced
    // before (inode reuse): the cursor's generation tells them apart.
    let fs = MemFs::new();
    fs.reuse_identities();
    let mut log = store(&fs);
    let record = |n: usize| format!(r#"{{"n":"{n:05}","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#);
    for n in 0..5 {
        log.append_frame(Frame::new([record(n).as_str()])).unwrap();
    }
    let held = walk(&log);
    let mut expected = Vec::new();
    for round in 0..6 {
        let n = 5 + round;
        log.append_frame(Frame::new([record(n).as_str()])).unwrap();
        expected.push(record(n));
        // Compacts up to the held cursor's point or before it, never past.
        let (_, upto) = log.page(None, 1).unwrap();
        compact(
            &mut log,
            &Frame::new([record(90 + round).as_str()]),
            &upto.encode(),
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    // The case at hand: a later file got the first file's identity.
    let chain = pathway_memory::moved::read(&fs, LOG);
    assert!(chain.iter().any(|m| m.to == chain[0].from), "{chain:?}");
    let (page, _) = log
        .page(Some(&held), 1 << 20)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let got: Vec<String> = page
        .entries
        .into_iter()
        .map(|e| e.record.unwrap())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_follower_waits_at_a_seal_while_its_compaction_runs_and_reads_each_late_record_once() {
    use pathway_memory::fs::{File, FileSystem, Open};
    use std::cell::RefCell;
    use std::rc::Rc;

    let fs = MemFs::new();
    let mut log = store(&fs);
    for n in 0..3 {
        log.append_frame(Frame::new([n.to_string().as_str()]))
            .unwrap();
    }
    let follower = Rc::new(RefCell::new(Reader::new(1 << 20)));
    follower.borrow_mut().drain(&log);
    let upto = walk(&log);
    // In the compaction's final steps, right after its seal: a record lands
    // after the seal (its appender has yet to notice), and the follower
    // reads.
    let late = r#""late""#;
    let during: Rc<RefCell<Option<usize>>> = Rc::default();
    {
        let (fs2, follower, during) = (fs.clone(), follower.clone(), during.clone());
        fs.after_each_change(move || {
            let bytes = fs2.read(LOG).unwrap_or_default();
            let sealed = bytes.windows(8).any(|w| w == b"\t\r\t\r\t\r\t\r");
            if during.borrow().is_some()
                || !sealed
                || !fs2.names().iter().any(|n| n.ends_with(".lock"))
            {
                return;
            }
            let file = fs2.open(LOG, Open::Append).unwrap();
            file.append(&Frame::new([late])).unwrap();
            let reader = store(&fs2);
            let before = follower.borrow().got.len();
            follower.borrow_mut().drain(&reader);
            *during.borrow_mut() = Some(follower.borrow().got.len() - before);
        });
    }
    compact(&mut log, &Frame::new(["[0,1,2]"]), &upto).unwrap();
    fs.after_each_change(|| {});
    // It read nothing past the seal while the compaction ran.
    assert_eq!(*during.borrow(), Some(0));
    // The record's appender appends it again to the new log, as it does
    // when its bytes lie behind a seal; the follower reads it once.
    log.append_frame(Frame::new([late])).unwrap();
    log.append_frame(Frame::new(["4"])).unwrap();
    follower.borrow_mut().drain(&log);
    assert_eq!(follower.borrow().got, ["0", "1", "2", late, "4"]);
}

#[test]
fn a_page_reads_past_the_seal_of_a_compaction_that_stopped_while_another_runs() {
    use pathway_memory::fs::{File, FileSystem, Open};
    use pathway_memory::lock::{lock_name, seal, sign};

    let fs = MemFs::new();
    let mut log = store(&fs);
    log.append_frame(Frame::new(["1"])).unwrap();
    // A compaction that stopped left its seal; records came after it.
    let file = fs.open(LOG, Open::Append).unwrap();
    file.append(&Frame::raw(&seal(0xdead))).unwrap();
    log.append_frame(Frame::new(["2", "3"])).unwrap();
    // Another compaction now holds the lock (fresh), not yet sealed.
    let lock = fs.open(&lock_name(LOG), Open::CreateNew).unwrap();
    sign(&lock, 0xbeef).unwrap();
    let mut reader = Reader::new(1 << 20);
    reader.drain(&log);
    assert_eq!(reader.got, ["1", "2", "3"]);
    // Its own seal stops a page while it holds the lock.
    file.append(&Frame::raw(&seal(0xbeef))).unwrap();
    file.append(&Frame::new(["4"])).unwrap();
    reader.drain(&log);
    assert_eq!(reader.got, ["1", "2", "3"]);
}
