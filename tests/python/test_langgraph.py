"""baton.langgraph: learned conditional edges on a compiled LangGraph graph."""

import asyncio
from typing import Any, TypedDict

import numpy as np
import pytest
from langgraph.graph import END, START, StateGraph

import baton
from baton.langgraph import HANDOFF_KEY, Report, Router


class State(TypedDict, total=False):
    hard: int
    answered_by: str
    baton_handoff: Any


# Triage sees whether a question is hard and hands it to a cheap or a strong solver. The cheap one answers easy
# questions only (reward 1) at cost 0.1; the strong one answers both at cost 0.5. Right route: easy -> cheap
# (0.9 against 0.5), hard -> strong (0.5 against -0.1).
def cheap(state):
    return Report({"answered_by": "cheap"}, reward=0.0 if state["hard"] else 1.0, cost=0.1)


def strong(state):
    return Report({"answered_by": "strong"}, reward=1.0, cost=0.5)


def triage(state):
    return Report({}, cost=0.01)


def build(router, asynchronous=False):
    graph = StateGraph(State)
    nodes = {"triage": triage, "cheap": cheap, "strong": strong}
    if asynchronous:
        nodes = {name: _async(f) for name, f in nodes.items()}
    router.add_node(graph, "triage", nodes["triage"], observe=lambda s: s["hard"], n_obs=2, routes=["cheap", "strong"])
    router.add_node(graph, "cheap", nodes["cheap"], observe=lambda s: s["hard"], n_obs=2, routes=[END])
    router.add_node(graph, "strong", nodes["strong"], observe=lambda s: 0, n_obs=1, routes=[END])
    router.check()
    graph.add_edge(START, "triage")
    return graph.compile()


def _async(f):
    async def node(state):
        await asyncio.sleep(0)
        return f(state)

    return node


def questions(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{"hard": int(h)} for h in rng.integers(0, 2, n)]


def test_triage_learns_the_right_edge_and_exactly_one_scalar_crosses_per_handoff():
    router = Router(seed=1)
    app = build(router)
    learned = []  # every learn call: (node, v)
    replies = []  # every reply computed
    for name, agent in router.agents.items():
        learn, reply = agent.learn, agent.reply
        agent.learn = lambda o, a, r, d, v, _n=name, _l=learn: (learned.append((_n, v)), _l(o, a, r, d, v))[1]
        agent.reply = lambda o, _r=reply: (replies.append(_r(o)), replies[-1])[1]
    carried = []  # every float in the reserved key, as the graph state carried it
    other_keys = set()
    for q in questions(400):
        for update in app.stream(q, stream_mode="updates"):
            for node, delta in update.items():
                message = delta[HANDOFF_KEY]
                other_keys |= set(delta) - {HANDOFF_KEY, "answered_by"}
                assert set(message) <= {"to", "handoff", "reply"}
                assert isinstance(message["to"], str) and isinstance(message["handoff"], int)
                if "reply" in message:
                    assert set(message["reply"]) == {"handoff", "v"}
                    carried.append(message["reply"]["v"])
    assert other_keys == set()
    # 400 invocations: triage -> solver (one reply), solver -> END (no reply, v = 0): 800 updates.
    assert len(carried) == 400 and carried == replies
    triage_vs = [v for n, v in learned if n == "triage"]
    solver_vs = [v for n, v in learned if n != "triage"]
    assert triage_vs == carried and len(solver_vs) == 400 and set(solver_vs) == {0.0}
    assert sum(a.updates for a in router.agents.values()) == 800

    triage_q = router.agents["triage"].q
    assert triage_q[0].argmax() == 0 and triage_q[1].argmax() == 1, triage_q
    assert triage_q[0, 0] == pytest.approx(0.89, abs=0.05) and triage_q[1, 1] == pytest.approx(0.49, abs=0.05)

    router.freeze()
    for hard, right in ((0, "cheap"), (1, "strong")):
        assert app.invoke({"hard": hard})["answered_by"] == right


def test_frozen_mode_is_greedy_and_learns_nothing():
    router = Router(seed=2)
    app = build(router)
    for q in questions(200, seed=1):
        app.invoke(q)
    router.freeze()
    before = {n: (a.updates, a.q.copy()) for n, a in router.agents.items()}
    for q in questions(50, seed=2):
        out = app.invoke(q)
        assert "reply" not in out[HANDOFF_KEY] and "handoff" not in out[HANDOFF_KEY]
        assert out["answered_by"] == ("strong" if q["hard"] else "cheap")
    for n, a in router.agents.items():
        assert a.updates == before[n][0] and np.array_equal(a.q, before[n][1])


def test_save_load_round_trip(tmp_path):
    router = Router(seed=3)
    app = build(router)
    for q in questions(200, seed=3):
        app.invoke(q)
    router.save(tmp_path / "policy")
    assert sorted(p.name for p in (tmp_path / "policy").iterdir()) == [
        "cheap.safetensors", "strong.safetensors", "triage.safetensors"]

    fresh = Router(mode="frozen", seed=9)
    fresh_app = build(fresh)
    assert fresh_app.invoke({"hard": 1})["answered_by"] == "cheap"  # untrained: ties go to the first route
    fresh.load(tmp_path / "policy")
    for n, a in router.agents.items():
        assert np.array_equal(fresh.agents[n].q, a.q) and fresh.agents[n].updates == a.updates
    assert fresh_app.invoke({"hard": 1})["answered_by"] == "strong"
    assert fresh_app.invoke({"hard": 0})["answered_by"] == "cheap"
    # A checkpoint of another node is refused.
    (tmp_path / "policy" / "cheap.safetensors").write_bytes((tmp_path / "policy" / "strong.safetensors").read_bytes())
    with pytest.raises(ValueError):
        fresh.load(tmp_path / "policy")


def test_async_invoke_learns_with_concurrent_invocations():
    router = Router(seed=4)
    app = build(router, asynchronous=True)

    async def main():
        for batch in range(20):
            await asyncio.gather(*(app.ainvoke(q) for q in questions(20, seed=100 + batch)))

    asyncio.run(main())
    assert sum(a.updates for a in router.agents.values()) == 800
    assert router.pending == 0
    q = router.agents["triage"].q
    assert q[0].argmax() == 0 and q[1].argmax() == 1, q


def test_bad_input_is_refused():
    router = Router()
    graph = StateGraph(State)
    with pytest.raises(ValueError, match="mode"):
        Router(mode="greedy")
    with pytest.raises(ValueError, match="routes"):
        router.add_node(graph, "a", triage, observe=lambda s: 0, n_obs=1, routes=[])
    router.add_node(graph, "a", triage, observe=lambda s: 5, n_obs=2, routes=["b"])
    with pytest.raises(ValueError, match="route 'b'"):
        router.check()
    router.add_node(graph, "b", lambda s: {HANDOFF_KEY: 1}, observe=lambda s: 0, n_obs=1, routes=[END])
    graph.add_edge(START, "a")
    app = graph.compile()
    with pytest.raises(ValueError, match="observe returned 5"):
        app.invoke({"hard": 0})
    class Bare(TypedDict):
        hard: int

    with pytest.raises(ValueError, match="must declare the key 'baton_handoff'"):
        Router().add_node(StateGraph(Bare), "a", triage, observe=lambda s: 0, n_obs=1, routes=[END])
    with pytest.raises(ValueError, match="n_obs"):
        baton.IcqAgent.for_interface("x", 0, 2)


def test_decide_after_credits_the_work_to_the_handoff_that_asked_for_it():
    # Work on receipt: triage works first (it looks at the question), then observes the state with its update
    # applied and picks; the solvers are terminal nodes whose reward and cost go to triage's pick.
    router = Router(seed=5, decide="after")
    graph = StateGraph(State)

    def look(state):
        return Report({"answered_by": "nobody yet"}, cost=0.01)  # dropped: no handoff brought triage the work

    def observe(state):
        assert state["answered_by"] == "nobody yet"  # the node's own update is visible
        return state["hard"]

    router.add_node(graph, "triage", look, observe=observe, n_obs=2, routes=["cheap", "strong"])
    router.add_terminal(graph, "cheap", cheap)
    router.add_terminal(graph, "strong", strong)
    router.check()
    graph.add_edge(START, "triage")
    app = graph.compile()
    for q in questions(300, seed=5):
        app.invoke(q)
    assert router.stats == {"handoffs": 300, "transfers": 0, "scalars": 0} and router.pending == 0
    q = router.agents["triage"].q
    # The terminal's reward - cost is the whole target (v = 0); triage's own 0.01 is not in it.
    assert q[0, 0] == pytest.approx(0.9, abs=0.02) and q[0, 1] == pytest.approx(0.5, abs=0.02)
    assert q[1, 0] == pytest.approx(-0.1, abs=0.02) and q[1, 1] == pytest.approx(0.5, abs=0.02)
    router.freeze()
    assert app.invoke({"hard": 1})["answered_by"] == "strong"
    with pytest.raises(ValueError, match="decide"):
        Router(decide="sideways")
    other = Router()
    agent = baton.IcqAgent.for_interface("x", 3, 2)
    with pytest.raises(ValueError, match="3 x 2"):
        other.add_node(StateGraph(State), "x", look, observe=observe, n_obs=3, routes=["a", "b", "c"], agent=agent)
