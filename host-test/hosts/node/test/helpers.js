// Shared by the tests: a fresh temporary directory per test, removed after.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A new empty directory for test `t`, removed when the test ends.
 * @param {import('node:test').TestContext} t
 */
export async function freshDir(t, prefix = 'pathway-node-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The bytes of `name` in `dir`. */
export function bytesOf(dir, name = 'pathway.jsonl') {
  return readFile(path.join(dir, name));
}

/** The text of `name` in `dir`. */
export function textOf(dir, name = 'pathway.jsonl') {
  return readFile(path.join(dir, name), 'utf8');
}

/** The sorted file names in `dir`. */
export async function namesIn(dir) {
  return (await readdir(dir)).sort();
}

/** `{ tag: 'ok', val }` for each of `lines`. */
export function oks(...lines) {
  return lines.map((val) => ({ tag: 'ok', val }));
}

// A damaged log, written directly (not through the component).
export const GOOD_1 = '{"op":"remember","key":"user","value":"Ada"}';
export const GOOD_2 = '[1,2,3]';
export const TORN = '{"op":"remember","key":"mo';
// line 1: a record (45 bytes with \n), line 2: invalid UTF-8 at offset 45,
// line 3: not JSON at offset 49, line 4: a record at offset 58,
// line 5: a torn write (no \n) at offset 66, 26 bytes.
export const CORRUPT = Buffer.concat([
  Buffer.from(`${GOOD_1}\n`),
  Buffer.from([0xff, 0xfe, 0x41, 0x0a]),
  Buffer.from(`not json\n${GOOD_2}\n${TORN}`),
]);

// What the component says for those lines (`message`), and the typed
// damaged lines that carry it.
export const LINE_2 =
  'line 2: at byte offset 45: not valid UTF-8 (first bad byte at byte 0 of the line); skipped, the other records are unaffected';
export const LINE_3 =
  'line 3: at byte offset 49: not exactly one JSON value: expected ident at byte 1 of the line; skipped, the other records are unaffected';
export const LINE_5_TORN =
  'line 5: torn write at byte offset 66: the last line has no newline and is not exactly one JSON value: EOF while parsing a string at byte 26 of the line; skipped, and the next append starts a new line';
export const LINE_5_ENDED =
  'line 5: at byte offset 66: not exactly one JSON value: EOF while parsing a string at byte 26 of the line; skipped, the other records are unaffected';

const REASON_5 = 'not exactly one JSON value: EOF while parsing a string at byte 26 of the line';
export const DAMAGED_2 = {
  line: 2, offset: 45, length: 3, torn: false, problem: 'invalid-utf8',
  reason: 'not valid UTF-8 (first bad byte at byte 0 of the line)', message: LINE_2,
};
export const DAMAGED_3 = {
  line: 3, offset: 49, length: 8, torn: false, problem: 'invalid-json',
  reason: 'not exactly one JSON value: expected ident at byte 1 of the line', message: LINE_3,
};
export const DAMAGED_5_TORN = {
  line: 5, offset: 66, length: 26, torn: true, problem: 'invalid-json', reason: REASON_5, message: LINE_5_TORN,
};
export const DAMAGED_5_ENDED = { ...DAMAGED_5_TORN, torn: false, message: LINE_5_ENDED };

/** `{ tag: 'err', val: damaged }`. */
export function err(damaged) {
  return { tag: 'err', val: damaged };
}

/**
 * The cursor after every complete line, from a walk of `replayPage` to the
 * end: the cursor to compact up to after folding the whole log.
 * (`endCursor()` is `last(0).next`, which `compact` refuses.)
 * @param {{ replayPage(cursor: string | null, maxBytes?: number): { next: string, atEnd: boolean } }} log
 */
export function pageEnd(log, maxBytes = 1 << 20) {
  let cursor = null;
  for (;;) {
    const page = log.replayPage(cursor, maxBytes);
    if (page.atEnd) {
      return page.next;
    }
    cursor = page.next;
  }
}

/**
 * Runs `fn`, which must throw a LogError; returns it.
 * @param {() => unknown} fn
 */
export function logError(fn) {
  try {
    fn();
  } catch (error) {
    if (error?.name !== 'LogError') {
      throw error;
    }
    return error;
  }
  throw new Error('expected the call to throw a LogError');
}
