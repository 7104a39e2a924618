//! The NATS provider keeps every acknowledged event when servers die: a
//! single server killed and restarted, and a 3-node cluster with an R3
//! stream that loses a server (SIGKILL) while four writers append.

use crate::support as nats_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nats_support::{Cluster, Server, open};
use serde_json::Value;

/// Appends `count` events `{"w":writer,"n":k}` one call each, retrying a
/// call that failed with an unknown outcome (the same events again: stored
/// once). Returns how many were acknowledged, counting in `progress`.
fn write(url: &str, stream: &str, writer: u64, count: u64, progress: &AtomicU64) -> u64 {
    let mut log = open(url, stream, 3);
    let mut acked = 0;
    for k in 0..count {
        let event = format!(r#"{{"w":{writer},"n":{k}}}"#);
        let mut tries = 0;
        loop {
            tries += 1;
            match log.try_append(&event) {
                Ok(()) => break,
                Err(e) => {
                    assert!(tries < 5, "writer {writer}, event {k}: {e}");
                }
            }
        }
        acked += 1;
        progress.fetch_add(1, Ordering::SeqCst);
    }
    acked
}

/// Each writer's numbers in replay order.
fn by_writer(url: &str, stream: &str) -> HashMap<u64, Vec<u64>> {
    let mut log = open(url, stream, 3);
    let mut seen: HashMap<u64, Vec<u64>> = HashMap::new();
    for entry in log.replay().expect("replaying") {
        let record = entry.expect("no damaged entries");
        let value: Value = serde_json::from_str(&record).unwrap();
        seen.entry(value["w"].as_u64().unwrap())
            .or_default()
            .push(value["n"].as_u64().unwrap());
    }
    seen
}

fn wait_for(progress: &AtomicU64, at_least: u64) {
    while progress.load(Ordering::SeqCst) < at_least {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn every_acknowledged_event_survives_a_killed_and_restarted_server() {
    let mut server = Server::single("restart");
    let url = server.url();
    open(&url, "restart", 1);
    let progress = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, progress) = (url.clone(), progress.clone());
        std::thread::spawn(move || write(&url, "restart", 0, 2000, &progress))
    };
    wait_for(&progress, 500);
    server.kill();
    let at_kill = progress.load(Ordering::SeqCst);
    server.start();
    let acked = writer.join().expect("the writer");
    assert_eq!(acked, 2000);
    let seen = by_writer(&url, "restart");
    assert_eq!(seen[&0], (0..2000).collect::<Vec<_>>());
    eprintln!("killed after {at_kill} acks; all 2000 replayed once, in order");
}

#[test]
fn an_r3_stream_keeps_every_acknowledged_event_once_when_a_server_is_killed() {
    const WRITERS: u64 = 4;
    const EACH: u64 = 5000;
    let mut cluster = Cluster::new("r3kill", 3);
    let url = cluster.url();
    open(&url, "r3kill", 3);
    let progress = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, progress) = (url.clone(), progress.clone());
            std::thread::spawn(move || write(&url, "r3kill", w, EACH, &progress))
        })
        .collect();
    wait_for(&progress, 2000);
    cluster.servers[0].kill();
    let at_kill = progress.load(Ordering::SeqCst);
    wait_for(&progress, 10_000);
    cluster.servers[0].start();
    let at_restart = progress.load(Ordering::SeqCst);
    let acked: u64 = writers
        .into_iter()
        .map(|w| w.join().expect("a writer"))
        .sum();
    eprintln!(
        "n0 killed after {at_kill} acks, restarted after {at_restart}; {acked} acked; checking each \
         once and in its writer's order"
    );
    assert_eq!(acked, WRITERS * EACH);
    let seen = by_writer(&url, "r3kill");
    assert_eq!(seen.len() as u64, WRITERS);
    for w in 0..WRITERS {
        assert_eq!(
            seen[&w],
            (0..EACH).collect::<Vec<_>>(),
            "writer {w}: every event once, in its order"
        );
    }
}
