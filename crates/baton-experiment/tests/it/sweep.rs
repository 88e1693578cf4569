//! Bound sweeps (model.md 5): each axis on a small budget, checked against the claims the full experiment files
//! reproduce (see `experiments/bound-*.toml`).

use baton_experiment::sweep::{Axis, SweepResults, SweepRow};
use baton_experiment::{ExperimentConfig, ExperimentError, Method, NoProgress};

fn sweep_config(methods: &str, seeds: u32, handoffs: u64, eval_points: u32, extra: &str) -> String {
    format!(
        "name = \"sweep\"\nseeds = {seeds}\nmethods = {methods}\n[workload]\nkind = \"synthetic\"\n\
         [training]\nhandoffs = {handoffs}\neval_points = {eval_points}\n{extra}"
    )
}

fn run(text: &str) -> SweepResults {
    let exp = ExperimentConfig::from_toml(text, "sweep.toml").unwrap().validate().unwrap();
    match exp.run(&NoProgress).unwrap().downcast::<baton_experiment::sweep::SweepResults>() {
        Some(r) => r,
        _ => panic!("a sweep config gave other results"),
    }
}

fn rows(r: &SweepResults, method: Method) -> Vec<&SweepRow> {
    r.summary.rows.iter().filter(|x| x.method == method).collect()
}

#[test]
fn interface_sweep_error_is_linear_in_lambda_and_inside_the_bound() {
    let r = run(&sweep_config(
        "[\"ic-q\", \"oracle\"]",
        3,
        300_000,
        3,
        "[sweep]\naxis = \"interface\"\nlevels = [0.0, 2.0, 4.0, 8.0]\n",
    ));
    assert_eq!(r.summary.axis, Axis::Interface);
    let fit = r.summary.fit.as_ref().expect("a fit");
    assert!(fit.r2 >= 0.9, "IC-Q's error must be linear in lambda: {fit:?}");
    let icq = rows(&r, Method::IcQ);
    let floor = icq[0].error;
    for (row, facts) in icq.iter().zip(&r.summary.levels) {
        let alpha = row.predicted.unwrap();
        assert!((alpha - facts.model.alpha_if).abs() < 1e-12);
        assert!(
            row.error <= alpha + floor,
            "lambda {}: error {} > alpha {alpha} + floor {floor}",
            row.level,
            row.error
        );
        assert!(facts.model.exact_gap_inf <= alpha + 1e-9, "exact gap above alpha_IF: {facts:?}");
        assert!(facts.model.q_bar_policy_loss <= 2.0 * alpha + 1e-9, "{facts:?}");
        assert!(row.policy_loss <= 2.0 * alpha + 1e-9, "{row:?}");
        // eps_IF = lambda / 2 for the hidden-bit knob.
        assert!((facts.model.eps_if - row.level / 2.0).abs() < 1e-9, "{facts:?}");
    }
    // The error really grows: IC-Q converges to Q_bar, not Q*.
    assert!(icq[3].error > 10.0 * icq[0].error, "{:?}", icq);
    // The oracle sees the bit; its policy stays (near) optimal.
    for row in rows(&r, Method::Oracle) {
        assert!(row.policy_loss < 0.01, "{row:?}");
    }
}

#[test]
fn mixing_sweep_handoffs_to_tolerance_grow_linearly_with_t_mix() {
    let r = run(&sweep_config(
        "[\"ic-q\"]",
        3,
        1_500_000,
        40,
        "[sweep]\naxis = \"mixing\"\nlevels = [0.0, 0.5, 0.8, 0.9]\ntolerance = 0.1\n",
    ));
    let icq = rows(&r, Method::IcQ);
    let t_mix: Vec<u32> = r.summary.levels.iter().map(|l| l.model.t_mix.unwrap()).collect();
    assert!(t_mix.windows(2).all(|w| w[0] < w[1]), "t_mix grows with kappa: {t_mix:?}");
    let coverage: Vec<f64> = r.summary.levels.iter().map(|l| l.model.coverage_min).collect();
    assert!(coverage.windows(2).all(|w| w[0] > w[1]), "coverage falls with kappa: {coverage:?}");
    let relaxation: Vec<f64> = r.summary.levels.iter().map(|l| l.model.relaxation_time.unwrap()).collect();
    assert!(relaxation.windows(2).all(|w| w[0] < w[1]), "{relaxation:?}");
    for row in &icq {
        assert_eq!(row.seeds, 3, "every seed reaches the tolerance: {row:?}");
    }
    assert!(icq.windows(2).all(|w| w[0].error < w[1].error), "{icq:?}");
    let fit = r.summary.fit.as_ref().unwrap();
    assert!(fit.r2 >= 0.8 && fit.slope > 0.0, "{fit:?}");
}

#[test]
fn duration_sweep_uses_the_exact_gamma_bar_and_the_error_grows_with_the_horizon() {
    let r = run(&sweep_config("[\"ic-q\"]", 3, 100_000, 2, "[sweep]\naxis = \"duration\"\nlevels = [0.0, 2.0, 6.0]\n"));
    let g: f64 = 0.95;
    for facts in &r.summary.levels {
        // Low effort lasts 1 (p .7) or 2 (p .3) steps, delayed by `level`; high effort lasts longer, and the
        // terminal submit does not count.
        let expected = g.powi(facts.level as i32) * (0.7 * g + 0.3 * g * g);
        assert!((facts.model.gamma_bar - expected).abs() < 1e-12, "{} vs {expected}", facts.model.gamma_bar);
    }
    let icq = rows(&r, Method::IcQ);
    assert!(icq.windows(2).all(|w| w[0].error > w[1].error), "longer delays, shorter horizon, smaller error: {icq:?}");
    assert!(r.summary.fit.as_ref().unwrap().slope > 0.0);
}

#[test]
fn width_sweep_error_falls_with_m_and_reports_e_approx_for_both_feature_maps() {
    let r = run(&sweep_config(
        "[\"ic-q\"]",
        2,
        30_000,
        2,
        "[learner.network]\nwidth = 4\neta = 0.2\nfeatures = { kind = \"random\", dim = 16 }\n\
         [sweep]\naxis = \"width\"\nlevels = [4, 16, 64]\napprox_features = [{ kind = \"one-hot\" }]\n\
         approx_samples = 20000\napprox_seeds = 1\n",
    ));
    let icq = rows(&r, Method::IcQ);
    assert!(icq[0].error > icq[2].error, "{icq:?}");
    for row in &icq {
        assert_eq!(row.e_approx.len(), 2, "{row:?}");
        assert_eq!(row.predicted, row.e_approx.get("random-d16").copied());
    }
    // A wide one-hot network nearly interpolates Q_bar; four neurons cannot.
    assert!(icq[2].e_approx["one-hot"] < 0.5 * icq[0].e_approx["one-hot"], "{icq:?}");
    let fit = r.summary.fit.as_ref().unwrap();
    assert!(fit.slope < 0.0, "{fit:?}");
}

#[test]
fn bad_sweeps_are_rejected_naming_the_field() {
    let cases = [
        ("[sweep]\naxis = \"width\"\nlevels = [4, 8, 16]\n", "sweep.axis", "[learner.network]"),
        ("[sweep]\naxis = \"interface\"\nlevels = [0.0, 2.0, 1.0]\n", "sweep.levels", "increasing"),
        ("[sweep]\naxis = \"interface\"\nlevels = [0.0, 2.0]\n", "sweep.levels", "at least 3"),
        ("[sweep]\naxis = \"mixing\"\nlevels = [0.0, 0.5, 1.0]\n", "sweep.levels", "kappa"),
        ("[sweep]\naxis = \"duration\"\nlevels = [0.0, 1.5, 3.0]\n", "sweep.levels", "integers"),
        ("[sweep]\naxis = \"mixing\"\nlevels = [0.0, 0.5, 0.8]\ntolerance = 0.0\n", "sweep.tolerance", "positive"),
        (
            "[sweep]\naxis = \"interface\"\nlevels = [0.0, 1.0, 2.0]\napprox_seeds = 0\n",
            "sweep.approx_seeds",
            "at least 1",
        ),
    ];
    for (extra, field, reason) in cases {
        let text = sweep_config("[\"ic-q\"]", 2, 1000, 2, extra);
        match ExperimentConfig::from_toml(&text, "bad.toml").unwrap().validate() {
            Err(ExperimentError::InvalidConfig { field: f, reason: r }) => {
                assert_eq!(f, field, "{extra}");
                assert!(r.contains(reason), "{extra}: {r}");
            }
            other => panic!("{extra}: expected an invalid-config error, got {other:?}"),
        }
    }
    let unknown =
        sweep_config("[\"ic-q\"]", 2, 1000, 2, "[sweep]\naxis = \"interface\"\nlevels = [0, 1, 2]\nbogus = 1\n");
    let err = ExperimentConfig::from_toml(&unknown, "bad.toml").unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
}
