//! Agent plugins: the example plugin (`host-test/examples/agent-plugin`), a
//! command component importing `pathway:memory/log`, run by
//! `pathway run-plugin` with our component serving its imports.

use crate::common;

use std::process::{Command, Output};

use common::{LOG, read_log, test_dir, write_log};
use pathway_host::{
    AGENT_PLUGIN_PATH, COMPONENT_BYTES, Error, Memory, Options, Plugin, Runtime, TrapKind,
};

/// `pathway run-plugin --dir DIR [EXTRA...] <agent plugin> -- NOTE...`
fn run_plugin(dir: &str, extra: &[&str], note: &[&str]) -> Output {
    Command::new(crate::common::pathway_bin())
        .args(["run-plugin", "--dir", dir])
        .args(extra)
        .arg(AGENT_PLUGIN_PATH)
        .arg("--")
        .args(note)
        .env_remove("RUST_LOG")
        .output()
        .expect("running pathway")
}

/// Exit status, stdout and stderr.
fn outcome(out: &Output) -> (Option<i32>, &str, &str) {
    (
        out.status.code(),
        std::str::from_utf8(&out.stdout).unwrap(),
        std::str::from_utf8(&out.stderr).unwrap(),
    )
}

#[test]
fn agent_plugin_remembers_across_three_runs() {
    let dir = test_dir("plugin_three_runs");
    let d = dir.path().to_str().unwrap();

    let out = run_plugin(d, &[], &["met", "Ada"]);
    assert_eq!(
        outcome(&out),
        (
            Some(0),
            "run 1: I remember nothing yet\n\
             remembered {\"run\":1,\"note\":\"met Ada\"}\n",
            ""
        )
    );
    let out = run_plugin(d, &[], &["she said \"hi\""]);
    assert_eq!(
        outcome(&out),
        (
            Some(0),
            "run 2: I remember 1 earlier run\n  \
             run 1: met Ada\n\
             remembered {\"run\":2,\"note\":\"she said \\\"hi\\\"\"}\n",
            ""
        )
    );
    let out = run_plugin(d, &[], &["-v", "--flag-like"]);
    assert_eq!(
        outcome(&out),
        (
            Some(0),
            "run 3: I remember 2 earlier runs\n  \
             run 1: met Ada\n  \
             run 2: she said \"hi\"\n\
             remembered {\"run\":3,\"note\":\"-v --flag-like\"}\n",
            ""
        )
    );
    assert_eq!(
        String::from_utf8(read_log(dir.path())).unwrap(),
        "{\"run\":1,\"note\":\"met Ada\"}\n\
         {\"run\":2,\"note\":\"she said \\\"hi\\\"\"}\n\
         {\"run\":3,\"note\":\"-v --flag-like\"}\n"
    );
    // Nothing but the log: the plugin has no directory of its own.
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, [LOG]);
}

#[test]
fn agent_plugin_skips_damaged_and_foreign_records() {
    let dir = test_dir("plugin_damaged");
    write_log(
        dir.path(),
        b"{\"run\":1,\"note\":\"kept\"}\nnot json\n{\"op\":\"other writer\"}\n",
    );
    let out = run_plugin(dir.path().to_str().unwrap(), &[], &["next"]);
    assert_eq!(
        outcome(&out),
        (
            Some(0),
            "run 2: I remember 1 earlier run\n  \
             run 1: kept\n\
             remembered {\"run\":2,\"note\":\"next\"}\n",
            "agent: skipped a damaged record: line 2: at byte offset 24: not exactly one JSON \
             value: expected ident at byte 1 of the line; skipped, the other records are \
             unaffected\n"
        )
    );
    assert!(
        read_log(dir.path())
            .ends_with(b"{\"op\":\"other writer\"}\n{\"run\":2,\"note\":\"next\"}\n")
    );
}

#[test]
fn agent_plugin_with_a_missing_directory_is_a_clear_error() {
    let dir = test_dir("plugin_missing_dir");
    let missing = dir.path().join("missing");
    let out = run_plugin(missing.to_str().unwrap(), &[], &["lost"]);
    assert_eq!(
        outcome(&out),
        (
            Some(2),
            "",
            format!(
                "pathway: error: cannot use {}: No such file or directory (os error 2); pass an \
                 existing, accessible directory\n",
                missing.display()
            )
            .as_str()
        )
    );
    assert!(!missing.exists());
}

#[test]
fn a_plugin_keeps_one_history_per_thread_in_named_logs() {
    let dir = test_dir("plugin_threads");
    let d = dir.path().to_str().unwrap();
    run_plugin(d, &[], &["met", "Ada"]);
    for note in ["plan a trip", "booked"] {
        let out = run_plugin(d, &[], &["--thread", "trip", note]);
        assert_eq!(out.status.code(), Some(0), "{}", outcome(&out).2);
    }
    let out = run_plugin(d, &[], &["--thread", "other", "hi"]);
    assert_eq!(
        outcome(&out),
        (
            Some(0),
            "run 1: I remember nothing yet\nremembered {\"run\":1,\"note\":\"hi\"}\n",
            ""
        )
    );
    let out = run_plugin(d, &[], &["--thread", "trip", "flew"]);
    assert!(
        outcome(&out)
            .1
            .starts_with("run 3: I remember 2 earlier runs\n  run 1: plan a trip\n"),
        "{}",
        outcome(&out).1
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read("pathway.jsonl").lines().count(), 1);
    assert_eq!(read("trip.jsonl").lines().count(), 3);
    assert_eq!(read("other.jsonl").lines().count(), 1);
    // A bad name: the component's refusal, through the plugin's import.
    let out = run_plugin(d, &[], &["--thread", "a/b", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        outcome(&out)
            .2
            .contains("the log name \"a/b\" cannot be used")
    );
}

#[test]
fn agent_plugin_exits_1_when_its_memory_cannot_be_read() {
    let dir = test_dir("plugin_unreadable");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let out = run_plugin(dir.path().to_str().unwrap(), &["--log-file", "sub"], &["x"]);
    assert_eq!(
        outcome(&out),
        (
            Some(1),
            "",
            "agent: cannot read my memory: \"sub\" in the granted directory is not a regular \
             file; remove it or set PATHWAY_LOG to another name\n"
        )
    );
}

#[test]
fn a_component_that_is_not_a_command_is_refused_as_a_plugin() {
    // Our own component exports the log, not wasi:cli/run.
    let error = Plugin::new(Runtime::shared().unwrap(), COMPONENT_BYTES)
        .err()
        .expect("refused");
    assert!(matches!(error, Error::Setup(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("the plugin must be a command component (export wasi:cli/run)"),
        "{error}"
    );
}

/// A log of `runs` records as the agent plugin writes them, each with a
/// note of `note` bytes.
fn earlier_runs(runs: usize, note: usize) -> Vec<u8> {
    let note = "x".repeat(note);
    (1..=runs)
        .map(|n| format!("{{\"run\":{n},\"note\":\"{note}\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn the_components_memory_cap_holds_when_it_serves_a_plugin() {
    let dir = test_dir("plugin_capped");
    // About 3 MB of the plugin's own records: whole-log replay needs more
    // than the 2 MiB the component is given here.
    write_log(dir.path(), &earlier_runs(30_000, 80));
    let before = read_log(dir.path());
    let d = dir.path().to_str().unwrap();
    let out = run_plugin(d, &["--max-memory-mib", "2"], &["one more"]);
    let (status, stdout, stderr) = outcome(&out);
    assert_eq!((status, stdout), (Some(2), ""), "{stderr}");
    assert!(
        stderr.starts_with("pathway: error: the component needed ")
            && stderr.contains("over the cap of 2 MiB")
            && stderr.contains("--max-memory-mib"),
        "{stderr}"
    );
    assert!(
        read_log(dir.path()) == before,
        "the capped run changed the log"
    );
    // With the default cap the same plugin reads it all and appends.
    let out = run_plugin(d, &[], &["one more"]);
    let (status, stdout, stderr) = outcome(&out);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stdout.starts_with("run 30001: I remember 30000 earlier runs\n"));
    assert!(stdout.ends_with("remembered {\"run\":30001,\"note\":\"one more\"}\n"));
}

#[test]
fn a_plugin_past_the_deadline_is_stopped_with_a_clear_error() {
    let dir = test_dir("plugin_deadline");
    // 30 MB of records: the plugin's replay of them takes far longer than
    // the 20 ms deadline given here.
    write_log(dir.path(), &earlier_runs(150_000, 180));
    let options = Options {
        call_timeout: std::time::Duration::from_millis(20),
        ..Options::default()
    };
    let memory = Memory::open(dir.path(), options).unwrap();
    let wasm = std::fs::read(AGENT_PLUGIN_PATH).unwrap();
    let plugin = Plugin::new(Runtime::shared().unwrap(), &wasm).unwrap();
    let started = std::time::Instant::now();
    match plugin.run(memory, &["agent", "late"]) {
        Err(Error::Trap {
            kind: TrapKind::Deadline,
            message,
            ..
        }) => {
            assert!(message.contains("deadline of 20 ms"), "{message}")
        }
        other => panic!("expected the deadline to stop the plugin, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!read_log(dir.path()).ends_with(b"\"late\"}\n"));
}
