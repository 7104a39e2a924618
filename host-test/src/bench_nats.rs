//! `pathway bench --nats URL`: appends (one per call and batched) and
//! paged replay through the file log, an R1 stream and an R3 stream, in
//! one run, with each stream's ratio to the file log. It starts nothing:
//! the server (for R3, a cluster of three or more) must be running. Its
//! streams are named `pathway-bench-r1-<pid>` and `-r3-` and deleted after.

use std::time::{Duration, Instant};

use anyhow::Result;
use pathway_host::{Memory, NatsTarget, Options};

use crate::bench::BenchArgs;

/// One workload on each provider (`None`: that stream could not be made).
#[derive(Debug, serde::Serialize)]
pub struct Row {
    pub workload: &'static str,
    pub unit: &'static str,
    pub file: f64,
    pub r1: Option<f64>,
    pub r3: Option<f64>,
}

fn event(i: usize) -> String {
    format!(
        "{{\"op\":\"remember\",\"seq\":{i},\"key\":\"k{:06}\",\"value\":\"{:0>40}\",\"ok\":true}}",
        i % 977,
        i * 7919
    )
}

/// The three workloads on one log: appends/s one per call, appends/s in
/// batches of 1000, replay MB/s of a log of `replay_mb`.
fn workloads(log: &mut Memory, args: &BenchArgs) -> Result<[f64; 3]> {
    let started = Instant::now();
    for i in 0..args.appends {
        log.try_append(&event(i))?;
    }
    let single = args.appends as f64 / started.elapsed().as_secs_f64();
    let batch: Vec<String> = (0..1000).map(event).collect();
    let started = Instant::now();
    for _ in 0..args.batches {
        log.append_batch(&batch)?;
    }
    let batched = (args.batches * 1000) as f64 / started.elapsed().as_secs_f64();
    // Fill up to replay_mb (untimed), then replay it all, page by page.
    let target = (args.replay_mb as u64) << 20;
    let per_batch: u64 = batch.iter().map(|e| e.len() as u64 + 1).sum();
    let written = (args.appends as u64 * per_batch / 1000) + args.batches as u64 * per_batch;
    for _ in 0..target.saturating_sub(written).div_ceil(per_batch) {
        log.append_batch(&batch)?;
    }
    let started = Instant::now();
    let (mut bytes, mut cursor) = (0u64, None::<String>);
    loop {
        let page = log.replay_page(cursor.as_deref(), 1 << 20)?;
        for record in page.entries.iter().flatten() {
            bytes += record.len() as u64 + 1;
        }
        if page.at_end {
            break;
        }
        cursor = Some(page.next);
    }
    let replay = bytes as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-9);
    Ok([single, batched, replay])
}

fn stream(url: &str, replicas: usize) -> Result<Memory, pathway_host::Error> {
    let target = NatsTarget {
        url: url.to_string(),
        stream: format!("pathway-bench-r{replicas}-{}", std::process::id()),
        create_replicas: Some(replicas),
    };
    let options = Options {
        call_timeout: Duration::from_secs(30),
        ..Options::default()
    };
    Memory::open_nats(target, options)
}

pub fn run(url: &str, args: &BenchArgs) -> Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let file = workloads(&mut Memory::open(dir.path(), Options::default())?, args)?;
    drop(dir);
    let on_stream = |replicas: usize| -> Result<Option<[f64; 3]>> {
        let nats = match stream(url, replicas) {
            Ok(nats) => nats,
            Err(e) => {
                eprintln!("pathway: bench: no R{replicas} stream: {e}");
                return Ok(None);
            }
        };
        let mut log = nats;
        let result = workloads(&mut log, args);
        log.delete_stream()?;
        Ok(Some(result?))
    };
    let r1 = on_stream(1)?;
    let r3 = on_stream(3)?;
    let names = [
        ("append, one per call", "events/s"),
        ("append, batches of 1000", "events/s"),
        ("replay, paged", "MB/s"),
    ];
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, (workload, unit))| Row {
            workload,
            unit,
            file: file[i],
            r1: r1.map(|r| r[i]),
            r3: r3.map(|r| r[i]),
        })
        .collect())
}
