"""A LangGraph checkpointer kept in pathway-memory named logs.

``PathwaySaver`` is a ``BaseCheckpointSaver`` (``langgraph-checkpoint``,
with ``langgraph`` 1.2.22) whose threads are named logs of one grant::

    from pathway_memory.langgraph import PathwaySaver

    saver = PathwaySaver.open("mem", wasm="pathway_memory.wasm")
    graph = builder.compile(checkpointer=saver)
    graph.invoke(inputs, {"configurable": {"thread_id": "thread-42"}})

The mapping: a thread is the named log ``<thread_id>`` (the file
``<thread_id>.jsonl``; a thread id that is not a valid log name raises the
component's ``InvalidName``); a checkpoint is one event, the pending writes
of one ``put_writes`` call one more. Events never name their thread, so a
fork of the log (``copy_thread``) is a correct copy of the thread as it
stands. Values go through ``self.serde.dumps_typed`` and are stored as
``[type, base64]`` so that the log stays plain JSONL:

- ``{"k":"cp","ns":NS,"id":ID,"parent":ID|null,"run":RUN|null,
  "cp":[T,B64],"md":[T,B64]}``: a checkpoint (its channel values inside);
- ``{"k":"w","ns":NS,"cp":ID,"task":TASK,"path":PATH,
  "w":[[IDX,CHANNEL,T,B64],...]}``: the writes of one ``put_writes`` call.

``delete_thread`` is ``delete_log``; ``copy_thread`` is ``fork_log``;
``prune`` and ``delete_for_runs`` rewrite a thread with the component's
``compact`` (crash-safe: the old log or the new one, and events appended
meanwhile are kept); ``prune(..., strategy="delete")`` deletes the log.

Reads replay the thread's log (cost grows with the thread's history).
The async methods run the sync ones (the component calls are short and
serialized by a lock).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Dict, List, Optional, Tuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (WRITES_IDX_MAP, BaseCheckpointSaver, ChannelVersions,
                                       Checkpoint, CheckpointMetadata, CheckpointTuple,
                                       get_checkpoint_id, get_checkpoint_metadata)
from langgraph.checkpoint.serde.base import SerializerProtocol

try:  # langgraph-checkpoint >= 2
    from langgraph.checkpoint.base import writes_sort_key
except ImportError:  # pragma: no cover
    writes_sort_key = None

from .errors import NoLog
from .memory import Memory
from .values import Err

__all__ = ["PathwaySaver", "CorruptThread"]


class CorruptThread(ValueError):
    """A thread's log holds a line that is not one of this saver's events
    (a damaged line, or JSON of another shape). Only that thread is
    affected; ``check``/``repair`` on its log (``memory.log(thread_id)``)
    quarantine damaged lines."""


def _dumps(serde: SerializerProtocol, value: Any, what: str, thread_id: str) -> List[str]:
    try:
        return _enc(serde.dumps_typed(value))
    except Exception as e:
        raise TypeError(f"thread {thread_id!r}: the saver's serializer cannot encode {what} "
                        f"({type(e).__name__}: {e}); nothing was written") from e


def _enc(typed: Tuple[str, bytes]) -> List[str]:
    kind, data = typed
    return [kind, base64.b64encode(data).decode("ascii")]


def _dec(value: Any) -> Tuple[str, bytes]:
    return (value[0], base64.b64decode(value[1]))


class _Thread:
    """The parsed events of one thread's log."""

    def __init__(self) -> None:
        # ns -> checkpoint id -> cp event
        self.cps: Dict[str, Dict[str, dict]] = {}
        # (ns, checkpoint id) -> (task, idx) -> (task, channel, typed, path)
        self.writes: Dict[Tuple[str, str], Dict[Tuple[str, int], tuple]] = {}
        self.upto: Optional[str] = None  # cursor after the last record read
        self.events: int = 0

    def add(self, ev: dict) -> None:
        kind = ev.get("k")
        if kind == "cp":
            self.cps.setdefault(ev["ns"], {})[ev["id"]] = ev
        elif kind == "w":
            stored = self.writes.setdefault((ev["ns"], ev["cp"]), {})
            for idx, channel, kind_, data in ev["w"]:
                key = (ev["task"], idx)
                if idx >= 0 and key in stored:
                    continue
                stored[key] = (ev["task"], channel, (kind_, data), ev.get("path", ""))
        else:
            raise ValueError(f"unknown event kind {kind!r}")

    def ordered_writes(self, ns: str, cid: str) -> List[tuple]:
        stored = self.writes.get((ns, cid), {})
        if writes_sort_key is not None:
            keys = sorted(stored, key=lambda k: writes_sort_key(stored[k][3], *k))
        else:  # pragma: no cover
            keys = sorted(stored)
        return [stored[k] for k in keys]


class PathwaySaver(BaseCheckpointSaver[int]):
    """LangGraph checkpointer: one pathway-memory named log per thread.

    ``PathwaySaver(directory, serde=None, **open_kwargs)`` or
    ``PathwaySaver.open(directory, **open_kwargs)`` (``Memory.open``'s
    keyword arguments, e.g. ``wasm=``, ``quota=``); or
    ``PathwaySaver(memory=existing_memory)``.
    """

    def __init__(self, directory: Any = None, *, memory: Optional[Memory] = None,
                 serde: Optional[SerializerProtocol] = None, **open_kwargs: Any) -> None:
        super().__init__(serde=serde)
        if memory is None:
            if directory is None:
                raise TypeError("PathwaySaver needs a directory or memory=")
            memory = Memory.open(directory, **open_kwargs)
        elif directory is not None or open_kwargs:
            raise TypeError("pass either a directory (and Memory.open options) or memory=")
        self.memory = memory
        self._lock = threading.RLock()

    @classmethod
    def open(cls, directory: Any, *, serde: Optional[SerializerProtocol] = None,
             **open_kwargs: Any) -> "PathwaySaver":
        return cls(directory, serde=serde, **open_kwargs)

    def close(self) -> None:
        self.memory.close()

    def __enter__(self) -> "PathwaySaver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "PathwaySaver":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    # -- reading ---------------------------------------------------------

    def _read(self, thread_id: str) -> _Thread:
        log = self.memory.log(str(thread_id))  # InvalidName for a bad id
        thread = _Thread()
        cursor = None
        while True:
            page = log.replay_page(cursor)
            for entry in page.entries:
                if isinstance(entry, Err):
                    d = entry.error
                    raise CorruptThread(
                        f"thread {thread_id!r}: line {d.line} of its log is damaged "
                        f"({d.problem}: {d.message}); no checkpoint of it was read. "
                        f"Check or repair it with memory.log({thread_id!r}).repair()")
                try:
                    thread.add(json.loads(entry.value))
                except (ValueError, KeyError, TypeError, IndexError) as e:
                    raise CorruptThread(
                        f"thread {thread_id!r}: its log holds an event that is not a "
                        f"checkpoint or writes of this saver ({e}): {entry.value[:200]!r}"
                    ) from None
                thread.events += 1
            thread.upto = cursor = page.next
            if page.at_end:
                return thread

    def _tuple(self, thread_id: str, ns: str, ev: dict, thread: _Thread) -> CheckpointTuple:
        checkpoint = self.serde.loads_typed(_dec(ev["cp"]))
        metadata = self.serde.loads_typed(_dec(ev["md"]))
        writes = thread.ordered_writes(ns, ev["id"])
        parent = ev.get("parent")
        return CheckpointTuple(
            config={"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                     "checkpoint_id": ev["id"]}},
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=({"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                             "checkpoint_id": parent}} if parent else None),
            pending_writes=[(task, channel, self.serde.loads_typed(_dec(typed)))
                            for task, channel, typed, _ in writes],
        )

    def get_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        with self._lock:
            thread = self._read(thread_id)
        cps = thread.cps.get(ns, {})
        cid = get_checkpoint_id(config)
        if cid:
            ev = cps.get(cid)
        else:
            ev = cps[max(cps)] if cps else None
        if ev is None:
            return None
        return self._tuple(thread_id, ns, ev, thread)

    def _thread_ids(self) -> List[str]:
        return [info.name for info in self.memory.logs()]

    def list(self, config: Optional[RunnableConfig], *, filter: Optional[Dict[str, Any]] = None,
             before: Optional[RunnableConfig] = None,
             limit: Optional[int] = None) -> Iterator[CheckpointTuple]:
        with self._lock:
            if config:
                thread_ids = [str(config["configurable"]["thread_id"])]
            else:
                thread_ids = self._thread_ids()
        ns_want = config["configurable"].get("checkpoint_ns") if config else None
        cid_want = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        for thread_id in thread_ids:
            with self._lock:
                thread = self._read(thread_id)
            rows = [(cid, ns, ev) for ns, cps in thread.cps.items()
                    if ns_want is None or ns == ns_want for cid, ev in cps.items()]
            rows.sort(key=lambda r: r[0], reverse=True)
            for cid, ns, ev in rows:
                if cid_want and cid != cid_want:
                    continue
                if before_id and cid >= before_id:
                    continue
                tup = self._tuple(thread_id, ns, ev, thread)
                if filter and not all(tup.metadata.get(k) == v for k, v in filter.items()):
                    continue
                if limit is not None:
                    if limit <= 0:
                        return
                    limit -= 1
                yield tup

    # -- writing ---------------------------------------------------------

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        md = get_checkpoint_metadata(config, metadata)
        run = md.get("run_id")
        event = {
            "k": "cp", "ns": ns, "id": checkpoint["id"],
            "parent": config["configurable"].get("checkpoint_id"),
            "run": run if isinstance(run, str) else None,
            "cp": _dumps(self.serde, checkpoint, f"checkpoint {checkpoint['id']!r}", thread_id),
            "md": _dumps(self.serde, md, f"the metadata of checkpoint {checkpoint['id']!r}",
                         thread_id),
        }
        line = json.dumps(event, separators=(",", ":"))
        with self._lock:
            self.memory.log(thread_id).try_append(line)
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                 "checkpoint_id": checkpoint["id"]}}

    def put_writes(self, config: RunnableConfig, writes: Sequence[Tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        if not writes:
            return
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        cid = config["configurable"]["checkpoint_id"]
        rows = []
        for idx, (channel, value) in enumerate(writes):
            kind, data = _dumps(self.serde, value, f"the write to channel {channel!r} of task "
                                f"{task_id!r}", thread_id)
            rows.append([WRITES_IDX_MAP.get(channel, idx), channel, kind, data])
        event = {"k": "w", "ns": ns, "cp": cid, "task": task_id, "path": task_path, "w": rows}
        line = json.dumps(event, separators=(",", ":"))
        with self._lock:
            self.memory.log(thread_id).try_append(line)  # one event: all or nothing

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self.memory.log(str(thread_id))  # InvalidName for a bad id
            try:
                self.memory.delete_log(str(thread_id))
            except NoLog:
                pass

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Forks the log: events name no thread, so the copy is the thread.
        A missing source copies nothing; an existing target raises
        ``LogExists`` (nothing changed)."""
        with self._lock:
            try:
                self.memory.fork_log(str(source_thread_id), str(target_thread_id))
            except NoLog:
                self.memory.log(str(target_thread_id))  # still check the target's name

    def _rewrite(self, thread_id: str, keep) -> None:
        """Replaces the thread's events by those ``keep(thread)`` returns (the
        events read, as dicts; ``None``: leave it) with ``compact`` up to the
        end read: crash-safe, and events appended meanwhile are kept."""
        with self._lock:
            thread = self._read(thread_id)
            if thread.upto is None or thread.events == 0:
                return
            events = keep(thread)
            if events is None:
                return
            self.memory.log(thread_id).compact(
                [json.dumps(e, separators=(",", ":")) for e in events], thread.upto)

    @staticmethod
    def _events(thread: _Thread, kept: Dict[str, List[str]]) -> List[dict]:
        """The cp and writes events of the kept checkpoints (ns -> ids), oldest first."""
        out: List[dict] = []
        for ns, ids in kept.items():
            for cid in sorted(ids):
                out.append(thread.cps[ns][cid])
                stored = thread.writes.get((ns, cid), {})
                by_task: Dict[Tuple[str, str], List[list]] = {}
                for (task, idx), (_, channel, typed, path) in stored.items():
                    by_task.setdefault((task, path), []).append([idx, channel, *typed])
                for (task, path), rows in by_task.items():
                    out.append({"k": "w", "ns": ns, "cp": cid, "task": task, "path": path,
                                "w": rows})
        return out

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(run_ids)
        if not runs:
            return
        with self._lock:
            for thread_id in self._thread_ids():
                def keep(thread: _Thread) -> Optional[List[dict]]:
                    kept = {ns: [cid for cid, ev in cps.items() if ev.get("run") not in runs]
                            for ns, cps in thread.cps.items()}
                    if sum(map(len, kept.values())) == sum(map(len, thread.cps.values())):
                        return None  # nothing of these runs here
                    return self._events(thread, kept)
                self._rewrite(thread_id, keep)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue

            def keep(thread: _Thread) -> List[dict]:
                return self._events(thread, {ns: [max(cps)] for ns, cps in thread.cps.items()
                                             if cps})
            self._rewrite(str(thread_id), keep)

    # -- async: the sync methods --------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        return self.get_tuple(config)

    async def alist(self, config: Optional[RunnableConfig], *,
                    filter: Optional[Dict[str, Any]] = None,
                    before: Optional[RunnableConfig] = None,
                    limit: Optional[int] = None) -> AsyncIterator[CheckpointTuple]:
        for tup in self.list(config, filter=filter, before=before, limit=limit):
            yield tup

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[Tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.prune(thread_ids, strategy=strategy)
