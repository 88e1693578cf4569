//! The simulated backend on the real GSM8K and MathQA: calibration against the recording's pair statistics.

use baton_llm::checker;
use baton_llm::data::Dataset;
use baton_llm::grade;
use baton_llm::price::{PriceTable, GPT_4_1106, MIXTRAL_8X7B};
use baton_llm::simulated::{pair_rates, SimulatedBackend, SimulatedConfig};
use baton_llm::{Backend, Request};

use crate::data_dir;

/// The recording's pair statistics (GSM8K test, last-integer reading): both right 747/1319, agreement
/// 772/1319, right when agreeing 747/772.
const BOTH_RIGHT: f64 = 747.0 / 1319.0;
const AGREEMENT: f64 = 0.585;

#[test]
fn default_calibration_matches_the_recordings_pair_statistics() {
    let test = Dataset::gsm8k_test(&data_dir()).unwrap();
    // Calibrate: latent scale s so that P(both right) matches, then shared_wrong so that agreement matches.
    let mut cfg = SimulatedConfig::default();
    let (mut lo, mut hi) = (0.0, 4.0);
    for _ in 0..50 {
        cfg.latent_scale = 0.5 * (lo + hi);
        let r = pair_rates(&cfg, &test, GPT_4_1106, MIXTRAL_8X7B).unwrap();
        if r.both_right < BOTH_RIGHT {
            lo = cfg.latent_scale;
        } else {
            hi = cfg.latent_scale;
        }
    }
    let r = pair_rates(&cfg, &test, GPT_4_1106, MIXTRAL_8X7B).unwrap();
    let w = ((AGREEMENT - r.both_right) / r.both_wrong).sqrt();
    println!(
        "calibrated: latent_scale s = {:.3}, shared_wrong = {w:.3} (both wrong {:.4})",
        cfg.latent_scale, r.both_wrong
    );
    let s0 = pair_rates(
        &SimulatedConfig { latent_scale: 0.0, ..SimulatedConfig::default() },
        &test,
        GPT_4_1106,
        MIXTRAL_8X7B,
    )
    .unwrap();
    println!("without the latent (s = 0): {s0:?}");
    let d = pair_rates(&SimulatedConfig::default(), &test, GPT_4_1106, MIXTRAL_8X7B).unwrap();
    println!("defaults (expected): {d:?}");
    assert!((cfg.latent_scale - baton_llm::simulated::DEFAULT_LATENT_SCALE).abs() < 0.05);
    assert!((w - baton_llm::simulated::DEFAULT_SHARED_WRONG).abs() < 0.02);
    assert!((d.agreement - 0.585).abs() < 0.005 && (d.right_when_agreeing - 0.968).abs() < 0.005, "{d:?}");
    assert!((d.accuracy_a - 0.857).abs() < 0.02 && (d.accuracy_b - 0.638).abs() < 0.02, "{d:?}");
}

#[test]
fn sampled_gsm8k_run_matches_its_expectation_and_the_checker_sees_the_forms() {
    let b = SimulatedBackend::gsm8k(&data_dir(), SimulatedConfig::default(), PriceTable::default(), 42).unwrap();
    let n = b.dataset().len();
    let (mut right, mut both, mut agree, mut agree_right) = ([0usize; 2], 0, 0, 0);
    let (mut mix_wrong, mut mix_caught, mut mix_any, mut mix_right_flagged) = (0, 0, 0, 0);
    let mut cost = [0.0; 2];
    for q in 0..n {
        let g = b.complete(&Request::solve(GPT_4_1106, q)).unwrap();
        let m = b.complete(&Request::solve(MIXTRAL_8X7B, q)).unwrap();
        let p = &b.dataset().problems[q];
        for (k, r) in [&g, &m].into_iter().enumerate() {
            assert_eq!(r.label, Some(grade::is_correct(&r.text, &p.gold)), "question {q}: {}", r.text);
            right[k] += usize::from(r.label == Some(true));
            cost[k] += r.cost_usd;
        }
        both += usize::from(g.label == Some(true) && m.label == Some(true));
        if grade::answers_agree(&g.text, &m.text) {
            agree += 1;
            agree_right += usize::from(g.label == Some(true));
        }
        let v = checker::check(&m.text);
        if m.label == Some(true) {
            mix_right_flagged += usize::from(v.arithmetic_or_cut_off());
        } else {
            mix_wrong += 1;
            mix_caught += usize::from(v.arithmetic_or_cut_off());
            mix_any += usize::from(v.any());
        }
    }
    let f = |a: usize, b: usize| a as f64 / b as f64;
    println!(
        "simulated GSM8K, seed 42: gpt-4-1106 {:.4}, mixtral {:.4}, both right {:.4}, agreement {:.4}, right when agreeing {:.4}; \
         checker on simulated Mixtral errors: arithmetic or cut-off {:.4}, any {:.4}, false flags {}; cost gpt ${:.2} mixtral ${:.3}",
        f(right[0], n),
        f(right[1], n),
        f(both, n),
        f(agree, n),
        f(agree_right, agree),
        f(mix_caught, mix_wrong),
        f(mix_any, mix_wrong),
        mix_right_flagged,
        cost[0],
        cost[1]
    );
    // One seed of 1319 questions: within about three standard errors of the expectation.
    assert!((f(right[0], n) - 0.844).abs() < 0.04);
    assert!((f(right[1], n) - 0.633).abs() < 0.05);
    assert!((f(agree, n) - 0.585).abs() < 0.05);
    // Right answers are the reference solutions, which the checker almost never flags.
    assert!(mix_right_flagged * 100 < n, "{mix_right_flagged}");
    assert!((0.15..=0.45).contains(&f(mix_caught, mix_wrong)));
}

#[test]
fn simulated_mathqa_answers_with_letters() {
    let b = SimulatedBackend::mathqa(&data_dir(), SimulatedConfig::default(), PriceTable::default(), 3).unwrap();
    let n = b.dataset().len();
    let mut right = 0;
    for q in 0..n {
        let r = b.complete(&Request::solve(MIXTRAL_8X7B, q)).unwrap();
        assert_eq!(r.label, Some(grade::is_correct(&r.text, &b.dataset().problems[q].gold)), "{}", r.text);
        right += usize::from(r.label == Some(true));
    }
    let steps: f64 = b.dataset().problems.iter().map(|p| f64::from(p.steps)).sum::<f64>() / n as f64;
    println!("simulated MathQA, seed 3: mixtral {right}/{n}, mean steps (linear_formula operations) {steps:.2}");
    assert!(right > 0 && right < n);
}
