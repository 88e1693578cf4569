"""IC-Q written as a plain Python loop over a PettingZoo environment, scored exactly by baton.solve.

One IcqAgent per agent. At each handoff the sender learns from its own reward and duration and the one scalar the
receiver sends back (its reply at the observation it received): model.md section 2, step by step.

    python examples/python/icq_loop.py
"""

import baton

env = baton.envs.synthetic()  # the default [workload] kind = "synthetic"
agents = {name: baton.IcqAgent(env, name, seed=i) for i, name in enumerate(env.possible_agents)}
solution = baton.solve()  # V*, Q*, Q_bar, the interface gap, for the same workload

env.reset(seed=0)
handoffs = 0
while handoffs < 60_000:
    agent = env.agent_selection
    if env.terminations[agent] or env.truncations[agent]:
        env.step(None)
        if not env.agents:  # the episode is over for everyone: start the next one
            env.reset()
        continue
    obs = env.observe(agent)
    o = int(obs["observation"])
    a = agents[agent].act(o, obs["action_mask"])  # step 1: the behaviour policy (uniform by default)
    env.step(a)  # step 2: the option runs; the handoff is reported to the sender
    info = env.infos[agent]
    receiver = info["receiver"]
    v = agents[receiver].reply(info["receiver_obs"]) if receiver is not None else 0.0  # step 3
    agents[agent].learn(o, a, env.rewards[agent], info["duration"], v)  # step 4
    handoffs += 1

score = solution.score([agents[n] for n in env.possible_agents])
print(f"V* = {solution.optimal_value:.4f}; greedy IC-Q policy: value {score['value']:.4f}, gap {score['gap']:.2%}")
