// Type-checked, never run (run-tests.sh: tsc --noEmit): pathway.d.ts
// describes what the tests exercise, in a TypeScript caller's hands.
import { BATCHING, LinesError, LogError, NamedLog, OPEN_HANDLES, Trap, open, type DeepLine, type Entry, type LinesReport, type LogInfo, type LogList, type Memory, type Recent, type StreamTarget } from '../pathway.js';

const log: Memory = await open('/tmp/pathway', { logName: 'a.jsonl', maxLine: 4096, maxDepth: 64, sync: 'always', readOnly: false });
try {
  log.tryAppend('{"a":1}');
  log.append('{"a":2}');
  log.appendBatch(['1', '2']);
} catch (e) {
  if (e instanceof LogError && e.code === 'invalid-json' && e.details && 'offset' in e.details) {
    const offset: number = e.details.offset;
    console.log(offset, e.message);
  } else if (e instanceof Trap) {
    console.log(e.stderr, e.timedOut, e.func);
  }
}
const entries: Entry[] = log.replay();
for (const entry of entries) {
  if (entry.tag === 'err') {
    const line: number = entry.val.line;
    console.log(line, entry.val.problem, entry.val.message);
  } else {
    console.log(JSON.parse(entry.val));
  }
}
const page = log.replayPage(null, 1 << 20);
const next: string = page.next;
const later: string = log.endCursor();
let end = '';
const walk = log.entries({ cursor: next, maxBytes: 1024 });
for (let step = walk.next(); ; step = walk.next()) {
  if (step.done) {
    end = step.value;
    break;
  }
  console.log(step.value.tag);
}
const recent: Recent = log.last(10);
console.log(recent.entries.length, recent.next, log.replayPage(later).entries);
const listed: LogList = log.logsPage(null, 100);
const more: string | null = listed.next;
const all: LogInfo[] = log.logs();
console.log(more, all.map((l) => `${l.name} ${l.bytes}`), log.logsPage(), OPEN_HANDLES);
try {
  const thread: NamedLog = log.log('thread-42');
  const threadName: string = thread.name;
  thread.tryAppend('{"turn":1}');
  thread.appendBatch(['1', '2']);
  const threadEntries: Entry[] = thread.replay();
  const threadLast: Recent = thread.last(2);
  const threadPage = thread.replayPage(thread.endCursor(), 4096);
  thread.sync();
  const threadEnd = thread.replayPage(null).next;
  console.log(threadName, threadEntries, threadLast.next, threadPage.atEnd, thread.compact(['{}'], threadEnd).bytesAfter);
  console.log(thread.check().records, thread.repair().removed);
} catch (e) {
  if (e instanceof LogError && e.code === 'invalid-name') {
    console.log(e.message);
  }
}
try {
  const copied: number = log.forkLog('thread-42', 'thread-42-retry');
  const upTo: number = log.forkLog('thread-42', 'thread-42-early', log.replayPage(null, 16).next);
  const none: number = log.forkLog('thread-42', 'thread-42-end', null);
  const removed: number = log.deleteLog('thread-42-retry');
  console.log(copied, upTo, none, removed);
} catch (e) {
  if (e instanceof LogError && (e.code === 'no-log' || e.code === 'log-exists' || e.code === 'deleted')) {
    console.log(e.code, e.message);
  }
}
const byName: Memory = await open('/tmp/pathway', { log: 'thread-7', maxLine: 4096 });
byName.close();
const capped: Memory = await open('/tmp/pathway', { quota: 1 << 20 });
const quota: number | null = capped.settings.quota;
try {
  capped.tryAppend('{"turn":1}');
  capped.forkLog('pathway', 'pathway-copy');
} catch (e) {
  if (e instanceof LogError && e.code === 'quota-exceeded' && e.details && 'needed' in e.details) {
    const room: number = e.details.limit - e.details.used;
    console.log(quota, room, e.details.needed, e.message);
  }
}
capped.close();
await open('/tmp/pathway', { quota: null });
await open('/tmp/pathway', { quota: '1048576' });
const report = log.compact(['{"state":1}'], end);
console.log(report.snapshotRecords, log.check().tornTail, log.repair().quarantine, log.settings.maxLine, log.logPath);
const checked = log.check();
const depth: number = log.settings.maxDepth;
const deepLines: DeepLine[] = checked.tooDeep;
for (const deep of deepLines) {
  const at: number = deep.at;
  console.log(deep.line, deep.offset, at, depth);
}
if (checked.checksum.state === 'mismatch') {
  const actual: string | null = checked.checksum.actual;
  console.log(checked.checksum.bytes, checked.checksum.expected, actual, checked.checksumMessage);
} else if (checked.checksum.state === 'verified') {
  const covered: number = checked.checksum.bytes;
  console.log(covered);
}
try {
  log.repair();
} catch (e) {
  if (e instanceof LogError && e.code === 'integrity' && e.details && 'expected' in e.details) {
    const actual: string | null = e.details.actual;
    console.log(e.details.bytes, e.details.expected, actual);
  }
}
try {
  const imported: LinesReport = await log.appendLines(['1', new Uint8Array([0x32])], { maxEvents: BATCHING.maxEvents });
  console.log(imported.lines, imported.stored);
  async function* arriving() {
    yield '3';
    yield new TextEncoder().encode('4\n');
  }
  await log.appendLines(arriving(), { idleMs: 5, maxWaitMs: 20, maxBytes: 1 << 16 });
} catch (e) {
  if (e instanceof LinesError && e.code === 'invalid-json') {
    const resume: number = e.resumeLine;
    console.log(e.line, resume, e.stored, e.byte, e.cause);
  }
}
log.sync();
log.close();

// A log kept in a NATS JetStream stream: the same Memory.
const shared: Memory = await open({ nats: 'nats://127.0.0.1:4222', stream: 'agent', replicas: 1, timeoutMs: 5000, maxLine: 4096, quota: 1 << 30 });
const target: StreamTarget | null = shared.stream;
const dir: string | null = shared.dir;
console.log(target?.name, target?.location, dir, shared.logPath, shared.settings.logName);
shared.tryAppend('{"a":1}');
shared.close();
