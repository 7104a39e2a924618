//! Compactions and repairs that stall at their worst moments, in real
//! processes (issue 23): several `pathway append --each --ack` processes
//! append while a compaction loop and a repair loop run, their rewrites
//! held up for longer than the lock's staleness (2 s): either run under
//! `strace` with their rename, a sync or a write delayed, or stopped with
//! SIGSTOP and continued later. A damaged line written straight into the
//! log before each repair gives it something to do. Afterwards every
//! acknowledged record is in the log exactly once, and every other at most
//! once: appenders go on once a stalled rewrite's lock is stale, so the
//! rewrite must not rename over what they appended meanwhile when it wakes
//! up. A rewrite whose rename is delayed runs alone, as in the issue's
//! reproduction: the other loop would take its claim over first.
//!
//! A third run stops or kills (SIGKILL) its rewrites at random, writes no
//! damaged lines, and has a reader sample the log meanwhile: every sample,
//! and the log at the end, is read whole by `jq -c .` (issue 22).
//!
//! The delays need `strace` (5.3 or later), and ptrace allowed; without
//! them that test says it skipped, unless `PATHWAY_REQUIRE_STRACE=1`
//! makes that a failure; the same for `jq` and `PATHWAY_REQUIRE_JQ=1`.
//! The SIGSTOP test needs nothing. Quick by default; `PATHWAY_SOAK=1` runs
//! each for a minute.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use common::{LOG, Rng, figures_line, open, soak, test_dir};
use pathway_memory::lock::STALE_AFTER_MILLIS;

const APPENDERS: usize = 3;
const EVENTS_PER_RUN: usize = 200;

/// The syscalls a run may delay, by kind: the rename that commits a
/// rewrite, the syncs (data, directory), the writes to the log's files
/// (new log, seal, quarantine). wasmtime's WASI goes through `renameat`,
/// `pwritev2` and `pwrite64`; plain `rename` and `write` are left out, as
/// wasmtime's code cache and stdout use them. `?`: a name this
/// architecture lacks is left out.
const SYSCALLS: [(&str, &[&str]); 3] = [
    ("rename", &["?renameat", "?renameat2"]),
    ("sync", &["?fdatasync", "?fsync"]),
    ("write", &["?pwritev2", "?pwrite64", "?pwritev"]),
];

/// How a rewrite is held up.
#[derive(Clone, Copy, PartialEq)]
enum Stall {
    /// Under `strace`, some syscalls delayed on entry.
    Syscalls,
    /// Stopped with SIGSTOP, continued with SIGCONT.
    Stop,
    /// Stopped as [`Stall::Stop`] or killed with SIGKILL, at random, while
    /// a reader samples the log with `jq` (no damaged lines are written).
    StopOrKill,
}

#[derive(Clone, Copy)]
enum Rewrite {
    Compact,
    Repair,
}

impl Rewrite {
    fn name(self) -> &'static str {
        match self {
            Rewrite::Compact => "compaction",
            Rewrite::Repair => "repair",
        }
    }
}

#[derive(Default)]
struct Shared {
    /// Acknowledged events.
    acked: Mutex<Vec<String>>,
    /// Every event a process was asked to append.
    tried: Mutex<Vec<String>>,
    /// Longest gap between two acks of one appender process.
    longest_gap: Mutex<Duration>,
    /// Syscalls strace delayed, by kind.
    delayed: Mutex<BTreeMap<&'static str, usize>>,
    stops: AtomicUsize,
    kills: AtomicUsize,
    /// Times the reader sampled the log, lines it read, and the lines that
    /// plain JSON readers would stop at (the first few, with the sample).
    samples: AtomicUsize,
    lines_sampled: AtomicUsize,
    /// Lines of JSON whitespace only among them: seals left in the log.
    blank_sampled: AtomicUsize,
    not_json: Mutex<Vec<String>>,
    /// How rewrites ended, by rewrite and whether a stall hit them.
    outcomes: Mutex<BTreeMap<(&'static str, bool), Outcomes>>,
    /// The first line of what each rewrite that gave up said, and how often.
    reasons: Mutex<BTreeMap<String, usize>>,
    damaged_written: AtomicUsize,
    /// Taken for writing by a rewrite that goes alone, for reading by the
    /// others.
    turns: RwLock<()>,
}

#[derive(Default)]
struct Outcomes {
    committed: usize,
    gave_up: usize,
    /// A repair that found the log clean (a compaction had removed the
    /// damaged line first).
    clean: usize,
    killed: usize,
}

/// A stall longer than the lock's staleness, so appenders go on meanwhile.
fn stall_millis(rng: &mut Rng) -> u64 {
    rng.between(STALE_AFTER_MILLIS + 500, STALE_AFTER_MILLIS + 2_000)
}

/// `pathway SUBCOMMAND --dir DIR`, as arguments (run directly or under
/// strace).
fn pathway_args(subcommand: &str, dir: &Path) -> Vec<OsString> {
    vec![subcommand.into(), "--dir".into(), dir.into()]
}

fn command(program: impl AsRef<std::ffi::OsStr>, args: &[OsString]) -> Command {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    command.env_remove("PATHWAY_SYNC");
    command
}

fn appender(dir: PathBuf, writer: usize, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<String> = (next..next + EVENTS_PER_RUN)
            .map(|n| format!("{{\"w\":{writer},\"n\":{n}}}"))
            .collect();
        next += EVENTS_PER_RUN;
        shared.tried.lock().unwrap().extend(events.iter().cloned());
        let mut args = pathway_args("append", &dir);
        args.extend(["--each".into(), "--ack".into()]);
        args.extend(events.iter().map(OsString::from));
        let mut child = command(crate::common::pathway_bin(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pathway append");
        let stdout = child.stdout.take().unwrap();
        let reader = {
            let shared = shared.clone();
            // From the start: a process may wait for a lock before its
            // first ack.
            let mut last = Instant::now();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let now = Instant::now();
                    let i: usize = line.trim().parse().expect("an ack is an index");
                    shared.acked.lock().unwrap().push(events[i].clone());
                    let mut gap = shared.longest_gap.lock().unwrap();
                    *gap = (*gap).max(now - last);
                    last = now;
                }
            })
        };
        // Runs to its end; the last one is killed once the rewrites ended.
        while child.try_wait().unwrap().is_none() {
            if stop.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        reader.join().unwrap();
    }
}

/// Appends a line that is not JSON straight to the log, for repair to
/// find: one write, so it lands whole between records.
fn write_damaged_line(dir: &Path, n: usize) {
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join(LOG))
        .expect("opening the log to damage it");
    log.write_all(format!("damaged line {n}\n").as_bytes())
        .expect("writing a damaged line");
}

/// The arguments of a compaction of everything the log holds now: pages
/// the whole log and writes its records as the snapshot. `None` if paging
/// failed (a rewrite renamed meanwhile).
fn compaction_args(dir: &Path, snapshot: &Path) -> Option<Vec<OsString>> {
    let mut page = pathway_args("page", dir);
    page.extend(["--max-bytes".into(), "1000000000".into()]);
    let page = command(crate::common::pathway_bin(), &page)
        .stderr(Stdio::null())
        .output()
        .expect("pathway page");
    if !page.status.success() {
        return None;
    }
    let page: serde_json::Value = serde_json::from_slice(&page.stdout).expect("page JSON");
    let records: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["ok"].as_str())
        .collect();
    std::fs::write(snapshot, serde_json::to_string(&records).unwrap()).unwrap();
    let mut args = pathway_args("compact", dir);
    args.extend([
        "--json".into(),
        "--snapshot-json".into(),
        snapshot.into(),
        "--upto".into(),
        page["next"].as_str().unwrap().into(),
    ]);
    Some(args)
}

/// The kinds of [`SYSCALLS`] the `n`th plan of a loop delays, in turn:
/// only the rename that commits, the stall that used to lose records
/// (delaying an earlier step as well would stop the rewrite before it); a
/// random choice of syncs and writes; nothing, so that some rewrites
/// commit and the log does not grow run after run.
fn plan(n: usize, rng: &mut Rng) -> Vec<&'static str> {
    match (n % 3, rng.below(3)) {
        (0, _) => vec!["rename"],
        (1, 0) => vec!["sync"],
        (1, 1) => vec!["write"],
        (1, _) => vec!["sync", "write"],
        _ => Vec::new(),
    }
}

/// `strace` options that delay, on entry, the syscalls of `kinds` for
/// longer than the staleness: the rename, one of the first three syncs of
/// one kind, one of the first six writes of one kind. The trace goes to
/// `trace`, where delayed calls say `(DELAYED)`.
fn strace_args(kinds: &[&str], rng: &mut Rng, trace: &Path) -> Vec<OsString> {
    let all: Vec<&str> = SYSCALLS
        .iter()
        .flat_map(|(_, calls)| *calls)
        .copied()
        .collect();
    let mut args: Vec<OsString> = vec![
        "-f".into(),
        "--seccomp-bpf".into(),
        "-qq".into(),
        "-y".into(),
        "-o".into(),
        trace.into(),
        "-e".into(),
        format!("trace={}", all.join(",")).into(),
    ];
    for (kind, calls) in SYSCALLS.iter().filter(|(kind, _)| kinds.contains(kind)) {
        // strace counts each syscall apart: one of a kind's is delayed,
        // once (the rename: whichever this machine uses).
        let (calls, when, millis) = match *kind {
            // Just past the staleness as well: then no other rewrite is
            // likely to have taken the claim over (which would stop the
            // rename) by the time appenders found the lock stale.
            "rename" => (
                calls.join(","),
                1,
                rng.between(STALE_AFTER_MILLIS + 100, STALE_AFTER_MILLIS + 2_000),
            ),
            _ => (
                calls[rng.below(calls.len())].to_string(),
                rng.between(1, if *kind == "sync" { 4 } else { 7 }),
                stall_millis(rng),
            ),
        };
        let usecs = millis * 1_000;
        args.push("-e".into());
        args.push(format!("inject={calls}:delay_enter={usecs}:when={when}").into());
    }
    args.push(crate::common::pathway_bin().into());
    args
}

/// Counts the calls a trace says were delayed, by kind; returns how many.
fn count_delayed(trace: &Path, shared: &Shared) -> usize {
    let text = std::fs::read_to_string(trace).unwrap_or_default();
    let mut delayed = shared.delayed.lock().unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| l.contains("(DELAYED)")) {
        // "PID name(args) = result (DELAYED)", or for a call another
        // thread's line interrupted, "PID <... name resumed>) = ...".
        let mut words = line.split_whitespace().skip(1);
        let call = match words.next() {
            Some("<...") => words.next(),
            word => word.and_then(|w| w.split('(').next()),
        }
        .unwrap_or_default();
        let kind = SYSCALLS
            .iter()
            .find(|(_, calls)| calls.iter().any(|c| c.trim_start_matches('?') == call))
            .map_or("other", |(kind, _)| *kind);
        *delayed.entry(kind).or_default() += 1;
        n += 1;
    }
    n
}

/// Sends `signal` (`STOP`, `CONT`) to `child`, through `kill`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// What [`stop_once`] did to a rewrite.
#[derive(Clone, Copy, PartialEq)]
enum Interrupted {
    /// It had exited before.
    No,
    Stopped,
    Killed,
}

/// Stops `child` with SIGSTOP for a stall, then continues it, or with
/// `kill` at a coin's toss kills it with SIGKILL instead: half the time at
/// a random moment in its first 1.5 s, half the time a random few
/// milliseconds after `<log>.lock` appeared (its final steps).
fn stop_once(child: &mut Child, dir: &Path, rng: &mut Rng, kill: bool) -> Interrupted {
    let lock = dir.join(format!("{LOG}.lock"));
    let in_final_steps = rng.next().is_multiple_of(2);
    let mut deadline = Instant::now() + Duration::from_millis(rng.between(0, 1_500));
    let mut lock_seen = false;
    loop {
        // Unreaped, its pid is not reused: the signal reaches it even if
        // it has just exited.
        if child.try_wait().unwrap().is_some() {
            return Interrupted::No;
        }
        if in_final_steps && !lock_seen && lock.exists() {
            lock_seen = true;
            deadline = Instant::now() + Duration::from_micros(rng.between(0, 5_000));
        }
        if (!in_final_steps || lock_seen) && Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_micros(50));
    }
    if kill && rng.next().is_multiple_of(2) {
        signal(child, "KILL");
        return Interrupted::Killed;
    }
    signal(child, "STOP");
    thread::sleep(Duration::from_millis(stall_millis(rng)));
    signal(child, "CONT");
    Interrupted::Stopped
}

/// Compacts or repairs over and over until `stop`, every run stalled as
/// `stall` says; `first_plan` is the first [`plan`] of its loop.
fn rewriter(
    rewrite: Rewrite,
    stall: Stall,
    first_plan: usize,
    dir: PathBuf,
    seed: u64,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed);
    let scratch = test_dir(&format!("stall-{}", rewrite.name()));
    let snapshot = scratch.path().join("snapshot.json");
    let trace = scratch.path().join("strace.out");
    let mut plan_n = first_plan;
    while !stop.load(Ordering::Relaxed) {
        let kinds = match stall {
            Stall::Syscalls => plan(plan_n, &mut rng),
            Stall::Stop | Stall::StopOrKill => Vec::new(),
        };
        // A run that delays its rename goes alone: another rewrite would
        // take its stale claim over, which stops it before it renames,
        // and before appenders met the stall that used to lose records.
        let turn = if kinds.contains(&"rename") {
            (Some(shared.turns.write().unwrap()), None)
        } else {
            (None, Some(shared.turns.read().unwrap()))
        };
        let args = match rewrite {
            Rewrite::Compact => match compaction_args(&dir, &snapshot) {
                Some(args) => args,
                None => continue,
            },
            Rewrite::Repair => {
                // Not where a reader checks that every line is JSON.
                if stall != Stall::StopOrKill {
                    let n = shared.damaged_written.fetch_add(1, Ordering::Relaxed);
                    write_damaged_line(&dir, n);
                }
                let mut args = pathway_args("repair", &dir);
                args.push("--json".into());
                args
            }
        };
        let _ = std::fs::remove_file(&trace);
        let mut child = match stall {
            Stall::Syscalls => command(
                "strace",
                &[strace_args(&kinds, &mut rng, &trace), args].concat(),
            ),
            Stall::Stop | Stall::StopOrKill => command(crate::common::pathway_bin(), &args),
        }
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting a rewrite");
        let stopped = match stall {
            Stall::Syscalls => Interrupted::No,
            Stall::Stop => stop_once(&mut child, &dir, &mut rng, false),
            Stall::StopOrKill => stop_once(&mut child, &dir, &mut rng, true),
        };
        // Never killed: a rewrite whose strace is killed runs on untraced.
        let out = child.wait_with_output().expect("waiting for a rewrite");
        let stalled = match stall {
            Stall::Syscalls => count_delayed(&trace, &shared) > 0,
            Stall::Stop | Stall::StopOrKill => stopped != Interrupted::No,
        };
        // A plan stays until it delayed something: a run that found
        // another rewrite busy never got to its syscalls.
        if stalled || kinds.is_empty() {
            plan_n += 1;
        }
        match stopped {
            Interrupted::No => {}
            Interrupted::Stopped => _ = shared.stops.fetch_add(1, Ordering::Relaxed),
            Interrupted::Killed => _ = shared.kills.fetch_add(1, Ordering::Relaxed),
        }
        let mut outcomes = shared.outcomes.lock().unwrap();
        let outcome = outcomes.entry((rewrite.name(), stalled)).or_default();
        if stopped == Interrupted::Killed {
            outcome.killed += 1;
        } else if !out.status.success() {
            outcome.gave_up += 1;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let said = stderr.lines().chain(stdout.lines()).next().unwrap_or("");
            let reason = format!("{} (stalled: {stalled}): {said}", rewrite.name());
            *shared.reasons.lock().unwrap().entry(reason).or_default() += 1;
        } else {
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("a rewrite's JSON report");
            match &report["removed"] {
                serde_json::Value::Array(removed) if removed.is_empty() => outcome.clean += 1,
                _ => outcome.committed += 1,
            }
        }
        drop(outcomes);
        drop(turn);
        thread::sleep(Duration::from_millis(rng.between(0, 300)));
    }
}

/// "3 stalled compactions (1 committed, 2 gave up), ...".
fn outcomes_text(outcomes: &BTreeMap<(&str, bool), Outcomes>) -> String {
    let text: Vec<String> = outcomes
        .iter()
        .map(|((rewrite, stalled), o)| {
            let clean = match o.clean {
                0 => String::new(),
                n => format!(", {n} found the log clean"),
            };
            let killed = match o.killed {
                0 => String::new(),
                n => format!(", {n} killed"),
            };
            format!(
                "{} {} {rewrite}s ({} committed, {} gave up{clean}{killed})",
                o.committed + o.gave_up + o.clean + o.killed,
                if *stalled { "stalled" } else { "unstalled" },
                o.committed,
                o.gave_up,
            )
        })
        .collect();
    text.join(", ")
}

/// Reads the log as a plain JSONL reader would, over and over until
/// `stop`; see [`sample_once`].
fn sampler(dir: PathBuf, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let scratch = test_dir("stall-sample");
    let sample = scratch.path().join("sample.jsonl");
    while !stop.load(Ordering::Relaxed) {
        sample_once(&dir, &sample, &shared);
        thread::sleep(Duration::from_millis(5));
    }
}

/// Reads the log's complete lines (up to its last `\n`: the line being
/// appended may show half-written) and checks that a plain reader takes
/// every one: each line is one JSON value or JSON whitespace only (which
/// JSON Lines readers such as jq skip), checked with serde_json, and the
/// whole sample goes through `jq -c .`. What fails is kept in `not_json`.
fn sample_once(dir: &Path, sample: &Path, shared: &Shared) {
    // Not there yet, or between a rewrite's rename and nothing: no sample.
    let Ok(bytes) = std::fs::read(dir.join(LOG)) else {
        return;
    };
    let n = shared.samples.fetch_add(1, Ordering::Relaxed);
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let bytes = &bytes[..complete];
    let mut bad = Vec::new();
    let mut offset = 0;
    let mut lines = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = &line[..line.len() - 1];
        let blank = text.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'));
        if blank {
            shared.blank_sampled.fetch_add(1, Ordering::Relaxed);
        }
        if !blank && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_err() {
            bad.push(format!(
                "sample {n}, line {} (byte {offset}): {:?}",
                lines + 1,
                String::from_utf8_lossy(&text[..text.len().min(80)])
            ));
        }
        offset += line.len();
        lines += 1;
    }
    std::fs::write(sample, bytes).expect("writing a sample of the log");
    let jq = Command::new("jq")
        .args(["-c", "."])
        .stdin(std::fs::File::open(sample).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("running jq");
    if !jq.status.success() {
        let said = String::from_utf8_lossy(&jq.stderr);
        bad.push(format!("sample {n}: jq -c . failed: {}", said.trim()));
    }
    shared.lines_sampled.fetch_add(lines, Ordering::Relaxed);
    shared.not_json.lock().unwrap().extend(bad);
}

/// Has the component compiled once (wasmtime caches it), so that a run's
/// first processes do not spend it compiling.
fn warm_up() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        let dir = test_dir("stall-warm-up");
        let status = command(
            crate::common::pathway_bin(),
            &pathway_args("check", dir.path()),
        )
        .stdout(Stdio::null())
        .status()
        .expect("running pathway check");
        assert!(status.success(), "pathway check of an empty directory");
    });
}

/// Runs appenders, a compaction loop and a repair loop with every rewrite
/// stalled as `stall` says; checks the log and reports the figures.
fn run(test: &str, stall: Stall) {
    warm_up();
    let dir = test_dir(test);
    let run_for = Duration::from_secs(if soak() { 60 } else { 8 });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let shared = Arc::new(Shared::default());
    // Appenders run until the last rewrite has ended: what a rewrite
    // renames over is what they append while it stalls.
    let (stop_rewrites, stop_appends) = (Arc::new(AtomicBool::new(false)), Arc::default());
    let mut appenders = Vec::new();
    for writer in 0..APPENDERS {
        let (dir, shared, stop) = (
            dir.path().to_path_buf(),
            shared.clone(),
            Arc::clone(&stop_appends),
        );
        appenders.push(thread::spawn(move || appender(dir, writer, shared, stop)));
    }
    let mut rewriters = Vec::new();
    let first_plan = (seed >> 7) as usize % 3;
    for (i, rewrite) in [Rewrite::Compact, Rewrite::Repair].into_iter().enumerate() {
        let (dir, shared, stop) = (
            dir.path().to_path_buf(),
            shared.clone(),
            stop_rewrites.clone(),
        );
        // The loops start with different plans.
        let first_plan = first_plan + i;
        let seed = seed.wrapping_mul(i as u64 + 3);
        rewriters.push(thread::spawn(move || {
            rewriter(rewrite, stall, first_plan, dir, seed, shared, stop)
        }));
    }
    let reader = (stall == Stall::StopOrKill).then(|| {
        let (dir, shared, stop) = (
            dir.path().to_path_buf(),
            shared.clone(),
            Arc::clone(&stop_appends),
        );
        thread::spawn(move || sampler(dir, shared, stop))
    });
    thread::sleep(run_for);
    stop_rewrites.store(true, Ordering::Relaxed);
    for worker in rewriters {
        worker.join().unwrap();
    }
    stop_appends.store(true, Ordering::Relaxed);
    for worker in appenders {
        worker.join().unwrap();
    }
    if let Some(reader) = reader {
        reader.join().unwrap();
        // And once more, after every process ended.
        let scratch = test_dir("stall-last-sample");
        sample_once(dir.path(), &scratch.path().join("sample.jsonl"), &shared);
    }

    // Every acknowledged record exactly once, every other at most once.
    let mut memory = open(dir.path());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in memory.replay().unwrap().into_iter().filter_map(Result::ok) {
        *counts.entry(record).or_default() += 1;
    }
    let acked = shared.acked.lock().unwrap();
    let tried = shared.tried.lock().unwrap();
    let lost = acked.iter().filter(|e| !counts.contains_key(*e)).count();
    let doubled = counts.values().filter(|&&n| n > 1).count();
    let unacked_stored = tried
        .iter()
        .filter(|e| counts.contains_key(*e))
        .count()
        .saturating_sub(acked.len() - lost);
    let (stalls, how) = match stall {
        Stall::Syscalls => {
            let delayed = shared.delayed.lock().unwrap();
            let kinds: Vec<String> = delayed.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let how = format!("delayed syscalls: {}", kinds.join(", "));
            (delayed.values().sum(), how)
        }
        Stall::Stop => {
            let stops = shared.stops.load(Ordering::Relaxed);
            (stops, format!("{stops} SIGSTOPs"))
        }
        Stall::StopOrKill => {
            let stops = shared.stops.load(Ordering::Relaxed);
            let kills = shared.kills.load(Ordering::Relaxed);
            let samples = shared.samples.load(Ordering::Relaxed);
            let how = format!(
                "{stops} SIGSTOPs, {kills} SIGKILLs; a reader sampled the log {samples} times \
                 ({} lines, {} of them seals, each sample through jq), {} lines not JSON",
                shared.lines_sampled.load(Ordering::Relaxed),
                shared.blank_sampled.load(Ordering::Relaxed),
                shared.not_json.lock().unwrap().len(),
            );
            (stops + kills, how)
        }
    };
    let figures = format!(
        "{test}: {} s, {how}; {}; {} damaged lines written; {} acknowledged records \
         (+{unacked_stored} stored unacknowledged), {lost} lost, {doubled} doubled; longest \
         wait of an appender for an ack {} ms",
        run_for.as_secs(),
        outcomes_text(&shared.outcomes.lock().unwrap()),
        shared.damaged_written.load(Ordering::Relaxed),
        acked.len(),
        shared.longest_gap.lock().unwrap().as_millis(),
    );
    for (reason, n) in shared.reasons.lock().unwrap().iter() {
        eprintln!("{test}: {n} x gave up: {reason}");
    }
    let lost_some: Vec<&String> = acked
        .iter()
        .filter(|e| !counts.contains_key(*e))
        .take(3)
        .collect();
    let doubled_some: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(e, _)| e)
        .take(3)
        .collect();
    let not_json = shared.not_json.lock().unwrap();
    assert!(
        not_json.is_empty(),
        "a plain JSON reader met lines it cannot read (seed {seed}), such as {:?}: {figures}",
        &not_json[..not_json.len().min(3)]
    );
    assert!(
        lost == 0 && doubled == 0,
        "acknowledged records lost (such as {lost_some:?}) or records doubled (such as \
         {doubled_some:?}) (seed {seed}): {figures}"
    );
    // A run where nothing stalled tested nothing (an strace that cannot
    // delay, say): not a pass.
    assert!(
        stalls > 0,
        "no rewrite was stalled (seed {seed}): {figures}"
    );
    // A stalled rewrite holds appenders up until its lock is stale (2 s),
    // a few times over when rewrites stall one after the other; the
    // margin is for a loaded machine.
    assert!(
        *shared.longest_gap.lock().unwrap() < Duration::from_secs(10),
        "appends stood still too long (seed {seed}): {figures}"
    );
    figures_line(&figures);
}

/// Whether `jq` runs here. Without it the test is skipped, or fails under
/// `PATHWAY_REQUIRE_JQ=1`.
fn jq_works(test: &str) -> bool {
    let why = match Command::new("jq").arg("--version").output() {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "jq --version failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => format!("jq missing ({e})"),
    };
    cannot_run(test, "jq", &why)
}

/// Whether strace can trace here: installed, and ptrace allowed. Without
/// it the test is skipped, or fails under `PATHWAY_REQUIRE_STRACE=1`.
fn strace_works(test: &str) -> bool {
    // With the options the test uses (strace 5.3 or later).
    let probe = Command::new("strace")
        .args(["-f", "--seccomp-bpf", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=?renameat,?renameat2"])
        .args(["-e", "inject=?renameat,?renameat2:delay_enter=1", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "strace cannot trace here (ptrace not permitted?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("strace missing ({e})"),
    };
    cannot_run(test, "strace", &why)
}

/// `test` cannot run without `tool`, for the reason `why`: a failure under
/// `PATHWAY_REQUIRE_<TOOL>=1`, else reported as skipped. Returns false.
fn cannot_run(test: &str, tool: &str, why: &str) -> bool {
    let variable = format!("PATHWAY_REQUIRE_{}", tool.to_uppercase());
    let required = std::env::var_os(&variable).is_some_and(|v| v == "1");
    assert!(!required, "{test}: {variable}=1 but {why}");
    common::skipped(test, &format!("{why}; install {tool} to run it"));
    figures_line(&format!("{test}: SKIPPED, not run: {why}"));
    false
}

#[test]
fn rewrites_with_delayed_renames_syncs_and_writes_lose_no_acknowledged_record() {
    let test = "stall-syscalls";
    if strace_works(test) {
        run(test, Stall::Syscalls);
    }
}

#[test]
fn rewrites_stopped_with_sigstop_lose_no_acknowledged_record() {
    run("stall-sigstop", Stall::Stop);
}

/// A compaction or repair that gives up, is stopped or is killed leaves
/// nothing a plain JSONL reader stops at (issue 22): a reader samples the
/// log between the processes' steps and runs `jq -c .` over each sample.
#[test]
fn rewrites_stopped_and_killed_leave_a_log_jq_reads() {
    let test = "stall-sigkill-jq";
    if jq_works(test) {
        run(test, Stall::StopOrKill);
    }
}
