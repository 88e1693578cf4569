"""``baton.sweep``: one ``baton.run`` per grid point, in this process or as Ray tasks across a cluster."""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from .runs import ConfigLike, RunResult, run


def _load_config(config: ConfigLike) -> Dict[str, Any]:
    if isinstance(config, dict):
        return copy.deepcopy(config)
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    if isinstance(config, os.PathLike) or (isinstance(config, str) and "\n" not in config
                                           and os.path.exists(config)):
        with open(os.fspath(config), "rb") as f:
            return tomllib.load(f)
    return tomllib.loads(config)


def _set(config: Dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    table = config
    for k in keys[:-1]:
        table = table.setdefault(k, {})
        if not isinstance(table, dict):
            raise ValueError(f"grid key {dotted!r}: {k!r} is not a table")
    table[keys[-1]] = value


def _label(point: Dict[str, Any]) -> str:
    return ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in point.items()).replace("/", "_")


def _run_point(config: Dict[str, Any], threads: Optional[int]) -> Dict[str, bytes]:
    """Run one grid point in a temporary directory and return its files (so a remote worker needs no shared
    file system)."""
    tmp = tempfile.mkdtemp(prefix="baton-sweep-")
    try:
        result = run(config, threads=threads, out=Path(tmp) / "run", progress=False)
        return {str(p.relative_to(result.dir)): p.read_bytes() for p in sorted(result.dir.rglob("*")) if p.is_file()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_dir(target: Path, files: Dict[str, bytes]) -> None:
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for rel, data in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    os.replace(staging, target)


def sweep(
    config: ConfigLike,
    grid: Dict[str, Sequence[Any]],
    seeds: Iterable[int] = range(1),
    backend: str = "local",
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    threads: Optional[int] = None,
) -> Dict[str, RunResult]:
    """Run ``config`` at every point of ``grid`` (dotted TOML keys to lists of values, e.g.
    ``{"workload.aliasing": [0.0, 0.5]}``) with the seeds ``seeds`` (a contiguous range: ``base_seed`` and
    ``seeds`` of the config). Each point is one run, written to ``out/<key=value,...>/`` exactly as
    ``baton run`` writes it for that point's config; ``backend="ray"`` runs each point as a Ray task (call
    ``ray.init`` first, e.g. ``ray.init(address="auto")`` on a cluster), ``"local"`` in this process.
    Returns the runs by label.
    """
    seeds = list(seeds)
    if not seeds or seeds != list(range(seeds[0], seeds[0] + len(seeds))) or seeds[0] < 0:
        raise ValueError(f"seeds: {seeds!r} must be a non-empty range of non-negative seeds, e.g. range(4)")
    if not grid or any(not isinstance(v, (list, tuple)) or not v for v in grid.values()):
        raise ValueError("grid: map dotted keys to non-empty lists of values")
    if backend not in ("local", "ray"):
        raise ValueError(f"backend: {backend!r} is not 'local' or 'ray'")
    base = _load_config(config)
    base["seeds"] = len(seeds)
    base["base_seed"] = seeds[0]
    points: List[Dict[str, Any]] = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    configs = []
    for point in points:
        c = copy.deepcopy(base)
        for k, v in point.items():
            _set(c, k, v)
        configs.append(c)
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="baton-sweep-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [_label(p) for p in points]
    for label in labels:
        if (out_dir / label).exists():
            raise OSError(f"{out_dir / label}: exists")
    if backend == "ray":
        import ray

        remote = ray.remote(_run_point)
        results = ray.get([remote.remote(c, threads) for c in configs])
    else:
        results = [_run_point(c, threads) for c in configs]
    runs = {}
    for label, files in zip(labels, results):
        _write_dir(out_dir / label, files)
        runs[label] = RunResult(out_dir / label)
    return runs
