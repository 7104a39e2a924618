"""The component's WIT records as Python values.

Each record of ``wit/pathway.wit`` that the component returns is a frozen
dataclass here whose fields are the WIT fields in WIT order, snake_case:
``pathway_memory._abi`` lifts a WIT record straight into the class with the
same field names, so no per-field conversion code exists anywhere. A WIT
record without its class here fails when the component is loaded. The one
variant inside a record, ``checksum``, becomes a flat :class:`Checksum`
(:meth:`CheckReport.from_wit`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Generic, List, Optional, TypeVar, Union

__all__ = [
    "Ok",
    "Err",
    "Entry",
    "DamagedLine",
    "Page",
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
    "Recent",
    "LogInfo",
    "LogList",
]

T = TypeVar("T")
E = TypeVar("E")


@dataclass(frozen=True)
class Ok(Generic[T]):
    """The ``ok`` case of a WIT ``result``; in a replay, ``value`` is the
    stored line (one JSON value, as text)."""

    value: T
    is_ok = True

    def json(self) -> Any:
        """The record parsed with :func:`json.loads`."""
        return json.loads(self.value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Err(Generic[E]):
    """The ``err`` case of a WIT ``result``; in a replay, ``error`` is the
    :class:`DamagedLine`."""

    error: E
    is_ok = False


@dataclass(frozen=True)
class DamagedLine:
    """WIT ``damaged-line``: skipped by replay, reported by ``check``, moved
    to the quarantine by ``repair``.

    ``line`` is 1-based, ``offset`` the byte offset of its first byte,
    ``length`` its bytes without ``\\n``; ``torn``: the unterminated, invalid
    last line; ``problem``: ``"invalid-utf8"``, ``"invalid-json"`` or
    ``"too-large"``; ``reason``: the problem in words; ``message``: what
    ``replay`` says for the line.
    """

    line: int
    offset: int
    length: int
    torn: bool
    problem: str
    reason: str
    message: str


#: One replayed entry: ``Ok(line)`` for a record, ``Err(DamagedLine)``.
Entry = Union[Ok[str], Err[DamagedLine]]


@dataclass(frozen=True)
class Page:
    """WIT ``page``: a slice of the log from :meth:`Memory.replay_page`.

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
class Settings:
    """WIT ``settings``: the configuration in force, as the component read it."""

    log_name: str
    max_line: int
    max_depth: int
    sync: str
    #: The most bytes the grant may hold (``PATHWAY_QUOTA``); ``None``: no limit.
    quota: Optional[int]
    epoch_tick_ms: int


@dataclass(frozen=True)
class CompactReport:
    """WIT ``compact-report``: what :meth:`Memory.compact` did."""

    snapshot_records: int
    kept_bytes: int
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class IntegrityDetails:
    """WIT ``integrity``: the log's first ``bytes`` bytes, which the last
    compaction or repair wrote, no longer hash as ``<log>.sha256`` says.
    ``expected``: the SHA-256 written, in hex; ``actual``: their SHA-256
    now, ``None`` when the log is shorter (it was cut)."""

    bytes: int
    expected: str
    actual: Optional[str]


@dataclass(frozen=True)
class Checksum:
    """WIT ``checksum``: what :meth:`Memory.check` found of ``<log>.sha256``,
    the SHA-256 of the bytes the last compaction or repair wrote.

    ``state``: ``"none"`` (never compacted or repaired), ``"stale"``
    (written for another file than the log is now), ``"unreadable"`` (torn
    or edited), ``"verified"`` (the log's first ``bytes`` bytes hash as
    written) or ``"mismatch"`` (they do not, or the log is shorter:
    ``bytes``, ``expected`` and ``actual`` as in :class:`IntegrityDetails`).
    Fields a state does not have are ``None``.
    """

    state: str
    bytes: Optional[int] = None
    expected: Optional[str] = None
    actual: Optional[str] = None

    @staticmethod
    def from_wit(case: Any) -> "Checksum":
        """The checksum for a lifted ``checksum`` variant (its ``tag`` and
        ``payload``)."""
        if case.tag == "verified":
            return Checksum("verified", bytes=case.payload)
        if case.tag == "mismatch":
            found: IntegrityDetails = case.payload
            return Checksum("mismatch", found.bytes, found.expected, found.actual)
        return Checksum(case.tag)


@dataclass(frozen=True)
class DeepLine:
    """WIT ``deep-line``: a stored record nested deeper than
    ``PATHWAY_MAX_DEPTH``. Replay returns it, but readers with a lower limit
    cannot read it.

    ``line`` is 1-based, ``offset`` the byte offset of its first byte in the
    file, ``at`` the byte offset, inside the line, of the first array or
    object too deep.
    """

    line: int
    offset: int
    at: int


@dataclass(frozen=True)
class CheckReport:
    """WIT ``check-report``: the state of the log (:meth:`Memory.check`).

    ``too_deep``: the records nested deeper than ``PATHWAY_MAX_DEPTH``
    (stored before the limit, or under a higher one). ``checksum``: the bytes the last compaction or repair wrote, against
    their SHA-256; ``checksum_message``: what it found, in words, with what
    to do (``""`` for ``none`` and ``verified``).
    """

    bytes: int
    records: int
    damaged: List[DamagedLine]
    torn_tail: bool
    leftovers: List[str]
    too_deep: List[DeepLine]
    checksum: Checksum
    checksum_message: str

    @staticmethod
    def from_wit(*fields: Any) -> "CheckReport":
        """The report for a lifted ``check-report`` (fields in WIT order),
        its ``checksum`` variant as a :class:`Checksum`."""
        lifted = CheckReport(*fields)
        return dataclasses.replace(lifted, checksum=Checksum.from_wit(lifted.checksum))

    @property
    def clean(self) -> bool:
        """No damaged line and no checksum mismatch (leftover files, such as
        the quarantine after a repair, and records in ``too_deep``, which
        replay returns, do not count)."""
        return not self.damaged and self.checksum.state != "mismatch"


@dataclass(frozen=True)
class RepairReport:
    """WIT ``repair-report``: what :meth:`Memory.repair` did; ``quarantine``
    names the file holding the removed bytes."""

    removed: List[DamagedLine]
    quarantine: str
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class InvalidJsonDetails:
    """WIT ``invalid-json``: the event at ``index`` is not exactly one JSON
    value; the parser stopped at byte ``offset`` of the event with ``reason``."""

    index: int
    offset: int
    reason: str


@dataclass(frozen=True)
class TooLargeDetails:
    """WIT ``too-large``: the event at ``index`` would be a line of ``size``
    bytes, over ``limit`` (``PATHWAY_MAX_LINE``)."""

    index: int
    size: int
    limit: int


@dataclass(frozen=True)
class QuotaExceededDetails:
    """WIT ``quota-exceeded``: what a refused call would have needed: the
    grant holds ``used`` bytes, the quota is ``limit``, the call would have
    added ``needed``."""

    used: int
    limit: int
    needed: int


@dataclass(frozen=True)
class MemoryCap:
    """WIT ``memory-cap``: linear memory asked for and allowed, in bytes."""

    wanted: int
    cap: int


@dataclass(frozen=True)
class Recent:
    """WIT ``recent``: what :meth:`Memory.last` returns.

    ``entries``: up to ``count`` entries, oldest first: the end of what
    :meth:`Memory.replay` returns, an unterminated last line included (a
    record, or a torn write). Read backwards, no lines are counted: a
    damaged line's ``line`` is 0 (its ``offset`` is exact). ``next``: the
    cursor at the end (before an unterminated last line), to read only what
    is appended later with :meth:`Memory.replay_page`; ``compact`` refuses
    it (``stale-cursor``): compact up to a cursor of a page walk.
    """

    entries: List[Entry]
    next: str


@dataclass(frozen=True)
class LogInfo:
    """WIT ``log-info``: one log of the grant (the file ``<name>.jsonl``)
    and the size of its file in bytes (on a stream: its messages counted as
    lines)."""

    name: str
    bytes: int


@dataclass(frozen=True)
class LogList:
    """WIT ``log-list``: a page of :meth:`Memory.logs_page`, in name order
    (by the bytes of their UTF-8); ``next``: pass it as ``after`` for the
    next page, ``None`` when no log follows."""

    logs: List[LogInfo]
    next: Optional[str]
