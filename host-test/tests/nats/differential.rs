//! The same contract as the file log: the cross-host corpus
//! (`tests/corpus`, run as `host-test/hosts/cross-host.md` says) through a
//! NATS stream gives the file log's results, where it applies. One body
//! runs on both storages through [`Memory`].
//!
//! Where it does not apply: logs that start with a UTF-8 BOM or end in a
//! torn line (a stream holds whole messages, and no BOM); the byte counts
//! of compact and repair reports, which are the server's stored bytes; the
//! quarantine's name; the directory's files. A corpus log goes onto the
//! stream one message per line, as another client would publish it.

use crate::support as nats_support;

use std::path::{Path, PathBuf};

use nats_support::{Server, publish_raw};
use pathway_host::{Error, Memory, NatsTarget, Options, Page, json};
use serde_json::{Value, json};

const LOG: &str = "pathway.jsonl";
const MAX_LINE: u64 = 4096;
const PAGE_BYTES: u32 = 16;

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus")
        .join(kind);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path: PathBuf = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn options(nats: Option<NatsTarget>) -> Options {
    Options {
        max_line: Some(MAX_LINE),
        nats,
        ..Options::default()
    }
}

fn walk(log: &mut Memory) -> Result<Vec<Page>, Error> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = log.replay_page(cursor.as_deref(), PAGE_BYTES)?;
        cursor = Some(page.next.clone());
        let at_end = page.at_end;
        pages.push(page);
        if at_end {
            return Ok(pages);
        }
    }
}

fn without(mut value: Value, path: &[&str]) -> Value {
    let mut at = &mut value;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    if let Some(object) = at.as_object_mut() {
        object.remove(path[path.len() - 1]);
    }
    value
}

/// The cross-host steps for a log case, on either storage.
fn log_case(log: &mut Memory) -> Value {
    let replay = json::value_or_error(log.replay(), |e| json::entries(e)).unwrap();
    let pages = json::value_or_error(walk(log), |pages| {
        pages
            .iter()
            .map(|p| without(json::page(p), &["next"]))
            .collect()
    })
    .unwrap();
    let check = json::value_or_error(log.check(), json::check_report).unwrap();
    let repair = json::value_or_error(log.repair(), json::repair_report).unwrap();
    let after = json::value_or_error(log.replay(), |e| json::entries(e)).unwrap();
    let mut repair = repair;
    for key in ["quarantine", "bytes_before", "bytes_after"] {
        repair = without(repair, &[key]);
    }
    json!({ "replay": replay, "pages": pages, "check": check, "repair": repair,
            "after_repair": after })
}

/// The cross-host steps for an event case, on either storage.
fn event_case(log: &mut Memory, event: &str) -> Value {
    let null = |_: &()| Value::Null;
    let tried = json::outcome(log.try_append(event), null).unwrap();
    let batch = json::outcome(log.append_batch(&["1", event]), null).unwrap();
    let end = walk(log).unwrap().last().unwrap().next.clone();
    let mut compact = json::outcome(log.compact(&[event], &end), json::compact_report).unwrap();
    for key in ["bytes_before", "bytes_after"] {
        compact = without(compact, &["ok", key]);
    }
    let replay = json::value_or_error(log.replay(), |e| json::entries(e)).unwrap();
    json!({ "try_append": tried, "append_batch": batch, "compact": compact, "replay": replay })
}

#[test]
fn the_corpus_gives_the_file_logs_results_through_a_stream() {
    let server = Server::single("differential");
    let url = server.url();
    let mut compared = 0;
    for (n, (name, bytes)) in corpus("logs").into_iter().enumerate() {
        if bytes.starts_with(b"\xEF\xBB\xBF") || !bytes.ends_with(b"\n") {
            continue;
        }
        let dir = tempfile::Builder::new()
            .prefix("pathway-nats-diff-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join(LOG), &bytes).unwrap();
        let mut file = Memory::open(dir.path(), options(None)).unwrap();
        let stream = format!("log{n}");
        let target = NatsTarget {
            url: url.clone(),
            stream: stream.clone(),
            create_replicas: Some(1),
        };
        let mut nats = Memory::open(dir.path(), options(Some(target))).unwrap();
        let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|&b| b == b'\n').collect();
        publish_raw(&url, &stream, &lines);
        assert_eq!(log_case(&mut nats), log_case(&mut file), "log {name}");
        compared += 1;
    }
    for (n, (name, bytes)) in corpus("events").into_iter().enumerate() {
        let Ok(event) = String::from_utf8(bytes) else {
            continue;
        };
        let dir = tempfile::Builder::new()
            .prefix("pathway-nats-diff-")
            .tempdir()
            .unwrap();
        let mut file = Memory::open(dir.path(), options(None)).unwrap();
        let target = NatsTarget {
            url: url.clone(),
            stream: format!("event{n}"),
            create_replicas: Some(1),
        };
        let mut nats = Memory::open(dir.path(), options(Some(target))).unwrap();
        assert_eq!(
            event_case(&mut nats, &event),
            event_case(&mut file, &event),
            "event {name}"
        );
        compared += 1;
    }
    eprintln!("{compared} corpus cases gave the same results through NATS as through the file log");
    assert!(compared >= 30, "only {compared} cases applied");
}
