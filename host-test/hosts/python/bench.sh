#!/usr/bin/env bash
# The Python line of `pathway bench-hosts`:
#
#   host-test/hosts/python/bench.sh WASM DIR EVENTS
#
# Sets the venv up (quietly, only what is missing), then prints one JSON
# line on stdout: host, runtime, instantiate_ms, append_per_s, batch_per_s,
# replay_mb_per_s (see bench.py). DIR is an empty directory to use.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 WASM DIR EVENTS" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
exec "$py" "$here/bench.py" "$wasm" "$2" "$3"
