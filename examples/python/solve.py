"""The exact solution of the synthetic workload as numpy arrays: V*, Q*, IC-Q's fixed point Q_bar, the
interface-gap terms of model.md section 5.

    python examples/python/solve.py
"""

import numpy as np

import baton

for aliasing in (0.0, 0.5):
    s = baton.solve(aliasing=aliasing)
    visited = s.xi > 0
    gap = np.max(np.abs(s.q[visited] - s.q_bar[visited]))
    print(f"aliasing {aliasing}: {len(s.v)} states, {len(s.q)} pairs, V*(nu0) = {s.optimal_value:.4f}, "
          f"random {s.random_value:.4f}; max|Q* - Q_bar| = {gap:.4f} <= alpha_IF = {s.gap['alpha_if']:.4f}")
