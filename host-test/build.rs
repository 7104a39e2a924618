//! Builds the pathway-memory component for wasm32-wasip2 so that a plain
//! `cargo build` / `cargo test` of the host builds everything. Modelled on
//! wasmtime's `crates/test-programs/artifacts/build.rs`: a second cargo with
//! its own target dir under OUT_DIR (sharing the outer one deadlocks), the
//! outer rustflags removed, `rerun-if-changed` from the `.d` file, a loud
//! failure, and a generated file that the library `include!`s.
//!
//! The packaged crate (`cargo package`, see `host-test/package-crates.sh`)
//! has no component sources: it ships the component `dist.sh` built, as
//! `component/pathway_memory.wasm`, and embeds that, as wasmtime's
//! `wasi-preview1-component-adapter-provider` ships its adapters. So a user
//! needs neither the wasm32-wasip2 target nor a second cargo; the packaging
//! tests check that the shipped bytes are what the packaged sources build.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
/// The component's code generation flags. SIMD (wasm 2.0, on in every
/// host we support: wasmtime, V8 under jco, wasmtime-py) lets memchr and
/// the compiler use 128-bit vectors: validating an event took about a
/// quarter less CPU time (host-test/src/bench.rs, append-batch rows).
const WASM_RUSTFLAGS: &str = "-Ctarget-feature=+simd128";
const ARTIFACT: &str = "pathway_memory";
/// The example agent plugin's package, also the name of its `.wasm`.
const PLUGIN_PACKAGE: &str = "pathway-agent-plugin";
/// The size-tuned profile in the workspace's Cargo.toml.
const PROFILE: &str = "wasm";
/// The component's name in its metadata (and the npm package's name).
const COMPONENT_NAME: &str = "pathway-memory";
/// Where the packaged crate carries the prebuilt components.
const SHIPPED: &str = "component/pathway_memory.wasm";
const SHIPPED_STREAM: &str = "component/pathway_memory_stream.wasm";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    // `wit/` is a link to the workspace's `wit/` in the source tree and a
    // copy of it in the packaged crate.
    let wit = manifest_dir.join("wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    // For the test that rebuilds the component from the packaged sources.
    println!("cargo:rustc-env=PATHWAY_WASM_RUSTFLAGS={WASM_RUSTFLAGS}");
    let wit_package = encode_wit_package(&wit, &out_dir);
    let workspace = manifest_dir
        .parent()
        .expect("a crate's directory has a parent");
    let artifacts = if in_source_tree(&manifest_dir, workspace) {
        build_from_source(workspace, &out_dir)
    } else {
        shipped_component(&manifest_dir)
    };
    let generated = format!(
        "{artifacts}\
         /// `wit/` encoded as a binary WIT package (`wasm-tools component wit --wasm`).\n\
         pub const WIT_PACKAGE_BYTES: &[u8] = include_bytes!({wit_package:?});\n"
    );
    fs::write(out_dir.join("component.rs"), generated).expect("writing component.rs into OUT_DIR");
}

/// Whether this is the `host-test` directory of a checkout, with the
/// component's sources beside it, rather than the packaged crate.
fn in_source_tree(manifest_dir: &Path, workspace: &Path) -> bool {
    let this_build_rs = manifest_dir.join("build.rs").canonicalize().ok();
    workspace.join("src/lib.rs").is_file()
        && this_build_rs.is_some()
        && workspace.join("host-test/build.rs").canonicalize().ok() == this_build_rs
}

/// The packaged crate: the component that `package-crates.sh` put in it.
fn shipped_component(manifest_dir: &Path) -> String {
    let shipped = manifest_dir.join(SHIPPED);
    println!("cargo:rerun-if-changed={}", shipped.display());
    assert!(
        shipped.is_file(),
        "{} is missing: this is a packaged pathway-host without the component sources, \
         and a package made without host-test/package-crates.sh (which puts the component \
         there); package it with that script, or build from a checkout of the repository",
        shipped.display()
    );
    let stream = manifest_dir.join(SHIPPED_STREAM);
    println!("cargo:rerun-if-changed={}", stream.display());
    assert!(
        stream.is_file(),
        "{} is missing: package this crate with host-test/package-crates.sh",
        stream.display()
    );
    format!(
        "/// Path of the prebuilt component shipped in this crate.\n\
         pub const COMPONENT_PATH: &str = {shipped:?};\n\
         /// The component's bytes, embedded so the `pathway` binary stands alone.\n\
         pub const COMPONENT_BYTES: &[u8] = include_bytes!({shipped:?});\n\
         /// Path of the prebuilt stream build (world `pathway-stream`).\n\
         pub const STREAM_COMPONENT_PATH: &str = {stream:?};\n\
         /// The stream build's bytes.\n\
         pub const STREAM_COMPONENT_BYTES: &[u8] = include_bytes!({stream:?});\n"
    )
}

/// The source tree: builds the component, with its metadata, the component
/// with fault-injection points and the example plugin the tests use.
fn build_from_source(workspace: &Path, out_dir: &Path) -> String {
    let cargo = env::var_os("CARGO").expect("cargo sets CARGO");
    ensure_target_installed(workspace);

    // The shipped component, and one with fault-injection points for tests.
    let shipped = build_component(&cargo, workspace, out_dir, "pathway_memory", &[]);
    add_metadata(workspace, &shipped);
    // The same log kept in a stream the host grants (world
    // `pathway-stream`), shipped beside it.
    let stream = build_component(
        &cargo,
        workspace,
        out_dir,
        "pathway_memory_stream",
        &["--features", "stream"],
    );
    add_metadata(workspace, &stream);
    let failpoints = build_component(
        &cargo,
        workspace,
        out_dir,
        "pathway_memory_failpoints",
        &["--features", "failpoints"],
    );
    // The example agent plugin, in the shipped component's target dir: its
    // dependencies (wit-bindgen, serde_json) are already built there.
    let plugin = build_plugin(&cargo, workspace, out_dir, "pathway_memory");
    let target_dir = wasm_target_dir(out_dir, "pathway_memory");
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    format!(
        "/// Path of the component built by `build.rs`.\n\
         pub const COMPONENT_PATH: &str = {shipped:?};\n\
         /// The component's bytes, embedded so the `pathway` binary stands alone.\n\
         pub const COMPONENT_BYTES: &[u8] = include_bytes!({shipped:?});\n\
         /// Path of the stream build (world `pathway-stream`) built by `build.rs`.\n\
         pub const STREAM_COMPONENT_PATH: &str = {stream:?};\n\
         /// The stream build's bytes, embedded like the component's.\n\
         pub const STREAM_COMPONENT_BYTES: &[u8] = include_bytes!({stream:?});\n\
         /// The component built with `--features failpoints`, for fault-injection tests\n\
         /// (source builds only).\n\
         pub const FAILPOINTS_COMPONENT_PATH: &str = {failpoints:?};\n\
         /// The example agent plugin (`host-test/examples/agent-plugin`): a command\n\
         /// component that imports `pathway:memory/log` (source builds only).\n\
         pub const AGENT_PLUGIN_PATH: &str = {plugin:?};\n\
         /// The target dir the component was built in, with its dependencies for\n\
         /// wasm32-wasip2 (source builds only).\n\
         pub const COMPONENT_TARGET_DIR: &str = {target_dir:?};\n"
    )
}

/// The target dir of the wasm build named `name`: beside this build's
/// profile dir (`<target>/<profile>/wasm-components/<name>-target`), not in
/// `OUT_DIR`, so that `cargo clippy` and `cargo test`, whose build-script
/// runs get different `OUT_DIR`s, share one build of the component instead
/// of compiling it twice. Each copies the `.wasm` into its own `OUT_DIR`.
fn wasm_target_dir(out_dir: &Path, name: &str) -> PathBuf {
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).unwrap_or(out_dir);
    profile_dir
        .join("wasm-components")
        .join(format!("{name}-target"))
}

/// Builds the component in its target dir ([`wasm_target_dir`]) and copies
/// it to `OUT_DIR/<name>.wasm`, whose path it returns.
fn build_component(
    cargo: &OsStr,
    workspace: &Path,
    out_dir: &Path,
    name: &str,
    extra: &[&str],
) -> PathBuf {
    let target_dir = wasm_target_dir(out_dir, name);
    let mut args = vec!["--package", "pathway-memory"];
    args.extend(extra);
    cargo_build(
        cargo,
        workspace,
        &target_dir,
        &args,
        "the pathway-memory component",
    );
    copy_artifact(&target_dir, out_dir, ARTIFACT, name)
}

/// Rewrites the component at `wasm` with the metadata sections
/// `wasm-tools metadata add` writes: name, version, description, license,
/// source repository and, when this is a git checkout, the revision. No
/// timestamps, so the same commit always gives the same bytes.
fn add_metadata(workspace: &Path, wasm: &Path) {
    use wasm_metadata::{AddMetadata, AddMetadataField, Description, Licenses, Revision, Source};
    let field = |name: &str| {
        let value = env::var(name).unwrap_or_default();
        assert!(
            !value.is_empty(),
            "Cargo.toml must set {name} for the component's metadata"
        );
        value
    };
    let mut metadata = AddMetadata::default();
    metadata.name = AddMetadataField::Set(COMPONENT_NAME.to_string());
    metadata.version =
        AddMetadataField::Set(wasm_metadata::Version::new(field("CARGO_PKG_VERSION")));
    metadata.description =
        AddMetadataField::Set(Description::new(component_description(workspace)));
    metadata.licenses = AddMetadataField::Set(
        Licenses::new(&field("CARGO_PKG_LICENSE")).expect("the license is an SPDX expression"),
    );
    metadata.source = AddMetadataField::Set(
        Source::new(&field("CARGO_PKG_REPOSITORY")).expect("the repository is a URL"),
    );
    if let Some(revision) = git_revision(workspace) {
        metadata.revision = AddMetadataField::Set(Revision::new(revision));
    }
    let bytes = fs::read(wasm).unwrap_or_else(|e| panic!("reading {} failed: {e}", wasm.display()));
    let with_metadata = metadata
        .to_wasm(&bytes)
        .unwrap_or_else(|e| panic!("adding metadata to {} failed: {e:#}", wasm.display()));
    fs::write(wasm, with_metadata)
        .unwrap_or_else(|e| panic!("writing {} failed: {e}", wasm.display()));
}

/// The component package's `description` in the workspace's Cargo.toml (the
/// first `description = "..."`, which is in its `[package]`).
fn component_description(workspace: &Path) -> String {
    let manifest = fs::read_to_string(workspace.join("Cargo.toml"))
        .expect("reading the workspace's Cargo.toml");
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("description = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the workspace's Cargo.toml describes the component package")
        .to_string()
}

/// `git rev-parse HEAD`, or `None` outside a git checkout (a source
/// tarball, a packaged crate); reruns the build when HEAD moves.
fn git_revision(workspace: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(workspace)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let revision = git(&["rev-parse", "HEAD"])?;
    // Rerun when HEAD moves: HEAD itself, the branch it names, packed-refs
    // (`--git-path` resolves worktrees). Only files that exist: cargo
    // reruns on every build for a missing one.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for path in watched {
        let file = git(&["rev-parse", "--path-format=absolute", "--git-path", &path]);
        if let Some(file) = file.filter(|f| Path::new(f).is_file()) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    Some(revision)
}

/// Encodes `wit` as a binary WIT package, as `wasm-tools component wit
/// --wasm` and `wkg wit build` do, into `OUT_DIR/<name>-<version>.wit.wasm`.
fn encode_wit_package(wit: &Path, out_dir: &Path) -> PathBuf {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .unwrap_or_else(|e| panic!("parsing {} failed: {e:#}", wit.display()));
    let bytes = wit_component::encode(&resolve, package)
        .unwrap_or_else(|e| panic!("encoding {} failed: {e:#}", wit.display()));
    let name = &resolve.packages[package].name;
    let version = name
        .version
        .as_ref()
        .expect("the WIT package has a version");
    let file = out_dir.join(format!(
        "{}-{}-{version}.wit.wasm",
        name.namespace, name.name
    ));
    fs::write(&file, bytes).unwrap_or_else(|e| panic!("writing {} failed: {e}", file.display()));
    file
}

/// Builds the agent plugin example in the target dir of the component
/// build named `beside` and copies it to `OUT_DIR/agent_plugin.wasm`, whose
/// path it returns.
fn build_plugin(cargo: &OsStr, workspace: &Path, out_dir: &Path, beside: &str) -> PathBuf {
    let target_dir = wasm_target_dir(out_dir, beside);
    let args = ["--package", PLUGIN_PACKAGE];
    cargo_build(
        cargo,
        workspace,
        &target_dir,
        &args,
        "the agent plugin example",
    );
    let manifest = workspace.join("host-test/examples/agent-plugin/Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    copy_artifact(&target_dir, out_dir, PLUGIN_PACKAGE, "agent_plugin")
}

/// `cargo build` for wasm32-wasip2 with the wasm profile; `what` names the
/// artifact in the panic message if it fails.
fn cargo_build(cargo: &OsStr, workspace: &Path, target_dir: &Path, args: &[&str], what: &str) {
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--profile", PROFILE, "--target", TARGET])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", WASM_RUSTFLAGS)
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} to build {what}: {e}"));
    if !status.success() {
        panic!("building {what} for {TARGET} failed ({status}); see the cargo output above");
    }
}

/// Copies `<artifact>.wasm` from `target_dir` to `OUT_DIR/<name>.wasm`,
/// returns that path, and reruns the build script when a source it was
/// built from changes.
fn copy_artifact(target_dir: &Path, out_dir: &Path, artifact: &str, name: &str) -> PathBuf {
    let artifacts = target_dir.join(TARGET).join(PROFILE);
    let wasm = artifacts.join(format!("{artifact}.wasm"));
    let copy = out_dir.join(format!("{name}.wasm"));
    fs::copy(&wasm, &copy).unwrap_or_else(|e| panic!("copying {} failed: {e}", wasm.display()));
    for dep in read_dep_file(&artifacts.join(format!("{artifact}.d"))) {
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
