#!/usr/bin/env bash
# Tests the pathway-memory component through the Node.js host.
#
#   host-test/hosts/node/run-tests.sh WASM_PATH
#
# Installs the pinned packages from package-lock.json (npm ci) and
# transpiles WASM_PATH with jco into gen/ (gitignored), both through
# setup.sh, then runs `node --test` and type-checks pathway.d.ts. Exits
# non-zero if any step or test fails.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 WASM_PATH" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
cd "$here"
echo "node $(node --version), npm $(npm --version), jco $(./node_modules/.bin/jco --version): $1 in gen/"
node --test test/*.test.js
# pathway.d.ts against a TypeScript caller (tsc comes with jco's dependencies).
./node_modules/.bin/tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 \
  test/types.check.mts
echo "pathway.d.ts: test/types.check.mts type-checks"
