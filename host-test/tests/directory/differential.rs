//! The component in wasmtime replays exactly as the native parser: for
//! logs mixing records, damaged lines, CRLF, blank lines, over-long lines
//! (beyond one 64 KiB read too) and torn tails, `replay` and page-by-page
//! reading through the component equal `pathway_memory::oracle::entries`
//! run natively on the same bytes.
//! `PATHWAY_FUZZ_CASES` sets the cases (default 64; each is a few calls).

use crate::common;

use common::{open, test_dir, write_log};
use pathway_host::{Memory, Options};
use pathway_memory::oracle::entries;
use proptest::prelude::*;

/// A small line limit, so over-long lines stay small.
const MAX_LINE: u64 = 200;

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z0-9]{0,20}".prop_map(|s| format!("{{\"k\":\"{s}\"}}\n").into_bytes()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"  \r\n".to_vec()),
        1 => Just(b"[1,2]\r\n".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..40),
        1 => (201..400usize).prop_map(|n| format!("\"{}\"\n", "x".repeat(n)).into_bytes()),
        1 => Just(b"\xef\xbb\xbf{}\n".to_vec()),
        // Longer than a 64 KiB read: skipped a chunk at a time when paged.
        1 => (65_000..70_000usize).prop_map(|n| format!("{}\n", " ".repeat(n)).into_bytes()),
        1 => (65_000..70_000usize).prop_map(|n| format!("\"{}\"\r\n", "z".repeat(n)).into_bytes()),
    ]
}

/// A damaged line as (line, offset, length, torn, message).
type Damaged = (u64, u64, u64, bool, String);

fn cases() -> u32 {
    std::env::var("PATHWAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(64, |n: u32| n.min(5000))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_component_replays_as_the_native_parser(lines in prop::collection::vec(line(), 0..30), page in 1..500u32) {
        let bytes = lines.concat();
        // Each damaged line as (line, offset, length, torn, message).
        let expected: Vec<Result<String, Damaged>> = entries(&bytes, MAX_LINE)
            .map(|e| e.record.map(str::to_owned).map_err(|d| (d.line, d.offset, e.length, d.torn, d.to_string())))
            .collect();
        let typed = |entries: Vec<pathway_host::Entry>| -> Vec<_> {
            entries
                .into_iter()
                .map(|e| e.map_err(|d| (d.line, d.offset, d.length, d.torn, d.message)))
                .collect()
        };
        let dir = test_dir("differential");
        write_log(dir.path(), &bytes);
        let mut memory = Memory::open(dir.path(), Options { max_line: Some(MAX_LINE), ..Options::default() }).unwrap();
        prop_assert_eq!(&typed(memory.replay().unwrap()), &expected);
        let paged: Vec<_> = memory.entries(None, page).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&typed(paged), &expected);
        // The fixed `replay` says the same in text.
        let text: Vec<Result<String, String>> = expected.iter().map(|e| e.clone().map_err(|d| d.4)).collect();
        prop_assert_eq!(&memory.replay_text().unwrap(), &text);
        // And an append after it replays as its last record.
        let mut memory = open(dir.path());
        memory.try_append("{\"after\":1}").unwrap();
        let after = memory.replay().unwrap();
        prop_assert_eq!(after.last().map(|e| e.as_ref().ok()), Some(Some(&"{\"after\":1}".to_string())));
    }
}
