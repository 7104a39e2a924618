//! Real processes: `pathway append --each --ack` processes append to the
//! log `t` and to the log `u` while `pathway delete --log t` and `pathway
//! fork --log u` run over and over, all killed with SIGKILL at random
//! moments. Afterwards:
//! - every acknowledged record of `u` (never deleted) is there exactly
//!   once, every other at most once;
//! - each fork of `u` is whole: its bytes are a prefix of `u`'s (a fork
//!   copies a prefix of a log that only grows), never a torn copy;
//! - of `t`: a record acknowledged before a delete that succeeded started
//!   is gone; one acknowledged after every delete attempt returned (or was
//!   killed) is there exactly once (an append to a deleted log never
//!   reports success into a removed file); the rest at most once.
//!
//! Acknowledgements are timed when read from the pipe; a margin of
//! 500 ms covers the time between the write and that read, on a loaded
//! machine.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Rng, figures_line, soak, test_dir};
use pathway_host::Memory;

const MARGIN: Duration = Duration::from_millis(500);

fn pathway(subcommand: &str, dir: &Path, log: &str) -> Command {
    let mut command = Command::new(common::pathway_bin());
    command.stdin(Stdio::null()).stderr(Stdio::piped());
    command.env_remove("PATHWAY_SYNC");
    command
        .arg(subcommand)
        .arg("--dir")
        .arg(dir)
        .args(["--log", log]);
    command
}

#[derive(Default)]
struct Shared {
    /// (log, event, when its ack was read)
    acked: Mutex<Vec<(String, String, Instant)>>,
    tried: Mutex<Vec<(String, String)>>,
    /// Delete attempts: when started and when they returned (or were
    /// killed), and whether they succeeded (exit 0).
    deletes: Mutex<Vec<(Instant, Instant, bool)>>,
    told_deleted: AtomicUsize,
    forks: AtomicUsize,
    kills: AtomicUsize,
}

fn appender(
    dir: PathBuf,
    log: &'static str,
    writer: usize,
    seed: u64,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed);
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<String> = (next..next + 300)
            .map(|n| format!("{{\"log\":\"{log}\",\"w\":{writer},\"n\":{n}}}"))
            .collect();
        next += 300;
        shared
            .tried
            .lock()
            .unwrap()
            .extend(events.iter().map(|e| (log.to_string(), e.clone())));
        let mut child = pathway("append", &dir, log)
            .args(["--each", "--ack"])
            .args(&events)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let i: usize = line.trim().parse().unwrap();
                    shared.acked.lock().unwrap().push((
                        log.to_string(),
                        events[i].clone(),
                        Instant::now(),
                    ));
                }
            })
        };
        let errors = thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        });
        let deadline = Instant::now() + Duration::from_millis(rng.between(20, 300));
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                shared.kills.fetch_add(1, Ordering::Relaxed);
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        reader.join().unwrap();
        if errors
            .join()
            .unwrap()
            .contains("was deleted while this append")
        {
            shared.told_deleted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs `command`, killed at a random moment half of the time; whether it
/// exited with 0.
fn run_maybe_killed(mut command: Command, rng: &mut Rng, shared: &Shared) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kill = rng.next().is_multiple_of(2);
    let deadline = Instant::now() + Duration::from_micros(rng.between(100, 20_000));
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if kill && Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            shared.kills.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        thread::sleep(Duration::from_micros(100));
    }
}

fn deleter(dir: PathBuf, seed: u64, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(rng.between(30, 300)));
        let started = Instant::now();
        let ok = run_maybe_killed(pathway("delete", &dir, "t"), &mut rng, &shared);
        shared
            .deletes
            .lock()
            .unwrap()
            .push((started, Instant::now(), ok));
    }
}

fn forker(dir: PathBuf, seed: u64, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed);
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(rng.between(30, 300)));
        let mut command = pathway("fork", &dir, "u");
        command.args(["--to", &format!("copy-{k}")]);
        k += 1;
        if run_maybe_killed(command, &mut rng, &shared) {
            shared.forks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn records(memory: &mut Memory, log: &str) -> Vec<String> {
    memory
        .log(log)
        .unwrap()
        .replay()
        .unwrap()
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

#[test]
fn deletes_and_forks_killed_at_random_lose_no_record_they_did_not_delete() {
    let dir = test_dir("delete_race");
    let run_for = Duration::from_secs(if soak() { 60 } else { 8 });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let shared = Arc::new(Shared::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for (writer, log) in [(0, "t"), (1, "t"), (2, "u"), (3, "u")] {
        let (dir, shared, stop) = (dir.path().to_path_buf(), shared.clone(), stop.clone());
        let seed = seed.wrapping_mul(writer as u64 + 3);
        workers.push(thread::spawn(move || {
            appender(dir, log, writer, seed, shared, stop)
        }));
    }
    // Deletes stop a while before the appenders do, so that records are
    // acknowledged after the last one.
    let stop_deletes = Arc::new(AtomicBool::new(false));
    let delete_worker = {
        let (dir, shared) = (dir.path().to_path_buf(), shared.clone());
        let stop = stop_deletes.clone();
        thread::spawn(move || deleter(dir, seed ^ 0x5555, shared, stop))
    };
    {
        let (dir, shared, stop) = (dir.path().to_path_buf(), shared.clone(), stop.clone());
        workers.push(thread::spawn(move || {
            forker(dir, seed ^ 0xaaaa, shared, stop)
        }));
    }
    thread::sleep(run_for * 3 / 4);
    stop_deletes.store(true, Ordering::Relaxed);
    delete_worker.join().unwrap();
    thread::sleep(run_for / 4);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    // Claims a killed process left go stale.
    thread::sleep(Duration::from_millis(2100));

    let mut memory = common::open(dir.path());
    let acked = shared.acked.lock().unwrap().clone();
    let deletes = shared.deletes.lock().unwrap().clone();
    let count = |records: &[String]| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for r in records {
            *counts.entry(r.clone()).or_default() += 1;
        }
        counts
    };

    // u: never deleted.
    let u = count(&records(&mut memory, "u"));
    let mut acked_u = 0;
    for (log, event, _) in acked.iter().filter(|(log, _, _)| log == "u") {
        assert_eq!(u.get(event), Some(&1), "{log}: acknowledged {event}");
        acked_u += 1;
    }
    assert!(u.values().all(|&n| n == 1), "a record of u twice");
    // Forks: whole prefixes of u.
    let u_bytes = std::fs::read(dir.path().join("u.jsonl")).unwrap();
    let mut copies = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("copy-") && name.ends_with(".jsonl") {
            let bytes = std::fs::read(dir.path().join(&name)).unwrap();
            assert!(u_bytes.starts_with(&bytes), "{name} is not a prefix of u");
            copies += 1;
        }
    }
    // t: deleted over and over.
    let t = count(&records(&mut memory, "t"));
    let (mut gone, mut kept) = (0, 0);
    for (_, event, at) in acked.iter().filter(|(log, _, _)| log == "t") {
        // Acknowledged before a delete began: deleted with the log. After
        // every delete returned (or was killed): kept. Between: either.
        let deleted_after = deletes.iter().any(|&(started, _, ok)| ok && started > *at);
        let any_after = deletes.iter().any(|&(_, ended, _)| ended + MARGIN > *at);
        let n = t.get(event).copied().unwrap_or(0);
        if deleted_after {
            assert_eq!(n, 0, "{event}: acknowledged before a delete, still there");
            gone += 1;
        } else if !any_after {
            assert_eq!(n, 1, "{event}: acknowledged after every delete, lost");
            kept += 1;
        } else {
            assert!(n <= 1, "{event} twice");
        }
    }
    assert!(t.values().all(|&n| n == 1), "a record of t twice");
    let succeeded = deletes.iter().filter(|(_, _, ok)| *ok).count();
    assert!(
        succeeded > 0 && gone > 0,
        "{succeeded} deletes, {gone} records deleted"
    );
    figures_line(&format!(
        "delete race: {} s, {} delete attempts ({succeeded} succeeded), {} forks, {} kills, \
         {} appends told `deleted`; u: {acked_u} acknowledged records each once, {copies} \
         forks each a prefix of it; t: {gone} records deleted with their log, {kept} \
         acknowledged after every delete all kept",
        run_for.as_secs(),
        deletes.len(),
        shared.forks.load(Ordering::Relaxed),
        shared.kills.load(Ordering::Relaxed),
        shared.told_deleted.load(Ordering::Relaxed),
    ));
}
