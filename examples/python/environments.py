"""Every workload as a PettingZoo AECEnv, stepped by a random legal policy.

    python examples/python/environments.py
"""

import tomllib

import numpy as np

import baton


def table(name):
    with open(f"experiments/{name}", "rb") as f:
        t = tomllib.load(f)["workload"]
    t.pop("kind")
    return t


envs = {
    "synthetic": baton.envs.synthetic(agents=3),
    "routing (6x6 grid)": baton.envs.routing(topology={"kind": "grid", "rows": 6, "cols": 6}, loads=[2.0]),
    "math (GSM8K replay)": baton.envs.math(**table("math-gsm8k.toml")),
    "cpu (TinyCPU roles)": baton.envs.cpu(**table("cpu.toml")),
}
rng = np.random.default_rng(0)
for label, env in envs.items():
    env.reset(seed=0)
    steps, durations, total = 0, [], 0.0
    while steps < 2000:
        agent = env.agent_selection
        if env.terminations[agent] or env.truncations[agent]:
            env.step(None)
            if not env.agents:
                env.reset()
            continue
        mask = env.observe(agent)["action_mask"]
        env.step(int(rng.choice(np.flatnonzero(mask))))
        steps += 1
        for info in env.infos.values():
            if "duration" in info:
                durations.append(info["duration"])
        total += sum(env.rewards.values())
    print(f"{label:22} agents {len(env.possible_agents):3}  steps {steps}  "
          f"mean reward per step {total / steps:+.4f}  mean handoff duration {np.mean(durations):.2f}")
