"""``baton.IcqAgent``: one agent's IC-Q learner (the Rust ``baton_learn::IcqAgent``), tabular or neural."""

from __future__ import annotations

import json
import os
from typing import Any, Optional, Union

import numpy as np

from . import _baton


class IcqAgent:
    """One agent's IC-Q learner over its own interface.

    ``env`` is a ``baton.envs`` environment and ``agent`` its name or index; keyword arguments mirror the
    ``[learner]`` table (``step_exponent``, ``constant_step_size``, ``behaviour={"kind": "uniform"}``) and
    are checked by the same validation. ``seed`` seeds the agent's own exploration stream (and a network's
    initialisation).

    ``network={...}`` (the ``[learner.network]`` table: ``width``, ``eta``, ``radius``, ``features``,
    ``symmetric``, ``tail_fraction``) makes the agent neural: model.md 3's two-layer ReLU network
    (``baton_learn::NeuralQ``) instead of a table, with the same methods. Its Polyak tail average, which
    ``Solution.score`` evaluates as ``baton run`` does, starts after ``tail_fraction * planned_updates`` of its
    updates (``planned_updates`` 0: it averages every update).
    """

    def __init__(self, env: Any, agent: Union[str, int], seed: int = 0, planned_updates: int = 0, **learner: Any):
        core_env = env.unwrapped._core
        index = agent if isinstance(agent, int) else env.unwrapped.agent_index(agent)
        self._core = _baton.IcqAgent(core_env, index, json.dumps(learner), seed, planned_updates)
        self.name: str = core_env.agent_names()[index]

    @classmethod
    def for_interface(
        cls,
        name: str,
        n_obs: int,
        n_actions: int,
        discount: float = 1.0,
        env_id: str = "pipeline",
        role: int = 0,
        seed: int = 0,
        planned_updates: int = 0,
        **learner: Any,
    ) -> "IcqAgent":
        """The learner of an agent that is not part of a ``baton.envs`` environment (a LangGraph node, a
        service): ``n_obs`` observations, ``n_actions`` actions all legal everywhere, ``discount`` per step.
        ``env_id`` and ``role`` identify it in checkpoints (``load`` refuses another's)."""
        self = cls.__new__(cls)
        self._core = _baton.IcqAgent.interface(name, n_obs, n_actions, discount, env_id, role, json.dumps(learner), seed,
                                              planned_updates)
        self.name = name
        return self

    def act(self, obs: int, mask: Optional[np.ndarray] = None) -> int:
        """The behaviour policy's action at ``obs``; ``mask`` (PettingZoo's ``action_mask``) must allow it."""
        return self._core.act(obs, None if mask is None else mask.tobytes())

    def greedy(self, obs: int) -> int:
        """The greedy action at ``obs`` (ties: lowest index)."""
        return self._core.greedy(obs)

    def reply(self, obs: int) -> float:
        """As the receiver: the one scalar ``max_a Q(obs, a)`` sent back to the sender."""
        return self._core.reply(obs)

    def learn(self, obs: int, action: int, reward: float, duration: int, v: float) -> float:
        """As the sender: move ``Q(obs, action)`` towards ``reward + gamma**duration * v``; returns the TD error."""
        return self._core.learn(obs, action, reward, duration, v)

    def save(self, path: Union[str, "os.PathLike[str]"], agent_id: Optional[str] = None) -> None:
        """Write the learner to ``path`` atomically as safetensors; ``agent_id`` (default: the agent's name) is
        the service id recorded in it. A table is written in the agent services' checkpoint format (the
        ``learner.safetensors`` of ``baton agent serve``); a network as its whole state
        (``baton-neural-checkpoint-v1``: weights, initialisation, tail-average accumulators, step counter), so
        that a loaded network continues exactly as the saved one would have."""
        self._core.save(os.fspath(path), self.name if agent_id is None else agent_id)

    def load(self, path: Union[str, "os.PathLike[str]"]) -> str:
        """Replace the learner's state with a checkpoint's (written by ``save`` or by an agent service) of the
        same role, environment, kind and shape; returns the service id recorded in it."""
        return self._core.load(os.fspath(path))

    @property
    def neural(self) -> bool:
        """Whether the learner is a network (``network=...``) rather than a table."""
        return self._core.neural

    @property
    def q(self) -> np.ndarray:
        """``Q(o, a)`` as an ``(n_obs, n_actions)`` array (a copy; a network's current output)."""
        return np.asarray(self._core.q_table()).reshape(self._core.shape)

    @property
    def updates(self) -> int:
        """Updates applied so far."""
        return self._core.updates
