//! What the native tests on the simulated disk share: the log's name, its
//! configuration, and replay by the real reader on a fresh store.

// Each test file uses part of it.
#![allow(dead_code)]

use pathway_memory::config::{Config, SyncMode};
use pathway_memory::format::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE};
use pathway_memory::fs_mem::MemFs;
use pathway_memory::store::Store;

pub const LOG: &str = "pathway.jsonl";

pub fn config(sync: SyncMode) -> Config {
    Config {
        log_name: LOG.to_string(),
        quota: None,
        name: None,
        max_line: DEFAULT_MAX_LINE,
        max_depth: DEFAULT_MAX_DEPTH,
        sync,
    }
}

/// The log's records as the real reader pages them, on a fresh store.
pub fn replay(fs: &MemFs) -> Vec<String> {
    let store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    let (page, _) = store.page(None, 1 << 30).expect("replay");
    page.entries
        .into_iter()
        .chain(page.tail)
        .map(|e| e.record.expect("no damaged line"))
        .collect()
}

/// The same, leaving out a torn last line (an append a cut interrupted).
pub fn replay_but_torn_tail(fs: &MemFs) -> Vec<String> {
    let store = Store::new(config(SyncMode::Never), fs.clone(), "mem".into());
    let (page, _) = store.page(None, 1 << 30).expect("replay");
    let tail = page.tail.filter(|t| !matches!(&t.record, Err(d) if d.torn));
    page.entries
        .into_iter()
        .chain(tail)
        .map(|e| e.record.expect("no damaged line"))
        .collect()
}
