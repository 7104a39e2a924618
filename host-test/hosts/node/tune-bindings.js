// Two workarounds for jco 1.35's generated bindings on Node.js, applied to
// gen/pathway.js by setup.sh; each keeps the bindings' behaviour:
//
//     node tune-bindings.js gen/pathway.js
//
// 1. `_debugLog` reads `process.env.JCO_DEBUG` (a call into the C++
//    environment) on every call, and the bindings call it several times per
//    export and per WASI import: about a third of the CPU time of a stored
//    one-event append. Here the switch is read once, when the bindings load;
//    JCO_DEBUG set when the process starts still turns the logging on.
// 2. `instantiate` calls `WebAssembly.promising(...)` 9 times inside a
//    try/catch. Node.js 20 has no JSPI, so each call throws a TypeError
//    whose message V8 renders by re-parsing the enclosing 12,000-line
//    function: about 3.5 ms each, 30 ms an instance. Here the function is
//    looked up once; when it is missing, a stand-in throws the TypeError at
//    once, so the same catch runs.
//
// repro-call-floor.js measures both against the bindings as generated. If
// jco's output changed and a pattern is not found, that step is skipped
// with a warning (the bindings stay correct, only slower).

import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
let source = readFileSync(file, 'utf8');

function warn(what) {
  console.warn(`${file}: ${what} not found as expected; left as generated (slower)`);
}

const READ_EVERY_CALL = '  const _debugLog = (...args) => {\n    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }';
if (source.split(READ_EVERY_CALL).length === 2 && source.split('process?.env').length === 2) {
  source = source.replace(
    READ_EVERY_CALL,
    '  const JCO_DEBUG_AT_LOAD = Boolean(globalThis?.process?.env?.JCO_DEBUG);\n' +
      '  const _debugLog = (...args) => {\n    if (!JCO_DEBUG_AT_LOAD) { return; }',
  );
} else {
  warn("jco's _debugLog");
}

const PROMISING = 'WebAssembly.promising(';
if (source.includes(PROMISING) && !source.includes('jcoPromising')) {
  // After the directive prologue (`"use components";`), which stays first.
  const prologue = /^(\s*(["'])[^"'\n]*\2;\s*\n)*/.exec(source)[0];
  source =
    prologue +
    'const jcoPromising = typeof WebAssembly.promising === "function"\n' +
    '  ? WebAssembly.promising\n' +
    '  : () => { throw new TypeError("WebAssembly.promising is not a function"); };\n' +
    source.slice(prologue.length).replaceAll(PROMISING, 'jcoPromising(');
} else {
  warn('WebAssembly.promising');
}

writeFileSync(file, source);
