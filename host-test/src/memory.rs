//! [`Memory`]: one log, in a directory or in a NATS JetStream stream,
//! served by its own component instance.

use std::fmt;
use std::path::{Path, PathBuf};

use wasmtime::Store;
use wasmtime::component::Val;

use crate::bindings::exports::pathway::memory::log::{Guest, HostFailure, MemoryCap};
use crate::entries::Entries;
use crate::instance::{Grant, HostState, Instance};
use crate::limits::CapReached;
use crate::runtime::deadline_ticks;
use crate::{
    CheckReport, CompactReport, Entry, Error, LogError, LogInfo, LogList, NatsTarget, Options,
    Page, Recent, RepairReport, Runtime, Settings, TrapKind,
};

/// Where a log lives.
#[derive(Debug, Clone)]
enum Place {
    Directory(PathBuf),
    Stream(NatsTarget),
}

/// One log, served by its own component instance: the file log in a
/// directory the instance is granted, or the log in a NATS JetStream stream
/// (the component's stream build, the stream granted through its `stream`
/// import). Every rule of the log is the component's, on either.
pub struct Memory {
    runtime: Runtime,
    place: Place,
    pub(crate) options: Options,
    settings: Settings,
    instance: Instance,
    /// The named logs open in `instance`.
    pub(crate) handles: crate::named::Handles,
}

impl Memory {
    /// Opens the log in `dir` with the shared runtime, or, when
    /// [`Options::nats`] is set, the log in that stream (`dir` unused). A
    /// configuration the component cannot use fails here ([`Error::Log`]
    /// with `invalid-config`), not at the first call; so does a stream
    /// that cannot be reached.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Memory, Error> {
        match options.nats.clone() {
            Some(target) => Memory::open_nats(target, options),
            None => Memory::open_with(Runtime::shared()?, dir, options),
        }
    }

    /// Opens the log kept in the JetStream stream `target` (needs the
    /// cargo feature `nats`). The server's failures come back as the
    /// component's typed errors: `io` when no server answers, `no-directory`
    /// when the stream is missing, `access-denied` when the server's
    /// permissions refuse.
    pub fn open_nats(target: NatsTarget, options: Options) -> Result<Memory, Error> {
        #[cfg(feature = "nats")]
        {
            // Retries while a server is away stay within the call's
            // deadline, so the component, not the deadline, reports them.
            let budget = (options.call_timeout / 2).min(std::time::Duration::from_secs(30));
            let stream = crate::nats::NatsStream::new(target.clone(), budget)
                .map_err(|e| Error::Setup(wasmtime::format_err!("{e}")))?;
            Memory::start(
                Runtime::shared_stream()?,
                Place::Stream(target),
                Grant::Stream(Box::new(stream)),
                options,
            )
        }
        #[cfg(not(feature = "nats"))]
        {
            // The component words the refusal (its `stream` import fails).
            Memory::start(
                Runtime::shared_stream()?,
                Place::Stream(target),
                Grant::Nothing,
                options,
            )
        }
    }

    /// Opens the log in `dir` with a given runtime.
    pub fn open_with(
        runtime: &Runtime,
        dir: impl AsRef<Path>,
        options: Options,
    ) -> Result<Memory, Error> {
        let dir = dir.as_ref().to_path_buf();
        let grant = Grant::Directory(&dir);
        Memory::start(runtime, Place::Directory(dir.clone()), grant, options)
    }

    fn start(
        runtime: &Runtime,
        place: Place,
        grant: Grant,
        options: Options,
    ) -> Result<Memory, Error> {
        let mut instance = Instance::new(runtime, grant, &options)?;
        let settings = {
            let Instance {
                store, bindings, ..
            } = &mut instance;
            bindings
                .pathway_memory_log()
                .call_open_log(store)
                .map_err(Error::Setup)?
                .map_err(Error::Log)?
        };
        Ok(Memory {
            runtime: runtime.clone(),
            place,
            options,
            settings,
            instance,
            handles: Default::default(),
        })
    }

    /// The configuration in force, as the component read it.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Path of the log file on the host; `None` for a log in a stream.
    pub fn log_path(&self) -> Option<PathBuf> {
        match &self.place {
            Place::Directory(dir) => Some(dir.join(&self.settings.log_name)),
            Place::Stream(_) => None,
        }
    }

    /// The stream the log is kept in, if it is.
    pub fn nats_target(&self) -> Option<&NatsTarget> {
        match &self.place {
            Place::Stream(target) => Some(target),
            Place::Directory(_) => None,
        }
    }

    /// Where the log is, for people: the file's path, or the stream.
    pub fn location(&self) -> String {
        match &self.place {
            Place::Directory(dir) => dir.join(&self.settings.log_name).display().to_string(),
            Place::Stream(target) => format!("stream {} at {}", target.stream, target.url),
        }
    }

    /// Deletes the stream the log is kept in, and everything in it, for
    /// good (the bench's and the tests' own streams). A directory log is
    /// left alone.
    #[cfg(feature = "nats")]
    pub fn delete_stream(mut self) -> Result<(), Error> {
        match self.instance.store.data_mut().stream.as_mut() {
            Some(stream) => stream
                .delete_stream()
                .map_err(|e| Error::Setup(wasmtime::format_err!("deleting the stream: {e}"))),
            None => Ok(()),
        }
    }

    /// Appends through the WIT `append`, which traps on a refused event.
    /// The trap comes back as [`Error::Trap`] with the guest's message, and
    /// the instance is replaced so this `Memory` stays usable.
    pub fn append(&mut self, event: &str) -> Result<(), Error> {
        self.call(|log, store| log.call_append(store, event))
    }

    /// Appends one event; a refusal comes back as [`Error::Log`].
    pub fn try_append(&mut self, event: &str) -> Result<(), Error> {
        self.call_typed(|log, store| log.call_try_append(store, event))
    }

    /// Appends all events or none: every event is validated first, and the
    /// error names the index of the first one refused.
    pub fn append_batch<S: AsRef<str>>(&mut self, events: &[S]) -> Result<(), Error> {
        // Borrowed strings, lowered straight from the caller's: copying each
        // event into a `String` first was a sixth of a batch's host time.
        let events: Vec<&str> = events.iter().map(AsRef::as_ref).collect();
        self.enter(|instance| {
            let func = instance.func("append-batch")?;
            let typed = func.typed::<(&[&str],), (Result<(), LogError>,)>(&instance.store)?;
            let (result,) = typed.call(&mut instance.store, (&events,))?;
            Ok(result)
        })?
        .map_err(Error::Log)
    }

    /// Every entry of the log in file order. Each damaged line is logged as
    /// a warning that names the file, and a summary at info level. A log
    /// that cannot be read at all is an [`Error::Log`], never an entry.
    pub fn replay(&mut self) -> Result<Vec<Entry>, Error> {
        let entries = self.call_typed(|log, store| log.call_replay_entries(store))?;
        let place = self.location();
        let mut damaged = 0usize;
        for line in entries.iter().filter_map(|e| e.as_ref().err()) {
            damaged += 1;
            log::warn!("{place}: {}", line.message);
        }
        log::info!(
            "{place}: replay kept {} records and skipped {damaged} damaged lines",
            entries.len() - damaged
        );
        Ok(entries)
    }

    /// The WIT `replay` as it is: `Err("line N: ...")` for a damaged line,
    /// a single `Err` when the log cannot be read. [`Memory::replay`] gives
    /// the same typed.
    pub fn replay_text(&mut self) -> Result<Vec<Result<String, String>>, Error> {
        self.call(|log, store| log.call_replay(store))
    }

    /// Forces appended data to stable storage.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.call_typed(|log, store| log.call_sync(store))
    }

    /// Entries from `cursor` (none: the start) until about `max_bytes` of
    /// the log were read. Damaged lines are logged as warnings.
    pub fn replay_page(&mut self, cursor: Option<&str>, max_bytes: u32) -> Result<Page, Error> {
        let page = self.call_typed(|log, store| log.call_replay_page(store, cursor, max_bytes))?;
        for line in page.entries.iter().filter_map(|e| e.as_ref().err()) {
            log::warn!("{}: {}", self.location(), line.message);
        }
        Ok(page)
    }

    /// Streams the log page by page (`max_bytes` each) from `cursor`; guest
    /// and host memory stay bounded whatever the log's size. The last line,
    /// if it has no `\n` yet, comes last.
    pub fn entries(&mut self, cursor: Option<String>, max_bytes: u32) -> Entries<'_> {
        Entries::new(self, cursor, max_bytes)
    }

    /// A cursor at the end of the log as it is now (before an
    /// unterminated last line), without reading the log: for reading only
    /// what is appended later. A compaction refuses it (see
    /// [`Memory::last`]); [`Memory::walk_to_end`] makes one it takes.
    pub fn end_cursor(&mut self) -> Result<String, Error> {
        Ok(self.last(0)?.next)
    }

    /// A cursor after every complete line, made by reading the whole log
    /// page by page: it binds every byte before it, so `compact` takes it
    /// (a host that folded what it read compacts up to the cursor of its
    /// own read instead).
    pub fn walk_to_end(&mut self) -> Result<String, Error> {
        let mut cursor = None;
        loop {
            let page = self
                .call_typed(|log, store| log.call_replay_page(store, cursor.as_deref(), 4 << 20))?;
            if page.at_end {
                return Ok(page.next);
            }
            cursor = Some(page.next);
        }
    }

    /// The last `count` entries, oldest first (the end of what
    /// [`Memory::replay`] returns), read backwards from the end: the cost
    /// does not grow with the log's size. Damaged lines have no line
    /// number (0), their byte offset is exact. `next` is the end cursor.
    pub fn last(&mut self, count: u32) -> Result<Recent, Error> {
        self.call_typed(|log, store| log.call_last(store, count))
    }

    /// A page of the grant's logs in name order: at most `max` after
    /// `after` (see the WIT `logs`).
    pub fn logs_page(&mut self, after: Option<&str>, max: u32) -> Result<LogList, Error> {
        self.call_typed(|log, store| log.call_logs(store, after, max))
    }

    /// Deletes the log `name` of the grant and its side files, crash-safely
    /// (see the WIT `delete-log`); returns its size. A handle this
    /// `Memory` had open on it is dropped; appends through another
    /// instance's fail with `deleted`.
    pub fn delete_log(&mut self, name: &str) -> Result<u64, Error> {
        self.forget_handle(name)?;
        let bytes = self.call_typed(|log, store| log.call_delete_log(store, name))?;
        log::info!("deleted the log {name:?} ({bytes} bytes)");
        Ok(bytes)
    }

    /// Makes the new log `target` a copy of `source` up to `at` (a cursor
    /// of `source`; `None`: its end); returns the bytes copied. The new log
    /// appears whole or not at all, and never replaces one (`log-exists`).
    pub fn fork_log(&mut self, source: &str, target: &str, at: Option<&str>) -> Result<u64, Error> {
        let bytes = self.call_typed(|log, store| log.call_fork_log(store, source, target, at))?;
        log::info!("forked the log {source:?} into {target:?} ({bytes} bytes)");
        Ok(bytes)
    }

    /// Every log of the grant, in name order, a page of 1,000 at a time.
    pub fn logs(&mut self) -> Result<Vec<LogInfo>, Error> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.logs_page(after.as_deref(), 1_000)?;
            all.extend(page.logs);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
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
        let report = self.call_typed(|log, store| log.call_compact(store, &snapshot, upto))?;
        log::info!(
            "{}: compacted {} bytes into {} ({} snapshot records, {} bytes kept after the cursor)",
            self.location(),
            report.bytes_before,
            report.bytes_after,
            report.snapshot_records,
            report.kept_bytes
        );
        Ok(report)
    }

    /// Reports on the log: records, damaged lines, torn tail, leftovers.
    pub fn check(&mut self) -> Result<CheckReport, Error> {
        self.call_typed(|log, store| log.call_check(store))
    }

    /// Rewrites the log without its damaged lines, which are kept in the
    /// quarantine file.
    pub fn repair(&mut self) -> Result<RepairReport, Error> {
        let report = self.call_typed(|log, store| log.call_repair(store))?;
        for line in &report.removed {
            log::info!(
                "{}: moved line {} (byte offset {}, {} bytes) to {}: {}",
                self.location(),
                line.line,
                line.offset,
                line.length,
                report.quarantine,
                line.reason
            );
        }
        Ok(report)
    }

    /// Calls the exported log function `name` with dynamic values: how a
    /// plugin's imports are forwarded, whatever the interface holds.
    pub(crate) fn call_dynamic(
        &mut self,
        name: &str,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        self.enter(|instance| {
            let func = instance.func(name)?;
            func.call(&mut instance.store, params, results)
        })
    }

    /// A call whose result is the component's `result<T, log-error>`.
    fn call_typed<R>(
        &mut self,
        f: impl FnOnce(&Guest, &mut Store<HostState>) -> wasmtime::Result<Result<R, LogError>>,
    ) -> Result<R, Error> {
        self.call(f)?.map_err(Error::Log)
    }

    fn call<R>(
        &mut self,
        f: impl FnOnce(&Guest, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        self.enter(|instance| {
            let Instance {
                store, bindings, ..
            } = instance;
            f(bindings.pathway_memory_log(), store)
        })
    }

    /// Calls into the instance with the deadline set; a trap becomes
    /// [`Error::Trap`] and the instance is replaced.
    pub(crate) fn enter<R>(
        &mut self,
        f: impl FnOnce(&mut Instance) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let instance = &mut self.instance;
        instance
            .store
            .set_epoch_deadline(deadline_ticks(self.options.call_timeout));
        // The whole call runs inside wasmtime-wasi's tokio runtime context,
        // entered once: each WASI call then just polls its future on this
        // thread instead of entering the runtime and yielding to it first
        // (its fallback for callers outside any runtime). Measured: about
        // 3 % of a one-event append (4 WASI calls).
        wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| f(instance))
            .map_err(|trap| self.recover_from_trap(trap))
    }

    /// Builds a fresh instance after a trap (a trapped instance cannot be
    /// entered again) and turns the trap into an [`Error::Trap`], worded by
    /// the component when the host stopped it.
    fn recover_from_trap(&mut self, trap: wasmtime::Error) -> Error {
        let stderr = String::from_utf8_lossy(&self.instance.stderr.contents()).into_owned();
        let (kind, failure) = host_failure(&trap, &self.options);
        let grant = match &self.place {
            Place::Directory(dir) => Grant::Directory(dir),
            #[cfg(feature = "nats")]
            Place::Stream(_) => match self.instance.store.data_mut().stream.take() {
                Some(stream) => Grant::Stream(stream),
                None => return Error::Setup(wasmtime::format_err!("the stream was lost")),
            },
            #[cfg(not(feature = "nats"))]
            Place::Stream(_) => Grant::Nothing,
        };
        // The named logs' handles were the old instance's.
        self.handles.forget();
        match Instance::new(&self.runtime, grant, &self.options) {
            Ok(fresh) => self.instance = fresh,
            Err(e) => log::error!("could not replace the trapped instance: {e}"),
        }
        let message = match failure {
            Some(failure) => self
                .host_message(&failure)
                .unwrap_or_else(|| format!("{trap:#}")),
            None => format!("the component trapped: {trap:#}"),
        };
        Error::Trap {
            kind,
            message,
            stderr,
        }
    }

    /// The component's words for a failure the host detected. The call
    /// gets a deadline of its own: the one of the last call may be past.
    pub(crate) fn host_message(&mut self, failure: &HostFailure) -> Option<String> {
        let Instance {
            store, bindings, ..
        } = &mut self.instance;
        store.set_epoch_deadline(deadline_ticks(self.options.call_timeout));
        bindings
            .pathway_memory_log()
            .call_host_message(store, *failure)
            .ok()
    }
}

/// What kind of trap `trap` is, and the failure the host detected (a
/// deadline, the memory cap) when it is one.
pub(crate) fn host_failure(
    trap: &wasmtime::Error,
    options: &Options,
) -> (TrapKind, Option<HostFailure>) {
    if let Some(cap) = trap.downcast_ref::<CapReached>() {
        let failure = HostFailure::MemoryCap(MemoryCap {
            wanted: cap.wanted as u64,
            cap: cap.cap as u64,
        });
        (TrapKind::MemoryCap, Some(failure))
    } else if trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
        let millis = u64::try_from(options.call_timeout.as_millis()).unwrap_or(u64::MAX);
        (TrapKind::Deadline, Some(HostFailure::Deadline(millis)))
    } else {
        (TrapKind::Guest, None)
    }
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory")
            .field("place", &self.place)
            .field("options", &self.options)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_message_gets_a_deadline_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            call_timeout: std::time::Duration::from_millis(20),
            ..Options::default()
        };
        let mut memory = Memory::open(dir.path(), options).unwrap();
        memory.try_append("1").unwrap();
        // Time passes (a plugin runs on) beyond the last call's deadline.
        for _ in 0..10 {
            memory.runtime.engine.increment_epoch();
        }
        let said = memory.host_message(&HostFailure::Deadline(20));
        assert_eq!(
            said.as_deref(),
            Some(
                "the call ran longer than the deadline of 20 ms and was stopped; nothing stored \
                 is lost; raise the call timeout, or read the log page by page"
            )
        );
    }
}
