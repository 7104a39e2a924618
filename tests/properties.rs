//! Properties over arbitrary input: the validator and the replay parser
//! never panic, and whatever append accepts replays to the same value.

use pathway_memory::format::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE, encode_event};
use pathway_memory::oracle::entries;
use proptest::prelude::*;

/// Arbitrary JSON values, printed compact or pretty.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".*".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".*", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn replay_of_appended_values_gives_them_back(values in prop::collection::vec((json_value(), any::<bool>()), 1..8)) {
        // Compared as parsed by one parser, so float printing cannot differ.
        let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (value, pretty) in &values {
            let event = if *pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) }.unwrap();
            let line = encode_event(&event, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH).unwrap();
            file.extend_from_slice(line.as_bytes());
            file.push(b'\n');
            expected.push(parse(&event));
        }
        let replayed: Vec<_> = entries(&file, DEFAULT_MAX_LINE).map(|e| parse(e.record.unwrap())).collect();
        prop_assert_eq!(replayed, expected);
    }

    #[test]
    fn validator_never_panics(event in ".*") {
        let _ = encode_event(&event, 64, DEFAULT_MAX_DEPTH);
    }

    #[test]
    fn replay_never_panics_and_counts_lines(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        for entry in entries(&bytes, 16) {
            prop_assert!(entry.line >= 1 && entry.line <= newlines + 1);
            prop_assert!(entry.offset < bytes.len() as u64);
        }
    }
}
