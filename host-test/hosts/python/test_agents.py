"""Tests of ``pathway_memory.agents.PathwaySession``, the OpenAI Agents SDK
(``openai-agents`` 0.24.0) session kept in a named log, through the real
component (wasmtime-py): ``get_items`` limits, pop semantics, clearing one
session, ids that are not names, and an end-to-end run of the SDK's
``Runner`` with a scripted model (no network).

The component comes from $PATHWAY_WASM. Needs ``openai-agents`` (skipped,
with the reason, without it).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, List

import pytest

pytest.importorskip("agents", reason="openai-agents is not installed")

from agents import Agent, RunConfig, Runner, function_tool  # noqa: E402
from agents.items import ModelResponse  # noqa: E402
from agents.memory import SessionABC  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage  # noqa: E402
from openai.types.responses import (ResponseFunctionToolCall, ResponseOutputMessage,  # noqa: E402
                                    ResponseOutputText)

from pathway_memory import Err, InvalidName, Memory, NamedLog, Ok  # noqa: E402
from pathway_memory.agents import PathwaySession, SessionFormatError  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def wasm() -> str:
    path = os.environ.get("PATHWAY_WASM")
    if not path or not os.path.isfile(path):
        pytest.fail(f"set PATHWAY_WASM to the built component (got {path!r})", pytrace=False)
    return path


@pytest.fixture
def memory(tmp_path: Path, wasm: str) -> Iterator[Memory]:
    m = Memory.open(tmp_path, wasm=wasm)
    yield m
    m.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def msg(i: int) -> dict:
    return {"role": "user", "content": f"message {i}"}


def lines(directory: Path, name: str) -> List[dict]:
    return [json.loads(line) for line in (directory / f"{name}.jsonl").read_text().splitlines()]


# -- unit tests -------------------------------------------------------------


def test_is_a_session(memory: Memory) -> None:
    session = PathwaySession("s", memory=memory)
    assert isinstance(session, SessionABC)
    assert session.session_id == "s"
    assert run(session.get_items()) == []
    assert run(session.get_items(3)) == []


def test_get_items_limits(memory: Memory) -> None:
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(i) for i in range(5)]))
    run(session.add_items([]))
    run(session.add_items([msg(i) for i in range(5, 10)]))
    every = [msg(i) for i in range(10)]
    assert run(session.get_items()) == every
    assert run(session.get_items(None)) == every
    assert run(session.get_items(0)) == []
    assert run(session.get_items(1)) == [msg(9)]
    assert run(session.get_items(3)) == every[-3:]
    assert run(session.get_items(10)) == every
    assert run(session.get_items(1000)) == every
    assert run(session.get_items(-1)) == every              # as SQLiteSession: no limit


def test_session_settings_limit(memory: Memory) -> None:
    session = PathwaySession("s", memory=memory, session_settings={"limit": 2})
    run(session.add_items([msg(i) for i in range(5)]))
    assert run(session.get_items()) == [msg(3), msg(4)]
    assert run(session.get_items(4)) == [msg(i) for i in range(1, 5)]


def test_get_items_reads_only_the_end(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(i) for i in range(2000)]))
    asked: List[int] = []
    real_last = NamedLog.last

    def spy(self: NamedLog, count: int) -> Any:
        asked.append(count)
        return real_last(self, count)

    monkeypatch.setattr(NamedLog, "replay", lambda self: pytest.fail("replay() read the whole log"))
    monkeypatch.setattr(NamedLog, "last", spy)
    assert run(session.get_items(5)) == [msg(i) for i in range(1995, 2000)]
    assert asked and max(asked) < 50
    asked.clear()
    assert run(session.pop_item()) == msg(1999)
    assert max(asked) < 50


def test_pop_semantics(tmp_path: Path, memory: Memory) -> None:
    session = PathwaySession("s", memory=memory)
    assert run(session.pop_item()) is None                  # empty: nothing, nothing written
    assert not (tmp_path / "s.jsonl").exists()
    run(session.add_items([msg(i) for i in range(6)]))
    assert run(session.pop_item()) == msg(5)
    assert run(session.pop_item()) == msg(4)
    assert run(session.pop_item()) == msg(3)
    assert run(session.get_items()) == [msg(0), msg(1), msg(2)]
    assert run(session.get_items(2)) == [msg(1), msg(2)]
    run(session.add_items([msg(10)]))
    assert run(session.get_items(2)) == [msg(2), msg(10)]
    assert run(session.pop_item()) == msg(10)
    assert [run(session.pop_item()) for _ in range(3)] == [msg(2), msg(1), msg(0)]
    assert run(session.pop_item()) is None
    assert run(session.pop_item()) is None
    assert run(session.get_items()) == []
    assert run(session.get_items(5)) == []
    # Every pop names the item it retracts; numbers grow across all events.
    events = lines(tmp_path, "s")
    assert [e["n"] for e in events] == list(range(len(events)))
    assert [e["pop"] for e in events if "pop" in e] == [5, 4, 3, 9, 2, 1, 0]


def test_many_pops_then_limit(memory: Memory) -> None:
    # Retractions among the newest records: get_items(limit) reads further back.
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(i) for i in range(100)]))
    for i in range(99, 29, -1):
        assert run(session.pop_item()) == msg(i)
    assert run(session.get_items(3)) == [msg(27), msg(28), msg(29)]
    assert run(session.get_items(1)) == [msg(29)]
    assert run(session.get_items()) == [msg(i) for i in range(30)]


def test_pop_is_idempotent_and_never_takes_another_item(tmp_path: Path, memory: Memory,
                                                        wasm: str) -> None:
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(i) for i in range(4)]))
    assert run(session.pop_item()) == msg(3)
    pop_event = (tmp_path / "s.jsonl").read_text().splitlines()[-1]
    # The same pop event stored twice (an append sent again) retracts once.
    session.log.try_append(pop_event)
    assert run(session.get_items()) == [msg(0), msg(1), msg(2)]
    # A torn pop (a crash mid-write) is a damaged line: the item is still there.
    with open(tmp_path / "s.jsonl", "a") as f:
        f.write('{"n":99,"pop":')
    assert isinstance(session.log.last(1).entries[-1], Err)
    assert run(session.get_items()) == [msg(0), msg(1), msg(2)]
    session.log.repair()
    assert run(session.pop_item()) == msg(2)
    assert run(session.get_items()) == [msg(0), msg(1)]
    # A reopened session sees the same.
    other = Memory.open(tmp_path, wasm=wasm)
    try:
        assert run(PathwaySession("s", memory=other).get_items()) == [msg(0), msg(1)]
    finally:
        other.close()


def test_torn_add_is_skipped_and_the_session_goes_on(tmp_path: Path, memory: Memory) -> None:
    # A crash tore the last add: that item is lost, no other; adding and
    # popping go on without a repair.
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(i) for i in range(3)]))
    with open(tmp_path / "s.jsonl", "a") as f:
        f.write('{"n":3,"item":{"role":"us')
    assert run(session.get_items()) == [msg(0), msg(1), msg(2)]
    assert run(session.get_items(1)) == [msg(2)]
    run(session.add_items([msg(9)]))
    assert run(session.get_items(2)) == [msg(2), msg(9)]
    assert run(session.pop_item()) == msg(9)
    assert run(session.pop_item()) == msg(2)
    assert run(session.get_items()) == [msg(0), msg(1)]


def test_compact_folds_the_pops(tmp_path: Path, memory: Memory, wasm: str) -> None:
    session = PathwaySession("s", memory=memory)
    assert session.compact() is None                        # no log: nothing to fold
    run(session.add_items([msg(i) for i in range(6)]))
    assert session.compact() is None                        # no pop: nothing to fold
    for i in (5, 4):
        assert run(session.pop_item()) == msg(i)
    run(session.add_items([msg(6)]))
    assert run(session.pop_item()) == msg(6)                # the newest event is a pop
    before = run(session.get_items())
    report = session.compact()
    assert report is not None
    assert run(session.get_items()) == before == [msg(i) for i in range(4)]
    assert lines(tmp_path, "s") == [{"n": i, "item": msg(i)} for i in range(4)] + [{"n": 9, "pop": -1}]
    assert session.log.check().clean
    # Numbering goes on after the fold; pops and adds work as before.
    run(session.add_items([msg(7)]))
    assert lines(tmp_path, "s")[-1] == {"n": 10, "item": msg(7)}
    assert run(session.pop_item()) == msg(7)
    assert run(session.pop_item()) == msg(3)
    assert run(session.get_items(2)) == [msg(1), msg(2)]
    reopened = PathwaySession.open("s", tmp_path, wasm=wasm)
    try:
        assert run(reopened.get_items()) == [msg(0), msg(1), msg(2)]
        assert reopened.compact() is not None
        assert lines(tmp_path, "s") == [{"n": i, "item": msg(i)} for i in range(3)] + [{"n": 12, "pop": -1}]
        assert [run(reopened.pop_item()) for _ in range(4)] == [msg(2), msg(1), msg(0), None]
        assert reopened.compact() is not None               # every item popped
        assert lines(tmp_path, "s") == [{"n": 15, "pop": -1}]
        assert run(reopened.get_items()) == []
    finally:
        reopened.close()


def test_pop_survives_sigkill(tmp_path: Path, wasm: str) -> None:
    # A process pops and is killed right after: a reopened session has lost
    # exactly the popped item, no other.
    code = (
        "import asyncio, os, sys\n"
        "from pathway_memory.agents import PathwaySession\n"
        "s = PathwaySession.open('s', sys.argv[1], wasm=sys.argv[2], sync='always')\n"
        "asyncio.run(s.add_items([{'i': i} for i in range(5)]))\n"
        "print(asyncio.run(s.pop_item()), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), wasm], cwd=HERE,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == -9, out.stderr
    assert out.stdout.strip() == "{'i': 4}"
    session = PathwaySession.open("s", tmp_path, wasm=wasm)
    try:
        assert run(session.get_items()) == [{"i": i} for i in range(4)]
    finally:
        session.close()


def test_clear_touches_no_other_session(tmp_path: Path, memory: Memory) -> None:
    a = PathwaySession("a", memory=memory)
    b = PathwaySession("a-b", memory=memory)
    c = PathwaySession("b", memory=memory)
    for s in (a, b, c):
        run(s.add_items([msg(1), msg(2)]))
    run(a.clear_session())
    assert run(a.get_items()) == []
    assert run(a.pop_item()) is None
    assert run(b.get_items()) == [msg(1), msg(2)]
    assert run(c.get_items()) == [msg(1), msg(2)]
    assert sorted(i.name for i in memory.logs()) == ["a-b", "b"]
    run(a.clear_session())                                 # clearing again is fine
    run(a.add_items([msg(3)]))                             # a new log starts
    assert run(a.get_items()) == [msg(3)]
    assert lines(tmp_path, "a") == [{"n": 0, "item": msg(3)}]
    assert run(b.get_items()) == [msg(1), msg(2)]


@pytest.mark.parametrize("bad", ["", "a/b", "../etc", ".hidden", "x.jsonl", "x" * 201, "a\nb"])
def test_ids_that_are_not_names(tmp_path: Path, memory: Memory, wasm: str, bad: str) -> None:
    with pytest.raises(InvalidName) as e:
        PathwaySession(bad, memory=memory)
    assert e.value.cause == "invalid-name"
    with pytest.raises(InvalidName):
        PathwaySession.open(bad, tmp_path, wasm=wasm)
    assert list(tmp_path.iterdir()) == []                 # nothing was created


def test_ids_that_are_names(tmp_path: Path, memory: Memory) -> None:
    for sid in ["user:42 session=9", "3f2b1c9e-8d0a-4c7e-9a51-2f6a1b3c4d5e", "é-日本"]:
        s = PathwaySession(sid, memory=memory)
        run(s.add_items([msg(1)]))
        assert run(s.get_items()) == [msg(1)]
    with pytest.raises(TypeError):
        PathwaySession(42, memory=memory)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PathwaySession("s")


def test_foreign_record_is_a_clear_error(memory: Memory) -> None:
    session = PathwaySession("s", memory=memory)
    run(session.add_items([msg(1)]))
    session.log.try_append('{"role":"user"}')
    with pytest.raises(SessionFormatError, match="not a session event"):
        run(session.get_items())
    # Another session is unaffected.
    other = PathwaySession("t", memory=memory)
    run(other.add_items([msg(2)]))
    assert run(other.get_items()) == [msg(2)]


def test_unicode_and_nested_items_round_trip(tmp_path: Path, memory: Memory) -> None:
    session = PathwaySession("s", memory=memory)
    item = {"role": "assistant", "content": [{"type": "output_text", "text": "héllo \u2028 \"q\" 日本",
                                              "annotations": []}], "status": "completed"}
    run(session.add_items([item, {"x": None, "y": [1, 2.5, True]}]))
    assert run(session.get_items()) == [item, {"x": None, "y": [1, 2.5, True]}]
    assert all(isinstance(e, Ok) for e in session.log.replay())


def test_import_without_openai_agents(tmp_path: Path) -> None:
    # `import pathway_memory` never needs openai-agents; importing the adapter
    # without it says what to install.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'agents' or name.startswith('agents.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pathway_memory\n"
        "assert 'agents' not in sys.modules\n"
        "try:\n"
        "    import pathway_memory.agents\n"
        "except ImportError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install openai-agents==0.24.0" in out.stdout


# -- end to end: the SDK's Runner with a scripted model ---------------------


class ScriptedModel(Model):
    """A Model that answers from a script and records the input of every call."""

    def __init__(self, script: List[List[Any]]) -> None:
        self.script = list(script)
        self.inputs: List[Any] = []

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema,
                           handoffs, tracing, *, previous_response_id=None, conversation_id=None,
                           prompt=None) -> ModelResponse:
        self.inputs.append(json.loads(json.dumps(input, default=str)))
        return ModelResponse(output=self.script.pop(0), usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the test does not stream")
        yield  # pragma: no cover


def say(text: str, i: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(id=f"msg_{i}", type="message", role="assistant", status="completed",
                                 content=[ResponseOutputText(type="output_text", text=text,
                                                             annotations=[])])


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def contents(items: List[Any]) -> List[str]:
    """What each item says: a message's text, a call's name, a call's output."""
    said = []
    for item in items:
        if item.get("type") == "function_call":
            said.append(f"call {item['name']}")
        elif item.get("type") == "function_call_output":
            said.append(f"output {item['output']}")
        else:
            content = item["content"]
            said.append(content if isinstance(content, str) else content[0]["text"])
    return said


def test_runner_end_to_end(tmp_path: Path, wasm: str) -> None:
    model = ScriptedModel([
        [ResponseFunctionToolCall(id="fc_1", call_id="call_1", type="function_call",
                                  name="weather", arguments='{"city": "Paris"}')],
        [say("It is sunny in Paris.", 1)],
        [say("You asked about Paris.", 2)],
        [say("Still Paris.", 3)],
    ])
    agent = Agent(name="assistant", instructions="Be brief.", model=model, tools=[weather])
    config = RunConfig(tracing_disabled=True)

    async def first_two() -> None:
        session = PathwaySession.open("conv-1", tmp_path, wasm=wasm)
        try:
            r1 = await Runner.run(agent, "What is the weather in Paris?", session=session,
                                  run_config=config)
            assert r1.final_output == "It is sunny in Paris."
            r2 = await Runner.run(agent, "What did I ask?", session=session, run_config=config)
            assert r2.final_output == "You asked about Paris."
            assert contents(await session.get_items()) == [
                "What is the weather in Paris?", "call weather", "output sunny in Paris",
                "It is sunny in Paris.", "What did I ask?", "You asked about Paris."]
        finally:
            session.close()

    run(first_two())
    # The second run's model call saw the first run's conversation, from the log.
    assert contents(model.inputs[2]) == [
        "What is the weather in Paris?", "call weather", "output sunny in Paris",
        "It is sunny in Paris.", "What did I ask?"]

    async def after_reopen() -> None:
        session = PathwaySession.open("conv-1", tmp_path, wasm=wasm)   # a fresh instance
        try:
            assert len(await session.get_items()) == 6
            r3 = await Runner.run(agent, "And now?", session=session, run_config=config)
            assert r3.final_output == "Still Paris."
            # Correct the last turn the way the SDK's docs do: pop the answer and the question.
            assert contents([await session.pop_item()]) == ["Still Paris."]
            assert contents([await session.pop_item()]) == ["And now?"]
            assert contents(await session.get_items(2)) == ["What did I ask?",
                                                            "You asked about Paris."]
        finally:
            session.close()

    run(after_reopen())
    assert contents(model.inputs[3])[:6] == contents(model.inputs[2]) + ["You asked about Paris."]
    assert contents(model.inputs[3])[-1] == "And now?"
    # The log is plain JSONL: one event per line, items as the SDK gave them.
    events = lines(tmp_path, "conv-1")
    assert len(events) == 10 and [e["n"] for e in events] == list(range(10))
    assert events[-2:] == [{"n": 8, "pop": 7}, {"n": 9, "pop": 6}]
