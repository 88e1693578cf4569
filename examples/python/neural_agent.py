"""Neural IC-Q (model.md 3) from Python: one two-layer ReLU network per agent (the Rust baton_learn::NeuralQ),
trained by the same plain loop as icq_loop.py, scored exactly by baton.solve, saved and loaded exactly.

    python examples/python/neural_agent.py
"""

import tempfile
import time
from pathlib import Path

import numpy as np

import baton

HANDOFFS = 150_000
NETWORK = {"width": 64, "eta": 0.2, "features": {"kind": "one-hot"}, "symmetric": True, "tail_fraction": 0.5}

env = baton.envs.synthetic()
n = len(env.possible_agents)
# Each network's Polyak tail average (what is scored) covers the second half of its expected updates.
agents = {name: baton.IcqAgent(env, name, seed=i, network=NETWORK, planned_updates=HANDOFFS // n)
          for i, name in enumerate(env.possible_agents)}
solution = baton.solve()

started = time.process_time()
env.reset(seed=0)
handoffs = 0
while handoffs < HANDOFFS:
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
cpu = time.process_time() - started

score = solution.score([agents[x] for x in env.possible_agents])
print(f"neural IC-Q, width {NETWORK['width']}: {handoffs} handoffs in {cpu:.2f} CPU s "
      f"({handoffs / cpu:.3g} per CPU second); value {score['value']:.4f} against V* {solution.optimal_value:.4f}, "
      f"gap {score['gap']:.2%}")

first = env.possible_agents[0]
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "agent-0.safetensors"
    agents[first].save(path)
    copy = baton.IcqAgent(env, first, network=NETWORK, planned_updates=HANDOFFS // n)
    copy.load(path)
    print(f"saved {path.stat().st_size} bytes; the loaded network is identical: {np.array_equal(copy.q, agents[first].q)}")
