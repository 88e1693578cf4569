"""A LangGraph pipeline whose triage edge is learned with baton (runs in a few seconds).

Three nodes: `triage` reads a question's difficulty and hands it to `cheap` or `strong`; each solver answers and
ends the run. The cheap solver answers easy questions only (reward 1, cost 0.1), the strong one answers every
question (reward 1, cost 0.5), so the right edge is easy -> cheap, hard -> strong. Each node has its own IC-Q
agent; the only value that crosses between them is the receiver's reply, one per handoff, in the state key
`baton_handoff`. The script trains with epsilon-greedy exploration, freezes the policy, saves it, loads it into a
fresh router and shows that the frozen copy routes the same way.

    python examples/python/langgraph_router.py [--invocations 400] [--out DIR]
"""

import argparse
import random
import tempfile
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from baton.langgraph import Report, Router


class State(TypedDict, total=False):
    question: str
    hard: int
    answer: str
    baton_handoff: Any  # baton's reserved key


def triage(state):
    return Report({}, cost=0.01)


def cheap(state):
    ok = not state["hard"]
    return Report({"answer": "cheap: " + ("right" if ok else "wrong")}, reward=1.0 if ok else 0.0, cost=0.1)


def strong(state):
    return Report({"answer": "strong: right"}, reward=1.0, cost=0.5)


def build(router):
    graph = StateGraph(State)
    router.add_node(graph, "triage", triage, observe=lambda s: s["hard"], n_obs=2, routes=["cheap", "strong"])
    router.add_node(graph, "cheap", cheap, observe=lambda s: s["hard"], n_obs=2, routes=[END])
    router.add_node(graph, "strong", strong, observe=lambda s: 0, n_obs=1, routes=[END])
    router.check()
    graph.add_edge(START, "triage")
    return graph.compile()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=400)
    parser.add_argument("--out", help="where to save the policy (default: a temporary directory)")
    args = parser.parse_args()

    router = Router(seed=0, behaviour={"kind": "epsilon-greedy", "epsilon": 0.2})
    app = build(router)
    rng = random.Random(0)
    earned = 0.0
    for i in range(args.invocations):
        hard = rng.random() < 0.5
        out = app.invoke({"question": f"q{i}", "hard": int(hard)})
        earned += (1.0 if out["answer"].endswith("right") else 0.0) - (0.1 if out["answer"].startswith("cheap") else 0.5)
    print(f"trained on {args.invocations} invocations, mean reward - cost while exploring {earned / args.invocations:.3f}")
    print("triage Q (rows easy, hard; columns cheap, strong):")
    print(router.agents["triage"].q.round(3))

    router.freeze()
    out_dir = args.out or tempfile.mkdtemp(prefix="baton-langgraph-")
    router.save(out_dir)
    shipped = Router(mode="frozen")
    shipped_app = build(shipped)
    shipped.load(out_dir)
    for hard in (0, 1):
        print(f"frozen copy loaded from {out_dir}: {'hard' if hard else 'easy'} -> "
              f"{shipped_app.invoke({'question': 'new', 'hard': hard})['answer']}")


if __name__ == "__main__":
    main()
