// Type-checked, never run (run-tests.sh: tsc --noEmit): pathway.d.ts
// describes what the tests exercise, in a TypeScript caller's hands.
import { BATCHING, LinesError, LogError, Trap, open, type DeepLine, type Entry, type LinesReport, type Memory, type StreamTarget } from '../pathway.js';

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
const end: string = log.endCursor();
for (const entry of log.entries({ cursor: next, maxBytes: 1024 })) {
  console.log(entry.tag);
}
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
const shared: Memory = await open({ nats: 'nats://127.0.0.1:4222', stream: 'agent', replicas: 1, timeoutMs: 5000, maxLine: 4096 });
const target: StreamTarget | null = shared.stream;
const dir: string | null = shared.dir;
console.log(target?.name, target?.location, dir, shared.logPath, shared.settings.logName);
shared.tryAppend('{"a":1}');
shared.close();
