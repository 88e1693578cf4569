//! Larger models, `#[ignore]`d: run with `cargo test -p baton-solve --release -- --ignored --nocapture`.

use std::time::Instant;

use baton_solve::{evaluate_with, interface_q, stationary, value_iteration, Behaviour, EvalMethod, Policy};

use crate::models::{random_model, RandomOpts};

#[test]
#[ignore = "timing of the solvers on models of a few thousand states"]
fn solvers_handle_models_of_a_few_thousand_states() {
    for (n, kappa) in [(1000, 0.9), (1000, 0.99), (30_000, 0.9), (30_000, 0.99)] {
        let model =
            random_model(5, RandomOpts { n_agents: 3, aliased_obs: Some(200), ..RandomOpts::simple(n, 3, 0.95) });
        let t = Instant::now();
        let sol = value_iteration(&model, 1e-10).expect("converges");
        let t_vi = t.elapsed();
        let pi = Policy::greedy(&model, &sol.q).expect("ok");
        let t = Instant::now();
        let method = if n <= 1000 { EvalMethod::DenseLu } else { EvalMethod::GaussSeidel };
        let dense = evaluate_with(&model, &pi, method).expect("solves");
        let t_lu = t.elapsed();
        let t = Instant::now();
        let gs = evaluate_with(&model, &pi, EvalMethod::GaussSeidel).expect("solves");
        let t_gs = t.elapsed();
        let err = dense.iter().zip(&gs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let t = Instant::now();
        let st = stationary(&model, &Behaviour::new(&model, Policy::uniform(&model), kappa).expect("ok")).expect("xi");
        let t_xi = t.elapsed();
        let t = Instant::now();
        let qbar = interface_q(&model, &st.xi).expect("qbar");
        let t_qbar = t.elapsed();
        println!(
            "n={n} kappa={kappa} pairs={} vi={t_vi:?} ({} it) lu={t_lu:?} gs={t_gs:?} (|lu-gs|={err:.1e}) \
             xi={t_xi:?} ({:?}, {} it) qbar={t_qbar:?} ({} it)",
            model.n_pairs(),
            sol.iterations,
            st.method,
            st.iterations,
            qbar.iterations
        );
    }
}
