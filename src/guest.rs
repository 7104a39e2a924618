//! The wasm glue: bindings generated from `wit/`, the exported `log`
//! interface, and the one storage of this instance: the file log in the
//! preopened directory (`files`, world `pathway`) or the log in the
//! stream the host grants (`stream`, world `pathway-stream`, built with
//! the `stream` feature). Every error crosses the boundary here as a typed
//! `log-error` whose message is made once, by the `Display` of the error
//! inside.

use std::cell::RefCell;

use crate::checksum::{self, Mismatch};
use crate::config::{Config, EPOCH_TICK_MS};
use crate::cursor::CursorError;
use crate::error::{Call, Damage, EventError, HostFailure, LineError, Refusal, too_deep_reason};
use crate::pager::OwnedEntry;
use crate::rewrite::{self, DamagedLine};

#[cfg(not(feature = "stream"))]
wit_bindgen::generate!({ world: "pathway", path: "wit" });
#[cfg(feature = "stream")]
wit_bindgen::generate!({ world: "pathway-stream", path: "wit" });

#[cfg(not(feature = "stream"))]
mod files;
#[cfg(feature = "stream")]
mod stream;
#[cfg(not(feature = "stream"))]
use files::Files as Storage;
#[cfg(feature = "stream")]
use stream::StreamStorage as Storage;

use exports::pathway::memory::log as wit;
use wit::{Cause, Guest, InvalidJson, LogError, TooLarge};

/// Bytes read per page when `replay` collects the whole log.
const REPLAY_PAGE: u64 = 4 << 20;

/// How often a whole-log replay starts over on a log replaced under it
/// before it gives up with the `stale-cursor` error.
const REPLAY_RESTARTS: u32 = 8;

/// What the exports need of a storage; each call's errors are already the
/// WIT's.
trait Backend: Sized {
    fn open(config: Config) -> Result<Self, LogError>;
    /// The log named `name` with the settings of `config`.
    fn open_named(config: &Config, name: &str) -> Result<Self, LogError> {
        let config = config.for_log(name).map_err(|e| LogError {
            cause: Cause::InvalidName,
            message: e.to_string(),
        })?;
        Self::open(config)
    }
    fn last(&mut self, count: u32) -> Result<wit::Recent, LogError>;
    /// Deletes this log; its size.
    fn delete(&mut self) -> Result<u64, LogError>;
    /// Forks this log into the log `target`; the bytes copied.
    fn fork_to(&mut self, target: &str, at: Option<&str>) -> Result<u64, LogError>;
    fn logs(&mut self, after: Option<&str>, max: u32) -> Result<wit::LogList, LogError>;
    fn settings(&self) -> wit::Settings;
    fn append(&mut self, call: Call, events: &[String]) -> Result<(), LogError>;
    fn page(&mut self, cursor: Option<&str>, max_bytes: u64) -> Result<wit::Page, LogError>;
    fn sync(&mut self) -> Result<(), LogError>;
    fn compact(&mut self, snapshot: &[String], upto: &str) -> Result<wit::CompactReport, LogError>;
    fn check(&mut self) -> Result<wit::CheckReport, LogError>;
    fn repair(&mut self) -> Result<wit::RepairReport, LogError>;
}

thread_local! {
    /// Opened on first use; a configuration or storage error is kept and
    /// returned by every call, since neither can change in an instance.
    static STORAGE: RefCell<Option<Result<Storage, LogError>>> = const { RefCell::new(None) };
}

/// The settings of the environment (`PATHWAY_*`).
fn config() -> Result<Config, LogError> {
    Config::from_vars(|name| std::env::var(name).ok()).map_err(|e| LogError {
        cause: match e {
            crate::config::ConfigError::Name(_) => Cause::InvalidName,
            _ => Cause::InvalidConfig,
        },
        message: e.to_string(),
    })
}

/// Runs `f` on the storage, opening it on first use.
fn with_storage<R>(f: impl FnOnce(&mut Storage) -> Result<R, LogError>) -> Result<R, LogError> {
    STORAGE.with_borrow_mut(|slot| {
        let storage = slot.get_or_insert_with(|| Storage::open(config()?));
        match storage {
            Ok(storage) => f(storage),
            Err(e) => Err(e.clone()),
        }
    })
}

fn quota_exceeded(q: crate::error::QuotaExceeded) -> LogError {
    LogError {
        message: q.to_string(),
        cause: Cause::QuotaExceeded(wit::QuotaExceeded {
            used: q.used,
            limit: q.limit,
            needed: q.needed,
        }),
    }
}

fn cursor_error(error: CursorError) -> LogError {
    let cause = match error {
        CursorError::Invalid { .. } => Cause::InvalidCursor,
        CursorError::Stale { .. } => Cause::StaleCursor,
    };
    LogError {
        cause,
        message: error.to_string(),
    }
}

fn integrity(m: Mismatch) -> wit::Integrity {
    wit::Integrity {
        bytes: m.bytes,
        expected: checksum::hex(&m.expected),
        actual: m.actual.map(|a| checksum::hex(&a)),
    }
}

fn checksum_state(state: checksum::State) -> wit::Checksum {
    match state {
        checksum::State::None => wit::Checksum::None,
        checksum::State::Stale => wit::Checksum::Stale,
        checksum::State::Unreadable => wit::Checksum::Unreadable,
        checksum::State::Verified { bytes } => wit::Checksum::Verified(bytes),
        checksum::State::Mismatch(m) => wit::Checksum::Mismatch(integrity(m)),
    }
}

fn refusal(call: Call, index: usize, error: EventError) -> LogError {
    let message = Refusal {
        call,
        index,
        error: &error,
    }
    .to_string();
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let cause = match error {
        EventError::InvalidJson { offset, reason } => Cause::InvalidJson(InvalidJson {
            index,
            offset,
            reason,
        }),
        EventError::TooLarge { size, limit } => Cause::TooLarge(TooLarge { index, size, limit }),
        EventError::TooDeep { offset, limit } => Cause::InvalidJson(InvalidJson {
            index,
            offset,
            reason: too_deep_reason(offset, limit),
        }),
    };
    LogError { cause, message }
}

fn damaged_line(damage: Damage, length: u64) -> wit::DamagedLine {
    let problem = match damage.error {
        LineError::InvalidUtf8 { .. } => wit::LineProblem::InvalidUtf8,
        LineError::InvalidJson { .. } => wit::LineProblem::InvalidJson,
        LineError::TooLarge { .. } => wit::LineProblem::TooLarge,
    };
    // Read backwards (`last`): no line number (on a stream, no offset).
    let known = |n: u64| if n == crate::tail::UNCOUNTED { 0 } else { n };
    wit::DamagedLine {
        line: known(damage.line),
        offset: known(damage.offset),
        length,
        torn: damage.torn,
        problem,
        reason: damage.error.to_string(),
        message: damage.to_string(),
    }
}

fn entry(entry: OwnedEntry) -> wit::Entry {
    let length = entry.length;
    entry.record.map_err(|damage| damaged_line(damage, length))
}

fn reported(line: DamagedLine) -> wit::DamagedLine {
    damaged_line(line.damage, line.length)
}

fn check_report(report: rewrite::CheckReport, checksum_message: String) -> wit::CheckReport {
    wit::CheckReport {
        bytes: report.bytes,
        records: report.records,
        damaged: report.damaged.into_iter().map(reported).collect(),
        torn_tail: report.torn_tail,
        leftovers: report.leftovers,
        too_deep: report
            .too_deep
            .into_iter()
            .map(|d| wit::DeepLine {
                line: d.line,
                offset: d.offset,
                at: d.at,
            })
            .collect(),
        checksum: checksum_state(report.checksum),
        checksum_message,
    }
}

fn repair_report(
    sizes: rewrite::Rewritten,
    removed: Vec<DamagedLine>,
    quarantine: String,
) -> wit::RepairReport {
    wit::RepairReport {
        removed: removed.into_iter().map(reported).collect(),
        quarantine,
        bytes_before: sizes.bytes_before,
        bytes_after: sizes.bytes_after,
    }
}

/// The settings every storage reports alike.
fn settings(config: &Config, log_name: String, sync: String) -> wit::Settings {
    wit::Settings {
        log_name,
        max_line: config.max_line,
        max_depth: config.max_depth,
        sync,
        quota: config.quota,
        epoch_tick_ms: EPOCH_TICK_MS,
    }
}

/// Every entry of the log, page by page; starts over on a log replaced
/// under it (a compaction or repair by another instance), so the result is
/// one log's records, never a mix.
fn replay_entries(storage: &mut Storage) -> Result<Vec<wit::Entry>, LogError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    let mut restarts = 0;
    loop {
        let page = storage.page(cursor.as_deref(), REPLAY_PAGE);
        match page {
            Err(LogError {
                cause: Cause::StaleCursor,
                ..
            }) if restarts < REPLAY_RESTARTS => {
                restarts += 1;
                entries.clear();
                cursor = None;
            }
            Err(error) => return Err(error),
            Ok(page) => {
                entries.extend(page.entries);
                if page.at_end {
                    entries.extend(page.tail);
                    return Ok(entries);
                }
                cursor = Some(page.next);
            }
        }
    }
}

/// A log opened by name (the WIT `named-log`): its own storage, opened
/// when the handle is made, closed when it is dropped.
struct NamedLog {
    name: String,
    storage: RefCell<Storage>,
}

impl NamedLog {
    fn with<R>(&self, f: impl FnOnce(&mut Storage) -> Result<R, LogError>) -> Result<R, LogError> {
        f(&mut self.storage.borrow_mut())
    }
}

impl wit::GuestNamedLog for NamedLog {
    fn open(name: String) -> Result<wit::NamedLog, LogError> {
        let storage = Storage::open_named(&config()?, &name)?;
        Ok(wit::NamedLog::new(NamedLog {
            name,
            storage: RefCell::new(storage),
        }))
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn try_append(&self, event: String) -> Result<(), LogError> {
        self.with(|storage| storage.append(Call::Append, std::slice::from_ref(&event)))
    }

    fn append_batch(&self, events: Vec<String>) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        self.with(|storage| storage.append(Call::Batch, &events))
    }

    fn replay_entries(&self) -> Result<Vec<wit::Entry>, LogError> {
        self.with(replay_entries)
    }

    fn replay_page(&self, cursor: Option<String>, max_bytes: u32) -> Result<wit::Page, LogError> {
        self.with(|storage| storage.page(cursor.as_deref(), u64::from(max_bytes)))
    }

    fn last(&self, count: u32) -> Result<wit::Recent, LogError> {
        self.with(|storage| storage.last(count))
    }

    fn sync(&self) -> Result<(), LogError> {
        self.with(Storage::sync)
    }

    fn compact(&self, snapshot: Vec<String>, upto: String) -> Result<wit::CompactReport, LogError> {
        self.with(|storage| storage.compact(&snapshot, &upto))
    }

    fn check(&self) -> Result<wit::CheckReport, LogError> {
        self.with(Storage::check)
    }

    fn repair(&self) -> Result<wit::RepairReport, LogError> {
        self.with(Storage::repair)
    }
}

struct Component;

impl Guest for Component {
    type NamedLog = NamedLog;

    fn last(count: u32) -> Result<wit::Recent, LogError> {
        with_storage(|storage| storage.last(count))
    }

    fn logs(after: Option<String>, max: u32) -> Result<wit::LogList, LogError> {
        with_storage(|storage| storage.logs(after.as_deref(), max))
    }

    fn delete_log(name: String) -> Result<u64, LogError> {
        let bytes = Storage::open_named(&config()?, &name)?.delete()?;
        // This instance's default log opens afresh: the instance that
        // deleted a log starts a new one by appending, as a host's new
        // handle of the name does; other instances are told `deleted`.
        STORAGE.with_borrow_mut(|slot| *slot = None);
        Ok(bytes)
    }

    fn fork_log(source: String, target: String, at: Option<String>) -> Result<u64, LogError> {
        Storage::open_named(&config()?, &source)?.fork_to(&target, at.as_deref())
    }

    fn open_log() -> Result<wit::Settings, LogError> {
        with_storage(|storage| Ok(storage.settings()))
    }

    fn append(event: String) {
        if let Err(error) = Self::try_append(event) {
            // The documented trap: `append` has no error channel.
            panic!("{}", crate::error::append_trap_text(&error.message));
        }
    }

    fn try_append(event: String) -> Result<(), LogError> {
        with_storage(|storage| storage.append(Call::Append, std::slice::from_ref(&event)))
    }

    fn append_batch(events: Vec<String>) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        with_storage(|storage| storage.append(Call::Batch, &events))
    }

    fn replay() -> Vec<Result<String, String>> {
        match with_storage(replay_entries) {
            Ok(entries) => entries
                .into_iter()
                .map(|entry| entry.map_err(|damaged| damaged.message))
                .collect(),
            Err(error) => vec![Err(error.message)],
        }
    }

    fn replay_entries() -> Result<Vec<wit::Entry>, LogError> {
        with_storage(replay_entries)
    }

    fn sync() -> Result<(), LogError> {
        with_storage(Storage::sync)
    }

    fn replay_page(cursor: Option<String>, max_bytes: u32) -> Result<wit::Page, LogError> {
        with_storage(|storage| storage.page(cursor.as_deref(), u64::from(max_bytes)))
    }

    fn compact(snapshot: Vec<String>, upto: String) -> Result<wit::CompactReport, LogError> {
        with_storage(|storage| storage.compact(&snapshot, &upto))
    }

    fn check() -> Result<wit::CheckReport, LogError> {
        with_storage(Storage::check)
    }

    fn repair() -> Result<wit::RepairReport, LogError> {
        with_storage(Storage::repair)
    }

    fn host_message(failure: wit::HostFailure) -> String {
        let failure = match failure {
            wit::HostFailure::Deadline(millis) => HostFailure::Deadline { millis },
            wit::HostFailure::MemoryCap(wit::MemoryCap { wanted, cap }) => {
                HostFailure::MemoryCap { wanted, cap }
            }
        };
        failure.to_string()
    }
}

export!(Component);
