//! `pathway`: append to and replay a pathway-memory log from the shell.
//! Exit codes: 0 success, 1 refused event or damaged entries, 2 usage or I/O.
// Denied, not forbidden: the bench loads a precompiled component, which
// wasmtime marks unsafe; that one function says why it is sound.
#![deny(unsafe_code)]

mod artifacts;
mod bench;
mod bench_hosts;
mod bench_import;
mod bench_logs;
mod bench_nats;

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use pathway_host::{
    Batching, CheckReport, Checksum, Entry, Error, LinesError, LinesFailure, Memory, NatsTarget,
    Options, Plugin, Runtime, SyncMode, TrapKind, json,
};

/// `println!` that returns an error instead of panicking when stdout is
/// gone (`pathway check | head`); `main` then exits quietly.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// Bytes of log per page when streaming a replay.
const PAGE_BYTES: u32 = 1 << 20;

#[derive(Parser)]
#[command(
    name = "pathway",
    version,
    about = "An append-only JSON Lines event log in a WebAssembly sandbox"
)]
struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Append events (one JSON value each) to the log: one refused event
    /// stores none (a full device keeps whole records that reached it).
    /// Stdin (`-`) is stored as its lines arrive, in batches: a refused
    /// line refuses its batch and stops there; the batches before it stay.
    Append {
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        batching: BatchArgs,
        /// One append call per event instead of one batch: events before a
        /// refused one stay stored (the error says how many).
        #[arg(long)]
        each: bool,
        /// With --each: print each event's index (from 0) on its own line
        /// as soon as it is stored, for tests that kill the process.
        #[arg(long, requires = "each")]
        ack: bool,
        /// Print the outcome as JSON: {"ok": null} or {"err": <error>}.
        #[arg(long)]
        json: bool,
        /// Events to append; `-` alone reads one event per line from stdin,
        /// stored as the lines arrive (blank lines are skipped); the events
        /// before it are one batch stored first, those after it one batch
        /// stored last. Events that start with `-` (`-1`, `-0.5`) are
        /// events; put options before them.
        #[arg(required = true, value_name = "EVENT")]
        events: Vec<OsString>,
    },
    /// Print every record, streaming page by page; damaged lines are
    /// reported on stderr.
    Replay {
        #[command(flatten)]
        log: LogArgs,
        /// One JSON object per entry: {"ok": "<line>"} or {"err": <damaged
        /// line>} (docs/cli.md: JSON output).
        #[arg(long)]
        json: bool,
        /// Keep printing records as they are appended (Ctrl-C to stop).
        #[arg(long)]
        follow: bool,
        /// With --follow: how often to look for new records.
        #[arg(long, value_name = "MS", default_value_t = 200)]
        poll_ms: u64,
        /// Start after this cursor instead of at the beginning.
        #[arg(long, value_name = "CURSOR", conflicts_with = "last")]
        after: Option<String>,
        /// Only the last N records (damaged lines count), read backwards
        /// from the end: as fast for a huge log as for a small one. With
        /// --follow, then what is appended later.
        #[arg(long, value_name = "N")]
        last: Option<u32>,
    },
    /// List the logs of the grant in name order, with their sizes: one
    /// per line (`NAME  BYTES`), or one JSON object per line.
    Logs {
        #[command(flatten)]
        log: LogArgs,
        /// One {"name", "bytes"} object per line.
        #[arg(long)]
        json: bool,
    },
    /// Delete the log --log NAME and its side files, crash-safely: after
    /// a crash it is whole or gone. Instances appending to it meanwhile
    /// get `deleted` and store nothing.
    Delete {
        #[command(flatten)]
        log: LogArgs,
        /// Print the outcome as JSON: {"ok": <bytes>} or {"err": <error>}.
        #[arg(long)]
        json: bool,
    },
    /// Make the new log --to NEW a copy of --log NAME up to a cursor
    /// (default: its end). The new log appears whole or not at all and
    /// never replaces one; the two then go separate ways.
    Fork {
        #[command(flatten)]
        log: LogArgs,
        /// The new log's name.
        #[arg(long, value_name = "NEW")]
        to: String,
        /// Copy up to this cursor of the log (from `pathway page`).
        #[arg(long, value_name = "CURSOR")]
        at: Option<String>,
        /// Print the outcome as JSON: {"ok": <bytes>} or {"err": <error>}.
        #[arg(long)]
        json: bool,
    },
    /// Print one page of entries from a cursor as JSON: {"entries",
    /// "tail", "next", "at_end"}; pass "next" to --after for the next page.
    Page {
        #[command(flatten)]
        log: LogArgs,
        /// Start after this cursor instead of at the beginning.
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// About how many bytes of the log to read.
        #[arg(long, value_name = "BYTES", default_value_t = PAGE_BYTES)]
        max_bytes: u32,
    },
    /// Replace the log with a snapshot (JSONL), keeping records appended
    /// after the point it was taken.
    Compact {
        #[command(flatten)]
        log: LogArgs,
        /// Print the report or the error as JSON ({"ok": ...} or {"err": ...}).
        #[arg(long)]
        json: bool,
        /// The snapshot: one event per line (blank lines skipped).
        #[arg(long, value_name = "FILE", required_unless_present = "snapshot_json")]
        snapshot: Option<PathBuf>,
        /// The snapshot as a JSON array of event texts, for events whose
        /// text spans lines (pretty-printed JSON).
        #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
        snapshot_json: Option<PathBuf>,
        /// The cursor the snapshot covers up to; default: the log's end now.
        #[arg(long, value_name = "CURSOR")]
        upto: Option<String>,
    },
    /// Report records, damaged lines, a torn tail, leftover files, and whether
    /// the bytes the last compaction or repair wrote are unchanged (exit 1
    /// if damaged or changed).
    Check {
        #[command(flatten)]
        log: LogArgs,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite the log without its damaged lines (kept in <log>.quarantine).
    Repair {
        #[command(flatten)]
        log: LogArgs,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Append, simulate a crash mid-write, append again and replay, in a
    /// temporary directory.
    Demo,
    /// Measure the component against native Rust loops doing the same I/O.
    Bench(bench::BenchArgs),
    /// The same workload through the Rust, Node and Python hosts, side by
    /// side (needs this source tree's host-test/hosts, node and python3).
    BenchHosts(bench_hosts::BenchHostsArgs),
    /// Write the component (.wasm) this binary embeds, for other hosts, or
    /// print its metadata. Its stream build (world `pathway-stream`) goes
    /// beside it, as `<FILE stem>_stream.wasm`, where the Node and Python
    /// hosts look for it.
    Wasm {
        /// Where to write it; `-` writes the directory build to stdout.
        #[arg(long, value_name = "FILE", required_unless_present = "metadata")]
        out: Option<PathBuf>,
        /// Print the component's metadata (name, version, description,
        /// license, source, revision) instead.
        #[arg(long, conflicts_with = "out")]
        metadata: bool,
    },
    /// Print the WIT package (the interface of the component), or write it
    /// in binary form (`--wasm`), as `wasm-tools component wit --wasm` does.
    Wit {
        /// Write the binary WIT package (`pathway-memory-0.3.0.wit.wasm`).
        #[arg(long, requires = "out")]
        wasm: bool,
        /// Where to write the binary WIT package; `-` writes to stdout.
        #[arg(long, value_name = "FILE", requires = "wasm")]
        out: Option<PathBuf>,
    },
    /// Run an agent plugin: a command component (wasm32-wasip2) whose
    /// `pathway:memory/log` imports this log serves. It gets stdio and ARGS,
    /// no directory; exits with the plugin's exit status.
    RunPlugin {
        #[command(flatten)]
        log: LogArgs,
        /// The plugin component.
        #[arg(value_name = "PLUGIN.wasm")]
        plugin: PathBuf,
        /// Arguments for the plugin (after `--` if they start with `-`).
        #[arg(value_name = "ARGS")]
        args: Vec<String>,
    },
}

/// How `append -` batches stdin's lines (`pathway_host::Batching`).
#[derive(Args)]
struct BatchArgs {
    /// With `-`: most events of stdin in one batch.
    #[arg(long, value_name = "N", default_value_t = pathway_host::MAX_BATCH_EVENTS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    batch_events: u64,
    /// With `-`: most bytes of events in one batch (a larger event is a
    /// batch of its own).
    #[arg(long, value_name = "BYTES", default_value_t = pathway_host::MAX_BATCH_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    batch_bytes: u64,
    /// With `-`: store a batch once no line has come for this long.
    #[arg(long, value_name = "MS", default_value_t = pathway_host::BATCH_IDLE.as_millis() as u64)]
    batch_idle_ms: u64,
    /// With `-`: store a batch once its first line has waited this long.
    #[arg(long, value_name = "MS",
          default_value_t = pathway_host::BATCH_MAX_WAIT.as_millis() as u64)]
    batch_wait_ms: u64,
}

impl BatchArgs {
    fn batching(&self) -> Batching {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Batching {
            max_events: size(self.batch_events),
            max_bytes: size(self.batch_bytes),
            idle: std::time::Duration::from_millis(self.batch_idle_ms),
            max_wait: std::time::Duration::from_millis(self.batch_wait_ms),
        }
    }
}

#[derive(Args)]
struct LogArgs {
    /// The directory granted to the component (must exist).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "nats",
        conflicts_with = "nats"
    )]
    dir: Option<PathBuf>,
    /// Serve the log from a NATS JetStream stream instead of a directory:
    /// the server's URL (several, comma-separated, for a cluster).
    #[arg(long, value_name = "URL", requires = "stream")]
    nats: Option<String>,
    /// The JetStream stream that holds the log (with --nats).
    #[arg(long, value_name = "NAME", requires = "nats")]
    stream: Option<String>,
    /// Create the stream with this many replicas when it does not exist
    /// (with --nats; 1, or 3 on a cluster of three or more).
    #[arg(long, value_name = "N", requires = "nats",
          value_parser = clap::value_parser!(u8).range(1..=5))]
    replicas: Option<u8>,
    /// The log of the grant to use, by name: the file NAME.jsonl in DIR
    /// (default: the log `pathway`, in pathway.jsonl). One history per
    /// thread, agent or conversation; `pathway logs` lists them.
    #[arg(long, value_name = "NAME", conflicts_with = "log_file")]
    log: Option<String>,
    /// A file name for the log inside DIR that is not NAME.jsonl
    /// (PATHWAY_LOG).
    #[arg(long, value_name = "FILE")]
    log_file: Option<String>,
    /// The most bytes all logs of DIR (or of the stream) may hold
    /// together: appends and forks past it are refused (quota-exceeded).
    #[arg(long, value_name = "BYTES")]
    quota: Option<u64>,
    /// When appends are synced: never, always or interval:<ms>.
    #[arg(long, value_name = "MODE")]
    sync: Option<SyncMode>,
    /// Largest line stored or read, in bytes (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    max_line: Option<u64>,
    /// How deep an appended event may nest arrays and objects (default 127).
    #[arg(long, value_name = "LEVELS")]
    max_depth: Option<u32>,
    /// Most memory the component may use, in MiB; past it a call fails
    /// with an error instead of the host running out of memory.
    #[arg(long, value_name = "MIB", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_memory_mib: u32,
    /// Longest one call into the component may run, in seconds; past it
    /// the call stops with an error instead of hanging.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout_secs: u64,
}

impl LogArgs {
    fn open(&self) -> Result<Memory, Error> {
        let nats = self.nats.as_ref().map(|url| NatsTarget {
            url: url.clone(),
            stream: self.stream.clone().unwrap_or_default(),
            create_replicas: self.replicas.map(usize::from),
        });
        let options = Options {
            nats,
            log_name: self.log_file.clone(),
            log: self.log.clone(),
            quota: self.quota,
            sync: self.sync,
            max_line: self.max_line,
            max_depth: self.max_depth,
            max_guest_memory: (self.max_memory_mib as usize) << 20,
            call_timeout: std::time::Duration::from_secs(self.timeout_secs),
            ..Options::default()
        };
        Memory::open(self.dir.as_deref().unwrap_or(Path::new(".")), options)
    }
}

/// A failure and its exit code.
struct Failure(u8, anyhow::Error);

impl From<Error> for Failure {
    /// A refused event exits 1, anything else 2; the text is the
    /// library's (the component's, for its own errors), with the flag that
    /// sets a limit the call ran into.
    fn from(e: Error) -> Failure {
        let code = if e.is_refusal() { 1 } else { 2 };
        match limit_flag(&e) {
            Some(flag) => Failure(code, anyhow::anyhow!("{e} (the limit is set with {flag})")),
            None => Failure(code, e.into()),
        }
    }
}

/// The flag that sets the limit a call ran into, if it ran into one.
fn limit_flag(e: &Error) -> Option<&'static str> {
    match e {
        Error::Trap {
            kind: TrapKind::MemoryCap,
            ..
        } => Some("--max-memory-mib"),
        Error::Trap {
            kind: TrapKind::Deadline,
            ..
        } => Some("--timeout-secs"),
        _ => None,
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure(2, e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure(2, e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(mark_negative_numbers(std::env::args_os()));
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Append {
            log,
            batching,
            events,
            each,
            ack,
            json,
        } => append(&log, events, each, ack, json, &batching.batching()),
        Command::Replay {
            log,
            json,
            follow,
            poll_ms,
            after,
            last,
        } => replay(
            &log,
            json,
            follow.then(|| std::time::Duration::from_millis(poll_ms)),
            after,
            last,
        ),
        Command::Logs { log, json } => list_logs(&log, json),
        Command::Delete { log, json } => delete_log(&log, json),
        Command::Fork { log, to, at, json } => fork_log(&log, &to, at.as_deref(), json),
        Command::Page {
            log,
            after,
            max_bytes,
        } => page(&log, after, max_bytes),
        Command::Compact {
            log,
            snapshot,
            snapshot_json,
            upto,
            json,
        } => compact(&log, snapshot, snapshot_json, upto, json),
        Command::Check { log, json } => check(&log, json),
        Command::Repair { log, json } => repair(&log, json),
        Command::Demo => demo(),
        Command::Bench(args) => run_bench(&args),
        Command::BenchHosts(args) => run_bench_hosts(&args),
        Command::Wasm { metadata: true, .. } => artifacts::print_metadata(),
        Command::Wasm { out, .. } => {
            artifacts::write_components(out.as_deref().expect("clap requires --out"))
        }
        Command::Wit { out: Some(out), .. } => {
            artifacts::write(&out, pathway_host::WIT_PACKAGE_BYTES)
        }
        Command::Wit { .. } => std::io::stdout()
            .write_all(pathway_host::WIT.as_bytes())
            .map(|()| 0)
            .map_err(Failure::from),
        Command::RunPlugin { log, plugin, args } => run_plugin(&log, &plugin, args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(_, error)) if is_broken_pipe(&error) => {
            // The reader went away (`pathway replay | head`): not an error.
            ExitCode::SUCCESS
        }
        Err(Failure(code, error)) => {
            eprintln!("pathway: error: {error:#}");
            ExitCode::from(code)
        }
    }
}

/// Put before a negative number given to `pathway append` (`-1`, `-0.5`,
/// `-1e-3`), which clap would take for a flag, and taken off again: such an
/// event is stored as it is. No argument of a shell can hold the byte.
const NEGATIVE_NUMBER: &str = "\u{0}";

/// The arguments, each negative number among the events of `append` marked.
fn mark_negative_numbers(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.collect();
    let appending = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    if appending.is_some_and(|a| a == "append") {
        for arg in &mut args {
            let is_number = arg.to_str().is_some_and(|text| {
                text.starts_with('-') && serde_json::from_str::<serde_json::Number>(text).is_ok()
            });
            if is_number {
                let mut marked = OsString::from(NEGATIVE_NUMBER);
                marked.push(&*arg);
                *arg = marked;
            }
        }
    }
    args
}

fn unmark(event: String) -> String {
    match event.strip_prefix(NEGATIVE_NUMBER) {
        Some(number) => number.to_string(),
        None => event,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run_plugin(log: &LogArgs, plugin: &std::path::Path, args: Vec<String>) -> Result<u8, Failure> {
    let memory = log.open()?;
    let wasm = std::fs::read(plugin)
        .with_context(|| format!("cannot read the plugin {}", plugin.display()))?;
    let plugin_name = plugin.file_name().unwrap_or_default().to_string_lossy();
    let argv: Vec<String> = std::iter::once(plugin_name.into_owned())
        .chain(args)
        .collect();
    let status = Plugin::new(Runtime::shared()?, &wasm)?.run(memory, &argv)?;
    // WASI exit statuses are 0-255 in practice; anything else is a failure.
    Ok(u8::try_from(status).unwrap_or(1))
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // wasmtime's code cache warns when two processes store the same
    // module at once; the loser just keeps its own copy.
    let filter = format!("{level},wasmtime_cache=error");
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(filter))
        .format(|out, record| {
            writeln!(
                out,
                "pathway: {}: {}",
                record.level().as_str().to_lowercase(),
                record.args()
            )
        })
        .init();
}

/// The events of `append`: runs of command-line events, and stdin (`-`).
enum Part {
    Events(Vec<String>),
    Stdin,
}

fn parts(args: Vec<OsString>) -> Result<Vec<Part>, Failure> {
    let mut parts = vec![Part::Events(Vec::new())];
    for (i, arg) in args.into_iter().enumerate() {
        let Ok(arg) = arg.into_string() else {
            return Err(Failure(
                2,
                anyhow::anyhow!(
                    "argument {} is not valid UTF-8; events must be UTF-8 JSON",
                    i + 1
                ),
            ));
        };
        match (arg == "-", parts.last_mut()) {
            (true, _) => parts.extend([Part::Stdin, Part::Events(Vec::new())]),
            (false, Some(Part::Events(events))) => events.push(unmark(arg)),
            (false, _) => parts.push(Part::Events(vec![unmark(arg)])),
        }
    }
    parts.retain(|p| !matches!(p, Part::Events(events) if events.is_empty()));
    Ok(parts)
}

fn append(
    log: &LogArgs,
    args: Vec<OsString>,
    each: bool,
    ack: bool,
    json: bool,
    batching: &Batching,
) -> Result<u8, Failure> {
    let parts = parts(args)?;
    let mut memory = match open_or_outcome(log, json)? {
        Ok(memory) => memory,
        Err(code) => return Ok(code),
    };
    if each {
        return append_each(&mut memory, parts, ack, json);
    }
    let mut after_stdin = false;
    for part in parts {
        let events = match part {
            Part::Stdin => {
                match memory.append_lines(std::io::stdin(), batching) {
                    Ok(report) => log::info!(
                        "{}: appended {} events from {} lines of stdin",
                        memory.location(),
                        report.stored,
                        report.lines
                    ),
                    Err(e) => return stdin_stopped(e, json),
                }
                after_stdin = true;
                continue;
            }
            Part::Events(events) => events,
        };
        let result = memory.append_batch(&events);
        if json && result.is_err() {
            return print_outcome(result, |()| serde_json::Value::Null);
        }
        match result {
            Ok(()) => log::info!("{}: appended {} events", memory.location(), events.len()),
            Err(e) if after_stdin => {
                let Failure(code, error) = Failure::from(e);
                return Err(Failure(
                    code,
                    anyhow::anyhow!(
                        "{error}; they were the events after `-`: stdin's events and those \
                         before `-` are stored"
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if json {
        outln!("{}", serde_json::json!({ "ok": null }));
    }
    Ok(0)
}

/// An import of stdin that stopped: exit 1 for a refused line, 2 for a
/// line that is not UTF-8 (as before streaming) or anything else. With
/// `--json`, a refusal or an error of the component is printed as
/// `{"err": ...}`.
fn stdin_stopped(e: LinesError, json: bool) -> Result<u8, Failure> {
    let (code, flag) = match &e.failure {
        LinesFailure::Log(error) if error.is_refusal() => (1, None),
        LinesFailure::Log(error) => (2, limit_flag(error)),
        _ => (2, None),
    };
    if json && let Some(value) = json::lines_error(&e) {
        outln!("{}", serde_json::json!({ "err": value }));
        return Ok(code);
    }
    let limit = flag.map_or(String::new(), |f| format!(" (the limit is set with {f})"));
    Err(Failure(code, anyhow::anyhow!("stdin: {e}{limit}")))
}

/// With `--json`: the outcome on stdout, `{"ok": ...}` or `{"err": ...}`,
/// and the exit code of the error; a failure that is not the component's
/// is an error as without `--json`.
fn print_outcome<T>(
    result: Result<T, Error>,
    ok: impl FnOnce(&T) -> serde_json::Value,
) -> Result<u8, Failure> {
    let code = match &result {
        Ok(_) => 0,
        Err(e) if e.is_refusal() => 1,
        Err(_) => 2,
    };
    let outcome = json::outcome(result, ok)?;
    outln!("{outcome}");
    Ok(code)
}

/// Where an event of `append --each` came from.
enum Origin {
    /// The command line.
    Argument,
    /// Stdin, at this line (1-based).
    Stdin(usize),
}

/// Why stdin gave no event.
enum StdinProblem {
    Read(std::io::Error),
    NotUtf8 { line: usize, byte: usize },
}

/// A part's events one by one, stdin's as their lines arrive (blank lines
/// skipped).
fn events_of(part: Part) -> Box<dyn Iterator<Item = Result<(String, Origin), StdinProblem>>> {
    match part {
        Part::Events(events) => Box::new(events.into_iter().map(|e| Ok((e, Origin::Argument)))),
        Part::Stdin => Box::new(std::io::stdin().lock().split(b'\n').enumerate().filter_map(
            |(n, line)| {
                let line = match line {
                    Ok(line) => line,
                    Err(e) => return Some(Err(StdinProblem::Read(e))),
                };
                match String::from_utf8(line) {
                    Ok(line) if line.trim().is_empty() => None,
                    Ok(line) => Some(Ok((line, Origin::Stdin(n + 1)))),
                    Err(e) => Some(Err(StdinProblem::NotUtf8 {
                        line: n + 1,
                        byte: e.utf8_error().valid_up_to(),
                    })),
                }
            },
        )),
    }
}

/// `append --each`: one call per event, stdin's as its lines arrive; a
/// refusal stops there, and what came before it stays stored. With `ack`,
/// each stored event's index (from 0) is printed, and flushed, at once.
fn append_each(
    memory: &mut Memory,
    parts: Vec<Part>,
    ack: bool,
    json: bool,
) -> Result<u8, Failure> {
    let mut stored = 0u64;
    let mut arguments = 0u64;
    for item in parts.into_iter().flat_map(events_of) {
        let (event, origin) = match item {
            Ok(event) => event,
            Err(StdinProblem::Read(e)) => {
                return Err(Failure(
                    2,
                    anyhow::Error::new(e).context("reading events from stdin"),
                ));
            }
            Err(StdinProblem::NotUtf8 { line, byte }) => {
                return Err(Failure(
                    2,
                    anyhow::anyhow!(
                        "stdin line {line} is not valid UTF-8 (first bad byte at byte {byte}); \
                         the {stored} events before it are stored, it and the rest are not; fix \
                         line {line} and resume from it"
                    ),
                ));
            }
        };
        let argument = arguments;
        if let Origin::Argument = origin {
            arguments += 1;
        }
        match memory.try_append(&event) {
            Ok(()) => {
                if ack {
                    outln!("{stored}");
                    std::io::stdout().flush()?;
                }
                stored += 1;
            }
            Err(e) if json => return print_outcome(Err::<(), _>(e), |()| serde_json::Value::Null),
            Err(e) => {
                // The component's words, and where the loop stopped.
                let what = match origin {
                    Origin::Argument => format!("event {argument} of the command line"),
                    Origin::Stdin(line) => format!("stdin line {line}"),
                };
                let Failure(code, error) = Failure::from(e);
                return Err(Failure(
                    code,
                    anyhow::anyhow!(
                        "{error}; it was {what}: the {stored} events before it are stored, it \
                         and the rest are not"
                    ),
                ));
            }
        }
    }
    if json {
        outln!("{}", serde_json::json!({ "ok": null }));
    }
    log::info!("{}: appended {stored} events one by one", memory.location());
    Ok(0)
}

fn replay(
    log: &LogArgs,
    json: bool,
    follow: Option<std::time::Duration>,
    after: Option<String>,
    last: Option<u32>,
) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut kept, mut damaged) = (0u64, 0u64);
    let mut cursor = after;
    let mut emit = |out: &mut std::io::BufWriter<_>, entry: &Entry| {
        match entry {
            Ok(_) => kept += 1,
            Err(_) => damaged += 1,
        }
        print_entries(out, std::slice::from_ref(entry), json).context("writing to stdout")
    };
    if let Some(count) = last {
        let mut recent = memory.last(count)?;
        if follow.is_none() {
            for entry in &recent.entries {
                if let Err(line) = entry {
                    log::warn!("{}: {}", memory.location(), line.message);
                }
                emit(&mut out, entry)?;
            }
            out.flush().context("writing to stdout")?;
            return Ok(if damaged == 0 { 0 } else { 1 });
        }
        // Following: an unterminated last line is shown once a writer
        // ends it, as the follow below does, not twice.
        let after_end = memory.replay_page(Some(&recent.next), 1)?;
        if after_end.tail.is_some() {
            recent.entries.pop();
        }
        for entry in &recent.entries {
            if let Err(line) = entry {
                log::warn!("{}: {}", memory.location(), line.message);
            }
            emit(&mut out, entry)?;
        }
        cursor = Some(recent.next);
    }
    loop {
        let page = memory.replay_page(cursor.as_deref(), PAGE_BYTES)?;
        for entry in &page.entries {
            emit(&mut out, entry)?;
        }
        cursor = Some(page.next);
        if !page.at_end {
            continue;
        }
        out.flush().context("writing to stdout")?;
        let Some(poll) = follow else {
            // The last line has no `\n` yet: shown as it stands.
            if let Some(tail) = &page.tail {
                if let Err(line) = tail {
                    log::warn!("{}: {}", memory.location(), line.message);
                }
                emit(&mut out, tail)?;
                out.flush().context("writing to stdout")?;
            }
            break;
        };
        // While following, an unterminated last line waits until a writer
        // ends it, so nothing is shown twice.
        std::thread::sleep(poll);
    }
    log::info!(
        "{}: replay kept {kept} records and skipped {damaged} damaged lines",
        memory.location()
    );
    Ok(if damaged == 0 { 0 } else { 1 })
}

/// The log --log names: the commands that change the grant's logs want
/// it said, not the default taken.
fn named_log(log: &LogArgs, command: &str) -> Result<String, Failure> {
    log.log.clone().ok_or_else(|| {
        Failure(
            2,
            anyhow::anyhow!("`pathway {command}` needs the log's name: --log NAME"),
        )
    })
}

/// Opens the log; with `json`, the component's refusal to open it (a bad
/// name) is printed as the outcome, and its exit code returned as `Err`.
fn open_or_outcome(log: &LogArgs, json: bool) -> Result<Result<Memory, u8>, Failure> {
    match log.open() {
        Err(e @ Error::Log(_)) if json => Ok(Err(print_outcome(Err::<(), _>(e), |()| {
            serde_json::Value::Null
        })?)),
        opened => Ok(Ok(opened?)),
    }
}

fn delete_log(log: &LogArgs, json: bool) -> Result<u8, Failure> {
    let name = named_log(log, "delete")?;
    let mut memory = match open_or_outcome(log, json)? {
        Ok(memory) => memory,
        Err(code) => return Ok(code),
    };
    let deleted = memory.delete_log(&name);
    if json {
        return print_outcome(deleted, |bytes| serde_json::json!(bytes));
    }
    let bytes = deleted?;
    eprintln!("pathway: deleted the log {name:?} ({bytes} bytes)");
    Ok(0)
}

fn fork_log(log: &LogArgs, to: &str, at: Option<&str>, json: bool) -> Result<u8, Failure> {
    let name = named_log(log, "fork")?;
    let mut memory = match open_or_outcome(log, json)? {
        Ok(memory) => memory,
        Err(code) => return Ok(code),
    };
    let forked = memory.fork_log(&name, to, at);
    if json {
        return print_outcome(forked, |bytes| serde_json::json!(bytes));
    }
    let bytes = forked?;
    eprintln!("pathway: forked the log {name:?} into {to:?} ({bytes} bytes)");
    Ok(0)
}

/// Every log of the grant, a page at a time.
fn list_logs(log: &LogArgs, json: bool) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after: Option<String> = None;
    loop {
        let page = memory.logs_page(after.as_deref(), 1_000)?;
        for info in &page.logs {
            if json {
                writeln!(out, "{}", json::log_info(info))
            } else {
                writeln!(out, "{}  {}", info.name, info.bytes)
            }
            .context("writing to stdout")?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(0)
}

/// Records go to `out`; damaged lines were already logged as warnings (on
/// stderr), and with `json` they are also entries on `out`.
fn print_entries(out: &mut impl Write, entries: &[Entry], json: bool) -> std::io::Result<()> {
    for entry in entries {
        match (entry, json) {
            (Ok(line), false) => writeln!(out, "{line}")?,
            (Err(_), false) => {}
            (_, true) => writeln!(out, "{}", json::entry(entry))?,
        }
    }
    Ok(())
}

/// `pathway page`: one page as JSON.
fn page(log: &LogArgs, after: Option<String>, max_bytes: u32) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let page = memory.replay_page(after.as_deref(), max_bytes)?;
    outln!("{}", json::page(&page));
    Ok(0)
}

/// The snapshot's events: the lines of a JSON Lines file, or the strings
/// of a JSON array.
fn snapshot_events(lines: Option<PathBuf>, array: Option<PathBuf>) -> anyhow::Result<Vec<String>> {
    let path = lines
        .as_ref()
        .or(array.as_ref())
        .context("no snapshot given")?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the snapshot {}", path.display()))?;
    if array.is_some() {
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "the snapshot {} is not a JSON array of strings; give each event's text as a \
                 JSON string",
                path.display()
            )
        });
    }
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

fn compact(
    log: &LogArgs,
    snapshot: Option<PathBuf>,
    snapshot_json: Option<PathBuf>,
    upto: Option<String>,
    json: bool,
) -> Result<u8, Failure> {
    let events = snapshot_events(snapshot, snapshot_json)?;
    let mut memory = log.open()?;
    let upto = match upto {
        Some(cursor) => cursor,
        None => memory.walk_to_end()?,
    };
    let result = memory.compact(&events, &upto);
    if json {
        return print_outcome(result, json::compact_report);
    }
    let report = result?;
    outln!(
        "compacted {}: {} bytes -> {} bytes ({} snapshot records, {} bytes kept after the snapshot point)",
        memory.location(),
        report.bytes_before,
        report.bytes_after,
        report.snapshot_records,
        report.kept_bytes
    );
    Ok(0)
}

fn check(log: &LogArgs, json: bool) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let report = memory.check()?;
    if json {
        outln!("{}", json::check_report(&report));
    } else {
        print_check(&memory.location(), &report)?;
    }
    let changed = matches!(report.checksum, Checksum::Mismatch(_));
    Ok(if report.damaged.is_empty() && !changed {
        0
    } else {
        1
    })
}

fn print_check(path: &dyn std::fmt::Display, report: &CheckReport) -> std::io::Result<()> {
    outln!("log:       {} ({} bytes)", path, report.bytes);
    outln!("records:   {}", report.records);
    outln!("damaged:   {}", report.damaged.len());
    for line in &report.damaged {
        let torn = if line.torn { " (torn write)" } else { "" };
        outln!(
            "  line {} at byte offset {}, {} bytes{torn}: {}",
            line.line,
            line.offset,
            line.length,
            line.reason
        );
    }
    outln!("torn tail: {}", if report.torn_tail { "yes" } else { "no" });
    let leftovers = if report.leftovers.is_empty() {
        "none".to_string()
    } else {
        report.leftovers.join(", ")
    };
    outln!("leftovers: {leftovers}");
    outln!("too deep:  {}", report.too_deep.len());
    for deep in &report.too_deep {
        outln!(
            "  line {} at byte offset {}: an array or object opens too deep at byte {} of the \
             line (readers with a lower nesting limit cannot read it)",
            deep.line,
            deep.offset,
            deep.at
        );
    }
    let checksum = match &report.checksum {
        Checksum::None => "none (never compacted or repaired)".to_string(),
        Checksum::Stale => "stale".to_string(),
        Checksum::Unreadable => "unreadable".to_string(),
        Checksum::Verified(bytes) => format!("verified (the first {bytes} bytes)"),
        Checksum::Mismatch(m) => format!("MISMATCH in the first {} bytes", m.bytes),
    };
    outln!("checksum:  {checksum}");
    if !report.checksum_message.is_empty() {
        outln!("  {}", report.checksum_message);
    }
    let changed = matches!(report.checksum, Checksum::Mismatch(_));
    let verdict = match (report.damaged.is_empty(), changed) {
        (true, false) => "clean",
        (false, false) => "damaged: `pathway repair` moves the damaged lines to a quarantine file",
        (_, true) => "changed since the last compaction or repair: see the checksum above",
    };
    outln!("verdict:   {verdict}");
    Ok(())
}

fn repair(log: &LogArgs, json: bool) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let report = match memory.repair() {
        // The component's error as `{"err": ...}`, as `compact --json`
        // writes it (exit 2); the report itself stays bare.
        Err(e @ Error::Log(_)) if json => {
            return print_outcome(Err::<(), _>(e), |()| serde_json::Value::Null);
        }
        result => result?,
    };
    if json {
        outln!("{}", json::repair_report(&report));
    } else if report.removed.is_empty() {
        outln!("{} is clean; nothing to repair", memory.location());
    } else {
        outln!(
            "repaired {}: removed {} damaged lines ({} bytes -> {} bytes); their bytes are in {}",
            memory.location(),
            report.removed.len(),
            report.bytes_before,
            report.bytes_after,
            report.quarantine
        );
        for line in &report.removed {
            outln!(
                "  line {} at byte offset {}, {} bytes: {}",
                line.line,
                line.offset,
                line.length,
                line.reason
            );
        }
    }
    Ok(0)
}

fn run_bench(args: &bench::BenchArgs) -> Result<u8, Failure> {
    // The replay workload's damaged lines are on purpose: no warnings.
    log::set_max_level(log::LevelFilter::Error);
    let machine = bench::machine();
    if let Some(url) = &args.nats {
        return run_bench_nats(url, args, &machine);
    }
    let startup = bench::startup()?;
    let rows = bench::run(args)?;
    let import = match args.import_mb {
        0 => None,
        mib => Some(bench_import::child(mib)?),
    };
    let logs = match args.logs {
        0 => None,
        n => Some(bench_logs::run(
            pathway_host::Runtime::shared()?,
            n,
            args.last_mb,
            args.fork_mb,
        )?),
    };
    if args.json {
        let report = serde_json::json!({
            "machine": machine,
            "startup": startup,
            "workloads": rows,
            "import_child": import,
            "named_logs": logs,
        });
        outln!("{report}");
        return Ok(0);
    }
    outln!("machine: {machine}");
    outln!(
        "{:<30} {:>9} {:>14} {:>14} {:>7}  native baseline",
        "workload",
        "unit",
        "component",
        "native",
        "ratio"
    );
    for row in &rows {
        outln!(
            "{:<30} {:>9} {:>14.1} {:>14.1} {:>7.2}  {}",
            row.workload,
            row.unit,
            row.component,
            row.native,
            row.ratio,
            row.baseline
        );
    }
    outln!(
        "start-up: compile {:.1} ms, load precompiled {:.2} ms, instantiate {:.0} us; .wasm {} bytes",
        startup.compile_us / 1000.0,
        startup.load_precompiled_us / 1000.0,
        startup.instantiate_us,
        startup.wasm_bytes
    );
    if let Some(l) = &logs {
        outln!(
            "named logs: open + append + last 10 of one log: {:.0} us with {} logs in the \
             grant, {:.0} us with 1: cost ratio {:.2} (goal <= 1.2)",
            l.many_us,
            l.logs,
            l.one_us,
            l.many_us / l.one_us
        );
        outln!(
            "named logs: last 10 of a {} MiB log {:.0} us, of a tiny log {:.0} us: cost ratio \
             {:.2} (goal <= 3); `pathway replay --last 10` on it: peak RSS {:.1} MiB (goal <= 64)",
            l.last_mb,
            l.last_big_us,
            l.last_tiny_us,
            l.last_big_us / l.last_tiny_us,
            l.last_cli_rss_mib
        );
        outln!(
            "named logs: fork of a {} MB log {:.0} ms, cp of its file {:.0} ms: cost ratio {:.2}",
            l.fork_mb,
            l.fork_ms,
            l.cp_ms,
            l.fork_ms / l.cp_ms
        );
        outln!(
            "named logs: append with a quota, {} logs in the grant: {:.0} us, without: {:.0} us \
             (the quota stats every file of the grant before each append)",
            l.logs,
            l.quota_us,
            l.no_quota_us
        );
    }
    if let Some(child) = import {
        outln!(
            "import: `pathway append -` of {} MiB as a child process: {:.1} MB/s, peak RSS {:.1} MiB",
            child.mib,
            child.mb_per_s,
            child.peak_rss_mib
        );
    }
    Ok(0)
}

/// `pathway bench --nats URL`: the file log against an R1 and an R3 stream.
fn run_bench_nats(url: &str, args: &bench::BenchArgs, machine: &str) -> Result<u8, Failure> {
    let rows = bench_nats::run(url, args)?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({ "machine": machine, "nats": url, "workloads": rows })
        );
        return Ok(0);
    }
    outln!("machine: {machine}; NATS at {url}; raw: async-nats alone on the same server");
    outln!(
        "{:<26} {:>9} {:>3} {:>11} {:>11} {:>7}",
        "workload",
        "unit",
        "R",
        "pathway",
        "raw",
        "ratio"
    );
    for row in &rows {
        outln!(
            "{:<26} {:>9} {:>3} {:>11.1} {:>11.1} {:>7.3}",
            row.workload,
            row.unit,
            row.replicas,
            row.pathway,
            row.raw,
            row.ratio
        );
    }
    Ok(0)
}

fn run_bench_hosts(args: &bench_hosts::BenchHostsArgs) -> Result<u8, Failure> {
    log::set_max_level(log::LevelFilter::Error);
    let lines = bench_hosts::run(args)?;
    if args.json {
        for line in &lines {
            outln!("{line}");
        }
        return Ok(0);
    }
    let storage = match &args.nats {
        Some(url) => format!("a fresh R1 NATS stream at {url}"),
        None => "a directory".to_string(),
    };
    outln!(
        "machine: {}; {} events of ~100 bytes each; each log in {storage}",
        bench::machine(),
        args.events
    );
    outln!(
        "{:<7} {:>14} {:>14} {:>12} {:>15}  runtime",
        "host",
        "appends/s",
        "batched/s",
        "replay MB/s",
        "instantiate ms"
    );
    for line in &lines {
        let number = |key: &str| line[key].as_f64().unwrap_or(f64::NAN);
        outln!(
            "{:<7} {:>14.0} {:>14.0} {:>12.1} {:>15.2}  {}",
            line["host"].as_str().unwrap_or("?"),
            number("append_per_s"),
            number("batch_per_s"),
            number("replay_mb_per_s"),
            number("instantiate_ms"),
            line["runtime"].as_str().unwrap_or("?")
        );
    }
    Ok(0)
}

fn demo() -> Result<u8, Failure> {
    let dir = tempfile::Builder::new().prefix("pathway-demo-").tempdir()?;
    let mut memory = Memory::open(dir.path(), Options::default())?;
    let path = dir.path().join(&memory.settings().log_name);
    outln!("log: {}", path.display());

    let first = [
        r#"{"op":"remember","key":"user","value":"Ada"}"#,
        r#"{"op":"remember","key":"goal","value":"ship the log"}"#,
    ];
    memory.append_batch(&first)?;
    outln!("appended {} events", first.len());

    match memory.try_append(r#"{"op":"remember","key":"oops""#) {
        Err(e) => outln!("refused as expected: {e}"),
        Ok(()) => return Err(anyhow::anyhow!("the demo's invalid event was stored").into()),
    }

    // A crash in the middle of a write leaves a record without its end.
    let torn = br#"{"op":"remember","key":"mood","val"#;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(torn)?;
    outln!(
        "simulated a crash mid-write: {} bytes of a record, no newline",
        torn.len()
    );

    let after = r#"{"op":"forget","key":"goal"}"#;
    memory.try_append(after)?;
    outln!("appended after the crash: {after}");

    // A new instance, as after a restart, reads everything back.
    let mut restarted = Memory::open(dir.path(), Options::default())?;
    let entries = restarted.replay()?;
    outln!("\nreplay after restart ({} entries):", entries.len());
    for entry in &entries {
        match entry {
            Ok(line) => outln!("  ok   {line}"),
            Err(damaged) => outln!("  err  {}", damaged.message),
        }
    }
    outln!("\nfile on disk:");
    std::io::stdout().write_all(&std::fs::read(&path)?)?;
    Ok(0)
}
