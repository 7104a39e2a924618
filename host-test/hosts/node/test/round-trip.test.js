// Rules 1, 3: records come back in order; pretty JSON is stored on one line.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { open } from '../pathway.js';
import { freshDir, namesIn, oks, textOf } from './helpers.js';

test('append then replay returns the records in order', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  assert.deepEqual(log.replay(), [], 'a missing log replays as an empty list');

  const events = [
    '{"op":"remember","key":"user","value":"Ada"}',
    '[1,2,3]',
    '"a string is a record too"',
    '42',
    'null',
  ];
  for (const event of events) {
    log.append(event);
  }
  log.tryAppend('{"op":"forget","key":"user"}');
  log.appendBatch(['{"n":1}', '{"n":2}']);

  const all = [...events, '{"op":"forget","key":"user"}', '{"n":1}', '{"n":2}'];
  assert.deepEqual(log.replay(), oks(...all));
  assert.equal(await textOf(dir), all.map((e) => `${e}\n`).join(''));
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl']);

  // A second instance (a restart) reads the same log.
  const again = await open(dir);
  t.after(() => again.close());
  assert.deepEqual(again.replay(), oks(...all));
});

test('pretty-printed JSON is stored on one line', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  const value = { op: 'remember', key: 'user', value: { name: 'Ada', tags: ['a', 'b'] } };
  const pretty = JSON.stringify(value, null, 2);
  assert.match(pretty, /\n/);
  const crlf = '{\r\n  "a": [\r\n    1,\r\n    2\r\n  ]\r\n}';

  log.append(pretty);
  log.tryAppend(crlf);

  const stored = pretty.replace(/\n/g, '');
  const storedCrlf = '{  "a": [    1,    2  ]}';
  assert.equal(await textOf(dir), `${stored}\n${storedCrlf}\n`);
  const entries = log.replay();
  assert.deepEqual(entries, oks(stored, storedCrlf));
  assert.deepEqual(JSON.parse(entries[0].val), value);
  assert.deepEqual(JSON.parse(entries[1].val), { a: [1, 2] });
});

test('PATHWAY_LOG names the file; the default name is not touched', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir, { logName: 'agent-7.jsonl' });
  t.after(() => log.close());
  log.append('{"agent":7}');
  assert.deepEqual(await namesIn(dir), ['agent-7.jsonl']);
  assert.equal(await textOf(dir, 'agent-7.jsonl'), '{"agent":7}\n');
  assert.equal(log.settings.logName, 'agent-7.jsonl');
  assert.equal(log.logPath, path.join(dir, 'agent-7.jsonl'));

  const other = await open(dir);
  t.after(() => other.close());
  assert.deepEqual(other.replay(), []);
  assert.equal(path.basename(other.dir), path.basename(dir));
});

test('sync succeeds in every mode and the records are on disk', async (t) => {
  const dir = await freshDir(t);
  for (const [i, sync] of ['never', 'always', 'interval:1'].entries()) {
    const log = await open(dir, { sync, logName: `s${i}.jsonl` });
    t.after(() => log.close());
    assert.equal(log.settings.sync, sync);
    log.append(`{"mode":"${sync}"}`);
    log.appendBatch(['1', '2']);
    assert.equal(log.sync(), undefined);
    assert.equal(await textOf(dir, `s${i}.jsonl`), `{"mode":"${sync}"}\n1\n2\n`);
  }
});

test('entries walks the log page by page, the unterminated tail last, and returns the end cursor', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.appendBatch(['{"a":1}', '{"b":2}', '{"c":3}']);
  const gen = log.entries({ maxBytes: 1 });
  const seen = [];
  let step = gen.next();
  for (; !step.done; step = gen.next()) {
    seen.push(step.value);
  }
  assert.deepEqual(seen, oks('{"a":1}', '{"b":2}', '{"c":3}'));
  assert.deepEqual(log.replayPage(step.value), { entries: [], tail: null, next: step.value, atEnd: true });
  // endCursor (last(0).next) is at the same place, read without a walk.
  const end = log.endCursor();
  assert.deepEqual(log.replayPage(end), { entries: [], tail: null, next: end, atEnd: true });
  log.append('{"d":4}');
  assert.deepEqual(log.replayPage(end).entries, oks('{"d":4}'));
});

test('a closed log refuses every call', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  log.close();
  assert.throws(() => log.tryAppend('1'), /closed/);
  assert.deepEqual(await namesIn(dir), []);
});

test('a record above the 64 KiB write permit lands whole, and its helper files are gone after', async (t) => {
  const dir = await freshDir(t);
  const writer = await open(dir);
  const other = await open(dir);
  t.after(() => {
    writer.close();
    other.close();
  });
  // Over wasmtime's one-write permit: stored through a hard link
  // (`<log>.big.link`) and one positional write, the path the Rust host's
  // concurrency test proves under contention.
  const big = (n) => JSON.stringify({ big: n, pad: 'x'.repeat(200_000 + n) });
  const expected = [];
  for (let n = 0; n < 3; n++) {
    writer.tryAppend(big(n));
    other.tryAppend(`{"small":${n}}`);
    expected.push(big(n), `{"small":${n}}`);
  }
  assert.deepEqual(other.replay(), oks(...expected));
  assert.equal(await textOf(dir), expected.map((e) => `${e}\n`).join(''));
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl']);
});
