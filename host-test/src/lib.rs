//! Embedding API for the pathway-memory component on wasmtime.
//!
//! ```no_run
//! use pathway_host::{Error, Memory, Options};
//!
//! fn main() -> Result<(), Error> {
//!     let mut memory = Memory::open("agent-state", Options::default())?;
//!     memory.try_append(r#"{"op":"remember","key":"user","value":"Ada"}"#)?;
//!     memory.append_batch(&["1", "2"])?; // one refused event: none stored
//!
//!     // Streamed a page (here 1 MiB) at a time: bounded memory for any size.
//!     let mut state = Vec::new();
//!     let mut entries = memory.entries(None, 1 << 20);
//!     for entry in entries.by_ref() {
//!         match entry? {
//!             Ok(record) => state.push(record),
//!             Err(damage) => eprintln!("skipped {damage}"),
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
//! environment or stdio. Guest stderr is captured and attached to traps.
#![forbid(unsafe_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "pathway",
        additional_derives: [PartialEq, Eq],
    });
}
mod artifact {
    include!(concat!(env!("OUT_DIR"), "/component.rs"));
}
mod plugin;

pub use artifact::{AGENT_PLUGIN_PATH, COMPONENT_BYTES, COMPONENT_PATH, FAILPOINTS_COMPONENT_PATH};
pub use plugin::Plugin;

/// The WIT package the component implements (`wit/pathway.wit`).
pub const WIT: &str = include_str!("../../wit/pathway.wit");
pub use bindings::exports::pathway::memory::log::{
    AppendError, CheckReport, CompactError, CompactReport, CursorError, DamagedLine, InvalidJson,
    Page, RepairReport, TooLarge,
};

/// One replayed entry: `Ok(line)` for a record, `Err("line N: reason")` for
/// a damaged line.
pub type Entry = Result<String, String>;

/// Guest stderr kept per instance; a panic message is far smaller.
const STDERR_CAPACITY: usize = 64 * 1024;

/// Everything that can go wrong in the host; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The component refused the events; nothing of that call was stored.
    #[error("{}", describe_refusal(.0))]
    Refused(AppendError),
    /// The guest trapped (for `append`, a refused event). The instance was
    /// replaced, so the `Memory` stays usable.
    #[error("the component trapped: {message}{}", stderr_suffix(.stderr))]
    Trap { message: String, stderr: String },
    /// The component could not read the log at all (no usable directory,
    /// the log is not a regular file, bad configuration, ...).
    #[error("cannot read the log: {0}")]
    Unreadable(String),
    /// Paged replay could not continue from the cursor.
    #[error("{}", cursor_message(.0))]
    Cursor(CursorError),
    /// Compaction or repair did not replace the log; it is as it was.
    #[error("{}", compact_message(.0))]
    Compact(CompactError),
    /// A file operation (sync, check) failed: the component's message.
    #[error("{0}")]
    Io(String),
    /// The directory cannot be granted to the component.
    #[error("cannot use {}: {source}; pass an existing, accessible directory", .dir.display())]
    Directory {
        dir: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    /// The engine could not compile or instantiate the component.
    #[error("wasmtime could not set up the component: {0:#}")]
    Setup(wasmtime::Error),
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!("\nguest stderr:\n{stderr}")
    }
}

fn cursor_message(error: &CursorError) -> &str {
    match error {
        CursorError::Invalid(m) | CursorError::Stale(m) | CursorError::Unreadable(m) => m,
    }
}

fn compact_message(error: &CompactError) -> String {
    match error {
        CompactError::InvalidEvent(e) => format!("snapshot {}", describe_refusal(e)),
        CompactError::Cursor(e) => cursor_message(e).to_string(),
        CompactError::Busy(m) | CompactError::Io(m) => m.clone(),
    }
}

/// The text of a refusal, with the index of the event it names.
pub fn describe_refusal(error: &AppendError) -> String {
    match error {
        AppendError::InvalidJson(InvalidJson {
            index,
            offset,
            reason,
        }) => format!(
            "event {index} is not exactly one JSON value: {reason} at byte offset {offset}; \
             nothing was stored"
        ),
        AppendError::TooLarge(TooLarge { index, size, limit }) => format!(
            "event {index} is {size} bytes, over the line limit of {limit} bytes \
             (PATHWAY_MAX_LINE); nothing was stored"
        ),
        AppendError::Io(message) => format!("I/O error: {message}"),
        AppendError::InvalidConfig(message) => format!("invalid configuration: {message}"),
    }
}

/// How a log is opened. `Default` gives the component's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// File name of the log inside the directory (`PATHWAY_LOG`).
    pub log_name: Option<String>,
    /// Largest stored line in bytes (`PATHWAY_MAX_LINE`).
    pub max_line: Option<u64>,
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
    /// with a trap instead of the host running out of memory. Default
    /// 1 GiB. Paged replay needs about its page size plus one line.
    pub max_guest_memory: usize,
    /// Longest a single call into the component may run; past it the call
    /// stops with [`Error::Trap`] instead of hanging the host. Default 60 s
    /// (a whole-log replay of 1 GiB takes about 3 s here).
    pub call_timeout: std::time::Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            log_name: None,
            max_line: None,
            guest_path: "/".to_string(),
            read_only: false,
            sync: None,
            max_transfer_bytes: 1 << 30,
            max_guest_memory: 1 << 30,
            call_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// `PATHWAY_SYNC`: when the component syncs appended data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Never (the OS writes back when it likes): survives a process crash,
    /// not a power loss.
    Never,
    /// Before every append returns: survives a power loss.
    Always,
    /// On the first append at least this long after the last sync.
    Interval(std::time::Duration),
}

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncMode::Never => f.write_str("never"),
            SyncMode::Always => f.write_str("always"),
            SyncMode::Interval(every) => write!(f, "interval:{}", every.as_millis()),
        }
    }
}

impl std::str::FromStr for SyncMode {
    type Err = String;
    fn from_str(text: &str) -> Result<SyncMode, String> {
        match text {
            "never" => Ok(SyncMode::Never),
            "always" => Ok(SyncMode::Always),
            _ => text
                .strip_prefix("interval:")
                .and_then(|ms| ms.parse().ok())
                .map(|ms| SyncMode::Interval(std::time::Duration::from_millis(ms)))
                .ok_or_else(|| {
                    format!("{text:?} is not a sync mode: use never, always or interval:<ms>")
                }),
        }
    }
}

/// The engine and the compiled component, shared by every [`Memory`].
/// Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    pre: bindings::PathwayPre<HostState>,
}

impl Runtime {
    /// Compiles `component` (the bytes of a `.wasm` component).
    ///
    /// Compiled code is kept in wasmtime's on-disk cache (its default
    /// directory, under the user's cache dir), so a second process skips the
    /// compilation; without a usable cache directory it just compiles.
    pub fn new(component: &[u8]) -> Result<Runtime, Error> {
        let mut config = wasmtime::Config::new();
        match wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => log::debug!("compiling without a code cache: {e:#}"),
        }
        // Calls get a deadline (Options::call_timeout): compiled code checks
        // an epoch that a ticker thread advances every EPOCH_TICK.
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(Error::Setup)?;
        spawn_epoch_ticker(&engine);
        let component = Component::new(&engine, component).map_err(Error::Setup)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Setup)?;
        let pre = linker.instantiate_pre(&component).map_err(Error::Setup)?;
        let pre = bindings::PathwayPre::new(pre).map_err(Error::Setup)?;
        Ok(Runtime { engine, pre })
    }

    /// The embedded component, compiled on first use and kept for the
    /// process.
    pub fn shared() -> Result<&'static Runtime, Error> {
        static SHARED: OnceLock<Runtime> = OnceLock::new();
        if let Some(runtime) = SHARED.get() {
            return Ok(runtime);
        }
        let runtime = Runtime::new(COMPONENT_BYTES)?;
        Ok(SHARED.get_or_init(|| runtime))
    }
}

/// How often the engine's epoch advances; deadlines are whole ticks.
const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// Advances `engine`'s epoch every [`EPOCH_TICK`] until the engine is gone.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// A call timeout in epoch ticks, at least one.
fn deadline_ticks(timeout: std::time::Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

struct HostState {
    ctx: WasiCtx,
    table: ResourceTable,
    limits: MemoryCap,
}

/// wasmtime's [`StoreLimits`](wasmtime::StoreLimits), failing a refused
/// growth with [`CapReached`], so that the error can say what the cap was
/// and what to do instead of wasmtime's bare "forcing trap when growing
/// memory".
struct MemoryCap {
    limits: wasmtime::StoreLimits,
    cap: usize,
}

impl MemoryCap {
    fn new(cap: usize) -> MemoryCap {
        MemoryCap {
            limits: wasmtime::StoreLimitsBuilder::new().memory_size(cap).build(),
            cap,
        }
    }
}

/// The trap of a growth past [`Options::max_guest_memory`].
#[derive(Debug)]
struct CapReached {
    wanted: usize,
    cap: usize,
}

impl std::fmt::Display for CapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the component needed {} MiB of memory, over the cap of {} MiB \
             (Options::max_guest_memory, `--max-memory-mib`), and was stopped; nothing stored \
             is lost; raise the cap, or read the log page by page",
            self.wanted.div_ceil(1 << 20),
            self.cap >> 20
        )
    }
}

impl std::error::Error for CapReached {}

impl CapReached {
    /// The cap's message if `error` is a [`CapReached`] trap.
    fn message(error: &wasmtime::Error) -> Option<String> {
        error.downcast_ref::<CapReached>().map(ToString::to_string)
    }
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.limits.memory_growing(current, desired, maximum)? {
            // Trap rather than hand the guest a failed `memory.grow`: Rust's
            // allocator would abort with a less useful message anyway.
            return Err(wasmtime::Error::new(CapReached {
                wanted: desired,
                cap: self.cap,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// One log in one directory, served by its own component instance.
pub struct Memory {
    runtime: Runtime,
    dir: PathBuf,
    options: Options,
    instance: Instance,
}

struct Instance {
    store: Store<HostState>,
    bindings: bindings::Pathway,
    stderr: MemoryOutputPipe,
}

impl Memory {
    /// Opens the log in `dir` with the shared runtime.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Memory, Error> {
        Memory::open_with(Runtime::shared()?, dir, options)
    }

    /// Opens the log in `dir` with a given runtime.
    pub fn open_with(
        runtime: &Runtime,
        dir: impl AsRef<Path>,
        options: Options,
    ) -> Result<Memory, Error> {
        let dir = dir.as_ref().to_path_buf();
        let instance = Instance::new(runtime, &dir, &options)?;
        Ok(Memory {
            runtime: runtime.clone(),
            dir,
            options,
            instance,
        })
    }

    /// Path of the log file on the host.
    pub fn log_path(&self) -> PathBuf {
        let name = self.options.log_name.as_deref().unwrap_or("pathway.jsonl");
        self.dir.join(name)
    }

    /// Appends through the WIT `append`, which traps on a refused event.
    /// The trap comes back as [`Error::Trap`] with the guest's message, and
    /// the instance is replaced so this `Memory` stays usable.
    pub fn append(&mut self, event: &str) -> Result<(), Error> {
        self.call(|log, store| log.call_append(store, event))
    }

    /// Appends one event; a refusal comes back as [`Error::Refused`].
    pub fn try_append(&mut self, event: &str) -> Result<(), Error> {
        self.call(|log, store| log.call_try_append(store, event))?
            .map_err(Error::Refused)
    }

    /// Appends all events or none: every event is validated first, and the
    /// error names the index of the first one refused.
    pub fn append_batch<S: AsRef<str>>(&mut self, events: &[S]) -> Result<(), Error> {
        let events: Vec<String> = events.iter().map(|e| e.as_ref().to_string()).collect();
        self.call(|log, store| log.call_append_batch(store, &events))?
            .map_err(Error::Refused)
    }

    /// Every entry of the log in file order. Each damaged line is logged as
    /// a warning that names the file, and a summary at info level. When the
    /// log cannot be read at all (the WIT's single `err` that names no
    /// line), this is [`Error::Unreadable`] rather than an entry.
    pub fn replay(&mut self) -> Result<Vec<Entry>, Error> {
        let mut entries = self.call(|log, store| log.call_replay(store))?;
        if let [Err(message)] = entries.as_mut_slice()
            && !names_a_line(message)
        {
            return Err(Error::Unreadable(std::mem::take(message)));
        }
        let path = self.log_path();
        let mut damaged = 0usize;
        for message in entries.iter().filter_map(|e| e.as_ref().err()) {
            damaged += 1;
            log::warn!("{}: {message}", path.display());
        }
        log::info!(
            "{}: replay kept {} records and skipped {damaged} damaged lines",
            path.display(),
            entries.len() - damaged
        );
        Ok(entries)
    }

    /// Forces appended data to stable storage.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.call(|log, store| log.call_sync(store))?
            .map_err(Error::Io)
    }

    /// Entries from `cursor` (none: the start) until about `max_bytes` of
    /// the log were read. Damaged lines are logged as warnings.
    pub fn replay_page(&mut self, cursor: Option<&str>, max_bytes: u32) -> Result<Page, Error> {
        let page = self
            .call(|log, store| log.call_replay_page(store, cursor, max_bytes))?
            .map_err(Error::Cursor)?;
        let path = self.log_path();
        for message in page.entries.iter().filter_map(|e| e.as_ref().err()) {
            log::warn!("{}: {message}", path.display());
        }
        Ok(page)
    }

    /// Streams the log page by page (`max_bytes` each) from `cursor`; guest
    /// and host memory stay bounded whatever the log's size. The last line,
    /// if it has no `\n` yet, comes last.
    pub fn entries(&mut self, cursor: Option<String>, max_bytes: u32) -> Entries<'_> {
        Entries {
            memory: self,
            cursor,
            max_bytes,
            pending: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// A cursor at the end of the log as it is now (all complete lines read).
    pub fn end_cursor(&mut self) -> Result<String, Error> {
        let mut cursor = None;
        loop {
            let page = self
                .call(|log, store| log.call_replay_page(store, cursor.as_deref(), 4 << 20))?
                .map_err(Error::Cursor)?;
            if page.at_end {
                return Ok(page.next);
            }
            cursor = Some(page.next);
        }
    }

    /// Replaces everything up to `upto` (a cursor: what `snapshot` folds)
    /// with the snapshot's events; records after `upto` are kept.
    pub fn compact<S: AsRef<str>>(
        &mut self,
        snapshot: &[S],
        upto: &str,
    ) -> Result<CompactReport, Error> {
        let snapshot: Vec<String> = snapshot.iter().map(|e| e.as_ref().to_string()).collect();
        let report = self
            .call(|log, store| log.call_compact(store, &snapshot, upto))?
            .map_err(Error::Compact)?;
        log::info!(
            "{}: compacted {} bytes into {} ({} snapshot records, {} bytes kept after the cursor)",
            self.log_path().display(),
            report.bytes_before,
            report.bytes_after,
            report.snapshot_records,
            report.kept_bytes
        );
        Ok(report)
    }

    /// Reports on the log: records, damaged lines, torn tail, leftovers.
    pub fn check(&mut self) -> Result<CheckReport, Error> {
        self.call(|log, store| log.call_check(store))?
            .map_err(Error::Unreadable)
    }

    /// Rewrites the log without its damaged lines, which are kept in the
    /// quarantine file.
    pub fn repair(&mut self) -> Result<RepairReport, Error> {
        let report = self
            .call(|log, store| log.call_repair(store))?
            .map_err(Error::Compact)?;
        for line in &report.removed {
            log::info!(
                "{}: moved line {} (byte offset {}, {} bytes) to {}: {}",
                self.log_path().display(),
                line.line,
                line.offset,
                line.length,
                report.quarantine,
                line.reason
            );
        }
        Ok(report)
    }

    /// Calls into the instance; a trap becomes [`Error::Trap`].
    fn call<R>(
        &mut self,
        f: impl FnOnce(
            &bindings::exports::pathway::memory::log::Guest,
            &mut Store<HostState>,
        ) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let Instance {
            store, bindings, ..
        } = &mut self.instance;
        store.set_epoch_deadline(deadline_ticks(self.options.call_timeout));
        // The whole call runs inside wasmtime-wasi's tokio runtime context,
        // entered once: each WASI call then just polls its future on this
        // thread instead of entering the runtime and yielding to it first
        // (its fallback for callers outside any runtime). Measured: about
        // 3 % of a one-event append (4 WASI calls).
        wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| {
            f(bindings.pathway_memory_log(), store)
        })
        .map_err(|trap| self.recover_from_trap(trap))
    }

    /// Builds a fresh instance after a trap (a trapped instance cannot be
    /// entered again) and turns the trap into an [`Error::Trap`].
    fn recover_from_trap(&mut self, trap: wasmtime::Error) -> Error {
        let stderr = String::from_utf8_lossy(&self.instance.stderr.contents()).into_owned();
        let timed_out = trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt);
        let message = if let Some(cap) = CapReached::message(&trap) {
            cap
        } else if timed_out {
            format!(
                "the call ran longer than the deadline of {:?} (Options::call_timeout) and was \
                 stopped; nothing it would have returned is lost on disk; raise the deadline or \
                 read the log page by page",
                self.options.call_timeout
            )
        } else {
            format!("{trap:#}")
        };
        match Instance::new(&self.runtime, &self.dir, &self.options) {
            Ok(fresh) => self.instance = fresh,
            Err(e) => log::error!("could not replace the trapped instance: {e}"),
        }
        Error::Trap { message, stderr }
    }
}

/// Iterator returned by [`Memory::entries`].
pub struct Entries<'a> {
    memory: &'a mut Memory,
    cursor: Option<String>,
    max_bytes: u32,
    pending: std::collections::VecDeque<Entry>,
    done: bool,
}

impl Entries<'_> {
    /// Where the stream stands: pass it to [`Memory::entries`] later to
    /// read only what was appended since.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Result<Entry, Error>> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            match self
                .memory
                .replay_page(self.cursor.as_deref(), self.max_bytes)
            {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(page) => {
                    self.pending.extend(page.entries);
                    self.cursor = Some(page.next);
                    if page.at_end {
                        self.done = true;
                        if let Some(Err(message)) = &page.tail {
                            log::warn!("{}: {message}", self.memory.log_path().display());
                        }
                        self.pending.extend(page.tail);
                    }
                }
            }
        }
    }
}

/// Whether a replay error is about one line (`line N: ...`) rather than
/// the whole log.
fn names_a_line(message: &str) -> bool {
    message
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Instance {
    fn new(runtime: &Runtime, dir: &Path, options: &Options) -> Result<Instance, Error> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let perms = if options.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        let mut wasi = WasiCtxBuilder::new();
        // Files are written on the calling thread: handing each write to a
        // thread pool costs ~40 µs an append.
        wasi.allow_blocking_current_thread(true)
            .stderr(stderr.clone());
        wasi.preopened_dir(dir, &options.guest_path, perms)
            .map_err(|source| Error::Directory {
                dir: dir.to_path_buf(),
                source,
            })?;
        if let Some(name) = &options.log_name {
            wasi.env("PATHWAY_LOG", name);
        }
        if let Some(sync) = options.sync {
            wasi.env("PATHWAY_SYNC", sync.to_string());
        }
        if let Some(max_line) = options.max_line {
            wasi.env("PATHWAY_MAX_LINE", max_line.to_string());
        }
        let mut store = Store::new(
            &runtime.engine,
            HostState {
                ctx: wasi.build(),
                table: ResourceTable::new(),
                limits: MemoryCap::new(options.max_guest_memory),
            },
        );
        store.limiter(|state| &mut state.limits);
        store.set_hostcall_fuel(options.max_transfer_bytes);
        store.set_epoch_deadline(deadline_ticks(options.call_timeout));
        let bindings = runtime
            .pre
            .instantiate(&mut store)
            .map_err(|e| Error::Setup(CapReached::message(&e).map_or(e, wasmtime::Error::msg)))?;
        Ok(Instance {
            store,
            bindings,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::names_a_line;

    #[test]
    fn replay_errors_about_one_line_start_with_its_number() {
        assert!(names_a_line("line 12: at byte offset 3: ..."));
        assert!(!names_a_line("line : x"));
        assert!(!names_a_line("line 1x: x"));
        assert!(!names_a_line("no directory is granted: ..."));
        assert!(!names_a_line("PATHWAY_LOG=\"line 1:\" cannot be used"));
    }
}
