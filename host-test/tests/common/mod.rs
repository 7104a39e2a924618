//! Fixtures shared by the host tests: one temp dir per test, named after it.
#![allow(dead_code)]

pub mod raw;

use std::path::Path;

use pathway_host::{Entry, Memory, Options};
use tempfile::TempDir;

pub const LOG: &str = "pathway.jsonl";

/// The `pathway` CLI (the `pathway-cli` package), beside this test binary:
/// `cargo test --workspace` builds it with the tests.
pub fn pathway_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // <target>/<profile>/deps/<test binary>
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary in <target>/<profile>/deps")
        .join(format!("pathway{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "no {}: the CLI is the pathway-cli package; run the tests with `cargo test \
         --workspace`, or build it first (`cargo build -p pathway-cli`)",
        bin.display()
    );
    bin
}

/// Says that `test` did not run, and why: on stderr, and as a line of the
/// file `PATHWAY_SKIP_LOG` names, which `.ci/run` counts and prints (the
/// test harness itself can only report such a test as passed).
pub fn skipped(test: &str, why: &str) {
    eprintln!("{test}: SKIPPED, not run: {why}");
    if let Some(path) = std::env::var_os("PATHWAY_SKIP_LOG") {
        use std::io::Write;
        let line = format!("{test}: {why}\n");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// A fresh directory whose name starts with the test's name.
pub fn test_dir(test: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("pathway-{test}-"))
        .tempdir()
        .expect("creating a temp dir")
}

/// Opens the log in `dir` with default options.
pub fn open(dir: &Path) -> Memory {
    Memory::open(dir, Options::default()).expect("opening the log")
}

/// Writes `bytes` as the log file before the component touches it.
pub fn write_log(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join(LOG), bytes).expect("writing the fixture log");
}

pub fn read_log(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG)).expect("reading the log")
}

pub fn ok(line: &str) -> Entry {
    Ok(line.to_string())
}

/// The message of a damaged entry, for `starts_with` checks.
pub fn err(entry: &Entry) -> &str {
    &entry
        .as_ref()
        .expect_err("expected a damaged entry")
        .message
}

/// Every entry of the log, read page by page with `max_bytes` pages.
pub fn paged(memory: &mut Memory, max_bytes: u32) -> Vec<Entry> {
    memory
        .entries(None, max_bytes)
        .collect::<Result<_, _>>()
        .expect("paged replay")
}

/// The records of the log (damaged lines dropped), as the component reads it.
pub fn records(dir: &Path) -> Vec<String> {
    open(dir)
        .replay()
        .unwrap()
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// `PATHWAY_SOAK=1`: the long runs of the reliability suite.
pub fn soak() -> bool {
    std::env::var_os("PATHWAY_SOAK").is_some_and(|v| v == "1")
}

/// Reports what a reliability test tried, once its assertions passed (so
/// "0 lost" is what it checked): on stderr (seen with `--nocapture`) and,
/// when `PATHWAY_FIGURES` names a file, appended to it for docs/durability.md.
pub fn figures(test: &str, cases: usize, records: usize, faults: usize) {
    figures_line(&format!(
        "{test}: {cases} cases, {records} records checked, {faults} faults injected, 0 records lost"
    ));
}

/// Reports one line of figures as [`figures`] does, for tests whose
/// figures are of another shape.
pub fn figures_line(line: &str) {
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

/// A small deterministic generator (xorshift64*), so that a seed replays
/// a run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number in `low..high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}
