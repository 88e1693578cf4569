//! SMDP value iteration.

use baton_core::{AgentId, FiniteModel, ModelBuilder, ObsId, TERMINAL};
use baton_solve::{initial_value, value_iteration, SolveError};
use proptest::prelude::*;

use crate::models::{agent, out, random_model, spec, RandomOpts};

/// Two states A (0) and B (1), one agent that sees the state, two actions, gamma = 0.9.
///
/// ```text
/// A, stay: reward 1, back to A after tau = 1 (p 0.5) or tau = 3 (p 0.5)   E[gamma^tau] = 0.5*0.9 + 0.5*0.729 = 0.8145
/// A, go:   reward 0, to B after tau = 1
/// B, submit: reward 2, terminal
/// B, back:   reward 0.5; to A after tau = 1 (p 0.5), terminal (p 0.5)
///
/// Q(A,stay) = 1 + 0.8145 V(A)          Q(A,go) = 0.9 V(B)
/// Q(B,submit) = 2                      Q(B,back) = 0.5 + 0.45 V(A)
/// Guess "stay forever" in A: V(A) = 1 / (1 - 0.8145) = 1 / 0.1855 = 5.3908...
/// Then Q(B,back) = 0.5 + 0.45 / 0.1855 = 2.9259 > 2, so V(B) = 2.9259, and Q(A,go) = 0.9 * 2.9259 = 2.6333 < 5.39:
/// the guess is consistent, so it is the fixed point.
/// ```
pub fn two_state_model() -> FiniteModel {
    let mut b = ModelBuilder::new(spec(vec![agent("solo", 2, 2)], 0.9));
    let a = b.add_state(AgentId(0), ObsId(0), "A");
    let bb = b.add_state(AgentId(0), ObsId(1), "B");
    b.set_outcomes(a, vec![vec![out(0.5, a, 1, 1.0), out(0.5, a, 3, 1.0)], vec![out(1.0, bb, 1, 0.0)]]);
    b.set_outcomes(bb, vec![vec![out(1.0, TERMINAL, 1, 2.0)], vec![out(0.5, a, 1, 0.5), out(0.5, TERMINAL, 1, 0.5)]]);
    b.set_initial(vec![(a, 0.25), (bb, 0.75)]);
    b.build().expect("valid model")
}

#[test]
fn value_iteration_matches_a_hand_computed_two_state_smdp() {
    let model = two_state_model();
    let sol = value_iteration(&model, 1e-12).expect("converges");
    let va = 1.0 / 0.1855;
    let vb = 0.5 + 0.45 * va;
    let expected_q = [va, 0.9 * vb, 2.0, vb];
    for (p, (&q, &e)) in sol.q.iter().zip(&expected_q).enumerate() {
        assert!((q - e).abs() < 1e-9, "pair {p}: {q} vs {e}");
    }
    assert!((sol.v[0] - va).abs() < 1e-9);
    assert!((sol.v[1] - vb).abs() < 1e-9);
    assert!(sol.residual_bound < 1e-12);
    let v0 = initial_value(&model, &sol.v).expect("lengths match");
    assert!((v0 - (0.25 * va + 0.75 * vb)).abs() < 1e-9);
}

#[test]
fn value_iteration_rejects_a_non_positive_tolerance() {
    let model = two_state_model();
    for tol in [0.0, -1.0, f64::NAN] {
        assert!(matches!(value_iteration(&model, tol), Err(SolveError::InvalidParameter { name: "tol", .. })));
    }
}

#[test]
fn initial_value_rejects_a_vector_of_the_wrong_length() {
    let model = two_state_model();
    assert!(matches!(initial_value(&model, &[1.0]), Err(SolveError::LengthMismatch { expected: 2, got: 1, .. })));
}

/// The SMDP Bellman backup written independently of the crate, straight from the outcomes.
pub fn bellman_q(model: &FiniteModel, v: &[f64]) -> Vec<f64> {
    let g = model.discount();
    (0..model.n_pairs())
        .map(|p| {
            model
                .outcomes(p)
                .iter()
                .map(|o| {
                    let cont = if o.next == TERMINAL { 0.0 } else { v[o.next as usize] };
                    o.prob * (o.reward + g.powi(o.duration as i32) * cont)
                })
                .sum()
        })
        .collect()
}

pub fn arb_opts() -> impl Strategy<Value = (u64, RandomOpts)> {
    (any::<u64>(), 1usize..6, 1u16..=3, 0.5f64..0.95).prop_map(|(seed, n, a, g)| (seed, RandomOpts::simple(n, a, g)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn value_iteration_returns_a_fixed_point_of_the_bellman_operator((seed, opts) in arb_opts()) {
        let model = random_model(seed, opts);
        let tol = 1e-10;
        let sol = value_iteration(&model, tol).expect("converges");
        let q = bellman_q(&model, &sol.v);
        for s in 0..model.n_states() as u32 {
            let tv = model.pairs(s).map(|p| q[p]).fold(f64::NEG_INFINITY, f64::max);
            // ||T V - V|| <= ||T V - V*|| + ||V* - V|| <= (1 + gamma_bar) tol
            prop_assert!((tv - sol.v[s as usize]).abs() <= 2.0 * tol, "state {}: {} vs {}", s, tv, sol.v[s as usize]);
        }
        for (p, (&mine, &theirs)) in q.iter().zip(&sol.q).enumerate() {
            prop_assert!((mine - theirs).abs() < 1e-12, "pair {}: {} vs {}", p, mine, theirs);
        }
        prop_assert!(sol.residual_bound < tol);
    }
}
