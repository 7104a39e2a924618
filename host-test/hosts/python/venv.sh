# Sourced by run-tests.sh, differential.sh and bench.sh: makes the venv
# (${PATHWAY_PY_VENV:-<this dir>/.venv}) on first use and installs
# requirements.txt into it; later runs skip pip when the pins are installed.
# Sets $py to the venv's python. Quiet unless something fails.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="${PATHWAY_PY_VENV:-$here/.venv}"
# The tests, the differential runner and the bench may start at once (cargo
# runs tests in parallel): one of them sets the venv up, the others wait.
mkdir -p "$(dirname "$venv")"
exec {venv_lock}>"$venv.lock"
flock "$venv_lock"
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
    "$py" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
flock -u "$venv_lock"
exec {venv_lock}>&-

# The component as an absolute path, or a usage error.
component() {
    local wasm="$1"
    if [[ ! -f "$wasm" ]]; then
        echo "$0: no component at $wasm (build one: cargo run -q -p pathway-host -- wasm --out FILE)" >&2
        exit 2
    fi
    echo "$(cd "$(dirname "$wasm")" && pwd)/$(basename "$wasm")"
}
