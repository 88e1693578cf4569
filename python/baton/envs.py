"""baton's workloads as PettingZoo ``AECEnv`` environments.

Each factory takes the keyword arguments of the workload's TOML ``[workload]`` table and passes them to the
same Rust validation as a config file (a bad one raises ``ValueError`` naming the field). One AEC step is
one decision of the agent holding an artifact (routing: the router at whose queue head the packet is);
every handoff that completes before the next decision is reported to its sender: its reward ``R`` in
``rewards`` and ``infos[sender]`` = ``{"duration": tau, "receiver": name or None, "receiver_obs": o',
"terminated": bool}``. The receiver's scalar is ``agents[receiver].reply(receiver_obs)`` (the learner's, not
the environment's).
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from . import _baton

__all__ = ["BatonEnv", "synthetic", "routing", "math", "cpu", "finite"]


class BatonEnv(AECEnv):
    """A baton workload as an agent-environment-cycle environment (see the module's doc)."""

    metadata = {"render_modes": [], "name": "baton_v0", "is_parallelizable": False}

    def __init__(self, table: Dict[str, Any], load: Optional[float] = None, max_cycles: Optional[int] = None,
                 render_mode: Optional[str] = None, lam: Optional[float] = None, k: Optional[int] = None):
        super().__init__()
        if render_mode is not None:
            raise ValueError("render_mode: baton environments do not render")
        if max_cycles is not None and (not isinstance(max_cycles, int) or max_cycles < 1):
            raise ValueError(f"max_cycles: {max_cycles!r} must be a positive integer")
        self.render_mode = None
        self._table = dict(table)
        self._core = _baton.make_env(json.dumps(self._table), secrets.randbits(63), load, lam, k)
        self.max_cycles = max_cycles
        names: List[str] = self._core.agent_names()
        self.possible_agents = list(names)
        self._names = names
        self._index = {n: i for i, n in enumerate(names)}
        self._shapes = [self._core.agent_shape(i) for i in range(len(names))]
        self.observation_spaces = {
            n: spaces.Dict({
                "observation": spaces.Discrete(n_obs),
                "action_mask": spaces.Box(0, 1, shape=(n_act,), dtype=np.int8),
            })
            for n, (n_obs, n_act) in zip(names, self._shapes)
        }
        self.action_spaces = {n: spaces.Discrete(n_act) for n, (_, n_act) in zip(names, self._shapes)}
        self._masks: Dict[Tuple[int, int], np.ndarray] = {}
        self._obs = [0] * len(names)
        self.agents: List[str] = []
        self._rewarded: List[str] = []

    # PettingZoo API --------------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def agent_index(self, agent: str) -> int:
        """The index of agent ``agent`` (its ``AgentId``)."""
        try:
            return self._index[agent]
        except KeyError:
            raise ValueError(f"agent {agent!r}: not one of {self.possible_agents}") from None

    def action_mask(self, agent: str, obs: int) -> np.ndarray:
        """The legal actions of ``agent`` at ``obs`` as an ``int8`` mask (cached, do not modify)."""
        key = (self._index[agent], obs)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.frombuffer(bytes(self._core.legal_mask(key[0], obs)), dtype=np.int8)
            self._masks[key] = mask
        return mask

    def observe(self, agent: str) -> Dict[str, Any]:
        obs = self._obs[self._index[agent]]
        return {"observation": np.int64(obs), "action_mask": self.action_mask(agent, obs)}

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed: {seed!r} must be a non-negative integer")
        decision, handoffs = self._core.reset(None if seed is None else int(seed))
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self._obs = [0] * len(self._names)
        self._rewarded = []
        self._cycles = 0
        self._apply(decision, handoffs)

    def step(self, action: Optional[int]) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None:
            raise ValueError(f"{agent} must act: None is only for agents that are done")
        self._cumulative_rewards[agent] = 0.0
        decision, handoffs = self._core.step(int(action))
        self._cycles += 1
        self._apply(decision, handoffs)

    def close(self) -> None:
        pass

    def render(self) -> None:
        return None

    # -----------------------------------------------------------------------------------------------------
    def _apply(self, decision: Optional[Tuple[int, int]], handoffs: List[tuple]) -> None:
        names = self._names
        rewards = self.rewards
        for a in self._rewarded:
            if a in rewards:
                rewards[a] = 0.0
        rewarded = []
        for sender, reward, duration, receiver, receiver_obs in handoffs:
            name = names[sender]
            rewards[name] += reward
            self._cumulative_rewards[name] += reward
            rewarded.append(name)
            if receiver >= 0:
                self.infos[name] = {"duration": duration, "receiver": names[receiver],
                                    "receiver_obs": receiver_obs, "terminated": False}
            else:
                self.infos[name] = {"duration": duration, "receiver": None, "receiver_obs": None,
                                    "terminated": receiver == -1}
        self._rewarded = rewarded
        if decision is None:
            for a in self.agents:
                self.terminations[a] = True
            self.agent_selection = self.agents[0]
            return
        agent, obs = decision
        self._obs[agent] = obs
        self.agent_selection = names[agent]
        if self.max_cycles is not None and self._cycles >= self.max_cycles:
            for a in self.agents:
                self.truncations[a] = True


def synthetic(max_cycles: Optional[int] = None, **table: Any) -> BatonEnv:
    """The synthetic IC-SMDP (model.md 6.1); keyword arguments as in ``[workload] kind = "synthetic"``."""
    return BatonEnv(dict(kind="synthetic", **table), max_cycles=max_cycles)


def routing(load: Optional[float] = None, max_cycles: Optional[int] = 10_000, **table: Any) -> BatonEnv:
    """Packet routing (model.md 6.2) at ``load`` (default: the table's first of ``loads``); keyword arguments
    as in ``[workload] kind = "routing"``. The network never empties, so an episode is ``max_cycles``
    decisions (then every router is truncated)."""
    return BatonEnv(dict(kind="routing", **table), load=load, max_cycles=max_cycles)


def math(lam: Optional[float] = None, max_cycles: Optional[int] = None, **table: Any) -> BatonEnv:
    """The multi-LLM math workflow (model.md 6.4) at price ``lam`` (default: the table's first of
    ``lambdas``), one episode per training question drawn at random; keyword arguments as in
    ``[workload] kind = "math"``."""
    return BatonEnv(dict(kind="math", **table), lam=lam, max_cycles=max_cycles)


def cpu(k: Optional[int] = None, max_cycles: Optional[int] = None, **table: Any) -> BatonEnv:
    """CPU programming with TinyCPU roles (model.md 6.3) at tester sample size ``k`` (default: ``tester_k``),
    one episode per task drawn at random; keyword arguments as in ``[workload] kind = "cpu"``."""
    return BatonEnv(dict(kind="cpu", **table), k=k, max_cycles=max_cycles)


def finite(path: "str | os.PathLike[str]", max_cycles: Optional[int] = None) -> BatonEnv:
    """An explicit finite IC-SMDP read from a model file (docs/finite.md), as ``[workload] kind = "finite"``
    with ``model = path``: a relative path is taken from the working directory if it exists there, else under
    the data folder. An error in the file raises ``ValueError`` naming the file and the entry (state, action,
    outcome); a missing file ``OSError``."""
    return BatonEnv(dict(kind="finite", model=os.fspath(path)), max_cycles=max_cycles)
