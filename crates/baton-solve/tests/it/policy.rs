//! Policies and their validation.

use baton_core::{ActionId, AgentId, FiniteModel, Legal, ModelBuilder, ObsId, TERMINAL};
use baton_solve::{stationary, Behaviour, Policy, SolveError};

use crate::models::{agent, out, spec};

/// Two states held by one agent: observation 0 allows only action 0, observation 1 allows actions 0 and 1.
fn restricted_model() -> FiniteModel {
    let mut a = agent("solo", 2, 2);
    a.legal = Legal::per_obs(&[vec![ActionId(0)], vec![ActionId(0), ActionId(1)]], 2).expect("valid");
    let mut b = ModelBuilder::new(spec(vec![a], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(1), "s1");
    b.set_outcomes(s0, vec![vec![out(1.0, s1, 1, 0.0)]]);
    b.set_outcomes(s1, vec![vec![out(1.0, TERMINAL, 1, 1.0)], vec![out(1.0, TERMINAL, 1, 2.0)]]);
    b.set_initial(vec![(s0, 1.0)]);
    b.build().expect("valid model")
}

/// Two states that agent 0 cannot tell apart (both observation 0), two actions.
fn aliased_model() -> FiniteModel {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 1, 2)], 0.9));
    let s0 = b.add_state(AgentId(0), ObsId(0), "s0");
    let s1 = b.add_state(AgentId(0), ObsId(0), "s1");
    for s in [s0, s1] {
        b.set_outcomes(s, vec![vec![out(1.0, TERMINAL, 1, 0.0)], vec![out(1.0, TERMINAL, 1, 1.0)]]);
    }
    b.set_initial(vec![(s0, 0.5), (s1, 0.5)]);
    b.build().expect("valid model")
}

#[test]
fn from_agents_rejects_an_illegal_action_naming_agent_observation_and_action() {
    let model = restricted_model();
    let err = Policy::from_agents(&model, |_, _| ActionId(1)).expect_err("action 1 is illegal in observation 0");
    assert_eq!(err, SolveError::IllegalAction { agent: 0, obs: 0, action: 1 });
    let msg = err.to_string();
    assert!(msg.contains("agent 0") && msg.contains("action 1") && msg.contains("observation 0"), "{msg}");
}

#[test]
fn from_agents_builds_a_deterministic_policy_on_the_chosen_pairs() {
    let model = restricted_model();
    let pi = Policy::from_agents(&model, |_, o| ActionId(o.0 as u16)).expect("legal");
    assert_eq!(pi.probs(), &[1.0, 0.0, 1.0]);
}

#[test]
fn from_probs_rejects_probabilities_that_do_not_sum_to_one() {
    let model = restricted_model();
    let err = Policy::from_probs(&model, vec![1.0, 0.5, 0.4]).expect_err("state 1 sums to 0.9");
    assert!(matches!(err, SolveError::ProbabilitiesDoNotSumToOne { state: 1, .. }), "{err}");
}

#[test]
fn from_probs_rejects_negative_probabilities_and_wrong_lengths() {
    let model = restricted_model();
    assert!(matches!(
        Policy::from_probs(&model, vec![1.0, -0.5, 1.5]),
        Err(SolveError::InvalidProbability { state: 1, pair: 1, .. })
    ));
    assert!(matches!(
        Policy::from_probs(&model, vec![1.0, 1.0]),
        Err(SolveError::LengthMismatch { expected: 3, got: 2, .. })
    ));
    assert!(Policy::from_probs(&model, vec![1.0, 0.25, 0.75]).is_ok());
}

#[test]
fn greedy_breaks_ties_toward_the_lowest_action_and_skips_nan() {
    let model = restricted_model();
    assert_eq!(Policy::greedy(&model, &[0.0, 3.0, 3.0]).expect("ok").probs(), &[1.0, 1.0, 0.0]);
    assert_eq!(Policy::greedy(&model, &[0.0, f64::NAN, -1.0]).expect("ok").probs(), &[1.0, 0.0, 1.0]);
    assert_eq!(Policy::greedy(&model, &[0.0, -0.0, 0.0]).expect("ok").probs(), &[1.0, 0.0, 1.0]);
}

#[test]
fn uniform_policy_spreads_over_legal_actions() {
    let model = restricted_model();
    assert_eq!(Policy::uniform(&model).probs(), &[1.0, 0.5, 0.5]);
}

#[test]
fn behaviour_rejects_a_base_policy_that_is_not_observation_measurable() {
    let model = aliased_model();
    let base = Policy::from_probs(&model, vec![1.0, 0.0, 0.0, 1.0]).expect("valid policy");
    let err = Behaviour::new(&model, base.clone(), 0.0).expect_err("states 0 and 1 look the same");
    assert!(matches!(err, SolveError::NotObservationMeasurable { agent: 0, obs: 0, state_a: 0, state_b: 1 }));
    // The chain validates too when the struct is built by hand.
    assert!(stationary(&model, &Behaviour { base, kappa: 0.0 }).is_err());
}

#[test]
fn behaviour_rejects_kappa_outside_zero_to_one() {
    let model = aliased_model();
    for kappa in [1.0, -0.1, f64::NAN] {
        assert!(matches!(
            Behaviour::new(&model, Policy::uniform(&model), kappa),
            Err(SolveError::InvalidParameter { name: "kappa", .. })
        ));
    }
}
