//! Real processes killed with SIGKILL at random moments: several
//! `pathway append --each --ack` processes and one process that compacts
//! (`pathway page`, then `pathway compact` with what it read as the
//! snapshot), each killed and started again over and over. Afterwards
//! every acknowledged record is in the log exactly once, and every other
//! at most once. A compaction killed while it holds `<log>.lock` holds
//! appenders up for at most the lock's staleness (2 s).
//!
//! Quick by default; `PATHWAY_SOAK=1` runs for a minute.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{LOG, Rng, figures_line, open, soak, test_dir};

const APPENDERS: usize = 3;
const EVENTS_PER_RUN: usize = 400;

/// `pathway` with the log in `dir`, quiet on stderr.
fn pathway(subcommand: &str, dir: &Path) -> Command {
    let mut command = Command::new(crate::common::pathway_bin());
    command.stderr(Stdio::null()).stdin(Stdio::null());
    command.env_remove("PATHWAY_SYNC");
    command.arg(subcommand).arg("--dir").arg(dir);
    command
}

/// Waits for the child until `deadline`, then kills it with SIGKILL;
/// true if it was killed (it had not exited).
fn kill_at(child: &mut Child, deadline: Instant) -> bool {
    loop {
        if child.try_wait().expect("waiting for a child").is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            // `Child::kill` sends SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

#[derive(Default)]
struct Shared {
    /// Acknowledged events, with when their ack was read.
    acked: Mutex<Vec<(String, Instant)>>,
    /// Every event a process was asked to append.
    tried: Mutex<Vec<String>>,
    /// When a compaction was killed while its lock existed.
    killed_locked: Mutex<Vec<Instant>>,
    kills: AtomicUsize,
    compactions: AtomicUsize,
    /// Longest gap between two acks of one appender process.
    longest_gap: Mutex<Duration>,
}

fn appender(dir: PathBuf, writer: usize, seed: u64, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed);
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<String> = (next..next + EVENTS_PER_RUN)
            .map(|n| format!("{{\"w\":{writer},\"n\":{n}}}"))
            .collect();
        next += EVENTS_PER_RUN;
        shared.tried.lock().unwrap().extend(events.iter().cloned());
        let mut child = pathway("append", &dir)
            .args(["--each", "--ack"])
            .args(&events)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting pathway append");
        let stdout = child.stdout.take().unwrap();
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || {
                let mut last: Option<Instant> = None;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let now = Instant::now();
                    let i: usize = line.trim().parse().expect("an ack is an index");
                    shared.acked.lock().unwrap().push((events[i].clone(), now));
                    if let Some(last) = last {
                        let mut gap = shared.longest_gap.lock().unwrap();
                        *gap = (*gap).max(now - last);
                    }
                    last = Some(now);
                }
            })
        };
        let deadline = Instant::now() + Duration::from_millis(rng.between(30, 400));
        if kill_at(&mut child, deadline) {
            shared.kills.fetch_add(1, Ordering::Relaxed);
        }
        reader.join().unwrap();
    }
}

/// Pages the whole log and compacts it with what it read as the snapshot,
/// both steps killed at random moments.
fn compactor(dir: PathBuf, seed: u64, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(seed);
    let snapshot = dir.with_extension("snapshot.json");
    while !stop.load(Ordering::Relaxed) {
        let page = pathway("page", &dir)
            .args(["--max-bytes", "1000000000"])
            .output()
            .expect("pathway page");
        if !page.status.success() {
            continue;
        }
        let page: serde_json::Value = serde_json::from_slice(&page.stdout).expect("page JSON");
        let records: Vec<&str> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["ok"].as_str())
            .collect();
        std::fs::write(&snapshot, serde_json::to_string(&records).unwrap()).unwrap();
        let next = page["next"].as_str().unwrap().to_string();
        let mut child = pathway("compact", &dir)
            .arg("--snapshot-json")
            .arg(&snapshot)
            .args(["--upto", &next])
            .stdout(Stdio::null())
            .spawn()
            .expect("starting pathway compact");
        // Half the runs are killed at a random moment in their first 2.5 s
        // (some finish before); the other half in their final steps, a
        // random few hundred microseconds after `<log>.lock` appeared.
        let lock = dir.join(format!("{LOG}.lock"));
        let in_final_steps = rng.next().is_multiple_of(2);
        let mut deadline = Instant::now() + Duration::from_millis(rng.between(5, 2500));
        let mut lock_seen = false;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                if status.success() {
                    shared.compactions.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            if in_final_steps && !lock_seen && lock.exists() {
                lock_seen = true;
                deadline = Instant::now() + Duration::from_micros(rng.between(0, 400));
            }
            if (!in_final_steps || lock_seen) && Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                shared.kills.fetch_add(1, Ordering::Relaxed);
                if lock.exists() {
                    shared.killed_locked.lock().unwrap().push(Instant::now());
                }
                break;
            }
            thread::sleep(Duration::from_micros(if in_final_steps { 20 } else { 200 }));
        }
        thread::sleep(Duration::from_millis(rng.between(0, 50)));
    }
    let _ = std::fs::remove_file(snapshot);
}

#[test]
fn killed_appenders_and_compactions_leave_every_acknowledged_record_exactly_once() {
    let dir = test_dir("sigkill");
    let run_for = Duration::from_secs(if soak() { 60 } else { 8 });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let shared = Arc::new(Shared::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for writer in 0..APPENDERS {
        let (dir, shared, stop) = (dir.path().to_path_buf(), shared.clone(), stop.clone());
        let seed = seed.wrapping_mul(writer as u64 + 3);
        workers.push(thread::spawn(move || {
            appender(dir, writer, seed, shared, stop)
        }));
    }
    {
        let (dir, shared, stop) = (dir.path().to_path_buf(), shared.clone(), stop.clone());
        workers.push(thread::spawn(move || compactor(dir, seed, shared, stop)));
    }
    thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }

    // Every acknowledged record exactly once, every other at most once.
    let mut memory = open(dir.path());
    let entries = memory.replay().unwrap();
    let damaged = entries.iter().filter(|e| e.is_err()).count();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for record in entries.iter().filter_map(|e| e.as_ref().ok()) {
        *counts.entry(record.clone()).or_default() += 1;
    }
    let acked = shared.acked.lock().unwrap();
    for (event, _) in acked.iter() {
        assert_eq!(
            counts.get(event),
            Some(&1),
            "acknowledged {event} (seed {seed})"
        );
    }
    let tried = shared.tried.lock().unwrap();
    for event in tried.iter() {
        assert!(
            counts.get(event).copied().unwrap_or(0) <= 1,
            "{event} (seed {seed})"
        );
    }
    assert_eq!(
        counts.values().sum::<usize>(),
        counts.len(),
        "no record twice (seed {seed})"
    );

    // How long appends stood still after a compaction was killed holding
    // its lock: until the next ack of any appender.
    let mut ack_times: Vec<Instant> = acked.iter().map(|(_, t)| *t).collect();
    ack_times.sort();
    let resume = shared
        .killed_locked
        .lock()
        .unwrap()
        .iter()
        .filter_map(|&kill| ack_times.iter().find(|&&t| t > kill).map(|&t| t - kill))
        .max()
        .unwrap_or_default();
    let unacked_stored = tried
        .iter()
        .filter(|e| counts.contains_key(*e))
        .count()
        .saturating_sub(acked.len());
    // The lock of a killed compaction goes stale after 2 s; the margin is
    // for a loaded machine (before the heartbeat it was 30 s).
    assert!(
        resume < Duration::from_secs(6),
        "appends stood still {} ms after a compaction was killed (seed {seed})",
        resume.as_millis()
    );
    figures_line(&format!(
        "SIGKILL: {} s, {} kills ({} of a compaction holding its lock), {} compactions, \
         {} acknowledged records (+{} stored unacknowledged), {} damaged lines, 0 lost, \
         0 doubled; longest stall between two acks of an appender {} ms, appends resumed \
         after a killed compaction within {} ms",
        run_for.as_secs(),
        shared.kills.load(Ordering::Relaxed),
        shared.killed_locked.lock().unwrap().len(),
        shared.compactions.load(Ordering::Relaxed),
        acked.len(),
        unacked_stored,
        damaged,
        shared.longest_gap.lock().unwrap().as_millis(),
        resume.as_millis(),
    ));
}
