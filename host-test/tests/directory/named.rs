//! Named logs through the host library and the component: one instance
//! serving many logs, the last records, the listing, and the name checks,
//! with the handles' life across a trap.

use crate::common::{open, test_dir};

use pathway_host::{Cause, Error, LogError, Memory, OPEN_HANDLES, Options, TrapKind};

fn cause(e: &Error) -> Option<&Cause> {
    e.cause()
}

fn records(entries: &[pathway_host::Entry]) -> Vec<String> {
    entries.iter().map(|e| e.clone().unwrap()).collect()
}

#[test]
fn each_name_is_its_own_file_and_the_default_log_is_pathway() {
    let dir = test_dir("named_files");
    let mut memory = open(dir.path());
    memory
        .log("thread-1")
        .unwrap()
        .append_batch(&["1", "2"])
        .unwrap();
    memory.log("thread-2").unwrap().try_append("\"x\"").unwrap();
    memory.try_append("0").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("thread-1.jsonl")).unwrap(),
        b"1\n2\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("thread-2.jsonl")).unwrap(),
        b"\"x\"\n"
    );
    assert_eq!(
        records(&memory.log("pathway").unwrap().replay().unwrap()),
        ["0"]
    );
    let listed: Vec<(String, u64)> = memory
        .logs()
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.bytes))
        .collect();
    assert_eq!(
        listed,
        [
            ("pathway".to_string(), 2),
            ("thread-1".to_string(), 4),
            ("thread-2".to_string(), 4)
        ]
    );
}

#[test]
fn a_bad_name_is_refused_before_anything_is_created() {
    let dir = test_dir("named_bad");
    let mut memory = open(dir.path());
    for bad in ["", "a/b", "..", ".x", "x.jsonl", "a\nb", &"n".repeat(201)] {
        let e = memory.log(bad).err().expect(bad);
        assert_eq!(cause(&e), Some(&Cause::InvalidName), "{bad:?}: {e}");
    }
    // The same rule when a Memory is opened on a name.
    let options = Options {
        log: Some("../escape".into()),
        ..Options::default()
    };
    match Memory::open(dir.path(), options).unwrap_err() {
        Error::Log(LogError {
            cause: Cause::InvalidName,
            message,
        }) => assert!(message.contains("path separator"), "{message}"),
        other => panic!("expected invalid-name, got {other:?}"),
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_memory_opened_on_a_name_is_that_log() {
    let dir = test_dir("named_option");
    let options = Options {
        log: Some("agent-7".into()),
        ..Options::default()
    };
    let mut memory = Memory::open(dir.path(), options).unwrap();
    memory.append_batch(&["1", "2"]).unwrap();
    assert_eq!(memory.settings().log_name, "agent-7.jsonl");
    let mut other = open(dir.path());
    assert_eq!(
        records(&other.log("agent-7").unwrap().replay().unwrap()),
        ["1", "2"]
    );
}

#[test]
fn last_is_the_end_of_replay_and_its_cursor_reads_what_comes_later() {
    let dir = test_dir("named_last");
    std::fs::write(dir.path().join("t.jsonl"), b"1\n2\nnot json\n3\n{\"torn\":").unwrap();
    let mut memory = open(dir.path());
    let mut log = memory.log("t").unwrap();
    let all = log.replay().unwrap();
    for n in [0u32, 1, 2, 3, 5, 100] {
        let recent = log.last(n).unwrap();
        assert_eq!(
            recent
                .entries
                .iter()
                .map(|e| e.as_ref().map_err(|d| d.offset))
                .collect::<Vec<_>>(),
            all[all.len().saturating_sub(n as usize)..]
                .iter()
                .map(|e| e.as_ref().map_err(|d| d.offset))
                .collect::<Vec<_>>(),
            "last {n}"
        );
    }
    let damaged = log.last(3).unwrap().entries[0].clone().unwrap_err();
    assert_eq!((damaged.line, damaged.offset), (0, 4));
    assert!(
        damaged.message.starts_with("line at byte offset 4: "),
        "{}",
        damaged.message
    );
    // The end is before the unterminated line; appending ends it.
    let end = log.end_cursor().unwrap();
    log.append_batch(&["4"]).unwrap();
    let page = log.replay_page(Some(&end), 1 << 20).unwrap();
    assert_eq!(page.entries.len(), 2, "{page:?}");
    assert_eq!(page.entries[1], Ok("4".to_string()));
    // A compaction needs a cursor that binds what it replaces.
    let refused = log.compact(&["[]"], &end).unwrap_err();
    assert_eq!(cause(&refused), Some(&Cause::StaleCursor), "{refused}");
}

#[test]
fn named_logs_keep_working_after_a_trap_replaced_the_instance() {
    let dir = test_dir("named_trap");
    let mut memory = open(dir.path());
    memory.log("a").unwrap().try_append("1").unwrap();
    // `append` traps on a refused event; the instance is replaced.
    let trap = memory.append("{").unwrap_err();
    assert!(
        matches!(
            trap,
            Error::Trap {
                kind: TrapKind::Guest,
                ..
            }
        ),
        "{trap}"
    );
    let mut log = memory.log("a").unwrap();
    log.try_append("2").unwrap();
    assert_eq!(records(&log.replay().unwrap()), ["1", "2"]);
}

#[test]
fn more_logs_than_open_handles_are_served_one_instance() {
    let dir = test_dir("named_many");
    let mut memory = open(dir.path());
    let count = OPEN_HANDLES * 2 + 3;
    for i in 0..count {
        memory
            .log(&format!("t{i:04}"))
            .unwrap()
            .try_append(&i.to_string())
            .unwrap();
    }
    for i in (0..count).rev() {
        let last = memory.log(&format!("t{i:04}")).unwrap().last(1).unwrap();
        assert_eq!(records(&last.entries), [i.to_string()]);
    }
    let listed = memory.logs().unwrap();
    assert_eq!(listed.len(), count);
    let mut after: Option<String> = None;
    let mut paged = 0;
    loop {
        let page = memory.logs_page(after.as_deref(), 100).unwrap();
        paged += page.logs.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, count);
    eprintln!("figures: {count} named logs in one instance ({OPEN_HANDLES} handles open at most)");
}
