//! The last records, the end cursor and the listing on a stream, as on a
//! directory; and named logs, which a stream does not hold yet, refused
//! instead of aliasing the stream's one log.

use crate::support::{Server, open_with, publish_raw};

use pathway_host::{Cause, Memory, NatsTarget, Options};

#[test]
fn last_reads_the_end_of_a_stream_and_its_cursor_what_comes_later() {
    let server = Server::single("named_last");
    let url = server.url();
    let mut log = open_with(&url, "last", 1, Options::default());
    let events: Vec<String> = (0..2_000).map(|i| i.to_string()).collect();
    log.append_batch(&events).unwrap();
    let upto = log.walk_to_end().unwrap();
    log.compact(&["\"folded\""], &upto).unwrap();
    log.append_batch(&["1", "2"]).unwrap();
    publish_raw(&url, "last", &[b"{oops"]);
    let recent = log.last(4).unwrap();
    let shown: Vec<_> = recent
        .entries
        .iter()
        .map(|e| e.clone().map_err(|d| (d.line, d.offset)))
        .collect();
    assert_eq!(
        shown,
        [
            Ok("\"folded\"".to_string()),
            Ok("1".to_string()),
            Ok("2".to_string()),
            Err((0, 0))
        ]
    );
    let end = log.end_cursor().unwrap();
    log.append_batch(&["3"]).unwrap();
    let page = log.replay_page(Some(&end), 1 << 20).unwrap();
    assert_eq!(page.entries, [Ok("3".to_string())]);
    let refused = log.compact(&["[]"], &end).unwrap_err();
    assert_eq!(refused.cause(), Some(&Cause::StaleCursor), "{refused}");
}

#[test]
fn a_stream_lists_its_one_log_and_refuses_named_ones() {
    let server = Server::single("named_refused");
    let url = server.url();
    let mut log = open_with(&url, "one", 1, Options::default());
    log.append_batch(&["1", "22"]).unwrap();
    let listed: Vec<String> = log.logs().unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(listed, ["one"]);
    let e = log.log("thread-1").err().unwrap();
    assert_eq!(e.cause(), Some(&Cause::Io), "{e}");
    assert!(
        e.to_string()
            .contains("named logs are kept in directories only"),
        "{e}"
    );
    let target = NatsTarget {
        url: url.clone(),
        stream: "one".into(),
        create_replicas: None,
    };
    let options = Options {
        log: Some("thread-1".into()),
        ..Options::default()
    };
    let e = Memory::open_nats(target, options).unwrap_err();
    assert_eq!(e.cause(), Some(&Cause::Io), "{e}");
    // Nothing was written to the stream's log.
    assert_eq!(log.replay().unwrap().len(), 2);
}

#[test]
fn a_stream_stops_appends_at_its_quota_as_the_server_counts_its_bytes() {
    let server = Server::single("quota");
    let url = server.url();
    let options = Options {
        quota: Some(2000),
        ..Options::default()
    };
    let mut log = open_with(&url, "q", 1, options);
    let mut stored = 0;
    let refused = loop {
        match log.try_append(r#"{"turn":"hello there"}"#) {
            Ok(()) => stored += 1,
            Err(e) => break e,
        }
    };
    let Some(Cause::QuotaExceeded(q)) = refused.cause() else {
        panic!("expected quota-exceeded, got {refused}");
    };
    assert!(q.used <= 2000 && q.used + q.needed > 2000, "{q:?}");
    // What the server holds stays within the quota: the estimate is its
    // own accounting of a message.
    let held = log.logs().unwrap()[0].bytes;
    assert_eq!(held, q.used);
    assert!(stored > 5, "{stored}");
    assert_eq!(log.replay().unwrap().len(), stored);
}
