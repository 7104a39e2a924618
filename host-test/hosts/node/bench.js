// The Node.js line of `pathway bench-hosts`: one JSON object on stdout.
//
//     node bench.js DIR EVENTS [BINDINGS_DIR]
//
// DIR is an empty directory to use. Measures, through pathway.js:
// instantiate_ms (median of 20 opens of a fresh log), append_per_s (EVENTS
// one-event tryAppend calls of a ~100-byte event), batch_per_s (EVENTS
// events in appendBatch calls of 100) and replay_mb_per_s (typed
// whole-log replay of the log those appends made, best of 3). The log is
// measured first, as the process's only instance; the opens come last.

import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from './pathway.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EVENT_BYTES = 100;
const BATCH = 100;

/** `{"i":N,"pad":"..."}`, padded to about EVENT_BYTES. */
function event(i) {
  const bare = `{"i":${i},"pad":""}`;
  return `{"i":${i},"pad":"${'x'.repeat(Math.max(0, EVENT_BYTES - bare.length))}"}`;
}

const now = () => performance.now();

async function main([dir, eventsArg, bindings]) {
  const events = Number(eventsArg);
  if (!dir || !Number.isSafeInteger(events) || events <= 0) {
    console.error('usage: node bench.js DIR EVENTS [BINDINGS_DIR]');
    process.exit(2);
  }
  const options = { bindings };

  const logDir = path.join(dir, 'log');
  await mkdir(logDir);
  const log = await open(logDir, options);
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

  const bytes = (await stat(log.logPath)).size;
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    started = now();
    const entries = log.replay();
    best = Math.min(best, now() - started);
    if (entries.length !== 2 * events) {
      throw new Error(`replay gave ${entries.length} entries, expected ${2 * events}`);
    }
  }
  log.close();

  // Opens last: once a process has made several instances, jco's shared
  // helpers serve several of them and each call costs more (README).
  const opens = [];
  for (let i = 0; i < 20; i++) {
    const fresh = path.join(dir, `open-${i}`);
    await mkdir(fresh);
    const started = now();
    const log = await open(fresh, options);
    const took = now() - started;
    log.close();
    opens.push(took); // the core modules were compiled by the first open
  }
  opens.sort((a, b) => a - b);
  const instantiateMs = (opens[9] + opens[10]) / 2;

  const jco = JSON.parse(await readFile(path.join(here, 'node_modules/@bytecodealliance/jco/package.json'), 'utf8'));
  const shim = JSON.parse(
    await readFile(path.join(here, 'node_modules/@bytecodealliance/preview2-shim/package.json'), 'utf8'),
  );
  console.log(JSON.stringify({
    host: 'node',
    runtime: `jco ${jco.version} / preview2-shim ${shim.version} / node ${process.versions.node}`,
    instantiate_ms: instantiateMs,
    append_per_s: appendPerS,
    batch_per_s: batchPerS,
    replay_mb_per_s: bytes / 1e6 / (best / 1000),
  }));
}

await main(process.argv.slice(2));
