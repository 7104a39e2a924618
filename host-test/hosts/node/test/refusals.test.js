// Rule 2: a refused event writes nothing; the file is byte for byte as before.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { LogError, Trap, open } from '../pathway.js';
import { bytesOf, freshDir, logError, namesIn, oks } from './helpers.js';

const BEFORE = '{"op":"remember","key":"user","value":"Ada"}\n[1,2,3]\n';

/** A directory whose log already holds two records. */
async function seeded(t, options) {
  const dir = await freshDir(t);
  await writeFile(path.join(dir, 'pathway.jsonl'), BEFORE);
  const log = await open(dir, options);
  t.after(() => log.close());
  return { dir, log };
}

test('try-append of invalid JSON gives invalid-json with index and offset; nothing is written', async (t) => {
  const { dir, log } = await seeded(t);
  const cases = [
    ['{"op":"remember","key":', 23, 'EOF while parsing a value'],
    ['', 0, 'EOF while parsing a value'],
    ['   ', 3, 'EOF while parsing a value'],
    ['1 2', 2, 'trailing characters'],
    ['{"a":1} x', 8, 'trailing characters'],
    ['{"a":1}{"b":2}', 7, 'trailing characters'],
    ['NaN', 0, 'expected value'],
    ['"\\q"', 2, 'invalid escape'],
    ['"a\tb"', 1, 'control character (\\u0000-\\u001F) found while parsing a string'],
  ];
  for (const [event, offset, reason] of cases) {
    const error = logError(() => log.tryAppend(event));
    assert.ok(error instanceof LogError);
    assert.equal(error.code, 'invalid-json');
    assert.deepEqual(error.details, { index: 0, offset, reason }, `event ${JSON.stringify(event)}`);
    // The component's words, as they are.
    assert.equal(
      error.message,
      `the event is not exactly one JSON value: ${reason} at byte offset ${offset}; nothing was stored; fix the event and try again`,
    );
    assert.equal(error.cause?.constructor?.name, 'ComponentError');
    assert.deepEqual(await bytesOf(dir), Buffer.from(BEFORE), `file changed by ${JSON.stringify(event)}`);
  }
  // The instance is still usable and the file grows only by the good record.
  log.tryAppend('{"ok":true}');
  assert.deepEqual(await bytesOf(dir), Buffer.from(`${BEFORE}{"ok":true}\n`));
});

test('append-batch names the first bad event and stores none of the batch', async (t) => {
  const { dir, log } = await seeded(t);
  const error = logError(() => log.appendBatch(['{"n":1}', '{"n":2}', '{"n":3} x', 'NaN']));
  assert.equal(error.code, 'invalid-json');
  assert.deepEqual(error.details, { index: 2, offset: 8, reason: 'trailing characters' });
  assert.equal(
    error.message,
    'event 2 of the batch is not exactly one JSON value: trailing characters at byte offset 8; nothing was stored; fix the event and try again',
  );
  assert.deepEqual(await bytesOf(dir), Buffer.from(BEFORE));
  assert.deepEqual(log.replay(), oks('{"op":"remember","key":"user","value":"Ada"}', '[1,2,3]'));
});

test('a line over PATHWAY_MAX_LINE is too-large, with its size and the limit', async (t) => {
  const { dir, log } = await seeded(t, { maxLine: 16 });
  const long = `"${'x'.repeat(20)}"`;
  let error = logError(() => log.tryAppend(long));
  assert.equal(error.code, 'too-large');
  assert.deepEqual(error.details, { index: 0, size: 22, limit: 16 });
  assert.equal(
    error.message,
    'the event is 22 bytes, over the line limit of 16 bytes (PATHWAY_MAX_LINE); nothing was stored; split the event, or raise the limit for every reader too',
  );
  // The stored line (pretty-printing removed) is what counts: 16 bytes fit.
  log.tryAppend('[\n1,\n2,\n3,\n4,\n5,\n6\n]');
  error = logError(() => log.appendBatch(['1', `"${'y'.repeat(30)}"`]));
  assert.equal(error.code, 'too-large');
  assert.deepEqual(error.details, { index: 1, size: 32, limit: 16 });
  assert.deepEqual(await bytesOf(dir), Buffer.from(`${BEFORE}[1,2,3,4,5,6]\n`));
});

test('maxDepth sets PATHWAY_MAX_DEPTH: an event nested deeper is invalid-json and nothing is stored', async (t) => {
  const { dir, log } = await seeded(t, { maxDepth: 3 });
  assert.equal(log.settings.maxDepth, 3);
  log.tryAppend('[[[1]]]');
  const after = Buffer.from(`${BEFORE}[[[1]]]\n`);
  assert.deepEqual(await bytesOf(dir), after);
  for (const [call, index, offset] of [
    [() => log.tryAppend('[[[[1]]]]'), 0, 3],
    [() => log.appendBatch(['1', '{"a":[[{}]]}']), 1, 7],
  ]) {
    const error = logError(call);
    assert.ok(error instanceof LogError);
    assert.equal(error.code, 'invalid-json');
    assert.equal(error.details.index, index);
    assert.equal(error.details.offset, offset);
    assert.match(error.details.reason, /more than 3 levels deep/);
    assert.ok(error.message.includes(error.details.reason), error.message);
    assert.ok(error.message.includes('PATHWAY_MAX_DEPTH'), error.message);
    assert.deepEqual(await bytesOf(dir), after);
  }
  assert.deepEqual(log.replay(), oks('{"op":"remember","key":"user","value":"Ada"}', '[1,2,3]', '[[[1]]]'));

  // The default is 127 levels.
  const plain = await open(dir);
  t.after(() => plain.close());
  assert.equal(plain.settings.maxDepth, 127);
  plain.tryAppend(`${'['.repeat(127)}${']'.repeat(127)}`);
  const error = logError(() => plain.tryAppend(`${'['.repeat(128)}${']'.repeat(128)}`));
  assert.equal(error.code, 'invalid-json');
  assert.equal(error.details.offset, 127);
  assert.match(error.message, /more than 127 levels deep/);
});

test('an unusable configuration is invalid-config when the log is opened, and creates nothing', async (t) => {
  const dir = await freshDir(t);
  const cases = [
    [{ logName: '../escape.jsonl' },
      'PATHWAY_LOG="../escape.jsonl" cannot be used: it contains a path separator; set it to a plain file name inside the granted directory, such as "pathway.jsonl"'],
    [{ maxLine: 'lots' },
      'PATHWAY_MAX_LINE="lots" cannot be used: it must be a whole number of bytes from 1 to 268435456; unset it for the default 1048576'],
    [{ maxLine: 268435457 },
      'PATHWAY_MAX_LINE="268435457" cannot be used: it must be a whole number of bytes from 1 to 268435456; unset it for the default 1048576'],
    [{ maxDepth: 0 },
      'PATHWAY_MAX_DEPTH="0" cannot be used: it must be a whole number of levels from 1 to 10000; unset it for the default 127'],
    [{ maxDepth: 10001 },
      'PATHWAY_MAX_DEPTH="10001" cannot be used: it must be a whole number of levels from 1 to 10000; unset it for the default 127'],
    [{ sync: 'sometimes' },
      'PATHWAY_SYNC="sometimes" cannot be used: it must be `never`, `always` or `interval:<milliseconds>`; unset it for `never`'],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(open(dir, options), (error) => {
      assert.ok(error instanceof LogError);
      assert.equal(error.code, 'invalid-config');
      assert.equal(error.details, null);
      assert.equal(error.message, message);
      return true;
    });
  }
  assert.deepEqual(await namesIn(dir), []);
});

test('append traps on a refused event: a Trap with the guest\'s stderr, nothing written, log still usable', async (t) => {
  const { dir, log } = await seeded(t);
  let trap;
  try {
    log.append('{"a":');
  } catch (error) {
    trap = error;
  }
  assert.ok(trap instanceof Trap, `expected a Trap, got ${trap}`);
  assert.equal(trap.func, 'append');
  assert.equal(trap.timedOut, false);
  assert.ok(trap.cause instanceof WebAssembly.RuntimeError);
  const refusal =
    'pathway append refused: the event is not exactly one JSON value: EOF while parsing a value at byte offset 5; nothing was stored; fix the event and try again';
  assert.ok(trap.stderr.includes(`\n${refusal}\n`), trap.stderr);
  assert.equal(
    trap.message,
    `the component trapped: ${trap.cause.message}\nguest stderr:\n${trap.stderr.trim()}`,
  );
  assert.deepEqual(await bytesOf(dir), Buffer.from(BEFORE));

  // A fresh instance serves the next calls.
  log.append('{"after":"trap"}');
  assert.deepEqual(
    log.replay(),
    oks('{"op":"remember","key":"user","value":"Ada"}', '[1,2,3]', '{"after":"trap"}'),
  );
});
