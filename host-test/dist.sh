#!/usr/bin/env bash
# Builds every release artifact of pathway-memory 0.2.0 into OUT_DIR:
#
#   bash host-test/dist.sh OUT_DIR
#
#   pathway_memory.wasm              the component, with its metadata
#   pathway_memory_stream.wasm       its stream build (world pathway-stream)
#   pathway-memory-0.3.0.wit.wasm    the WIT package in binary form
#   pathway-memory-0.2.0.tgz         the npm package (jco output included)
#   pathway_memory-0.2.0-py3-none-any.whl   the Python wheel (.wasm inside)
#   pathway-memory-0.2.0.crate       the component's crate (its sources)
#   pathway-host-0.2.0.crate         the wasmtime host library (the
#                                    component above inside)
#   pathway-cli-0.2.0.crate          the `pathway` CLI
#   SHA256SUMS                       `sha256sum -c SHA256SUMS` in OUT_DIR
#
# Works from a clean clone: builds the `pathway` CLI (which builds and
# embeds the component and the WIT package; `cargo build`'s usual target
# dir, so a later `cargo test` reuses it), then has package-crates.sh
# (`cargo package`, which builds the crates from their packaged form to
# verify them) and the npm and Python hosts' scripts package what it
# writes out. The crates record the commit, so the checkout must be
# clean. Needs what the README's test command needs (Rust via rustup,
# Node.js 20 with npm, Python 3.11 with venv); npm and pip fetch their
# pinned packages on first use.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out="$(cd "$1" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rustup toolchain install >&2
cargo build -q -p pathway-cli --bin pathway
pathway="$(cargo metadata -q --format-version 1 --no-deps | \
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/pathway"

"$pathway" wasm --out "$out/pathway_memory.wasm"
"$pathway" wit --wasm --out "$out/pathway-memory-0.3.0.wit.wasm"
bash host-test/package-crates.sh "$out/pathway_memory.wasm" "$out" >/dev/null
bash host-test/hosts/node/pack.sh "$out/pathway_memory.wasm" "$out" >/dev/null
bash host-test/hosts/python/wheel.sh "$out/pathway_memory.wasm" "$out" >/dev/null
artifacts=(pathway_memory.wasm pathway_memory_stream.wasm pathway-memory-0.3.0.wit.wasm pathway-memory-0.2.0.tgz
    pathway_memory-0.2.0-py3-none-any.whl pathway-memory-0.2.0.crate pathway-host-0.2.0.crate
    pathway-cli-0.2.0.crate)
chmod 644 "${artifacts[@]/#/$out/}"
(cd "$out" && sha256sum "${artifacts[@]}" >SHA256SUMS && sha256sum -c --quiet SHA256SUMS)
"$pathway" wasm --metadata >&2
(cd "$out" && ls -l "${artifacts[@]}" SHA256SUMS) >&2
