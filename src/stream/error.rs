//! The failures of a log kept in a stream, made from the transport's
//! [`StreamError`]s with what the log was doing, and their text, made here
//! once so that every host words them alike. The component maps each onto
//! the WIT `cause` it names.

use std::fmt;

use super::{StreamError, Target, Topic};

/// A failure of a log served from a NATS JetStream stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// No server answered at `url` when connecting (WIT `io`).
    NoServer { url: String, reason: String },
    /// The server stopped answering during a call, after `tries` attempts
    /// over `secs` seconds (WIT `io`). `stored` says what is known of the
    /// call's messages.
    ServerGone {
        url: String,
        during: &'static str,
        tries: u32,
        secs: u64,
        stored: Stored,
    },
    /// The stream does not exist (WIT `no-directory`).
    StreamMissing { stream: String, url: String },
    /// The server's permissions refuse the operation (WIT `access-denied`).
    PermissionDenied {
        stream: String,
        during: &'static str,
        reason: String,
    },
    /// Event `index` of the call would be a message of `size` bytes, over
    /// the server's `max_payload` (WIT `too-large`). Nothing was stored.
    OverMaxPayload {
        index: usize,
        size: u64,
        max_payload: u64,
    },
    /// Another compaction or repair committed first (WIT `busy`).
    Raced { stream: String },
    /// The server refused the operation for another reason (WIT `io`).
    Refused {
        stream: String,
        during: &'static str,
        reason: String,
    },
}

/// What a failed append knows of its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// `acked` of the call's `total` messages were acknowledged; the others
    /// may or may not be stored. Calling again with the same events within
    /// the stream's duplicate window stores each once.
    Partly { acked: usize, total: usize },
    /// The call changed nothing (a read, or a rewrite that committed
    /// nothing).
    Nothing,
    /// A compaction's snapshot was published but the old messages were not
    /// all purged; replay is already correct (it starts at the snapshot)
    /// and the next compaction purges the rest.
    CommittedNotPurged,
}

impl RemoteError {
    /// A failure of `connect`.
    pub fn connecting(error: StreamError, target: &Target) -> RemoteError {
        match error {
            StreamError::Unavailable { reason, .. } => RemoteError::NoServer {
                url: target.location.clone(),
                reason,
            },
            other => RemoteError::during(other, target, "opening the stream", Stored::Nothing),
        }
    }

    /// A failure of a call made while `during` (`"appending"`, ...);
    /// `stored` says what is known of what the call stored when the store
    /// stopped answering.
    pub fn during(
        error: StreamError,
        target: &Target,
        during: &'static str,
        stored: Stored,
    ) -> RemoteError {
        let stream = target.name.clone();
        match error {
            StreamError::Unavailable {
                tries,
                millis,
                acked,
                ..
            } => RemoteError::ServerGone {
                url: target.location.clone(),
                during,
                tries,
                secs: millis / 1000,
                stored: match stored {
                    Stored::Partly { total, .. } => Stored::Partly {
                        acked: acked as usize,
                        total,
                    },
                    other => other,
                },
            },
            StreamError::Missing => RemoteError::StreamMissing {
                stream,
                url: target.location.clone(),
            },
            StreamError::Denied(reason) => RemoteError::PermissionDenied {
                stream,
                during,
                reason,
            },
            StreamError::Conflict => RemoteError::Raced { stream },
            StreamError::Refused(reason) => RemoteError::Refused {
                stream,
                during,
                reason,
            },
        }
    }
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stored::Partly { acked, total } => write!(
                f,
                "{acked} of the call's {total} events were acknowledged and the others may or may \
                 not be stored; call again with the same events (within the stream's duplicate \
                 window, 2 minutes by default) and each is stored once"
            ),
            Stored::Nothing => write!(f, "the log is as it was"),
            Stored::CommittedNotPurged => write!(
                f,
                "the snapshot is committed and replay already starts at it; the messages it \
                 replaces were not all purged yet, and the next compaction purges them"
            ),
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::NoServer { url, reason } => write!(
                f,
                "no NATS server answers at {url}: {reason}; start one with JetStream enabled \
                 (nats-server -js) or pass the URL of a running one; nothing was stored"
            ),
            RemoteError::ServerGone {
                url,
                during,
                tries,
                secs,
                stored,
            } => write!(
                f,
                "the NATS server at {url} stopped answering while {during} ({tries} tries over \
                 {secs} s); {stored}"
            ),
            RemoteError::StreamMissing { stream, url } => write!(
                f,
                "the JetStream stream {stream:?} does not exist on {url}; create it (pathway \
                 append --nats URL --stream NAME --replicas 1|3 creates it, or nats stream add) \
                 or pass the name of an existing one"
            ),
            RemoteError::PermissionDenied {
                stream,
                during,
                reason,
            } => write!(
                f,
                "the NATS server refused {during} on stream {stream:?}: {reason}; the log is as \
                 it was; grant this user publish and subscribe on the stream's subjects and its \
                 JetStream API"
            ),
            RemoteError::OverMaxPayload {
                index,
                size,
                max_payload,
            } => write!(
                f,
                "event {index} would be a message of {size} bytes, over the NATS server's \
                 max_payload of {max_payload} bytes; nothing was stored; split the event, or \
                 raise max_payload on every server (or lower PATHWAY_MAX_LINE to match)"
            ),
            RemoteError::Raced { stream } => write!(
                f,
                "another compaction or repair of stream {stream:?} committed first; the log is \
                 as that one left it; replay again and try again"
            ),
            RemoteError::Refused {
                stream,
                during,
                reason,
            } => write!(
                f,
                "the NATS server refused {during} on stream {stream:?}: {reason}; the log is as \
                 it was"
            ),
        }
    }
}

/// What `check` lists next to a stream's log, as the file log lists files
/// a compaction or repair left behind. `subject` names the topic as NATS
/// does: `pathway.<stream>.<topic>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// Snapshot messages of a compaction that did not commit (it crashed
    /// or lost the race); replay ignores them.
    UncommittedSnapshot { subject: String, messages: u64 },
    /// What `repair` moved out of the log.
    Quarantine { subject: String, messages: u64 },
}

/// How the hosts name `topic` of stream `stream` (the NATS subject).
pub fn subject(stream: &str, topic: Topic) -> String {
    format!("pathway.{stream}.{}", topic.name())
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leftover::UncommittedSnapshot { subject, messages } => write!(
                f,
                "{subject} ({messages} {} of a compaction that did not commit; replay ignores \
                 them and the next compaction purges them)",
                noun(*messages)
            ),
            Leftover::Quarantine { subject, messages } => write!(
                f,
                "{subject} ({messages} {} that repair moved out of the log)",
                noun(*messages)
            ),
        }
    }
}

fn noun(messages: u64) -> &'static str {
    if messages == 1 { "message" } else { "messages" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partly_acknowledged_append_says_how_to_store_the_rest_once() {
        let e = RemoteError::ServerGone {
            url: "nats://127.0.0.1:4222".into(),
            during: "appending",
            tries: 3,
            secs: 60,
            stored: Stored::Partly { acked: 2, total: 5 },
        };
        assert_eq!(
            e.to_string(),
            "the NATS server at nats://127.0.0.1:4222 stopped answering while appending (3 tries \
             over 60 s); 2 of the call's 5 events were acknowledged and the others may or may \
             not be stored; call again with the same events (within the stream's duplicate \
             window, 2 minutes by default) and each is stored once"
        );
    }
}
