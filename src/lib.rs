//! # pathway-memory
//!
//! An append-only JSON Lines event log packaged as a WebAssembly component
//! (`wit/pathway.wit`). The host grants one directory; the component keeps
//! one file there and touches nothing else.
//!
//! ## File format
//!
//! A record is one line: one JSON value (any type) in UTF-8, ended by `\n`.
//! The file is named by `PATHWAY_LOG` (default `pathway.jsonl`) and lives
//! directly in the first directory the host preopens. No header, no
//! checksums: any JSON Lines tool reads it.
//!
//! ## Rules
//!
//! 1. A record is one line holding one JSON value, ended by `\n`.
//! 2. `append` refuses anything that is not exactly one JSON value, and any
//!    line over `PATHWAY_MAX_LINE` bytes (default 1 MiB); it then writes
//!    nothing.
//! 3. Pretty-printed JSON is stored on one line: its raw `\n` and `\r`
//!    (which valid JSON only has between tokens) are removed, so the stored
//!    line parses to the same value.
//! 4. Each append call goes out in one write on a file opened for appending
//!    and kept open, so records of concurrent appenders never tear or
//!    interleave. The honest limit: a write is one call only up to the
//!    host's write permit (`check-write`; 64 KiB on wasmtime). A larger
//!    record is written in several calls, and only then may another
//!    appender's record land between its pieces.
//! 5. If the file does not end in `\n` (a write torn by a crash), the next
//!    append first ends that line. Every append reads the size first;
//!    while it is what the instance's own last write left, the file ends in
//!    its `\n` and no byte is read. The stat after the write shows whether
//!    anyone else wrote in the moment between; if the record went on
//!    another writer's unterminated line it is taken back (still the end)
//!    or left, and appended again on a line of its own. Append never cuts
//!    the file, and overwrites only bytes provably its own with a blank
//!    line.
//! 6. Replay ignores a UTF-8 BOM at the start and a `\r` before `\n`; blank
//!    lines and a compaction's seal line (see [`lock`]) give no entry;
//!    every other line gives a record or
//!    `line N: reason`. A bad line never affects another. A last line
//!    without `\n` is a record if valid, else a torn write.
//! 7. A missing log file replays as empty. No granted directory, or one that
//!    is gone, is an error, never "empty".
//! 8. No input, in a call or on disk, makes the component panic or trap,
//!    except `append`'s documented trap on a refused event.
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
//!   (compaction, repair and check), [`quarantine`] (where repair puts
//!   damaged lines), [`store`] (one instance's log on top
//!   of them), [`store_error`] (their failures, and the text made once),
//!   [`remote_error`] (the words of a log served from NATS JetStream by
//!   the host);
//! - [`fs`]: the file-system operations they need, and [`fs_mem`] (native
//!   only), an in-memory disk that can lose power, for the tests.
//!
//! Built for wasm only: `guest` (the bindings and the exported interface)
//! and `fs_wasi` (the file system on `wasi:filesystem`).

pub mod append;
pub mod config;
pub mod cursor;
pub mod error;
pub mod format;
pub mod frame;
pub mod fs;
#[cfg(not(target_os = "wasi"))]
pub mod fs_mem;
pub mod lock;
pub mod oracle;
pub mod pager;
pub mod quarantine;
pub mod reader;
pub mod remote_error;
pub mod rewrite;
pub mod store;
pub mod store_error;

#[cfg(target_os = "wasi")]
mod fs_wasi;
#[cfg(target_os = "wasi")]
mod guest;
