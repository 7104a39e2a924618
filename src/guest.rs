//! The wasm glue: bindings generated from `wit/`, the exported `log`
//! interface, and the one store of this instance.

use std::cell::RefCell;

use crate::config::Config;
use crate::error::EventError;
use crate::format::encode_event;
use crate::replay::entries;
use crate::store::Store;

wit_bindgen::generate!({ world: "pathway", path: "wit" });

use exports::pathway::memory::log::{AppendError, Guest, InvalidJson, TooLarge};

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

fn append_events(events: &[String]) -> Result<(), AppendError> {
    with_store(|store| {
        let max_line = store.config().max_line;
        let lines = events
            .iter()
            .enumerate()
            .map(|(i, event)| encode_event(event, max_line).map_err(|e| refusal(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        store
            .append(lines.iter().map(|line| &**line))
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
        let read = with_store(|store| {
            let max_line = store.config().max_line;
            let bytes = store
                .read_all()
                .map_err(|e| AppendError::Io(e.to_string()))?;
            Ok((bytes, max_line))
        });
        match read {
            Err(error) => vec![Err(describe(&error))],
            Ok((None, _)) => Vec::new(),
            Ok((Some(bytes), max_line)) => entries(&bytes, max_line)
                .map(|entry| {
                    entry
                        .record
                        .map(str::to_owned)
                        .map_err(|damage| damage.to_string())
                })
                .collect(),
        }
    }
}

export!(Component);
