// Per-instance WASI imports for the pathway-memory component on Node.js.
//
// Built on @bytecodealliance/preview2-shim, with three corrections that the
// component's README relies on and the shim (0.26.1) does not give:
//
// 1. `descriptor.append-via-stream` is, in the shim, a stream that writes at
//    the file's size *when the stream was opened* (positioned writes, no
//    O_APPEND). The component keeps its append stream open, so a second
//    instance appending to the same log, or bytes another process added
//    (a torn tail), were overwritten. Here every descriptor the guest opens
//    for writing gets a twin host descriptor with O_APPEND on the same file
//    (opened right after it, checked by inode), and `append-via-stream`
//    writes through it: every write lands at the end of the file at that
//    moment, in one write(2) call, as on wasmtime.
// 2. `sync` and `stat` on the preopened directory throw `invalid` in the
//    shim, so the directory was never synced (a new log's name, a
//    compaction's rename), and a missing log read as "directory removed"
//    instead of an empty log. Here they fsync and stat the directory.
// 3. stderr and `exit` are per instance: the guest's stderr (where `append`
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
  fstatSync,
  fsyncSync,
  openSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { clocks, filesystem, io } from '@bytecodealliance/preview2-shim';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

const symbolDispose = Symbol.dispose || Symbol.for('dispose');
const ShimOutputStream = io.streams.OutputStream;
const ShimIoError = io.error.Error;

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
  /** @param {string} dir */
  constructor(dir) {
    this.dir = dir;
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
 * A second host file descriptor, opened with O_APPEND, on the file the shim
 * just opened for the guest; shared by the descriptor and its append
 * streams, closed when the last of them is dropped.
 */
class AppendFd {
  #fd;
  #refs = 1;

  constructor(fd) {
    this.#fd = fd;
  }

  /**
   * Opens `hostPath` for appending, right after the shim opened it as
   * `inner`, and makes sure it is the very same file (inode): the name
   * could have been renamed over in between. `null` if not.
   */
  static open(hostPath, inner) {
    let fd;
    try {
      fd = openSync(hostPath, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      if (fstatSync(fd, { bigint: true }).ino === inner.metadataHash().lower) {
        return new AppendFd(fd);
      }
    } catch {
      // not the same file, or not a regular file
    }
    closeSync(fd);
    return null;
  }

  retain() {
    this.#refs += 1;
    return this.#fd;
  }

  release() {
    this.#refs -= 1;
    if (this.#refs === 0) {
      closeSync(this.#fd);
    }
  }
}

/**
 * `wasi:filesystem/types` descriptor: wraps the shim's descriptor and
 * delegates to it, except for `append-via-stream` and the preopen's `sync`.
 */
class Descriptor {
  #inner;
  #hostPath;
  #isPreopen;
  /** @type {AppendFd | null} */
  #appendFd = null;

  /**
   * @param {Context} context
   * @param {object} inner the shim's descriptor
   * @param {string} hostPath where the descriptor was opened, on the host
   * @param {boolean} isPreopen
   */
  constructor(context, inner, hostPath, isPreopen) {
    contexts.set(this, context);
    this.#inner = inner;
    this.#hostPath = hostPath;
    this.#isPreopen = isPreopen;
    if (!isPreopen) {
      context.track(this);
    }
  }

  static #unwrap(descriptor) {
    if (!(descriptor instanceof Descriptor)) {
      throw 'bad-descriptor';
    }
    return descriptor.#inner;
  }

  readViaStream(offset) {
    return this.#inner.readViaStream(offset);
  }

  writeViaStream(offset) {
    return this.#inner.writeViaStream(offset);
  }

  appendViaStream() {
    if (!this.#appendFd) {
      // Not opened for writing, or the O_APPEND twin could not be had.
      return this.#inner.appendViaStream();
    }
    const context = contexts.get(this);
    // The stream may outlive the descriptor (the guest may drop either
    // first): it holds its own reference to the twin.
    const twin = this.#appendFd;
    const fd = twin.retain();
    const stream = new JsOutputStream(
      (bytes) => writeAll(fd, bytes),
      () => {
        context.untrack(stream);
        twin.release();
      },
    );
    return context.track(stream);
  }

  advise(offset, length, advice) {
    return this.#inner.advise(offset, length, advice);
  }

  syncData() {
    if (this.#isPreopen) {
      return this.#syncDirectory();
    }
    return this.#inner.syncData();
  }

  getFlags() {
    return this.#inner.getFlags();
  }

  getType() {
    return this.#inner.getType();
  }

  setSize(size) {
    return this.#inner.setSize(size);
  }

  setTimes(atime, mtime) {
    return this.#inner.setTimes(atime, mtime);
  }

  read(length, offset) {
    return this.#inner.read(length, offset);
  }

  write(buffer, offset) {
    return this.#inner.write(buffer, offset);
  }

  readDirectory() {
    return this.#inner.readDirectory();
  }

  sync() {
    if (this.#isPreopen) {
      return this.#syncDirectory();
    }
    return this.#inner.sync();
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
    return this.#inner.createDirectoryAt(subpath);
  }

  stat() {
    if (this.#isPreopen) {
      return this.#statDirectory();
    }
    return this.#inner.stat();
  }

  // The shim throws `invalid` for `stat` on a preopen; the component needs
  // it to tell a missing log (empty) from a removed directory (an error).
  #statDirectory() {
    let stats;
    try {
      stats = statSync(this.#hostPath, { bigint: true });
    } catch (error) {
      throw filesystemErrorCodeOf(error);
    }
    const time = (ns) => ({ seconds: ns / 1000000000n, nanoseconds: Number(ns % 1000000000n) });
    return {
      type: stats.isDirectory() ? 'directory' : 'unknown',
      linkCount: stats.nlink,
      size: stats.size,
      dataAccessTimestamp: time(stats.atimeNs),
      dataModificationTimestamp: time(stats.mtimeNs),
      statusChangeTimestamp: time(stats.ctimeNs),
    };
  }

  statAt(pathFlags, subpath) {
    return this.#inner.statAt(pathFlags, subpath);
  }

  setTimesAt(pathFlags, subpath, atime, mtime) {
    return this.#inner.setTimesAt(pathFlags, subpath, atime, mtime);
  }

  linkAt(oldPathFlags, oldPath, newDescriptor, newPath) {
    return this.#inner.linkAt(oldPathFlags, oldPath, Descriptor.#unwrap(newDescriptor), newPath);
  }

  openAt(pathFlags, subpath, openFlags, descriptorFlags) {
    const inner = this.#inner.openAt(pathFlags, subpath, openFlags, descriptorFlags);
    const hostPath = path.join(this.#hostPath, subpath);
    const child = new Descriptor(contexts.get(this), inner, hostPath, false);
    if (descriptorFlags.write) {
      child.#appendFd = AppendFd.open(hostPath, inner);
    }
    return child;
  }

  readlinkAt(subpath) {
    return this.#inner.readlinkAt(subpath);
  }

  removeDirectoryAt(subpath) {
    return this.#inner.removeDirectoryAt(subpath);
  }

  renameAt(oldPath, newDescriptor, newPath) {
    return this.#inner.renameAt(oldPath, Descriptor.#unwrap(newDescriptor), newPath);
  }

  symlinkAt(target, subpath) {
    return this.#inner.symlinkAt(target, subpath);
  }

  unlinkFileAt(subpath) {
    return this.#inner.unlinkFileAt(subpath);
  }

  isSameObject(other) {
    return other === this;
  }

  metadataHash() {
    return this.#inner.metadataHash();
  }

  metadataHashAt(pathFlags, subpath) {
    return this.#inner.metadataHashAt(pathFlags, subpath);
  }

  [symbolDispose]() {
    contexts.get(this)?.untrack(this);
    this.#appendFd?.release();
    this.#appendFd = null;
    this.#inner[symbolDispose]?.();
  }
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
 * @param {(bytes: Uint8Array) => void} options.stderr receives the guest's stderr
 * @returns {{ imports: Record<string, object>, dispose: () => void }}
 */
export function createImports({ dir, env, stderr }) {
  const context = new Context(dir);
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
  const preopen = new Descriptor(context, innerPreopen, dir, true);
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
  imports['wasi:cli/stderr'] = { getStderr: () => stderrStream };
  imports['wasi:cli/exit'] = {
    exit(status) {
      throw new Error(`the component called wasi:cli/exit (${status?.tag ?? status})`);
    },
    exitWithCode(code) {
      throw new Error(`the component called wasi:cli/exit with code ${code}`);
    },
  };
  return { imports, dispose: () => context.dispose() };
}
