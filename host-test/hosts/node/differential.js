// The Node.js runner of the cross-host differential test
// (`../cross-host.md`): runs every case of CASES_JSON through `pathway.js`
// and writes the results, in the agreed shape, to OUT_JSON.
//
//     node differential.js CASES_JSON OUT_JSON [BINDINGS_DIR]
//
// An error of the component is recorded as a result; anything else (a trap,
// a host failure) ends the run with a non-zero exit. With `storage` in
// CASES_JSON, each case runs on the NATS stream `<prefix>-<kind>-<index>`
// instead of a fresh directory, without the steps that belong to files;
// named cases (several logs of one grant) and quota cases run in fresh
// directories only.

import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LinesError, LogError, open } from './pathway.js';

const LOG_NAME = 'pathway.jsonl';

/** The snapshot the integrity steps of a log case compact to. */
const FOLDED = '{"folded":true}';
/** The byte of the log changed in place to `F` (leaving `{"Folded":true}`). */
const CHANGED_AT = 2;
/** The counts the `last` step of a log case asks for, in this order. */
const LAST_COUNTS = [0, 1, 2, 1000];
/** The count the `last` step of a named case asks for. */
const NAMED_LAST = 2;

/** Changes the byte at CHANGED_AT of the log in place to `F`: the same file, the same size. */
function changeInPlace(dir) {
  const fd = openSync(path.join(dir, LOG_NAME), 'r+');
  try {
    writeSync(fd, Buffer.from('F'), 0, 1, CHANGED_AT);
  } finally {
    closeSync(fd);
  }
}

/** The agreed error: `{ cause, message }` and the cause's own fields. */
function error(e) {
  return { cause: e.code, message: e.message, ...(e.details ?? {}) };
}

function damaged(d) {
  return {
    line: d.line,
    offset: d.offset,
    length: d.length,
    torn: d.torn,
    problem: d.problem,
    reason: d.reason,
    message: d.message,
  };
}

function entry(e) {
  return e.tag === 'ok' ? { ok: e.val } : { err: damaged(e.val) };
}

function page(p) {
  return { entries: p.entries.map(entry), tail: p.tail ? entry(p.tail) : null, at_end: p.atEnd };
}

function check(c) {
  return {
    bytes: c.bytes,
    records: c.records,
    damaged: c.damaged.map(damaged),
    torn_tail: c.tornTail,
    leftovers: c.leftovers,
    too_deep: c.tooDeep.map((d) => ({ line: d.line, offset: d.offset, at: d.at })),
    checksum: c.checksum,
    checksum_message: c.checksumMessage,
  };
}

function repair(r) {
  return {
    removed: r.removed.map(damaged),
    quarantine: r.quarantine,
    bytes_before: r.bytesBefore,
    bytes_after: r.bytesAfter,
  };
}

function compactReport(r) {
  return {
    snapshot_records: r.snapshotRecords,
    kept_bytes: r.keptBytes,
    bytes_before: r.bytesBefore,
    bytes_after: r.bytesAfter,
  };
}

/** `{ ok: value }` or `{ err: error }`; only the component's errors are caught. */
function outcome(fn) {
  try {
    return { ok: fn() ?? null };
  } catch (e) {
    if (e instanceof LogError) {
      return { err: error(e) };
    }
    throw e;
  }
}

/** The value, or `{ err: error }` in its place. */
function valueOr(fn) {
  const result = outcome(fn);
  return 'ok' in result ? result.ok : result;
}

/** The pages of a walk from the beginning, and the last page's `next`. */
function walk(log, pageBytes) {
  const pages = [];
  let cursor = null;
  for (;;) {
    const p = log.replayPage(cursor, pageBytes);
    pages.push(page(p));
    cursor = p.next;
    if (p.atEnd) {
      return { pages, end: cursor };
    }
  }
}

async function files(dir) {
  const out = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = (await readFile(path.join(dir, name))).toString('hex');
  }
  return out;
}

async function inFreshDir(fn) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pathway-node-diff-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `fn(log, dir)` on case `index` of `kind`: in a fresh directory (holding
 * `bytes`, a log case's), or on its stream (`dir` null), which the test made
 * for a log case and is created for the others.
 */
async function onCase(cases, kind, index, options, bytes, fn) {
  const storage = cases.storage;
  if (storage) {
    const log = await open({
      nats: storage.nats,
      stream: `${storage.prefix}-${kind}-${index}`,
      replicas: kind === 'logs' ? undefined : 1,
      maxLine: options.maxLine,
    });
    try {
      return await fn(log, null);
    } finally {
      log.close();
    }
  }
  return inFreshDir(async (dir) => {
    if (bytes) {
      await writeFile(path.join(dir, LOG_NAME), bytes);
    }
    const log = await open(dir, options);
    try {
      return await fn(log, dir);
    } finally {
      log.close();
    }
  });
}

async function logCase(c, index, cases, options) {
  return onCase(cases, 'logs', index, options, Buffer.from(c.hex, 'hex'), async (log, dir) => {
    const result = {};
    result.replay = valueOr(() => log.replay().map(entry));
    result.last = valueOr(() => LAST_COUNTS.map((n) => log.last(n).entries.map(entry)));
    result.pages = valueOr(() => walk(log, cases.page_bytes).pages);
    result.check = valueOr(() => check(log.check()));
    result.repair = valueOr(() => repair(log.repair()));
    result.after_repair = valueOr(() => log.replay().map(entry));
    if (dir === null) {
      return result;
    }
    const compactToEnd = (snapshot) =>
      outcome(() => compactReport(log.compact([snapshot], walk(log, cases.page_bytes).end)));
    const integrity = {};
    integrity.compact = compactToEnd(FOLDED);
    integrity.check = valueOr(() => check(log.check()));
    changeInPlace(dir);
    integrity.changed_check = valueOr(() => check(log.check()));
    integrity.changed_compact = compactToEnd('{}');
    integrity.changed_repair = outcome(() => repair(log.repair()));
    result.integrity = integrity;
    result.files = await files(dir);
    return result;
  });
}

async function eventCase(c, index, cases, options) {
  return onCase(cases, 'events', index, options, null, async (log, dir) => {
    const result = {};
    result.try_append = outcome(() => log.tryAppend(c.event));
    result.append_batch = outcome(() => log.appendBatch(['1', c.event]));
    result.compact = outcome(() => compactReport(log.compact([c.event], walk(log, cases.page_bytes).end)));
    result.replay = valueOr(() => log.replay().map(entry));
    if (dir !== null) {
      result.files = await files(dir);
    }
    return result;
  });
}

/** The agreed error of a stopped import; only refusals and the component's errors are results. */
function linesError(e) {
  if (!(e instanceof LinesError) || !(e.code === 'invalid-utf8' || e.cause instanceof LogError)) {
    throw e;
  }
  return {
    cause: e.code,
    message: e.message,
    line: e.line,
    resume_line: e.resumeLine,
    stored: e.stored,
    byte: e.byte,
    error: e.cause instanceof LogError ? error(e.cause) : null,
  };
}

/** Chunks of seven bytes: lines and characters span chunks. */
function chunked(bytes) {
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 7) {
    chunks.push(bytes.subarray(i, i + 7));
  }
  return chunks;
}

async function linesCase(c, index, cases, options) {
  return onCase(cases, 'lines', index, options, null, async (log, dir) => {
    const batching = cases.lines_batching;
    const result = {};
    try {
      await log.appendLines(Readable.from(chunked(Buffer.from(c.hex, 'hex'))), {
        maxEvents: batching.max_events,
        maxBytes: batching.max_bytes,
        idleMs: batching.idle_ms,
        maxWaitMs: batching.max_wait_ms,
      });
      result.append_lines = { ok: null };
    } catch (e) {
      result.append_lines = { err: linesError(e) };
    }
    result.replay = valueOr(() => log.replay().map(entry));
    if (dir !== null) {
      result.files = await files(dir);
    }
    return result;
  });
}

/** The logs a named case appends to, in order of first appearance. */
function namedLogs(c) {
  const names = [];
  for (const [name] of c.appends) {
    if (!names.includes(name)) {
      names.push(name);
    }
  }
  return names;
}

/** A named case: several logs of one grant, in a fresh directory (never a stream). */
async function namedCase(c, options) {
  return inFreshDir(async (dir) => {
    const mem = await open(dir, options);
    try {
      const result = {};
      result.appends = c.appends.map(([name, events]) => outcome(() => mem.log(name).appendBatch(events)));
      result.logs = valueOr(() => mem.logs().map((info) => ({ name: info.name, bytes: info.bytes })));
      // Opening a log of `appends` is no operation of the case: a failure
      // there stops the runner.
      result.last = namedLogs(c).map((name) => {
        const log = mem.log(name);
        return [name, valueOr(() => log.last(NAMED_LAST).entries.map(entry))];
      });
      result.replay = namedLogs(c).map((name) => {
        const log = mem.log(name);
        return [name, valueOr(() => log.replay().map(entry))];
      });
      result.bad_names = c.bad_names.map((name) => outcome(() => mem.log(name).tryAppend('1')));
      const forks = c.forks ?? [];
      result.forks = forks.map(([source, target]) => outcome(() => mem.forkLog(source, target)));
      result.deletes = (c.deletes ?? []).map((name) => outcome(() => mem.deleteLog(name)));
      result.after = {
        logs: valueOr(() => mem.logs().map((info) => ({ name: info.name, bytes: info.bytes }))),
        // The targets of the forks that succeeded, in order.
        replay: forks
          .filter((_, i) => 'ok' in result.forks[i])
          .map(([, target]) => [target, valueOr(() => mem.log(target).replay().map(entry))]),
      };
      result.files = await files(dir);
      return result;
    } finally {
      mem.close();
    }
  });
}

/** The default log's name, for `deleteLog`. */
const DEFAULT_LOG = 'pathway';

/**
 * The outcome of opening `dir` with `options` and calling `tryAppend(event)`
 * on it if it opened: `{ err }` when the open (or the call) is refused.
 */
async function openAndAppend(dir, options, event) {
  let mem;
  try {
    mem = await open(dir, options);
  } catch (e) {
    if (e instanceof LogError) {
      return { err: error(e) };
    }
    throw e;
  }
  try {
    return outcome(() => mem.tryAppend(event));
  } finally {
    mem.close();
  }
}

/** A quota case: appends until the quota refuses, in a fresh directory (never a stream). */
async function quotaCase(c, options) {
  return inFreshDir(async (dir) => {
    const mem = await open(dir, { ...options, quota: c.quota });
    try {
      const result = {};
      result.appends = Array.from({ length: c.appends }, () => outcome(() => mem.tryAppend(c.event)));
      result.replay = valueOr(() => mem.replay().map(entry));
      result.after_delete = [outcome(() => mem.deleteLog(DEFAULT_LOG)), outcome(() => mem.tryAppend(c.event))];
      result.zero = await openAndAppend(dir, { ...options, quota: 0 }, c.event);
      result.files = await files(dir);
      return result;
    } finally {
      mem.close();
    }
  });
}

async function main([casesFile, outFile, bindings]) {
  if (!casesFile || !outFile) {
    console.error('usage: node differential.js CASES_JSON OUT_JSON [BINDINGS_DIR]');
    process.exit(2);
  }
  const cases = JSON.parse(await readFile(casesFile, 'utf8'));
  const options = { maxLine: cases.max_line, bindings };
  const results = { logs: {}, events: {}, lines: {}, named: {}, quota: {} };
  for (const [i, c] of cases.logs.entries()) {
    results.logs[c.name] = await logCase(c, i, cases, options);
  }
  for (const [i, c] of cases.events.entries()) {
    results.events[c.name] = await eventCase(c, i, cases, options);
  }
  for (const [i, c] of cases.lines.entries()) {
    results.lines[c.name] = await linesCase(c, i, cases, options);
  }
  for (const c of cases.named ?? []) {
    results.named[c.name] = await namedCase(c, options);
  }
  for (const c of cases.quota ?? []) {
    results.quota[c.name] = await quotaCase(c, options);
  }
  await writeFile(outFile, `${JSON.stringify(results)}\n`);
}

await main(process.argv.slice(2));
