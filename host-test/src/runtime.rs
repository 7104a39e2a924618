//! The engine, the compiled component and the epoch ticker that gives
//! calls their deadline.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::bindings::PathwayStreamPre;
use crate::instance::HostState;
use crate::{COMPONENT_BYTES, Error, STREAM_COMPONENT_BYTES};

/// How often the engine's epoch advances; deadlines are whole ticks. The
/// component's constant, which it also hands other hosts (`open-log`).
pub(crate) const EPOCH_TICK: Duration =
    Duration::from_millis(pathway_memory::config::EPOCH_TICK_MS as u64);

/// The engine and the compiled component, shared by every
/// [`Memory`](crate::Memory). Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: PathwayStreamPre<HostState>,
}

impl Runtime {
    /// Compiles `component` (the bytes of a `.wasm` component: either
    /// build, `pathway` or `pathway-stream`).
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
        // The stream build's import; the directory build does not use it.
        crate::bindings::pathway::memory::stream::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state: &mut HostState| state,
        )
        .map_err(Error::Setup)?;
        let pre = linker.instantiate_pre(&component).map_err(Error::Setup)?;
        let pre = PathwayStreamPre::new(pre).map_err(Error::Setup)?;
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

    /// The embedded stream build (`pathway-stream`), for logs kept in a
    /// stream: compiled on first use and kept for the process.
    pub fn shared_stream() -> Result<&'static Runtime, Error> {
        static SHARED: OnceLock<Runtime> = OnceLock::new();
        if let Some(runtime) = SHARED.get() {
            return Ok(runtime);
        }
        let runtime = Runtime::new(STREAM_COMPONENT_BYTES)?;
        Ok(SHARED.get_or_init(|| runtime))
    }
}

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
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}
