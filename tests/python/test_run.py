"""baton.run against the CLI, config forms and errors."""

import subprocess

import pandas as pd
import pytest

import baton


def test_run_writes_the_same_files_as_the_cli(tmp_path, root, cli):
    config = root / "experiments" / "synthetic.toml"
    subprocess.run([str(cli), "run", str(config), "--quick", "--seeds", "2", "--threads", "2", "--quiet",
                    "--out", str(tmp_path / "cli")], check=True, cwd=root, stdout=subprocess.DEVNULL)
    result = baton.run(config, quick=True, seeds=2, threads=1, out=tmp_path / "py", progress=False)
    assert result.dir == tmp_path / "py"
    for name in ("summary.json", "metrics.jsonl", "config.toml"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    summary = result.summary
    assert isinstance(summary, pd.DataFrame)
    assert list(summary["method"]) == ["optimal", "ic-q", "oracle", "no-scalar", "round-robin", "random"]
    assert summary.attrs["experiment"] == "synthetic-default"
    assert summary.loc[summary["method"] == "ic-q", "gap"].iloc[0] < 0.01
    metrics = result.metrics
    assert {"method", "seed", "handoffs", "value", "gap"} <= set(metrics.columns)
    assert set(metrics["seed"]) == {0, 1}
    assert "learning_curves" in result.plots and result.plots["learning_curves"].is_file()


def test_a_toml_string_and_a_dict_run_the_same_experiment(tmp_path):
    toml = """
name = "tiny"
seeds = 1
methods = ["optimal", "ic-q"]
[workload]
kind = "synthetic"
agents = 2
[training]
handoffs = 2000
eval_points = 3
"""
    as_dict = {"name": "tiny", "seeds": 1, "methods": ["optimal", "ic-q"],
               "workload": {"kind": "synthetic", "agents": 2},
               "training": {"handoffs": 2000, "eval_points": 3}}
    a = baton.run(toml, out=tmp_path / "a", progress=False)
    b = baton.run(as_dict, out=tmp_path / "b", progress=False)
    assert (a.dir / "summary.json").read_bytes() == (b.dir / "summary.json").read_bytes()
    assert (a.dir / "metrics.jsonl").read_bytes() == (b.dir / "metrics.jsonl").read_bytes()


def test_a_bad_config_raises_value_error_naming_the_field(tmp_path):
    bad = {"name": "x", "methods": ["ic-q"], "workload": {"kind": "synthetic", "agents": 99}}
    with pytest.raises(ValueError, match=r"workload\.agents"):
        baton.run(bad, out=tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="agentz"):
        baton.run({"name": "x", "methods": ["ic-q"], "workload": {"kind": "synthetic", "agentz": 2}},
                  out=tmp_path / "y", progress=False)
    with pytest.raises(ValueError, match="threads"):
        baton.run({"name": "x", "methods": ["ic-q"], "workload": {"kind": "synthetic"}}, threads=5000,
                  out=tmp_path / "z", progress=False)
    assert not (tmp_path / "x").exists()


def test_an_existing_output_directory_is_refused_unless_forced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep").write_text("x")
    config = {"name": "x", "seeds": 1, "methods": ["optimal"], "workload": {"kind": "synthetic", "agents": 2},
              "training": {"handoffs": 100, "eval_points": 1}}
    with pytest.raises(OSError, match="not empty"):
        baton.run(config, out=out, progress=False)
    assert (out / "keep").exists()
    baton.run(config, out=out, force=True, progress=False)
    assert (out / "summary.json").exists() and not (out / "keep").exists()


SWEEP = {"name": "sweep-test", "methods": ["optimal", "ic-q"],
         "workload": {"kind": "synthetic", "agents": 2},
         "training": {"handoffs": 3000, "eval_points": 3}}
GRID = {"workload.aliasing": [0.0, 0.5]}


def test_a_local_sweep_writes_what_baton_run_writes_per_point(tmp_path):
    runs = baton.sweep(SWEEP, grid=GRID, seeds=range(3, 5), out=tmp_path / "sweep")
    assert sorted(runs) == ["workload.aliasing=0.0", "workload.aliasing=0.5"]
    direct = baton.run(dict(SWEEP, seeds=2, base_seed=3, workload={"kind": "synthetic", "agents": 2,
                                                                    "aliasing": 0.5}),
                       out=tmp_path / "direct", progress=False)
    for name in ("summary.json", "metrics.jsonl", "config.toml"):
        assert (runs["workload.aliasing=0.5"].dir / name).read_bytes() == (direct.dir / name).read_bytes()
    with pytest.raises(ValueError, match="seeds"):
        baton.sweep(SWEEP, grid=GRID, seeds=[0, 2])


def test_a_ray_sweep_equals_the_local_sweep_byte_for_byte(tmp_path):
    import ray  # in tests/python/requirements.txt: a missing ray fails the test
    local = baton.sweep(SWEEP, grid=GRID, seeds=range(2), out=tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        remote = baton.sweep(SWEEP, grid=GRID, seeds=range(2), backend="ray", out=tmp_path / "ray")
    finally:
        ray.shutdown()
    assert sorted(local) == sorted(remote)
    for label in local:
        for name in ("summary.json", "metrics.jsonl", "config.toml", "learning_curves.svg"):
            assert (local[label].dir / name).read_bytes() == (remote[label].dir / name).read_bytes(), (label, name)


def test_the_gil_is_released_while_a_run_trains(tmp_path):
    import json
    import threading

    from baton import _baton

    ticks = 0
    stop = threading.Event()
    seen = []  # ticks at each progress callback: the first comes before training, the last after it

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    config = dict(SWEEP, training={"handoffs": 400_000, "eval_points": 3})
    thread = threading.Thread(target=count)
    thread.start()
    try:
        _baton.run(json.dumps(config), "json", "<dict>", str(tmp_path / "run"), None, None, False, False,
                   lambda done, total: seen.append((ticks, done, total)))
    finally:
        stop.set()
        thread.join()
    assert len(seen) >= 2 and seen[-1][1] == seen[-1][2] > 0, seen
    # With the GIL held while training, the counting thread could not run between the first and last callback.
    assert seen[-1][0] - seen[0][0] > 10_000, seen


def test_shards_run_from_python_merge_into_the_unsharded_run(tmp_path):
    config = {"name": "tiny-shards", "seeds": 3, "methods": ["optimal", "ic-q", "oracle", "random"],
              "workload": {"kind": "synthetic", "agents": 2},
              "training": {"handoffs": 3000, "eval_points": 3}}
    whole = baton.run(config, out=tmp_path / "whole", progress=False)
    shards = [baton.run_shard(config, f"{i}/3", out=tmp_path / f"s{i}", progress=False) for i in (2, 0, 1)]
    assert all((s / "shard.json").is_file() for s in shards)
    merged = baton.merge(tmp_path / "merged", shards)
    for name in ("summary.json", "metrics.jsonl", "config.toml", "learning_curves.svg"):
        assert (whole.dir / name).read_bytes() == (merged.dir / name).read_bytes(), name
    with pytest.raises(ValueError, match="missing shard"):
        baton.merge(tmp_path / "never", shards[:2])
    with pytest.raises(ValueError, match="--shard 3/3"):
        baton.run_shard(config, "3/3", out=tmp_path / "never")
