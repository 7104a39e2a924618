//! `pathway bench-hosts`: the same workload through every host of the same
//! component (this Rust library, Node's jco host, Python's wasmtime-py
//! host), side by side in one run. Each host prints one JSON line
//! (`host-test/hosts/<host>/bench.sh WASM DIR EVENTS`); the Rust line is
//! measured here the same way:
//!
//! - `instantiate_ms`: median of 20 opens of a fresh log (compiled once);
//! - `append_per_s`: EVENTS one-event `try_append` calls of ~100 bytes;
//! - `batch_per_s`: the same EVENTS in `append_batch` calls of 100;
//! - `replay_mb_per_s`: typed whole-log replay of that log, best of 3.
//!
//! With `--nats URL`, each host runs them on a log in a fresh R1 stream
//! of that server instead of a directory (`bench.sh WASM DIR EVENTS URL`);
//! `storage` in each line says which.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use pathway_host::{Memory, NatsTarget, Options};
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct BenchHostsArgs {
    /// Events appended by each workload.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Only these hosts (rust, node, python); default all.
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// Print the JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Keep each host's log in a fresh R1 stream of this NATS server
    /// instead of a directory (the server must be running).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

const EVENT_BYTES: usize = 100;
const BATCH: usize = 100;

/// `{"i":N,"pad":"..."}`, padded to about [`EVENT_BYTES`] (as the Node
/// and Python benches make it).
fn event(i: usize) -> String {
    let bare = format!("{{\"i\":{i},\"pad\":\"\"}}");
    let pad = EVENT_BYTES.saturating_sub(bare.len());
    format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(pad))
}

/// A fresh log for the Rust line: in `dir`, or in a fresh R1 stream.
fn open(dir: &Path, nats: Option<&str>, name: &str) -> Result<Memory> {
    Ok(match nats {
        Some(url) => Memory::open_nats(
            NatsTarget {
                url: url.to_string(),
                stream: format!("pathway-bench-rust-{}-{name}", std::process::id()),
                create_replicas: Some(1),
            },
            Options::default(),
        )?,
        None => {
            let dir = dir.join(name);
            std::fs::create_dir(&dir)?;
            Memory::open(&dir, Options::default())?
        }
    })
}

/// The Rust library's line.
fn rust(dir: &Path, events: usize, nats: Option<&str>) -> Result<Value> {
    let mut memory = open(dir, nats, "log")?;
    let texts: Vec<String> = (0..events).map(event).collect();

    let started = Instant::now();
    for text in &texts {
        memory.try_append(text)?;
    }
    let append_per_s = events as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    for chunk in texts.chunks(BATCH) {
        memory.append_batch(chunk)?;
    }
    let batch_per_s = events as f64 / started.elapsed().as_secs_f64();

    let mut bytes = 0;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        let entries = memory.replay()?;
        best = best.min(started.elapsed().as_secs_f64());
        if entries.len() != 2 * events {
            bail!(
                "replay gave {} entries, expected {}",
                entries.len(),
                2 * events
            );
        }
        // The records as lines, as the other hosts count them.
        bytes = entries.iter().flatten().map(|r| r.len() + 1).sum::<usize>();
    }

    // Opens of a fresh directory, or (as the Node and Python lines do) of
    // the same stream again: opening, not creating, a stream.
    let mut opens = Vec::new();
    for i in 0..20 {
        let name = match nats {
            Some(_) => "log".to_string(),
            None => format!("open-{i}"),
        };
        let started = Instant::now();
        drop(open(dir, nats, &name)?);
        opens.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    opens.sort_by(f64::total_cmp);
    if nats.is_some() {
        memory.delete_stream()?;
    }
    Ok(json!({
        "host": "rust",
        "storage": if nats.is_some() { "nats" } else { "directory" },
        "runtime": "wasmtime 48 (wasmtime-wasi, blocking on the calling thread)",
        "instantiate_ms": (opens[9] + opens[10]) / 2.0,
        "append_per_s": append_per_s,
        "batch_per_s": batch_per_s,
        "replay_mb_per_s": bytes as f64 / 1e6 / best,
    }))
}

/// Where the other hosts live: this source tree's `host-test/hosts`.
fn hosts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hosts")
}

/// Another host's line, from its bench script.
fn other(host: &str, wasm: &Path, dir: &Path, events: usize, nats: Option<&str>) -> Result<Value> {
    let script = hosts_dir().join(host).join("bench.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(wasm)
        .arg(dir)
        .arg(events.to_string())
        .args(nats)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("{host}'s bench printed {line:?}"))
}

/// Runs the chosen hosts one after another; their lines, in order.
pub fn run(args: &BenchHostsArgs) -> Result<Vec<Value>> {
    let work = tempfile::Builder::new()
        .prefix("pathway-bench-hosts-")
        .tempdir()?;
    let wasm = pathway_host::write_components(work.path())?;
    let all = ["rust", "node", "python"];
    let chosen: Vec<&str> = if args.hosts.is_empty() {
        all.to_vec()
    } else {
        args.hosts.iter().map(String::as_str).collect()
    };
    let mut lines = Vec::new();
    for host in chosen {
        let dir = work.path().join(host);
        std::fs::create_dir(&dir)?;
        let line = match host {
            "rust" => rust(&dir, args.events, args.nats.as_deref())?,
            "node" | "python" => other(host, &wasm, &dir, args.events, args.nats.as_deref())?,
            other => bail!("no host {other:?}: choose from rust, node, python"),
        };
        lines.push(line);
    }
    Ok(lines)
}
