//! The regression corpus (`tests/corpus/`) and a short mutation fuzz over
//! it, of the append validator and the replay parser (whole-file and
//! paged):
//!
//! - every corpus input gives exactly the outcome recorded in
//!   `tests/corpus/expected.txt` (`PATHWAY_BLESS=1` rewrites it after a
//!   deliberate change; review the diff);
//! - on mutated inputs nothing panics, and every property below holds.
//!
//! `PATHWAY_FUZZ_CASES` sets the cases per property (CI runs the default;
//! the soak runs 100,000). Failures are kept as seeds in
//! `tests/corpus/proptest-regressions.txt` and tried first on every run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use pathway_memory::cursor::PrefixHash;
use pathway_memory::error::{Call, Refusal};
use pathway_memory::format::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE, encode_event, parse_line};
use pathway_memory::oracle::entries;
use pathway_memory::pager::{Position, read_page_hashed};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Line limit for the corpus logs: small, so the over-limit case stays a
/// small file.
const CORPUS_MAX_LINE: u64 = 4096;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The files of `tests/corpus/<kind>`, sorted by name.
fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join(kind))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (format!("{kind}/{name}"), std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// One line per outcome, short enough to read in a diff.
fn clip(text: &str) -> String {
    let text = text.replace('\n', "\\n");
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

fn event_outcome(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return "not UTF-8: a WIT string cannot carry it".to_string();
    };
    match encode_event(text, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH) {
        Ok(line) => format!("stored {}", clip(&line)),
        Err(error) => {
            let refusal = Refusal {
                call: Call::Append,
                index: 0,
                error: &error,
            };
            format!("refused: {}", clip(&refusal.to_string()))
        }
    }
}

fn log_outcome(bytes: &[u8]) -> String {
    let mut out = String::new();
    for entry in entries(bytes, CORPUS_MAX_LINE) {
        match entry.record {
            Ok(record) => write!(out, "\n    ok   line {}: {}", entry.line, clip(record)),
            Err(damage) => write!(out, "\n    err  {}", clip(&damage.to_string())),
        }
        .unwrap();
    }
    out
}

#[test]
fn corpus_outcomes_are_the_recorded_ones() {
    let mut actual = String::from(
        "# Outcome of every corpus input (tests/fuzz.rs); PATHWAY_BLESS=1 rewrites this file.\n",
    );
    for (name, bytes) in corpus("events") {
        writeln!(actual, "{name}: {}", event_outcome(&bytes)).unwrap();
    }
    for (name, bytes) in corpus("logs") {
        writeln!(actual, "{name}:{}", log_outcome(&bytes)).unwrap();
        for page in [1, 100, 1 << 20] {
            assert!(
                paged(&bytes, CORPUS_MAX_LINE, page) == whole(&bytes, CORPUS_MAX_LINE),
                "{name}: read in pages of {page} bytes, it differs from the whole-file replay"
            );
        }
    }
    let path = corpus_dir().join("expected.txt");
    if std::env::var_os("PATHWAY_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "line {} of {} differs", i + 1, path.display());
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "{} has another number of lines; a corpus file was added or removed: \
         run with PATHWAY_BLESS=1 and review the diff",
        path.display()
    );
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PATHWAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/corpus/proptest-regressions.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// A mutation of a corpus input, as fuzzers make them.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    Zero {
        at: usize,
        len: usize,
    },
    Cut {
        at: usize,
    },
    Splice {
        at: usize,
        other: usize,
        from: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0..8u8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (at, prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (
            at,
            prop::sample::select(vec![
                b"\n".to_vec(),
                b"\r\n".to_vec(),
                b"\"".to_vec(),
                b"\\".to_vec(),
                b"\xef\xbb\xbf".to_vec(),
                b"\xff".to_vec(),
                b"\x01pathway-replaced-".to_vec()
            ])
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1..64usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (at, 1..64usize).prop_map(|(at, len)| Mutation::Zero { at, len }),
        at.prop_map(|at| Mutation::Cut { at }),
        (at, any::<usize>(), any::<usize>()).prop_map(|(at, other, from)| Mutation::Splice {
            at,
            other,
            from
        }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], pool: &[(String, Vec<u8>)]) -> Vec<u8> {
    for m in mutations {
        let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match m {
            Mutation::Flip { at, bit } if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= 1 << bit;
            }
            Mutation::Flip { .. } => {}
            Mutation::Insert { at, bytes: new } => {
                let at = pos(*at, bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let at = pos(*at, bytes.len());
                let end = (at + len).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Zero { at, len } => {
                let at = pos(*at, bytes.len());
                let end = (at + len).min(bytes.len());
                bytes[at..end].fill(0);
            }
            Mutation::Cut { at } => bytes.truncate(pos(*at, bytes.len())),
            Mutation::Splice { at, other, from } => {
                let other = &pool[other % pool.len()].1;
                let from = pos(*from, other.len());
                let at = pos(*at, bytes.len());
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
        }
    }
    bytes
}

/// What a reader reports of a log: (line, offset, length, record or error).
type Seen = (u64, u64, u64, Result<String, String>);

fn whole(bytes: &[u8], max_line: u64) -> Vec<Seen> {
    entries(bytes, max_line)
        .map(|e| {
            let record = e.record.map(str::to_owned).map_err(|d| d.to_string());
            (e.line, e.offset, e.length, record)
        })
        .collect()
}

/// The log read page by page, `page` bytes a page, as the component does;
/// the unterminated last line comes from the final page's tail.
fn paged(bytes: &[u8], max_line: u64, page: u64) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut at = Position::default();
    let mut hash = PrefixHash::default();
    loop {
        let page = read_page_hashed(&mut &bytes[..], at, page, max_line, &mut hash).unwrap();
        // The hash a cursor carries covers exactly the bytes before it.
        let mut whole = PrefixHash::default();
        whole.update(&bytes[..page.next.offset as usize]);
        assert_eq!(hash, whole, "the prefix hash at {:?}", page.next);
        assert!(
            page.next.offset > at.offset || page.at_end,
            "a page made no progress at {at:?}"
        );
        let tail = page.tail.clone();
        for e in page
            .entries
            .into_iter()
            .chain(page.at_end.then_some(tail).flatten())
        {
            seen.push((
                e.line,
                e.offset,
                e.length,
                e.record.map_err(|d| d.to_string()),
            ));
        }
        if page.at_end {
            return seen;
        }
        at = page.next;
    }
}

proptest! {
    #![proptest_config(config())]

    /// Replay never panics; entries go forward in line and offset, lie in
    /// the file, every record is valid JSON of its line's bytes, and the
    /// paged reader (any page size) sees exactly what the whole-file
    /// reader sees.
    #[test]
    fn mutated_logs_replay_by_the_rules_whole_or_paged(
        start in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        page in 1..300u64,
        max_line in prop::sample::select(vec![8u64, 64, CORPUS_MAX_LINE]),
    ) {
        let pool = corpus("logs");
        let bytes = mutate(pool[start % pool.len()].1.clone(), &mutations, &pool);
        let seen = whole(&bytes, max_line);
        let mut last = (0, 0);
        for (line, offset, length, record) in &seen {
            prop_assert!((*line, *offset) > last || last == (0, 0));
            last = (*line, *offset);
            prop_assert!(offset + length <= bytes.len() as u64);
            if let Ok(record) = record {
                prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(record).is_ok());
                prop_assert!(*length <= max_line + 1);
            }
        }
        prop_assert_eq!(paged(&bytes, max_line, page), seen);
    }

    /// The validator never panics, and whatever it stores is one line that
    /// replays as exactly that record, with the event's value.
    #[test]
    fn mutated_events_are_stored_as_one_line_of_the_same_value_or_refused(
        start in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let pool = corpus("events");
        let bytes = mutate(pool[start % pool.len()].1.clone(), &mutations, &pool);
        let Ok(event) = std::str::from_utf8(&bytes) else { return Ok(()) };
        let Ok(line) = encode_event(event, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH) else { return Ok(()) };
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parse_line(line.as_bytes(), DEFAULT_MAX_LINE).ok(), Some(&*line));
        let mut file = b"{\"before\":1}\n".to_vec();
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
        let seen = whole(&file, DEFAULT_MAX_LINE);
        prop_assert_eq!(seen.len(), 2);
        prop_assert_eq!(seen[1].3.as_deref(), Ok(&*line));
        // Same value, where serde_json can build one (it stops at 128
        // levels of nesting; the validator does not).
        if let (Ok(a), Ok(b)) = (
            serde_json::from_str::<serde_json::Value>(event),
            serde_json::from_str::<serde_json::Value>(&line),
        ) {
            prop_assert_eq!(a, b);
        }
    }
}
