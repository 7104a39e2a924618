// The Node.js line of `pathway bench-hosts`: one JSON object on stdout.
//
//     node bench.js DIR EVENTS [BINDINGS_DIR] [--nats NATS_URL]
//
// DIR is an empty directory to use. Measures, through pathway.js:
// instantiate_ms (median of 20 opens of a fresh log), append_per_s (EVENTS
// one-event tryAppend calls of a ~100-byte event), batch_per_s (EVENTS
// events in appendBatch calls of 100) and replay_mb_per_s (typed
// whole-log replay of the log those appends made, best of 3). The log is
// measured first, as the process's only instance; the opens come last.
// `storage` says where the log was kept: "directory" (in DIR/log).
//
// With --nats NATS_URL (a NATS server with JetStream), the same
// workloads run on a log kept in a fresh stream `pathway-bench-node-<pid>`
// made there with 1 replica (`storage`: "nats"); DIR is not used. The
// replay's MB are the records' bytes + 1 each (the `\n` a directory log
// stores with each: the same count as the directory log's file size);
// instantiate_ms is the median of 20 opens of that stream log once the
// workloads are done; the stream is deleted at the end, also on a failure.
// BINDINGS_DIR, when given, is the transpiled build for the chosen
// storage (default: gen/ or gen/stream/).

import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from './pathway.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EVENT_BYTES = 100;
const BATCH = 100;
/** JetStream API error code: stream not found. */
const STREAM_NOT_FOUND = 10059;

/** `{"i":N,"pad":"..."}`, padded to about EVENT_BYTES. */
function event(i) {
  const bare = `{"i":${i},"pad":""}`;
  return `{"i":${i},"pad":"${'x'.repeat(Math.max(0, EVENT_BYTES - bare.length))}"}`;
}

const now = () => performance.now();

/**
 * The workloads on the log `open()` gives; `size(log, entries)` is the
 * log's bytes, for the replay's MB/s. Returns the JSON line's numbers.
 * `open()` is called 21 times: once for the log measured, then for the opens.
 */
async function measure(events, open, size) {
  const log = await open('log');
  const texts = Array.from({ length: events }, (_, i) => event(i));

  let started = now();
  for (const text of texts) {
    log.tryAppend(text);
  }
  const appendPerS = events / ((now() - started) / 1000);

  started = now();
  for (let i = 0; i < events; i += BATCH) {
    log.appendBatch(texts.slice(i, i + BATCH));
  }
  const batchPerS = events / ((now() - started) / 1000);

  let best = Infinity;
  let entries;
  for (let i = 0; i < 3; i++) {
    started = now();
    entries = log.replay();
    best = Math.min(best, now() - started);
    if (entries.length !== 2 * events) {
      throw new Error(`replay gave ${entries.length} entries, expected ${2 * events}`);
    }
  }
  const bytes = await size(log, entries);
  log.close();

  // Opens last: once a process has made several instances, jco's shared
  // helpers serve several of them and each call costs more (README).
  const opens = [];
  for (let i = 0; i < 20; i++) {
    const [took, log] = await open(`open-${i}`, true);
    log.close();
    opens.push(took); // the core modules were compiled by the first open
  }
  opens.sort((a, b) => a - b);
  return {
    instantiate_ms: (opens[9] + opens[10]) / 2,
    append_per_s: appendPerS,
    batch_per_s: batchPerS,
    replay_mb_per_s: bytes / 1e6 / (best / 1000),
  };
}

/** A log in DIR/log; the opens are of fresh directories DIR/open-N. */
async function inDirectory(dir, events, bindings) {
  const options = { bindings };
  const openLog = async (name, timed = false) => {
    const logDir = path.join(dir, name);
    await mkdir(logDir);
    if (!timed) {
      return open(logDir, options);
    }
    const started = now();
    const log = await open(logDir, options);
    return [now() - started, log];
  };
  return measure(events, openLog, async (log) => (await stat(log.logPath)).size);
}

/**
 * Runs `use(jsm)` with a JetStream manager on a connection of its own to
 * `url` (user and password as the host takes them), then closes it; also
 * says the server's version. The client is loaded only here, as pathway.js
 * loads it only for a stream: the directory mode imports nothing of NATS.
 */
async function withManager(url, use) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { parseServers } = await import('./nats-worker.js');
  const { servers, user, pass } = parseServers(url);
  const nc = await connect({ servers, user, pass, name: 'pathway-memory bench' });
  try {
    return await use(await jetstreamManager(nc), nc.info?.version ?? null);
  } finally {
    await nc.close();
  }
}

/** Whether `error` is JetStream's "stream not found". */
async function streamNotFound(error) {
  const { JetStreamApiError } = await import('@nats-io/jetstream');
  return error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND;
}

/**
 * A log in a fresh stream at `url`, made by the first open with 1 replica.
 * instantiate_ms is the median of 20 opens of that same stream (then
 * holding the workloads' 2 * EVENTS records): each open is what a client
 * pays to start using a stream log (the worker thread, its connection and
 * stream info, the component's instance and `open-log`), the counterpart
 * of opening a directory. Fresh streams per open would add the stream's
 * creation, which a directory open has no counterpart of.
 */
async function inStream(url, events, bindings) {
  const name = `pathway-bench-node-${process.pid}`;
  const options = { nats: url, stream: name, replicas: 1, bindings };
  // Checked and closed before the bench: idle while the calls block the
  // main thread, the connection would only wait.
  const server = await withManager(url, async (jsm, version) => {
    try {
      await jsm.streams.info(name);
    } catch (error) {
      if (await streamNotFound(error)) {
        return version;
      }
      throw error;
    }
    throw new Error(`stream ${name} already exists at ${url}: not a fresh one, delete it first`);
  });

  const openLog = async (_, timed = false) => {
    if (!timed) {
      return open(options);
    }
    const started = now();
    const log = await open(options);
    return [now() - started, log];
  };
  // A stream keeps no file: the bytes a directory log would store.
  const size = (_, entries) => entries.reduce(
    (sum, entry) => sum + (entry.tag === 'ok' ? Buffer.byteLength(entry.val) + 1 : 0), 0);
  try {
    return { ...(await measure(events, openLog, size)), server };
  } finally {
    await withManager(url, async (jsm) => {
      try {
        await jsm.streams.delete(name);
      } catch (error) {
        // Missing when the first open failed before it made the stream.
        if (!(await streamNotFound(error))) {
          throw error;
        }
      }
    });
  }
}

async function version(pkg) {
  return JSON.parse(await readFile(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

async function main(args) {
  let natsUrl = null;
  const flag = args.indexOf('--nats');
  if (flag >= 0) {
    natsUrl = args[flag + 1] ?? '';
    args = [...args.slice(0, flag), ...args.slice(flag + 2)];
  }
  const [dir, eventsArg, bindings] = args;
  const events = Number(eventsArg);
  if (!dir || !Number.isSafeInteger(events) || events <= 0 || args.length > 3 || natsUrl === '') {
    console.error('usage: node bench.js DIR EVENTS [BINDINGS_DIR] [--nats NATS_URL]');
    process.exit(2);
  }
  const nats = natsUrl !== null;

  let runtime = `jco ${await version('@bytecodealliance/jco')} / preview2-shim `
    + `${await version('@bytecodealliance/preview2-shim')} / node ${process.versions.node}`;
  let measured;
  if (nats) {
    const { server, ...numbers } = await inStream(natsUrl, events, bindings);
    measured = numbers;
    runtime += ` / @nats-io/jetstream ${await version('@nats-io/jetstream')}`
      + (server ? ` / nats-server ${server}` : '');
  } else {
    measured = await inDirectory(dir, events, bindings);
  }
  console.log(JSON.stringify({
    host: 'node',
    runtime,
    instantiate_ms: measured.instantiate_ms,
    append_per_s: measured.append_per_s,
    batch_per_s: measured.batch_per_s,
    replay_mb_per_s: measured.replay_mb_per_s,
    storage: nats ? 'nats' : 'directory',
  }));
}

await main(process.argv.slice(2));
