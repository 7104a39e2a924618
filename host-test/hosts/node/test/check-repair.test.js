// check, repair and compact through the component.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { LogError, open } from '../pathway.js';
import {
  CORRUPT,
  DAMAGED_2,
  DAMAGED_3,
  DAMAGED_5_TORN,
  GOOD_1,
  GOOD_2,
  TORN,
  bytesOf,
  freshDir,
  logError,
  namesIn,
  oks,
  pageEnd,
  textOf,
} from './helpers.js';

const DAMAGED = [DAMAGED_2, DAMAGED_3, DAMAGED_5_TORN];

async function damagedLog(t) {
  const dir = await freshDir(t);
  await writeFile(path.join(dir, 'pathway.jsonl'), CORRUPT);
  const log = await open(dir);
  t.after(() => log.close());
  return { dir, log };
}

test('check reports a damaged log: size, records, damaged lines, torn tail; changes nothing', async (t) => {
  const { dir, log } = await damagedLog(t);
  assert.deepEqual(log.check(), {
    bytes: 92,
    records: 2,
    damaged: DAMAGED,
    tornTail: true,
    leftovers: [],
    tooDeep: [],
    checksum: { state: 'none' },
    checksumMessage: '',
  });
  assert.deepEqual(await bytesOf(dir), CORRUPT);
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl']);
});

test('check of a clean log, of a missing one, and of leftovers', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  assert.deepEqual(log.check(), {
    bytes: 0,
    records: 0,
    damaged: [],
    tornTail: false,
    leftovers: [],
    tooDeep: [],
    checksum: { state: 'none' },
    checksumMessage: '',
  });
  log.appendBatch(['{"a":1}', '[2]']);
  await writeFile(path.join(dir, 'pathway.jsonl.lock'), '');
  assert.deepEqual(log.check(), {
    bytes: 12,
    records: 2,
    damaged: [],
    tornTail: false,
    leftovers: ['pathway.jsonl.lock'],
    tooDeep: [],
    checksum: { state: 'none' },
    checksumMessage: '',
  });
  // A fresh lock makes a compaction refuse: busy, the log as it was.
  const error = logError(() => log.compact(['{"s":1}'], pageEnd(log)));
  assert.equal(error.code, 'busy');
  assert.equal(error.details, null);
  assert.equal(
    error.message,
    '"pathway.jsonl.lock" exists: another compaction or repair is running, or one crashed; if none runs, remove "pathway.jsonl.lock" and try again',
  );
  assert.equal(await textOf(dir), '{"a":1}\n[2]\n');
});

test('a stored record nested deeper than PATHWAY_MAX_DEPTH replays, and check reports it as tooDeep', async (t) => {
  const dir = await freshDir(t);
  const deep = `${'['.repeat(130)}${']'.repeat(130)}`;
  const text = `${deep}\n{"n":1}\n`;
  await writeFile(path.join(dir, 'pathway.jsonl'), text);
  const log = await open(dir);
  t.after(() => log.close());
  assert.equal(log.settings.maxDepth, 127);
  assert.deepEqual(log.replay(), oks(deep, '{"n":1}'));
  assert.deepEqual(log.check(), {
    bytes: Buffer.byteLength(text),
    records: 2,
    damaged: [],
    tornTail: false,
    leftovers: [],
    tooDeep: [{ line: 1, offset: 0, at: 127 }],
    checksum: { state: 'none' },
    checksumMessage: '',
  });
  // Under a limit it fits, the same record is not too deep.
  const deeper = await open(dir, { maxDepth: 200 });
  t.after(() => deeper.close());
  assert.deepEqual(deeper.check().tooDeep, []);
  assert.equal(await textOf(dir), text);
});

test('repair moves the damaged lines to the quarantine file and keeps the good records', async (t) => {
  const { dir, log } = await damagedLog(t);
  assert.deepEqual(log.repair(), {
    removed: DAMAGED,
    quarantine: 'pathway.jsonl.quarantine',
    bytesBefore: 92,
    bytesAfter: 53,
  });
  assert.equal(await textOf(dir), `${GOOD_1}\n${GOOD_2}\n`);
  const hex = (bytes) => Buffer.from(bytes).toString('hex');
  const quarantined = (await textOf(dir, 'pathway.jsonl.quarantine')).split('\n');
  assert.equal(quarantined.pop(), '');
  // The quarantine keeps each line's bytes (hex) and where it was.
  const where = ({ line, offset, length, torn, reason }) => ({ line, offset, length, torn, reason });
  assert.deepEqual(quarantined.map((line) => JSON.parse(line)), [
    { log: 'pathway.jsonl', ...where(DAMAGED[0]), hex: 'fffe41' },
    { log: 'pathway.jsonl', ...where(DAMAGED[1]), hex: hex('not json') },
    { log: 'pathway.jsonl', ...where(DAMAGED[2]), hex: hex(TORN) },
  ]);
  assert.deepEqual(log.check(), {
    bytes: 53,
    records: 2,
    damaged: [],
    tornTail: false,
    leftovers: ['pathway.jsonl.quarantine'],
    tooDeep: [],
    checksum: { state: 'verified', bytes: 53 },
    checksumMessage: '',
  });
  // A clean log is left untouched.
  assert.deepEqual(log.repair(), {
    removed: [],
    quarantine: 'pathway.jsonl.quarantine',
    bytesBefore: 53,
    bytesAfter: 53,
  });
  log.append('{"after":"repair"}');
  assert.deepEqual(log.replay(), oks(GOOD_1, GOOD_2, '{"after":"repair"}'));
});

test('compact replaces what the cursor covers by the snapshot and keeps the rest', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  const other = await open(dir);
  t.after(() => other.close());
  log.appendBatch(['{"set":"a","v":1}', '{"set":"b","v":2}', '{"set":"a","v":3}']);
  const upto = log.replayPage(null, 1 << 20).next;
  other.append('{"set":"c","v":4}'); // after the cursor: kept as it was

  assert.deepEqual(log.compact(['{"state":{"a":3,"b":2}}'], upto), {
    snapshotRecords: 1,
    keptBytes: 18,
    bytesBefore: 72,
    bytesAfter: 42,
  });
  assert.equal(await textOf(dir), '{"state":{"a":3,"b":2}}\n{"set":"c","v":4}\n');
  // Beside the checksum, `<log>.moved`: where the kept bytes went.
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl', 'pathway.jsonl.moved', 'pathway.jsonl.sha256']);
  // Both instances go on appending to the new log.
  other.append('{"set":"d","v":5}');
  log.append('{"set":"e","v":6}');
  assert.deepEqual(
    log.replay(),
    oks('{"state":{"a":3,"b":2}}', '{"set":"c","v":4}', '{"set":"d","v":5}', '{"set":"e","v":6}'),
  );
  // The compaction's own cursor reads on in the new log, in either
  // instance: exactly the records after it, not the snapshot.
  for (const reader of [log, other]) {
    const page = reader.replayPage(upto, 1 << 20);
    assert.deepEqual(page.entries, oks('{"set":"c","v":4}', '{"set":"d","v":5}', '{"set":"e","v":6}'));
    assert.equal(page.atEnd, true);
  }

  // A refused snapshot event leaves the log as it was.
  const before = await bytesOf(dir);
  const end = pageEnd(log);
  const error = logError(() => log.compact(['{"ok":1}', '{"x":'], end));
  assert.ok(error instanceof LogError);
  assert.equal(error.code, 'invalid-json');
  assert.deepEqual(error.details, { index: 1, offset: 5, reason: 'EOF while parsing a value' });
  assert.deepEqual(await bytesOf(dir), before);
});

test('check verifies what a compaction wrote; a byte changed in place since makes check, compact and repair say integrity', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.appendBatch(['{"n":1}', '{"n":2}', '{"n":3}']);
  log.compact(['{"sum":6}'], pageEnd(log));
  log.append('{"n":4}'); // after the compacted part: not covered by the checksum
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const expected = sha256('{"sum":6}\n');
  assert.deepEqual(log.check(), {
    bytes: 18,
    records: 2,
    damaged: [],
    tornTail: false,
    leftovers: [],
    tooDeep: [],
    checksum: { state: 'verified', bytes: 10 },
    checksumMessage: '',
  });

  // 6 -> 7 in place: still a valid record, so only the checksum sees it.
  const fd = openSync(log.logPath, 'r+');
  try {
    writeSync(fd, Buffer.from('7'), 0, 1, '{"sum":'.length);
  } finally {
    closeSync(fd);
  }
  const changed = await bytesOf(dir);
  assert.equal(changed.toString(), '{"sum":7}\n{"n":4}\n');
  const integrity = { bytes: 10, expected, actual: sha256('{"sum":7}\n') };
  const report = log.check();
  assert.deepEqual(report.checksum, { state: 'mismatch', ...integrity });
  assert.equal(report.records, 2);
  assert.deepEqual(report.damaged, []);
  assert.equal(typeof report.checksumMessage, 'string');
  assert.notEqual(report.checksumMessage, '');

  // Neither rewrite writes a new checksum over the changed bytes, nor
  // records a move.
  const moved = await bytesOf(dir, 'pathway.jsonl.moved');
  for (const rewrite of [() => log.compact(['{"sum":10}'], pageEnd(log)), () => log.repair()]) {
    const error = logError(rewrite);
    assert.ok(error instanceof LogError);
    assert.equal(error.code, 'integrity');
    assert.deepEqual(error.details, integrity);
    assert.notEqual(error.message, '');
  }
  assert.deepEqual(await bytesOf(dir), changed);
  // The side files are those of the first compaction, no more.
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl', 'pathway.jsonl.moved', 'pathway.jsonl.sha256']);
  assert.deepEqual(await bytesOf(dir, 'pathway.jsonl.moved'), moved);
});
