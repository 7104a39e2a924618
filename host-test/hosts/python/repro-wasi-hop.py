"""Minimal reproduction, for wasmtime's C API (and so wasmtime-py): every
WASI file operation costs a hop to tokio's blocking thread pool.

Self-contained (a core module in WAT, WASI preview 1): ``python
repro-wasi-hop.py`` with ``wasmtime`` installed. Inside ONE wasm call, the
guest makes N ``fd_write`` (101 bytes, append) or ``fd_filestat_get`` calls on
a file in a preopened directory; the script prints the cost per WASI call
next to the same syscall made from Python.

wasmtime-wasi runs file operations through ``spawn_blocking`` unless the
``WasiCtx`` was built with ``allow_blocking_current_thread(true)``
(wasmtime PR #8190; the wasmtime CLI and our Rust host set it). The C API's
``wasi_config_t`` has no way to set it (wasmtime 50: no such
``wasi_config_*`` function; wasmtime-py's ``WasiConfig`` neither), so every
file call from an embedding through the C API wakes a pool thread and waits
for it: ``strace -f -c`` of this script counts about 11 futex calls per WASI
file operation. The component-model WASI (``linker.add_wasip2()``, which
pathway-memory uses) takes the same path.

What it printed on the machine of the report (2 CPUs, shared with other
jobs, CPython 3.11.7):

    wasmtime-py 50.0.1, 2 CPUs, 20000 calls per loop, best of 3, all inside one wasm call
    guest fd_write of 101 bytes (WASI p1, preopened dir):  52.97 us per call
    guest fd_filestat_get:                                  60.62 us per call
    the same write from Python (os.write):                   2.76 us per call
    the same stat from Python (os.fstat):                    2.92 us per call

The ask upstream: a ``wasi_config_allow_blocking_current_thread(config,
bool)`` in the C API (and ``WasiConfig.allow_blocking_current_thread`` in
wasmtime-py), as the Rust API has.
"""

import os, sys, tempfile, time
from importlib.metadata import version

from wasmtime import Config, Engine, Func, Linker, Module, Store, WasiConfig

WAT = r"""
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get"
    (func $fd_filestat_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "log.txt")
  (data (i32.const 64) "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n")
  (global $fd (mut i32) (i32.const -1))
  ;; open "log.txt" in the preopened dir (fd 3) for appending
  (func (export "open") (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 7)
      (i32.const 1) ;; O_CREAT
      (i64.const 0x1fffffff) (i64.const 0x1fffffff)
      (i32.const 1) ;; FDFLAGS_APPEND
      (i32.const 16))
    (global.set $fd (i32.load (i32.const 16))))
  ;; n appends of 101 bytes, one fd_write each
  (func (export "write") (param $n i32) (result i32)
    (local $err i32)
    (i32.store (i32.const 32) (i32.const 64))
    (i32.store (i32.const 36) (i32.const 101))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $err (call $fd_write (global.get $fd) (i32.const 32) (i32.const 1) (i32.const 40)))
      (br_if $done (local.get $err))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $err))
  ;; n stats of the open file, one fd_filestat_get each
  (func (export "stat") (param $n i32) (result i32)
    (local $err i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $err (call $fd_filestat_get (global.get $fd) (i32.const 128)))
      (br_if $done (local.get $err))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $err))
)
"""
N = 20000
engine = Engine(Config())
linker = Linker(engine)
linker.define_wasi()
module = Module(engine, WAT)
directory = tempfile.mkdtemp()
wasi = WasiConfig()
wasi.preopen_dir(directory, ".")
store = Store(engine)
store.set_wasi(wasi)
exports = linker.instantiate(store, module).exports(store)


def export(name: str) -> Func:
    func = exports[name]
    assert isinstance(func, Func)
    return func


assert export("open")(store) == 0


def per_call(name: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        assert export(name)(store, N) == 0
        best = min(best, time.perf_counter() - started)
    return best / N * 1e6


print(f"wasmtime-py {version('wasmtime')}, {os.cpu_count()} CPUs, {N} calls per loop, "
      "best of 3, all inside one wasm call")
print(f"guest fd_write of 101 bytes (WASI p1, preopened dir): {per_call('write'):6.2f} us per call")
print(f"guest fd_filestat_get:                                 {per_call('stat'):6.2f} us per call")
fd = os.open(os.path.join(directory, "native.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
data = b"x" * 100 + b"\n"
started = time.perf_counter()
for _ in range(N):
    os.write(fd, data)
print(f"the same write from Python (os.write):                 {(time.perf_counter() - started) / N * 1e6:6.2f} us per call")
started = time.perf_counter()
for _ in range(N):
    os.fstat(fd)
print(f"the same stat from Python (os.fstat):                  {(time.perf_counter() - started) / N * 1e6:6.2f} us per call")
