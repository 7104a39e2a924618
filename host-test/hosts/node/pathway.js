// pathway-memory on Node.js: the component (`pathway:memory/log@0.3.0`)
// transpiled by jco, run on preview2-shim with `wasi.js`'s corrections.
//
//     import { open, LogError } from './pathway.js';
//     const log = await open('/var/lib/agent/memory', { sync: 'always' });
//     log.tryAppend('{"op":"remember"}');
//     for (const entry of log.replay()) { ... }
//
//     // Another log of the same directory (the file thread-42.jsonl):
//     log.log('thread-42').appendBatch(['{"turn":1}']);
//     log.logs();          // [{ name: 'pathway', bytes }, { name: 'thread-42', bytes }]
//     log.last(10);        // { entries, next }: the newest entries, read backwards
//     log.forkLog('thread-42', 'thread-42-retry');  // a copy, bytes copied
//     log.deleteLog('thread-42');                    // gone, bytes it had
//     const thread = await open('/var/lib/agent/memory', { log: 'thread-7' });  // thread-7.jsonl
//     const capped = await open('/var/lib/agent/memory', { quota: 1 << 20 });   // all logs: at most 1 MiB
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

/** How many named logs a Memory keeps open at once; then all are dropped. */
export const OPEN_HANDLES = 256;

/** How many logs `logs()` asks for per page. */
const LOGS_PAGE = 1000;

const symbolDispose = Symbol.dispose || Symbol.for('dispose');

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
 * What `last` returns (WIT `recent`).
 * @typedef {object} Recent
 * @property {Entry[]} entries up to `count` entries, oldest first: the end of
 *   what `replay()` returns, an unterminated last line included. Read
 *   backwards, so a damaged line's `line` is 0 (its `offset` is exact).
 * @property {string} next cursor at the end (before an unterminated last
 *   line): pass it to `replayPage` to read only later appends. `compact`
 *   refuses it (`stale-cursor`): compact up to a cursor of `replayPage`.
 */

/**
 * One log of the grant (WIT `log-info`): the file `<name>.jsonl`.
 * @typedef {object} LogInfo
 * @property {string} name
 * @property {number} bytes size of its file
 */

/**
 * A page of `logsPage` (WIT `log-list`).
 * @typedef {object} LogList
 * @property {LogInfo[]} logs in name order (by the bytes of their UTF-8)
 * @property {string | null} next more logs follow: pass it as `after`
 */

/**
 * The configuration in force, as the component read it (`open-log`).
 * @typedef {object} Settings
 * @property {string} logName file name of the log in the directory
 * @property {number} maxLine largest stored line in bytes
 * @property {number} maxDepth how deep an appended event may nest arrays and objects
 * @property {string} sync `never`, `always` or `interval:<ms>`
 * @property {number | null} quota the most bytes all files of the grant (all
 *   messages of the stream) may hold together (`PATHWAY_QUOTA`); `null`: no limit
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
 * What a call refused for the quota would have needed (WIT `quota-exceeded`):
 * the `details` of a `quota-exceeded` LogError.
 * @typedef {object} QuotaExceeded
 * @property {number} used bytes the grant (the stream) holds now
 * @property {number} limit the quota in force (`PATHWAY_QUOTA`)
 * @property {number} needed bytes the refused call would have added
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
     * `invalid-cursor`, `invalid-name`, `no-log`, `log-exists`,
     * `quota-exceeded`, `deleted`, `stale-cursor`, `busy`, `io` or `integrity`.
     * @type {string}
     */
    this.code = error.cause.tag;
    /**
     * `{ index, offset, reason }` for `invalid-json`, `{ index, size, limit }`
     * for `too-large`, `{ used, limit, needed }` ({@link QuotaExceeded}) for
     * `quota-exceeded`, `{ bytes, expected, actual }` ({@link Integrity}) for
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

/** A lifted WIT `page` with typed entries and a missing tail as `null`. */
function page(lifted) {
  return {
    entries: lifted.entries.map(entry),
    tail: lifted.tail ? entry(lifted.tail) : null,
    next: lifted.next,
    atEnd: lifted.atEnd,
  };
}

/** A lifted WIT `recent` with typed entries ({@link Recent}). */
function recent(lifted) {
  return { entries: lifted.entries.map(entry), next: lifted.next };
}

/** A lifted WIT `check-report` ({@link CheckReport}). */
function checkReport(lifted) {
  const report = numbers(lifted);
  report.checksum = checksum(lifted.checksum);
  return report;
}

/** A lifted WIT `settings` ({@link Settings}): u64 as Numbers, no quota as `null`. */
function settings(lifted) {
  const converted = numbers(lifted);
  converted.quota = converted.quota ?? null;
  return converted;
}

/** A lifted WIT `log-list` ({@link LogList}): bytes as Numbers, no `next` as `null`. */
function logList(lifted) {
  return {
    logs: lifted.logs.map((info) => ({ name: info.name, bytes: numbers(info.bytes) })),
    next: lifted.next ?? null,
  };
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

function requireU32(value, what) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} must be an integer from 0 to 4294967295`);
  }
}

/** The cursor of `replayPage` as the bindings take it (`undefined`: none), checked. */
function pageArgs(cursor, maxBytes) {
  if (cursor !== null && cursor !== undefined) {
    requireString(cursor, 'cursor');
  }
  requireU32(maxBytes, 'maxBytes');
  return cursor ?? undefined;
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

/** `memory.#callNamed`, for NamedLog (set in Memory's static block). */
let callNamed;

/**
 * One log: an instance of the component that sees `dir` (as its only
 * preopened directory), or one NATS JetStream stream, and nothing else.
 * Made by {@link open}. Every method is synchronous and calls the WIT
 * function of the same name. `log(name)` opens another log of the same
 * grant, in the same instance.
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
   * The open `named-log` handles of the live instance, by name: at most
   * OPEN_HANDLES, forgotten with the instance.
   * @type {Map<string, object>}
   */
  #handles = new Map();

  static {
    callNamed = (memory, name, func, body, convert) => memory.#callNamed(name, func, body, convert);
  }

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
      this.#settings = this.#call('open-log', (log) => log.openLog(), settings);
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

  /**
   * Drops the instance (after a trap, or by `close`) and its named-log
   * handles with it: none is passed to the next instance, which opens its
   * own. Each handle is disposed here, errors ignored (after a trap the
   * instance may refuse): left to jco's finalizer, the same destructor
   * would run at some garbage collection, where a failure is an uncaught
   * exception.
   */
  #drop() {
    const instance = this.#instance;
    const handles = [...this.#handles.values()];
    this.#instance = null;
    this.#handles.clear();
    for (const handle of handles) {
      try {
        handle[symbolDispose]();
      } catch {
        // the instance is gone; so is the handle
      }
    }
    instance?.dispose();
  }

  /**
   * The open handle of the named log `name`, opening it (which checks the
   * name: `invalid-name`, nothing created) when it is not open; over
   * OPEN_HANDLES, every open handle is dropped first.
   */
  #namedHandle(name) {
    const open = this.#handles.get(name);
    if (open) {
      return open;
    }
    if (this.#handles.size >= OPEN_HANDLES) {
      this.#call('[resource-drop]named-log', () => {
        // One at a time: after a trap, #drop disposes those left.
        for (const [key, handle] of this.#handles) {
          this.#handles.delete(key);
          handle[symbolDispose]();
        }
      });
    }
    const handle = this.#call('[static]named-log.open', (log) => log.NamedLog.open(name), (h) => h);
    this.#handles.set(name, handle);
    return handle;
  }

  /**
   * Drops the open handle of `name`, if any: after a delete, the next use
   * of the name opens it afresh.
   */
  #forgetHandle(name) {
    const handle = this.#handles.get(name);
    if (handle) {
      this.#handles.delete(name);
      this.#call('[resource-drop]named-log', () => handle[symbolDispose]());
    }
  }

  /** `#call` on the named log `name`: `body(handle)`. */
  #callNamed(name, func, body, convert = numbers) {
    const handle = this.#namedHandle(name);
    return this.#call(func, () => body(handle), convert);
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
   * `invalid-json` or `too-large` for a refused event, `details.index` 0;
   * `quota-exceeded` when its line would take the grant past the `quota`,
   * `details` `{ used, limit, needed }`); then nothing was written.
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
   * nothing was written (`quota-exceeded` when the batch's lines together
   * would pass the `quota`). Far cheaper per event than `tryAppend`.
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
    const from = pageArgs(cursor, maxBytes);
    return this.#call('replay-page', (log) => log.replayPage(from, maxBytes), page);
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
   * The last `count` entries of the log, oldest first (the end of what
   * `replay()` returns, an unterminated last line included), read
   * backwards from the end: the cost grows with what is returned, not with
   * the log's size. A damaged line's `line` is 0 (no lines are counted),
   * its `offset` exact. `next` is the end cursor (see {@link Recent}).
   * Throws a {@link LogError} when the log cannot be read.
   * @param {number} count
   * @returns {Recent}
   */
  last(count) {
    requireU32(count, 'count');
    return this.#call('last', (log) => log.last(count), recent);
  }

  /**
   * A cursor at the end of the log as it is now (before an unterminated
   * last line), without reading the log (`last(0).next`): pass it to
   * `replayPage` to read only what is appended later. `compact` refuses it
   * (`stale-cursor`): compact up to a cursor of `replayPage` or `entries`.
   * @returns {string}
   */
  endCursor() {
    return this.last(0).next;
  }

  /**
   * A page of the grant's logs in name order: at most `max` (at least 1)
   * whose names come after `after` (`null`: from the first). A log named
   * `N` is the file `N.jsonl` (the default log too: `pathway.jsonl` is
   * `pathway`); side files are never listed. Throws a {@link LogError}
   * when the directory cannot be read.
   * @param {string | null} [after]
   * @param {number} [max] default 1000
   * @returns {LogList}
   */
  logsPage(after = null, max = LOGS_PAGE) {
    if (after !== null && after !== undefined) {
      requireString(after, 'after');
    }
    requireU32(max, 'max');
    return this.#call('logs', (log) => log.logs(after ?? undefined, max), logList);
  }

  /**
   * Every log of the grant, in name order (`logsPage`, 1000 at a time).
   * @returns {LogInfo[]}
   */
  logs() {
    const all = [];
    let after = null;
    for (;;) {
      const listed = this.logsPage(after, LOGS_PAGE);
      all.push(...listed.logs);
      if (listed.next === null) {
        return all;
      }
      after = listed.next;
    }
  }

  /**
   * The log named `name` in the same grant: the file `<name>.jsonl`,
   * created by its first append; one that does not exist yet reads as
   * empty. The name is checked here: a bad one (empty, over 200 bytes, a
   * path separator, a control character, a leading `.`, or `.jsonl` inside
   * it) throws a {@link LogError} `invalid-name`, and nothing is created.
   * On a stream log it throws `io` (named logs are directory-only so far).
   *
   * Handles are kept per name (at most 256 open, then all dropped and
   * opened again as needed) and opened afresh after a trap.
   * @param {string} name
   * @returns {NamedLog}
   */
  log(name) {
    requireString(name, 'name');
    this.#namedHandle(name);
    return new NamedLog(NAMED, this, name);
  }

  /**
   * Deletes the log `name` (the file `<name>.jsonl`; the default log too,
   * by its name, `pathway` unless opened otherwise) and its side files
   * (`.quarantine`, `.sha256`, `.moved`), crash-safely: after a crash at any moment
   * the log is whole or gone. Returns the bytes the log had, which no
   * longer count against the `quota`. The handle this Memory keeps for
   * `name` is dropped first, so `log(name)` then starts a new log of that
   * name (the Memory's own log likewise: its next append starts it anew). An append to the deleted log through
   * another Memory (here or in another process) that had it open fails
   * with `deleted`, stores nothing and does not create the log again; its
   * next append does.
   *
   * Throws a {@link LogError}: `invalid-name`, `no-log` (no such log),
   * `busy` (a compaction or repair runs) or a failed file operation; the
   * log is then as it was.
   * @param {string} name
   * @returns {number}
   */
  deleteLog(name) {
    requireString(name, 'name');
    this.#forgetHandle(name);
    return this.#call('delete-log', (log) => log.deleteLog(name));
  }

  /**
   * Makes the new log `target` a copy of the log `source` up to `at` (a
   * cursor of `source` from `replayPage` or `entries`; `null`: its end,
   * before an unterminated last line). Returns the bytes copied. The copy
   * is written aside, synced and linked to its name: the new log appears
   * whole or not at all, and never replaces one. Appends to either log
   * never show in the other.
   *
   * Throws a {@link LogError}: `invalid-name`, `no-log` (no source),
   * `log-exists` (the target exists), `invalid-cursor`, `stale-cursor` (a
   * cursor of another log, or of bytes that changed since),
   * `quota-exceeded` (the copy would take the grant past the `quota`;
   * `details.needed` is its size), or a failed file operation; nothing is
   * created then.
   * @param {string} source
   * @param {string} target
   * @param {string | null} [at]
   * @returns {number}
   */
  forkLog(source, target, at = null) {
    requireString(source, 'source');
    requireString(target, 'target');
    if (at !== null && at !== undefined) {
      requireString(at, 'at');
    }
    return this.#call('fork-log', (log) => log.forkLog(source, target, at ?? undefined));
  }

  /**
   * Replaces everything up to `upto` (a cursor from `replayPage` or
   * `entries`) by the snapshot's events, crash-safely, keeping every byte
   * after `upto`, and writes `<log>.sha256` for the new log and
   * `<log>.moved` (where the kept bytes went: a cursor at or after `upto`
   * reads on in the new log, one before it is `stale-cursor`). Throws a
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
    return this.#call('check', (log) => log.check(), checkReport);
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
   * Releases the instance, its named-log handles and its open files (for a
   * stream log: the NATS connection and its worker thread). Further calls
   * throw.
   */
  close() {
    this.#drop();
    this.#closed = true;
    this.#transport?.close();
  }
}

/** Only `Memory.log` makes a NamedLog. */
const NAMED = Symbol('NamedLog');

/**
 * One of many logs in a grant, opened by name (`memory.log(name)`): the
 * file `<name>.jsonl` next to the default log, in the same instance. The
 * same operations as the default log, with the same errors and messages;
 * every method calls the WIT `named-log` method of the same name on the
 * handle the Memory keeps for `name` (opened again when it was dropped).
 * Calls throw once the Memory is closed.
 */
export class NamedLog {
  #memory;
  #name;

  /** @private use `memory.log(name)` */
  constructor(token, memory, name) {
    if (token !== NAMED) {
      throw new TypeError('use memory.log(name) to open a named log');
    }
    this.#memory = memory;
    this.#name = name;
  }

  /** The name it was opened with (its file is `<name>.jsonl`). */
  get name() {
    return this.#name;
  }

  #call(method, body, convert) {
    return callNamed(this.#memory, this.#name, `[method]named-log.${method}`, body, convert);
  }

  /**
   * Appends one event in one write, or throws a {@link LogError}; then
   * nothing was written (as `Memory.tryAppend`).
   * @param {string} event
   * @returns {void}
   */
  tryAppend(event) {
    requireString(event, 'event');
    this.#call('try-append', (log) => log.tryAppend(event));
  }

  /**
   * Appends every event, all or nothing (as `Memory.appendBatch`).
   * @param {string[]} events
   * @returns {void}
   */
  appendBatch(events) {
    requireStrings(events, 'events');
    this.#call('append-batch', (log) => log.appendBatch(events));
  }

  /**
   * Every entry in file order; a log not written yet is `[]` (as `Memory.replay`).
   * @returns {Entry[]}
   */
  replay() {
    return this.#call('replay-entries', (log) => log.replayEntries(), (entries) => entries.map(entry));
  }

  /**
   * A page from `cursor` (as `Memory.replayPage`).
   * @param {string | null} [cursor]
   * @param {number} [maxBytes] default 1 MiB
   * @returns {Page}
   */
  replayPage(cursor = null, maxBytes = 1 << 20) {
    const from = pageArgs(cursor, maxBytes);
    return this.#call('replay-page', (log) => log.replayPage(from, maxBytes), page);
  }

  /**
   * The last `count` entries and the end cursor, read backwards (as `Memory.last`).
   * @param {number} count
   * @returns {Recent}
   */
  last(count) {
    requireU32(count, 'count');
    return this.#call('last', (log) => log.last(count), recent);
  }

  /**
   * A cursor at the end, without reading the log: `last(0).next` (as
   * `Memory.endCursor`; `compact` refuses it).
   * @returns {string}
   */
  endCursor() {
    return this.last(0).next;
  }

  /**
   * Forces what was appended to stable storage (as `Memory.sync`).
   * @returns {void}
   */
  sync() {
    this.#call('sync', (log) => log.sync());
  }

  /**
   * Replaces everything up to `upto` (a cursor of `replayPage`) by the
   * snapshot's events (as `Memory.compact`).
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
   * Reports on the log without changing it (as `Memory.check`).
   * @returns {CheckReport}
   */
  check() {
    return this.#call('check', (log) => log.check(), checkReport);
  }

  /**
   * Moves the damaged lines to `<name>.jsonl.quarantine` and rewrites the
   * log without them (as `Memory.repair`).
   * @returns {RepairReport}
   */
  repair() {
    return this.#call('repair', (log) => log.repair());
  }
}

/**
 * PATHWAY_MAX_LINE, PATHWAY_MAX_DEPTH and PATHWAY_QUOTA from the options,
 * as given (the string of each value; the component checks them). A
 * `quota` of `null` is no quota, as leaving it out.
 */
function limitsEnv(maxLine, maxDepth, quota) {
  const env = {};
  if (maxLine !== undefined) {
    env.PATHWAY_MAX_LINE = String(maxLine);
  }
  if (maxDepth !== undefined) {
    env.PATHWAY_MAX_DEPTH = String(maxDepth);
  }
  if (quota !== undefined && quota !== null) {
    env.PATHWAY_QUOTA = String(quota);
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
 * @param {string} [options.log] PATHWAY_NAME: the log of the grant to open
 *   by name, the file `<log>.jsonl` (as `memory.log(name)`, but as the
 *   Memory's own log: `tryAppend`, `replay` and the rest work on it). A bad
 *   name rejects with a {@link LogError} `invalid-name`; not with `logName`
 *   (`invalid-config`)
 * @param {number | string} [options.maxLine] PATHWAY_MAX_LINE: longest stored line in bytes
 * @param {number | string} [options.maxDepth] PATHWAY_MAX_DEPTH: how deep an
 *   appended event may nest arrays and objects (1 to 10000; default 127)
 * @param {string} [options.sync] PATHWAY_SYNC, passed as is: `never`, `always`
 *   or `interval:<ms>` (the component validates it)
 * @param {number | string | null} [options.quota] PATHWAY_QUOTA: the most
 *   bytes all files of `dir` may hold together (every log, its side files,
 *   anything else there). Appends and forks that would pass it throw a
 *   {@link LogError} `quota-exceeded` and store nothing; reading is never
 *   refused. Usage is looked up right before each write, without a lock:
 *   Memories appending at once may pass it by at most one call each. Passed
 *   as the string of the value: 0 or a non-number rejects with
 *   `invalid-config`. Unset or `null`: no limit
 * @param {boolean} [options.readOnly] grant the directory read-only: replay
 *   and check work, appends fail with `access-denied`
 * @param {string} [options.bindings] directory of the transpiled component
 *   (default: `gen` next to this file)
 * @returns {Promise<Memory>} rejects with the fs error (`code` ENOENT,
 *   ENOTDIR, EACCES) when `dir` is not an existing directory, and with a
 *   {@link LogError} (`invalid-config`, `invalid-name`) when the component
 *   cannot use the options
 */
export async function open(dir, options) {
  if (dir !== null && typeof dir === 'object') {
    if (options !== undefined) {
      throw new TypeError('open({ nats, stream, ... }) takes its options in the one object');
    }
    return openStream(dir);
  }
  const { logName, log, maxLine, maxDepth, sync, quota, readOnly = false, bindings } = options ?? {};
  requireString(dir, 'dir');
  const env = limitsEnv(maxLine, maxDepth, quota);
  if (logName !== undefined) {
    env.PATHWAY_LOG = String(logName);
  }
  if (log !== undefined) {
    requireString(log, 'log');
    env.PATHWAY_NAME = log;
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
 * @property {number | string | null} [quota] PATHWAY_QUOTA: the most bytes all
 *   messages of the stream may hold together (as the server counts them),
 *   as for a directory log
 * @property {string} [log] PATHWAY_NAME: a named log of the stream (the
 *   component refuses it with `io` so far: a stream holds one log)
 * @property {string} [bindings] directory of the transpiled stream build
 *   (default: `gen/stream` next to this file)
 */

/** Options of a directory log that a stream log has no use for. */
const DIRECTORY_ONLY = ['logName', 'sync', 'readOnly'];

/** @param {StreamOptions} target */
async function openStream(target) {
  const { nats, stream, replicas, timeoutMs, maxLine, maxDepth, quota, log, bindings, ...rest } = target;
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
  const env = limitsEnv(maxLine, maxDepth, quota);
  // A named log: the component decides whether the stream can hold one.
  if (log !== undefined && log !== null) {
    requireString(log, 'log');
    env.PATHWAY_NAME = log;
  }
  return new Memory(loadedBindings, { transport }, env);
}
