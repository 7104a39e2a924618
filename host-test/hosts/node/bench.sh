#!/usr/bin/env bash
# The Node.js line of `pathway bench-hosts`:
#
#   host-test/hosts/node/bench.sh WASM DIR EVENTS [NATS_URL]
#
# Sets the host up (quietly, only what changed), then prints one JSON line
# on stdout: host, runtime, instantiate_ms, append_per_s, batch_per_s,
# replay_mb_per_s, storage (see bench.js). DIR is an empty directory to
# use. With NATS_URL (a NATS server with JetStream), the log is kept in a
# fresh stream pathway-bench-node-<pid> there (1 replica, deleted at the
# end) instead of in DIR, and storage is "nats" instead of "directory".
set -euo pipefail

if [[ $# -lt 3 || $# -gt 4 || ( $# -eq 4 && -z "$4" ) ]]; then
  echo "usage: $0 WASM DIR EVENTS [NATS_URL]" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
if [[ $# -eq 4 ]]; then
  exec node "$here/bench.js" "$2" "$3" --nats "$4"
fi
exec node "$here/bench.js" "$2" "$3"
