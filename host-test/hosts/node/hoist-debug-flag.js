// Reads jco's debug switch once, when the bindings load, instead of on
// every `_debugLog` call:
//
//     node hoist-debug-flag.js gen/pathway.js
//
// jco 1.35's generated `_debugLog` reads `process.env.JCO_DEBUG`, a call
// into the C++ environment, and the bindings call it several times per
// export and per WASI import: about a third of the CPU time of a stored
// one-event append (see repro-call-floor.js). JCO_DEBUG set when the
// process starts still turns the logging on. If jco's output changed and
// the line is not found, the file is left as it is, with a warning.

import { readFileSync, writeFileSync } from 'node:fs';

const READ_EVERY_CALL = '    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }';
const DEFINITION = '  const _debugLog = (...args) => {\n';

const file = process.argv[2];
const source = readFileSync(file, 'utf8');
const at = source.indexOf(DEFINITION + READ_EVERY_CALL);
const end = at + DEFINITION.length + READ_EVERY_CALL.length;
if (at === -1 || source.includes('process?.env', end) || source.lastIndexOf('process?.env', at) !== -1) {
  console.warn(`${file}: jco's _debugLog is not the one expected; left as generated (slower calls)`);
} else {
  const hoisted =
    '  const JCO_DEBUG_AT_LOAD = Boolean(globalThis?.process?.env?.JCO_DEBUG);\n' +
    DEFINITION +
    '    if (!JCO_DEBUG_AT_LOAD) { return; }';
  writeFileSync(file, source.slice(0, at) + hoisted + source.slice(end));
}
