//! The checksum a compaction or repair writes of what it wrote
//! (`<log>.sha256`, see `src/checksum.rs`), on the simulated disk: `check`
//! verifies it, a changed byte or a cut in the rewritten part is a typed
//! mismatch that `compact` and `repair` refuse to write over, and what is
//! not a change (appends after it, a replaced file, a torn or missing
//! checksum file) is never reported as one. The power-cut, kill and stall
//! simulations (`tests/power_cut.rs`, `tests/stalls.rs`) check that no
//! crash or stop makes a mismatch either.

mod sim;

use pathway_memory::checksum::{self, Checksum, State};
use pathway_memory::config::SyncMode;
use pathway_memory::frame::Frame;
use pathway_memory::fs::{File, FileSystem, Open};
use pathway_memory::fs_mem::MemFs;
use pathway_memory::rewrite::{RewriteError, check, compact, repair};
use pathway_memory::store::Store;
use sim::{LOG, config, replay};

const SUM: &str = "pathway.jsonl.sha256";

fn store(fs: &MemFs) -> Store<MemFs> {
    Store::new(config(SyncMode::Always), fs.clone(), "mem".into())
}

fn append(store: &mut Store<MemFs>, text: &str) {
    store.append_frame(Frame::new([text])).expect("append");
}

fn compact_all(store: &mut Store<MemFs>, snapshot: &[&str]) -> Result<(), RewriteError> {
    let (_, end) = store.page(None, 1 << 30).expect("page");
    compact(store, &Frame::new(snapshot.iter().copied()), &end.encode()).map(|_| ())
}

/// A log compacted to two records, then appended to.
fn compacted() -> (MemFs, Store<MemFs>) {
    let fs = MemFs::new();
    let mut store = store(&fs);
    for i in 0..5 {
        append(&mut store, &format!("{{\"n\":{i}}}"));
    }
    compact_all(&mut store, &[r#"{"sum":10}"#, r#"{"count":5}"#]).expect("compaction");
    append(&mut store, r#"{"n":5}"#);
    (fs, store)
}

/// Writes `bytes` at `offset` of the log in place, as a flipped bit on the
/// disk would (same file, same size).
fn overwrite(fs: &MemFs, offset: u64, bytes: &[u8]) {
    let file = fs.open(LOG, Open::ReadAppend).unwrap();
    file.write_at(offset, bytes).unwrap();
}

#[test]
fn a_compaction_writes_the_sha256_of_what_it_wrote_and_check_verifies_it() {
    let (fs, store) = compacted();
    let written = "{\"sum\":10}\n{\"count\":5}\n";
    let sum = Checksum::decode(&fs.read(SUM).expect("the checksum file")).unwrap();
    assert_eq!(sum.bytes, written.len() as u64);
    let mut hasher = checksum::Hasher::default();
    hasher.update(written.as_bytes());
    assert_eq!(sum.sha256, hasher.finish());
    // Appends after it change nothing it covers.
    assert_eq!(
        check(&store).unwrap().checksum,
        State::Verified {
            bytes: written.len() as u64
        }
    );
}

#[test]
fn a_changed_byte_that_is_still_valid_json_is_a_mismatch_that_rewrites_refuse() {
    let (fs, mut store) = compacted();
    // "10" -> "11": every line still valid JSON, as replay sees it.
    overwrite(&fs, 8, b"1");
    let before = fs.read(LOG).unwrap();
    assert_eq!(replay(&fs)[0], r#"{"sum":11}"#);
    let report = check(&store).unwrap();
    assert!(report.damaged.is_empty());
    let State::Mismatch(mismatch) = &report.checksum else {
        panic!("not a mismatch: {:?}", report.checksum);
    };
    assert_eq!(mismatch.bytes, 23);
    assert!(mismatch.actual.is_some_and(|a| a != mismatch.expected));
    let message = report.checksum.message(LOG);
    assert!(
        message.starts_with("integrity: the first 23 bytes of pathway.jsonl hash to SHA-256 "),
        "{message}"
    );
    assert!(message.contains("repair cannot quarantine it"), "{message}");
    assert!(message.contains("remove pathway.jsonl.sha256"), "{message}");

    // Neither rewrite folds it in; the log and the checksum stay as they were.
    let refused = compact_all(&mut store, &["{}"]).unwrap_err();
    assert!(
        matches!(&refused, RewriteError::Integrity(m) if m == mismatch),
        "{refused}"
    );
    let refused = repair(&mut store).unwrap_err();
    assert!(
        matches!(&refused, RewriteError::Integrity(m) if m == mismatch),
        "{refused}"
    );
    assert_eq!(fs.read(LOG).unwrap(), before);

    // Accepting it as it is: remove the checksum file, then it compacts,
    // and the new checksum verifies.
    fs.remove(SUM).unwrap();
    assert_eq!(check(&store).unwrap().checksum, State::None);
    compact_all(&mut store, &["{}"]).expect("compaction once accepted");
    assert_eq!(
        check(&store).unwrap().checksum,
        State::Verified { bytes: 3 }
    );
}

#[test]
fn a_log_cut_inside_what_a_rewrite_wrote_is_a_mismatch_with_no_actual_hash() {
    let (fs, store) = compacted();
    fs.open(LOG, Open::ReadAppend)
        .unwrap()
        .set_size(11)
        .unwrap();
    let report = check(&store).unwrap();
    let State::Mismatch(mismatch) = &report.checksum else {
        panic!("not a mismatch: {:?}", report.checksum);
    };
    assert_eq!(mismatch.actual, None);
    let message = report.checksum.message(LOG);
    assert!(
        message.contains("pathway.jsonl is shorter than the 23 bytes"),
        "{message}"
    );
}

#[test]
fn a_replaced_log_a_torn_checksum_and_no_checksum_are_never_a_mismatch() {
    // Another file under the log's name (an editor's save, a restore):
    // stale, whatever its bytes.
    let (fs, mut store) = compacted();
    let bytes = fs.read(LOG).unwrap();
    fs.remove(LOG).unwrap();
    fs.put(LOG, &bytes);
    assert_eq!(check(&store).unwrap().checksum, State::Stale);
    compact_all(&mut store, &["1"]).expect("a stale checksum does not stop a compaction");
    assert_eq!(
        check(&store).unwrap().checksum,
        State::Verified { bytes: 2 }
    );

    // Every torn write of the checksum file: unreadable, never a mismatch;
    // the next rewrite writes it anew.
    let whole = fs.read(SUM).unwrap();
    for torn in 0..whole.len() - 2 {
        fs.put(SUM, &whole[..torn]);
        let state = check(&store).unwrap().checksum;
        assert_eq!(state, State::Unreadable, "torn at {torn}");
    }
    append(&mut store, "2");
    compact_all(&mut store, &["3"]).expect("an unreadable checksum does not stop one");
    assert_eq!(
        check(&store).unwrap().checksum,
        State::Verified { bytes: 2 }
    );

    // No checksum file, no log.
    let fs = MemFs::new();
    assert_eq!(check(&self::store(&fs)).unwrap().checksum, State::None);
}

#[test]
fn a_repair_writes_the_checksum_of_the_log_without_its_damaged_lines() {
    let fs = MemFs::new();
    fs.put(LOG, b"{\"a\":1}\nnot json\n{\"b\":2}\n");
    let mut store = store(&fs);
    assert_eq!(check(&store).unwrap().checksum, State::None);
    let (_, removed, _) = repair(&mut store).expect("repair");
    assert_eq!(removed.len(), 1);
    assert_eq!(
        check(&store).unwrap().checksum,
        State::Verified { bytes: 16 }
    );
    overwrite(&fs, 6, b"7");
    assert!(matches!(
        check(&store).unwrap().checksum,
        State::Mismatch(_)
    ));
}
