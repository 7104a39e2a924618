//! The same component from other hosts: runs the Node.js host's tests (jco
//! with preview2-shim, `host-test/hosts/node`) and the Python host's (pip's
//! wasmtime, `host-test/hosts/python`) against the .wasm this build embeds.
//! Each script installs its pinned packages from npm or PyPI on first use.
//!
//! A machine without Node.js or Python fails here with a message saying
//! what to install; `PATHWAY_SKIP_POLYGLOT=1` skips these tests. The
//! Python framework adapters run in a venv of their own (`frameworks.sh`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn hosts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hosts")
}

/// Runs `hosts/<host>/run-tests.sh` on the embedded component and fails
/// with the end of its output if it fails.
fn run_host_tests(host: &str, needs: &str) {
    run_host_script(host, "run-tests.sh", needs);
}

/// Runs `hosts/<host>/<script>` on the embedded component.
fn run_host_script(host: &str, script: &str, needs: &str) {
    if std::env::var_os("PATHWAY_SKIP_POLYGLOT").is_some_and(|v| v == "1") {
        common::skipped(
            &format!("the {host} host's tests"),
            "PATHWAY_SKIP_POLYGLOT=1",
        );
        return;
    }
    let found = Command::new(needs).arg("--version").output();
    assert!(
        found.as_ref().is_ok_and(|out| out.status.success()),
        "the {host} host's tests need `{needs}` on PATH ({found:?}); install it, or set \
         PATHWAY_SKIP_POLYGLOT=1 to skip them"
    );
    let dir = tempfile::tempdir().unwrap();
    let wasm = pathway_host::write_components(dir.path()).unwrap();
    let script = hosts().join(host).join(script);
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .arg(&wasm)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tail: Vec<&str> = text.lines().rev().take(60).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        out.status,
        tail.join("\n")
    );
    eprintln!(
        "{host} host: passed in {:.1} s; last lines:\n{}",
        started.elapsed().as_secs_f64(),
        tail[tail.len().saturating_sub(8)..].join("\n")
    );
}

#[test]
fn node_host_tests_pass() {
    run_host_tests("node", "node");
}

#[test]
fn python_host_tests_pass() {
    run_host_tests("python", "python3");
}

/// The Python framework adapters (`pathway_memory.langgraph` against
/// langgraph-checkpoint-conformance at level FULL and a real StateGraph;
/// `pathway_memory.agents` with the Agents SDK's Runner), in a venv of
/// their own with the pinned frameworks.
#[test]
fn python_framework_adapters_pass() {
    run_host_script("python", "frameworks.sh", "python3");
}
