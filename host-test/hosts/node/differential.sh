#!/usr/bin/env bash
# The Node.js runner of the cross-host differential test (../cross-host.md):
#
#   host-test/hosts/node/differential.sh WASM CASES_JSON OUT_JSON
#
# Sets the host up as run-tests.sh does (quietly, only what changed), then
# runs every case of CASES_JSON and writes the results to OUT_JSON.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 WASM CASES_JSON OUT_JSON" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
exec node "$here/differential.js" "$2" "$3"
