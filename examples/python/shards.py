"""One run split into shards and merged, from Python (the same as `baton run --shard I/N` on N machines and
`baton merge`; recipes for Slurm and Kubernetes in docs/cluster.md). The merged run directory is byte for byte
the unsharded run's.

    python examples/python/shards.py
"""

import tempfile
from pathlib import Path

import baton

CONFIG = "experiments/finite-example.toml"
N = 2

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    whole = baton.run(CONFIG, quick=True, out=tmp / "whole", progress=False)
    shards = [baton.run_shard(CONFIG, f"{i}/{N}", out=tmp / f"shard-{i}", quick=True, progress=False)
              for i in range(N)]
    merged = baton.merge(tmp / "merged", shards)
    print(merged.summary[["method", "value", "gap"]])
    for name in ("summary.json", "metrics.jsonl", "config.toml"):
        same = (whole.dir / name).read_bytes() == (merged.dir / name).read_bytes()
        print(f"{name}: merged shards {'==' if same else '!='} unsharded run")
