//! Builds the pathway-memory component for wasm32-wasip2 so that a plain
//! `cargo build` / `cargo test` of the host builds everything. Modelled on
//! wasmtime's `crates/test-programs/artifacts/build.rs`: a second cargo with
//! its own target dir under OUT_DIR (sharing the outer one deadlocks), the
//! outer rustflags removed, `rerun-if-changed` from the `.d` file, a loud
//! failure, and a generated file that the library `include!`s.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const ARTIFACT: &str = "pathway_memory";
/// The size-tuned profile in the workspace's Cargo.toml.
const PROFILE: &str = "wasm";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host-test lives in the workspace root");
    let cargo = env::var_os("CARGO").expect("cargo sets CARGO");

    ensure_target_installed(workspace);

    // The shipped component, and one with fault-injection points for tests.
    let shipped = build_component(&cargo, workspace, &out_dir, "pathway_memory", &[]);
    let failpoints = build_component(
        &cargo,
        workspace,
        &out_dir,
        "pathway_memory_failpoints",
        &["--features", "failpoints"],
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-changed={}", workspace.join("wit").display());

    let generated = format!(
        "/// Path of the component built by `build.rs`.\n\
         pub const COMPONENT_PATH: &str = {shipped:?};\n\
         /// The component's bytes, embedded so the `pathway` binary stands alone.\n\
         pub const COMPONENT_BYTES: &[u8] = include_bytes!({shipped:?});\n\
         /// The component built with `--features failpoints`, for fault-injection tests.\n\
         pub const FAILPOINTS_COMPONENT_PATH: &str = {failpoints:?};\n"
    );
    fs::write(out_dir.join("component.rs"), generated).expect("writing component.rs into OUT_DIR");
}

/// Builds the component in `OUT_DIR/<name>-target` and copies it to
/// `OUT_DIR/<name>.wasm`, whose path it returns.
fn build_component(
    cargo: &OsStr,
    workspace: &Path,
    out_dir: &Path,
    name: &str,
    extra: &[&str],
) -> PathBuf {
    let target_dir = out_dir.join(format!("{name}-target"));
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--profile",
            PROFILE,
            "--package",
            "pathway-memory",
            "--target",
            TARGET,
        ])
        .args(extra)
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} to build the component: {e}"));
    if !status.success() {
        panic!(
            "building the pathway-memory component for {TARGET} failed ({status}); see the cargo output above"
        );
    }
    let artifacts = target_dir.join(TARGET).join(PROFILE);
    let wasm = artifacts.join(format!("{ARTIFACT}.wasm"));
    let copy = out_dir.join(format!("{name}.wasm"));
    fs::copy(&wasm, &copy).unwrap_or_else(|e| panic!("copying {} failed: {e}", wasm.display()));
    for dep in read_dep_file(&artifacts.join(format!("{ARTIFACT}.d"))) {
        println!("cargo:rerun-if-changed={}", dep.display());
    }
    copy
}

/// Machines here set `RUSTUP_AUTO_INSTALL=0`, so `rust-toolchain.toml` does
/// not install the target by itself: add it, or say exactly how.
fn ensure_target_installed(workspace: &Path) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let has_target = || {
        Command::new(&rustc)
            .args(["--print", "target-libdir", "--target", TARGET])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).is_dir())
            .unwrap_or(false)
    };
    if has_target() {
        return;
    }
    println!("cargo:warning=the {TARGET} target is missing; running `rustup target add {TARGET}`");
    let added = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "add", TARGET])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !added || !has_target() {
        panic!(
            "the Rust target {TARGET} is not installed and `rustup target add {TARGET}` failed; \
             run `rustup toolchain install` in the repository root (it reads rust-toolchain.toml) \
             and build again"
        );
    }
}

/// The source files listed in cargo's `.d` file: `target: dep dep ...`, with
/// spaces in paths escaped as `\ `.
fn read_dep_file(path: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {} failed: {e}", path.display()));
    let deps = text.split_once(": ").map(|(_, deps)| deps).unwrap_or("");
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' | '\n' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    files
}
