"""Tests of named logs (``Memory.log(name)``, ``Memory.open(log=...)``),
``last``, ``end_cursor``, the listing of a grant's logs (``logs``,
``logs_page``), ``fork_log`` and ``delete_log`` through the real component
(wasmtime-py).

The component comes from $PATHWAY_WASM (run-tests.sh sets it). Every test
uses its own tmp_path. Messages are the component's own words: this host
adds none.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from pathway_memory import (OPEN_HANDLES, DamagedLine, Deleted, Err, InvalidConfig, InvalidCursor,
                            InvalidName, LogError, LogExists, LogInfo, LogList, Memory, NamedLog,
                            NoLog, Ok, PathwayError, Recent, StaleCursor, Trap)

OpenMemory = Callable[..., Memory]


@pytest.fixture(scope="session")
def wasm() -> str:
    path = os.environ.get("PATHWAY_WASM")
    if not path or not os.path.isfile(path):
        pytest.fail(f"set PATHWAY_WASM to the built component (got {path!r})", pytrace=False)
    return path


@pytest.fixture
def open_memory(wasm: str) -> Iterator[OpenMemory]:
    opened: List[Memory] = []

    def open_(directory: Path, **kwargs: Any) -> Memory:
        memory = Memory.open(directory, wasm=wasm, **kwargs)
        opened.append(memory)
        return memory

    yield open_
    for memory in opened:
        memory.close()


def walk_end(log: Any) -> str:
    """The ``next`` of the last page of a page walk (a cursor ``compact`` takes)."""
    cursor = None
    while True:
        page = log.replay_page(cursor, 1 << 20)
        if page.at_end:
            return str(page.next)
        cursor = page.next


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- named logs are files of their own ------------------------------------------


def test_named_logs_are_separate_files_and_logs_lists_them_in_name_order(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    b = memory.log("b")
    a = memory.log("a")
    assert isinstance(a, NamedLog) and (a.name, b.name) == ("a", "b")
    # Opening creates nothing: a log that was never appended to reads as empty.
    assert os.listdir(tmp_path) == []
    assert (a.replay(), a.last(5).entries, memory.logs()) == ([], [], [])

    b.append_batch(["1", "2"])
    a.try_append('{"x":1}')
    memory.try_append('{"default":true}')
    memory.log("thread-42").append_batch(['{"t":42}'])
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "b.jsonl", "pathway.jsonl",
                                            "thread-42.jsonl"]
    assert (tmp_path / "a.jsonl").read_bytes() == b'{"x":1}\n'
    assert (tmp_path / "b.jsonl").read_bytes() == b"1\n2\n"
    assert (tmp_path / "pathway.jsonl").read_bytes() == b'{"default":true}\n'
    # Each log replays only its own records.
    assert a.replay() == [Ok('{"x":1}')]
    assert b.replay() == [Ok("1"), Ok("2")]
    assert memory.replay() == [Ok('{"default":true}')]
    # A second handle on the same name is the same log.
    memory.log("a").try_append('{"x":2}')
    assert a.replay() == [Ok('{"x":1}'), Ok('{"x":2}')]

    listed = [LogInfo("a", 16), LogInfo("b", 4), LogInfo("pathway", 17), LogInfo("thread-42", 9)]
    assert memory.logs() == listed

    # Side files (a compaction's checksum and `.moved` record, a repair's
    # quarantine, a leftover lock or compaction file) and other files are
    # never listed.
    with open(tmp_path / "b.jsonl", "ab") as f:
        f.write(b"not json\n")
    b.repair()
    a.compact(['{"x":"both"}'], walk_end(a))
    for name in ("a.jsonl.lock", "b.jsonl.compact.12345", "notes.txt", "c.json", ".hidden.jsonl",
                 "d.jsonl.bak"):
        (tmp_path / name).write_bytes(b"1\n")
    (tmp_path / "e.jsonl").mkdir()
    files = sorted(os.listdir(tmp_path))
    assert "a.jsonl.sha256" in files and "a.jsonl.moved" in files and "b.jsonl.quarantine" in files
    assert [log.name for log in memory.logs()] == ["a", "b", "pathway", "thread-42"]
    assert memory.logs()[0] == LogInfo("a", len(b'{"x":"both"}\n'))


def test_logs_page_walks_one_log_at_a_time(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    for name in ("c", "a", "b"):
        memory.log(name).try_append("1")
    pages: List[LogList] = []
    after = None
    while True:
        page = memory.logs_page(after, 1)
        pages.append(page)
        assert len(page.logs) == 1
        if page.next is None:
            break
        assert page.next == page.logs[-1].name
        after = page.next
    assert [p.logs[0].name for p in pages] == ["a", "b", "c"]
    assert memory.logs_page("a", 10) == LogList([LogInfo("b", 2), LogInfo("c", 2)], None)
    assert memory.logs_page("c", 10) == LogList([], None)
    assert memory.logs_page(None, 2) == LogList([LogInfo("a", 2), LogInfo("b", 2)], "b")
    # Names that come between others, or before all, are fine as `after`.
    assert memory.logs_page("aa", 1).logs == [LogInfo("b", 2)]
    assert memory.logs_page("", 1).logs == [LogInfo("a", 2)]
    with pytest.raises(ValueError):
        memory.logs_page(None, -1)
    with pytest.raises(TypeError):
        memory.logs_page(b"a", 1)  # type: ignore[arg-type]


def test_logs_concatenates_pages_of_a_thousand(tmp_path: Path, open_memory: OpenMemory) -> None:
    names = [f"n{i:04}" for i in range(1001)]
    for name in names:
        (tmp_path / f"{name}.jsonl").write_bytes(b"")
    memory = open_memory(tmp_path)
    first = memory.logs_page(None, 1000)
    assert (len(first.logs), first.next) == (1000, "n0999")
    assert memory.logs() == [LogInfo(name, 0) for name in names]


def test_a_bad_name_raises_invalid_name_and_creates_nothing(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    for bad in ["", "a/b", ".x", "x.jsonl", "a\\b", "a\nb", "x" * 201, "..", "a.jsonl.b"]:
        with pytest.raises(InvalidName) as refused:
            memory.log(bad)
        error = refused.value
        assert isinstance(error, LogError)
        assert (error.cause, error.details) == ("invalid-name", None)
        assert str(error) == error.message != ""
        assert os.listdir(tmp_path) == []
    assert "path separator" in str(pytest.raises(InvalidName, memory.log, "a/b").value)
    with pytest.raises(TypeError):
        memory.log(None)  # type: ignore[arg-type]
    # The Memory and good names go on working; nothing was created for the bad ones.
    memory.log("x" * 200).try_append("1")
    memory.log("ok.json").try_append("2")
    assert sorted(os.listdir(tmp_path)) == ["ok.json.jsonl", "x" * 200 + ".jsonl"]
    assert memory.replay() == []


# -- last and the end cursor ------------------------------------------------------


def damaged_as_last_sees_it(entry: Any) -> Any:
    """What ``last`` gives for a replayed entry: a damaged line without its
    line number (it counts no lines), the rest the same."""
    if isinstance(entry, Err):
        return (0, entry.error.offset, entry.error.length, entry.error.torn, entry.error.problem,
                entry.error.reason)
    return entry


def lifted(entries: List[Any]) -> List[Any]:
    out = []
    for entry in entries:
        if isinstance(entry, Err):
            d: DamagedLine = entry.error
            assert f"at byte offset {d.offset}" in d.message
            out.append((d.line, d.offset, d.length, d.torn, d.problem, d.reason))
        else:
            out.append(entry)
    return out


@pytest.mark.parametrize("data", [
    b'{"n":1}\nnot json\n{"n":2}\n\xff\xfe\n{"n":3',  # damaged lines and a torn tail
    b'{"n":1}\n{"n":2}\n{"n":3}',                     # an unterminated record
    b'{"n":1}\n\n{"n":2}\n',                          # a blank line (not an entry)
    b"",
])
def test_last_is_the_end_of_replay(tmp_path: Path, open_memory: OpenMemory, data: bytes) -> None:
    (tmp_path / "pathway.jsonl").write_bytes(data)
    (tmp_path / "a.jsonl").write_bytes(data)
    memory = open_memory(tmp_path)
    for log in (memory, memory.log("a")):
        replayed = log.replay()
        for count in range(len(replayed) + 3):
            recent = log.last(count)
            assert isinstance(recent, Recent)
            tail = replayed[max(0, len(replayed) - count):] if count else []
            assert lifted(recent.entries) == [damaged_as_last_sees_it(e) for e in tail]
        assert log.last(1000).next == log.end_cursor() == log.last(0).next
    with pytest.raises(ValueError):
        memory.last(-1)
    with pytest.raises(ValueError):
        memory.log("a").last(1 << 32)


def test_the_end_cursor_reads_exactly_what_is_appended_after_it(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    for log in (memory, memory.log("a")):
        log.append_batch([f'{{"n":{i}}}' for i in range(100)])
        cursor = log.end_cursor()
        page = log.replay_page(cursor, 1 << 20)
        assert (page.entries, page.tail, page.at_end) == ([], None, True)
        log.append_batch(['{"later":1}', '{"later":2}'])
        log.try_append('{"later":3}')
        assert log.replay_page(cursor, 1 << 20).entries == [
            Ok('{"later":1}'), Ok('{"later":2}'), Ok('{"later":3}')]
    # Before an unterminated last line: the line comes as the tail, unconsumed.
    (tmp_path / "b.jsonl").write_bytes(b'{"n":1}\n{"n":2}')
    b = memory.log("b")
    page = b.replay_page(b.end_cursor(), 1 << 20)
    assert (page.entries, page.tail, page.at_end) == ([], Ok('{"n":2}'), True)


def test_compact_refuses_the_cursor_of_last_with_stale_cursor(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    a = memory.log("a")
    a.append_batch(['{"n":1}', '{"n":2}'])
    before = (tmp_path / "a.jsonl").read_bytes()
    for cursor in (a.end_cursor(), a.last(1).next):
        with pytest.raises(StaleCursor) as refused:
            a.compact(['{"sum":3}'], cursor)
        assert refused.value.cause == "stale-cursor"
    memory.try_append("1")
    with pytest.raises(StaleCursor):
        memory.compact(["{}"], memory.end_cursor())
    assert (tmp_path / "a.jsonl").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "pathway.jsonl"]
    # A page walk's cursor compacts; the checksum and the record of where
    # the kept bytes went (`.moved`) are the named log's own.
    upto = walk_end(a)
    report = a.compact(['{"sum":3}'], upto)
    assert (report.snapshot_records, report.kept_bytes) == (1, 0)
    assert (tmp_path / "a.jsonl").read_bytes() == b'{"sum":3}\n'
    assert a.check().checksum.state == "verified"
    assert memory.check().checksum.state == "none"
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "a.jsonl.moved", "a.jsonl.sha256",
                                            "pathway.jsonl"]
    # Its cursor reads on in the new log (what is appended after it, not
    # the snapshot), but does not compact again: a moved cursor is refused
    # like `last`'s.
    a.try_append('{"n":3}')
    assert a.replay_page(upto, 1 << 20).entries == [Ok('{"n":3}')]
    with pytest.raises(StaleCursor):
        a.compact(['{"sum":6}'], upto)
    assert a.compact(['{"sum":6}'], walk_end(a)).snapshot_records == 1
    assert a.replay() == [Ok('{"sum":6}')]


def test_a_named_log_has_every_function_of_the_default_log(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    a = memory.log("a")
    a.try_append("1")
    a.sync()
    with open(tmp_path / "a.jsonl", "ab") as f:
        f.write(b"garbage\n")
    report = a.check()
    assert (report.bytes, report.records, [d.line for d in report.damaged]) == (10, 1, [2])
    repaired = a.repair()
    assert (repaired.quarantine, repaired.bytes_before, repaired.bytes_after) == (
        "a.jsonl.quarantine", 10, 2)
    assert a.replay() == [Ok("1")]
    # Refusals are the default log's, in the same words.
    for append in (a.try_append, memory.try_append):
        with pytest.raises(LogError) as refused:
            append("{")
        assert refused.value.cause == "invalid-json"
    with pytest.raises(LogError) as batch:
        a.append_batch(["1", "{"])
    assert (batch.value.cause, batch.value.details.index) == ("invalid-json", 1)
    with pytest.raises(LogError) as cursor:
        a.replay_page("garbage", 10)
    assert cursor.value.cause == "invalid-cursor"
    assert a.replay() == [Ok("1")]
    assert repr(a) == "NamedLog('a')"


# -- handles ---------------------------------------------------------------------


def test_a_named_log_keeps_working_after_a_trap(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, max_guest_memory=8 << 20)
    a = memory.log("a")
    a.try_append("1")
    before = memory._handles["a"]
    # `append` of invalid JSON traps: the instance is replaced, its handles forgotten.
    with pytest.raises(Trap):
        memory.append("{")
    assert memory._handles == {} and before.address == 0
    a.try_append("2")
    assert a.replay() == [Ok("1"), Ok("2")]
    # A trap inside a named log's own call (guest memory past its cap).
    with pytest.raises(Trap) as trapped:
        a.append_batch(['"' + "x" * (1 << 20) + '"'] * 8)
    assert trapped.value.timed_out is False
    assert memory._handles == {}
    assert a.replay() == [Ok("1"), Ok("2")]
    a.try_append("3")
    memory.try_append('"default"')
    assert (tmp_path / "a.jsonl").read_bytes() == b"1\n2\n3\n"
    assert memory.replay() == [Ok('"default"')]


def test_handles_are_cached_per_name_and_at_most_256_stay_open(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    first = memory.log("l000")
    first.try_append("0")
    handle = memory._handles["l000"]
    memory.log("l000").try_append("1")
    assert memory._handles["l000"] is handle  # opened once
    baseline = fds()
    for i in range(1, 300):
        memory.log(f"l{i:03}").try_append(str(i))
        assert len(memory._handles) <= OPEN_HANDLES
    assert OPEN_HANDLES == 256
    assert len(memory._handles) == 300 - 256
    # The dropped handles closed their files (each open one holds its file).
    assert fds() - baseline < 100
    # A log whose handle was dropped opens again when it is used.
    assert handle.address == 0 and "l000" not in memory._handles
    first.try_append("2")
    assert first.replay() == [Ok("0"), Ok("1"), Ok("2")]
    assert len(memory.logs()) == 300
    memory.close()
    assert memory._handles == {}
    with pytest.raises(PathwayError, match="closed"):
        first.try_append("3")
    with pytest.raises(PathwayError, match="closed"):
        memory.log("l001")


# -- fork and delete ---------------------------------------------------------------


def test_fork_copies_a_log_at_its_end_or_at_a_cursor_and_the_copies_go_their_own_ways(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    a = memory.log("a")
    a.append_batch(['{"n":1}', '{"n":2}', '{"n":3}'])
    whole = (tmp_path / "a.jsonl").read_bytes()

    # At the end (no cursor): the whole log, bytes copied returned.
    assert memory.fork_log("a", "b") == len(whole)
    assert (tmp_path / "b.jsonl").read_bytes() == whole
    b = memory.log("b")
    assert b.replay() == a.replay()

    # At a cursor of a page walk of the source: what comes before it.
    first = a.replay_page(None, 1)
    assert first.entries == [Ok('{"n":1}')] and not first.at_end
    assert memory.fork_log("a", "c", first.next) == len(b'{"n":1}\n')
    assert memory.log("c").replay() == [Ok('{"n":1}')]
    # The end cursor forks everything, as no cursor does.
    assert memory.fork_log("a", "d", a.end_cursor()) == len(whole)
    assert (tmp_path / "d.jsonl").read_bytes() == whole

    # Appends to either log never show in the other.
    a.try_append('{"a":4}')
    b.try_append('{"b":4}')
    assert a.replay()[3:] == [Ok('{"a":4}')]
    assert b.replay()[3:] == [Ok('{"b":4}')]
    memory.log("c").try_append('{"c":2}')
    assert memory.log("c").replay() == [Ok('{"n":1}'), Ok('{"c":2}')]
    assert (tmp_path / "a.jsonl").read_bytes() == whole + b'{"a":4}\n'
    assert [log.name for log in memory.logs()] == ["a", "b", "c", "d"]

    # The default log forks by its name too.
    memory.try_append('"default"')
    assert memory.fork_log("pathway", "e") == len(b'"default"\n')
    assert memory.log("e").replay() == [Ok('"default"')]


def test_fork_refusals_change_nothing(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    a, b = memory.log("a"), memory.log("b")
    a.append_batch(["1", "2"])
    b.try_append('"b"')
    memory.try_append('"default"')
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def unchanged() -> None:
        assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before

    # Onto an existing log: log-exists, and the target keeps its bytes.
    with pytest.raises(LogExists) as exists:
        memory.fork_log("a", "b")
    assert (exists.value.cause, exists.value.details) == ("log-exists", None)
    assert isinstance(exists.value, LogError) and '"b"' in str(exists.value)
    with pytest.raises(LogExists):
        memory.fork_log("a", "a")
    unchanged()
    # From a log that does not exist: no-log, and nothing is created.
    with pytest.raises(NoLog) as missing:
        memory.fork_log("missing", "copy")
    assert missing.value.cause == "no-log"
    unchanged()
    # A cursor of another log: stale-cursor; not a cursor at all: invalid-cursor.
    # (A cursor of a log that is missing or empty is the start of any log.)
    for cursor in (b.end_cursor(), b.replay_page(None, 1 << 20).next, memory.end_cursor(),
                   memory.replay_page(None, 1 << 20).next):
        with pytest.raises(StaleCursor) as stale:
            memory.fork_log("a", "copy", cursor)
        assert stale.value.cause == "stale-cursor"
    with pytest.raises(InvalidCursor):
        memory.fork_log("a", "copy", "garbage")
    # Bad names, either side.
    for source, target in (("a/b", "copy"), ("a", ".copy"), ("a", "x.jsonl"), ("", "copy")):
        with pytest.raises(InvalidName):
            memory.fork_log(source, target)
    unchanged()
    assert [log.name for log in memory.logs()] == ["a", "b", "pathway"]
    with pytest.raises(TypeError):
        memory.fork_log("a", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        memory.fork_log("a", "copy", 7)  # type: ignore[arg-type]
    unchanged()


def test_delete_removes_the_log_and_its_side_files(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    a, b = memory.log("a"), memory.log("b")
    a.append_batch(["1", "2"])
    with open(tmp_path / "a.jsonl", "ab") as f:
        f.write(b"garbage\n")
    a.repair()
    a.compact(['{"sum":3}'], walk_end(a))
    b.try_append('"b"')
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "a.jsonl.moved", "a.jsonl.quarantine",
                                            "a.jsonl.sha256", "b.jsonl"]
    size = len((tmp_path / "a.jsonl").read_bytes())

    assert memory.delete_log("a") == size
    assert sorted(os.listdir(tmp_path)) == ["b.jsonl"]
    assert memory.logs() == [LogInfo("b", 4)]
    # Deleting it again: no-log, nothing changed.
    with pytest.raises(NoLog) as missing:
        memory.delete_log("a")
    assert (missing.value.cause, missing.value.details) == ("no-log", None)
    with pytest.raises(NoLog):
        memory.delete_log("never-was")
    for bad in ("", "a/b", ".b", "b.jsonl"):
        with pytest.raises(InvalidName):
            memory.delete_log(bad)
    with pytest.raises(TypeError):
        memory.delete_log(None)  # type: ignore[arg-type]
    assert sorted(os.listdir(tmp_path)) == ["b.jsonl"]
    assert b.replay() == [Ok('"b"')]

    # This Memory's handle on the deleted log was dropped: the same
    # NamedLog opens it afresh and its next append starts a new log.
    assert "a" not in memory._handles
    assert a.replay() == []
    a.try_append('"again"')
    assert (tmp_path / "a.jsonl").read_bytes() == b'"again"\n'
    assert [log.name for log in memory.logs()] == ["a", "b"]

    # The default log is deleted by its name.
    memory.try_append('"default"')
    assert memory.delete_log("pathway") == len(b'"default"\n')
    assert not (tmp_path / "pathway.jsonl").exists()
    assert memory.replay() == []


def test_an_appender_in_another_instance_gets_deleted_then_starts_a_new_log(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    deleter = open_memory(tmp_path)
    appender = open_memory(tmp_path)
    log = appender.log("a")
    log.append_batch(["1", "2"])
    assert deleter.delete_log("a") == 4
    assert os.listdir(tmp_path) == []

    # Its next append stores nothing and does not create the deleted log again.
    with pytest.raises(Deleted) as deleted:
        log.try_append("3")
    error = deleted.value
    assert isinstance(error, LogError)
    assert (error.cause, error.details) == ("deleted", None)
    assert str(error) == error.message and "a.jsonl" in str(error)
    assert os.listdir(tmp_path) == []
    assert deleter.logs() == []
    # The one after starts a new log of that name, with that one record.
    log.try_append("4")
    assert (tmp_path / "a.jsonl").read_bytes() == b"4\n"
    assert log.replay() == deleter.log("a").replay() == [Ok("4")]

    # A batch is refused whole, and the default log of another instance alike.
    log.append_batch(["5"])
    appender.try_append('"default"')
    deleter.delete_log("a")
    deleter.delete_log("pathway")
    with pytest.raises(Deleted):
        log.append_batch(["6", "7"])
    with pytest.raises(Deleted):
        appender.try_append('"lost"')
    assert os.listdir(tmp_path) == []
    log.append_batch(["8", "9"])
    appender.try_append('"new"')
    assert (tmp_path / "a.jsonl").read_bytes() == b"8\n9\n"
    assert (tmp_path / "pathway.jsonl").read_bytes() == b'"new"\n'


def test_open_with_log_works_on_the_named_log(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, log="thread-7")
    assert memory.settings.log_name == "thread-7.jsonl"
    assert memory.log_path == str(tmp_path / "thread-7.jsonl")
    memory.append_batch(["1", "2"])
    memory.try_append("3")
    assert os.listdir(tmp_path) == ["thread-7.jsonl"]
    assert (tmp_path / "thread-7.jsonl").read_bytes() == b"1\n2\n3\n"
    assert memory.logs() == [LogInfo("thread-7", 6)]
    # The same log as `log(name)` gives, in this instance and in another.
    assert memory.log("thread-7").replay() == memory.replay() == [Ok("1"), Ok("2"), Ok("3")]
    assert open_memory(tmp_path).log("thread-7").last(1).entries == [Ok("3")]

    # A bad name fails the open with invalid-name; nothing is created.
    for bad in ("", "a/b", ".x", "x.jsonl", "x" * 201):
        with pytest.raises(InvalidName) as refused:
            open_memory(tmp_path, log=bad)
        assert refused.value.cause == "invalid-name"
    # With log_name too: invalid-config.
    with pytest.raises(InvalidConfig):
        open_memory(tmp_path, log="a", log_name="a.jsonl")
    with pytest.raises(TypeError):
        open_memory(tmp_path, log=7)
    with pytest.raises(ValueError):
        open_memory(tmp_path, log="a\0b")
    assert os.listdir(tmp_path) == ["thread-7.jsonl"]
