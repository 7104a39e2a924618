"""Python host for the pathway-memory WebAssembly component.

The component (``wit/pathway.wit``, interface ``pathway:memory/log@0.3.0``)
keeps an append-only JSON Lines log in the one directory the host grants
it. This package runs it in `wasmtime-py <https://pypi.org/project/wasmtime/>`_
and hands back its WIT values as Python values::

    from pathway_memory import Memory, Ok, Err

    with Memory.open("mem", wasm="pathway_memory.wasm") as memory:
        memory.try_append('{"op": "remember", "key": "user", "value": "Ada"}')
        for entry in memory.replay():
            match entry:
                case Ok(line):
                    print("ok ", line)
                case Err(damaged):
                    print("err", damaged.message)   # the component's words

WIT values: records are frozen dataclasses with the WIT fields in snake_case
(:mod:`pathway_memory.values`), ``result`` is :class:`Ok` / :class:`Err`,
``enum`` cases are ``str``; the component's ``log-error`` is raised as
:class:`LogError` (a subclass per cause), a trap as :class:`Trap`.

The same log can be kept in a NATS JetStream stream instead of a directory:
``Memory.open(nats="nats://host:4222", stream="NAME", replicas=1)`` runs
the component's stream build (``pathway_memory_stream.wasm``) and serves its
``pathway:memory/stream@0.3.0`` imports with nats-py on a background thread
(``pathway_memory._nats``); the ``Memory`` and its methods are the same.

One grant holds many logs: ``memory.log("thread-42")`` is the log kept in
``thread-42.jsonl`` (a :class:`NamedLog`, with the default log's methods),
``memory.logs()`` lists them, ``memory.last(n)`` reads the last ``n``
entries backwards and ``memory.end_cursor()`` is ``last(0).next``;
``memory.fork_log(source, target)`` copies a log to a new name and
``memory.delete_log(name)`` deletes one, crash-safely.
``Memory.open(directory, log="thread-42")`` opens the instance's own log
functions on a named log.

One ``Engine`` exists per process (with epoch interruption, advanced by a
daemon thread every ``epoch-tick-ms`` the component names, for call
deadlines); each ``.wasm`` file is compiled once per process and cached.
Every :class:`Memory` has its own ``Store`` whose WASI configuration
preopens only its directory and sets only the ``PATHWAY_*`` variables given
to :meth:`Memory.open`.
"""

from ._runtime import INTERFACE, WASM_ENV
from .errors import (AccessDenied, Busy, Deleted, InsufficientSpace, Integrity, InvalidConfig,
                     InvalidCursor, InvalidJson, InvalidName, IoFailure, LinesError, LogError,
                     LogExists, NoDirectory, NoLog, NotAFile, PathwayError, QuotaExceeded,
                     SetupError, StaleCursor, TooLarge, Trap)
from .lines import BATCH_IDLE, BATCH_MAX_WAIT, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, LinesReport
from .memory import OPEN_HANDLES, Memory, NamedLog
from .values import (CheckReport, Checksum, CompactReport, DamagedLine, DeepLine, Entry, Err,
                     IntegrityDetails, InvalidJsonDetails, LogInfo, LogList, MemoryCap, Ok, Page,
                     QuotaExceededDetails, Recent, RepairReport, Settings, TooLargeDetails)

__all__ = [
    "Memory",
    "NamedLog",
    "OPEN_HANDLES",
    "Ok",
    "Err",
    "Entry",
    "DamagedLine",
    "Page",
    "Recent",
    "LogInfo",
    "LogList",
    "Settings",
    "CompactReport",
    "Checksum",
    "DeepLine",
    "CheckReport",
    "RepairReport",
    "InvalidJsonDetails",
    "TooLargeDetails",
    "IntegrityDetails",
    "QuotaExceededDetails",
    "MemoryCap",
    "PathwayError",
    "SetupError",
    "LogError",
    "InvalidJson",
    "TooLarge",
    "InvalidConfig",
    "NoDirectory",
    "NotAFile",
    "AccessDenied",
    "InsufficientSpace",
    "InvalidCursor",
    "InvalidName",
    "NoLog",
    "LogExists",
    "Deleted",
    "StaleCursor",
    "Busy",
    "IoFailure",
    "Integrity",
    "QuotaExceeded",
    "Trap",
    "LinesError",
    "LinesReport",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_BYTES",
    "BATCH_IDLE",
    "BATCH_MAX_WAIT",
    "INTERFACE",
    "WASM_ENV",
]
