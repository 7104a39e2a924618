"""The Python line of ``pathway bench-hosts``: one JSON object on stdout.

    python bench.py WASM DIR EVENTS [NATS_URL]

DIR is an empty directory to use. Measures, through
:class:`pathway_memory.Memory`: ``instantiate_ms`` (median of 20 opens of a
fresh log, after one that compiles the component), ``append_per_s`` (EVENTS
one-event ``try_append`` calls of a ~100-byte event), ``batch_per_s``
(EVENTS events in ``append_batch`` calls of 100) and ``replay_mb_per_s``
(typed whole-log replay of the log those appends made: file bytes /
seconds, best of 3). ``storage`` is ``"directory"``.

With NATS_URL, the same workloads run on a log in a NATS JetStream stream
at that server (DIR is not used): a fresh stream ``pathway-bench-python-<pid>``
created with 1 replica, deleted at the end (also when the bench fails).
``storage`` is ``"nats"``; ``instantiate_ms`` is the median of 20 opens of
that stream log while it is still empty (see :func:`bench_nats`); the
replay's bytes are what the directory log's file would hold: each replayed
record's bytes plus 1 (its newline).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from importlib.metadata import version
from typing import Any, Callable, Dict, List

from pathway_memory import Memory, Ok

EVENT_BYTES = 100
BATCH = 100
OPENS = 20


def event(i: int) -> str:
    """``{"i":N,"pad":"..."}``, padded to about EVENT_BYTES."""
    bare = '{"i":%d,"pad":""}' % i
    return '{"i":%d,"pad":"%s"}' % (i, "x" * max(0, EVENT_BYTES - len(bare)))


def workloads(memory: Memory, events: int, replayed_bytes: Callable[[List[Any]], int]
              ) -> Dict[str, float]:
    """The three timed workloads on ``memory``, an empty log:
    ``append_per_s``, ``batch_per_s`` and ``replay_mb_per_s``, whose bytes
    are ``replayed_bytes(entries)`` of the first replay."""
    texts = [event(i) for i in range(events)]

    started = time.perf_counter()
    for text in texts:
        memory.try_append(text)
    append_per_s = events / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(0, events, BATCH):
        memory.append_batch(texts[i:i + BATCH])
    batch_per_s = events / (time.perf_counter() - started)

    size = None
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        entries = memory.replay()
        best = min(best, time.perf_counter() - started)
        if len(entries) != 2 * events:
            raise SystemExit(f"replay gave {len(entries)} entries, expected {2 * events}")
        if size is None:
            size = replayed_bytes(entries)
    assert size is not None
    return {
        "append_per_s": append_per_s,
        "batch_per_s": batch_per_s,
        "replay_mb_per_s": size / best / 1e6,
    }


def bench_directory(wasm: str, directory: str, events: int) -> Dict[str, Any]:
    opens: List[float] = []
    for i in range(OPENS + 1):
        fresh = os.path.join(directory, f"open-{i}")
        os.mkdir(fresh)
        started = time.perf_counter()
        Memory.open(fresh, wasm=wasm).close()
        if i > 0:  # the first also compiles the component
            opens.append((time.perf_counter() - started) * 1000)

    log_dir = os.path.join(directory, "log")
    os.mkdir(log_dir)
    memory = Memory.open(log_dir, wasm=wasm)
    try:
        measured = workloads(memory, events, lambda _: os.path.getsize(memory.log_path))
    finally:
        memory.close()
    return {
        "host": "python",
        "runtime": f"wasmtime-py {version('wasmtime')}",
        "instantiate_ms": statistics.median(opens),
        **measured,
        "storage": "directory",
    }


def record_bytes(entries: List[Any]) -> int:
    """Bytes of a directory log holding these records: each line + its newline."""
    total = 0
    for entry in entries:
        if not isinstance(entry, Ok):
            raise SystemExit(f"replay gave a damaged entry: {entry!r}")
        total += len(entry.value.encode()) + 1
    return total


def _servers(url: str) -> List[str]:
    return [u.strip() for u in url.split(",") if u.strip()]


async def _connect(url: str) -> Any:
    """A nats-py connection of the bench's own, failing within seconds when
    no server answers (nats-py's default tries each server 60 times, 2 s
    apart)."""
    import nats

    async def quiet(e: Exception) -> None:  # the failure is raised, not logged
        pass

    return await nats.connect(servers=_servers(url), connect_timeout=2, allow_reconnect=False,
                              max_reconnect_attempts=1, reconnect_time_wait=0.5,
                              error_cb=quiet, name="pathway-memory bench")


async def _stream_exists(url: str, stream: str) -> bool:
    from nats.js.errors import NotFoundError

    nc = await _connect(url)
    try:
        try:
            await nc.jetstream(timeout=5).stream_info(stream)
        except NotFoundError:
            return False
        return True
    finally:
        await nc.close()


async def _delete_stream(url: str, stream: str) -> bool:
    """Deletes ``stream``; False when it did not exist."""
    from nats.js.errors import NotFoundError

    nc = await _connect(url)
    try:
        try:
            return bool(await nc.jetstream(timeout=10).delete_stream(stream))
        except NotFoundError:
            return False
    finally:
        await nc.close()


def bench_nats(wasm: str, url: str, events: int) -> Dict[str, Any]:
    stream = f"pathway-bench-python-{os.getpid()}"
    # Checked with nats-py first: a server that does not answer fails here
    # at once (Memory.open would retry for 30 s), and a stream of that name
    # left by another run is not ours to append to or delete.
    try:
        exists = asyncio.run(_stream_exists(url, stream))
    except Exception as e:
        raise SystemExit(f"no NATS server with JetStream answers at {url}: {e!r}") from None
    if exists:
        raise SystemExit(f"the stream {stream} already exists at {url}: not benchmarking on it "
                         "(delete it, or run again: the name carries the process id)")
    failed = True
    try:
        def open_log() -> Memory:
            return Memory.open(nats=url, stream=stream, replicas=1, wasm=wasm)

        # The first open compiles the stream build and creates the stream.
        open_log().close()
        # instantiate_ms: the median of 20 opens of that stream log, still
        # empty (a fresh log, as the directory's). It is meaningful, but not
        # the directory's figure: each open is a new NATS connection (TCP
        # and the INFO/CONNECT handshake, nats-py's event loop thread) and a
        # STREAM.INFO request, besides the instance. Only the open is timed:
        # close() drains the connection and joins that thread, which is no
        # part of opening a log (a directory log's close is negligible).
        opens: List[float] = []
        for _ in range(OPENS):
            started = time.perf_counter()
            memory = open_log()
            opens.append((time.perf_counter() - started) * 1000)
            memory.close()

        memory = open_log()
        try:
            measured = workloads(memory, events, record_bytes)
        finally:
            memory.close()
        failed = False
    finally:
        try:
            deleted = asyncio.run(_delete_stream(url, stream))
        except Exception as e:
            if not failed:
                raise SystemExit(f"could not delete the stream {stream} at {url}: {e!r}")
            print(f"bench.py: could not delete the stream {stream} at {url}: {e!r}",
                  file=sys.stderr)
        else:
            if not deleted and not failed:
                raise SystemExit(f"the stream {stream} was gone before the bench deleted it")
    return {
        "host": "python",
        "runtime": f"wasmtime-py {version('wasmtime')} / nats-py {version('nats-py')}",
        "instantiate_ms": statistics.median(opens),
        **measured,
        "storage": "nats",
    }


def main(argv: List[str]) -> int:
    if (len(argv) not in (4, 5) or not argv[3].isdigit() or int(argv[3]) <= 0
            or (len(argv) == 5 and not argv[4].strip())):
        print(f"usage: {argv[0]} WASM DIR EVENTS [NATS_URL]", file=sys.stderr)
        return 2
    wasm, directory, events = argv[1], argv[2], int(argv[3])
    if len(argv) == 5:
        line = bench_nats(wasm, argv[4], events)
    else:
        line = bench_directory(wasm, directory, events)
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
