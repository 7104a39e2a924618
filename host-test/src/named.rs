//! [`NamedLog`]: one of many logs in a grant, opened by name through the
//! component's `named-log` resource, in the same instance as the default
//! log. Handles are opened on first use and kept per name (at most
//! [`OPEN_HANDLES`]; then all are dropped and opened again as needed), and
//! opened afresh after a trap replaced the instance.

use std::collections::HashMap;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::exports::pathway::memory::log::GuestNamedLog;
use crate::instance::HostState;
use crate::{
    CheckReport, CompactReport, Entry, Error, LogError, Memory, Page, Recent, RepairReport,
};

/// How many named logs a [`Memory`] keeps open at once.
pub const OPEN_HANDLES: usize = 256;

/// The named logs a [`Memory`] has open, by name.
#[derive(Default)]
pub(crate) struct Handles(HashMap<String, ResourceAny>);

impl Handles {
    /// Forgets every handle without dropping it: its instance is gone.
    pub(crate) fn forget(&mut self) {
        self.0.clear();
    }
}

/// A log of the grant opened by name ([`Memory::log`]): the same
/// operations as the default log, with the same errors and messages.
pub struct NamedLog<'m> {
    memory: &'m mut Memory,
    name: String,
}

impl Memory {
    /// The log named `name` in the same grant (a file `name.jsonl`,
    /// created by its first append). The name is checked first: a bad one
    /// is [`Error::Log`] with `invalid-name`, and nothing is created.
    pub fn log(&mut self, name: &str) -> Result<NamedLog<'_>, Error> {
        self.named_handle(name)?;
        Ok(NamedLog {
            memory: self,
            name: name.to_string(),
        })
    }

    /// The open handle of `name`, opening it (and checking the name).
    fn named_handle(&mut self, name: &str) -> Result<ResourceAny, Error> {
        if let Some(handle) = self.handles.0.get(name) {
            return Ok(*handle);
        }
        if self.handles.0.len() >= OPEN_HANDLES {
            let open: Vec<ResourceAny> = self.handles.0.drain().map(|(_, h)| h).collect();
            self.enter(|instance| {
                for handle in open {
                    handle.resource_drop(&mut instance.store)?;
                }
                Ok(())
            })?;
        }
        let handle = self
            .enter(|instance| {
                let crate::instance::Instance {
                    store, bindings, ..
                } = instance;
                bindings
                    .pathway_memory_log()
                    .named_log()
                    .call_open(store, name)
            })?
            .map_err(Error::Log)?;
        self.handles.0.insert(name.to_string(), handle);
        Ok(handle)
    }

    /// Closes the handle of the named log `name` if one is open (its file
    /// is closed in the component); the next [`Memory::log`] opens it
    /// afresh. Handles are also closed when more than [`OPEN_HANDLES`]
    /// are open, and with the `Memory`.
    pub fn close_log(&mut self, name: &str) -> Result<(), Error> {
        self.forget_handle(name)
    }

    /// Drops a handle of this instance (a plugin's named log, closed).
    pub(crate) fn drop_handle(&mut self, handle: ResourceAny) -> Result<(), Error> {
        self.enter(|instance| handle.resource_drop(&mut instance.store))
    }

    /// Drops the handle of `name`, if one is open: after a delete, the
    /// next use opens the name afresh.
    pub(crate) fn forget_handle(&mut self, name: &str) -> Result<(), Error> {
        if let Some(handle) = self.handles.0.remove(name) {
            self.enter(|instance| handle.resource_drop(&mut instance.store))?;
        }
        Ok(())
    }

    /// Calls a method of the named log `name`.
    pub(crate) fn call_named<R>(
        &mut self,
        name: &str,
        f: impl FnOnce(
            GuestNamedLog<'_>,
            &mut Store<HostState>,
            ResourceAny,
        ) -> wasmtime::Result<Result<R, LogError>>,
    ) -> Result<R, Error> {
        let handle = self.named_handle(name)?;
        self.enter(|instance| {
            let crate::instance::Instance {
                store, bindings, ..
            } = instance;
            f(bindings.pathway_memory_log().named_log(), store, handle)
        })?
        .map_err(Error::Log)
    }
}

impl NamedLog<'_> {
    /// The name it was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends one event; a refusal comes back as [`Error::Log`].
    pub fn try_append(&mut self, event: &str) -> Result<(), Error> {
        self.memory.call_named(&self.name, |log, store, h| {
            log.call_try_append(store, h, event)
        })
    }

    /// Appends all events or none (see [`Memory::append_batch`]).
    pub fn append_batch<S: AsRef<str>>(&mut self, events: &[S]) -> Result<(), Error> {
        let events: Vec<String> = events.iter().map(|e| e.as_ref().to_string()).collect();
        self.memory.call_named(&self.name, |log, store, h| {
            log.call_append_batch(store, h, &events)
        })
    }

    /// Every entry in file order (see [`Memory::replay`]).
    pub fn replay(&mut self) -> Result<Vec<Entry>, Error> {
        self.memory.call_named(&self.name, |log, store, h| {
            log.call_replay_entries(store, h)
        })
    }

    /// A page from `cursor` (see [`Memory::replay_page`]).
    pub fn replay_page(&mut self, cursor: Option<&str>, max_bytes: u32) -> Result<Page, Error> {
        self.memory.call_named(&self.name, |log, store, h| {
            log.call_replay_page(store, h, cursor, max_bytes)
        })
    }

    /// The last `count` entries and the end cursor (see [`Memory::last`]).
    pub fn last(&mut self, count: u32) -> Result<Recent, Error> {
        self.memory
            .call_named(&self.name, |log, store, h| log.call_last(store, h, count))
    }

    /// A cursor at the end, without reading the log.
    pub fn end_cursor(&mut self) -> Result<String, Error> {
        Ok(self.last(0)?.next)
    }

    pub fn sync(&mut self) -> Result<(), Error> {
        self.memory
            .call_named(&self.name, |log, store, h| log.call_sync(store, h))
    }

    /// See [`Memory::compact`].
    pub fn compact<S: AsRef<str>>(
        &mut self,
        snapshot: &[S],
        upto: &str,
    ) -> Result<CompactReport, Error> {
        let snapshot: Vec<String> = snapshot.iter().map(|e| e.as_ref().to_string()).collect();
        self.memory.call_named(&self.name, |log, store, h| {
            log.call_compact(store, h, &snapshot, upto)
        })
    }

    pub fn check(&mut self) -> Result<CheckReport, Error> {
        self.memory
            .call_named(&self.name, |log, store, h| log.call_check(store, h))
    }

    pub fn repair(&mut self) -> Result<RepairReport, Error> {
        self.memory
            .call_named(&self.name, |log, store, h| log.call_repair(store, h))
    }
}
