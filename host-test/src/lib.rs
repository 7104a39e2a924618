//! Embedding API for the pathway-memory component on wasmtime.
//!
//! ```no_run
//! use pathway_host::{Cause, Error, Memory, Options};
//!
//! fn main() -> Result<(), Error> {
//!     let mut memory = Memory::open("agent-state", Options::default())?;
//!     memory.try_append(r#"{"op":"remember","key":"user","value":"Ada"}"#)?;
//!     // One refused event: none stored. Decide on the typed cause; the
//!     // message (the component's) is for people.
//!     if let Err(e) = memory.append_batch(&["1", "{"]) {
//!         assert!(matches!(e.cause(), Some(Cause::InvalidJson(_))));
//!         eprintln!("{e}");
//!     }
//!
//!     // Streamed a page (here 1 MiB) at a time: bounded memory for any size.
//!     let mut state = Vec::new();
//!     let mut entries = memory.entries(None, 1 << 20);
//!     for entry in entries.by_ref() {
//!         match entry? {
//!             Ok(record) => state.push(record),
//!             Err(damaged) => eprintln!("skipped {}", damaged.message),
//!         }
//!     }
//!     // Later: only what was appended since (keep the cursor as text).
//!     let cursor = entries.cursor().map(str::to_owned);
//!
//!     // Fold what was read into a snapshot and compact up to that cursor;
//!     // records appended meanwhile are kept.
//!     if let Some(upto) = &cursor {
//!         memory.compact(&[r#"{"op":"state","user":"Ada"}"#], upto)?;
//!     }
//!     memory.sync()?;
//!     Ok(())
//! }
//! ```
//!
//! The component is compiled once per process ([`Runtime::shared`]) and
//! instantiated once per [`Memory`], with the log's directory preopened and
//! nothing else granted: no other directory, no network, no inherited
//! environment or stdio. A log in a NATS stream ([`Memory::open_nats`])
//! runs the component's stream build instead ([`Runtime::shared_stream`]),
//! granted no directory, only its `stream` import, which this host serves
//! over its own connection. Guest stderr is captured and attached to traps.
//!
//! Modules: [`Error`] (`error`), [`Options`] (`options`), [`Runtime`] and
//! its epoch ticker (`runtime`), the linear-memory cap (`limits`), one
//! component instance (`instance`), the log handle [`Memory`] (`memory`),
//! the page iterator [`Entries`] (`entries`), lines appended as they
//! arrive ([`Memory::append_lines`], `lines`), the stream a log can live in
//! instead of a directory ([`NatsTarget`], and the component's `stream`
//! import served from it: `stream`), its NATS JetStream transport (`nats`,
//! cargo feature `nats`), [`Plugin`] (`plugin`) and the JSON shape every
//! host and the CLI write ([`json`]).
#![forbid(unsafe_code)]

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        // The stream build's world: the directory build exports the same
        // interface and imports less, so these bindings serve both.
        world: "pathway-stream",
        additional_derives: [PartialEq, Eq],
    });
}
/// What `build.rs` generated: the component and the binary WIT package; in
/// a source build also the test fixtures (the failpoints component and the
/// example plugin), which the packaged crate does not ship.
mod artifact {
    include!(concat!(env!("OUT_DIR"), "/component.rs"));
}
mod entries;
mod error;
mod instance;
pub mod json;
mod limits;
mod lines;
mod memory;
mod named;
#[cfg(feature = "nats")]
mod nats;
mod options;
mod plugin;
mod runtime;
mod stream;

pub use artifact::*;
pub use bindings::exports::pathway::memory::log::{
    Cause, CheckReport, Checksum, CompactReport, DamagedLine, DeepLine, Entry, Integrity,
    InvalidJson, LineProblem, LogError, LogInfo, LogList, Page, Recent, RepairReport, Settings,
    TooLarge,
};
pub use entries::Entries;
pub use error::{Error, TrapKind};
pub use lines::{
    BATCH_IDLE, BATCH_MAX_WAIT, Batching, LinesError, LinesFailure, LinesReport, MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
};
pub use memory::Memory;
pub use named::{NamedLog, OPEN_HANDLES};
pub use options::{Options, SyncMode};
pub use plugin::Plugin;
pub use runtime::Runtime;
pub use stream::NatsTarget;

/// Where the stream build goes beside a component written to `wasm`
/// (`X.wasm` → `X_stream.wasm`): where the Node and Python hosts look.
pub fn stream_component_path(wasm: &std::path::Path) -> std::path::PathBuf {
    let stem = wasm.file_stem().unwrap_or_default().to_string_lossy();
    wasm.with_file_name(format!("{stem}_stream.wasm"))
}

/// Writes both builds into `dir`, as the Node and Python hosts read them:
/// `pathway_memory.wasm` and `pathway_memory_stream.wasm`. Returns the
/// first one's path.
pub fn write_components(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let wasm = dir.join("pathway_memory.wasm");
    std::fs::write(&wasm, COMPONENT_BYTES)?;
    std::fs::write(stream_component_path(&wasm), STREAM_COMPONENT_BYTES)?;
    Ok(wasm)
}

/// The WIT package the component implements (`wit/pathway.wit`).
pub const WIT: &str = include_str!("../wit/pathway.wit");

/// The name of the interface the component exports, with its version, as
/// the WIT package declares it (`pathway:memory/log@0.3.0`).
pub fn interface_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let package = WIT
            .lines()
            .find_map(|line| line.trim().strip_prefix("package "))
            .and_then(|rest| rest.strip_suffix(';'))
            .expect("wit/pathway.wit starts with its package");
        let (name, version) = package.split_once('@').expect("the package has a version");
        format!("{name}/log@{version}")
    })
}
