//! The file-system operations the storage protocols need, behind one small
//! trait, so the append, compaction and repair protocols are plain std: in
//! the component they run on `wasi:filesystem` ([`crate::fs_wasi`]), in
//! native tests on an in-memory disk that can lose power
//! ([`crate::fs_mem`]).
//!
//! Everything works in one directory (the granted one); names are plain
//! file names in it. A failure is an [`FsError`]: a typed [`Code`] to
//! decide on and the host's text, for people only.

#![forbid(unsafe_code)]

use std::fmt;

use crate::frame::Frame;

/// What kind of failure a file operation met. Decisions are made on this,
/// never on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No such file.
    NoEntry,
    /// The file exists (an exclusive create).
    Exists,
    /// The grant or the file's permissions forbid it (access, not
    /// permitted, read-only).
    Access,
    /// The device or quota is full.
    NoSpace,
    /// The name is a directory.
    IsDirectory,
    /// The name is a symbolic link (not followed).
    Loop,
    /// A path component is not a directory.
    NotDirectory,
    /// The name is some other file that is not a regular file.
    NotRegular,
    /// The host closed the stream.
    Closed,
    /// Anything else.
    Other,
}

/// A failed file operation: its [`Code`] and the host's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    pub code: Code,
    /// The host's words, such as `No space left on device
    /// (insufficient-space)`.
    pub text: String,
}

impl FsError {
    pub fn new(code: Code, text: impl Into<String>) -> FsError {
        FsError {
            code,
            text: text.into(),
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How [`FileSystem::open`] opens a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// An existing file, for reading.
    Read,
    /// An existing file, for reading and appending.
    ReadAppend,
    /// For reading and appending, created empty if missing.
    Append,
    /// Created empty, failing with [`Code::Exists`] if the name exists.
    CreateNew,
}

/// What a stat of an open file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    /// Names the file has; 0 once it was renamed over or removed.
    pub links: u64,
}

/// An open regular file. Every call is one host call in the component.
pub trait File {
    fn stat(&self) -> Result<FileStat, FsError>;
    /// Stays the same for the file's life (device and inode on a host).
    fn identity(&self) -> Result<u64, FsError>;
    /// Up to `len` bytes at `offset` (fewer when the host returns less);
    /// empty at the end.
    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, FsError>;
    /// Appends the frame at the file's end, whatever its size: one write
    /// when it fits the host's write permit, else pieces cut between
    /// records where possible.
    fn append(&self, frame: &Frame) -> Result<(), FsError>;
    fn set_size(&self, size: u64) -> Result<(), FsError>;
    /// Writes `bytes` at `offset`, over what is there (a positional write,
    /// not limited by the host's write permit): how a record larger than
    /// the permit fills the space reserved for it at the end.
    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), FsError>;
    /// Forces the file's data (and size) to stable storage.
    fn sync_data(&self) -> Result<(), FsError>;
    /// Sets the file's modification time to now, without changing it: a
    /// rewrite's heartbeat on its lock and new log.
    fn touch(&self) -> Result<(), FsError>;
}

/// The granted directory, and the clock and randomness the protocols use.
pub trait FileSystem {
    type File: File;
    /// Opens `name` without following a symbolic link; a name that is not
    /// a regular file fails ([`Code::NotRegular`], [`Code::IsDirectory`],
    /// [`Code::Loop`]).
    fn open(&self, name: &str, how: Open) -> Result<Self::File, FsError>;
    /// Milliseconds since `name` was last modified (or touched); `None`
    /// when it does not exist. A file whose time the host does not report
    /// counts as just modified.
    fn age_millis(&self, name: &str) -> Option<u64>;
    /// The size of the regular file `name`, without opening it; `None`
    /// when there is none.
    fn size_of(&self, name: &str) -> Option<u64>;
    /// Whether the directory itself is still there.
    fn directory_exists(&self) -> bool;
    /// Gives the file named `from` the second name `to` (a hard link),
    /// failing with [`Code::Exists`] if `to` exists.
    fn link(&self, from: &str, to: &str) -> Result<(), FsError>;
    /// Renames `from` over `to`, atomically.
    fn rename(&self, from: &str, to: &str) -> Result<(), FsError>;
    fn remove(&self, name: &str) -> Result<(), FsError>;
    /// Calls `each` with the name of every regular file in the directory,
    /// in no order, one at a time (a directory of 100,000 logs is never
    /// held as one list).
    fn list(&self, each: &mut dyn FnMut(String)) -> Result<(), FsError>;
    /// Makes creates, renames and removals in the directory durable.
    fn sync_directory(&self) -> Result<(), FsError>;
    /// Monotonic nanoseconds.
    fn now_nanos(&self) -> u64;
    /// Blocks for `nanos`.
    fn pause(&self, nanos: u64);
    fn random_u64(&self) -> u64;
}

/// Up to `len` bytes at `offset`, fewer only at the end of the file.
pub fn read_exact<F: File>(file: &F, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (bytes.len() as u64) < len {
        let at = offset + bytes.len() as u64;
        let chunk = file.read_at(at, len - bytes.len() as u64)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Offset of the first occurrence of `needle` in `file` at or after `from`,
/// reading a chunk at a time.
pub fn find<F: File>(file: &F, needle: &[u8], from: u64) -> Result<Option<u64>, FsError> {
    let mut at = from;
    let mut window: Vec<u8> = Vec::new();
    loop {
        let chunk = file.read_at(at + window.len() as u64, crate::pager::CHUNK)?;
        if chunk.is_empty() {
            return Ok(None);
        }
        window.extend_from_slice(&chunk);
        if let Some(i) = memchr::memmem::find(&window, needle) {
            return Ok(Some(at + i as u64));
        }
        // Keep a needle's length of overlap for the next chunk.
        let keep = needle.len().saturating_sub(1).min(window.len());
        at += (window.len() - keep) as u64;
        window.drain(..window.len() - keep);
    }
}
