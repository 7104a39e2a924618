#!/usr/bin/env bash
# Checks that a release is reproducible: clones HEAD twice, into
# directories with different paths, runs dist.sh in each and compares every
# artifact byte for byte (the component, the binary WIT package, the npm
# package, the wheel).
#
#   bash host-test/reproducible.sh [WORK_DIR]
#
# Not run in CI: each clone builds its component cold (its own OUT_DIR).
# Both clones share one cargo target dir ($CARGO_TARGET_DIR, default
# WORK_DIR/target) so wasmtime is compiled once; point CARGO_TARGET_DIR at
# an existing target dir (e.g. this checkout's target/) to skip that too.
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
    bash "${clones[$i]}/host-test/dist.sh" "$work/out$i"
    echo "reproducible.sh: built in $((SECONDS - start)) s" >&2
done

status=0
while read -r _ name; do
    if cmp -s "$work/out0/$name" "$work/out1/$name"; then
        echo "same bytes: $name"
    else
        echo "DIFFERENT:  $name" >&2
        status=1
    fi
done <"$work/out0/SHA256SUMS"
exit $status
