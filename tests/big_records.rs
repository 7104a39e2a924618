//! Records larger than the host's write permit, on the simulated disk:
//! another instance appends after every file operation of a big append
//! (its link, its reservation, its fill), and every record lands whole
//! and once.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::rc::Rc;

use pathway_memory::config::{Config, SyncMode};
use pathway_memory::format::DEFAULT_MAX_LINE;
use pathway_memory::frame::Frame;
use pathway_memory::fs_mem::MemFs;
use pathway_memory::store::Store;

const LOG: &str = "pathway.jsonl";

fn config() -> Config {
    Config {
        log_name: LOG.to_string(),
        max_line: DEFAULT_MAX_LINE,
        sync: SyncMode::Never,
    }
}

fn replay(fs: &MemFs) -> Vec<String> {
    let store = Store::new(config(), fs.clone(), "mem".into());
    let (page, _) = store.page(None, 1 << 30).expect("replay");
    page.entries
        .into_iter()
        .chain(page.tail)
        .map(|e| e.record.expect("no damaged line"))
        .collect()
}

#[test]
fn a_record_above_the_permit_lands_whole_while_another_instance_appends_at_every_step() {
    let fs = MemFs::new();
    let mut store = Store::new(config(), fs.clone(), "mem".into());
    let other = Rc::new(RefCell::new(Store::new(config(), fs.clone(), "mem".into())));
    let small = |i: usize| format!(r#"{{"small":{i}}}"#);
    other
        .borrow_mut()
        .append_frame(Frame::new([small(0).as_str()]))
        .unwrap();
    let appended = Rc::new(RefCell::new(vec![small(0)]));
    {
        let (fs2, other, appended) = (fs.clone(), other.clone(), appended.clone());
        fs.after_each_change(move || {
            fs2.advance(1_000_000);
            let text = small(appended.borrow().len());
            other
                .borrow_mut()
                .append_frame(Frame::new([text.as_str()]))
                .expect("small append during the big one");
            appended.borrow_mut().push(text);
        });
    }
    let bigs: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"big":{i},"pad":"{}"}}"#, "q".repeat(100_000 + i)))
        .collect();
    for big in &bigs {
        store
            .append_frame(Frame::new([big.as_str()]))
            .expect("big append");
    }
    fs.after_each_change(|| {});
    let mut seen = replay(&fs);
    seen.sort();
    let mut expected: Vec<String> = appended.borrow().clone();
    expected.extend(bigs.iter().cloned());
    expected.sort();
    assert!(
        appended.borrow().len() > 10,
        "the other instance appended meanwhile"
    );
    assert_eq!(seen, expected);
    assert_eq!(fs.names(), [LOG], "no claim or link left");
}
