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
exploration, no reply, no update).

When a node decides: ``decide="before"`` (the default) observes the state the node starts with, and a node's
``Report`` is what its own pick earned. ``decide="after"`` is work on receipt, LangGraph's usual reading of a
conditional edge: the node's function runs first, the node observes the state with its update applied, picks and
replies at that observation, and its ``Report`` is credited to the handoff that brought it the work (the sender
pays for the work it asked for; the first node's report has no handoff and is dropped). ``add_terminal`` adds a
node that ends the run: its report is credited to the handoff that reached it, which ends with ``v = 0``. The pending handoffs of invocations in flight are kept in the router (keyed by
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
DECIDE = ("before", "after")
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

    def __init__(
        self, mode: str = "train", seed: int = 0, discount: float = 1.0, decide: str = "before", **learner: Any
    ):
        if decide not in DECIDE:
            raise ValueError(f"decide: {decide!r} is not one of {DECIDE}")
        self._nodes: Dict[str, _Node] = {}
        self._terminals: List[str] = []
        self._seed = seed
        self._discount = discount
        self._learner = learner
        self.decide = decide
        # handoff id -> [sender, observation, action, reward, duration]
        self._pending: Dict[int, List[Any]] = {}
        self.stats = {"handoffs": 0, "transfers": 0, "scalars": 0}
        """Learned handoffs (updates), those that passed the work to a learned node, and the replies they
        used (one per transfer)."""
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
        n_obs: Optional[int] = None,
        routes: List[str],
        agent: Optional[IcqAgent] = None,
    ) -> IcqAgent:
        """Add ``fn`` (sync or async; returns a ``Report`` or a plain update dict, which reports 0 and 0) to the
        ``StateGraph`` ``graph`` as node ``name``, with a conditional edge to one of ``routes`` (other learned
        nodes, terminal nodes or ``END``) that the node's agent picks. ``agent``: a ready learner instead of a
        fresh one over ``n_obs`` observations with every route legal everywhere (e.g. an agent of a baton
        workload, whose legal actions depend on the observation); its actions are the routes, in order.
        Returns the agent."""
        if HANDOFF_KEY not in getattr(graph, "channels", {}):
            raise ValueError(f"node {name!r}: the graph's state schema must declare the key {HANDOFF_KEY!r}")
        if name in self._nodes or name in self._terminals:
            raise ValueError(f"node {name!r}: already added")
        if not routes or len(set(routes)) != len(routes):
            raise ValueError(f"node {name!r}: routes must name at least one next node, each once: {routes}")
        if agent is None:
            if n_obs is None:
                raise ValueError(f"node {name!r}: give n_obs (or a ready agent)")
            agent = IcqAgent.for_interface(
                name, n_obs, len(routes), discount=self._discount, env_id="langgraph", role=len(self._nodes),
                seed=self._seed + len(self._nodes), **self._learner,
            )
        else:
            shape = tuple(agent.q.shape)
            if shape[1] != len(routes) or (n_obs is not None and n_obs != shape[0]):
                raise ValueError(
                    f"node {name!r}: the agent's table is {shape[0]} x {shape[1]}, not {n_obs} x {len(routes)} routes"
                )
            n_obs = shape[0]
        node = _Node(name, agent, observe, n_obs, list(routes))
        self._nodes[name] = node
        if self.decide == "after":
            if inspect.iscoroutinefunction(fn):

                async def run_after(state: Any) -> Dict[str, Any]:
                    return self._after(node, state, await fn(state))

            else:

                def run_after(state: Any) -> Dict[str, Any]:
                    return self._after(node, state, fn(state))

            graph.add_node(name, run_after)
        elif inspect.iscoroutinefunction(fn):

            async def run(state: Any) -> Dict[str, Any]:
                start = self._start(node, state)
                return self._finish(node, start, await fn(state))

        else:

            def run(state: Any) -> Dict[str, Any]:
                start = self._start(node, state)
                return self._finish(node, start, fn(state))

        if self.decide == "before":
            graph.add_node(name, run)
        graph.add_conditional_edges(name, lambda state: self._route(node, state), {r: r for r in routes})
        return agent

    def add_terminal(self, graph: Any, name: str, fn: Callable[[Any], Any]) -> None:
        """Add ``fn`` (sync or async; returns a ``Report`` or an update dict) as node ``name`` that ends the run
        (an edge to ``END``): its reward and cost are credited to the handoff that reached it, whose sender
        learns at once with ``v = 0`` (no reply: the episode ended)."""
        if HANDOFF_KEY not in getattr(graph, "channels", {}):
            raise ValueError(f"node {name!r}: the graph's state schema must declare the key {HANDOFF_KEY!r}")
        if name in self._nodes or name in self._terminals:
            raise ValueError(f"node {name!r}: already added")
        self._terminals.append(name)
        if inspect.iscoroutinefunction(fn):

            async def run(state: Any) -> Dict[str, Any]:
                return self._terminal(name, state, await fn(state))

        else:

            def run(state: Any) -> Dict[str, Any]:
                return self._terminal(name, state, fn(state))

        graph.add_node(name, run)
        graph.add_edge(name, END)

    def check(self) -> None:
        """Every route names a learned node, a terminal node or ``END`` (call after adding the nodes)."""
        for node in self._nodes.values():
            for r in node.routes:
                if r != END and r not in self._nodes and r not in self._terminals:
                    raise ValueError(f"node {node.name!r}: route {r!r} is not a learned node, a terminal or END")

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
    def pending(self) -> int:
        """Handoffs awaiting their reply (0 between invocations that all finished)."""
        with self._lock:
            return len(self._pending)

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

    @staticmethod
    def _report(name: str, out: Any) -> Report:
        report = out if isinstance(out, Report) else Report(update=dict(out or {}))
        if HANDOFF_KEY in report.update:
            raise ValueError(f"node {name!r}: the state key {HANDOFF_KEY!r} is baton's")
        if isinstance(report.duration, bool) or not isinstance(report.duration, int) or report.duration < 1:
            raise ValueError(f"node {name!r}: Report.duration {report.duration!r} must be an int >= 1")
        return report

    def _open(self, node: _Node, o: int, a: int, reward: float, duration: int) -> int:
        """Open the record of the node's handoff; returns its id."""
        h = next(self._ids)
        with self._lock:
            self._pending[h] = [node.name, o, a, reward, duration]
            while len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        return h

    def _credit(self, handoff: int, reward: float, duration: int) -> None:
        """What the receiver's work earned goes to the handoff that brought it the work."""
        with self._lock:
            record = self._pending.get(handoff)
            if record is not None:
                record[3] += reward
                record[4] = duration

    @staticmethod
    def _inbound(name: str, state: Any) -> Optional[int]:
        """The id of the handoff that brought the work to node ``name``, if a learned node sent it."""
        inbound = state.get(HANDOFF_KEY) or {}
        if inbound.get("to") == name and "handoff" in inbound:
            return inbound["handoff"]
        return None

    def _finish(self, node: _Node, start: Tuple[int, int, Optional[Dict[str, Any]]], out: Any) -> Dict[str, Any]:
        o, a, reply = start
        report = self._report(node.name, out)
        message: Dict[str, Any] = {"to": node.routes[a]}
        if self.mode == "train":
            message["handoff"] = self._open(node, o, a, float(report.reward) - float(report.cost), report.duration)
            if reply is not None:
                message["reply"] = reply
        return {**report.update, HANDOFF_KEY: message}

    def _after(self, node: _Node, state: Any, out: Any) -> Dict[str, Any]:
        """``decide="after"``: the node has worked; it observes the state with its update applied, credits its
        report to the inbound handoff, replies and picks."""
        report = self._report(node.name, out)
        o = self._observe(node, {**state, **report.update})
        if self.mode == "frozen":
            return {**report.update, HANDOFF_KEY: {"to": node.routes[node.agent.greedy(o)]}}
        message: Dict[str, Any] = {}
        h_in = self._inbound(node.name, state)
        if h_in is not None:
            self._credit(h_in, float(report.reward) - float(report.cost), report.duration)
            message["reply"] = {"handoff": h_in, "v": node.agent.reply(o)}
        a = node.agent.act(o)
        message["to"] = node.routes[a]
        message["handoff"] = self._open(node, o, a, 0.0, 1)
        return {**report.update, HANDOFF_KEY: message}

    def _terminal(self, name: str, state: Any, out: Any) -> Dict[str, Any]:
        report = self._report(name, out)
        if self.mode == "train":
            h_in = self._inbound(name, state)
            if h_in is not None:
                self._credit(h_in, float(report.reward) - float(report.cost), report.duration)
                self._learn(h_in, 0.0, transfer=False)
        return {**report.update, HANDOFF_KEY: {"to": END}}

    def _route(self, node: _Node, state: Any) -> str:
        """The conditional edge: settle the reply this node sent back, end the node's own handoff if it picked
        ``END``, follow the pick."""
        message = state[HANDOFF_KEY]
        if self.mode == "train":
            reply = message.get("reply")
            if reply is not None:
                self._learn(reply["handoff"], reply["v"], transfer=True)
            if message["to"] == END:
                self._learn(message["handoff"], 0.0, transfer=False)
        return message["to"]

    def _learn(self, handoff: int, v: float, transfer: bool) -> None:
        with self._lock:
            pending = self._pending.pop(handoff, None)
            if pending is not None:
                self.stats["handoffs"] += 1
                self.stats["transfers"] += int(transfer)
                self.stats["scalars"] += int(transfer)
        if pending is None:
            return  # dropped (MAX_PENDING) or already learned
        sender, o, a, reward, duration = pending
        self._nodes[sender].agent.learn(o, a, reward, duration, v)
