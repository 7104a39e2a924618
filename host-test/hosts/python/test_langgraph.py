"""PathwaySaver (pathway_memory.langgraph) against langgraph-checkpoint-conformance
0.0.2 and a real StateGraph. Run by frameworks.sh (its own venv, with the pins
of requirements-frameworks.txt); needs $PATHWAY_WASM."""

import asyncio
import json
import operator
import os
import tempfile
import uuid
from typing import Annotated, TypedDict

import pytest

pytest.importorskip("langgraph")

from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES  # noqa: E402
from langgraph.checkpoint.conformance.report import ProgressCallbacks  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402

from pathway_memory import InvalidName, LogExists  # noqa: E402
from pathway_memory.langgraph import CorruptThread, PathwaySaver  # noqa: E402

WASM = os.environ.get("PATHWAY_WASM")
pytestmark = pytest.mark.skipif(not WASM, reason="set PATHWAY_WASM to the component")


@pytest.fixture
def saver(tmp_path):
    with PathwaySaver.open(str(tmp_path), wasm=WASM) as s:
        yield s


def test_conformance_full():
    @checkpointer_test(name="PathwaySaver")
    async def factory():
        d = tempfile.TemporaryDirectory()
        s = PathwaySaver(d.name, wasm=WASM)
        try:
            yield s
        finally:
            s.close()
            d.cleanup()

    report = asyncio.run(validate(factory, progress=ProgressCallbacks.verbose()))
    report.print_report()
    detected = sorted(c for c, r in report.results.items() if r.detected)
    passed = sum(r.tests_passed for r in report.results.values())
    failed = sum(r.tests_failed for r in report.results.values())
    print(f"capabilities detected: {len(detected)} of {len(ALL_CAPABILITIES)}: {detected}")
    print(f"tests: {passed} passed, {failed} failed; level {report.conformance_level()}")
    failures = [f for r in report.results.values() for f in r.failures]
    assert not failures, failures
    assert len(detected) == len(ALL_CAPABILITIES) == 8
    assert report.conformance_level() == "FULL"


class State(TypedDict):
    steps: Annotated[list, operator.add]
    approved: str


def build(saver):
    def plan(state):
        return {"steps": ["plan"]}

    def ask(state):
        answer = interrupt({"question": "approve?"})
        return {"approved": answer, "steps": [f"ask:{answer}"]}

    def act(state):
        return {"steps": [f"act:{state['approved']}"]}

    g = StateGraph(State)
    g.add_node("plan", plan)
    g.add_node("ask", ask)
    g.add_node("act", act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "ask")
    g.add_edge("ask", "act")
    g.add_edge("act", END)
    return g.compile(checkpointer=saver)


def test_graph_interrupt_resume_time_travel_replay(tmp_path):
    cfg = {"configurable": {"thread_id": "thread-1"}}
    saver = PathwaySaver(str(tmp_path), wasm=WASM)
    graph = build(saver)

    # run until the interrupt
    out = graph.invoke({"steps": [], "approved": ""}, cfg)
    assert out["steps"] == ["plan"]
    assert "__interrupt__" in out
    state = graph.get_state(cfg)
    assert state.next == ("ask",)

    # a fresh saver (a new process would do the same) resumes from the log
    saver.close()
    saver = PathwaySaver(str(tmp_path), wasm=WASM)
    graph = build(saver)
    out = graph.invoke(Command(resume="yes"), cfg)
    assert out["steps"] == ["plan", "ask:yes", "act:yes"]
    assert graph.get_state(cfg).next == ()

    # replay the history: newest first, back to the input checkpoint
    history = list(graph.get_state_history(cfg))
    assert [h.values.get("steps") for h in history][0] == ["plan", "ask:yes", "act:yes"]
    assert history[-1].metadata["source"] == "input"
    assert len(history) >= 4
    ids = [h.config["configurable"]["checkpoint_id"] for h in history]
    assert ids == sorted(ids, reverse=True)

    # time travel: back to the checkpoint before "plan" ran, and branch from it
    # (a checkpoint at "ask" keeps the writes of the run that left it: replaying
    # from there returns them, as with any saver; update_state forks it, below)
    at_plan = next(h for h in history if h.next == ("plan",))
    out = graph.invoke(None, at_plan.config)
    assert "__interrupt__" in out
    out = graph.invoke(Command(resume="no"), cfg)
    assert out["steps"] == ["plan", "ask:no", "act:no"]
    latest = graph.get_state(cfg)
    assert latest.values["steps"] == ["plan", "ask:no", "act:no"]
    at_ask = next(h for h in history if h.next == ("ask",))
    # the branch's parent chain goes through the old checkpoint
    chain, c = [], latest
    while c is not None and c.parent_config:
        chain.append(c.parent_config["configurable"]["checkpoint_id"])
        c = graph.get_state(c.parent_config)
    assert at_plan.config["configurable"]["checkpoint_id"] in chain
    assert at_ask.config["configurable"]["checkpoint_id"] not in chain
    # both branches are in the history
    finals = [h.values.get("steps") for h in graph.get_state_history(cfg) if h.next == ()]
    assert ["plan", "ask:yes", "act:yes"] in finals and ["plan", "ask:no", "act:no"] in finals

    # update_state forks from an earlier checkpoint too
    forked = graph.update_state(at_ask.config, {"approved": "maybe"}, as_node="ask")
    out = graph.invoke(None, forked)
    assert out["steps"][-1] == "act:maybe"

    # the log is plain JSONL: every line a JSON object of the saver
    with open(tmp_path / "thread-1.jsonl") as f:
        kinds = {json.loads(line)["k"] for line in f}
    assert kinds == {"cp", "w"}

    # copy the thread (fork_log) and go on in the copy only
    saver.copy_thread("thread-1", "thread-2")
    cfg2 = {"configurable": {"thread_id": "thread-2"}}
    assert graph.get_state(cfg2).values == graph.get_state(cfg).values
    assert graph.get_state(cfg2).config["configurable"]["thread_id"] == "thread-2"
    n1 = len(list(graph.get_state_history(cfg)))
    graph.invoke({"steps": ["again"], "approved": ""}, cfg2)
    assert len(list(graph.get_state_history(cfg))) == n1
    with pytest.raises(LogExists):
        saver.copy_thread("thread-1", "thread-2")
    saver.close()


def test_async_graph(tmp_path):
    async def main():
        async with PathwaySaver.open(str(tmp_path), wasm=WASM) as saver:
            graph = build(saver)
            cfg = {"configurable": {"thread_id": "a"}}
            await graph.ainvoke({"steps": [], "approved": ""}, cfg)
            out = await graph.ainvoke(Command(resume="ok"), cfg)
            assert out["steps"] == ["plan", "ask:ok", "act:ok"]
            assert len([h async for h in graph.aget_state_history(cfg)]) >= 4
    asyncio.run(main())


def test_bad_thread_id(saver):
    graph = build(saver)
    with pytest.raises(InvalidName):
        graph.invoke({"steps": [], "approved": ""}, {"configurable": {"thread_id": "../etc"}})
    with pytest.raises(InvalidName):
        saver.get_tuple({"configurable": {"thread_id": "a/b"}})
    with pytest.raises(InvalidName):
        saver.delete_thread(".hidden")


def test_unencodable_value(saver):
    cfg = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    with pytest.raises(TypeError, match="cannot encode the write to channel 'ch'"):
        saver.put_writes({"configurable": {**cfg["configurable"], "checkpoint_id": "1"}},
                         [("ch", object())], "task")
    cp = {**__import__("langgraph.checkpoint.base", fromlist=["x"]).empty_checkpoint(),
          "channel_values": {"x": object()}}
    with pytest.raises(TypeError, match="cannot encode checkpoint"):
        saver.put(cfg, cp, {}, {})
    assert saver.memory.log("t").replay() == []  # nothing was written


def test_corrupt_line_is_one_threads_problem(tmp_path, saver):
    graph = build(saver)
    for t in ("good", "bad"):
        graph.invoke({"steps": [], "approved": ""}, {"configurable": {"thread_id": t}})
    with open(tmp_path / "bad.jsonl", "ab") as f:
        f.write(b'{"k":"cp", not json\n')
    with pytest.raises(CorruptThread, match="'bad'"):
        saver.get_tuple({"configurable": {"thread_id": "bad"}})
    assert saver.get_tuple({"configurable": {"thread_id": "good"}}) is not None
    saver.delete_thread("bad")
    assert saver.get_tuple({"configurable": {"thread_id": "good"}}) is not None


def test_prune_and_delete_for_runs_rewrite_the_log(tmp_path, saver):
    graph = build(saver)
    cfg = {"configurable": {"thread_id": "p"}}
    graph.invoke({"steps": [], "approved": ""}, cfg)
    graph.invoke(Command(resume="y"), cfg)
    run = uuid.uuid4()
    graph.invoke({"steps": ["x"], "approved": ""}, {"configurable": {"thread_id": "q"}, "metadata": {"run_id": str(run)}})  # as the LangGraph server sets it
    before = (tmp_path / "p.jsonl").stat().st_size
    latest = saver.get_tuple(cfg)
    saver.prune(["p"])
    assert (tmp_path / "p.jsonl").stat().st_size < before
    assert [t.checkpoint["id"] for t in saver.list(cfg)] == [latest.checkpoint["id"]]
    assert graph.get_state(cfg).values == {"steps": ["plan", "ask:y", "act:y"], "approved": "y"}
    # the thread goes on after a prune
    graph.invoke({"steps": ["more"], "approved": ""}, cfg)
    state = graph.get_state(cfg)
    assert state.next == ("ask",)
    assert state.values["steps"] == ["plan", "ask:y", "act:y", "more", "plan"]

    q_runs = {t.metadata.get("run_id") for t in saver.list({"configurable": {"thread_id": "q"}})}
    assert q_runs == {str(run)}, q_runs
    p_ids = [t.checkpoint["id"] for t in saver.list(cfg)]
    saver.delete_for_runs(sorted(q_runs))
    assert list(saver.list({"configurable": {"thread_id": "q"}})) == []
    assert [t.checkpoint["id"] for t in saver.list(cfg)] == p_ids
    saver.prune(["p"], strategy="delete")
    assert not (tmp_path / "p.jsonl").exists()
