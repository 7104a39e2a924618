#!/usr/bin/env bash
# Builds the wheel pathway_memory-0.2.0-py3-none-any.whl into OUT_DIR with
# both builds of the component as package data:
#
#   host-test/hosts/python/wheel.sh WASM_PATH OUT_DIR [STREAM_WASM_PATH]
#
# WASM_PATH is the directory build; the stream build (for NATS logs) is
# STREAM_WASM_PATH, else found beside WASM_PATH as the package finds it:
# X_stream.wasm for X.wasm, else pathway_memory_stream.wasm in the same
# directory. Stages pyproject.toml, README.md and pathway_memory/ (without
# caches) plus the builds as pathway_memory/pathway_memory.wasm and
# pathway_memory/pathway_memory_stream.wasm in a temp dir, so the source
# tree never holds a .wasm, then runs `pip wheel` there (pip fetches the
# pinned flit_core from PyPI on first use). SOURCE_DATE_EPOCH, the last
# commit's time when this is a git checkout, makes the zip's timestamps and
# so the wheel's bytes the same on every build. Prints the wheel's path.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 WASM_PATH OUT_DIR [STREAM_WASM_PATH]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wasm="$(component "$1")"
if [[ $# -eq 3 ]]; then
    stream_wasm="$(component "$3")"
else
    stem="$(basename "$wasm" .wasm)"
    names=("${stem}_stream.wasm")
    [[ "${stem}_stream.wasm" == pathway_memory_stream.wasm ]] || names+=(pathway_memory_stream.wasm)
    stream_wasm=""
    for name in "${names[@]}"; do
        if [[ -f "$(dirname "$wasm")/$name" ]]; then
            stream_wasm="$(dirname "$wasm")/$name"
            break
        fi
    done
    if [[ -z "$stream_wasm" ]]; then
        echo "$0: no stream build of the component beside $wasm (looked for ${names[*]} in $(dirname "$wasm")); the wheel carries both builds: build the stream one there or pass it as STREAM_WASM_PATH" >&2
        exit 2
    fi
fi
mkdir -p "$2"
out="$(cd "$2" && pwd)"

stage="$(mktemp -d "${TMPDIR:-/tmp}/pathway-wheel-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp "$here/pyproject.toml" "$here/README.md" "$stage/"
mkdir "$stage/pathway_memory"
cp "$here"/pathway_memory/*.py "$here/pathway_memory/py.typed" "$stage/pathway_memory/"
cp "$wasm" "$stage/pathway_memory/pathway_memory.wasm"
cp "$stream_wasm" "$stage/pathway_memory/pathway_memory_stream.wasm"

if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH="$(git -C "$here" log -1 --format=%ct 2>/dev/null || echo 315532800)"
fi
export SOURCE_DATE_EPOCH
"$py" -m pip wheel -q --disable-pip-version-check --no-deps -w "$out" "$stage" >&2
echo "$out/pathway_memory-0.2.0-py3-none-any.whl"
