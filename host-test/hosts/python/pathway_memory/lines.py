"""Lines appended as they arrive: :meth:`Memory.append_lines`.

The rule and its words are those of the Rust host (``host-test/src/lines.rs``)
and the Node host (``lines.js``), so an import reads the same in every host;
the cross-host differential test compares them.

- A file object (binary or text) or any iterable gives one line per item
  (one ``\\n`` at its end is dropped; a line may end in ``\\r``, which the
  component takes for whitespace). A blank line (nothing but whitespace)
  is counted and skipped; every other line is one event.
- Events are appended in batches, each one ``append-batch``, so each batch
  is stored all or nothing: at most ``max_events`` events and ``max_bytes``
  bytes (UTF-8; a larger event is a batch of its own), stored once no line
  has come for ``idle`` seconds or its first line has waited ``max_wait``.
  Lines that are already there never wait for a timer.
- A refused line (not one JSON value, too large, not UTF-8) refuses its own
  batch and stops the import: the batches before it stay stored. The
  :class:`~pathway_memory.LinesError` names the line (1-based), how many
  events are stored and the line to resume from: every line before it is
  stored or blank.

A list or tuple is taken as it is; any other source is read on a thread of
its own (it may block, as ``sys.stdin.buffer`` does), at most
``_READ_AHEAD`` lines ahead of the appends.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Tuple, Union

from .errors import InvalidJson, LinesError, LogError, PathwayError, TooLarge, Trap

__all__ = ["LinesReport", "MAX_BATCH_EVENTS", "MAX_BATCH_BYTES", "BATCH_IDLE", "BATCH_MAX_WAIT"]

#: Most events in one batch.
MAX_BATCH_EVENTS = 1000
#: Most bytes (UTF-8) of events in one batch.
MAX_BATCH_BYTES = 1 << 20
#: Store a batch once no line has come for this many seconds.
BATCH_IDLE = 0.010
#: Store a batch once its first line has waited this many seconds.
BATCH_MAX_WAIT = 0.050

#: Lines read ahead of the appends, at most.
_READ_AHEAD = 1024

#: Rust's ``char::is_whitespace``, which the CLI's blank lines are judged by.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

Line = Union[str, bytes, bytearray, memoryview]


@dataclass(frozen=True)
class LinesReport:
    """What :meth:`Memory.append_lines` read and stored."""

    #: Lines read, blank ones included.
    lines: int
    #: Events stored.
    stored: int


class _NotUtf8(Exception):
    def __init__(self, byte: int) -> None:
        super().__init__(byte)
        self.byte = byte


def _line_of(item: Any) -> Tuple[str, int]:
    """One item as a line and its size in UTF-8 bytes."""
    if isinstance(item, str):
        line = item[:-1] if item.endswith("\n") else item
        if line.isascii():
            return line, len(line)
        try:
            return line, len(line.encode("utf-8"))
        except UnicodeEncodeError as e:  # a lone surrogate: not UTF-8
            raise _NotUtf8(len(line[:e.start].encode("utf-8"))) from None
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        if data.endswith(b"\n"):
            data = data[:-1]
        try:
            return data.decode("utf-8"), len(data)
        except UnicodeDecodeError as e:
            raise _NotUtf8(e.start) from None
    raise TypeError(f"each line must be str or bytes, not {type(item).__name__}")


def _blank(line: str) -> bool:
    return not line or (line[0] in _WHITESPACE and not line.strip(_WHITESPACE))


def _stopped(stored: int, resume: int) -> str:
    if stored == 0:
        return "none of its events is stored"
    if stored == 1:
        return f"the 1 event before line {resume} is stored, nothing from line {resume} on is"
    return f"the {stored} events before line {resume} are stored, nothing from line {resume} on is"


class _Batcher:
    """The batch being filled, and what was read and stored so far."""

    def __init__(self, append_batch: Callable[[List[str]], None], max_events: int,
                 max_bytes: int, idle: float, max_wait: float) -> None:
        self._append_batch = append_batch
        self._max_events, self._max_bytes = max_events, max_bytes
        self._idle, self._max_wait = idle, max_wait
        self._events: List[str] = []
        self._lines_of: List[int] = []
        self._bytes = 0
        self._first = self._last = 0.0
        self.lines = 0
        self.stored = 0
        self.resume_line = 1

    @property
    def pending(self) -> bool:
        return bool(self._events)

    @property
    def deadline(self) -> float:
        """When the batch is to be stored if no line comes first (``time.monotonic``)."""
        return min(self._last + self._idle, self._first + self._max_wait)

    def take(self, item: Any, now: float) -> None:
        try:
            line, size = _line_of(item)
        except TypeError as e:
            raise self.source_failed(e) from e
        except _NotUtf8 as e:
            self.lines += 1
            at, resume = self.lines, self.resume_line
            raise LinesError(
                f"line {at} is not valid UTF-8 (first bad byte at byte {e.byte} of the line); "
                f"the import stopped: {_stopped(self.stored, resume)}; fix line {at} and resume "
                f"from line {resume}",
                cause="invalid-utf8", line=at, resume_line=resume, stored=self.stored,
                byte=e.byte) from None
        self.lines += 1
        if _blank(line):
            return
        if self._events and self._bytes + size > self._max_bytes:
            self.flush()
        if not self._events:
            self._first = now
        self._last = now
        self._events.append(line)
        self._lines_of.append(self.lines)
        self._bytes += size
        if len(self._events) >= self._max_events:
            self.flush()

    def flush(self) -> None:
        """Appends the batch; a refusal names its line."""
        if not self._events:
            return
        try:
            self._append_batch(self._events)
        except PathwayError as e:
            raise self._failed(e) from e
        self.stored += len(self._events)
        self.resume_line = self._lines_of[-1] + 1
        self._events, self._lines_of, self._bytes = [], [], 0

    def _failed(self, error: PathwayError) -> LinesError:
        resume, stored = self.resume_line, self.stored
        cause = error.cause if isinstance(error, LogError) else \
            "trap" if isinstance(error, Trap) else "host"
        line: Optional[int] = None
        if isinstance(error, (InvalidJson, TooLarge)) and 0 <= error.index < len(self._lines_of):
            line = self._lines_of[error.index]
        if line is not None:
            return LinesError(
                f"line {line} was refused: {error}; the import stopped: {_stopped(stored, resume)}; "
                f"fix line {line} and resume from line {resume}",
                cause=cause, line=line, resume_line=resume, stored=stored, error=error)
        before = "no event before it is stored" if stored == 0 else \
            "the 1 event before it is stored" if stored == 1 else \
            f"the {stored} events before it are stored"
        return LinesError(
            f"{error}; the import stopped at the batch from line {resume}: {before}; resume from "
            f"line {resume}",
            cause=cause, line=None, resume_line=resume, stored=stored, error=error)

    def source_failed(self, error: BaseException) -> LinesError:
        """The source failed, or gave something that is not a line."""
        resume = self.resume_line
        return LinesError(
            f"reading line {self.lines + 1} failed: {error}; the import stopped: "
            f"{_stopped(self.stored, resume)}; resume from line {resume}",
            cause="source", line=None, resume_line=resume, stored=self.stored, error=error)


class _Feed:
    """A source read on a thread of its own; its lines wait in a bounded queue."""

    def __init__(self, source: Iterable[Any]) -> None:
        self._iterator: Iterator[Any] = iter(source)
        self._ready = threading.Condition()
        self._items: Deque[Any] = collections.deque()
        self._ended = False
        self._error: Optional[BaseException] = None
        self._stopped = False
        threading.Thread(target=self._read, name="pathway-lines", daemon=True).start()

    def _read(self) -> None:
        try:
            for item in self._iterator:
                with self._ready:
                    while len(self._items) >= _READ_AHEAD and not self._stopped:
                        self._ready.wait()
                    if self._stopped:
                        return
                    self._items.append(item)
                    self._ready.notify_all()
        except BaseException as e:  # handed to the caller's thread
            self._error = e
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def take(self, timeout: Optional[float]) -> Tuple[List[Any], bool, Optional[BaseException]]:
        """The lines there (waiting up to ``timeout`` seconds, ``None``: for
        ever, for one), whether the source ended, and its error."""
        with self._ready:
            self._ready.wait_for(lambda: self._items or self._ended, timeout)
            items = list(self._items)
            self._items.clear()
            self._ready.notify_all()
            return items, self._ended, self._error

    def stop(self) -> None:
        """Lets the reader end at its next line."""
        with self._ready:
            self._stopped = True
            self._ready.notify_all()


def append_lines(append_batch: Callable[[List[str]], None], source: Iterable[Line], *,
                 max_events: int, max_bytes: int, idle: float, max_wait: float) -> LinesReport:
    """The import behind :meth:`Memory.append_lines`."""
    if isinstance(source, (str, bytes, bytearray, memoryview)):
        raise TypeError("source must be an iterable of lines or a file object; for a whole text, "
                        "pass io.StringIO(text) or io.BytesIO(data)")
    for name, value, low in (("max_events", max_events, 1), ("max_bytes", max_bytes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}")
    for name, seconds in (("idle", idle), ("max_wait", max_wait)):
        if not seconds >= 0:
            raise ValueError(f"{name} must be a number of seconds, 0 or more")
    batcher = _Batcher(append_batch, max_events, max_bytes, idle, max_wait)
    if isinstance(source, (list, tuple)):
        for item in source:
            batcher.take(item, 0.0)
        batcher.flush()
        return LinesReport(batcher.lines, batcher.stored)
    feed = _Feed(source)
    try:
        while True:
            wait = max(0.0, batcher.deadline - time.monotonic()) if batcher.pending else None
            items, ended, error = feed.take(wait)
            if not items and not ended:
                batcher.flush()
                continue
            now = time.monotonic()
            for item in items:
                batcher.take(item, now)
            if ended:
                if error is not None:
                    raise batcher.source_failed(error) from error
                break
        batcher.flush()
    finally:
        feed.stop()
    return LinesReport(batcher.lines, batcher.stored)
