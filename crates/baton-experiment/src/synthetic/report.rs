//! The synthetic run's result table (printed by `baton run`, written by `baton report`) and its report section.

use std::fmt::Write as _;

use super::Summary;
use crate::table::{interval, num, percent, Table};
use crate::workload::RunSummary;

/// Every method's final greedy policy against the exact optimum.
pub(crate) fn table(s: &Summary) -> Table {
    let mut t =
        Table::new(&["method", "value", "95% CI", "gap to V*", "max error", "xi-RMS error", "scalars/transfer"]);
    for r in &s.rows {
        t.row(vec![
            r.method.name().to_string(),
            num(r.value),
            interval(r.value_ci95),
            percent(r.gap),
            num(r.q_error_inf),
            num(r.q_error_xi),
            format!("{:.0}", r.scalars_per_transfer),
        ]);
    }
    t
}

impl RunSummary for Summary {
    fn head(&self) -> (&str, &str, u32) {
        (&self.experiment, &self.workload, self.seeds)
    }
    fn terminal(&self) -> String {
        let mut out = String::new();
        let m = &self.model;
        let _ = writeln!(out, "{} on {} ({} seeds): {}", self.experiment, self.workload, self.seeds, m.description);
        let _ = writeln!(
            out,
            "interface gap: eps_IF = {:.3e}, delta_IF = {:.3e}, alpha_IF = {:.3e} (gamma_bar = {:.4})",
            m.eps_if, m.delta_if, m.alpha_if, m.gamma_bar
        );
        let t_mix = m.t_mix.map_or_else(|| "not computed".to_string(), |t| t.to_string());
        let _ = writeln!(out, "behaviour chain: t_mix = {t_mix} handoffs, min xi = {:.3e}\n", m.coverage_min);
        out.push_str(&table(self).text());
        out
    }
    fn markdown(&self, out: &mut String) {
        out.push_str(&table(self).markdown());
        let gap = |m: &str| self.rows.iter().find(|r| r.method.name() == m).map(|r| 100.0 * r.gap);
        let alpha = self.model.alpha_if;
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
            self.model.description,
            num(alpha),
            if alpha < 1e-9 {
                "Q_bar o sigma = Q* and the run tests convergence, not the interface term of the bound."
            } else {
                "IC-Q converges to Q_bar, not to Q*: compare its error with alpha_IF."
            }
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::method::Method;
    use crate::synthetic::{ModelFacts, SummaryRow};

    /// A small synthetic summary: a learner, the oracle, and the random policy (whose errors are NaN).
    pub(crate) fn sample() -> Summary {
        let row = |method, value: f64, q_error: f64| SummaryRow {
            method,
            value,
            value_ci95: [value - 0.01, value + 0.01],
            optimal_value: 2.0,
            gap: (2.0 - value) / 2.0,
            q_error_inf: q_error,
            q_error_xi: q_error / 2.0,
            q_bar_error_inf: q_error,
            q_bar_error_xi: q_error / 2.0,
            handoffs: 1000,
            scalars_per_transfer: if method == Method::IcQ { 1.0 } else { 0.0 },
            seeds: 2,
        };
        Summary {
            experiment: "sample".into(),
            workload: "synthetic-v0".into(),
            seeds: 2,
            rows: vec![
                row(Method::IcQ, 1.98, 0.05),
                row(Method::Oracle, 1.99, 0.02),
                SummaryRow { value_ci95: [f64::NAN, f64::NAN], ..row(Method::Random, 0.5, f64::NAN) },
            ],
            model: ModelFacts {
                description: "3 agents".into(),
                states: 12,
                pairs: 30,
                eps_if: 0.0,
                delta_if: 0.0,
                alpha_if: 0.0,
                gamma_bar: 0.9,
                vbar_inf: 3.0,
                random_value: 0.5,
                optimal_value: 2.0,
                t_mix: None,
                coverage_min: 1e-3,
                relaxation_time: Some(4.5),
                exact_gap_inf: 0.0,
                q_bar_policy_loss: 0.0,
            },
        }
    }

    #[test]
    fn a_summary_round_trips_through_its_json_to_the_same_bytes_and_the_same_table() {
        let s = sample();
        let json = crate::workload::pretty(&s).expect("serialise");
        assert!(json.contains("\"q_error_inf\": null"), "NaN is written as null: {json}");
        let back: Summary = crate::table::parse(&json).expect("the summary reads back");
        assert_eq!(crate::workload::pretty(&back).expect("serialise"), json);
        assert_eq!(table(&back), table(&s));
        assert_eq!(back.terminal(), s.terminal());
        let (mut a, mut b) = (String::new(), String::new());
        back.markdown(&mut a);
        s.markdown(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn the_terminal_and_the_report_show_the_same_table() {
        let s = sample();
        let t = table(&s);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0], ["ic-q", "1.9800", "[1.9700, 1.9900]", "1.00%", "0.0500", "0.0250", "1"]);
        assert_eq!(t.rows[2][4], "–", "a NaN error is shown as a dash");
        assert!(s.terminal().ends_with(&t.text()));
        let mut md = String::new();
        s.markdown(&mut md);
        assert!(md.starts_with(&t.markdown()), "{md}");
        assert!(md.contains("IC-Q's greedy policy is 1.00% below") && md.contains("oracle is 0.50% below"), "{md}");
    }
}
