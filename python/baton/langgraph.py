"""``baton.langgraph``: a LangGraph node's outgoing conditional edge as a learned IC-Q decision.

Each learned node has its own ``IcqAgent`` over its own interface: an ``observe`` function (graph state -> the
node's observation id in ``0..n_obs``; the node sees only what it declares) and its candidate next nodes. When a
node starts it observes the state and its agent picks the next node; the node's work runs and reports its reward
and cost (``Report``); the conditional edge follows the pick. When the receiving node starts, its agent's
``reply`` (``max_a Q(o', a)``) travels back in the graph state under the one reserved key ``HANDOFF_KEY``, and the
sender learns from ``reward - cost + gamma**duration * reply`` (0 instead of the reply when the sender picked
``END``). That reply is the only value that passes between nodes' learners.

    router = Router(mode="train", seed=0, behaviour={"kind": "epsilon-greedy", "epsilon": 0.1})
    graph = StateGraph(State)              # State declares HANDOFF_KEY (any type), e.g. baton_handoff: dict
    router.add_node(graph, "triage", triage, observe=lambda s: s["kind"], n_obs=2, routes=["cheap", "strong"])
    router.add_node(graph, "cheap", cheap, observe=lambda s: 0, n_obs=1, routes=[END])
    ...
    app = graph.compile(); app.invoke(...) / await app.ainvoke(...)
    router.freeze(); router.save("policy/"); router.load("policy/")

Modes: ``"train"`` (the behaviour policy picks, every handoff is learned from), ``"frozen"`` (greedy, no
exploration, no reply, no update). The pending handoffs of invocations in flight are kept in the router (keyed by
a handoff id that travels in the state), so concurrent invocations of one compiled graph learn correctly.
"""

from __future__ import annotations

import inspect
import itertools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from langgraph.graph import END

from .agents import IcqAgent

HANDOFF_KEY = "baton_handoff"
"""The one state key baton uses: ``{"to": next node, "handoff": id, "reply": {"handoff": id, "v": float}}``."""

MODES = ("train", "frozen")
MAX_PENDING = 100_000
"""Handoffs awaiting their reply at most (invocations that died mid-way leave theirs; the oldest are dropped)."""


@dataclass
class Report:
    """What a learned node's function returns: its state ``update`` and what its work earned and cost, in the
    same units (the learner's reward is ``reward - cost``), over ``duration`` steps (at least 1)."""

    update: Dict[str, Any] = field(default_factory=dict)
    reward: float = 0.0
    cost: float = 0.0
    duration: int = 1


@dataclass
class _Node:
    name: str
    agent: IcqAgent
    observe: Callable[[Any], int]
    n_obs: int
    routes: List[str]


class Router:
    """The learned nodes of one graph and their agents.

    ``discount`` is gamma per step; ``seed`` seeds node ``i``'s exploration stream (``seed + i``); keyword
    arguments are the ``[learner]`` table of every node's ``IcqAgent`` (``behaviour``, ``step_exponent``, ...).
    """

    def __init__(self, mode: str = "train", seed: int = 0, discount: float = 1.0, **learner: Any):
        self._nodes: Dict[str, _Node] = {}
        self._seed = seed
        self._discount = discount
        self._learner = learner
        self._pending: Dict[int, Tuple[str, int, int, float, int]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self.mode = "train"
        self.set_mode(mode)

    # -- building ---------------------------------------------------------------------------------------------

    def add_node(
        self,
        graph: Any,
        name: str,
        fn: Callable[[Any], Any],
        *,
        observe: Callable[[Any], int],
        n_obs: int,
        routes: List[str],
    ) -> IcqAgent:
        """Add ``fn`` (sync or async; returns a ``Report`` or a plain update dict, which reports 0 and 0) to the
        ``StateGraph`` ``graph`` as node ``name``, with a conditional edge to one of ``routes`` (other learned
        nodes or ``END``) that the node's agent picks. Returns the agent."""
        if HANDOFF_KEY not in getattr(graph, "channels", {}):
            raise ValueError(f"node {name!r}: the graph's state schema must declare the key {HANDOFF_KEY!r}")
        if name in self._nodes:
            raise ValueError(f"node {name!r}: already added")
        if not routes or len(set(routes)) != len(routes):
            raise ValueError(f"node {name!r}: routes must name at least one next node, each once: {routes}")
        agent = IcqAgent.for_interface(
            name, n_obs, len(routes), discount=self._discount, env_id="langgraph", role=len(self._nodes),
            seed=self._seed + len(self._nodes), **self._learner,
        )
        node = _Node(name, agent, observe, n_obs, list(routes))
        self._nodes[name] = node
        if inspect.iscoroutinefunction(fn):

            async def run(state: Any) -> Dict[str, Any]:
                start = self._start(node, state)
                return self._finish(node, start, await fn(state))

        else:

            def run(state: Any) -> Dict[str, Any]:
                start = self._start(node, state)
                return self._finish(node, start, fn(state))

        graph.add_node(name, run)
        graph.add_conditional_edges(name, lambda state: self._route(node, state), {r: r for r in routes})
        return agent

    def check(self) -> None:
        """Every route names a learned node or ``END`` (call after adding the nodes)."""
        for node in self._nodes.values():
            for r in node.routes:
                if r != END and r not in self._nodes:
                    raise ValueError(f"node {node.name!r}: route {r!r} is not a learned node or END")

    # -- modes, checkpoints -------------------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """``"train"`` or ``"frozen"``; takes effect at the next node that starts."""
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {MODES}")
        self.mode = mode

    def freeze(self) -> None:
        """Greedy decisions, no exploration, no replies, no updates."""
        self.set_mode("frozen")

    @property
    def agents(self) -> Dict[str, IcqAgent]:
        return {name: node.agent for name, node in self._nodes.items()}

    def save(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        """One checkpoint per node, ``directory/<node>.safetensors`` (each written atomically)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for name, node in self._nodes.items():
            node.agent.save(path / f"{name}.safetensors", agent_id=name)

    def load(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        """Replace every node's table with its checkpoint in ``directory`` (same node, role and shape)."""
        path = Path(directory)
        for name, node in self._nodes.items():
            saved_as = node.agent.load(path / f"{name}.safetensors")
            if saved_as != name:
                raise ValueError(f"{path / (name + '.safetensors')}: is node {saved_as!r}'s, not {name!r}'s")

    # -- one node's step --------------------------------------------------------------------------------------

    def _observe(self, node: _Node, state: Any) -> int:
        o = node.observe(state)
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < node.n_obs:
            raise ValueError(f"node {node.name!r}: observe returned {o!r}, not an int in 0..{node.n_obs}")
        return o

    def _start(self, node: _Node, state: Any) -> Tuple[int, int, Optional[Dict[str, Any]]]:
        """The node starts: its observation, its pick, and its reply to the sender that handed to it."""
        o = self._observe(node, state)
        inbound = state.get(HANDOFF_KEY) or {}
        if self.mode == "frozen":
            return o, node.agent.greedy(o), None
        reply = None
        if inbound.get("to") == node.name and "handoff" in inbound:
            reply = {"handoff": inbound["handoff"], "v": node.agent.reply(o)}
        return o, node.agent.act(o), reply

    def _finish(self, node: _Node, start: Tuple[int, int, Optional[Dict[str, Any]]], out: Any) -> Dict[str, Any]:
        o, a, reply = start
        report = out if isinstance(out, Report) else Report(update=dict(out or {}))
        if HANDOFF_KEY in report.update:
            raise ValueError(f"node {node.name!r}: the state key {HANDOFF_KEY!r} is baton's")
        if isinstance(report.duration, bool) or not isinstance(report.duration, int) or report.duration < 1:
            raise ValueError(f"node {node.name!r}: Report.duration {report.duration!r} must be an int >= 1")
        message: Dict[str, Any] = {"to": node.routes[a]}
        if self.mode == "train":
            h = next(self._ids)
            with self._lock:
                self._pending[h] = (node.name, o, a, float(report.reward) - float(report.cost), report.duration)
                while len(self._pending) > MAX_PENDING:
                    self._pending.pop(next(iter(self._pending)))
            message["handoff"] = h
            if reply is not None:
                message["reply"] = reply
        return {**report.update, HANDOFF_KEY: message}

    def _route(self, node: _Node, state: Any) -> str:
        """The conditional edge: settle the reply this node sent back, end the node's own handoff if it picked
        ``END``, follow the pick."""
        message = state[HANDOFF_KEY]
        if self.mode == "train":
            reply = message.get("reply")
            if reply is not None:
                self._learn(reply["handoff"], reply["v"])
            if message["to"] == END:
                self._learn(message["handoff"], 0.0)
        return message["to"]

    def _learn(self, handoff: int, v: float) -> None:
        with self._lock:
            pending = self._pending.pop(handoff, None)
        if pending is None:
            return  # dropped (MAX_PENDING) or already learned
        sender, o, a, reward, duration = pending
        self._nodes[sender].agent.learn(o, a, reward, duration, v)
