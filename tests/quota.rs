//! The grant's quota (`PATHWAY_QUOTA`) on the simulated disk and on the
//! in-memory stream: an append or a fork past it is refused with the used
//! bytes and the limit, and stores nothing; delete, compaction and repair
//! free room; reads are never refused; instances appending at once pass
//! it by at most one call each.

mod sim;

use std::cell::RefCell;
use std::rc::Rc;

use pathway_memory::catalog::usage;
use pathway_memory::config::{Config, SyncMode};
use pathway_memory::error::{Call, QuotaExceeded};
use pathway_memory::fork::{ForkError, fork};
use pathway_memory::format::DEFAULT_MAX_LINE;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::rewrite::{compact, delete};
use pathway_memory::store::Store;
use pathway_memory::store_error::StoreError;
use pathway_memory::stream::log::{StreamLog, StreamLogError};
use pathway_memory::stream::mem::MemStream;
use sim::config;

fn with_quota(name: &str, quota: u64) -> Config {
    Config {
        quota: Some(quota),
        ..config(SyncMode::Never).for_log(name).unwrap()
    }
}

fn store(fs: &MemFs, name: &str, quota: u64) -> Store<MemFs> {
    Store::new(with_quota(name, quota), fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, text: &str) -> Result<(), StoreError> {
    store.append_frame(Frame::new([text]))
}

#[test]
fn an_append_past_the_quota_is_refused_with_used_and_limit_and_stores_nothing() {
    let fs = MemFs::new();
    let mut a = store(&fs, "a", 19);
    append(&mut a, "\"012345\"").unwrap(); // 9 bytes
    append(&mut store(&fs, "b", 19), "\"0123\"").unwrap(); // 7: 16 in all
    match append(&mut a, "\"x\"") {
        Err(StoreError::QuotaExceeded(q)) => {
            assert_eq!(
                q,
                QuotaExceeded {
                    used: 16,
                    limit: 19,
                    needed: 4
                }
            )
        }
        other => panic!("expected quota-exceeded, got {other:?}"),
    }
    assert_eq!(usage(&fs, "mem").unwrap(), 16);
    append(&mut a, "1").unwrap(); // 2 bytes fit: 18
    // Reading is never refused.
    let (page, _) = a.page(None, 1 << 20).unwrap();
    assert_eq!(page.entries.len(), 2);
    assert_eq!(a.last(10).unwrap().0.len(), 2);
}

#[test]
fn delete_and_compaction_free_room() {
    let fs = MemFs::new();
    let quota = 1000;
    let record = |i: usize| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(80));
    let mut a = store(&fs, "a", quota);
    let mut n = 0;
    while append(&mut a, &record(n)).is_ok() {
        n += 1;
    }
    assert!(n >= 9, "{n}");
    let (_, end) = a.page(None, 1 << 20).unwrap();
    // The snapshot and the checksum file it leaves take less room.
    compact(&mut a, &Frame::new([n.to_string().as_str()]), &end.encode()).unwrap();
    append(&mut a, &record(n)).unwrap();
    let mut b = store(&fs, "b", quota);
    while append(&mut b, &record(0)).is_ok() {}
    assert!(matches!(
        append(&mut a, &record(n + 1)),
        Err(StoreError::QuotaExceeded(_))
    ));
    delete(&mut store(&fs, "b", quota)).unwrap();
    append(&mut a, &record(n + 1)).unwrap();
}

#[test]
fn a_fork_past_the_quota_is_refused_and_creates_nothing() {
    let fs = MemFs::new();
    let mut a = store(&fs, "a", 1000);
    for i in 0..40 {
        append(&mut a, &format!("{i:08}")).unwrap(); // 9 bytes each: 360
    }
    fork(
        &fs,
        "mem",
        "a.jsonl",
        "b.jsonl",
        None,
        DEFAULT_MAX_LINE,
        Some(1000),
    )
    .unwrap();
    let refused = fork(
        &fs,
        "mem",
        "a.jsonl",
        "c.jsonl",
        None,
        DEFAULT_MAX_LINE,
        Some(1000),
    );
    match refused {
        Err(ForkError::Store(StoreError::QuotaExceeded(q))) => {
            assert_eq!((q.used, q.needed, q.limit), (720, 360, 1000))
        }
        other => panic!("expected quota-exceeded, got {other:?}"),
    }
    assert_eq!(fs.names(), ["a.jsonl", "b.jsonl"]);
}

#[test]
fn instances_appending_at_once_pass_the_quota_by_at_most_one_call_each() {
    // Between each instance's look at the usage and its write, every other
    // instance appends: the worst interleaving of a quota check.
    let fs = MemFs::new();
    let quota = 500;
    let record = r#"{"n":"0123456789"}"#; // 19 bytes a line
    let instances: Vec<Rc<RefCell<Store<MemFs>>>> = (0..4)
        .map(|i| Rc::new(RefCell::new(store(&fs, &format!("t{i}"), quota))))
        .collect();
    let refused = Rc::new(RefCell::new(0usize));
    let nesting = Rc::new(RefCell::new(false));
    let mut stored = 0usize;
    for _ in 0..200 {
        for (i, instance) in instances.iter().enumerate() {
            // Each other instance appends right after this one's quota
            // check (its first file call past the directory listing).
            let others: Vec<_> = instances
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, s)| s.clone())
                .collect();
            let (refused2, nesting2) = (refused.clone(), nesting.clone());
            // The quota check lists the directory and stats each file; the
            // call after those is the append's own.
            let after_check = fs.names().len() + 2;
            let calls = Rc::new(RefCell::new(0usize));
            fs.before_each_call(move || {
                *calls.borrow_mut() += 1;
                if *nesting2.borrow() || *calls.borrow() != after_check {
                    return;
                }
                *nesting2.borrow_mut() = true;
                for other in &others {
                    if let Ok(mut other) = other.try_borrow_mut()
                        && append(&mut other, record).is_err()
                    {
                        *refused2.borrow_mut() += 1;
                    }
                }
            });
            let done = append(&mut instance.borrow_mut(), record);
            fs.before_each_call(|| {});
            *nesting.borrow_mut() = false;
            stored += usize::from(done.is_ok());
        }
    }
    let used = usage(&fs, "mem").unwrap();
    assert!(
        used <= quota + 4 * record.len() as u64 + 4,
        "{used} bytes stored under a quota of {quota} by 4 instances"
    );
    // The interleaving did pass it: this is the worst case, bounded.
    assert!(used > quota, "{used}");
    assert!(*refused.borrow() > 0 && stored > 0);
    eprintln!(
        "figures: quota {quota} bytes, 4 instances interleaved at their worst: {used} bytes \
         stored (at most one {} byte record each past it)",
        record.len() + 1
    );
}

#[test]
fn a_stream_refuses_an_append_past_its_quota_before_sending_anything() {
    let stream = MemStream::new("s");
    let config = Config {
        quota: Some(1000),
        ..Config::from_vars(|_| None).unwrap()
    };
    let mut log = StreamLog::open(stream.clone(), config).unwrap();
    let mut sent = 0;
    let refused = loop {
        match log.append(Call::Append, &["\"0123456789\""]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
    };
    match refused {
        StreamLogError::Quota(q) => assert!(q.used + q.needed > 1000 && q.used <= 1000, "{q:?}"),
        other => panic!("expected the quota, got {other:?}"),
    }
    assert!(sent > 0);
    let (entries, _) = log.last(100).unwrap();
    assert_eq!(entries.len(), sent);
}
