//! Property tests of the IC-Q update rule (model.md section 2, step 4) on the tabular Q-function.

#![allow(clippy::unwrap_used)]

use baton_core::{ActionId, AgentSpec, Legal, ObsId};
use baton_learn::{icq, IcqAgent, QFunction, Scalar, StepSize, TabularQ, Transition};
use proptest::prelude::*;

fn spec(n_obs: u32, n_actions: u16) -> AgentSpec {
    AgentSpec {
        name: "a".into(),
        n_obs,
        n_actions,
        legal: Legal::all(n_actions),
        action_names: (0..n_actions).map(|a| format!("a{a}")).collect(),
    }
}

proptest! {
    #[test]
    fn an_update_touches_exactly_one_entry(
        n_obs in 1u32..6, n_actions in 1u16..5, o in 0u32..6, a in 0u16..5,
        target in -100.0f64..100.0, warm in proptest::collection::vec((0u32..6, 0u16..5, -10.0f64..10.0), 0..20),
    ) {
        let o = o % n_obs;
        let a = a % n_actions;
        let mut q = TabularQ::new(&spec(n_obs, n_actions), StepSize::polynomial(0.8));
        for (wo, wa, t) in warm {
            q.update_towards(ObsId(wo % n_obs), ActionId(wa % n_actions), t);
        }
        let before = q.as_slice().to_vec();
        q.update_towards(ObsId(o), ActionId(a), target);
        let after = q.as_slice();
        for (i, (x, y)) in before.iter().zip(after).enumerate() {
            if i == (o as usize) * n_actions as usize + a as usize {
                continue;
            }
            prop_assert_eq!(x, y, "entry {} changed", i);
        }
    }

    #[test]
    fn alpha_one_sets_q_to_the_td_target(r in -10.0f64..10.0, tau in 1u32..10, v in -10.0f64..10.0, gamma in 0.0f64..0.99) {
        let mut agent = IcqAgent::new(TabularQ::new(&spec(2, 2), StepSize::Constant(1.0)), gamma);
        let t = Transition { obs: ObsId(1), action: ActionId(0), reward: r, duration: tau };
        agent.learn(&t, Scalar::from_wire(v));
        let expected = r + gamma.powi(tau as i32) * v;
        prop_assert!((agent.q().value(ObsId(1), ActionId(0)) - expected).abs() < 1e-12);
    }

    #[test]
    fn omega_one_makes_q_the_running_sum_over_n_plus_one(targets in proptest::collection::vec(-50.0f64..50.0, 1..200)) {
        // alpha_n = 1/(n+1) from Q_0 = 0 gives Q_n = sum(targets) / (n + 1) exactly (up to rounding).
        let mut q = TabularQ::new(&spec(1, 1), StepSize::polynomial(1.0));
        for &t in &targets {
            q.update_towards(ObsId(0), ActionId(0), t);
        }
        let expected = targets.iter().sum::<f64>() / (targets.len() as f64 + 1.0);
        prop_assert!((q.value(ObsId(0), ActionId(0)) - expected).abs() < 1e-9);
        prop_assert_eq!(q.visits(ObsId(0), ActionId(0)), targets.len() as u32);
    }

    #[test]
    fn the_reply_is_the_max_over_legal_actions_only(values in proptest::collection::vec(-10.0f64..10.0, 4)) {
        // Observation 0 allows actions {1, 3}; observation 1 allows all four.
        let legal = Legal::per_obs(&[vec![ActionId(1), ActionId(3)], vec![ActionId(0), ActionId(1), ActionId(2), ActionId(3)]], 4).unwrap();
        let s = AgentSpec { legal, ..spec(2, 4) };
        let mut q = TabularQ::new(&s, StepSize::Constant(1.0));
        for (a, &v) in values.iter().enumerate() {
            q.update_towards(ObsId(0), ActionId(a as u16), v);
            q.update_towards(ObsId(1), ActionId(a as u16), v);
        }
        let agent = IcqAgent::new(q, 0.9);
        prop_assert_eq!(agent.reply(ObsId(0)).value(), values[1].max(values[3]));
        prop_assert_eq!(agent.reply(ObsId(1)).value(), values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let g = agent.greedy(ObsId(0));
        prop_assert!(g == ActionId(1) || g == ActionId(3));
    }
}

#[test]
fn greedy_ties_go_to_the_lowest_action() {
    let q = TabularQ::new(&spec(1, 4), StepSize::Constant(0.5));
    assert_eq!(q.greedy(ObsId(0)), ActionId(0));
}

#[test]
fn the_terminal_scalar_makes_the_target_the_reward_alone() {
    let mut q = TabularQ::new(&spec(1, 1), StepSize::Constant(1.0));
    let t = Transition { obs: ObsId(0), action: ActionId(0), reward: 2.5, duration: 3 };
    let td = icq::learn(&mut q, &t, 0.9f64.powi(3), Scalar::TERMINAL);
    assert_eq!(td, 2.5);
    assert_eq!(q.value(ObsId(0), ActionId(0)), 2.5);
}

#[test]
fn a_bad_learner_config_names_the_field() {
    let cfg: baton_learn::LearnerConfig = toml::from_str("step_exponent = 0.4").unwrap();
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("learner.step_exponent") && err.contains("(1/2, 1]"), "{err}");
    let err = toml::from_str::<baton_learn::LearnerConfig>("step_exponnet = 0.8").unwrap_err().to_string();
    assert!(err.contains("unknown field"), "{err}");
    let cfg: baton_learn::LearnerConfig = toml::from_str("behaviour = { kind = \"sticky\", kappa = 1.0 }").unwrap();
    assert!(cfg.validate().unwrap_err().to_string().contains("learner.behaviour.kappa"));
}
