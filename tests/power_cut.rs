//! Power cuts on a simulated disk (`fs_mem`): each workload runs once on a
//! disk that remembers its state after every file operation that changed
//! it; then, at every one of those cut points, the cuts worth exploring
//! (only synced data, everything, each unsynced directory change lost
//! alone, random prefixes with a torn last write) are replayed and
//! checked against what docs/durability.md promises. No wasmtime, no sleeps: the
//! protocols are the component's own code, generic over the file system.
//!
//! `PATHWAY_SOAK=1` runs longer workloads and more random cuts;
//! `PATHWAY_FIGURES=<file>` collects the figures line of each test.

mod sim;

use pathway_memory::checksum::State;
use pathway_memory::config::SyncMode;
use pathway_memory::format::DEFAULT_MAX_LINE;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::{Disk, MemFs};
use pathway_memory::oracle::entries;
use pathway_memory::rewrite::{check, compact, repair};
use pathway_memory::store::Store;
use sim::{LOG, config, replay, replay_but_torn_tail};

const QUARANTINE: &str = "pathway.jsonl.quarantine";
const MILLI: u64 = 1_000_000;

fn soak() -> bool {
    std::env::var_os("PATHWAY_SOAK").is_some_and(|v| v == "1")
}

/// Appends per workload and random cuts per cut point.
fn sizes() -> (usize, u64) {
    if soak() { (200, 48) } else { (24, 6) }
}

/// What a test explored, printed once its assertions passed.
#[derive(Default)]
struct Figures {
    cut_points: usize,
    cuts: usize,
    records: usize,
}

impl Figures {
    fn report(&self, test: &str) {
        let line = format!(
            "{test}: {} cut points, {} cuts explored, {} records checked, 0 records lost",
            self.cut_points, self.cuts, self.records
        );
        eprintln!("figures: {line}");
        if let Some(path) = std::env::var_os("PATHWAY_FIGURES") {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("opening PATHWAY_FIGURES");
            writeln!(file, "{line}").expect("writing PATHWAY_FIGURES");
        }
    }
}

fn record(i: usize) -> String {
    format!(
        r#"{{"op":"remember","n":{i},"pad":"{}"}}"#,
        "x".repeat(i % 7)
    )
}

/// The records of a log's bytes, and whether it ends in a torn line;
/// panics on any other damaged line (but `ended_torn`, a line torn by a
/// cut that a later append ended).
fn records_of(bytes: &[u8], ended_torn: Option<u64>, at: &str) -> (Vec<String>, bool) {
    let mut records = Vec::new();
    let mut torn = false;
    for entry in entries(bytes, DEFAULT_MAX_LINE) {
        match entry.record {
            Ok(text) => {
                assert!(!torn, "{at}: a record after a torn line");
                records.push(text.to_string());
            }
            Err(damage) if Some(damage.offset) == ended_torn => {}
            Err(damage) => {
                assert!(damage.torn, "{at}: damaged line mid-log: {damage}");
                torn = true;
            }
        }
    }
    (records, torn)
}

/// Where the torn last line of `bytes` starts, if it ends in one.
fn torn_line_at(bytes: &[u8]) -> Option<u64> {
    entries(bytes, DEFAULT_MAX_LINE)
        .last()
        .and_then(|e| e.record.err())
        .filter(|d| d.torn)
        .map(|d| d.offset)
}

/// Every cut to explore at every recorded cut point of `fs`.
fn each_cut(fs: &MemFs, random: u64, mut check: impl FnMut(usize, &Disk, MemFs, &str)) -> Figures {
    let mut figures = Figures {
        cut_points: fs.cut_points(),
        ..Figures::default()
    };
    for point in 0..fs.cut_points() {
        let disk = fs.cut_point(point);
        for keep in disk.cuts(random) {
            figures.cuts += 1;
            let at = format!("cut point {point}, {keep:?}");
            check(point, &disk, disk.power_cut(&keep), &at);
        }
    }
    figures
}

/// Appends `n` records one call each, the clock moving `step` between
/// calls; returns the cut point each append returned at.
fn append_all(store: &mut Store<MemFs>, fs: &MemFs, n: usize, step: u64) -> Vec<usize> {
    (0..n)
        .map(|i| {
            fs.advance(step);
            store
                .append_frame(Frame::new([record(i).as_str()]))
                .expect("append");
            fs.cut_points().saturating_sub(1)
        })
        .collect()
}

/// After a cut: the log holds a prefix of the appended records (plus at
/// most a torn tail), at least the first `durable` of them; and an append
/// after the restart starts on a line of its own.
fn check_prefix(survived: MemFs, durable: usize, at: &str, figures_records: &mut usize) {
    let bytes = survived.read(LOG).unwrap_or_default();
    let (records, _) = records_of(&bytes, None, at);
    for (i, text) in records.iter().enumerate() {
        assert_eq!(text, &record(i), "{at}: record {i} differs");
    }
    assert!(
        records.len() >= durable,
        "{at}: {} of {durable} durable records survived",
        records.len()
    );
    *figures_records += records.len();
    let mut store = Store::new(config(SyncMode::Never), survived.clone(), "mem".into());
    store
        .append_frame(Frame::new([r#""after the cut""#]))
        .expect("append after the cut");
    let (after, torn) = records_of(&survived.read(LOG).unwrap(), torn_line_at(&bytes), at);
    assert!(!torn, "{at}: the append after the cut left a torn line");
    assert_eq!(after.len(), records.len() + 1, "{at}");
    assert_eq!(after.last().unwrap(), r#""after the cut""#, "{at}");
}

#[test]
fn with_sync_always_every_returned_append_survives_a_power_cut() {
    let (n, random) = sizes();
    let fs = MemFs::new();
    fs.record_cut_points();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    let returned_at = append_all(&mut store, &fs, n, MILLI);
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |point, _, survived, at| {
        let durable = returned_at.iter().filter(|&&r| r <= point).count();
        check_prefix(survived, durable, at, &mut records);
    });
    figures.records = records;
    figures.report("power cut, PATHWAY_SYNC=always");
}

#[test]
fn with_sync_never_a_power_cut_keeps_a_prefix_and_sync_makes_it_durable() {
    let (n, random) = sizes();
    let fs = MemFs::new();
    fs.record_cut_points();
    let mut store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    let first = append_all(&mut store, &fs, n / 2, MILLI);
    store.sync().expect("sync");
    let synced_at = fs.cut_points() - 1;
    let mut returned_at = first;
    for i in n / 2..n {
        store
            .append_frame(Frame::new([record(i).as_str()]))
            .expect("append");
        returned_at.push(fs.cut_points() - 1);
    }
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |point, _, survived, at| {
        // Only `sync` makes anything durable in this mode.
        let durable = if point >= synced_at { n / 2 } else { 0 };
        check_prefix(survived, durable, at, &mut records);
    });
    // What the process saw (a crash of the process, not of the power):
    // every returned append.
    let all = fs.power_cut(&pathway_memory::fs_mem::Keep::All);
    check_prefix(all, n, "process crash", &mut records);
    figures.records = records;
    figures.report("power cut, PATHWAY_SYNC=never");
}

#[test]
fn with_sync_interval_a_power_cut_loses_only_the_appends_since_the_last_sync() {
    let (n, random) = sizes();
    let millis = 10;
    let step = 3 * MILLI;
    let fs = MemFs::new();
    fs.record_cut_points();
    let mut store = Store::new(
        config(SyncMode::Interval { millis }),
        fs.clone(),
        "mem".into(),
    );
    let returned_at = append_all(&mut store, &fs, n, step);
    // The rule, independently of the code: an append syncs when at least
    // `millis` passed since the last sync (or since the first append
    // opened the log); the sync covers it and everything before.
    let mut synced_through = Vec::new();
    let mut last_sync = step;
    let mut through = 0;
    for i in 0..n {
        let now = step * (i as u64 + 1);
        if now - last_sync >= millis * MILLI {
            last_sync = now;
            through = i + 1;
        }
        synced_through.push(through);
    }
    assert!(through > 0, "the workload must sync at least once");
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |point, _, survived, at| {
        let durable = returned_at
            .iter()
            .zip(&synced_through)
            .filter(|&(&r, _)| r <= point)
            .map(|(_, &t)| t)
            .max()
            .unwrap_or(0);
        check_prefix(survived, durable, at, &mut records);
    });
    figures.records = records;
    figures.report("power cut, PATHWAY_SYNC=interval:10");
}

/// The bytes without seal lines (or a torn start of one), which a rewrite
/// that stopped before its rename leaves and readers skip.
fn without_seals(log: &[u8]) -> Vec<u8> {
    let mut kept = Vec::new();
    for line in log.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if !pathway_memory::format::is_seal(text) {
            kept.extend_from_slice(line);
        }
    }
    kept
}

/// The repair's input after a seal ended its torn last line.
fn sealed(bytes: &[u8]) -> Vec<u8> {
    let mut sealed = bytes.to_vec();
    sealed.push(b'\n');
    sealed
}

/// After a cut during a rewrite: once its leftovers are stale, another
/// compaction runs and appends go on.
fn check_usable_after(survived: &MemFs, at: &str) {
    survived.advance(31_000 * MILLI);
    let mut store = Store::new(config(SyncMode::Always), survived.clone(), "mem".into());
    // No cut makes the checksum of the last rewrite a false alarm (the
    // compaction below would refuse it).
    let report = check(&store).expect("check");
    assert!(
        !matches!(report.checksum, State::Mismatch(_)),
        "{at}: {}",
        report.checksum.message(LOG)
    );
    store
        .append_frame(Frame::new([r#""after the cut""#]))
        .unwrap_or_else(|e| panic!("{at}: append after the cut: {e}"));
    let (_, end) = store.page(None, 1 << 30).expect("page");
    compact(&mut store, &Frame::new([r#""state""#]), &end.encode())
        .unwrap_or_else(|e| panic!("{at}: compaction after the cut: {e}"));
    assert_eq!(replay(survived), [r#""state""#], "{at}");
    assert_eq!(
        check(&store).expect("check").checksum,
        State::Verified { bytes: 8 },
        "{at}"
    );
}

#[test]
fn a_power_cut_during_compaction_leaves_the_old_log_or_the_new_never_a_mix() {
    let (n, random) = sizes();
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    append_all(&mut store, &fs, n, MILLI);
    let (_, upto) = store.page(None, 1 << 30).expect("page");
    // Records appended after the cursor are kept by the compaction.
    let kept: Vec<String> = (n..n + 3).map(record).collect();
    for text in &kept {
        store
            .append_frame(Frame::new([text.as_str()]))
            .expect("append");
    }
    let old: Vec<String> = (0..n + 3).map(record).collect();
    let snapshot = [r#"{"op":"state","n":1}"#, r#"{"op":"state","n":2}"#];
    let mut new: Vec<String> = snapshot.iter().map(|s| s.to_string()).collect();
    new.extend(kept);

    fs.record_cut_points();
    compact(&mut store, &Frame::new(snapshot), &upto.encode()).expect("compaction");
    assert_eq!(replay(&fs), new);
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |_, _, survived, at| {
        let seen = replay(&survived);
        assert!(
            seen == old || seen == new,
            "{at}: neither the old log nor the new: {seen:?}"
        );
        records += seen.len();
        check_usable_after(&survived, at);
    });
    figures.records = records;
    figures.report("power cut during compaction");
}

#[test]
fn records_appended_during_a_compaction_survive_a_power_cut_at_any_point() {
    use std::cell::RefCell;
    use std::rc::Rc;

    let (n, random) = sizes();
    let fs = MemFs::new();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    append_all(&mut store, &fs, n, MILLI);
    let (_, upto) = store.page(None, 1 << 30).expect("page");
    let old: Vec<String> = (0..n).map(record).collect();
    let snapshot = [r#"{"op":"state"}"#];

    // Another instance, with the log open, appends after every file
    // operation of the compaction until it takes the lock.
    let other = Rc::new(RefCell::new(Store::new(
        config(SyncMode::Always),
        fs.clone(),
        "mem".into(),
    )));
    let late = |i: usize| format!(r#"{{"late":{i}}}"#);
    other
        .borrow_mut()
        .append_frame(Frame::new([late(0).as_str()]))
        .unwrap();
    let returned_at = Rc::new(RefCell::new(vec![0]));
    fs.record_cut_points();
    {
        let (fs2, other, returned_at) = (fs.clone(), other.clone(), returned_at.clone());
        fs.after_each_change(move || {
            let names = fs2.names();
            let compacting = names.iter().any(|n| n.ends_with(".compact"));
            if compacting && !names.iter().any(|n| n.ends_with(".lock")) {
                let i = returned_at.borrow().len();
                other
                    .borrow_mut()
                    .append_frame(Frame::new([late(i).as_str()]))
                    .expect("append during the compaction");
                returned_at.borrow_mut().push(fs2.cut_points() - 1);
            }
        });
    }
    compact(&mut store, &Frame::new(snapshot), &upto.encode()).expect("compaction");
    let returned_at = returned_at.borrow().clone();
    assert!(
        returned_at.len() > 2,
        "the other instance appended meanwhile"
    );
    let lates: Vec<String> = (0..returned_at.len()).map(late).collect();
    let mut new: Vec<String> = snapshot.iter().map(|s| s.to_string()).collect();
    new.extend(lates.iter().cloned());
    assert_eq!(replay(&fs), new);

    let mut records = 0;
    let mut figures = each_cut(&fs, random, |point, _, survived, at| {
        let seen = replay_but_torn_tail(&survived);
        let base = if seen.starts_with(&old) { n } else { 1 };
        assert!(
            seen.starts_with(&old) || seen.starts_with(&new[..1]),
            "{at}: neither the old log nor the new: {seen:?}"
        );
        let acked = returned_at.iter().filter(|&&r| r <= point).count();
        assert!(
            seen[base..] == lates[..seen.len() - base] && seen.len() - base >= acked,
            "{at}: {acked} acknowledged late records, found {:?}",
            &seen[base..]
        );
        records += seen.len();
    });
    figures.records = records;
    figures.report("power cut during compaction, another instance appending");
}

#[test]
fn a_power_cut_during_repair_keeps_quarantined_bytes_durable_before_the_log_loses_them() {
    let (n, random) = sizes();
    let fs = MemFs::new();
    let mut bytes = Vec::new();
    let mut good = Vec::new();
    let mut damaged = Vec::new();
    for i in 0..n {
        if i % 5 == 2 {
            let line = format!("not json {i}");
            damaged.push(line.clone());
            bytes.extend_from_slice(line.as_bytes());
        } else {
            good.push(record(i));
            bytes.extend_from_slice(record(i).as_bytes());
        }
        bytes.push(b'\n');
    }
    // A torn last line too.
    bytes.extend_from_slice(br#"{"op":"torn"#);
    damaged.push(r#"{"op":"torn"#.to_string());
    fs.put(LOG, &bytes);
    let mut store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());

    fs.record_cut_points();
    let (_, removed, _) = repair(&mut store).expect("repair");
    assert_eq!(removed.len(), damaged.len());
    assert_eq!(replay(&fs), good);
    let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |_, _, survived, at| {
        let log = without_seals(&survived.read(LOG).expect("a log after the cut"));
        if log == bytes || log == sealed(&bytes) {
            records += good.len() + damaged.len();
            check_usable_after(&survived, at);
            return;
        }
        let expected: Vec<u8> = good
            .iter()
            .flat_map(|r| format!("{r}\n").into_bytes())
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&log),
            String::from_utf8_lossy(&expected),
            "{at}: neither the old log nor the repaired one"
        );
        // The damaged lines left the log: their bytes must be in the
        // quarantine, on stable storage.
        let quarantine = survived.read(QUARANTINE).unwrap_or_else(|| {
            panic!("{at}: the log lost its damaged lines, the quarantine is gone")
        });
        let quarantine = String::from_utf8(quarantine).expect("UTF-8");
        for line in &damaged {
            assert!(
                quarantine.contains(&format!("\"hex\":\"{}\"", hex(line))),
                "{at}: {line:?} is in neither the log nor the quarantine"
            );
        }
        records += good.len() + damaged.len();
        check_usable_after(&survived, at);
    });
    figures.records = records;
    figures.report("power cut during repair");
}

/// A record larger than the host's write permit (64 KiB).
fn big_record(i: usize) -> String {
    format!(r#"{{"big":{i},"pad":"{}"}}"#, "z".repeat(70_000 + i))
}

#[test]
fn a_power_cut_while_a_record_above_the_permit_is_written_keeps_every_returned_append() {
    let (_, random) = sizes();
    let fs = MemFs::new();
    fs.record_cut_points();
    let mut store = Store::new(config(SyncMode::Always), fs.clone(), "mem".into());
    // Small, big, small, big, small: the reservation and its fill are
    // cut like any other write.
    let sequence: Vec<String> = (0..5)
        .map(|i| if i % 2 == 1 { big_record(i) } else { record(i) })
        .collect();
    let mut returned_at = Vec::new();
    for text in &sequence {
        fs.advance(MILLI);
        store
            .append_frame(Frame::new([text.as_str()]))
            .expect("append");
        returned_at.push(fs.cut_points().saturating_sub(1));
    }
    assert_eq!(replay(&fs), sequence);
    let mut records = 0;
    let mut figures = each_cut(&fs, random, |point, _, survived, at| {
        let durable = returned_at.iter().filter(|&&r| r <= point).count();
        let bytes = survived.read(LOG).unwrap_or_default();
        let (kept, _) = records_of(&bytes, None, at);
        assert!(kept.len() >= durable, "{at}: {} of {durable}", kept.len());
        assert_eq!(kept[..], sequence[..kept.len()], "{at}");
        records += kept.len();
        // Appends go on (after the dead writer's claim went stale), on a
        // line of their own.
        survived.advance(3_000 * MILLI);
        let mut store = Store::new(config(SyncMode::Never), survived.clone(), "mem".into());
        store
            .append_frame(Frame::new([big_record(9).as_str()]))
            .expect("append after the cut");
        let (after, torn) = records_of(&survived.read(LOG).unwrap(), torn_line_at(&bytes), at);
        assert!(!torn, "{at}");
        assert_eq!(after.len(), kept.len() + 1, "{at}");
    });
    figures.records = records;
    figures.report("power cut, records above the permit");
}
