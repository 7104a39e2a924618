//! The `pathway` binary as a user runs it: the commands that need no log.
//! (The commands on logs are tested in `host-test/tests/`, which run this
//! binary too: having this test makes `cargo test --workspace` build it.)

use std::process::Command;

fn pathway(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pathway"))
        .args(args)
        .output()
        .expect("running pathway")
}

#[test]
fn wit_prints_the_interface_it_embeds() {
    let out = pathway(&["wit"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), pathway_host::WIT);
}

#[test]
fn wasm_writes_both_builds_of_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("pw.wasm");
    let out = pathway(&["wasm", "--out", wasm.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&wasm).unwrap(), pathway_host::COMPONENT_BYTES);
    assert_eq!(
        std::fs::read(dir.path().join("pw_stream.wasm")).unwrap(),
        pathway_host::STREAM_COMPONENT_BYTES
    );
}

#[test]
fn a_command_it_does_not_know_exits_2_with_usage() {
    let out = pathway(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}
