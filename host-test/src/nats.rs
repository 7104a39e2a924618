//! [`NatsStream`]: the component's `stream` import served by a NATS
//! JetStream stream, with `async-nats` (cargo feature `nats`). Transport
//! only: the log's rules (ids, commits, cursors, compaction, the words of
//! every failure) are the component's. Each function is retried while the
//! server is away (a restart, a cluster electing a new stream leader) until
//! the time budget, and its failure is the WIT `stream-error`.
//!
//! The host is synchronous: the connection runs on a tokio runtime of its
//! own, and each operation is handed to it and waited for on a plain
//! channel, so a call works from inside wasmtime-wasi's runtime context.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::context::{GetStreamErrorKind, PublishErrorKind};
use async_nats::jetstream::message::{PublishMessage, StreamMessage};
use async_nats::jetstream::stream::LastRawMessageError;
use async_nats::jetstream::stream::{
    Config, DeleteMessageErrorKind, LastRawMessageErrorKind, Stream,
};
use async_nats::jetstream::{self, Context, ErrorCode};
use async_nats::{
    Client, ConnectErrorKind, ConnectOptions, HeaderMap, ServerAddr, ServerError, Subject,
};
use futures_util::StreamExt;

use crate::NatsTarget;
use crate::bindings::pathway::memory::stream::{
    Batch, Message, Outgoing, StreamError, StreamStats, TargetInfo, Topic, Unavailable,
};

/// How long one request waits for its answer before it is tried again.
const REQUEST: Duration = Duration::from_secs(2);

/// An ordered consumer left open after a read, reused when the next read
/// starts where it stopped.
struct Reader {
    topic: Topic,
    next_seq: u64,
    messages: Ordered,
}

/// The last permissions violation the server reported.
type Denied = Arc<Mutex<Option<String>>>;

/// The transport of one log.
pub(crate) struct NatsStream {
    target: NatsTarget,
    budget: Duration,
    /// How long one request waits: [`REQUEST`], or the budget if shorter.
    request: Duration,
    runtime: tokio::runtime::Runtime,
    open: Option<Open>,
    reader: Option<Reader>,
    denied: Denied,
}

struct Open {
    client: Client,
    js: Context,
    stream: Stream,
}

fn unavailable(reason: String, tries: u32, started: Instant, acked: u32) -> StreamError {
    StreamError::Unavailable(Unavailable {
        reason,
        tries,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        acked,
    })
}

/// What a message is published from: on each try (a message not yet
/// acknowledged is sent again, with the same id).
struct Parts {
    subject: Subject,
    id: String,
    headers: Vec<(String, String)>,
    expect_last: Option<u64>,
    payload: bytes::Bytes,
}

impl Parts {
    fn build(&self) -> PublishMessage {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", self.id.as_str());
        for (name, value) in &self.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        if let Some(last) = self.expect_last {
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                last.to_string().as_str(),
            );
        }
        PublishMessage::build()
            .payload(self.payload.clone())
            .headers(headers)
    }
}

/// How long to wait between tries while a server is away.
fn backoff(try_no: u32, started: Instant, budget: Duration) -> Option<Duration> {
    let pause = Duration::from_millis(50u64 << try_no.min(4));
    (started.elapsed() + pause < budget).then_some(pause)
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
    // dropping the transport does.
    rx.recv()
        .expect("the NATS runtime lives as long as the log")
}

fn subject(name: &str, topic: Topic) -> String {
    let topic = match topic {
        Topic::Events => "events",
        Topic::Snapshot => "snapshot",
        Topic::Commit => "commit",
        Topic::Quarantine => "quarantine",
    };
    format!("pathway.{name}.{topic}")
}

/// A message's headers without the server's own (`Nats-*`).
fn headers(map: Option<&HeaderMap>) -> Vec<(String, String)> {
    let Some(map) = map else { return Vec::new() };
    let mut out = Vec::new();
    for (name, values) in map.iter() {
        // Every event carries its id (`Nats-Msg-Id`): skipped without
        // allocating.
        let text: &str = name.as_ref();
        if text
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("nats-"))
        {
            continue;
        }
        for value in values {
            out.push((text.to_string(), value.as_str().to_string()));
        }
    }
    out
}

fn is_stream_not_found(kind: GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

impl NatsStream {
    /// A transport for `target` that connects when the component asks;
    /// each function retries for at most `budget`.
    pub(crate) fn new(target: NatsTarget, budget: Duration) -> Result<NatsStream, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pathway-nats")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the NATS client's runtime: {e}"))?;
        Ok(NatsStream {
            target,
            budget,
            request: REQUEST.min(budget),
            runtime,
            open: None,
            reader: None,
            denied: Denied::default(),
        })
    }

    fn take_denied(&self) -> Option<String> {
        self.denied.lock().ok().and_then(|mut slot| slot.take())
    }

    fn open(&self) -> Result<&Open, StreamError> {
        self.open
            .as_ref()
            .ok_or_else(|| StreamError::Refused("the stream was not connected".into()))
    }

    pub(crate) fn info(&mut self) -> TargetInfo {
        TargetInfo {
            name: self.target.stream.clone(),
            location: self.target.url.clone(),
        }
    }

    pub(crate) fn connect(&mut self) -> Result<u64, StreamError> {
        if let Some(open) = &self.open {
            return Ok(open.client.server_info().max_payload as u64);
        }
        let seen = self.denied.clone();
        let mut options = ConnectOptions::new()
            .connection_timeout(self.request)
            .request_timeout(Some(self.request))
            .event_callback(move |event| {
                // The server's only word for a refused publish or request
                // is this protocol error; the call waiting for its answer
                // turns it into `denied`.
                if let async_nats::Event::ServerError(ServerError::Other(text)) = &event
                    && text.to_ascii_lowercase().contains("permissions violation")
                    && let Ok(mut slot) = seen.lock()
                {
                    *slot = Some(text.clone());
                }
                async {}
            });
        let mut urls = Vec::new();
        for url in self.target.url.split(',').map(str::trim) {
            let addr: ServerAddr = url
                .parse()
                .map_err(|e| StreamError::Refused(format!("{url:?} is not a NATS URL: {e}")))?;
            // The client takes a user and password from its options, not
            // from the URL (nats://user:pass@host:port).
            if let (Some(user), Some(pass)) = (addr.username(), addr.password()) {
                options = options.user_and_password(user.to_string(), pass.to_string());
            }
            urls.push(addr);
        }
        let started = Instant::now();
        let client =
            run(&self.runtime, async move { options.connect(urls).await }).map_err(|e| match e
                .kind()
            {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    StreamError::Denied(e.to_string())
                }
                _ => unavailable(e.to_string(), 1, started, 0),
            })?;
        // The context spawns its acker task on the runtime it is made in.
        let mut js = {
            let _inside = self.runtime.enter();
            jetstream::new(client.clone())
        };
        js.set_timeout(self.request);
        let stream = self.open_stream(&js)?;
        let max_payload = client.server_info().max_payload as u64;
        self.open = Some(Open { client, js, stream });
        Ok(max_payload)
    }

    /// The stream, created when asked and missing. Retried while the
    /// server or cluster is not ready (no JetStream leader yet).
    fn open_stream(&self, js: &Context) -> Result<Stream, StreamError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let (js2, name) = (js.clone(), self.target.stream.clone());
            let failure = match run(&self.runtime, async move { js2.get_stream(name).await }) {
                Ok(stream) => return Ok(stream),
                Err(e) if is_stream_not_found(e.kind()) => {
                    let Some(replicas) = self.target.create_replicas else {
                        return Err(StreamError::Missing);
                    };
                    let config = Config {
                        name: self.target.stream.clone(),
                        subjects: vec![format!("pathway.{}.>", self.target.stream)],
                        num_replicas: replicas,
                        duplicate_window: Duration::from_secs(120),
                        ..Config::default()
                    };
                    let js2 = js.clone();
                    match run(
                        &self.runtime,
                        async move { js2.create_stream(config).await },
                    ) {
                        Ok(stream) => return Ok(stream),
                        Err(e) => e.to_string(),
                    }
                }
                Err(e) => e.to_string(),
            };
            if let Some(reason) = self.take_denied() {
                return Err(StreamError::Denied(reason));
            }
            match backoff(tries, started, self.budget) {
                Some(pause) => std::thread::sleep(pause),
                None => return Err(StreamError::Refused(failure)),
            }
        }
    }

    /// Publishes every message and waits for every ack; messages not yet
    /// acknowledged are sent again (same ids: stored once) until the
    /// budget is spent.
    pub(crate) fn publish(&mut self, messages: Vec<Outgoing>) -> Result<Vec<u64>, StreamError> {
        let js = self.open()?.js.clone();
        // A subject per topic, shared (cheap clones); each message's parts,
        // its payload shared too: a try builds what it sends from them.
        let subjects: Vec<Subject> = [
            Topic::Events,
            Topic::Snapshot,
            Topic::Commit,
            Topic::Quarantine,
        ]
        .iter()
        .map(|t| Subject::from(subject(&self.target.stream, *t)))
        .collect();
        let topic_index = |t: Topic| match t {
            Topic::Events => 0,
            Topic::Snapshot => 1,
            Topic::Commit => 2,
            Topic::Quarantine => 3,
        };
        let messages: Vec<Parts> = messages
            .into_iter()
            .map(|m| Parts {
                subject: subjects[topic_index(m.topic)].clone(),
                id: m.id,
                headers: m.headers,
                expect_last: m.expect_last,
                payload: m.payload.into(),
            })
            .collect();
        self.take_denied();
        let total = messages.len();
        let mut seqs: Vec<Option<u64>> = vec![None; total];
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let js = js.clone();
            let todo: Vec<(usize, Subject, PublishMessage)> = seqs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_none())
                .map(|(i, _)| (i, messages[i].subject.clone(), messages[i].build()))
                .collect();
            let (acked, failure) = run(&self.runtime, async move {
                let mut pending = Vec::with_capacity(todo.len());
                let mut failure = None;
                for (i, subject, message) in todo {
                    match js.send_publish(subject, message).await {
                        Ok(ack) => pending.push((i, ack)),
                        Err(e) => {
                            failure = Some((e.kind(), e.to_string()));
                            break;
                        }
                    }
                }
                let mut acked = Vec::with_capacity(pending.len());
                for (i, ack) in pending {
                    match ack.await {
                        Ok(ack) => acked.push((i, ack.sequence)),
                        Err(e) => failure = Some((e.kind(), e.to_string())),
                    }
                }
                (acked, failure)
            });
            for (i, seq) in acked {
                seqs[i] = Some(seq);
            }
            let Some((kind, reason)) = failure else {
                return Ok(seqs.into_iter().map(|s| s.unwrap_or(0)).collect());
            };
            if let Some(reason) = self.take_denied() {
                return Err(StreamError::Denied(reason));
            }
            match kind {
                PublishErrorKind::WrongLastSequence => return Err(StreamError::Conflict),
                PublishErrorKind::MaxPayloadExceeded => return Err(StreamError::Refused(reason)),
                _ => {}
            }
            match backoff(tries, started, self.budget) {
                Some(pause) => std::thread::sleep(pause),
                None => {
                    if kind == PublishErrorKind::StreamNotFound && !self.stream_exists() {
                        return Err(StreamError::Missing);
                    }
                    let acked = seqs.iter().filter(|s| s.is_some()).count();
                    return Err(unavailable(
                        reason,
                        tries,
                        started,
                        u32::try_from(acked).unwrap_or(u32::MAX),
                    ));
                }
            }
        }
    }

    fn stream_exists(&self) -> bool {
        let Some(open) = &self.open else { return false };
        let (js, name) = (open.js.clone(), self.target.stream.clone());
        run(&self.runtime, async move { js.get_stream(name).await })
            .map(|_| true)
            .unwrap_or_else(|e| !is_stream_not_found(e.kind()))
    }

    /// Waits before another try of a read, or says why not.
    fn retry_read(
        &self,
        kind: Option<LastRawMessageErrorKind>,
        reason: String,
        tries: u32,
        started: Instant,
    ) -> Result<(), StreamError> {
        if let Some(reason) = self.take_denied() {
            return Err(StreamError::Denied(reason));
        }
        if let Some(LastRawMessageErrorKind::JetStream(e)) = &kind
            && e.error_code() == ErrorCode::STREAM_NOT_FOUND
        {
            return Err(StreamError::Missing);
        }
        match backoff(tries, started, self.budget) {
            Some(pause) => {
                std::thread::sleep(pause);
                Ok(())
            }
            None => Err(unavailable(reason, tries, started, 0)),
        }
    }

    pub(crate) fn last(&mut self, topic: Topic) -> Result<Option<Message>, StreamError> {
        let subject = subject(&self.target.stream, topic);
        self.get(move |stream| {
            let subject = subject.clone();
            async move { stream.get_last_raw_message_by_subject(&subject).await }
        })
    }

    /// The first message of `topic` at or after `seq` (direct get).
    fn next_on(&mut self, topic: Topic, seq: u64) -> Result<Option<Message>, StreamError> {
        let subject = subject(&self.target.stream, topic);
        self.get(move |stream| {
            let subject = subject.clone();
            async move {
                stream
                    .raw_message_builder()
                    .sequence(seq.max(1))
                    .next_by_subject(subject)
                    .send()
                    .await
            }
        })
    }

    /// One message got by `request` (a direct get), retried while the
    /// server is away; `None` when there is no such message.
    fn get<F, Fut>(&mut self, request: F) -> Result<Option<Message>, StreamError>
    where
        F: Fn(Stream) -> Fut,
        Fut: Future<Output = Result<StreamMessage, LastRawMessageError>> + Send + 'static,
    {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.open()?.stream.clone();
            match run(&self.runtime, request(stream)) {
                Ok(m) => {
                    return Ok(Some(Message {
                        seq: m.sequence,
                        headers: headers(Some(&m.headers)),
                        payload: m.payload.to_vec(),
                    }));
                }
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
                Err(e) => self.retry_read(Some(e.kind()), e.to_string(), tries, started)?,
            }
        }
    }

    /// Messages of `topic` from `start` until `max_bytes`, through an
    /// ordered consumer kept open for the next read; a short read (a
    /// message or two) by direct get.
    pub(crate) fn read(
        &mut self,
        topic: Topic,
        start: u64,
        max_bytes: u64,
    ) -> Result<Batch, StreamError> {
        if max_bytes <= 1 {
            let Some(message) = self.next_on(topic, start)? else {
                return Ok(Batch {
                    messages: Vec::new(),
                    end: true,
                });
            };
            let end = self.next_on(topic, message.seq + 1)?.is_none();
            return Ok(Batch {
                messages: vec![message],
                end,
            });
        }
        let (messages, maybe_end) = self.pull(topic, start, max_bytes)?;
        if !maybe_end {
            return Ok(Batch {
                messages,
                end: false,
            });
        }
        // The consumer's count of pending messages is as of when it
        // fetched them: ask the stream whether more came since.
        let next = messages.last().map_or(start, |m| m.seq + 1);
        let end = self.next_on(topic, next)?.is_none();
        if !end && messages.is_empty() {
            // Published after the consumer looked: read again.
            let (messages, _) = self.pull(topic, start, max_bytes)?;
            return Ok(Batch {
                end: false,
                messages,
            });
        }
        Ok(Batch { messages, end })
    }

    fn pull(
        &mut self,
        topic: Topic,
        start: u64,
        max_bytes: u64,
    ) -> Result<(Vec<Message>, bool), StreamError> {
        let subject = subject(&self.target.stream, topic);
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let reader = self
                .reader
                .take()
                .filter(|r| r.topic == topic && r.next_seq == start);
            let stream = self.open()?.stream.clone();
            let filter = subject.clone();
            let request = self.request;
            let read = run(&self.runtime, async move {
                let mut reader = match reader {
                    Some(reader) => reader,
                    None => {
                        let config = OrderedConfig {
                            filter_subject: filter,
                            deliver_policy: DeliverPolicy::ByStartSequence {
                                start_sequence: start.max(1),
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
                            topic,
                            next_seq: start,
                            messages,
                        }
                    }
                };
                let mut batch = Vec::new();
                let mut bytes = 0u64;
                loop {
                    let next = tokio::time::timeout(request, reader.messages.next()).await;
                    let message = match next {
                        Ok(Some(Ok(message))) => message,
                        Ok(Some(Err(e))) => return Err(e.to_string()),
                        Ok(None) => return Err("the consumer ended".to_string()),
                        Err(_) => return Err("no message within the request timeout".to_string()),
                    };
                    let info = message.info().map_err(|e| e.to_string())?;
                    let (seq, pending) = (info.stream_sequence, info.pending);
                    bytes += message.payload.len() as u64 + 1;
                    batch.push(Message {
                        seq,
                        headers: headers(message.headers.as_ref()),
                        payload: message.payload.to_vec(),
                    });
                    reader.next_seq = seq + 1;
                    // Nothing more pending: maybe the end (the caller
                    // asks the stream), whether or not the budget is
                    // spent.
                    if pending == 0 {
                        return Ok((batch, true, None));
                    }
                    if bytes >= max_bytes {
                        return Ok((batch, false, Some(reader)));
                    }
                }
            });
            match read {
                Ok((batch, end, reader)) => {
                    self.reader = reader;
                    return Ok((batch, end));
                }
                Err(reason) => {
                    log::debug!("reading {subject} from {start}: {reason}; trying again");
                    self.retry_read(None, reason, tries, started)?;
                }
            }
        }
    }

    pub(crate) fn purge(&mut self, topic: Topic, below: u64) -> Result<(), StreamError> {
        self.reader = None;
        let filter = subject(&self.target.stream, topic);
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.open()?.stream.clone();
            let filter = filter.clone();
            let done = run(&self.runtime, async move {
                stream.purge().filter(filter).sequence(below).await
            });
            match done {
                Ok(_) => return Ok(()),
                Err(e) => self.retry_read(None, e.to_string(), tries, started)?,
            }
        }
    }

    pub(crate) fn remove(&mut self, seq: u64) -> Result<(), StreamError> {
        self.reader = None;
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.open()?.stream.clone();
            let done = run(
                &self.runtime,
                async move { stream.delete_message(seq).await },
            );
            match done {
                Ok(_) => return Ok(()),
                // Already gone (another repair deleted it).
                Err(e) if matches!(e.kind(), DeleteMessageErrorKind::JetStream(_)) => {
                    return Ok(());
                }
                Err(e) => self.retry_read(None, e.to_string(), tries, started)?,
            }
        }
    }

    pub(crate) fn stats(&mut self) -> Result<StreamStats, StreamError> {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let stream = self.open()?.stream.clone();
            let name = self.target.stream.clone();
            let got = run(&self.runtime, async move {
                let bytes = stream.get_info().await?.state.bytes;
                let mut counts = Vec::new();
                let mut subjects = stream
                    .info_with_subjects(format!("pathway.{name}.>"))
                    .await?;
                while let Some(item) = subjects.next().await {
                    let (subject, count) = item?;
                    let topic = match subject.rsplit('.').next() {
                        Some("events") => Topic::Events,
                        Some("snapshot") => Topic::Snapshot,
                        Some("commit") => Topic::Commit,
                        Some("quarantine") => Topic::Quarantine,
                        _ => continue,
                    };
                    counts.push((topic, count as u64));
                }
                Ok::<_, async_nats::jetstream::context::RequestError>(StreamStats { bytes, counts })
            });
            match got {
                Ok(stats) => return Ok(stats),
                Err(e) => self.retry_read(None, e.to_string(), tries, started)?,
            }
        }
    }

    /// Deletes the whole stream and everything in it (the bench's own
    /// streams).
    pub(crate) fn delete_stream(&mut self) -> Result<(), String> {
        let js = self
            .open()
            .map_err(|_| "not connected".to_string())?
            .js
            .clone();
        let name = self.target.stream.clone();
        run(&self.runtime, async move { js.delete_stream(name).await })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
