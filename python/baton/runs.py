"""``baton.run``: the Rust runner behind ``baton run``, returning the run directory as DataFrames."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import pandas as pd

from . import _baton

ConfigLike = Union[str, "os.PathLike[str]", Dict[str, Any]]


def _config_source(config: ConfigLike):
    """(text, format, origin) of a config given as a path, a TOML string or a dict."""
    if isinstance(config, dict):
        return json.dumps(config), "json", "<dict>"
    if isinstance(config, os.PathLike):
        path = os.fspath(config)
        return Path(path).read_text(encoding="utf-8"), "toml", path
    if isinstance(config, str):
        if "\n" not in config and ("=" not in config or os.path.exists(config)):
            return Path(config).read_text(encoding="utf-8"), "toml", config
        return config, "toml", "<string>"
    raise TypeError(f"config: expected a path, a TOML string or a dict, got {type(config).__name__}")


def _progress_bar(enabled: bool):
    """A callback ``(done, total)`` drawing a tqdm bar (terminal or Jupyter), and a closer."""
    if not enabled:
        return None, lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=None, unit="work", dynamic_ncols=True, leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        if done > bar.n:
            bar.update(done - bar.n)

    return update, bar.close


class RunResult:
    """A finished run: its directory and its files as tables."""

    def __init__(self, directory: Union[str, "os.PathLike[str]"]):
        self.dir = Path(directory)
        self.summary_json: Dict[str, Any] = json.loads((self.dir / "summary.json").read_text(encoding="utf-8"))
        self.meta: Dict[str, Any] = json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))
        self.config: str = (self.dir / "config.toml").read_text(encoding="utf-8")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per method (the ``rows`` of summary.json); the other fields are in ``.attrs``."""
        rows = self.summary_json.get("rows")
        if not isinstance(rows, list):
            rows = next((v for v in self.summary_json.values() if isinstance(v, list)), [])
        frame = pd.DataFrame(rows)
        frame.attrs.update({k: v for k, v in self.summary_json.items() if not isinstance(v, list)})
        return frame

    @property
    def metrics(self) -> pd.DataFrame:
        """metrics.jsonl, one row per line."""
        return pd.read_json(self.dir / "metrics.jsonl", lines=True)

    @property
    def plots(self) -> Dict[str, Path]:
        """The run's SVG plots by file stem."""
        return {p.stem: p for p in sorted(self.dir.glob("*.svg"))}

    def to_polars(self):
        """``(summary, metrics)`` as polars DataFrames (needs ``pip install polars``)."""
        import polars as pl

        return pl.from_pandas(self.summary), pl.read_ndjson(self.dir / "metrics.jsonl")

    def __repr__(self) -> str:
        return f"RunResult(dir={str(self.dir)!r}, experiment={self.summary_json.get('experiment')!r})"


def run(
    config: ConfigLike,
    seeds: Optional[int] = None,
    threads: Optional[int] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    quick: bool = False,
    force: bool = False,
    progress: bool = True,
) -> RunResult:
    """Run an experiment as ``baton run`` does and return its run directory.

    ``config`` is a path, a TOML string or a dict of the same tables. ``out`` defaults to a fresh temporary
    directory. The same config and seeds give the same ``summary.json`` and ``metrics.jsonl`` as the CLI.
    A bad config raises ``ValueError`` naming the field; the GIL is released while the run trains.
    """
    return RunResult(_run(config, seeds, threads, out, quick, force, progress, None))


def _run(config, seeds, threads, out, quick, force, progress, shard) -> str:
    text, fmt, origin = _config_source(config)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="baton-run-")) / "run"
    callback, close = _progress_bar(progress)
    try:
        directory, _wall = _baton.run(text, fmt, origin, os.fspath(out), seeds, threads, quick, force, callback, shard)
    finally:
        close()
    return directory


def run_shard(
    config: ConfigLike,
    shard: str,
    out: Union[str, "os.PathLike[str]"],
    seeds: Optional[int] = None,
    threads: Optional[int] = None,
    quick: bool = False,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """``baton run --shard I/N``: run only shard ``shard`` (``"I/N"``, I from 0) of the run's jobs and write the
    shard directory ``out`` (returned). ``merge`` joins the N shards into the run directory ``run`` writes,
    byte for byte (every workload but a live math run; docs/cluster.md). The progress bar stops near 1/N."""
    return Path(_run(config, seeds, threads, out, quick, force, progress, shard))


def merge(
    out: Union[str, "os.PathLike[str]"],
    shards: Sequence[Union[str, "os.PathLike[str]"]],
    threads: Optional[int] = None,
    force: bool = False,
) -> RunResult:
    """``baton merge``: join the shard directories of one run (every ``I/N`` once, any order) into the run
    directory ``out``, byte for byte what ``run`` writes unsharded (``meta.json`` aside). Incomplete or mixed
    shards raise ``ValueError`` before anything is written."""
    return RunResult(_baton.merge(os.fspath(out), [os.fspath(s) for s in shards], threads, force))
