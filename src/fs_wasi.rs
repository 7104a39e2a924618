//! [`FileSystem`] on `wasi:filesystem` and `wasi:io` directly: the first
//! preopened directory, files opened without following symlinks, appends
//! through an append stream kept open with the file, positional reads.
//! `std::fs` is not used: on wasmtime it hands every write to a thread
//! pool (~40 µs an append), and wasi-libc's open flags are refused by
//! Node's preview2-shim. Built only for `wasm32-wasip2`.

#![forbid(unsafe_code)]

use std::cell::RefCell;

use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
    filesystem_error_code,
};
use wasip2::io::streams::{OutputStream, StreamError};
use wasip2::random::random;

use crate::frame::Frame;
use crate::fs::{Code, File, FileStat, FileSystem, FsError, Open};

/// `blocking-write-and-flush` takes at most this many bytes a call.
const BLOCKING_WRITE_MAX: usize = 4096;

/// The granted directory.
pub struct WasiFs {
    dir: Descriptor,
}

/// A regular file in it; the append stream is opened on first append and
/// dropped after a failure (a failed stream stays failed).
pub struct WasiFile {
    file: Descriptor,
    stream: RefCell<Option<OutputStream>>,
}

impl WasiFs {
    /// The first directory the host preopened, whatever its guest path, and
    /// that path.
    pub fn first_preopen() -> Option<(WasiFs, String)> {
        let (dir, path) = get_directories().into_iter().next()?;
        Some((WasiFs { dir }, path))
    }
}

/// The typed code of a WASI error code.
fn code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::NoEntry => Code::NoEntry,
        ErrorCode::Exist => Code::Exists,
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => Code::Access,
        ErrorCode::InsufficientSpace | ErrorCode::Quota => Code::NoSpace,
        ErrorCode::IsDirectory => Code::IsDirectory,
        ErrorCode::Loop => Code::Loop,
        ErrorCode::NotDirectory => Code::NotDirectory,
        _ => Code::Other,
    }
}

/// An [`FsError`] from a WASI error code, with the host's words.
fn error(c: ErrorCode) -> FsError {
    FsError::new(
        code(c),
        format!("{} ({})", c.message().trim_end_matches('.'), c.name()),
    )
}

fn stream_error(e: StreamError) -> FsError {
    match e {
        StreamError::Closed => FsError::new(Code::Closed, "the host closed the stream"),
        StreamError::LastOperationFailed(e) => match filesystem_error_code(&e) {
            Some(c) => error(c),
            None => FsError::new(Code::Other, e.to_debug_string()),
        },
    }
}

impl FileSystem for WasiFs {
    type File = WasiFile;

    fn open(&self, name: &str, how: Open) -> Result<WasiFile, FsError> {
        let (open, flags) = match how {
            Open::Read => (OpenFlags::empty(), DescriptorFlags::READ),
            Open::ReadAppend => (
                OpenFlags::empty(),
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            ),
            Open::Append => (
                OpenFlags::CREATE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            ),
            Open::CreateNew => (
                OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
            ),
        };
        let file = self
            .dir
            .open_at(PathFlags::empty(), name, open, flags)
            .map_err(error)?;
        if file.get_type().map_err(error)? != DescriptorType::RegularFile {
            return Err(FsError::new(Code::NotRegular, "not a regular file"));
        }
        Ok(WasiFile {
            file,
            stream: RefCell::new(None),
        })
    }

    fn age_millis(&self, name: &str) -> Option<u64> {
        let stat = self.dir.stat_at(PathFlags::empty(), name).ok()?;
        let millis = |seconds: u64, nanos: u32| seconds * 1000 + u64::from(nanos) / 1_000_000;
        let now = wall_clock::now();
        let now = millis(now.seconds, now.nanoseconds);
        Some(
            stat.data_modification_timestamp
                .map_or(0, |t| now.saturating_sub(millis(t.seconds, t.nanoseconds))),
        )
    }

    fn size_of(&self, name: &str) -> Option<u64> {
        let stat = self.dir.stat_at(PathFlags::empty(), name).ok()?;
        (stat.type_ == DescriptorType::RegularFile).then_some(stat.size)
    }

    fn directory_exists(&self) -> bool {
        matches!(self.dir.stat(), Ok(stat) if stat.link_count > 0)
    }

    fn link(&self, from: &str, to: &str) -> Result<(), FsError> {
        self.dir
            .link_at(PathFlags::empty(), from, &self.dir, to)
            .map_err(error)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        self.dir.rename_at(from, &self.dir, to).map_err(error)
    }

    fn remove(&self, name: &str) -> Result<(), FsError> {
        self.dir.unlink_file_at(name).map_err(error)
    }

    fn list(&self, each: &mut dyn FnMut(String)) -> Result<(), FsError> {
        let entries = self.dir.read_directory().map_err(error)?;
        while let Some(entry) = entries.read_directory_entry().map_err(error)? {
            if entry.type_ == DescriptorType::RegularFile {
                each(entry.name);
            }
        }
        Ok(())
    }

    fn sync_directory(&self) -> Result<(), FsError> {
        self.dir.sync().map_err(error)
    }

    fn now_nanos(&self) -> u64 {
        monotonic_clock::now()
    }

    fn pause(&self, nanos: u64) {
        monotonic_clock::subscribe_duration(nanos).block();
    }

    fn random_u64(&self) -> u64 {
        random::get_random_u64()
    }
}

impl File for WasiFile {
    fn stat(&self) -> Result<FileStat, FsError> {
        let stat = self.file.stat().map_err(error)?;
        Ok(FileStat {
            size: stat.size,
            links: stat.link_count,
        })
    }

    fn identity(&self) -> Result<u64, FsError> {
        Ok(self.file.metadata_hash().map_err(error)?.lower)
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
        Ok(self.file.read(len, offset).map_err(error)?.0)
    }

    fn append(&self, frame: &Frame) -> Result<(), FsError> {
        let mut slot = self.stream.borrow_mut();
        let stream = match slot.take() {
            Some(stream) => stream,
            None => self.file.append_via_stream().map_err(error)?,
        };
        write_frame(&stream, frame).map_err(stream_error)?;
        *slot = Some(stream);
        Ok(())
    }

    fn set_size(&self, size: u64) -> Result<(), FsError> {
        self.file.set_size(size).map_err(error)
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), FsError> {
        let mut done = 0;
        while done < bytes.len() {
            let written = self
                .file
                .write(&bytes[done..], offset + done as u64)
                .map_err(error)?;
            if written == 0 {
                return Err(FsError::new(Code::Other, "the host wrote nothing"));
            }
            done += usize::try_from(written).unwrap_or(usize::MAX);
        }
        Ok(())
    }

    fn sync_data(&self) -> Result<(), FsError> {
        self.file.sync_data().map_err(error)
    }

    /// Sets the size it has, which marks the file modified (POSIX
    /// `ftruncate`). `set-times` would say it directly, but Node's
    /// preview2-shim sets a wrong time for `now`. Only used on files no one
    /// else writes, so the size cannot change in between.
    fn touch(&self) -> Result<(), FsError> {
        let size = self.file.stat().map_err(error)?.size;
        self.file.set_size(size).map_err(error)
    }
}

/// Writes a frame: one `blocking-write-and-flush` when it fits its
/// 4096-byte cap (run inline on wasmtime's current thread); otherwise
/// `check-write` / `write` pieces as large as the host permits, cut between
/// records.
fn write_frame(stream: &OutputStream, frame: &Frame) -> Result<(), StreamError> {
    let bytes = frame.bytes();
    if bytes.len() <= BLOCKING_WRITE_MAX {
        return stream.blocking_write_and_flush(bytes);
    }
    let mut from = 0;
    while from < bytes.len() {
        let permit = usize::try_from(stream.check_write()?).unwrap_or(usize::MAX);
        if permit == 0 {
            stream.subscribe().block();
            continue;
        }
        let end = frame.next_write_end(from, permit);
        stream.write(&bytes[from..end])?;
        from = end;
    }
    stream.blocking_flush()
}
