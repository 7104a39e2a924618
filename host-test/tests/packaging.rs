//! The release artifacts as their users get them (see `host-test/dist.sh`):
//! the component's metadata, the binary WIT package decoded and vendored
//! the way a plugin author would, the crates used from a new cargo project
//! and by `cargo install`, and the npm package and the wheel installed into
//! fresh projects in temp dirs with no path into this repo.
//!
//! The artifacts are made from the component this build embeds, by the
//! same scripts `dist.sh` runs. The cargo builds from the packaged crates
//! share one target dir under this build's `target/tmp`, kept between runs
//! and seeded with the dependencies this build compiled (hard links), so
//! that they compile only the packaged crates. The npm and pip installs fetch the
//! pinned dependencies (preview2-shim, wasmtime-py) from their registries
//! on first use; `PATHWAY_SKIP_POLYGLOT=1` skips those two tests, as it
//! skips the hosts' suites.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use pathway_host::{Memory, Options, Plugin, Runtime};
use wit_component::DecodedWasm;

const FIRST: &str = r#"{"op":"remember","key":"user","value":"Ada"}"#;
const SECOND: &str = r#"{"op":"forget","key":"user"}"#;

/// A temp dir named after the test.
fn temp_dir(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{test}-"))
        .tempdir()
        .unwrap()
}

fn hosts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hosts")
}

fn skip_polyglot(test: &str) -> bool {
    let skip = std::env::var_os("PATHWAY_SKIP_POLYGLOT").is_some_and(|v| v == "1");
    if skip {
        common::skipped(test, "PATHWAY_SKIP_POLYGLOT=1");
    }
    skip
}

/// Runs `command` and returns its stdout; fails with its output otherwise.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The embedded component, written where the packaging scripts read it.
fn component_in(dir: &Path) -> PathBuf {
    pathway_host::write_components(dir).unwrap()
}

#[test]
fn pathway_wasm_metadata_names_the_component() {
    let out = run(Command::new(common::pathway_bin()).args(["wasm", "--metadata"]));
    let field = |name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
            .to_string()
    };
    assert_eq!(field("name"), "pathway-memory");
    assert_eq!(field("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        field("description"),
        "An append-only JSON Lines event log as a WebAssembly component"
    );
    assert_eq!(field("license"), env!("CARGO_PKG_LICENSE"));
    assert_eq!(field("source"), env!("CARGO_PKG_REPOSITORY"));
    // A git checkout (this test's case) records the commit it was built from.
    let revision = out.lines().find_map(|l| l.strip_prefix("revision: "));
    if let Some(revision) = revision {
        assert_eq!(revision.len(), 40, "a full commit id: {revision}");
    }
}

#[test]
fn binary_wit_package_decodes_to_the_log_interface() {
    let dir = temp_dir("binary_wit_package_decodes_to_the_log_interface");
    let file = dir.path().join("pathway-memory-0.3.0.wit.wasm");
    run(Command::new(common::pathway_bin())
        .args(["wit", "--wasm", "--out"])
        .arg(&file));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes, pathway_host::WIT_PACKAGE_BYTES);

    let DecodedWasm::WitPackage(resolve, package) = wit_component::decode(&bytes).unwrap() else {
        panic!("pathway wit --wasm wrote a component, not a WIT package");
    };
    let package = &resolve.packages[package];
    assert_eq!(package.name.to_string(), "pathway:memory@0.3.0");
    assert!(package.worlds.contains_key("pathway"));
    let log = &resolve.interfaces[package.interfaces["log"]];
    let mut decoded: Vec<&str> = log.functions.keys().map(String::as_str).collect();

    // The same functions as the source (the binary encoding puts a
    // resource's functions first: order aside).
    let mut source = wit_parser::Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (from_source, _) = source.push_dir(&wit).unwrap();
    let log_source = &source.interfaces[source.packages[from_source].interfaces["log"]];
    let mut expected: Vec<&str> = log_source.functions.keys().map(String::as_str).collect();
    decoded.sort_unstable();
    expected.sort_unstable();
    assert_eq!(decoded, expected);
    for name in [
        "append",
        "replay",
        "try-append",
        "replay-page",
        "compact",
        "repair",
    ] {
        assert!(decoded.contains(&name), "no {name} in {decoded:?}");
    }
}

/// What a plugin author does with the binary WIT package: decode it, put
/// the text under `wit/deps/pathway-memory/`, import the interface.
#[test]
fn decoded_wit_package_vendors_under_wit_deps() {
    let dir = temp_dir("decoded_wit_package_vendors_under_wit_deps");
    let DecodedWasm::WitPackage(resolve, package) =
        wit_component::decode(pathway_host::WIT_PACKAGE_BYTES).unwrap()
    else {
        panic!("not a WIT package");
    };
    let mut printer = wit_component::WitPrinter::default();
    printer.print(&resolve, package, &[]).unwrap();
    let text = printer.output.to_string();

    let wit = dir.path().join("wit");
    let deps = wit.join("deps/pathway-memory");
    std::fs::create_dir_all(&deps).unwrap();
    std::fs::write(deps.join("package.wit"), text).unwrap();
    std::fs::write(
        wit.join("plugin.wit"),
        "package example:plugin;\n\nworld plugin {\n    import pathway:memory/log@0.3.0;\n}\n",
    )
    .unwrap();

    let mut consumer = wit_parser::Resolve::default();
    let (plugin, _) = consumer.push_dir(&wit).unwrap();
    let world = consumer
        .select_world(&[plugin], Some("plugin"))
        .expect("the plugin's world resolves against the vendored package");
    let imports: Vec<String> = consumer.worlds[world]
        .imports
        .keys()
        .map(|key| consumer.name_world_key(key))
        .collect();
    assert_eq!(imports, ["pathway:memory/log@0.3.0"]);
}

#[test]
fn npm_package_installs_and_runs() {
    if skip_polyglot("npm_package_installs_and_runs") {
        return;
    }
    let dir = temp_dir("npm_package_installs_and_runs");
    let wasm = component_in(dir.path());
    let out = dir.path().join("out");
    let started = Instant::now();
    let tgz = run(Command::new("bash")
        .arg(hosts().join("node/pack.sh"))
        .arg(&wasm)
        .arg(&out));
    let packed = started.elapsed();

    // A new project that knows only the .tgz.
    let project = dir.path().join("project");
    let log_dir = dir.path().join("log");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&log_dir).unwrap();
    run(Command::new("npm")
        .current_dir(&project)
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .arg(tgz.trim()));
    std::fs::write(
        project.join("smoke.mjs"),
        format!(
            r#"import assert from 'node:assert/strict';
import {{ fileURLToPath }} from 'node:url';
import {{ open, LogError }} from 'pathway-memory';

// Loaded from the installed package, not from the source tree.
const loadedFrom = fileURLToPath(import.meta.resolve('pathway-memory'));
assert.ok(loadedFrom.startsWith(process.cwd() + '/node_modules/'), loadedFrom);

const memory = await open(process.argv[2]);
memory.tryAppend({FIRST:?});
memory.tryAppend({SECOND:?});
assert.deepEqual(memory.replay(), [{{ tag: 'ok', val: {FIRST:?} }}, {{ tag: 'ok', val: {SECOND:?} }}]);
assert.throws(() => memory.tryAppend('{{'), (e) => e instanceof LogError && e.code === 'invalid-json');
assert.equal(memory.replay().length, 2);
memory.close();
console.log('ok');
"#
        ),
    )
    .unwrap();
    let said = run(Command::new("node")
        .current_dir(&project)
        .arg("smoke.mjs")
        .arg(&log_dir));
    assert_eq!(said.trim(), "ok");
    eprintln!(
        "npm package: packed in {:.1} s, installed and ran in {:.1} s",
        packed.as_secs_f64(),
        (started.elapsed() - packed).as_secs_f64()
    );
}

#[test]
fn wheel_installs_and_runs() {
    if skip_polyglot("wheel_installs_and_runs") {
        return;
    }
    let dir = temp_dir("wheel_installs_and_runs");
    let wasm = component_in(dir.path());
    let out = dir.path().join("out");
    let started = Instant::now();
    let wheel = run(Command::new("bash")
        .arg(hosts().join("python/wheel.sh"))
        .arg(&wasm)
        .arg(&out));
    let built = started.elapsed();

    // A new venv that knows only the wheel.
    let venv = dir.path().join("venv");
    let log_dir = dir.path().join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let python = venv.join("bin/python");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .arg(wheel.trim()));
    let script = format!(
        r#"import sys
import pathway_memory
from pathway_memory import InvalidJson, Memory, Ok

# Installed from the wheel, with its component, not from the source tree.
assert pathway_memory.__file__.startswith(sys.prefix), pathway_memory.__file__
with Memory.open(sys.argv[1]) as memory:
    memory.try_append({FIRST:?})
    memory.try_append({SECOND:?})
    assert memory.replay() == [Ok({FIRST:?}), Ok({SECOND:?})], memory.replay()
    try:
        memory.try_append("{{")
        raise SystemExit("an invalid event was accepted")
    except InvalidJson:
        pass
    assert len(memory.replay()) == 2
print("ok")
"#
    );
    let said = run(Command::new(&python)
        .current_dir(dir.path())
        .env_remove("PATHWAY_WASM")
        .env_remove("PYTHONPATH")
        .args(["-c", &script])
        .arg(&log_dir));
    assert_eq!(said.trim(), "ok");
    eprintln!(
        "wheel: built in {:.1} s, installed and ran in {:.1} s",
        built.as_secs_f64(),
        (started.elapsed() - built).as_secs_f64()
    );
}

/// A plugin author's crate: its `wit/` holds only its own world, and the
/// pathway package comes from decoding the binary WIT package into
/// `wit/deps/`. It builds for wasm32-wasip2 and runs with our component
/// serving its imports: two appends, a replay, a refusal.
#[test]
fn plugin_builds_against_the_decoded_wit_package() {
    let dir = temp_dir("plugin_builds_against_the_decoded_wit_package");
    let project = dir.path().join("smoke-plugin");
    let started = Instant::now();
    let DecodedWasm::WitPackage(resolve, package) =
        wit_component::decode(pathway_host::WIT_PACKAGE_BYTES).unwrap()
    else {
        panic!("not a WIT package");
    };
    let mut printer = wit_component::WitPrinter::default();
    printer.print(&resolve, package, &[]).unwrap();
    let deps = project.join("wit/deps/pathway-memory");
    std::fs::create_dir_all(&deps).unwrap();
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(deps.join("package.wit"), printer.output.to_string()).unwrap();
    std::fs::write(
        project.join("wit/plugin.wit"),
        "package example:smoke-plugin;\n\nworld plugin {\n    import pathway:memory/log@0.3.0;\n}\n",
    )
    .unwrap();
    // The same wit-bindgen, features, profile and toolchain as the
    // component, so its build's target dir already holds them compiled.
    std::fs::write(
        project.join("Cargo.toml"),
        r#"[package]
name = "smoke-plugin"
version = "0.1.0"
edition = "2024"

[dependencies]
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc"] }

[profile.wasm]
inherits = "release"
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true

[workspace]
"#,
    )
    .unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(
        workspace.join("rust-toolchain.toml"),
        project.join("rust-toolchain.toml"),
    )
    .unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        format!(
            r#"wit_bindgen::generate!({{ world: "plugin", generate_all }});

use pathway::memory::log::{{self, Cause}};

fn main() {{
    log::try_append({FIRST:?}).unwrap();
    log::try_append({SECOND:?}).unwrap();
    let records: Vec<String> = log::replay_entries().unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(records, [{FIRST:?}, {SECOND:?}]);
    let refused = log::try_append("{{").unwrap_err();
    assert!(matches!(refused.cause, Cause::InvalidJson(_)), "{{}}", refused.message);
    assert_eq!(log::replay_entries().unwrap().len(), 2);
}}
"#
        ),
    )
    .unwrap();
    let target_dir = PathBuf::from(pathway_host::COMPONENT_TARGET_DIR);
    run(without_lint_wrapper(&mut Command::new("cargo"))
        .current_dir(&project)
        .args(["build", "-q", "--offline", "--profile", "wasm"])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTUP_TOOLCHAIN"));
    let built = started.elapsed();

    let wasm = std::fs::read(target_dir.join("wasm32-wasip2/wasm/smoke-plugin.wasm")).unwrap();
    let log_dir = dir.path().join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    let memory = Memory::open(&log_dir, Options::default()).unwrap();
    let plugin = Plugin::new(Runtime::shared().unwrap(), &wasm).unwrap();
    assert_eq!(plugin.run(memory, &["smoke-plugin"]).unwrap(), 0);
    let stored = Memory::open(&log_dir, Options::default())
        .unwrap()
        .replay()
        .unwrap();
    assert_eq!(stored, [Ok(FIRST.to_string()), Ok(SECOND.to_string())]);
    eprintln!(
        "plugin: built in {:.1} s, ran in {:.1} s",
        built.as_secs_f64(),
        (started.elapsed() - built).as_secs_f64()
    );
}

/// The target dir of the builds from the packaged crates, kept between
/// runs, seeded with this build's compiled dependencies (see [`seed`]).
/// Not this build's own: the packaged pathway-memory, a cdylib from a
/// path, gets file names without a hash, the same as this build's, and
/// would overwrite them (the doctests then fail to load `pathway_memory`);
/// so would the `pathway` binary.
fn packaged_target_dir() -> PathBuf {
    static SEEDED: OnceLock<PathBuf> = OnceLock::new();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    SEEDED
        .get_or_init(|| {
            seeded(
                tmp.join("packaged-crates-target"),
                tmp.parent().unwrap(),
                &["debug"],
            )
        })
        .clone()
}

/// The target dir of the component's build from the packaged crate, seeded
/// from build.rs's build of it.
fn packaged_component_target_dir() -> PathBuf {
    let built = PathBuf::from(pathway_host::COMPONENT_TARGET_DIR);
    let profiles = ["wasm", "wasm32-wasip2/wasm"];
    seeded(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("packaged-component-target"),
        &built,
        &profiles,
    )
}

/// `dir`, with the profile dirs `profiles` of the target dir `from` seeded
/// into it.
fn seeded(dir: PathBuf, from: &Path, profiles: &[&str]) -> PathBuf {
    let started = Instant::now();
    let linked: usize = profiles
        .iter()
        .map(|profile| seed(&from.join(profile), &dir.join(profile)))
        .sum();
    eprintln!(
        "{}: {linked} files of this build linked in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    dir
}

/// Hard-links what a build of this workspace compiled of the dependencies
/// into a profile dir (`deps`, `build`, `.fingerprint`) of another target
/// dir, so that a build from the packaged crates compiles only the crates
/// themselves: with the same dependency versions (the packaged lock file),
/// features (the workspace turns on none that a user's build lacks),
/// profile and flags, cargo finds them fresh. Our own crates' files are
/// left out, so nothing of this build is written to. Returns how many
/// files were linked; one that cannot be is left for cargo to build.
fn seed(from: &Path, to: &Path) -> usize {
    fn walk(from: &Path, to: &Path) -> usize {
        let Ok(entries) = std::fs::read_dir(from) else {
            return 0;
        };
        let _ = std::fs::create_dir_all(to);
        let mut linked = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().contains("pathway") {
                continue;
            }
            let (from, to) = (entry.path(), to.join(&name));
            match entry.file_type() {
                Ok(t) if t.is_dir() => linked += walk(&from, &to),
                Ok(t) if t.is_file() && !to.exists() => {
                    linked += usize::from(std::fs::hard_link(&from, &to).is_ok());
                }
                _ => {}
            }
        }
        linked
    }
    ["deps", "build", ".fingerprint"]
        .iter()
        .map(|dir| walk(&from.join(dir), &to.join(dir)))
        .sum()
}

/// The cargo that runs these tests (the pinned toolchain's). Debug builds
/// without debug info for dependencies, as this workspace's own (see its
/// `[profile.dev]`), so that they are the ones this build compiled; what
/// is checked here (the crates build and run) does not depend on it.
fn cargo() -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.env("CARGO_PROFILE_DEV_DEBUG", "false");
    without_lint_wrapper(&mut cargo);
    cargo
}

/// A user's build is not linted: no rustc wrapper CI lints this workspace
/// with (clippy's driver builds with `--cfg clippy`, other bytes).
fn without_lint_wrapper(cargo: &mut Command) -> &mut Command {
    cargo
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CLIPPY_ARGS")
}

/// The directories the two `.crate` files were unpacked into.
struct Unpacked {
    memory: PathBuf,
    host: PathBuf,
    cli: PathBuf,
}

/// The crates as `dist.sh` makes them (`package-crates.sh`, from the
/// component this build embeds), unpacked; made once per run, since two
/// `cargo package` runs would share the component the script puts in the
/// tree. `--no-verify`: the tests below are the verifying builds, from the
/// unpacked crates as a user has them, so cargo need not build them first.
fn unpacked_crates() -> &'static Unpacked {
    static UNPACKED: OnceLock<Unpacked> = OnceLock::new();
    UNPACKED.get_or_init(|| {
        // Outside this workspace (whose root package `.` claims every
        // directory below it, target/ included), as a user's download is.
        let dir = std::env::temp_dir().join("pathway-packaged-crates");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = component_in(&dir);
        let started = Instant::now();
        let crates = run(Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("package-crates.sh"))
            .arg(&wasm)
            .arg(dir.join("out"))
            .args(["--allow-dirty", "--no-verify", "--offline"]));
        for crate_file in crates.lines() {
            let size = std::fs::metadata(crate_file).unwrap().len();
            eprintln!("packaged {crate_file} ({size} bytes)");
            // -m: files dated now, not cargo's fixed 2006 date, which
            // cargo's mtime check would take for unchanged sources.
            run(Command::new("tar")
                .arg("-xzmf")
                .arg(crate_file)
                .arg("-C")
                .arg(&dir));
        }
        eprintln!(
            "crates: packaged in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let unpacked = Unpacked {
            memory: dir.join("pathway-memory-0.2.0"),
            host: dir.join("pathway-host-0.2.0"),
            cli: dir.join("pathway-cli-0.2.0"),
        };
        assert!(unpacked.cli.join("src/main.rs").is_file());
        assert!(unpacked.memory.join("src/lib.rs").is_file());
        for build in ["pathway_memory.wasm", "pathway_memory_stream.wasm"] {
            assert!(
                unpacked.host.join("component").join(build).is_file(),
                "{build}"
            );
        }
        unpacked
    })
}

/// The packaged pathway-host ships both builds of the component this build
/// embeds, and the packaged pathway-memory's sources build each again byte
/// for byte (in a directory of their own, with no git; the metadata, which
/// names the commit, is the shipped copy's).
#[test]
fn shipped_components_are_what_the_packaged_sources_build() {
    let unpacked = unpacked_crates();
    let builds = [
        (
            "pathway_memory.wasm",
            pathway_host::COMPONENT_BYTES,
            &[][..],
        ),
        (
            "pathway_memory_stream.wasm",
            pathway_host::STREAM_COMPONENT_BYTES,
            &["--features", "stream"][..],
        ),
    ];
    for (name, embedded, features) in builds {
        let shipped = std::fs::read(unpacked.host.join("component").join(name)).unwrap();
        assert!(
            shipped == embedded,
            "the packaged crate does not ship the {name} this build embeds"
        );
        let started = Instant::now();
        // Its own target dir (kept between runs): a build from the unpacked
        // crate must not overwrite the .wasm build.rs copies.
        let wasm_target = packaged_component_target_dir();
        run(cargo()
            .current_dir(&unpacked.memory)
            .args(["build", "-q", "--offline", "--locked", "--profile", "wasm"])
            .args(features)
            .args(["--target", "wasm32-wasip2", "--target-dir"])
            .arg(&wasm_target)
            // The flags build.rs builds the component with (SIMD).
            .env("CARGO_ENCODED_RUSTFLAGS", env!("PATHWAY_WASM_RUSTFLAGS"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET"));
        let rebuilt =
            std::fs::read(wasm_target.join("wasm32-wasip2/wasm/pathway_memory.wasm")).unwrap();

        let payload = wasm_metadata::Payload::from_binary(&shipped).unwrap();
        let shipped_metadata = payload.metadata();
        use wasm_metadata::AddMetadataField::Set;
        let mut metadata = wasm_metadata::AddMetadata::default();
        metadata.name = Set(shipped_metadata.name.clone().unwrap());
        metadata.version = Set(shipped_metadata.version.clone().unwrap());
        metadata.description = Set(shipped_metadata.description.clone().unwrap());
        metadata.licenses = Set(shipped_metadata.licenses.clone().unwrap());
        metadata.source = Set(shipped_metadata.source.clone().unwrap());
        if let Some(revision) = shipped_metadata.revision.clone() {
            metadata.revision = Set(revision);
        }
        let rebuilt = metadata.to_wasm(&rebuilt).unwrap();
        assert!(
            rebuilt == shipped,
            "{name} built from the packaged pathway-memory ({} bytes) differs from the one \
             pathway-host ships ({} bytes)",
            rebuilt.len(),
            shipped.len()
        );
        eprintln!(
            "{name}: rebuilt from the packaged sources in {:.1} s, same bytes",
            started.elapsed().as_secs_f64()
        );
    }
}

/// A Rust embedder's new project: `pathway-host = "0.2.0"`, found through
/// `[patch.crates-io]` at the unpacked crates (what a registry would
/// serve), with their lock file. It appends two events, replays them and
/// checks a refusal, with the component the crate ships.
#[test]
fn new_cargo_project_uses_the_packaged_host_crate() {
    let unpacked = unpacked_crates();
    let dir = temp_dir("new_cargo_project_uses_the_packaged_host_crate");
    let project = dir.path().join("embedder");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            r#"[package]
name = "embedder"
version = "0.1.0"
edition = "2024"

[dependencies]
pathway-host = "0.2.0"

[patch.crates-io]
pathway-host = {{ path = {host:?} }}
pathway-memory = {{ path = {memory:?} }}

[workspace]
"#,
            host = unpacked.host,
            memory = unpacked.memory,
        ),
    )
    .unwrap();
    // The versions the crates were packaged (and tested) with, and their
    // toolchain, so that `cargo install --locked` below reuses the build.
    std::fs::copy(unpacked.host.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    std::fs::copy(
        unpacked.memory.join("rust-toolchain.toml"),
        project.join("rust-toolchain.toml"),
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        format!(
            r#"use pathway_host::{{Cause, Error, Memory, Options}};

fn main() -> Result<(), Error> {{
    let dir = std::env::args().nth(1).expect("the log's directory");
    println!("component: {{}}", pathway_host::COMPONENT_PATH);
    let mut memory = Memory::open(dir, Options::default())?;
    memory.try_append({FIRST:?})?;
    memory.try_append({SECOND:?})?;
    assert_eq!(memory.replay()?, [Ok({FIRST:?}.to_string()), Ok({SECOND:?}.to_string())]);
    let refused = memory.try_append("{{").unwrap_err();
    assert!(refused.is_refusal(), "{{refused}}");
    assert!(matches!(refused.cause(), Some(Cause::InvalidJson(_))), "{{refused}}");
    assert!(matches!(refused, Error::Log(_)), "{{refused}}");
    assert_eq!(memory.replay()?.len(), 2);
    println!("ok");
    Ok(())
}}
"#
        ),
    )
    .unwrap();

    let started = Instant::now();
    run(cargo()
        .current_dir(&project)
        .args(["build", "-q", "--offline"])
        .env("CARGO_TARGET_DIR", packaged_target_dir()));
    let built = started.elapsed();
    let log_dir = dir.path().join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    let said = run(Command::new(packaged_target_dir().join("debug/embedder")).arg(&log_dir));
    let mut lines = said.lines();
    let component = lines.next().unwrap().strip_prefix("component: ").unwrap();
    assert!(
        Path::new(component).starts_with(&unpacked.host),
        "the embedder did not use the component shipped in the crate: {component}"
    );
    assert_eq!(lines.collect::<Vec<_>>(), ["ok"]);
    eprintln!(
        "cargo project: built in {:.1} s, ran in {:.1} s",
        built.as_secs_f64(),
        (started.elapsed() - built).as_secs_f64()
    );
}

/// `cargo install` of the `pathway` CLI from the unpacked CLI crate, its
/// lock file (`--locked`) and pathway-host and pathway-memory through a
/// `[patch]`, into a temp root; then two appends, a replay and a refusal
/// (exit code 1, cause `invalid-json`) with the installed binary.
#[test]
fn cargo_install_of_the_packaged_cli() {
    let unpacked = unpacked_crates();
    let dir = temp_dir("cargo_install_of_the_packaged_cli");
    let root = dir.path().join("root");
    let started = Instant::now();
    // --debug: the profile the project above compiled the dependencies with.
    run(cargo()
        .current_dir(dir.path())
        .args([
            "install",
            "-q",
            "--offline",
            "--locked",
            "--debug",
            "--path",
        ])
        .arg(&unpacked.cli)
        .arg("--root")
        .arg(&root)
        .arg("--config")
        .arg(format!(
            "patch.crates-io.pathway-memory.path={:?}",
            unpacked.memory.display().to_string()
        ))
        .arg("--config")
        .arg(format!(
            "patch.crates-io.pathway-host.path={:?}",
            unpacked.host.display().to_string()
        ))
        .env("CARGO_TARGET_DIR", packaged_target_dir()));
    let installed = started.elapsed();

    let pathway = root.join("bin/pathway");
    let log_dir = dir.path().join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    run(Command::new(&pathway)
        .arg("append")
        .arg("--dir")
        .arg(&log_dir)
        .args([FIRST, SECOND]));
    let replayed = run(Command::new(&pathway)
        .arg("replay")
        .arg("--dir")
        .arg(&log_dir));
    assert_eq!(replayed.lines().collect::<Vec<_>>(), [FIRST, SECOND]);
    let refused = Command::new(&pathway)
        .args(["append", "--json", "--dir"])
        .arg(&log_dir)
        .arg("{")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "a refusal exits 1");
    let outcome: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(outcome["err"]["cause"], "invalid-json", "{outcome}");
    let replayed = run(Command::new(&pathway)
        .arg("replay")
        .arg("--dir")
        .arg(&log_dir));
    assert_eq!(replayed.lines().count(), 2);
    eprintln!(
        "cargo install: installed in {:.1} s, ran in {:.1} s",
        installed.as_secs_f64(),
        (started.elapsed() - installed).as_secs_f64()
    );
}
