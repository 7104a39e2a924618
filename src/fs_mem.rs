//! An in-memory [`FileSystem`] that models what a disk keeps through a
//! power cut, for native tests of the storage protocols (plain std, not
//! built into the component).
//!
//! The process sees every write at once. What survives a cut:
//! - a file's data as of its last `sync-data`, plus any prefix of the
//!   writes and size changes made since, the last one possibly torn (only
//!   part of its bytes);
//! - the directory as of its last sync, plus any of the creates, renames
//!   and removals made since, each kept or lost on its own (in order).
//!
//! [`MemFs::record_cut_points`] makes the disk remember its state after
//! every operation that changed it; [`MemFs::cut_point`] and
//! [`MemFs::power_cut`] then give what a cut right there could leave.
//! Clocks are simulated: [`FileSystem::pause`] advances them, nothing
//! sleeps.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::frame::Frame;
use crate::fs::{Code, File, FileStat, FileSystem, FsError, Open};
use crate::pager::CHUNK;

/// One change to a file's data since its last sync.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DataOp {
    Write { at: u64, bytes: Vec<u8> },
    SetSize(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inode {
    /// What the process sees.
    data: Vec<u8>,
    /// What survives a cut for sure.
    durable: Vec<u8>,
    /// Changes since `durable`, in order.
    pending: Vec<DataOp>,
    modified_nanos: u64,
}

/// The whole disk: files, the directory, the clock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    inodes: Vec<Inode>,
    names: BTreeMap<String, usize>,
    durable_names: BTreeMap<String, usize>,
    /// Directory changes since its last sync, in order; each is one or
    /// more names set to a file or removed (`None`), atomically (a rename
    /// is two).
    pending_names: Vec<Vec<(String, Option<usize>)>>,
    clock_nanos: u64,
    random: u64,
    /// File-system calls made, as a host would count its calls.
    calls: u64,
    /// The device's size, if it is to fill up: a write that would need
    /// more writes the bytes that fit and fails with [`Code::NoSpace`].
    capacity: Option<u64>,
    /// Every file reports the same identity, as a file system that reuses
    /// a replaced file's inode for the next one may.
    one_identity: bool,
}

/// A disk shared by every handle made from it (clones share it too, as
/// instances of one host share a directory).
#[derive(Clone, Default)]
pub struct MemFs {
    disk: Rc<RefCell<Disk>>,
    /// The disk after each change, when recording.
    history: Rc<RefCell<Option<Vec<Disk>>>>,
    /// Called after each change (not after its own): another instance
    /// acting between two operations of the one under test.
    hook: Rc<RefCell<Option<Hook>>>,
    /// Called before each call (not before its own): the one under test
    /// stopped between two of its operations while others act.
    call_hook: Rc<RefCell<Option<Hook>>>,
}

type Hook = Box<dyn FnMut()>;

/// An open file of a [`MemFs`].
pub struct MemFile {
    fs: MemFs,
    inode: usize,
    writable: bool,
}

fn apply(data: &mut Vec<u8>, op: &DataOp) {
    match op {
        DataOp::Write { at, bytes } => {
            let at = *at as usize;
            if data.len() < at + bytes.len() {
                data.resize(at.max(data.len()), 0);
                data.truncate(at);
                data.extend_from_slice(bytes);
            } else {
                data[at..at + bytes.len()].copy_from_slice(bytes);
            }
        }
        DataOp::SetSize(size) => data.resize(*size as usize, 0),
    }
}

/// A small deterministic generator (SplitMix64) for cut variants.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which of the unsynced changes a cut keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Only what was synced.
    Synced,
    /// Everything the process saw.
    All,
    /// Every data change, and every directory change but the `n`th.
    AllButDirChange(usize),
    /// A prefix of each file's changes (the last one possibly torn) and a
    /// random choice of directory changes, drawn from this seed.
    Random(u64),
}

impl Disk {
    /// What a power cut that keeps `keep` leaves: a disk whose every byte
    /// and name is durable.
    fn after_cut(&self, keep: &Keep) -> Disk {
        let mut rng = match keep {
            Keep::Random(seed) => *seed,
            _ => 0,
        };
        let mut inodes = Vec::with_capacity(self.inodes.len());
        for inode in &self.inodes {
            let mut data = inode.durable.clone();
            let kept = match keep {
                Keep::Synced => 0,
                Keep::All | Keep::AllButDirChange(_) => inode.pending.len(),
                Keep::Random(_) => {
                    (next_random(&mut rng) % (inode.pending.len() as u64 + 1)) as usize
                }
            };
            for op in &inode.pending[..kept] {
                apply(&mut data, op);
            }
            // The next change may have reached the disk in part.
            if let (Keep::Random(_), Some(DataOp::Write { at, bytes })) =
                (keep, inode.pending.get(kept))
            {
                let part = (next_random(&mut rng) % (bytes.len() as u64 + 1)) as usize;
                apply(
                    &mut data,
                    &DataOp::Write {
                        at: *at,
                        bytes: bytes[..part].to_vec(),
                    },
                );
            }
            inodes.push(Inode {
                durable: data.clone(),
                data,
                pending: Vec::new(),
                modified_nanos: inode.modified_nanos,
            });
        }
        let mut names = self.durable_names.clone();
        for (i, change) in self.pending_names.iter().enumerate() {
            let kept = match keep {
                Keep::Synced => false,
                Keep::All => true,
                Keep::AllButDirChange(n) => i != *n,
                Keep::Random(_) => next_random(&mut rng).is_multiple_of(2),
            };
            for (name, target) in change.iter().filter(|_| kept) {
                match target {
                    Some(inode) => names.insert(name.clone(), *inode),
                    None => names.remove(name),
                };
            }
        }
        Disk {
            inodes,
            durable_names: names.clone(),
            names,
            pending_names: Vec::new(),
            clock_nanos: self.clock_nanos,
            random: self.random,
            calls: 0,
            capacity: self.capacity,
            one_identity: self.one_identity,
        }
    }

    /// How many directory changes are not yet durable.
    pub fn unsynced_dir_changes(&self) -> usize {
        self.pending_names.len()
    }

    /// The cuts worth exploring here: only synced, everything, each
    /// directory change lost alone, and `random` random ones.
    pub fn cuts(&self, random: u64) -> Vec<Keep> {
        let mut keeps = vec![Keep::Synced, Keep::All];
        keeps.extend((0..self.pending_names.len()).map(Keep::AllButDirChange));
        keeps.extend((0..random).map(Keep::Random));
        keeps
    }

    /// A fresh file system on what a cut keeping `keep` leaves.
    pub fn power_cut(&self, keep: &Keep) -> MemFs {
        MemFs {
            disk: Rc::new(RefCell::new(self.after_cut(keep))),
            history: Rc::default(),
            hook: Rc::default(),
            call_hook: Rc::default(),
        }
    }
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// From now on, remember the disk after every change.
    pub fn record_cut_points(&self) {
        let now = self.disk.borrow().clone();
        *self.history.borrow_mut() = Some(vec![now]);
    }

    /// How many states were recorded (the one when recording started, and
    /// one after each change since).
    pub fn cut_points(&self) -> usize {
        self.history.borrow().as_ref().map_or(0, Vec::len)
    }

    /// The disk as it was at recorded state `n`.
    pub fn cut_point(&self, n: usize) -> Disk {
        self.history.borrow().as_ref().expect("recording")[n].clone()
    }

    /// What a cut right now could leave (see [`Disk::power_cut`]).
    pub fn power_cut(&self, keep: &Keep) -> MemFs {
        self.disk.borrow().power_cut(keep)
    }

    /// The disk now.
    pub fn disk(&self) -> Disk {
        self.disk.borrow().clone()
    }

    /// Lets simulated time pass.
    pub fn advance(&self, nanos: u64) {
        self.disk.borrow_mut().clock_nanos += nanos;
    }

    /// Makes the device `bytes` large (`None`: unbounded): from now on a
    /// write that would make the files' data larger writes what fits and
    /// fails with `no-space`, as a full device does.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.disk.borrow_mut().capacity = bytes;
    }

    /// From now on every file reports the same identity (`metadata-hash`),
    /// the worst a file system that reuses inodes can do.
    pub fn reuse_identities(&self) {
        self.disk.borrow_mut().one_identity = true;
    }

    /// The bytes all files hold, as the device counts them.
    pub fn used(&self) -> u64 {
        let disk = self.disk.borrow();
        disk.inodes.iter().map(|i| i.data.len() as u64).sum()
    }

    /// How many of `len` bytes written at `at` fit on the device.
    fn fitting(&self, inode: usize, at: u64, len: usize) -> usize {
        let Some(capacity) = self.disk.borrow().capacity else {
            return len;
        };
        let size = self.disk.borrow().inodes[inode].data.len() as u64;
        let room = capacity.saturating_sub(self.used());
        let end = size.max(at) + room; // where the file could end at most
        (end.saturating_sub(at) as usize).min(len)
    }

    /// Writes what fits of `bytes` at `at`; `no-space` if not all did.
    fn write_fitting(&self, inode: usize, at: u64, bytes: &[u8]) -> Result<(), FsError> {
        let fits = self.fitting(inode, at, bytes.len());
        if fits > 0 {
            self.change_data(
                inode,
                DataOp::Write {
                    at,
                    bytes: bytes[..fits].to_vec(),
                },
            );
        }
        if fits < bytes.len() {
            return Err(FsError::new(
                Code::NoSpace,
                "No space left on device (insufficient-space)",
            ));
        }
        Ok(())
    }

    /// The bytes of `name` as the process sees them.
    pub fn read(&self, name: &str) -> Option<Vec<u8>> {
        let disk = self.disk.borrow();
        disk.names.get(name).map(|&i| disk.inodes[i].data.clone())
    }

    /// Writes `name` whole and durably, as a test's fixture.
    pub fn put(&self, name: &str, bytes: &[u8]) {
        let mut disk = self.disk.borrow_mut();
        let now = disk.clock_nanos;
        disk.inodes.push(Inode {
            data: bytes.to_vec(),
            durable: bytes.to_vec(),
            pending: Vec::new(),
            modified_nanos: now,
        });
        let inode = disk.inodes.len() - 1;
        disk.names.insert(name.to_string(), inode);
        disk.durable_names.insert(name.to_string(), inode);
    }

    /// Names in the directory, as the process sees it.
    pub fn names(&self) -> Vec<String> {
        self.disk.borrow().names.keys().cloned().collect()
    }

    /// File-system calls made so far (clock and random not counted).
    pub fn calls(&self) -> u64 {
        self.disk.borrow().calls
    }

    fn call(&self) {
        self.disk.borrow_mut().calls += 1;
        let hook = self.call_hook.borrow_mut().take();
        if let Some(mut hook) = hook {
            hook();
            self.call_hook.borrow_mut().get_or_insert(hook);
        }
    }

    /// Calls `hook` before every file-system call from now on, except the
    /// calls the hook makes itself.
    pub fn before_each_call(&self, hook: impl FnMut() + 'static) {
        *self.call_hook.borrow_mut() = Some(Box::new(hook));
    }

    /// Calls `hook` after every change from now on, except the changes
    /// the hook makes itself.
    pub fn after_each_change(&self, hook: impl FnMut() + 'static) {
        *self.hook.borrow_mut() = Some(Box::new(hook));
    }

    fn changed(&self) {
        if let Some(history) = self.history.borrow_mut().as_mut() {
            history.push(self.disk.borrow().clone());
        }
        let hook = self.hook.borrow_mut().take();
        if let Some(mut hook) = hook {
            hook();
            self.hook.borrow_mut().get_or_insert(hook);
        }
    }

    /// Sets names, all at once, as one directory change.
    /// The inode `name` refers to.
    fn inode(&self, name: &str) -> Result<usize, FsError> {
        self.disk
            .borrow()
            .names
            .get(name)
            .copied()
            .ok_or_else(|| no_entry(name))
    }

    fn set_names(&self, change: &[(&str, Option<usize>)]) {
        let mut disk = self.disk.borrow_mut();
        for &(name, target) in change {
            match target {
                Some(inode) => disk.names.insert(name.to_string(), inode),
                None => disk.names.remove(name),
            };
        }
        let change = change
            .iter()
            .map(|&(name, target)| (name.to_string(), target))
            .collect();
        disk.pending_names.push(change);
    }

    fn change_data(&self, inode: usize, op: DataOp) {
        {
            let mut disk = self.disk.borrow_mut();
            let now = disk.clock_nanos;
            let file = &mut disk.inodes[inode];
            apply(&mut file.data, &op);
            file.pending.push(op);
            file.modified_nanos = now;
        }
        self.changed();
    }
}

fn no_entry(name: &str) -> FsError {
    FsError::new(Code::NoEntry, format!("no such file {name:?} (no-entry)"))
}

impl FileSystem for MemFs {
    type File = MemFile;

    fn open(&self, name: &str, how: Open) -> Result<MemFile, FsError> {
        self.call();
        let existing = self.disk.borrow().names.get(name).copied();
        let inode = match (existing, how) {
            (Some(_), Open::CreateNew) => {
                return Err(FsError::new(Code::Exists, "file exists (exist)"));
            }
            (Some(inode), _) => inode,
            (None, Open::Read | Open::ReadAppend) => return Err(no_entry(name)),
            (None, Open::Append | Open::CreateNew) => {
                let inode = {
                    let mut disk = self.disk.borrow_mut();
                    let now = disk.clock_nanos;
                    disk.inodes.push(Inode {
                        data: Vec::new(),
                        durable: Vec::new(),
                        pending: Vec::new(),
                        modified_nanos: now,
                    });
                    disk.inodes.len() - 1
                };
                self.set_names(&[(name, Some(inode))]);
                self.changed();
                inode
            }
        };
        Ok(MemFile {
            fs: self.clone(),
            inode,
            writable: how != Open::Read,
        })
    }

    fn size_of(&self, name: &str) -> Option<u64> {
        self.call();
        let disk = self.disk.borrow();
        let inode = *disk.names.get(name)?;
        Some(disk.inodes[inode].data.len() as u64)
    }

    fn age_millis(&self, name: &str) -> Option<u64> {
        self.call();
        let disk = self.disk.borrow();
        let inode = *disk.names.get(name)?;
        Some(
            disk.clock_nanos
                .saturating_sub(disk.inodes[inode].modified_nanos)
                / 1_000_000,
        )
    }

    fn directory_exists(&self) -> bool {
        self.call();
        true
    }

    fn link(&self, from: &str, to: &str) -> Result<(), FsError> {
        self.call();
        let inode = self.inode(from)?;
        if self.disk.borrow().names.contains_key(to) {
            return Err(FsError::new(Code::Exists, "file exists (exist)"));
        }
        self.set_names(&[(to, Some(inode))]);
        self.changed();
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        self.call();
        let inode = self.inode(from)?;
        self.set_names(&[(from, None), (to, Some(inode))]);
        self.changed();
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), FsError> {
        self.call();
        if !self.disk.borrow().names.contains_key(name) {
            return Err(no_entry(name));
        }
        self.set_names(&[(name, None)]);
        self.changed();
        Ok(())
    }

    fn list(&self, each: &mut dyn FnMut(String)) -> Result<(), FsError> {
        self.call();
        self.names().into_iter().for_each(each);
        Ok(())
    }

    fn sync_directory(&self) -> Result<(), FsError> {
        self.call();
        {
            let mut disk = self.disk.borrow_mut();
            disk.durable_names = disk.names.clone();
            disk.pending_names.clear();
        }
        self.changed();
        Ok(())
    }

    fn now_nanos(&self) -> u64 {
        self.disk.borrow().clock_nanos
    }

    fn pause(&self, nanos: u64) {
        self.advance(nanos);
    }

    fn random_u64(&self) -> u64 {
        next_random(&mut self.disk.borrow_mut().random)
    }
}

impl File for MemFile {
    fn stat(&self) -> Result<FileStat, FsError> {
        self.fs.call();
        let disk = self.fs.disk.borrow();
        Ok(FileStat {
            size: disk.inodes[self.inode].data.len() as u64,
            links: disk.names.values().filter(|&&i| i == self.inode).count() as u64,
        })
    }

    fn identity(&self) -> Result<u64, FsError> {
        self.fs.call();
        if self.fs.disk.borrow().one_identity {
            return Ok(1);
        }
        Ok(self.inode as u64 + 1)
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
        self.fs.call();
        let disk = self.fs.disk.borrow();
        let data = &disk.inodes[self.inode].data;
        let start = (offset as usize).min(data.len());
        let end = start
            .saturating_add(len.min(CHUNK) as usize)
            .min(data.len());
        Ok(data[start..end].to_vec())
    }

    fn append(&self, frame: &Frame) -> Result<(), FsError> {
        self.fs.call();
        if !self.writable {
            return Err(FsError::new(Code::Access, "opened for reading (access)"));
        }
        let at = self.fs.disk.borrow().inodes[self.inode].data.len() as u64;
        self.fs.write_fitting(self.inode, at, frame.bytes())
    }

    fn set_size(&self, size: u64) -> Result<(), FsError> {
        self.fs.call();
        self.fs.change_data(self.inode, DataOp::SetSize(size));
        Ok(())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), FsError> {
        self.fs.call();
        if !self.writable {
            return Err(FsError::new(Code::Access, "opened for reading (access)"));
        }
        self.fs.write_fitting(self.inode, offset, bytes)
    }

    fn sync_data(&self) -> Result<(), FsError> {
        self.fs.call();
        {
            let mut disk = self.fs.disk.borrow_mut();
            let file = &mut disk.inodes[self.inode];
            file.durable = file.data.clone();
            file.pending.clear();
        }
        self.fs.changed();
        Ok(())
    }

    /// Only the time the staleness rules read; not a change a cut could
    /// lose, so no cut point.
    fn touch(&self) -> Result<(), FsError> {
        self.fs.call();
        let mut disk = self.fs.disk.borrow_mut();
        let now = disk.clock_nanos;
        disk.inodes[self.inode].modified_nanos = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_keeps_synced_data_and_a_prefix_of_the_rest() {
        let fs = MemFs::new();
        let file = fs.open("log", Open::Append).unwrap();
        fs.sync_directory().unwrap();
        file.append(&Frame::raw(b"one\n")).unwrap();
        file.sync_data().unwrap();
        file.append(&Frame::raw(b"two\n")).unwrap();
        let disk = fs.disk();
        assert_eq!(disk.power_cut(&Keep::Synced).read("log").unwrap(), b"one\n");
        assert_eq!(
            disk.power_cut(&Keep::All).read("log").unwrap(),
            b"one\ntwo\n"
        );
        for seed in 0..20 {
            let kept = disk.power_cut(&Keep::Random(seed)).read("log").unwrap();
            assert!(b"one\ntwo\n".starts_with(&kept) && kept.len() >= 4);
        }
    }

    #[test]
    fn a_rename_survives_a_cut_only_once_its_directory_is_synced() {
        let fs = MemFs::new();
        fs.put("log", b"old\n");
        let new = fs.open("log.new", Open::CreateNew).unwrap();
        new.append(&Frame::raw(b"new\n")).unwrap();
        new.sync_data().unwrap();
        fs.rename("log.new", "log").unwrap();
        let before_sync = fs.disk();
        assert_eq!(
            before_sync.power_cut(&Keep::Synced).read("log").unwrap(),
            b"old\n"
        );
        fs.sync_directory().unwrap();
        assert_eq!(
            fs.disk().power_cut(&Keep::Synced).read("log").unwrap(),
            b"new\n"
        );
    }
}
