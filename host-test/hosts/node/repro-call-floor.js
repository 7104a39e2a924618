// Where a single append's time goes on Node.js, and what of it belongs to
// the runtime (jco's generated bindings, preview2-shim): a reproduction
// that could go upstream. Run after setup.sh (it uses node_modules):
//
//     node repro-call-floor.js WASM [CALLS]
//
// Each configuration runs in its own process (a fresh jco module state),
// three rounds interleaved; the best of each is printed. CPU time is the
// figure to trust on a busy machine.
//
// Prints µs per call (wall and CPU, CPU counting every thread of the
// process) for:
//  1. preview2-shim: `descriptor.stat()` on an open file, which the shim
//     runs as a synchronous round trip to its worker thread, against
//     node:fs `fstatSync` on the same file. A stored append on the shim's
//     own descriptors makes two such stats (and, before wasi.js served the
//     file itself, each took one round trip).
//  2. jco: instantiating the component, and entering an export that does
//     no I/O (`host-message`, a refused `try-append`), with WASM transpiled
//     as jco generates it and as tune-bindings.js tunes it for gen/
//     (`process.env.JCO_DEBUG` read once at load instead of on every
//     `_debugLog` call; `WebAssembly.promising`, missing in Node.js 20,
//     looked up once instead of 9 TypeErrors an instance).
//  3. the component's stored `try-append` through wasi.js: the floor a user
//     sees per single append (`append-batch` amortises it), and the same
//     when the process made 20 other instances first (jco defines classes
//     inside `instantiate`, so its shared code sees a new shape per
//     instance).

import { execFileSync } from 'node:child_process';
import { cpSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { createImports } from './wasi.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const [WASM, CALLS_ARG, CONFIG, BINDINGS] = process.argv.slice(2);
const CALLS = Number(CALLS_ARG ?? 20000);
const INTERFACE = 'pathway:memory/log@0.3.0';

const ROUNDS = 3;

/**
 * µs per call of `fn` after a warm-up: `[wall, cpu]`, CPU counting every
 * thread of the process (the shim's worker too).
 */
function measure(calls, fn) {
  for (let i = 0; i < Math.min(1000, calls / 10); i++) fn(i);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(i);
  const wall = Number(process.hrtime.bigint() - started) / 1e3 / calls;
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / calls];
}

const version = (pkg) =>
  JSON.parse(readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;

/** One configuration, in this process: prints `{ label: [wall, cpu] }` as JSON. */
async function run(config, scratch) {
  const results = {};
  if (config === 'fs') {
    // 1. preview2-shim's worker round trip against a direct call.
    writeFileSync(path.join(scratch, 'file'), 'x\n');
    const shim = new WASIShim({ sandbox: { preopens: { '/': scratch } } }).getImportObject();
    const [[preopen]] = shim['wasi:filesystem/preopens'].getDirectories();
    const shimFile = preopen.openAt({}, 'file', {}, { read: true });
    const fd = openSync(path.join(scratch, 'file'), 'r');
    results['shim descriptor.stat() (a worker-thread round trip)'] = measure(Math.min(CALLS, 5000), () => shimFile.stat());
    results['node:fs fstatSync(fd, { bigint: true })'] = measure(CALLS, () => fstatSync(fd, { bigint: true }));
  } else {
    // 2. jco's call floor, in the bindings made for this configuration.
    const dir = BINDINGS;
    const modules = new Map();
    for (const name of ['pathway.core.wasm', 'pathway.core2.wasm', 'pathway.core3.wasm']) {
      try {
        modules.set(name, new WebAssembly.Module(readFileSync(path.join(dir, name))));
      } catch (error) {
        if (error.code !== 'ENOENT') throw error;
      }
    }
    const { instantiate } = await import(pathToFileURL(path.join(dir, 'pathway.js')).href);
    const fresh = () => {
      const { imports } = createImports({ dir: scratch, env: {}, stderr: () => {} });
      return instantiate((name) => modules.get(name), imports)[INTERFACE];
    };
    results['instantiate (core modules compiled)'] = measure(20, fresh);
    if (config === 'many') {
      // 20 more instances, each called, before the measured one.
      for (let i = 0; i < 20; i++) fresh().openLog();
    }
    const log = fresh();
    log.openLog();
    const pad = 'x'.repeat(80);
    const batch = Array.from({ length: 100 }, (_, i) => `{"i":${i},"pad":"${pad}"}`);
    results['host-message (no I/O)'] = measure(CALLS, () => log.hostMessage({ tag: 'deadline', val: 5n }));
    results['refused try-append (no I/O)'] = measure(CALLS, () => {
      try {
        log.tryAppend('{"a":');
      } catch {
        // the refusal, as jco's ComponentError
      }
    });
    results['stored try-append (~100 B)'] = measure(CALLS, (i) => log.tryAppend(`{"i":${i},"pad":"${pad}"}`));
    const [wall, cpu] = measure(Math.max(1, CALLS / 100), () => log.appendBatch(batch));
    results['append-batch of 100, per event'] = [wall / 100, cpu / 100];
  }
  console.log(JSON.stringify(results));
}

if (!WASM) {
  console.error('usage: node repro-call-floor.js WASM [CALLS]');
  process.exit(2);
}
if (CONFIG) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pathway-repro-'));
  try {
    await run(CONFIG, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  const work = mkdtempSync(path.join(os.tmpdir(), 'pathway-repro-gen-'));
  try {
    // WASM as jco generates it, and a copy with the switch read at load.
    const generated = path.join(work, 'generated');
    const tuned = path.join(work, 'tuned');
    execFileSync(path.join(here, 'node_modules/.bin/jco'), ['transpile', WASM, '-o', generated, '-I', 'sync', '--name', 'pathway', '-q']);
    cpSync(generated, tuned, { recursive: true });
    execFileSync(process.execPath, [path.join(here, 'tune-bindings.js'), path.join(tuned, 'pathway.js')], { stdio: 'inherit' });
    const labels = {
      fs: '',
      generated: 'jco (as generated): ',
      tuned: 'jco (tune-bindings.js): ',
      many: 'jco (tune-bindings.js, 20 instances made first): ',
    };
    const bindings = { fs: '', generated, tuned, many: tuned };
    // Each configuration in its own process, rounds interleaved; the best
    // (least disturbed) of ROUNDS is kept.
    const best = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const config of ['fs', 'generated', 'tuned', 'many']) {
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), WASM, String(CALLS), config, bindings[config]]);
        for (const [label, [wall, cpu]] of Object.entries(JSON.parse(out))) {
          const key = labels[config] + label;
          const [w, c] = best[key] ?? [Infinity, Infinity];
          best[key] = [Math.min(w, wall), Math.min(c, cpu)];
        }
      }
    }
    const source = readFileSync(path.join(generated, 'pathway.js'), 'utf8');
    console.log(
      `node ${process.versions.node}, jco ${version('@bytecodealliance/jco')}, preview2-shim ${version('@bytecodealliance/preview2-shim')}; ` +
        `${CALLS} calls, best of ${ROUNDS} processes; the bindings hold ${source.match(/_debugLog\(/g).length} _debugLog calls`,
    );
    console.log(`${''.padEnd(84)} ${'wall µs'.padStart(9)} ${'cpu µs'.padStart(9)}`);
    for (const [key, [wall, cpu]] of Object.entries(best)) {
      console.log(`${key.padEnd(84)} ${wall.toFixed(2).padStart(9)} ${cpu.toFixed(2).padStart(9)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
