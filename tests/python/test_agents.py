"""IcqAgent in a pure-Python loop, scored exactly by baton.solve."""

import numpy as np
import pytest

import baton


def train(env, agents, handoffs, seed=0):
    """IC-Q (model.md 2) over the AEC loop: each step's handoff is learned from at once."""
    env.reset(seed=seed)
    done = 0
    while done < handoffs:
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
        if info["receiver"] is not None:
            v = agents[info["receiver"]].reply(info["receiver_obs"])
        elif info["terminated"]:
            v = 0.0
        else:
            continue  # truncated: the continuation is unknown
        agents[agent].learn(o, a, env.rewards[agent], info["duration"], v)
        done += 1


def test_a_pure_python_icq_loop_reaches_a_one_percent_gap():
    env = baton.envs.synthetic()
    agents = {name: baton.IcqAgent(env, name, seed=i) for i, name in enumerate(env.possible_agents)}
    solution = baton.solve()
    before = solution.score([agents[n] for n in env.possible_agents])
    train(env, agents, 60_000)
    after = solution.score([agents[n] for n in env.possible_agents])
    assert before["gap"] > 0.05, before
    assert after["gap"] <= 0.01, after
    assert sum(a.updates for a in agents.values()) == 60_000


def test_solve_returns_consistent_arrays():
    s = baton.solve()
    assert s.q.shape == s.q_bar.shape == s.xi.shape == (len(s.pairs),)
    assert s.v.shape == (len(s.states),)
    # V*(s) = max_a Q*(s, a)
    best = np.full(len(s.v), -np.inf)
    np.maximum.at(best, s.pairs[:, 0], s.q)
    assert np.allclose(best, s.v, atol=1e-8)
    assert abs(s.xi.sum() - 1.0) < 1e-9
    assert s.optimal_value > s.random_value
    assert s.gap["alpha_if"] >= 0 and s.gap["exact_gap_inf"] >= 0
    with pytest.raises(ValueError, match="kappa"):
        baton.solve(kappa=1.5)
    with pytest.raises(ValueError, match="only synthetic"):
        baton.solve("routing", topology={"kind": "grid", "rows": 2, "cols": 2}, loads=[1.0])


def test_agent_inputs_are_checked():
    env = baton.envs.synthetic()
    agent = baton.IcqAgent(env, env.possible_agents[0])
    n_obs, n_actions = agent.q.shape
    with pytest.raises(ValueError, match="out of range"):
        agent.reply(n_obs)
    with pytest.raises(ValueError, match="duration"):
        agent.learn(0, int(np.flatnonzero(env.action_mask(env.possible_agents[0], 0))[0]), 1.0, 0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        agent.learn(0, int(np.flatnonzero(env.action_mask(env.possible_agents[0], 0))[0]), float("nan"), 1, 0.0)
    with pytest.raises(ValueError, match="step_exponent"):
        baton.IcqAgent(env, 0, step_exponent=2.0)
    with pytest.raises(ValueError, match="agent"):
        baton.IcqAgent(env, "nobody")


def test_save_and_load_round_trip_in_the_service_checkpoint_format(tmp_path):
    env = baton.envs.synthetic()
    agents = {name: baton.IcqAgent(env, name, seed=i) for i, name in enumerate(env.possible_agents)}
    train(env, agents, 5_000)
    first = env.possible_agents[0]
    path = tmp_path / "learner.safetensors"
    agents[first].save(path, agent_id="svc-a")
    assert path.read_bytes()[8:9] == b"{"  # safetensors: 8-byte header length, then the JSON header
    fresh = baton.IcqAgent(env, first)
    assert fresh.load(path) == "svc-a"
    assert np.array_equal(fresh.q, agents[first].q)
    assert fresh.updates == agents[first].updates > 0
    other = baton.IcqAgent(env, env.possible_agents[1])
    with pytest.raises(ValueError, match="role"):
        other.load(path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="safetensors"):
        fresh.load(path)
    with pytest.raises(OSError):
        fresh.load(tmp_path / "missing.safetensors")


NETWORK = {"width": 64, "eta": 0.2, "features": {"kind": "one-hot"}, "symmetric": True, "tail_fraction": 0.5}


def test_a_neural_icq_agent_learns_the_synthetic_workload():
    """Neural IC-Q (model.md 3) through the same Python loop: each agent a two-layer ReLU network on the Rust
    side; scored exactly, its Polyak tail average as `baton run` scores it."""
    env = baton.envs.synthetic()
    n = len(env.possible_agents)
    handoffs = NEURAL_HANDOFFS
    agents = {name: baton.IcqAgent(env, name, seed=i, network=NETWORK, planned_updates=handoffs // n)
              for i, name in enumerate(env.possible_agents)}
    assert all(a.neural for a in agents.values())
    solution = baton.solve()
    before = solution.score([agents[x] for x in env.possible_agents])
    train(env, agents, handoffs)
    after = solution.score([agents[x] for x in env.possible_agents])
    assert before["gap"] > 0.05, before
    assert after["gap"] <= NEURAL_GAP, after
    with pytest.raises(ValueError, match="separately"):
        solution.score([agents[env.possible_agents[0]]] + [baton.IcqAgent(env, x) for x in env.possible_agents[1:]])


NEURAL_HANDOFFS = 150_000
NEURAL_GAP = 0.01


def test_a_neural_agent_round_trips_save_and_load_exactly(tmp_path):
    env = baton.envs.synthetic()
    agents = {name: baton.IcqAgent(env, name, seed=i, network=NETWORK, planned_updates=2_000)
              for i, name in enumerate(env.possible_agents)}
    train(env, agents, 5_000)
    first = env.possible_agents[0]
    path = tmp_path / "neural.safetensors"
    agents[first].save(path, agent_id="svc-n")
    fresh = baton.IcqAgent(env, first, seed=99, network=NETWORK, planned_updates=2_000)
    assert not np.array_equal(fresh.q, agents[first].q)
    assert fresh.load(path) == "svc-n"
    assert np.array_equal(fresh.q, agents[first].q)
    assert fresh.updates == agents[first].updates > 0
    # The whole state travels: the same further updates give the same bits.
    mask = env.action_mask(first, 0)
    a = int(np.flatnonzero(mask)[0])
    for k in range(50):
        assert agents[first].learn(0, a, 0.1 * k, 1 + k % 3, 0.5) == fresh.learn(0, a, 0.1 * k, 1 + k % 3, 0.5)
    assert np.array_equal(fresh.q, agents[first].q)
    # A network's checkpoint is not a table's, nor one of another width.
    with pytest.raises(ValueError, match="format"):
        baton.IcqAgent(env, first).load(path)
    with pytest.raises(ValueError, match="width"):
        baton.IcqAgent(env, first, network=dict(NETWORK, width=32)).load(path)
    with pytest.raises(ValueError, match="network.width"):
        baton.IcqAgent(env, first, network=dict(NETWORK, width=0))
