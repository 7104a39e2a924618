#!/usr/bin/env bash
# Tests the pathway-memory component through the Node.js host.
#
#   host-test/hosts/node/run-tests.sh WASM_PATH
#
# Installs the pinned packages from package-lock.json (npm ci), transpiles
# WASM_PATH with jco into gen/ (gitignored), and runs `node --test`.
# Exits non-zero if any step or test fails.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 WASM_PATH" >&2
  exit 2
fi
if [[ ! -f "$1" ]]; then
  echo "$0: no such component: $1" >&2
  exit 2
fi
wasm="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

echo "node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund

rm -rf gen
./node_modules/.bin/jco transpile "$wasm" -o gen -I sync --name pathway -q
echo "jco $(./node_modules/.bin/jco --version): transpiled $wasm into gen/"

node --test test/*.test.js
