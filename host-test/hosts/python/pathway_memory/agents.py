"""An OpenAI Agents SDK session kept in a pathway-memory named log.

``PathwaySession`` implements the SDK's ``SessionABC`` (``openai-agents``
0.24.0): one session is one named log of the grant, the file
``<session_id>.jsonl``, so the session id is the log's name and a bad one
(a path separator, a leading ``.``, ``.jsonl`` inside it, over 200 bytes,
...) is refused by the component with :class:`~pathway_memory.InvalidName`
before anything is created::

    from agents import Agent, Runner
    from pathway_memory.agents import PathwaySession

    session = PathwaySession.open("user-42", "mem")      # Memory.open kwargs pass through
    result = await Runner.run(agent, "hi", session=session)

The log is append-only, so every change is an appended event, one JSON
value per line (plain JSONL, readable with ``pathway replay --log
user-42``):

- ``{"n": 7, "item": {...}}``: an item was added (``add_items`` writes one
  event per item, in one ``append_batch``);
- ``{"n": 8, "pop": 7}``: the item of event 7 was removed (``pop_item``).

``n`` numbers the session's events: each event takes the number after the
newest readable event's (read with ``last``, so adding never reads the
history). **Why a pop names its target.** A pop is recorded as the
retraction of one item, named by that item's ``n``, never as "remove the
newest item", because the meaning of an event must not depend on what
else reached the disk:

- a pop is a single appended line: a crash before it is durable leaves the
  session as it was (the item is still there), after it the item is gone;
  a torn pop line is a damaged line, skipped by every read, so the item is
  still there; no other item is touched either way;
- the same pop event read twice (an append that a host sent again after an
  ``io`` failure, a copy made by a fork) retracts the same item twice,
  which is once: it can never take a second, older item with it;
- if an add event before it was lost (a torn batch, a line ``repair()``
  quarantined), "remove the newest" would remove an item the caller never
  popped; a named retraction of an item that is not there removes nothing;
- a retraction only ever hides the item it names, and nothing is ever
  un-retracted, so no popped item comes back (no resurrection), whatever
  is appended later.

**Reading the last N.** ``get_items(limit)`` reads the log backwards with
``last(k)``: going from the newest event back, each pop adds its target to
the set of retracted items and each add whose ``n`` is not retracted is a
live item, until ``limit`` live items are found. A pop always comes after
the item it retracts, so the pop is seen first. When retractions are among
the newest events (several pops in a row), ``k`` is doubled and the end of
the log read again, so the cost grows with ``limit`` plus the pops near the
end, never with the whole history (``limit=None`` reads the whole log).
``pop_item`` is ``get_items(1)`` and one append; :meth:`PathwaySession.compact`
folds the pops away (the live items' events kept as they are);
``clear_session`` is
``delete_log(session_id)`` (crash-safe: the log is whole or gone), which
touches no other session's log.

Limits: one writer per session at a time. Calls on one
``PathwaySession`` object are serialised by a lock; two processes adding
to or popping from the same session at once may give two events the same
``n`` (reads stay well defined, in log order). Damaged lines (a torn write
after a crash) are skipped, as the component reports them; a readable line
that is not one of the events above raises :class:`SessionFormatError`.
An item must fit the component's line limit and depth limit
(``max_line``, ``max_depth``: ``TooLarge`` / ``InvalidJson`` otherwise, and
nothing of that ``add_items`` call is stored).

The SDK's methods are ``async``; each call runs the component in a worker
thread (``asyncio.to_thread``), as the SDK's ``SQLiteSession`` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any, Dict, List, Optional, Set, Tuple, Union

try:
    from agents.memory.session import SessionABC
    from agents.memory.session_settings import (SessionSettings, coerce_session_settings,
                                                resolve_session_limit)
except ImportError as _missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pathway_memory.agents needs the OpenAI Agents SDK: pip install openai-agents==0.24.0 "
        "(or the wheel's extra, pathway_memory[agents]); the rest of pathway_memory works "
        "without it") from _missing

from .errors import NoLog
from .memory import Memory, NamedLog
from .values import CompactReport, Ok

__all__ = ["PathwaySession", "SessionFormatError"]

# The first read of the log's end asks for this many more events than the
# items wanted (room for a few pops or damaged lines) before doubling.
_SLACK = 8


class SessionFormatError(ValueError):
    """A readable line of the session's log is not an event of this module
    (``{"n": N, "item": ...}`` or ``{"n": N, "pop": M}``): something else
    wrote to the log. Nothing is changed."""


class PathwaySession(SessionABC):
    """An OpenAI Agents SDK session kept in the named log ``session_id`` of a
    pathway-memory grant (a directory). See the module's docstring for the
    events, the crash-safety of a pop and the cost of reads.

    ``PathwaySession(session_id, directory, **kwargs)`` opens the directory
    with ``Memory.open(directory, **kwargs)`` (``wasm=``, ``quota=``,
    ``sync=``, ...) and closes it in :meth:`close`;
    ``PathwaySession(session_id, memory=memory)`` uses an open
    :class:`~pathway_memory.Memory` (many sessions can share one; it is
    not closed by the session).

    :raises InvalidName: ``session_id`` cannot be a log's name; nothing was
        created.
    """

    session_settings: Optional[SessionSettings] = None

    def __init__(self, session_id: str, directory: Union[str, "os.PathLike[str]", None] = None,
                 *, memory: Optional[Memory] = None,
                 session_settings: Union[SessionSettings, Dict[str, Any], None] = None,
                 **open_kwargs: Any) -> None:
        if not isinstance(session_id, str):
            raise TypeError(f"session_id must be a str, not {type(session_id).__name__}")
        if (memory is None) == (directory is None):
            raise TypeError("give a directory or memory=, exactly one of them")
        if memory is not None and open_kwargs:
            raise TypeError("Memory.open arguments go with a directory, not with memory=")
        self.session_id = session_id
        self.session_settings = (coerce_session_settings(session_settings)
                                 if session_settings is not None else SessionSettings())
        owned = memory is None
        if memory is None:
            memory = Memory.open(directory, **open_kwargs)
        try:
            self._log: NamedLog = memory.log(session_id)   # InvalidName for a bad id
        except BaseException:
            if owned:
                memory.close()
            raise
        self._memory = memory
        self._owns_memory = owned
        self._lock = threading.Lock()

    @classmethod
    def open(cls, session_id: str, directory: Union[str, "os.PathLike[str]"],
             *, session_settings: Union[SessionSettings, Dict[str, Any], None] = None,
             **open_kwargs: Any) -> "PathwaySession":
        """``PathwaySession(session_id, directory, **open_kwargs)``:
        ``open_kwargs`` are :meth:`Memory.open`'s (``wasm``, ``quota``,
        ``sync``, ``max_line``, ``call_timeout``, ...)."""
        return cls(session_id, directory, session_settings=session_settings, **open_kwargs)

    @property
    def memory(self) -> Memory:
        """The :class:`~pathway_memory.Memory` the session's log is in."""
        return self._memory

    @property
    def log(self) -> NamedLog:
        """The session's named log (``<session_id>.jsonl``)."""
        return self._log

    # -- reading ------------------------------------------------------------

    def _event(self, line: str) -> Tuple[int, str, Any]:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and type(event.get("n")) is int:
            if "item" in event and len(event) == 2:
                return event["n"], "item", event["item"]
            if type(event.get("pop")) is int and len(event) == 2:
                return event["n"], "pop", event["pop"]
        shown = line if len(line) <= 200 else line[:200] + "..."
        raise SessionFormatError(
            f"the log of session {self.session_id!r} holds a record that is not a session "
            f"event ({{\"n\": N, \"item\": ...}} or {{\"n\": N, \"pop\": M}}): {shown}")

    def _read_back(self, want: Optional[int]) -> Tuple[List[Tuple[int, Any]], int]:
        """The newest ``want`` live items (all with ``None``) as ``(n,
        item)``, oldest first, and the newest readable event's ``n`` (-1 for
        an empty log). Reads the end of the log with ``last(k)``, doubling
        ``k`` until enough live items are found or the start is reached."""
        if want is None:
            entries = self._log.replay()
            return self._fold_back(entries, None)
        k = want + _SLACK
        while True:
            entries = self._log.last(k).entries
            found, last_n = self._fold_back(entries, want)
            if len(entries) < k or (len(found) >= want and last_n >= 0):
                return found, last_n
            k *= 2

    def _fold_back(self, entries: List[Any], want: Optional[int]) -> Tuple[List[Tuple[int, Any]], int]:
        retracted: Set[int] = set()
        found: List[Tuple[int, Any]] = []
        last_n = -1
        for entry in reversed(entries):
            if not isinstance(entry, Ok):
                continue                        # a damaged line (a torn write): skipped
            n, kind, value = self._event(entry.value)
            if last_n < 0:
                last_n = n
            if kind == "pop":
                retracted.add(value)
            elif n not in retracted and (want is None or len(found) < want):
                found.append((n, value))
            if want is not None and len(found) >= want:
                break
        found.reverse()
        return found, last_n

    def _get_items_sync(self, limit: Optional[int]) -> List[Any]:
        if limit is not None and limit < 0:
            limit = None                        # as SQLiteSession: a negative limit is no limit
        if limit == 0:
            return []
        with self._lock:
            found, _ = self._read_back(limit)
        return [item for _, item in found]

    def _add_items_sync(self, items: List[Any]) -> None:
        lines = [json.dumps(item, separators=(",", ":")) for item in items]
        with self._lock:
            _, last_n = self._read_back(0)
            self._log.append_batch(['{"n":%d,"item":%s}' % (last_n + 1 + i, line)
                                    for i, line in enumerate(lines)])

    def _pop_item_sync(self) -> Any:
        with self._lock:
            found, last_n = self._read_back(1)
            if not found:
                return None
            n, item = found[0]
            self._log.try_append('{"n":%d,"pop":%d}' % (last_n + 1, n))
            return item

    def _clear_sync(self) -> None:
        with self._lock:
            try:
                self._memory.delete_log(self.session_id)
            except NoLog:
                pass                            # never written to, or cleared already

    def compact(self) -> Optional[CompactReport]:
        """Folds the pops away: rewrites the log (the component's crash-safe
        ``compact``) as the live items' events, in order and with their
        ``n``, followed, when the newest event is not one of them, by
        ``{"n": N, "pop": -1}``, which retracts nothing and keeps the
        numbering going on from ``N``. Damaged lines before the end are
        dropped too (reads skip them anyway); an unterminated last line is
        kept as it is. Reads the whole log (a page walk). Returns the
        component's report, or ``None`` when there is nothing to fold (no
        pop, no damaged line). Not part of the SDK's interface."""
        with self._lock:
            lines: List[str] = []
            folds = False
            cursor: Optional[str] = None
            while True:
                page = self._log.replay_page(cursor)
                cursor = page.next
                for entry in page.entries:
                    if isinstance(entry, Ok):
                        lines.append(entry.value)
                    else:
                        folds = True
                if page.at_end:
                    break
            adds: List[Tuple[int, str]] = []
            alive: List[bool] = []
            where: Dict[int, List[int]] = {}        # n -> positions of its adds so far
            last_n = -1
            for line in lines:
                n, kind, value = self._event(line)
                last_n = n
                if kind == "pop":
                    folds = True
                    for at in where.pop(value, ()):
                        alive[at] = False
                else:
                    where.setdefault(n, []).append(len(adds))
                    adds.append((n, line))
                    alive.append(True)
            if not folds:
                return None
            live = [add for add, keep in zip(adds, alive) if keep]
            snapshot = [line for _, line in live]
            if last_n >= 0 and (not live or live[-1][0] != last_n):
                snapshot.append('{"n":%d,"pop":-1}' % last_n)
            return self._log.compact(snapshot, cursor)

    # -- the SDK's interface ------------------------------------------------

    async def get_items(self, limit: Optional[int] = None) -> List[Any]:
        """The newest ``limit`` items (``None``: ``session_settings.limit``,
        else all), oldest first, read backwards from the log's end."""
        return await asyncio.to_thread(self._get_items_sync,
                                       resolve_session_limit(limit, self.session_settings))

    async def add_items(self, items: List[Any]) -> None:
        """Appends one event per item, in one ``append_batch``: a refused
        batch (``TooLarge``, ``InvalidJson`` past ``max_depth``,
        ``QuotaExceeded``) stores none of them."""
        if not items:
            return
        await asyncio.to_thread(self._add_items_sync, list(items))

    async def pop_item(self) -> Any:
        """Removes and returns the newest item (``None`` when the session is
        empty) by appending a retraction that names it (see the module's
        docstring: a pop never removes or brings back another item)."""
        return await asyncio.to_thread(self._pop_item_sync)

    async def clear_session(self) -> None:
        """Deletes the session's log (``delete_log``): crash-safe, and no other
        session's log is touched. Adding again starts a new log."""
        await asyncio.to_thread(self._clear_sync)

    def close(self) -> None:
        """Closes the :class:`Memory` if the session opened it."""
        if self._owns_memory:
            self._memory.close()

    def __repr__(self) -> str:
        return f"PathwaySession({self.session_id!r}, {self._memory!r})"
