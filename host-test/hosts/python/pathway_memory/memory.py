"""The log handle: :class:`Memory`, one log in one directory (or one NATS
JetStream stream) served by its own component instance, and
:class:`NamedLog`, another log of the same grant opened by name in that
instance."""

from __future__ import annotations

import math
import os
import threading
import weakref
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

from wasmtime import WasmtimeError

from . import _abi, _runtime
from ._runtime import NAMED_OPEN, WASM_ENV, Instance, Runtime, Ticker
from .errors import Case, LogError, PathwayError, SetupError, Trap
from .lines import (BATCH_IDLE, BATCH_MAX_WAIT, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, Line,
                    LinesReport, append_lines)
from .values import (CheckReport, CompactReport, Entry, Err, LogInfo, LogList, MemoryCap, Ok, Page,
                     Recent, RepairReport, Settings)

if TYPE_CHECKING:
    from ._nats import NatsStream

_U32_MAX = (1 << 32) - 1
#: How many named logs a :class:`Memory` keeps open at once: opening one
#: more first drops them all (they are opened again as they are used).
OPEN_HANDLES = 256
#: Logs per page of :meth:`Memory.logs`.
_LOGS_PAGE = 1000
_NO_DEADLINE = 1 << 62
#: Seconds a NATS log's transport retries one call while the server is away,
#: at most (and at most half the call timeout).
_NATS_BUDGET = 30.0
#: What a JetStream stream name cannot hold.
_NOT_IN_STREAM_NAME = set(" \t\r\n.*>/\\\0")


class Memory:
    """One log in one directory, or in one NATS JetStream stream, served by
    its own component instance.

    Create it with :meth:`Memory.open`. A wasmtime store is not thread-safe,
    so calls on one :class:`Memory` are serialised by a lock: sharing it
    between threads is safe, one call at a time. Several :class:`Memory`
    objects (in one or many threads or processes) may append to one log.
    """

    def __init__(self, *, _runtime: Runtime, directory: Optional[str],
                 env: List[Tuple[str, str]], guest_path: str, read_only: bool,
                 call_timeout: Optional[float], max_guest_memory: Optional[int],
                 transport: Optional["NatsStream"] = None) -> None:
        self._runtime = _runtime
        self._directory = directory
        self._env = env
        self._guest_path = guest_path
        self._read_only = read_only
        self._call_timeout = call_timeout
        self._max_guest_memory = max_guest_memory
        self._call_lock = threading.Lock()
        self._ticker: Optional[Ticker] = None
        self._ticks = _NO_DEADLINE
        self._transport = transport
        self._linker = None
        self._closer: Optional[weakref.finalize] = None
        #: The named logs open in the current instance, by name: dropped
        #: when there are too many and on close(), forgotten (freed, not
        #: dropped) with a trapped instance. Always this dict (cleared, never
        #: replaced): the finalizer frees what is left in it.
        self._handles: Dict[str, _abi.Resource] = {}
        weakref.finalize(self, _free_handles, self._handles)
        if transport is not None:
            assert _runtime.stream is not None
            # The transport's connection and loop thread end with this
            # Memory: close(), or when it is garbage.
            self._closer = weakref.finalize(self, transport.close)
            transport.budget = _nats_budget(call_timeout)
        try:
            if transport is not None:
                assert _runtime.stream is not None
                self._linker = _runtime.stream.linker(_runtime.engine, transport)
            self._instance: Optional[Instance] = self._new_instance()
            # The configuration and the directory (or the stream: the
            # component connects) are checked now, not at the first call; the
            # ticker needs the component's epoch tick.
            self._settings: Settings = self._ok(self._call("open-log"))
        except BaseException:
            if self._closer is not None:
                self._closer()
            raise
        self._ticker = _runtime.start_ticker(self._settings.epoch_tick_ms)
        self._ticks = self._deadline_ticks()

    @classmethod
    def open(
        cls,
        directory: Union[str, "os.PathLike[str]", None] = None,
        log_name: Optional[str] = None,
        max_line: Optional[int] = None,
        sync: Optional[str] = None,
        max_depth: Optional[int] = None,
        *,
        log: Optional[str] = None,
        quota: Union[int, str, None] = None,
        wasm: Union[str, "os.PathLike[str]", None] = None,
        guest_path: str = ".",
        read_only: bool = False,
        call_timeout: Optional[float] = 60.0,
        max_guest_memory: Optional[int] = 1 << 30,
        nats: Optional[str] = None,
        stream: Optional[str] = None,
        replicas: Optional[int] = None,
    ) -> "Memory":
        """Opens the log in ``directory`` (which must exist), or, with
        ``nats=`` and ``stream=`` instead of a directory, the log kept in
        that NATS JetStream stream.

        A NATS log runs the stream build of the component
        (``pathway_memory_stream.wasm``, found beside the directory build:
        see ``wasm``), whose imports this package serves over NATS with
        nats-py on a background thread. Everything else is the same:
        the same methods, values, errors and messages; ``settings.log_name``
        is the stream's name and ``settings.sync`` is ``"ack"``.

        :param log_name: ``PATHWAY_LOG``, a plain file name (the component's
            default when ``None``).
        :param log: ``PATHWAY_NAME``: the instance's own log functions
            (``try_append``, ``replay``, ...) work on the named log ``log``,
            the file ``<log>.jsonl``, as :meth:`log` would give it. The
            component checks the name: a bad one fails the open with
            :class:`~pathway_memory.InvalidName`; with ``log_name`` too, with
            :class:`~pathway_memory.InvalidConfig`.
        :param max_line: ``PATHWAY_MAX_LINE``, the largest stored line in bytes.
        :param sync: ``PATHWAY_SYNC``, passed through as is (``"never"``,
            ``"always"`` or ``"interval:<ms>"``); the component checks it.
        :param max_depth: ``PATHWAY_MAX_DEPTH``, how deep an appended event
            may nest arrays and objects (1 to 10000; the component's default
            127): a deeper event is refused with
            :class:`~pathway_memory.InvalidJson`.
        :param quota: ``PATHWAY_QUOTA``, the most bytes all files of the
            grant (all messages of a NATS stream) may hold together, passed
            as ``str(quota)``; ``None``: no limit. The component checks it:
            ``0`` or a value that is not a number (``"lots"``) fails the open
            with :class:`~pathway_memory.InvalidConfig`. An append or fork
            that would take the grant past it is refused with
            :class:`~pathway_memory.QuotaExceeded` and stores nothing;
            reading is never refused, and :meth:`delete_log`,
            :meth:`compact` and :meth:`repair` free room. Appenders in
            several instances at once may each pass the quota by at most one
            call (each checks the bytes stored before it writes).
        :param wasm: path of the component; default: ``$PATHWAY_WASM``, else
            the one the installed wheel carries.
        :param guest_path: where the guest sees the directory.
        :param read_only: grant the directory read-only (appends then fail
            with :class:`~pathway_memory.AccessDenied`).
        :param call_timeout: seconds one call may run before it is stopped
            with :class:`~pathway_memory.Trap` (``timed_out``); ``None``: no
            deadline. Settable later through :attr:`call_timeout`.
        :param max_guest_memory: cap of the guest's linear memory in bytes
            (past it the guest traps); ``None``: no cap.
        :param nats: instead of ``directory``: the NATS server URL
            (``nats://host:port``; several comma-separated for a cluster;
            ``nats://user:password@host:port`` for credentials). ``log_name``,
            ``log``, ``sync``, ``read_only`` and ``guest_path`` do not apply.
        :param stream: the JetStream stream holding the log (with ``nats``).
        :param replicas: create the stream with this many replicas if it is
            missing; ``None``: a missing stream fails with
            :class:`~pathway_memory.NoDirectory`. While the server does not
            answer, each call of the component to it is retried for
            ``min(30 s, call_timeout / 2)``, then fails with
            :class:`~pathway_memory.IoFailure` (``io``).

        For a NATS log ``wasm`` (or ``$PATHWAY_WASM``, or the wheel's
        component) names either build: for ``DIR/X.wasm`` the stream build is
        ``DIR/X_stream.wasm``, else ``DIR/pathway_memory_stream.wasm``.

        :raises LogError: the component's ``open-log`` refused the
            configuration (:class:`~pathway_memory.InvalidConfig`, also for a
            ``quota`` of 0 or not a number;
            :class:`~pathway_memory.InvalidName` for ``log``) or the
            directory (:class:`~pathway_memory.NoDirectory`); for a NATS log,
            no server answers (:class:`~pathway_memory.IoFailure`), the stream
            is missing (:class:`~pathway_memory.NoDirectory`) or the server
            refuses the user (:class:`~pathway_memory.AccessDenied`).
        :raises FileNotFoundError, NotADirectoryError: ``directory`` (wasmtime
            cannot grant it, so the component never sees it).
        :raises SetupError: the component (or, for a NATS log, its stream
            build) cannot be found, compiled or instantiated.
        :raises ValueError: a value with a NUL byte (WASI cannot carry it), a
            stream name NATS cannot use, or an option a NATS log does not take.
        :raises TypeError: neither ``directory`` nor ``nats``, or both.
        """
        if nats is None:
            if directory is None:
                raise TypeError("Memory.open needs a directory, or nats= and stream=")
            for what, given in (("stream", stream), ("replicas", replicas)):
                if given is not None:
                    raise TypeError(f"{what}= goes with nats=: pass both, and no directory")
            directory = os.fspath(directory)
            if not os.path.exists(directory):
                raise FileNotFoundError(2, "the log's directory does not exist", directory)
            if not os.path.isdir(directory):
                raise NotADirectoryError(20, "the log's directory is not a directory", directory)
        else:
            if directory is not None:
                raise TypeError("pass a directory or nats=, not both")
            _check_nats(nats, stream, replicas)
            # `log=` goes to the component, which decides whether a stream
            # can hold a named log.
            for what, given in (("log_name", log_name), ("sync", sync)):
                if given is not None:
                    raise ValueError(f"{what} applies to a directory log; a NATS log is named by "
                                     "stream= and stores each event when the server acks it")
            if read_only or guest_path != ".":
                raise ValueError("read_only and guest_path apply to a directory log")
        if wasm is None:
            wasm = os.environ.get(WASM_ENV)
            if not wasm and os.path.isfile(_runtime.BUNDLED_WASM):
                wasm = _runtime.BUNDLED_WASM
            if not wasm:
                raise SetupError(f"no component: pass wasm= or set {WASM_ENV} to the .wasm file "
                                 "(the wheel carries one; this package came without it)")
        for what, number in (("max_line", max_line), ("max_depth", max_depth)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
                raise TypeError(f"{what} must be int, not {type(number).__name__}")
        env: List[Tuple[str, str]] = []
        if log is not None:
            _check_str(log, "log")
        for name, value in (("PATHWAY_LOG", log_name), ("PATHWAY_NAME", log),
                            ("PATHWAY_MAX_LINE", max_line), ("PATHWAY_MAX_DEPTH", max_depth),
                            ("PATHWAY_SYNC", sync), ("PATHWAY_QUOTA", quota)):
            if value is None:
                continue
            text = str(value)
            if "\0" in text:
                raise ValueError(f"{name} cannot contain a NUL byte")
            env.append((name, text))
        _check_timeout(call_timeout)
        if nats is None:
            runtime = _runtime.load(wasm)
            if runtime.stream is not None:
                raise SetupError(f"{os.fspath(wasm)!r} is the stream build of the component (it "
                                 "imports pathway:memory/stream@0.3.0); a directory log needs the "
                                 "directory build (pathway_memory.wasm)")
            return cls(_runtime=runtime, directory=directory, env=env, guest_path=guest_path,
                       read_only=read_only, call_timeout=call_timeout,
                       max_guest_memory=max_guest_memory)
        stream_wasm = _runtime.stream_build(wasm)
        runtime = _runtime.load(stream_wasm)
        if runtime.stream is None:
            raise SetupError(f"{stream_wasm!r} is not the stream build of the component: it does "
                             "not import pathway:memory/stream@0.3.0")
        from ._nats import NatsStream
        assert stream is not None
        transport = NatsStream(nats, stream, replicas, _nats_budget(call_timeout))
        return cls(_runtime=runtime, directory=None, env=env, guest_path=guest_path,
                   read_only=False, call_timeout=call_timeout,
                   max_guest_memory=max_guest_memory, transport=transport)

    # -- plumbing ----------------------------------------------------------

    def _new_instance(self) -> Instance:
        return Instance(self._runtime, self._directory, self._guest_path, self._read_only,
                        self._env, self._max_guest_memory, self._linker)

    def _deadline_ticks(self) -> int:
        if self._call_timeout is None or self._ticker is None:
            return _NO_DEADLINE
        # The next tick comes within one tick: one more than the timeout's
        # ticks makes the deadline at least call_timeout.
        return math.ceil(self._call_timeout / self._ticker.tick) + 1

    def _call(self, name: str, *args: Any) -> Any:
        """Calls ``name``; a trap becomes :class:`Trap` after a fresh instance is made."""
        with self._call_lock:
            return self._enter(Instance.call, name, args)

    def _enter(self, action: Callable[..., Any], *args: Any) -> Any:
        """``action(instance, *args)`` under the call's deadline; a trap
        becomes :class:`Trap` after a fresh instance is made. The call lock
        is held."""
        instance = self._instance
        if instance is None:
            raise PathwayError("this Memory is closed")
        ticks, ticker = self._ticks, self._ticker
        # Read before the deadline is set, so that the ticks counted
        # since are never fewer than the epochs wasmtime counts.
        started = ticker.ticks if ticker is not None else 0
        instance.set_deadline(ticks)
        mark = len(instance.stderr)
        try:
            return action(instance, *args)
        except WasmtimeError as e:
            stderr = bytes(instance.stderr[mark:]).decode("utf-8", "replace")
            # Typed, not read from wasmtime's text: the ticker moved past
            # the deadline set for this call.
            timed_out = ticker is not None and ticks != _NO_DEADLINE and \
                ticker.ticks - started >= ticks
            raise self._recover(e, stderr, timed_out) from e

    def _call_named(self, log: str, method: str, *args: Any) -> Any:
        """Calls the ``named-log`` method ``method`` on the log ``log``,
        opening its handle first if it is not open in this instance."""
        with self._call_lock:
            handle = self._named_handle(log)
            return self._enter(Instance.call, method, (handle,) + args)

    def _named_handle(self, log: str) -> _abi.Resource:
        """The open handle of the named log ``log`` (the call lock is held):
        cached, else opened (which checks the name: :class:`InvalidName`)."""
        handle = self._handles.get(log)
        if handle is not None:
            return handle
        if len(self._handles) >= OPEN_HANDLES:
            handles = list(self._handles.values())
            self._handles.clear()
            self._enter(Instance.drop, handles)
        handle = self._ok(self._enter(Instance.call, NAMED_OPEN, (log,)))
        self._handles[log] = handle
        return handle

    def _recover(self, trap: WasmtimeError, stderr: str, timed_out: bool) -> Trap:
        """Replaces the trapped instance (it cannot be entered again) and
        words the trap: the component's words for a deadline, wasmtime's
        otherwise."""
        self._instance = None
        # The named logs' handles were the old instance's: freed, not dropped.
        _free_handles(self._handles)
        try:
            self._instance = self._new_instance()
        except PathwayError as setup:
            return Trap(f"the component trapped: {trap} (and a fresh instance could not be "
                        f"made: {setup})", stderr, timed_out)
        if timed_out:
            assert self._call_timeout is not None
            failure = Case("deadline", round(self._call_timeout * 1000))
            try:
                message = self._instance.call("host-message", (failure,))
            except WasmtimeError:
                message = f"the component trapped: {trap}"
            return Trap(message, stderr, True)
        return Trap(f"the component trapped: {trap}", stderr, False)

    @staticmethod
    def _ok(result: Union[Ok[Any], Err[Any]]) -> Any:
        if isinstance(result, Err):
            raise result.error
        return result.value

    # -- the WIT functions -------------------------------------------------

    def append(self, event: str) -> None:
        """WIT ``append``: appends one event as one line.

        A refused event traps the guest (the WIT's only error channel here):
        :class:`~pathway_memory.Trap`, whose ``stderr`` has the guest's
        ``pathway append refused: <message>``. Prefer :meth:`try_append`.
        """
        self._call("append", _check_str(event, "event"))

    def try_append(self, event: str) -> None:
        """WIT ``try-append``: appends one event as one line, in one write.

        :raises LogError: ``invalid-json`` or ``too-large`` (nothing
            written), or why the log cannot be written.
        """
        result = self._call("try-append", _check_str(event, "event"))
        if result.is_ok:
            return
        raise result.error

    def append_batch(self, events: Iterable[str]) -> None:
        """WIT ``append-batch``: validates every event, then writes them all.

        :raises LogError: the first refused event (its ``details.index``);
            nothing was written. (An I/O error may leave whole records of
            the batch stored; the message says how many bytes.)
        """
        batch = events if isinstance(events, list) else list(events)
        for event in batch:
            _check_str(event, "each event")
        self._ok(self._call("append-batch", batch))

    def append_lines(self, source: Iterable[Line], *, max_events: int = MAX_BATCH_EVENTS,
                     max_bytes: int = MAX_BATCH_BYTES, idle: float = BATCH_IDLE,
                     max_wait: float = BATCH_MAX_WAIT) -> LinesReport:
        """Appends the lines of ``source`` as they arrive, in batches of
        :meth:`append_batch` (each all or nothing): at most ``max_events``
        events and ``max_bytes`` bytes, stored once no line has come for
        ``idle`` seconds or the first has waited ``max_wait``.

        ``source``: a file object, binary (``sys.stdin.buffer``, read as
        ``pathway append -`` reads stdin) or text, or any iterable of
        ``str`` or ``bytes`` lines (one trailing ``\n`` is dropped). Blank
        lines are counted and skipped. A list or tuple is taken as it is;
        anything else is read on a thread of its own, so a source that
        blocks still has its earlier lines stored.

        :returns: lines read (blank ones too) and events stored.
        :raises LinesError: a refused line refused its own batch and stopped
            the import; it names the line, how many events are stored (the
            batches before it) and the line to resume from. Also when the
            log or the source failed.
        """
        return append_lines(self.append_batch, source, max_events=max_events,
                            max_bytes=max_bytes, idle=idle, max_wait=max_wait)

    def replay(self) -> List[Entry]:
        """WIT ``replay-entries``: every entry in file order.

        :class:`~pathway_memory.Ok` (the line) for a record,
        :class:`~pathway_memory.Err` (a :class:`~pathway_memory.DamagedLine`)
        for a damaged line. A missing log gives ``[]``.

        :raises LogError: the log cannot be read at all.
        """
        entries: List[Entry] = self._ok(self._call("replay-entries"))
        return entries

    def sync(self) -> None:
        """WIT ``sync``: forces appended data to stable storage.

        :raises LogError: why it failed.
        """
        self._ok(self._call("sync"))

    def replay_page(self, cursor: Optional[str] = None, max_bytes: int = 1 << 20) -> Page:
        """WIT ``replay-page``: entries from ``cursor`` (``None``: the start)
        until about ``max_bytes`` (0 to 2**32-1) of the log were read, at
        least one line when there is one. A cursor keeps reading across a
        compaction whose ``upto`` it is at or after, in the new log (never
        returning the snapshot).

        :raises LogError: ``invalid-cursor``, ``stale-cursor`` (a cursor
            before the ``upto`` of a compaction made since, across a repair
            of a directory log, or of bytes that changed), or why the log
            cannot be read.
        """
        if cursor is not None:
            _check_str(cursor, "cursor")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or \
                not 0 <= max_bytes <= _U32_MAX:
            raise ValueError("max_bytes must be an int from 0 to 2**32-1")
        page: Page = self._ok(self._call("replay-page", cursor, max_bytes))
        return page

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
        """The cursor at the end of the log as it is now (before an
        unterminated last line), without reading the log: ``last(0).next``.
        Pass it to :meth:`replay_page` to read only what is appended later.
        ``compact`` refuses it (``stale-cursor``): compact up to the ``next``
        of a page walk (:meth:`pages`).

        :raises LogError: why the log cannot be read.
        """
        return self.last(0).next

    def last(self, count: int) -> Recent:
        """WIT ``last``: the last ``count`` (0 to 2**32-1) entries, oldest
        first (the end of what :meth:`replay` returns, an unterminated last
        line included), read backwards from the end: the cost grows with
        what is returned, not with the log's size. A damaged line's ``line``
        is 0 (no lines are counted backwards); its ``offset`` is exact.
        ``next``: the end cursor (see :meth:`end_cursor`).

        :raises LogError: why the log cannot be read.
        """
        recent: Recent = self._ok(self._call("last", _check_u32(count, "count")))
        return recent

    def logs_page(self, after: Optional[str] = None, max: int = _LOGS_PAGE) -> LogList:
        """WIT ``logs``: the grant's logs whose names come after ``after``
        (``None``: from the first), at most ``max`` (1 to 2**32-1), in name
        order (by the bytes of their UTF-8), each as ``LogInfo(name,
        bytes)``. A log named ``N`` is the file ``N.jsonl`` (the default log
        ``pathway.jsonl`` is the log ``pathway``); side files and other
        files are never listed. ``next``: pass it as ``after`` for the next
        page; ``None``: no log follows.

        :raises LogError: the directory cannot be read.
        """
        if after is not None:
            _check_str(after, "after")
        page: LogList = self._ok(self._call("logs", after, _check_u32(max, "max")))
        return page

    def logs(self) -> List[LogInfo]:
        """Every log of the grant in name order: :meth:`logs_page`, a page
        of 1,000 at a time, concatenated.

        :raises LogError: the directory cannot be read.
        """
        found: List[LogInfo] = []
        after: Optional[str] = None
        while True:
            page = self.logs_page(after, _LOGS_PAGE)
            found.extend(page.logs)
            if page.next is None:
                return found
            after = page.next

    def delete_log(self, name: str) -> int:
        """WIT ``delete-log``: deletes the log ``name`` of the grant (the file
        ``<name>.jsonl``) and its side files (``.quarantine``, ``.sha256``,
        ``.moved``);
        returns the size it had in bytes. Crash-safe: after a crash at any
        moment the log is whole or gone, never a prefix. This Memory's own
        handle on that log is dropped first, so the next :meth:`log` of the
        name opens it afresh; an append through another instance's handle
        (another :class:`Memory`, here or in another process) that was
        writing to it fails with :class:`~pathway_memory.Deleted` and stores
        nothing, and the append after that starts a new log of that name.
        The default log can be deleted too, by its name (``"pathway"``).

        :raises InvalidName: a name that cannot be used.
        :raises NoLog: there is no log of that name.
        :raises LogError: ``busy`` (a compaction or repair runs), or a failed
            file operation; the log is then as it was.
        """
        _check_str(name, "name")
        with self._call_lock:
            handle = self._handles.pop(name, None)
            if handle is not None:
                self._enter(Instance.drop, [handle])
            size: int = self._ok(self._enter(Instance.call, "delete-log", (name,)))
        return size

    def fork_log(self, source: str, target: str, at: Optional[str] = None) -> int:
        """WIT ``fork-log``: makes the new log ``target`` a copy of the log
        ``source`` up to the cursor ``at`` (a cursor of ``source``, from
        :meth:`replay_page` or :meth:`end_cursor`; ``None``: its end, before
        an unterminated last line); returns the bytes copied. The new log
        appears whole or not at all (written to a temporary file in pages,
        synced, then linked to its name) and never replaces one; appends to
        either log never show in the other.

        :raises InvalidName: ``source`` or ``target`` cannot be used.
        :raises NoLog: there is no log ``source``.
        :raises LogExists: the log ``target`` exists.
        :raises LogError: ``invalid-cursor``, ``stale-cursor`` (a cursor of
            another log, or of bytes that changed since), or a failed file
            operation; nothing is created then.
        """
        _check_str(source, "source")
        _check_str(target, "target")
        if at is not None:
            _check_str(at, "at")
        copied: int = self._ok(self._call("fork-log", source, target, at))
        return copied

    def log(self, name: str) -> "NamedLog":
        """The log named ``name`` in the same grant (the file
        ``<name>.jsonl``, created by its first append; until then it reads
        as empty), served by this Memory's instance. Its handle is opened
        now and kept (at most 256 named logs are open at once; past that all
        are dropped and opened again as they are used; a trap that replaces
        the instance opens them again too).

        :raises InvalidName: a name that cannot be used (empty, over 200
            bytes, a path separator, a control character, a leading ``.``,
            or ``.jsonl`` inside it); nothing was created.
        :raises LogError: the grant cannot be opened (on a NATS log,
            ``io``: named logs are directory-only so far).
        """
        _check_str(name, "name")
        with self._call_lock:
            self._named_handle(name)
        return NamedLog(self, name)

    def compact(self, snapshot: Iterable[str], upto: str) -> CompactReport:
        """WIT ``compact``: replaces everything up to the cursor ``upto`` by
        the ``snapshot`` events, keeping every byte after it; crash-safe.
        Writes ``<log>.sha256``, the SHA-256 of what it wrote, and
        ``<log>.moved``, where the kept bytes went: a cursor at or after
        ``upto`` reads on in the new log (exactly the records after it), one
        before it is stale. ``upto`` must bind every byte before it (the
        ``next`` of a page walk): a cursor of ``last``, or one made before a
        compaction that happened since, is refused with ``stale-cursor``.

        :raises LogError: a refused snapshot event (with its index), a
            cursor error, ``busy``, :class:`~pathway_memory.Integrity`
            (bytes the last compaction or repair wrote changed since), or a
            failed file operation; the log is then as it was.
        """
        events = [_check_str(e, "each snapshot event") for e in snapshot]
        report: CompactReport = self._ok(self._call("compact", events, _check_str(upto, "upto")))
        return report

    def check(self) -> CheckReport:
        """WIT ``check``: size, records, damaged lines, torn tail, leftover
        files, records nested deeper than ``PATHWAY_MAX_DEPTH`` (``too_deep``),
        and the bytes the last compaction or repair wrote against
        their SHA-256 (``checksum``, ``checksum_message``).

        :raises LogError: the log cannot be read at all.
        """
        report: CheckReport = self._ok(self._call("check"))
        return report

    def repair(self) -> RepairReport:
        """WIT ``repair``: rewrites the log without its damaged lines, whose
        bytes go first to ``<log>.quarantine``. A clean log is untouched.

        :raises LogError: as for :meth:`compact`.
        """
        report: RepairReport = self._ok(self._call("repair"))
        return report

    def host_message(self, failure: Union[int, MemoryCap]) -> str:
        """WIT ``host-message``: the component's words for a failure the host
        detected: a deadline of ``failure`` milliseconds, or a
        :class:`~pathway_memory.MemoryCap`."""
        case = Case("memory-cap", failure) if isinstance(failure, MemoryCap) \
            else Case("deadline", failure)
        message: str = self._call("host-message", case)
        return message

    # -- housekeeping ------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The configuration in force (WIT ``open-log``'s ``settings``)."""
        return self._settings

    @property
    def call_timeout(self) -> Optional[float]:
        """Seconds one call may run (``None``: no deadline); settable."""
        return self._call_timeout

    @call_timeout.setter
    def call_timeout(self, seconds: Optional[float]) -> None:
        _check_timeout(seconds)
        with self._call_lock:
            self._call_timeout = seconds
            self._ticks = self._deadline_ticks()
            if self._transport is not None:
                self._transport.budget = _nats_budget(seconds)

    @property
    def log_path(self) -> str:
        """Path of the log file on the host (a directory log only).

        :raises PathwayError: a NATS log, which has no file.
        """
        if self._directory is None:
            raise PathwayError(f"a NATS log has no file: it is the stream "
                               f"{self._settings.log_name!r}")
        return os.path.join(self._directory, self._settings.log_name)

    def close(self) -> None:
        """Drops the instance (and a NATS log's connection and its thread);
        later calls raise :class:`~pathway_memory.PathwayError`."""
        with self._call_lock:
            instance, self._instance = self._instance, None
            handles = list(self._handles.values())
            self._handles.clear()
            if instance is not None and handles:
                instance.set_deadline(self._ticks)
                try:
                    instance.drop(handles)
                except WasmtimeError:
                    pass  # the instance is dropped next anyway
            if self._closer is not None:
                self._closer()

    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._transport is not None:
            return f"Memory(nats={self._transport.url!r}, stream={self._transport.stream!r})"
        return f"Memory({self._directory!r}, log_name={self._settings.log_name!r})"


def _check_timeout(seconds: Optional[float]) -> None:
    if seconds is not None and not seconds > 0:
        raise ValueError("call_timeout must be positive (or None for no deadline)")


def _nats_budget(call_timeout: Optional[float]) -> float:
    """How long the transport retries one call: min(30 s, call timeout / 2)."""
    if call_timeout is None:
        return _NATS_BUDGET
    return min(_NATS_BUDGET, call_timeout / 2)


def _check_nats(url: Any, stream: Any, replicas: Any) -> None:
    if not isinstance(url, str) or not url.strip(",").strip():
        raise TypeError("nats= must be a non-empty str (nats://host:port)")
    if "\0" in url:
        raise ValueError("nats= cannot contain a NUL byte")
    if stream is None:
        raise TypeError("nats= needs stream=, the JetStream stream's name")
    if not isinstance(stream, str):
        raise TypeError(f"stream must be str, not {type(stream).__name__}")
    bad = sorted({c for c in stream if c in _NOT_IN_STREAM_NAME or not c.isprintable()})
    if not stream or bad:
        raise ValueError(f"{stream!r} cannot name a JetStream stream (no spaces, '.', '*', '>', "
                         "'/', '\\' or control characters; letters, digits, '-' and '_' are safe)")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int)
                                 or replicas < 1):
        raise ValueError("replicas must be an int of at least 1 (or None: never create the stream)")


def _check_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value


def _check_u32(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32_MAX:
        raise ValueError(f"{what} must be an int from 0 to 2**32-1")
    return value


def _free_handles(handles: Dict[str, _abi.Resource]) -> None:
    """Frees the host's copies of ``handles`` (their store is gone or going)."""
    for handle in handles.values():
        _abi.free_resource(handle)
    handles.clear()


class NamedLog:
    """One of many logs in a :class:`Memory`'s grant, opened by name
    (:meth:`Memory.log`): the file ``<name>.jsonl``, created by its first
    append. Its methods are those of the default log, with the same values,
    errors and messages; calls go through the Memory (its lock, deadline
    and instance), which keeps the log's handle open.
    """

    __slots__ = ("_memory", "_name")

    def __init__(self, memory: Memory, name: str) -> None:
        self._memory = memory
        self._name = name

    @property
    def name(self) -> str:
        """The name it was opened with."""
        return self._name

    def _call(self, method: str, *args: Any) -> Any:
        return self._memory._call_named(self._name, "[method]named-log." + method, *args)

    def try_append(self, event: str) -> None:
        """As :meth:`Memory.try_append`, on this log."""
        self._memory._ok(self._call("try-append", _check_str(event, "event")))

    def append_batch(self, events: Iterable[str]) -> None:
        """As :meth:`Memory.append_batch`, on this log."""
        batch = events if isinstance(events, list) else list(events)
        for event in batch:
            _check_str(event, "each event")
        self._memory._ok(self._call("append-batch", batch))

    def replay(self) -> List[Entry]:
        """As :meth:`Memory.replay`, on this log (``[]`` until its first append)."""
        entries: List[Entry] = self._memory._ok(self._call("replay-entries"))
        return entries

    def replay_page(self, cursor: Optional[str] = None, max_bytes: int = 1 << 20) -> Page:
        """As :meth:`Memory.replay_page`, on this log."""
        if cursor is not None:
            _check_str(cursor, "cursor")
        page: Page = self._memory._ok(self._call("replay-page", cursor,
                                                 _check_u32(max_bytes, "max_bytes")))
        return page

    def last(self, count: int) -> Recent:
        """As :meth:`Memory.last`, on this log."""
        recent: Recent = self._memory._ok(self._call("last", _check_u32(count, "count")))
        return recent

    def end_cursor(self) -> str:
        """As :meth:`Memory.end_cursor` (``last(0).next``), on this log."""
        return self.last(0).next

    def sync(self) -> None:
        """As :meth:`Memory.sync`, on this log."""
        self._memory._ok(self._call("sync"))

    def compact(self, snapshot: Iterable[str], upto: str) -> CompactReport:
        """As :meth:`Memory.compact`, on this log (``<name>.jsonl.sha256``,
        ``<name>.jsonl.moved``)."""
        events = [_check_str(e, "each snapshot event") for e in snapshot]
        report: CompactReport = self._memory._ok(self._call("compact", events,
                                                            _check_str(upto, "upto")))
        return report

    def check(self) -> CheckReport:
        """As :meth:`Memory.check`, on this log."""
        report: CheckReport = self._memory._ok(self._call("check"))
        return report

    def repair(self) -> RepairReport:
        """As :meth:`Memory.repair`, on this log."""
        report: RepairReport = self._memory._ok(self._call("repair"))
        return report

    def __repr__(self) -> str:
        return f"NamedLog({self._name!r})"


__all__: Sequence[str] = ["Memory", "NamedLog", "OPEN_HANDLES"]
