// Node.js host for the pathway-memory component (`pathway:memory/log@0.1.0`).
//
// The component is transpiled once with jco into `./gen/` (see README.md):
//
//     npx jco transpile pathway_memory.wasm -o gen -I sync --name pathway -q
//
// and every `open` makes an instance of it that sees one host directory and
// its own environment (PATHWAY_LOG, PATHWAY_MAX_LINE, PATHWAY_SYNC).

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createImports } from './wasi.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Most guest stderr kept per call, for the message of a trap. */
const STDERR_LIMIT = 64 * 1024;

/**
 * @typedef {{ tag: 'ok', val: string } | { tag: 'err', val: string }} Entry
 * One replayed line, exactly as jco lifts the WIT `result<string, string>`:
 * `{ tag: 'ok', val: line }` for a stored record (the line's text, a JSON
 * value), `{ tag: 'err', val: 'line N: reason' }` for a damaged line. When
 * the log cannot be read at all, `replay` gives a single `err` whose text
 * does not start with `line`.
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
 * @typedef {object} DamagedLine
 * @property {number} line 1-based line number
 * @property {number} offset byte offset of the line's first byte
 * @property {number} length bytes of the line, without its `\n`
 * @property {boolean} torn the last line, unterminated and invalid
 * @property {string} reason
 */

/**
 * @typedef {object} CheckReport
 * @property {number} bytes size of the log
 * @property {number} records good records
 * @property {DamagedLine[]} damaged
 * @property {boolean} tornTail the last line is a torn write
 * @property {string[]} leftovers `<log>.compact`, `<log>.lock`, `<log>.quarantine` when present
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
 * A function of the log returned its WIT error (`result::err`). Nothing
 * else went wrong: the instance stays usable.
 *
 * `payload` is the WIT error value as jco lifts it, with every u64 as a
 * Number:
 * - `tryAppend`, `appendBatch`: `append-error`:
 *   `{ tag: 'invalid-json', val: { index, offset, reason } }`,
 *   `{ tag: 'too-large', val: { index, size, limit } }`,
 *   `{ tag: 'io', val: message }`, `{ tag: 'invalid-config', val: message }`;
 *   whenever it is thrown, nothing of that call was written.
 * - `replayPage`: `cursor-error`: `{ tag: 'invalid' | 'stale' | 'unreadable', val: message }`.
 * - `compact`, `repair`: `compact-error`: `{ tag: 'invalid-event', val: <append-error> }`,
 *   `{ tag: 'cursor', val: <cursor-error> }`, `{ tag: 'busy' | 'io', val: message }`;
 *   the log is as it was before the call.
 * - `sync`, `check`: a string, the host's message.
 */
export class PathwayError extends Error {
  /**
   * @param {string} func the WIT function, e.g. `try-append`
   * @param {unknown} payload
   * @param {unknown} [cause] jco's ComponentError
   */
  constructor(func, payload, cause) {
    super(`${func}: ${describe(payload)}`, { cause });
    this.name = 'PathwayError';
    /** The WIT function that returned the error. */
    this.func = func;
    /** The WIT error value (see the class doc). */
    this.payload = payload;
  }
}

/**
 * The component trapped (only `append` does so by design, on a refused
 * event) or the host failed under it. That instance is dropped; the log
 * object makes a fresh one on its next call, so it stays usable. Nothing
 * of a refused `append` was written.
 */
export class PathwayTrap extends Error {
  /**
   * @param {string} func the WIT function
   * @param {unknown} cause the WebAssembly.RuntimeError (or host error)
   * @param {string} stderr what the guest wrote on stderr during the call
   */
  constructor(func, cause, stderr) {
    // Keep the guest's own words, without Rust's panic boilerplate.
    const said = stderr
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^thread .* panicked at /.test(line) && !line.startsWith('note: run with'))
      .join(' ');
    const reason = said || String(cause?.message ?? cause);
    super(`${func} trapped: ${reason}`, { cause });
    this.name = 'PathwayTrap';
    this.func = func;
    /** The guest's stderr during the call: `append` names the refusal there. */
    this.stderr = stderr;
  }
}

function describe(payload) {
  if (typeof payload === 'string') {
    return payload;
  }
  if (payload && typeof payload === 'object' && 'tag' in payload) {
    const { tag, val } = payload;
    switch (tag) {
      case 'invalid-json':
        return `invalid-json: event ${val.index} is not exactly one JSON value: ${val.reason} (byte offset ${val.offset})`;
      case 'too-large':
        return `too-large: event ${val.index} would be a line of ${val.size} bytes, over the limit of ${val.limit}`;
      default:
        return `${tag}: ${describe(val)}`;
    }
  }
  return String(payload);
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
    for (const [key, field] of Object.entries(value)) {
      out[key] = numbers(field);
    }
    return out;
  }
  return value;
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
            '`npx jco transpile pathway_memory.wasm -o gen -I sync --name pathway -q` first',
          { cause: error },
        );
      }
      const modules = new Map();
      const names = ['pathway.core.wasm', 'pathway.core2.wasm', 'pathway.core3.wasm'];
      for (const name of names) {
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
 * preopened directory) and nothing else. Every method is synchronous and
 * mirrors the WIT function of the same name.
 */
export class PathwayLog {
  #bindings;
  #dir;
  #env;
  #instance = null;
  #stderr = [];
  #stderrBytes = 0;
  #closed = false;

  /** @private use `open` */
  constructor(bindings, dir, env) {
    this.#bindings = bindings;
    this.#dir = dir;
    this.#env = env;
    this.#live();
  }

  /** The host directory the instance was granted. */
  get dir() {
    return this.#dir;
  }

  /** The guest's environment (PATHWAY_* variables only). */
  get env() {
    return { ...this.#env };
  }

  #live() {
    if (this.#closed) {
      throw new Error('this pathway log is closed');
    }
    if (!this.#instance) {
      const { imports, dispose } = createImports({
        dir: this.#dir,
        env: this.#env,
        stderr: (bytes) => this.#keepStderr(bytes),
      });
      const { instantiate, modules } = this.#bindings;
      const exports = instantiate((name) => modules.get(name), imports);
      this.#instance = { log: exports['pathway:memory/log@0.1.0'], dispose };
    }
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

  #call(func, body) {
    const log = this.#live();
    this.#stderr = [];
    this.#stderrBytes = 0;
    let value;
    try {
      value = body(log);
    } catch (error) {
      if (isComponentError(error)) {
        throw new PathwayError(func, numbers(error.payload), error);
      }
      // A trap (or a host failure under the guest): jco will not enter this
      // instance again. Drop it; the next call instantiates afresh.
      const stderr = Buffer.concat(this.#stderr).toString('utf8');
      this.#drop();
      throw new PathwayTrap(func, error, stderr);
    }
    return numbers(value);
  }

  /**
   * Appends one event (one JSON value; pretty-printed JSON is stored on one
   * line) in one write. A refused event traps the guest, as the WIT says:
   * here that throws a {@link PathwayTrap} whose `stderr` names the reason;
   * nothing is written and the log stays usable. Prefer `tryAppend`.
   * @param {string} event
   * @returns {void}
   */
  append(event) {
    requireString(event, 'event');
    this.#call('append', (log) => log.append(event));
  }

  /**
   * Appends one event, or throws a {@link PathwayError} whose `payload` is the
   * `append-error` (index 0); then nothing was written.
   * @param {string} event
   * @returns {void}
   */
  tryAppend(event) {
    requireString(event, 'event');
    this.#call('try-append', (log) => log.tryAppend(event));
  }

  /**
   * Appends every event, all or nothing: validates them all first; a
   * {@link PathwayError} (`append-error`) names the index of the first bad
   * one and nothing was written.
   * @param {string[]} events
   * @returns {void}
   */
  appendBatch(events) {
    requireStrings(events, 'events');
    this.#call('append-batch', (log) => log.appendBatch(events));
  }

  /**
   * Every entry of the log in file order (see {@link Entry}). Never throws
   * for damage: a damaged line is an `err` entry, a missing log is `[]`.
   * @returns {Entry[]}
   */
  replay() {
    return this.#call('replay', (log) => log.replay());
  }

  /**
   * Forces what was appended to stable storage (fdatasync). Throws a
   * {@link PathwayError} with the host's message as `payload`.
   * @returns {void}
   */
  sync() {
    this.#call('sync', (log) => log.sync());
  }

  /**
   * Entries from `cursor` (`null`: the beginning) until about `maxBytes` of
   * the log were read (at least one line when there is one). Throws a
   * {@link PathwayError} with a `cursor-error` payload (`invalid`, `stale`,
   * `unreadable`).
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
    const page = this.#call('replay-page', (log) => log.replayPage(cursor ?? undefined, maxBytes));
    return {
      entries: page.entries,
      tail: page.tail ?? null,
      next: page.next,
      atEnd: page.atEnd,
    };
  }

  /**
   * Iterates over every entry from `cursor` on, a page at a time; the
   * generator's return value is the cursor after the last complete line.
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
   * Replaces everything up to `upto` (a cursor from `replayPage`) by the
   * snapshot's events, crash-safely. Throws a {@link PathwayError} with a
   * `compact-error` payload; the log is then as it was.
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
   * Reports on the log without changing it. Throws a {@link PathwayError}
   * (the host's message) only when the log cannot be read at all.
   * @returns {CheckReport}
   */
  check() {
    return this.#call('check', (log) => log.check());
  }

  /**
   * Moves the damaged lines to `<log>.quarantine` and rewrites the log
   * without them; a clean log is left untouched. Throws a
   * {@link PathwayError} with a `compact-error` payload.
   * @returns {RepairReport}
   */
  repair() {
    return this.#call('repair', (log) => log.repair());
  }

  /** Releases the instance and its open files. Further calls throw. */
  close() {
    this.#drop();
    this.#closed = true;
  }
}

/**
 * Opens the log kept in `dir` (created on the first append). The instance
 * sees `dir` as its only directory and only the PATHWAY_* variables set
 * from the options (the component's defaults otherwise).
 *
 * @param {string} dir an existing host directory (else the promise rejects
 *   with the fs error, e.g. `code: 'ENOENT'`)
 * @param {object} [options]
 * @param {string} [options.logName] PATHWAY_LOG: file name in `dir` (default `pathway.jsonl`)
 * @param {number | string} [options.maxLine] PATHWAY_MAX_LINE: longest stored line in bytes
 *   (default 1048576, at most 268435456)
 * @param {'never' | 'always' | `interval:${number}`} [options.sync] PATHWAY_SYNC (default `never`)
 * @param {string} [options.bindings] directory of the transpiled component (default `./gen`
 *   next to this file)
 * @returns {Promise<PathwayLog>}
 */
export async function open(dir, { logName, maxLine, sync, bindings } = {}) {
  requireString(dir, 'dir');
  const env = {};
  if (logName !== undefined) {
    env.PATHWAY_LOG = String(logName);
  }
  if (maxLine !== undefined) {
    env.PATHWAY_MAX_LINE = String(maxLine);
  }
  if (sync !== undefined) {
    env.PATHWAY_SYNC = String(sync);
  }
  const granted = path.resolve(dir);
  // Like a wasmtime preopen, the directory must exist when it is granted
  // (rejects with the fs error: ENOENT, ENOTDIR, EACCES).
  const found = await stat(granted);
  if (!found.isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, open '${granted}'`), {
      code: 'ENOTDIR',
      path: granted,
    });
  }
  const loadedBindings = await loadBindings(path.resolve(bindings ?? path.join(here, 'gen')));
  return new PathwayLog(loadedBindings, granted, env);
}
