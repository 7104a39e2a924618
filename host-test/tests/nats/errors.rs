//! The NATS provider's failures come back as the WIT's typed causes, with
//! the component's words, and store nothing twice or not at all.

use crate::support as nats_support;

use nats_support::{Server, free_port, open};
use pathway_host::{Cause, Error, Memory, NatsTarget, Options, TooLarge, TrapKind};

fn target(url: &str, stream: &str, create: Option<usize>) -> NatsTarget {
    NatsTarget {
        url: url.to_string(),
        stream: stream.to_string(),
        create_replicas: create,
    }
}

fn log_error(result: Result<Memory, Error>) -> (Cause, String) {
    match result {
        Err(Error::Log(e)) => (e.cause, e.message),
        other => panic!("expected the log's error, got {other:?}"),
    }
}

#[test]
fn no_server_is_an_io_error_that_says_how_to_start_one() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let (cause, message) = log_error(Memory::open_nats(
        target(&url, "x", Some(1)),
        Options::default(),
    ));
    assert_eq!(cause, Cause::Io);
    assert!(
        message.starts_with(&format!("no NATS server answers at {url}: ")),
        "{message}"
    );
    assert!(
        message.ends_with("nats-server -js) or pass the URL of a running one; nothing was stored")
    );
}

#[test]
fn a_missing_stream_is_no_directory_and_says_how_to_create_it() {
    let server = Server::single("missing");
    let (cause, message) = log_error(Memory::open_nats(
        target(&server.url(), "nope", None),
        Options::default(),
    ));
    assert_eq!(cause, Cause::NoDirectory);
    assert_eq!(
        message,
        format!(
            "the JetStream stream \"nope\" does not exist on {}; create it (pathway append --nats \
             URL --stream NAME --replicas 1|3 creates it, or nats stream add) or pass the name of \
             an existing one",
            server.url()
        )
    );
}

#[test]
fn an_event_over_the_servers_max_payload_is_too_large_and_nothing_is_stored() {
    let server = Server::single("max_payload");
    let options = Options {
        max_line: Some(4 << 20),
        ..Options::default()
    };
    let mut log = nats_support::open_with(&server.url(), "big", 1, options);
    let big = format!("\"{}\"", "x".repeat(2 << 20));
    let Err(Error::Log(e)) = log.append_batch(&["1", &big]) else {
        panic!("a message over max_payload was accepted");
    };
    let Cause::TooLarge(TooLarge { index, limit, .. }) = e.cause else {
        panic!("{e:?}");
    };
    assert_eq!((index, limit), (1, 1 << 20));
    assert!(
        e.message.starts_with("event 1 would be a message of "),
        "{}",
        e.message
    );
    assert!(log.replay().unwrap().is_empty());
}

#[test]
fn a_retried_append_is_stored_once() {
    let mut server = Server::single("retried");
    let url = server.url();
    let options = Options {
        call_timeout: std::time::Duration::from_millis(600),
        ..Options::default()
    };
    let mut log = nats_support::open_with(&url, "retried", 1, options);
    log.try_append("1").unwrap();
    server.kill();
    let Err(Error::Log(e)) = log.try_append("2") else {
        panic!("an append with no server succeeded");
    };
    assert_eq!(e.cause, Cause::Io);
    assert!(
        e.message.contains("stopped answering while appending"),
        "{}",
        e.message
    );
    server.start();
    // The same event again: its message id is reused, so it is stored
    // once even if the first try reached the stream.
    let mut again = Ok(());
    for _ in 0..50 {
        again = log.try_append("2");
        if again.is_ok() {
            break;
        }
    }
    again.unwrap();
    let mut reader = open(&url, "retried", 1);
    let records: Vec<String> = reader
        .replay()
        .unwrap()
        .into_iter()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(records, ["1", "2"]);
}

#[test]
fn a_publish_the_servers_permissions_refuse_is_access_denied() {
    let server = Server::with_config(
        "denied",
        "authorization { users = [ { user: agent, password: secret, permissions: { publish: { \
         deny: [\"pathway.perm.events\"] } } } ] }",
    );
    let url = format!("nats://agent:secret@127.0.0.1:{}", server.port);
    let options = Options {
        call_timeout: std::time::Duration::from_secs(3),
        ..Options::default()
    };
    let mut log = nats_support::open_with(&url, "perm", 1, options);
    let Err(Error::Log(e)) = log.try_append("1") else {
        panic!("a denied publish was stored");
    };
    assert_eq!(e.cause, Cause::AccessDenied, "{}", e.message);
    assert!(
        e.message
            .starts_with("the NATS server refused appending on stream \"perm\": "),
        "{}",
        e.message
    );
    assert!(log.replay().unwrap().is_empty());
}

#[test]
fn append_of_a_refused_event_traps_with_the_words_the_file_log_traps_with() {
    let server = Server::single("append_trap");
    let mut log = open(&server.url(), "trap", 1);
    let dir = tempfile::tempdir().unwrap();
    let mut file = pathway_host::Memory::open(dir.path(), Options::default()).unwrap();
    let refusal = |error: Error| match error {
        Error::Trap {
            kind: TrapKind::Guest,
            stderr,
            ..
        } => stderr,
        other => panic!("expected a guest trap, got {other:?}"),
    };
    let nats = refusal(log.append("{oops}").unwrap_err());
    let file = refusal(file.append("{oops}").unwrap_err());
    let words = "pathway append refused: the event is not exactly one JSON value: key must be a \
                 string at byte offset 1; nothing was stored; fix the event and try again";
    assert!(nats.contains(words), "NATS: {nats}");
    assert!(file.contains(words), "file log: {file}");
    // Nothing stored, and the log goes on.
    log.append("{\"after\":true}").unwrap();
    assert_eq!(
        log.replay().unwrap(),
        vec![Ok("{\"after\":true}".to_string())]
    );
}
