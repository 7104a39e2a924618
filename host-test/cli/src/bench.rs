//! `pathway bench`: each workload through the component in wasmtime and,
//! in the same run, through a native Rust loop doing the same I/O, with the
//! ratio of the two. Data is deterministic; sizes are flags.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pathway_host::{COMPONENT_BYTES, Memory, Options, Runtime, SyncMode};
use serde::de::IgnoredAny;

/// Sizes of one bench run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Events appended one per call.
    #[arg(long, default_value_t = 100_000)]
    pub appends: usize,
    /// Batches of 1000 events for the batch workload.
    #[arg(long, default_value_t = 100)]
    pub batches: usize,
    /// Size of the replayed log in MB.
    #[arg(long, default_value_t = 50)]
    pub replay_mb: usize,
    /// Events appended with PATHWAY_SYNC=always (each one an fdatasync).
    #[arg(long, default_value_t = 2_000)]
    pub synced: usize,
    /// Size of the compacted log in MB.
    #[arg(long, default_value_t = 100)]
    pub compact_mb: usize,
    /// MiB of JSON Lines piped through `append -` (streaming, the old
    /// whole-stdin path, and a child `pathway append -` for its peak
    /// memory); 0 leaves the workload out.
    #[arg(long, default_value_t = 50)]
    pub import_mb: usize,
    /// Logs in the grant for the named-log workload (open + append + last
    /// 10 of one log among them, against one log alone); 0 leaves the
    /// named-log workloads out.
    #[arg(long, default_value_t = 10_000)]
    pub logs: usize,
    /// Size in MiB of the log whose last 10 records are read against a
    /// tiny log's.
    #[arg(long, default_value_t = 256)]
    pub last_mb: usize,
    /// Size in MB of the log forked against `cp`.
    #[arg(long, default_value_t = 100)]
    pub fork_mb: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure logs in an R1 and an R3 stream against a raw async-nats
    /// client on this running NATS server or cluster (appends and replay
    /// only; starts nothing).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

/// One workload's result: component and native throughput and their ratio
/// (component / native; above 1 the component is faster).
#[derive(Debug, serde::Serialize)]
pub struct Row {
    pub workload: &'static str,
    pub unit: &'static str,
    pub component: f64,
    pub native: f64,
    pub ratio: f64,
    pub baseline: &'static str,
}

impl Row {
    pub(crate) fn new(
        workload: &'static str,
        unit: &'static str,
        component: f64,
        native: f64,
        baseline: &'static str,
    ) -> Row {
        Row {
            workload,
            unit,
            component,
            native,
            ratio: component / native,
            baseline,
        }
    }
}

/// An event of about 100 bytes, different for every `i`.
pub(crate) fn event(i: usize) -> String {
    format!(
        "{{\"op\":\"remember\",\"seq\":{i},\"key\":\"k{:06}\",\"value\":\"{:0>40}\",\"ok\":true}}",
        i % 977,
        i * 7919
    )
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

pub(crate) fn mb_per_second(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

/// Runs round `i` of each workload in turn, for every round, and returns
/// each workload's total time.
fn take_turns<const N: usize>(
    rounds: usize,
    mut workloads: [&mut dyn FnMut(usize) -> Result<()>; N],
) -> Result<[Duration; N]> {
    let mut totals = [Duration::ZERO; N];
    for round in 0..rounds {
        for (workload, total) in workloads.iter_mut().zip(&mut totals) {
            let start = Instant::now();
            workload(round)?;
            *total += start.elapsed();
        }
    }
    Ok(totals)
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

pub fn run(args: &BenchArgs) -> Result<Vec<Row>> {
    let runtime = Runtime::shared()?;
    let mut rows = Vec::new();
    let events: Vec<String> = (0..args.appends).map(event).collect();

    // 1. One event per call. The three loops take turns, a chunk of 1000
    // events each, so that a machine busy with something else slows them
    // alike and the ratios stay honest.
    let dir = tempfile::tempdir()?;
    let mut memory = Memory::open_with(runtime, dir.path(), Options::default())?;
    let native_dir = tempfile::tempdir()?;
    let mut native_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(native_dir.path().join("native.jsonl"))?;
    let seed_path = native_dir.path().join("seed.jsonl");
    let mut line = Vec::with_capacity(256);
    let chunks: Vec<&[String]> = events.chunks(1000).collect();
    let [component, native, seed] = take_turns(
        chunks.len(),
        [
            &mut |i| {
                for e in chunks[i] {
                    memory.try_append(e)?;
                }
                Ok(())
            },
            &mut |i| {
                for e in chunks[i] {
                    line.clear();
                    line.extend_from_slice(e.as_bytes());
                    line.push(b'\n');
                    native_file.write_all(&line)?;
                }
                Ok(())
            },
            &mut |i| {
                for e in chunks[i] {
                    let mut file = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&seed_path)?;
                    file.write_all(e.as_bytes())?;
                    file.write_all(b"\n")?;
                }
                Ok(())
            },
        ],
    )?;
    let n = events.len();
    rows.push(Row::new(
        "append, one per call",
        "events/s",
        per_second(n, component),
        per_second(n, native),
        "kept-open O_APPEND file, one write per event",
    ));
    rows.push(Row::new(
        "append vs the seed's pattern",
        "events/s",
        per_second(n, component),
        per_second(n, seed),
        "open-write(line)-write(\\n)-close per event",
    ));

    // 2. Batches of 1000.
    let batches: Vec<Vec<String>> = (0..args.batches)
        .map(|b| (0..1000).map(|i| event(b * 1000 + i)).collect())
        .collect();
    let batch_bytes: u64 = batches.iter().flatten().map(|e| e.len() as u64 + 1).sum();
    // Taking turns batch by batch, as above. The honest baseline is what
    // the component does, natively: each event validated as exactly one
    // JSON value by serde_json, then one write.
    let dir = tempfile::tempdir()?;
    let mut memory = Memory::open_with(runtime, dir.path(), Options::default())?;
    let open = |name: &str| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(native_dir.path().join(name))
    };
    let (mut bare_file, mut validating_file) = (open("batch.jsonl")?, open("batch-valid.jsonl")?);
    let mut buf = Vec::new();
    let mut validated = Vec::new();
    let [component, native, validating] = take_turns(
        batches.len(),
        [
            &mut |i| Ok(memory.append_batch(&batches[i])?),
            &mut |i| {
                buf.clear();
                for e in &batches[i] {
                    buf.extend_from_slice(e.as_bytes());
                    buf.push(b'\n');
                }
                Ok(bare_file.write_all(&buf)?)
            },
            &mut |i| {
                validated.clear();
                for e in &batches[i] {
                    serde_json::from_str::<IgnoredAny>(e)?;
                    validated.extend_from_slice(e.as_bytes());
                    validated.push(b'\n');
                }
                Ok(validating_file.write_all(&validated)?)
            },
        ],
    )?;
    rows.push(Row::new(
        "append-batch, 1000 per call",
        "MB/s",
        mb_per_second(batch_bytes, component),
        mb_per_second(batch_bytes, native),
        "one write per batch",
    ));
    rows.push(Row::new(
        "append-batch vs validating native",
        "MB/s",
        mb_per_second(batch_bytes, component),
        mb_per_second(batch_bytes, validating),
        "serde_json validation of every event, one write per batch",
    ));

    // Durability: PATHWAY_SYNC=always against a native write + fdatasync.
    let synced = &events[..args.synced.min(events.len())];
    let dir = tempfile::tempdir_in(".")?;
    let always = Options {
        sync: Some(SyncMode::Always),
        ..Options::default()
    };
    let mut memory = Memory::open_with(runtime, dir.path(), always)?;
    let (_, component) = timed(|| {
        for e in synced {
            memory.try_append(e)?;
        }
        Ok(())
    })?;
    let path = dir.path().join("native-synced.jsonl");
    let (_, native) = timed(|| {
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        for e in synced {
            file.write_all(format!("{e}\n").as_bytes())?;
            file.sync_data()?;
        }
        Ok(())
    })?;
    let n = synced.len();
    rows.push(Row::new(
        "append, PATHWAY_SYNC=always",
        "events/s",
        per_second(n, component),
        per_second(n, native),
        "write + fdatasync per event (disk of the working dir)",
    ));

    // Compaction of a log into a snapshot of 1% of it, keeping nothing.
    let dir = tempfile::tempdir_in(".")?;
    let log = dir.path().join(pathway_memory::config::DEFAULT_LOG_NAME);
    let (log_bytes, _) = write_replay_log(&log, args.compact_mb << 20)?;
    let snapshot: Vec<String> = (0..(log_bytes as usize / 100 / 100)).map(event).collect();
    let mut memory = Memory::open_with(runtime, dir.path(), Options::default())?;
    let (_, component) = timed(|| {
        let upto = memory.walk_to_end()?;
        Ok(memory.compact(&snapshot, &upto)?)
    })?;
    let (log_bytes_native, _) = write_replay_log(&log, args.compact_mb << 20)?;
    let (_, native) = timed(|| native_compact(&log, &snapshot))?;
    anyhow::ensure!(log_bytes_native == log_bytes);
    rows.push(Row::new(
        "compact (log size)",
        "MB/s",
        mb_per_second(log_bytes, component),
        mb_per_second(log_bytes, native),
        "read the log, write the snapshot, fsync, rename",
    ));

    // 3 and 4. Replay of a log with 1% damaged lines.
    let dir = tempfile::tempdir()?;
    let log = dir.path().join(pathway_memory::config::DEFAULT_LOG_NAME);
    let (log_bytes, lines) = write_replay_log(&log, args.replay_mb << 20)?;
    let options = Options {
        max_transfer_bytes: usize::MAX,
        max_guest_memory: 4 << 30,
        ..Options::default()
    };
    let mut memory = Memory::open_with(runtime, dir.path(), options)?;
    let (entries, component) = timed(|| Ok(memory.replay()?))?;
    let (native_entries, native) = timed(|| native_replay(&log))?;
    anyhow::ensure!(
        entries.len() == lines && native_entries == lines,
        "replay gave {} entries, native {native_entries}, expected {lines}",
        entries.len()
    );
    rows.push(Row::new(
        "replay (whole log)",
        "MB/s",
        mb_per_second(log_bytes, component),
        mb_per_second(log_bytes, native),
        "read the file, validate every line with serde_json",
    ));
    drop(entries);
    let (paged, component) = timed(|| {
        let mut count = 0;
        for entry in memory.entries(None, 1 << 20) {
            let _record_or_damage = entry?;
            count += 1;
        }
        Ok(count)
    })?;
    anyhow::ensure!(
        paged == lines,
        "paged replay gave {paged} entries, expected {lines}"
    );
    rows.push(Row::new(
        "paged replay, 1 MiB pages",
        "MB/s",
        mb_per_second(log_bytes, component),
        mb_per_second(log_bytes, native),
        "read the file, validate every line with serde_json",
    ));
    drop(memory);

    // 5. Stdin streamed into the log against the whole-stdin path.
    if args.import_mb > 0 {
        rows.push(crate::bench_import::run(runtime, args.import_mb)?);
    }
    Ok(rows)
}

/// Writes about `size` bytes of events, every hundredth line damaged.
/// Returns the size and the number of (non-blank) lines.
fn write_replay_log(path: &Path, size: usize) -> Result<(u64, usize)> {
    let mut out = std::io::BufWriter::new(File::create(path)?);
    let (mut written, mut lines) = (0usize, 0usize);
    while written < size {
        let line = if lines % 100 == 99 {
            format!("{{\"damaged\":{lines}")
        } else {
            event(lines)
        };
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += line.len() + 1;
        lines += 1;
    }
    out.flush()?;
    Ok((written as u64, lines))
}

/// The native baseline: read the file, split lines, check UTF-8 and JSON.
fn native_replay(path: &Path) -> Result<usize> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut entries = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let entry = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                serde_json::from_str::<IgnoredAny>(text)
                    .map(|_| text.to_string())
                    .map_err(|e| e.to_string())
            });
        entries.push(entry);
    }
    Ok(entries.len())
}

/// The native baseline of compaction: read the whole log (as a fold would),
/// write the snapshot to a new file, sync it and rename it over the log.
fn native_compact(log: &Path, snapshot: &[String]) -> Result<()> {
    let mut bytes = Vec::new();
    File::open(log)?.read_to_end(&mut bytes)?;
    anyhow::ensure!(!bytes.is_empty());
    let new = log.with_extension("compact");
    let mut out = std::io::BufWriter::new(File::create(&new)?);
    for e in snapshot {
        out.write_all(e.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.into_inner()?.sync_all()?;
    std::fs::rename(&new, log)?;
    Ok(())
}

/// Start-up costs in microseconds.
#[derive(Debug, serde::Serialize)]
pub struct Startup {
    pub compile_us: f64,
    pub load_precompiled_us: f64,
    pub instantiate_us: f64,
    pub wasm_bytes: usize,
}

pub fn startup() -> Result<Startup> {
    // Without the on-disk cache, so this is a real compilation.
    let engine = wasmtime::Engine::default();
    let (component, compile) = timed(|| {
        wt(wasmtime::component::Component::new(
            &engine,
            COMPONENT_BYTES,
        ))
    })?;
    let precompiled = wt(engine.precompile_component(COMPONENT_BYTES))?;
    let cwasm = tempfile::NamedTempFile::new()?;
    std::fs::write(cwasm.path(), &precompiled)?;
    let (_, load) = timed(|| load_precompiled(&engine, cwasm.path()))?;
    drop(component);
    let runtime = Runtime::shared()?;
    let dir = tempfile::tempdir()?;
    let rounds = 200;
    let (_, instantiate) = timed(|| {
        for _ in 0..rounds {
            Memory::open_with(runtime, dir.path(), Options::default())?;
        }
        Ok(())
    })?;
    Ok(Startup {
        compile_us: compile.as_secs_f64() * 1e6,
        load_precompiled_us: load.as_secs_f64() * 1e6,
        instantiate_us: instantiate.as_secs_f64() * 1e6 / f64::from(rounds),
        wasm_bytes: COMPONENT_BYTES.len(),
    })
}

/// Loads a component that `precompile_component` wrote with this engine.
#[allow(unsafe_code)]
fn load_precompiled(
    engine: &wasmtime::Engine,
    path: &Path,
) -> Result<wasmtime::component::Component> {
    // SAFETY: the file was written by `precompile_component` of this very
    // engine a moment ago, in a private temp file; wasmtime also checks
    // that the artifact matches the engine's configuration.
    wt(unsafe { wasmtime::component::Component::deserialize_file(engine, path) })
        .context("loading the precompiled component")
}

/// wasmtime's error as an anyhow error.
fn wt<T>(result: wasmtime::Result<T>) -> Result<T> {
    result.map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// The machine and versions, printed with the results.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}, {cores} cores; pathway {} on wasmtime 48, {} build",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}
