//! The host library, the CLI, the plugin and the Node and Python hosts on
//! a directory log: one test binary, so that wasmtime is linked once (see
//! `processes` and `nats` for the other groups).

#[path = "../common/mod.rs"]
mod common;
/// The nats-server processes of the cross-host run on a stream.
#[path = "../nats/support.rs"]
mod support;

mod check_repair;
mod cli;
mod compaction;
mod concurrency;
mod cross_host;
mod differential;
mod durability;
mod faults;
mod named;
mod paging;
mod plugin;
mod polyglot;
mod recovery;
mod refusals;
mod round_trip;
mod sandbox;
mod wasmtime_cli;
