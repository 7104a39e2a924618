#!/usr/bin/env bash
# The Node.js line of `pathway bench-hosts`:
#
#   host-test/hosts/node/bench.sh WASM DIR EVENTS
#
# Sets the host up (quietly, only what changed), then prints one JSON line
# on stdout: host, runtime, instantiate_ms, append_per_s, batch_per_s,
# replay_mb_per_s (see bench.js). DIR is an empty directory to use.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 WASM DIR EVENTS" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
exec node "$here/bench.js" "$2" "$3"
