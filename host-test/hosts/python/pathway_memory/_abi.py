"""Calls into the component through wasmtime-py's C bindings, with the
conversions between WIT values and Python built once per function.

Why not ``wasmtime.component.Func.__call__``: in wasmtime-py 50 it asks the
C API for the function's type on every call, and every nested type
(``FuncType.params``, ``ResultType.ok``, ``RecordType.fields``,
``VariantType.cases``, ...) is a property that calls into C and builds new
Python objects each time it is read, several times per value. For a
refused ``try-append`` that is 130-230 µs per call around a C call of ~8 µs
(see ``repro-call-overhead.py`` and ``bench-calls.py``). Here each function's type is walked once,
when the component is loaded, into a chain of small lift/lower closures,
and a call goes straight to ``wasmtime_component_func_call``.

Values: ``string`` <-> ``str``, integers <-> ``int``, ``bool``, ``enum`` <->
``str`` (the case name), ``list<u8>`` <-> ``bytes``, other ``list`` <->
``list``, ``tuple`` <-> ``tuple``, ``option`` <-> ``None`` or the value,
``result`` <-> :class:`~pathway_memory.values.Ok` /
:class:`~pathway_memory.values.Err`, ``variant`` <-> :class:`Case`, and a
``record`` <-> the class registered for its field names (snake_case, in WIT
order; lowered from any object with those attributes): a WIT change without
a matching class fails at load, never mid-call. A resource handle
(``own<T>`` returned, ``borrow<T>`` passed) is a :class:`Resource`, the
host's own copy of wasmtime's ``wasmtime_component_resource_any_t``: the
caller drops it in the store (:func:`drop_resource`) or, when its store is
gone, frees it (:func:`free_resource`). ``flags``, ``char``, floats, an
``own`` passed and a ``borrow`` returned are not used by the interfaces and
fail at load too.

The same conversions serve the host functions the stream build imports
(``pathway_memory._imports``): their arguments are lifted and their
results lowered here.
"""

from __future__ import annotations

import ctypes
import dataclasses
import struct
import sys
from ctypes import byref, c_char_p, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from wasmtime import WasmtimeError
from wasmtime import _ffi as ffi
from wasmtime.component import _types as wt

from .errors import Case, SetupError
from .values import Err, Ok

Lift = Callable[[memoryview, int], Any]
Lower = Callable[[int, Any], None]
#: Constructors of WIT records, by their snake_case field names in WIT order.
Records = Mapping[Tuple[str, ...], Callable[..., Any]]

_Val = ffi.wasmtime_component_val_t
_RecordEntry = ffi.wasmtime_component_valrecord_entry


def _offset(structure: Any, field: str) -> int:
    return int(getattr(structure, field).offset)


_OF = _offset(_Val, "of")  # the payload union inside a value
_ENTRY_VAL = _offset(_RecordEntry, "val")


def _c(name: str, restype: Any, *argtypes: Any) -> Any:
    # A fresh function pointer from the library: wasmtime-py's own keep
    # their (stricter) argtypes.
    f = ffi.dll[name]
    f.restype = restype
    f.argtypes = argtypes
    return f


_byte_vec_new = _c("wasm_byte_vec_new", None, c_void_p, c_size_t, c_char_p)
_vallist_new_uninit = _c("wasmtime_component_vallist_new_uninit", None, c_void_p, c_size_t)
_valtuple_new_uninit = _c("wasmtime_component_valtuple_new_uninit", None, c_void_p, c_size_t)
_valrecord_new_uninit = _c("wasmtime_component_valrecord_new_uninit", None, c_void_p, c_size_t)
_val_new = _c("wasmtime_component_val_new", c_void_p, c_void_p)
_val_delete = _c("wasmtime_component_val_delete", None, c_void_p)
_func_call = _c("wasmtime_component_func_call", c_void_p,
                c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
_resource_clone = _c("wasmtime_component_resource_any_clone", c_void_p, c_void_p)
_resource_drop = _c("wasmtime_component_resource_any_drop", c_void_p, c_void_p, c_void_p)
_resource_delete = _c("wasmtime_component_resource_any_delete", None, c_void_p)

_K = {name: getattr(ffi, "WASMTIME_COMPONENT_" + name).value for name in (
    "BOOL", "U8", "U16", "U32", "U64", "S8", "S16", "S32", "S64", "STRING", "LIST", "RECORD",
    "TUPLE", "VARIANT", "ENUM", "OPTION", "RESULT", "RESOURCE")}
_INTS = {wt.U8: "U8", wt.U16: "U16", wt.U32: "U32", wt.U64: "U64",
         wt.S8: "S8", wt.S16: "S16", wt.S32: "S32", wt.S64: "S64"}


def snake(name: str) -> str:
    return name.replace("-", "_")


# --------------------------------------------------------------------------
# Lifting: C value -> Python
#
# A lifter reads a value from its ``wasmtime_component_val_t`` at the
# address ``at`` with ``struct`` over ``_MEM``, a memoryview of the
# process's memory, and follows pointers by address. That reads exactly the
# bytes ``ctypes.string_at`` would, without a foreign call per read (~0.5 µs
# each) and without ctypes structure views, which build a Python object per
# field access: a refused ``try-append`` lifts in ~3 µs instead of ~10, a
# replay twice as fast. Only addresses the C API returned are read.

_MEM = memoryview((ctypes.c_ubyte * sys.maxsize).from_address(0)).cast("B")

_VAL_SIZE = ctypes.sizeof(_Val)
_ENTRY_SIZE = ctypes.sizeof(_RecordEntry)
_VEC_SIZE = _OF + _offset(ffi.wasm_byte_vec_t, "size")  # {size, data} of strings, lists, records
_VEC_DATA = _OF + _offset(ffi.wasm_byte_vec_t, "data")
_RESULT_OK = _OF + _offset(ffi.wasmtime_component_valresult_t, "is_ok")
_RESULT_VAL = _OF + _offset(ffi.wasmtime_component_valresult_t, "val")
_VARIANT_VAL = _OF + _offset(ffi.wasmtime_component_valvariant_t, "val")
_u64 = struct.Struct("<Q").unpack_from
_vec = struct.Struct("<QQ").unpack_from  # size, data
_INT_FORMATS = {"U8": "<B", "U16": "<H", "U32": "<I", "U64": "<Q",
                "S8": "<b", "S16": "<h", "S32": "<i", "S64": "<q"}


def _lift_string(mem: memoryview, at: int) -> str:
    size, data = _vec(mem, at + _VEC_SIZE)
    return str(mem[data:data + size], "utf-8")


def lifter(ty: wt.ValType, records: Records) -> Lift:
    """A function ``(mem, at) -> value`` reading a value of type ``ty`` from
    the bytes of its ``wasmtime_component_val_t``. It copies everything
    out; the caller frees the C value."""
    if isinstance(ty, (wt.String, wt.EnumType)):
        return _lift_string
    if type(ty) in _INTS:
        unpack = struct.Struct(_INT_FORMATS[_INTS[type(ty)]]).unpack_from
        return lambda mem, at: unpack(mem, at + _OF)[0]
    if isinstance(ty, wt.Bool):
        return lambda mem, at: mem[at + _OF] != 0
    if isinstance(ty, wt.ListType):
        element = ty.element
        if isinstance(element, wt.U8):
            return _lift_bytes
        return _list_lifter(lifter(element, records))
    if isinstance(ty, wt.TupleType):
        return _tuple_lifter([lifter(t, records) for t in ty.elements])
    if isinstance(ty, wt.OptionType):
        return _option_lifter(lifter(ty.payload, records))
    if isinstance(ty, wt.ResultType):
        ok, err = ty.ok, ty.err
        return _result_lifter(None if ok is None else lifter(ok, records),
                              None if err is None else lifter(err, records))
    if isinstance(ty, wt.VariantType):
        cases = {name: None if t is None else lifter(t, records) for name, t in ty.cases}
        return _variant_lifter(cases)
    if isinstance(ty, wt.RecordType):
        return _record_lifter(ty, records)
    if isinstance(ty, wt.OwnType):
        return _lift_own
    raise SetupError(f"this host cannot take a {type(ty).__name__} from the component")


def _list_lifter(element: Lift) -> Lift:
    def lift(mem: memoryview, at: int) -> List[Any]:
        n, data = _vec(mem, at + _VEC_SIZE)
        return [element(mem, i) for i in range(data, data + n * _VAL_SIZE, _VAL_SIZE)]

    return lift


def _lift_bytes(mem: memoryview, at: int) -> bytes:
    # Each byte is the first payload byte of its own value: one strided copy.
    n, data = _vec(mem, at + _VEC_SIZE)
    if not n:
        return b""
    return bytes(mem[data + _OF:data + n * _VAL_SIZE:_VAL_SIZE])


def _tuple_lifter(elements: List[Lift]) -> Lift:
    def lift(mem: memoryview, at: int) -> Tuple[Any, ...]:
        n, data = _vec(mem, at + _VEC_SIZE)
        if n != len(elements):
            raise SetupError(f"a tuple of {n} values where the type has {len(elements)}")
        return tuple(element(mem, data + i * _VAL_SIZE) for i, element in enumerate(elements))

    return lift


def _option_lifter(some: Lift) -> Lift:
    def lift(mem: memoryview, at: int) -> Any:
        (pointer,) = _u64(mem, at + _OF)
        return some(mem, pointer) if pointer else None

    return lift


def _result_lifter(ok: Optional[Lift], err: Optional[Lift]) -> Lift:
    def lift(mem: memoryview, at: int) -> Any:
        (pointer,) = _u64(mem, at + _RESULT_VAL)
        if mem[at + _RESULT_OK]:
            return Ok(ok(mem, pointer)) if ok is not None else _OK_UNIT
        return Err(err(mem, pointer) if err is not None else None)

    return lift


_OK_UNIT: Ok[None] = Ok(None)


def _variant_lifter(cases: Dict[str, Optional[Lift]]) -> Lift:
    def lift(mem: memoryview, at: int) -> Case:
        tag = _lift_string(mem, at)
        payload = cases[tag]
        if payload is None:
            return Case(tag)
        (pointer,) = _u64(mem, at + _VARIANT_VAL)
        return Case(tag, payload(mem, pointer))

    return lift


def _record_lifter(ty: wt.RecordType, records: Records) -> Lift:
    fields = ty.fields
    names = tuple(snake(name) for name, _ in fields)
    make = records.get(names)
    if make is None:
        raise SetupError(f"the component returns a record with fields {names} that this host "
                         "does not know: is the component newer than this host?")
    at_value = [(lifter(t, records), i * _ENTRY_SIZE + _ENTRY_VAL) for i, (_, t) in enumerate(fields)]
    def lift(mem: memoryview, at: int) -> Any:
        (data,) = _u64(mem, at + _VEC_DATA)
        return make(*[f(mem, data + offset) for f, offset in at_value])

    return lift


class Resource:
    """A resource handle the component returned (``own<T>``): the address
    of the host's own ``wasmtime_component_resource_any_t``, a copy of the
    one in the returned value (which is freed with that value). It stays
    valid until :func:`drop_resource` or :func:`free_resource`; passing it
    after that is refused (``ValueError``), never a use of freed memory."""

    __slots__ = ("address",)

    def __init__(self, address: int) -> None:
        self.address = address

    def __repr__(self) -> str:
        return f"Resource({self.address:#x})" if self.address else "Resource(freed)"


def _lift_own(mem: memoryview, at: int) -> Resource:
    (pointer,) = _u64(mem, at + _OF)
    copy = _resource_clone(pointer)
    if not copy:
        raise SetupError("wasmtime returned no copy of a resource handle")
    return Resource(int(copy))


def drop_resource(context: Any, resource: Resource) -> None:
    """Drops the owned handle ``resource`` in its store (``context``): the
    guest's destructor runs, so set the call's deadline first. Then frees
    the host's copy, also when the drop fails.

    :raises WasmtimeError: a trap (or a handle the store no longer has).
    """
    address = resource.address
    if not address:
        return
    try:
        error = _resource_drop(context, address)
    finally:
        free_resource(resource)
    if error:
        raise WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))


def free_resource(resource: Resource) -> None:
    """Frees the host's copy of ``resource`` without dropping it in its
    store: for a store that is gone (a trapped instance that was replaced)."""
    address, resource.address = resource.address, 0
    if address:
        _resource_delete(address)


# --------------------------------------------------------------------------
# Lowering: Python -> C value
#
# A lowerer writes a value into the zeroed ``wasmtime_component_val_t`` at
# the address ``at`` (through ``_MEM`` and the C API's constructors); the
# caller frees it.

_KIND = _offset(_Val, "kind")
_pack_u64 = struct.Struct("<Q").pack_into


def lowerer(ty: wt.ValType) -> Lower:
    """A function ``(at, value)`` that writes the Python value as a
    ``wasmtime_component_val_t`` of type ``ty`` into the zeroed C value at
    the address ``at``."""
    if isinstance(ty, wt.String):
        kind = _K["STRING"]

        def lower_string(at: int, value: str) -> None:
            data = value.encode("utf-8")
            _byte_vec_new(at + _OF, len(data), data)
            _MEM[at + _KIND] = kind

        return lower_string
    if type(ty) in _INTS:
        name = _INTS[type(ty)]
        kind, pack = _K[name], struct.Struct(_INT_FORMATS[name]).pack_into

        def lower_int(at: int, value: int) -> None:
            try:
                pack(_MEM, at + _OF, value)
            except struct.error as e:
                raise ValueError(f"{value!r} does not fit a WIT {name.lower()}") from e
            _MEM[at + _KIND] = kind

        return lower_int
    if isinstance(ty, wt.Bool):
        kind = _K["BOOL"]

        def lower_bool(at: int, value: bool) -> None:
            if not isinstance(value, bool):
                raise TypeError(f"a WIT bool needs a bool, not {type(value).__name__}")
            _MEM[at + _OF] = 1 if value else 0
            _MEM[at + _KIND] = kind

        return lower_bool
    if isinstance(ty, wt.EnumType):
        return _enum_lowerer(ty.names)
    if isinstance(ty, wt.ListType):
        element = ty.element
        if isinstance(element, wt.U8):
            return _lower_bytes
        return _list_lowerer(lowerer(element))
    if isinstance(ty, wt.TupleType):
        return _tuple_lowerer([lowerer(t) for t in ty.elements])
    if isinstance(ty, wt.OptionType):
        return _option_lowerer(lowerer(ty.payload))
    if isinstance(ty, wt.ResultType):
        ok, err = ty.ok, ty.err
        return _result_lowerer(None if ok is None else lowerer(ok),
                               None if err is None else lowerer(err))
    if isinstance(ty, wt.VariantType):
        return _variant_lowerer({name: None if t is None else lowerer(t) for name, t in ty.cases})
    if isinstance(ty, wt.RecordType):
        return _record_lowerer([(name, lowerer(t)) for name, t in ty.fields])
    if isinstance(ty, wt.BorrowType):
        return _lower_borrow
    raise SetupError(f"this host cannot pass a {type(ty).__name__} to the component")


def _lower_borrow(at: int, value: Resource) -> None:
    # A copy of the handle, freed with the argument after the call; the
    # handle stays ours.
    if not isinstance(value, Resource):
        raise TypeError(f"a WIT borrow needs a resource handle, not {type(value).__name__}")
    if not value.address:
        raise ValueError("this resource handle was dropped")
    copy = _resource_clone(value.address)
    if not copy:
        raise SetupError("wasmtime returned no copy of a resource handle")
    _pack_u64(_MEM, at + _OF, int(copy))
    _MEM[at + _KIND] = _K["RESOURCE"]


def _boxed(lower: Lower, value: Any) -> int:
    inner = _Val()
    at = ctypes.addressof(inner)
    try:
        lower(at, value)
    except BaseException:
        _val_delete(at)
        raise
    return int(_val_new(at))  # moves the value to the heap


def _list_lowerer(element: Lower) -> Lower:
    kind = _K["LIST"]

    def lower(at: int, values: Sequence[Any]) -> None:
        n = len(values)
        _vallist_new_uninit(at + _OF, n)
        _MEM[at + _KIND] = kind
        if n:
            (data,) = _u64(_MEM, at + _VEC_DATA)
            ctypes.memset(data, 0, n * _VAL_SIZE)  # freeable if a lower fails
            for slot, value in zip(range(data, data + n * _VAL_SIZE, _VAL_SIZE), values):
                element(slot, value)

    return lower


def _enum_lowerer(names: List[str]) -> Lower:
    kind = _K["ENUM"]
    known = {name: name.encode("utf-8") for name in names}

    def lower(at: int, value: str) -> None:
        raw = known.get(value)
        if raw is None:
            raise ValueError(f"no case {value!r} in this enum")
        _byte_vec_new(at + _OF, len(raw), raw)
        _MEM[at + _KIND] = kind

    return lower


def _lower_bytes(at: int, value: bytes) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"a WIT list<u8> needs bytes, not {type(value).__name__}")
    n = len(value)
    _vallist_new_uninit(at + _OF, n)
    _MEM[at + _KIND] = _K["LIST"]
    if n:
        (data,) = _u64(_MEM, at + _VEC_DATA)
        end = data + n * _VAL_SIZE
        ctypes.memset(data, 0, n * _VAL_SIZE)
        # Every element a u8 value: its kind, then its byte, both strided.
        _MEM[data + _KIND:end:_VAL_SIZE] = bytes((_K["U8"],)) * n
        _MEM[data + _OF:end:_VAL_SIZE] = value


def _tuple_lowerer(elements: List[Lower]) -> Lower:
    kind = _K["TUPLE"]
    n = len(elements)

    def lower(at: int, values: Sequence[Any]) -> None:
        if len(values) != n:
            raise ValueError(f"a tuple of {n} values, not {len(values)}")
        _valtuple_new_uninit(at + _OF, n)
        _MEM[at + _KIND] = kind
        (data,) = _u64(_MEM, at + _VEC_DATA)
        ctypes.memset(data, 0, n * _VAL_SIZE)
        for i, (element, value) in enumerate(zip(elements, values)):
            element(data + i * _VAL_SIZE, value)

    return lower


def _result_lowerer(ok: Optional[Lower], err: Optional[Lower]) -> Lower:
    kind = _K["RESULT"]

    def lower(at: int, value: Any) -> None:
        if isinstance(value, Ok):
            is_ok, payload, inner = True, value.value, ok
        elif isinstance(value, Err):
            is_ok, payload, inner = False, value.error, err
        else:
            raise TypeError(f"a WIT result needs Ok or Err, not {type(value).__name__}")
        _MEM[at + _KIND] = kind
        _MEM[at + _RESULT_OK] = 1 if is_ok else 0
        if inner is not None:
            _pack_u64(_MEM, at + _RESULT_VAL, _boxed(inner, payload))

    return lower


def _option_lowerer(some: Lower) -> Lower:
    kind = _K["OPTION"]

    def lower(at: int, value: Any) -> None:
        _MEM[at + _KIND] = kind
        if value is not None:
            _pack_u64(_MEM, at + _OF, _boxed(some, value))

    return lower


def _variant_lowerer(cases: Dict[str, Optional[Lower]]) -> Lower:
    kind = _K["VARIANT"]

    def lower(at: int, value: Case) -> None:
        if value.tag not in cases:
            raise ValueError(f"no case {value.tag!r} in this variant")
        tag = value.tag.encode("utf-8")
        _byte_vec_new(at + _OF, len(tag), tag)
        _MEM[at + _KIND] = kind
        payload = cases[value.tag]
        if payload is not None:
            _pack_u64(_MEM, at + _VARIANT_VAL, _boxed(payload, value.payload))

    return lower


def _record_lowerer(fields: List[Tuple[str, Lower]]) -> Lower:
    kind = _K["RECORD"]
    n = len(fields)
    named = [(name.encode("utf-8"), snake(name), lower) for name, lower in fields]

    def lower(at: int, value: Any) -> None:
        _valrecord_new_uninit(at + _OF, n)
        _MEM[at + _KIND] = kind
        (data,) = _u64(_MEM, at + _VEC_DATA)
        ctypes.memset(data, 0, n * _ENTRY_SIZE)
        for entry, (raw, attribute, lower_field) in zip(range(data, data + n * _ENTRY_SIZE,
                                                              _ENTRY_SIZE), named):
            _byte_vec_new(entry, len(raw), raw)
            lower_field(entry + _ENTRY_VAL, getattr(value, attribute))

    return lower


def records_of(*classes: Any) -> Dict[Tuple[str, ...], Callable[..., Any]]:
    """The :data:`Records` table for dataclasses (field names in WIT order)."""
    return {tuple(f.name for f in dataclasses.fields(cls)): cls for cls in classes}


# --------------------------------------------------------------------------
# Calling


class Export:
    """One exported function's conversions, built once per compiled component."""

    def __init__(self, name: str, ty: wt.FuncType, records: Records) -> None:
        self.name = name
        self.lowers = [lowerer(t) for _, t in ty.params]
        result = ty.result
        self.lift: Optional[Lift] = None if result is None else lifter(result, records)

    def call(self, func: Any, context: Any, args: Sequence[Any]) -> Any:
        """Calls ``func`` (a ``wasmtime_component_func_t``) in the store
        ``context``. Raises ``WasmtimeError`` for a trap."""
        n = len(self.lowers)
        if len(args) != n:
            raise TypeError(f"{self.name} takes {n} arguments, not {len(args)}")
        params = (_Val * n)()
        slots = range(ctypes.addressof(params), ctypes.addressof(params) + n * _VAL_SIZE, _VAL_SIZE)
        result = _Val()
        try:
            for lower, at, value in zip(self.lowers, slots, args):
                lower(at, value)
            error = _func_call(byref(func), context, params, n, byref(result),
                               0 if self.lift is None else 1)
        finally:
            for at in slots:
                _val_delete(at)
        if error:
            raise WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
        if self.lift is None:
            return None
        try:
            return self.lift(_MEM, ctypes.addressof(result))
        finally:
            _val_delete(byref(result))
