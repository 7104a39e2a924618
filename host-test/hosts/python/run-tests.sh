#!/usr/bin/env bash
# Runs the Python host's tests against a built component:
#   host-test/hosts/python/run-tests.sh WASM_PATH [pytest args...]
# (venv.sh makes the venv and installs requirements.txt on first use.)
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 WASM_PATH [pytest args...]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
shift

cd "$here"
PATHWAY_WASM="$wasm" exec "$py" -m pytest -p no:cacheprovider -q "$@" test_pathway.py
