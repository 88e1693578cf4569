//! Exact policy evaluation.

use baton_core::rng::{stream, Stream};
use baton_core::TERMINAL;
use baton_solve::{evaluate, evaluate_with, initial_value, q_from_v, value_iteration, EvalMethod, Policy};
use proptest::prelude::*;
use rand::Rng as _;

use crate::models::{random_model, RandomOpts};
use crate::value::arb_opts;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn evaluating_the_greedy_policy_of_q_star_gives_v_star((seed, opts) in arb_opts()) {
        let model = random_model(seed, opts);
        let sol = value_iteration(&model, 1e-12).expect("converges");
        let greedy = Policy::greedy(&model, &sol.q).expect("lengths match");
        for method in [EvalMethod::DenseLu, EvalMethod::GaussSeidel] {
            let v = evaluate_with(&model, &greedy, method).expect("solves");
            for (s, (&got, &star)) in v.iter().zip(&sol.v).enumerate() {
                prop_assert!((got - star).abs() < 1e-8, "{:?} state {}: {} vs {}", method, s, got, star);
            }
        }
    }

    #[test]
    fn dense_lu_and_gauss_seidel_agree_and_q_of_v_pi_averages_back_to_v_pi((seed, opts) in arb_opts()) {
        let model = random_model(seed, opts);
        let pi = Policy::uniform(&model);
        let dense = evaluate_with(&model, &pi, EvalMethod::DenseLu).expect("solves");
        let gs = evaluate_with(&model, &pi, EvalMethod::GaussSeidel).expect("solves");
        let q = q_from_v(&model, &dense).expect("lengths match");
        for s in 0..model.n_states() {
            prop_assert!((dense[s] - gs[s]).abs() < 1e-9);
            let avg: f64 = model.pairs(s as u32).map(|p| pi.prob(p) * q[p]).sum();
            prop_assert!((avg - dense[s]).abs() < 1e-9);
        }
    }
}

#[test]
fn evaluate_agrees_with_a_monte_carlo_estimate_within_a_few_standard_errors() {
    let opts = RandomOpts { p_terminal: 0.3, ..RandomOpts::simple(5, 3, 0.9) };
    let model = random_model(11, opts);
    let pi = Policy::uniform(&model);
    let exact = initial_value(&model, &evaluate(&model, &pi).expect("solves")).expect("lengths match");

    let mut rng = stream(2024, Stream::Eval(0));
    let gamma = model.discount();
    let episodes = 40_000;
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    for _ in 0..episodes {
        let mut s = model.sample_initial(&mut rng);
        let (mut g, mut disc) = (0.0, 1.0);
        // gamma^t_k R_k until the episode ends (or the remaining discount is negligible).
        while disc > 1e-12 {
            let range = model.pairs(s);
            let p = range.start + rng.random_range(0..range.len());
            let o = *model.sample_outcome(p, &mut rng);
            g += disc * o.reward;
            disc *= gamma.powi(o.duration as i32);
            if o.next == TERMINAL {
                break;
            }
            s = o.next;
        }
        sum += g;
        sum_sq += g * g;
    }
    let n = episodes as f64;
    let mean = sum / n;
    let se = ((sum_sq / n - mean * mean) / n).sqrt();
    assert!((mean - exact).abs() < 4.0 * se, "Monte-Carlo {mean} +- {se} vs exact {exact}");
}

#[test]
fn evaluate_rejects_a_policy_built_for_another_model() {
    let small = random_model(1, RandomOpts::simple(2, 1, 0.9));
    let big = random_model(1, RandomOpts::simple(4, 3, 0.9));
    let pi = Policy::uniform(&big);
    assert!(evaluate(&small, &pi).is_err());
}
