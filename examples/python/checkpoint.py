"""Train IC-Q agents in Python, save them in the agent services' checkpoint format, load them back.

Each file is the `learner.safetensors` that `baton agent serve` keeps in its state directory (docs/service.md),
so tables trained here can seed services and a service's table can be inspected here.

    python examples/python/checkpoint.py
"""

import tempfile
from pathlib import Path

import numpy as np

import baton

env = baton.envs.synthetic()
agents = {name: baton.IcqAgent(env, name, seed=i) for i, name in enumerate(env.possible_agents)}
env.reset(seed=0)
handoffs = 0
while handoffs < 20_000:
    name = env.agent_selection
    if env.terminations[name] or env.truncations[name]:
        env.step(None)
        if not env.agents:
            env.reset()
        continue
    obs = env.observe(name)
    o = int(obs["observation"])
    a = agents[name].act(o, obs["action_mask"])
    env.step(a)
    info = env.infos[name]
    v = agents[info["receiver"]].reply(info["receiver_obs"]) if info["receiver"] else 0.0
    agents[name].learn(o, a, env.rewards[name], info["duration"], v)
    handoffs += 1

state = Path(tempfile.mkdtemp())
for name, agent in agents.items():
    (state / name).mkdir()
    agent.save(state / name / "learner.safetensors")  # the service id recorded is the agent's name
for name, agent in agents.items():
    copy = baton.IcqAgent(env, name)
    service_id = copy.load(state / name / "learner.safetensors")
    print(f"{name}: loaded {service_id!r}, {copy.updates} updates, same table: {np.array_equal(copy.q, agent.q)}")
