"""The host functions of the stream build: ``pathway:memory/stream@0.3.0``
defined in a component linker, served by a :class:`~._nats.NatsStream`.

Why not wasmtime-py's ``LinkerInstance.add_func``: its generic conversion
(wasmtime-py 50.0.1, ``wasmtime.component._types``) cannot return the
error of ``last``. It tells the cases of a ``result`` apart by Python
class, and for ``result<option<message>, stream-error>`` the ``ok`` case
accepts every object (an ``option``'s ``none`` is matched by ``object``),
so an ``Err`` is lowered as ``ok`` and fails. It also converts a
``list<u8>`` a byte at a time through ctypes, several microseconds per byte
of every payload read. So, as ``_abi`` does for the exports, this module
calls ``wasmtime_component_linker_instance_add_func`` itself (with
wasmtime-py's public ``Linker.root()`` / ``add_instance`` for the rest),
and converts with ``_abi``'s lifters and lowerers, built once per compiled
component from the types the component imports.

Each call of a host function runs on the thread that called into the
component (the ``Memory``'s call lock is held); the transport blocks it
until its event loop thread has the answer.
"""

from __future__ import annotations

import ctypes
import itertools
from ctypes import CFUNCTYPE, c_char_p, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Optional

from wasmtime import Engine, WasmtimeError
from wasmtime.component import Component, ComponentInstanceType, FuncType, Linker

from . import _abi
from ._nats import INTERFACE, NatsStream, Outgoing, StreamFailure, Target
from .errors import SetupError
from .values import Err, Ok

#: The functions of the interface, in WIT order.
FUNCTIONS = ("target", "connect", "publish", "last", "read", "purge", "remove", "stats")

#: The records the component passes to the host (``outgoing``).
RECORDS = _abi.records_of(Outgoing)

_Callback = CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p,
                      c_size_t)
_Finalizer = CFUNCTYPE(None, c_void_p)
_add_func = _abi._c("wasmtime_component_linker_instance_add_func", c_void_p,
                    c_void_p, c_char_p, c_size_t, _Callback, c_void_p, _Finalizer)
_error_new = _abi._c("wasmtime_error_new", c_void_p, c_char_p)

Handler = Callable[[int, int], None]
#: The functions defined in linkers, by the key their C callback carries.
_HANDLERS: Dict[int, Handler] = {}
_keys = itertools.count(1)


def _invoke(data: Optional[int], _context: Optional[int], _ty: Optional[int],
            args: Optional[int], nargs: int, results: Optional[int], nresults: int) -> int:
    try:
        handler = _HANDLERS[data or 0]
        handler(args or 0, results or 0)
        return 0
    except BaseException as e:  # a trap with the reason, never an exception into C
        text = f"the pathway-memory host's stream function failed: {type(e).__name__}: {e}"
        return int(_error_new(text.replace("\0", " ").encode("utf-8", "replace")) or 0)


def _finalize(data: Optional[int]) -> None:
    _HANDLERS.pop(data or 0, None)


# Kept for the life of the process: wasmtime holds these function pointers.
_CALLBACK = _Callback(_invoke)
_FINALIZER = _Finalizer(_finalize)


class Signature:
    """One imported function's conversions."""

    def __init__(self, name: str, ty: FuncType) -> None:
        self.name = name
        self.lifts = [_abi.lifter(t, RECORDS) for _, t in ty.params]
        result = ty.result
        self.lower: Optional[_abi.Lower] = None if result is None else _abi.lowerer(result)


class StreamImports:
    """The stream interface as a compiled component imports it, or ``None``
    from :meth:`of` when it does not (the directory build)."""

    def __init__(self, signatures: Dict[str, Signature]) -> None:
        self.signatures = signatures

    @classmethod
    def of(cls, engine: Engine, component: Component) -> Optional["StreamImports"]:
        imports = component.type.imports(engine)
        extern = imports.get(INTERFACE)
        if extern is None:
            return None
        iface = extern.ty
        if not isinstance(iface, ComponentInstanceType):
            raise SetupError(f"the component's import {INTERFACE} is not an interface")
        functions = iface.exports(engine)
        signatures = {}
        for name in FUNCTIONS:
            func_type = functions[name].ty if name in functions else None
            if not isinstance(func_type, FuncType):
                raise SetupError(f"the component's import {INTERFACE} has no function {name!r}: "
                                 "is it pathway-memory 0.3.0?")
            signatures[name] = Signature(name, func_type)
        unknown = sorted(name for name, item in functions.items()
                         if name not in FUNCTIONS and isinstance(item.ty, FuncType))
        if unknown:
            raise SetupError(f"the component's import {INTERFACE} has functions this host does "
                             f"not serve: {', '.join(unknown)}")
        return cls(signatures)

    def linker(self, engine: Engine, transport: NatsStream) -> Linker:
        """A linker with WASI and this interface served by ``transport``."""
        linker = Linker(engine)
        try:
            linker.add_wasip2()
            with linker.root() as root:
                with root.add_instance(INTERFACE) as instance:
                    for name, implementation in _implementations(transport).items():
                        self._define(instance, self.signatures[name], implementation)
        except WasmtimeError as e:
            raise SetupError(f"wasmtime could not link {INTERFACE}: {e}") from e
        return linker

    @staticmethod
    def _define(instance: Any, signature: Signature, implementation: Callable[..., Any]) -> None:
        lifts, lower = signature.lifts, signature.lower
        mem, size = _abi._MEM, _abi._VAL_SIZE

        def handler(args: int, results: int) -> None:
            values = [lift(mem, args + i * size) for i, lift in enumerate(lifts)]
            value = implementation(*values)
            if lower is not None:
                ctypes.memset(results, 0, size)
                lower(results, value)

        key = next(_keys)
        _HANDLERS[key] = handler
        raw = signature.name.encode("utf-8")
        error = _add_func(instance.ptr(), raw, len(raw), _CALLBACK, key, _FINALIZER)
        if error:
            _HANDLERS.pop(key, None)
            raise WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(
                _abi.ffi.wasmtime_error_t)))


def _result(call: Callable[[], Any]) -> Any:
    """``Ok(value)``, or ``Err(case)`` for a :class:`StreamFailure`."""
    try:
        return Ok(call())
    except StreamFailure as e:
        return Err(e.case)


def _implementations(t: NatsStream) -> Dict[str, Callable[..., Any]]:
    def target() -> Target:
        return t.target()

    def connect() -> Any:
        return _result(t.connect)

    def publish(messages: List[Outgoing]) -> Any:
        return _result(lambda: t.publish(messages))

    def last(topic: str) -> Any:
        return _result(lambda: t.last(topic))

    def read(topic: str, start: int, max_bytes: int) -> Any:
        return _result(lambda: t.read(topic, start, max_bytes))

    def purge(topic: str, below: int) -> Any:
        return _result(lambda: t.purge(topic, below))

    def remove(seq: int) -> Any:
        return _result(lambda: t.remove(seq))

    def stats() -> Any:
        return _result(t.stats)

    return {"target": target, "connect": connect, "publish": publish, "last": last,
            "read": read, "purge": purge, "remove": remove, "stats": stats}


__all__ = ["StreamImports", "FUNCTIONS"]
