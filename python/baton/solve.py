"""``baton.solve``: the exact solution of a finite (synthetic) model as numpy arrays."""

from __future__ import annotations

import json
from typing import Any, Dict, Sequence

import numpy as np

from . import _baton


class Solution:
    """Ground truth of a finite model. Pairs are ``(state, action)`` in state-major order (``pairs``)."""

    def __init__(self, core: "_baton.Solved"):
        self._core = core
        #: ``V*`` per joint state.
        self.v = np.asarray(core.v())
        #: ``Q*`` per pair.
        self.q = np.asarray(core.q())
        #: ``Q_bar(sigma(s), a)`` per pair, NaN where the behaviour never visits.
        self.q_bar = np.asarray(core.q_bar())
        #: Stationary weights of the behaviour chain per pair.
        self.xi = np.asarray(core.xi())
        #: ``(state, action)`` of each pair.
        self.pairs = np.asarray(core.pairs(), dtype=np.int64).reshape(-1, 2)
        #: ``(holder agent, observation)`` of each joint state.
        self.states = np.asarray(core.states(), dtype=np.int64).reshape(-1, 2)
        scalars: Dict[str, Any] = core.scalars()
        #: ``V*`` from the initial distribution.
        self.optimal_value: float = scalars["optimal_value"]
        #: Value of the uniformly random policy.
        self.random_value: float = scalars["random_value"]
        #: The interface-gap terms: eps_if, delta_if, alpha_if, gamma_bar, vbar_inf, exact_gap_inf,
        #: q_bar_policy_loss, coverage_min, t_mix.
        self.gap: Dict[str, Any] = {k: v for k, v in scalars.items() if k not in ("optimal_value", "random_value")}

    def score(self, agents: Sequence[Any]) -> Dict[str, float]:
        """Exact value and relative gap of the greedy policy of one ``IcqAgent`` per agent (agent order)."""
        return self._core.score([a._core for a in agents])


def solve(kind: str = "synthetic", kappa: float = 0.0, **table: Any) -> Solution:
    """Solve the workload of a ``[workload]`` table (keyword arguments, as in TOML) exactly.

    ``kappa`` is the stickiness of the behaviour defining ``xi`` and ``Q_bar`` (0: uniform, as the runner).
    """
    return Solution(_baton.solve(json.dumps(dict(kind=kind, **table)), kappa))
