"""Minimal reproduction, for wasmtime-py: ``wasmtime.component.Func.__call__``
spends most of a call re-deriving the function's types.

Self-contained (a component in WAT, no WASI): ``python repro-call-overhead.py``
with ``wasmtime`` installed. Each call of ``Func.__call__`` (wasmtime-py 50,
``component/_func.py``) asks the C API for the function's type
(``wasmtime_component_func_type``) and reads ``FuncType.params`` and
``.result``; lifting the result then reads ``ResultType.ok/.err``,
``RecordType.fields`` and ``VariantType.cases`` (through ``_tagged()`` and
``_cases()``, several times per value), and each of those properties calls
into C and builds new Python type objects every time. The script compares
that with the C call it wraps, ``wasmtime_component_func_call``.

What it printed on the machine of the report (2 CPUs, CPython 3.11.7):

    wasmtime-py 50.0.1 - best of 5 x 20000 calls; a component whose functions do two stores
    accept: Func.__call__   28.8 us | func.type()+params+result alone   11.0 us | wasmtime_component_func_call   4.4 us
    refuse: Func.__call__  111.9 us | func.type()+params+result alone   15.8 us | wasmtime_component_func_call   6.2 us

A fix upstream: derive a function's parameter and result types once (for
instance cached on the ``Func`` or its ``FuncType``, keyed by the store's
engine) and keep ``VariantLikeType._tagged()`` / ``_cases()`` results on the
type object. ``pathway_memory._abi`` does that on our side: it walks each
function's type once when the component is loaded.
"""

import ctypes
import time
from importlib.metadata import version
from typing import Callable

from wasmtime import Config, Engine, Store
from wasmtime import _ffi as ffi
from wasmtime.component import Component, Func, Linker

WAT = r"""
(component
  (core module $m
    (memory (export "mem") 1)
    ;; result<_, record { code: u32, kind: variant { a(u32), b } }>
    (func (export "refuse") (param $n i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 1))     ;; result: err
      (i32.store (i32.const 20) (local.get $n))     ;; record.code
      (i32.store8 (i32.const 24) (i32.const 0))     ;; variant: case a
      (i32.store (i32.const 28) (local.get $n))     ;; a's payload
      (i32.const 16))
    (func (export "accept") (param $n i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))     ;; result: ok
      (i32.const 16))
  )
  (core instance $i (instantiate $m))
  (type $kind-def (variant (case "a" u32) (case "b")))
  (export $kind "kind" (type $kind-def))
  (type $error-def (record (field "code" u32) (field "kind" $kind)))
  (export $error "error" (type $error-def))
  (type $outcome (result (error $error)))
  (func (export "refuse") (param "n" u32) (result $outcome)
    (canon lift (core func $i "refuse") (memory (core memory $i "mem"))))
  (func (export "accept") (param "n" u32) (result $outcome)
    (canon lift (core func $i "accept") (memory (core memory $i "mem"))))
)
"""
engine = Engine(Config())
component = Component(engine, WAT)
store = Store(engine)
instance = Linker(engine).instantiate(store, component)

N = 20000


def per_call(call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(N):
            call()
        best = min(best, time.perf_counter() - started)
    return best / N * 1e6


def raw_call(func: Func) -> Callable[[], None]:
    """The same call through the C API that Func.__call__ wraps, with the
    argument built by hand and the result left in C (only freed)."""
    context = store._context()

    def call() -> None:
        param = (ffi.wasmtime_component_val_t * 1)()
        param[0].kind = ffi.WASMTIME_COMPONENT_U32
        param[0].of.u32 = 7
        result = ffi.wasmtime_component_val_t()
        error = ffi.wasmtime_component_func_call(ctypes.byref(func._func), context, param, 1,
                                                 ctypes.byref(result), 1)
        assert not error
        ffi.wasmtime_component_val_delete(ctypes.byref(result))

    return call


def types_only(func: Func) -> Callable[[], None]:
    """What Func.__call__ does before and after the call, without it."""
    def call() -> None:
        ty = func.type(store)
        ty.params
        ty.result

    return call


print("wasmtime-py", version("wasmtime"),
      f"- best of 5 x {N} calls; a component whose functions do two stores")
for name in ("accept", "refuse"):
    found = instance.get_func(store, name)
    assert found is not None
    func: Func = found
    print(f"{name}: Func.__call__ {per_call(lambda: func(store, 7)):6.1f} us | "
          f"func.type()+params+result alone {per_call(types_only(func)):6.1f} us | "
          f"wasmtime_component_func_call {per_call(raw_call(func)):5.1f} us")
