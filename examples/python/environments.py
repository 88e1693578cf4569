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
    steps, episodes, rewards = 0, 0, []
    while steps < 2000:
        agent = env.agent_selection
        if env.terminations[agent] or env.truncations[agent]:
            env.step(None)
            if not env.agents:
                episodes += 1
                env.reset()
            continue
        mask = env.observe(agent)["action_mask"]
        env.step(int(rng.choice(np.flatnonzero(mask))))
        steps += 1
        rewards.append(sum(env.rewards.values()))  # the rewards of this step's handoffs, whoever sent them
    n_obs = max(env.observation_space(a)["observation"].n for a in env.possible_agents)
    n_act = max(env.action_space(a).n for a in env.possible_agents)
    print(f"{label:22} agents {len(env.possible_agents):3}  max n_obs {n_obs:5}  max n_actions {n_act:3}  "
          f"{steps} decisions, {episodes} episodes, mean reward per decision {np.mean(rewards):+.4f}")
