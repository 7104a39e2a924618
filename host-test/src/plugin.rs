//! Agent plugins: command components (`wasi:cli/run`) that import the
//! log interface (`pathway:memory/log@0.3.0`), run against a
//! [`Memory`](crate::Memory) (in a directory or a stream alike).
//!
//! No composition tool is involved: the plugin's linker defines each log
//! function the plugin imports as a host function that forwards its
//! arguments, as dynamic values, to the same function of the pathway
//! component instance that the [`Memory`](crate::Memory) in the plugin's store holds, and
//! its results back. Nothing here names a field of the interface, so a
//! change to the WIT needs no change here. The two stay two sandboxes: the
//! plugin gets WASI stdio and its arguments and no directory, the pathway
//! component gets the log's directory and nothing else, and each has its
//! own memory cap and deadline ([`Options`](crate::Options)).
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

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    Component, Linker, Resource, ResourceAny, ResourceTable, ResourceType, Val,
};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::limits::LinearMemoryCap;
use crate::memory::host_failure;
use crate::runtime::deadline_ticks;
use crate::{Error, Memory, Runtime, interface_name};

/// A compiled plugin component, ready to run any number of times.
pub struct Plugin {
    engine: wasmtime::Engine,
    /// Its log imports forwarded to a pathway component instance.
    pre: CommandPre<PluginState>,
}

/// A plugin's store: its own WASI context and the pathway instance its log
/// imports forward to.
struct PluginState {
    ctx: WasiCtx,
    table: ResourceTable,
    limits: LinearMemoryCap,
    log: Memory,
    /// The named logs the plugin opened: the pathway instance's handles,
    /// by the `rep` of the plugin's handle of each.
    logs: Vec<Option<ResourceAny>>,
}

/// A plugin's handle of a named log (the WIT `named-log` it imports): it
/// stands for a handle of the pathway instance, kept in
/// [`PluginState::logs`].
struct ForwardedLog;

/// `value` as the pathway instance takes it: each plugin handle of a named
/// log replaced by the pathway instance's handle it stands for.
fn inward(store: &mut StoreContextMut<'_, PluginState>, value: &Val) -> wasmtime::Result<Val> {
    Ok(match value {
        Val::Resource(handle) => {
            let rep = handle.try_into_resource::<ForwardedLog>(&mut *store)?.rep();
            let inner = store.data().logs.get(rep as usize).copied().flatten();
            Val::Resource(inner.ok_or_else(|| wasmtime::format_err!("no such log handle"))?)
        }
        Val::Option(Some(v)) => Val::Option(Some(Box::new(inward(store, v)?))),
        Val::Result(Ok(Some(v))) => Val::Result(Ok(Some(Box::new(inward(store, v)?)))),
        Val::Result(Err(Some(v))) => Val::Result(Err(Some(Box::new(inward(store, v)?)))),
        Val::List(items) => Val::List(
            items
                .iter()
                .map(|v| inward(store, v))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// `value` as the plugin takes it: each handle the pathway instance
/// returned kept, and replaced by a plugin handle that stands for it.
fn outward(store: &mut StoreContextMut<'_, PluginState>, value: Val) -> wasmtime::Result<Val> {
    Ok(match value {
        Val::Resource(inner) => {
            let logs = &mut store.data_mut().logs;
            let rep = u32::try_from(logs.len())?;
            logs.push(Some(inner));
            Val::Resource(
                Resource::<ForwardedLog>::new_own(rep).try_into_resource_any(&mut *store)?,
            )
        }
        Val::Option(Some(v)) => Val::Option(Some(Box::new(outward(store, *v)?))),
        Val::Result(Ok(Some(v))) => Val::Result(Ok(Some(Box::new(outward(store, *v)?)))),
        Val::Result(Err(Some(v))) => Val::Result(Err(Some(Box::new(outward(store, *v)?)))),
        other => other,
    })
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
    /// functions of the log interface this component exports (it need not
    /// import the log), with the runtime's engine (and so its code cache).
    /// Anything else it imports is an [`Error::Setup`] that names the
    /// import.
    pub fn new(runtime: &Runtime, wasm: &[u8]) -> Result<Plugin, Error> {
        let engine = runtime.engine.clone();
        let component = Component::new(&engine, wasm).map_err(Error::Setup)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Setup)?;
        let ours = exported_functions(runtime);
        let wanted = component.component_type();
        if let Some(import) = wanted.get_import(&engine, interface_name()) {
            let ComponentItem::ComponentInstance(imported) = import.ty else {
                return Err(Error::Setup(wasmtime::format_err!(
                    "the plugin imports {} as something other than an interface",
                    interface_name()
                )));
            };
            let mut log = linker.instance(interface_name()).map_err(Error::Setup)?;
            for (name, item) in imported.exports(&engine) {
                if !ours.iter().any(|f| f == name) {
                    return Err(Error::Setup(wasmtime::format_err!(
                        "the plugin imports `{name}` from {}, which this component does not \
                         export; build the plugin against this component's WIT (`pathway wit`)",
                        interface_name()
                    )));
                }
                if let ComponentItem::Resource(_) = item.ty {
                    // A named log: the plugin's handle stands for one of the
                    // pathway instance's, dropped with it.
                    log.resource(
                        name,
                        ResourceType::host::<ForwardedLog>(),
                        |mut store: StoreContextMut<'_, PluginState>, rep| {
                            let state = store.data_mut();
                            match state.logs.get_mut(rep as usize).and_then(Option::take) {
                                Some(inner) => {
                                    state.log.drop_handle(inner).map_err(wasmtime::Error::new)
                                }
                                None => Ok(()),
                            }
                        },
                    )
                    .map_err(Error::Setup)?;
                    continue;
                }
                let name = name.to_string();
                log.func_new(
                    &name.clone(),
                    move |mut store: StoreContextMut<'_, PluginState>, _ty, params, results| {
                        let params = params
                            .iter()
                            .map(|v| inward(&mut store, v))
                            .collect::<wasmtime::Result<Vec<_>>>()?;
                        // Our component's failure (a trap, a deadline) traps
                        // the plugin with the same error.
                        store
                            .data_mut()
                            .log
                            .call_dynamic(&name, &params, results)
                            .map_err(wasmtime::Error::new)?;
                        for result in results.iter_mut() {
                            let value = std::mem::replace(result, Val::Bool(false));
                            *result = outward(&mut store, value)?;
                        }
                        Ok(())
                    },
                )
                .map_err(Error::Setup)?;
            }
        }
        let pre = command_pre(&linker, &component)?;
        Ok(Plugin { engine, pre })
    }

    /// Runs the plugin once, its log imports served by `log`, and returns
    /// its exit status. `argv` is what the plugin sees as its arguments, its
    /// name first. Its stdio is this process's; it gets no environment and
    /// no directory. The log's [`Options`](crate::Options) cap the
    /// plugin's memory and give the whole run its deadline.
    pub fn run(&self, log: Memory, argv: &[impl AsRef<str>]) -> Result<i32, Error> {
        let options = log.options.clone();
        let pre = &self.pre;
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdio().args(argv);
        let mut store = Store::new(
            &self.engine,
            PluginState {
                ctx: wasi.build(),
                table: ResourceTable::new(),
                limits: LinearMemoryCap::new(options.max_guest_memory),
                log,
                logs: Vec::new(),
            },
        );
        store.limiter(|state| &mut state.limits);
        store.set_hostcall_fuel(options.max_transfer_bytes);
        store.set_epoch_deadline(deadline_ticks(options.call_timeout));
        let outcome = pre.instantiate(&mut store).and_then(|command| {
            wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| {
                command.wasi_cli_run().call_run(&mut store)
            })
        });
        let error = match outcome {
            Ok(Ok(())) => return Ok(0),
            Ok(Err(())) => return Ok(1),
            Err(error) => error,
        };
        // Our component failed under the plugin (a cap, a deadline, a
        // refused `append`): its own error says it best.
        let error = match error.downcast::<Error>() {
            Ok(ours) => return Err(ours),
            Err(error) => error,
        };
        if let Some(I32Exit(status)) = error.downcast_ref::<I32Exit>() {
            return Ok(*status);
        }
        // The plugin itself ran past the cap or the deadline: worded by
        // the component, as for its own calls.
        let (kind, failure) = host_failure(&error, &options);
        let message = match failure {
            Some(failure) => {
                let said = store.data_mut().log.host_message(&failure);
                format!(
                    "the plugin: {}",
                    said.unwrap_or_else(|| format!("{error:#}"))
                )
            }
            None => format!("the plugin failed: {error:#}"),
        };
        Err(Error::Trap {
            kind,
            message,
            stderr: String::new(),
        })
    }
}

fn command_pre(
    linker: &Linker<PluginState>,
    component: &Component,
) -> Result<CommandPre<PluginState>, Error> {
    let pre = linker.instantiate_pre(component).map_err(Error::Setup)?;
    CommandPre::new(pre).map_err(|e| {
        Error::Setup(e.context("the plugin must be a command component (export wasi:cli/run)"))
    })
}

/// The functions of the log interface the component exports.
fn exported_functions(runtime: &Runtime) -> Vec<String> {
    let engine = &runtime.engine;
    let component = runtime.pre.instance_pre().component();
    let ty = component.component_type();
    let Some(export) = ty.get_export(engine, interface_name()) else {
        return Vec::new();
    };
    let ComponentItem::ComponentInstance(instance) = export.ty else {
        return Vec::new();
    };
    instance
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}
