//! `pathway bench --nats URL`: appends (one per call and batched) and
//! paged replay of a log kept in an R1 stream and an R3 stream, each
//! against a raw client baseline on the same server and the same events: a
//! plain async-nats program that publishes them (one waiting for its ack;
//! batches pipelined, all acks awaited at the end; and the batches again
//! with an id on each message, as the log sends them) and reads the log's
//! own events back with an ordered consumer. The two sides alternate,
//! three rounds each on fresh streams, and each figure is its side's best
//! round. It prints the ratio of each. It starts nothing: the server (for
//! R3, a cluster of three or more) must be running. Its streams are named `pathway-bench-r1-<pid>`,
//! `pathway-raw-r1-<pid>` (and `-r3-`) and deleted after.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::pull::OrderedConfig, stream::Config};
use futures_util::StreamExt;
use pathway_host::{Memory, NatsTarget, Options};

use crate::bench::BenchArgs;

/// One workload on a stream with `replicas`: the log, the raw client,
/// and their ratio (`None`: that stream could not be made).
#[derive(Debug, serde::Serialize)]
pub struct Row {
    pub workload: &'static str,
    pub unit: &'static str,
    pub replicas: usize,
    pub pathway: f64,
    pub raw: f64,
    pub ratio: f64,
}

fn event(i: usize) -> String {
    format!(
        "{{\"op\":\"remember\",\"seq\":{i},\"key\":\"k{:06}\",\"value\":\"{:0>40}\",\"ok\":true}}",
        i % 977,
        i * 7919
    )
}

/// How many events the replay workload reads: `replay_mb` of them.
fn replay_events(args: &BenchArgs) -> usize {
    let per_event = event(0).len() + 1;
    (args.replay_mb << 20) / per_event
}

/// The three workloads on the log: appends/s one per call, appends/s in
/// batches of 1000, replay MB/s (payload plus `\n`) of `replay_mb`.
fn workloads(log: &mut Memory, args: &BenchArgs) -> Result<[f64; 4]> {
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
    // Fill up to replay_events (untimed), then replay it all, page by page.
    let stored = args.appends + args.batches * 1000;
    for _ in 0..replay_events(args).saturating_sub(stored).div_ceil(1000) {
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
    // The log's batches again, against the raw client that also sends an
    // id with each message (the fourth row).
    Ok([single, batched, replay, batched])
}

/// The two append workloads with async-nats alone, on a stream of its own,
/// and the batches once more with a `Nats-Msg-Id` on each message, as the
/// log sends them (the server's duplicate detection has its cost). The
/// replay is [`raw_replay`]'s.
fn raw_workloads(url: &str, replicas: usize, args: &BenchArgs) -> Result<[f64; 4]> {
    let name = format!("pathway-raw-r{replicas}-{}", std::process::id());
    let args = args.clone();
    with_raw_client(url, |js| async move {
        let subject = format!("raw.{name}.events");
        js.create_stream(Config {
            name: name.clone(),
            subjects: vec![format!("raw.{name}.>")],
            num_replicas: replicas,
            duplicate_window: Duration::from_secs(120),
            ..Config::default()
        })
        .await
        .context("creating the raw client's stream")?;
        let started = Instant::now();
        for i in 0..args.appends {
            js.publish(subject.clone(), event(i).into()).await?.await?;
        }
        let single = args.appends as f64 / started.elapsed().as_secs_f64();
        let batch: Vec<String> = (0..1000).map(event).collect();
        let started = Instant::now();
        for _ in 0..args.batches {
            let mut acks = Vec::with_capacity(batch.len());
            for e in &batch {
                acks.push(js.publish(subject.clone(), e.clone().into()).await?);
            }
            for ack in acks {
                ack.await?;
            }
        }
        let batched = (args.batches * 1000) as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for b in 0..args.batches {
            let mut acks = Vec::with_capacity(batch.len());
            for (i, e) in batch.iter().enumerate() {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Msg-Id", format!("pwbench{b:06}-{i:04}").as_str());
                acks.push(
                    js.publish_with_headers(subject.clone(), headers, e.clone().into())
                        .await?,
                );
            }
            for ack in acks {
                ack.await?;
            }
        }
        let with_ids = (args.batches * 1000) as f64 / started.elapsed().as_secs_f64();
        js.delete_stream(&name).await?;
        Ok([single, batched, 0.0, with_ids])
    })
}

/// Runs `work` with a JetStream context of async-nats alone, connected to
/// `url` (one URL or several, comma-separated), on a runtime of its own.
fn with_raw_client<T, Fut>(url: &str, work: impl FnOnce(jetstream::Context) -> Fut) -> Result<T>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let servers: Vec<async_nats::ServerAddr> = url
        .split(',')
        .map(|u| u.trim().parse())
        .collect::<Result<_, _>>()?;
    runtime.block_on(async move {
        let client = async_nats::connect(servers).await?;
        work(jetstream::new(client)).await
    })
}

/// MB/s of payload (plus one a message, as lines) an ordered consumer of
/// async-nats alone reads from the log's own events: the same data the
/// log's replay read.
fn raw_replay(url: &str, stream_name: &str) -> Result<f64> {
    let name = stream_name.to_string();
    with_raw_client(url, |js| async move {
        let stream = js.get_stream(&name).await?;
        let total = stream.clone().get_info().await?.state.messages;
        let started = Instant::now();
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject: format!("pathway.{name}.events"),
                ..OrderedConfig::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let (mut bytes, mut read) = (0u64, 0u64);
        while read < total {
            let message = messages.next().await.context("the consumer ended")??;
            bytes += message.payload.len() as u64 + 1;
            read += 1;
        }
        Ok(bytes as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-9))
    })
}

fn stream_name(replicas: usize) -> String {
    format!("pathway-bench-r{replicas}-{}", std::process::id())
}

fn stream(url: &str, replicas: usize) -> Result<Memory, pathway_host::Error> {
    let target = NatsTarget {
        url: url.to_string(),
        stream: stream_name(replicas),
        create_replicas: Some(replicas),
    };
    let options = Options {
        call_timeout: Duration::from_secs(60),
        ..Options::default()
    };
    Memory::open_nats(target, options)
}

/// Rounds of each side per replica count (see [`run`]).
const ROUNDS: usize = 3;

pub fn run(url: &str, args: &BenchArgs) -> Result<Vec<Row>> {
    let names = [
        ("append, one per call", "events/s"),
        ("append, batches of 1000", "events/s"),
        ("replay, paged", "MB/s"),
        ("batches, raw sends ids too", "events/s"),
    ];
    let mut rows = Vec::new();
    'replicas: for replicas in [1, 3] {
        // Rounds of the log, then the raw client, each on fresh streams;
        // the best of each: a busy moment of the shared machine then
        // hits both sides alike, not one.
        let (mut ours, mut raw) = ([0f64; 4], [0f64; 4]);
        for _ in 0..ROUNDS {
            let mut log = match stream(url, replicas) {
                Ok(log) => log,
                Err(e) => {
                    eprintln!("pathway: bench: no R{replicas} stream: {e}");
                    continue 'replicas;
                }
            };
            let round = workloads(&mut log, args);
            let raw_read = match &round {
                Ok(_) => raw_replay(url, &stream_name(replicas)),
                Err(_) => Ok(0.0),
            };
            log.delete_stream()?;
            let round = round?;
            let mut raw_round = raw_workloads(url, replicas, args)?;
            raw_round[2] = raw_read?;
            for i in 0..4 {
                ours[i] = ours[i].max(round[i]);
                raw[i] = raw[i].max(raw_round[i]);
            }
        }
        for (i, (workload, unit)) in names.iter().enumerate() {
            rows.push(Row {
                workload,
                unit,
                replicas,
                pathway: ours[i],
                raw: raw[i],
                ratio: ours[i] / raw[i],
            });
        }
    }
    Ok(rows)
}
