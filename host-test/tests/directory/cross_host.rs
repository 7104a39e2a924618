//! One behaviour in every host: the regression corpus (`tests/corpus`) and
//! byte streams appended as lines (`lines_cases`), run through the Rust
//! library, the `pathway` CLI's `--json` output, the Node host and the
//! Python host, each writing its results in the shape of
//! `host-test/hosts/cross-host.md`. Each host's results, written again
//! canonically, must equal the Rust library's byte for byte, case by case;
//! a difference names the host, the case and the first differing field.
//!
//! It runs twice: on a directory per case, and on a NATS JetStream stream
//! per case (a nats-server the test starts), where the steps that belong
//! to files (the checksum's integrity steps, the directory's files) are
//! left out and a log case's lines are published as another client would.
//!
//! A machine without Node.js or Python fails here with a message saying
//! what to install; `PATHWAY_SKIP_POLYGLOT=1` leaves those two hosts out.

use crate::common;
use crate::support::{Server, publish_raw};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pathway_host::{Error, Memory, NatsTarget, Options, Page, json};
use serde_json::{Value, json};
use tempfile::TempDir;

const LOG: &str = "pathway.jsonl";
const MAX_LINE: u64 = 4096;
const PAGE_BYTES: u32 = 16;
/// Batches of two events for the streamed cases, cut by count alone: the
/// timers never run out, so every host cuts the same batches.
const LINES_BATCH_EVENTS: usize = 2;
const LINES_BATCH_BYTES: usize = 1 << 20;
const LINES_TIMER_MS: u64 = 600_000;

/// The streamed inputs (`append_lines`, `pathway append -`): each a byte
/// stream whose batches of two are stored, refused or cut short.
fn lines_cases() -> Vec<(&'static str, Vec<u8>)> {
    let too_large = format!("1\n\"{}\"\n3\n", "x".repeat(MAX_LINE as usize));
    vec![
        (
            "lines/all-stored",
            b"1\n\n{\"a\": 2}\r\n \xc2\xa0 \n\"x\"".to_vec(),
        ),
        (
            "lines/refused-in-the-third-batch",
            b"1\n2\n\n3\n4\n\n{\"b\":\n6\n".to_vec(),
        ),
        ("lines/too-large", too_large.into_bytes()),
        ("lines/not-utf8", b"1\n2\n3\n4\xe2\x82\n5\n".to_vec()),
        ("lines/first-line-refused", b"nope\n1\n".to_vec()),
        ("lines/byte-order-mark", b"\xef\xbb\xbf1\r\n2\r\n".to_vec()),
    ]
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

/// `cases.json`: every corpus log (as hex) and every UTF-8 corpus event.
fn cases() -> Value {
    let read = |kind: &str| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join(kind))
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (format!("{kind}/{name}"), std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let logs: Vec<Value> = read("logs")
        .into_iter()
        .map(|(name, bytes)| json!({ "name": name, "hex": hex(&bytes) }))
        .collect();
    let events: Vec<Value> = read("events")
        .into_iter()
        .filter_map(|(name, bytes)| {
            let event = String::from_utf8(bytes).ok()?;
            Some(json!({ "name": name, "event": event }))
        })
        .collect();
    let lines: Vec<Value> = lines_cases()
        .into_iter()
        .map(|(name, bytes)| json!({ "name": name, "hex": hex(&bytes) }))
        .collect();
    let lines_batching = json!({
        "max_events": LINES_BATCH_EVENTS,
        "max_bytes": LINES_BATCH_BYTES,
        "idle_ms": LINES_TIMER_MS,
        "max_wait_ms": LINES_TIMER_MS,
    });
    json!({
        "max_line": MAX_LINE,
        "page_bytes": PAGE_BYTES,
        "logs": logs,
        "events": events,
        "lines": lines,
        "named": named_cases(),
        "quota": [
            { "name": "quota/fill", "quota": 300, "event": "{\"turn\":\"hello there\"}", "appends": 20 },
            { "name": "quota/one-byte", "quota": 1, "event": "1", "appends": 2 },
        ],
        "lines_batching": lines_batching,
    })
}

/// The counts `last` is asked for in every log case.
const LAST_COUNTS: [u32; 4] = [0, 1, 2, 1000];

/// Named logs: appends to several logs of one grant (a refused batch
/// among them), the listing, the last records and replays, and names
/// that must be refused.
fn named_cases() -> Value {
    let bad = [
        "",
        "a/b",
        "..",
        ".hidden",
        "x.jsonl",
        "tab	here",
        &"n".repeat(201),
    ];
    json!([
        {
            "name": "named/threads",
            "appends": [
                ["thread-b", ["{\"turn\":1}", "{\"turn\":2}"]],
                ["thread-a", ["1"]],
                ["thread-b", ["{\"turn\":3}", "{"]],
                ["thread-b", ["{\"turn\":3}"]],
                ["pathway", ["\"the default log\""]],
            ],
            "bad_names": bad,
            "forks": [
                ["thread-b", "thread-b-retry"],
                ["thread-b", "thread-a"],
                ["missing", "copy"],
                ["thread-a", "bad/name"],
                ["pathway", "default-copy"],
            ],
            "deletes": ["thread-a", "thread-a", "no such", "../x"],
        },
        {
            "name": "named/unicode-and-long",
            "appends": [
                ["会话 7", ["\"你好\""]],
                ["n".repeat(200), ["[]"]],
                ["user:42 session=9", ["{}", "[1]"]],
            ],
            "bad_names": [],
            "forks": [["会话 7", "会话 8"]],
            "deletes": ["会话 7", "user:42 session=9"],
        },
    ])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The snapshot the integrity steps of a log case compact to: the byte at
/// [`CHANGED_AT`] of its line is then changed in place to `F`, which
/// leaves valid JSON.
const FOLDED: &str = r#"{"folded":true}"#;
const CHANGED_AT: u64 = 2;

/// Changes the byte at [`CHANGED_AT`] of the log in place to `F`, as a
/// flipped bit would: the same file, the same size.
fn change_in_place(dir: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(LOG))
        .unwrap();
    file.seek(SeekFrom::Start(CHANGED_AT)).unwrap();
    file.write_all(b"F").unwrap();
}

/// Every file in `dir`, by name, as hex.
fn files(dir: &Path) -> Value {
    let mut out = serde_json::Map::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        out.insert(
            name.clone(),
            hex(&std::fs::read(dir.join(&name)).unwrap()).into(),
        );
    }
    Value::Object(out)
}

/// A page as the results record it: without its cursor.
fn page_value(page: &Page) -> Value {
    let mut value = json::page(page);
    value.as_object_mut().unwrap().remove("next");
    value
}

/// A page walk of `page_bytes` pages from the start.
fn walk(memory: &mut Memory) -> Result<Vec<Page>, Error> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = memory.replay_page(cursor.as_deref(), PAGE_BYTES)?;
        cursor = Some(page.next.clone());
        let at_end = page.at_end;
        pages.push(page);
        if at_end {
            return Ok(pages);
        }
    }
}

/// `compact([snapshot], end)` as an outcome, `end` from a page walk just
/// before.
fn compact_to_end(memory: &mut Memory, snapshot: &str) -> Value {
    match walk(memory) {
        Ok(pages) => {
            let end = &pages.last().unwrap().next;
            json::outcome(memory.compact(&[snapshot], end), json::compact_report).unwrap()
        }
        Err(e) => json::outcome(Err::<(), _>(e), |_: &()| Value::Null).unwrap(),
    }
}

/// Where each case's log is kept, as `cases.json`'s `storage` says (see
/// `host-test/hosts/cross-host.md`).
#[derive(Debug, Clone)]
enum Storage {
    /// A fresh directory per case.
    Directory,
    /// Stream `<prefix>-<kind>-<index>` on the server at `url`; a log
    /// case's stream already holds its lines, the others are created.
    Nats { url: String, prefix: String },
}

impl Storage {
    fn of(cases: &Value) -> Storage {
        match &cases["storage"] {
            Value::Object(nats) => Storage::Nats {
                url: nats["nats"].as_str().unwrap().to_string(),
                prefix: nats["prefix"].as_str().unwrap().to_string(),
            },
            _ => Storage::Directory,
        }
    }

    fn is_directory(&self) -> bool {
        matches!(self, Storage::Directory)
    }

    /// The stream of case `index` of `kind`, and whether to create it.
    fn stream(prefix: &str, kind: &str, index: usize) -> String {
        format!("{prefix}-{kind}-{index}")
    }

    /// Opens case `index` of `kind` in the library: a fresh directory
    /// holding `log` (a log case's bytes), or the case's stream.
    fn open(&self, kind: &str, index: usize, log: Option<&[u8]>) -> (Memory, Option<TempDir>) {
        let options = Options {
            max_line: Some(MAX_LINE),
            ..Options::default()
        };
        match self {
            Storage::Directory => {
                let dir = common::test_dir("cross_host_library");
                if let Some(bytes) = log {
                    std::fs::write(dir.path().join(LOG), bytes).unwrap();
                }
                (Memory::open(dir.path(), options).unwrap(), Some(dir))
            }
            Storage::Nats { url, prefix } => {
                let target = NatsTarget {
                    url: url.clone(),
                    stream: Storage::stream(prefix, kind, index),
                    create_replicas: (kind != "logs").then_some(1),
                };
                (Memory::open_nats(target, options).unwrap(), None)
            }
        }
    }

    /// The CLI's arguments that name case `index` of `kind`: `--dir` a
    /// fresh directory holding `log`, or `--nats` and `--stream`.
    fn cli(&self, kind: &str, index: usize, log: Option<&[u8]>) -> (Vec<String>, Option<TempDir>) {
        match self {
            Storage::Directory => {
                let dir = common::test_dir("cross_host_cli");
                if let Some(bytes) = log {
                    std::fs::write(dir.path().join(LOG), bytes).unwrap();
                }
                let args = vec!["--dir".to_string(), dir.path().display().to_string()];
                (args, Some(dir))
            }
            Storage::Nats { url, prefix } => {
                let mut args = vec![
                    "--nats".to_string(),
                    url.clone(),
                    "--stream".to_string(),
                    Storage::stream(prefix, kind, index),
                ];
                if kind != "logs" {
                    args.extend(["--replicas".to_string(), "1".to_string()]);
                }
                (args, None)
            }
        }
    }
}

/// Whether a log case applies to a stream: a stream holds whole messages,
/// so no torn last line, and no byte order mark.
fn applies_to_streams(log: &[u8]) -> bool {
    !log.starts_with(b"\xEF\xBB\xBF") && log.ends_with(b"\n")
}

/// The cases of `cases` that apply to `storage`.
fn for_storage(cases: &Value, storage: &Storage) -> Value {
    let mut cases = cases.clone();
    if !storage.is_directory() {
        let logs = cases["logs"].as_array_mut().unwrap();
        logs.retain(|case| applies_to_streams(&unhex(case["hex"].as_str().unwrap())));
        // A stream holds one log so far.
        cases["named"] = json!([]);
        cases["quota"] = json!([]);
    }
    cases
}

/// Makes the streams of the log cases for the runner with `prefix`: each
/// line of a case published as a message, as another client would.
fn seed_streams(url: &str, prefix: &str, cases: &Value) {
    for (index, case) in cases["logs"].as_array().unwrap().iter().enumerate() {
        let bytes = unhex(case["hex"].as_str().unwrap());
        let stream = Storage::stream(prefix, "logs", index);
        let target = NatsTarget {
            url: url.to_string(),
            stream: stream.clone(),
            create_replicas: Some(1),
        };
        drop(Memory::open_nats(target, Options::default()).unwrap());
        let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|&b| b == b'\n').collect();
        publish_raw(url, &stream, &lines);
    }
}

/// The Rust library's results.
fn run_library(cases: &Value) -> Value {
    let storage = Storage::of(cases);
    let mut logs = serde_json::Map::new();
    for (index, case) in cases["logs"].as_array().unwrap().iter().enumerate() {
        let bytes = unhex(case["hex"].as_str().unwrap());
        let (mut memory, dir) = storage.open("logs", index, Some(&bytes));
        let mut result = serde_json::Map::new();
        let replay = json::value_or_error(memory.replay(), |e| json::entries(e)).unwrap();
        result.insert("replay".into(), replay);
        let last: Result<Vec<Value>, Error> = LAST_COUNTS
            .iter()
            .map(|&n| memory.last(n).map(|r| json::entries(&r.entries)))
            .collect();
        let last = json::value_or_error(last, |l| Value::Array(l.clone())).unwrap();
        result.insert("last".into(), last);
        let pages = json::value_or_error(walk(&mut memory), |pages| {
            pages.iter().map(page_value).collect()
        });
        result.insert("pages".into(), pages.unwrap());
        let check = json::value_or_error(memory.check(), json::check_report).unwrap();
        result.insert("check".into(), check);
        let repair = json::value_or_error(memory.repair(), json::repair_report).unwrap();
        result.insert("repair".into(), repair);
        let after = json::value_or_error(memory.replay(), |e| json::entries(e)).unwrap();
        result.insert("after_repair".into(), after);
        let Some(dir) = dir else {
            logs.insert(case["name"].as_str().unwrap().into(), result.into());
            continue;
        };
        let compact = compact_to_end(&mut memory, FOLDED);
        let check = json::value_or_error(memory.check(), json::check_report).unwrap();
        change_in_place(dir.path());
        let changed_check = json::value_or_error(memory.check(), json::check_report).unwrap();
        let changed_compact = compact_to_end(&mut memory, "{}");
        let changed_repair = json::outcome(memory.repair(), json::repair_report).unwrap();
        let integrity = json!({
            "compact": compact,
            "check": check,
            "changed_check": changed_check,
            "changed_compact": changed_compact,
            "changed_repair": changed_repair,
        });
        result.insert("integrity".into(), integrity);
        result.insert("files".into(), files(dir.path()));
        logs.insert(case["name"].as_str().unwrap().into(), result.into());
    }
    let mut events = serde_json::Map::new();
    for (index, case) in cases["events"].as_array().unwrap().iter().enumerate() {
        let event = case["event"].as_str().unwrap();
        let (mut memory, dir) = storage.open("events", index, None);
        let null = |_: &()| Value::Null;
        let mut result = serde_json::Map::new();
        let tried = json::outcome(memory.try_append(event), null).unwrap();
        result.insert("try_append".into(), tried);
        let batch = json::outcome(memory.append_batch(&["1", event]), null).unwrap();
        result.insert("append_batch".into(), batch);
        result.insert("compact".into(), compact_to_end(&mut memory, event));
        let replay = json::value_or_error(memory.replay(), |e| json::entries(e)).unwrap();
        result.insert("replay".into(), replay);
        if let Some(dir) = dir {
            result.insert("files".into(), files(dir.path()));
        }
        events.insert(case["name"].as_str().unwrap().into(), result.into());
    }
    let batching = pathway_host::Batching {
        max_events: LINES_BATCH_EVENTS,
        max_bytes: LINES_BATCH_BYTES,
        idle: std::time::Duration::from_millis(LINES_TIMER_MS),
        max_wait: std::time::Duration::from_millis(LINES_TIMER_MS),
    };
    let mut lines = serde_json::Map::new();
    for (index, case) in cases["lines"].as_array().unwrap().iter().enumerate() {
        let (mut memory, dir) = storage.open("lines", index, None);
        let input = std::io::Cursor::new(unhex(case["hex"].as_str().unwrap()));
        let imported = match memory.append_lines(input, &batching) {
            Ok(_) => json!({ "ok": null }),
            Err(e) => json!({ "err": json::lines_error(&e).unwrap_or_else(|| panic!("{e}")) }),
        };
        let mut result = json!({
            "append_lines": imported,
            "replay": json::value_or_error(memory.replay(), |e| json::entries(e)).unwrap(),
        });
        if let Some(dir) = dir {
            result["files"] = files(dir.path());
        }
        lines.insert(case["name"].as_str().unwrap().into(), result);
    }
    json!({
        "logs": logs,
        "events": events,
        "lines": lines,
        "named": run_library_named(cases),
        "quota": run_library_quota(cases),
    })
}

fn run_library_quota(cases: &Value) -> Value {
    let mut results = serde_json::Map::new();
    for case in cases["quota"].as_array().unwrap() {
        let dir = common::test_dir("cross_host_quota");
        let event = case["event"].as_str().unwrap();
        let open = |quota: u64| {
            let options = Options {
                max_line: Some(MAX_LINE),
                quota: Some(quota),
                ..Options::default()
            };
            Memory::open(dir.path(), options)
        };
        let mut memory = open(case["quota"].as_u64().unwrap()).unwrap();
        let appends: Vec<Value> = (0..case["appends"].as_u64().unwrap())
            .map(|_| json::outcome(memory.try_append(event), |()| Value::Null).unwrap())
            .collect();
        let replay = json::value_or_error(memory.replay(), |e| json::entries(e)).unwrap();
        let after_delete = json!([
            json::outcome(memory.delete_log("pathway"), |b| json!(b)).unwrap(),
            json::outcome(memory.try_append(event), |()| Value::Null).unwrap(),
        ]);
        let zero = json::outcome(
            open(0).and_then(|mut memory| memory.try_append(event)),
            |()| Value::Null,
        )
        .unwrap();
        results.insert(
            case["name"].as_str().unwrap().into(),
            json!({
                "appends": appends,
                "replay": replay,
                "after_delete": after_delete,
                "zero": zero,
                "files": files(dir.path()),
            }),
        );
    }
    Value::Object(results)
}

/// The logs of a named case, in order of first appearance.
fn named_logs(case: &Value) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for append in case["appends"].as_array().unwrap() {
        let name = append[0].as_str().unwrap().to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn run_library_named(cases: &Value) -> Value {
    let mut named = serde_json::Map::new();
    for case in cases["named"].as_array().unwrap() {
        let dir = common::test_dir("cross_host_named");
        let options = Options {
            max_line: Some(MAX_LINE),
            ..Options::default()
        };
        let mut memory = Memory::open(dir.path(), options).unwrap();
        let appends: Vec<Value> = case["appends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|append| {
                let events: Vec<&str> = append[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap())
                    .collect();
                let name = append[0].as_str().unwrap();
                let done = memory
                    .log(name)
                    .and_then(|mut log| log.append_batch(&events));
                json::outcome(done, |()| Value::Null).unwrap()
            })
            .collect();
        let logs = json::value_or_error(memory.logs(), |logs| {
            logs.iter().map(json::log_info).collect()
        })
        .unwrap();
        let per_log = |memory: &mut Memory, f: &dyn Fn(&mut pathway_host::NamedLog) -> Value| {
            named_logs(case)
                .into_iter()
                .map(|name| json!([name, f(&mut memory.log(&name).unwrap())]))
                .collect::<Vec<_>>()
        };
        let last = per_log(&mut memory, &|log| {
            json::value_or_error(log.last(2), |r| json::entries(&r.entries)).unwrap()
        });
        let replay = per_log(&mut memory, &|log| {
            json::value_or_error(log.replay(), |e| json::entries(e)).unwrap()
        });
        let bad_names: Vec<Value> = case["bad_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| {
                let done = memory
                    .log(name.as_str().unwrap())
                    .and_then(|mut log| log.try_append("1"));
                json::outcome(done, |()| Value::Null).unwrap()
            })
            .collect();
        let forks: Vec<Value> = pairs(&case["forks"])
            .map(|(source, target)| {
                json::outcome(memory.fork_log(source, target, None), |b| json!(b)).unwrap()
            })
            .collect();
        let deletes: Vec<Value> = case["deletes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| {
                json::outcome(memory.delete_log(name.as_str().unwrap()), |b| json!(b)).unwrap()
            })
            .collect();
        let after = json!({
            "logs": json::value_or_error(memory.logs(), |logs| {
                logs.iter().map(json::log_info).collect()
            })
            .unwrap(),
            "replay": pairs(&case["forks"])
                .zip(&forks)
                .filter(|(_, outcome)| outcome.get("ok").is_some())
                .map(|((_, target), _)| {
                    let replayed = memory.log(target).and_then(|mut log| log.replay());
                    json!([target, json::value_or_error(replayed, |e| json::entries(e)).unwrap()])
                })
                .collect::<Vec<_>>(),
        });
        named.insert(
            case["name"].as_str().unwrap().into(),
            json!({
                "appends": appends,
                "logs": logs,
                "last": last,
                "replay": replay,
                "bad_names": bad_names,
                "forks": forks,
                "deletes": deletes,
                "after": after,
                "files": files(dir.path()),
            }),
        );
    }
    Value::Object(named)
}

/// The `[source, target]` pairs of a named case's `forks`.
fn pairs(forks: &Value) -> impl Iterator<Item = (&str, &str)> {
    forks
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
}

/// `pathway <command> PLACE --max-line N <the rest>`, `PLACE` the
/// arguments that name the log (`--dir DIR`, or `--nats URL --stream S`).
fn pathway(args: &[&str], place: &[String]) -> Output {
    Command::new(crate::common::pathway_bin())
        .arg(args[0])
        .args(place)
        .args(["--max-line", &MAX_LINE.to_string()])
        .args(&args[1..])
        .output()
        .unwrap()
}

/// The CLI's stdout as JSON (one value), with the exit codes it may have.
fn cli_json(args: &[&str], place: &[String], codes: &[i32]) -> Value {
    let out = pathway(args, place);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "pathway {args:?}: {:?}\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("pathway {args:?}: {e}"))
}

/// `pathway append --json ... -` with `input` on stdin: its outcome.
fn cli_append_lines(place: &[String], input: &[u8]) -> Value {
    use std::io::Write;
    let (events, bytes, timer) = (
        LINES_BATCH_EVENTS.to_string(),
        LINES_BATCH_BYTES.to_string(),
        LINES_TIMER_MS.to_string(),
    );
    let mut child = Command::new(crate::common::pathway_bin())
        .arg("append")
        .args(place)
        .args(["--max-line", &MAX_LINE.to_string(), "--json"])
        .args(["--batch-events", &events, "--batch-bytes", &bytes])
        .args(["--batch-idle-ms", &timer, "--batch-wait-ms", &timer, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal may end the import before all of the input is read.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "pathway append -: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pathway append -: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `pathway replay --json`: one entry per line.
fn cli_replay(place: &[String]) -> Value {
    cli_entries(&["replay", "--json"], place)
}

/// `pathway replay --json --last N` for each of [`LAST_COUNTS`].
fn cli_last(place: &[String]) -> Value {
    LAST_COUNTS
        .iter()
        .map(|n| cli_entries(&["replay", "--json", "--last", &n.to_string()], place))
        .collect()
}

/// The entries a `replay --json` command prints, one per line.
fn cli_entries(args: &[&str], place: &[String]) -> Value {
    let out = pathway(args, place);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let entries: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    Value::Array(entries)
}

/// `pathway page --json` from the start until a page is at the end: the
/// pages without their cursors, and the last page's cursor.
fn cli_pages(place: &[String]) -> (Vec<Value>, String) {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    let max = PAGE_BYTES.to_string();
    loop {
        let mut args = vec!["page", "--max-bytes", &max];
        if let Some(cursor) = &cursor {
            args.extend(["--after", cursor]);
        }
        let mut page = cli_json(&args, place, &[0]);
        let page_map = page.as_object_mut().unwrap();
        let next = page_map
            .remove("next")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let at_end = page_map["at_end"].as_bool().unwrap();
        pages.push(page);
        if at_end {
            return (pages, next);
        }
        cursor = Some(next);
    }
}

/// `pathway compact --json --snapshot-json [snapshot] --upto END`, `END`
/// from a page walk just before, exiting with one of `codes`. The snapshot
/// goes as a JSON array: events may span lines.
fn cli_compact_to_end(place: &[String], snapshot: &str, codes: &[i32]) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), json!([snapshot]).to_string()).unwrap();
    let (_, end) = cli_pages(place);
    let args = [
        "compact",
        "--json",
        "--snapshot-json",
        file.path().to_str().unwrap(),
    ];
    cli_json(&[&args[..], &["--upto", &end]].concat(), place, codes)
}

/// The CLI's results, from its `--json` output.
fn run_cli(cases: &Value) -> Value {
    let storage = Storage::of(cases);
    let mut logs = serde_json::Map::new();
    for (index, case) in cases["logs"].as_array().unwrap().iter().enumerate() {
        let bytes = unhex(case["hex"].as_str().unwrap());
        let (place, dir) = storage.cli("logs", index, Some(&bytes));
        let mut result = json!({
            "replay": cli_replay(&place),
            "last": cli_last(&place),
            "pages": cli_pages(&place).0,
            "check": cli_json(&["check", "--json"], &place, &[0, 1]),
            "repair": cli_json(&["repair", "--json"], &place, &[0]),
            "after_repair": cli_replay(&place),
        });
        if let Some(dir) = dir {
            let dir = dir.path();
            let compact = cli_compact_to_end(&place, FOLDED, &[0]);
            let check = cli_json(&["check", "--json"], &place, &[0, 1]);
            change_in_place(dir);
            result["integrity"] = json!({
                "compact": compact,
                "check": check,
                "changed_check": cli_json(&["check", "--json"], &place, &[0, 1]),
                "changed_compact": cli_compact_to_end(&place, "{}", &[2]),
                // A report on success, `{"err": ...}` on an error (exit 2).
                "changed_repair": match cli_json(&["repair", "--json"], &place, &[0, 2]) {
                    err if err.get("err").is_some() => err,
                    report => json!({ "ok": report }),
                },
            });
            result["files"] = files(dir);
        }
        logs.insert(case["name"].as_str().unwrap().into(), result);
    }
    let mut events = serde_json::Map::new();
    for (index, case) in cases["events"].as_array().unwrap().iter().enumerate() {
        let event = case["event"].as_str().unwrap();
        let (place, dir) = storage.cli("events", index, None);
        let tried = cli_json(
            &["append", "--json", "--each", "--", event],
            &place,
            &[0, 1],
        );
        let batch = cli_json(&["append", "--json", "--", "1", event], &place, &[0, 1]);
        let mut result = json!({ "try_append": tried, "append_batch": batch });
        result["compact"] = cli_compact_to_end(&place, event, &[0, 1]);
        result["replay"] = cli_replay(&place);
        if let Some(dir) = dir {
            result["files"] = files(dir.path());
        }
        events.insert(case["name"].as_str().unwrap().into(), result);
    }
    let mut lines = serde_json::Map::new();
    for (index, case) in cases["lines"].as_array().unwrap().iter().enumerate() {
        let (place, dir) = storage.cli("lines", index, None);
        let imported = cli_append_lines(&place, &unhex(case["hex"].as_str().unwrap()));
        let mut result = json!({
            "append_lines": imported,
            "replay": cli_replay(&place),
        });
        if let Some(dir) = dir {
            result["files"] = files(dir.path());
        }
        lines.insert(case["name"].as_str().unwrap().into(), result);
    }
    json!({
        "logs": logs,
        "events": events,
        "lines": lines,
        "named": run_cli_named(cases),
        "quota": run_cli_quota(cases),
    })
}

fn run_cli_quota(cases: &Value) -> Value {
    let mut results = serde_json::Map::new();
    for case in cases["quota"].as_array().unwrap() {
        let dir = common::test_dir("cross_host_cli_quota");
        let event = case["event"].as_str().unwrap();
        let place = |quota: u64| {
            vec![
                "--dir".to_string(),
                dir.path().display().to_string(),
                "--quota".to_string(),
                quota.to_string(),
            ]
        };
        let quota = place(case["quota"].as_u64().unwrap());
        let appends: Vec<Value> = (0..case["appends"].as_u64().unwrap())
            .map(|_| {
                cli_json(
                    &["append", "--json", "--each", "--", event],
                    &quota,
                    &[0, 2],
                )
            })
            .collect();
        let replay = cli_replay(&quota);
        let with_log = [quota.clone(), vec!["--log".into(), "pathway".into()]].concat();
        let after_delete = json!([
            cli_json(&["delete", "--json"], &with_log, &[0, 2]),
            cli_json(
                &["append", "--json", "--each", "--", event],
                &quota,
                &[0, 2]
            ),
        ]);
        results.insert(
            case["name"].as_str().unwrap().into(),
            json!({
                "appends": appends,
                "replay": replay,
                "after_delete": after_delete,
                "zero": cli_json(&["append", "--json", "--each", "--", event], &place(0), &[2]),
                "files": files(dir.path()),
            }),
        );
    }
    Value::Object(results)
}

fn run_cli_named(cases: &Value) -> Value {
    let mut named = serde_json::Map::new();
    for case in cases["named"].as_array().unwrap() {
        let dir = common::test_dir("cross_host_cli_named");
        let place = vec!["--dir".to_string(), dir.path().display().to_string()];
        let with_log =
            |name: &str| [place.clone(), vec!["--log".to_string(), name.to_string()]].concat();
        let appends: Vec<Value> = case["appends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|append| {
                let events: Vec<&str> = append[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap())
                    .collect();
                let args = [&["append", "--json", "--"][..], &events].concat();
                cli_json(&args, &with_log(append[0].as_str().unwrap()), &[0, 1, 2])
            })
            .collect();
        let logs = cli_entries(&["logs", "--json"], &place);
        let last = named_logs(case)
            .into_iter()
            .map(|name| {
                json!([
                    name,
                    cli_entries(&["replay", "--json", "--last", "2"], &with_log(&name))
                ])
            })
            .collect::<Vec<_>>();
        let replay = named_logs(case)
            .into_iter()
            .map(|name| json!([name, cli_replay(&with_log(&name))]))
            .collect::<Vec<_>>();
        let bad_names: Vec<Value> = case["bad_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| {
                cli_json(
                    &["append", "--json", "--", "1"],
                    &with_log(name.as_str().unwrap()),
                    &[0, 2],
                )
            })
            .collect();
        let forks: Vec<Value> = pairs(&case["forks"])
            .map(|(source, target)| {
                cli_json(
                    &["fork", "--json", "--to", target],
                    &with_log(source),
                    &[0, 2],
                )
            })
            .collect();
        let deletes: Vec<Value> = case["deletes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| {
                cli_json(
                    &["delete", "--json"],
                    &with_log(name.as_str().unwrap()),
                    &[0, 2],
                )
            })
            .collect();
        let after = json!({
            "logs": cli_entries(&["logs", "--json"], &place),
            "replay": pairs(&case["forks"])
                .zip(&forks)
                .filter(|(_, outcome)| outcome.get("ok").is_some())
                .map(|((_, target), _)| json!([target, cli_replay(&with_log(target))]))
                .collect::<Vec<_>>(),
        });
        named.insert(
            case["name"].as_str().unwrap().into(),
            json!({
                "appends": appends,
                "logs": logs,
                "last": last,
                "replay": replay,
                "bad_names": bad_names,
                "forks": forks,
                "deletes": deletes,
                "after": after,
                "files": files(dir.path()),
            }),
        );
    }
    Value::Object(named)
}

/// Runs `hosts/<host>/differential.sh` on the embedded component.
fn run_host(host: &str, needs: &str, cases_path: &Path, work: &Path) -> Value {
    let found = Command::new(needs).arg("--version").output();
    assert!(
        found.as_ref().is_ok_and(|out| out.status.success()),
        "the {host} host's runner needs `{needs}` on PATH ({found:?}); install it, or set \
         PATHWAY_SKIP_POLYGLOT=1 to leave that host out"
    );
    let wasm = pathway_host::write_components(work).unwrap();
    let out_path = work.join(format!("{host}-results.json"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("hosts")
        .join(host)
        .join("differential.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&wasm)
        .arg(cases_path)
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap()
}

/// The first path at which `a` and `b` differ, with both values there.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                if a.contains_key(k) != b.contains_key(k) {
                    return Some((format!("{path}.{k}"), x.to_string(), y.to_string()));
                }
                first_difference(x, y, format!("{path}.{k}"))
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some((path, a.to_string(), b.to_string())),
    }
}

/// `value` with the file identity in each checksum file it holds
/// (`files` entries named `*.sha256`, and the two in each line of
/// `*.moved`) replaced by zeros: the identity of a
/// log file (device and inode) differs from directory to directory, so
/// from host to host; the rest of the file must not.
fn without_file_identity(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| match (key.ends_with(".sha256"), v.as_str()) {
                    // `<log>.moved` names the files a compaction replaced
                    // and made by their identities too.
                    (false, Some(text)) if key.ends_with(".moved") => {
                        let lines: String = String::from_utf8(unhex(text))
                            .unwrap()
                            .lines()
                            .map(|line| {
                                // `m1 seq from to ... id before`: the two
                                // identities and the compaction's random id.
                                let mut parts: Vec<&str> = line.split(' ').collect();
                                parts[2] = "0";
                                parts[3] = "0";
                                parts[9] = "0";
                                format!("{}\n", parts.join(" "))
                            })
                            .collect();
                        (key.clone(), hex(lines.as_bytes()).into())
                    }
                    (true, Some(text)) => {
                        let mut sum: Value = serde_json::from_slice(&unhex(text)).unwrap();
                        sum["file"] = "0000000000000000".into();
                        let line = format!("{}\n", serde_json::to_string(&sum).unwrap());
                        (key.clone(), hex(line.as_bytes()).into())
                    }
                    _ => (key.clone(), without_file_identity(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_file_identity).collect()),
        other => other.clone(),
    }
}

/// Compares each case of `host`'s results with the reference's, as
/// canonical bytes (serde_json sorts keys and writes no spaces), file
/// identities left out (see [`without_file_identity`]); returns a line per
/// differing case.
fn differences(host: &str, reference: &Value, results: &Value) -> Vec<String> {
    let (reference, results) = (
        &without_file_identity(reference),
        &without_file_identity(results),
    );
    let mut found = Vec::new();
    for kind in ["logs", "events", "lines", "named", "quota"] {
        let want: &BTreeMap<String, Value> =
            &serde_json::from_value(reference[kind].clone()).unwrap();
        let got: BTreeMap<String, Value> =
            serde_json::from_value(results[kind].clone()).unwrap_or_default();
        for (case, expected) in want {
            let Some(actual) = got.get(case) else {
                found.push(format!("{host}: case {case}: missing from its results"));
                continue;
            };
            let canonical = |v: &Value| serde_json::to_vec(v).unwrap();
            if canonical(expected) != canonical(actual) {
                let (at, a, b) =
                    first_difference(expected, actual, String::new()).unwrap_or_default();
                let clip = |s: String| s.chars().take(300).collect::<String>();
                found.push(format!(
                    "{host}: case {case}: differs at {at}:\n    rust:  {}\n    {host}: {}",
                    clip(a),
                    clip(b)
                ));
            }
        }
        for case in got.keys().filter(|c| !want.contains_key(*c)) {
            found.push(format!("{host}: case {case}: not in the corpus"));
        }
    }
    found
}

/// Whether the Node and Python hosts are left out (`PATHWAY_SKIP_POLYGLOT=1`).
fn skip_polyglot(test: &str) -> bool {
    let skip = std::env::var_os("PATHWAY_SKIP_POLYGLOT").is_some_and(|v| v == "1");
    if skip {
        common::skipped(test, "PATHWAY_SKIP_POLYGLOT=1");
    }
    skip
}

#[test]
fn every_host_gives_the_same_results_on_the_corpus() {
    let cases = cases();
    let work = common::test_dir("cross_host");
    let cases_path = work.path().join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec_pretty(&cases).unwrap()).unwrap();

    let started = std::time::Instant::now();
    let reference = run_library(&cases);
    let mut timings = vec![format!("rust {:.1} s", started.elapsed().as_secs_f64())];
    let count = ["logs", "events", "lines", "named", "quota"]
        .iter()
        .map(|kind| cases[kind].as_array().unwrap().len())
        .sum::<usize>();
    assert!(count >= 40, "the corpus has {count} cases");
    // The named cases met what they are for: a refused batch, every bad
    // name refused as one, and the logs listed.
    let threads = &reference["named"]["named/threads"];
    assert_eq!(threads["appends"][2]["err"]["cause"], "invalid-json");
    assert!(
        threads["bad_names"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["err"]["cause"] == "invalid-name"),
        "{}",
        threads["bad_names"]
    );
    assert_eq!(threads["logs"].as_array().unwrap().len(), 3);
    let filled = &reference["quota"]["quota/fill"];
    let refused = filled["appends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["err"]["cause"] == "quota-exceeded" && o["err"]["limit"] == 300)
        .count();
    assert!((1..20).contains(&refused), "{}", filled["appends"]);
    assert_eq!(filled["zero"]["err"]["cause"], "invalid-config");
    let causes = |step: &str| -> Vec<Value> {
        threads[step]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["err"]["cause"].clone())
            .collect()
    };
    assert_eq!(
        causes("forks"),
        [
            Value::Null,
            "log-exists".into(),
            "no-log".into(),
            "invalid-name".into(),
            Value::Null
        ]
    );
    assert_eq!(
        causes("deletes"),
        [
            Value::Null,
            "no-log".into(),
            "no-log".into(),
            "invalid-name".into()
        ]
    );
    // The integrity steps met what they are for in every log case: the
    // checksum verified, then a mismatch that both rewrites refuse.
    let logs = reference["logs"].as_object().unwrap();
    let refused = logs
        .values()
        .filter(|r| {
            let i = &r["integrity"];
            i["check"]["checksum"]["state"] == "verified"
                && i["changed_check"]["checksum"]["state"] == "mismatch"
                && i["changed_compact"]["err"]["cause"] == "integrity"
                && i["changed_repair"]["err"]["cause"] == "integrity"
        })
        .count();
    assert_eq!(refused, logs.len(), "log cases whose integrity steps ran");

    let started = std::time::Instant::now();
    let mut problems = differences("cli", &reference, &run_cli(&cases));
    timings.push(format!("cli {:.1} s", started.elapsed().as_secs_f64()));
    if !skip_polyglot("cross_host: the node and python hosts") {
        for (host, needs) in [("node", "node"), ("python", "python3")] {
            let started = std::time::Instant::now();
            let results = run_host(host, needs, &cases_path, work.path());
            problems.extend(differences(host, &reference, &results));
            timings.push(format!("{host} {:.1} s", started.elapsed().as_secs_f64()));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences from the Rust library:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "figures: cross-host: {count} corpus cases, every host equal to the Rust library ({})",
        timings.join(", ")
    );
}

/// `results` with the stream-name prefix of its runner made `S`: names of
/// streams appear in reports (the quarantine's subject).
fn without_prefix(results: &Value, prefix: &str) -> Value {
    let text = serde_json::to_string(results).unwrap();
    serde_json::from_str(&text.replace(&format!("{prefix}-"), "S-")).unwrap()
}

#[test]
fn every_host_gives_the_same_results_on_a_stream() {
    let server = Server::single("cross_host_stream");
    let url = server.url();
    let storage = Storage::Nats {
        url: url.clone(),
        prefix: String::new(),
    };
    let base = for_storage(&cases(), &storage);
    let work = common::test_dir("cross_host_stream");
    // Each runner its own streams, `<prefix>-<kind>-<index>`; prefixes of
    // one length, so the servers' byte counts agree.
    let for_runner = |prefix: &str| -> Value {
        let mut cases = base.clone();
        cases["storage"] = json!({ "nats": url, "prefix": prefix });
        seed_streams(&url, prefix, &cases);
        cases
    };
    let started = std::time::Instant::now();
    let reference = without_prefix(&run_library(&for_runner("xa")), "xa");
    let mut timings = vec![format!("rust {:.1} s", started.elapsed().as_secs_f64())];
    let count = ["logs", "events", "lines"]
        .iter()
        .map(|kind| base[kind].as_array().unwrap().len())
        .sum::<usize>();
    assert!(count >= 40, "{count} cases apply to a stream");
    // Hand-published lines that are no record met the damaged-line rules.
    let damaged = reference["logs"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| {
            r["check"]["damaged"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        })
        .count();
    assert!(damaged >= 5, "{damaged} log cases with damaged messages");

    let started = std::time::Instant::now();
    let cli = without_prefix(&run_cli(&for_runner("xb")), "xb");
    let mut problems = differences("cli", &reference, &cli);
    timings.push(format!("cli {:.1} s", started.elapsed().as_secs_f64()));
    if !skip_polyglot("cross_host on a stream: the node and python hosts") {
        for (host, needs, prefix) in [("node", "node", "xc"), ("python", "python3", "xd")] {
            let cases_path = work.path().join(format!("cases-{host}.json"));
            let cases = for_runner(prefix);
            std::fs::write(&cases_path, serde_json::to_vec_pretty(&cases).unwrap()).unwrap();
            let started = std::time::Instant::now();
            let results = run_host(host, needs, &cases_path, work.path());
            problems.extend(differences(
                host,
                &reference,
                &without_prefix(&results, prefix),
            ));
            timings.push(format!("{host} {:.1} s", started.elapsed().as_secs_f64()));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences from the Rust library on a stream:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "figures: cross-host on a stream: {count} corpus cases, every host equal to the Rust \
         library ({})",
        timings.join(", ")
    );
}
