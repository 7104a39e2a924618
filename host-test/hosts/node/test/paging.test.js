// Paged replay: every record exactly once; a kept cursor reads only what
// was appended later; a tail is judged but not consumed; stale cursors fail.
import assert from 'node:assert/strict';
import { appendFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { LogError, open } from '../pathway.js';
import { freshDir, logError, oks } from './helpers.js';

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

test('a cursor that is not one is invalid; after a compaction it is stale', async (t) => {
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
  for (const cursor of [middle, end, last]) {
    const stale = logError(() => log.replayPage(cursor, 10));
    assert.equal(stale.code, 'stale-cursor');
    assert.equal(
      stale.message,
      'the cursor no longer fits the log: it was made on another file (compacted or repaired since?); replay again from the beginning',
    );
  }
  assert.deepEqual(log.replay(), oks('{"sum":6}'));
});
