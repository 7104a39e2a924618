"""Per-call cost of the component's functions, three ways, in one process:

* ``wasmtime-py``: ``wasmtime.component.Func.__call__``, the way this host
  called the component up to 0.1.0 (types re-derived on every call);
* ``this host``: :class:`pathway_memory.Memory` (conversions built once,
  refusals raised as :class:`LogError` and caught);
* ``C call``: ``wasmtime_component_func_call`` alone, arguments built by
  hand and the result only freed: the floor any Python host of wasmtime-py
  has.

    .venv/bin/python bench-calls.py WASM [CALLS]

Prints microseconds per call (per event for the batch), best of 5 rounds,
the three ways interleaved so that a busy machine affects them alike.
``sync`` is an ``fdatasync`` of the log: its figures follow the disk, not
the call path.
"""

from __future__ import annotations

import ctypes
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List

from wasmtime import _ffi as ffi

from pathway_memory import LogError, Memory
from pathway_memory._runtime import Instance
from pathway_memory.errors import Case

EVENT = '{"i":1,"pad":"' + "x" * 80 + '"}'
BATCH = [EVENT] * 100


def wasmtime_py(instance: Instance, name: str, *args: Any) -> Callable[[], Any]:
    index, _ = instance.runtime.exports[name]
    func = instance.instance.get_func(instance.store, index)
    assert func is not None
    return lambda: func(instance.store, *args)


def c_call(instance: Instance, name: str, text: str) -> Callable[[], None]:
    index, _ = instance.runtime.exports[name]
    func = instance.instance.get_func(instance.store, index)
    assert func is not None
    data = text.encode()

    def call() -> None:
        param = (ffi.wasmtime_component_val_t * 1)()
        param[0].kind = ffi.WASMTIME_COMPONENT_STRING
        param[0].of.string = ffi.bytes_to_capi(data)
        result = ffi.wasmtime_component_val_t()
        error = ffi.wasmtime_component_func_call(ctypes.byref(func._func), instance.context,
                                                 param, 1, ctypes.byref(result), 1)
        assert not error
        ffi.wasmtime_component_val_delete(ctypes.byref(param[0]))
        ffi.wasmtime_component_val_delete(ctypes.byref(result))

    return call


def refused(memory: Memory) -> Callable[[], None]:
    def call() -> None:
        try:
            memory.try_append("{")
        except LogError:
            pass

    return call


def main(argv: List[str]) -> int:
    wasm = argv[1]
    calls = int(argv[2]) if len(argv) > 2 else 2000
    memory = Memory.open(tempfile.mkdtemp(prefix="pathway-calls-"), wasm=wasm)
    # Each way has its own log, so that one's appends do not make the
    # others' syncs slower.
    raw = Instance(memory._runtime, tempfile.mkdtemp(prefix="pathway-calls-"), ".", False, [], 1 << 30)
    c = Instance(memory._runtime, tempfile.mkdtemp(prefix="pathway-calls-"), ".", False, [], 1 << 30)
    for instance in (raw, c):
        instance.call("open-log", ())  # as Memory.open does
    rows: Dict[str, Dict[str, Callable[[], Any]]] = {
        "try-append, refused": {
            "wasmtime-py": wasmtime_py(raw, "try-append", "{"),
            "this host": refused(memory),
            "C call": c_call(c, "try-append", "{"),
        },
        "try-append, stored": {
            "wasmtime-py": wasmtime_py(raw, "try-append", EVENT),
            "this host": lambda: memory.try_append(EVENT),
            "C call": c_call(c, "try-append", EVENT),
        },
        "host-message (no I/O)": {
            "wasmtime-py": wasmtime_py(raw, "host-message", 5),
            "this host": lambda: memory.host_message(5),
        },
        "sync": {
            "wasmtime-py": wasmtime_py(raw, "sync"),
            "this host": memory.sync,
        },
        "append-batch of 100, per event": {
            "wasmtime-py": wasmtime_py(raw, "append-batch", BATCH),
            "this host": lambda: memory.append_batch(BATCH),
        },
    }
    print(f"us per call, best of 5 x {calls} calls (batch: per event, {calls // 10} calls)")
    for label, ways in rows.items():
        n = calls // 10 if "batch" in label else calls
        per = 100 if "batch" in label else 1
        best = {way: float("inf") for way in ways}
        for _ in range(5):
            for way, call in ways.items():
                call()
                started = time.perf_counter()
                for _ in range(n):
                    call()
                best[way] = min(best[way], (time.perf_counter() - started) / n / per * 1e6)
        print(f"{label:32}" + "".join(f" | {way} {us:7.1f}" for way, us in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
