//! The math run's section of `baton report`.

use std::fmt::Write as _;

use serde_json::Value;

use super::MathSummary;
use crate::report::{f, num, rows, s};

pub(crate) fn markdown(out: &mut String, sm: &Value) {
    let _ = writeln!(
        out,
        "| method | lambda | accuracy | 95% CI | accuracy (recording's rule) | USD per 1k | return |\n|---|---|---|---|---|---|---|"
    );
    for r in rows(sm) {
        let ci = r.get("accuracy_ci95").and_then(Value::as_array).cloned().unwrap_or_default();
        let ci = ci.iter().filter_map(Value::as_f64).map(num).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | [{}] | {} | {} | {} |",
            s(r, "method"),
            num(f(r, "lambda")),
            num(f(r, "accuracy")),
            ci,
            num(f(r, "accuracy_routellm")),
            num(f(r, "cost_per_1k_usd")),
            num(f(r, "return"))
        );
    }
    let _ = writeln!(out);
    for c in sm.get("front_checks").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let holds = c.get("holds").and_then(Value::as_bool).unwrap_or(false);
        let _ = writeln!(
            out,
            "- IC-Q's front at {}'s cost ({} USD per 1k) {} within one accuracy point of or above it: {} against {}.",
            s(c, "method"),
            num(f(c, "cost_per_1k_usd")),
            if holds { "is" } else { "is not" },
            num(f(c, "front_accuracy")),
            num(f(c, "accuracy"))
        );
    }
    for c in sm.get("oracle_checks").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let holds = c.get("holds").and_then(Value::as_bool).unwrap_or(false);
        let _ = writeln!(
            out,
            "- At lambda {}, IC-Q {} within one accuracy point of the oracle: {} against {} (return {:+.4}); \
             IC-Q's front at the oracle's cost ({} USD per 1k) {} within one point of it: {}.",
            num(f(c, "lambda")),
            if holds { "is" } else { "is not" },
            num(f(c, "ic_q")),
            num(f(c, "oracle")),
            f(c, "return_difference"),
            num(f(c, "oracle_cost_per_1k_usd")),
            if c.get("front_holds").and_then(Value::as_bool).unwrap_or(false) { "is" } else { "is not" },
            num(f(c, "front_accuracy"))
        );
    }
    let _ = writeln!(out);
}

/// The result table `baton run` prints.
pub(crate) fn terminal(s: &MathSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {} ({} seeds, {} training episodes, {} held-out questions of {})\n",
        s.experiment, s.workload, s.seeds, s.episodes, s.heldout_questions, s.dataset
    );
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>9} {:>17} {:>10} {:>12} {:>9}",
        "method", "lambda", "accuracy", "95% CI", "routellm", "USD per 1k", "return"
    );
    let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
    for r in &s.rows {
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>9.4} {:>17} {:>10} {:>12.3} {:>9}",
            r.method.name(),
            opt(r.lambda, 0),
            r.accuracy,
            format!("[{:.3}, {:.3}]", r.accuracy_ci95[0], r.accuracy_ci95[1]),
            opt(r.accuracy_routellm, 4),
            r.cost_per_1k_usd,
            opt(r.mean_return, 4)
        );
    }
    for c in &s.front_checks {
        let _ = writeln!(
            out,
            "front vs {:<12} at ${:.3}/1k: {:.4} vs {:.4} ({})",
            c.method.name(),
            c.cost_per_1k_usd,
            c.front_accuracy.unwrap_or(f64::NAN),
            c.accuracy,
            if c.holds { "holds" } else { "does not hold" }
        );
    }
    for c in &s.oracle_checks {
        let _ = writeln!(
            out,
            "ic-q vs oracle at lambda {}: {:.4} vs {:.4} ({:+.4}, {}); return {:+.4}; \
             ic-q's front at the oracle's ${:.3}/1k: {:.4} ({:+.4}, {})",
            c.lambda,
            c.ic_q,
            c.oracle,
            c.difference,
            if c.holds { "holds" } else { "does not hold" },
            c.return_difference,
            c.oracle_cost_per_1k_usd,
            c.front_accuracy.unwrap_or(f64::NAN),
            c.front_difference.unwrap_or(f64::NAN),
            if c.front_holds { "holds" } else { "does not hold" }
        );
    }
    out
}
