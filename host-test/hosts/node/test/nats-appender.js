// Worker for the kill test in nats.test.js: appends events to a stream log
// one `tryAppend` at a time until told to stop, while the test's main
// thread kills and restarts the server. An append that fails with `io`
// (the server was away longer than `timeoutMs`) is called again with the
// same event, as a caller would; the component stores it once.
//
// workerData: { url, stream, timeoutMs, control } where control is an
// Int32Array on a SharedArrayBuffer: [0] = stop when 1, [1] = acked so far.
// Posts { acked, ioFailures, maxWaitMs, lastError } when it stops.
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../pathway.js';

const { url, stream, timeoutMs, control } = workerData;
const log = await open({ nats: url, stream, timeoutMs });
const acked = [];
let ioFailures = 0;
let maxWaitMs = 0;
let lastError = null;
try {
  for (let i = 0; Atomics.load(control, 0) === 0; i += 1) {
    const event = JSON.stringify({ writer: 'kill-test', i });
    const started = performance.now();
    for (;;) {
      try {
        log.tryAppend(event);
        break;
      } catch (error) {
        if (error?.name !== 'LogError' || error.code !== 'io') {
          throw error;
        }
        ioFailures += 1;
        lastError = error.message;
      }
    }
    maxWaitMs = Math.max(maxWaitMs, performance.now() - started);
    acked.push(i);
    Atomics.store(control, 1, acked.length);
  }
} finally {
  log.close();
}
parentPort.postMessage({ acked, ioFailures, maxWaitMs, lastError });
