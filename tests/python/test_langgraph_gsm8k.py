"""examples/python/langgraph_gsm8k.py: the GSM8K workflow as a LangGraph graph against `baton run`."""

import importlib.util
import json
import subprocess
import sys

import pytest

import baton

# A tiny budget: two lambdas, two seeds, 150 training questions each, 10% of GSM8K test held out (132 questions).
TINY = """
name = "langgraph-gsm8k-tiny"
seeds = 2
methods = ["ic-q", "cheap-only", "strong-only", "cascade"]

[workload]
kind = "math"
backend = "replay"
lambdas = [0.0, 30.0]
episodes = 150
train_fraction = 0.9

[learner]
behaviour = { kind = "uniform" }
"""


@pytest.fixture(scope="module")
def example(root):
    spec = importlib.util.spec_from_file_location("langgraph_gsm8k", root / "examples/python/langgraph_gsm8k.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # LangGraph reads the state's type hints through the module
    spec.loader.exec_module(module)
    return module


def test_the_graph_writes_the_summary_baton_run_writes(example, cli, root, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert example.main(["--config", str(config), "--out", str(tmp_path / "graph")]) == 0
    subprocess.run([str(cli), "run", str(config), "--quiet", "--out", str(tmp_path / "cli")], check=True, cwd=root,
                   stdout=subprocess.DEVNULL)
    graph = json.loads((tmp_path / "graph/summary.json").read_text())
    reference = json.loads((tmp_path / "cli/summary.json").read_text())

    def schema(value):
        if isinstance(value, dict):
            return {k: schema(v) for k, v in value.items()}
        if isinstance(value, list):
            return [schema(v) for v in value]
        return type(value).__name__

    assert schema(graph) == schema(reference)
    # The agents, their exploration streams and the training questions are the runner's: the same figures.
    assert (tmp_path / "graph/summary.json").read_bytes() == (tmp_path / "cli/summary.json").read_bytes()
    assert (tmp_path / "graph/metrics.jsonl").read_bytes() == (tmp_path / "cli/metrics.jsonl").read_bytes()
    rows = [r for r in graph["rows"] if r["method"] == "ic-q"]
    assert [r["lambda"] for r in rows] == [0.0, 30.0]
    assert all(r["scalars_per_transfer"] == 1.0 and r["seeds"] == 2 for r in rows)
    # The graph learned something: at lambda 0 it beats the cheap solver alone.
    cheap = next(r for r in graph["rows"] if r["method"] == "cheap-only")
    assert rows[0]["accuracy"] > cheap["accuracy"]


def test_one_scalar_per_handoff_and_a_submission_ends_every_episode(example, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    world = baton.MathWorld(config)
    record, accuracy = example.job(world, 30.0, 0, 100, {q: world.long_question(q) for q in world.train + world.test})
    episodes, handoffs, transfers, scalars = record["train"]
    # Every handoff was learned; every one that passed the work on used one reply, and each episode ended once.
    assert episodes == 100 and scalars == transfers and handoffs == transfers + episodes
    assert len(record["records"]) == len(world.test) and 0.0 < accuracy < 1.0
    assert all(r["submitted"] in (0, 1) and 1 <= r["handoffs"] <= 14 for r in record["records"])


def test_bad_configs_are_refused(example, tmp_path):
    with pytest.raises(ValueError, match="workload.lambdas"):
        baton.MathWorld(TINY.replace("lambdas = [0.0, 30.0]", "lambdas = []"))
    with pytest.raises(ValueError, match="math workload"):
        baton.MathWorld({"name": "s", "seeds": 1, "methods": ["ic-q"], "workload": {"kind": "synthetic"}})
    config = tmp_path / "oracle.toml"
    config.write_text(TINY.replace('"ic-q",', '"ic-q", "oracle",'))
    with pytest.raises(SystemExit):
        example.main(["--config", str(config), "--out", str(tmp_path / "x")])
