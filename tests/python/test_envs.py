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


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_finite_model_passes_the_api_and_seed_tests(root):
    path = root / "data" / "finite" / "finite-example.toml"
    api_test(baton.envs.finite(path), num_cycles=500)
    seed_test(lambda: baton.envs.finite(path), num_cycles=300)
    # A relative path is found under the data folder, as in a config's `model`.
    env = baton.envs.finite("finite/finite-example.toml")
    assert env.possible_agents == ["planner", "worker"]
    assert env.action_space("planner").n == 2 and env.observation_space("planner")["observation"].n == 2


def test_finite_infos_carry_the_model_durations_and_receivers(root):
    env = baton.envs.finite(root / "data" / "finite" / "finite-example.toml")
    env.reset(seed=3)
    seen = set()
    for _ in range(400):
        agent = env.agent_selection
        if env.terminations[agent] or env.truncations[agent]:
            env.step(None)
            if not env.agents:
                env.reset()
            continue
        obs = env.observe(agent)
        legal = np.flatnonzero(obs["action_mask"])
        a = int(legal[-1])  # planner: delegate (or solve when returned); worker: send-back
        env.step(a)
        info = env.infos[agent]
        seen.add((agent, int(obs["observation"]), a, env.rewards[agent], info["duration"], info["receiver"]))
    # The model file's options (data/finite/finite-example.toml): delegate hands to the worker at cost 0.1 in
    # one step, send-back returns to the planner, which can then only solve (reward 1, the episode ends).
    assert seen == {("planner", 0, 1, -0.1, 1, "worker"), ("worker", 0, 1, 0.0, 1, "planner"),
                    ("planner", 1, 0, 1.0, 1, None)}


def test_an_error_in_a_model_file_names_the_file_and_the_entry(root, tmp_path):
    text = (root / "data" / "finite" / "finite-example.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("probability = 0.5, next = \"end\", duration = 2, reward = 0.0",
                                "probability = 0.4, next = \"end\", duration = 2, reward = 0.0"))
    with pytest.raises(ValueError, match=r"bad\.toml: state `working`, action `finish`.*sum to 0\.9"):
        baton.envs.finite(bad)
    bad.write_text(text.replace("holder = \"worker\"", "holder = \"boss\""))
    with pytest.raises(ValueError, match=r"bad\.toml: state `working`.*`boss` is not an agent"):
        baton.envs.finite(bad)
    bad.write_text("discount = ")
    with pytest.raises(ValueError, match=r"bad\.toml"):
        baton.envs.finite(bad)
    with pytest.raises(OSError, match="missing.toml"):
        baton.envs.finite(tmp_path / "missing.toml")


def test_solve_on_a_finite_model_gives_the_hand_worked_optimum(root):
    s = baton.solve("finite", model=str(root / "data" / "finite" / "finite-example.toml"))
    # Worked out by hand in the model file: V* = 1.7, the uniformly random policy 1.1025.
    assert abs(s.optimal_value - 1.7) < 1e-9 and abs(s.random_value - 1.1025) < 1e-9
    assert s.v.shape == (3,) and s.q.shape == s.q_bar.shape == s.xi.shape == (len(s.pairs),) == (5,)
    assert sorted(s.gap) == sorted(["eps_if", "delta_if", "alpha_if", "gamma_bar", "vbar_inf", "exact_gap_inf",
                                    "q_bar_policy_loss", "coverage_min", "t_mix"])
    # fresh: solve 1.0, delegate 1.7; working: finish 2.0, send-back 0.9; returned: solve 1.0
    assert np.allclose(s.q, [1.0, 1.7, 2.0, 0.9, 1.0])
