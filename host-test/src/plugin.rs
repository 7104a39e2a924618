//! Agent plugins: command components (`wasi:cli/run`) that import
//! `pathway:memory/log@0.1.0`, run against a [`Memory`].
//!
//! No composition tool is involved: the plugin's linker defines the log's
//! functions, and each forwards to the pathway component instance that the
//! [`Memory`] in the plugin's store holds. So the two stay two sandboxes:
//! the plugin gets WASI stdio and its arguments and no directory, the
//! pathway component gets the log's directory and nothing else, and each
//! has its own memory cap and deadline ([`Options`]).
//!
//! ```no_run
//! use pathway_host::{Memory, Options, Plugin, Runtime};
//!
//! # fn main() -> Result<(), pathway_host::Error> {
//! let memory = Memory::open("agent-state", Options::default())?;
//! let wasm = std::fs::read(pathway_host::AGENT_PLUGIN_PATH).expect("built by build.rs");
//! let plugin = Plugin::new(Runtime::shared()?, &wasm)?;
//! let status = plugin.run(memory, &["agent", "hello"])?;
//! # let _ = status;
//! # Ok(())
//! # }
//! ```

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::exports::pathway::memory::log as exported;
use crate::{CapReached, Error, Memory, MemoryCap, Runtime, deadline_ticks};

mod bindings {
    // The log as a plugin imports it. Host functions may fail (a trap or a
    // deadline in the pathway component), which traps the plugin.
    wasmtime::component::bindgen!({
        inline: "package pathway:plugin-host;
                 world plugin { import pathway:memory/log@0.1.0; }",
        path: "../wit",
        imports: { default: trappable },
    });
}

use bindings::pathway::memory::log;

/// A compiled plugin component, ready to run any number of times.
pub struct Plugin {
    engine: wasmtime::Engine,
    pre: CommandPre<PluginState>,
}

/// A plugin's store: its own WASI context and the pathway instance its
/// `pathway:memory/log` imports forward to.
struct PluginState {
    ctx: WasiCtx,
    table: ResourceTable,
    limits: MemoryCap,
    memory: Memory,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

impl Plugin {
    /// Compiles `wasm`, a command component whose imports are WASI and
    /// `pathway:memory/log@0.1.0` (it need not import the log), with the
    /// runtime's engine (and so its code cache). Anything else it imports
    /// is an [`Error::Setup`] that names the import.
    pub fn new(runtime: &Runtime, wasm: &[u8]) -> Result<Plugin, Error> {
        let engine = runtime.engine.clone();
        let component = Component::new(&engine, wasm).map_err(Error::Setup)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Setup)?;
        log::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).map_err(Error::Setup)?;
        let pre = linker.instantiate_pre(&component).map_err(Error::Setup)?;
        let pre = CommandPre::new(pre).map_err(|e| {
            Error::Setup(e.context("the plugin must be a command component (export wasi:cli/run)"))
        })?;
        Ok(Plugin { engine, pre })
    }

    /// Runs the plugin once, its log imports served by `memory`, and returns
    /// its exit status. `argv` is what the plugin sees as its arguments, its
    /// name first. Its stdio is this process's; it gets no environment and
    /// no directory. The memory's [`Options`](crate::Options) cap the
    /// plugin's memory and give the whole run its deadline.
    pub fn run(&self, memory: Memory, argv: &[impl AsRef<str>]) -> Result<i32, Error> {
        let options = memory.options.clone();
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdio().args(argv);
        let mut store = Store::new(
            &self.engine,
            PluginState {
                ctx: wasi.build(),
                table: ResourceTable::new(),
                limits: MemoryCap::new(options.max_guest_memory),
                memory,
            },
        );
        store.limiter(|state| &mut state.limits);
        store.set_hostcall_fuel(options.max_transfer_bytes);
        store.set_epoch_deadline(deadline_ticks(options.call_timeout));
        let outcome = self.pre.instantiate(&mut store).and_then(|command| {
            wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| {
                command.wasi_cli_run().call_run(&mut store)
            })
        });
        match outcome {
            Ok(Ok(())) => Ok(0),
            Ok(Err(())) => Ok(1),
            // Our component failed under the plugin (a cap, a deadline, a
            // refused `append`): its own error says it best.
            Err(e) => match e.downcast::<Error>() {
                Ok(ours) => Err(ours),
                Err(e) => match e.downcast_ref::<I32Exit>() {
                    Some(I32Exit(status)) => Ok(*status),
                    None => {
                        let timed_out =
                            e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt);
                        let message = match CapReached::message(&e) {
                            Some(cap) => cap,
                            None if timed_out => format!(
                                "the plugin ran longer than the deadline of {:?} \
                             (Options::call_timeout, `--timeout-secs`) and was stopped",
                                options.call_timeout
                            ),
                            None => format!("the plugin failed: {e:#}"),
                        };
                        Err(Error::Trap {
                            message,
                            stderr: String::new(),
                        })
                    }
                },
            },
        }
    }
}

impl PluginState {
    /// Calls the pathway component; its failure (a trap, a deadline) traps
    /// the plugin with the same message.
    fn forward<R>(
        &mut self,
        f: impl FnOnce(&exported::Guest, &mut Store<crate::HostState>) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        self.memory.call(f).map_err(wasmtime::Error::new)
    }
}

impl log::Host for PluginState {
    fn append(&mut self, event: String) -> wasmtime::Result<()> {
        self.forward(|log, store| log.call_append(store, &event))
    }

    fn try_append(&mut self, event: String) -> wasmtime::Result<Result<(), log::AppendError>> {
        let result = self.forward(|log, store| log.call_try_append(store, &event))?;
        Ok(result.map_err(Into::into))
    }

    fn append_batch(
        &mut self,
        events: Vec<String>,
    ) -> wasmtime::Result<Result<(), log::AppendError>> {
        let result = self.forward(|log, store| log.call_append_batch(store, &events))?;
        Ok(result.map_err(Into::into))
    }

    fn replay(&mut self) -> wasmtime::Result<Vec<Result<String, String>>> {
        self.forward(|log, store| log.call_replay(store))
    }

    fn sync(&mut self) -> wasmtime::Result<Result<(), String>> {
        self.forward(|log, store| log.call_sync(store))
    }

    fn replay_page(
        &mut self,
        cursor: Option<String>,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<log::Page, log::CursorError>> {
        let result =
            self.forward(|log, store| log.call_replay_page(store, cursor.as_deref(), max_bytes))?;
        Ok(result.map(Into::into).map_err(Into::into))
    }

    fn compact(
        &mut self,
        snapshot: Vec<String>,
        upto: String,
    ) -> wasmtime::Result<Result<log::CompactReport, log::CompactError>> {
        let result = self.forward(|log, store| log.call_compact(store, &snapshot, &upto))?;
        Ok(result.map(Into::into).map_err(Into::into))
    }

    fn check(&mut self) -> wasmtime::Result<Result<log::CheckReport, String>> {
        let result = self.forward(|log, store| log.call_check(store))?;
        Ok(result.map(Into::into))
    }

    fn repair(&mut self) -> wasmtime::Result<Result<log::RepairReport, log::CompactError>> {
        let result = self.forward(|log, store| log.call_repair(store))?;
        Ok(result.map(Into::into).map_err(Into::into))
    }
}

// bindgen gives the imported and the exported interface each its own copy
// of every WIT type (wasmtime's `with` remaps only resources), so values
// cross from one to the other field by field. A WIT change that misses one
// fails to compile here.

impl From<exported::AppendError> for log::AppendError {
    fn from(error: exported::AppendError) -> log::AppendError {
        match error {
            exported::AppendError::InvalidJson(e) => {
                log::AppendError::InvalidJson(log::InvalidJson {
                    index: e.index,
                    offset: e.offset,
                    reason: e.reason,
                })
            }
            exported::AppendError::TooLarge(e) => log::AppendError::TooLarge(log::TooLarge {
                index: e.index,
                size: e.size,
                limit: e.limit,
            }),
            exported::AppendError::Io(m) => log::AppendError::Io(m),
            exported::AppendError::InvalidConfig(m) => log::AppendError::InvalidConfig(m),
        }
    }
}

impl From<exported::Page> for log::Page {
    fn from(page: exported::Page) -> log::Page {
        log::Page {
            entries: page.entries,
            tail: page.tail,
            next: page.next,
            at_end: page.at_end,
        }
    }
}

impl From<exported::CursorError> for log::CursorError {
    fn from(error: exported::CursorError) -> log::CursorError {
        match error {
            exported::CursorError::Invalid(m) => log::CursorError::Invalid(m),
            exported::CursorError::Stale(m) => log::CursorError::Stale(m),
            exported::CursorError::Unreadable(m) => log::CursorError::Unreadable(m),
        }
    }
}

impl From<exported::CompactReport> for log::CompactReport {
    fn from(report: exported::CompactReport) -> log::CompactReport {
        log::CompactReport {
            snapshot_records: report.snapshot_records,
            kept_bytes: report.kept_bytes,
            bytes_before: report.bytes_before,
            bytes_after: report.bytes_after,
        }
    }
}

impl From<exported::CompactError> for log::CompactError {
    fn from(error: exported::CompactError) -> log::CompactError {
        match error {
            exported::CompactError::InvalidEvent(e) => log::CompactError::InvalidEvent(e.into()),
            exported::CompactError::Cursor(e) => log::CompactError::Cursor(e.into()),
            exported::CompactError::Busy(m) => log::CompactError::Busy(m),
            exported::CompactError::Io(m) => log::CompactError::Io(m),
        }
    }
}

impl From<exported::DamagedLine> for log::DamagedLine {
    fn from(line: exported::DamagedLine) -> log::DamagedLine {
        log::DamagedLine {
            line: line.line,
            offset: line.offset,
            length: line.length,
            torn: line.torn,
            reason: line.reason,
        }
    }
}

impl From<exported::CheckReport> for log::CheckReport {
    fn from(report: exported::CheckReport) -> log::CheckReport {
        log::CheckReport {
            bytes: report.bytes,
            records: report.records,
            damaged: report.damaged.into_iter().map(Into::into).collect(),
            torn_tail: report.torn_tail,
            leftovers: report.leftovers,
        }
    }
}

impl From<exported::RepairReport> for log::RepairReport {
    fn from(report: exported::RepairReport) -> log::RepairReport {
        log::RepairReport {
            removed: report.removed.into_iter().map(Into::into).collect(),
            quarantine: report.quarantine,
            bytes_before: report.bytes_before,
            bytes_after: report.bytes_after,
        }
    }
}
