//! The log file through `wasi:filesystem` and `wasi:io` directly: the first
//! preopened directory, the file opened once for appending, one write per
//! append call (within the host's write permit), positional reads for
//! replay. `std::fs` is not used: on wasmtime it hands every write to a
//! thread pool (~40 µs an append), and wasi-libc's open flags are refused
//! by Node's preview2-shim.

#![forbid(unsafe_code)]

use std::fmt;

use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
    filesystem_error_code,
};
use wasip2::io::streams::{OutputStream, StreamError};

use crate::config::Config;
use crate::frame::{Frame, ends_in_torn_line};

/// `blocking-write-and-flush` takes at most this many bytes a call.
const BLOCKING_WRITE_MAX: usize = 4096;
/// Bytes asked for per `read` call; wasmtime returns at most 64 KiB.
const READ_CHUNK: u64 = 64 * 1024;

/// A file operation that failed; the text names the file and the remedy.
#[derive(Debug)]
pub enum StoreError {
    NoDirectory,
    Open {
        name: String,
        code: ErrorCode,
    },
    NotAFile {
        name: String,
    },
    Io {
        name: String,
        during: &'static str,
        reason: String,
    },
    DirectoryGone {
        path: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoDirectory => write!(
                f,
                "no directory is granted: the host preopened none; preopen exactly one \
                 directory for the log"
            ),
            StoreError::Open { name, code } => {
                let hint = match code {
                    ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => {
                        "; the granted directory or file does not allow this: grant write access to append"
                    }
                    ErrorCode::Loop => "; the log must not be a symbolic link",
                    ErrorCode::IsDirectory => {
                        "; remove that directory or set PATHWAY_LOG to another name"
                    }
                    _ => "",
                };
                write!(
                    f,
                    "cannot open {name:?} in the granted directory: {}{hint}",
                    describe(*code)
                )
            }
            StoreError::NotAFile { name } => write!(
                f,
                "{name:?} in the granted directory is not a regular file; remove it or set \
                 PATHWAY_LOG to another name"
            ),
            StoreError::Io {
                name,
                during,
                reason,
            } => write!(
                f,
                "{during} {name:?} failed: {reason}; records already stored are untouched"
            ),
            StoreError::DirectoryGone { path } => write!(
                f,
                "the granted directory {path:?} is no longer usable (removed?); grant an \
                 existing directory"
            ),
        }
    }
}

fn describe(code: ErrorCode) -> String {
    format!("{} ({})", code.message().trim_end_matches('.'), code.name())
}

fn stream_reason(err: StreamError) -> String {
    match err {
        StreamError::Closed => "the host closed the stream".to_string(),
        StreamError::LastOperationFailed(e) => match filesystem_error_code(&e) {
            Some(code) => describe(code),
            None => e.to_debug_string(),
        },
    }
}

/// The log of one instance: the granted directory and, once something was
/// appended, the open file.
pub struct Store {
    config: Config,
    dir: Descriptor,
    dir_path: String,
    appender: Option<Appender>,
}

/// The file opened for appending, kept open across calls.
struct Appender {
    file: Descriptor,
    stream: OutputStream,
    /// File size right after this instance's last write. While the size is
    /// still that, the file ends in our own `\n` and the last byte need not
    /// be read.
    end_after_last_write: Option<u64>,
}

impl Store {
    /// Takes the first directory the host preopened, whatever its guest path.
    pub fn open(config: Config) -> Result<Store, StoreError> {
        let (dir, dir_path) = get_directories()
            .into_iter()
            .next()
            .ok_or(StoreError::NoDirectory)?;
        Ok(Store {
            config,
            dir,
            dir_path,
            appender: None,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Appends `lines` (validated, without `\n`) in as few writes as the
    /// host permits, ending a torn last line first.
    pub fn append<'a>(
        &mut self,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let appender = match &mut self.appender {
            Some(appender) => appender,
            slot => slot.insert(Appender::open(&self.dir, &self.config.log_name)?),
        };
        let result = appender.append(lines, &self.config.log_name);
        if result.is_err() {
            // A failed stream stays failed: open afresh on the next call.
            self.appender = None;
        }
        result
    }

    /// The whole log file, or `None` when it does not exist yet.
    pub fn read_all(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let name = &self.config.log_name;
        let io = |during| {
            move |code| StoreError::Io {
                name: name.clone(),
                during,
                reason: describe(code),
            }
        };
        let file = match self.dir.open_at(
            PathFlags::empty(),
            name,
            OpenFlags::empty(),
            DescriptorFlags::READ,
        ) {
            Ok(file) => file,
            Err(ErrorCode::NoEntry) => return self.check_dir_usable().map(|()| None),
            Err(code) => {
                return Err(StoreError::Open {
                    name: name.clone(),
                    code,
                });
            }
        };
        let stat = file.stat().map_err(io("reading the size of"))?;
        if stat.type_ != DescriptorType::RegularFile {
            return Err(StoreError::NotAFile { name: name.clone() });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(stat.size).unwrap_or(0));
        loop {
            let (chunk, end) = file
                .read(READ_CHUNK, bytes.len() as u64)
                .map_err(io("reading"))?;
            bytes.extend_from_slice(&chunk);
            if end || chunk.is_empty() {
                return Ok(Some(bytes));
            }
        }
    }

    /// A missing log is an empty log only if the directory itself is still
    /// there; a removed directory must not read as "no records".
    fn check_dir_usable(&self) -> Result<(), StoreError> {
        match self.dir.stat() {
            Ok(stat) if stat.link_count > 0 => Ok(()),
            _ => Err(StoreError::DirectoryGone {
                path: self.dir_path.clone(),
            }),
        }
    }
}

impl Appender {
    /// Opens (creating it if needed) the log for appending. No symlink is
    /// followed: the log must be a regular file directly in the directory.
    fn open(dir: &Descriptor, name: &str) -> Result<Appender, StoreError> {
        let file = dir
            .open_at(
                PathFlags::empty(),
                name,
                OpenFlags::CREATE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            )
            .map_err(|code| StoreError::Open {
                name: name.to_string(),
                code,
            })?;
        let io = |during| {
            move |code| StoreError::Io {
                name: name.to_string(),
                during,
                reason: describe(code),
            }
        };
        if file.get_type().map_err(io("checking"))? != DescriptorType::RegularFile {
            return Err(StoreError::NotAFile {
                name: name.to_string(),
            });
        }
        let stream = file
            .append_via_stream()
            .map_err(io("opening a stream on"))?;
        Ok(Appender {
            file,
            stream,
            end_after_last_write: None,
        })
    }

    fn append<'a>(
        &mut self,
        lines: impl IntoIterator<Item = &'a str>,
        name: &str,
    ) -> Result<(), StoreError> {
        let io = |during| {
            move |reason| StoreError::Io {
                name: name.to_string(),
                during,
                reason,
            }
        };
        let size = self
            .file
            .stat()
            .map_err(|code| io("reading the size of")(describe(code)))?
            .size;
        let torn = if size == 0 || Some(size) == self.end_after_last_write {
            false
        } else {
            let (last, _) = self
                .file
                .read(1, size - 1)
                .map_err(|code| io("reading the last byte of")(describe(code)))?;
            ends_in_torn_line(last.first().copied())
        };
        let frame = Frame::new(lines, torn);
        self.write(&frame)
            .map_err(|e| io("appending to")(stream_reason(e)))?;
        self.end_after_last_write = Some(size + frame.bytes().len() as u64);
        Ok(())
    }

    /// One `blocking-write-and-flush` when the frame fits its 4096-byte cap
    /// (run inline on wasmtime's current thread); otherwise `check-write` /
    /// `write` pieces as large as the host permits, cut between records.
    fn write(&self, frame: &Frame) -> Result<(), StreamError> {
        let bytes = frame.bytes();
        if bytes.len() <= BLOCKING_WRITE_MAX {
            return self.stream.blocking_write_and_flush(bytes);
        }
        let mut from = 0;
        while from < bytes.len() {
            let permit = usize::try_from(self.stream.check_write()?).unwrap_or(usize::MAX);
            if permit == 0 {
                self.stream.subscribe().block();
                continue;
            }
            let end = frame.next_write_end(from, permit);
            self.stream.write(&bytes[from..end])?;
            from = end;
        }
        self.stream.blocking_flush()
    }
}
