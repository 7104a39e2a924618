//! The NATS side of [`NatsLog`](super::NatsLog): one connection and the
//! stream, each operation retried until the call's timeout while the
//! server is away (a restart, a cluster electing a new stream leader), its
//! failures as [`RemoteError`]s. The host is synchronous: the connection
//! runs on a tokio runtime of its own, and each operation is handed to it
//! and waited for on a plain channel, so a call works from inside
//! wasmtime-wasi's runtime context too (a plugin's import).

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, LastRawMessageErrorKind, Stream};
use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectErrorKind, ConnectOptions, HeaderMap, ServerAddr, ServerError};
use futures_util::StreamExt;
use pathway_memory::remote_error::{RemoteError, Stored};

use super::{Denied, NatsTarget, backoff};

/// The subjects of one log's stream (see the module docs of `nats`).
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    pub events: String,
    pub snapshot: String,
    pub commit: String,
    pub quarantine: String,
}

/// The commit in force: the snapshot (`count` messages from sequence
/// `first`) and the last event sequence it folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    pub seq: u64,
    /// The compaction's id, which each of its snapshot messages carries
    /// (`Pathway-Snapshot`): another compaction's messages published at
    /// the same time, which lost the race to commit, are skipped.
    pub id: String,
    pub first: u64,
    pub count: u64,
    pub upto: u64,
}

const FIRST: &str = "Pathway-First";
const COUNT: &str = "Pathway-Count";
const UPTO: &str = "Pathway-Upto";
const SEQ: &str = "Pathway-Seq";
pub(crate) const SNAPSHOT: &str = "Pathway-Snapshot";

/// How long one request waits for its answer before it is tried again.
const REQUEST: Duration = Duration::from_secs(2);

/// An ordered consumer left open after a page, reused when the next page
/// starts where it stands.
struct Reader {
    subject: String,
    /// The commit in force when it was made: a compaction or repair since
    /// drops it (it may hold messages they removed).
    commit: u64,
    next_seq: u64,
    messages: Ordered,
}

/// A message [`Wire::next_on`] found: sequence, payload, and its
/// `Pathway-Snapshot` header.
pub(crate) type Found = (u64, Vec<u8>, Option<String>);

/// What [`Wire::read_from`] read: messages (sequence, payload), and
/// whether the subject had no more when it stopped short of the budget.
pub(crate) type Batch = (Vec<(u64, Vec<u8>)>, bool);

pub(crate) struct Wire {
    runtime: tokio::runtime::Runtime,
    reader: Option<Reader>,
    client: Client,
    js: Context,
    stream: Stream,
    pub subjects: Subjects,
    url: String,
    name: String,
    denied: Denied,
}

/// A message id header.
pub(crate) fn msg_id(id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    headers
}

impl Wire {
    pub fn connect(target: &NatsTarget, timeout: Duration) -> Result<Wire, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pathway-nats")
            .enable_all()
            .build()
            .map_err(|e| RemoteError::NoServer {
                url: target.url.clone(),
                reason: format!("cannot start the client's runtime: {e}"),
            })?;
        let denied = Denied::default();
        let seen = denied.clone();
        let options = ConnectOptions::new()
            .connection_timeout(REQUEST)
            .request_timeout(Some(REQUEST))
            .event_callback(move |event| {
                // The server's only word for a refused publish or request
                // is this protocol error; the call that waits for its
                // answer turns it into `access-denied`.
                if let async_nats::Event::ServerError(ServerError::Other(text)) = &event
                    && text.to_ascii_lowercase().contains("permissions violation")
                    && let Ok(mut slot) = seen.lock()
                {
                    *slot = Some(text.clone());
                }
                async {}
            });
        let mut urls = Vec::new();
        let mut options = options;
        for url in target.url.split(',').map(str::trim) {
            let addr: ServerAddr = url.parse().map_err(|e| RemoteError::NoServer {
                url: target.url.clone(),
                reason: format!("{url:?} is not a NATS URL: {e}"),
            })?;
            // The client takes a user and password from its options, not
            // from the URL (nats://user:pass@host:port).
            if let (Some(user), Some(pass)) = (addr.username(), addr.password()) {
                options = options.user_and_password(user.to_string(), pass.to_string());
            }
            urls.push(addr);
        }
        let client =
            run(&runtime, async move { options.connect(urls).await }).map_err(|e| {
                match e.kind() {
                    ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                        RemoteError::PermissionDenied {
                            stream: target.stream.clone(),
                            during: "connecting",
                            reason: e.to_string(),
                        }
                    }
                    _ => RemoteError::NoServer {
                        url: target.url.clone(),
                        reason: e.to_string(),
                    },
                }
            })?;
        // The context spawns its acker task on the runtime it is made in.
        let mut js = {
            let _inside = runtime.enter();
            jetstream::new(client.clone())
        };
        js.set_timeout(REQUEST);
        let name = target.stream.clone();
        let subjects = Subjects {
            events: format!("pathway.{name}.events"),
            snapshot: format!("pathway.{name}.snapshot"),
            commit: format!("pathway.{name}.commit"),
            quarantine: format!("pathway.{name}.quarantine"),
        };
        let stream = open_stream(&runtime, &js, target, timeout)?;
        Ok(Wire {
            runtime,
            reader: None,
            client,
            js,
            stream,
            subjects,
            url: target.url.clone(),
            name,
            denied,
        })
    }

    fn gone(
        &self,
        during: &'static str,
        tries: u32,
        started: Instant,
        stored: Stored,
    ) -> RemoteError {
        RemoteError::ServerGone {
            url: self.url.clone(),
            during,
            tries,
            secs: started.elapsed().as_secs(),
            stored,
        }
    }

    fn take_denied(&self) -> Option<String> {
        self.denied.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Publishes every message and waits for every ack; messages not yet
    /// acknowledged are sent again (with the same ids: stored once) until
    /// `timeout`. Returns each message's stream sequence.
    pub fn publish_all(
        &mut self,
        messages: Vec<(String, String, HeaderMap)>,
        timeout: Duration,
    ) -> Result<Vec<u64>, RemoteError> {
        let max_payload = self.client.server_info().max_payload as u64;
        for (index, (subject, payload, headers)) in messages.iter().enumerate() {
            let size = wire_size(subject, payload, headers);
            if max_payload > 0 && size > max_payload {
                return Err(RemoteError::OverMaxPayload {
                    index,
                    size,
                    max_payload,
                });
            }
        }
        self.take_denied();
        let total = messages.len();
        let mut seqs: Vec<Option<u64>> = vec![None; total];
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let js = self.js.clone();
            let todo: Vec<(usize, String, String, HeaderMap)> = seqs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_none())
                .map(|(i, _)| {
                    let (subject, payload, headers) = &messages[i];
                    (i, subject.clone(), payload.clone(), headers.clone())
                })
                .collect();
            let (acked, failure) = run(&self.runtime, async move {
                let mut pending = Vec::with_capacity(todo.len());
                let mut failure = None;
                for (i, subject, payload, headers) in todo {
                    let message = PublishMessage::build()
                        .payload(payload.into())
                        .headers(headers);
                    match js.send_publish(subject, message).await {
                        Ok(ack) => pending.push((i, ack)),
                        Err(e) => {
                            failure = Some(e.kind());
                            break;
                        }
                    }
                }
                let mut acked = Vec::with_capacity(pending.len());
                for (i, ack) in pending {
                    match ack.await {
                        Ok(ack) => acked.push((i, ack.sequence)),
                        Err(e) => failure = Some(e.kind()),
                    }
                }
                (acked, failure)
            });
            for (i, seq) in acked {
                seqs[i] = Some(seq);
            }
            let Some(kind) = failure else {
                return Ok(seqs.into_iter().map(|s| s.unwrap_or(0)).collect());
            };
            let acked = seqs.iter().filter(|s| s.is_some()).count();
            if let Some(reason) = self.take_denied() {
                return Err(RemoteError::PermissionDenied {
                    stream: self.name.clone(),
                    during: "publishing",
                    reason,
                });
            }
            match kind {
                PublishErrorKind::MaxPayloadExceeded => {
                    let index = seqs.iter().position(Option::is_none).unwrap_or(0);
                    let (subject, payload, headers) = &messages[index];
                    return Err(RemoteError::OverMaxPayload {
                        index,
                        size: wire_size(subject, payload, headers),
                        max_payload,
                    });
                }
                PublishErrorKind::WrongLastSequence => {
                    return Err(RemoteError::Raced {
                        stream: self.name.clone(),
                    });
                }
                _ => {}
            }
            match backoff(tries, started, timeout) {
                Some(pause) => std::thread::sleep(pause),
                None => {
                    if kind == PublishErrorKind::StreamNotFound && !self.stream_exists() {
                        return Err(RemoteError::StreamMissing {
                            stream: self.name.clone(),
                            url: self.url.clone(),
                        });
                    }
                    return Err(self.gone(
                        "appending",
                        tries,
                        started,
                        Stored::Partly { acked, total },
                    ));
                }
            }
        }
    }

    fn stream_exists(&self) -> bool {
        let js = self.js.clone();
        let name = self.name.clone();
        run(&self.runtime, async move { js.get_stream(name).await })
            .map(|_| true)
            .unwrap_or_else(|e| !is_stream_not_found(e.kind()))
    }

    /// The commit in force, if any compaction or repair committed.
    pub fn commit(&mut self, timeout: Duration) -> Result<Option<Commit>, RemoteError> {
        let subject = self.subjects.commit.clone();
        let found = self.last_on(&subject, timeout)?;
        Ok(found.map(|(seq, headers)| {
            let number = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.as_str().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Commit {
                seq,
                id: headers
                    .get(SNAPSHOT)
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default(),
                first: number(FIRST),
                count: number(COUNT),
                upto: number(UPTO),
            }
        }))
    }

    fn last_on(
        &mut self,
        subject: &str,
        timeout: Duration,
    ) -> Result<Option<(u64, HeaderMap)>, RemoteError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.stream.clone();
            let subject = subject.to_string();
            let got = run(&self.runtime, async move {
                stream.get_last_raw_message_by_subject(&subject).await
            });
            match got {
                Ok(m) => return Ok(Some((m.sequence, m.headers))),
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
                Err(e) => self.retry_read(e.kind(), tries, started, timeout)?,
            }
        }
    }

    /// The first message on `subject` at or after sequence `seq`: its
    /// sequence, payload and `Pathway-Snapshot` header.
    pub fn next_on(
        &mut self,
        subject: &str,
        seq: u64,
        timeout: Duration,
    ) -> Result<Option<Found>, RemoteError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.stream.clone();
            let subject = subject.to_string();
            let got = run(&self.runtime, async move {
                stream
                    .raw_message_builder()
                    .sequence(seq.max(1))
                    .next_by_subject(subject)
                    .send()
                    .await
            });
            match got {
                Ok(m) => {
                    let id = m.headers.get(SNAPSHOT).map(|v| v.as_str().to_string());
                    return Ok(Some((m.sequence, m.payload.to_vec(), id)));
                }
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
                Err(e) => self.retry_read(e.kind(), tries, started, timeout)?,
            }
        }
    }

    /// Messages on `subject` from sequence `seq` until `max_bytes` of
    /// payload (plus one per message, as lines) were read, through an
    /// ordered consumer: a page in one round of pulls, not a request per
    /// message. Memory stays bounded by the page and the consumer's pull
    /// batch. Any failure drops the consumer and is retried as a read.
    pub fn read_from(
        &mut self,
        subject: &str,
        commit: u64,
        seq: u64,
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<Batch, RemoteError> {
        let (batch, maybe_end) = self.pull(subject, commit, seq, max_bytes, timeout)?;
        if !maybe_end {
            return Ok((batch, false));
        }
        // The consumer's count of pending messages is as of when it
        // fetched them: ask the stream whether more came since.
        let next = batch.last().map_or(seq, |(at, _)| at + 1);
        let more = self.next_on(subject, next, timeout)?.is_some();
        Ok((batch, !more))
    }

    fn pull(
        &mut self,
        subject: &str,
        commit: u64,
        seq: u64,
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<Batch, RemoteError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let reader = self
                .reader
                .take()
                .filter(|r| r.subject == subject && r.next_seq == seq && r.commit == commit);
            let (stream, subject_owned) = (self.stream.clone(), subject.to_string());
            let read = run(&self.runtime, async move {
                let mut reader = match reader {
                    Some(reader) => reader,
                    None => {
                        let config = OrderedConfig {
                            filter_subject: subject_owned.clone(),
                            deliver_policy: DeliverPolicy::ByStartSequence {
                                start_sequence: seq.max(1),
                            },
                            ..OrderedConfig::default()
                        };
                        let consumer = stream
                            .create_consumer(config)
                            .await
                            .map_err(|e| e.to_string())?;
                        if consumer.cached_info().num_pending == 0 {
                            return Ok((Vec::new(), true, None));
                        }
                        let messages = consumer.messages().await.map_err(|e| e.to_string())?;
                        Reader {
                            subject: subject_owned,
                            commit,
                            next_seq: seq,
                            messages,
                        }
                    }
                };
                let mut batch = Vec::new();
                let mut bytes = 0u64;
                loop {
                    let next = tokio::time::timeout(REQUEST, reader.messages.next()).await;
                    let message = match next {
                        Ok(Some(Ok(message))) => message,
                        Ok(Some(Err(e))) => return Err(e.to_string()),
                        Ok(None) => return Err("the consumer ended".to_string()),
                        Err(_) => return Err("no message within the request timeout".to_string()),
                    };
                    let info = message.info().map_err(|e| e.to_string())?;
                    let (at, pending) = (info.stream_sequence, info.pending);
                    bytes += message.payload.len() as u64 + 1;
                    batch.push((at, message.payload.to_vec()));
                    reader.next_seq = at + 1;
                    if bytes >= max_bytes {
                        return Ok((batch, false, Some(reader)));
                    }
                    if pending == 0 {
                        return Ok((batch, true, None));
                    }
                }
            });
            match read {
                Ok((batch, end, reader)) => {
                    self.reader = reader;
                    return Ok((batch, end));
                }
                Err(reason) => {
                    if let Some(reason) = self.take_denied() {
                        return Err(RemoteError::PermissionDenied {
                            stream: self.name.clone(),
                            during: "reading",
                            reason,
                        });
                    }
                    log::debug!("reading {subject} from {seq}: {reason}; trying again");
                    match backoff(tries, started, timeout) {
                        Some(pause) => std::thread::sleep(pause),
                        None => return Err(self.gone("reading", tries, started, Stored::Nothing)),
                    }
                }
            }
        }
    }

    /// Waits before another try of a read, or says why not.
    fn retry_read(
        &self,
        kind: LastRawMessageErrorKind,
        tries: u32,
        started: Instant,
        timeout: Duration,
    ) -> Result<(), RemoteError> {
        if let Some(reason) = self.take_denied() {
            return Err(RemoteError::PermissionDenied {
                stream: self.name.clone(),
                during: "reading",
                reason,
            });
        }
        if let LastRawMessageErrorKind::JetStream(e) = &kind
            && e.error_code() == ErrorCode::STREAM_NOT_FOUND
        {
            return Err(RemoteError::StreamMissing {
                stream: self.name.clone(),
                url: self.url.clone(),
            });
        }
        match backoff(tries, started, timeout) {
            Some(pause) => {
                std::thread::sleep(pause);
                Ok(())
            }
            None => Err(self.gone("reading", tries, started, Stored::Nothing)),
        }
    }

    /// Publishes `next` as the commit in force, if `prev` still is.
    /// Returns the commit's sequence.
    pub fn commit_to(
        &mut self,
        next: &Commit,
        prev: Option<&Commit>,
        id: &str,
        timeout: Duration,
    ) -> Result<u64, RemoteError> {
        let mut headers = msg_id(id);
        headers.insert(SNAPSHOT, next.id.as_str());
        headers.insert(FIRST, next.first.to_string().as_str());
        headers.insert(COUNT, next.count.to_string().as_str());
        headers.insert(UPTO, next.upto.to_string().as_str());
        headers.insert(
            "Nats-Expected-Last-Subject-Sequence",
            prev.map_or(0, |c| c.seq).to_string().as_str(),
        );
        let subject = self.subjects.commit.clone();
        let seqs = self.publish_all(vec![(subject, String::new(), headers)], timeout)?;
        Ok(seqs[0])
    }

    /// Purges what the commit at `committed` replaced: the events it folds,
    /// older snapshots (and partial ones), older commits.
    pub fn purge_before(
        &mut self,
        next: &Commit,
        committed: u64,
        timeout: Duration,
    ) -> Result<(), RemoteError> {
        let snapshot_from = if next.count > 0 {
            next.first
        } else {
            committed
        };
        let purges = [
            (self.subjects.events.clone(), next.upto + 1),
            (self.subjects.snapshot.clone(), snapshot_from),
            (self.subjects.commit.clone(), committed),
        ];
        let started = Instant::now();
        for (subject, below) in purges {
            let mut tries = 0;
            loop {
                tries += 1;
                let stream = self.stream.clone();
                let filter = subject.clone();
                let done = run(&self.runtime, async move {
                    stream.purge().filter(filter).sequence(below).await
                });
                if done.is_ok() {
                    break;
                }
                match backoff(tries, started, timeout) {
                    Some(pause) => std::thread::sleep(pause),
                    None => {
                        return Err(self.gone(
                            "purging",
                            tries,
                            started,
                            Stored::CommittedNotPurged,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Moves the message at `seq` to the quarantine subject, then deletes
    /// it: published first, so a crash between keeps both, never neither.
    pub fn quarantine(
        &mut self,
        seq: u64,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), RemoteError> {
        let mut headers = msg_id(&format!("pathway-quarantine-{}-{seq}", self.name));
        headers.insert(SEQ, seq.to_string().as_str());
        let subject = self.subjects.quarantine.clone();
        let payload = String::from_utf8_lossy(&payload).into_owned();
        self.publish_all(vec![(subject, payload, headers)], timeout)?;
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.stream.clone();
            let done = run(
                &self.runtime,
                async move { stream.delete_message(seq).await },
            );
            match done {
                Ok(_) => return Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        async_nats::jetstream::stream::DeleteMessageErrorKind::JetStream(_)
                    ) =>
                {
                    // Already gone (another repair deleted it).
                    return Ok(());
                }
                Err(_) => match backoff(tries, started, timeout) {
                    Some(pause) => std::thread::sleep(pause),
                    None => return Err(self.gone("repairing", tries, started, Stored::Nothing)),
                },
            }
        }
    }

    /// How many messages each of the stream's subjects holds.
    pub fn subject_counts(
        &mut self,
        timeout: Duration,
    ) -> Result<std::collections::HashMap<String, u64>, RemoteError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.stream.clone();
            let filter = format!("pathway.{}.>", self.name);
            let got = run(&self.runtime, async move {
                let mut counts = std::collections::HashMap::new();
                let mut subjects = stream.info_with_subjects(filter).await?;
                while let Some(item) = subjects.next().await {
                    let (subject, count) = item?;
                    counts.insert(subject, count as u64);
                }
                Ok::<_, async_nats::jetstream::context::RequestError>(counts)
            });
            match got {
                Ok(counts) => return Ok(counts),
                Err(_) => match backoff(tries, started, timeout) {
                    Some(pause) => std::thread::sleep(pause),
                    None => return Err(self.gone("reading", tries, started, Stored::Nothing)),
                },
            }
        }
    }

    /// Deletes the whole stream (the bench's own streams).
    pub fn delete_stream(&self) -> Result<(), RemoteError> {
        let (js, name) = (self.js.clone(), self.name.clone());
        run(&self.runtime, async move { js.delete_stream(name).await })
            .map(|_| ())
            .map_err(|e| RemoteError::Refused {
                stream: self.name.clone(),
                during: "deleting the stream",
                reason: e.to_string(),
            })
    }

    /// The stream's stored bytes, as the server counts them.
    pub fn stored_bytes(&mut self, timeout: Duration) -> Result<u64, RemoteError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.stream.clone();
            let got = run(&self.runtime, async move { stream.get_info().await });
            match got {
                Ok(info) => return Ok(info.state.bytes),
                Err(_) => match backoff(tries, started, timeout) {
                    Some(pause) => std::thread::sleep(pause),
                    None => return Err(self.gone("reading", tries, started, Stored::Nothing)),
                },
            }
        }
    }
}

/// Runs `future` on the connection's runtime and waits for it here.
fn run<F>(runtime: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    // The task always sends unless the runtime is shut down, which only
    // dropping `Wire` does.
    rx.recv()
        .expect("the NATS runtime lives as long as the log")
}

fn is_stream_not_found(kind: GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// The stream of `target`, created when asked and missing. Retried while
/// the server or cluster is not ready (no JetStream leader yet).
fn open_stream(
    runtime: &tokio::runtime::Runtime,
    js: &Context,
    target: &NatsTarget,
    timeout: Duration,
) -> Result<Stream, RemoteError> {
    let started = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        let (js2, name) = (js.clone(), target.stream.clone());
        let failure = match run(runtime, async move { js2.get_stream(name).await }) {
            Ok(stream) => return Ok(stream),
            Err(e) if is_stream_not_found(e.kind()) => {
                let Some(replicas) = target.create_replicas else {
                    return Err(RemoteError::StreamMissing {
                        stream: target.stream.clone(),
                        url: target.url.clone(),
                    });
                };
                let config = Config {
                    name: target.stream.clone(),
                    subjects: vec![format!("pathway.{}.>", target.stream)],
                    num_replicas: replicas,
                    duplicate_window: Duration::from_secs(120),
                    ..Config::default()
                };
                let js2 = js.clone();
                match run(runtime, async move { js2.create_stream(config).await }) {
                    Ok(stream) => return Ok(stream),
                    Err(e) if matches!(e.kind(), CreateStreamErrorKind::JetStream(_)) => {
                        e.to_string()
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        match backoff(tries, started, timeout) {
            Some(pause) => std::thread::sleep(pause),
            None => {
                return Err(RemoteError::Refused {
                    stream: target.stream.clone(),
                    during: "opening the stream",
                    reason: failure,
                });
            }
        }
    }
}

/// Bytes of a message on the wire as the server's `max_payload` counts
/// them: payload plus headers.
fn wire_size(_subject: &str, payload: &str, headers: &HeaderMap) -> u64 {
    let headers: usize = headers
        .iter()
        .map(|(name, values)| {
            values
                .iter()
                .map(|v| name.to_string().len() + 2 + v.as_str().len() + 2)
                .sum::<usize>()
        })
        .sum();
    // "NATS/1.0\r\n" ... "\r\n"
    (payload.len() + headers + 12) as u64
}
