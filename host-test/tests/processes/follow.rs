//! A follower and a pager go on through 100 compactions while two
//! `pathway append --each` processes append: each delivers every appended
//! record exactly once, in order per appender, moving its cursor across
//! each compaction instead of reading the log again (see docs/cursors.md).
//! The compactor folds only what it read before the readers caught up, so
//! neither reader ever needs what a snapshot replaced.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::test_dir;
use pathway_host::Memory;

const EVENTS: usize = 600;

fn appender(dir: &Path, writer: usize) -> Child {
    let events: Vec<String> = (0..EVENTS)
        .map(|n| format!("{{\"w\":{writer},\"n\":{n}}}"))
        .collect();
    Command::new(common::pathway_bin())
        .args(["append", "--each", "--dir"])
        .arg(dir)
        .args(&events)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// A reader that keeps its cursor, as a host does.
struct Reader {
    cursor: Option<String>,
    page_bytes: u32,
    got: Vec<String>,
}

impl Reader {
    fn drain(&mut self, memory: &mut Memory) {
        loop {
            let page = memory
                .replay_page(self.cursor.as_deref(), self.page_bytes)
                .unwrap_or_else(|e| panic!("after {} records: {e}", self.got.len()));
            self.got
                .extend(page.entries.into_iter().map(|e| e.unwrap()));
            self.cursor = Some(page.next);
            if page.at_end {
                return;
            }
        }
    }
}

/// Each writer's records in order, each once, and nothing else but the
/// snapshots.
pub fn check_every_record_once(name: &str, got: &[String], writers: usize, events: usize) {
    let mut seen = vec![Vec::new(); writers];
    for record in got {
        let value: serde_json::Value = serde_json::from_str(record).unwrap();
        if value.get("round").is_some() {
            panic!("{name} read a snapshot: {record}");
        }
        let w = value["w"].as_u64().unwrap() as usize;
        seen[w].push(value["n"].as_u64().unwrap() as usize);
    }
    for (w, ns) in seen.iter().enumerate() {
        assert_eq!(*ns, (0..events).collect::<Vec<_>>(), "{name}: writer {w}");
    }
}

#[test]
fn a_follower_and_a_pager_read_every_record_once_through_100_compactions() {
    let dir = test_dir("follow_compactions");
    // The log exists before the readers' first page: their cursors are
    // then in a file, which each compaction moves past its snapshot (a
    // cursor made before any log existed is the start, snapshot and all).
    std::fs::write(dir.path().join(common::LOG), b"").unwrap();
    let mut memory = common::open(dir.path());
    let mut children: Vec<Child> = (0..2).map(|w| appender(dir.path(), w)).collect();
    let mut follower = Reader {
        cursor: None,
        page_bytes: 1 << 20,
        got: Vec::new(),
    };
    let mut pager = Reader {
        cursor: None,
        page_bytes: 200,
        got: Vec::new(),
    };
    let mut compactions = 0;
    while compactions < 100 {
        let upto = memory.walk_to_end().unwrap();
        follower.drain(&mut memory);
        pager.drain(&mut memory);
        let summary = format!("{{\"round\":{compactions}}}");
        memory.compact(&[summary.as_str()], &upto).unwrap();
        compactions += 1;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    follower.drain(&mut memory);
    pager.drain(&mut memory);
    check_every_record_once("the follower", &follower.got, 2, EVENTS);
    check_every_record_once("the pager", &pager.got, 2, EVENTS);
    common::figures_line(&format!(
        "follow: {compactions} compactions while 2 processes appended {} records: the follower \
         and the pager (pages of 200 bytes) each read every one once, in order per appender",
        2 * EVENTS
    ));
}
