// `Memory.appendLines`: lines appended as they arrive, in batches. The rule
// and its words are those of the Rust host (host-test/src/lines.rs) and
// the Python host (pathway_memory/lines.py), so an import reads the same in
// every host; the cross-host differential test compares them.
//
// - A byte stream is split at `\n` (a line may end in `\r`: the component
//   takes it for whitespace); an iterable gives one line per item. A blank
//   line (nothing but whitespace) is counted and skipped; every other line
//   is one event.
// - Events are appended in batches, each one `appendBatch`, so each batch
//   is stored all or nothing: at most `maxEvents` events and `maxBytes`
//   bytes (UTF-8; a larger event is a batch of its own), stored once no
//   line has come for `idleMs` or its first line has waited `maxWaitMs`.
//   Lines that are already there never wait for a timer.
// - A refused line (not one JSON value, too large, not UTF-8) refuses its
//   own batch and stops the import: the batches before it stay stored. The
//   LinesError names the line (1-based), how many events are stored and the
//   line to resume from: every line before it is stored or blank.

import { Buffer, isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { LogError, Trap } from './pathway.js';

/** The bounds of a batch, as in the Rust and Python hosts. */
export const BATCHING = Object.freeze({
  /** Most events in one batch. */
  maxEvents: 1000,
  /** Most bytes (UTF-8) of events in one batch. */
  maxBytes: 1 << 20,
  /** Store a batch once no line has come for this long. */
  idleMs: 10,
  /** Store a batch once its first line has waited this long. */
  maxWaitMs: 50,
});

/** Rust's `char::is_whitespace`, which the CLI's blank lines are judged by. */
const BLANK = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

const TIMED_OUT = Symbol('timed out');

/**
 * `appendLines` stopped: a line was refused (`line` is set), or the log or
 * the source failed. Decide on `code`, never on `message`.
 */
export class LinesError extends Error {
  /**
   * @param {string} message
   * @param {{ code: string, line: number | null, resumeLine: number, stored: number,
   *   byte?: number | null, cause?: unknown }} fields
   */
  constructor(message, { code, line, resumeLine, stored, byte = null, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LinesError';
    /**
     * The LogError's `code` (`invalid-json`, `too-large`, ...) when the
     * component failed a batch; `invalid-utf8`; `trap`; or `source` when
     * the source failed (`cause` is its error).
     */
    this.code = code;
    /** The refused line (1-based), or null when something else stopped the import. */
    this.line = line;
    /** Resume from this line: every line before it is stored or blank. */
    this.resumeLine = resumeLine;
    /** Events this import stored, all before `resumeLine`. */
    this.stored = stored;
    /** For `invalid-utf8`: the offset of the line's first bad byte. */
    this.byte = byte;
  }
}

/** A line that is not UTF-8: the offset of its first bad byte. */
class BadLine {
  constructor(byte) {
    this.byte = byte;
  }
}

/**
 * Where the first bad UTF-8 sequence of `bytes` starts (as Rust's
 * `Utf8Error::valid_up_to` and Python's `UnicodeDecodeError.start`).
 */
function validUpTo(bytes) {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let size;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) {
      i += 1;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      size = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      size = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      size = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else {
      return i;
    }
    for (let k = 1; k < size; k += 1) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) {
        return i;
      }
    }
    i += size;
  }
  return bytes.length;
}

/** The lines of `bytes` (each ended by `\n`, but the last when `final`), up to one that is not UTF-8. */
function decode(bytes) {
  if (isUtf8(bytes)) {
    const lines = bytes.toString('utf8').split('\n');
    if (bytes[bytes.length - 1] === 0x0a) {
      lines.pop();
    }
    return lines;
  }
  const bad = validUpTo(bytes);
  const start = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
  const lines = start > 0 ? decode(bytes.subarray(0, start)) : [];
  lines.push(new BadLine(bad - start));
  return lines;
}

/** One item of an iterable as a line: a string, or bytes decoded. */
function lineOf(item) {
  if (typeof item === 'string') {
    return item.endsWith('\n') ? item.slice(0, -1) : item;
  }
  if (item instanceof Uint8Array) {
    const end = item[item.length - 1] === 0x0a ? item.length - 1 : item.length;
    const bytes = Buffer.from(item.buffer, item.byteOffset, end);
    return isUtf8(bytes) ? bytes.toString('utf8') : new BadLine(validUpTo(bytes));
  }
  throw new TypeError(`each line must be a string or a Uint8Array, not ${item === null ? 'null' : typeof item}`);
}

/** Splits a byte stream's chunks into lines; a line may span chunks. */
class Splitter {
  #pieces = [];

  push(chunk) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`a byte stream gave a ${typeof chunk}; read it in object mode to give lines`);
    }
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) {
      this.#pieces.push(bytes);
      return [];
    }
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, end + 1);
    const complete = this.#pieces.length ? Buffer.concat([...this.#pieces, head]) : head;
    this.#pieces = end + 1 < bytes.length ? [bytes.subarray(end + 1)] : [];
    return decode(complete);
  }

  end() {
    const rest = Buffer.concat(this.#pieces);
    this.#pieces = [];
    return rest.length ? decode(rest) : [];
  }
}

function plural(stored, resume) {
  if (stored === 0) {
    return 'none of its events is stored';
  }
  const events = stored === 1 ? 'the 1 event before line' : `the ${stored} events before line`;
  return `${events} ${resume} ${stored === 1 ? 'is' : 'are'} stored, nothing from line ${resume} on is`;
}

/** The batch being filled, and what was read and stored so far. */
class Batcher {
  #memory;
  #bounds;
  #events = [];
  #linesOf = [];
  #bytes = 0;
  #first = 0;
  #last = 0;
  lines = 0;
  stored = 0;
  resumeLine = 1;

  constructor(memory, bounds) {
    this.#memory = memory;
    this.#bounds = bounds;
  }

  get pending() {
    return this.#events.length;
  }

  /** When the batch is to be stored if no line comes first (performance.now() time). */
  get deadline() {
    return Math.min(this.#last + this.#bounds.idleMs, this.#first + this.#bounds.maxWaitMs);
  }

  /** Takes one line (a string or a BadLine) that arrived at `now`. */
  take(line, now) {
    this.lines += 1;
    if (line instanceof BadLine) {
      const at = this.lines;
      const resume = this.resumeLine;
      throw new LinesError(
        `line ${at} is not valid UTF-8 (first bad byte at byte ${line.byte} of the line); the import stopped: ` +
          `${plural(this.stored, resume)}; fix line ${at} and resume from line ${resume}`,
        { code: 'invalid-utf8', line: at, resumeLine: resume, stored: this.stored, byte: line.byte },
      );
    }
    if (BLANK.test(line)) {
      return;
    }
    const size = Buffer.byteLength(line, 'utf8');
    if (this.#events.length && this.#bytes + size > this.#bounds.maxBytes) {
      this.flush();
    }
    if (!this.#events.length) {
      this.#first = now;
    }
    this.#last = now;
    this.#events.push(line);
    this.#linesOf.push(this.lines);
    this.#bytes += size;
    if (this.#events.length >= this.#bounds.maxEvents) {
      this.flush();
    }
  }

  /** Appends the batch; a refusal names its line. */
  flush() {
    const count = this.#events.length;
    if (!count) {
      return;
    }
    try {
      this.#memory.appendBatch(this.#events);
    } catch (error) {
      throw this.#failed(error);
    }
    this.stored += count;
    this.resumeLine = this.#linesOf[count - 1] + 1;
    this.#events = [];
    this.#linesOf = [];
    this.#bytes = 0;
  }

  #failed(error) {
    const resume = this.resumeLine;
    const stored = this.stored;
    const refused = error instanceof LogError && (error.code === 'invalid-json' || error.code === 'too-large');
    const line = refused ? (this.#linesOf[error.details.index] ?? null) : null;
    const code = error instanceof LogError ? error.code : error instanceof Trap ? 'trap' : 'host';
    if (line !== null) {
      return new LinesError(
        `line ${line} was refused: ${error.message}; the import stopped: ${plural(stored, resume)}; ` +
          `fix line ${line} and resume from line ${resume}`,
        { code, line, resumeLine: resume, stored, cause: error },
      );
    }
    const before = stored === 0
      ? 'no event before it is stored'
      : stored === 1 ? 'the 1 event before it is stored' : `the ${stored} events before it are stored`;
    return new LinesError(
      `${error?.message ?? error}; the import stopped at the batch from line ${resume}: ${before}; ` +
        `resume from line ${resume}`,
      { code, line: null, resumeLine: resume, stored, cause: error },
    );
  }

  /** The source failed (or gave something that is not a line). */
  sourceFailed(error) {
    const resume = this.resumeLine;
    return new LinesError(
      `reading line ${this.lines + 1} failed: ${error?.message ?? error}; the import stopped: ` +
        `${plural(this.stored, resume)}; resume from line ${resume}`,
      { code: 'source', line: null, resumeLine: resume, stored: this.stored, cause: error },
    );
  }
}

function bounds(options) {
  const out = { ...BATCHING };
  for (const [name, min] of [['maxEvents', 1], ['maxBytes', 1], ['idleMs', 0], ['maxWaitMs', 0]]) {
    const value = options[name];
    if (value === undefined) {
      continue;
    }
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`${name} must be an integer of at least ${min}`);
    }
    out[name] = value;
  }
  return out;
}

/** `promise`'s value, or TIMED_OUT if it is not settled in `ms`. */
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), TIMED_OUT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A sync iterable: every line is there already, so no timer. */
function takeAll(batcher, iterable) {
  const iterator = iterable[Symbol.iterator]();
  let done = false;
  try {
    for (;;) {
      let step;
      let line;
      try {
        step = iterator.next();
        if (step.done) {
          done = true;
          break;
        }
        line = lineOf(step.value);
      } catch (error) {
        throw batcher.sourceFailed(error);
      }
      batcher.take(line, 0);
    }
  } finally {
    if (!done) {
      iterator.return?.();
    }
  }
  batcher.flush();
}

/**
 * An async source: `toLines` turns each value into lines (`end` gives the
 * last ones). While lines are pending, waiting for the next value is raced
 * against the batch's deadline.
 */
async function takeAsync(batcher, iterator, toLines, end) {
  let next = null;
  let done = false;
  try {
    for (;;) {
      next ??= iterator.next();
      let step;
      try {
        step = batcher.pending ? await within(next, batcher.deadline - performance.now()) : await next;
      } catch (error) {
        next = null;
        throw batcher.sourceFailed(error);
      }
      if (step === TIMED_OUT) {
        batcher.flush();
        continue;
      }
      next = null;
      let lines;
      try {
        lines = step.done ? end() : toLines(step.value);
      } catch (error) {
        throw batcher.sourceFailed(error);
      }
      const now = performance.now();
      for (const line of lines) {
        batcher.take(line, now);
      }
      if (step.done) {
        done = true;
        break;
      }
    }
  } finally {
    if (!done) {
      // Stopped early: release the source (a stream is destroyed) without
      // waiting for a read that may never come.
      next?.catch(() => {});
      Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }
  batcher.flush();
}

/**
 * Appends the lines of `source` to `memory` as they arrive (see the rule
 * above); resolves to `{ lines, stored }`, or rejects with a LinesError.
 * @param {import('./pathway.js').Memory} memory
 * @param {Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array> | Readable} source
 * @param {{ maxEvents?: number, maxBytes?: number, idleMs?: number, maxWaitMs?: number }} [options]
 * @returns {Promise<{ lines: number, stored: number }>}
 */
export async function appendLines(memory, source, options = {}) {
  const batcher = new Batcher(memory, bounds(options ?? {}));
  if (source instanceof Readable) {
    const splitter = new Splitter();
    await takeAsync(batcher, source[Symbol.asyncIterator](), (chunk) => splitter.push(chunk), () => splitter.end());
  } else if (source && typeof source[Symbol.asyncIterator] === 'function') {
    await takeAsync(batcher, source[Symbol.asyncIterator](), (item) => [lineOf(item)], () => []);
  } else if (source && typeof source !== 'string' && !ArrayBuffer.isView(source)
    && typeof source[Symbol.iterator] === 'function') {
    takeAll(batcher, source);
  } else {
    throw new TypeError(
      'source must be an iterable or async iterable of lines (strings or Uint8Arrays) or a Readable stream; '
        + 'for a whole text or buffer, pass Readable.from([it])',
    );
  }
  return { lines: batcher.lines, stored: batcher.stored };
}
