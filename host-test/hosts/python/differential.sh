#!/usr/bin/env bash
# The Python host's runner of the cross-host differential test
# (../cross-host.md):
#   bash host-test/hosts/python/differential.sh WASM CASES_JSON OUT_JSON
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 WASM CASES_JSON OUT_JSON" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
exec "$py" "$here/differential.py" "$wasm" "$2" "$3"
