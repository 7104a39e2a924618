"""The process's engine, its epoch ticker, compiled components, and one
store + WASI context + component instance per :class:`Memory`.

Two builds of the component run here: the directory build (world
``pathway``, WASI only, linked by the process's shared linker) and the
stream build (world ``pathway-stream``, which also imports
``pathway:memory/stream@0.3.0``: each of its logs gets a linker of its own
whose stream functions are served by that log's NATS transport)."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

from wasmtime import Config, Engine, Store, WasiConfig, WasmtimeError
from wasmtime import _ffi as ffi
from wasmtime.component import Component, ComponentInstanceType, ExportIndex, FuncType, Linker

from . import _abi
from .errors import LogError, SetupError
from .values import (CheckReport, CompactReport, DamagedLine, DeepLine, IntegrityDetails,
                     InvalidJsonDetails, LogInfo, LogList, Page, QuotaExceededDetails, Recent,
                     RepairReport, Settings, TooLargeDetails)

if TYPE_CHECKING:
    from ._imports import StreamImports

#: The exported interface this host calls.
INTERFACE = "pathway:memory/log@0.3.0"
#: The interface the stream build imports (served by ``_nats.NatsStream``).
STREAM_INTERFACE = "pathway:memory/stream@0.3.0"
#: Environment variable naming the component when ``wasm=`` is not given.
WASM_ENV = "PATHWAY_WASM"
#: The component an installed wheel carries, next to this module (absent in
#: the source tree, where ``wasm=`` or ``$PATHWAY_WASM`` names one).
BUNDLED_WASM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pathway_memory.wasm")
#: The file name of the stream build next to the directory build.
STREAM_WASM_NAME = "pathway_memory_stream.wasm"
#: Guest stderr kept per instance (a panic message is far smaller).
STDERR_CAPACITY = 64 * 1024

FUNCTIONS = ("open-log", "append", "try-append", "append-batch", "replay", "replay-entries",
             "sync", "replay-page", "compact", "check", "repair", "last", "logs", "delete-log",
             "fork-log", "host-message")
#: The resource ``named-log``: its static ``open`` and its methods (whose
#: first parameter is the handle), by the names the component exports.
NAMED_OPEN = "[static]named-log.open"
NAMED_METHODS = ("name", "try-append", "append-batch", "replay-entries", "replay-page", "last",
                 "sync", "compact", "check", "repair")
NAMED = (NAMED_OPEN,) + tuple(f"[method]named-log.{m}" for m in NAMED_METHODS)

#: What each WIT record the component returns becomes (``log-error`` is raised).
RECORDS = _abi.records_of(DamagedLine, DeepLine, Page, Settings, CompactReport, CheckReport,
                          RepairReport, InvalidJsonDetails, TooLargeDetails, IntegrityDetails,
                          QuotaExceededDetails, Recent, LogInfo, LogList)
RECORDS[("cause", "message")] = LogError.from_wit
# A check report's `checksum` variant becomes a Checksum.
RECORDS.update({names: CheckReport.from_wit for names in _abi.records_of(CheckReport)})


_set_epoch_deadline = ffi.wasmtime_context_set_epoch_deadline


class Ticker:
    """Advances the engine's epoch every ``tick`` seconds (daemon thread).

    ``ticks`` counts the advances, bumped just before each one, so that
    ``ticks`` moved by a call's deadline means that deadline has passed.
    """

    def __init__(self, engine: Engine, tick_ms: int) -> None:
        self.engine = engine
        self.tick = max(tick_ms, 1) / 1000.0
        self.ticks = 0
        threading.Thread(target=self._run, name="pathway-epoch", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            self.ticks += 1
            self.engine.increment_epoch()


class Runtime:
    """One compiled component with its exports' conversions."""

    def __init__(self, engine: Engine, linker: Linker, component: Component) -> None:
        self.engine, self.linker, self.component = engine, linker, component
        iface = component.get_export_index(INTERFACE)
        if iface is None:
            raise SetupError(f"the component does not export {INTERFACE}: is it pathway-memory "
                             "0.2.0?")
        iface_type = component.type.exports(engine)[INTERFACE].ty
        if not isinstance(iface_type, ComponentInstanceType):
            raise SetupError(f"the component's {INTERFACE} is not an interface")
        functions = iface_type.exports(engine)
        self.exports: Dict[str, Tuple[ExportIndex, _abi.Export]] = {}
        for name in FUNCTIONS + NAMED:
            index = component.get_export_index(name, iface)
            func_type = functions[name].ty if name in functions else None
            if index is None or not isinstance(func_type, FuncType):
                raise SetupError(f"the component's {INTERFACE} has no function {name!r}")
            self.exports[name] = (index, _abi.Export(name, func_type, RECORDS))
        #: The stream interface it imports: the stream build; ``None``: the
        #: directory build. (The NATS client is imported only for the stream
        #: build.)
        self.stream: Optional["StreamImports"] = None
        if STREAM_INTERFACE in component.type.imports(engine):
            from ._imports import StreamImports
            self.stream = StreamImports.of(engine, component)

    def start_ticker(self, tick_ms: int) -> Ticker:
        """The engine's ticker, started on first use with the component's
        ``epoch-tick-ms``."""
        with _lock:
            global _ticker
            if _ticker is None:
                _ticker = Ticker(self.engine, tick_ms)
            return _ticker


_lock = threading.Lock()
_engine: Optional[Engine] = None
_linker: Optional[Linker] = None
_ticker: Optional[Ticker] = None
_components: Dict[Tuple[str, int, int], Runtime] = {}


def stream_build(wasm: Union[str, "os.PathLike[str]"]) -> str:
    """The stream build that goes with the component at ``wasm``: for
    ``DIR/X.wasm``, ``DIR/X_stream.wasm``, else ``DIR/pathway_memory_stream.wasm``.

    :raises SetupError: neither exists.
    """
    path = os.fspath(wasm)
    directory, name = os.path.split(path)
    stem = name[:-len(".wasm")] if name.endswith(".wasm") else name
    tried = []
    for candidate in (f"{stem}_stream.wasm", STREAM_WASM_NAME):
        found = os.path.join(directory, candidate)
        if found in tried:
            continue
        tried.append(found)
        if os.path.isfile(found):
            return found
    raise SetupError(
        "a NATS log needs the stream build of the component (world pathway-stream), and there is "
        f"none beside {path!r}: looked for {' and '.join(repr(t) for t in tried)}; put the stream "
        "build there (the wheel carries both builds; from a checkout, build it next to the "
        "directory build) or pass its path as wasm=")


def load(wasm: Union[str, "os.PathLike[str]"]) -> Runtime:
    """The process's engine and the compiled component at ``wasm`` (cached by
    path, size and modification time)."""
    global _engine, _linker
    path = os.path.realpath(os.fspath(wasm))
    try:
        st = os.stat(path)
    except OSError as e:
        raise SetupError(
            f"cannot read the component {os.fspath(wasm)!r}: {e.strerror}; pass wasm= or set "
            f"{WASM_ENV}") from e
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
                _engine, _linker = engine, linker
            assert _linker is not None
            component = Component.from_file(_engine, path)
        except WasmtimeError as e:
            raise SetupError(f"wasmtime could not compile {path}: {e}") from e
        runtime = Runtime(_engine, _linker, component)
        _components[key] = runtime
        return runtime


class Instance:
    """One Store + WASI context + component instance: with ``directory``
    preopened (the directory build), or none and ``linker`` serving the
    stream import (the stream build)."""

    def __init__(self, runtime: Runtime, directory: Optional[str], guest_path: str,
                 read_only: bool, env: Sequence[Tuple[str, str]],
                 max_guest_memory: Optional[int], linker: Optional[Linker] = None) -> None:
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
        if directory is not None:
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
            self.instance = (linker or runtime.linker).instantiate(store, runtime.component)
        except WasmtimeError as e:
            raise SetupError(f"wasmtime could not instantiate the component: {e}") from e
        self.runtime = runtime
        self.store = store
        self.context = store._context()
        self.funcs: Dict[str, Any] = {}

    def set_deadline(self, ticks: int) -> None:
        """The next call traps once the epoch has advanced ``ticks`` times."""
        _set_epoch_deadline(self.context, ticks)

    def call(self, name: str, args: Sequence[Any]) -> Any:
        """Calls the export ``name``; a trap raises ``WasmtimeError``."""
        index, export = self.runtime.exports[name]
        func = self.funcs.get(name)
        if func is None:
            found = self.instance.get_func(self.store, index)
            if found is None:
                raise SetupError(f"{INTERFACE}#{name} is not a function")
            func = self.funcs[name] = found._func
        return export.call(func, self.context, args)

    def drop(self, handles: Sequence[_abi.Resource]) -> None:
        """Drops the owned resource ``handles`` (the guest's destructors
        run) and frees them, all of them even when one traps; raises the
        first ``WasmtimeError``."""
        failed: Optional[WasmtimeError] = None
        for handle in handles:
            try:
                _abi.drop_resource(self.context, handle)
            except WasmtimeError as e:
                failed = failed or e
        if failed is not None:
            raise failed
