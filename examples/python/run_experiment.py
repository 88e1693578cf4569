"""Run an experiment config from Python and look at the results as DataFrames.

    python examples/python/run_experiment.py [experiments/synthetic.toml]
"""

import sys

import baton

config = sys.argv[1] if len(sys.argv) > 1 else "experiments/synthetic.toml"
result = baton.run(config, quick=True)  # same numbers as `baton run <config> --quick`
print(result.summary[["method", "value", "gap", "handoffs"]].to_string(index=False))
curves = result.metrics
print(curves.groupby("method")["gap"].last())
print("run directory:", result.dir, "plots:", sorted(result.plots))
