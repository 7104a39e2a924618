//! The component instantiated by hand, for what the host library does not
//! offer on purpose: no directory granted, a component built with
//! failpoints. Used by the tests that need it, each using a part.
#![allow(dead_code, unused_imports)]

use std::sync::{Mutex, OnceLock};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtxBuilder, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "pathway",
    additional_derives: [PartialEq, Eq],
});

pub use exports::pathway::memory::log::{Cause, Guest as Log, LogError};

pub struct Host {
    ctx: wasmtime_wasi::WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// `component` compiled, once per test process: compiling it is most of
/// an instantiation's time in a debug build of wasmtime.
fn compiled(component: &[u8]) -> (Engine, Component) {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    static COMPILED: Mutex<Vec<(Vec<u8>, Component)>> = Mutex::new(Vec::new());
    let engine = ENGINE.get_or_init(Engine::default).clone();
    let mut compiled = COMPILED.lock().unwrap();
    if let Some((_, done)) = compiled.iter().find(|(bytes, _)| bytes == component) {
        return (engine, done.clone());
    }
    let done = Component::new(&engine, component).unwrap();
    compiled.push((component.to_vec(), done.clone()));
    (engine, done)
}

/// An instance of `component` (bytes or a file) with exactly what `wasi`
/// grants, and its store.
pub fn instantiate(component: &[u8], mut wasi: WasiCtxBuilder) -> (Pathway, Store<Host>) {
    let (engine, component) = compiled(component);
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let host = Host {
        ctx: wasi.build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(&engine, host);
    let pathway = Pathway::instantiate(&mut store, &component, &linker).unwrap();
    (pathway, store)
}
