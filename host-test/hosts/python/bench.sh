#!/usr/bin/env bash
# The Python line of `pathway bench-hosts`:
#
#   host-test/hosts/python/bench.sh WASM DIR EVENTS [NATS_URL]
#
# Sets the venv up (quietly, only what is missing), then prints one JSON
# line on stdout: host, runtime, instantiate_ms, append_per_s, batch_per_s,
# replay_mb_per_s, storage (see bench.py). DIR is an empty directory to use.
# With NATS_URL (nats://host:port) the log is a fresh JetStream stream
# pathway-bench-python-<pid> at that server instead (the stream build beside
# WASM; DIR unused), deleted at the end; storage is then "nats".
set -euo pipefail

if [[ $# -ne 3 && $# -ne 4 ]]; then
    echo "usage: $0 WASM DIR EVENTS [NATS_URL]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
exec "$py" "$here/bench.py" "$wasm" "$2" "$3" "${@:4}"
