// Each instance sees its own directory and its own environment only.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { open } from '../pathway.js';
import { freshDir, logError, namesIn, oks, pageEnd, textOf } from './helpers.js';

test('a second instance on a different directory does not see the first one\'s log', async (t) => {
  const first = await freshDir(t);
  const second = await freshDir(t);
  const a = await open(first);
  const b = await open(second);
  t.after(() => a.close());
  t.after(() => b.close());

  a.appendBatch(['{"who":"a","n":1}', '{"who":"a","n":2}']);
  assert.deepEqual(b.replay(), []);
  assert.deepEqual(b.check(), {
    bytes: 0,
    records: 0,
    damaged: [],
    tornTail: false,
    leftovers: [],
    tooDeep: [],
    checksum: { state: 'none' },
    checksumMessage: '',
  });
  assert.deepEqual(await namesIn(second), [], 'reading created nothing');

  b.append('{"who":"b"}');
  assert.deepEqual(a.replay(), oks('{"who":"a","n":1}', '{"who":"a","n":2}'));
  assert.deepEqual(b.replay(), oks('{"who":"b"}'));
  assert.equal(await textOf(first), '{"who":"a","n":1}\n{"who":"a","n":2}\n');
  assert.equal(await textOf(second), '{"who":"b"}\n');
  assert.deepEqual(await namesIn(first), ['pathway.jsonl']);
  assert.deepEqual(await namesIn(second), ['pathway.jsonl']);
});

test('the environment is per instance and the process environment does not leak in', async (t) => {
  const dir = await freshDir(t);
  const saved = { ...process.env };
  t.after(() => {
    for (const key of ['PATHWAY_LOG', 'PATHWAY_MAX_LINE', 'PATHWAY_MAX_DEPTH', 'PATHWAY_SYNC', 'PATHWAY_QUOTA']) {
      if (key in saved) process.env[key] = saved[key];
      else delete process.env[key];
    }
  });
  process.env.PATHWAY_LOG = 'leaked.jsonl';
  process.env.PATHWAY_MAX_LINE = '2';
  process.env.PATHWAY_MAX_DEPTH = '1';
  process.env.PATHWAY_SYNC = 'bogus';
  process.env.PATHWAY_QUOTA = '1';

  const plain = await open(dir);
  const named = await open(dir, { logName: 'named.jsonl', maxLine: 8 });
  t.after(() => plain.close());
  t.after(() => named.close());

  plain.append('{"plain":true}');
  named.append('[1,2,3]');
  const error = logError(() => named.tryAppend('"123456789"'));
  assert.equal(error.code, 'too-large');
  assert.deepEqual(error.details, { index: 0, size: 11, limit: 8 });
  assert.deepEqual(plain.settings, { logName: 'pathway.jsonl', maxLine: 1048576, maxDepth: 127, sync: 'never', quota: null, epochTickMs: 10 });
  assert.deepEqual(named.settings, { logName: 'named.jsonl', maxLine: 8, maxDepth: 127, sync: 'never', quota: null, epochTickMs: 10 });
  assert.deepEqual(await namesIn(dir), ['named.jsonl', 'pathway.jsonl']);
  assert.equal(await textOf(dir), '{"plain":true}\n');
  assert.equal(await textOf(dir, 'named.jsonl'), '[1,2,3]\n');
  assert.deepEqual(plain.replay(), oks('{"plain":true}'));
  assert.deepEqual(named.replay(), oks('[1,2,3]'));
});

test('open refuses a directory that does not exist, or a file', async (t) => {
  const dir = await freshDir(t);
  await assert.rejects(open(`${dir}/missing`), { code: 'ENOENT' });
  await writeFile(path.join(dir, 'file'), '');
  await assert.rejects(open(path.join(dir, 'file')), { code: 'ENOTDIR' });
});

test('a read-only grant replays and checks; every change is access-denied and writes nothing', async (t) => {
  const dir = await freshDir(t);
  const writer = await open(dir);
  t.after(() => writer.close());
  writer.appendBatch(['{"a":1}', '[2]']);
  const reader = await open(dir, { readOnly: true });
  t.after(() => reader.close());
  assert.deepEqual(reader.replay(), oks('{"a":1}', '[2]'));
  assert.equal(reader.check().records, 2);
  const end = pageEnd(reader);
  for (const change of [
    () => reader.tryAppend('3'),
    () => reader.appendBatch(['3']),
    () => reader.compact([], end),
    () => reader.repair(),
  ]) {
    assert.equal(logError(change).code, 'access-denied');
  }
  assert.throws(() => reader.append('3'), { name: 'Trap' });
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl']);
  assert.equal(await textOf(dir), '{"a":1}\n[2]\n');
});
