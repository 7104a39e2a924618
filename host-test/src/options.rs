//! How a log is opened.

use std::time::Duration;

use crate::NatsTarget;

/// `PATHWAY_SYNC`, parsed by the component's own parser (`never`, `always`
/// or `interval:<ms>`), so the host and the component agree on it.
pub use pathway_memory::config::SyncMode;

/// How a log is opened. `Default` gives the component's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// File name of the log inside the directory (`PATHWAY_LOG`); `None`:
    /// the component's default, which [`Memory::settings`](crate::Memory)
    /// reports.
    pub log_name: Option<String>,
    /// The log of the grant to open by name (`PATHWAY_NAME`: the file
    /// `<name>.jsonl`); the component checks it and refuses a bad one with
    /// `invalid-name`. Excludes `log_name`. One instance can also serve
    /// many logs: [`Memory::log`](crate::Memory::log).
    pub log: Option<String>,
    /// The most bytes all files of the grant (all messages of the stream)
    /// may hold together (`PATHWAY_QUOTA`); appends and forks past it are
    /// refused with `quota-exceeded`. `None`: no limit.
    pub quota: Option<u64>,
    /// Largest stored line in bytes (`PATHWAY_MAX_LINE`).
    pub max_line: Option<u64>,
    /// How deep an appended event may nest arrays and objects
    /// (`PATHWAY_MAX_DEPTH`, default 127).
    pub max_depth: Option<u32>,
    /// The path the guest sees the directory under.
    pub guest_path: String,
    /// Grant the directory read-only: replay works, appends fail.
    pub read_only: bool,
    /// When appends are synced to stable storage (`PATHWAY_SYNC`).
    pub sync: Option<SyncMode>,
    /// Most bytes one call may hand from the guest to the host (wasmtime's
    /// hostcall fuel), which bounds what one `replay` can return; past it
    /// the call fails with an error instead of the host allocating without
    /// limit. Default 1 GiB (wasmtime's own default is 128 MiB).
    pub max_transfer_bytes: usize,
    /// Most linear memory the guest may grow to; past it, the call fails
    /// with [`Error::Trap`](crate::Error) instead of the host running out
    /// of memory. Default 1 GiB. Paged replay needs about its page size
    /// plus one line.
    pub max_guest_memory: usize,
    /// Longest a single call into the component may run; past it the call
    /// stops with [`Error::Trap`](crate::Error) instead of hanging the
    /// host. Default 60 s (a whole-log replay of 1 GiB takes about 3 s
    /// here).
    pub call_timeout: Duration,
    /// Keep the log in this NATS JetStream stream instead of a directory
    /// ([`Memory::open`](crate::Memory::open) then ignores its directory;
    /// needs the cargo feature `nats`); `None`: the file log.
    pub nats: Option<NatsTarget>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            log_name: None,
            log: None,
            quota: None,
            max_line: None,
            max_depth: None,
            guest_path: "/".to_string(),
            read_only: false,
            sync: None,
            max_transfer_bytes: 1 << 30,
            max_guest_memory: 1 << 30,
            call_timeout: Duration::from_secs(60),
            nats: None,
        }
    }
}
