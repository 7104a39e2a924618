//! Lines appended as they arrive (`pathway append -`, a pipe, a socket):
//! [`Memory::append_lines`].
//!
//! The rule, the same in the Node (`appendLines`) and Python
//! (`append_lines`) hosts:
//!
//! - The source is split at `\n`; a line may end in `\r` (the component
//!   takes it for whitespace). A blank line (nothing but whitespace) is
//!   counted and skipped; every other line is one event.
//! - Events are appended in batches, each one `append-batch`, so each batch
//!   is stored all or nothing. A batch holds at most [`Batching::max_events`]
//!   events and [`Batching::max_bytes`] bytes (an event larger than that is
//!   a batch of its own), and it is stored when no line has come for
//!   [`Batching::idle`] or its first line has waited [`Batching::max_wait`].
//!   Lines that are already there never wait for a timer.
//! - A refused line (not one JSON value, too large, not UTF-8) refuses its
//!   own batch and stops the import: the batches before it stay stored.
//!   [`LinesError`] names the line (1-based), how many events are stored
//!   and the line to resume from: every line before it is stored or blank.
//!
//! Memory stays bounded by the read-ahead (16 reads of 64 KiB), one batch
//! and the longest line, whatever the source's size.

use std::fmt;
use std::io::{self, Read};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use crate::{Cause, Error, Memory};

/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Most bytes of events in one batch: about what one `append-batch` call
/// takes in a millisecond, and a small share of the guest's memory.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// A batch is stored once no line has come for this long: a writer that
/// paused (`tail -f`, an agent between steps) sees its lines stored.
pub const BATCH_IDLE: Duration = Duration::from_millis(10);
/// A batch is stored once its first line has waited this long, even while
/// lines keep trickling in.
pub const BATCH_MAX_WAIT: Duration = Duration::from_millis(50);

/// Bytes read from the source at a time.
const READ_BYTES: usize = 64 << 10;
/// Reads waiting for the appends: with `READ_BYTES`, 1 MiB (plus the
/// longest line) read ahead at most.
const READ_AHEAD: usize = 16;

/// The bounds of a batch; `Default` gives the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Most events in one batch (at least 1).
    pub max_events: usize,
    /// Most bytes of events in one batch (an event larger than this is a
    /// batch of its own).
    pub max_bytes: usize,
    /// Store a batch once no line has come for this long.
    pub idle: Duration,
    /// Store a batch once its first line has waited this long.
    pub max_wait: Duration,
}

impl Default for Batching {
    fn default() -> Batching {
        Batching {
            max_events: MAX_BATCH_EVENTS,
            max_bytes: MAX_BATCH_BYTES,
            idle: BATCH_IDLE,
            max_wait: BATCH_MAX_WAIT,
        }
    }
}

/// What an import read and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinesReport {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Events stored.
    pub stored: u64,
}

/// Why an import stopped, and where. Its text is the same in every host.
#[derive(Debug)]
pub struct LinesError {
    /// The refused line (1-based): a refusal of the component or a line
    /// that is not UTF-8. `None` when something else stopped the import.
    pub line: Option<u64>,
    /// Where to resume: every line before it is stored or blank.
    pub resume_line: u64,
    /// Events this import stored, all of them before `resume_line`.
    pub stored: u64,
    pub failure: LinesFailure,
}

/// What stopped an import.
#[derive(Debug)]
pub enum LinesFailure {
    /// A batch's `append-batch` failed: the component refused an event of
    /// it (`line` is that event's), or any other error of the log.
    Log(Error),
    /// `line` is not UTF-8; `byte` is the offset of its first bad byte.
    InvalidUtf8 { byte: u64 },
    /// Reading the source failed after `lines` lines.
    Read { lines: u64, error: io::Error },
}

impl LinesError {
    /// The typed cause: the component's for its errors, else
    /// `invalid-utf8`, `trap`, `host` (the instance could not be made) or
    /// `source`.
    pub fn cause_name(&self) -> &'static str {
        match &self.failure {
            LinesFailure::Log(Error::Log(e)) => crate::json::cause_name(&e.cause),
            LinesFailure::Log(Error::Trap { .. }) => "trap",
            LinesFailure::Log(_) => "host",
            LinesFailure::InvalidUtf8 { .. } => "invalid-utf8",
            LinesFailure::Read { .. } => "source",
        }
    }

    /// Whether the input is at fault: a refused line or one that is not
    /// UTF-8.
    pub fn is_refusal(&self) -> bool {
        match &self.failure {
            LinesFailure::Log(e) => e.is_refusal(),
            LinesFailure::InvalidUtf8 { .. } => true,
            LinesFailure::Read { .. } => false,
        }
    }

    /// That no event is stored, or how many before `resume_line` are.
    fn stopped(&self) -> String {
        let (resume, stored) = (self.resume_line, self.stored);
        match stored {
            0 => "none of its events is stored".to_string(),
            1 => format!(
                "the 1 event before line {resume} is stored, nothing from line {resume} on is"
            ),
            _ => format!(
                "the {stored} events before line {resume} are stored, nothing from line {resume} on is"
            ),
        }
    }
}

impl fmt::Display for LinesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (resume, stopped) = (self.resume_line, self.stopped());
        let line = self.line.unwrap_or(resume);
        match &self.failure {
            LinesFailure::InvalidUtf8 { byte } => write!(
                f,
                "line {line} is not valid UTF-8 (first bad byte at byte {byte} of the line); \
                 the import stopped: {stopped}; fix line {line} and resume from line {resume}"
            ),
            LinesFailure::Log(e) if self.line.is_some() => write!(
                f,
                "line {line} was refused: {e}; the import stopped: {stopped}; fix line {line} \
                 and resume from line {resume}"
            ),
            // Not a refusal: the component's message says what of the
            // failed batch reached the file.
            LinesFailure::Log(e) => {
                let before = match self.stored {
                    0 => "no event before it is stored".to_string(),
                    1 => "the 1 event before it is stored".to_string(),
                    n => format!("the {n} events before it are stored"),
                };
                write!(
                    f,
                    "{e}; the import stopped at the batch from line {resume}: {before}; resume \
                     from line {resume}"
                )
            }
            LinesFailure::Read { lines, error } => write!(
                f,
                "reading line {} failed: {error}; the import stopped: {stopped}; resume from \
                 line {resume}",
                lines + 1
            ),
        }
    }
}

impl std::error::Error for LinesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            LinesFailure::Log(e) => Some(e),
            LinesFailure::Read { error, .. } => Some(error),
            LinesFailure::InvalidUtf8 { .. } => None,
        }
    }
}

impl Memory {
    /// Appends the lines of `source` as they arrive, in batches (see the
    /// module's rule and [`Batching`]). `source` is read on a thread of its
    /// own; if the import stops early, that thread ends at its next read.
    pub fn append_lines<R: Read + Send + 'static>(
        &mut self,
        source: R,
        batching: &Batching,
    ) -> Result<LinesReport, LinesError> {
        append_lines(source, batching, &mut |events| self.append_batch(events))
    }
}

/// Complete lines read at once, as text; `ends` are where each line ends
/// (its `\n` not included).
struct Chunk {
    text: String,
    ends: Vec<usize>,
    /// The line after these is not UTF-8 at this byte; reading stopped.
    bad_line: Option<u64>,
}

enum Message {
    Lines(Chunk),
    Failed(io::Error),
    End,
}

/// The reader thread: `source` in reads of `READ_BYTES`, the complete
/// lines sent after each read, so none waits for the next read to return.
fn read_lines(mut source: impl Read, send: SyncSender<Message>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let start = buf.len();
        buf.resize(start + READ_BYTES, 0);
        let read = source.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = send.send(Message::Failed(e));
                return;
            }
            Ok(0) => {
                // The end: what is left is the last line, without its `\n`.
                if buf.is_empty() || send_lines(&send, chunk(buf)) {
                    let _ = send.send(Message::End);
                }
                return;
            }
            Ok(_) => {
                // Complete lines go; the rest of a line waits for more.
                let Some(last) = memchr::memrchr(b'\n', &buf[start..]) else {
                    continue;
                };
                let rest = buf.split_off(start + last + 1);
                if !send_lines(&send, chunk(std::mem::replace(&mut buf, rest))) {
                    return;
                }
            }
        }
    }
}

/// Sends `chunk`; false when reading is to stop: the import stopped, or
/// the chunk ends at a line that is not UTF-8.
fn send_lines(send: &SyncSender<Message>, chunk: Chunk) -> bool {
    let more = chunk.bad_line.is_none();
    send.send(Message::Lines(chunk)).is_ok() && more
}

/// Complete lines as text, up to the first line that is not UTF-8.
fn chunk(bytes: Vec<u8>) -> Chunk {
    let (text, bad_line) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            let line_start = memchr::memrchr(b'\n', &bytes[..bad]).map_or(0, |i| i + 1);
            bytes.truncate(line_start);
            // Valid: it ends before the first bad byte.
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            (text, Some((bad - line_start) as u64))
        }
    };
    let mut ends: Vec<usize> = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
    if !text.is_empty() && !text.ends_with('\n') {
        ends.push(text.len());
    }
    Chunk {
        text,
        ends,
        bad_line,
    }
}

/// The events waiting to be appended, copied out of the chunks they came in.
#[derive(Default)]
struct Batch {
    text: String,
    /// Each event's span in `text` and its line.
    events: Vec<(usize, usize, u64)>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Batch {
    fn push(&mut self, event: &str, line: u64, now: Instant) {
        let start = self.text.len();
        self.text.push_str(event);
        self.events.push((start, self.text.len(), line));
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// Empties the batch, keeping its allocations.
    fn clear(&mut self) {
        self.text.clear();
        self.events.clear();
        (self.first, self.last) = (None, None);
    }

    /// When the batch is to be stored if no line comes first.
    fn deadline(&self, batching: &Batching) -> Option<Instant> {
        Some((self.last? + batching.idle).min(self.first? + batching.max_wait))
    }
}

/// What has been read and stored so far.
struct Progress<'a> {
    batching: Batching,
    append: &'a mut dyn FnMut(&[&str]) -> Result<(), Error>,
    batch: Batch,
    lines: u64,
    stored: u64,
    resume_line: u64,
}

impl Progress<'_> {
    fn error(&self, line: Option<u64>, failure: LinesFailure) -> LinesError {
        LinesError {
            line,
            resume_line: self.resume_line,
            stored: self.stored,
            failure,
        }
    }

    /// Appends the batch; a refusal names its line.
    fn flush(&mut self) -> Result<(), LinesError> {
        let Some(&(_, _, last_line)) = self.batch.events.last() else {
            return Ok(());
        };
        let events: Vec<&str> = self
            .batch
            .events
            .iter()
            .map(|&(start, end, _)| &self.batch.text[start..end])
            .collect();
        if let Err(e) = (self.append)(&events) {
            let index = match e.cause() {
                Some(Cause::InvalidJson(j)) => Some(j.index),
                Some(Cause::TooLarge(t)) => Some(t.index),
                _ => None,
            };
            let line = index.and_then(|i| self.batch.events.get(i as usize).map(|e| e.2));
            return Err(self.error(line, LinesFailure::Log(e)));
        }
        self.stored += events.len() as u64;
        self.resume_line = last_line + 1;
        self.batch.clear();
        Ok(())
    }

    fn take(&mut self, chunk: &Chunk, now: Instant) -> Result<(), LinesError> {
        let mut start = 0;
        for &end in &chunk.ends {
            let line = &chunk.text[start..end];
            start = end + 1;
            self.lines += 1;
            if line.trim().is_empty() {
                continue;
            }
            let held = self.batch.text.len();
            if held > 0 && held + line.len() > self.batching.max_bytes {
                self.flush()?;
            }
            self.batch.push(line, self.lines, now);
            if self.batch.events.len() >= self.batching.max_events {
                self.flush()?;
            }
        }
        match chunk.bad_line {
            Some(byte) => {
                self.lines += 1;
                Err(self.error(Some(self.lines), LinesFailure::InvalidUtf8 { byte }))
            }
            None => Ok(()),
        }
    }
}

/// The import: a thread reads, this one batches and appends.
fn append_lines<R: Read + Send + 'static>(
    source: R,
    batching: &Batching,
    append: &mut dyn FnMut(&[&str]) -> Result<(), Error>,
) -> Result<LinesReport, LinesError> {
    let batching = Batching {
        max_events: batching.max_events.max(1),
        ..*batching
    };
    let mut progress = Progress {
        batching,
        append,
        batch: Batch::default(),
        lines: 0,
        stored: 0,
        resume_line: 1,
    };
    let (send, receive) = mpsc::sync_channel(READ_AHEAD);
    if let Err(error) = std::thread::Builder::new()
        .name("pathway-lines".into())
        .spawn(move || read_lines(source, send))
    {
        return Err(progress.error(None, LinesFailure::Read { lines: 0, error }));
    }
    let gone = |progress: &Progress| {
        let error = io::Error::other("the thread reading the lines stopped");
        let lines = progress.lines;
        progress.error(None, LinesFailure::Read { lines, error })
    };
    loop {
        // What is there already is taken at once; a timer only runs out
        // while waiting for the source.
        let message = match receive.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Disconnected) => return Err(gone(&progress)),
            Err(TryRecvError::Empty) => match progress.batch.deadline(&batching) {
                None => receive.recv().map_err(|_| gone(&progress))?,
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match receive.recv_timeout(wait) {
                        Ok(message) => message,
                        Err(RecvTimeoutError::Timeout) => {
                            progress.flush()?;
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return Err(gone(&progress)),
                    }
                }
            },
        };
        match message {
            Message::Lines(chunk) => progress.take(&chunk, Instant::now())?,
            Message::Failed(error) => {
                let lines = progress.lines;
                return Err(progress.error(None, LinesFailure::Read { lines, error }));
            }
            Message::End => {
                progress.flush()?;
                return Ok(LinesReport {
                    lines: progress.lines,
                    stored: progress.stored,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `chunk`, and its bad line's byte.
    fn lines(chunk: &Chunk) -> (Vec<&str>, Option<u64>) {
        let mut start = 0;
        let mut out = Vec::new();
        for &end in &chunk.ends {
            out.push(&chunk.text[start..end]);
            start = end + 1;
        }
        (out, chunk.bad_line)
    }

    #[test]
    fn a_chunk_ends_at_the_first_line_that_is_not_utf8() {
        let chunk = chunk(b"1\n\"\xc3\xa9\"\r\n2\xff3\n4\n".to_vec());
        assert_eq!(lines(&chunk), (vec!["1", "\"é\"\r"], Some(1)));
        let chunk = super::chunk(b"\xe2\x82".to_vec());
        assert_eq!(lines(&chunk), (vec![], Some(0)));
    }

    #[test]
    fn the_last_line_needs_no_newline() {
        let chunk = chunk(b"1\n\n2".to_vec());
        assert_eq!(lines(&chunk), (vec!["1", "", "2"], None));
    }

    #[test]
    fn batches_are_bounded_by_events_and_bytes() {
        let mut calls: Vec<Vec<String>> = Vec::new();
        let input = "1\n22\n\n333\n4444\n55555\n";
        let batching = Batching {
            max_events: 3,
            max_bytes: 7,
            idle: Duration::from_secs(60),
            max_wait: Duration::from_secs(60),
        };
        let report = append_lines(io::Cursor::new(input), &batching, &mut |events| {
            calls.push(events.iter().map(|e| e.to_string()).collect());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            report,
            LinesReport {
                lines: 6,
                stored: 5
            }
        );
        assert_eq!(calls, [vec!["1", "22", "333"], vec!["4444"], vec!["55555"]]);
    }

    fn patient() -> Batching {
        Batching {
            max_events: 2,
            idle: Duration::from_secs(60),
            max_wait: Duration::from_secs(60),
            ..Batching::default()
        }
    }

    /// Stores into `stored`, refusing the event `{` as the component would.
    fn refusing_braces(stored: &mut Vec<String>) -> impl FnMut(&[&str]) -> Result<(), Error> {
        move |events| {
            if let Some(index) = events.iter().position(|e| *e == "{") {
                let cause = Cause::InvalidJson(crate::InvalidJson {
                    index: index as u32,
                    offset: 1,
                    reason: "EOF while parsing an object".into(),
                });
                let message = "(the component's words)".into();
                return Err(Error::Log(crate::LogError { cause, message }));
            }
            stored.extend(events.iter().map(|e| e.to_string()));
            Ok(())
        }
    }

    #[test]
    fn a_refused_line_refuses_its_batch_and_names_where_to_resume() {
        let mut stored = Vec::new();
        let input = "1\n2\n\n{\n5\n6\n";
        let error = append_lines(
            io::Cursor::new(input),
            &patient(),
            &mut refusing_braces(&mut stored),
        )
        .unwrap_err();
        assert_eq!(stored, ["1", "2"]);
        assert_eq!(
            (error.line, error.resume_line, error.stored),
            (Some(4), 3, 2)
        );
        assert!(error.is_refusal());
        assert_eq!(
            error.to_string(),
            "line 4 was refused: (the component's words); the import stopped: the 2 events \
             before line 3 are stored, nothing from line 3 on is; fix line 4 and resume from line 3"
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_refuses_its_batch() {
        let mut stored = Vec::new();
        let input: &[u8] = b"1\n2\n3\n4\x80\n5\n";
        let error = append_lines(
            io::Cursor::new(input),
            &patient(),
            &mut refusing_braces(&mut stored),
        )
        .unwrap_err();
        assert_eq!(stored, ["1", "2"]);
        assert_eq!(
            (error.line, error.resume_line, error.stored),
            (Some(4), 3, 2)
        );
        assert_eq!(error.cause_name(), "invalid-utf8");
        assert_eq!(
            error.to_string(),
            "line 4 is not valid UTF-8 (first bad byte at byte 1 of the line); the import \
             stopped: the 2 events before line 3 are stored, nothing from line 3 on is; fix line 4 \
             and resume from line 3"
        );
        let error =
            append_lines(io::Cursor::new(b"\xff"), &patient(), &mut |_| Ok(())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1 is not valid UTF-8 (first bad byte at byte 0 of the line); the import \
             stopped: none of its events is stored; fix line 1 and resume from line 1"
        );
    }

    /// Gives `data`, then fails.
    struct Failing(&'static [u8]);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("the disk went away"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_failed_read_stops_the_import_and_stores_nothing_more() {
        let mut stored = Vec::new();
        let error = append_lines(
            Failing(b"1\n2\n3\n"),
            &patient(),
            &mut refusing_braces(&mut stored),
        )
        .unwrap_err();
        assert_eq!(stored, ["1", "2"]);
        assert_eq!((error.line, error.resume_line, error.stored), (None, 3, 2));
        assert_eq!(
            error.to_string(),
            "reading line 4 failed: the disk went away; the import stopped: the 2 events before \
             line 3 are stored, nothing from line 3 on is; resume from line 3"
        );
    }
}
