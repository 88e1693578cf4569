"""The five-agent GSM8K workflow as a LangGraph graph whose every handoff is learned with ``baton.langgraph``.

    python examples/python/langgraph_gsm8k.py --config experiments/math-gsm8k-langgraph.toml --out DIR

The nodes are the math workflow's agents (docs/model.md 6.4): the cheap solver (Mixtral-8x7B), the strong solver
(GPT-4-1106), the arithmetic checker, the critic and the submit desk, plus two terminal nodes that submit the cheap
or the strong answer. A solver node asks baton's replay backend for the recorded answer to its question
(``MathWorld.solve``: the text, its grade and its cost); the checker runs baton's arithmetic checker on the
answers' text; the critic (when the config has one) judges each answer. Each node works on receipt
(``Router(decide="after")``), then observes the artifact through its own interface (``MathWorld.observe``, the
workflow's encoding) and its own IC-Q agent picks the next node among the legal ones. A handoff to a node earns
``-lambda * USD`` of that node's work; a submission earns 1 if the submitted answer is right. The only value
that crosses between the agents' learners is the receiver's reply, one per handoff, in the state key
``baton_handoff``.

For every lambda and seed of the config the script trains the agents on ``episodes`` training questions (the
questions the runner draws for that seed), freezes them, plays every held-out question once through the graph and
keeps what happened; ``DIR/summary.json`` and ``DIR/metrics.jsonl`` are then written by the runner's own summary
code, which also scores the config's fixed strategies. The agents, their exploration streams and the training
questions are the runner's, so the figures equal those of ``baton run`` on the same config.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, TypedDict

from langgraph.graph import START, StateGraph

import baton
from baton.langgraph import Report, Router

CHEAP, STRONG = 0, 1
PENDING, FINE, FLAGGED = 0, 1, 2
# Node names: the agents' (baton's spec), then the two submissions. An agent's action i hands to ROUTES[i].
AGENTS = ["cheap-solver", "strong-solver", "checker", "critic", "submit"]
ROUTES = AGENTS + ["submit-cheap", "submit-strong"]


class State(TypedDict, total=False):
    question: int  # data-set index
    long_question: bool
    # Per solver (cheap, strong): None until it answered, then its answer and the verdicts on it.
    answers: List[Optional[Dict[str, Any]]]
    agree: bool
    holders: List[str]  # the learned nodes that held the artifact, in order (one handoff each)
    spent_usd: float
    submitted: int
    baton_handoff: Any  # baton's reserved key


def observation(world: baton.MathWorld, agent: int, state: Dict[str, Any]) -> int:
    """What ``agent`` sees of the artifact: the workflow's own encoding (``baton_envs::math::env::observe``)."""
    answers = state["answers"]
    present = [a is not None for a in answers]
    check = [a["check"] if a else PENDING for a in answers]
    critic = [a["critic"] if a else PENDING for a in answers]
    long_cheap = bool(answers[CHEAP] and answers[CHEAP]["long"])
    # Whether the checker, the critic and the desk held the artifact before this visit (the last entry).
    held = [AGENTS[k] in state["holders"][:-1] for k in (2, 3, 4)]
    return world.observe(
        agent, present, check, critic, state["agree"], long_cheap, state["long_question"], held
    )


def build(world: baton.MathWorld, router: Router, lam: float, seed: int):
    """The graph at price ``lam``; the agents are the runner's for ``seed``."""

    def arrive(state: Dict[str, Any], me: str) -> Dict[str, Any]:
        return {"holders": state["holders"] + [me]}

    def solver(m: int):
        def work(state):
            q = state["question"]
            answers = list(state["answers"])
            a = world.solve(q, m)
            answers[m] = {**a, "check": PENDING, "critic": PENDING}
            other = answers[1 - m]
            agree = other is not None and world.agree(q, answers[CHEAP]["text"], answers[STRONG]["text"])
            update = {**arrive(state, AGENTS[m]), "answers": answers, "agree": agree,
                      "spent_usd": state["spent_usd"] + a["cost_usd"]}
            return Report(update, cost=lam * a["cost_usd"])

        return work

    def checker(state):
        answers = [dict(a) if a else None for a in state["answers"]]
        for a in answers:
            if a is not None and a["check"] == PENDING:
                a["check"] = FLAGGED if world.check(state["question"], a["text"]) else FINE
        return Report({**arrive(state, "checker"), "answers": answers, "spent_usd": state["spent_usd"] + 0.0})

    def critic(state):
        answers = [dict(a) if a else None for a in state["answers"]]
        cost = 0.0
        for m, a in enumerate(answers):
            if a is not None and a["critic"] == PENDING:
                flags, usd = world.critique(state["question"], m, a["text"], a["correct"])
                a["critic"] = FLAGGED if flags else FINE
                cost += usd
        update = {**arrive(state, "critic"), "answers": answers, "spent_usd": state["spent_usd"] + cost}
        return Report(update, cost=lam * cost)

    def desk(state):
        return Report({**arrive(state, "submit"), "spent_usd": state["spent_usd"] + 0.0})

    def submit(m: int):
        def work(state):
            return Report({"submitted": m}, reward=1.0 if state["answers"][m]["correct"] else 0.0)

        return work

    graph = StateGraph(State)
    for i, fn in enumerate([solver(CHEAP), solver(STRONG), checker, critic, desk]):
        router.add_node(
            graph, AGENTS[i], fn, observe=lambda s, _i=i: observation(world, _i, s), routes=ROUTES,
            agent=world.agent(i, seed),
        )
    router.add_terminal(graph, "submit-cheap", submit(CHEAP))
    router.add_terminal(graph, "submit-strong", submit(STRONG))
    router.check()
    graph.add_edge(START, "submit")
    return graph.compile()


def job(
    world: baton.MathWorld, lam: float, seed: int, episodes: int, long_q: Dict[int, bool]
) -> Tuple[Dict[str, Any], float]:
    """Train at ``lam`` for seed ``seed``, then play the held-out questions greedily: the job's record (and the
    held-out accuracy, for the progress line; the summary grades the records with the runner's table)."""
    router = Router(mode="train", decide="after")
    app = build(world, router, lam, seed)
    config = {"recursion_limit": 64}

    def start(q: int) -> Dict[str, Any]:
        return {"question": q, "long_question": long_q[q], "answers": [None, None], "agree": False,
                "holders": [], "spent_usd": 0.0}

    for q in world.training_questions(seed, episodes):
        app.invoke(start(q), config)
    if router.pending:
        raise RuntimeError(f"{router.pending} handoffs were never learned")
    router.freeze()
    records = []
    right = 0
    for q in world.test:
        out = app.invoke(start(q), config)
        answers = out["answers"]
        right += answers[out["submitted"]]["correct"]
        calls = [answers[CHEAP] is not None, answers[STRONG] is not None,
                 any(a is not None and a["check"] != PENDING for a in answers),
                 any(a is not None and a["critic"] != PENDING for a in answers)]
        records.append({"question": q, "submitted": out["submitted"], "handoffs": len(out["holders"]),
                        "cost_usd": out["spent_usd"], "calls": calls})
    s = router.stats
    return {"method": "ic-q", "lambda": lam, "seed": seed,
            "train": [episodes, s["handoffs"], s["transfers"], s["scalars"]], "records": records}, right / len(records)


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="a math config (kind = \"math\"), e.g. "
                   "experiments/math-gsm8k-langgraph.toml")
    p.add_argument("--out", required=True, type=Path, help="directory for summary.json and metrics.jsonl")
    p.add_argument("--force", action="store_true", help="overwrite an existing summary.json")
    args = p.parse_args(argv)
    world = baton.MathWorld(args.config)
    methods = world.methods
    learning = [m for m in methods if m not in ("cheap-only", "strong-only", "cascade", "both-tie")]
    if learning != ["ic-q"]:
        p.error(f"{args.config}: methods: the graph trains ic-q only (beside the fixed strategies), got {methods}")
    if (args.out / "summary.json").exists() and not args.force:
        p.error(f"{args.out}/summary.json exists (pass --force to overwrite)")
    args.out.mkdir(parents=True, exist_ok=True)
    long_q = {q: world.long_question(q) for q in list(world.train) + list(world.test)}
    started = time.monotonic()
    jobs = []
    for lam in world.lambdas:
        for seed in world.seeds:
            record, acc = job(world, lam, seed, world.episodes, long_q)
            jobs.append(record)
            print(f"lambda {lam:g} seed {seed}: held-out accuracy {acc:.4f} "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    summary, metrics = world.summary(jobs)
    write_atomically(args.out / "summary.json", summary)
    write_atomically(args.out / "metrics.jsonl", metrics)
    rows = [r for r in json.loads(summary)["rows"]]
    print(f"{'method':<12} {'lambda':>7} {'accuracy':>9} {'95% CI':>17} {'$/1k':>8}")
    for r in rows:
        lam = "" if r["lambda"] is None else f"{r['lambda']:g}"
        lo, hi = r["accuracy_ci95"]
        print(f"{r['method']:<12} {lam:>7} {r['accuracy']:9.4f} [{lo:.4f}, {hi:.4f}] {r['cost_per_1k_usd']:8.3f}")
    print(f"wrote {args.out / 'summary.json'} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
