//! The synthetic run's section of `baton report`.

use std::fmt::Write as _;

use serde_json::Value;

use super::Summary;
use crate::report::{f, num, rows, s};

pub(crate) fn markdown(out: &mut String, sm: &Value) {
    let model = sm.get("model").cloned().unwrap_or(Value::Null);
    let _ =
        writeln!(out, "| method | value | 95% CI | gap to V* | xi-RMS error | max error |\n|---|---|---|---|---|---|");
    for r in rows(sm) {
        let ci = r.get("value_ci95").and_then(Value::as_array).cloned().unwrap_or_default();
        let ci = ci.iter().filter_map(Value::as_f64).map(num).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | [{}] | {:.2}% | {} | {} |",
            s(r, "method"),
            num(f(r, "value")),
            ci,
            100.0 * f(r, "gap"),
            num(f(r, "q_error_xi")),
            num(f(r, "q_error_inf"))
        );
    }
    let gap = |m: &str| rows(sm).iter().find(|r| s(r, "method") == m).map(|r| 100.0 * f(r, "gap"));
    let alpha = f(&model, "alpha_if");
    let _ = writeln!(out);
    if let Some(g) = gap("ic-q") {
        let _ = write!(out, "**Shows:** decentralized IC-Q's greedy policy is {g:.2}% below the exact optimum V* ");
        let _ = write!(out, "(exact policy evaluation, mean over seeds)");
        if let Some(o) = gap("oracle") {
            let _ = write!(out, "; the centralized oracle is {o:.2}% below it");
        }
        if let Some(n) = gap("no-scalar") {
            let _ = write!(out, "; without the receiver's scalar the same learners are {n:.2}% below");
        }
        let _ = writeln!(out, ".");
    }
    let _ = writeln!(
        out,
        "**Does not show:** anything beyond this one model ({}). Its interface gap is alpha_IF = {}, so {}\n",
        s(&model, "description"),
        num(alpha),
        if alpha < 1e-9 {
            "Q_bar o sigma = Q* and the run tests convergence, not the interface term of the bound."
        } else {
            "IC-Q converges to Q_bar, not to Q*: compare its error with alpha_IF."
        }
    );
}

/// The result table `baton run` prints.
pub(crate) fn terminal(s: &Summary) -> String {
    let mut out = String::new();
    let m = &s.model;
    let _ = writeln!(out, "{} on {} ({} seeds): {}", s.experiment, s.workload, s.seeds, m.description);
    let _ = writeln!(
        out,
        "interface gap: eps_IF = {:.3e}, delta_IF = {:.3e}, alpha_IF = {:.3e} (gamma_bar = {:.4})",
        m.eps_if, m.delta_if, m.alpha_if, m.gamma_bar
    );
    let t_mix = m.t_mix.map_or_else(|| "not computed".to_string(), |t| t.to_string());
    let _ = writeln!(out, "behaviour chain: t_mix = {t_mix} handoffs, min xi = {:.3e}\n", m.coverage_min);
    let _ = writeln!(
        out,
        "{:<11} {:>10} {:>23} {:>9} {:>12} {:>12} {:>9}",
        "method", "value", "95% CI", "gap", "q_err_inf", "q_err_xi", "scalars"
    );
    for r in &s.rows {
        let ci = format!("[{:.4}, {:.4}]", r.value_ci95[0], r.value_ci95[1]);
        let _ = writeln!(
            out,
            "{:<11} {:>10.4} {:>23} {:>8.2}% {:>12.4} {:>12.4} {:>9}",
            r.method.name(),
            r.value,
            ci,
            100.0 * r.gap,
            r.q_error_inf,
            r.q_error_xi,
            format!("{:.0}/xfer", r.scalars_per_transfer)
        );
    }
    out
}
