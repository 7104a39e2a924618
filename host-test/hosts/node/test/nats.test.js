// A log kept in a NATS JetStream stream (`open({ nats, stream, replicas })`,
// the stream build of the component on nats.js's transport) against real
// nats-server processes: the same Memory and methods as a directory log,
// with the log's rules, errors and messages the component's. Skipped, with
// the reason, when no nats-server can be had (see nats-server.js).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NatsTransport } from '../nats.js';
import { LogError, Trap, open } from '../pathway.js';
import { freshDir, logError, oks, pageEnd } from './helpers.js';
import { NatsServer, freePort, natsSkip, noteSkipped } from './nats-server.js';

function natsTest(name, body) {
  noteSkipped(name);
  test(name, { skip: natsSkip }, body);
}

/** A stream log for `t`, closed after it. */
async function openStream(t, options) {
  const log = await open({ timeoutMs: 10_000, ...options });
  t.after(() => log.close());
  return log;
}

/** A directory log for `t` (the same component's directory build), to compare with. */
async function openDir(t, options) {
  const log = await open(await freshDir(t), options);
  t.after(() => log.close());
  return log;
}

/** A plain NATS client for `t`: to publish by hand and look at the stream. */
async function client(t, server) {
  const nc = await connect({ servers: server.url() });
  t.after(() => nc.close());
  return { js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

/** Messages per subject of stream `name`. */
async function counts(jsm, name) {
  const info = await jsm.streams.info(name, { subjects_filter: '>' });
  return info.state.subjects ?? {};
}

const EVENTS = [
  '{"op":"remember","key":"user","value":"Ada"}',
  '[1,2,3]',
  '"a string is a record too"',
  '42',
  'null',
];

natsTest('round trip over a stream: appends, replay, pages, compact, check, repair, as a directory log', async (t) => {
  const server = await NatsServer.start(t);
  const { jsm } = await client(t, server);
  const log = await openStream(t, { nats: server.url(), stream: 'round-trip', replicas: 1 });
  assert.equal(log.settings.logName, 'round-trip');
  assert.equal(log.settings.sync, 'ack');
  assert.equal(log.settings.maxLine, 1048576);
  assert.deepEqual(log.stream, { name: 'round-trip', location: server.url() });
  assert.equal(log.dir, null);
  assert.equal(log.logPath, null);
  assert.deepEqual(log.replay(), [], 'a new stream replays as an empty list');

  for (const event of EVENTS.slice(0, 3)) {
    log.append(event);
  }
  log.tryAppend(EVENTS[3]);
  log.appendBatch(EVENTS.slice(4).concat(['{"n":1}', '{\n  "n": 2\n}']));
  const stored = [...EVENTS, '{"n":1}', '{  "n": 2}'];
  assert.deepEqual(log.replay(), oks(...stored), 'in order; pretty JSON stored on one line');
  assert.equal((await counts(jsm, 'round-trip'))['pathway.round-trip.events'], stored.length, 'one message per event');
  log.sync();

  // Refusals: the component's causes and messages, the same as a
  // directory log's, and nothing stored.
  const dirLog = await openDir(t);
  for (const [call, args] of [['tryAppend', ['{"op":']], ['appendBatch', [['1', '[1,', '2']]], ['appendBatch', [['1', '']]]]) {
    const onStream = logError(() => log[call](...args));
    const onDir = logError(() => dirLog[call](...args));
    assert.equal(onStream.code, 'invalid-json');
    assert.equal(onStream.message, onDir.message);
    assert.deepEqual(onStream.details, onDir.details);
  }
  assert.deepEqual(log.replay(), oks(...stored), 'the refused calls stored nothing');
  assert.equal((await counts(jsm, 'round-trip'))['pathway.round-trip.events'], stored.length);

  // `append` traps on a refused event; the next call gets a fresh instance
  // (which connects again) and the log goes on.
  assert.throws(() => log.append('{'), (e) => e instanceof Trap && /pathway append refused/.test(e.stderr));
  log.tryAppend('"after the trap"');
  stored.push('"after the trap"');

  // Pages: the same entries, a cursor continues where the last page ended.
  for (let i = 0; i < 300; i += 1) {
    stored.push(JSON.stringify({ i, pad: 'x'.repeat(i % 50) }));
  }
  log.appendBatch(stored.slice(-300));
  assert.deepEqual(log.replay(), oks(...stored));
  const paged = [];
  let cursor = null;
  let pages = 0;
  for (;;) {
    const page = log.replayPage(cursor, 512);
    pages += 1;
    paged.push(...page.entries);
    assert.equal(page.tail, null, 'a stream has no torn tail');
    cursor = page.next;
    if (page.atEnd) {
      break;
    }
  }
  assert.deepEqual(paged, oks(...stored));
  assert.ok(pages > 20, `${pages} pages of 512 bytes`);
  assert.deepEqual([...log.entries({ maxBytes: 4096 })], oks(...stored));
  log.tryAppend('"later"');
  stored.push('"later"');
  const later = log.replayPage(cursor, 512);
  assert.deepEqual(later.entries, oks('"later"'), 'a kept cursor reads only what came after');
  assert.equal(later.atEnd, true);
  assert.equal(logError(() => log.replayPage('not a cursor')).code, 'invalid-cursor');

  // Another instance (a restart, another process) reads the same log.
  const again = await openStream(t, { nats: server.url(), stream: 'round-trip' });
  assert.deepEqual(again.replay(), oks(...stored));

  // check on a clean log.
  const checked = log.check();
  assert.equal(checked.records, stored.length);
  assert.deepEqual(checked.damaged, []);
  assert.equal(checked.tornTail, false);

  // compact: the snapshot replaces everything up to the cursor, the rest stays.
  const upto = pageEnd(log);
  log.tryAppend('"kept after the cursor"');
  const report = log.compact(['{"state":"folded"}', '{"state":"two"}'], upto);
  assert.equal(report.snapshotRecords, 2);
  assert.deepEqual(log.replay(), oks('{"state":"folded"}', '{"state":"two"}', '"kept after the cursor"'));
  assert.deepEqual(again.replay(), oks('{"state":"folded"}', '{"state":"two"}', '"kept after the cursor"'),
    'the other instance sees the compaction');
  // A cursor before the compaction's upto is stale; upto itself reads on,
  // in either instance: only what came after it, never the snapshot.
  const before = logError(() => log.replayPage(cursor));
  assert.equal(before.code, 'stale-cursor', 'a cursor before the compaction\'s upto');
  assert.match(before.message, /it points into what a compaction of the stream folded into its snapshot/);
  for (const reader of [log, again]) {
    const readOn = reader.replayPage(upto);
    assert.deepEqual(readOn.entries, oks('"kept after the cursor"'), 'the compaction\'s own cursor reads on');
    assert.equal(readOn.atEnd, true);
  }
  assert.equal(logError(() => log.compact(['1'], upto)).code, 'stale-cursor');
  const refusedSnapshot = logError(() => log.compact(['1', '{'], pageEnd(log)));
  assert.equal(refusedSnapshot.code, 'invalid-json');
  assert.equal(refusedSnapshot.details.index, 1);
  assert.deepEqual(log.replay(), oks('{"state":"folded"}', '{"state":"two"}', '"kept after the cursor"'),
    'a refused compaction leaves the log as it was');
  const events = (await counts(jsm, 'round-trip'))['pathway.round-trip.events'];
  assert.equal(events, 1, `the compacted events were purged from the stream (${events} left)`);

  // repair of a clean log changes nothing.
  const repaired = log.repair();
  assert.deepEqual(repaired.removed, []);
  assert.equal(log.check().records, 3);

  // appendLines works on a stream log too.
  assert.deepEqual(await log.appendLines(['{"line":1}', '', '{"line":2}']), { lines: 3, stored: 2 });
  assert.deepEqual(log.replay().slice(-2), oks('{"line":1}', '{"line":2}'));
});

natsTest('last, endCursor and logs on a stream; a named log is directory-only (io)', async (t) => {
  const server = await NatsServer.start(t);
  const log = await openStream(t, { nats: server.url(), stream: 'recent', replicas: 1 });
  assert.deepEqual(log.last(3).entries, [], 'a new stream has no records');
  log.appendBatch(['1', '{"two":2}', '[3]', '"four"']);
  assert.deepEqual(log.last(2).entries, oks('[3]', '"four"'));
  assert.deepEqual(log.last(1000).entries, log.replay());
  const end = log.endCursor();
  assert.equal(end, log.last(0).next);
  log.appendBatch(['"five"', '6']);
  const page = log.replayPage(end);
  assert.deepEqual(page.entries, oks('"five"', '6'), 'from the end cursor: only what came after');
  assert.equal(page.atEnd, true);
  assert.equal(logError(() => log.compact(['"folded"'], end)).code, 'stale-cursor', 'compact refuses a last cursor');
  log.compact(['"folded"'], pageEnd(log));
  assert.deepEqual(log.last(5).entries, oks('"folded"'));

  const listed = log.logs();
  assert.deepEqual(listed.map((l) => l.name), ['recent'], 'the stream is its one log');
  assert.equal(typeof listed[0].bytes, 'number');
  assert.deepEqual(log.logsPage(null, 1), { logs: listed, next: null });

  const named = logError(() => log.log('a'));
  assert.equal(named.code, 'io');
  assert.deepEqual(log.replay(), oks('"folded"'), 'the log goes on after the refused open');
});

natsTest('limits on a stream: maxLine and maxDepth refuse as on a directory, with the same messages', async (t) => {
  const server = await NatsServer.start(t);
  const log = await openStream(t, { nats: server.url(), stream: 'limits', replicas: 1, maxLine: 64, maxDepth: 3 });
  assert.equal(log.settings.maxLine, 64);
  assert.equal(log.settings.maxDepth, 3);
  const dirLog = await openDir(t, { maxLine: 64, maxDepth: 3 });
  const big = JSON.stringify({ pad: 'y'.repeat(100) });
  const deep = '[[[[1]]]]';
  for (const event of [big, deep]) {
    const onStream = logError(() => log.tryAppend(event));
    const onDir = logError(() => dirLog.tryAppend(event));
    assert.equal(onStream.code, onDir.code);
    assert.equal(onStream.message, onDir.message);
    assert.deepEqual(onStream.details, onDir.details);
  }
  assert.equal(logError(() => log.tryAppend(big)).code, 'too-large');
  assert.deepEqual(log.replay(), []);
  await assert.rejects(open({ nats: server.url(), stream: 'limits', maxLine: 'lots' }),
    (e) => e instanceof LogError && e.code === 'invalid-config');
});

natsTest('a quota on a stream: appends past it are quota-exceeded and send nothing; reading goes on', async (t) => {
  const server = await NatsServer.start(t);
  const log = await openStream(t, { nats: server.url(), stream: 'capped', replicas: 1, quota: 2000 });
  assert.equal(log.settings.quota, 2000);
  let stored = 0;
  let refused;
  while (!refused && stored < 1000) {
    try {
      log.tryAppend(`{"turn":${stored}}`);
      stored += 1;
    } catch (error) {
      refused = error;
    }
  }
  assert.ok(refused instanceof LogError, 'the quota refused an append');
  assert.equal(refused.code, 'quota-exceeded');
  const { used, limit, needed } = refused.details;
  assert.equal(limit, 2000);
  // The store counts its own bytes (headers and overhead too): `used` may
  // already be past the limit by the last append it took.
  assert.ok(used > 0 && needed > 0 && used + needed > limit, JSON.stringify(refused.details));
  assert.match(refused.message, /would pass the quota/);
  assert.ok(stored > 0);
  const replayed = log.replay();
  assert.equal(replayed.length, stored, 'nothing of the refused append was sent');
  assert.deepEqual(log.last(1).entries, oks(`{"turn":${stored - 1}}`));
  assert.equal(logError(() => log.appendBatch(['1', '2'])).code, 'quota-exceeded');
  assert.equal(log.replay().length, stored);
  const unlimited = await openStream(t, { nats: server.url(), stream: 'capped' });
  assert.equal(unlimited.settings.quota, null);
  unlimited.tryAppend('"over"');
  assert.equal(log.replay().length, stored + 1);
  await assert.rejects(open({ nats: server.url(), stream: 'capped', quota: 0 }),
    (e) => e instanceof LogError && e.code === 'invalid-config');
});

natsTest('errors at open: no server answers (io), the stream is missing (no-directory), options a stream has no use for', async (t) => {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const started = Date.now();
  const noServer = await open({ nats: url, stream: 'nobody', replicas: 1, timeoutMs: 1000 }).then(
    () => assert.fail('open succeeded with no server'),
    (e) => e,
  );
  assert.ok(noServer instanceof LogError, String(noServer));
  assert.equal(noServer.code, 'io');
  assert.ok(noServer.message.startsWith(`no NATS server answers at ${url}`), noServer.message);
  assert.ok(Date.now() - started < 8000, 'within the budget');

  const server = await NatsServer.start(t);
  const missing = await open({ nats: server.url(), stream: 'not-there' }).then(
    () => assert.fail('open succeeded on a missing stream'),
    (e) => e,
  );
  assert.ok(missing instanceof LogError, String(missing));
  assert.equal(missing.code, 'no-directory');
  assert.match(missing.message, /not-there/);

  // A stream the server will not make (R3 on a single server): io, in the server's words.
  const notMade = await open({ nats: server.url(), stream: 'r3', replicas: 3, timeoutMs: 1000 }).then(
    () => assert.fail('open made an R3 stream on one server'),
    (e) => e,
  );
  assert.ok(notMade instanceof LogError, String(notMade));
  assert.equal(notMade.code, 'io');
  assert.match(notMade.message, /replicas > 1 not supported in non-clustered mode/);

  await assert.rejects(open({ nats: server.url(), stream: 's', logName: 'x.jsonl' }), TypeError);
  await assert.rejects(open({ nats: server.url(), stream: 's', readOnly: true }), TypeError);
  await assert.rejects(open({ nats: server.url(), stream: 's', sync: 'always' }), TypeError);
  await assert.rejects(open({ nats: server.url(), stream: 's', replicas: 0 }), RangeError);
  await assert.rejects(open({ nats: server.url() }), TypeError);
  await assert.rejects(open({ stream: 's' }), TypeError);
});

natsTest('two compactions at once: the one that commits second is busy, and the log is as the first left it', async (t) => {
  const server = await NatsServer.start(t);
  const first = await openStream(t, { nats: server.url(), stream: 'race', replicas: 1 });
  first.appendBatch(['1', '2', '3']);
  const firstUpto = pageEnd(first);
  // The second log's instance publishes through a transport that lets the
  // first compaction run just before its own commit goes out: the server
  // then refuses that commit (expect-last), as when two hosts race.
  let before = null;
  const imports = NatsTransport.prototype.imports;
  NatsTransport.prototype.imports = function racing() {
    const real = imports.call(this);
    return {
      ...real,
      publish: (messages) => {
        if (before && messages.some((m) => m.topic === 'commit')) {
          const run = before;
          before = null;
          run();
        }
        return real.publish(messages);
      },
    };
  };
  t.after(() => {
    NatsTransport.prototype.imports = imports;
  });
  const second = await openStream(t, { nats: server.url(), stream: 'race' });
  const secondUpto = pageEnd(second);
  let report = null;
  before = () => {
    report = first.compact(['"first"'], firstUpto);
  };
  const busy = logError(() => second.compact(['"second"'], secondUpto));
  assert.equal(busy.code, 'busy');
  assert.match(busy.message, /committed first/);
  assert.equal(report?.snapshotRecords, 1, 'the first compaction ran in between');
  assert.deepEqual(second.replay(), oks('"first"'));
  assert.deepEqual(first.replay(), oks('"first"'));
  assert.equal(second.check().records, 1);
});

natsTest('a user the server refuses: access-denied at open; a user who may not publish events: access-denied on append', async (t) => {
  const server = await NatsServer.start(t, {
    config: (port, storeDir) => `
listen: 127.0.0.1:${port}
jetstream { store_dir: ${JSON.stringify(storeDir)} }
authorization {
  users = [
    { user: writer, password: wpass }
    { user: reader, password: rpass, permissions: { publish: { deny: ["pathway.*.events"] } } }
  ]
}
`,
  });
  const wrong = await open({ nats: server.url('writer', 'nope'), stream: 'guarded', replicas: 1 }).then(
    () => assert.fail('open succeeded with a wrong password'),
    (e) => e,
  );
  assert.ok(wrong instanceof LogError, String(wrong));
  assert.equal(wrong.code, 'access-denied');
  assert.match(wrong.message, /authorization violation/i);

  const writer = await openStream(t, { nats: server.url('writer', 'wpass'), stream: 'guarded', replicas: 1 });
  writer.tryAppend('{"by":"writer"}');
  const reader = await openStream(t, { nats: server.url('reader', 'rpass'), stream: 'guarded' });
  assert.deepEqual(reader.replay(), oks('{"by":"writer"}'));
  const denied = logError(() => reader.tryAppend('{"by":"reader"}'));
  assert.equal(denied.code, 'access-denied');
  assert.match(denied.message, /permissions violation/i);
  assert.deepEqual(writer.replay(), oks('{"by":"writer"}'), 'nothing of the refused append');
});

natsTest('a message published by hand that is not one JSON value: a damaged entry, as a damaged line of a file; repair moves it out', async (t) => {
  const server = await NatsServer.start(t);
  const { js, jsm } = await client(t, server);
  const log = await openStream(t, { nats: server.url(), stream: 'by-hand', replicas: 1 });
  log.tryAppend(EVENTS[0]);
  await js.publish('pathway.by-hand.events', new TextEncoder().encode('not json'));
  await js.publish('pathway.by-hand.events', new Uint8Array([0xff, 0xfe, 0x41]));
  log.tryAppend(EVENTS[1]);
  const headers = natsHeaders();
  headers.set('Nats-Msg-Id', 'by-hand-3');
  await js.publish('pathway.by-hand.events', new TextEncoder().encode('{"fine":true}'), { headers });

  // The same lines in a file, through the directory build.
  const dirLog = await openDir(t);
  dirLog.tryAppend(EVENTS[0]);
  const { appendFileSync } = await import('node:fs');
  appendFileSync(dirLog.logPath, Buffer.concat([Buffer.from('not json\n'), Buffer.from([0xff, 0xfe, 0x41, 0x0a])]));
  dirLog.tryAppend(EVENTS[1]);
  appendFileSync(dirLog.logPath, '{"fine":true}\n');

  const entries = log.replay();
  assert.deepEqual(entries.map((e) => e.tag), ['ok', 'err', 'err', 'ok', 'ok'], JSON.stringify(entries));
  assert.deepEqual(entries.filter((e) => e.tag === 'ok'), oks(EVENTS[0], EVENTS[1], '{"fine":true}'));
  assert.equal(entries[1].val.line, 2);
  assert.equal(entries[1].val.problem, 'invalid-json');
  assert.equal(entries[2].val.line, 3);
  assert.equal(entries[2].val.problem, 'invalid-utf8');
  assert.deepEqual(entries, dirLog.replay(), 'numbered and worded as the same lines of a file');

  const checked = log.check();
  assert.equal(checked.records, 3);
  assert.deepEqual(checked.damaged.map((d) => d.line), [2, 3]);

  const repaired = log.repair();
  assert.deepEqual(repaired.removed.map((d) => d.line), [2, 3]);
  assert.deepEqual(log.replay(), oks(EVENTS[0], EVENTS[1], '{"fine":true}'));
  assert.deepEqual(log.check().damaged, []);
  const subjects = await counts(jsm, 'by-hand');
  assert.equal(subjects['pathway.by-hand.quarantine'], 2, 'the damaged messages are in the quarantine');
});

natsTest('kill test: the server SIGKILLed mid-append and restarted; every acknowledged event replays exactly once', async (t) => {
  const server = await NatsServer.start(t);
  const stream = 'kill-test';
  // Made before the appender starts (replicas), so the appender needs none.
  const setup = await open({ nats: server.url(), stream, replicas: 1 });
  setup.close();

  const control = new Int32Array(new SharedArrayBuffer(8));
  // A budget shorter than the outage: appends during it fail with `io` and
  // are called again with the same event.
  const worker = new Worker(new URL('./nats-appender.js', import.meta.url), {
    workerData: { url: server.url(), stream, timeoutMs: 1000, control },
  });
  const finished = once(worker, 'message');
  const failed = once(worker, 'error').then(([e]) => { throw e; });
  t.after(() => worker.terminate());
  const ackedNow = () => Atomics.load(control, 1);
  const waitFor = async (n, what) => {
    const deadline = Date.now() + 60_000;
    while (ackedNow() < n) {
      assert.ok(Date.now() < deadline, `${what}: ${ackedNow()} acked after 60 s`);
      await Promise.race([sleep(10), failed]);
    }
  };

  await waitFor(300, 'before the kill');
  const beforeKill = ackedNow();
  await server.kill();
  await sleep(2500);
  const duringOutage = ackedNow();
  await server.restart();
  await waitFor(duringOutage + 300, 'after the restart');
  Atomics.store(control, 0, 1);
  const [{ acked, ioFailures, maxWaitMs, lastError }] = await Promise.race([finished, failed]);

  const log = await openStream(t, { nats: server.url(), stream });
  const replayed = log.replay();
  const seen = new Map();
  for (const entry of replayed) {
    assert.equal(entry.tag, 'ok', JSON.stringify(entry));
    const { i } = JSON.parse(entry.val);
    seen.set(i, (seen.get(i) ?? 0) + 1);
  }
  const twice = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
  const lost = acked.filter((i) => !seen.has(i));
  console.log(`kill test: ${acked.length} acked (${beforeKill} before the kill, ${duringOutage - beforeKill} during the 2.5 s outage), `
    + `1 kill, ${ioFailures} appends failed with io and were called again, max ack wait ${Math.round(maxWaitMs)} ms; `
    + `replay holds ${replayed.length}, ${lost.length} acked lost, ${twice.length} doubled`);
  if (lastError) {
    console.log(`kill test: the io message: ${lastError}`);
  }
  assert.deepEqual(lost, [], 'every acknowledged event is in the replay');
  assert.deepEqual(twice, [], 'each exactly once');
  assert.equal(replayed.length, acked.length);
  assert.deepEqual(replayed.map((e) => JSON.parse(e.val).i), acked, 'in the order acknowledged');
  assert.ok(ioFailures > 0, 'the outage outlasted the 1 s budget at least once');
});
