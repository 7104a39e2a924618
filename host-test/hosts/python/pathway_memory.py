"""Python host for the pathway-memory WebAssembly component.

The component (``wit/pathway.wit``, interface ``pathway:memory/log@0.1.0``)
keeps an append-only JSON Lines log in the one directory the host grants
it. This module runs it in `wasmtime-py <https://pypi.org/project/wasmtime/>`_
and turns the WIT types into plain Python values::

    from pathway_memory import Memory, Ok, Err

    with Memory.open("mem", wasm="pathway_memory.wasm") as memory:
        memory.try_append('{"op": "remember", "key": "user", "value": "Ada"}')
        for entry in memory.replay():
            match entry:
                case Ok(line):
                    print("ok ", line)
                case Err(message):
                    print("err", message)   # "line 3: at byte offset 99: ..."

How wasmtime-py represents the WIT values, and what this module makes of them
(wasmtime-py 50, ``wasmtime.component``):

* A ``record`` is a ``wasmtime.component.Record`` whose attributes are the WIT
  field names as written, dashes included (``getattr(r, "at-end")``). Each
  becomes a frozen dataclass here (:class:`Page`, :class:`CheckReport`, ...)
  with snake_case fields.
* A ``variant`` / ``result`` / ``option`` is *tagged* when two of its cases
  would lift to the same Python class, and *untagged* otherwise:

  - ``result<string, string>`` (a replay entry): both cases are ``str``, so
    it is tagged: ``Variant(tag="ok", payload=line)`` or
    ``Variant(tag="err", payload="line N: reason")``. Converted here to
    :class:`Ok` / :class:`Err`.
  - ``result<_, append-error>``: untagged: ``None`` on success, else the
    ``append-error`` value itself. ``append-error`` is tagged (two record
    cases): ``Variant(tag="invalid-json", payload=Record(index, offset,
    reason))``, ``Variant("too-large", Record(index, size, limit))``,
    ``Variant("io", str)``, ``Variant("invalid-config", str)``. Raised here
    as :class:`InvalidJson`, :class:`TooLarge`, :class:`AppendIoError`,
    :class:`InvalidConfig` (all :class:`Refused`).
  - ``result<page, cursor-error>``, ``result<compact-report,
    compact-error>``, ``result<check-report, string>``: untagged, told apart
    by class (``Record`` for ok; ``Variant`` or ``str`` for err).
  - ``option<string>``: ``None`` or ``str``; ``option<result<string,
    string>>``: ``None`` or a tagged ``Variant``.

* A trap surfaces as ``wasmtime.WasmtimeError``; the component instance can
  then not be entered again ("cannot enter component instance"). This module
  raises :class:`Trap` (with the guest's stderr) and builds a fresh instance,
  so the :class:`Memory` stays usable.

One ``Engine`` exists per process (with epoch interruption, advanced by a
daemon thread every 50 ms, for call deadlines); each ``.wasm`` file is
compiled once per process and cached. Every :class:`Memory` has its own
``Store`` whose WASI configuration preopens only its directory and sets only
the ``PATHWAY_*`` variables given to :meth:`Memory.open`.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union, cast

from wasmtime import Config, Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, ExportIndex, Func, Linker, Variant

__all__ = [
    "Memory",
    "Ok",
    "Err",
    "Entry",
    "Page",
    "CompactReport",
    "DamagedLine",
    "CheckReport",
    "RepairReport",
    "PathwayError",
    "SetupError",
    "Refused",
    "InvalidJson",
    "TooLarge",
    "AppendIoError",
    "InvalidConfig",
    "CursorError",
    "InvalidCursor",
    "StaleCursor",
    "UnreadableCursor",
    "CompactError",
    "InvalidEvent",
    "CompactCursorError",
    "Busy",
    "CompactIoError",
    "Unreadable",
    "SyncError",
    "Trap",
    "INTERFACE",
    "WASM_ENV",
]

#: The exported interface this host calls.
INTERFACE = "pathway:memory/log@0.1.0"
#: Environment variable naming the component when ``wasm=`` is not given.
WASM_ENV = "PATHWAY_WASM"

#: How often the shared engine's epoch advances; deadlines are whole ticks.
EPOCH_TICK_SECONDS = 0.05
#: Guest stderr kept per instance (a panic message is far smaller).
STDERR_CAPACITY = 64 * 1024
#: The largest ``PATHWAY_MAX_LINE`` the component accepts (256 MiB).
MAX_LINE_CEILING = 256 << 20
_U32_MAX = (1 << 32) - 1


# --------------------------------------------------------------------------
# Entries and reports


@dataclass(frozen=True)
class Ok:
    """A replayed record: ``value`` is the stored line, one JSON value (text)."""

    value: str
    is_ok = True

    def json(self) -> Any:
        """The record parsed with :func:`json.loads`."""
        import json

        return json.loads(self.value)


_LINE_RE = re.compile(r"^line (\d+): (torn write )?at byte offset (\d+)")


@dataclass(frozen=True)
class Err:
    """A damaged line: ``message`` is the component's text, verbatim.

    It reads ``line N: at byte offset O: <reason>; skipped, the other records
    are unaffected`` or, for an unterminated invalid last line, ``line N: torn
    write at byte offset O: ...``. :attr:`line`, :attr:`offset` and
    :attr:`torn` parse those parts (``None`` / ``False`` if absent).
    """

    message: str
    is_ok = False

    @property
    def line(self) -> Optional[int]:
        """1-based line number in the file."""
        m = _LINE_RE.match(self.message)
        return int(m.group(1)) if m else None

    @property
    def offset(self) -> Optional[int]:
        """Byte offset of the line's first byte in the file."""
        m = _LINE_RE.match(self.message)
        return int(m.group(3)) if m else None

    @property
    def torn(self) -> bool:
        """Whether the line is a write torn by a crash (the unterminated last line)."""
        m = _LINE_RE.match(self.message)
        return bool(m and m.group(2))


#: One replayed entry: :class:`Ok` (a record) or :class:`Err` (a damaged line).
Entry = Union[Ok, Err]


@dataclass(frozen=True)
class Page:
    """A slice of the log returned by :meth:`Memory.replay_page`.

    ``entries``: entries of complete lines. ``tail``: the last line while it
    has no ``\\n`` (judged as it stands but not consumed), else ``None``.
    ``next``: opaque cursor after ``entries``. ``at_end``: nothing but (at
    most) the tail followed ``next`` when read.
    """

    entries: List[Entry]
    tail: Optional[Entry]
    next: str
    at_end: bool


@dataclass(frozen=True)
class CompactReport:
    """What :meth:`Memory.compact` did."""

    snapshot_records: int
    kept_bytes: int
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class DamagedLine:
    """One damaged line as ``check`` and ``repair`` report it.

    ``line`` is 1-based, ``offset`` the byte offset of its first byte,
    ``length`` its bytes without ``\\n``; ``torn``: the unterminated, invalid
    last line.
    """

    line: int
    offset: int
    length: int
    torn: bool
    reason: str


@dataclass(frozen=True)
class CheckReport:
    """The state of the log (:meth:`Memory.check`)."""

    bytes: int
    records: int
    damaged: List[DamagedLine]
    torn_tail: bool
    leftovers: List[str]

    @property
    def clean(self) -> bool:
        """No damaged line (as the ``pathway check`` verdict; leftovers, such
        as the quarantine file after a repair, do not count)."""
        return not self.damaged


@dataclass(frozen=True)
class RepairReport:
    """What :meth:`Memory.repair` did; ``quarantine`` names the file holding the removed bytes."""

    removed: List[DamagedLine]
    quarantine: str
    bytes_before: int
    bytes_after: int


# --------------------------------------------------------------------------
# Exceptions


class PathwayError(Exception):
    """Base class of every error this module raises."""


class SetupError(PathwayError):
    """The component could not be found, compiled or instantiated."""


class Refused(PathwayError):
    """WIT ``append-error``: the call stored nothing.

    ``case`` is the WIT case name (``invalid-json``, ``too-large``, ``io``,
    ``invalid-config``).
    """

    case: str = ""


class InvalidJson(Refused):
    """The event at ``index`` is not exactly one JSON value; the parser stopped
    at byte ``offset`` of the event (it may point one byte before the
    offending character) with ``reason``."""

    case = "invalid-json"

    def __init__(self, index: int, offset: int, reason: str) -> None:
        self.index, self.offset, self.reason = index, offset, reason
        super().__init__(
            f"event {index} is not exactly one JSON value: {reason} at byte offset {offset}; "
            "nothing was stored"
        )


class TooLarge(Refused):
    """The event at ``index`` would be a line of ``size`` bytes, over ``limit``
    (``PATHWAY_MAX_LINE``)."""

    case = "too-large"

    def __init__(self, index: int, size: int, limit: int) -> None:
        self.index, self.size, self.limit = index, size, limit
        super().__init__(
            f"event {index} is {size} bytes, over the line limit of {limit} bytes "
            "(PATHWAY_MAX_LINE); nothing was stored"
        )


class AppendIoError(Refused):
    """WIT ``append-error.io``: the host refused or failed the file operation."""

    case = "io"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidConfig(Refused):
    """WIT ``append-error.invalid-config``: ``PATHWAY_LOG``, ``PATHWAY_MAX_LINE``
    or ``PATHWAY_SYNC`` cannot be used; the message says which."""

    case = "invalid-config"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Unreadable(PathwayError):
    """The log cannot be read at all (no usable directory, the log is not a
    regular file, bad configuration). Raised by :meth:`Memory.replay` (the
    WIT's single ``err`` that names no line), :meth:`Memory.check` and, as
    :class:`UnreadableCursor`, by :meth:`Memory.replay_page`."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class CursorError(PathwayError):
    """WIT ``cursor-error``: paged replay cannot continue from the cursor.

    ``case`` is ``invalid``, ``stale`` or ``unreadable``; ``message`` the
    component's text.
    """

    case: str = ""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidCursor(CursorError):
    """The text is not a cursor of this component. Start without one."""

    case = "invalid"


class StaleCursor(CursorError):
    """The log was compacted, repaired or truncated since: replay from the start."""

    case = "stale"


class UnreadableCursor(CursorError, Unreadable):
    """The log cannot be read (no directory, not a file, bad config)."""

    case = "unreadable"


class CompactError(PathwayError):
    """WIT ``compact-error``: compaction or repair did not replace the log,
    which is as it was. ``case``: ``invalid-event``, ``cursor``, ``busy``, ``io``."""

    case: str = ""


class InvalidEvent(CompactError):
    """A snapshot event is refused; ``error`` is the :class:`Refused` (with its index)."""

    case = "invalid-event"

    def __init__(self, error: Refused) -> None:
        self.error = error
        super().__init__(f"snapshot {error}")


class CompactCursorError(CompactError):
    """The ``upto`` cursor does not fit the log; ``error`` is the :class:`CursorError`."""

    case = "cursor"

    def __init__(self, error: CursorError) -> None:
        self.error = error
        super().__init__(str(error))


class Busy(CompactError):
    """Another compaction or repair holds ``<log>.lock`` (or a crash left it)."""

    case = "busy"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class CompactIoError(CompactError):
    """A file operation failed: the host's message."""

    case = "io"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class SyncError(PathwayError):
    """``sync`` failed: the host's message."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Trap(PathwayError):
    """The guest trapped: ``append`` of a refused event (its documented trap),
    a call past its deadline (``timed_out``), guest memory past its cap, or a
    bug. ``stderr`` holds what the guest wrote during the call (for a refused
    ``append``, the reason). The :class:`Memory` already has a fresh
    instance and stays usable; nothing on disk was lost."""

    def __init__(self, message: str, stderr: str, timed_out: bool = False,
                 details: str = "") -> None:
        self.message, self.stderr, self.timed_out = message, stderr, timed_out
        #: wasmtime's full text, with the wasm backtrace.
        self.details = details
        text = f"the component trapped: {message}"
        if stderr.strip():
            text += f"\nguest stderr:\n{stderr.strip()}"
        super().__init__(text)


# --------------------------------------------------------------------------
# Conversion from wasmtime-py values


def _entry(value: Any) -> Entry:
    if not isinstance(value, Variant):
        raise SetupError(f"unexpected replay entry from the component: {value!r}")
    payload = cast(str, value.payload)
    return Ok(payload) if value.tag == "ok" else Err(payload)


def _refused(value: Variant) -> Refused:
    tag: str = value.tag
    p: Any = value.payload
    if tag == "invalid-json":
        return InvalidJson(p.index, p.offset, p.reason)
    if tag == "too-large":
        return TooLarge(p.index, p.size, p.limit)
    if tag == "io":
        return AppendIoError(p)
    if tag == "invalid-config":
        return InvalidConfig(p)
    raise SetupError(f"unknown append-error case {tag!r}")


_CURSOR_ERRORS = {"invalid": InvalidCursor, "stale": StaleCursor, "unreadable": UnreadableCursor}


def _cursor_error(value: Variant) -> CursorError:
    message = cast(str, value.payload)
    return _CURSOR_ERRORS[value.tag](message)


def _compact_error(value: Variant) -> CompactError:
    tag: str = value.tag
    p: Any = value.payload
    if tag == "invalid-event":
        return InvalidEvent(_refused(p))
    if tag == "cursor":
        return CompactCursorError(_cursor_error(p))
    if tag == "busy":
        return Busy(p)
    return CompactIoError(p)


def _damaged(r: Any) -> DamagedLine:
    return DamagedLine(r.line, r.offset, r.length, r.torn, r.reason)


def _names_a_line(message: str) -> bool:
    return re.match(r"^line \d+:", message) is not None


def _check_timeout(seconds: Optional[float]) -> None:
    if seconds is not None and not seconds > 0:
        raise ValueError("call_timeout must be positive (or None for no deadline)")


def _check_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value


# --------------------------------------------------------------------------
# The shared runtime


_FUNCS = (
    "append",
    "try-append",
    "append-batch",
    "replay",
    "sync",
    "replay-page",
    "compact",
    "check",
    "repair",
)


class _Runtime:
    """The engine, linker and one compiled component (with its export indices)."""

    def __init__(self, engine: Engine, linker: Linker, component: Component) -> None:
        self.engine, self.linker, self.component = engine, linker, component
        iface = component.get_export_index(INTERFACE)
        if iface is None:
            raise SetupError(f"the component does not export {INTERFACE}: is it pathway-memory?")
        self.indices: Dict[str, ExportIndex] = {}
        for name in _FUNCS:
            index = component.get_export_index(name, iface)
            if index is None:
                raise SetupError(f"the component's {INTERFACE} has no function {name!r}")
            self.indices[name] = index


_lock = threading.Lock()
_engine: Optional[Engine] = None
_linker: Optional[Linker] = None
_components: Dict[Tuple[str, int, int], _Runtime] = {}


def _ticker(engine: Engine) -> None:
    while True:
        time.sleep(EPOCH_TICK_SECONDS)
        engine.increment_epoch()


def _runtime(wasm: Union[str, os.PathLike[str]]) -> _Runtime:
    """The process's engine and the compiled component at ``wasm`` (cached by
    path, size and modification time)."""
    global _engine, _linker
    path = os.path.realpath(os.fspath(wasm))
    try:
        st = os.stat(path)
    except OSError as e:
        raise SetupError(
            f"cannot read the component {wasm!r}: {e.strerror}; pass wasm= or set {WASM_ENV}"
        ) from e
    key = (path, st.st_size, st.st_mtime_ns)
    with _lock:
        cached = _components.get(key)
        if cached is not None:
            return cached
        try:
            if _engine is None:
                config = Config()
                config.epoch_interruption = True
                engine = Engine(config)
                linker = Linker(engine)
                linker.add_wasip2()
                threading.Thread(target=_ticker, args=(engine,), name="pathway-epoch", daemon=True).start()
                _engine, _linker = engine, linker
            assert _linker is not None
            component = Component.from_file(_engine, path)
        except WasmtimeError as e:
            raise SetupError(f"wasmtime could not compile {path}: {e}") from e
        runtime = _Runtime(_engine, _linker, component)
        _components[key] = runtime
        return runtime


class _Instance:
    """One Store + WASI context + component instance."""

    def __init__(self, runtime: _Runtime, directory: str, guest_path: str, read_only: bool,
                 env: Sequence[Tuple[str, str]], max_guest_memory: Optional[int]) -> None:
        # The callback must not refer to `self`: wasmtime-py keeps it (in a
        # global table) until the store is freed, and the store is ours.
        stderr = self.stderr = bytearray()

        def on_stderr(data: bytes) -> None:
            room = STDERR_CAPACITY - len(stderr)
            if room > 0:
                stderr.extend(data[:room])

        wasi = WasiConfig()
        wasi.env = list(env)
        wasi.stderr_custom = on_stderr
        try:
            wasi.preopen_dir(directory, guest_path, not read_only)
        except WasmtimeError as e:
            raise SetupError(f"cannot grant {directory!r} to the component: {e}") from e
        store = Store(runtime.engine)
        store.set_wasi(wasi)
        if max_guest_memory is not None:
            store.set_limits(memory_size=max_guest_memory)
        store.set_epoch_deadline(1 << 62)
        try:
            instance = runtime.linker.instantiate(store, runtime.component)
        except WasmtimeError as e:
            raise SetupError(f"wasmtime could not instantiate the component: {e}") from e
        self.store = store
        self.funcs: Dict[str, Func] = {}
        for name, index in runtime.indices.items():
            func = instance.get_func(store, index)
            if func is None:
                raise SetupError(f"{INTERFACE}#{name} is not a function")
            self.funcs[name] = func


# --------------------------------------------------------------------------
# Memory


class Memory:
    """One log in one directory, served by its own component instance.

    Create it with :meth:`Memory.open`. A wasmtime store is not thread-safe,
    so calls on one :class:`Memory` are serialised by a lock: sharing it
    between threads is safe, one call at a time. Several :class:`Memory`
    objects (in one or many threads or processes) may append to one log.
    """

    def __init__(self, *, _runtime: _Runtime, directory: str, log_name: Optional[str],
                 env: List[Tuple[str, str]], guest_path: str, read_only: bool,
                 call_timeout: Optional[float], max_guest_memory: Optional[int]) -> None:
        self._runtime = _runtime
        self._directory = directory
        self._log_name = log_name or "pathway.jsonl"
        self._env = env
        self._guest_path = guest_path
        self._read_only = read_only
        self._call_timeout = call_timeout
        self._max_guest_memory = max_guest_memory
        self._call_lock = threading.Lock()
        self._instance: Optional[_Instance] = self._new_instance()

    @classmethod
    def open(
        cls,
        directory: Union[str, os.PathLike[str]],
        log_name: Optional[str] = None,
        max_line: Optional[int] = None,
        sync: Optional[str] = None,
        *,
        wasm: Union[str, os.PathLike[str], None] = None,
        guest_path: str = ".",
        read_only: bool = False,
        call_timeout: Optional[float] = 60.0,
        max_guest_memory: Optional[int] = 1 << 30,
    ) -> "Memory":
        """Opens the log in ``directory`` (which must exist).

        :param log_name: ``PATHWAY_LOG``, a plain file name (default
            ``pathway.jsonl``).
        :param max_line: ``PATHWAY_MAX_LINE``, the largest stored line in
            bytes (default 1048576, at most 268435456).
        :param sync: ``PATHWAY_SYNC``: ``"never"`` (default), ``"always"`` or
            ``"interval:<ms>"``.
        :param wasm: path of the component; default: ``$PATHWAY_WASM``.
        :param guest_path: where the guest sees the directory (``.`` or ``/``
            both work).
        :param read_only: grant the directory read-only (appends then fail
            with :class:`AppendIoError`).
        :param call_timeout: seconds one call may run before it is stopped
            with :class:`Trap` (``timed_out``); ``None``: no deadline. A
            call is stopped between ``call_timeout`` and ``call_timeout`` +
            100 ms (the epoch advances every 50 ms). Settable later through
            the :attr:`call_timeout` property.
        :param max_guest_memory: cap of the guest's linear memory in bytes
            (past it the guest traps); ``None``: no cap.

        A ``log_name``, ``max_line`` or ``sync`` the component cannot use is
        not checked here: every call then reports the component's
        :class:`InvalidConfig` (or :class:`Unreadable`) message. Values with a
        NUL byte raise :class:`ValueError`, since WASI cannot carry them.

        :raises FileNotFoundError, NotADirectoryError: ``directory``.
        :raises SetupError: the component cannot be found, compiled or
            instantiated.
        """
        directory = os.fspath(directory)
        if not os.path.exists(directory):
            raise FileNotFoundError(2, "the log's directory does not exist", directory)
        if not os.path.isdir(directory):
            raise NotADirectoryError(20, "the log's directory is not a directory", directory)
        if wasm is None:
            wasm = os.environ.get(WASM_ENV)
            if not wasm:
                raise SetupError(f"no component: pass wasm= or set {WASM_ENV} to the .wasm file")
        env: List[Tuple[str, str]] = []
        for name, value in (("PATHWAY_LOG", log_name), ("PATHWAY_MAX_LINE", max_line),
                            ("PATHWAY_SYNC", sync)):
            if value is None:
                continue
            if name == "PATHWAY_MAX_LINE" and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"max_line must be int, not {type(value).__name__}")
            text = str(value)
            if "\0" in text:
                raise ValueError(f"{name} cannot contain a NUL byte")
            env.append((name, text))
        _check_timeout(call_timeout)
        return cls(_runtime=_runtime(wasm), directory=directory, log_name=log_name, env=env,
                   guest_path=guest_path, read_only=read_only, call_timeout=call_timeout,
                   max_guest_memory=max_guest_memory)

    # -- plumbing ----------------------------------------------------------

    def _new_instance(self) -> _Instance:
        return _Instance(self._runtime, self._directory, self._guest_path, self._read_only,
                         self._env, self._max_guest_memory)

    def _call(self, name: str, *args: Any) -> Any:
        """Calls ``name``; a trap becomes :class:`Trap` after a fresh instance is made."""
        with self._call_lock:
            instance = self._instance
            if instance is None:
                raise PathwayError("this Memory is closed")
            store = instance.store
            if self._call_timeout is not None:
                # The next tick comes within one tick: one more than the
                # timeout's ticks makes the deadline at least call_timeout.
                ticks = math.ceil(self._call_timeout / EPOCH_TICK_SECONDS) + 1
                store.set_epoch_deadline(ticks)
            else:
                store.set_epoch_deadline(1 << 62)
            mark = len(instance.stderr)
            started = time.monotonic()
            try:
                return instance.funcs[name](store, *args)
            except WasmtimeError as e:
                elapsed = time.monotonic() - started
                stderr = bytes(instance.stderr[mark:]).decode("utf-8", "replace")
                text = str(e)
                timed_out = "interrupt" in text and self._call_timeout is not None
                if timed_out:
                    message = (
                        f"{name} ran {elapsed:.2f} s, past the deadline of {self._call_timeout} s "
                        "(call_timeout), and was stopped; nothing on disk is lost; raise the "
                        "deadline or read the log page by page"
                    )
                else:
                    # wasmtime's text is a wasm backtrace, then "Caused by:" and the trap.
                    cause = text.rsplit("Caused by:", 1)[-1].strip()
                    message = f"{name}: {cause}"
                self._instance = None
                try:
                    self._instance = self._new_instance()
                except PathwayError as setup:
                    message += f" (and a fresh instance could not be made: {setup})"
                raise Trap(message, stderr, timed_out, text) from e

    # -- the WIT functions -------------------------------------------------

    def append(self, event: str) -> None:
        """WIT ``append``: appends one event as one line.

        A refused event traps the guest (the WIT's only error channel here):
        :class:`Trap`, whose ``stderr`` names the reason. Prefer
        :meth:`try_append`, which raises the typed refusal instead.
        """
        self._call("append", _check_str(event, "event"))

    def try_append(self, event: str) -> None:
        """WIT ``try-append``: appends one event as one line, in one write.

        Pretty-printed JSON is stored on one line. On a refusal nothing is
        written.

        :raises InvalidJson, TooLarge, AppendIoError, InvalidConfig: the
            ``append-error`` (all :class:`Refused`; ``index`` is 0).
        """
        result = self._call("try-append", _check_str(event, "event"))
        if result is not None:
            raise _refused(result)

    def append_batch(self, events: Iterable[str]) -> None:
        """WIT ``append-batch``: validates every event, then writes them all.

        :raises Refused: the first refused event (its ``index``); nothing was
            written. (An I/O error may leave a prefix of the batch stored.)
        """
        batch = [_check_str(e, "each event") for e in events]
        result = self._call("append-batch", batch)
        if result is not None:
            raise _refused(result)

    def replay(self) -> List[Entry]:
        """WIT ``replay``: every entry in file order.

        :class:`Ok` for a record, :class:`Err` (``"line N: reason"``) for a
        damaged line; damaged lines never hide other records. A missing log
        gives ``[]``.

        :raises Unreadable: the log cannot be read at all (the WIT's single
            ``err`` that names no line).
        """
        raw = self._call("replay")
        entries = [_entry(v) for v in raw]
        if len(entries) == 1 and isinstance(entries[0], Err) and not _names_a_line(entries[0].message):
            raise Unreadable(entries[0].message)
        return entries

    def sync(self) -> None:
        """WIT ``sync``: forces appended data to stable storage.

        :raises SyncError: the host's message.
        """
        result = self._call("sync")
        if result is not None:
            raise SyncError(result)

    def replay_page(self, cursor: Optional[str] = None, max_bytes: int = 1 << 20) -> Page:
        """WIT ``replay-page``: entries from ``cursor`` (``None``: the start)
        until about ``max_bytes`` (0 to 2**32-1) of the log were read, at
        least one line when there is one.

        Keep ``page.next`` to continue, or to read later only what was
        appended since.

        :raises InvalidCursor, StaleCursor, UnreadableCursor: the
            ``cursor-error`` (all :class:`CursorError`).
        """
        if cursor is not None:
            _check_str(cursor, "cursor")
        if not isinstance(max_bytes, int) or not 0 <= max_bytes <= _U32_MAX:
            raise ValueError("max_bytes must be an int from 0 to 2**32-1")
        result = self._call("replay-page", cursor, max_bytes)
        if isinstance(result, Variant):
            raise _cursor_error(result)
        tail = getattr(result, "tail")
        return Page(
            entries=[_entry(v) for v in result.entries],
            tail=None if tail is None else _entry(tail),
            next=result.next,
            at_end=getattr(result, "at-end"),
        )

    def pages(self, cursor: Optional[str] = None, max_bytes: int = 1 << 20) -> Iterator[Page]:
        """Pages from ``cursor`` to the end of the log; the last one has
        ``at_end`` set (and the unterminated last line, if any, as ``tail``)."""
        while True:
            page = self.replay_page(cursor, max_bytes)
            yield page
            if page.at_end:
                return
            cursor = page.next

    def end_cursor(self) -> str:
        """A cursor after every complete line of the log as it is now."""
        page = None
        for page in self.pages(None, 4 << 20):
            pass
        assert page is not None
        return page.next

    def compact(self, snapshot: Iterable[str], upto: str) -> CompactReport:
        """WIT ``compact``: replaces everything up to the cursor ``upto`` by
        the ``snapshot`` events, keeping every byte after it; crash-safe.

        :raises InvalidEvent, CompactCursorError, Busy, CompactIoError: the
            ``compact-error`` (all :class:`CompactError`); the log is as it was.
        """
        events = [_check_str(e, "each snapshot event") for e in snapshot]
        result = self._call("compact", events, _check_str(upto, "upto"))
        if isinstance(result, Variant):
            raise _compact_error(result)
        return CompactReport(
            snapshot_records=getattr(result, "snapshot-records"),
            kept_bytes=getattr(result, "kept-bytes"),
            bytes_before=getattr(result, "bytes-before"),
            bytes_after=getattr(result, "bytes-after"),
        )

    def check(self) -> CheckReport:
        """WIT ``check``: size, records, damaged lines, torn tail, leftover files.

        :raises Unreadable: the log cannot be read at all.
        """
        result = self._call("check")
        if isinstance(result, str):
            raise Unreadable(result)
        return CheckReport(
            bytes=result.bytes,
            records=result.records,
            damaged=[_damaged(d) for d in result.damaged],
            torn_tail=getattr(result, "torn-tail"),
            leftovers=list(result.leftovers),
        )

    def repair(self) -> RepairReport:
        """WIT ``repair``: rewrites the log without its damaged lines, whose
        bytes go first to ``<log>.quarantine``. A clean log is untouched.

        :raises CompactError: as for :meth:`compact`.
        """
        result = self._call("repair")
        if isinstance(result, Variant):
            raise _compact_error(result)
        return RepairReport(
            removed=[_damaged(d) for d in result.removed],
            quarantine=result.quarantine,
            bytes_before=getattr(result, "bytes-before"),
            bytes_after=getattr(result, "bytes-after"),
        )

    # -- housekeeping ------------------------------------------------------

    @property
    def call_timeout(self) -> Optional[float]:
        """Seconds one call may run (``None``: no deadline); settable."""
        return self._call_timeout

    @call_timeout.setter
    def call_timeout(self, seconds: Optional[float]) -> None:
        _check_timeout(seconds)
        self._call_timeout = seconds

    @property
    def log_path(self) -> str:
        """Path of the log file on the host."""
        return os.path.join(self._directory, self._log_name)

    def close(self) -> None:
        """Drops the instance; later calls raise :class:`PathwayError`."""
        with self._call_lock:
            self._instance = None

    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self._directory!r}, log_name={self._log_name!r})"
