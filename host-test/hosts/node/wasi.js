// Per-instance WASI imports for the pathway-memory component on Node.js.
//
// Built on @bytecodealliance/preview2-shim, with corrections that the
// component's README relies on and the shim (0.26.1) does not give, and one
// for speed:
//
// 1. The log's files are served here with synchronous node:fs calls. A
//    regular file the guest opens by a plain name in the granted directory
//    (not following symbolic links, as the component always asks) is held
//    as a host descriptor (`HostFile`): its `stat`, `read`, `write`,
//    `metadata-hash`, `set-size` and syncs are direct calls. The shim makes
//    each of them a synchronous round trip to its worker thread (about
//    50 µs of CPU, more wall time; a stored append made two), which was
//    most of an append's time. Any other open, and every open that fails,
//    goes to the shim as before, so its errors are the shim's.
// 2. `append-via-stream` is, in the shim, a stream that writes at the
//    file's size *when the stream was opened* (positioned writes, no
//    O_APPEND). The component keeps its append stream open, so a second
//    instance appending to the same log, or bytes another process added
//    (a torn tail), were overwritten. Here every descriptor the guest opens
//    for writing gets a twin host descriptor with O_APPEND on the same file
//    (opened right after it, checked by inode), and `append-via-stream`
//    writes through it: every write lands at the end of the file at that
//    moment, in one write(2) call, as on wasmtime.
// 3. `sync` and `stat` on the preopened directory throw `invalid` in the
//    shim, so the directory was never synced (a new log's name, a
//    compaction's rename), and a missing log read as "directory removed"
//    instead of an empty log. Here they fsync and stat the directory.
//    `read-directory` on the preopened directory throws `bad-descriptor` in
//    the shim, so the component's `logs` could not list the grant; here it
//    lists the directory (`JsDirectoryEntryStream`).
// 4. A read-only grant (`readOnly`) refuses every change with
//    `not-permitted`, as wasmtime's read-only preopen does.
// 5. stderr and `exit` are per instance: the guest's stderr (where `append`
//    explains a refused event before it traps) is captured for that
//    instance instead of going to the process's stderr, and `exit` throws
//    instead of ending the Node.js process.
//
// Environment and arguments are per instance through the shim's own
// `WASIShim({ sandbox: { env, args } })`; the filesystem sees one preopened
// directory through the shim's `createFilesystem({ preopens })`.

import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  opendirSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { clocks, filesystem, io } from '@bytecodealliance/preview2-shim';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

const symbolDispose = Symbol.dispose || Symbol.for('dispose');
const ShimOutputStream = io.streams.OutputStream;
const ShimIoError = io.error.Error;
const ShimDirectoryEntryStream = filesystem.types.DirectoryEntryStream;

/** Bytes one `write` may carry (`check-write`), as wasmtime's permit. */
export const WRITE_PERMIT = 65536;

/** A ready pollable: our streams never make the guest wait. */
function readyPollable() {
  return clocks.monotonicClock.subscribeDuration(0n);
}

/** A `stream-error` for a failed host write. */
function writeFailed(error) {
  return { tag: 'last-operation-failed', val: new ShimIoError(error) };
}

/**
 * An output stream implemented in JS. It extends the shim's OutputStream
 * class so that the transpiled bindings accept it as a `wasi:io/streams`
 * output-stream; every method the guest can call is overridden.
 */
class JsOutputStream extends ShimOutputStream {
  #sink;
  #close;
  #closed = false;

  /**
   * @param {(bytes: Uint8Array) => void} sink writes all of the bytes or throws
   * @param {() => void} [close]
   */
  constructor(sink, close = () => {}) {
    super();
    this.#sink = sink;
    this.#close = close;
  }

  #write(bytes) {
    if (this.#closed) {
      throw { tag: 'closed' };
    }
    try {
      this.#sink(bytes);
    } catch (error) {
      throw writeFailed(error);
    }
  }

  checkWrite() {
    if (this.#closed) {
      throw { tag: 'closed' };
    }
    return BigInt(WRITE_PERMIT);
  }

  write(bytes) {
    if (bytes.byteLength > WRITE_PERMIT) {
      throw new Error('wasi-io trap: write of more bytes than check-write permitted');
    }
    this.#write(bytes);
  }

  blockingWriteAndFlush(bytes) {
    this.#write(bytes);
  }

  flush() {}

  blockingFlush() {}

  writeZeroes(len) {
    this.#write(new Uint8Array(Number(len)));
  }

  blockingWriteZeroesAndFlush(len) {
    this.#write(new Uint8Array(Number(len)));
  }

  splice() {
    throw writeFailed(new Error('splice is not supported on this stream'));
  }

  blockingSplice() {
    throw writeFailed(new Error('splice is not supported on this stream'));
  }

  subscribe() {
    return readyPollable();
  }

  [symbolDispose]() {
    if (!this.#closed) {
      this.#closed = true;
      this.#close();
    }
  }
}

/**
 * A `wasi:filesystem/types` directory-entry-stream implemented in JS over
 * `opendirSync`, for the preopened directory (whose `read-directory` the
 * shim refuses). It extends the shim's class so that the transpiled
 * bindings accept it; every method the guest can call is overridden.
 */
class JsDirectoryEntryStream extends ShimDirectoryEntryStream {
  #dir;
  #context;

  constructor(context, dir) {
    super();
    this.#context = context;
    this.#dir = dir;
  }

  readDirectoryEntry() {
    if (!this.#dir) {
      throw 'bad-descriptor';
    }
    const entry = fsCall(() => this.#dir.readSync());
    return entry === null ? undefined : { name: entry.name, type: typeOf(entry) };
  }

  [symbolDispose]() {
    this.#context.untrack(this);
    const dir = this.#dir;
    this.#dir = null;
    dir?.closeSync();
  }
}

/** Writes every byte to `fd` (a regular file opened with O_APPEND). */
function writeAll(fd, bytes) {
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, bytes.byteLength - done);
  }
}

/**
 * The per-instance state: the host directory and every host resource the
 * instance holds, so that they can all be released when the instance is
 * dropped (after a trap, or by `close`).
 */
class Context {
  /**
   * @param {string} dir
   * @param {boolean} readOnly
   */
  constructor(dir, readOnly) {
    this.dir = dir;
    this.readOnly = readOnly;
    /** @type {Set<{ [symbolDispose](): void }>} */
    this.resources = new Set();
  }

  track(resource) {
    this.resources.add(resource);
    return resource;
  }

  untrack(resource) {
    this.resources.delete(resource);
  }

  dispose() {
    for (const resource of this.resources) {
      try {
        resource[symbolDispose]?.();
      } catch {
        // already closed
      }
    }
    this.resources.clear();
  }
}

const contexts = new WeakMap();

/**
 * A second host file descriptor, opened with O_APPEND, on a file the guest
 * opened for writing; shared by the descriptor and its append streams,
 * closed when the last of them is dropped.
 */
class AppendFd {
  #fd;
  #refs = 1;

  constructor(fd) {
    this.#fd = fd;
  }

  /**
   * Opens `hostPath` for appending, right after the guest's descriptor was
   * opened, and makes sure it is the very same file: the name could have
   * been renamed over in between. `null` if not.
   * @param {string} hostPath
   * @param {() => bigint} inodeOfOpened the inode of the guest's descriptor
   */
  static open(hostPath, inodeOfOpened) {
    let fd;
    try {
      fd = openSync(hostPath, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      if (fstatSync(fd, { bigint: true }).ino === inodeOfOpened()) {
        return new AppendFd(fd);
      }
    } catch {
      // not the same file, or not a regular file
    }
    closeSync(fd);
    return null;
  }

  /** An output stream writing at the end of the file, whatever its size. */
  stream(context) {
    this.#refs += 1;
    const fd = this.#fd;
    // The stream may outlive the descriptor (the guest may drop either
    // first): it holds its own reference.
    const stream = new JsOutputStream(
      (bytes) => writeAll(fd, bytes),
      () => {
        context.untrack(stream);
        this.release();
      },
    );
    return context.track(stream);
  }

  release() {
    this.#refs -= 1;
    if (this.#refs === 0) {
      closeSync(this.#fd);
    }
  }
}

/** A WASI `datetime` from nanoseconds. */
function datetime(ns) {
  return { seconds: ns / 1000000000n, nanoseconds: Number(ns % 1000000000n) };
}

/** A WASI `descriptor-stat` from node:fs bigint stats. */
function descriptorStat(stats, type) {
  return {
    type,
    linkCount: stats.nlink,
    size: stats.size,
    dataAccessTimestamp: datetime(stats.atimeNs),
    dataModificationTimestamp: datetime(stats.mtimeNs),
    statusChangeTimestamp: datetime(stats.ctimeNs),
  };
}

/** Runs a node:fs call; a failure becomes the WASI error code, as the shim maps it. */
function fsCall(call) {
  try {
    return call();
  } catch (error) {
    throw filesystemErrorCodeOf(error);
  }
}

/** A name for a file directly in the directory: no separator, no `.`/`..`. */
function isPlainName(subpath) {
  return subpath !== '' && subpath !== '.' && subpath !== '..' && !/[/\\]/.test(subpath);
}

/**
 * A regular file opened by plain name in the preopened directory, held as a
 * host file descriptor and served with synchronous node:fs calls. The shim
 * would make each `stat`, `read`, `metadata-hash` and `sync` of it a round
 * trip to its worker thread (about 200 µs each; a stored append does two
 * `stat`s): this is where a single append spent most of its time.
 */
class HostFile {
  #fd;
  #flags;
  /** @type {AppendFd | null} */
  #appendFd = null;

  /**
   * Opens `hostPath` as the guest asked, or returns `null` when the result
   * would not be a regular file held here (the caller then asks the shim,
   * which gives the same outcome or error as before).
   */
  static open(hostPath, openFlags, descriptorFlags) {
    const unsupported = descriptorFlags.requestedWriteSync || descriptorFlags.mutateDirectory
      || descriptorFlags.fileIntegritySync || descriptorFlags.dataIntegritySync;
    if (unsupported || openFlags.directory) {
      return null;
    }
    let flags = constants.O_NOFOLLOW | constants.O_NONBLOCK;
    if (openFlags.create) flags |= constants.O_CREAT;
    if (openFlags.exclusive) flags |= constants.O_EXCL;
    if (openFlags.truncate) flags |= constants.O_TRUNC;
    if (descriptorFlags.read && descriptorFlags.write) flags |= constants.O_RDWR;
    else if (descriptorFlags.write) flags |= constants.O_WRONLY;
    else flags |= constants.O_RDONLY;
    let fd;
    try {
      fd = openSync(hostPath, flags);
    } catch {
      return null;
    }
    let file = null;
    try {
      const stats = fstatSync(fd, { bigint: true });
      if (stats.isFile()) {
        file = new HostFile(fd, descriptorFlags);
        if (descriptorFlags.write) {
          file.#appendFd = AppendFd.open(hostPath, () => stats.ino);
        }
      }
    } finally {
      if (!file) {
        closeSync(fd);
      }
    }
    return file;
  }

  constructor(fd, flags) {
    this.#fd = fd;
    this.#flags = flags;
  }

  getFlags() {
    return this.#flags;
  }

  stat() {
    return descriptorStat(fsCall(() => fstatSync(this.#fd, { bigint: true })), 'regular-file');
  }

  metadataHash() {
    const stats = fsCall(() => fstatSync(this.#fd, { bigint: true }));
    return { upper: stats.mtimeNs, lower: stats.ino };
  }

  read(length, offset) {
    const buffer = new Uint8Array(Number(length));
    const count = fsCall(() => readSync(this.#fd, buffer, 0, buffer.byteLength, Number(offset)));
    return [buffer.subarray(0, count), count === 0];
  }

  write(buffer, offset) {
    return BigInt(fsCall(() => writeSync(this.#fd, buffer, 0, buffer.byteLength, Number(offset))));
  }

  setSize(size) {
    fsCall(() => ftruncateSync(this.#fd, Number(size)));
  }

  sync() {
    fsCall(() => fsyncSync(this.#fd));
  }

  syncData() {
    try {
      fdatasyncSync(this.#fd);
    } catch (error) {
      // As the shim: a file system that cannot sync is not an error.
      if (error.code !== 'EPERM') {
        throw filesystemErrorCodeOf(error);
      }
    }
  }

  /** A stream writing from `offset` on, positioned (not O_APPEND). */
  writeViaStream(context, offset) {
    let position = Number(offset);
    const fd = this.#fd;
    const stream = new JsOutputStream(
      (bytes) => {
        let done = 0;
        while (done < bytes.byteLength) {
          done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
        }
        position += done;
      },
      () => context.untrack(stream),
    );
    return context.track(stream);
  }

  appendViaStream(context) {
    if (!this.#appendFd) {
      throw 'bad-descriptor';
    }
    return this.#appendFd.stream(context);
  }

  [symbolDispose]() {
    this.#appendFd?.release();
    this.#appendFd = null;
    if (this.#fd !== null) {
      closeSync(this.#fd);
      this.#fd = null;
    }
  }
}

/**
 * `wasi:filesystem/types` descriptor: the preopen (the shim's, with `stat`
 * and `sync` added), a {@link HostFile}, or else the shim's descriptor with
 * an O_APPEND twin for `append-via-stream`.
 */
class Descriptor {
  #inner;
  /** @type {HostFile | null} */
  #file;
  #hostPath;
  #isPreopen;
  /** @type {AppendFd | null} */
  #appendFd = null;

  /**
   * @param {Context} context
   * @param {object | null} inner the shim's descriptor (null for a HostFile)
   * @param {HostFile | null} file
   * @param {string} hostPath where the descriptor was opened, on the host
   * @param {boolean} isPreopen
   */
  constructor(context, inner, file, hostPath, isPreopen) {
    contexts.set(this, context);
    this.#inner = inner;
    this.#file = file;
    this.#hostPath = hostPath;
    this.#isPreopen = isPreopen;
    if (!isPreopen) {
      context.track(this);
    }
  }

  /** A read-only grant refuses every change, as wasmtime does. */
  #refuseChange() {
    if (contexts.get(this).readOnly) {
      throw 'not-permitted';
    }
  }

  static #unwrap(descriptor) {
    if (!(descriptor instanceof Descriptor) || !descriptor.#inner) {
      throw 'bad-descriptor';
    }
    return descriptor.#inner;
  }

  /** The shim's descriptor, for an operation a HostFile does not serve. */
  get #shim() {
    if (!this.#inner) {
      // Directory operations on a regular file, or a stream reader the
      // component never asks for.
      throw this.#file ? 'not-directory' : 'bad-descriptor';
    }
    return this.#inner;
  }

  readViaStream(offset) {
    if (this.#file) {
      throw 'unsupported';
    }
    return this.#shim.readViaStream(offset);
  }

  writeViaStream(offset) {
    if (this.#file) {
      return this.#file.writeViaStream(contexts.get(this), offset);
    }
    return this.#shim.writeViaStream(offset);
  }

  appendViaStream() {
    if (this.#file) {
      return this.#file.appendViaStream(contexts.get(this));
    }
    if (!this.#appendFd) {
      // Not opened for writing, or the O_APPEND twin could not be had.
      return this.#shim.appendViaStream();
    }
    return this.#appendFd.stream(contexts.get(this));
  }

  advise(offset, length, advice) {
    if (this.#file) {
      return undefined; // advice only
    }
    return this.#shim.advise(offset, length, advice);
  }

  syncData() {
    if (this.#file) {
      return this.#file.syncData();
    }
    if (this.#isPreopen) {
      return this.#syncDirectory();
    }
    return this.#shim.syncData();
  }

  getFlags() {
    return this.#file ? this.#file.getFlags() : this.#shim.getFlags();
  }

  getType() {
    return this.#file ? 'regular-file' : this.#shim.getType();
  }

  setSize(size) {
    return this.#file ? this.#file.setSize(size) : this.#shim.setSize(size);
  }

  setTimes(atime, mtime) {
    if (this.#file) {
      throw 'unsupported'; // the component never sets times
    }
    return this.#shim.setTimes(atime, mtime);
  }

  read(length, offset) {
    return this.#file ? this.#file.read(length, offset) : this.#shim.read(length, offset);
  }

  write(buffer, offset) {
    return this.#file ? this.#file.write(buffer, offset) : this.#shim.write(buffer, offset);
  }

  readDirectory() {
    if (this.#isPreopen) {
      const context = contexts.get(this);
      const dir = fsCall(() => opendirSync(this.#hostPath));
      return context.track(new JsDirectoryEntryStream(context, dir));
    }
    return this.#shim.readDirectory();
  }

  sync() {
    if (this.#file) {
      return this.#file.sync();
    }
    if (this.#isPreopen) {
      return this.#syncDirectory();
    }
    return this.#shim.sync();
  }

  #syncDirectory() {
    let fd;
    try {
      fd = openSync(this.#hostPath, constants.O_RDONLY | constants.O_DIRECTORY);
      fsyncSync(fd);
    } catch (error) {
      throw filesystemErrorCodeOf(error);
    } finally {
      if (fd !== undefined) {
        closeSync(fd);
      }
    }
  }

  createDirectoryAt(subpath) {
    this.#refuseChange();
    return this.#shim.createDirectoryAt(subpath);
  }

  stat() {
    if (this.#file) {
      return this.#file.stat();
    }
    if (this.#isPreopen) {
      // The shim throws `invalid` for a preopen; the component needs it to
      // tell a missing log (empty) from a removed directory (an error).
      const stats = fsCall(() => statSync(this.#hostPath, { bigint: true }));
      return descriptorStat(stats, stats.isDirectory() ? 'directory' : 'unknown');
    }
    return this.#shim.stat();
  }

  statAt(pathFlags, subpath) {
    if (this.#isPreopen && !pathFlags.symlinkFollow && isPlainName(subpath)) {
      // What the shim does for one name not followed, without resolving
      // the directory's real path first.
      // A missing name is the common case (`<log>.lock` before each
      // append): answered without making a Node.js error.
      const stats = fsCall(() => lstatSync(path.join(this.#hostPath, subpath), { bigint: true, throwIfNoEntry: false }));
      if (!stats) {
        throw 'no-entry';
      }
      return descriptorStat(stats, typeOf(stats));
    }
    return this.#shim.statAt(pathFlags, subpath);
  }

  setTimesAt(pathFlags, subpath, atime, mtime) {
    this.#refuseChange();
    return this.#shim.setTimesAt(pathFlags, subpath, atime, mtime);
  }

  linkAt(oldPathFlags, oldPath, newDescriptor, newPath) {
    this.#refuseChange();
    return this.#shim.linkAt(oldPathFlags, oldPath, Descriptor.#unwrap(newDescriptor), newPath);
  }

  openAt(pathFlags, subpath, openFlags, descriptorFlags) {
    if (descriptorFlags.write || openFlags.create || openFlags.truncate) {
      this.#refuseChange();
    }
    const context = contexts.get(this);
    const hostPath = path.join(this.#hostPath, subpath);
    if (this.#isPreopen && !pathFlags.symlinkFollow && isPlainName(subpath)) {
      const file = HostFile.open(hostPath, openFlags, descriptorFlags);
      if (file) {
        return new Descriptor(context, null, file, hostPath, false);
      }
    }
    const inner = this.#shim.openAt(pathFlags, subpath, openFlags, descriptorFlags);
    const child = new Descriptor(context, inner, null, hostPath, false);
    if (descriptorFlags.write) {
      child.#appendFd = AppendFd.open(hostPath, () => inner.metadataHash().lower);
    }
    return child;
  }

  readlinkAt(subpath) {
    return this.#shim.readlinkAt(subpath);
  }

  removeDirectoryAt(subpath) {
    this.#refuseChange();
    return this.#shim.removeDirectoryAt(subpath);
  }

  renameAt(oldPath, newDescriptor, newPath) {
    this.#refuseChange();
    return this.#shim.renameAt(oldPath, Descriptor.#unwrap(newDescriptor), newPath);
  }

  symlinkAt(target, subpath) {
    this.#refuseChange();
    return this.#shim.symlinkAt(target, subpath);
  }

  unlinkFileAt(subpath) {
    this.#refuseChange();
    return this.#shim.unlinkFileAt(subpath);
  }

  isSameObject(other) {
    return other === this;
  }

  metadataHash() {
    return this.#file ? this.#file.metadataHash() : this.#shim.metadataHash();
  }

  metadataHashAt(pathFlags, subpath) {
    return this.#shim.metadataHashAt(pathFlags, subpath);
  }

  [symbolDispose]() {
    contexts.get(this)?.untrack(this);
    this.#appendFd?.release();
    this.#appendFd = null;
    this.#file?.[symbolDispose]();
    this.#file = null;
    this.#inner?.[symbolDispose]?.();
  }
}

/** The WASI descriptor type of node:fs stats (as the shim names them). */
function typeOf(stats) {
  if (stats.isFile()) return 'regular-file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symbolic-link';
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'character-device';
  if (stats.isBlockDevice()) return 'block-device';
  return 'unknown';
}

/** The WASI error code of a Node.js fs error (as the shim maps them). */
function filesystemErrorCodeOf(error) {
  try {
    return filesystem.types.filesystemErrorCode(new ShimIoError(error)) ?? 'io';
  } catch {
    return 'io';
  }
}

/**
 * Builds the import object for one instance of the component.
 *
 * @param {object} options
 * @param {string} options.dir host directory, preopened as `/` (the only one)
 * @param {Record<string, string>} options.env the guest's whole environment
 * @param {boolean} [options.readOnly] grant the directory read-only (as
 *   wasmtime's `DirPerms::READ`/`FilePerms::READ`: changes are `not-permitted`)
 * @param {(bytes: Uint8Array) => void} options.stderr receives the guest's stderr
 * @returns {{ imports: Record<string, object>, dispose: () => void }}
 */
export function createImports({ dir, env, stderr, readOnly = false }) {
  const context = new Context(dir, readOnly);
  const shim = new WASIShim({
    sandbox: {
      preopens: { '/': dir },
      env,
      args: ['pathway-memory'],
      enableNetwork: false,
    },
  });
  const imports = shim.getImportObject();
  const [[innerPreopen]] = imports['wasi:filesystem/preopens'].getDirectories();
  const preopen = new Descriptor(context, innerPreopen, null, dir, true);
  const stderrStream = new JsOutputStream(stderr);
  const shimTypes = imports['wasi:filesystem/types'];

  imports['wasi:filesystem/preopens'] = {
    getDirectories: () => [[preopen, '/']],
  };
  imports['wasi:filesystem/types'] = {
    Descriptor,
    DirectoryEntryStream: shimTypes.DirectoryEntryStream,
    filesystemErrorCode(error) {
      try {
        return shimTypes.filesystemErrorCode(error);
      } catch {
        return undefined; // not a filesystem error: option::none
      }
    },
  };
  perInstanceCli(imports, stderrStream);
  return { imports, dispose: () => context.dispose() };
}

/** stderr captured for the instance, and an `exit` that throws instead of ending the process. */
function perInstanceCli(imports, stderrStream) {
  imports['wasi:cli/stderr'] = { getStderr: () => stderrStream };
  imports['wasi:cli/exit'] = {
    exit(status) {
      throw new Error(`the component called wasi:cli/exit (${status?.tag ?? status})`);
    },
    exitWithCode(code) {
      throw new Error(`the component called wasi:cli/exit with code ${code}`);
    },
  };
}

/**
 * Builds the WASI imports for one instance of the stream build
 * (`pathway_memory_stream.wasm`), which keeps its log in the stream its
 * host grants (`nats.js`) and uses WASI only for its environment, clocks
 * and random numbers: no directory is preopened, stderr and `exit` are per
 * instance as for the directory build.
 *
 * @param {object} options
 * @param {Record<string, string>} options.env the guest's whole environment
 * @param {(bytes: Uint8Array) => void} options.stderr receives the guest's stderr
 * @returns {{ imports: Record<string, object>, dispose: () => void }}
 */
export function createStreamImports({ env, stderr }) {
  const shim = new WASIShim({
    sandbox: {
      preopens: {},
      env,
      args: ['pathway-memory'],
      enableNetwork: false,
    },
  });
  const imports = shim.getImportObject();
  // Whatever the shim's defaults: no directory at all.
  imports['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  perInstanceCli(imports, new JsOutputStream(stderr));
  return { imports, dispose: () => {} };
}
