"""baton for Python: run experiments, step workloads as PettingZoo environments, train IC-Q agents, solve
finite models exactly. Every computation is the Rust library's (the extension module ``baton._baton``); this
package converts arguments and results.

    >>> import baton
    >>> result = baton.run("experiments/synthetic.toml", quick=True)
    >>> result.summary[["method", "value", "gap"]]
"""

from ._baton import __version__
from . import envs
from .agents import IcqAgent
from .mathworld import MathWorld
from .runs import RunResult, merge, run, run_shard
from .solve import Solution, solve
from .sweep import sweep

__all__ = [
    "__version__",
    "envs",
    "IcqAgent",
    "MathWorld",
    "RunResult",
    "merge",
    "run",
    "run_shard",
    "Solution",
    "solve",
    "sweep",
]
