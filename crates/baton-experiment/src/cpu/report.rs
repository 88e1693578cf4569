//! The cpu run's section of `baton report`.

use std::fmt::Write as _;

use serde_json::Value;

use super::CpuSummary;
use crate::report::{f, num, rows, s};

pub(crate) fn markdown(out: &mut String, sm: &Value) {
    let _ = writeln!(
        out,
        "Tester sample size k = {}.\n\n| method | success | 95% CI | cycles / reference | cost | return |\n|---|---|---|---|---|---|",
        sm.get("tester_k").and_then(Value::as_u64).unwrap_or(0)
    );
    for r in rows(sm) {
        let ci = r.get("success_rate_ci95").and_then(Value::as_array).cloned().unwrap_or_default();
        let ci = ci.iter().filter_map(Value::as_f64).map(num).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | [{}] | {} | {} | {} |",
            s(r, "method"),
            num(f(r, "success_rate")),
            ci,
            num(f(r, "mean_cycles_vs_reference")),
            num(f(r, "mean_cost")),
            num(f(r, "return"))
        );
    }
    let _ = writeln!(out);
    for c in sm.get("checks").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let holds = c.get("holds").and_then(Value::as_bool).unwrap_or(false);
        let oracle = s(c, "method") == "oracle";
        let _ = writeln!(
            out,
            "- IC-Q against {}: success {:+.4}, return {:+.4}; {} {}.",
            s(c, "method"),
            f(c, "success_difference"),
            f(c, "return_difference"),
            if oracle { "within 3 points and 5% of the oracle:" } else { "clearly above (95% CI above 0):" },
            if holds { "yes" } else { "no" }
        );
    }
    let _ = writeln!(out);
}

/// The result table `baton run` prints.
/// Print a CPU-programming run's summary (`baton run experiments/cpu.toml`).
pub(crate) fn terminal(s: &CpuSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {} ({} tasks of {}, {} seeds, {} training episodes, {} evaluation episodes, k = {})\n",
        s.experiment, s.workload, s.tasks, s.task_set, s.seeds, s.episodes, s.eval_episodes, s.tester_k
    );
    let _ = writeln!(
        out,
        "{:<15} {:>8} {:>17} {:>12} {:>9} {:>8}",
        "method", "success", "95% CI", "cycles/ref", "cost", "return"
    );
    for r in &s.rows {
        let _ = writeln!(
            out,
            "{:<15} {:>8.4} {:>17} {:>12.3} {:>9.4} {:>8.4}",
            r.method.name(),
            r.success_rate,
            format!("[{:.3}, {:.3}]", r.success_rate_ci95[0], r.success_rate_ci95[1]),
            r.mean_cycles_vs_reference,
            r.mean_cost,
            r.mean_return
        );
    }
    for c in &s.checks {
        let _ = writeln!(
            out,
            "ic-q vs {:<15} success {:+.4} [{:+.4}, {:+.4}], return {:+.4} [{:+.4}, {:+.4}] ({})",
            c.method.name(),
            c.success_difference,
            c.success_difference_ci95[0],
            c.success_difference_ci95[1],
            c.return_difference,
            c.return_difference_ci95[0],
            c.return_difference_ci95[1],
            if c.holds { "holds" } else { "does not hold" }
        );
    }
    if s.k_sweep.iter().any(|r| r.k != s.tester_k) {
        let _ = writeln!(
            out,
            "\n{:>6} {:<15} {:>8} {:>17} {:>12} {:>8}",
            "k", "method", "success", "95% CI", "wrong subm.", "return"
        );
        for r in &s.k_sweep {
            let _ = writeln!(
                out,
                "{:>6} {:<15} {:>8.4} {:>17} {:>12.4} {:>8.4}",
                r.k,
                r.method.name(),
                r.success_rate,
                format!("[{:.3}, {:.3}]", r.success_rate_ci95[0], r.success_rate_ci95[1]),
                r.wrong_submission_rate,
                r.mean_return
            );
        }
    }
    out
}
