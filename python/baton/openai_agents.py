"""``baton.openai_agents``: learned handoffs for the OpenAI Agents SDK (``pip install openai-agents``).

In the SDK a handoff is a tool call the model chooses. Here a learned IC-Q policy chooses it instead: each learned
agent gets one SDK ``Handoff`` per candidate next agent and its model is wrapped so that the model never sees the
handoffs (it is called with none); the agent's own IC-Q learner picks the next agent (or ``FINISH``) from the
observation its ``observe`` function declares, and the wrapper emits the handoff call itself. The SDK then runs
the handoff through its own machinery (``on_handoff``, ``input_filter``, tracing, ``RunResult.last_agent``).

    policy = HandoffPolicy(mode="train", cost=lambda agent, usage: price[agent] * usage.total_tokens,
                           behaviour={"kind": "epsilon-greedy", "epsilon": 0.1})
    policy.learned(triage, observe=lambda ctx, out: ctx["kind"], n_obs=3, routes=[billing, tech], decide="before")
    policy.learned(billing, observe=lambda ctx, out: ..., n_obs=4, routes=[FINISH, tech])
    result = await policy.run(triage, "my invoice is wrong", context={...}, reward=lambda result: grade(result))

When an agent decides: ``decide="before"``: on its first model call of a visit, before any work; a handoff is then
emitted without calling the model at all (no tokens spent on routing), ``FINISH`` lets the model answer.
``decide="after"`` (work on receipt): the model answers (its own function tools run as usual), and when it gives a
final answer the policy picks; a handoff is appended to that response, so the next agent sees the answer.

Learning (model.md 2): a pick opens a record; the USD (or other cost units) of every model call that follows,
``cost(agent_name, usage)``, is charged to the latest pick; when the receiving agent decides, its learner's reply
``max_a Q(o', a)`` is the one number the sender learns from; ``FINISH`` is learned from ``reward(result)`` when
the run returns. Runs go through ``HandoffPolicy.run`` (the SDK's model interface does not pass the run context
to a model, so the run's bookkeeping travels in a context variable that ``run`` sets); concurrent runs
(``asyncio.gather``) are kept apart. Streaming runs are not supported.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from agents import Agent, Runner, handoff
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall

from .agents import IcqAgent

FINISH = None
"""A route that ends the run with the agent's own answer."""

MODES = ("train", "frozen")
DECIDE = ("before", "after")


@dataclass
class _Node:
    name: str
    learner: IcqAgent
    observe: Callable[[Any, Optional[str]], int]
    n_obs: int
    routes: List[Optional[str]]
    decide: str


@dataclass
class _Run:
    """One run's bookkeeping."""

    context: Any
    holder: Optional[str] = None  # the learned agent holding the work
    decided: bool = False  # the holder has picked in this visit
    inbound: Optional[tuple] = None  # (receiver, handoff id) of the last pick of another agent
    current: Optional[int] = None  # the open record that costs are charged to
    picks: List[Optional[str]] = field(default_factory=list)  # every pick, in order (None: FINISH)


_RUN: contextvars.ContextVar[Optional[_Run]] = contextvars.ContextVar("baton_openai_agents_run", default=None)


class HandoffPolicy:
    """The learned agents of one SDK pipeline and their IC-Q learners.

    ``cost(agent_name, usage)`` prices a model call (default 0); ``seed`` seeds agent ``i``'s exploration stream;
    keyword arguments are the ``[learner]`` table of every learner (``behaviour``, ``step_exponent``, ...).
    """

    def __init__(
        self,
        mode: str = "train",
        seed: int = 0,
        discount: float = 1.0,
        cost: Optional[Callable[[str, Usage], float]] = None,
        **learner: Any,
    ):
        self._nodes: Dict[str, _Node] = {}
        self._seed = seed
        self._discount = discount
        self._learner = learner
        self._cost = cost or (lambda name, usage: 0.0)
        self._pending: Dict[int, List[Any]] = {}  # id -> [agent, obs, action, reward, duration]
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self.stats = {"handoffs": 0, "transfers": 0, "scalars": 0}
        """Learned picks (updates), those that passed the work to another agent, and the replies they used."""
        self.mode = "train"
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """``"train"`` or ``"frozen"`` (greedy picks, no replies, no updates)."""
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {MODES}")
        self.mode = mode

    def freeze(self) -> None:
        self.set_mode("frozen")

    @property
    def learners(self) -> Dict[str, IcqAgent]:
        return {name: node.learner for name, node in self._nodes.items()}

    def learned(
        self,
        agent: Agent,
        *,
        observe: Callable[[Any, Optional[str]], int],
        n_obs: int,
        routes: List[Optional[Agent]],
        decide: str = "after",
    ) -> IcqAgent:
        """Make ``agent``'s handoff a learned decision among ``routes`` (other agents, each made learned too, or
        ``FINISH``). ``observe(context, output)`` is the agent's observation in ``0..n_obs`` (``output``: the
        model's final text with ``decide="after"``, None with ``"before"``). Replaces ``agent.handoffs`` with one
        SDK handoff per route and wraps ``agent.model`` (a ``Model`` instance). Returns the learner."""
        if decide not in DECIDE:
            raise ValueError(f"agent {agent.name!r}: decide {decide!r} is not one of {DECIDE}")
        if agent.name in self._nodes:
            raise ValueError(f"agent {agent.name!r}: already learned")
        if not isinstance(agent.model, Model):
            raise ValueError(f"agent {agent.name!r}: model must be a Model instance (e.g. OpenAIChatCompletionsModel)")
        names = [None if r is FINISH else r.name for r in routes]
        if not routes or len(set(names)) != len(names):
            raise ValueError(f"agent {agent.name!r}: routes must name at least one next agent or FINISH, each once")
        learner = IcqAgent.for_interface(
            agent.name, n_obs, len(routes), discount=self._discount, env_id="openai-agents", role=len(self._nodes),
            seed=self._seed + len(self._nodes), **self._learner,
        )
        self._nodes[agent.name] = _Node(agent.name, learner, observe, n_obs, names, decide)
        agent.handoffs = [handoff(r) for r in routes if r is not FINISH]
        agent.model = _LearnedModel(self, agent.name, agent.model)
        return learner

    def check(self) -> None:
        """Every route is a learned agent or FINISH."""
        for node in self._nodes.values():
            for r in node.routes:
                if r is not None and r not in self._nodes:
                    raise ValueError(f"agent {node.name!r}: route {r!r} is not a learned agent")

    async def run(
        self,
        starting_agent: Agent,
        input: Any,
        *,
        context: Any = None,
        reward: Optional[Callable[[Any], float]] = None,
        **kwargs: Any,
    ) -> Any:
        """``Runner.run(starting_agent, input, context=context, **kwargs)`` with the learned handoffs; in
        ``"train"`` mode ``reward(result)`` is what the run's final answer earned (learned by the agent that
        picked ``FINISH``). A run that raises learns nothing from its open picks."""
        self.check()
        if self.mode == "train" and reward is None:
            raise ValueError("reward: a training run needs reward(result)")
        run = _Run(context)
        token = _RUN.set(run)
        try:
            result = await Runner.run(starting_agent, input, context=context, **kwargs)
        except BaseException:
            self._drop(run)
            raise
        finally:
            _RUN.reset(token)
        if self.mode == "train":
            if run.current is not None:
                self._charge(run.current, float(reward(result)))
                self._learn(run.current, 0.0, transfer=False)
        result.baton_picks = list(run.picks)
        return result

    # -- bookkeeping -----------------------------------------------------------------------------------------

    def _charge(self, record: Optional[int], amount: float) -> None:
        if record is None:
            return
        with self._lock:
            r = self._pending.get(record)
            if r is not None:
                r[3] += amount

    def _learn(self, record: int, v: float, transfer: bool) -> None:
        with self._lock:
            r = self._pending.pop(record, None)
            if r is None:
                return
            self.stats["handoffs"] += 1
            self.stats["transfers"] += int(transfer)
            self.stats["scalars"] += int(transfer)
        name, o, a, reward, duration = r
        self._nodes[name].learner.learn(o, a, reward, duration, v)

    def _drop(self, run: _Run) -> None:
        with self._lock:
            for record in (run.current, run.inbound[1] if run.inbound else None):
                if record is not None:
                    self._pending.pop(record, None)

    def _decide(self, run: _Run, node: _Node, output: Optional[str]) -> Optional[str]:
        """The node picks its next agent (or FINISH) at its observation; it replies to the pick that brought it
        the work, whose sender learns from that one number."""
        o = node.observe(run.context, output)
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < node.n_obs:
            raise ValueError(f"agent {node.name!r}: observe returned {o!r}, not an int in 0..{node.n_obs}")
        inbound = run.inbound if run.inbound and run.inbound[0] == node.name else None
        run.inbound = None
        if self.mode == "frozen":
            a = node.learner.greedy(o)
        else:
            if inbound is not None:
                self._learn(inbound[1], node.learner.reply(o), transfer=True)
            a = node.learner.act(o)
            h = next(self._ids)
            with self._lock:
                self._pending[h] = [node.name, o, a, 0.0, 1]
            run.current = h
        target = node.routes[a]
        if target is not None and self.mode == "train":
            run.inbound = (target, run.current)
        run.decided = True
        run.picks.append(target)
        return target


def _handoff_call(handoffs: List[Any], target: str, name: str) -> ResponseFunctionToolCall:
    for h in handoffs:
        if h.agent_name == target:
            call_id = f"call_baton_{next(_CALLS)}"
            return ResponseFunctionToolCall(
                id=f"fc_{call_id}", call_id=call_id, name=h.tool_name, arguments="{}", type="function_call",
                status="completed",
            )
    raise RuntimeError(f"agent {name!r}: its handoff to {target!r} is not enabled")


_CALLS = itertools.count()


def _final_text(response: ModelResponse) -> Optional[str]:
    """The response's answer text if it is final (no tool call), else None."""
    text = []
    for item in response.output:
        kind = getattr(item, "type", None)
        if kind in ("function_call", "computer_call", "file_search_call", "web_search_call", "custom_tool_call"):
            return None
        if kind == "message":
            text.extend(getattr(c, "text", "") for c in item.content)
    return "".join(text)


class _LearnedModel(Model):
    """An agent's model with its handoff decided by the policy: the model is called without handoffs."""

    def __init__(self, policy: HandoffPolicy, name: str, inner: Model):
        self._policy = policy
        self._name = name
        self._inner = inner

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                           tracing, **kwargs):
        run = _RUN.get()
        if run is None:
            raise RuntimeError(f"agent {self._name!r} has learned handoffs: run it with HandoffPolicy.run")
        policy, node = self._policy, self._policy._nodes[self._name]
        if run.holder != node.name:  # the work arrived here: a new visit
            run.holder, run.decided = node.name, False
        if node.decide == "before" and not run.decided:
            target = policy._decide(run, node, None)
            if target is not None:
                call = _handoff_call(handoffs, target, node.name)
                return ModelResponse(output=[call], usage=Usage(), response_id=None)
        response = await self._inner.get_response(
            system_instructions, input, model_settings, tools, output_schema, [], tracing, **kwargs
        )
        if policy.mode == "train":
            policy._charge(run.current, -float(policy._cost(node.name, response.usage)))
        if node.decide == "after" and not run.decided:
            text = _final_text(response)
            if text is not None:
                target = policy._decide(run, node, text)
                if target is not None:
                    call = _handoff_call(handoffs, target, node.name)
                    return ModelResponse(output=[*response.output, call], usage=response.usage,
                                         response_id=response.response_id)
        return response

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError("learned handoffs run through HandoffPolicy.run, which does not stream")
