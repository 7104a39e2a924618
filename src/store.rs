//! One instance's log: its configuration, the granted directory (any
//! [`FileSystem`]) and the append side, with the operations the guest
//! exports on top of the protocols: append ([`crate::append`]), pages
//! ([`crate::reader`]) and sync. Compaction and repair take a store too
//! ([`crate::rewrite`]).

#![forbid(unsafe_code)]

use crate::append::Appender;
use crate::config::Config;
use crate::cursor::Cursor;
use crate::cursor::{CursorError, PrefixHash};
use crate::frame::Frame;
use crate::fs::{File, FileSystem, Open};
use crate::pager::{OwnedEntry, Page, Position};
use crate::reader::{self, LogFile};
use crate::store_error::{PageError, Step, StoreError, io_error};
use crate::tail::{self, UNCOUNTED};

/// The log of one instance on the file system `F`.
pub struct Store<F: FileSystem> {
    config: Config,
    fs: F,
    /// The directory's path as the host named it, for messages.
    dir_path: String,
    appender: Appender<F>,
}

/// The store of the component, on `wasi:filesystem`.
#[cfg(target_os = "wasi")]
pub type WasiStore = Store<crate::fs_wasi::WasiFs>;

#[cfg(target_os = "wasi")]
impl Store<crate::fs_wasi::WasiFs> {
    /// Takes the first directory the host preopened, whatever its guest path.
    pub fn open(config: Config) -> Result<Self, StoreError> {
        let (fs, dir_path) =
            crate::fs_wasi::WasiFs::first_preopen().ok_or(StoreError::NoDirectory)?;
        Ok(Store::new(config, fs, dir_path))
    }
}

impl<F: FileSystem> Store<F> {
    /// A store of the log `config` names in the directory `fs`.
    pub fn new(config: Config, fs: F, dir_path: String) -> Store<F> {
        Store {
            config,
            fs,
            dir_path,
            appender: Appender::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// Appends a frame (see [`crate::append`]).
    pub fn append_frame(&mut self, frame: Frame) -> Result<(), StoreError> {
        let needed = frame.bytes().len() as u64;
        crate::catalog::check_quota(&self.fs, &self.dir_path, self.config.quota, needed)?;
        self.appender.append(&self.fs, &self.config, frame)
    }

    /// Syncs the log's data, opening it if this instance has not appended,
    /// and its directory: with `PATHWAY_SYNC=never` a log created by an
    /// append has a name that no sync made durable yet (found by the
    /// power-cut simulation). Hosts that cannot sync a directory still
    /// sync the data.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let _ = self.fs.sync_directory();
        if self.appender.sync(&self.fs, &self.config.log_name)? {
            return Ok(());
        }
        match self.open_log()? {
            Some(log) => log
                .file()
                .sync_data()
                .map_err(io_error(&self.config.log_name, Step::Syncing)),
            None => Ok(()),
        }
    }

    /// The log opened for reading, or `None` when it does not exist yet.
    pub fn open_log(&self) -> Result<Option<LogFile<F::File>>, StoreError> {
        reader::open_log(&self.fs, &self.config.log_name, Open::Read, &self.dir_path)
    }

    /// The log opened for reading and appending, for the rewrite that will
    /// replace it (it marks the old file once it is replaced).
    pub fn open_log_for_rewrite(&self) -> Result<Option<LogFile<F::File>>, StoreError> {
        reader::open_log(
            &self.fs,
            &self.config.log_name,
            Open::ReadAppend,
            &self.dir_path,
        )
    }

    /// Entries from `cursor` (none: the start) until about `max_bytes` were
    /// read, and the cursor to continue from.
    pub fn page(&self, cursor: Option<&str>, max_bytes: u64) -> Result<(Page, Cursor), PageError> {
        reader::page(&self.fs, &self.config, &self.dir_path, cursor, max_bytes)
    }

    /// The last `count` entries, read backwards from the end (see
    /// [`crate::tail`]), and a cursor at the end (before an unterminated
    /// last line) to read what is appended later. Entries and cursor count
    /// no lines; a compaction refuses the cursor (it does not bind every
    /// byte before it).
    pub fn last(&self, count: usize) -> Result<(Vec<OwnedEntry>, Cursor), PageError> {
        for _ in 0..LAST_TRIES {
            let Some(mut log) = self.open_log()? else {
                return Ok((Vec::new(), Cursor::default()));
            };
            let size = log.size()?;
            let last = tail::read_last(&mut log, size, count, self.config.max_line)?;
            // Renamed over while we read: read the new log.
            if log.stat_links()? == 0 {
                continue;
            }
            let chain = crate::moved::read(&self.fs, &self.config.log_name);
            let generation = Some(crate::moved::generation(&chain, log.identity));
            let cursor = if last.end == 0 {
                let empty = Some(PrefixHash::default().words());
                log.cursor_at(Position::default(), empty, generation)?
            } else {
                let position = Position {
                    offset: last.end,
                    lines: UNCOUNTED,
                };
                log.cursor_at(position, None, generation)?
            };
            return Ok((last.entries, cursor));
        }
        Err(PageError::Cursor(CursorError::Stale {
            reason: "compactions or repairs replaced the log every time it was read",
        }))
    }
}

impl<F: FileSystem> Store<F> {
    /// A page of the grant's logs (see [`crate::catalog`]).
    pub fn logs(
        &self,
        after: Option<&str>,
        max: usize,
    ) -> Result<crate::catalog::LogList, StoreError> {
        crate::catalog::list(&self.fs, &self.dir_path, after, max)
    }

    /// Forks this log into the file `target` (see [`crate::fork`]).
    pub fn fork_to(&self, target: &str, at: Option<&str>) -> Result<u64, crate::fork::ForkError> {
        crate::fork::fork(
            &self.fs,
            &self.dir_path,
            &self.config.log_name,
            target,
            at,
            self.config.max_line,
            self.config.quota,
        )
    }
}

/// How often `last` reads again a log renamed over while it read.
const LAST_TRIES: u32 = 8;
