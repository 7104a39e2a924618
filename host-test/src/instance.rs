//! One instance of the component: its store (WASI context, linear-memory
//! cap, deadline, transfer limit), the typed bindings and, for forwarding
//! a plugin's imports, the raw instance.

use std::collections::HashMap;
use std::path::Path;

use wasmtime::Store;
use wasmtime::component::{Func, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe as CapturedStderr;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::PathwayStream as Bindings;
use crate::limits::LinearMemoryCap;
use crate::runtime::deadline_ticks;
use crate::{Error, Options, Runtime, interface_name};

/// Guest stderr kept per instance; a panic message is far smaller.
const STDERR_CAPACITY: usize = 64 * 1024;

pub(crate) struct HostState {
    ctx: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: LinearMemoryCap,
    /// The stream the log lives in, for the stream build's imports.
    #[cfg(feature = "nats")]
    pub(crate) stream: Option<Box<crate::nats::NatsStream>>,
}

/// What an instance is granted: the log's directory, or the stream it
/// lives in (carried over to the fresh instance after a trap, so the
/// connection stays).
pub(crate) enum Grant<'a> {
    Directory(&'a Path),
    #[cfg(feature = "nats")]
    Stream(Box<crate::nats::NatsStream>),
    /// Neither (a stream log in a host built without `nats`: the
    /// component's stream import fails, and the component says why).
    #[cfg(not(feature = "nats"))]
    Nothing,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) bindings: Bindings,
    raw: wasmtime::component::Instance,
    /// The log's functions by name, looked up on first forwarded call.
    funcs: HashMap<String, Func>,
    pub(crate) stderr: CapturedStderr,
}

impl Instance {
    pub(crate) fn new(
        runtime: &Runtime,
        grant: Grant,
        options: &Options,
    ) -> Result<Instance, Error> {
        let stderr = CapturedStderr::new(STDERR_CAPACITY);
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
        #[cfg(feature = "nats")]
        let mut stream = None;
        match grant {
            Grant::Directory(dir) => {
                wasi.preopened_dir(dir, &options.guest_path, perms)
                    .map_err(|reason| Error::Directory {
                        dir: dir.to_path_buf(),
                        reason,
                    })?;
            }
            #[cfg(feature = "nats")]
            Grant::Stream(granted) => stream = Some(granted),
            #[cfg(not(feature = "nats"))]
            Grant::Nothing => {}
        }
        if let Some(name) = &options.log_name {
            wasi.env("PATHWAY_LOG", name);
        }
        if let Some(name) = &options.log {
            wasi.env("PATHWAY_NAME", name);
        }
        if let Some(quota) = options.quota {
            wasi.env("PATHWAY_QUOTA", quota.to_string());
        }
        if let Some(sync) = options.sync {
            wasi.env("PATHWAY_SYNC", sync.to_string());
        }
        if let Some(max_line) = options.max_line {
            wasi.env("PATHWAY_MAX_LINE", max_line.to_string());
        }
        if let Some(max_depth) = options.max_depth {
            wasi.env("PATHWAY_MAX_DEPTH", max_depth.to_string());
        }
        let mut store = Store::new(
            &runtime.engine,
            HostState {
                ctx: wasi.build(),
                table: ResourceTable::new(),
                limits: LinearMemoryCap::new(options.max_guest_memory),
                #[cfg(feature = "nats")]
                stream,
            },
        );
        store.limiter(|state| &mut state.limits);
        store.set_hostcall_fuel(options.max_transfer_bytes);
        store.set_epoch_deadline(deadline_ticks(options.call_timeout));
        let raw = runtime
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(Error::Setup)?;
        let bindings = Bindings::new(&mut store, &raw).map_err(Error::Setup)?;
        Ok(Instance {
            store,
            bindings,
            raw,
            funcs: HashMap::new(),
            stderr,
        })
    }

    /// The exported log function `name` (`try-append`, ...), for calls
    /// with dynamic values.
    pub(crate) fn func(&mut self, name: &str) -> wasmtime::Result<Func> {
        if let Some(func) = self.funcs.get(name) {
            return Ok(*func);
        }
        let interface = self
            .raw
            .get_export_index(&mut self.store, None, interface_name())
            .ok_or_else(|| {
                wasmtime::format_err!("the component exports no {}", interface_name())
            })?;
        let func = self
            .raw
            .get_export_index(&mut self.store, Some(&interface), name)
            .and_then(|index| self.raw.get_func(&mut self.store, index))
            .ok_or_else(|| {
                wasmtime::format_err!("{} has no function `{name}`", interface_name())
            })?;
        self.funcs.insert(name.to_string(), func);
        Ok(func)
    }
}
