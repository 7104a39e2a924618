#!/usr/bin/env bash
# Checks that a release is reproducible: clones HEAD twice, into
# directories with different paths, runs dist.sh in each and compares every
# artifact byte for byte (the component, the binary WIT package, the npm
# package, the wheel, the two crates).
#
#   bash host-test/reproducible.sh [WORK_DIR]
#
# Not run in CI: each clone first builds the component cold, in a target
# dir of its own (about a minute each), then runs dist.sh. The dist.sh
# builds share one cargo target dir ($CARGO_TARGET_DIR, default
# WORK_DIR/target) so wasmtime is compiled once (about 15 minutes cold on
# 2 cores); point CARGO_TARGET_DIR at an existing target dir (e.g. this
# checkout's target/) to skip that.
# WORK_DIR (default: a new temp dir) keeps the clones and the outputs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/pathway-repro-XXXXXX")}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
commit="$(git -C "$repo" rev-parse HEAD)"

# Two checkouts whose paths differ in length and name.
clones=("$work/a/pathway-memory" "$work/second-checkout/elsewhere/pm")
for clone in "${clones[@]}"; do
    rm -rf "$clone"
    git clone -q --no-hardlinks "$repo" "$clone"
    git -C "$clone" checkout -q --detach "$commit"
done

for i in 0 1; do
    echo "reproducible.sh: building in ${clones[$i]}" >&2
    start=$SECONDS
    # The component alone, cold, in a target dir of its own: the command
    # host-test/build.rs runs (before it adds the metadata).
    rm -rf "$work/wasm-target$i"
    # (with build.rs's WASM_RUSTFLAGS).
    flags=$(sed -n 's/^const WASM_RUSTFLAGS: &str = "\(.*\)";$/\1/p' "${clones[$i]}/host-test/build.rs")
    (cd "${clones[$i]}" && env -u CARGO_TARGET_DIR -u RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="$flags" \
        cargo build -q --profile wasm --target wasm32-wasip2 -p pathway-memory \
        --target-dir "$work/wasm-target$i")
    mkdir -p "$work/out$i"
    cp "$work/wasm-target$i/wasm32-wasip2/wasm/pathway_memory.wasm" "$work/out$i/cold-component.wasm"
    # Every artifact, as a release makes them.
    bash "${clones[$i]}/host-test/dist.sh" "$work/out$i"
    echo "reproducible.sh: built in $((SECONDS - start)) s" >&2
done

status=0
if cmp -s "$work/out0/cold-component.wasm" "$work/out1/cold-component.wasm"; then
    echo "same bytes: the component built cold in each clone"
else
    echo "DIFFERENT:  the component built cold in each clone" >&2
    status=1
fi
while read -r _ name; do
    if cmp -s "$work/out0/$name" "$work/out1/$name"; then
        echo "same bytes: $name"
    else
        echo "DIFFERENT:  $name" >&2
        status=1
    fi
done <"$work/out0/SHA256SUMS"
exit $status
