//! The release artifacts as their users get them: the component's metadata,
//! and the binary WIT package decoded and vendored the way a plugin author
//! would.

use std::path::Path;
use std::process::Command;

use wit_component::DecodedWasm;

/// A temp dir named after the test.
fn temp_dir(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{test}-"))
        .tempdir()
        .unwrap()
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

#[test]
fn pathway_wasm_metadata_names_the_component() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_pathway")).args(["wasm", "--metadata"]));
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
    let file = dir.path().join("pathway-memory-0.2.0.wit.wasm");
    run(Command::new(env!("CARGO_BIN_EXE_pathway"))
        .args(["wit", "--wasm", "--out"])
        .arg(&file));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes, pathway_host::WIT_PACKAGE_BYTES);

    let DecodedWasm::WitPackage(resolve, package) = wit_component::decode(&bytes).unwrap() else {
        panic!("pathway wit --wasm wrote a component, not a WIT package");
    };
    let package = &resolve.packages[package];
    assert_eq!(package.name.to_string(), "pathway:memory@0.2.0");
    assert!(package.worlds.contains_key("pathway"));
    let log = &resolve.interfaces[package.interfaces["log"]];
    let decoded: Vec<&str> = log.functions.keys().map(String::as_str).collect();

    // The same functions as the source, in the same order.
    let mut source = wit_parser::Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (from_source, _) = source.push_dir(&wit).unwrap();
    let log_source = &source.interfaces[source.packages[from_source].interfaces["log"]];
    let expected: Vec<&str> = log_source.functions.keys().map(String::as_str).collect();
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
        "package example:plugin;\n\nworld plugin {\n    import pathway:memory/log@0.2.0;\n}\n",
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
    assert_eq!(imports, ["pathway:memory/log@0.2.0"]);
}
