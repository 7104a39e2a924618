#!/usr/bin/env bash
# Makes this directory ready to run a component, quietly and idempotently:
#
#   host-test/hosts/node/setup.sh WASM_PATH
#
# WASM_PATH is the directory build (`pathway_memory.wasm`); the stream build
# is found beside it: for X.wasm, X_stream.wasm, else
# pathway_memory_stream.wasm in the same directory (setup fails when neither
# is there). Installs the pinned packages (npm ci, only when
# package-lock.json changed since the last install) and transpiles both
# with jco, the directory build into gen/ and the stream build into
# gen/stream/ (only when a component differs from the ones gen/ was made
# from; gen/ is replaced in one rename, so a concurrent run never sees half
# of it), with two workarounds for jco's bindings applied
# (tune-bindings.js). Prints nothing unless a step fails.
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
stream_wasm="${wasm%.wasm}_stream.wasm"
if [[ "$wasm" != *.wasm || ! -f "$stream_wasm" ]]; then
  stream_wasm="$(dirname "$wasm")/pathway_memory_stream.wasm"
fi
if [[ ! -f "$stream_wasm" || "$stream_wasm" -ef "$wasm" ]]; then
  looked="$(basename "${wasm%.wasm}")_stream.wasm"
  if [[ "$looked" != pathway_memory_stream.wasm ]]; then looked="$looked or pathway_memory_stream.wasm"; fi
  echo "$0: no stream build beside $1: no $looked in $(dirname "$wasm");" \
    "put the component built for world pathway-stream there" >&2
  exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")"

# One setup at a time (the test suite and the differential runner may start
# together); a second one then finds everything in place.
exec 9>.setup.lock
flock 9

quietly() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "$0: failed: $*" >&2
    return 1
  fi
}

if ! cmp -s package-lock.json node_modules/.pathway-lock 2>/dev/null; then
  quietly npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.pathway-lock
fi

source_id="$(sha256sum "$wasm" "$stream_wasm" tune-bindings.js | cut -d' ' -f1 | tr '\n' ' ')jco $(cat node_modules/@bytecodealliance/jco/package.json | node -p 'JSON.parse(require("fs").readFileSync(0)).version')"
if [[ "$(cat gen/.source 2>/dev/null)" != "$source_id" ]]; then
  tmp="$(mktemp -d gen.tmp.XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  quietly ./node_modules/.bin/jco transpile "$wasm" -o "$tmp" -I sync --name pathway -q
  node tune-bindings.js "$tmp/pathway.js"
  # The stream build: its `pathway:memory/stream` import is given per
  # instance in the import object (pathway.js: nats.js's transport), as the
  # WASI imports are (wasi.js); --map names its key there.
  quietly ./node_modules/.bin/jco transpile "$stream_wasm" -o "$tmp/stream" -I sync --name pathway -q \
    --map 'pathway:memory/stream@0.3.0=pathway:memory/stream'
  node tune-bindings.js "$tmp/stream/pathway.js"
  printf '%s\n' "$source_id" >"$tmp/.source"
  old="$(mktemp -u gen.old.XXXXXX)"
  if [[ -d gen ]]; then mv gen "$old"; fi
  mv "$tmp" gen
  rm -rf "$old"
fi
