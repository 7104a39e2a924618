#!/usr/bin/env bash
# Packages the crates a Rust user depends on, pathway-memory (the
# component's source, and its plain-std modules the host uses natively),
# pathway-host (the embedding library) and pathway-cli (the `pathway`
# command), with
# `cargo package`, and copies the .crate files to OUT_DIR:
#
#   bash host-test/package-crates.sh COMPONENT.wasm OUT_DIR [CARGO_PACKAGE_FLAGS...]
#
# pathway-host ships COMPONENT.wasm (the component dist.sh builds) as
# component/pathway_memory.wasm, and its stream build (COMPONENT_stream.wasm
# beside it, as `pathway wasm --out` writes it) as
# component/pathway_memory_stream.wasm, so its users build no wasm:
# build.rs embeds those copies when the component's sources are not beside
# it.
# pathway-host depends on pathway-memory 0.2.0, which is not on crates.io:
# packaging both in one `cargo package` resolves it from the other package
# (cargo's temporary local registry). The shipped component is not in git,
# so cargo counts it as an uncommitted change: `--allow-dirty`, after
# checking that everything else is committed (pass --allow-dirty yourself
# to package a tree with changes, as the tests do). Prints the .crate paths.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 COMPONENT.wasm OUT_DIR [CARGO_PACKAGE_FLAGS...]" >&2
    exit 2
fi
wasm="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
shift 2
flags=()
allow_dirty=false
for flag in "$@"; do
    if [[ "$flag" == --allow-dirty ]]; then allow_dirty=true; else flags+=("$flag"); fi
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! $allow_dirty && [[ -n "$(git status --porcelain)" ]]; then
    echo "package-crates.sh: the checkout has uncommitted changes; commit them, or pass --allow-dirty" >&2
    git status --short >&2
    exit 1
fi

stream="${wasm%.wasm}_stream.wasm"
if [[ ! -f "$stream" ]]; then
    echo "package-crates.sh: no stream build beside $wasm (looked for $stream; \`pathway wasm --out\` writes both)" >&2
    exit 2
fi
shipped=host-test/component/pathway_memory.wasm
mkdir -p "$(dirname "$shipped")"
cp "$wasm" "$shipped"
cp "$stream" host-test/component/pathway_memory_stream.wasm
trap 'rm -rf host-test/component' EXIT

# A target dir of its own: cargo verifies each package by building it from
# target/package/, and pathway-memory, a cdylib from a path, gets file
# names without a hash (libpathway_memory.rlib), the same as the
# workspace's own build, which it would overwrite.
target="$(cargo metadata -q --format-version 1 --no-deps | \
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/packaging"
cargo package -q --allow-dirty -p pathway-memory -p pathway-host -p pathway-cli \
    --target-dir "$target" ${flags[@]+"${flags[@]}"} >&2
package_dir="$target/package"
for crate in pathway-memory-0.2.0.crate pathway-host-0.2.0.crate pathway-cli-0.2.0.crate; do
    cp "$package_dir/$crate" "$out/$crate"
    echo "$out/$crate"
done
