//! `<log>.sha256`: the SHA-256 of everything a compaction or repair wrote,
//! so that a changed byte in the rewritten part (a flipped bit that still
//! leaves valid JSON, an edit by hand) is seen by `check`, and no later
//! rewrite folds it in unseen. The log itself stays plain JSON Lines.
//!
//! The file is one JSON line, `{"sha256":"<64 hex>","bytes":N,"file":"<16
//! hex>"}`: the hash of the log's first `bytes` bytes, and the identity of
//! the file it was written for. A rewrite removes it (durably) before its
//! rename and writes it anew after, for the file it renamed; no other step
//! changes those bytes (appends only add after them). So a crash or a stop
//! leaves no checksum or one for another file (stale: the log was
//! replaced by hand, or a rewrite that stopped after its rename wrote it
//! late), never a false alarm; and a torn write of it cannot be read,
//! never a wrong hash.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::frame::Frame;
use crate::fs::{Code, File, FileSystem, FsError, Open};
use crate::pager::CHUNK;

/// The checksum file of the log `name`.
pub fn name(log: &str) -> String {
    format!("{log}.sha256")
}

/// What a rewrite wrote, as the checksum file records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    /// The identity of the file it was written for ([`File::identity`]).
    pub file: u64,
    /// How many bytes from the start of that file it covers.
    pub bytes: u64,
    pub sha256: [u8; 32],
}

/// A running SHA-256 of the bytes a rewrite writes, in order.
#[derive(Clone, Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// Lower-case hex, as `sha256sum` prints it (and the quarantine keeps
/// removed bytes).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Checksum {
    /// The file's one line.
    pub fn encode(&self) -> String {
        format!(
            "{{\"sha256\":\"{}\",\"bytes\":{},\"file\":\"{}\"}}\n",
            hex(&self.sha256),
            self.bytes,
            hex(&self.file.to_be_bytes()),
        )
    }

    /// Reads the file's text back; `None` if it is not exactly what
    /// [`Checksum::encode`] writes (torn, or edited). Read by its fixed
    /// shape, not as any JSON: a JSON value type would add about a fifth
    /// to the component's size.
    pub fn decode(text: &[u8]) -> Option<Checksum> {
        let text = std::str::from_utf8(text).ok()?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let rest = text.strip_prefix("{\"sha256\":\"")?;
        let (sha256, rest) = rest.split_at_checked(64)?;
        let rest = rest.strip_prefix("\",\"bytes\":")?;
        let (bytes, rest) = rest.split_once(',')?;
        let file = rest.strip_prefix("\"file\":\"")?.strip_suffix("\"}")?;
        if bytes.is_empty() || !bytes.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Checksum {
            sha256: unhex(sha256)?,
            bytes: bytes.parse().ok()?,
            file: u64::from_be_bytes(unhex(file)?),
        })
    }
}

/// Writes `checksum` as the log's checksum file: emptied first, so that a
/// torn write leaves a file that cannot be read, never a mix of two.
pub fn write<F: FileSystem>(fs: &F, log: &str, checksum: &Checksum) -> Result<(), FsError> {
    let file = fs.open(&name(log), Open::Append)?;
    file.set_size(0)?;
    file.append(&Frame::raw(checksum.encode().as_bytes()))?;
    file.sync_data()
}

/// What the checksum file says of the log as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum State {
    /// No rewrite wrote one (or its file was removed).
    #[default]
    None,
    /// Written for another file: the log was replaced since (an editor, a
    /// restore), or a rewrite stopped between its rename and writing its
    /// own.
    Stale,
    /// Not one line as a rewrite writes it (a torn write, an edit).
    Unreadable,
    /// The log's first `bytes` bytes hash as written.
    Verified { bytes: u64 },
    /// They do not, or the log is shorter.
    Mismatch(Mismatch),
}

impl State {
    /// What `check` says of it, with what to do; empty when there is
    /// nothing to say (verified, none).
    pub fn message(&self, log: &str) -> String {
        let sum = name(log);
        match self {
            State::None | State::Verified { .. } => String::new(),
            State::Stale => format!(
                "{sum} was written for another file than {log} is now ({log} was replaced \
                 since, by an editor or a restore, or a compaction or repair stopped between \
                 its rename and writing it): nothing is checked until the next compaction \
                 or repair writes a new one"
            ),
            State::Unreadable => format!(
                "{sum} is not what a compaction or repair writes (a torn write, an edit): \
                 nothing is checked; the next compaction or repair writes a new one, or \
                 remove it"
            ),
            State::Mismatch(m) => m.to_string(),
        }
    }
}

/// A rewritten part of the log that changed after it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The log the checksum file is of.
    pub log: String,
    pub bytes: u64,
    /// The hash written, and the hash of the log's first `bytes` bytes now
    /// (`None` when the log is shorter than that: it was cut).
    pub expected: [u8; 32],
    pub actual: Option<[u8; 32]>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (log, bytes) = (&self.log, self.bytes);
        let sum = name(log);
        match self.actual {
            Some(actual) => write!(
                f,
                "integrity: the first {bytes} bytes of {log} hash to SHA-256 {}, but {sum} \
                 says {}: a byte written by the last compaction or repair changed since (a \
                 flipped bit, an edit)",
                hex(&actual),
                hex(&self.expected),
            )?,
            None => write!(
                f,
                "integrity: {log} is shorter than the {bytes} bytes the last compaction or \
                 repair wrote ({sum}): it was cut since"
            )?,
        }
        write!(
            f,
            "; no line says which record, so repair cannot quarantine it and compaction \
             will not fold it in. Restore {log} from a copy, or, to accept it as it is, \
             remove {sum}"
        )
    }
}

/// Checks the log, opened as `log` (`None`: there is none), against its
/// checksum file. Reads the covered bytes once.
pub fn verify<F: FileSystem>(
    fs: &F,
    name_of_log: &str,
    log: Option<&F::File>,
) -> Result<State, FsError> {
    let sum = match fs.open(&name(name_of_log), Open::Read) {
        Ok(file) => file,
        Err(e) if e.code == Code::NoEntry => return Ok(State::None),
        Err(e) => return Err(e),
    };
    let text = crate::fs::read_exact(&sum, 0, 4096)?;
    let Some(checksum) = Checksum::decode(&text) else {
        return Ok(State::Unreadable);
    };
    let Some(log) = log else {
        return Ok(State::Stale);
    };
    if log.identity()? != checksum.file {
        return Ok(State::Stale);
    }
    let mut hasher = Hasher::default();
    let mut at = 0;
    while at < checksum.bytes {
        let chunk = log.read_at(at, CHUNK.min(checksum.bytes - at))?;
        if chunk.is_empty() {
            break;
        }
        hasher.update(&chunk);
        at += chunk.len() as u64;
    }
    let actual = (at == checksum.bytes).then(|| hasher.finish());
    if actual == Some(checksum.sha256) {
        return Ok(State::Verified {
            bytes: checksum.bytes,
        });
    }
    Ok(State::Mismatch(Mismatch {
        log: name_of_log.to_string(),
        bytes: checksum.bytes,
        expected: checksum.sha256,
        actual,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_back() {
        let checksum = Checksum {
            file: 0x0123_4567_89ab_cdef,
            bytes: 42,
            sha256: Hasher::default().finish(),
        };
        let line = checksum.encode();
        assert_eq!(
            line,
            "{\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\
             \"bytes\":42,\"file\":\"0123456789abcdef\"}\n"
        );
        assert_eq!(Checksum::decode(line.as_bytes()), Some(checksum));
        for torn in 0..line.len() - 2 {
            assert_eq!(Checksum::decode(&line.as_bytes()[..torn]), None, "{torn}");
        }
        // The same values in another shape (serde_json's sorted keys, an
        // edit) are not read.
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let written = serde_json::to_string(&value).unwrap();
        assert_eq!(Checksum::decode(written.as_bytes()), None, "keys sorted");
        for edited in [
            line.replace("42", "4x"),
            line.replace("42", ""),
            line.replace("\"bytes\"", "\"size\""),
            line.replace("cdef\"", "cdefa\""),
            line.replace('{', "{ "),
        ] {
            assert_eq!(Checksum::decode(edited.as_bytes()), None, "{edited}");
        }
    }
}
