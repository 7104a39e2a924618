"""Every error this package raises.

The component's WIT ``log-error`` is :class:`LogError`: its ``cause`` (the
WIT case, kebab-case) is what to decide on, ``str(e)`` is the component's
message exactly; this package writes no wording of its own for it. One
subclass per cause lets ``except`` pick causes; the class is chosen by the
typed cause only.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Type, Union

from .values import IntegrityDetails, InvalidJsonDetails, QuotaExceededDetails, TooLargeDetails

__all__ = [
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
]


class PathwayError(Exception):
    """Base class of every error this package raises."""


class SetupError(PathwayError):
    """The component could not be found, compiled or instantiated, or its
    interface is not the one this package was written for."""


class Case(NamedTuple):
    """A WIT ``variant`` value as lifted: the case name and its payload."""

    tag: str
    payload: Any = None


Details = Union[InvalidJsonDetails, TooLargeDetails, IntegrityDetails, QuotaExceededDetails, None]


class LogError(PathwayError):
    """WIT ``log-error``: why a call failed.

    ``cause``: the WIT ``cause`` case (``"invalid-json"``, ``"too-large"``,
    ``"invalid-config"``, ``"no-directory"``, ``"not-a-file"``,
    ``"access-denied"``, ``"insufficient-space"``, ``"invalid-cursor"``,
    ``"invalid-name"``, ``"no-log"``, ``"log-exists"``, ``"deleted"``,
    ``"stale-cursor"``, ``"busy"``, ``"io"``, ``"integrity"``,
    ``"quota-exceeded"``). ``details``: the :class:`InvalidJsonDetails`,
    :class:`TooLargeDetails`, :class:`IntegrityDetails` or
    :class:`QuotaExceededDetails` record, else ``None``. ``message`` and
    ``str(e)``: the component's text. When an append fails, nothing of that
    call was written (but see ``append_batch`` on a full device); when
    ``compact`` or ``repair`` fails, the log is as it was.
    """

    #: The WIT case a subclass stands for ("" on the base class).
    CAUSE = ""

    def __init__(self, cause: str, message: str, details: Details = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message
        self.details = details

    @staticmethod
    def from_wit(cause: Case, message: str) -> "LogError":
        """The error for a lifted ``log-error``: the subclass of its cause
        (the base class for a cause this package does not know yet)."""
        cls = _BY_CAUSE.get(cause.tag, LogError)
        return cls(cause.tag, message, cause.payload)


class InvalidJson(LogError):
    """An event is not exactly one JSON value, or nests arrays and objects
    deeper than ``PATHWAY_MAX_DEPTH``: ``details`` has its ``index``,
    ``offset`` and ``reason`` (also as attributes here)."""

    CAUSE = "invalid-json"
    details: InvalidJsonDetails

    @property
    def index(self) -> int:
        return self.details.index

    @property
    def offset(self) -> int:
        return self.details.offset

    @property
    def reason(self) -> str:
        return self.details.reason


class TooLarge(LogError):
    """An event's line would exceed ``PATHWAY_MAX_LINE``: ``details`` has its
    ``index``, ``size`` and ``limit`` (also as attributes here)."""

    CAUSE = "too-large"
    details: TooLargeDetails

    @property
    def index(self) -> int:
        return self.details.index

    @property
    def size(self) -> int:
        return self.details.size

    @property
    def limit(self) -> int:
        return self.details.limit


class InvalidConfig(LogError):
    """``log_name``, ``max_line``, ``max_depth`` or ``sync`` cannot be used, or
    ``log_name`` and ``log`` were both given."""

    CAUSE = "invalid-config"


class NoDirectory(LogError):
    """No directory is granted, or the granted one is gone."""

    CAUSE = "no-directory"


class NotAFile(LogError):
    """The log's name is a directory, a symbolic link or another non-regular file."""

    CAUSE = "not-a-file"


class AccessDenied(LogError):
    """The grant or the file's permissions do not allow the operation
    (``read_only=True``, for one)."""

    CAUSE = "access-denied"


class InsufficientSpace(LogError):
    """The device is full."""

    CAUSE = "insufficient-space"


class InvalidCursor(LogError):
    """The cursor text is not a cursor of this component."""

    CAUSE = "invalid-cursor"


class InvalidName(LogError):
    """A log name that cannot be used (empty, over 200 bytes, a path
    separator, a control character, a leading ``.``, or ``.jsonl`` inside
    it): :meth:`~pathway_memory.Memory.log`, ``Memory.open(log=...)``,
    :meth:`~pathway_memory.Memory.delete_log` or
    :meth:`~pathway_memory.Memory.fork_log` refused it and nothing was
    created or changed; the message says which rule it broke."""

    CAUSE = "invalid-name"


class NoLog(LogError):
    """There is no log of that name: :meth:`~pathway_memory.Memory.delete_log`
    of a missing log, or the source of :meth:`~pathway_memory.Memory.fork_log`.
    Nothing was changed; :meth:`~pathway_memory.Memory.logs` lists the logs
    there are."""

    CAUSE = "no-log"


class LogExists(LogError):
    """The target of :meth:`~pathway_memory.Memory.fork_log` exists: a fork
    never replaces a log. Fork to another name, or delete that log first."""

    CAUSE = "log-exists"


class Deleted(LogError):
    """The log was deleted (by this instance or another, in this process or
    another) while this append wrote to it: nothing of the call is stored,
    and the deleted log is not created again. Append again to start a new
    log of that name."""

    CAUSE = "deleted"


class StaleCursor(LogError):
    """The cursor no longer fits the log: it lies before the ``upto`` of a
    compaction made since (a cursor at or after it reads on in the new log),
    the log was repaired or its bytes before the cursor changed, or it is
    another log's. ``compact`` also refuses with it a cursor that binds no
    hash of the bytes before it: ``last``'s, and one made before a
    compaction."""

    CAUSE = "stale-cursor"


class Busy(LogError):
    """Another compaction or repair holds ``<log>.lock``."""

    CAUSE = "busy"


class IoFailure(LogError):
    """Any other failed file operation (WIT cause ``io``)."""

    CAUSE = "io"


class Integrity(LogError):
    """Bytes the last compaction or repair wrote changed since (their SHA-256
    in ``<log>.sha256`` no longer matches): ``compact`` and ``repair``
    refuse to write a new checksum over them. ``details`` has the
    ``bytes`` covered, the ``expected`` SHA-256 and the ``actual`` one
    (``None`` when the log is shorter), also as attributes here."""

    CAUSE = "integrity"
    details: IntegrityDetails

    @property
    def bytes(self) -> int:
        return self.details.bytes

    @property
    def expected(self) -> str:
        return self.details.expected

    @property
    def actual(self) -> Optional[str]:
        return self.details.actual


class QuotaExceeded(LogError):
    """Storing the call's bytes would take the grant past its quota
    (``PATHWAY_QUOTA``): nothing of the call was stored. ``details`` has
    the bytes ``used`` now, the ``limit`` and the bytes ``needed`` (also as
    attributes here). Delete, compact or repair to free room, or raise the
    quota."""

    CAUSE = "quota-exceeded"
    details: QuotaExceededDetails

    @property
    def used(self) -> int:
        return self.details.used

    @property
    def limit(self) -> int:
        return self.details.limit

    @property
    def needed(self) -> int:
        return self.details.needed


_BY_CAUSE: Dict[str, Type[LogError]] = {
    cls.CAUSE: cls
    for cls in (InvalidJson, TooLarge, InvalidConfig, NoDirectory, NotAFile, AccessDenied,
                InsufficientSpace, InvalidCursor, InvalidName, NoLog, LogExists, Deleted,
                StaleCursor, Busy, IoFailure, Integrity, QuotaExceeded)
}


class Trap(PathwayError):
    """The guest trapped: ``append`` of a refused event (its documented
    trap), a call past its deadline (``timed_out``), guest memory past its
    cap, or a bug.

    ``message``: for a deadline, the component's words (WIT
    ``host-message``); otherwise wasmtime's description of the trap.
    ``stderr``: what the guest wrote during the call, as is (for a refused
    ``append``, ``pathway append refused: <message>``). The
    :class:`~pathway_memory.Memory` already has a fresh instance and stays
    usable; nothing on disk was lost.
    """

    def __init__(self, message: str, stderr: str, timed_out: bool = False) -> None:
        self.message, self.stderr, self.timed_out = message, stderr, timed_out
        text = message
        if stderr.strip():
            text += f"\nguest stderr:\n{stderr.strip()}"
        super().__init__(text)


class LinesError(PathwayError):
    """:meth:`~pathway_memory.Memory.append_lines` stopped: a refused line
    refused its own batch, or the log or the source failed. The batches
    before it are stored.

    ``cause``: the component's cause of a :class:`LogError`
    (``"invalid-json"``, ``"too-large"``, ...), ``"invalid-utf8"``,
    ``"trap"``, ``"host"`` or ``"source"``; decide on it, not on the
    message. ``line``: the refused line (1-based), or ``None`` when
    something else stopped the import. ``resume_line``: every line before
    it is stored or blank. ``stored``: events this import stored.
    ``byte``: for ``invalid-utf8``, the offset of the line's first bad
    byte. ``error``: the :class:`LogError`, :class:`Trap` or the source's
    exception (also ``__cause__``).
    """

    def __init__(self, message: str, *, cause: str, line: Optional[int], resume_line: int,
                 stored: int, byte: Optional[int] = None,
                 error: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.line = line
        self.resume_line = resume_line
        self.stored = stored
        self.byte = byte
        self.error = error
