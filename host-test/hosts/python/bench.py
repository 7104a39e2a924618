"""The Python line of ``pathway bench-hosts``: one JSON object on stdout.

    python bench.py WASM DIR EVENTS

DIR is an empty directory to use. Measures, through
:class:`pathway_memory.Memory`: ``instantiate_ms`` (median of 20 opens of a
fresh log, after one that compiles the component), ``append_per_s`` (EVENTS
one-event ``try_append`` calls of a ~100-byte event), ``batch_per_s``
(EVENTS events in ``append_batch`` calls of 100) and ``replay_mb_per_s``
(typed whole-log replay of the log those appends made: file bytes /
seconds, best of 3).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from importlib.metadata import version
from typing import List

from pathway_memory import Memory

EVENT_BYTES = 100
BATCH = 100


def event(i: int) -> str:
    """``{"i":N,"pad":"..."}``, padded to about EVENT_BYTES."""
    bare = '{"i":%d,"pad":""}' % i
    return '{"i":%d,"pad":"%s"}' % (i, "x" * max(0, EVENT_BYTES - len(bare)))


def main(argv: List[str]) -> int:
    if len(argv) != 4 or not argv[3].isdigit() or int(argv[3]) <= 0:
        print(f"usage: {argv[0]} WASM DIR EVENTS", file=sys.stderr)
        return 2
    wasm, directory, events = argv[1], argv[2], int(argv[3])

    opens: List[float] = []
    for i in range(21):
        fresh = os.path.join(directory, f"open-{i}")
        os.mkdir(fresh)
        started = time.perf_counter()
        Memory.open(fresh, wasm=wasm).close()
        if i > 0:  # the first also compiles the component
            opens.append((time.perf_counter() - started) * 1000)

    log_dir = os.path.join(directory, "log")
    os.mkdir(log_dir)
    memory = Memory.open(log_dir, wasm=wasm)
    texts = [event(i) for i in range(events)]

    started = time.perf_counter()
    for text in texts:
        memory.try_append(text)
    append_per_s = events / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(0, events, BATCH):
        memory.append_batch(texts[i:i + BATCH])
    batch_per_s = events / (time.perf_counter() - started)

    size = os.path.getsize(memory.log_path)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        entries = memory.replay()
        best = min(best, time.perf_counter() - started)
        if len(entries) != 2 * events:
            raise SystemExit(f"replay gave {len(entries)} entries, expected {2 * events}")
    memory.close()

    print(json.dumps({
        "host": "python",
        "runtime": f"wasmtime-py {version('wasmtime')}",
        "instantiate_ms": statistics.median(opens),
        "append_per_s": append_per_s,
        "batch_per_s": batch_per_s,
        "replay_mb_per_s": size / best / 1e6,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
