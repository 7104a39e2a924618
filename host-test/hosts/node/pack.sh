#!/usr/bin/env bash
# Builds the npm package pathway-memory-0.2.0.tgz into OUT_DIR:
#
#   host-test/hosts/node/pack.sh WASM_PATH OUT_DIR
#
# Transpiles WASM_PATH (the directory build) and the stream build beside it
# (X_stream.wasm or pathway_memory_stream.wasm, as setup.sh finds it) with
# the pinned jco (setup.sh, into gen/ and gen/stream/), stages
# npm-package.json as package.json with pathway.js, lines.js, wasi.js,
# nats.js, nats-worker.js, pathway.d.ts, README.md and gen/ in a temp dir,
# and runs `npm pack` there: the package holds the jco output of both
# builds, so its users need no build step, and pathway.js finds the
# bindings in gen/ next to itself. Prints the .tgz's path.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 WASM_PATH OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
mkdir -p "$2"
out="$(cd "$2" && pwd)"

stage="$(mktemp -d "${TMPDIR:-/tmp}/pathway-npm-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp "$here/npm-package.json" "$stage/package.json"
cp "$here/pathway.js" "$here/lines.js" "$here/wasi.js" "$here/nats.js" "$here/nats-worker.js" \
  "$here/pathway.d.ts" "$here/README.md" "$stage/"
# gen/ without setup.sh's bookkeeping (.source), under setup.sh's lock so
# a concurrent setup for another component cannot swap it mid-copy.
exec 9>"$here/.setup.lock"
flock 9
cp -R "$here/gen" "$stage/gen"
flock -u 9
rm -f "$stage/gen/.source"
# npm pack sets every entry's mtime to a fixed date: the bytes depend only
# on the files.
(cd "$stage" && npm pack --silent --pack-destination "$out" >/dev/null)
echo "$out/pathway-memory-0.2.0.tgz"
