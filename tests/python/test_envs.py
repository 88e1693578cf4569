"""The PettingZoo environments: API and seed tests, validation, infos."""

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

import baton

GRID = {"topology": {"kind": "grid", "rows": 3, "cols": 3}, "loads": [1.0]}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("make", [
    lambda: baton.envs.synthetic(),
    lambda: baton.envs.synthetic(agents=2, components=4, aliasing=0.5),
    lambda: baton.envs.routing(max_cycles=300, **GRID),
], ids=["synthetic", "synthetic-2x4-aliased", "routing-grid"])
def test_api_and_seed_tests_pass(make):
    api_test(make(), num_cycles=500)
    seed_test(make, num_cycles=300)


def test_a_bad_keyword_raises_value_error_naming_the_field():
    with pytest.raises(ValueError, match=r"workload\.agents"):
        baton.envs.synthetic(agents=1)
    with pytest.raises(ValueError, match="agentz"):
        baton.envs.synthetic(agentz=3)
    with pytest.raises(ValueError, match=r"workload\.loads|load"):
        baton.envs.routing(topology={"kind": "grid", "rows": 2, "cols": 2}, loads=[-1.0])


def test_an_illegal_action_is_refused():
    env = baton.envs.synthetic()
    env.reset(seed=1)
    agent = env.agent_selection
    mask = env.observe(agent)["action_mask"]
    illegal = [a for a in range(len(mask)) if not mask[a]]
    if illegal:
        with pytest.raises(ValueError, match="not legal"):
            env.step(illegal[0])
    with pytest.raises(ValueError):
        env.step(len(mask) + 7)


def test_reset_with_a_seed_replays_the_episode_and_infos_carry_the_handoff():
    def trajectory(seed):
        env = baton.envs.synthetic()
        env.reset(seed=seed)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(200):
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                if not env.agents:
                    env.reset()
                continue
            obs = env.observe(agent)
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            env.step(action)
            info = env.infos[agent]
            assert info["duration"] >= 1
            assert info["terminated"] == (info["receiver"] is None)
            out.append((agent, int(obs["observation"]), action, env.rewards[agent], info["duration"],
                        info["receiver"], info["receiver_obs"]))
        return out

    assert trajectory(5) == trajectory(5)
    assert trajectory(5) != trajectory(6)


def workload_table(root, name):
    import tomllib  # Python >= 3.11, as the pinned test dependencies

    with open(root / "experiments" / name, "rb") as f:
        return tomllib.load(f)["workload"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,factory", [("math-gsm8k.toml", "math"), ("cpu.toml", "cpu")])
def test_math_and_cpu_from_their_experiment_tables_pass_the_api_and_seed_tests(root, name, factory):
    table = {k: v for k, v in workload_table(root, name).items() if k != "kind"}
    make = getattr(baton.envs, factory)
    api_test(make(**table), num_cycles=300)
    seed_test(lambda: make(**table), num_cycles=200)


def test_workload_specific_arguments_are_refused_elsewhere():
    with pytest.raises(ValueError, match="load"):
        baton.envs.BatonEnv({"kind": "synthetic"}, load=1.0)
    with pytest.raises(ValueError, match="lam"):
        baton.envs.BatonEnv({"kind": "synthetic"}, lam=1.0)
    with pytest.raises(ValueError, match="k"):
        baton.envs.BatonEnv({"kind": "synthetic"}, k=3)
