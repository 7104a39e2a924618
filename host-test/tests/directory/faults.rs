//! Fault injection on the file, as crashes and bad disks leave it: cuts at
//! every offset of the last records and at random offsets, bit flips,
//! inserted garbage and zeroed ranges. An untouched line (neither its
//! bytes, its newline nor the newline before it hit) is never lost or
//! altered; an append after a cut starts on its own line.

use crate::common;

use common::{Rng, figures, open, read_log, soak, test_dir, write_log};

fn records(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{{\"seq\":{i},\"note\":\"{}\"}}", "abc".repeat(i % 7)))
        .collect()
}

/// The log bytes and each line's byte range (newline included).
fn layout(lines: &[String]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    for line in lines {
        let start = bytes.len();
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        ranges.push((start, bytes.len()));
    }
    (bytes, ranges)
}

/// Asserts that `untouched` lines appear, in order and equal, among the
/// records replay gives; returns how many were checked.
fn assert_kept(ok: &[String], untouched: &[&String], case: &str) -> usize {
    let mut rest = ok.iter();
    for line in untouched {
        assert!(rest.any(|r| r == *line), "{case}: lost or altered {line}");
    }
    untouched.len()
}

#[test]
fn a_cut_anywhere_keeps_every_record_before_it_and_the_next_append() {
    // Every offset of the last K records, and random offsets elsewhere.
    let (n, k, random) = if soak() { (400, 60, 2000) } else { (40, 5, 60) };
    let lines = records(n);
    let (bytes, ranges) = layout(&lines);
    let mut rng = Rng(0x5eed);
    let mut cuts: Vec<usize> = (ranges[lines.len() - k].0..bytes.len()).collect();
    cuts.extend((0..random).map(|_| rng.below(ranges[lines.len() - k].0)));
    let dir = test_dir("faults_cuts");
    let (mut checked, mut cases) = (0, 0);
    for cut in cuts {
        write_log(dir.path(), &bytes[..cut]);
        let mut memory = open(dir.path());
        memory.try_append("{\"after\":true}").unwrap();
        let entries = memory.replay().unwrap();
        let whole: Vec<&String> = lines
            .iter()
            .zip(&ranges)
            .filter(|(_, r)| r.1 <= cut)
            .map(|(l, _)| l)
            .collect();
        // Whole records, then at most the cut one (reported or, if only its
        // newline was cut, whole), then the new record.
        for (entry, line) in entries.iter().zip(&whole) {
            assert_eq!(entry.as_ref().ok(), Some(*line), "cut at {cut}");
        }
        assert_eq!(
            entries.last().unwrap().as_deref(),
            Ok("{\"after\":true}"),
            "cut at {cut}"
        );
        assert!(entries.len() <= whole.len() + 2, "cut at {cut}");
        assert!(
            read_log(dir.path()).starts_with(&bytes[..cut]),
            "cut at {cut}: old bytes rewritten"
        );
        checked += whole.len();
        cases += 1;
    }
    assert_eq!(cases, random + (bytes.len() - ranges[lines.len() - k].0));
    assert!(checked > 1000, "{checked}");
    figures("torn writes (cut, then append)", cases, checked, cases);
}

#[test]
fn flips_garbage_and_zeroed_ranges_never_hide_an_untouched_line() {
    let lines = records(200);
    let (bytes, ranges) = layout(&lines);
    let mut rng = Rng(0xfa17);
    let dir = test_dir("faults_damage");
    let mut memory = open(dir.path());
    let (mut checked, mut faults) = (0, 0);
    let cases = if soak() { 5000 } else { 300 };
    for case in 0..cases {
        let mut damaged = bytes.clone();
        // Byte ranges of the original file that the fault touched.
        let mut touched: Vec<(usize, usize)> = Vec::new();
        let kind = case % 3;
        match kind {
            0 => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(damaged.len());
                    damaged[at] ^= 1 << rng.below(8);
                    touched.push((at, at + 1));
                }
            }
            1 => {
                let at = rng.below(damaged.len());
                let garbage: Vec<u8> = (0..1 + rng.below(20)).map(|_| rng.next() as u8).collect();
                damaged.splice(at..at, garbage);
                // Inserted bytes touch the line they land in.
                touched.push((at.saturating_sub(1), at + 1));
            }
            _ => {
                let at = rng.below(damaged.len());
                let end = (at + 1 + rng.below(100)).min(damaged.len());
                damaged[at..end].fill(0);
                touched.push((at, end));
            }
        }
        faults += touched.len();
        write_log(dir.path(), &damaged);
        let entries = memory.replay().unwrap();
        let ok: Vec<String> = entries
            .iter()
            .filter_map(|e| e.as_ref().ok().cloned())
            .collect();
        for damaged in entries.iter().filter_map(|e| e.as_ref().err()) {
            let message = &damaged.message;
            assert!(message.starts_with("line "), "case {case}: {message}");
        }
        let untouched: Vec<&String> = lines
            .iter()
            .zip(&ranges)
            // A line is touched by a hit on its bytes, its newline, or the
            // newline before it (without which it joins the line before).
            .filter(|(_, (s, e))| touched.iter().all(|(ts, te)| te < s || ts >= e))
            .map(|(l, _)| l)
            .collect();
        checked += assert_kept(&ok, &untouched, &format!("case {case} (kind {kind})"));
    }
    assert!(checked > cases * 190, "{checked}");
    figures("bit flips, garbage, zeroed ranges", cases, checked, faults);
}
