//! The wasm glue: bindings generated from `wit/`, the exported `log`
//! interface, and the one store of this instance.

use std::cell::RefCell;

use crate::config::Config;
use crate::cursor::CursorError;
use crate::error::EventError;
use crate::format::encode_event;
use crate::frame::Frame;
use crate::pager::OwnedEntry;
use crate::rewrite::{self, DamagedLine, RewriteError};
use crate::store::WasiStore as Store;
use crate::store_error::PageError;

wit_bindgen::generate!({ world: "pathway", path: "wit" });

use exports::pathway::memory::log as wit;
use wit::{AppendError, Guest, InvalidJson, TooLarge};

/// Bytes read per page when `replay` collects the whole log.
const REPLAY_PAGE: u64 = 4 << 20;

/// How often a whole-log replay starts over on a log replaced under it
/// before it gives up with the `stale` message.
const REPLAY_RESTARTS: u32 = 8;

thread_local! {
    /// Opened on first use; a configuration or directory error is kept and
    /// returned by every call, since neither can change in an instance.
    static STORE: RefCell<Option<Result<Store, AppendError>>> = const { RefCell::new(None) };
}

fn with_store<R>(f: impl FnOnce(&mut Store) -> Result<R, AppendError>) -> Result<R, AppendError> {
    STORE.with_borrow_mut(|slot| {
        let store = slot.get_or_insert_with(|| {
            let config = Config::from_vars(|name| std::env::var(name).ok())
                .map_err(|e| AppendError::InvalidConfig(e.to_string()))?;
            Store::open(config).map_err(|e| AppendError::Io(e.to_string()))
        });
        match store {
            Ok(store) => f(store),
            Err(e) => Err(e.clone()),
        }
    })
}

fn refusal(index: usize, error: EventError) -> AppendError {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    match error {
        EventError::InvalidJson { offset, reason } => AppendError::InvalidJson(InvalidJson {
            index,
            offset,
            reason,
        }),
        EventError::TooLarge { size, limit } => {
            AppendError::TooLarge(TooLarge { index, size, limit })
        }
    }
}

/// Validates every event and frames them, or names the first refused.
fn frame_events(events: &[String], max_line: u64) -> Result<Frame, AppendError> {
    // Sized for the events plus their `\n`s (and a `\n` that may lead), so
    // the bytes are copied once, straight into the frame.
    let bytes = events.iter().map(|e| e.len() + 1).sum::<usize>() + 1;
    let mut frame = Frame::with_capacity(bytes, events.len());
    for (i, event) in events.iter().enumerate() {
        let line = encode_event(event, max_line).map_err(|e| refusal(i, e))?;
        frame.push(&line);
    }
    Ok(frame)
}

fn append_events(events: &[String]) -> Result<(), AppendError> {
    with_store(|store| {
        let frame = frame_events(events, store.config().max_line)?;
        store
            .append_frame(frame)
            .map_err(|e| AppendError::Io(e.to_string()))
    })
}

/// Text of an append error for hosts that only see strings (the trap).
fn describe(error: &AppendError) -> String {
    match error {
        AppendError::InvalidJson(InvalidJson {
            index,
            offset,
            reason,
        }) => {
            let e = EventError::InvalidJson {
                offset: *offset,
                reason: reason.clone(),
            };
            format!("event {index}: {e}")
        }
        AppendError::TooLarge(TooLarge { index, size, limit }) => {
            let e = EventError::TooLarge {
                size: *size,
                limit: *limit,
            };
            format!("event {index}: {e}")
        }
        AppendError::Io(message) | AppendError::InvalidConfig(message) => message.clone(),
    }
}

fn entry(entry: OwnedEntry) -> Result<String, String> {
    entry.record.map_err(|damage| damage.to_string())
}

fn cursor_error(error: PageError) -> wit::CursorError {
    match error {
        PageError::Cursor(e @ CursorError::Invalid { .. }) => {
            wit::CursorError::Invalid(e.to_string())
        }
        PageError::Cursor(e @ CursorError::Stale { .. }) => wit::CursorError::Stale(e.to_string()),
        PageError::Store(e) => wit::CursorError::Unreadable(e.to_string()),
    }
}

fn compact_error(error: RewriteError) -> wit::CompactError {
    match error {
        RewriteError::Busy { .. } => wit::CompactError::Busy(error.to_string()),
        RewriteError::Cursor(e) => cursor_error(PageError::Cursor(e)).into_compact(),
        RewriteError::Store(e) => wit::CompactError::Io(e.to_string()),
    }
}

impl wit::CursorError {
    fn into_compact(self) -> wit::CompactError {
        wit::CompactError::Cursor(self)
    }
}

fn damaged_line(line: DamagedLine) -> wit::DamagedLine {
    let DamagedLine { damage, length } = line;
    wit::DamagedLine {
        line: damage.line,
        offset: damage.offset,
        length,
        torn: damage.torn,
        reason: damage.error.to_string(),
    }
}

/// Runs `f` on the store, turning a store that cannot open into `or`.
fn on_store<R, E>(
    f: impl FnOnce(&mut Store) -> Result<R, E>,
    or: impl FnOnce(String) -> E,
) -> Result<R, E> {
    match with_store(|store| Ok(f(store))) {
        Ok(result) => result,
        Err(error) => Err(or(describe(&error))),
    }
}

struct Component;

impl Guest for Component {
    fn append(event: String) {
        if let Err(error) = Self::try_append(event) {
            // The documented trap: `append` has no error channel.
            panic!("pathway append refused: {}", describe(&error));
        }
    }

    fn try_append(event: String) -> Result<(), AppendError> {
        append_events(std::slice::from_ref(&event))
    }

    fn append_batch(events: Vec<String>) -> Result<(), AppendError> {
        if events.is_empty() {
            return Ok(());
        }
        append_events(&events)
    }

    fn replay() -> Vec<Result<String, String>> {
        let mut entries = Vec::new();
        let mut cursor = None;
        let mut restarts = 0;
        loop {
            let page = on_store(
                |store| {
                    store
                        .page(cursor.as_deref(), REPLAY_PAGE)
                        .map_err(cursor_error)
                },
                wit::CursorError::Unreadable,
            );
            match page {
                // A compaction or repair replaced the log between two pages:
                // read the new log from its start, so the result is one
                // log's records, never a mix.
                Err(wit::CursorError::Stale(_)) if restarts < REPLAY_RESTARTS => {
                    restarts += 1;
                    entries.clear();
                    cursor = None;
                }
                Err(
                    wit::CursorError::Unreadable(message)
                    | wit::CursorError::Stale(message)
                    | wit::CursorError::Invalid(message),
                ) => {
                    return vec![Err(message)];
                }
                Ok((page, next)) => {
                    entries.extend(page.entries.into_iter().map(entry));
                    if page.at_end {
                        entries.extend(page.tail.map(entry));
                        return entries;
                    }
                    cursor = Some(next.encode());
                }
            }
        }
    }

    fn sync() -> Result<(), String> {
        on_store(
            |store| store.sync().map_err(|e| e.to_string()),
            |message| message,
        )
    }

    fn replay_page(cursor: Option<String>, max_bytes: u32) -> Result<wit::Page, wit::CursorError> {
        let (page, next) = on_store(
            |store| {
                store
                    .page(cursor.as_deref(), u64::from(max_bytes))
                    .map_err(cursor_error)
            },
            wit::CursorError::Unreadable,
        )?;
        Ok(wit::Page {
            entries: page.entries.into_iter().map(entry).collect(),
            tail: page.tail.map(entry),
            next: next.encode(),
            at_end: page.at_end,
        })
    }

    fn compact(
        snapshot: Vec<String>,
        upto: String,
    ) -> Result<wit::CompactReport, wit::CompactError> {
        on_store(
            |store| {
                let frame = frame_events(&snapshot, store.config().max_line)
                    .map_err(wit::CompactError::InvalidEvent)?;
                let (rewritten, kept_bytes) =
                    rewrite::compact(store, &frame, &upto).map_err(compact_error)?;
                Ok(wit::CompactReport {
                    snapshot_records: snapshot.len() as u64,
                    kept_bytes,
                    bytes_before: rewritten.bytes_before,
                    bytes_after: rewritten.bytes_after,
                })
            },
            wit::CompactError::Io,
        )
    }

    fn check() -> Result<wit::CheckReport, String> {
        on_store(
            |store| {
                let report = rewrite::check(store).map_err(|e| e.to_string())?;
                Ok(wit::CheckReport {
                    bytes: report.bytes,
                    records: report.records,
                    damaged: report.damaged.into_iter().map(damaged_line).collect(),
                    torn_tail: report.torn_tail,
                    leftovers: report.leftovers,
                })
            },
            |message| message,
        )
    }

    fn repair() -> Result<wit::RepairReport, wit::CompactError> {
        on_store(
            |store| {
                let (rewritten, removed, quarantine) =
                    rewrite::repair(store).map_err(compact_error)?;
                Ok(wit::RepairReport {
                    removed: removed.into_iter().map(damaged_line).collect(),
                    quarantine,
                    bytes_before: rewritten.bytes_before,
                    bytes_after: rewritten.bytes_after,
                })
            },
            wit::CompactError::Io,
        )
    }
}

export!(Component);
