//! Tests of the synthetic generator against its joint model and the solver.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use baton_core::{check_env, CheckOptions, FiniteEnv};
use proptest::prelude::*;

use super::*;

/// The per-agent kernel (an agent holding the artifact and its own private state, the receiver drawing
/// its own private state) samples the joint model's outcome distribution, pair by pair.
#[test]
fn per_agent_option_samples_the_joint_kernel() {
    let (syn, model) = default_model();
    let mut rng = baton_core::rng::stream(7, baton_core::rng::Stream::Other(0));
    let draws = 40_000;
    // A spread of states (every holder, both private states, several artifacts), every action.
    for s in (0..model.n_states() as u32).step_by(37) {
        let state = syn.decode_state(s);
        for p in model.pairs(s) {
            let action = model.pair_action(p);
            let mut counts: HashMap<(u32, u32), u32> = HashMap::new();
            for _ in 0..draws {
                let mut levels = state.levels.clone();
                let step = syn.run_option(state.holder, &mut levels, state.private, action, &mut rng).unwrap();
                let next = match step.next {
                    None => TERMINAL,
                    Some(j) => {
                        let private = syn.draw_private(&mut rng);
                        let next_state = SyntheticState { levels, holder: j, private, bit: None };
                        assert_eq!(
                            syn.agent_observation(j, &next_state.levels, private).unwrap(),
                            syn.observation(&next_state)
                        );
                        syn.state_index(&next_state).unwrap()
                    }
                };
                let expected_reward = model
                    .outcomes(p)
                    .iter()
                    .find(|o| o.next == next && o.duration == step.duration)
                    .map(|o| o.reward)
                    .unwrap_or_else(|| panic!("state {s} action {}: outcome not in the model", action.0));
                assert!((expected_reward - step.reward).abs() < 1e-12);
                *counts.entry((next, step.duration)).or_insert(0) += 1;
            }
            for o in model.outcomes(p) {
                let freq = f64::from(counts.get(&(o.next, o.duration)).copied().unwrap_or(0)) / draws as f64;
                // 5 standard errors of a binomial frequency at 40,000 draws is at most 0.0125.
                assert!((freq - o.prob).abs() < 0.0125, "state {s} action {}: {freq} vs {}", action.0, o.prob);
            }
        }
    }
}

#[test]
fn per_agent_api_rejects_bad_artifacts_and_the_hidden_bit() {
    let (syn, _) = default_model();
    let mut rng = baton_core::rng::stream(1, baton_core::rng::Stream::Other(0));
    let err = syn.run_option(AgentId(0), &mut [0, 9, 0], 0, ActionId(0), &mut rng).unwrap_err();
    assert!(err.to_string().contains("component 1 has level 9"), "{err}");
    let err = syn.agent_observation(AgentId(0), &[0, 0], 0).unwrap_err();
    assert!(err.to_string().contains("expected 3 components"), "{err}");
    assert!(syn.run_option(AgentId(3), &mut [0, 0, 0], 0, ActionId(0), &mut rng).is_err());
    assert!(syn.run_option(AgentId(0), &mut [0, 0, 0], 0, ActionId(5), &mut rng).is_err());
    let aliased = SyntheticConfig { aliasing: 1.0, ..SyntheticConfig::default() }.validate().unwrap();
    assert!(aliased.agent_observation(AgentId(0), &[0, 0, 0], 0).is_err());
}

fn default_model() -> (Synthetic, FiniteModel) {
    let syn = SyntheticConfig::default().validate().expect("default config is valid");
    let model = syn.build_model().expect("default model builds");
    (syn, model)
}

fn parse(text: &str) -> Result<SyntheticConfig, String> {
    toml::from_str::<SyntheticConfig>(text).map_err(|e| e.to_string())
}

fn invalid_field(cfg: &SyntheticConfig) -> String {
    match cfg.validate() {
        Err(EnvError::InvalidConfig { field, reason }) => {
            let msg = EnvError::invalid(field.clone(), reason).to_string();
            assert!(msg.contains(&field), "message {msg:?} does not name {field}");
            field
        }
        Err(e) => panic!("expected InvalidConfig, got {e}"),
        Ok(_) => panic!("expected InvalidConfig, got a valid config"),
    }
}

fn assert_probabilities_sum_to_one(model: &FiniteModel) {
    for p in 0..model.n_pairs() {
        let outs = model.outcomes(p);
        assert!(!outs.is_empty());
        let total: f64 = outs.iter().map(|o| o.prob).sum();
        assert!((total - 1.0).abs() < 1e-12, "pair {p} sums to {total}");
        assert!(outs.iter().all(|o| o.prob > 0.0 && o.duration >= 1 && o.reward.is_finite()));
    }
    let total: f64 = model.initial().iter().map(|&(_, q)| q).sum();
    assert!((total - 1.0).abs() < 1e-12);
}

fn expected_counts(cfg: &SyntheticConfig) -> (usize, usize) {
    let nb = if cfg.aliasing > 0.0 { 2 } else { 1 };
    let states = (cfg.levels as usize).pow(cfg.components) * cfg.agents as usize * cfg.private_states as usize * nb;
    (states, states * (2 * cfg.agents as usize - 1))
}

/// Within every class of states sharing (holder, observation), for every action: the largest difference
/// of expected rewards and the largest L1 difference of the discounted next-observation measures
/// `M(o'|s,a) = sum K(s',tau|s,a) gamma^tau 1{(h(s'), sigma(s')) = o'}` (termination as its own key).
/// Both zero means `eps_IF = delta_IF = 0` for any behaviour distribution.
fn interface_discrepancy(model: &FiniteModel) -> (f64, f64) {
    type Measure = BTreeMap<Option<(u16, u32)>, f64>;
    let gamma = model.discount();
    let mut first: HashMap<(u16, u32, u16), (f64, Measure)> = HashMap::new();
    let (mut eps, mut delta) = (0.0f64, 0.0f64);
    for s in 0..model.n_states() as u32 {
        for p in model.pairs(s) {
            let mut m = Measure::new();
            for o in model.outcomes(p) {
                let key = (o.next != TERMINAL).then(|| (model.holder(o.next).0, model.obs(o.next).0));
                *m.entry(key).or_insert(0.0) += o.prob * gamma.powi(o.duration as i32);
            }
            let r = model.expected_reward(p);
            let key = (model.holder(s).0, model.obs(s).0, model.pair_action(p).0);
            match first.get(&key) {
                None => {
                    first.insert(key, (r, m));
                }
                Some((r0, m0)) => {
                    eps = eps.max((r - r0).abs());
                    let keys: BTreeSet<_> = m.keys().chain(m0.keys()).collect();
                    let l1: f64 = keys
                        .into_iter()
                        .map(|k| (m.get(k).copied().unwrap_or(0.0) - m0.get(k).copied().unwrap_or(0.0)).abs())
                        .sum();
                    delta = delta.max(l1);
                }
            }
        }
    }
    (eps, delta)
}

#[test]
fn the_default_config_builds_with_the_formula_counts() {
    let cfg = SyntheticConfig::default();
    let (syn, model) = default_model();
    let (states, pairs) = expected_counts(&cfg);
    assert_eq!((states, pairs), (384, 1920));
    assert_eq!(syn.n_states(), states);
    assert_eq!(syn.n_pairs(), pairs);
    assert_eq!(model.n_states(), states);
    assert_eq!(model.n_pairs(), pairs);
    assert_eq!(syn.obs_counts(), &[32, 32, 32]);
    assert_eq!(model.spec().id, "synthetic-v0");
    assert_eq!(model.spec().agents[0].action_names, ["low->1", "high->1", "low->2", "high->2", "submit"]);
    assert_eq!(model.spec().agents[1].action_names, ["low->0", "high->0", "low->2", "high->2", "submit"]);
    assert_eq!(model.state_label(0), "x=[0,0,0] h=0 p=busy");
    assert!(syn.describe().contains("384 states"), "{}", syn.describe());
    assert!(syn.describe().contains("1920 state-action pairs"), "{}", syn.describe());
}

#[test]
fn every_outcome_list_of_the_default_model_sums_to_one() {
    let (_, model) = default_model();
    assert_probabilities_sum_to_one(&model);
}

#[test]
fn the_default_model_passes_check_env() {
    let (_, model) = default_model();
    check_env(|| FiniteEnv::new(&model), CheckOptions::default()).expect("check_env passes");
}

#[test]
fn the_start_distribution_is_all_zero_levels_at_the_start_agent_with_uniform_private_state() {
    let cfg = SyntheticConfig { start_agent: 2, aliasing: 1.0, ..SyntheticConfig::default() };
    let syn = cfg.validate().expect("valid");
    let model = syn.build_model().expect("builds");
    assert_eq!(model.initial().len(), 4);
    for &(s, q) in model.initial() {
        let st = syn.decode_state(s);
        assert_eq!(st.levels, [0, 0, 0]);
        assert_eq!(st.holder, AgentId(2));
        assert!((q - 0.25).abs() < 1e-15);
    }
}

#[test]
fn state_indices_labels_and_observations_agree_with_the_model() {
    let syn = SyntheticConfig { aliasing: 0.5, components: 4, ..SyntheticConfig::default() }.validate().expect("valid");
    let model = syn.build_model().expect("builds");
    for s in 0..model.n_states() as u32 {
        let st = syn.decode_state(s);
        assert_eq!(syn.state_index(&st), Some(s));
        assert_eq!(model.holder(s), st.holder);
        assert_eq!(model.obs(s), syn.observation(&st));
        assert_eq!(model.state_label(s), syn.state_label(&st));
    }
    let st = SyntheticState { levels: vec![1, 3, 0, 2], holder: AgentId(1), private: 1, bit: Some(0) };
    assert_eq!(syn.state_label(&st), "x=[1,3,0,2] h=1 p=focused b=0");
    assert_eq!(syn.state_index(&SyntheticState { bit: None, ..st.clone() }), None);
    assert_eq!(syn.state_index(&SyntheticState { private: 2, ..st }), None);
}

#[test]
fn actions_encode_and_decode_consistently() {
    let syn = SyntheticConfig { agents: 4, components: 4, ..SyntheticConfig::default() }.validate().expect("valid");
    for i in 0..4u16 {
        for a in 0..syn.n_actions() {
            let act = syn.decode_action(AgentId(i), ActionId(a)).expect("in range");
            assert_eq!(syn.action_id(AgentId(i), act), Some(ActionId(a)));
            if let SyntheticAction::Work { target, .. } = act {
                assert_ne!(target, AgentId(i));
            }
        }
        assert_eq!(syn.decode_action(AgentId(i), ActionId(syn.n_actions())), None);
        let to_self = SyntheticAction::Work { effort: Effort::Low, target: AgentId(i) };
        assert_eq!(syn.action_id(AgentId(i), to_self), None);
    }
}

#[test]
fn an_observation_never_depends_on_own_components_other_private_states_or_the_hidden_bit() {
    let syn = SyntheticConfig {
        agents: 3,
        components: 5,
        levels: 3,
        private_states: 3,
        aliasing: 1.0,
        ..SyntheticConfig::default()
    }
    .validate()
    .expect("valid");
    let model = syn.build_model().expect("builds");
    // A full model.md section 1 joint state (x, p_1..p_n, h, b) projects to the model's state, which keeps only
    // the holder's private state (the others are redrawn at receipt). Vary everything the holder must not
    // see: its own components (0 and 3 for agent 0), the other agents' private states, and b.
    let observe = |x: &[u32], privates: &[u32], h: u16, b: u8| {
        let st = SyntheticState { levels: x.to_vec(), holder: AgentId(h), private: privates[h as usize], bit: Some(b) };
        let s = syn.state_index(&st).expect("in range");
        assert_eq!(model.obs(s), syn.observation(&st));
        model.obs(s)
    };
    let base = observe(&[0, 1, 2, 0, 1], &[2, 0, 1], 0, 0);
    assert_eq!(base, observe(&[2, 1, 2, 1, 1], &[2, 0, 1], 0, 0), "own components leak");
    assert_eq!(base, observe(&[0, 1, 2, 0, 1], &[2, 2, 0], 0, 0), "other private states leak");
    assert_eq!(base, observe(&[0, 1, 2, 0, 1], &[2, 0, 1], 0, 1), "hidden bit leaks");
    assert_eq!(base, observe(&[1, 1, 2, 2, 1], &[2, 1, 2], 0, 1), "a combination leaks");
    // And it does see what it should: another agent's component and its own private state.
    assert_ne!(base, observe(&[0, 2, 2, 0, 1], &[2, 0, 1], 0, 0));
    assert_ne!(base, observe(&[0, 1, 2, 0, 1], &[1, 0, 1], 0, 0));

    // Exhaustively: within one holder, the observation is exactly (components not owned, private state).
    let mut seen: HashMap<(AgentId, ObsId), (Vec<u32>, u32)> = HashMap::new();
    for s in 0..model.n_states() as u32 {
        let st = syn.decode_state(s);
        let visible: Vec<u32> =
            (0..st.levels.len()).filter(|&c| syn.owner(c) != st.holder).map(|c| st.levels[c]).collect();
        let key = (st.holder, model.obs(s));
        let value = (visible, st.private);
        let prev = seen.entry(key).or_insert_with(|| value.clone());
        assert_eq!(*prev, value, "observation {key:?} merges different views");
    }
    let n_obs: usize = syn.obs_counts().iter().map(|&o| o as usize).sum();
    assert_eq!(seen.len(), n_obs, "every observation occurs");
}

#[test]
fn the_receivers_observation_does_not_reveal_the_senders_private_state() {
    // After a low-effort handoff (whose success does not depend on the private state), the receiver's
    // observation has the same distribution whatever the sender's private state was.
    let syn = SyntheticConfig { private_states: 3, ..SyntheticConfig::default() }.validate().expect("valid");
    let model = syn.build_model().expect("builds");
    let dist = |s: u32, a: ActionId| {
        let p = model.pair_of(s, a).expect("legal");
        let mut d: BTreeMap<(u16, u32, u32), f64> = BTreeMap::new();
        for o in model.outcomes(p) {
            *d.entry((model.holder(o.next).0, model.obs(o.next).0, o.duration)).or_insert(0.0) += o.prob;
        }
        d.into_iter().collect::<Vec<_>>()
    };
    for s in 0..model.n_states() as u32 {
        let st = syn.decode_state(s);
        if st.private == 0 {
            continue;
        }
        let s0 = syn.state_index(&SyntheticState { private: 0, ..st.clone() }).expect("in range");
        for a in 0..syn.n_actions() {
            if let Some(SyntheticAction::Work { effort: Effort::Low, .. }) = syn.decode_action(st.holder, ActionId(a)) {
                let (d, d0) = (dist(s, ActionId(a)), dist(s0, ActionId(a)));
                assert_eq!(d.len(), d0.len());
                for (x, y) in d.iter().zip(&d0) {
                    assert_eq!(x.0, y.0);
                    assert!((x.1 - y.1).abs() < 1e-15);
                }
            }
        }
    }
}

#[test]
fn the_interface_gap_is_exactly_zero_without_aliasing() {
    for cfg in [
        SyntheticConfig::default(),
        SyntheticConfig { agents: 3, components: 5, levels: 3, private_states: 3, ..SyntheticConfig::default() },
        SyntheticConfig {
            agents: 2,
            components: 4,
            private_states: 1,
            durations: DurationPmfs { low: vec![0.2, 0.3, 0.5], high: vec![0.0, 0.0, 0.25, 0.75] },
            ..SyntheticConfig::default()
        },
    ] {
        let model = cfg.validate().expect("valid").build_model().expect("builds");
        let (eps, delta) = interface_discrepancy(&model);
        assert!(eps < 1e-12 && delta < 1e-12, "eps {eps} delta {delta} for {cfg:?}");
    }
}

#[test]
fn aliasing_doubles_the_states_and_shifts_only_submit_rewards_by_lambda() {
    let lambda = 0.7;
    let cfg = SyntheticConfig { aliasing: lambda, ..SyntheticConfig::default() };
    let syn = cfg.validate().expect("valid");
    let model = syn.build_model().expect("builds");
    assert_eq!(model.n_states(), 2 * 384);
    assert_eq!(model.n_pairs(), 2 * 1920);
    assert_eq!(expected_counts(&cfg), (768, 3840));
    assert_probabilities_sum_to_one(&model);
    let mut checked = 0;
    for s in 0..model.n_states() as u32 {
        let st = syn.decode_state(s);
        if st.bit != Some(0) {
            continue;
        }
        let s1 = syn.state_index(&SyntheticState { bit: Some(1), ..st.clone() }).expect("in range");
        assert_eq!(model.obs(s), model.obs(s1));
        let submit = syn.action_id(st.holder, SyntheticAction::Submit).expect("submit");
        let r0 = model.expected_reward(model.pair_of(s, submit).expect("legal"));
        let r1 = model.expected_reward(model.pair_of(s1, submit).expect("legal"));
        assert!((r1 - r0 - lambda).abs() < 1e-12, "r1 - r0 = {}", r1 - r0);
        checked += 1;
    }
    assert_eq!(checked, 384);
    // Observable transitions stay identical; only rewards within an observation class differ, by lambda.
    let (eps, delta) = interface_discrepancy(&model);
    assert!((eps - lambda).abs() < 1e-12, "eps {eps}");
    assert!(delta < 1e-12, "delta {delta}");
}

#[test]
fn work_and_submit_follow_the_dynamics() {
    let (syn, model) = default_model();
    let gamma: f64 = 0.95;
    // Agent 0 holds x = [3, 1, 2] focused; it sees max(1, 2) = 2.
    let st = SyntheticState { levels: vec![3, 1, 2], holder: AgentId(0), private: 1, bit: None };
    let s = syn.state_index(&st).expect("in range");
    let high_to_2 =
        syn.action_id(AgentId(0), SyntheticAction::Work { effort: Effort::High, target: AgentId(2) }).expect("action");
    let mut by_level: BTreeMap<u32, f64> = BTreeMap::new();
    for o in model.outcomes(model.pair_of(s, high_to_2).expect("legal")) {
        let next = syn.decode_state(o.next);
        assert_eq!(next.holder, AgentId(2));
        assert_eq!(&next.levels[1..], &[1, 2]);
        assert!(o.duration == 2 || o.duration == 3);
        let expect_r = -0.1 * (0..o.duration).map(|u| gamma.powi(u as i32)).sum::<f64>();
        assert!((o.reward - expect_r).abs() < 1e-12);
        *by_level.entry(next.levels[0]).or_insert(0.0) += o.prob;
    }
    // Success (0.9, focused): min(3, 2 + 2) = 3; failure: 2.
    assert_eq!(by_level.len(), 2);
    assert!((by_level[&3] - 0.9).abs() < 1e-12 && (by_level[&2] - 0.1).abs() < 1e-12);
    // SUBMIT: own component finalised to 2, mean level 5/3, reward -0.1 + 10 (5/9)^2.
    let submit = syn.action_id(AgentId(0), SyntheticAction::Submit).expect("submit");
    let outs = model.outcomes(model.pair_of(s, submit).expect("legal"));
    assert_eq!(outs.len(), 1);
    assert_eq!((outs[0].next, outs[0].duration), (TERMINAL, 1));
    let q = 5.0 / 9.0;
    assert!((outs[0].reward - (-0.1 + 10.0 * q * q)).abs() < 1e-12);
    // At the top level success and failure coincide and are merged: 2 durations x 2 receiver states.
    let top = SyntheticState { levels: vec![0, 3, 3], ..st };
    let s = syn.state_index(&top).expect("in range");
    assert_eq!(model.outcomes(model.pair_of(s, high_to_2).expect("legal")).len(), 4);
}

#[test]
fn the_default_problem_is_not_trivial_the_optimal_action_depends_on_the_private_state() {
    let (syn, model) = default_model();
    let q = baton_solve::value_iteration(&model, 1e-10).expect("solves").q;
    let greedy = |s: u32| {
        let r = model.pairs(s);
        let best = r.clone().max_by(|&a, &b| q[a].total_cmp(&q[b])).expect("a pair");
        model.pair_action(best)
    };
    let (mut views, mut differ) = (0, 0);
    let mut efforts = BTreeSet::new();
    for s in 0..model.n_states() as u32 {
        let st = syn.decode_state(s);
        if let Some(SyntheticAction::Work { effort, .. }) = syn.decode_action(st.holder, greedy(s)) {
            efforts.insert(format!("{effort:?}"));
        }
        if st.private != 0 {
            continue;
        }
        let focused = SyntheticState { private: 1, ..st.clone() };
        let s1 = syn.state_index(&focused).expect("in range");
        views += 1;
        if greedy(s) != greedy(s1) {
            differ += 1;
        }
    }
    // Some (holder, view) situations call for a different action when busy than when focused, and both
    // efforts are used somewhere: private information matters and no effort is dominated.
    eprintln!("optimal action depends on the private state in {differ} of {views} (holder, view) states");
    assert!(differ > 0, "the optimal action never depends on the private state");
    assert_eq!(efforts.len(), 2, "only {efforts:?} is ever optimal");
}

#[test]
fn high_effort_success_interpolates_over_private_states() {
    let syn = SyntheticConfig { private_states: 4, ..SyntheticConfig::default() }.validate().expect("valid");
    let expected = [0.2, 0.2 + 0.7 / 3.0, 0.2 + 1.4 / 3.0, 0.9];
    for (got, want) in syn.high_success.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12);
    }
    assert_eq!(syn.private_state_name(0), "busy");
    assert_eq!(syn.private_state_name(1), "mid1");
    assert_eq!(syn.private_state_name(3), "focused");
}

#[test]
fn an_empty_toml_is_the_default_and_the_default_round_trips() {
    assert_eq!(parse("").expect("parses"), SyntheticConfig::default());
    let text = toml::to_string(&SyntheticConfig::default()).expect("serialises");
    assert_eq!(parse(&text).expect("parses"), SyntheticConfig::default());
    let partial = parse("agents = 4\ncomponents = 4\n[durations]\nlow = [1.0]\n").expect("parses");
    assert_eq!(partial.durations.high, vec![0.0, 0.5, 0.5]);
    assert_eq!(partial.durations.low, vec![1.0]);
    assert!(partial.validate().is_ok());
}

#[test]
fn parsing_toml_with_an_unknown_field_fails_naming_the_field() {
    let err = parse("agents = 3\nagnets = 2\n").expect_err("unknown field");
    assert!(err.contains("agnets"), "{err}");
    let err = parse("[durations]\nmedium = [1.0]\n").expect_err("unknown nested field");
    assert!(err.contains("medium"), "{err}");
    let err = parse("[success]\nhigh = 0.5\n").expect_err("unknown nested field");
    assert!(err.contains("high"), "{err}");
}

#[test]
fn a_discount_of_one_fails_naming_discount() {
    let cfg = parse("discount = 1.0").expect("parses");
    assert_eq!(invalid_field(&cfg), "discount");
    let cfg = SyntheticConfig { discount: -0.1, ..SyntheticConfig::default() };
    assert_eq!(invalid_field(&cfg), "discount");
}

#[test]
fn durations_not_summing_to_one_fail_naming_the_pmf() {
    let cfg = parse("[durations]\nlow = [0.5, 0.4]\n").expect("parses");
    assert_eq!(invalid_field(&cfg), "durations.low");
    let msg = cfg.validate().expect_err("invalid").to_string();
    assert!(msg.contains("durations.low") && msg.contains("sum to 1"), "{msg}");
    let cfg = parse("[durations]\nhigh = [1.5, -0.5]\n").expect("parses");
    assert_eq!(invalid_field(&cfg), "durations.high");
    let cfg = parse("[durations]\nhigh = []\n").expect("parses");
    assert_eq!(invalid_field(&cfg), "durations.high");
    // Within tolerance is accepted.
    let cfg = parse("[durations]\nlow = [0.7, 0.3000000000001]\n").expect("parses");
    assert!(cfg.validate().is_ok());
}

#[test]
fn zero_or_eleven_agents_fail_naming_agents() {
    for text in ["agents = 0", "agents = 1", "agents = 11\ncomponents = 11"] {
        let cfg = parse(text).expect("parses");
        assert_eq!(invalid_field(&cfg), "agents", "{text}");
    }
    assert!(parse("agents = -1").is_err());
}

#[test]
fn other_out_of_range_values_fail_naming_their_field() {
    let d = SyntheticConfig::default;
    let cases = [
        (SyntheticConfig { components: 2, ..d() }, "components"),
        (SyntheticConfig { levels: 1, ..d() }, "levels"),
        (SyntheticConfig { levels: 9, ..d() }, "levels"),
        (SyntheticConfig { private_states: 0, ..d() }, "private_states"),
        (SyntheticConfig { private_states: 5, ..d() }, "private_states"),
        (SyntheticConfig { step_cost: -1.0, ..d() }, "step_cost"),
        (SyntheticConfig { submit_reward: f64::NAN, ..d() }, "submit_reward"),
        (SyntheticConfig { aliasing: -0.5, ..d() }, "aliasing"),
        (SyntheticConfig { start_agent: 3, ..d() }, "start_agent"),
        (
            SyntheticConfig { success: SuccessProbabilities { low: 1.2, ..SuccessProbabilities::default() }, ..d() },
            "success.low",
        ),
        (
            SyntheticConfig {
                success: SuccessProbabilities { high_busy: -0.1, ..SuccessProbabilities::default() },
                ..d()
            },
            "success.high_busy",
        ),
        (
            SyntheticConfig {
                success: SuccessProbabilities { high_focused: f64::INFINITY, ..SuccessProbabilities::default() },
                ..d()
            },
            "success.high_focused",
        ),
    ];
    for (cfg, field) in cases {
        assert_eq!(invalid_field(&cfg), field);
    }
}

#[test]
fn a_huge_config_fails_with_too_large() {
    let cfg = parse("agents = 10\ncomponents = 40\nlevels = 8\nprivate_states = 4").expect("parses");
    match cfg.validate() {
        Err(e @ EnvError::TooLarge { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("components") && msg.contains("levels"), "{msg}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Just over the pair limit: 8^6 * 3 * 2 * 5 = 7,864,320 pairs.
    let cfg = SyntheticConfig { components: 6, levels: 8, ..SyntheticConfig::default() };
    assert!(matches!(cfg.validate(), Err(EnvError::TooLarge { .. })));
    // Within the pair limit but with long duration pmfs: too many outcomes.
    let long: Vec<f64> = vec![1.0 / 64.0; 64];
    let cfg = SyntheticConfig {
        components: 5,
        levels: 8,
        durations: DurationPmfs { low: long.clone(), high: long },
        ..SyntheticConfig::default()
    };
    match cfg.validate() {
        Err(EnvError::TooLarge { what, reduce, .. }) => {
            assert_eq!(what, "outcomes");
            assert!(reduce.contains("durations.low"));
        }
        other => panic!("expected TooLarge outcomes, got {other:?}"),
    }
}

fn pmf_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..1.0, 1..=4).prop_map(|w| {
        let total: f64 = w.iter().sum();
        if total <= 1e-6 {
            let mut v = vec![0.0; w.len()];
            v[0] = 1.0;
            v
        } else {
            w.iter().map(|x| x / total).collect()
        }
    })
}

fn config_strategy() -> impl Strategy<Value = SyntheticConfig> {
    (2u32..=4, 0u32..=1, 2u32..=4, 1u32..=3)
        .prop_flat_map(|(agents, extra, levels, private_states)| {
            (
                Just((agents, agents + extra, levels, private_states)),
                0.0f64..0.99,
                0.0f64..1.0,
                0.0f64..20.0,
                (pmf_strategy(), pmf_strategy()),
                (0.0f64..=1.0, 0.0f64..=1.0, 0.0f64..=1.0),
                prop_oneof![Just(0.0), 0.0f64..2.0],
                0..agents,
            )
        })
        .prop_map(
            |(
                (agents, components, levels, private_states),
                discount,
                step_cost,
                submit_reward,
                (low, high),
                (sl, shf, shb),
                aliasing,
                start_agent,
            )| {
                SyntheticConfig {
                    agents,
                    components,
                    levels,
                    private_states,
                    discount,
                    step_cost,
                    submit_reward,
                    durations: DurationPmfs { low, high },
                    success: SuccessProbabilities { low: sl, high_focused: shf, high_busy: shb },
                    aliasing,
                    start_agent,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_small_valid_configs_build_with_probabilities_summing_to_one(cfg in config_strategy()) {
        let syn = cfg.validate().expect("a small config is valid");
        let model = syn.build_model().expect("builds");
        let (states, pairs) = expected_counts(&cfg);
        prop_assert_eq!(model.n_states(), states);
        prop_assert_eq!(model.n_pairs(), pairs);
        assert_probabilities_sum_to_one(&model);
        if cfg.aliasing == 0.0 {
            let (eps, delta) = interface_discrepancy(&model);
            prop_assert!(eps < 1e-9 && delta < 1e-12, "eps {} delta {}", eps, delta);
        }
    }
}

#[test]
fn the_round_robin_pipeline_depends_only_on_the_holders_observation() {
    let syn = SyntheticConfig::default().validate().unwrap();
    let mut chosen: std::collections::HashMap<(AgentId, ObsId), SyntheticAction> = Default::default();
    for s in 0..syn.n_states() as u32 {
        let state = syn.decode_state(s);
        let key = (state.holder, syn.observation(&state));
        let a = syn.round_robin_action(&state);
        assert_eq!(*chosen.entry(key).or_insert(a), a, "state {s}: {}", syn.state_label(&state));
        assert!(syn.action_id(state.holder, a).is_some());
    }
}
