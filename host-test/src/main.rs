//! `pathway`: append to and replay a pathway-memory log from the shell.
//! Exit codes: 0 success, 1 refused event or damaged entries, 2 usage or I/O.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pathway_host::{AppendError, Entry, Error, Memory, Options};

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
    /// Append events (one JSON value each) to the log; all or nothing.
    Append {
        #[command(flatten)]
        log: LogArgs,
        /// Events to append; `-` reads one event per line from stdin
        /// (blank lines are skipped).
        #[arg(required = true, value_name = "EVENT")]
        events: Vec<OsString>,
    },
    /// Print every record; damaged lines are reported on stderr.
    Replay {
        #[command(flatten)]
        log: LogArgs,
        /// One JSON object per entry: {"ok": "<line>"} or {"err": "<message>"}.
        #[arg(long)]
        json: bool,
    },
    /// Append, simulate a crash mid-write, append again and replay, in a
    /// temporary directory.
    Demo,
}

#[derive(Args)]
struct LogArgs {
    /// The directory granted to the component (must exist).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// File name of the log inside DIR.
    #[arg(long, value_name = "NAME", default_value = "pathway.jsonl")]
    log: String,
}

impl LogArgs {
    fn open(&self) -> anyhow::Result<Memory> {
        if !self.dir.is_dir() {
            bail!(
                "{} is not an existing directory; create it first",
                self.dir.display()
            );
        }
        let options = Options {
            log_name: Some(self.log.clone()),
            ..Options::default()
        };
        Ok(Memory::open(&self.dir, options)?)
    }
}

/// A failure and its exit code.
struct Failure(u8, anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(2, e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Append { log, events } => append(&log, events),
        Command::Replay { log, json } => replay(&log, json),
        Command::Demo => demo(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, error)) => {
            eprintln!("pathway: error: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
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

fn append(log: &LogArgs, args: Vec<OsString>) -> Result<u8, Failure> {
    let mut events = Vec::new();
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
        if arg == "-" {
            read_stdin_events(&mut events)?;
        } else {
            events.push(arg);
        }
    }
    let mut memory = log.open()?;
    match memory.append_batch(&events) {
        Ok(()) => {
            log::info!(
                "{}: appended {} events",
                memory.log_path().display(),
                events.len()
            );
            Ok(0)
        }
        Err(e @ Error::Refused(AppendError::InvalidJson(_) | AppendError::TooLarge(_))) => {
            Err(Failure(1, e.into()))
        }
        Err(e) => Err(e.into()),
    }
}

fn read_stdin_events(events: &mut Vec<String>) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    for (n, line) in stdin.split(b'\n').enumerate() {
        let line = line.context("reading events from stdin")?;
        let line = String::from_utf8(line).map_err(|e| {
            anyhow::anyhow!(
                "stdin line {} is not valid UTF-8 (byte {}); nothing was stored",
                n + 1,
                e.utf8_error().valid_up_to()
            )
        })?;
        if !line.trim().is_empty() {
            events.push(line);
        }
    }
    Ok(())
}

fn replay(log: &LogArgs, json: bool) -> Result<u8, Failure> {
    let mut memory = log.open()?;
    let entries = memory.replay()?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    print_entries(&mut out, &entries, json).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(if entries.iter().all(Result::is_ok) {
        0
    } else {
        1
    })
}

/// Records go to `out`; damaged lines were already logged as warnings (on
/// stderr), and with `json` they are also entries on `out`.
fn print_entries(out: &mut impl Write, entries: &[Entry], json: bool) -> std::io::Result<()> {
    for entry in entries {
        match (entry, json) {
            (Ok(line), false) => writeln!(out, "{line}")?,
            (Err(_), false) => {}
            (Ok(line), true) => writeln!(out, "{}", serde_json::json!({ "ok": line }))?,
            (Err(message), true) => writeln!(out, "{}", serde_json::json!({ "err": message }))?,
        }
    }
    Ok(())
}

fn demo() -> Result<u8, Failure> {
    let dir = tempfile::Builder::new().prefix("pathway-demo-").tempdir()?;
    let mut memory = Memory::open(dir.path(), Options::default())?;
    let path = memory.log_path();
    println!("log: {}", path.display());

    let first = [
        r#"{"op":"remember","key":"user","value":"Ada"}"#,
        r#"{"op":"remember","key":"goal","value":"ship the log"}"#,
    ];
    memory.append_batch(&first)?;
    println!("appended {} events", first.len());

    match memory.try_append(r#"{"op":"remember","key":"oops""#) {
        Err(e) => println!("refused as expected: {e}"),
        Ok(()) => return Err(anyhow::anyhow!("the demo's invalid event was stored").into()),
    }

    // A crash in the middle of a write leaves a record without its end.
    let torn = br#"{"op":"remember","key":"mood","val"#;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(torn)?;
    println!(
        "simulated a crash mid-write: {} bytes of a record, no newline",
        torn.len()
    );

    let after = r#"{"op":"forget","key":"goal"}"#;
    memory.try_append(after)?;
    println!("appended after the crash: {after}");

    // A new instance, as after a restart, reads everything back.
    let mut restarted = Memory::open(dir.path(), Options::default())?;
    let entries = restarted.replay()?;
    println!("\nreplay after restart ({} entries):", entries.len());
    for entry in &entries {
        match entry {
            Ok(line) => println!("  ok   {line}"),
            Err(message) => println!("  err  {message}"),
        }
    }
    println!("\nfile on disk:");
    print!("{}", String::from_utf8_lossy(&std::fs::read(&path)?));
    Ok(0)
}
