"""Speed of the Python bindings (docs/python.md): run with the package installed, from the repository root.

    python benches/python_bench.py [--seconds 3] [--cli target/release/baton] [--config experiments/synthetic.toml]

1. AEC steps per CPU second on the default synthetic environment and on the finite example
   (``baton.envs.finite``, data/finite/finite-example.toml) under a uniformly random legal policy (every
   ``env.step`` counts, including the ``None`` steps of finished agents; masks come from ``observe``).
2. Handoffs per CPU second of the pure-Python IC-Q loop on the synthetic environment (one ``baton.IcqAgent`` per
   agent: act, step, reply, learn), tabular and neural (width 64, one-hot features).
3. ``baton.run`` against the ``baton`` CLI on the same config and thread count, alternating, wall and CPU seconds.
Prints one JSON object.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import baton


def aec_steps_per_cpu_second(seconds: float, make=baton.envs.synthetic) -> float:
    env = make()
    env.reset(seed=0)
    rng = random.Random(0)
    legal = {}
    steps = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                steps += 1
                if not env.agents:
                    env.reset()
                continue
            obs = env.observe(agent)
            key = (agent, int(obs["observation"]))
            actions = legal.get(key)
            if actions is None:
                actions = legal[key] = [int(a) for a in obs["action_mask"].nonzero()[0]]
            env.step(actions[int(rng.random() * len(actions))])
            steps += 1
        now = time.process_time()
        if now >= deadline:
            return steps / (now - start)


NETWORK = {"width": 64, "eta": 0.2, "features": {"kind": "one-hot"}}


def icq_handoffs_per_cpu_second(seconds: float, **learner) -> float:
    env = baton.envs.synthetic()
    agents = {name: baton.IcqAgent(env, name, seed=i, **learner) for i, name in enumerate(env.possible_agents)}
    env.reset(seed=0)
    handoffs = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                if not env.agents:
                    env.reset()
                continue
            obs = env.observe(agent)
            o = int(obs["observation"])
            learner = agents[agent]
            a = learner.act(o, obs["action_mask"])
            env.step(a)
            info = env.infos[agent]
            receiver = info["receiver"]
            v = agents[receiver].reply(info["receiver_obs"]) if receiver is not None else 0.0
            learner.learn(o, a, env.rewards[agent], info["duration"], v)
            handoffs += 1
        now = time.process_time()
        if now >= deadline:
            return handoffs / (now - start)


def run_against_cli(cli: str, config: str, threads: int, rounds: int) -> dict:
    py_wall, py_cpu, cli_wall, cli_cpu = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            baton.run(config, threads=threads, out=Path(tmp) / f"py{r}", progress=False)
            py_wall.append(time.perf_counter() - t0)
            py_cpu.append(time.process_time() - c0)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([cli, "run", config, "--threads", str(threads), "--quiet", "--out",
                            str(Path(tmp) / f"cli{r}")], check=True, stdout=subprocess.DEVNULL)
            cli_wall.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            same = all((Path(tmp) / f"py{r}" / n).read_bytes() == (Path(tmp) / f"cli{r}" / n).read_bytes()
                       for n in ("summary.json", "metrics.jsonl"))
            if not same:
                raise SystemExit("baton.run and the CLI wrote different results")
    return {"config": config, "threads": threads, "rounds": rounds,
            "python_wall_s": py_wall, "python_cpu_s": py_cpu, "cli_wall_s": cli_wall, "cli_cpu_s": cli_cpu,
            "cpu_ratio_min": min(py_cpu) / min(cli_cpu)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--cli", default="target/release/baton")
    p.add_argument("--config", default="experiments/synthetic.toml")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    out = {
        "python": sys.version.split()[0],
        "aec_steps_per_cpu_second": aec_steps_per_cpu_second(args.seconds),
        "finite_aec_steps_per_cpu_second": aec_steps_per_cpu_second(
            args.seconds, lambda: baton.envs.finite("data/finite/finite-example.toml")),
        "icq_handoffs_per_cpu_second": icq_handoffs_per_cpu_second(args.seconds),
        "neural_icq_handoffs_per_cpu_second": icq_handoffs_per_cpu_second(args.seconds, network=NETWORK),
    }
    if os.path.exists(args.cli):
        out["run_vs_cli"] = run_against_cli(args.cli, args.config, args.threads, args.rounds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
