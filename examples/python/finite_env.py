"""Your own IC-SMDP as a PettingZoo environment: the finite model of data/finite/finite-example.toml
(format: docs/finite.md), solved exactly and learned by one tabular IcqAgent per agent in a plain Python loop.

    python examples/python/finite_env.py
"""

import time

import numpy as np

import baton

MODEL = "finite/finite-example.toml"  # relative: the working directory, else the data folder

env = baton.envs.finite(MODEL)
solution = baton.solve("finite", model=MODEL)
print(f"agents {env.possible_agents}; V* = {solution.optimal_value:.4f}, random policy {solution.random_value:.4f}")
for (holder, obs), v in zip(solution.states, solution.v):
    print(f"  state held by {env.possible_agents[holder]} seeing {obs}: V* = {v:.4f}")

# Speed of the bare AEC loop under a uniformly random legal policy.
rng = np.random.default_rng(0)
env.reset(seed=0)
steps, started = 0, time.process_time()
while time.process_time() - started < 1.0:
    agent = env.agent_selection
    if env.terminations[agent] or env.truncations[agent]:
        env.step(None)
        if not env.agents:
            env.reset()
    else:
        env.step(int(rng.choice(np.flatnonzero(env.observe(agent)["action_mask"]))))
    steps += 1
print(f"{steps / (time.process_time() - started):.3g} AEC steps per CPU second (random legal policy)")

agents = {name: baton.IcqAgent(env, name, seed=i) for i, name in enumerate(env.possible_agents)}
env.reset(seed=1)
handoffs = 0
while handoffs < 20_000:
    agent = env.agent_selection
    if env.terminations[agent] or env.truncations[agent]:
        env.step(None)
        if not env.agents:
            env.reset()
        continue
    obs = env.observe(agent)
    o = int(obs["observation"])
    a = agents[agent].act(o, obs["action_mask"])
    env.step(a)
    info = env.infos[agent]
    v = agents[info["receiver"]].reply(info["receiver_obs"]) if info["receiver"] is not None else 0.0
    agents[agent].learn(o, a, env.rewards[agent], info["duration"], v)
    handoffs += 1

score = solution.score([agents[n] for n in env.possible_agents])
print(f"IC-Q after {handoffs} handoffs: value {score['value']:.4f}, gap {score['gap']:.2%}")
