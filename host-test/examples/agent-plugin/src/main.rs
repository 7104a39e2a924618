//! An agent that remembers across runs through the pathway-memory log.
//!
//! A command component (a wasm32-wasip2 bin exports `wasi:cli/run`) whose
//! one import beyond WASI is `pathway:memory/log@0.3.0`: it has no
//! directory of its own. Each run replays the log, prints the notes of the
//! earlier runs and appends `{"run":N,"note":"<its arguments>"}`. With
//! `--thread NAME` first, it keeps that thread's own history in the named
//! log NAME (the WIT `named-log`), beside the others.
//!
//! Run it with `pathway run-plugin --dir DIR <this>.wasm NOTE...`, or plug
//! the pathway component into it (`compose.sh`) and use `wasmtime run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let thread = match args.first().map(String::as_str) {
        Some("--thread") if args.len() > 1 => {
            let name = args[1].clone();
            args.drain(..2);
            Some(name)
        }
        _ => None,
    };
    let note = args.join(" ");
    match agent::run(thread.as_deref(), &note) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("agent: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(target_os = "wasi")]
mod agent {
    wit_bindgen::generate!({
        // The pathway package where it lives, then this plugin's world.
        path: ["../../../wit", "wit"],
        world: "pathway:agent-plugin/agent",
        // Bindings for the imported package too (it is not this one's).
        generate_all,
    });

    use pathway::memory::log;

    pub fn run(thread: Option<&str>, note: &str) -> Result<(), String> {
        // The thread's own log, or the default one.
        let named = match thread {
            Some(name) => Some(
                log::NamedLog::open(name)
                    .map_err(|e| format!("cannot open the thread: {}", e.message))?,
            ),
            None => None,
        };
        let mut earlier = Vec::new();
        let entries = match &named {
            Some(log) => log.replay_entries(),
            None => log::replay_entries(),
        }
        .map_err(|e| format!("cannot read my memory: {}", e.message))?;
        for entry in entries {
            match entry {
                Ok(record) => earlier.extend(run_note(&record)),
                Err(damaged) => eprintln!("agent: skipped a damaged record: {}", damaged.message),
            }
        }
        let run = earlier.last().map_or(1, |(last, _)| last + 1);
        match earlier.len() {
            0 => println!("run {run}: I remember nothing yet"),
            1 => println!("run {run}: I remember 1 earlier run"),
            n => println!("run {run}: I remember {n} earlier runs"),
        }
        for (n, earlier_note) in &earlier {
            println!("  run {n}: {earlier_note}");
        }
        let note = serde_json::Value::from(note);
        let event = format!(r#"{{"run":{run},"note":{note}}}"#);
        match &named {
            Some(log) => log.try_append(&event),
            None => log::try_append(&event),
        }
        .map_err(|e| format!("could not remember this run: {}", e.message))?;
        println!("remembered {event}");
        Ok(())
    }

    /// The run number and note of a record this agent appended; other
    /// records in the log are not its own and are left alone.
    fn run_note(record: &str) -> Option<(u64, String)> {
        let value: serde_json::Value = serde_json::from_str(record).ok()?;
        let note = value.get("note")?.as_str()?.to_owned();
        Some((value.get("run")?.as_u64()?, note))
    }
}

#[cfg(not(target_os = "wasi"))]
mod agent {
    pub fn run(_thread: Option<&str>, _note: &str) -> Result<(), String> {
        Err(
            "this is a WebAssembly component: build it with `--target wasm32-wasip2` \
             and run it with `pathway run-plugin`"
                .to_string(),
        )
    }
}
