//! The math run's result tables (printed by `baton run`, written by `baton report`) and its report section.

use std::fmt::Write as _;

use super::metrics::RouteLlmSection;
use super::MathSummary;
use crate::routellm::RouterMetrics;
use crate::table::{interval, num, opt, percent, Table};
use crate::workload::RunSummary;

/// Every (method, lambda): accuracy, cost, return, strong calls, PGR; under it IC-Q's front against every fixed
/// strategy and IC-Q against the oracle at every lambda.
pub(crate) fn table(s: &MathSummary) -> Table {
    let mut t = Table::new(&[
        "method",
        "critic",
        "lambda",
        "accuracy",
        "95% CI",
        "accuracy (recording's rule)",
        "USD per 1k",
        "return",
        "strong calls",
        "PGR",
    ]);
    for r in &s.rows {
        t.row(vec![
            r.method.name().to_string(),
            r.critic.to_string(),
            r.lambda.map_or_else(|| "-".to_string(), |l| l.to_string()),
            num(r.accuracy),
            interval(r.accuracy_ci95),
            opt(r.accuracy_routellm),
            format!("{:.3}", r.cost_per_1k_usd),
            opt(r.mean_return),
            percent(r.strong_share),
            num(r.pgr),
        ]);
    }
    let is = |holds: bool| if holds { "is" } else { "is not" };
    for c in &s.front_checks {
        t.note(format!(
            "IC-Q's front at {}'s cost ({} USD per 1k) {} within one accuracy point of or above it: {} against {}.",
            c.method.name(),
            num(c.cost_per_1k_usd),
            is(c.holds),
            opt(c.front_accuracy),
            num(c.accuracy)
        ));
    }
    for c in &s.oracle_checks {
        t.note(format!(
            "At lambda {}, IC-Q {} within one accuracy point of the oracle: {} against {} ({:+.4}; return {:+.4}); \
             IC-Q's front at the oracle's cost ({} USD per 1k) {} within one point of it: {} ({}).",
            c.lambda,
            is(c.holds),
            num(c.ic_q),
            num(c.oracle),
            c.difference,
            c.return_difference,
            num(c.oracle_cost_per_1k_usd),
            is(c.front_holds),
            opt(c.front_accuracy),
            c.front_difference.map_or_else(|| "-".to_string(), |d| format!("{d:+.4}"))
        ));
    }
    t
}

/// RouteLLM's metrics, one table per question set: RouteLLM's published GSM8K rows beside every method's APGR and
/// CPTs (x = share of questions sent to the strong solver, then x = USD relative to strong-only's).
pub(crate) fn routellm_tables(r: &RouteLlmSection, seeds: u32) -> Vec<Table> {
    // A mean over seeds with its 95% interval (the interval left out when the seeds agree).
    let ci = |v: f64, c: [f64; 2], pct: bool| {
        let (k, d) = if pct { (100.0, 1) } else { (1.0, 3) };
        let v = k * v;
        if (c[1] - c[0]).abs() > 1e-12 {
            format!("{v:.d$} [{:.d$}, {:.d$}]", k * c[0], k * c[1])
        } else {
            format!("{v:.d$}")
        }
    };
    let cols = |m: &RouterMetrics| {
        [ci(m.apgr, m.apgr_ci95, false), ci(m.cpt50, m.cpt50_ci95, true), ci(m.cpt80, m.cpt80_ci95, true)]
    };
    let mut tables = Vec::new();
    for reference in &r.references {
        let mut t = Table::new(&[
            "router",
            "critic",
            "APGR",
            "CPT(50%)",
            "CPT(80%)",
            "APGR (cost)",
            "CPT(50%) (cost)",
            "CPT(80%) (cost)",
        ])
        .caption(format!(
            "RouteLLM's metrics on the {} {} questions{} (x = share of questions sent to the strong solver; PGR \
             against cheap-only {} and strong-only {} on the same questions; baton rows: mean of {seeds} seeds [95% \
             CI]; CPTs in %). The cost columns use USD relative to strong-only's as x.",
            reference.questions,
            reference.subset.name(),
            if reference.excluded > 0 {
                format!(" ({} of RouteLLM's contaminated prompts left out)", reference.excluded)
            } else {
                String::new()
            },
            num(reference.cheap_accuracy),
            num(reference.strong_accuracy)
        ));
        for p in &r.published {
            t.row(vec![
                format!("{} (published, 1,307 questions)", p.router),
                "-".into(),
                format!("{:.3}", p.apgr),
                format!("{:.2}", 100.0 * p.cpt50),
                format!("{:.2}", 100.0 * p.cpt80),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for f in r.fronts.iter().filter(|f| f.subset == reference.subset) {
            let mut cells = vec![format!("baton {}", f.method.name()), f.critic.to_string()];
            cells.extend(cols(&f.calls));
            cells.extend(cols(&f.cost));
            t.row(cells);
        }
        tables.push(t);
    }
    if !r.references.is_empty() && (!r.published.is_empty() || !r.fronts.is_empty()) {
        let mut t = Table::new(&["router", "setting"]).caption("How each router's setting differs.");
        for p in &r.published {
            t.row(vec![p.router.to_string(), p.setting.to_string()]);
        }
        let mut seen = Vec::new();
        for f in &r.fronts {
            if !seen.contains(&f.method) {
                seen.push(f.method);
                t.row(vec![format!("baton {}", f.method.name()), f.setting.to_string()]);
            }
        }
        tables.push(t);
    }
    tables
}

impl RunSummary for MathSummary {
    fn head(&self) -> (&str, &str, u32) {
        (&self.experiment, &self.workload, self.seeds)
    }
    fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} on {} ({} seeds, {} training episodes, {} held-out questions of {}); critic: {}\n",
            self.experiment,
            self.workload,
            self.seeds,
            self.episodes,
            self.heldout_questions,
            self.dataset,
            match self.critic {
                baton_envs::math::CriticKind::None => "none (every signal is computed from the recorded text)",
                baton_envs::math::CriticKind::LabelSimulated => "label-simulated (drawn from the correctness label)",
                baton_envs::math::CriticKind::Backend => "the simulated backend's verifier",
            }
        );
        out.push_str(&table(self).text());
        for t in routellm_tables(&self.routellm, self.seeds) {
            out.push('\n');
            out.push_str(&t.text());
        }
        out
    }
    fn markdown(&self, out: &mut String) {
        out.push_str(&table(self).markdown());
        for t in routellm_tables(&self.routellm, self.seeds) {
            out.push_str(&t.markdown());
        }
    }
}
