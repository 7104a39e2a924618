// Type-checked, never run (run-tests.sh: tsc --noEmit): pathway.d.ts
// describes what the tests exercise, in a TypeScript caller's hands.
import { LogError, Trap, open, type Entry, type Memory } from '../pathway.js';

const log: Memory = await open('/tmp/pathway', { logName: 'a.jsonl', maxLine: 4096, sync: 'always', readOnly: false });
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
log.sync();
log.close();
