#!/usr/bin/env bash
# Tests the pathway-memory component through the Node.js host.
#
#   host-test/hosts/node/run-tests.sh WASM_PATH
#
# Installs the pinned packages from package-lock.json (npm ci) and
# transpiles WASM_PATH with jco into gen/ (gitignored), both through
# setup.sh, then runs `node --test`. Exits non-zero if any step or test fails.
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
