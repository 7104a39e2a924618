// appendLines: lines stored as they arrive, in batches; a refused line
// refuses its batch and stops the import (host-test/src/lines.rs has the rule).
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { BATCHING, LinesError, LogError, open } from '../pathway.js';
import { bytesOf, freshDir, oks } from './helpers.js';

/** Timers that never run out: batches are cut by count and bytes alone. */
const PATIENT = { maxEvents: 2, idleMs: 600_000, maxWaitMs: 600_000 };

async function opened(t) {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  return { dir, log };
}

/** The log's text, or '' while it does not exist. */
async function textNow(dir) {
  return (await bytesOf(dir).catch(() => Buffer.alloc(0))).toString('utf8');
}

/** Polls until `done()` is true, for at most 30 s. */
async function waitFor(what, done) {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs `promise`, which must reject with a LinesError; returns it. */
async function linesError(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LinesError, `expected a LinesError, got ${error}`);
    return error;
  }
  throw new Error('expected the import to reject');
}

test('the defaults are those of the Rust and Python hosts', () => {
  assert.deepEqual({ ...BATCHING }, { maxEvents: 1000, maxBytes: 1 << 20, idleMs: 10, maxWaitMs: 50 });
});

test('a stream\'s lines are stored as they arrive, before it ends', async (t) => {
  const { dir, log } = await opened(t);
  const stream = new PassThrough();
  const imported = log.appendLines(stream);
  let expected = '';
  for (const line of ['{"a":1}', '', '{"a":2}\r']) {
    stream.write(`${line}\n`);
    if (line) {
      expected += `${line.trimEnd()}\n`;
    }
    await waitFor('the line to be stored', async () => (await textNow(dir)) === expected);
  }
  stream.end();
  assert.deepEqual(await imported, { lines: 3, stored: 2 });
  assert.deepEqual(log.replay(), oks('{"a":1}', '{"a":2}'));
});

test('an async source\'s pending lines are stored when it pauses', async (t) => {
  const { dir, log } = await opened(t);
  let resume;
  const paused = new Promise((resolve) => {
    resume = resolve;
  });
  async function* source() {
    yield '1';
    yield new TextEncoder().encode('2\n');
    await paused;
    yield '3\n';
  }
  const imported = log.appendLines(source());
  await waitFor('the lines before the pause to be stored', async () => (await textNow(dir)) === '1\n2\n');
  resume();
  assert.deepEqual(await imported, { lines: 3, stored: 3 });
  assert.equal(await textNow(dir), '1\n2\n3\n');
});

test('a refused line refuses its batch; the batches before it stay stored', async (t) => {
  const { dir, log } = await opened(t);
  const error = await linesError(log.appendLines(['1', '2', '', '3', '{', '5'], PATIENT));
  const refusal = 'event 1 of the batch is not exactly one JSON value: EOF while parsing an object at byte offset 1; '
    + 'nothing was stored; fix the event and try again';
  assert.equal(
    error.message,
    `line 5 was refused: ${refusal}; the import stopped: the 2 events before line 3 are stored, nothing from line 3 `
      + 'on is; fix line 5 and resume from line 3',
  );
  assert.deepEqual(
    { code: error.code, line: error.line, resumeLine: error.resumeLine, stored: error.stored, byte: error.byte },
    { code: 'invalid-json', line: 5, resumeLine: 3, stored: 2, byte: null },
  );
  assert.ok(error.cause instanceof LogError);
  assert.deepEqual(error.cause.details, { index: 1, offset: 1, reason: 'EOF while parsing an object' });
  assert.equal(await textNow(dir), '1\n2\n');
});

test('a line that is not UTF-8 refuses its batch, named with its first bad byte', async (t) => {
  const { dir, log } = await opened(t);
  // Chunks of three bytes: lines and characters span chunks.
  const bytes = Buffer.concat([Buffer.from('"é"\r\n\u00a0\n1\n'), Buffer.from([0x32, 0xe2, 0x82, 0x0a]), Buffer.from('5\n')]);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 3) {
    chunks.push(bytes.subarray(i, i + 3));
  }
  const error = await linesError(log.appendLines(Readable.from(chunks), PATIENT));
  assert.equal(
    error.message,
    'line 4 is not valid UTF-8 (first bad byte at byte 1 of the line); the import stopped: the 2 events before '
      + 'line 4 are stored, nothing from line 4 on is; fix line 4 and resume from line 4',
  );
  assert.deepEqual(
    { code: error.code, line: error.line, resumeLine: error.resumeLine, stored: error.stored, byte: error.byte },
    { code: 'invalid-utf8', line: 4, resumeLine: 4, stored: 2, byte: 1 },
  );
  assert.equal(await textNow(dir), '"é"\n1\n');
});

test('a failing source stops the import; what came before its batch stays', async (t) => {
  const { dir, log } = await opened(t);
  async function* source() {
    yield '1';
    yield '2';
    yield '3';
    throw new Error('the socket closed');
  }
  const error = await linesError(log.appendLines(source(), PATIENT));
  assert.equal(
    error.message,
    'reading line 4 failed: the socket closed; the import stopped: the 2 events before line 3 are stored, nothing '
      + 'from line 3 on is; resume from line 3',
  );
  assert.deepEqual([error.code, error.line, error.stored, error.cause.message], ['source', null, 2, 'the socket closed']);
  assert.equal(await textNow(dir), '1\n2\n');
});

test('what is not a source of lines, or a bad bound, is refused before anything is read', async (t) => {
  const { dir, log } = await opened(t);
  await assert.rejects(log.appendLines('1\n2\n'), TypeError);
  await assert.rejects(log.appendLines(['1'], { maxEvents: 0 }), RangeError);
  const error = await linesError(log.appendLines(['1', 2], { maxEvents: 1 }));
  assert.deepEqual([error.code, error.stored, error.cause instanceof TypeError], ['source', 1, true]);
  assert.equal(await textNow(dir), '1\n');
});
