//! The interface fixed point Q_bar and the interface gap.

use baton_core::{ActionId, AgentId, FiniteModel, ModelBuilder, ObsId, TERMINAL};
use baton_solve::{
    interface_gap, interface_q, max_abs_diff_on, stationary, value_iteration, Behaviour, Policy, SolveError,
};
use proptest::prelude::*;

use crate::models::{agent, out, random_model, spec, RandomOpts};

/// `max over pairs with xi > 0 of |Q*(s, a) - Q_bar(sigma(s), a)|`.
fn lifted_error(xi: &[f64], qstar: &[f64], lifted: &[f64]) -> f64 {
    let mask: Vec<bool> = xi.iter().map(|&x| x > 0.0).collect();
    max_abs_diff_on(qstar, lifted, &mask)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn with_full_observation_q_bar_equals_q_star_and_the_interface_gap_is_zero(
        seed in any::<u64>(), n in 1usize..7, a in 1u16..=3, agents in 1u16..=3, legal in any::<bool>(),
        kappa in prop_oneof![Just(0.0), 0.0f64..0.9],
    ) {
        let opts = RandomOpts { n_agents: agents, random_legal: legal, ..RandomOpts::simple(n, a, 0.9) };
        let model = random_model(seed, opts);
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid");
        let st = stationary(&model, &behaviour).expect("converges");
        prop_assert!(st.xi.iter().all(|&x| x > 0.0), "behaviour visits every pair");
        let qbar = interface_q(&model, &st.xi).expect("solves");
        let qstar = value_iteration(&model, 1e-12).expect("converges").q;
        let lifted = qbar.lift(&model);
        let err = lifted_error(&st.xi, &qstar, &lifted);
        prop_assert!(err < 1e-9, "||Q* - Q_bar o sigma|| = {}", err);
        prop_assert_eq!(qbar.unvisited_receivers, 0);
        let gap = interface_gap(&model, &st.xi, &qbar).expect("gap");
        prop_assert!(gap.eps_if < 1e-12 && gap.delta_if < 1e-12 && gap.alpha_if < 1e-10, "{:?}", gap);
    }

    #[test]
    fn on_aliased_models_q_bar_stays_within_alpha_if_of_q_star(
        seed in any::<u64>(), n in 2usize..8, a in 1u16..=3, agents in 1u16..=2, n_obs in 1u32..=3,
        gamma in 0.5f64..0.95,
    ) {
        let model = random_model(seed, RandomOpts {
            n_agents: agents, aliased_obs: Some(n_obs), ..RandomOpts::simple(n, a, gamma)
        });
        let st = stationary(&model, &Behaviour::uniform(&model)).expect("converges");
        let qbar = interface_q(&model, &st.xi).expect("solves");
        let gap = interface_gap(&model, &st.xi, &qbar).expect("gap");
        let qstar = value_iteration(&model, 1e-12).expect("converges").q;
        let err = lifted_error(&st.xi, &qstar, &qbar.lift(&model));
        prop_assert!(err <= gap.alpha_if + 1e-9, "error {} > alpha_IF {} ({:?})", err, gap.alpha_if, gap);
    }
}

/// One agent sees x in {0, 1} but not the hidden bit b; states s = 2x + b. Action 0 (work) flips x and keeps b,
/// reward -0.1, duration 1 (p 0.7) or 2 (p 0.3). Action 1 (submit) ends the episode with reward
/// base[x] + (b - 1/2) lambda. Everything observable moves identically for both values of b.
fn hidden_bit_model(lambda: f64) -> FiniteModel {
    let base = [0.5, 1.0];
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 2)], 0.9));
    for x in 0..2u32 {
        for bit in 0..2u32 {
            b.add_state(AgentId(0), ObsId(x), format!("x{x}b{bit}"));
        }
    }
    for x in 0..2u32 {
        for bit in 0..2u32 {
            let s = 2 * x + bit;
            let flipped = 2 * (1 - x) + bit;
            let submit = base[x as usize] + (f64::from(bit) - 0.5) * lambda;
            b.set_outcomes(
                s,
                vec![vec![out(0.7, flipped, 1, -0.1), out(0.3, flipped, 2, -0.1)], vec![out(1.0, TERMINAL, 1, submit)]],
            );
        }
    }
    b.set_initial((0..4).map(|s| (s, 0.25)).collect());
    b.build().expect("valid")
}

#[test]
fn a_hidden_bit_that_shifts_rewards_by_half_lambda_gives_eps_if_half_lambda_and_the_bound_holds() {
    for lambda in [0.0, 0.2, 1.0, 3.0] {
        let model = hidden_bit_model(lambda);
        let st = stationary(&model, &Behaviour::uniform(&model)).expect("converges");
        let qbar = interface_q(&model, &st.xi).expect("solves");
        let gap = interface_gap(&model, &st.xi, &qbar).expect("gap");
        assert!((gap.eps_if - lambda / 2.0).abs() < 1e-12, "lambda {lambda}: {gap:?}");
        assert!(gap.delta_if < 1e-12, "lambda {lambda}: {gap:?}");
        // gamma_bar counts continuing outcomes only: work gives 0.7 * 0.9 + 0.3 * 0.81; the terminal submit
        // carries no continuation value.
        let gamma_bar = 0.7 * 0.9 + 0.3 * 0.81;
        assert!((gap.gamma_bar - gamma_bar).abs() < 1e-15, "{}", gap.gamma_bar);
        assert!((gap.alpha_if - (lambda / 2.0) / (1.0 - gamma_bar)).abs() < 1e-9);
        let qstar = value_iteration(&model, 1e-12).expect("converges").q;
        let err = lifted_error(&st.xi, &qstar, &qbar.lift(&model));
        assert!(err <= gap.alpha_if + 1e-9, "lambda {lambda}: error {err} > alpha {}", gap.alpha_if);
        if lambda == 0.0 {
            assert!(err < 1e-9);
        } else {
            assert!(err > 0.0);
        }
    }
}

/// Observation 0 hides a bit: with b = 0 the option ends the episode, with b = 1 it hands to observation 1
/// (worth 1). Hand computation (gamma = 0.9): xi = 1/3 on each pair, xi(s | o0) = 1/2, so
/// Mbar(o1 | o0) = 0.45, M(o1 | s0) = 0, M(o1 | s1) = 0.9: delta_IF = 0.45; Q_bar(o1) = 1, Q_bar(o0) = 0.45,
/// ||Vbar|| = 1, eps_IF = 0, alpha_IF = 0.45 / (1 - 0.9) = 4.5.
#[test]
fn a_hidden_bit_that_changes_the_next_observation_gives_the_hand_computed_delta_if() {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 1)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "o0,b0");
    let s1 = b.add_state(AgentId(0), ObsId(0), "o0,b1");
    let s2 = b.add_state(AgentId(0), ObsId(1), "o1");
    b.set_outcomes(s0, vec![vec![out(1.0, TERMINAL, 1, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(1.0, s2, 1, 0.0)]]);
    b.set_outcomes(s2, vec![vec![out(1.0, TERMINAL, 1, 1.0)]]);
    b.set_initial(vec![(s0, 0.5), (s1, 0.5)]);
    let model = b.build().expect("valid");
    let st = stationary(&model, &Behaviour::uniform(&model)).expect("converges");
    for &x in &st.xi {
        assert!((x - 1.0 / 3.0).abs() < 1e-12);
    }
    let qbar = interface_q(&model, &st.xi).expect("solves");
    assert!((qbar.get(AgentId(0), ObsId(0), ActionId(0)) - 0.45).abs() < 1e-12);
    assert!((qbar.get(AgentId(0), ObsId(1), ActionId(0)) - 1.0).abs() < 1e-12);
    let gap = interface_gap(&model, &st.xi, &qbar).expect("gap");
    assert!(gap.eps_if.abs() < 1e-12);
    assert!((gap.delta_if - 0.45).abs() < 1e-12);
    assert!((gap.vbar_inf - 1.0).abs() < 1e-12);
    assert!((gap.alpha_if - 4.5).abs() < 1e-9);
}

#[test]
fn unvisited_entries_are_nan_and_reported_as_unvisited() {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 3, 2)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "start");
    let s1 = b.add_state(AgentId(0), ObsId(1), "orphan");
    b.set_outcomes(s0, vec![vec![out(1.0, TERMINAL, 1, 1.0)], vec![out(1.0, TERMINAL, 2, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(1.0, s0, 1, 0.0)]; 2]);
    b.set_initial(vec![(s0, 1.0)]);
    let model = b.build().expect("valid");
    let st = stationary(&model, &Behaviour::uniform(&model)).expect("converges");
    let qbar = interface_q(&model, &st.xi).expect("solves");
    assert!(qbar.visited(AgentId(0), ObsId(0), ActionId(1)));
    assert!(!qbar.visited(AgentId(0), ObsId(1), ActionId(0)));
    assert!(!qbar.visited(AgentId(0), ObsId(2), ActionId(0)), "an observation no state has");
    assert!(qbar.get(AgentId(0), ObsId(1), ActionId(1)).is_nan());
    assert!(qbar.get(AgentId(3), ObsId(0), ActionId(0)).is_nan(), "no such agent");
    assert_eq!(qbar.vbar(AgentId(0), ObsId(0)), Some(1.0));
    assert_eq!(qbar.vbar(AgentId(0), ObsId(1)), None);
    let lifted = qbar.lift(&model);
    assert_eq!(&lifted[..2], &[1.0, 0.0]);
    assert!(lifted[2].is_nan() && lifted[3].is_nan());
    assert_eq!(qbar.table(AgentId(0)).len(), 6);
    // The greedy policy of the lifted table skips NaN and still plays a legal action.
    let greedy = Policy::greedy(&model, &lifted).expect("lengths match");
    assert_eq!(greedy.probs(), &[1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn interface_q_rejects_bad_weights() {
    let model = hidden_bit_model(1.0);
    let n = model.n_pairs();
    assert!(matches!(interface_q(&model, &vec![0.0; n]), Err(SolveError::ZeroMass { .. })));
    assert!(matches!(interface_q(&model, &[1.0]), Err(SolveError::LengthMismatch { .. })));
    let mut bad = vec![1.0; n];
    bad[3] = -1.0;
    assert!(matches!(interface_q(&model, &bad), Err(SolveError::InvalidWeight { index: 3, .. })));
}

#[test]
fn a_receiver_whose_actions_are_all_unvisited_counts_and_contributes_zero() {
    // Weights that put mass on s0 only: s0 hands to s1, whose entries have no weight.
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 1)], 0.5));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(1), "s1");
    b.set_outcomes(s0, vec![vec![out(1.0, s1, 1, 1.0)]]);
    b.set_outcomes(s1, vec![vec![out(1.0, TERMINAL, 1, 5.0)]]);
    b.set_initial(vec![(s0, 1.0)]);
    let model = b.build().expect("valid");
    let qbar = interface_q(&model, &[1.0, 0.0]).expect("solves");
    assert_eq!(qbar.unvisited_receivers, 1);
    assert_eq!(qbar.get(AgentId(0), ObsId(0), ActionId(0)), 1.0);
}
