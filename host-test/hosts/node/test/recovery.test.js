// Rules 5-7: damaged lines are reported by number and never hide a good
// record; an append after a torn tail starts a new line; appends from
// several instances never overwrite each other.
import assert from 'node:assert/strict';
import { appendFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { open } from '../pathway.js';
import {
  CORRUPT,
  DAMAGED_2,
  DAMAGED_3,
  DAMAGED_5_ENDED,
  DAMAGED_5_TORN,
  GOOD_1,
  GOOD_2,
  TORN,
  bytesOf,
  err,
  freshDir,
  logError,
  oks,
  textOf,
} from './helpers.js';

async function corruptLog(t) {
  const dir = await freshDir(t);
  await writeFile(path.join(dir, 'pathway.jsonl'), CORRUPT);
  assert.equal(CORRUPT.length, 92);
  return dir;
}

test('a corrupt log replays with err entries naming the lines, the good records intact', async (t) => {
  const dir = await corruptLog(t);
  const log = await open(dir);
  t.after(() => log.close());
  assert.deepEqual(log.replay(), [
    { tag: 'ok', val: GOOD_1 },
    err(DAMAGED_2),
    err(DAMAGED_3),
    { tag: 'ok', val: GOOD_2 },
    err(DAMAGED_5_TORN),
  ]);
  // Replay changes nothing.
  assert.deepEqual(await bytesOf(dir), CORRUPT);
});

test('replay ignores a BOM, a \\r before \\n and blank lines; a valid unterminated last line is ok', async (t) => {
  const dir = await freshDir(t);
  await writeFile(path.join(dir, 'pathway.jsonl'), '\uFEFF{"a":1}\r\n\n   \n[2]\r\n{"last":true}');
  const log = await open(dir);
  t.after(() => log.close());
  assert.deepEqual(log.replay(), oks('{"a":1}', '[2]', '{"last":true}'));
});

test('an append after a torn tail starts a new line: old bytes + "\\n" + record', async (t) => {
  const dir = await corruptLog(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.append('{"op":"forget","key":"goal"}');
  assert.deepEqual(
    await bytesOf(dir),
    Buffer.concat([CORRUPT, Buffer.from('\n{"op":"forget","key":"goal"}\n')]),
  );
  assert.deepEqual(log.replay(), [
    { tag: 'ok', val: GOOD_1 },
    err(DAMAGED_2),
    err(DAMAGED_3),
    { tag: 'ok', val: GOOD_2 },
    err(DAMAGED_5_ENDED),
    { tag: 'ok', val: '{"op":"forget","key":"goal"}' },
  ]);
});

test('a torn tail written while an instance keeps the log open is not overwritten', async (t) => {
  // The instance has its append stream open before the crash's bytes land:
  // its next append must still go after them (O_APPEND semantics).
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.append('{"n":1}');
  await appendFile(path.join(dir, 'pathway.jsonl'), TORN);
  log.append('{"n":2}');
  assert.equal(await textOf(dir), `{"n":1}\n${TORN}\n{"n":2}\n`);
  log.append('{"n":3}');
  assert.equal(await textOf(dir), `{"n":1}\n${TORN}\n{"n":2}\n{"n":3}\n`);
});

test('two instances appending to one log lose and overwrite nothing', async (t) => {
  const dir = await freshDir(t);
  const a = await open(dir);
  const b = await open(dir);
  t.after(() => a.close());
  t.after(() => b.close());
  // Small records (one blocking write) and records over 4 KiB (written in
  // check-write pieces), alternating between the instances.
  const expected = [];
  for (let i = 0; i < 60; i++) {
    const [who, log] = i % 2 ? ['b', b] : ['a', a];
    const pad = i % 3 === 0 ? 'x'.repeat(10000 + i) : '';
    const event = JSON.stringify({ who, i, pad });
    if (i % 5 === 4) {
      log.appendBatch([event, JSON.stringify({ who, i, batch: true })]);
      expected.push(event, JSON.stringify({ who, i, batch: true }));
    } else {
      log.append(event);
      expected.push(event);
    }
  }
  assert.equal(await textOf(dir), expected.map((e) => `${e}\n`).join(''));
  assert.deepEqual(a.replay(), oks(...expected));
  assert.deepEqual(b.replay(), oks(...expected));
});

test('a log name that is a directory, or a symbolic link, is an error of its own, never an entry', async (t) => {
  const dir = await freshDir(t);
  await mkdir(path.join(dir, 'pathway.jsonl'));
  const log = await open(dir);
  t.after(() => log.close());
  let error = logError(() => log.replay());
  assert.equal(error.code, 'not-a-file');
  assert.equal(
    error.message,
    '"pathway.jsonl" in the granted directory is not a regular file; remove it or set PATHWAY_LOG to another name',
  );
  error = logError(() => log.tryAppend('1'));
  assert.equal(error.code, 'not-a-file');
  assert.equal(
    error.message,
    'cannot open "pathway.jsonl" in the granted directory: Is a directory, similar to `EISDIR` in POSIX (is-directory); remove that directory or set PATHWAY_LOG to another name',
  );

  const other = await freshDir(t);
  await writeFile(path.join(other, 'real.jsonl'), '{"secret":1}\n');
  await symlink('real.jsonl', path.join(other, 'pathway.jsonl'));
  const linked = await open(other);
  t.after(() => linked.close());
  const refused =
    'cannot open "pathway.jsonl" in the granted directory: Too many levels of symbolic links, similar to `ELOOP` in POSIX (loop); the log must not be a symbolic link';
  for (const call of [() => linked.replay(), () => linked.tryAppend('{"n":1}')]) {
    error = logError(call);
    assert.equal(error.code, 'not-a-file');
    assert.equal(error.message, refused);
  }
  assert.equal(await textOf(other, 'real.jsonl'), '{"secret":1}\n');
});
