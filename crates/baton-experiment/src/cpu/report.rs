//! The cpu run's result tables (printed by `baton run`, written by `baton report`) and its report section.

use std::fmt::Write as _;

use super::CpuSummary;
use crate::method::Method;
use crate::table::{interval, num, Table};
use crate::workload::RunSummary;

/// Every method at the run's `tester_k`; under it IC-Q against every other method.
pub(crate) fn table(s: &CpuSummary) -> Table {
    let mut t = Table::new(&["method", "success", "95% CI", "cycles / reference", "cost", "return"]);
    for r in &s.rows {
        t.row(vec![
            r.method.name().to_string(),
            num(r.success_rate),
            interval(r.success_rate_ci95),
            num(r.mean_cycles_vs_reference),
            num(r.mean_cost),
            num(r.mean_return),
        ]);
    }
    for c in &s.checks {
        t.note(format!(
            "IC-Q against {}: success {:+.4} [{:+.4}, {:+.4}], return {:+.4} [{:+.4}, {:+.4}]; {} {}.",
            c.method.name(),
            c.success_difference,
            c.success_difference_ci95[0],
            c.success_difference_ci95[1],
            c.return_difference,
            c.return_difference_ci95[0],
            c.return_difference_ci95[1],
            if c.method == Method::Oracle {
                "within 3 points and 5% of the oracle:"
            } else {
                "clearly above (95% CI above 0):"
            },
            if c.holds { "yes" } else { "no" }
        ));
    }
    t
}

/// Every method at every tester sample size k, when the run swept k.
pub(crate) fn k_table(s: &CpuSummary) -> Option<Table> {
    if s.k_sweep.iter().all(|r| r.k == s.tester_k) {
        return None;
    }
    let mut t = Table::new(&["k", "method", "success", "95% CI", "wrong submissions", "return"]);
    for r in &s.k_sweep {
        t.row(vec![
            r.k.to_string(),
            r.method.name().to_string(),
            num(r.success_rate),
            interval(r.success_rate_ci95),
            num(r.wrong_submission_rate),
            num(r.mean_return),
        ]);
    }
    Some(t)
}

impl RunSummary for CpuSummary {
    fn head(&self) -> (&str, &str, u32) {
        (&self.experiment, &self.workload, self.seeds)
    }
    fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} on {} ({} tasks of {}, {} seeds, {} training episodes, {} evaluation episodes, k = {})\n",
            self.experiment,
            self.workload,
            self.tasks,
            self.task_set,
            self.seeds,
            self.episodes,
            self.eval_episodes,
            self.tester_k
        );
        out.push_str(&table(self).text());
        if let Some(t) = k_table(self) {
            out.push('\n');
            out.push_str(&t.text());
        }
        out
    }
    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "Tester sample size k = {}.\n", self.tester_k);
        out.push_str(&table(self).markdown());
        if let Some(t) = k_table(self) {
            out.push_str(&t.markdown());
        }
    }
}
