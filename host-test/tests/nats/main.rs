//! The NATS JetStream provider against real nats-server processes, each
//! test starting its own on free loopback ports.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod cli;
mod compaction;
mod differential;
mod durability;
mod errors;
mod memory;
mod named;
mod plugin;
