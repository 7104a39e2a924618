"""Tests of the Python host through the real component (wasmtime-py).

The component comes from $PATHWAY_WASM (run-tests.sh sets it). Every test
uses its own tmp_path; expected values follow the project README's rules.
Messages are the component's own words, compared whole: this host adds none.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from pathway_memory import (
    BATCH_IDLE,
    BATCH_MAX_WAIT,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    AccessDenied,
    Busy,
    CheckReport,
    Checksum,
    CompactReport,
    DamagedLine,
    DeepLine,
    Err,
    Integrity,
    IntegrityDetails,
    InvalidConfig,
    InvalidCursor,
    InvalidJson,
    InvalidJsonDetails,
    LinesError,
    LinesReport,
    LogError,
    Memory,
    MemoryCap,
    NotAFile,
    Ok,
    PathwayError,
    RepairReport,
    SetupError,
    Settings,
    StaleCursor,
    TooLarge,
    TooLargeDetails,
    Trap,
)

LOG = "pathway.jsonl"
OpenMemory = Callable[..., Memory]


@pytest.fixture(scope="session")
def wasm() -> str:
    path = os.environ.get("PATHWAY_WASM")
    if not path or not os.path.isfile(path):
        pytest.fail(f"set PATHWAY_WASM to the built component (got {path!r})", pytrace=False)
    return path


@pytest.fixture
def open_memory(wasm: str) -> OpenMemory:
    def open_(directory: Path, **kwargs: Any) -> Memory:
        return Memory.open(directory, wasm=wasm, **kwargs)

    return open_


def read(directory: Path, name: str = LOG) -> bytes:
    return (directory / name).read_bytes()


def walk_end(memory: Any) -> str:
    """The ``next`` of the last page of a page walk: a cursor ``compact``
    takes (``end_cursor()``, read backwards, binds no hash of the bytes
    before it, so ``compact`` refuses it)."""
    return list(memory.pages(None, 1 << 20))[-1].next


def write(directory: Path, data: bytes, name: str = LOG) -> None:
    (directory / name).write_bytes(data)


# -- rule 1: append and replay ------------------------------------------------


def test_append_then_replay_returns_the_records_in_order(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    memory.try_append('{"op":"remember","key":"user","value":"Ada"}')
    memory.append("[1,2,3]")
    memory.append_batch(['"a string is a record too"', "42", "null"])
    memory.try_append('{"text":"héllo ✓ 🙂"}')

    assert memory.replay() == [
        Ok('{"op":"remember","key":"user","value":"Ada"}'),
        Ok("[1,2,3]"),
        Ok('"a string is a record too"'),
        Ok("42"),
        Ok("null"),
        Ok('{"text":"héllo ✓ 🙂"}'),
    ]
    assert read(tmp_path) == (
        '{"op":"remember","key":"user","value":"Ada"}\n[1,2,3]\n"a string is a record too"\n'
        '42\nnull\n{"text":"héllo ✓ 🙂"}\n'
    ).encode("utf-8")
    # A second instance (a restart) sees the same records.
    assert [e.json() for e in open_memory(tmp_path).replay() if isinstance(e, Ok)] == [
        {"op": "remember", "key": "user", "value": "Ada"},
        [1, 2, 3],
        "a string is a record too",
        42,
        None,
        {"text": "héllo ✓ 🙂"},
    ]


def test_a_record_above_the_write_permit_lands_whole_and_its_helper_files_are_gone(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    # Over wasmtime's one-write permit (64 KiB): stored through a hard link
    # (`<log>.big.link`) and one positional write.
    writer, other = open_memory(tmp_path), open_memory(tmp_path)
    expected: List[str] = []
    for n in range(3):
        big = json.dumps({"big": n, "pad": "x" * (200_000 + n)}, separators=(",", ":"))
        writer.try_append(big)
        other.try_append(f'{{"small":{n}}}')
        expected += [big, f'{{"small":{n}}}']
    assert other.replay() == [Ok(e) for e in expected]
    assert read(tmp_path) == "".join(f"{e}\n" for e in expected).encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOG]


def test_missing_log_replays_as_empty_and_creates_nothing(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    assert memory.replay() == []
    assert memory.check() == CheckReport(bytes=0, records=0, damaged=[], torn_tail=False, leftovers=[],
                                         too_deep=[], checksum=Checksum("none"), checksum_message="")
    assert os.listdir(tmp_path) == []


def test_open_reports_the_settings_the_component_read(tmp_path: Path, open_memory: OpenMemory) -> None:
    assert open_memory(tmp_path).settings == Settings(
        log_name="pathway.jsonl", max_line=1048576, max_depth=127, sync="never", quota=None,
        epoch_tick_ms=10
    )
    memory = open_memory(tmp_path, log_name="agent.jsonl", max_line=64, sync="interval:5",
                         max_depth=3)
    assert memory.settings == Settings(log_name="agent.jsonl", max_line=64, max_depth=3,
                                       sync="interval:5", quota=None, epoch_tick_ms=10)


def test_log_name_and_guest_path_are_honoured(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, log_name="agent.jsonl", guest_path="/")
    memory.try_append('{"a":1}')
    assert os.listdir(tmp_path) == ["agent.jsonl"]
    assert read(tmp_path, "agent.jsonl") == b'{"a":1}\n'
    assert memory.log_path == os.path.join(str(tmp_path), "agent.jsonl")


# -- rule 3: pretty JSON on one line -----------------------------------------


def test_pretty_json_is_stored_on_one_line(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    value = {"a": 1, "b": [1, 2], "s": "x y"}
    pretty = json.dumps(value, indent=2).replace("\n", "\r\n", 1)
    assert pretty.count("\n") == 7
    memory.try_append(pretty)

    stored = read(tmp_path)
    assert stored == b'{  "a": 1,  "b": [    1,    2  ],  "s": "x y"}\n'
    assert stored.count(b"\n") == 1 and b"\r" not in stored
    assert json.loads(stored) == value
    assert memory.replay() == [Ok('{  "a": 1,  "b": [    1,    2  ],  "s": "x y"}')]


# -- rule 2: refusals write nothing ------------------------------------------


def test_try_append_of_invalid_json_gives_invalid_json_and_leaves_the_file_unchanged(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    memory.append_batch(['{"n":1}', '{"n":2}'])
    before = read(tmp_path)

    with pytest.raises(InvalidJson) as refused:
        memory.try_append('{"op":"remember","key":"goal"')
    e = refused.value
    assert (e.cause, e.details) == (
        "invalid-json",
        InvalidJsonDetails(index=0, offset=29, reason="EOF while parsing an object"),
    )
    assert (e.index, e.offset, e.reason) == (0, 29, "EOF while parsing an object")
    assert str(e) == e.message == (
        "the event is not exactly one JSON value: EOF while parsing an object at byte offset 29; "
        "nothing was stored; fix the event and try again"
    )
    assert isinstance(e, LogError) and isinstance(e, PathwayError)
    assert read(tmp_path) == before
    # The instance is kept: the next append goes through.
    memory.try_append('{"n":3}')
    assert read(tmp_path) == before + b'{"n":3}\n'


@pytest.mark.parametrize(
    "event, offset, reason",
    [
        ("", 0, "EOF while parsing a value"),
        ('{"a":1} x', 8, "trailing characters"),
        ("1 2", 2, "trailing characters"),
        ("NaN", 0, "expected value"),
        ('"\\q"', 2, "invalid escape"),
        ('"a\tb"', 1, "control character (\\u0000-\\u001F) found while parsing a string"),
    ],
)
def test_each_kind_of_invalid_event_is_refused(
    tmp_path: Path, open_memory: OpenMemory, event: str, offset: int, reason: str
) -> None:
    memory = open_memory(tmp_path)
    memory.try_append("1")
    with pytest.raises(InvalidJson) as refused:
        memory.try_append(event)
    assert refused.value.details == InvalidJsonDetails(0, offset, reason)
    assert read(tmp_path) == b"1\n"


def test_too_large_and_batch_refusals_store_nothing(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, max_line=16)
    memory.try_append('{"k":"0123456"}')  # 15 bytes: fits
    with pytest.raises(TooLarge) as refused:
        memory.try_append('{"k":"012345678"}')
    assert (refused.value.cause, refused.value.details) == ("too-large", TooLargeDetails(0, 17, 16))
    assert str(refused.value) == (
        "the event is 17 bytes, over the line limit of 16 bytes (PATHWAY_MAX_LINE); nothing was "
        "stored; split the event, or raise the limit for every reader too"
    )
    with pytest.raises(InvalidJson) as refused_batch:
        memory.append_batch(["1", "2", "{", "4"])
    assert (refused_batch.value.index, refused_batch.value.offset) == (2, 1)
    assert str(refused_batch.value) == (
        "event 2 of the batch is not exactly one JSON value: EOF while parsing an object at byte "
        "offset 1; nothing was stored; fix the event and try again"
    )
    with pytest.raises(TooLarge) as too_large_batch:
        memory.append_batch(["1", '"' + "x" * 20 + '"'])
    assert (too_large_batch.value.index, too_large_batch.value.size) == (1, 22)
    assert read(tmp_path) == b'{"k":"0123456"}\n'


def test_max_depth_refuses_events_nested_deeper_and_stores_nothing(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path, max_depth=3)
    assert memory.settings.max_depth == 3
    memory.try_append("[[[1]]]")
    for call, index, offset in (
        (lambda: memory.try_append("[[[[1]]]]"), 0, 3),
        (lambda: memory.append_batch(["1", '{"a":[[{}]]}']), 1, 7),
    ):
        with pytest.raises(InvalidJson) as refused:
            call()
        assert refused.value.cause == "invalid-json"
        assert (refused.value.index, refused.value.offset) == (index, offset)
        assert "more than 3 levels deep" in refused.value.reason
        assert refused.value.reason in str(refused.value)
        assert "PATHWAY_MAX_DEPTH" in str(refused.value)
        assert read(tmp_path) == b"[[[1]]]\n"
    assert memory.replay() == [Ok("[[[1]]]")]
    # The component's default is 127 levels.
    plain = open_memory(tmp_path)
    assert plain.settings.max_depth == 127
    with pytest.raises(InvalidJson) as refused:
        plain.try_append("[" * 128 + "]" * 128)
    assert refused.value.offset == 127
    assert read(tmp_path) == b"[[[1]]]\n"
    with pytest.raises(TypeError):
        open_memory(tmp_path, max_depth="3")


def test_append_of_a_refused_event_traps_and_the_memory_stays_usable(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    memory.append('{"n":1}')
    with pytest.raises(Trap) as trapped:
        memory.append("not json")
    trap = trapped.value
    assert trap.timed_out is False
    assert trap.message.startswith("the component trapped: ")
    assert (
        "pathway append refused: the event is not exactly one JSON value: expected ident at "
        "byte offset 1; nothing was stored; fix the event and try again\n"
    ) in trap.stderr
    assert read(tmp_path) == b'{"n":1}\n'
    # A fresh instance was made: every function works again.
    memory.append('{"n":2}')
    assert memory.replay() == [Ok('{"n":1}'), Ok('{"n":2}')]


# -- lines as they arrive (append_lines) ------------------------------------------

#: Timers that never run out: batches are cut by count and bytes alone.
PATIENT = {"max_events": 2, "idle": 600.0, "max_wait": 600.0}


def wait_until(what: str, done: Callable[[], bool]) -> None:
    """Polls until ``done()``, for at most 30 s."""
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def log_now(directory: Path) -> bytes:
    path = directory / LOG
    return path.read_bytes() if path.exists() else b""


def test_the_batching_defaults_are_those_of_the_other_hosts() -> None:
    assert (MAX_BATCH_EVENTS, MAX_BATCH_BYTES, BATCH_IDLE, BATCH_MAX_WAIT) == (1000, 1 << 20, 0.010, 0.050)


def test_a_pipes_lines_are_stored_as_they_arrive_before_it_closes(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    read_end, write_end = os.pipe()
    outcome: List[Any] = []
    with os.fdopen(read_end, "rb") as source:
        importer = threading.Thread(target=lambda: outcome.append(memory.append_lines(source)))
        importer.start()
        expected = b""
        for line in (b'{"a":1}', b"", b'{"a":2}\r'):
            os.write(write_end, line + b"\n")
            expected += line.rstrip() + b"\n" if line else b""
            # Stored while the pipe is still open.
            wait_until("the line to be stored", lambda: log_now(tmp_path) == expected)
        os.close(write_end)
        importer.join(30)
    assert outcome == [LinesReport(lines=3, stored=2)]
    assert read(tmp_path) == b'{"a":1}\n{"a":2}\n'


def test_a_refused_line_refuses_its_batch_and_the_batches_before_it_stay(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    with pytest.raises(LinesError) as stopped:
        memory.append_lines(["1", "2\n", "", "3", "{", "5"], **PATIENT)
    error = stopped.value
    refusal = ("event 1 of the batch is not exactly one JSON value: EOF while parsing an object at "
               "byte offset 1; nothing was stored; fix the event and try again")
    assert str(error) == (
        f"line 5 was refused: {refusal}; the import stopped: the 2 events before line 3 are "
        "stored, nothing from line 3 on is; fix line 5 and resume from line 3"
    )
    assert (error.cause, error.line, error.resume_line, error.stored, error.byte) == \
        ("invalid-json", 5, 3, 2, None)
    assert isinstance(error.error, InvalidJson) and error.__cause__ is error.error
    assert error.error.details == InvalidJsonDetails(1, 1, "EOF while parsing an object")
    assert read(tmp_path) == b"1\n2\n"


def test_a_line_that_is_not_utf8_refuses_its_batch_named_with_its_first_bad_byte(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    source = io.BytesIO('"é"\r\n\u00a0\n1\n'.encode() + b"2\xe2\x82\n5\n")
    with pytest.raises(LinesError) as stopped:
        memory.append_lines(source, **PATIENT)
    error = stopped.value
    assert str(error) == (
        "line 4 is not valid UTF-8 (first bad byte at byte 1 of the line); the import stopped: the "
        "2 events before line 4 are stored, nothing from line 4 on is; fix line 4 and resume from "
        "line 4"
    )
    assert (error.cause, error.line, error.resume_line, error.stored, error.byte) == \
        ("invalid-utf8", 4, 4, 2, 1)
    assert read(tmp_path) == '"é"\n1\n'.encode()


def test_a_failing_source_stops_the_import_and_what_came_before_its_batch_stays(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)

    def source() -> Iterator[str]:
        yield from ("1", "2", "3")
        raise OSError("the socket closed")

    with pytest.raises(LinesError) as stopped:
        memory.append_lines(source(), **PATIENT)
    error = stopped.value
    assert str(error) == (
        "reading line 4 failed: the socket closed; the import stopped: the 2 events before line 3 "
        "are stored, nothing from line 3 on is; resume from line 3"
    )
    assert (error.cause, error.line, error.stored, type(error.error)) == ("source", None, 2, OSError)
    assert read(tmp_path) == b"1\n2\n"


def test_what_is_not_a_source_of_lines_or_a_bad_bound_is_refused(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    with pytest.raises(TypeError):
        memory.append_lines("1\n2\n")
    with pytest.raises(ValueError):
        memory.append_lines(["1"], max_events=0)
    with pytest.raises(LinesError) as stopped:
        memory.append_lines(["1", 2], max_events=1)  # type: ignore[list-item]
    assert (stopped.value.cause, stopped.value.stored, type(stopped.value.error)) == \
        ("source", 1, TypeError)
    assert read(tmp_path) == b"1\n"


# -- rules 5 and 6: damaged files ----------------------------------------------

CORRUPT = b'{"n":1}\n"\xff"\nnot json\n\n{"n":2}\r\n{"torn":"mid-wr'
DAMAGED = [
    DamagedLine(
        2, 8, 3, False, "invalid-utf8", "not valid UTF-8 (first bad byte at byte 1 of the line)",
        "line 2: at byte offset 8: not valid UTF-8 (first bad byte at byte 1 of the line); "
        "skipped, the other records are unaffected",
    ),
    DamagedLine(
        3, 12, 8, False, "invalid-json",
        "not exactly one JSON value: expected ident at byte 1 of the line",
        "line 3: at byte offset 12: not exactly one JSON value: expected ident at byte 1 of "
        "the line; skipped, the other records are unaffected",
    ),
    DamagedLine(
        6, 31, 15, True, "invalid-json",
        "not exactly one JSON value: EOF while parsing a string at byte 15 of the line",
        "line 6: torn write at byte offset 31: the last line has no newline and is not "
        "exactly one JSON value: EOF while parsing a string at byte 15 of the line; skipped, "
        "and the next append starts a new line",
    ),
]


def test_a_corrupt_file_replays_with_typed_damaged_lines(tmp_path: Path, open_memory: OpenMemory) -> None:
    write(tmp_path, CORRUPT)
    entries = open_memory(tmp_path).replay()
    assert entries == [Ok('{"n":1}'), Err(DAMAGED[0]), Err(DAMAGED[1]), Ok('{"n":2}'), Err(DAMAGED[2])]
    assert [e.json() for e in entries if isinstance(e, Ok)] == [{"n": 1}, {"n": 2}]
    assert read(tmp_path) == CORRUPT  # replay changes nothing


def test_an_append_after_a_torn_tail_starts_a_new_line(tmp_path: Path, open_memory: OpenMemory) -> None:
    old = b'{"op":"remember","key":"user","value":"Ada"}\n{"op":"remember","key":"mood","val'
    write(tmp_path, old)
    memory = open_memory(tmp_path)
    memory.try_append('{"op":"forget","key":"goal"}')
    assert read(tmp_path) == old + b"\n" + b'{"op":"forget","key":"goal"}\n'
    entries = memory.replay()
    assert [type(e) for e in entries] == [Ok, Err, Ok]
    damaged = entries[1]
    assert isinstance(damaged, Err)
    assert (damaged.error.line, damaged.error.offset, damaged.error.torn) == (2, 45, False)
    assert entries[2] == Ok('{"op":"forget","key":"goal"}')


def test_check_reports_a_damaged_log_and_repair_quarantines_it(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    write(tmp_path, CORRUPT)
    memory = open_memory(tmp_path)
    report = memory.check()
    assert report == CheckReport(bytes=len(CORRUPT), records=2, damaged=DAMAGED, torn_tail=True,
                                 leftovers=[], too_deep=[], checksum=Checksum("none"),
                                 checksum_message="")
    assert report.clean is False

    assert memory.repair() == RepairReport(
        removed=DAMAGED, quarantine="pathway.jsonl.quarantine", bytes_before=46, bytes_after=16
    )
    assert read(tmp_path) == b'{"n":1}\n{"n":2}\n'
    quarantine = [json.loads(line) for line in read(tmp_path, "pathway.jsonl.quarantine").splitlines()]
    assert [(q["line"], q["offset"], q["length"], q["torn"], bytes.fromhex(q["hex"])) for q in quarantine] == [
        (2, 8, 3, False, b'"\xff"'),
        (3, 12, 8, False, b"not json"),
        (6, 31, 15, True, b'{"torn":"mid-wr'),
    ]
    after = memory.check()
    assert after == CheckReport(
        bytes=16, records=2, damaged=[], torn_tail=False, leftovers=["pathway.jsonl.quarantine"],
        too_deep=[], checksum=Checksum("verified", bytes=16), checksum_message="",
    )
    assert after.clean is True
    # A clean log is left untouched.
    assert memory.repair().removed == [] and read(tmp_path) == b'{"n":1}\n{"n":2}\n'


# -- paged replay and cursors --------------------------------------------------


def test_paged_replay_visits_every_record_once_and_the_last_cursor_reads_only_later_records(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    records = [json.dumps({"n": i, "pad": "x" * (i % 7) * 5}) for i in range(60)]
    memory.append_batch(records)

    seen: List[str] = []
    pages = 0
    cursor = None
    while True:
        page = memory.replay_page(cursor, 64)
        pages += 1
        assert page.next.startswith("pc3-")
        assert page.tail is None
        assert len(page.entries) >= 1
        oks = [e for e in page.entries if isinstance(e, Ok)]
        assert oks == page.entries
        # About max-bytes: the lines before the last one stay under it.
        assert sum(len(e.value) + 1 for e in oks[:-1]) < 64
        seen.extend(e.value for e in oks)
        cursor = page.next
        if page.at_end:
            break
    assert seen == records
    assert pages >= 15  # 64-byte pages over ~2.5 KB: many pages, not one

    # The last cursor: nothing yet, then exactly what is appended later.
    empty = memory.replay_page(cursor, 64)
    assert (empty.entries, empty.tail, empty.at_end) == ([], None, True)
    memory.append_batch(['{"later":1}', '{"later":2}'])
    later = [e for p in memory.pages(cursor, 1 << 20) for e in p.entries]
    assert later == [Ok('{"later":1}'), Ok('{"later":2}')]
    # pages() agrees with the manual loop.
    assert [e for p in memory.pages(None, 64) for e in p.entries] == [Ok(r) for r in records] + later


def test_an_unterminated_last_line_is_the_tail_and_is_not_consumed(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    write(tmp_path, b'{"n":1}\n{"n":2}')
    memory = open_memory(tmp_path)
    page = memory.replay_page(None, 1 << 20)
    assert (page.entries, page.tail, page.at_end) == ([Ok('{"n":1}')], Ok('{"n":2}'), True)
    # A writer ends the line: reading on from `next` yields it as an entry.
    with open(tmp_path / LOG, "ab") as f:
        f.write(b"\n")
    page2 = memory.replay_page(page.next, 1 << 20)
    assert (page2.entries, page2.tail, page2.at_end) == ([Ok('{"n":2}')], None, True)


def test_bad_cursors_are_refused(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    memory.try_append("1")
    with pytest.raises(InvalidCursor) as invalid:
        memory.replay_page("garbage", 100)
    assert (invalid.value.cause, invalid.value.details) == ("invalid-cursor", None)
    assert str(invalid.value) == (
        '"garbage" is not a cursor of this log; pass a cursor returned by replay-page, '
        "or none to start at the beginning"
    )
    cursor = memory.end_cursor()
    write(tmp_path, b"2\n3\n")  # the bytes before the cursor changed
    with pytest.raises(StaleCursor) as stale:
        memory.replay_page(cursor, 100)
    assert stale.value.cause == "stale-cursor"
    assert str(stale.value) == (
        "the cursor no longer fits the log: the bytes before the cursor changed; replay again "
        "from the beginning"
    )


# -- compaction ------------------------------------------------------------------


def test_compact_replaces_what_the_cursor_covers_with_a_snapshot(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    memory.append_batch(
        [
            '{"op":"remember","key":"user","value":"Ada"}',
            '{"op":"remember","key":"goal","value":"ship"}',
            '{"op":"forget","key":"goal"}',
        ]
    )
    first = memory.replay_page(None, 1).next  # after the first record: before `upto`
    upto = walk_end(memory)
    # The end cursor of `last` reads on, but compaction refuses it.
    with pytest.raises(StaleCursor):
        memory.compact(['{"op":"state"}'], memory.end_cursor())
    memory.try_append('{"op":"remember","key":"mood","value":"ok"}')  # after the cursor
    later = walk_end(memory)  # after `upto`: past the record the compaction keeps
    end = memory.end_cursor()  # `last`'s, at the same place
    before = read(tmp_path)

    # A refused snapshot or a bad cursor changes nothing.
    with pytest.raises(InvalidJson) as bad_event:
        memory.compact(['{"op":"state"', "1"], upto)
    assert bad_event.value.index == 0
    with pytest.raises(InvalidCursor):
        memory.compact(['{"op":"state"}'], "pc1-nope")
    assert read(tmp_path) == before

    report = memory.compact(['{"op":"state","user":"Ada"}'], upto)
    kept = b'{"op":"remember","key":"mood","value":"ok"}\n'
    assert report == CompactReport(
        snapshot_records=1,
        kept_bytes=len(kept),
        bytes_before=len(before),
        bytes_after=len(b'{"op":"state","user":"Ada"}\n') + len(kept),
    )
    assert read(tmp_path) == b'{"op":"state","user":"Ada"}\n' + kept
    assert memory.replay() == [
        Ok('{"op":"state","user":"Ada"}'),
        Ok('{"op":"remember","key":"mood","value":"ok"}'),
    ]
    # Beside the log: its checksum and `<log>.moved`, where the kept bytes
    # went; no .compact or .lock left.
    assert sorted(os.listdir(tmp_path)) == [LOG, "pathway.jsonl.moved", "pathway.jsonl.sha256"]
    assert len(read(tmp_path, "pathway.jsonl.moved")) > 0
    assert memory.check().leftovers == []

    # The compaction's own cursor reads on in the new log: exactly the
    # records after it (the kept one), never the snapshot.
    page = memory.replay_page(upto, 1 << 20)
    assert (page.entries, page.tail, page.at_end) == (
        [Ok('{"op":"remember","key":"mood","value":"ok"}')], None, True)
    # So do later cursors, of a page walk or of `last`: nothing yet, then
    # exactly what is appended after them.
    for cursor in (later, end):
        assert memory.replay_page(cursor, 1 << 20).entries == []
    memory.try_append('{"op":"remember","key":"next","value":1}')
    for cursor in (later, end):
        assert [e for p in memory.pages(cursor, 1 << 20) for e in p.entries] == [
            Ok('{"op":"remember","key":"next","value":1}')]
    assert [e for p in memory.pages(upto, 8) for e in p.entries] == [
        Ok('{"op":"remember","key":"mood","value":"ok"}'),
        Ok('{"op":"remember","key":"next","value":1}'),
    ]
    # A cursor before `upto` points into what the snapshot folded: stale.
    with pytest.raises(StaleCursor) as stale:
        memory.replay_page(first, 100)
    assert str(stale.value) == (
        "the cursor no longer fits the log: it points into what a compaction folded into its "
        "snapshot; replay again from the beginning"
    )
    # A moved cursor binds no hash of every byte before it (those were
    # replaced): compaction refuses it, as it refuses `last`'s.
    for cursor in (upto, later, end, first):
        with pytest.raises(StaleCursor):
            memory.compact([], cursor)
    assert memory.replay() == [
        Ok('{"op":"state","user":"Ada"}'),
        Ok('{"op":"remember","key":"mood","value":"ok"}'),
        Ok('{"op":"remember","key":"next","value":1}'),
    ]


def test_a_byte_changed_since_a_compaction_is_a_checksum_mismatch_and_an_integrity_error(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    memory.append_batch(['{"n":1}', '{"n":2}', '{"n":3}'])
    memory.compact(['{"sum":6}'], walk_end(memory))
    memory.try_append('{"n":4}')  # after the compacted part: not covered by the checksum
    expected = hashlib.sha256(b'{"sum":6}\n').hexdigest()
    report = memory.check()
    assert report == CheckReport(bytes=18, records=2, damaged=[], torn_tail=False, leftovers=[],
                                 too_deep=[], checksum=Checksum("verified", bytes=10),
                                 checksum_message="")
    assert report.clean is True

    # 6 -> 7 in place: still a valid record, so only the checksum sees it.
    with open(tmp_path / LOG, "r+b") as f:
        f.seek(len(b'{"sum":'))
        f.write(b"7")
    changed = read(tmp_path)
    assert changed == b'{"sum":7}\n{"n":4}\n'
    integrity = IntegrityDetails(bytes=10, expected=expected,
                                 actual=hashlib.sha256(b'{"sum":7}\n').hexdigest())
    report = memory.check()
    assert report.checksum == Checksum("mismatch", integrity.bytes, integrity.expected,
                                       integrity.actual)
    assert (report.records, report.damaged) == (2, [])
    assert isinstance(report.checksum_message, str) and report.checksum_message != ""
    assert report.clean is False

    moved = read(tmp_path, "pathway.jsonl.moved")  # the first compaction's record
    # Neither rewrite writes a new checksum over the changed bytes.
    for rewrite in (lambda: memory.compact(['{"sum":10}'], walk_end(memory)), memory.repair):
        with pytest.raises(Integrity) as refused:
            rewrite()
        error = refused.value
        assert isinstance(error, LogError) and error.cause == "integrity"
        assert error.details == integrity
        assert (error.bytes, error.expected, error.actual) == (10, integrity.expected,
                                                              integrity.actual)
        assert str(error) != ""
    assert read(tmp_path) == changed
    assert sorted(os.listdir(tmp_path)) == [LOG, "pathway.jsonl.moved", "pathway.jsonl.sha256"]
    assert read(tmp_path, "pathway.jsonl.moved") == moved


def test_a_cursor_of_an_empty_log_moves_past_a_snapshot_put_before_it_and_the_start_does_not(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path)
    no_file = memory.end_cursor()  # before the log file exists: the start
    write(tmp_path, b"")
    at_zero = [memory.end_cursor(), walk_end(memory)]  # made on the empty file
    report = memory.compact(['{"snapshot":0}'], at_zero[1])  # folds nothing
    assert (report.snapshot_records, report.kept_bytes, report.bytes_before) == (1, 0, 0)
    memory.try_append('{"n":1}')
    for cursor in at_zero:
        assert memory.replay_page(cursor, 1 << 20).entries == [Ok('{"n":1}')]
    for cursor in (no_file, None):
        assert memory.replay_page(cursor, 1 << 20).entries == [Ok('{"snapshot":0}'), Ok('{"n":1}')]


def test_a_repair_makes_the_cursors_of_a_directory_log_stale(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    write(tmp_path, b'{"n":1}\nnot json\n{"n":2}\n')
    memory = open_memory(tmp_path)
    cursors = [walk_end(memory), memory.end_cursor()]
    assert memory.repair().removed != []
    memory.try_append('{"n":3}')
    for cursor in cursors:
        with pytest.raises(StaleCursor):
            memory.replay_page(cursor, 1 << 20)
    assert [e for p in memory.pages(None, 1 << 20) for e in p.entries] == [
        Ok('{"n":1}'), Ok('{"n":2}'), Ok('{"n":3}')]


def test_a_follower_reads_on_across_two_compactions_another_memory_makes_between_appends(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    # Three Memories on one directory: an appender storing {"n": 0},
    # {"n": 1}, ... one at a time; a follower, a replay_page loop from the
    # cursor it keeps (pages of one record); and a compactor that folds what
    # the follower has read into a snapshot, twice, while records keep
    # coming between the steps.
    appender, follower, compactor = (open_memory(tmp_path) for _ in range(3))
    appended = 0
    received: List[Any] = []
    cursor = None

    def append(count: int) -> None:
        nonlocal appended
        for _ in range(count):
            appender.try_append(json.dumps({"n": appended}))
            appended += 1

    def follow(pages: int) -> bool:
        """``pages`` pages (or up to the end) from the kept cursor; at the end?"""
        nonlocal cursor
        for _ in range(pages):
            page = follower.replay_page(cursor, 1)  # one record a page
            assert page.tail is None
            for entry in page.entries:
                assert isinstance(entry, Ok), entry
                received.append(entry.json())
            cursor = page.next
            if page.at_end:
                return True
        return False

    append(20)
    follow(5)
    append(20)
    follow(10)
    uptos: List[int] = []
    # First with the follower's cursor at the compaction's `upto`, then
    # with it 4 records past it (in the bytes the compaction keeps).
    for k, ahead in ((1, 0), (2, 4)):
        pages = list(compactor.pages(None, 1 << 20))
        upto, n = pages[-1].next, [e.json() for p in pages for e in p.entries][-1]["n"]
        assert n == appended - 1
        append(10)  # after the cursor: the compaction keeps them
        assert not follow(n + 1 + ahead - len(received))
        assert received[-1] == {"n": n + ahead}
        report = compactor.compact([json.dumps({"snapshot": k, "upto": n})], upto)
        assert report.snapshot_records == 1
        assert report.kept_bytes == sum(len(json.dumps({"n": i})) + 1 for i in range(n + 1, appended))
        uptos.append(n)
        append(5)
        assert not follow(3)
        append(5)
    while not follow(1 << 10):
        pass

    # Every record once, in order, and never a snapshot.
    assert received == [{"n": n} for n in range(appended)]
    # Both compactions happened under it: the log is the second snapshot and
    # the records after its cursor; the moves are recorded beside it.
    assert [e.json() for e in compactor.replay()] == (
        [{"snapshot": 2, "upto": uptos[1]}] + [{"n": n} for n in range(uptos[1] + 1, appended)])
    assert sorted(os.listdir(tmp_path)) == [LOG, "pathway.jsonl.moved", "pathway.jsonl.sha256"]
    # From the end it reads only what comes later.
    append(1)
    assert follow(1 << 10) and received[-1] == {"n": appended - 1}


def test_a_follower_reads_on_across_compactions_while_appends_run_during_them(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    # As above, but the appender and the follower each run on a thread of
    # their own and never wait: records are appended while each compaction
    # runs (after its seal in the file it replaces; their appenders store
    # them again in the new log), and the follower, kept at the end with
    # small pages, reads while the compaction replaces the log under it.
    # It still gets every record once, and never a snapshot.
    appender, follower, compactor = (open_memory(tmp_path) for _ in range(3))
    appended = [0]
    received: List[Any] = []
    errors: List[BaseException] = []
    stop, finished = threading.Event(), threading.Event()

    def append() -> None:
        try:
            while not stop.is_set() and appended[0] < 20_000:
                appender.try_append(json.dumps({"n": appended[0]}))
                appended[0] += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def follow() -> None:
        cursor = None
        try:
            while True:
                final = finished.is_set()  # set once every append returned
                page = follower.replay_page(cursor, 48)
                for entry in page.entries:
                    assert isinstance(entry, Ok), entry
                    received.append(entry.json())
                cursor = page.next
                if page.at_end:
                    if final:
                        return
                    time.sleep(0.001)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def wait_for(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert not errors, errors
            assert time.monotonic() < deadline, f"waited 60 s for {what}"
            time.sleep(0.001)

    threads = [threading.Thread(target=append), threading.Thread(target=follow)]
    for thread in threads:
        thread.start()
    uptos: List[int] = []
    try:
        for k in (1, 2):
            wait_for(lambda: appended[0] >= 150 * k, "appends")
            # The compactor's own page walk: its end is `upto`, after record n.
            pages = list(compactor.pages(None, 1 << 20))
            upto, n = pages[-1].next, [e.json() for p in pages for e in p.entries][-1]["n"]
            # The follower is at or past `upto`; records follow it.
            wait_for(lambda: len(received) > n, "the follower to read up to the cursor")
            wait_for(lambda: appended[0] > n + 20, "appends after the cursor")
            report = compactor.compact([json.dumps({"snapshot": k, "upto": n})], upto)
            assert report.snapshot_records == 1 and report.kept_bytes > 0
            uptos.append(n)
        wait_for(lambda: appended[0] > uptos[-1] + 100, "appends after the second compaction")
    finally:
        stop.set()
        threads[0].join(60)
        finished.set()
        threads[1].join(60)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    # Every record once, in order, and never a snapshot.
    total = appended[0]
    assert received == [{"n": n} for n in range(total)]
    # Both compactions happened under it: the log is the second snapshot
    # and the records after its cursor; the moves are recorded beside it.
    assert uptos[0] < uptos[1] < total - 1
    assert [e.json() for e in compactor.replay()] == (
        [{"snapshot": 2, "upto": uptos[1]}] + [{"n": n} for n in range(uptos[1] + 1, total)])
    assert sorted(os.listdir(tmp_path)) == [LOG, "pathway.jsonl.moved", "pathway.jsonl.sha256"]


def test_a_leftover_compaction_file_makes_compaction_busy(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    memory.try_append("1")
    upto = walk_end(memory)
    write(tmp_path, b"", name="pathway.jsonl.compact")
    with pytest.raises(Busy) as busy:
        memory.compact(["2"], upto)
    assert busy.value.cause == "busy"
    assert str(busy.value) == (
        '"pathway.jsonl.compact" exists: another compaction or repair is running, or one '
        'crashed; if none runs, remove "pathway.jsonl.compact" and try again'
    )
    assert read(tmp_path) == b"1\n"
    assert memory.check().leftovers == ["pathway.jsonl.compact"]


# -- instances, configuration, sandbox --------------------------------------------


def test_two_instances_on_different_directories_are_isolated(tmp_path: Path, open_memory: OpenMemory) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ma, mb = open_memory(a), open_memory(b)
    ma.try_append('{"who":"a","n":1}')
    mb.try_append('{"who":"b","n":1}')
    ma.try_append('{"who":"a","n":2}')
    assert ma.replay() == [Ok('{"who":"a","n":1}'), Ok('{"who":"a","n":2}')]
    assert mb.replay() == [Ok('{"who":"b","n":1}')]
    assert read(a) == b'{"who":"a","n":1}\n{"who":"a","n":2}\n'
    assert read(b) == b'{"who":"b","n":1}\n'
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    # A trap in one does not disturb the other.
    with pytest.raises(Trap):
        ma.append("{")
    assert mb.replay() == [Ok('{"who":"b","n":1}')]
    assert ma.check().records == 2


def test_a_bad_configuration_fails_at_open_with_invalid_config(tmp_path: Path, open_memory: OpenMemory) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(InvalidConfig) as escape:
        open_memory(inner, log_name="../escape.jsonl")
    assert (escape.value.cause, str(escape.value)) == (
        "invalid-config",
        'PATHWAY_LOG="../escape.jsonl" cannot be used: it contains a path separator; set it to '
        'a plain file name inside the granted directory, such as "pathway.jsonl"',
    )
    with pytest.raises(InvalidConfig) as sync:
        open_memory(inner, sync="sometimes")
    assert str(sync.value) == (
        'PATHWAY_SYNC="sometimes" cannot be used: it must be `never`, `always` or '
        "`interval:<milliseconds>`; unset it for `never`"
    )
    with pytest.raises(InvalidConfig) as max_line:
        open_memory(inner, max_line=0)
    assert str(max_line.value) == (
        'PATHWAY_MAX_LINE="0" cannot be used: it must be a whole number of bytes from 1 to '
        "268435456; unset it for the default 1048576"
    )
    for depth in (0, 10001):
        with pytest.raises(InvalidConfig) as max_depth:
            open_memory(inner, max_depth=depth)
        assert (max_depth.value.cause, str(max_depth.value)) == (
            "invalid-config",
            f'PATHWAY_MAX_DEPTH="{depth}" cannot be used: it must be a whole number of levels '
            "from 1 to 10000; unset it for the default 127",
        )
    assert sorted(os.listdir(tmp_path)) == ["inner"] and os.listdir(inner) == []


def test_every_sync_mode_works(tmp_path: Path, open_memory: OpenMemory) -> None:
    for mode in ("always", "interval:5", "never"):
        memory = open_memory(tmp_path, sync=mode)
        memory.try_append(json.dumps(mode))
        memory.sync()
    assert read(tmp_path) == b'"always"\n"interval:5"\n"never"\n'


def test_a_read_only_directory_refuses_appends_with_access_denied(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    write(tmp_path, b"1\n")
    memory = open_memory(tmp_path, read_only=True)
    with pytest.raises(AccessDenied) as refused:
        memory.try_append("2")
    assert refused.value.cause == "access-denied"
    assert memory.replay() == [Ok("1")]
    assert read(tmp_path) == b"1\n"


def test_a_log_that_is_a_directory_is_an_error_not_an_entry(tmp_path: Path, open_memory: OpenMemory) -> None:
    (tmp_path / LOG).mkdir()
    memory = open_memory(tmp_path)
    message = (
        '"pathway.jsonl" in the granted directory is not a regular file; remove it or set '
        "PATHWAY_LOG to another name"
    )
    for call in (memory.replay, memory.check, lambda: memory.replay_page(None, 100)):
        with pytest.raises(NotAFile) as not_a_file:
            call()
        assert (not_a_file.value.cause, str(not_a_file.value)) == ("not-a-file", message)


def test_open_refuses_a_missing_directory(tmp_path: Path, wasm: str) -> None:
    with pytest.raises(FileNotFoundError):
        Memory.open(tmp_path / "nope", wasm=wasm)
    with pytest.raises(ValueError):
        Memory.open(tmp_path, log_name="a\0b", wasm=wasm)


def test_a_call_past_its_deadline_traps_with_the_components_words(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    line = b'{"k":"' + b"x" * 90 + b'"}\n'
    data = line * 1_000_000  # ~100 MB: a check takes well over the deadline
    write(tmp_path, data)
    try:
        memory = open_memory(tmp_path, call_timeout=0.01)
        with pytest.raises(Trap) as trapped:
            memory.check()
        assert trapped.value.timed_out is True
        assert trapped.value.message == memory.host_message(10) == (
            "the call ran longer than the deadline of 10 ms and was stopped; nothing stored is "
            "lost; raise the call timeout, or read the log page by page"
        )
        memory.call_timeout = 60.0  # the same Memory, with its fresh instance
        page = memory.replay_page(None, 1)
        assert page.entries == [Ok(line[:-1].decode())]
        assert read(tmp_path) == data
    finally:
        (tmp_path / LOG).unlink()  # pytest keeps old tmp dirs: do not leave 100 MB


def test_guest_memory_past_its_cap_traps_and_the_memory_stays_usable(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    memory = open_memory(tmp_path, max_guest_memory=8 << 20)
    memory.try_append("1")
    with pytest.raises(Trap) as trapped:
        memory.append_batch(['"' + "x" * (1 << 20) + '"'] * 8)  # 8 MiB of events
    assert trapped.value.timed_out is False
    assert read(tmp_path) == b"1\n"
    assert memory.replay() == [Ok("1")]


def test_host_message_words_failures_the_host_detects(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    assert memory.host_message(MemoryCap(wanted=3 << 20, cap=2 << 20)) == (
        "the component needed 3 MiB of memory, over the cap of 2 MiB, and was stopped; nothing "
        "stored is lost; raise the memory cap, or read the log page by page"
    )


def test_setup_errors_are_clear(tmp_path: Path, wasm: str) -> None:
    with pytest.raises(SetupError) as missing:
        Memory.open(tmp_path, wasm=tmp_path / "missing.wasm")
    assert "cannot read the component" in str(missing.value)
    (tmp_path / "bad.wasm").write_bytes(b"\0asm garbage")
    with pytest.raises(SetupError) as bad:
        Memory.open(tmp_path, wasm=tmp_path / "bad.wasm")
    assert "wasmtime could not compile" in str(bad.value)
    memory = Memory.open(tmp_path, wasm=wasm)
    memory.close()
    with pytest.raises(PathwayError, match="closed"):
        memory.replay()


# -- rule 8 and threads ------------------------------------------------------------


def test_garbage_and_deep_nesting_on_disk_never_trap(tmp_path: Path, open_memory: OpenMemory) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    write(tmp_path, b"1\n\x00\x01\x02\xff\xfe\n" + deep.encode() + b"\n2\n")
    memory = open_memory(tmp_path)
    entries = memory.replay()
    assert entries[0] == Ok("1") and entries[2:] == [Ok(deep), Ok("2")]  # any depth, no recursion
    damaged = entries[1]
    assert isinstance(damaged, Err)
    assert (damaged.error.line, damaged.error.offset, damaged.error.problem) == (2, 2, "invalid-utf8")
    # No trap on append either: refused, since common readers stop near 127
    # levels, with where.
    with pytest.raises(InvalidJson) as refused:
        memory.try_append(deep)
    assert refused.value.details.offset == 127
    assert "more than 127 levels deep" in str(refused.value)
    memory.try_append("[" * 127 + "]" * 127)
    assert memory.check().records == 4


def test_a_stored_record_deeper_than_the_limit_replays_and_check_reports_it(
    tmp_path: Path, open_memory: OpenMemory
) -> None:
    deep = "[" * 130 + "]" * 130
    data = (deep + '\n{"n":1}\n').encode()
    write(tmp_path, data)
    memory = open_memory(tmp_path)
    assert memory.replay() == [Ok(deep), Ok('{"n":1}')]
    report = memory.check()
    assert report == CheckReport(bytes=len(data), records=2, damaged=[], torn_tail=False,
                                 leftovers=[], too_deep=[DeepLine(line=1, offset=0, at=127)],
                                 checksum=Checksum("none"), checksum_message="")
    assert report.clean is True  # replay returns it: not damage
    # Under a limit it fits, it is not too deep.
    assert open_memory(tmp_path, max_depth=200).check().too_deep == []
    assert read(tmp_path) == data


def test_threads_append_through_separate_and_shared_memories(tmp_path: Path, open_memory: OpenMemory) -> None:
    shared = open_memory(tmp_path)
    own = [open_memory(tmp_path) for _ in range(2)]
    writers = [(0, own[0]), (1, own[1]), (2, shared), (3, shared)]

    def work(k: int, memory: Memory) -> None:
        for i in range(300):
            memory.try_append('{"w":%d,"i":%d}' % (k, i))

    threads = [threading.Thread(target=work, args=w) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = shared.replay()
    got = [e.json() for e in entries if isinstance(e, Ok)]
    assert len(got) == len(entries)
    assert sorted((r["w"], r["i"]) for r in got) == [(k, i) for k in range(4) for i in range(300)]
    for k in range(4):  # each writer's records stay in its order
        assert [r["i"] for r in got if r["w"] == k] == list(range(300))
    # Every line holds one whole record. (Lines, not newlines: under load the
    # component may take another instance's write in progress for a torn
    # line and lead with a "\n", leaving a blank line that replay skips.)
    lines = [line for line in read(tmp_path).split(b"\n") if line]
    assert len(lines) == 1200
    assert sorted(lines) == sorted(b'{"w":%d,"i":%d}' % (k, i) for k in range(4) for i in range(300))


# -- the call path ------------------------------------------------------------------


def test_values_cross_the_boundary_without_loss(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path)
    events = ['"' + "é" * 5000 + '"', "{}", '"\\u0000"', '"🙂"']
    memory.append_batch(events)
    memory.append_batch([])  # an empty list is fine
    assert memory.replay() == [Ok(e) for e in events]
    with pytest.raises(TypeError):
        memory.try_append(b"1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        memory.append_batch(["1", 2])  # type: ignore[list-item]
    assert memory.replay() == [Ok(e) for e in events]
