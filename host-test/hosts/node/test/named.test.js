// Named logs (`memory.log(name)`), `last`, `endCursor` and the listing of
// the grant's logs (`logs`, `logsPage`): one file `<name>.jsonl` per log in
// the same directory and instance, the same operations and errors as the
// default log. Then `forkLog`, `deleteLog` and the `log` open option.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { LogError, NamedLog, OPEN_HANDLES, Trap, open } from '../pathway.js';
import { CORRUPT, freshDir, logError, namesIn, oks, pageEnd, textOf } from './helpers.js';

/** A directory log for `t` in a fresh directory (or `dir`), closed after it. */
async function openLog(t, dir) {
  const where = dir ?? (await freshDir(t));
  const mem = await open(where);
  t.after(() => mem.close());
  return { mem, dir: where };
}

/** Open file descriptors of this process (Linux). */
async function openFds() {
  return (await readdir('/proc/self/fd')).length;
}

/**
 * `last(n).entries` is the end of `replay()`: the same records, and the
 * same damaged lines except that, read backwards, a damaged line has no
 * line number (0) and its message names it by its offset instead.
 */
function assertLastIsEndOfReplay(recent, replayed, n) {
  const end = replayed.slice(Math.max(0, replayed.length - n));
  assert.equal(recent.entries.length, end.length, `last(${n}) gives ${end.length} entries`);
  recent.entries.forEach((got, i) => {
    const want = end[i];
    assert.equal(got.tag, want.tag, `entry ${i} of last(${n})`);
    if (want.tag === 'ok') {
      assert.deepEqual(got, want);
    } else {
      const { message, ...rest } = got.val;
      const { message: _, ...wanted } = want.val;
      assert.deepEqual(rest, { ...wanted, line: 0 }, `damaged entry ${i} of last(${n})`);
      assert.ok(message.startsWith(`line at byte offset ${want.val.offset}: `), message);
      assert.ok(message.includes(want.val.reason), message);
    }
  });
}

test('named logs are separate files beside the default log, each with its own records', async (t) => {
  const { mem, dir } = await openLog(t);
  const a = mem.log('a');
  assert.ok(a instanceof NamedLog);
  assert.equal(a.name, 'a');
  assert.deepEqual(await namesIn(dir), [], 'opening a named log creates nothing');
  assert.deepEqual(a.replay(), [], 'a log not written yet reads as empty');
  a.appendBatch(['1', '{"two":2}']);
  a.tryAppend('{\n  "three": 3\n}');
  mem.log('thread-42').tryAppend('"other"');
  mem.tryAppend('"default"');
  assert.deepEqual(await namesIn(dir), ['a.jsonl', 'pathway.jsonl', 'thread-42.jsonl']);
  assert.equal(await textOf(dir, 'a.jsonl'), '1\n{"two":2}\n{  "three": 3}\n');
  assert.equal(await textOf(dir, 'thread-42.jsonl'), '"other"\n');
  assert.equal(await textOf(dir), '"default"\n');
  assert.deepEqual(mem.log('a').replay(), oks('1', '{"two":2}', '{  "three": 3}'), 'a second handle object, the same log');
  assert.deepEqual(mem.replay(), oks('"default"'));

  // The same refusals as the default log, with the same details and message.
  for (const [call, args] of [['tryAppend', ['{"op":']], ['appendBatch', [['1', '[1,']]]]) {
    const named = logError(() => a[call](...args));
    const plain = logError(() => mem[call](...args));
    assert.ok(named instanceof LogError);
    assert.equal(named.code, 'invalid-json');
    assert.equal(named.message, plain.message);
    assert.deepEqual(named.details, plain.details);
  }
  assert.equal(await textOf(dir, 'a.jsonl'), '1\n{"two":2}\n{  "three": 3}\n', 'refused calls wrote nothing');

  // Pages, sync, check, compact, repair: on the named log's file only.
  const pages = [];
  let cursor = null;
  for (;;) {
    const page = a.replayPage(cursor, 1);
    pages.push(...page.entries);
    cursor = page.next;
    if (page.atEnd) {
      break;
    }
  }
  assert.deepEqual(pages, oks('1', '{"two":2}', '{  "three": 3}'));
  a.sync();
  assert.equal(a.check().records, 3);
  const report = a.compact(['{"sum":6}'], cursor);
  assert.equal(report.snapshotRecords, 1);
  assert.deepEqual(a.replay(), oks('{"sum":6}'));
  assert.deepEqual(a.check().checksum, { state: 'verified', bytes: 10 });
  await writeFile(path.join(dir, 'b.jsonl'), CORRUPT);
  const repaired = mem.log('b').repair();
  assert.equal(repaired.removed.length, 3);
  assert.deepEqual(mem.log('b').check().damaged, []);
  assert.deepEqual(mem.replay(), oks('"default"'), 'the default log is untouched');
  assert.deepEqual(await namesIn(dir), [
    'a.jsonl', 'a.jsonl.moved', 'a.jsonl.sha256', 'b.jsonl', 'b.jsonl.quarantine', 'b.jsonl.sha256', 'pathway.jsonl',
    'thread-42.jsonl',
  ], "a compaction's side files are <name>.jsonl.sha256 and <name>.jsonl.moved; a repair's .sha256 and .quarantine");
});

test('logs lists the logs in name order, never side files; logsPage pages them', async (t) => {
  const { mem, dir } = await openLog(t);
  assert.deepEqual(mem.logs(), [], 'an empty grant has no logs');
  assert.deepEqual(mem.logsPage(null, 10), { logs: [], next: null });
  for (const name of ['zeta', 'B', 'alpha', 'a-b']) {
    mem.log(name).tryAppend(`"${name}"`);
  }
  mem.tryAppend('{"n":1}');
  // Side files of a compaction, a repair and a lock, and other files.
  mem.log('alpha').compact(['"folded"'], pageEnd(mem.log('alpha')));
  await writeFile(path.join(dir, 'zeta.jsonl'), '"zeta"\nnot json\n');
  mem.log('zeta').repair();
  await writeFile(path.join(dir, 'B.jsonl.lock'), '');
  await writeFile(path.join(dir, 'alpha.jsonl.compact.1234'), '"left by a crash"\n');
  await writeFile(path.join(dir, 'notes.txt'), 'not a log\n');
  await writeFile(path.join(dir, 'x.json'), '1\n');
  await mkdir(path.join(dir, 'sub'));
  assert.deepEqual(await namesIn(dir), [
    'B.jsonl', 'B.jsonl.lock', 'a-b.jsonl', 'alpha.jsonl', 'alpha.jsonl.compact.1234', 'alpha.jsonl.moved',
    'alpha.jsonl.sha256', 'notes.txt', 'pathway.jsonl',
    'sub', 'x.json', 'zeta.jsonl', 'zeta.jsonl.quarantine', 'zeta.jsonl.sha256',
  ]);

  const all = [
    { name: 'B', bytes: 4 },
    { name: 'a-b', bytes: 6 },
    { name: 'alpha', bytes: 9 },
    { name: 'pathway', bytes: 8 },
    { name: 'zeta', bytes: 7 },
  ];
  assert.deepEqual(mem.logs(), all, 'by the bytes of the names; the default log is `pathway`');
  assert.deepEqual(mem.logsPage(), { logs: all, next: null });

  // One at a time: each page's `next` is the `after` of the next page.
  const walked = [];
  let after = null;
  for (let i = 0; i < 10; i += 1) {
    const page = mem.logsPage(after, 1);
    assert.ok(page.logs.length <= 1);
    walked.push(page);
    if (page.next === null) {
      break;
    }
    after = page.next;
  }
  assert.deepEqual(walked.flatMap((p) => p.logs), all);
  assert.deepEqual(walked.map((p) => p.next), ['B', 'a-b', 'alpha', 'pathway', null]);
  assert.deepEqual(mem.logsPage('alpha', 2), { logs: all.slice(3, 5), next: null });
  assert.deepEqual(mem.logsPage('a-b', 2), { logs: all.slice(2, 4), next: 'pathway' });
  assert.deepEqual(mem.logsPage('zz', 5), { logs: [], next: null });
  assert.throws(() => mem.logsPage(null, -1), RangeError);
  assert.throws(() => mem.logsPage(3, 1), TypeError);
});

test('a bad name throws invalid-name when the log is opened, and creates nothing', async (t) => {
  const { mem, dir } = await openLog(t);
  const messages = {};
  for (const name of ['', 'a/b', 'a\\b', '.x', 'x.jsonl', 'x.jsonl.y', 'tab\there', 'x'.repeat(201)]) {
    const error = logError(() => mem.log(name));
    assert.ok(error instanceof LogError, JSON.stringify(name));
    assert.equal(error.code, 'invalid-name', JSON.stringify(name));
    assert.equal(error.details, null);
    assert.match(error.message, /^the log name .* cannot be used: /);
    messages[name] = error.message;
  }
  assert.equal(
    messages['a/b'],
    'the log name "a/b" cannot be used: it contains a path separator (`/` or `\\`); use 1 to 200 bytes of printable text without `/`, `\\` or `.jsonl`, not starting with `.` (a thread or session id such as "thread-42" fits)',
  );
  assert.throws(() => mem.log(42), TypeError);
  assert.deepEqual(await namesIn(dir), [], 'no file, no directory');
  // The longest name that fits, and the instance still works.
  mem.log('x'.repeat(200)).tryAppend('1');
  mem.tryAppend('2');
  assert.deepEqual(await namesIn(dir), ['pathway.jsonl', `${'x'.repeat(200)}.jsonl`]);
});

test('last(n) is the end of replay(), a damaged line and an unterminated last line included', async (t) => {
  const { mem, dir } = await openLog(t);
  // CORRUPT: a record, invalid UTF-8, not JSON, a record, a torn tail.
  await writeFile(path.join(dir, 'pathway.jsonl'), CORRUPT);
  await writeFile(path.join(dir, 'torn.jsonl'), CORRUPT);
  await writeFile(path.join(dir, 'open.jsonl'), '1\nnot json\n{"unterminated":true}');
  for (const log of [mem, mem.log('torn'), mem.log('open')]) {
    const replayed = log.replay();
    for (const n of [0, 1, 2, 3, 5, 1000]) {
      assertLastIsEndOfReplay(log.last(n), replayed, n);
    }
  }
  assert.deepEqual(mem.log('open').last(1).entries, oks('{"unterminated":true}'), 'a record without its newline');
  const [damaged, unterminated] = mem.log('open').last(2).entries;
  assert.deepEqual(damaged, {
    tag: 'err',
    val: {
      line: 0,
      offset: 2,
      length: 8,
      torn: false,
      problem: 'invalid-json',
      reason: 'not exactly one JSON value: expected ident at byte 1 of the line',
      message: 'line at byte offset 2: not exactly one JSON value: expected ident at byte 1 of the line; skipped, the other records are unaffected',
    },
  });
  assert.deepEqual(unterminated, { tag: 'ok', val: '{"unterminated":true}' });
  const torn = mem.last(1).entries[0];
  assert.equal(torn.tag, 'err');
  assert.equal(torn.val.torn, true);
  assert.equal(torn.val.line, 0);
  assert.equal(torn.val.offset, 66);
  assert.deepEqual(mem.log('empty').last(3), { entries: [], next: mem.log('empty').endCursor() });
  assert.throws(() => mem.last(-1), RangeError);
  assert.throws(() => mem.last(2 ** 32), RangeError);
  assert.throws(() => mem.log('open').last(1.5), RangeError);
});

test('endCursor, then appends: replayPage from it gives exactly the new records; compact refuses it', async (t) => {
  const { mem, dir } = await openLog(t);
  await writeFile(path.join(dir, 'pathway.jsonl'), '1\n2\n{"partial":');
  for (const log of [mem, mem.log('a')]) {
    log.appendBatch(['"before 1"', '"before 2"']);
    const end = log.endCursor();
    assert.equal(typeof end, 'string');
    assert.equal(end, log.last(0).next);
    assert.deepEqual(log.last(0).entries, []);
    const atEnd = log.replayPage(end);
    assert.deepEqual(atEnd.entries, []);
    assert.equal(atEnd.atEnd, true);
    log.appendBatch(['"new 1"', '{"new":2}']);
    log.tryAppend('[3]');
    const page = log.replayPage(end);
    assert.deepEqual(page.entries, oks('"new 1"', '{"new":2}', '[3]'));
    assert.equal(page.tail, null);
    assert.equal(page.atEnd, true);

    // `last` cursors bind no hash of the log before them: compact refuses
    // them, and the log stays as it was.
    const before = log.replay();
    for (const cursor of [log.endCursor(), log.last(2).next, end]) {
      const stale = logError(() => log.compact(['"folded"'], cursor));
      assert.equal(stale.code, 'stale-cursor');
      assert.match(stale.message, /made by `last`/);
    }
    assert.deepEqual(log.replay(), before);
    // A cursor of a page walk compacts.
    const endBefore = log.endCursor();
    log.compact(['"folded"'], pageEnd(log));
    assert.deepEqual(log.replay(), oks('"folded"'));
    // After it, `end` (before its upto) is stale; the end cursor made at
    // its upto reads on: only what is appended later, never the snapshot.
    assert.equal(logError(() => log.replayPage(end)).code, 'stale-cursor');
    log.tryAppend('"after"');
    assert.deepEqual(log.replayPage(endBefore).entries, oks('"after"'));
  }
  assert.deepEqual(await namesIn(dir), [
    'a.jsonl', 'a.jsonl.moved', 'a.jsonl.sha256', 'pathway.jsonl', 'pathway.jsonl.moved', 'pathway.jsonl.sha256',
  ]);
});

test('a named log keeps working after a trap replaced the instance', async (t) => {
  const { mem } = await openLog(t);
  const a = mem.log('a');
  a.tryAppend('1');
  assert.throws(() => mem.append('{'), (e) => e instanceof Trap && /pathway append refused/.test(e.stderr));
  // The handle died with the instance: the next call opens it afresh.
  a.tryAppend('2');
  assert.deepEqual(a.replay(), oks('1', '2'));
  assert.deepEqual(a.last(1).entries, oks('2'));
  assert.deepEqual(mem.log('b').replay(), []);
  // Again, with several handles open.
  mem.log('b').tryAppend('"b"');
  assert.throws(() => mem.append('not json'), Trap);
  a.appendBatch(['3', '4']);
  mem.log('b').tryAppend('"b2"');
  assert.deepEqual(a.replay(), oks('1', '2', '3', '4'));
  assert.deepEqual(mem.log('b').replay(), oks('"b"', '"b2"'));
  assert.deepEqual(mem.logs().map((l) => l.name), ['a', 'b']);
});

test(`at most ${OPEN_HANDLES} named logs are open at once; close drops them all`, async (t) => {
  const { mem } = await openLog(t);
  mem.tryAppend('0');
  const base = await openFds();
  const names = Array.from({ length: OPEN_HANDLES + 44 }, (_, i) => `t${String(i).padStart(3, '0')}`);
  let most = 0;
  for (const [i, name] of names.entries()) {
    mem.log(name).tryAppend(String(i));
    if (i % 16 === 15 || i === OPEN_HANDLES - 1) {
      most = Math.max(most, (await openFds()) - base);
    }
  }
  // Each open handle holds its file (and the append twin): bounded by the
  // cap, and far fewer once the handles were all dropped at the 257th.
  assert.ok(most <= 2 * OPEN_HANDLES + 8, `at most ${most} more descriptors`);
  const after = (await openFds()) - base;
  assert.ok(after <= 2 * 44 + 8, `${after} more descriptors after the drop`);
  // A dropped handle opens again on use.
  assert.deepEqual(mem.log('t000').replay(), oks('0'));
  assert.deepEqual(mem.log(names.at(-1)).last(1).entries, oks(String(names.length - 1)));
  assert.equal(mem.logs().length, names.length + 1);
  const named = mem.log('t001');
  mem.close();
  assert.ok((await openFds()) - base <= 2, 'close released every named log');
  assert.throws(() => named.tryAppend('1'), /closed/);
  assert.throws(() => mem.log('t002'), /closed/);
});

test('forkLog copies a log to its end or up to a cursor; the two then go their own ways', async (t) => {
  const { mem, dir } = await openLog(t);
  const a = mem.log('a');
  a.appendBatch(['1', '{"two":2}', '[3]']);
  // At the end (no cursor): every byte, the new log a file of its own.
  assert.equal(mem.forkLog('a', 'whole'), 16);
  assert.equal(await textOf(dir, 'whole.jsonl'), '1\n{"two":2}\n[3]\n');
  // Up to a cursor of a page walk: the lines before it.
  const first = a.replayPage(null, 1);
  assert.deepEqual(first.entries, oks('1'));
  const second = a.replayPage(first.next, 1);
  assert.deepEqual(second.entries, oks('{"two":2}'));
  assert.equal(mem.forkLog('a', 'one', first.next), 2);
  assert.equal(mem.forkLog('a', 'two', second.next), 12);
  assert.equal(mem.forkLog('a', 'none', null), 16, '`null`: the end');
  assert.deepEqual(mem.log('one').replay(), oks('1'));
  assert.deepEqual(mem.log('two').replay(), oks('1', '{"two":2}'));

  // Appends to either log never show in the other.
  a.tryAppend('"a only"');
  mem.log('whole').appendBatch(['"whole only"']);
  assert.deepEqual(a.replay(), oks('1', '{"two":2}', '[3]', '"a only"'));
  assert.deepEqual(mem.log('whole').replay(), oks('1', '{"two":2}', '[3]', '"whole only"'));
  assert.equal(await textOf(dir, 'a.jsonl'), '1\n{"two":2}\n[3]\n"a only"\n');
  // Cursors of the source still read the source (the fork is another file).
  assert.deepEqual(a.replayPage(second.next).entries, oks('[3]', '"a only"'));

  // The default log forks by its name, and an unterminated last line stays behind.
  await writeFile(path.join(dir, 'pathway.jsonl'), '"d"\n{"torn":');
  assert.equal(mem.forkLog('pathway', 'default-copy'), 4);
  assert.deepEqual(mem.log('default-copy').replay(), oks('"d"'));
  assert.equal(await textOf(dir, 'default-copy.jsonl'), '"d"\n');
  assert.deepEqual(await namesIn(dir), [
    'a.jsonl', 'default-copy.jsonl', 'none.jsonl', 'one.jsonl', 'pathway.jsonl', 'two.jsonl', 'whole.jsonl',
  ], 'no temporary file is left');
  assert.deepEqual(mem.logs().map((l) => l.name), ['a', 'default-copy', 'none', 'one', 'pathway', 'two', 'whole']);
});

test('forkLog refuses an existing target, a missing source, a bad name and a cursor of another log', async (t) => {
  const { mem, dir } = await openLog(t);
  mem.log('a').appendBatch(['1', '2']);
  mem.log('b').appendBatch(['"b"']);
  const before = { a: await textOf(dir, 'a.jsonl'), b: await textOf(dir, 'b.jsonl') };
  const names = await namesIn(dir);

  const exists = logError(() => mem.forkLog('a', 'b'));
  assert.ok(exists instanceof LogError);
  assert.equal(exists.code, 'log-exists');
  assert.equal(exists.details, null);
  assert.match(exists.message, /"b" exists: a fork never replaces a log/);
  assert.equal(logError(() => mem.forkLog('a', 'a')).code, 'log-exists');

  const missing = logError(() => mem.forkLog('missing', 'copy'));
  assert.equal(missing.code, 'no-log');
  assert.equal(missing.details, null);
  assert.match(missing.message, /no log "missing"/);

  assert.equal(logError(() => mem.forkLog('a', 'bad/name')).code, 'invalid-name');
  assert.equal(logError(() => mem.forkLog('.x', 'copy')).code, 'invalid-name');

  // A cursor of another log (`b`'s, given for `a`), and text that is no cursor.
  const ofB = mem.log('b').replayPage(null, 1).next;
  const stale = logError(() => mem.forkLog('a', 'copy', ofB));
  assert.equal(stale.code, 'stale-cursor');
  assert.equal(logError(() => mem.forkLog('a', 'copy', 'not a cursor')).code, 'invalid-cursor');

  // A read-only grant refuses both, as every change.
  const readOnly = await open(dir, { readOnly: true });
  t.after(() => readOnly.close());
  assert.equal(logError(() => readOnly.forkLog('a', 'copy')).code, 'access-denied');
  assert.equal(logError(() => readOnly.deleteLog('a')).code, 'access-denied');

  assert.deepEqual(await namesIn(dir), names, 'nothing was created');
  assert.equal(await textOf(dir, 'a.jsonl'), before.a, 'nothing was changed');
  assert.equal(await textOf(dir, 'b.jsonl'), before.b);
  assert.deepEqual(mem.log('b').replay(), oks('"b"'));
  assert.throws(() => mem.forkLog('a', 7), TypeError);
  assert.throws(() => mem.forkLog('a', 'c', 7), TypeError);
});

test('deleteLog removes the log and its side files; again it is no-log; logs() no longer lists it', async (t) => {
  const { mem, dir } = await openLog(t);
  const b = mem.log('b');
  await writeFile(path.join(dir, 'b.jsonl'), CORRUPT);
  b.repair();
  b.compact(['"folded"'], pageEnd(b));
  b.tryAppend('"appended"'); // the handle holds the file open for appending
  mem.log('keep').tryAppend('"kept"');
  assert.deepEqual(await namesIn(dir), [
    'b.jsonl', 'b.jsonl.moved', 'b.jsonl.quarantine', 'b.jsonl.sha256', 'keep.jsonl',
  ]);
  const size = (await readFile(path.join(dir, 'b.jsonl'))).length;
  assert.deepEqual(mem.logs().map((l) => l.name), ['b', 'keep']);

  assert.equal(mem.deleteLog('b'), size, 'the bytes the log had');
  assert.deepEqual(await namesIn(dir), ['keep.jsonl'], 'the quarantine, the checksum and the moves went with it');
  assert.deepEqual(mem.logs(), [{ name: 'keep', bytes: 7 }]);

  const again = logError(() => mem.deleteLog('b'));
  assert.ok(again instanceof LogError);
  assert.equal(again.code, 'no-log');
  assert.equal(again.details, null);
  assert.match(again.message, /no log "b" to delete/);
  assert.equal(logError(() => mem.deleteLog('never')).code, 'no-log');
  assert.equal(logError(() => mem.deleteLog('../x')).code, 'invalid-name');
  assert.throws(() => mem.deleteLog(1), TypeError);

  // The same name, through the handle object kept from before: a new log
  // (deleteLog dropped this Memory's handle, so no `deleted` here).
  assert.deepEqual(b.replay(), []);
  b.tryAppend('"new"');
  assert.equal(await textOf(dir, 'b.jsonl'), '"new"\n');
  assert.deepEqual(mem.logs().map((l) => l.name), ['b', 'keep']);
  // The default log, by its name.
  mem.tryAppend('1');
  assert.equal(mem.deleteLog('pathway'), 2);
  assert.deepEqual(mem.replay(), []);
  assert.deepEqual(await namesIn(dir), ['b.jsonl', 'keep.jsonl']);
});

test('an appender in another Memory gets deleted once, stores nothing, then starts the log anew', async (t) => {
  const dir = await freshDir(t);
  const { mem: deleter } = await openLog(t, dir);
  const { mem: appender } = await openLog(t, dir);
  appender.log('t').appendBatch(['1', '2']);
  deleter.log('t').tryAppend('3');
  assert.equal(deleter.deleteLog('t'), 6);
  assert.deepEqual(await namesIn(dir), []);

  const gone = logError(() => appender.log('t').tryAppend('4'));
  assert.ok(gone instanceof LogError);
  assert.equal(gone.code, 'deleted');
  assert.equal(gone.details, null);
  assert.deepEqual(await namesIn(dir), [], 'the deleted log was not created again');
  assert.deepEqual(appender.logs(), []);

  // Its next append creates the log anew: one record.
  appender.log('t').tryAppend('5');
  assert.equal(await textOf(dir, 't.jsonl'), '5\n');
  assert.deepEqual(deleter.log('t').replay(), oks('5'));
  // A batch is refused alike, all of it.
  deleter.log('u').tryAppend('"u"');
  appender.log('u').replay();
  appender.log('u').tryAppend('"u2"');
  deleter.deleteLog('u');
  assert.equal(logError(() => appender.log('u').appendBatch(['1', '2'])).code, 'deleted');
  assert.deepEqual(await namesIn(dir), ['t.jsonl']);
});

test('open with `log` makes NAME.jsonl the Memory\'s own log; a bad name fails the open', async (t) => {
  const dir = await freshDir(t);
  const mem = await open(dir, { log: 'thread-7' });
  t.after(() => mem.close());
  assert.equal(mem.settings.logName, 'thread-7.jsonl');
  assert.equal(mem.logPath, path.join(dir, 'thread-7.jsonl'));
  mem.tryAppend('1');
  mem.appendBatch(['2', '3']);
  assert.deepEqual(await namesIn(dir), ['thread-7.jsonl']);
  assert.equal(await textOf(dir, 'thread-7.jsonl'), '1\n2\n3\n');
  assert.deepEqual(mem.logs(), [{ name: 'thread-7', bytes: 6 }]);
  // The same file as the named log of that name.
  const { mem: other } = await openLog(t, dir);
  assert.deepEqual(other.log('thread-7').replay(), oks('1', '2', '3'));

  for (const name of ['', 'a/b', '.x', 'x.jsonl']) {
    await assert.rejects(open(dir, { log: name }), (e) => {
      assert.ok(e instanceof LogError, JSON.stringify(name));
      assert.equal(e.code, 'invalid-name');
      assert.match(e.message, /^the log name .* cannot be used: /);
      return true;
    });
  }
  await assert.rejects(open(dir, { log: 'a', logName: 'a.jsonl' }), (e) => e instanceof LogError && e.code === 'invalid-config');
  await assert.rejects(open(dir, { log: 7 }), TypeError);
  // On a stream: the component's refusal, before it connects.
  await assert.rejects(
    open({ nats: 'nats://127.0.0.1:1', stream: 's', log: 'a' }),
    (e) => e instanceof LogError && e.code === 'io' && /directories only/.test(e.message),
  );
  assert.deepEqual(await namesIn(dir), ['thread-7.jsonl'], 'the refused opens created nothing');
});
