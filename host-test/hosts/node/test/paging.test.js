// Paged replay: every record exactly once; a kept cursor reads only what
// was appended later, also across compactions (a cursor at or after a
// compaction's `upto` reads on in the new log, one before it is stale); a
// tail is judged but not consumed; stale cursors fail.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { LogError, open } from '../pathway.js';
import { freshDir, logError, namesIn, oks } from './helpers.js';

const MAX_BYTES = 20;

/** Reads every page from `cursor`; returns the pages. */
function allPages(log, cursor, maxBytes = MAX_BYTES) {
  const pages = [];
  for (let i = 0; i < 10000; i++) {
    const page = log.replayPage(cursor, maxBytes);
    pages.push(page);
    cursor = page.next;
    if (page.atEnd) {
      return pages;
    }
  }
  assert.fail('replay-page never reached the end');
}

const lineBytes = (entry) => Buffer.byteLength(entry.val) + 1;

test('paged replay with small max-bytes visits every record exactly once', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  const records = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i }));
  log.appendBatch(records);
  const size = (await stat(path.join(dir, 'pathway.jsonl'))).size;
  assert.equal(size, records.reduce((n, r) => n + r.length + 1, 0));

  const pages = allPages(log, null);
  assert.deepEqual(pages.flatMap((p) => p.entries), oks(...records));
  assert.ok(pages.length >= Math.ceil(size / (MAX_BYTES + 9)), `only ${pages.length} pages`);
  for (const [i, page] of pages.entries()) {
    assert.ok(page.entries.length >= 1, `page ${i} is empty`);
    // A page stops once it has read about max-bytes: all but its last
    // line stay under the limit.
    const before = page.entries.slice(0, -1).reduce((n, e) => n + lineBytes(e), 0);
    assert.ok(before < MAX_BYTES, `page ${i} read ${before} bytes before its last line`);
    assert.equal(page.tail, null);
    assert.equal(page.atEnd, i === pages.length - 1);
  }
  // max-bytes 0 still makes progress: one line.
  const one = log.replayPage(null, 0);
  assert.deepEqual(one.entries, oks(records[0]));
  assert.equal(one.atEnd, false);
  // The generator gives the same sequence and returns the end cursor.
  const gen = log.entries({ maxBytes: MAX_BYTES });
  const seen = [];
  let step = gen.next();
  while (!step.done) {
    seen.push(step.value);
    step = gen.next();
  }
  assert.deepEqual(seen, oks(...records));
  assert.equal(step.value, pages.at(-1).next);
});

test('the cursor of the last page reads only records appended later', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  const first = Array.from({ length: 25 }, (_, i) => `{"first":${i}}`);
  log.appendBatch(first);
  const end = allPages(log, null).at(-1).next;

  // Nothing new: an empty page at the end, same cursor.
  assert.deepEqual(log.replayPage(end, MAX_BYTES), { entries: [], tail: null, next: end, atEnd: true });

  // Appended later, by this instance and by another one (a restart).
  log.append('{"later":1}');
  const other = await open(dir);
  t.after(() => other.close());
  other.appendBatch(['{"later":2}', '{"later":3}']);
  const later = allPages(log, end);
  assert.deepEqual(later.flatMap((p) => p.entries), oks('{"later":1}', '{"later":2}', '{"later":3}'));
  assert.deepEqual(allPages(other, end).flatMap((p) => p.entries), later.flatMap((p) => p.entries));
});

test('an unterminated last line is the tail: judged, not consumed', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.appendBatch(['{"a":1}', '{"b":2}']);
  await appendFile(path.join(dir, 'pathway.jsonl'), '[7]');

  const page = log.replayPage(null, 1 << 20);
  assert.deepEqual(page.entries, oks('{"a":1}', '{"b":2}'));
  assert.deepEqual(page.tail, { tag: 'ok', val: '[7]' });
  assert.equal(page.atEnd, true);

  // The writer ends the line (the next append starts a new one): read from
  // the cursor, the former tail now comes as an entry, then the record.
  log.append('"after"');
  const next = log.replayPage(page.next, 1 << 20);
  assert.deepEqual(next.entries, oks('[7]', '"after"'));
  assert.equal(next.tail, null);
  assert.equal(next.atEnd, true);
});

test('a cursor that is not one is invalid; after a compaction one before its upto is stale, one at or after it reads on', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  log.appendBatch(['1', '2', '3']);
  const invalid = logError(() => log.replayPage('junk', 10));
  assert.ok(invalid instanceof LogError);
  assert.equal(invalid.code, 'invalid-cursor');
  assert.equal(
    invalid.message,
    '"junk" is not a cursor of this log; pass a cursor returned by replay-page, or none to start at the beginning',
  );
  const middle = log.replayPage(null, 1).next;
  const end = allPages(log, null).at(-1).next;
  const last = log.endCursor();
  assert.deepEqual(log.replayPage(last), { entries: [], tail: null, next: last, atEnd: true });
  log.compact(['{"sum":6}'], end);
  assert.deepEqual(log.replay(), oks('{"sum":6}'));

  // `middle` points into what the snapshot folded: stale.
  const folded =
    'the cursor no longer fits the log: it points into what a compaction folded into its snapshot; replay again from the beginning';
  const stale = logError(() => log.replayPage(middle, 10));
  assert.equal(stale.code, 'stale-cursor');
  assert.equal(stale.message, folded);
  // `end` is the compaction's `upto`, `last` the same place made by `last`:
  // both read on in the new log, never the snapshot: nothing yet, then
  // exactly what is appended after the compaction.
  for (const cursor of [end, last]) {
    const page = log.replayPage(cursor, 10);
    assert.deepEqual(page.entries, [], 'nothing after the compaction yet');
    assert.equal(page.tail, null);
    assert.equal(page.atEnd, true);
  }
  log.appendBatch(['4', '5']);
  for (const cursor of [end, last]) {
    assert.deepEqual(allPages(log, cursor).flatMap((p) => p.entries), oks('4', '5'));
  }
  assert.equal(logError(() => log.replayPage(middle, 10)).message, folded, 'still stale after the appends');
  // A cursor that read on binds no hash of the snapshot before it: compact
  // refuses it, as it refuses the old file's cursor; the log is as it was.
  const movedOn = allPages(log, end).at(-1).next;
  for (const cursor of [movedOn, end]) {
    assert.equal(logError(() => log.compact(['{"sum":15}'], cursor)).code, 'stale-cursor');
  }
  assert.deepEqual(log.replay(), oks('{"sum":6}', '4', '5'));

  // A repair of a file log still makes every earlier cursor stale: moved
  // ones, and those of the file it replaced.
  const beforeRepair = allPages(log, null).at(-1).next;
  await appendFile(path.join(dir, 'pathway.jsonl'), 'not json\n');
  assert.equal(log.repair().removed.length, 1);
  const staleBy = (reason) =>
    `the cursor no longer fits the log: ${reason}; replay again from the beginning`;
  // No compaction leads from their files to the repaired one.
  const ofReplaced = staleBy(
    'it was made on an earlier file of the log, and no compaction recorded where it moved: a repair since, or more than 128 compactions',
  );
  // The repaired file may get the inode of the first one: a cursor made
  // on that file is then checked in place, and its bytes differ.
  const changed = staleBy('the bytes before the cursor changed');
  for (const [cursor, messages] of [
    [end, [ofReplaced, changed]],
    [last, [ofReplaced, changed]],
    [movedOn, [ofReplaced, changed]],
    [beforeRepair, [ofReplaced, changed]],
  ]) {
    const repaired = logError(() => log.replayPage(cursor, 10));
    assert.equal(repaired.code, 'stale-cursor');
    assert.ok(messages.includes(repaired.message), repaired.message);
  }
  assert.deepEqual(log.replay(), oks('{"sum":6}', '4', '5'));
});

test('a cursor at offset 0 of an existing log moves past a later snapshot; one made before the log existed reads it', async (t) => {
  const dir = await freshDir(t);
  const log = await open(dir);
  t.after(() => log.close());
  // No file yet: this cursor is the start, wherever the log begins later.
  const beforeAny = log.endCursor();
  assert.deepEqual(log.replayPage(beforeAny), { entries: [], tail: null, next: beforeAny, atEnd: true });
  // An empty file: cursors at its offset 0, one of a page (which compacts)
  // and one of `last`.
  await writeFile(path.join(dir, 'pathway.jsonl'), '');
  const atZero = log.replayPage(null);
  assert.deepEqual(atZero.entries, []);
  const lastAtZero = log.endCursor();
  log.appendBatch(['"a"', '"b"']);
  // A snapshot put before every record: upto is offset 0.
  assert.deepEqual(log.compact(['"snapshot"'], atZero.next), {
    snapshotRecords: 1, keptBytes: 8, bytesBefore: 8, bytesAfter: 19,
  });
  assert.deepEqual(log.replay(), oks('"snapshot"', '"a"', '"b"'));
  assert.deepEqual(allPages(log, beforeAny).flatMap((p) => p.entries), oks('"snapshot"', '"a"', '"b"'));
  for (const cursor of [atZero.next, lastAtZero]) {
    assert.deepEqual(allPages(log, cursor).flatMap((p) => p.entries), oks('"a"', '"b"'));
  }
});

test('a follower reads on from its kept cursor across two compactions by another Memory while records are appended: each record once, never a snapshot', async (t) => {
  const dir = await freshDir(t);
  const follower = await open(dir);
  t.after(() => follower.close());
  const compactor = await open(dir);
  t.after(() => compactor.close());
  // A third Memory, in a worker thread, appends {"seq":i} all along.
  const control = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL('./dir-appender.js', import.meta.url), { workerData: { dir, control } });
  const finished = once(worker, 'message');
  const failed = once(worker, 'error').then(([e]) => { throw e; });
  t.after(() => worker.terminate());
  const appendedNow = () => Atomics.load(control, 1);
  const waitForMore = async (more, what) => {
    const target = appendedNow() + more;
    const deadline = Date.now() + 30_000;
    while (appendedNow() < target) {
      assert.ok(Date.now() < deadline, `${what}: ${appendedNow()} appended after 30 s`);
      await Promise.race([sleep(5), failed]);
    }
  };
  const seqs = (entries) => entries.map((e) => {
    assert.equal(e.tag, 'ok', JSON.stringify(e));
    return JSON.parse(e.val).seq;
  });

  // The follower: a replayPage loop from its kept cursor until the end.
  let cursor = null;
  const received = [];
  let pages = 0;
  const follow = () => {
    for (;;) {
      const page = follower.replayPage(cursor, 200);
      pages += 1;
      received.push(...page.entries);
      cursor = page.next;
      if (page.atEnd) {
        return;
      }
    }
  };
  // The compactor's cursor after the first `lines` lines of the log, a
  // line a page (a cursor of a page walk, which compact takes), and those
  // lines.
  const cursorAfter = (lines) => {
    let at = null;
    const read = [];
    for (let i = 0; i < lines; i += 1) {
      const page = compactor.replayPage(at, 0);
      assert.equal(page.entries.length, 1);
      read.push(...page.entries);
      at = page.next;
    }
    return { at, read };
  };

  await waitForMore(50, 'before the first read');
  follow();
  // 1. Compacted up to exactly where the follower is, while appends go on:
  //    the records appended after `upto` are kept.
  const folded1 = received.length;
  const upto1 = cursorAfter(folded1);
  assert.deepEqual(upto1.read, received, 'the compactor folds what the follower read');
  await waitForMore(20, 'before the first compaction');
  const snapshot1 = JSON.stringify({ snapshot: 1, folded: folded1 });
  const report1 = compactor.compact([snapshot1], upto1.at);
  assert.equal(report1.snapshotRecords, 1);
  assert.ok(report1.keptBytes > 0, 'records appended after upto were kept');
  await waitForMore(20, 'after the first compaction');
  follow();
  assert.ok(received.length >= folded1 + 40, `${received.length - folded1} records read after the first compaction`);

  // 2. Compacted up to 10 records before where the follower is (the
  //    snapshot's line, then the records the first compaction kept or that
  //    came after it). A cursor kept just after the first snapshot is
  //    before this `upto`: stale after it.
  const folded2 = received.length - 10;
  const behind = cursorAfter(1);
  assert.deepEqual(behind.read, oks(snapshot1));
  const upto2 = cursorAfter(1 + folded2 - folded1);
  assert.deepEqual(seqs(upto2.read.slice(1)), Array.from({ length: folded2 - folded1 }, (_, i) => folded1 + i));
  await waitForMore(20, 'before the second compaction');
  const snapshot2 = [JSON.stringify({ snapshot: 2, folded: folded2 }), JSON.stringify({ snapshot: 2, part: 2 })];
  const report2 = compactor.compact(snapshot2, upto2.at);
  assert.equal(report2.snapshotRecords, 2);
  await waitForMore(20, 'after the second compaction');
  follow();

  Atomics.store(control, 0, 1);
  const [{ appended }] = await Promise.race([finished, failed]);
  follow();

  // Each appended record once, in order; no snapshot among them.
  assert.deepEqual(received.filter((e) => e.val.includes('snapshot')), [], 'the follower never read a snapshot');
  assert.deepEqual(seqs(received), appended, 'every record once, in the order appended');
  assert.deepEqual(received, oks(...appended.map((seq) => JSON.stringify({ seq }))));
  // The log is the second snapshot and the records after its upto.
  assert.deepEqual(compactor.replay(), oks(...snapshot2, ...appended.slice(folded2).map((seq) => JSON.stringify({ seq }))));
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl', 'pathway.jsonl.moved', 'pathway.jsonl.sha256']);
  const stale = logError(() => follower.replayPage(behind.at));
  assert.equal(stale.code, 'stale-cursor');
  assert.match(stale.message, /it points into what a compaction folded into its snapshot/);
  console.log(`follower: ${appended.length} records appended, each read once in ${pages} pages across 2 compactions`);
});
