#!/usr/bin/env bash
# Runs the framework adapters' tests (test_langgraph.py: PathwaySaver against
# langgraph-checkpoint-conformance and a real StateGraph; test_agents.py:
# PathwaySession and the Agents SDK's Runner) against a built
# component, in their own venv:
#   host-test/hosts/python/frameworks.sh WASM_PATH [pytest args...]
# The venv is ${PATHWAY_FRAMEWORKS_VENV:-<this dir>/.venv-frameworks}; it is
# made on first use and gets requirements-frameworks.txt (which includes
# requirements.txt) whenever a pin is missing.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 WASM_PATH [pytest args...]" >&2
    exit 2
fi
# venv.sh's venv is this script's: the framework pins live only here.
PATHWAY_PY_VENV="${PATHWAY_FRAMEWORKS_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.venv-frameworks}"
export PATHWAY_PY_VENV
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
shift

# requirements.txt is installed by venv.sh; the frameworks' pins here.
req="$here/requirements-frameworks.txt"
if ! "$py" - "$req" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        continue
    name, _, want = line.partition("==")
    try:
        if version(name.strip()) != want.strip():
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
    "$py" -m pip install -q --disable-pip-version-check -r "$req" >&2
fi

cd "$here"
tests=(test_langgraph.py test_agents.py)
PATHWAY_WASM="$wasm" exec "$py" -m pytest -p no:cacheprovider -q "$@" "${tests[@]}"
