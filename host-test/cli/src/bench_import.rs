//! `pathway bench`'s import workload: `--import-mb` MiB of JSON Lines
//! piped through `append -` as it streams, and through the path it
//! replaced (all of stdin read, then one `append-batch`), taking turns in
//! the same run; then `pathway append -` as a child process, whose peak
//! resident memory the kernel reports while it runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pathway_host::{Batching, Memory, Options, Runtime};

use crate::bench::{Row, event, mb_per_second};

/// Bytes of the block the input repeats.
const BLOCK_BYTES: usize = 4 << 20;
/// Input bytes each path imports in all, split over rounds that take turns.
const TURN_BYTES: usize = 256 << 20;

/// The child process's figures.
#[derive(Debug, serde::Serialize)]
pub struct Child {
    pub mib: usize,
    pub mb_per_s: f64,
    pub peak_rss_mib: f64,
}

/// The input: a block of ~100-byte events, written again and again (the
/// log does not mind repeats) until it makes `bytes`.
struct Input {
    block: Vec<u8>,
    bytes: u64,
}

impl Input {
    fn new(mib: usize) -> Input {
        let mut block = Vec::with_capacity(BLOCK_BYTES + 256);
        let mut i = 0;
        while block.len() < BLOCK_BYTES {
            block.extend_from_slice(event(i).as_bytes());
            block.push(b'\n');
            i += 1;
        }
        let blocks = (mib << 20).div_ceil(block.len()).max(1);
        let bytes = (blocks * block.len()) as u64;
        Input { block, bytes }
    }

    fn write_to(&self, mut out: impl Write) -> std::io::Result<()> {
        let mut left = self.bytes;
        while left > 0 {
            out.write_all(&self.block)?;
            left -= self.block.len() as u64;
        }
        Ok(())
    }
}

/// The path `append -` took before it streamed, kept only to measure
/// against: every line read into memory, then one `append-batch`.
fn whole_input(memory: &mut Memory, input: impl Read) -> Result<usize> {
    let mut events = Vec::new();
    for (n, line) in BufReader::new(input).split(b'\n').enumerate() {
        let line = String::from_utf8(line?)
            .with_context(|| format!("line {} is not valid UTF-8", n + 1))?;
        if !line.trim().is_empty() {
            events.push(line);
        }
    }
    memory.append_batch(&events)?;
    Ok(events.len())
}

/// Runs `import` on the read end of a pipe that a thread fills with the
/// input; the time is the import's, until the last byte is stored.
fn piped(
    input: &Arc<Input>,
    import: impl FnOnce(std::io::PipeReader) -> Result<()>,
) -> Result<Duration> {
    let (reader, writer) = std::io::pipe()?;
    let feeder = {
        let input = input.clone();
        std::thread::spawn(move || input.write_to(writer))
    };
    let start = Instant::now();
    import(reader)?;
    let elapsed = start.elapsed();
    feeder
        .join()
        .map_err(|_| anyhow::anyhow!("the thread feeding the pipe panicked"))??;
    Ok(elapsed)
}

/// Streaming against the whole-input path, in the same process, the same
/// input through the same kind of pipe, taking turns.
pub fn run(runtime: &Runtime, mib: usize) -> Result<Row> {
    let input = Arc::new(Input::new(mib));
    let rounds = (TURN_BYTES / (mib << 20).max(1)).clamp(1, 4);
    // What the whole input needs to go through in one call.
    let whole_options = Options {
        max_guest_memory: 4 << 30,
        max_transfer_bytes: usize::MAX,
        call_timeout: Duration::from_secs(3600),
        ..Options::default()
    };
    let (mut streaming, mut whole) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        for streams in [false, true] {
            let dir = tempfile::tempdir()?;
            let elapsed = if streams {
                piped(&input, |reader| {
                    let mut memory = Memory::open_with(runtime, dir.path(), Options::default())?;
                    memory.append_lines(reader, &Batching::default())?;
                    Ok(())
                })?
            } else {
                piped(&input, |reader| {
                    let mut memory = Memory::open_with(runtime, dir.path(), whole_options.clone())?;
                    whole_input(&mut memory, reader)?;
                    Ok(())
                })?
            };
            let log = dir.path().join(pathway_memory::config::DEFAULT_LOG_NAME);
            anyhow::ensure!(
                std::fs::metadata(&log)?.len() == input.bytes,
                "the import did not store every line"
            );
            *(if streams { &mut streaming } else { &mut whole }) += elapsed;
        }
    }
    let bytes = input.bytes * rounds as u64;
    Ok(Row::new(
        "append - from a pipe (streaming)",
        "MB/s",
        mb_per_second(bytes, streaming),
        mb_per_second(bytes, whole),
        "the same pipe read whole, then one append-batch (the old path)",
    ))
}

/// `pathway append --dir DIR -` with the input on its stdin: its rate and
/// peak resident memory.
pub fn child(mib: usize) -> Result<Child> {
    let input = Arc::new(Input::new(mib));
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("append")
        .arg("--dir")
        .arg(dir.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting `pathway append -`")?;
    let stdin = child.stdin.take().context("the child's stdin")?;
    let feeder = {
        let input = input.clone();
        std::thread::spawn(move || input.write_to(stdin))
    };
    let (exited, peak_rss) = reap(&mut child)?;
    let elapsed = start.elapsed();
    feeder
        .join()
        .map_err(|_| anyhow::anyhow!("the thread feeding the child panicked"))??;
    anyhow::ensure!(exited, "`pathway append -` failed (see its stderr above)");
    Ok(Child {
        mib,
        mb_per_s: mb_per_second(input.bytes, elapsed),
        peak_rss_mib: peak_rss as f64 / f64::from(1 << 20),
    })
}

/// Waits for `child` and returns whether it exited with 0 and its peak
/// resident memory in bytes: `VmHWM` of `/proc/<pid>/status`, read every
/// few milliseconds while it runs. (`wait4`'s `ru_maxrss` would not do: a
/// spawned child's counts this process's own peak, from before its exec.)
pub(crate) fn reap(child: &mut std::process::Child) -> Result<(bool, u64)> {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status.success(), peak));
        }
        let kib = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak = peak.max(kib.unwrap_or(0) * 1024);
        std::thread::sleep(Duration::from_millis(2));
    }
}
