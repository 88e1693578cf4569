"""``baton.MathWorld``: the math workflow's world for a pipeline outside the runner (a LangGraph graph).

The validated config of a math experiment, its train/held-out split, the backend its nodes ask one question at a
time (``solve``, ``check``, ``agree``, ``critique``), the agents' observation encoding (``observe``), their
learners as the runner builds them (``agent``), the runner's training draws (``training_questions``) and the
runner's ``summary.json`` of jobs made outside it (``summary``). Every one of them is the Rust code's
(``baton_envs::math``, ``baton_experiment::math``); examples/python/langgraph_gsm8k.py builds the five-agent
workflow from them.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from . import _baton
from .agents import IcqAgent
from .runs import ConfigLike, _config_source


class MathWorld:
    """The world of a math config (a path, a TOML string or a dict), validated as ``baton run`` validates it
    (a bad config raises ``ValueError`` naming the field). Loads the data set and the recording."""

    def __init__(self, config: ConfigLike):
        self._core = _baton.MathWorld(*_config_source(config))
        self.agent_names: List[str] = self._core.agent_names()
        self.action_names: List[str] = self._core.action_names()

    def __getattr__(self, name: str) -> Any:
        # name, methods, seeds, lambdas, episodes, train, test, training_questions, long_question, solve, check,
        # agree, critique, observe: the extension's own.
        return getattr(self._core, name)

    def agent(self, index: int, seed: int) -> IcqAgent:
        """Agent ``index``'s IC-Q learner as the runner builds it for seed ``seed``: its interface (legal actions
        per observation), the config's ``[learner]`` table and discount, its exploration stream."""
        agent = IcqAgent.__new__(IcqAgent)
        agent._core = self._core.agent_seeded(index, seed)
        agent.name = self.agent_names[index]
        return agent

    def summary(self, jobs: List[Dict[str, Any]]) -> Tuple[str, str]:
        """``(summary.json, metrics.jsonl)`` of the run, as ``baton run`` writes them, from the learning jobs
        made outside the runner (see ``_baton.MathWorld.summary`` for the fields); the config's fixed strategies
        are run by the runner's own code."""
        return self._core.summary(json.dumps(jobs))
