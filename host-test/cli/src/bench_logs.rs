//! `pathway bench`'s named-log workloads, each a ratio measured in the
//! same run, rounds taking turns so that a busy machine slows both sides
//! alike:
//! - open + append + last 10 of one log with 10,000 logs in the grant,
//!   against the same with one log (the goal: at most 1.2 times the cost);
//! - the last 10 records of a 256 MiB log against those of a tiny one (at
//!   most 3 times), and the peak memory of `pathway replay --last 10` on
//!   the big one (at most 64 MiB);
//! - a fork of a 100 MB log against `cp` of its file;
//! - an append with a quota in the 10,000-log grant against one without
//!   (the quota looks at every file of the grant).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pathway_host::{Memory, Options, Runtime};

use crate::bench::event;

/// What the named-log workloads measured.
#[derive(Debug, serde::Serialize)]
pub struct LogsReport {
    pub logs: usize,
    /// Microseconds per open + append + last 10, with `logs` logs and 1.
    pub many_us: f64,
    pub one_us: f64,
    pub last_mb: usize,
    /// Microseconds per `last(10)` of the big log and of a tiny one.
    pub last_big_us: f64,
    pub last_tiny_us: f64,
    /// Peak RSS of `pathway replay --last 10` on the big log.
    pub last_cli_rss_mib: f64,
    pub fork_mb: usize,
    pub fork_ms: f64,
    pub cp_ms: f64,
    /// Microseconds per append with a quota and without, in the big grant.
    pub quota_us: f64,
    pub no_quota_us: f64,
}

/// Fills `dir` with `count` logs of two records each.
fn fill(runtime: &Runtime, dir: &Path, count: usize) -> Result<()> {
    let mut memory = Memory::open_with(runtime, dir, Options::default())?;
    for i in 0..count {
        let name = format!("thread-{i:06}");
        memory
            .log(&name)?
            .append_batch(&[event(2 * i), event(2 * i + 1)])?;
        memory.close_log(&name)?;
    }
    Ok(())
}

/// Per call of `f`, in microseconds, over `rounds` rounds of `per_round`
/// calls, two workloads taking turns.
fn turns(
    rounds: usize,
    per_round: usize,
    mut a: impl FnMut(usize) -> Result<()>,
    mut b: impl FnMut(usize) -> Result<()>,
) -> Result<(f64, f64)> {
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        let start = Instant::now();
        for i in 0..per_round {
            a(round * per_round + i)?;
        }
        ta += start.elapsed();
        let start = Instant::now();
        for i in 0..per_round {
            b(round * per_round + i)?;
        }
        tb += start.elapsed();
    }
    let calls = (rounds * per_round) as f64;
    Ok((
        ta.as_secs_f64() * 1e6 / calls,
        tb.as_secs_f64() * 1e6 / calls,
    ))
}

/// Open a handle, append one event, read the last 10, close it.
fn open_append_last(memory: &mut Memory, name: &str, i: usize) -> Result<()> {
    let mut log = memory.log(name)?;
    log.try_append(&event(i))?;
    anyhow::ensure!(!log.last(10)?.entries.is_empty());
    memory.close_log(name)?;
    Ok(())
}

pub fn run(runtime: &Runtime, logs: usize, last_mb: usize, fork_mb: usize) -> Result<LogsReport> {
    // 1. One log among many, and alone.
    let many = tempfile::tempdir()?;
    fill(runtime, many.path(), logs)?;
    let one = tempfile::tempdir()?;
    fill(runtime, one.path(), 1)?;
    let mut in_many = Memory::open_with(runtime, many.path(), Options::default())?;
    let mut in_one = Memory::open_with(runtime, one.path(), Options::default())?;
    let (many_us, one_us) = turns(
        20,
        200,
        |i| open_append_last(&mut in_many, &format!("thread-{:06}", (i * 7919) % logs), i),
        |i| open_append_last(&mut in_one, "thread-000000", i),
    )?;

    // 4. The quota's cost in the same grant.
    let quota = Options {
        quota: Some(u64::MAX / 2),
        ..Options::default()
    };
    let mut with_quota = Memory::open_with(runtime, many.path(), quota)?;
    let (quota_us, no_quota_us) = turns(
        5,
        20,
        |i| Ok(with_quota.try_append(&event(i))?),
        |i| Ok(in_many.try_append(&event(i))?),
    )?;
    drop((in_many, in_one, with_quota, many, one));

    // 2. The last records of a big log and of a tiny one.
    let big = tempfile::tempdir()?;
    let big_log = big.path().join(pathway_memory::config::DEFAULT_LOG_NAME);
    write_log(&big_log, last_mb << 20)?;
    let tiny = tempfile::tempdir()?;
    write_log(
        &tiny.path().join(pathway_memory::config::DEFAULT_LOG_NAME),
        10_000,
    )?;
    let mut of_big = Memory::open_with(runtime, big.path(), Options::default())?;
    let mut of_tiny = Memory::open_with(runtime, tiny.path(), Options::default())?;
    let (last_big_us, last_tiny_us) = turns(
        20,
        50,
        |_| ten(&of_big.last(10)?),
        |_| ten(&of_tiny.last(10)?),
    )?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["replay", "--last", "10", "--dir"])
        .arg(big.path())
        .stdout(Stdio::null())
        .spawn()
        .context("starting `pathway replay --last 10`")?;
    let (exited, peak) = crate::bench_import::reap(&mut child)?;
    anyhow::ensure!(exited, "`pathway replay --last 10` failed");
    drop((of_big, of_tiny, tiny));

    // 3. A fork against `cp`, of the same file, alternating.
    let source = big.path().join("source.jsonl");
    write_log(&source, fork_mb * 1_000_000)?;
    let mut memory = Memory::open_with(runtime, big.path(), Options::default())?;
    let (mut fork, mut cp) = (Duration::ZERO, Duration::ZERO);
    for round in 0..3 {
        let start = Instant::now();
        memory.fork_log("source", &format!("fork-{round}"), None)?;
        fork += start.elapsed();
        let start = Instant::now();
        let status = Command::new("cp")
            .arg(&source)
            .arg(big.path().join(format!("copy-{round}")))
            .status()
            .context("running cp")?;
        anyhow::ensure!(status.success(), "cp failed");
        cp += start.elapsed();
    }
    Ok(LogsReport {
        logs,
        many_us,
        one_us,
        last_mb,
        last_big_us,
        last_tiny_us,
        last_cli_rss_mib: peak as f64 / f64::from(1 << 20),
        fork_mb,
        fork_ms: fork.as_secs_f64() * 1e3 / 3.0,
        cp_ms: cp.as_secs_f64() * 1e3 / 3.0,
        quota_us,
        no_quota_us,
    })
}

/// Fails unless `last(10)` returned ten entries.
fn ten(recent: &pathway_host::Recent) -> Result<()> {
    anyhow::ensure!(
        recent.entries.len() == 10,
        "last 10 gave {}",
        recent.entries.len()
    );
    Ok(())
}

/// About `size` bytes of events.
fn write_log(path: &Path, size: usize) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut i) = (0, 0);
    while written < size {
        let line = event(i);
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += line.len() + 1;
        i += 1;
    }
    out.flush()?;
    Ok(())
}
