#!/usr/bin/env bash
# Runs the Python host's tests against a built component:
#   host-test/hosts/python/run-tests.sh WASM_PATH [pytest args...]
# Makes a venv (${PATHWAY_PY_VENV:-<this dir>/.venv}) on first use and installs
# requirements.txt into it; later runs skip pip when the pins are installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 ]]; then
    echo "usage: $0 WASM_PATH [pytest args...]" >&2
    exit 2
fi
wasm="$1"
shift
if [[ ! -f "$wasm" ]]; then
    echo "$0: no component at $wasm (build one: cargo run -q -p pathway-host -- wasm --out FILE)" >&2
    exit 2
fi
wasm="$(cd "$(dirname "$wasm")" && pwd)/$(basename "$wasm")"

python="${PYTHON:-python3}"
venv="${PATHWAY_PY_VENV:-$here/.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"

# Installed when every pinned name==version in requirements.txt is present.
satisfied() {
    "$py" - "$here/requirements.txt" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        if version(name.strip()) != want.strip():
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}
if ! satisfied; then
    "$py" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
fi

cd "$here"
PATHWAY_WASM="$wasm" exec "$py" -m pytest -p no:cacheprovider -q "$@" test_pathway.py
