"""Tests of the grant's quota (``Memory.open(quota=...)``, ``PATHWAY_QUOTA``)
through the real component (wasmtime-py): appends and forks past it are
refused with :class:`QuotaExceeded` and store nothing, reading is never
refused, deleting a log frees room, and the component (not this host)
checks the value.

The component comes from $PATHWAY_WASM (run-tests.sh sets it). Every test
uses its own tmp_path. Messages are the component's own words: this host
adds none.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from pathway_memory import (InvalidConfig, LinesError, LogError, Memory, NoLog, Ok,
                            QuotaExceeded, QuotaExceededDetails, Trap)

OpenMemory = Callable[..., Memory]

EVENT = '{"turn":"hello there"}'
LINE = len(EVENT) + 1  # its stored line, newline included


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


def contents(directory: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def used(directory: Path) -> int:
    return sum(len(data) for data in contents(directory).values())


def fill(memory: Memory, event: str = EVENT, limit: int = 1000) -> QuotaExceeded:
    """Appends ``event`` until the quota refuses it; the refusal."""
    for _ in range(limit):
        try:
            memory.try_append(event)
        except QuotaExceeded as e:
            return e
    raise AssertionError(f"{limit} appends and no refusal")


def test_appends_until_refused_with_used_limit_and_needed_and_nothing_of_the_call_stored(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    quota = 310
    memory = open_memory(tmp_path, quota=quota)
    assert memory.settings.quota == quota
    refused = fill(memory)
    stored = quota // LINE  # whole lines that fit: 13, 299 bytes
    room = quota - stored * LINE
    assert room > 2 and (tmp_path / "pathway.jsonl").stat().st_size == stored * LINE
    # The error: its class, its cause, its record, the same numbers as
    # attributes, and the component's words.
    assert isinstance(refused, LogError) and refused.cause == "quota-exceeded"
    assert refused.details == QuotaExceededDetails(used=stored * LINE, limit=quota, needed=LINE)
    assert (refused.used, refused.limit, refused.needed) == (stored * LINE, quota, LINE)
    assert str(refused) == refused.message
    assert "would pass the quota" in str(refused) and "nothing was stored" in str(refused)

    # Nothing of a refused call is stored: not by try_append again, not by
    # a batch (even when its first event alone would fit), not by another
    # log of the grant (the quota holds all of them together).
    before = contents(tmp_path)
    with pytest.raises(QuotaExceeded) as again:
        memory.try_append(EVENT)
    assert again.value.details == refused.details
    with pytest.raises(QuotaExceeded) as batch:
        memory.append_batch(["1", EVENT])
    assert batch.value.needed == 2 + LINE
    with pytest.raises(QuotaExceeded) as named:
        memory.log("other").append_batch([EVENT])
    assert (named.value.used, named.value.needed) == (stored * LINE, LINE)
    assert contents(tmp_path) == before
    assert memory.replay() == [Ok(EVENT)] * stored
    # What still fits is stored, up to the quota itself.
    memory.try_append("1" * (room - 1))
    assert used(tmp_path) == quota
    with pytest.raises(QuotaExceeded) as full:
        memory.try_append("1")
    assert (full.value.used, full.value.needed) == (quota, 2)


def test_append_and_append_lines_past_the_quota_store_nothing_of_the_refused_call(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, quota=3 * LINE)
    memory.append_batch([EVENT] * 2)
    before = contents(tmp_path)
    # `append` traps on the refusal, with the component's words on stderr,
    # and the Memory stays usable.
    with pytest.raises(Trap) as trapped:
        memory.append("[" + EVENT + "," + EVENT + "]")
    assert trapped.value.timed_out is False
    assert "pathway append refused: storing " in trapped.value.stderr
    assert "would pass the quota" in trapped.value.stderr
    assert contents(tmp_path) == before
    # The import stops at the batch that would pass the quota; the batches
    # before it stay.
    with pytest.raises(LinesError) as stopped:
        memory.append_lines([EVENT + "\n"] * 3, max_events=1, idle=600.0, max_wait=600.0)
    error = stopped.value
    # The quota is not the fault of a line: `line` is None, as for any
    # failure of the log itself.
    assert (error.cause, error.stored, error.line, error.resume_line) == \
        ("quota-exceeded", 1, None, 2)
    assert str(error).startswith(str(error.error) + "; the import stopped at the batch from line 2")
    assert isinstance(error.error, QuotaExceeded) and error.__cause__ is error.error
    assert error.error.details == QuotaExceededDetails(used=3 * LINE, limit=3 * LINE,
                                                       needed=LINE)
    assert memory.replay() == [Ok(EVENT)] * 3


def test_every_file_of_the_grant_counts(tmp_path: Path, open_memory: OpenMemory) -> None:
    (tmp_path / "notes.txt").write_bytes(b"x" * 100)
    memory = open_memory(tmp_path, quota=100 + 2 * LINE)
    memory.try_append(EVENT)
    memory.try_append(EVENT)
    with pytest.raises(QuotaExceeded) as refused:
        memory.try_append("1")
    assert refused.value.used == 100 + 2 * LINE
    (tmp_path / "notes.txt").unlink()
    memory.try_append("1")


def test_compaction_frees_room_and_its_side_files_count(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    quota = 20 * LINE
    memory = open_memory(tmp_path, quota=quota)
    refused = fill(memory)
    assert refused.used == quota
    # Compaction rewrites the log at a smaller size (the quota does not
    # refuse it) and writes two side files beside it: the checksum
    # (`.sha256`) and where the kept bytes went (`.moved`). Both count.
    end = list(memory.pages(None, 1 << 20))[-1].next
    report = memory.compact(['{"folded":20}'], end)
    assert (report.bytes_before, report.bytes_after) == (quota, len('{"folded":20}\n'))
    assert memory.replay() == [Ok('{"folded":20}')]
    files = contents(tmp_path)
    assert sorted(files) == ["pathway.jsonl", "pathway.jsonl.moved", "pathway.jsonl.sha256"]
    moved = len(files["pathway.jsonl.moved"])
    held = report.bytes_after + len(files["pathway.jsonl.sha256"]) + moved
    assert moved > 0 and held == used(tmp_path) < quota
    # Appends get the room freed, no more: `used` at the refusal counts the
    # side files, `.moved` among them.
    fits = (quota - held) // LINE
    assert fits > 0
    refused = fill(memory)
    assert refused.details == QuotaExceededDetails(used=held + fits * LINE, limit=quota,
                                                   needed=LINE)
    assert refused.used == used(tmp_path)
    assert memory.replay() == [Ok('{"folded":20}')] + [Ok(EVENT)] * fits


def test_a_compaction_whose_side_files_outweigh_what_it_folds_is_not_refused(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    # A small log: its checksum and `.moved` take more than the snapshot
    # saves, and compaction (never refused by the quota) leaves the grant
    # past it; appends are then refused, `used` counting every file.
    quota = 10 * LINE
    memory = open_memory(tmp_path, quota=quota)
    fill(memory)
    end = list(memory.pages(None, 1 << 20))[-1].next
    memory.compact(['{"folded":10}'], end)
    files = contents(tmp_path)
    assert sorted(files) == ["pathway.jsonl", "pathway.jsonl.moved", "pathway.jsonl.sha256"]
    held = used(tmp_path)
    assert held == sum(len(data) for data in files.values()) > quota
    with pytest.raises(QuotaExceeded) as refused:
        memory.try_append(EVENT)
    assert refused.value.details == QuotaExceededDetails(used=held, limit=quota, needed=LINE)
    assert contents(tmp_path) == files
    # Reading goes on; deleting the log frees all of it, side files too.
    assert memory.replay() == [Ok('{"folded":10}')]
    assert memory.delete_log("pathway") == len(files["pathway.jsonl"])
    assert os.listdir(tmp_path) == []
    memory.try_append(EVENT)
    assert memory.replay() == [Ok(EVENT)]


def test_the_quota_holds_every_log_of_the_grant_together(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, quota=10 * LINE)
    memory.log("a").append_batch([EVENT] * 4)
    memory.log("b").append_batch([EVENT] * 4)
    memory.try_append(EVENT)
    # Another instance on the same directory counts the same bytes.
    other = open_memory(tmp_path, quota=10 * LINE)
    other.log("c").try_append(EVENT)
    with pytest.raises(QuotaExceeded) as refused:
        other.try_append(EVENT)
    assert refused.value.details == QuotaExceededDetails(used=10 * LINE, limit=10 * LINE,
                                                         needed=LINE)
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "b.jsonl", "c.jsonl", "pathway.jsonl"]


def test_deleting_a_log_frees_room(tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, quota=300)
    memory.log("scratch").append_batch([EVENT] * 5)
    refused = fill(memory)
    assert refused.used + refused.needed > 300
    freed = memory.delete_log("scratch")
    assert freed == 5 * LINE and not (tmp_path / "scratch.jsonl").exists()
    for _ in range(5):
        memory.try_append(EVENT)
    with pytest.raises(QuotaExceeded):
        memory.try_append(EVENT)

    # Deleting the instance's own log frees it all, and the next append
    # starts a new log of that name.
    size = (tmp_path / "pathway.jsonl").stat().st_size
    assert memory.delete_log("pathway") == size
    memory.try_append(EVENT)
    assert memory.replay() == [Ok(EVENT)]
    assert contents(tmp_path) == {"pathway.jsonl": (EVENT + "\n").encode()}
    with pytest.raises(NoLog):
        memory.delete_log("scratch")


@pytest.mark.parametrize("quota", [0, "0", "lots", "", "-1", 1.5, "12kb"])
def test_a_quota_the_component_cannot_use_is_invalid_config_from_open(
        tmp_path: Path, open_memory: OpenMemory, quota: Any) -> None:
    # The host passes str(quota) as PATHWAY_QUOTA and leaves the checking to
    # the component: its error, in its words, from the open.
    with pytest.raises(InvalidConfig) as refused:
        open_memory(tmp_path, quota=quota)
    assert refused.value.cause == "invalid-config"
    assert f"PATHWAY_QUOTA={str(quota)!r}".replace("'", '"') in str(refused.value)
    assert os.listdir(tmp_path) == []


def test_a_quota_given_as_a_string_of_a_number_is_the_number(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    assert open_memory(tmp_path, quota="4096").settings.quota == 4096
    assert open_memory(tmp_path, quota=1 << 40).settings.quota == 1 << 40
    assert open_memory(tmp_path).settings.quota is None


def test_reading_is_never_refused_past_the_quota(tmp_path: Path,
                                                 open_memory: OpenMemory) -> None:
    # A grant already past the quota (written without one, or the quota
    # lowered since): every read works, appends and forks are refused.
    writer = open_memory(tmp_path)
    writer.append_batch([EVENT] * 20)
    writer.log("a").append_batch(["1", "2"])
    total = used(tmp_path)
    memory = open_memory(tmp_path, quota=100)
    assert memory.settings.quota == 100 and total > 100

    assert memory.replay() == [Ok(EVENT)] * 20
    assert memory.last(2).entries == [Ok(EVENT)] * 2
    pages = list(memory.pages(None, 64))
    assert [e for p in pages for e in p.entries] == [Ok(EVENT)] * 20
    assert memory.check().records == 20
    assert memory.log("a").replay() == [Ok("1"), Ok("2")]
    assert [(i.name, i.bytes) for i in memory.logs()] == [("a", 4), ("pathway", 20 * LINE)]
    memory.end_cursor()

    with pytest.raises(QuotaExceeded) as refused:
        memory.try_append("1")
    assert refused.value.details == QuotaExceededDetails(used=total, limit=100, needed=2)
    assert used(tmp_path) == total
    # Repair is not refused either (it can only shrink the log).
    assert memory.repair().removed == []
    assert used(tmp_path) == total


def test_a_fork_past_the_quota_is_refused_and_creates_nothing(
        tmp_path: Path, open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, quota=5 * LINE)
    memory.append_batch([EVENT] * 2)
    # A copy of 2 lines fits (4 in all), a second does not (6).
    assert memory.fork_log("pathway", "copy") == 2 * LINE
    before = contents(tmp_path)
    with pytest.raises(QuotaExceeded) as refused:
        memory.fork_log("pathway", "copy2")
    assert refused.value.cause == "quota-exceeded"
    assert refused.value.details == QuotaExceededDetails(used=4 * LINE, limit=5 * LINE,
                                                         needed=2 * LINE)
    assert contents(tmp_path) == before
    assert memory.log("copy2").replay() == []
    # A fork up to a cursor needs only the bytes it copies.
    at = memory.replay_page(None, 1).next
    assert memory.fork_log("pathway", "copy2", at) == LINE
    assert memory.log("copy2").replay() == [Ok(EVENT)]


def test_the_quota_reaches_a_log_opened_by_name(tmp_path: Path,
                                                open_memory: OpenMemory) -> None:
    memory = open_memory(tmp_path, quota=2 * LINE, log="thread")
    memory.try_append(EVENT)
    memory.try_append(EVENT)
    with pytest.raises(QuotaExceeded) as refused:
        memory.try_append(EVENT)
    assert (refused.value.used, refused.value.limit) == (2 * LINE, 2 * LINE)
    assert contents(tmp_path) == {"thread.jsonl": ((EVENT + "\n") * 2).encode()}
