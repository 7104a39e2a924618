#!/usr/bin/env bash
# Plugs the pathway component into the agent plugin with `wac plug` and
# runs the composed command twice with the wasmtime CLI, checking that the
# second run remembers the first. No pathway host is involved at run time.
#
# Optional, not part of CI: the first run installs wac-cli and wasmtime-cli
# (10-20 minutes each) into $PATHWAY_TOOLS (default
# ~/.cache/pathway-memory/tools); later runs reuse them. $WAC and $WASMTIME
# name other binaries to use instead.
set -euo pipefail

WAC_CLI_VERSION=0.12.0
WASMTIME_CLI_VERSION=48.0.8

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../.."
tools="${PATHWAY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pathway-memory/tools}"

# install CRATE VERSION BINARY: the path of BINARY, installed if missing.
install() {
    if [ ! -x "$tools/bin/$3" ]; then
        echo "compose.sh: installing $1 $2 into $tools (this takes a while)" >&2
        cargo install --locked --quiet --root "$tools" "$1" --version "$2"
    fi
    echo "$tools/bin/$3"
}
wac="${WAC:-$(install wac-cli "$WAC_CLI_VERSION" wac)}"
wasmtime="${WASMTIME:-$(install wasmtime-cli "$WASMTIME_CLI_VERSION" wasmtime)}"

work="$(mktemp -d "${TMPDIR:-/tmp}/pathway-compose-XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The two components: ours (as the `pathway` binary embeds it) and the plugin.
cargo run --quiet -p pathway-host -- wasm --out "$work/pathway_memory.wasm"
cargo build --quiet --profile wasm --target wasm32-wasip2 -p pathway-agent-plugin
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
cp "$target_dir/wasm32-wasip2/wasm/pathway-agent-plugin.wasm" "$work/agent.wasm"

# The plugin's `pathway:memory/log` import is satisfied by our component's
# export; what remains to import is WASI only.
"$wac" plug "$work/agent.wasm" --plug "$work/pathway_memory.wasm" -o "$work/composed.wasm"

# The composed command runs in one sandbox: the directory it is given is the
# log's directory (the pathway component uses the first one preopened).
mkdir "$work/mem"
run() { "$wasmtime" run --dir "$work/mem::/" "$work/composed.wasm" "$@"; }
first="$(run met Ada)"
second="$(run said hi)"

expected_first='run 1: I remember nothing yet
remembered {"run":1,"note":"met Ada"}'
expected_second='run 2: I remember 1 earlier run
  run 1: met Ada
remembered {"run":2,"note":"said hi"}'
expected_log='{"run":1,"note":"met Ada"}
{"run":2,"note":"said hi"}'
status=0
check() {
    if [ "$2" != "$3" ]; then
        printf 'compose.sh: %s differs\n--- expected\n%s\n--- got\n%s\n' "$1" "$3" "$2" >&2
        status=1
    fi
}
check "first run's output" "$first" "$expected_first"
check "second run's output" "$second" "$expected_second"
check "log" "$(cat "$work/mem/pathway.jsonl")" "$expected_log"
[ "$status" = 0 ] || exit 1
printf '%s\n%s\n' "$first" "$second"
echo "compose.sh: ok: composed with $("$wac" --version), run with $("$wasmtime" --version)"
