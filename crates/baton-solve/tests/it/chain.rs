//! The behaviour chain, its stationary distribution and its mixing time.

use baton_core::{ActionId, AgentId, FiniteModel, ModelBuilder, ObsId, TERMINAL};
use baton_solve::{
    behaviour_chain, mixing_time, stationary, stationary_with, Behaviour, Chain, Policy, StationaryMethod,
    StationarySolver,
};
use proptest::prelude::*;

use crate::models::{agent, out, random_model, spec, RandomOpts};

/// `xi P` computed from the full rows, independently of `Chain::step`.
fn apply(chain: &Chain, xi: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; xi.len()];
    for (p, &x) in xi.iter().enumerate() {
        for (q, w) in chain.full_row(p) {
            y[q as usize] += x * w;
        }
    }
    y
}

fn assert_stationary(chain: &Chain, xi: &[f64]) -> Result<(), TestCaseError> {
    let total: f64 = xi.iter().sum();
    prop_assert!((total - 1.0).abs() < 1e-12, "xi sums to {}", total);
    prop_assert!(xi.iter().all(|&x| x >= 0.0));
    let y = apply(chain, xi);
    let l1: f64 = y.iter().zip(xi).map(|(a, b)| (a - b).abs()).sum();
    prop_assert!(l1 < 1e-9, "||xi P - xi||_1 = {}", l1);
    Ok(())
}

fn arb_chain_model() -> impl Strategy<Value = FiniteModel> {
    (any::<u64>(), 1usize..7, 1u16..=3, 1u16..=3, any::<bool>(), any::<bool>()).prop_map(
        |(seed, n, a, agents, legal, alias)| {
            random_model(
                seed,
                RandomOpts {
                    n_agents: agents,
                    random_legal: legal,
                    aliased_obs: alias.then_some(2),
                    ..RandomOpts::simple(n, a, 0.9)
                },
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_row_of_the_behaviour_chain_is_a_probability_distribution(
        model in arb_chain_model(), kappa in prop_oneof![Just(0.0), 0.0f64..0.99]
    ) {
        let chain = behaviour_chain(&model, &Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid"))
            .expect("builds");
        for p in 0..chain.n_pairs() {
            let total: f64 = chain.full_row(p).iter().map(|&(_, w)| w).sum();
            prop_assert!((total - 1.0).abs() < 1e-12, "row {} sums to {}", p, total);
        }
    }

    #[test]
    fn stationary_distribution_sums_to_one_and_is_invariant(model in arb_chain_model()) {
        let behaviour = Behaviour::uniform(&model);
        let chain = behaviour_chain(&model, &behaviour).expect("builds");
        let st = stationary(&model, &behaviour).expect("converges");
        assert_stationary(&chain, &st.xi)?;
        // With full-support nu_0 and uniform behaviour every pair is visited.
        prop_assert!(st.xi.iter().all(|&x| x > 0.0));
    }

    #[test]
    fn sticky_behaviour_keeps_the_stationary_distribution_invariant(model in arb_chain_model(), kappa in 0.1f64..0.95) {
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid");
        let chain = behaviour_chain(&model, &behaviour).expect("builds");
        let st = stationary(&model, &behaviour).expect("converges");
        assert_stationary(&chain, &st.xi)?;
    }

    #[test]
    fn dense_solve_and_power_iteration_agree(model in arb_chain_model(), kappa in 0.0f64..0.9) {
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid");
        let chain = behaviour_chain(&model, &behaviour).expect("builds");
        let dense = stationary_with(&chain, StationarySolver::Dense).expect("dense");
        let power = stationary_with(&chain, StationarySolver::Power).expect("power");
        prop_assert_eq!(dense.method, StationaryMethod::DenseSolve);
        prop_assert_eq!(power.method, StationaryMethod::PowerIteration);
        for (a, b) in dense.xi.iter().zip(&power.xi) {
            prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b);
        }
    }
}

/// State 0 (agent 0, two actions) -> state 1 (agent 1, `second_agent_actions` actions) -> terminal.
fn two_step_model(second_agent_actions: u16) -> FiniteModel {
    let agents = vec![agent("first", 1, 2), agent("second", 1, second_agent_actions)];
    let mut b = ModelBuilder::new(spec(agents, 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(1), ObsId(0), "s1");
    b.set_outcomes(s0, vec![vec![out(1.0, s1, 1, 0.0)]; 2]);
    b.set_outcomes(s1, vec![vec![out(1.0, TERMINAL, 1, 1.0)]; second_agent_actions as usize]);
    b.set_initial(vec![(s0, 1.0)]);
    b.build().expect("valid model")
}

#[test]
fn sticky_behaviour_repeats_the_previous_action_with_probability_kappa() {
    let model = two_step_model(2);
    let behaviour = Behaviour::new(&model, Policy::uniform(&model), 0.5).expect("valid");
    let chain = behaviour_chain(&model, &behaviour).expect("builds");
    // pair 1 = (s0, a1) -> s1: a1 again with 0.5 + 0.5 * 0.5, a0 with 0.5 * 0.5.
    assert_eq!(chain.full_row(1), vec![(2, 0.25), (3, 0.75)]);
    assert_eq!(chain.full_row(0), vec![(2, 0.75), (3, 0.25)]);
    // After a terminal outcome the chain restarts from nu_0 with the plain base policy (no previous action).
    assert_eq!(chain.full_row(3), vec![(0, 0.5), (1, 0.5)]);
    assert_eq!(chain.restart_prob(3), 1.0);
}

#[test]
fn sticky_behaviour_falls_back_to_the_base_policy_when_the_previous_action_is_illegal() {
    let model = two_step_model(1);
    let behaviour = Behaviour::new(&model, Policy::uniform(&model), 0.9).expect("valid");
    let chain = behaviour_chain(&model, &behaviour).expect("builds");
    // Action 1 does not exist for the second agent: its only action is taken with probability 1.
    assert_eq!(chain.full_row(1), vec![(2, 1.0)]);
    assert_eq!(model.pair_of(1, ActionId(1)), None);
}

#[test]
fn a_periodic_chain_still_has_its_stationary_distribution_found() {
    // s0 -> s1 -> terminal -> s0: the pair chain has period 2.
    let model = two_step_model(2);
    let behaviour = Behaviour::uniform(&model);
    let chain = behaviour_chain(&model, &behaviour).expect("builds");
    for solver in [StationarySolver::Auto, StationarySolver::Dense, StationarySolver::Power] {
        let st = stationary_with(&chain, solver).expect("converges");
        for &x in &st.xi {
            assert!((x - 0.25).abs() < 1e-10, "{solver:?}: {:?}", st.xi);
        }
    }
    assert_eq!(mixing_time(&chain, &[0.25; 4], 100).expect("valid"), None);
}

#[test]
fn pairs_unreachable_from_nu0_get_no_stationary_mass() {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 3, 1)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(1), "s1");
    let s2 = b.add_state(AgentId(0), ObsId(2), "orphan");
    b.set_outcomes(s0, vec![vec![out(1.0, s1, 1, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(0.5, s0, 1, 0.0), out(0.5, TERMINAL, 2, 1.0)]]);
    b.set_outcomes(s2, vec![vec![out(1.0, s0, 1, 0.0)]]);
    b.set_initial(vec![(s0, 1.0)]);
    let model = b.build().expect("valid");
    let st = stationary(&model, &Behaviour::uniform(&model)).expect("converges");
    assert_eq!(st.xi[2], 0.0);
    assert!(!st.visited(2));
    assert!((st.xi[0] - 0.5).abs() < 1e-12 && (st.xi[1] - 0.5).abs() < 1e-12);
}

/// One state, two actions, both loop back to the state: the pair chain switches action with probability
/// q = (1 - kappa)/2, so ||e_z P^t - xi||_TV = kappa^t / 2 and t_mix = ceil(ln(1/2) / ln(kappa)).
fn loop_model() -> FiniteModel {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 1, 2)], 0.9));
    let s = b.add_state(AgentId(0), ObsId(0), "loop");
    b.set_outcomes(s, vec![vec![out(1.0, s, 1, 0.0)]; 2]);
    b.set_initial(vec![(s, 1.0)]);
    b.build().expect("valid")
}

#[test]
fn mixing_time_of_a_sticky_two_pair_chain_matches_the_closed_form() {
    let model = loop_model();
    for (kappa, expected) in [(0.0, 1), (0.6, 2), (0.9, 7), (0.95, 14), (0.99, 69)] {
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid");
        let chain = behaviour_chain(&model, &behaviour).expect("builds");
        let st = stationary(&model, &behaviour).expect("converges");
        assert!((st.xi[0] - 0.5).abs() < 1e-10);
        let t = mixing_time(&chain, &st.xi, 1000).expect("valid");
        assert_eq!(t, Some(expected), "kappa {kappa}");
    }
}

#[test]
fn mixing_time_gives_up_after_max_t() {
    let model = loop_model();
    let behaviour = Behaviour::new(&model, Policy::uniform(&model), 0.99).expect("valid");
    let chain = behaviour_chain(&model, &behaviour).expect("builds");
    assert_eq!(mixing_time(&chain, &[0.5, 0.5], 10).expect("valid"), None);
    assert!(mixing_time(&chain, &[0.5], 10).is_err());
}

#[test]
fn several_closed_classes_fall_back_to_power_iteration_from_nu0() {
    // nu_0 = 1/2 s0 + 1/2 s1; s0 and s1 loop on themselves forever: two closed classes, xi not unique.
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 1)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(1), "s1");
    b.set_outcomes(s0, vec![vec![out(1.0, s0, 1, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(1.0, s1, 1, 0.0)]]);
    b.set_initial(vec![(s0, 0.25), (s1, 0.75)]);
    let model = b.build().expect("valid");
    let chain = behaviour_chain(&model, &Behaviour::uniform(&model)).expect("builds");
    assert!(stationary_with(&chain, StationarySolver::Dense).is_err());
    let st = stationary_with(&chain, StationarySolver::Auto).expect("power iteration");
    assert_eq!(st.method, StationaryMethod::PowerIteration);
    assert_eq!(st.xi, vec![0.25, 0.75]);
}

#[test]
fn transient_pairs_get_no_stationary_mass() {
    // s0 -> s1 forever: s0 is visited once, then never again.
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 1)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(1), "s1");
    b.set_outcomes(s0, vec![vec![out(1.0, s1, 1, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(0.5, s1, 1, 0.0), out(0.5, s1, 2, 0.0)]]);
    b.set_initial(vec![(s0, 1.0)]);
    let model = b.build().expect("valid");
    for solver in [StationarySolver::Dense, StationarySolver::Power] {
        let chain = behaviour_chain(&model, &Behaviour::uniform(&model)).expect("builds");
        let st = stationary_with(&chain, solver).expect("converges");
        assert_eq!(st.xi, vec![0.0, 1.0], "{solver:?}");
    }
}

/// `max_z ||e_z P^t - xi||_TV` by dense matrix powers, over `z` with `xi(z) > 0`.
fn worst_tv(chain: &Chain, xi: &[f64], t: u32) -> f64 {
    let n = chain.n_pairs();
    let mut worst: f64 = 0.0;
    for z in (0..n).filter(|&z| xi[z] > 0.0) {
        let mut d = vec![0.0; n];
        d[z] = 1.0;
        for _ in 0..t {
            d = apply(chain, &d);
        }
        let tv = 0.5 * d.iter().zip(xi).map(|(a, b)| (a - b).abs()).sum::<f64>();
        worst = worst.max(tv);
    }
    worst
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn mixing_time_agrees_with_dense_matrix_powers(model in arb_chain_model(), kappa in 0.0f64..0.95) {
        let behaviour = Behaviour::new(&model, Policy::uniform(&model), kappa).expect("valid");
        let chain = behaviour_chain(&model, &behaviour).expect("builds");
        let st = stationary(&model, &behaviour).expect("converges");
        let t = mixing_time(&chain, &st.xi, 10_000).expect("valid").expect("mixes");
        prop_assert!(worst_tv(&chain, &st.xi, t) <= 0.25 + 1e-12);
        if t > 0 {
            prop_assert!(worst_tv(&chain, &st.xi, t - 1) > 0.25 - 1e-12);
        }
    }
}
