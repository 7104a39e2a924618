//! [`MemStream`]: an ordered message store in memory, for the tests of the
//! stream protocol (native only), as `fs_mem` serves the file protocols.
//! It keeps JetStream's rules that the protocol relies on: one sequence
//! across topics, duplicate ids stored once, an expected last sequence per
//! topic, purge by topic below a sequence. Clones share one store, so
//! several logs can write to it as several hosts would; [`Faults`] makes
//! calls fail as an absent server or a lost acknowledgement would.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Batch, Message, Outgoing, Stats, Stream, StreamError, Target, Topic};

#[derive(Debug, Default)]
struct Store {
    /// Every stored message by sequence, with its topic.
    messages: BTreeMap<u64, (Topic, Message)>,
    last_seq: u64,
    /// Ids seen, never forgotten (a duplicate window longer than a test).
    ids: HashMap<String, u64>,
    faults: Faults,
    calls: Vec<String>,
}

/// Failures to inject, counted down as calls are made.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Calls of any kind that fail `unavailable` before anything happens.
    pub unavailable: u32,
    /// Publishes that store their messages but lose the acks (the call
    /// fails `unavailable` with none acknowledged).
    pub lost_acks: u32,
    /// Fail the publish whose messages are on this topic (once).
    pub fail_publish_on: Option<Topic>,
    /// Fail the next purge (once).
    pub fail_purge: bool,
    /// Before the next publish on the commit topic, another writer's
    /// commit lands (once): a compaction that lost the race.
    pub commit_first: bool,
}

/// A store in memory; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MemStream {
    store: Arc<Mutex<Store>>,
    name: String,
    /// Connecting fails `missing` (a stream nobody created).
    pub missing: bool,
    /// Largest message accepted (0: any).
    pub max_payload: u64,
}

fn unavailable() -> StreamError {
    StreamError::Unavailable {
        reason: "no answer (injected)".into(),
        tries: 3,
        millis: 2000,
        acked: 0,
    }
}

impl MemStream {
    pub fn new(name: &str) -> MemStream {
        MemStream {
            name: name.to_string(),
            ..MemStream::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the failures to inject.
    pub fn inject(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Publishes as another client would (no id rules of ours): the
    /// sequence.
    pub fn publish_raw(&self, topic: Topic, payload: &[u8]) -> u64 {
        let mut store = self.lock();
        store.last_seq += 1;
        let seq = store.last_seq;
        let message = Message {
            seq,
            headers: Vec::new(),
            payload: payload.to_vec(),
        };
        store.messages.insert(seq, (topic, message));
        seq
    }

    /// The payloads of a topic, in order.
    pub fn payloads(&self, topic: Topic) -> Vec<Vec<u8>> {
        self.lock()
            .messages
            .values()
            .filter(|(t, _)| *t == topic)
            .map(|(_, m)| m.payload.clone())
            .collect()
    }

    /// The calls made so far (`publish events 3`, `read snapshot`, ...).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn call(&self, what: String) -> Result<MutexGuard<'_, Store>, StreamError> {
        let mut store = self.lock();
        store.calls.push(what);
        if store.faults.unavailable > 0 {
            store.faults.unavailable -= 1;
            return Err(unavailable());
        }
        Ok(store)
    }
}

impl Stream for MemStream {
    fn target(&self) -> Target {
        Target {
            name: self.name.clone(),
            location: "mem://test".into(),
        }
    }

    fn connect(&mut self) -> Result<u64, StreamError> {
        drop(self.call("connect".into())?);
        if self.missing {
            return Err(StreamError::Missing);
        }
        Ok(self.max_payload)
    }

    fn publish(&mut self, messages: Vec<Outgoing>) -> Result<Vec<u64>, StreamError> {
        let topic = messages.first().map(|m| m.topic);
        let mut store = self.call(format!(
            "publish {} {}",
            topic.map_or("-", Topic::name),
            messages.len()
        ))?;
        if topic.is_some() && store.faults.fail_publish_on == topic {
            store.faults.fail_publish_on = None;
            return Err(unavailable());
        }
        if topic == Some(Topic::Commit) && store.faults.commit_first {
            store.faults.commit_first = false;
            store.last_seq += 1;
            let seq = store.last_seq;
            let rival = Message {
                seq,
                headers: Vec::new(),
                payload: Vec::new(),
            };
            store.messages.insert(seq, (Topic::Commit, rival));
        }
        let lose_acks = store.faults.lost_acks > 0;
        if lose_acks {
            store.faults.lost_acks -= 1;
        }
        let mut seqs = Vec::with_capacity(messages.len());
        for out in messages {
            if let Some(&seq) = store.ids.get(&out.id) {
                seqs.push(seq);
                continue;
            }
            if let Some(expected) = out.expect_last {
                let last = store
                    .messages
                    .values()
                    .rev()
                    .find(|(t, _)| *t == out.topic)
                    .map_or(0, |(_, m)| m.seq);
                if last != expected {
                    return Err(StreamError::Conflict);
                }
            }
            store.last_seq += 1;
            let seq = store.last_seq;
            store.ids.insert(out.id, seq);
            let message = Message {
                seq,
                headers: out.headers,
                payload: out.payload,
            };
            store.messages.insert(seq, (out.topic, message));
            seqs.push(seq);
        }
        if lose_acks {
            return Err(unavailable());
        }
        Ok(seqs)
    }

    fn last(&mut self, topic: Topic) -> Result<Option<Message>, StreamError> {
        let store = self.call(format!("last {}", topic.name()))?;
        Ok(store
            .messages
            .values()
            .rev()
            .find(|(t, _)| *t == topic)
            .map(|(_, m)| m.clone()))
    }

    fn read(&mut self, topic: Topic, start: u64, max_bytes: u64) -> Result<Batch, StreamError> {
        let store = self.call(format!("read {}", topic.name()))?;
        let mut batch = Batch::default();
        let mut bytes = 0u64;
        let mut found = store
            .messages
            .range(start..)
            .filter(|(_, (t, _))| *t == topic)
            .peekable();
        for (_, (_, message)) in found.by_ref() {
            bytes += message.payload.len() as u64 + 1;
            batch.messages.push(message.clone());
            if bytes >= max_bytes {
                break;
            }
        }
        batch.end = found.peek().is_none();
        Ok(batch)
    }

    fn purge(&mut self, topic: Topic, below: u64) -> Result<(), StreamError> {
        let mut store = self.call(format!("purge {} {below}", topic.name()))?;
        if store.faults.fail_purge {
            store.faults.fail_purge = false;
            return Err(unavailable());
        }
        store
            .messages
            .retain(|seq, (t, _)| *t != topic || *seq >= below);
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> Result<(), StreamError> {
        let mut store = self.call(format!("remove {seq}"))?;
        store.messages.remove(&seq);
        Ok(())
    }

    fn stats(&mut self) -> Result<Stats, StreamError> {
        let store = self.call("stats".into())?;
        let mut stats = Stats::default();
        for (topic, message) in store.messages.values() {
            stats.bytes += message.payload.len() as u64;
            match stats.counts.iter_mut().find(|(t, _)| t == topic) {
                Some((_, n)) => *n += 1,
                None => stats.counts.push((*topic, 1)),
            }
        }
        Ok(stats)
    }
}
