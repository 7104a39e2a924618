"""The Python host's runner of the cross-host differential test.

Runs every case of ``cases.json`` through :class:`pathway_memory.Memory` as
``host-test/hosts/cross-host.md`` says and writes ``results.json`` in the
shape agreed there. The component's errors are recorded as values; anything
else (a trap, a host error) stops the run with a non-zero exit. With
``storage`` in ``cases.json``, each case runs on the NATS stream
``<prefix>-<kind>-<index>`` instead of a fresh directory, without the steps
that belong to files; the ``named`` cases (named logs) and the ``quota``
cases run on directories only, so such a run has none.

    python differential.py WASM CASES_JSON OUT_JSON
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import contextlib
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from pathway_memory import Checksum, Err, LinesError, LogError, Memory, NamedLog, Ok, Page

LOG = "pathway.jsonl"

# The snapshot the integrity steps of a log case compact to, and the byte of
# the log then changed in place to ``F`` (leaving ``{"Folded":true}``).
FOLDED = '{"folded":true}'
CHANGED_AT = 2
# The counts of a log case's `last` step, in order.
LAST_COUNTS = (0, 1, 2, 1000)
# The entries of each named log's `last` in a named case.
NAMED_LAST = 2


def value(v: Any) -> Any:
    """A host value in the agreed JSON shape (snake_case keys, integers)."""
    if isinstance(v, Ok):
        return {"ok": value(v.value)}
    if isinstance(v, Err):
        return {"err": value(v.error)}
    if isinstance(v, Page):  # recorded without its cursor
        return {"entries": value(v.entries), "tail": value(v.tail), "at_end": v.at_end}
    if isinstance(v, Checksum):  # the state and the fields it has
        if v.state == "verified":
            return {"state": v.state, "bytes": v.bytes}
        if v.state == "mismatch":
            return {"state": v.state, "bytes": v.bytes, "expected": v.expected,
                    "actual": v.actual}
        return {"state": v.state}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: value(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, list):
        return [value(x) for x in v]
    return v


def error(e: LogError) -> Dict[str, Any]:
    out: Dict[str, Any] = {"cause": e.cause, "message": str(e)}
    if e.details is not None:
        out.update(value(e.details))
    return out


def outcome(call: Callable[[], Any]) -> Dict[str, Any]:
    """``{"ok": value}`` or ``{"err": error}`` for a component error."""
    try:
        return {"ok": value(call())}
    except LogError as e:
        return {"err": error(e)}


def or_error(call: Callable[[], Any]) -> Any:
    """The value, or ``{"err": error}`` in its place."""
    try:
        return value(call())
    except LogError as e:
        return {"err": error(e)}


def page_walk(memory: Memory, page_bytes: int) -> List[Page]:
    pages: List[Page] = []
    cursor: Optional[str] = None
    while True:
        page = memory.replay_page(cursor, page_bytes)
        pages.append(page)
        if page.at_end:
            return pages
        cursor = page.next


def compact_to_end(memory: Memory, page_bytes: int, snapshot: str) -> Dict[str, Any]:
    """``compact([snapshot], end)``, ``end`` the ``next`` of the last page of
    a page walk done just before, as an outcome (a failed walk included)."""
    return outcome(lambda: memory.compact([snapshot], page_walk(memory, page_bytes)[-1].next))


def change_in_place(directory: str) -> None:
    """Changes the byte at CHANGED_AT of the log in place to ``F``: the same
    file (opened without truncating it), the same size."""
    with open(os.path.join(directory, LOG), "r+b") as f:
        f.seek(CHANGED_AT)
        f.write(b"F")


def files(directory: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = f.read().hex()
    return out


@contextlib.contextmanager
def on_case(run: Dict[str, Any], kind: str, index: int,
            data: Optional[bytes] = None) -> Iterator[Tuple[Memory, Optional[str]]]:
    """The log of case ``index`` of ``kind`` and its directory: a fresh one
    (holding ``data``, a log case's bytes), or its stream (no directory),
    which the test made for a log case and is created for the others."""
    storage = run["storage"]
    if storage:
        memory = Memory.open(nats=storage["nats"], stream=f"{storage['prefix']}-{kind}-{index}",
                             replicas=None if kind == "logs" else 1,
                             max_line=run["max_line"], wasm=run["wasm"])
        try:
            yield memory, None
        finally:
            memory.close()
        return
    with tempfile.TemporaryDirectory(prefix="pathway-diff-") as directory:
        if data is not None:
            with open(os.path.join(directory, LOG), "wb") as f:
                f.write(data)
        memory = Memory.open(directory, max_line=run["max_line"], wasm=run["wasm"])
        try:
            yield memory, directory
        finally:
            memory.close()


def log_case(run: Dict[str, Any], index: int, data: bytes) -> Dict[str, Any]:
    page_bytes = run["page_bytes"]
    with on_case(run, "logs", index, data) as (memory, directory):
        result = {
            "replay": or_error(memory.replay),
            # Each without its `next` (a cursor is bound to the file).
            "last": or_error(lambda: [memory.last(count).entries for count in LAST_COUNTS]),
            "pages": or_error(lambda: page_walk(memory, page_bytes)),
            "check": or_error(memory.check),
            "repair": or_error(memory.repair),
            "after_repair": or_error(memory.replay),
        }
        if directory is None:
            return result
        integrity: Dict[str, Any] = {
            "compact": compact_to_end(memory, page_bytes, FOLDED),
            "check": or_error(memory.check),
        }
        change_in_place(directory)
        integrity["changed_check"] = or_error(memory.check)
        integrity["changed_compact"] = compact_to_end(memory, page_bytes, "{}")
        integrity["changed_repair"] = outcome(memory.repair)
        result["integrity"] = integrity
        result["files"] = files(directory)
        return result


def event_case(run: Dict[str, Any], index: int, event: str) -> Dict[str, Any]:
    with on_case(run, "events", index) as (memory, directory):
        result = {
            "try_append": outcome(lambda: memory.try_append(event)),
            "append_batch": outcome(lambda: memory.append_batch(["1", event])),
        }
        end = page_walk(memory, run["page_bytes"])[-1].next
        result["compact"] = outcome(lambda: memory.compact([event], end))
        result["replay"] = or_error(memory.replay)
        if directory is not None:
            result["files"] = files(directory)
        return result


def lines_error(e: LinesError) -> Dict[str, Any]:
    """The agreed error of a stopped import; only refusals and the
    component's errors are results."""
    if not (e.cause == "invalid-utf8" or isinstance(e.error, LogError)):
        raise e
    return {
        "cause": e.cause,
        "message": str(e),
        "line": e.line,
        "resume_line": e.resume_line,
        "stored": e.stored,
        "byte": e.byte,
        "error": error(e.error) if isinstance(e.error, LogError) else None,
    }


def lines_case(run: Dict[str, Any], index: int, data: bytes) -> Dict[str, Any]:
    batching = run["lines_batching"]
    with on_case(run, "lines", index) as (memory, directory):
        try:
            memory.append_lines(io.BytesIO(data), max_events=batching["max_events"],
                                max_bytes=batching["max_bytes"], idle=batching["idle_ms"] / 1000,
                                max_wait=batching["max_wait_ms"] / 1000)
            imported: Dict[str, Any] = {"ok": None}
        except LinesError as e:
            imported = {"err": lines_error(e)}
        result = {"append_lines": imported, "replay": or_error(memory.replay)}
        if directory is not None:
            result["files"] = files(directory)
        return result


def named_case(run: Dict[str, Any], index: int, case: Dict[str, Any]) -> Dict[str, Any]:
    """Named logs in a fresh directory: appends, the listing, each log's
    ``last(2)`` and replay (in order of first appearance), bad names, forks,
    deletes, then the listing again and the replay of each target of a fork
    that succeeded."""
    with on_case(run, "named", index) as (memory, directory):
        assert directory is not None, "named cases run on directories only"
        appends = []
        names: List[str] = []
        for name, events in case["appends"]:
            if name not in names:
                names.append(name)
            appends.append(outcome(lambda: memory.log(name).append_batch(events)))

        def each(read: Callable[[NamedLog], Any]) -> List[Any]:
            return [[name, or_error(lambda: read(memory.log(name)))] for name in names]

        result: Dict[str, Any] = {
            "appends": appends,
            "logs": or_error(memory.logs),
            "last": each(lambda log: log.last(NAMED_LAST).entries),
            "replay": each(lambda log: log.replay()),
            "bad_names": [outcome(lambda: memory.log(name).try_append("1"))
                          for name in case["bad_names"]],
            "forks": [outcome(lambda: memory.fork_log(source, target))
                      for source, target in case["forks"]],
            "deletes": [outcome(lambda: memory.delete_log(name)) for name in case["deletes"]],
        }
        # The targets of the forks that succeeded, in order.
        forked = [target for (_, target), done in zip(case["forks"], result["forks"])
                  if "ok" in done]
        result["after"] = {
            "logs": or_error(memory.logs),
            "replay": [[target, or_error(lambda: memory.log(target).replay())]
                       for target in forked],
        }
        result["files"] = files(directory)
        return result


def quota_case(run: Dict[str, Any], index: int, case: Dict[str, Any]) -> Dict[str, Any]:
    """The grant's quota in a fresh directory, opened with ``quota=``:
    ``try_append(event)`` ``appends`` times (refused once the quota is
    reached), the whole replay (never refused), ``delete_log("pathway")``
    then ``try_append(event)``, a second open with quota 0 (and its
    ``try_append`` had it opened), then the files."""
    assert not run["storage"], "quota cases run on directories only"
    event = case["event"]
    with tempfile.TemporaryDirectory(prefix="pathway-diff-") as directory:

        def open_(quota: int) -> Memory:
            return Memory.open(directory, max_line=run["max_line"], quota=quota,
                               wasm=run["wasm"])

        def zero() -> None:
            memory = open_(0)
            try:
                memory.try_append(event)
            finally:
                memory.close()

        memory = open_(case["quota"])
        try:
            result: Dict[str, Any] = {
                "appends": [outcome(lambda: memory.try_append(event))
                            for _ in range(case["appends"])],
                "replay": or_error(memory.replay),
                "after_delete": [outcome(lambda: memory.delete_log("pathway")),
                                 outcome(lambda: memory.try_append(event))],
                "zero": outcome(zero),
            }
            result["files"] = files(directory)
        finally:
            memory.close()
        return result


def main(argv: List[str]) -> int:
    if len(argv) != 4:
        print(f"usage: {argv[0]} WASM CASES_JSON OUT_JSON", file=sys.stderr)
        return 2
    wasm, cases_path, out_path = argv[1:]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    run = {
        "wasm": wasm,
        "max_line": cases["max_line"],
        "page_bytes": cases["page_bytes"],
        "lines_batching": cases["lines_batching"],
        "storage": cases.get("storage"),
    }
    results = {
        "logs": {c["name"]: log_case(run, i, bytes.fromhex(c["hex"]))
                 for i, c in enumerate(cases["logs"])},
        "events": {c["name"]: event_case(run, i, c["event"])
                   for i, c in enumerate(cases["events"])},
        "lines": {c["name"]: lines_case(run, i, bytes.fromhex(c["hex"]))
                  for i, c in enumerate(cases["lines"])},
        # Named logs are directory-only so far: a stream run has none.
        "named": {} if run["storage"] else {c["name"]: named_case(run, i, c)
                                            for i, c in enumerate(cases.get("named", []))},
        # So are the quota cases.
        "quota": {} if run["storage"] else {c["name"]: quota_case(run, i, c)
                                            for i, c in enumerate(cases.get("quota", []))},
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
