//! PATHWAY_SYNC and `sync`: every mode stores the same records; a bad
//! value is refused clearly.

use crate::common;

use common::{open, read_log, test_dir};
use pathway_host::{Memory, Options, SyncMode};

fn with_sync(dir: &std::path::Path, sync: SyncMode) -> Memory {
    let options = Options {
        sync: Some(sync),
        ..Options::default()
    };
    Memory::open(dir, options).unwrap()
}

#[test]
fn every_sync_mode_stores_the_same_records() {
    for mode in [
        SyncMode::Never,
        SyncMode::Always,
        SyncMode::Interval { millis: 0 },
        SyncMode::Interval { millis: 3_600_000 },
    ] {
        let dir = test_dir("sync_modes");
        let mut memory = with_sync(dir.path(), mode);
        memory.try_append("1").unwrap();
        memory.append_batch(&["2", "3"]).unwrap();
        memory.sync().unwrap();
        assert_eq!(read_log(dir.path()), b"1\n2\n3\n", "{mode}");
    }
}

#[test]
fn sync_without_appends_or_without_a_log_succeeds() {
    let dir = test_dir("sync_empty");
    open(dir.path()).sync().unwrap();
    assert!(!dir.path().join(common::LOG).exists());
    std::fs::write(dir.path().join(common::LOG), b"1\n").unwrap();
    open(dir.path()).sync().unwrap();
}

#[test]
fn sync_mode_text_round_trips_and_bad_values_are_refused() {
    for text in ["never", "always", "interval:250"] {
        assert_eq!(text.parse::<SyncMode>().unwrap().to_string(), text);
    }
    assert!("sometimes".parse::<SyncMode>().is_err());
}
