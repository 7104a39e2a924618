// pathway-memory on Node.js: the component (`pathway:memory/log@0.3.0`)
// transpiled by jco, run on preview2-shim with `wasi.js`'s corrections.
//
//     import { open, LogError } from './pathway.js';
//     const log = await open('/var/lib/agent/memory', { sync: 'always' });
//     log.tryAppend('{"op":"remember"}');
//     for (const entry of log.replay()) { ... }
//
//     // The same log kept in a NATS JetStream stream instead:
//     const shared = await open({ nats: 'nats://127.0.0.1:4222', stream: 'agent', replicas: 1 });
//
// Both builds of the component are transpiled once by setup.sh (jco
// transpile -I sync, plus tune-bindings.js; see README.md): the directory
// build into `./gen/`, the stream build into `./gen/stream/`:
//
//     bash setup.sh pathway_memory.wasm   # and pathway_memory_stream.wasm beside it
//
// Every `open` makes an instance that sees one host directory (or one
// stream, through `nats.js`) and only the PATHWAY_* variables its options
// set. Every message a user sees comes from the component; this file
// composes no wording of its own for the log's errors and decides on typed
// values only (`LogError.code`).

import path from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { appendLines as appendLinesTo, BATCHING, LinesError } from './lines.js';
import { createImports, createStreamImports } from './wasi.js';

export { BATCHING, LinesError };

const here = path.dirname(fileURLToPath(import.meta.url));
const INTERFACE = 'pathway:memory/log@0.3.0';
/** The stream build's import, as the transpiled bindings name it. */
const STREAM_IMPORT = 'pathway:memory/stream';

/** Most guest stderr kept per call, for a trap. */
const STDERR_LIMIT = 64 * 1024;

/** Page size `endCursor` reads with. */
const END_CURSOR_PAGE = 4 << 20;

/**
 * One damaged line: skipped by replay, reported by `check`, moved to the
 * quarantine by `repair`.
 * @typedef {object} DamagedLine
 * @property {number} line 1-based line number
 * @property {number} offset byte offset of the line's first byte
 * @property {number} length bytes of the line, without its `\n`
 * @property {boolean} torn the last line, unterminated and invalid (a torn write)
 * @property {'invalid-utf8' | 'invalid-json' | 'too-large'} problem
 * @property {string} reason the problem in words, with the offset inside the line
 * @property {string} message what `replay` says for this line (`line N: ...`)
 */

/**
 * One replayed line, as jco lifts the WIT `entry`:
 * `{ tag: 'ok', val: line }` for a stored record (one JSON value, as text),
 * `{ tag: 'err', val: DamagedLine }` for a damaged line.
 * @typedef {{ tag: 'ok', val: string } | { tag: 'err', val: DamagedLine }} Entry
 */

/**
 * @typedef {object} Page
 * @property {Entry[]} entries entries of the complete lines read
 * @property {Entry | null} tail the last line while it has no `\n` yet
 *   (judged as it stands, not consumed), else `null`
 * @property {string} next opaque cursor after `entries`: pass it to
 *   `replayPage` to continue, or keep it to read only later appends
 * @property {boolean} atEnd nothing but (at most) the tail followed `next`
 */

/**
 * The configuration in force, as the component read it (`open-log`).
 * @typedef {object} Settings
 * @property {string} logName file name of the log in the directory
 * @property {number} maxLine largest stored line in bytes
 * @property {number} maxDepth how deep an appended event may nest arrays and objects
 * @property {string} sync `never`, `always` or `interval:<ms>`
 * @property {number} epochTickMs the epoch tick for hosts that stop calls by
 *   epoch interruption (unused on Node.js, which cannot stop a call)
 */

/**
 * A stored record nested deeper than `PATHWAY_MAX_DEPTH` (WIT `deep-line`):
 * replay returns it, but readers with a lower limit cannot read it.
 * @typedef {object} DeepLine
 * @property {number} line 1-based line number
 * @property {number} offset byte offset of the line's first byte in the file
 * @property {number} at byte offset, inside the line, of the first array or
 *   object too deep
 */

/**
 * @typedef {object} CheckReport
 * @property {number} bytes size of the log
 * @property {number} records good records
 * @property {DamagedLine[]} damaged
 * @property {boolean} tornTail the last line is a torn write
 * @property {string[]} leftovers `<log>.compact`, `<log>.lock`, `<log>.quarantine` when present
 * @property {DeepLine[]} tooDeep records nested deeper than `PATHWAY_MAX_DEPTH`
 * @property {Checksum} checksum the bytes the last compaction or repair wrote,
 *   against their SHA-256 (`<log>.sha256`)
 * @property {string} checksumMessage what the checksum found, in words, with
 *   what to do; `''` when there is nothing to say (`none`, `verified`)
 */

/**
 * The first `bytes` bytes of the log, which the last compaction or repair
 * wrote, against their SHA-256 in `<log>.sha256` (WIT `integrity`): the
 * `details` of an `integrity` LogError, and the fields of a `mismatch`.
 * @typedef {object} Integrity
 * @property {number} bytes
 * @property {string} expected the SHA-256 written, in hex
 * @property {string | null} actual the SHA-256 of the log's first `bytes`
 *   bytes now; `null` when the log is shorter (it was cut)
 */

/**
 * What `check` found of `<log>.sha256` (WIT `checksum`), by `state`:
 * `none` (never compacted or repaired), `stale` (written for another file
 * than the log is now), `unreadable` (torn or edited), `verified` (the
 * log's first `bytes` bytes hash as written), `mismatch` (they do not, or
 * the log is shorter: a changed byte, or the log was cut).
 * @typedef {{ state: 'none' | 'stale' | 'unreadable' }
 *   | { state: 'verified', bytes: number }
 *   | ({ state: 'mismatch' } & Integrity)} Checksum
 */

/**
 * @typedef {object} RepairReport
 * @property {DamagedLine[]} removed lines removed from the log
 * @property {string} quarantine the file that now holds their bytes
 * @property {number} bytesBefore
 * @property {number} bytesAfter
 */

/**
 * @typedef {object} CompactReport
 * @property {number} snapshotRecords records written from the snapshot
 * @property {number} keptBytes bytes of the log after the cursor, kept as they were
 * @property {number} bytesBefore
 * @property {number} bytesAfter
 */

/**
 * The component's error (WIT `log-error`). The instance stays usable.
 * Whenever an append function throws it, nothing of that call was written;
 * whenever `compact` or `repair` does, the log is as it was.
 *
 * Decide on `code`, never on `message`.
 */
export class LogError extends Error {
  /**
   * @param {{ cause: { tag: string, val?: object }, message: string }} error
   *   the WIT `log-error` as jco lifts it (u64 already Numbers)
   * @param {unknown} [cause] jco's ComponentError
   */
  constructor(error, cause) {
    super(error.message, { cause });
    this.name = 'LogError';
    /**
     * The WIT `cause` tag: `invalid-json`, `too-large`, `invalid-config`,
     * `no-directory`, `not-a-file`, `access-denied`, `insufficient-space`,
     * `invalid-cursor`, `stale-cursor`, `busy`, `io` or `integrity`.
     * @type {string}
     */
    this.code = error.cause.tag;
    /**
     * `{ index, offset, reason }` for `invalid-json`, `{ index, size, limit }`
     * for `too-large`, `{ bytes, expected, actual }` ({@link Integrity}) for
     * `integrity`, else `null`.
     * @type {object | null}
     */
    this.details = this.code === 'integrity' ? integrity(error.cause.val) : (error.cause.val ?? null);
  }
}

/**
 * The component trapped: `append` does so by design on a refused event
 * (`stderr` then says why); anything else is a fault in the component or
 * the host under it. The instance is replaced, so the log stays usable.
 * Nothing of a refused `append` was written.
 */
export class Trap extends Error {
  /**
   * @param {string} func the WIT function, e.g. `append`
   * @param {unknown} cause the WebAssembly.RuntimeError (or host error)
   * @param {string} stderr what the guest wrote on stderr during the call
   */
  constructor(func, cause, stderr) {
    const said = stderr.trim();
    super(`the component trapped: ${cause?.message ?? cause}${said ? `\nguest stderr:\n${said}` : ''}`, { cause });
    this.name = 'Trap';
    /** The WIT function that trapped. */
    this.func = func;
    /** The guest's stderr during the call, as it wrote it. */
    this.stderr = stderr;
    /** Whether the call ran past a deadline: always false, Node.js cannot stop a call. */
    this.timedOut = false;
  }
}

/** Every bigint (WIT u64) as a Number; they are byte counts and offsets. */
function numbers(value) {
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) {
      throw new RangeError(`${value} does not fit a JavaScript number`);
    }
    return n;
  }
  if (Array.isArray(value)) {
    return value.map(numbers);
  }
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) {
      out[key] = numbers(value[key]);
    }
    return out;
  }
  return value;
}

/** An entry with its damaged line's u64 as Numbers; an `ok` entry as it is. */
function entry(lifted) {
  if (lifted.tag === 'err') {
    const line = lifted.val;
    line.line = numbers(line.line);
    line.offset = numbers(line.offset);
    line.length = numbers(line.length);
  }
  return lifted;
}

/** A WIT `integrity` with its u64 as a Number and a missing `actual` as `null`. */
function integrity(lifted) {
  return { bytes: numbers(lifted.bytes), expected: lifted.expected, actual: lifted.actual ?? null };
}

/** The WIT `checksum` as `{ state, ...its fields }` ({@link Checksum}). */
function checksum(lifted) {
  switch (lifted.tag) {
    case 'verified':
      return { state: 'verified', bytes: numbers(lifted.val) };
    case 'mismatch':
      return { state: 'mismatch', ...integrity(lifted.val) };
    default:
      return { state: lifted.tag };
  }
}

function isComponentError(error) {
  return error instanceof Error && Object.prototype.hasOwnProperty.call(error, 'payload')
    && error.constructor?.name === 'ComponentError';
}

function requireString(value, what) {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, got ${typeof value}`);
  }
}

function requireStrings(values, what) {
  if (!Array.isArray(values)) {
    throw new TypeError(`${what} must be an array of strings`);
  }
  values.forEach((v, i) => requireString(v, `${what}[${i}]`));
}

/** Compiled core modules, per bindings directory, shared by all instances. */
const loaded = new Map();

async function loadBindings(genDir) {
  let entry = loaded.get(genDir);
  if (!entry) {
    entry = (async () => {
      const jsFile = path.join(genDir, 'pathway.js');
      let bindings;
      try {
        bindings = await import(pathToFileURL(jsFile).href);
      } catch (error) {
        throw new Error(
          `cannot load the transpiled component ${jsFile}: run ` +
            '`bash setup.sh pathway_memory.wasm` in the Node.js host directory first',
          { cause: error },
        );
      }
      const modules = new Map();
      for (const name of ['pathway.core.wasm', 'pathway.core2.wasm', 'pathway.core3.wasm']) {
        try {
          modules.set(name, await WebAssembly.compile(await readFile(path.join(genDir, name))));
        } catch (error) {
          if (error.code !== 'ENOENT') {
            throw error;
          }
        }
      }
      return { instantiate: bindings.instantiate, modules };
    })();
    loaded.set(genDir, entry);
    entry.catch(() => loaded.delete(genDir));
  }
  return entry;
}

/**
 * One log: an instance of the component that sees `dir` (as its only
 * preopened directory), or one NATS JetStream stream, and nothing else.
 * Made by {@link open}. Every method is synchronous and calls the WIT
 * function of the same name.
 */
export class Memory {
  #bindings;
  #dir;
  #env;
  #readOnly;
  /** The stream's transport (`nats.js`), or null for a directory log. */
  #transport;
  /** @type {Settings} */
  #settings;
  #instance = null;
  #stderr = [];
  #stderrBytes = 0;
  #closed = false;

  /**
   * @private use {@link open}
   * @param {object} bindings
   * @param {{ dir: string, readOnly: boolean } | { transport: object }} grant
   * @param {Record<string, string>} env
   */
  constructor(bindings, grant, env) {
    this.#bindings = bindings;
    this.#dir = grant.dir ?? null;
    this.#readOnly = Boolean(grant.readOnly);
    this.#transport = grant.transport ?? null;
    this.#env = env;
    try {
      this.#settings = this.#call('open-log', (log) => log.openLog());
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** The host directory the instance was granted; `null` for a stream log. */
  get dir() {
    return this.#dir;
  }

  /**
   * The stream the instance was granted, `{ name, location }` (the stream's
   * name and the NATS URL as given); `null` for a directory log.
   * @returns {{ name: string, location: string } | null}
   */
  get stream() {
    return this.#transport ? this.#transport.target() : null;
  }

  /**
   * The configuration in force, as the component read it at `open`.
   * @returns {Settings}
   */
  get settings() {
    return { ...this.#settings };
  }

  /** The log file on the host: `dir` joined with `settings.logName`; `null` for a stream log. */
  get logPath() {
    return this.#dir === null ? null : path.join(this.#dir, this.#settings.logName);
  }

  #live() {
    if (this.#instance) {
      return this.#instance.log;
    }
    if (this.#closed) {
      throw new Error('this pathway log is closed');
    }
    const stderr = (bytes) => this.#keepStderr(bytes);
    let made;
    if (this.#transport) {
      made = createStreamImports({ env: this.#env, stderr });
      made.imports[STREAM_IMPORT] = this.#transport.imports();
    } else {
      made = createImports({ dir: this.#dir, env: this.#env, readOnly: this.#readOnly, stderr });
    }
    const { imports, dispose } = made;
    const { instantiate, modules } = this.#bindings;
    const exports = instantiate((name) => modules.get(name), imports);
    this.#instance = { log: exports[INTERFACE], dispose };
    return this.#instance.log;
  }

  #keepStderr(bytes) {
    if (this.#stderrBytes < STDERR_LIMIT) {
      const copy = Buffer.from(bytes.slice(0, STDERR_LIMIT - this.#stderrBytes));
      this.#stderr.push(copy);
      this.#stderrBytes += copy.length;
    }
  }

  #drop() {
    const instance = this.#instance;
    this.#instance = null;
    instance?.dispose();
  }

  /**
   * Calls `body` on the live instance. The component's error becomes a
   * LogError; anything else thrown is a trap: the instance is dropped and
   * a Trap thrown. The value comes back through `convert` (default: every
   * u64 as a Number).
   */
  #call(func, body, convert = numbers) {
    const log = this.#live();
    if (this.#stderrBytes) {
      this.#stderr = [];
      this.#stderrBytes = 0;
    }
    let value;
    try {
      value = body(log);
    } catch (error) {
      if (isComponentError(error)) {
        throw new LogError(numbers(error.payload), error);
      }
      // A trap (or a host failure under the guest): jco will not enter this
      // instance again. Drop it; the next call instantiates afresh.
      const stderr = Buffer.concat(this.#stderr).toString('utf8');
      this.#drop();
      throw new Trap(func, error, stderr);
    }
    return value === undefined ? value : convert(value);
  }

  /**
   * Appends one event (one JSON value; pretty-printed JSON is stored on one
   * line) in one write. A refused event traps the guest, as the WIT says:
   * here a {@link Trap} whose `stderr` says why; nothing is written and the
   * log stays usable. Prefer `tryAppend`.
   * @param {string} event
   * @returns {void}
   */
  append(event) {
    requireString(event, 'event');
    this.#call('append', (log) => log.append(event));
  }

  /**
   * Appends one event in one write, or throws a {@link LogError} (`code`
   * `invalid-json` or `too-large` for a refused event, `details.index` 0);
   * then nothing was written.
   * @param {string} event
   * @returns {void}
   */
  tryAppend(event) {
    requireString(event, 'event');
    this.#call('try-append', (log) => log.tryAppend(event));
  }

  /**
   * Appends every event, all or nothing: validates them all first; a
   * {@link LogError} names the index of the first bad one in `details`, and
   * nothing was written. Far cheaper per event than `tryAppend`.
   * @param {string[]} events
   * @returns {void}
   */
  appendBatch(events) {
    requireStrings(events, 'events');
    this.#call('append-batch', (log) => log.appendBatch(events));
  }

  /**
   * Appends the lines of `source` as they arrive, in batches of `appendBatch`
   * (each all or nothing): at most `maxEvents` events and `maxBytes` bytes,
   * stored once no line has come for `idleMs` or the first has waited
   * `maxWaitMs` (defaults: {@link BATCHING}). `source` is a Readable byte
   * stream (split at `\n`, as `pathway append -` reads stdin, whatever its
   * mode), or any other iterable or async iterable of lines (strings or
   * Uint8Arrays, one line each). Blank lines are counted and skipped.
   *
   * A refused line refuses its own batch and stops the import: the promise
   * rejects with a {@link LinesError} naming the line, how many events are
   * stored (the batches before it) and the line to resume from.
   * @param {Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>} source
   * @param {{ maxEvents?: number, maxBytes?: number, idleMs?: number, maxWaitMs?: number }} [options]
   * @returns {Promise<{ lines: number, stored: number }>} lines read (blank ones too), events stored
   */
  appendLines(source, options) {
    return appendLinesTo(this, source, options);
  }

  /**
   * Every entry of the log in file order (`replay-entries`). A damaged line
   * is an `err` entry; a missing log is `[]`; a log that cannot be read at
   * all throws a {@link LogError}.
   * @returns {Entry[]}
   */
  replay() {
    return this.#call('replay-entries', (log) => log.replayEntries(), (entries) => entries.map(entry));
  }

  /**
   * Forces what was appended to stable storage (fdatasync), or throws a
   * {@link LogError}.
   * @returns {void}
   */
  sync() {
    this.#call('sync', (log) => log.sync());
  }

  /**
   * Entries from `cursor` (`null`: the beginning) until about `maxBytes` of
   * the log were read (at least one line when there is one). Throws a
   * {@link LogError}: `invalid-cursor`, `stale-cursor`, or why the log
   * cannot be read.
   * @param {string | null} [cursor]
   * @param {number} [maxBytes] default 1 MiB
   * @returns {Page}
   */
  replayPage(cursor = null, maxBytes = 1 << 20) {
    if (cursor !== null && cursor !== undefined) {
      requireString(cursor, 'cursor');
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > 0xffffffff) {
      throw new RangeError('maxBytes must be an integer from 0 to 4294967295');
    }
    const page = this.#call('replay-page', (log) => log.replayPage(cursor ?? undefined, maxBytes), (p) => p);
    return {
      entries: page.entries.map(entry),
      tail: page.tail ? entry(page.tail) : null,
      next: page.next,
      atEnd: page.atEnd,
    };
  }

  /**
   * Every entry from `cursor` on, a page at a time; the unterminated last
   * line (if any) comes last. The generator's return value is the cursor
   * after the last complete line.
   * @param {{ cursor?: string | null, maxBytes?: number }} [options]
   * @returns {Generator<Entry, string>}
   */
  *entries({ cursor = null, maxBytes = 1 << 20 } = {}) {
    for (;;) {
      const page = this.replayPage(cursor, maxBytes);
      yield* page.entries;
      cursor = page.next;
      if (page.atEnd) {
        if (page.tail) {
          yield page.tail;
        }
        return cursor;
      }
    }
  }

  /**
   * A cursor at the end of the log as it is now (after every complete
   * line): what to pass to `compact` after folding the whole log.
   * @returns {string}
   */
  endCursor() {
    let cursor = null;
    for (;;) {
      const page = this.replayPage(cursor, END_CURSOR_PAGE);
      if (page.atEnd) {
        return page.next;
      }
      cursor = page.next;
    }
  }

  /**
   * Replaces everything up to `upto` (a cursor from `replayPage` or
   * `endCursor`) by the snapshot's events, crash-safely, keeping every byte
   * after `upto`, and writes `<log>.sha256` for the new log. Throws a
   * {@link LogError} (`integrity` when bytes the last rewrite wrote changed
   * since); the log is then as it was.
   * @param {string[]} snapshot
   * @param {string} upto
   * @returns {CompactReport}
   */
  compact(snapshot, upto) {
    requireStrings(snapshot, 'snapshot');
    requireString(upto, 'upto');
    return this.#call('compact', (log) => log.compact(snapshot, upto));
  }

  /**
   * Reports on the log without changing it, the bytes the last compaction
   * or repair wrote checked against `<log>.sha256` (`checksum`), and the
   * records nested deeper than `PATHWAY_MAX_DEPTH` (`tooDeep`). Throws a
   * {@link LogError} only when the log cannot be read at all.
   * @returns {CheckReport}
   */
  check() {
    return this.#call('check', (log) => log.check(), (lifted) => {
      const report = numbers(lifted);
      report.checksum = checksum(lifted.checksum);
      return report;
    });
  }

  /**
   * Moves the damaged lines to `<log>.quarantine` and rewrites the log
   * without them (writing `<log>.sha256` as `compact` does); a clean log is
   * left untouched. Throws a {@link LogError}, as `compact`; the log is then
   * as it was.
   * @returns {RepairReport}
   */
  repair() {
    return this.#call('repair', (log) => log.repair());
  }

  /**
   * Releases the instance and its open files (for a stream log: the NATS
   * connection and its worker thread). Further calls throw.
   */
  close() {
    this.#drop();
    this.#closed = true;
    this.#transport?.close();
  }
}

/** PATHWAY_MAX_LINE and PATHWAY_MAX_DEPTH from the options, as given. */
function limitsEnv(maxLine, maxDepth) {
  const env = {};
  if (maxLine !== undefined) {
    env.PATHWAY_MAX_LINE = String(maxLine);
  }
  if (maxDepth !== undefined) {
    env.PATHWAY_MAX_DEPTH = String(maxDepth);
  }
  return env;
}

/**
 * Opens a log: the one kept in the directory `dir`, or, given an object
 * with `nats` and `stream`, the one kept in that NATS JetStream stream
 * (see {@link StreamOptions}).
 *
 * A directory log: the file is created by the first append. The instance
 * sees `dir` as its only directory and only the PATHWAY_* variables set
 * from the options; the component reads and checks them (`open-log`), so a
 * bad option rejects here.
 *
 * @param {string | StreamOptions} dir the host directory to grant, or the stream
 * @param {object} [options] (a directory log only)
 * @param {string} [options.logName] PATHWAY_LOG: file name in `dir`
 *   (unset: the component's default, see `settings.logName`)
 * @param {number | string} [options.maxLine] PATHWAY_MAX_LINE: longest stored line in bytes
 * @param {number | string} [options.maxDepth] PATHWAY_MAX_DEPTH: how deep an
 *   appended event may nest arrays and objects (1 to 10000; default 127)
 * @param {string} [options.sync] PATHWAY_SYNC, passed as is: `never`, `always`
 *   or `interval:<ms>` (the component validates it)
 * @param {boolean} [options.readOnly] grant the directory read-only: replay
 *   and check work, appends fail with `access-denied`
 * @param {string} [options.bindings] directory of the transpiled component
 *   (default: `gen` next to this file)
 * @returns {Promise<Memory>} rejects with the fs error (`code` ENOENT,
 *   ENOTDIR, EACCES) when `dir` is not an existing directory, and with a
 *   {@link LogError} (`invalid-config`) when the component cannot use the options
 */
export async function open(dir, options) {
  if (dir !== null && typeof dir === 'object') {
    if (options !== undefined) {
      throw new TypeError('open({ nats, stream, ... }) takes its options in the one object');
    }
    return openStream(dir);
  }
  const { logName, maxLine, maxDepth, sync, readOnly = false, bindings } = options ?? {};
  requireString(dir, 'dir');
  const env = limitsEnv(maxLine, maxDepth);
  if (logName !== undefined) {
    env.PATHWAY_LOG = String(logName);
  }
  if (sync !== undefined) {
    env.PATHWAY_SYNC = String(sync);
  }
  const granted = path.resolve(dir);
  // As a wasmtime preopen, the directory must exist when it is granted: a
  // host error (the fs error: ENOENT, ENOTDIR, EACCES), not the component's.
  const found = await stat(granted);
  if (!found.isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, open '${granted}'`), {
      code: 'ENOTDIR',
      path: granted,
    });
  }
  const loadedBindings = await loadBindings(path.resolve(bindings ?? path.join(here, 'gen')));
  return new Memory(loadedBindings, { dir: granted, readOnly: Boolean(readOnly) }, env);
}

/**
 * Where a stream log is kept, and its options: `open({ nats, stream, ... })`.
 * @typedef {object} StreamOptions
 * @property {string} nats the NATS server URL, or several comma-separated
 *   (`nats://user:pass@host:port` carries a user and password)
 * @property {string} stream the JetStream stream's name (its subjects are
 *   `pathway.<stream>.events|snapshot|commit|quarantine`)
 * @property {number} [replicas] create the stream with this many replicas
 *   when it is missing (unset: a missing stream fails `open` with
 *   `no-directory`)
 * @property {number} [timeoutMs] how long one call keeps retrying while the
 *   server is away (a restart, a leader election) before it fails with
 *   `io`; default 30000
 * @property {number | string} [maxLine] PATHWAY_MAX_LINE, as for a directory log
 * @property {number | string} [maxDepth] PATHWAY_MAX_DEPTH, as for a directory log
 * @property {string} [bindings] directory of the transpiled stream build
 *   (default: `gen/stream` next to this file)
 */

/** Options of a directory log that a stream log has no use for. */
const DIRECTORY_ONLY = ['logName', 'sync', 'readOnly'];

/** @param {StreamOptions} target */
async function openStream(target) {
  const { nats, stream, replicas, timeoutMs, maxLine, maxDepth, bindings, ...rest } = target;
  for (const name of Object.keys(rest)) {
    if (DIRECTORY_ONLY.includes(name)) {
      throw new TypeError(`${name} applies to a directory log, not to a stream`);
    }
    throw new TypeError(`unknown option ${name}`);
  }
  requireString(nats, 'nats');
  requireString(stream, 'stream');
  if (nats.trim() === '') {
    throw new TypeError('nats must name at least one server URL');
  }
  if (replicas !== undefined && replicas !== null && (!Number.isInteger(replicas) || replicas < 1)) {
    throw new RangeError('replicas must be a positive integer');
  }
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) {
    throw new RangeError('timeoutMs must be a positive integer (milliseconds)');
  }
  const loadedBindings = await loadBindings(path.resolve(bindings ?? path.join(here, 'gen', 'stream')));
  // Loaded only for a stream: a directory log never starts the NATS client.
  const { DEFAULT_BUDGET_MS, NatsTransport } = await import('./nats.js');
  const transport = await NatsTransport.start({
    url: nats,
    stream,
    replicas: replicas ?? null,
    budgetMs: timeoutMs ?? DEFAULT_BUDGET_MS,
  });
  // open-log connects (and makes the stream, if asked): a missing server or
  // stream rejects here, with the component's error.
  return new Memory(loadedBindings, { transport }, limitsEnv(maxLine, maxDepth));
}
