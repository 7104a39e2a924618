//! `pathway wasm` and `pathway wit --wasm`: the artifacts this binary
//! embeds, written out for other hosts and tools, and the component's
//! metadata as `wasm-tools metadata show` would list it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use wasm_metadata::Payload;

use crate::Failure;

/// Writes `bytes` to `out` (`-`: stdout) and says so on stderr.
pub fn write(out: &Path, bytes: &[u8]) -> Result<u8, Failure> {
    if out.as_os_str() == "-" {
        std::io::stdout().write_all(bytes)?;
    } else {
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("pathway: wrote {} ({} bytes)", out.display(), bytes.len());
    }
    Ok(0)
}

/// Writes the component to `out` and its stream build beside it
/// (`pathway_host::stream_component_path`); `-`: the component to stdout.
pub fn write_components(out: &Path) -> Result<u8, Failure> {
    write(out, pathway_host::COMPONENT_BYTES)?;
    if out.as_os_str() != "-" {
        let stream = pathway_host::stream_component_path(out);
        write(&stream, pathway_host::STREAM_COMPONENT_BYTES)?;
    }
    Ok(0)
}

/// Prints the embedded component's metadata, one `field: value` a line;
/// fields the build did not set are left out.
pub fn print_metadata() -> Result<u8, Failure> {
    let payload = Payload::from_binary(pathway_host::COMPONENT_BYTES)
        .context("the embedded component's metadata cannot be read")?;
    let metadata = payload.metadata();
    let fields = [
        ("name", metadata.name.clone()),
        (
            "version",
            metadata.version.as_ref().map(ToString::to_string),
        ),
        (
            "description",
            metadata.description.as_ref().map(ToString::to_string),
        ),
        (
            "license",
            metadata.licenses.as_ref().map(ToString::to_string),
        ),
        ("source", metadata.source.as_ref().map(ToString::to_string)),
        (
            "revision",
            metadata.revision.as_ref().map(ToString::to_string),
        ),
    ];
    let mut stdout = std::io::stdout().lock();
    for (field, value) in fields {
        if let Some(value) = value {
            writeln!(stdout, "{field}: {value}")?;
        }
    }
    writeln!(
        stdout,
        "size: {} bytes",
        pathway_host::COMPONENT_BYTES.len()
    )?;
    Ok(0)
}
