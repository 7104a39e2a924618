//! The component under the wasmtime CLI, with no host of ours: `wasmtime
//! run --invoke` calls the log's functions, arguments in WAVE syntax.
//! Needs a `wasmtime` binary ($WASMTIME, else on PATH), which takes
//! 10-17 minutes to `cargo install`: so the tests are ignored by default
//! (cargo says so, with the reason), and run with
//! `cargo test -p pathway-host --test directory wasmtime_cli -- --ignored`,
//! where a missing binary fails them.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{read_log, test_dir};
use pathway_host::COMPONENT_PATH;

/// `$WASMTIME`, else `wasmtime` on PATH; asked for with `--ignored`, a
/// missing one fails the test.
fn wasmtime(test: &str) -> PathBuf {
    let found = std::env::var_os("WASMTIME").map(PathBuf::from).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("wasmtime"))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{test}: no wasmtime binary ($WASMTIME is unset and there is no `wasmtime` on \
             PATH); `cargo install --locked wasmtime-cli --version 48.0.8` provides one"
        )
    })
}

/// `wasmtime run --dir DIR::/ --invoke CALL <component>`: exit status,
/// stdout and stderr.
fn invoke(wasmtime: &Path, dir: &Path, call: &str) -> (Option<i32>, String, String) {
    let out = Command::new(wasmtime)
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/", dir.display()))
        .args(["--invoke", call, COMPONENT_PATH])
        .output()
        .expect("running wasmtime");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(stdout: &str) -> (Option<i32>, String, String) {
    (Some(0), stdout.to_string(), String::new())
}

#[test]
#[ignore = "needs the wasmtime CLI (cargo install --locked wasmtime-cli --version 48.0.8); run with -- --ignored"]
fn wasmtime_cli_appends_and_replays_with_wave_calls() {
    let wasmtime = wasmtime("wasmtime_cli_appends_and_replays_with_wave_calls");
    let dir = test_dir("wasmtime_cli_append");
    let d = dir.path();
    // Functions of the exported `log` interface are found by their bare
    // name (a qualified `pathway:memory/log@0.3.0#append` does not parse);
    // a WAVE string escapes `"` and `\` as JSON does.
    assert_eq!(invoke(&wasmtime, d, r#"append("{\"a\":1}")"#), ok("()\n"));
    assert_eq!(invoke(&wasmtime, d, r#"try-append("\"two\"")"#), ok("ok\n"));
    assert_eq!(
        invoke(&wasmtime, d, r#"append-batch(["[3]", "{\"b\":\"\\n\"}"])"#),
        ok("ok\n")
    );
    assert_eq!(
        invoke(&wasmtime, d, "replay()"),
        ok(
            "[ok(\"{\\\"a\\\":1}\"), ok(\"\\\"two\\\"\"), ok(\"[3]\"), ok(\"{\\\"b\\\":\\\"\\\\n\\\"}\")]\n"
        )
    );
    assert_eq!(read_log(d), b"{\"a\":1}\n\"two\"\n[3]\n{\"b\":\"\\n\"}\n");
}

#[test]
#[ignore = "needs the wasmtime CLI (cargo install --locked wasmtime-cli --version 48.0.8); run with -- --ignored"]
fn wasmtime_cli_shows_a_refusal_as_a_wave_value() {
    let wasmtime = wasmtime("wasmtime_cli_shows_a_refusal_as_a_wave_value");
    let dir = test_dir("wasmtime_cli_refusal");
    // A `log-error` record: the typed cause and the component's message.
    let (status, stdout, stderr) = invoke(&wasmtime, dir.path(), r#"try-append("{")"#);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stdout.starts_with(
            "err({cause: invalid-json({index: 0, offset: 1, reason: \"EOF while parsing an \
             object\"}), message: \"the event is not exactly one JSON value"
        ),
        "{stdout}"
    );
    // `append` has no error channel: the refusal traps, with the reason on
    // the guest's stderr, and nothing is stored.
    let (status, stdout, stderr) = invoke(&wasmtime, dir.path(), r#"append("{")"#);
    assert_ne!(status, Some(0));
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("EOF while parsing an object") && stderr.contains("wasm trap"),
        "{stderr}"
    );
    assert!(!dir.path().join(common::LOG).exists());
}
