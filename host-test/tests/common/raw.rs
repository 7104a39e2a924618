//! The component instantiated by hand, for what the host library does not
//! offer on purpose: no directory granted, a component built with
//! failpoints. Used by the tests that need it, each using a part.
#![allow(dead_code, unused_imports)]

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

/// An instance of `component` (bytes or a file) with exactly what `wasi`
/// grants, and its store.
pub fn instantiate(component: &[u8], mut wasi: WasiCtxBuilder) -> (Pathway, Store<Host>) {
    let engine = Engine::default();
    let component = Component::new(&engine, component).unwrap();
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
