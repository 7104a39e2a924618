//! The stream a log lives in instead of a directory: where it is
//! ([`NatsTarget`]), and the component's `stream` import served from the
//! instance's transport ([`NatsStream`](crate::nats), cargo feature
//! `nats`). A host built without the feature grants no stream: every
//! function fails `refused`, which the component words.

use crate::bindings::pathway::memory::stream::{
    Batch, Host, Message, Outgoing, StreamError, StreamStats, TargetInfo, Topic,
};
use crate::instance::HostState;

/// Where a NATS log lives: a server (or cluster) URL and a stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// `nats://host:port`; several, comma-separated, for a cluster.
    pub url: String,
    /// The JetStream stream (letters, digits, `-`, `_`).
    pub stream: String,
    /// Create the stream with this many replicas (1 or 3, say) when it
    /// does not exist; `None`: a missing stream is an error that says how
    /// to create it.
    pub create_replicas: Option<usize>,
}

#[cfg(feature = "nats")]
mod served {
    use super::*;

    fn no_stream() -> StreamError {
        StreamError::Refused("this instance was granted no stream".into())
    }

    impl Host for HostState {
        fn target(&mut self) -> TargetInfo {
            match &mut self.stream {
                Some(stream) => stream.info(),
                None => TargetInfo {
                    name: String::new(),
                    location: String::new(),
                },
            }
        }

        fn connect(&mut self) -> Result<u64, StreamError> {
            self.stream.as_mut().ok_or_else(no_stream)?.connect()
        }

        fn publish(&mut self, messages: Vec<Outgoing>) -> Result<Vec<u64>, StreamError> {
            self.stream
                .as_mut()
                .ok_or_else(no_stream)?
                .publish(messages)
        }

        fn last(&mut self, topic: Topic) -> Result<Option<Message>, StreamError> {
            self.stream.as_mut().ok_or_else(no_stream)?.last(topic)
        }

        fn read(&mut self, topic: Topic, start: u64, max_bytes: u64) -> Result<Batch, StreamError> {
            self.stream
                .as_mut()
                .ok_or_else(no_stream)?
                .read(topic, start, max_bytes)
        }

        fn purge(&mut self, topic: Topic, below: u64) -> Result<(), StreamError> {
            self.stream
                .as_mut()
                .ok_or_else(no_stream)?
                .purge(topic, below)
        }

        fn remove(&mut self, seq: u64) -> Result<(), StreamError> {
            self.stream.as_mut().ok_or_else(no_stream)?.remove(seq)
        }

        fn stats(&mut self) -> Result<StreamStats, StreamError> {
            self.stream.as_mut().ok_or_else(no_stream)?.stats()
        }
    }
}

#[cfg(not(feature = "nats"))]
mod served {
    use super::*;

    fn not_built() -> StreamError {
        StreamError::Refused(
            "this pathway-host was built without the `nats` feature; build it with \
             `--features nats` to keep a log in NATS JetStream"
                .into(),
        )
    }

    impl Host for HostState {
        fn target(&mut self) -> TargetInfo {
            TargetInfo {
                name: String::new(),
                location: String::new(),
            }
        }

        fn connect(&mut self) -> Result<u64, StreamError> {
            Err(not_built())
        }

        fn publish(&mut self, _: Vec<Outgoing>) -> Result<Vec<u64>, StreamError> {
            Err(not_built())
        }

        fn last(&mut self, _: Topic) -> Result<Option<Message>, StreamError> {
            Err(not_built())
        }

        fn read(&mut self, _: Topic, _: u64, _: u64) -> Result<Batch, StreamError> {
            Err(not_built())
        }

        fn purge(&mut self, _: Topic, _: u64) -> Result<(), StreamError> {
            Err(not_built())
        }

        fn remove(&mut self, _: u64) -> Result<(), StreamError> {
            Err(not_built())
        }

        fn stats(&mut self) -> Result<StreamStats, StreamError> {
            Err(not_built())
        }
    }
}
