//! # pathway-memory
//!
//! An append-only JSON Lines event log packaged as a WebAssembly component
//! (`wit/pathway.wit`). The host grants one directory; the component keeps
//! one file there and touches nothing else. The file format and the
//! recovery rules follow, as `docs/format.md` states them (included here,
//! so there is one copy).
//!
#![doc = include_str!("../docs/format.md")]
//!
//! ## Modules
//!
//! Plain std, tested natively (`cargo test -p pathway-memory`), and run
//! unchanged in the component:
//! - what a record is: [`format`] (validate and encode one event, parse one
//!   line), [`frame`] (the bytes of one append call), [`error`] (typed
//!   errors of events and lines), [`config`] (the `PATHWAY_*` settings);
//! - reading: [`pager`] (the real reader: a page of entries from a
//!   position, a chunk at a time), [`cursor`] (cursors and what binds them
//!   to a file), [`reader`] (the log opened for reading, pages from a
//!   cursor); [`oracle`] is the whole-file reader the tests compare the
//!   pager with;
//! - the storage protocols, generic over [`fs::FileSystem`]: [`append`]
//!   (torn tail, one write or, above the write permit, reserved space
//!   filled at once; undo after a failed write), [`lock`] (what a rewrite
//!   or a big append shows appenders: claims, heartbeat, seal), [`rewrite`]
//!   (compaction, repair and check), [`checksum`] (the SHA-256 a rewrite
//!   keeps of what it wrote), [`quarantine`] (where repair puts
//!   damaged lines), [`store`] (one instance's log on top
//!   of them), [`store_error`] (their failures, and the text made once);
//! - the log kept in a stream instead of a file: [`stream`] (the transport
//!   a host provides, as the WIT `stream` interface), [`stream::log`] (the
//!   protocol on top of it: exactly-once appends, pages, compaction, check
//!   and repair), [`stream::cursor`], [`stream::error`] (the failures and
//!   their words), [`stream::mem`] (native only: a store in memory that
//!   fails on demand, for the tests);
//! - [`fs`]: the file-system operations they need, and [`fs_mem`] (native
//!   only), an in-memory disk that can lose power, for the tests.
//!
//! Built for wasm only: `guest` (the bindings and the exported interface)
//! and `fs_wasi` (the file system on `wasi:filesystem`).

pub mod append;
pub mod catalog;
pub mod checksum;
pub mod config;
pub mod cursor;
pub mod error;
pub mod fork;
pub mod format;
pub mod frame;
pub mod fs;
#[cfg(not(target_os = "wasi"))]
pub mod fs_mem;
pub mod lock;
pub mod moved;
pub mod names;
pub mod oracle;
pub mod pager;
pub mod quarantine;
pub mod reader;
pub mod rewrite;
pub mod store;
pub mod store_error;
pub mod stream;
pub mod tail;

#[cfg(target_os = "wasi")]
mod fs_wasi;
#[cfg(target_os = "wasi")]
mod guest;
