// Worker for the follower test in paging.test.js: appends `{"seq":i}` to
// the default log of a directory, one `tryAppend` at a time, from its own
// Memory, until told to stop, while the test's main thread follows the log
// and compacts it from two other Memories.
//
// workerData: { dir, control } where control is an Int32Array on a
// SharedArrayBuffer: [0] = stop when 1, [1] = appended so far.
// Posts { appended } (the seq numbers, in order) when it stops.
import { parentPort, workerData } from 'node:worker_threads';
import { open } from '../pathway.js';

const { dir, control } = workerData;
const log = await open(dir);
const appended = [];
try {
  for (let seq = 0; Atomics.load(control, 0) === 0; seq += 1) {
    log.tryAppend(JSON.stringify({ seq }));
    appended.push(seq);
    Atomics.store(control, 1, appended.length);
    // About a millisecond between appends, so the follower catches up.
    Atomics.wait(control, 0, 0, 1);
  }
} finally {
  log.close();
}
parentPort.postMessage({ appended });
