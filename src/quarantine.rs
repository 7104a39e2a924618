//! `<log>.quarantine`: where `repair` puts the damaged lines it removes
//! from the log, one JSON object per line (`log`, `line`, `offset`,
//! `length`, `torn`, `reason`, and the bytes as `hex`), appended and synced
//! before the log loses them.

#![forbid(unsafe_code)]

use crate::checksum::hex;
use crate::error::Damage;
use crate::frame::Frame;
use crate::fs::{File, FileSystem, Open};
use crate::pager::CHUNK;
use crate::reader::LogFile;
use crate::store_error::{Step, StoreError, io_error, open_error};

/// `<log>.quarantine`: one JSON line per removed line, its bytes in hex.
pub struct Quarantine<T> {
    file: T,
    path: String,
    log: String,
}

impl<T: File> Quarantine<T> {
    pub fn open<F: FileSystem<File = T>>(
        fs: &F,
        path: &str,
        log: &str,
    ) -> Result<Quarantine<T>, StoreError> {
        let file = fs.open(path, Open::Append).map_err(open_error(path))?;
        Ok(Quarantine {
            file,
            path: path.to_string(),
            log: log.to_string(),
        })
    }

    /// Appends the record of a damaged line `length` bytes long (without
    /// its `\n`), reading its bytes a chunk at a time.
    pub fn keep(
        &mut self,
        old: &mut LogFile<T>,
        damage: &Damage,
        length: u64,
    ) -> Result<(), StoreError> {
        let head = format!(
            "{{\"log\":{},\"line\":{},\"offset\":{},\"length\":{},\"torn\":{},\"reason\":{},\"hex\":\"",
            json_string(&self.log),
            damage.line,
            damage.offset,
            length,
            damage.torn,
            json_string(&damage.error.to_string())
        );
        self.write(head.as_bytes())?;
        let mut at = damage.offset;
        let end = damage.offset + length;
        while at < end {
            let chunk = old.read_exact_at(at, (end - at).min(CHUNK))?;
            if chunk.is_empty() {
                break;
            }
            at += chunk.len() as u64;
            self.write(hex(&chunk).as_bytes())?;
        }
        self.write(b"\"}\n")
    }

    fn write(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .append(&Frame::raw(bytes))
            .map_err(io_error(&self.path, Step::Writing))
    }

    pub fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(io_error(&self.path, Step::Syncing))
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}
