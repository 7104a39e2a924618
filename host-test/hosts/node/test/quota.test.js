// The quota (`open(dir, { quota })`, PATHWAY_QUOTA): the most bytes all
// files of the grant may hold together. Appends and forks past it throw
// `quota-exceeded` with `{ used, limit, needed }` and store nothing; reading
// is never refused; deleting (or compacting) frees room, though a
// compaction's side files (`.sha256`, `.moved`) count too. The component
// checks the value: 0 or a non-number rejects `open` with `invalid-config`.
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { LinesError, LogError, open } from '../pathway.js';
import { bytesOf, freshDir, logError, namesIn, oks, pageEnd, textOf } from './helpers.js';

/** One stored line of EVENT is 11 bytes with its `\n`. */
const EVENT = '{"turn":1}';
const LINE = EVENT.length + 1;

/** A directory log for `t` in `dir` (default: a fresh one), closed after it. */
async function openLog(t, options, dir) {
  const where = dir ?? (await freshDir(t));
  const mem = await open(where, options);
  t.after(() => mem.close());
  return { mem, dir: where };
}

/** The size of the file `name` in `dir`. */
async function sizeOf(dir, name) {
  return (await stat(path.join(dir, name))).size;
}

/** The bytes all files of `dir` hold together (it has no subdirectories). */
async function usedIn(dir) {
  let used = 0;
  for (const name of await readdir(dir)) {
    used += await sizeOf(dir, name);
  }
  return used;
}

/** Runs `fn`, which must throw a LogError `quota-exceeded`; returns it. */
function quotaError(fn) {
  const error = logError(fn);
  assert.ok(error instanceof LogError);
  assert.equal(error.code, 'quota-exceeded', error.message);
  return error;
}

/** The component's words for a refusal with these figures. */
function quotaMessage({ used, limit, needed }) {
  return `storing ${needed} more bytes would pass the quota: the grant holds ${used} of ${limit} bytes ` +
    '(PATHWAY_QUOTA, all logs together); nothing was stored; delete or compact logs to free room, or raise the quota';
}

test('settings.quota is the quota in force, null without one', async (t) => {
  const { mem, dir } = await openLog(t, { quota: 4096 });
  assert.equal(mem.settings.quota, 4096);
  const { mem: unlimited } = await openLog(t, undefined, dir);
  assert.equal(unlimited.settings.quota, null);
  const { mem: byNull } = await openLog(t, { quota: null }, dir);
  assert.equal(byNull.settings.quota, null, 'null is no quota, as leaving it out');
  const { mem: byString } = await openLog(t, { quota: '1048576' }, dir);
  assert.equal(byString.settings.quota, 1048576, 'passed as the string of the value');
});

test('appends until the quota refuses: quota-exceeded with used, limit and needed; nothing of the refused call stored', async (t) => {
  const { mem, dir } = await openLog(t, { quota: 100 });
  let stored = 0;
  let refused;
  for (let i = 0; i < 20 && !refused; i += 1) {
    try {
      mem.tryAppend(EVENT);
      stored += 1;
    } catch (error) {
      refused = error;
    }
  }
  assert.equal(stored, 9, 'nine lines of 11 bytes fit in 100, a tenth does not');
  assert.ok(refused instanceof LogError);
  assert.equal(refused.code, 'quota-exceeded');
  const figures = { used: 9 * LINE, limit: 100, needed: LINE };
  assert.deepEqual(refused.details, figures);
  assert.equal(refused.message, quotaMessage(figures));
  const before = await bytesOf(dir);
  assert.equal(before.length, 99);

  // Every append function refuses alike, all of its call: a batch that
  // would pass it (even by one byte), a named log (all logs count together).
  assert.deepEqual(quotaError(() => mem.appendBatch(['1'])).details, { used: 99, limit: 100, needed: 2 });
  assert.deepEqual(quotaError(() => mem.tryAppend('1')).details, { used: 99, limit: 100, needed: 2 });
  const named = quotaError(() => mem.log('b').tryAppend(EVENT));
  assert.deepEqual(named.details, figures);
  assert.equal(named.message, refused.message);
  assert.throws(() => mem.append(EVENT), (e) => e.name === 'Trap' && /would pass the quota/.test(e.stderr));
  await assert.rejects(mem.appendLines(['1', '2']), (e) => {
    assert.ok(e instanceof LinesError);
    assert.equal(e.code, 'quota-exceeded');
    assert.equal(e.stored, 0);
    assert.deepEqual(e.cause.details, { used: 99, limit: 100, needed: 4 });
    return true;
  });

  assert.deepEqual(await bytesOf(dir), before, 'nothing of the refused calls was stored');
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl'], 'the named log was not created');
  assert.equal(mem.replay().length, 9);

  // One byte left: a one-byte line (`\n` included) would still need two.
  // Another Memory with a larger quota on the same directory may go on.
  const { mem: larger } = await openLog(t, { quota: 101 }, dir);
  larger.tryAppend('1');
  assert.equal((await bytesOf(dir)).length, 101);
  assert.deepEqual(quotaError(() => mem.tryAppend('1')).details, { used: 101, limit: 100, needed: 2 });
});

test('the quota counts every file of the grant, and deleting or compacting frees room', async (t) => {
  const { mem, dir } = await openLog(t, { quota: 300 });
  await writeFile(path.join(dir, 'notes.txt'), 'x'.repeat(10)); // not a log, but in the grant
  mem.log('b').appendBatch([EVENT, EVENT]);
  const fill = Array.from({ length: 24 }, () => EVENT);
  mem.appendBatch(fill); // 10 + 22 + 264 = 296 bytes
  assert.deepEqual(quotaError(() => mem.tryAppend(EVENT)).details, { used: 296, limit: 300, needed: LINE });

  // Deleting a named log frees its bytes for the default log.
  assert.equal(mem.deleteLog('b'), 2 * LINE);
  mem.tryAppend(EVENT);
  mem.tryAppend(EVENT);
  assert.equal(mem.replay().length, 26);
  assert.deepEqual(quotaError(() => mem.tryAppend(EVENT)).details, { used: 296, limit: 300, needed: LINE });

  // Compacting the records into one frees the rest, less what the side
  // files it writes take, which count too: `<log>.sha256` and
  // `<log>.moved` (where the kept bytes went, so cursors read on).
  mem.compact(['{"turns":26}'], pageEnd(mem));
  assert.deepEqual(await namesIn(dir), ['notes.txt', 'pathway.jsonl', 'pathway.jsonl.moved', 'pathway.jsonl.sha256']);
  const sideFiles = (await sizeOf(dir, 'pathway.jsonl.sha256')) + (await sizeOf(dir, 'pathway.jsonl.moved'));
  assert.ok((await sizeOf(dir, 'pathway.jsonl.moved')) > 0);
  const compacted = 10 + 13 + sideFiles;
  assert.equal(await usedIn(dir), compacted);
  assert.ok(compacted < 296, `the compaction freed room: ${compacted} bytes used`);
  // Room for this many more lines, and then the refusal counts the side files.
  const room = Math.floor((300 - compacted) / LINE);
  for (let i = 0; i < room; i += 1) {
    mem.tryAppend(EVENT);
  }
  const refused = quotaError(() => mem.tryAppend(EVENT));
  assert.deepEqual(refused.details, { used: compacted + room * LINE, limit: 300, needed: LINE });
  assert.equal(refused.details.used, await usedIn(dir));
  assert.deepEqual(mem.replay(), oks('{"turns":26}', ...Array.from({ length: room }, () => EVENT)));

  // Deleting the Memory's own log (and its checksum and moves): its next
  // append starts it anew, no `deleted`. The bytes returned are the log's.
  assert.equal(mem.deleteLog('pathway'), 13 + room * LINE);
  assert.deepEqual(await namesIn(dir), ['notes.txt']);
  mem.appendBatch(fill);
  assert.equal(await textOf(dir), `${EVENT}\n`.repeat(24));
});

test('compact is never refused by the quota; its side files count, so under a tight quota it may leave the grant past it', async (t) => {
  const { mem, dir } = await openLog(t, { quota: 200 });
  const fill = Array.from({ length: 18 }, () => EVENT);
  mem.appendBatch(fill); // 198 bytes
  assert.deepEqual(quotaError(() => mem.tryAppend(EVENT)).details, { used: 198, limit: 200, needed: LINE });
  // Folding all of it: 13 bytes of log, and the checksum and the moves,
  // together more than the 185 bytes folded.
  assert.deepEqual(mem.compact(['{"turns":18}'], pageEnd(mem)), {
    snapshotRecords: 1, keptBytes: 0, bytesBefore: 198, bytesAfter: 13,
  });
  const used = await usedIn(dir);
  assert.equal(used, 13 + (await sizeOf(dir, 'pathway.jsonl.sha256')) + (await sizeOf(dir, 'pathway.jsonl.moved')));
  assert.ok(used > 200, `${used} bytes used after the compaction`);
  assert.deepEqual(quotaError(() => mem.tryAppend(EVENT)).details, { used, limit: 200, needed: LINE });
  assert.deepEqual(mem.replay(), oks('{"turns":18}'), 'reading goes on');
  // Deleting the log (its side files with it) frees all of it.
  assert.equal(mem.deleteLog('pathway'), 13);
  assert.deepEqual(await namesIn(dir), []);
  mem.tryAppend(EVENT);
});

test('quota 0, a non-number and other unusable values reject open with invalid-config; nothing is created', async (t) => {
  const dir = await freshDir(t);
  for (const quota of [0, 'lots', -1, 1.5, '', '0x10']) {
    await assert.rejects(open(dir, { quota }), (e) => {
      assert.ok(e instanceof LogError, JSON.stringify(quota));
      assert.equal(e.code, 'invalid-config', JSON.stringify(quota));
      assert.equal(e.details, null);
      assert.ok(e.message.startsWith(`PATHWAY_QUOTA=${JSON.stringify(String(quota))} cannot be used: `), e.message);
      return true;
    });
  }
  assert.deepEqual(await namesIn(dir), [], 'the refused opens created nothing');
});

test('reading is never refused past the quota', async (t) => {
  const dir = await freshDir(t);
  const lines = Array.from({ length: 20 }, (_, i) => `{"turn":${i + 10}}`);
  const text = lines.map((line) => `${line}\n`).join('');
  await writeFile(path.join(dir, 'pathway.jsonl'), text); // 240 bytes, written past the quota
  await writeFile(path.join(dir, 'b.jsonl'), '"b"\n');
  const { mem } = await openLog(t, { quota: 50 }, dir);

  assert.deepEqual(mem.replay(), oks(...lines));
  const walked = [...mem.entries({ maxBytes: 32 })];
  assert.deepEqual(walked, oks(...lines));
  assert.deepEqual(mem.last(2).entries, oks(...lines.slice(-2)));
  assert.equal(typeof mem.endCursor(), 'string');
  const checked = mem.check();
  assert.equal(checked.bytes, text.length);
  assert.equal(checked.records, 20);
  assert.equal(mem.repair().removed.length, 0);
  assert.deepEqual(mem.logs(), [{ name: 'b', bytes: 4 }, { name: 'pathway', bytes: text.length }]);
  assert.deepEqual(mem.log('b').replay(), oks('"b"'));
  mem.sync();

  const refused = quotaError(() => mem.tryAppend('1'));
  assert.deepEqual(refused.details, { used: text.length + 4, limit: 50, needed: 2 });
  assert.equal(await textOf(dir), text, 'the log is as it was');
});

test('a fork past the quota is refused with quota-exceeded and creates nothing; one that fits is made', async (t) => {
  const { mem, dir } = await openLog(t, { quota: 100 });
  mem.appendBatch(Array.from({ length: 5 }, () => EVENT)); // 55 bytes
  const whole = quotaError(() => mem.forkLog('pathway', 'copy'));
  assert.deepEqual(whole.details, { used: 5 * LINE, limit: 100, needed: 5 * LINE }, 'needed: the bytes of the copy');
  assert.equal(whole.message, quotaMessage(whole.details));
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl'], 'nothing was created');
  assert.deepEqual(mem.log('copy').replay(), []);

  // Up to a cursor after two lines: 22 bytes fit (55 + 22 <= 100), twice;
  // a third copy would not (77 + 22 = 99 fits, 99 + 22 does not).
  const two = mem.replayPage(null, 2 * LINE).next;
  assert.equal(mem.forkLog('pathway', 'first-two', two), 2 * LINE);
  assert.deepEqual(mem.log('first-two').replay(), oks(EVENT, EVENT));
  assert.equal(mem.forkLog('pathway', 'again', two), 2 * LINE);
  const third = quotaError(() => mem.forkLog('pathway', 'third', two));
  assert.deepEqual(third.details, { used: 99, limit: 100, needed: 2 * LINE });
  assert.deepEqual(await namesIn(dir), ['again.jsonl', 'first-two.jsonl', 'pathway.jsonl']);

  // Deleting a log makes room for the fork.
  mem.deleteLog('again');
  assert.equal(mem.forkLog('pathway', 'third', two), 2 * LINE);
});
