// The NATS JetStream transport (nats.js, nats-worker.js) on its own, as the
// stream build calls it: the eight WIT `stream` functions, synchronous,
// against a real nats-server. What the transport must do is the contract
// in nats-worker.js's header; the log's rules are the component's (and
// tested through it in nats.test.js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsTransport } from '../nats.js';
import { NatsServer, freePort, natsSkip, noteSkipped } from './nats-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const enc = (text) => new TextEncoder().encode(text);
const dec = (bytes) => new TextDecoder().decode(bytes);

function natsTest(name, body) {
  noteSkipped(name);
  test(name, { skip: natsSkip }, body);
}

/** A transport for `t`, closed after it. */
async function transport(t, config) {
  const made = await NatsTransport.start({ budgetMs: 10_000, ...config });
  t.after(() => made.close());
  return made;
}

/** A plain client of the server for `t` (to look at what the transport did). */
async function manager(t, server) {
  const nc = await connect({ servers: server.url() });
  t.after(() => nc.close());
  return jetstreamManager(nc);
}

/** The stream-error `fn` throws. */
function streamError(fn) {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) {
      throw error;
    }
    return error;
  }
  throw new Error('expected a stream-error');
}

function event(topic, id, text, extra = {}) {
  return { topic, id, headers: [], payload: enc(text), expectLast: undefined, ...extra };
}

/** Every message of `topic` from `start`, page by page of `maxBytes`. */
function readAll(nats, topic, maxBytes, start = 1n) {
  const messages = [];
  let pages = 0;
  for (;;) {
    const batch = nats.read(topic, start, maxBytes);
    pages += 1;
    messages.push(...batch.messages);
    if (batch.messages.length) {
      start = batch.messages.at(-1).seq + 1n;
    }
    if (batch.end) {
      return { messages, pages };
    }
    assert.ok(batch.messages.length > 0, 'a page that is not the end holds at least one message');
  }
}

natsTest('connect: a missing stream is `missing` unless replicas are given, then it is made as the contract says', async (t) => {
  const server = await NatsServer.start(t);
  const jsm = await manager(t, server);

  const plain = await transport(t, { url: server.url(), stream: 'tr-connect' });
  assert.deepEqual(plain.target(), { name: 'tr-connect', location: server.url() });
  assert.deepEqual(streamError(() => plain.connect()), { tag: 'missing' });
  await assert.rejects(jsm.streams.info('tr-connect'), /stream not found/);

  const making = await transport(t, { url: server.url(), stream: 'tr-connect', replicas: 1 });
  assert.equal(making.connect(), 1048576n, "the server's max_payload (default 1 MiB)");
  const info = await jsm.streams.info('tr-connect');
  assert.deepEqual(info.config.subjects, ['pathway.tr-connect.>']);
  assert.equal(info.config.num_replicas, 1);
  assert.equal(info.config.duplicate_window, 120e9, '2 minutes, in nanoseconds');
  // Connecting again (a fresh instance after a trap does) finds it.
  assert.equal(making.connect(), 1048576n);
  assert.equal(plain.connect(), 1048576n);

  // A creation the server refuses is tried again until the budget, then
  // `refused` in the server's words.
  const r3 = await transport(t, { url: server.url(), stream: 'tr-r3', replicas: 3, budgetMs: 1000 });
  const started = Date.now();
  const refused = streamError(() => r3.connect());
  assert.deepEqual(refused, { tag: 'refused', val: 'replicas > 1 not supported in non-clustered mode (JetStream error 10074)' });
  assert.ok(Date.now() - started >= 500, 'tried again before saying so');
  // A name the client will never send: at once.
  const badName = await transport(t, { url: server.url(), stream: 'bad.name', replicas: 1 });
  assert.equal(streamError(() => badName.connect()).tag, 'refused');
});

natsTest('publish: sequences in input order, the same ids stored once, expect-last, headers without the server\'s own', async (t) => {
  const server = await NatsServer.start(t);
  const nats = await transport(t, { url: server.url(), stream: 'tr-pub', replicas: 1 });
  nats.connect();

  const batch = Array.from({ length: 200 }, (_, i) => event('events', `e-${i}`, `{"i":${i}}`, {
    headers: [['Pathway-Test', `v${i}`], ['Pathway-Two', 'a'], ['Pathway-Two', 'b']],
  }));
  const seqs = nats.publish(batch);
  assert.deepEqual(seqs, batch.map((_, i) => BigInt(i + 1)));
  // Sent again with the same ids (a retry after lost acks): stored once.
  assert.deepEqual(nats.publish(batch), seqs);
  assert.deepEqual(nats.stats().counts, [['events', 200n]]);

  // expect-last: 0 is "the topic is empty".
  const [commit] = nats.publish([event('commit', 'c-1', '', { expectLast: 0n })]);
  assert.equal(commit, 201n);
  assert.deepEqual(streamError(() => nats.publish([event('commit', 'c-2', '', { expectLast: 0n })])), { tag: 'conflict' });
  assert.deepEqual(streamError(() => nats.publish([event('commit', 'c-3', '', { expectLast: 200n })])), { tag: 'conflict' });
  assert.deepEqual(nats.publish([event('commit', 'c-4', 'x', { expectLast: 201n })]), [202n]);

  const first = nats.read('events', 1n, 1n)?.messages[0];
  assert.equal(first.seq, 1n);
  assert.equal(dec(first.payload), '{"i":0}');
  assert.deepEqual(first.headers, [['Pathway-Test', 'v0'], ['Pathway-Two', 'a'], ['Pathway-Two', 'b']],
    'the headers as published, without Nats-Msg-Id');
});

natsTest('read: pages go on on one ordered consumer; `end` only when nothing follows; small reads; raw bytes', async (t) => {
  const server = await NatsServer.start(t);
  const jsm = await manager(t, server);
  const nats = await transport(t, { url: server.url(), stream: 'tr-read', replicas: 1 });
  nats.connect();

  assert.deepEqual(nats.read('events', 1n, 1n << 20n), { messages: [], end: true }, 'an empty topic');
  const count = 2000;
  const events = Array.from({ length: count }, (_, i) => event('events', `r-${i}`, JSON.stringify({ i, pad: 'p'.repeat(40) })));
  // Other topics in between: a read of one topic never returns another's.
  const seqs = [];
  for (let i = 0; i < count; i += 100) {
    seqs.push(...nats.publish(events.slice(i, i + 100)));
    nats.publish([event('snapshot', `s-${i}`, '"snap"')]);
  }

  // Pages of ~8 KiB: each continues where the last stopped, on the one
  // consumer made for the first page.
  const consumers = new Set();
  let start = 1n;
  const got = [];
  let pages = 0;
  for (;;) {
    const batch = nats.read('events', start, 8192n);
    pages += 1;
    let bytes = 0;
    for (const m of batch.messages) {
      bytes += m.payload.length + 1;
    }
    assert.ok(batch.messages.length > 0);
    assert.ok(bytes - (batch.messages.at(-1).payload.length + 1) < 8192, 'stops once the page is full');
    got.push(...batch.messages);
    start = batch.messages.at(-1).seq + 1n;
    for await (const c of jsm.consumers.list('tr-read')) {
      consumers.add(c.name);
    }
    if (batch.end) {
      break;
    }
  }
  assert.deepEqual(got.map((m) => m.seq), seqs);
  assert.deepEqual(got.map((m) => JSON.parse(dec(m.payload)).i), [...Array(count).keys()]);
  assert.ok(pages > 10, `${pages} pages`);
  assert.equal(consumers.size, 1, `one consumer for every page: ${[...consumers]}`);

  // At the end, a page that then gets more: the next read goes on.
  const [more] = nats.publish([event('events', 'r-more', '"more"')]);
  const after = nats.read('events', start, 8192n);
  assert.deepEqual(after.messages.map((m) => m.seq), [more]);
  assert.equal(after.end, true);

  // Small reads (gets, no consumer): one message, then `end` as it stands.
  const one = nats.read('events', seqs[5], 10n);
  assert.deepEqual(one.messages.map((m) => m.seq), [seqs[5]]);
  assert.equal(one.end, false);
  const last = nats.read('events', more, 10n);
  assert.deepEqual(last.messages.map((m) => m.seq), [more]);
  assert.equal(last.end, true);
  // A start between two messages of the topic begins at the next one.
  assert.equal(nats.read('events', seqs[99] + 1n, 10n).messages[0].seq, seqs[100]);
  assert.deepEqual(nats.read('events', more + 1n, 1n << 20n), { messages: [], end: true });

  // A payload that is not UTF-8 (published by hand) comes back byte for byte.
  const [raw] = nats.publish([{ topic: 'events', id: 'raw', headers: [], payload: new Uint8Array([0xff, 0xfe, 0x41]), expectLast: undefined }]);
  assert.deepEqual([...nats.read('events', raw, 1n << 20n).messages[0].payload], [0xff, 0xfe, 0x41]);
  assert.deepEqual([...nats.read('events', raw, 1n).messages[0].payload], [0xff, 0xfe, 0x41]);
});

natsTest('last, purge, remove, stats', async (t) => {
  const server = await NatsServer.start(t);
  const nats = await transport(t, { url: server.url(), stream: 'tr-misc', replicas: 1 });
  nats.connect();
  assert.equal(nats.last('commit'), undefined);
  assert.deepEqual(nats.stats(), { bytes: 0n, counts: [] });

  const seqs = nats.publish(Array.from({ length: 10 }, (_, i) => event('events', `m-${i}`, `${i}`)));
  nats.publish([event('commit', 'c-1', 'first', { headers: [['Pathway-First', '1']] })]);
  const [second] = nats.publish([event('commit', 'c-2', 'second', { headers: [['Pathway-First', '7']] })]);
  const last = nats.last('commit');
  assert.equal(last.seq, second);
  assert.equal(dec(last.payload), 'second');
  assert.deepEqual(last.headers, [['Pathway-First', '7']]);
  assert.equal(nats.last('events').seq, seqs[9]);

  // Keeps sequences >= below, on that topic only.
  nats.purge('events', seqs[4]);
  assert.deepEqual(readAll(nats, 'events', 1n << 20n).messages.map((m) => m.seq), seqs.slice(4));
  nats.purge('events', 0n);
  nats.purge('events', 1n);
  assert.equal(readAll(nats, 'events', 1n << 20n).messages.length, 6, 'below 0 or 1: nothing to purge');
  nats.remove(seqs[6]);
  nats.remove(seqs[6]);
  nats.remove(seqs[0]);
  nats.remove(99999n);
  assert.deepEqual(readAll(nats, 'events', 100n).messages.map((m) => m.seq), [seqs[4], seqs[5], ...seqs.slice(7)]);

  const stats = nats.stats();
  assert.deepEqual(stats.counts, [['events', 5n], ['commit', 2n]]);
  assert.ok(stats.bytes > 0n && typeof stats.bytes === 'bigint');
});

natsTest('unavailable: no server within the budget; a server back within it is used, each message stored once', async (t) => {
  const port = await freePort();
  const nobody = await transport(t, { url: `nats://127.0.0.1:${port}`, stream: 'tr-none', replicas: 1, budgetMs: 1500 });
  const started = Date.now();
  const error = streamError(() => nobody.connect());
  const took = Date.now() - started;
  assert.equal(error.tag, 'unavailable');
  assert.match(error.val.reason, /refused/i);
  assert.ok(error.val.tries >= 3, `${error.val.tries} tries`);
  assert.ok(error.val.millis <= 1500n && typeof error.val.millis === 'bigint');
  assert.equal(error.val.acked, 0);
  assert.ok(took >= 700 && took < 4000, `gave up after ${took} ms of a 1500 ms budget`);

  const server = await NatsServer.start(t);
  const nats = await transport(t, { url: server.url(), stream: 'tr-away', replicas: 1, budgetMs: 15_000 });
  nats.connect();
  nats.publish([event('events', 'a-0', '0')]);
  await server.kill();
  // While this thread blocks in publish, the server comes back after 1.5 s.
  const back = server.restartLater(1500);
  const batch = Array.from({ length: 50 }, (_, i) => event('events', `a-${i}`, `${i}`));
  const waited = Date.now();
  const seqs = nats.publish(batch);
  const wait = Date.now() - waited;
  await back;
  assert.ok(wait >= 1000, `the publish waited ${wait} ms for the server`);
  assert.equal(seqs[0], 1n, 'a-0 again: the stored one');
  const stored = readAll(nats, 'events', 1n << 20n).messages.map((m) => dec(m.payload));
  assert.deepEqual(stored, batch.map((_, i) => `${i}`));

  // Gone for longer than the budget: unavailable, with what was acked.
  const short = await transport(t, { url: server.url(), stream: 'tr-away', budgetMs: 1000 });
  short.connect();
  await server.kill();
  const gone = streamError(() => short.publish([event('events', 'late', '"late"')]));
  assert.equal(gone.tag, 'unavailable');
  assert.equal(gone.val.acked, 0);
  // The budget, not a request's own timeout (2 s), ends the call.
  assert.ok(gone.val.millis >= 900n && gone.val.millis < 3000n, `${gone.val.millis} ms of a 1000 ms budget`);
  const reading = streamError(() => short.read('events', 1n, 1n << 20n));
  assert.equal(reading.tag, 'unavailable');
});

natsTest('denied: a wrong password, and a user the server does not let publish on the subject', async (t) => {
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
  const wrong = await transport(t, { url: server.url('writer', 'nope'), stream: 'tr-auth', replicas: 1 });
  const refused = streamError(() => wrong.connect());
  assert.equal(refused.tag, 'denied');
  assert.match(refused.val, /authorization violation/i);

  const writer = await transport(t, { url: server.url('writer', 'wpass'), stream: 'tr-auth', replicas: 1 });
  writer.connect();
  assert.deepEqual(writer.publish([event('events', 'w', '1')]), [1n]);

  const reader = await transport(t, { url: server.url('reader', 'rpass'), stream: 'tr-auth' });
  reader.connect();
  const denied = streamError(() => reader.publish([event('events', 'r', '2')]));
  assert.equal(denied.tag, 'denied');
  assert.match(denied.val, /permissions violation/i);
  assert.equal(reader.read('events', 1n, 1n << 20n).messages.length, 1, 'reading is allowed');
});

natsTest('an open transport does not keep the process alive', async (t) => {
  const server = await NatsServer.start(t);
  const script = `
import { NatsTransport } from ${JSON.stringify(path.join(here, '..', 'nats.js'))};
const nats = await NatsTransport.start({ url: process.argv[2], stream: 'tr-alive', replicas: 1 });
nats.connect();
nats.publish([{ topic: 'events', id: 'x', headers: [], payload: new Uint8Array([49]), expectLast: undefined }]);
console.log('left open');
`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-', server.url()], { input: script, encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.signal, null, `ended by itself, not by the timeout: ${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'left open');
});
