//! The math run's section of `baton report`.

use std::fmt::Write as _;

use serde_json::Value;

use super::MathSummary;
use crate::report::{f, num, rows, s};

pub(crate) fn markdown(out: &mut String, sm: &Value) {
    let _ = writeln!(
        out,
        "| method | critic | lambda | accuracy | 95% CI | accuracy (recording's rule) | USD per 1k | return | strong calls | PGR |\n\
         |---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows(sm) {
        let ci = r.get("accuracy_ci95").and_then(Value::as_array).cloned().unwrap_or_default();
        let ci = ci.iter().filter_map(Value::as_f64).map(num).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | [{}] | {} | {} | {} | {} | {} |",
            s(r, "method"),
            s(r, "critic"),
            num(f(r, "lambda")),
            num(f(r, "accuracy")),
            ci,
            num(f(r, "accuracy_routellm")),
            num(f(r, "cost_per_1k_usd")),
            num(f(r, "return")),
            num(f(r, "strong_share")),
            num(f(r, "pgr"))
        );
    }
    let _ = writeln!(out);
    routellm_table(out, sm);
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

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
}

/// RouteLLM's published GSM8K rows beside every method's APGR and CPTs, per question set.
fn routellm_table(out: &mut String, sm: &Value) {
    let Some(r) = sm.get("routellm") else { return };
    let ci = |m: &Value, key: &str, pct: bool| {
        let (k, d) = if pct { (100.0, 1) } else { (1.0, 3) };
        let c: Vec<f64> = arr(m, &format!("{key}_ci95")).iter().filter_map(Value::as_f64).collect();
        let v = k * f(m, key);
        match c.as_slice() {
            [lo, hi] if (hi - lo).abs() > 1e-12 => format!("{v:.d$} [{:.d$}, {:.d$}]", k * lo, k * hi),
            _ => format!("{v:.d$}"),
        }
    };
    for reference in arr(r, "references") {
        let subset = s(reference, "subset");
        let n = reference.get("questions").and_then(Value::as_u64).unwrap_or(0);
        let _ = writeln!(
            out,
            "RouteLLM's metrics on the {n} {subset} questions (x = share of questions sent to the strong solver; PGR \
             against cheap-only {} and strong-only {} on the same questions; baton rows: mean of the seeds [95% CI]; \
             CPTs in %). The cost columns use USD relative to strong-only's as x.\n",
            num(f(reference, "cheap_accuracy")),
            num(f(reference, "strong_accuracy"))
        );
        let _ = writeln!(
            out,
            "| router | critic | APGR | CPT(50%) | CPT(80%) | APGR (cost) | CPT(50%) (cost) | CPT(80%) (cost) | setting |\n\
             |---|---|---|---|---|---|---|---|---|"
        );
        for p in arr(r, "published") {
            let _ = writeln!(
                out,
                "| {} (published, 1,307 questions) | - | {:.3} | {:.2} | {:.2} | - | - | - | {} |",
                s(p, "router"),
                f(p, "apgr"),
                100.0 * f(p, "cpt50"),
                100.0 * f(p, "cpt80"),
                s(p, "setting")
            );
        }
        for fr in arr(r, "fronts").iter().filter(|fr| s(fr, "subset") == subset) {
            let (c, u) = (fr.get("calls").unwrap_or(&Value::Null), fr.get("cost").unwrap_or(&Value::Null));
            let _ = writeln!(
                out,
                "| baton {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s(fr, "method"),
                s(fr, "critic"),
                ci(c, "apgr", false),
                ci(c, "cpt50", true),
                ci(c, "cpt80", true),
                ci(u, "apgr", false),
                ci(u, "cpt50", true),
                ci(u, "cpt80", true),
                s(fr, "setting")
            );
        }
        let _ = writeln!(out);
    }
}

/// The result table `baton run` prints.
pub(crate) fn terminal(s: &MathSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {} ({} seeds, {} training episodes, {} held-out questions of {}); critic: {}\n",
        s.experiment,
        s.workload,
        s.seeds,
        s.episodes,
        s.heldout_questions,
        s.dataset,
        match s.critic {
            baton_envs::math::CriticKind::None => "none (every signal is computed from the recorded text)",
            baton_envs::math::CriticKind::LabelSimulated => "label-simulated (drawn from the correctness label)",
            baton_envs::math::CriticKind::Backend => "the simulated backend's verifier",
        }
    );
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>9} {:>17} {:>10} {:>12} {:>9} {:>8} {:>7} {:>16}",
        "method", "lambda", "accuracy", "95% CI", "routellm", "USD per 1k", "return", "strong%", "PGR", "critic"
    );
    let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
    for r in &s.rows {
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>9.4} {:>17} {:>10} {:>12.3} {:>9} {:>8.2} {:>7.3} {:>16}",
            r.method.name(),
            opt(r.lambda, 0),
            r.accuracy,
            format!("[{:.3}, {:.3}]", r.accuracy_ci95[0], r.accuracy_ci95[1]),
            opt(r.accuracy_routellm, 4),
            r.cost_per_1k_usd,
            opt(r.mean_return, 4),
            100.0 * r.strong_share,
            r.pgr,
            r.critic
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
    routellm_terminal(&mut out, &s.routellm, s.seeds);
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

/// RouteLLM's metrics beside the published rows, as `baton run` prints them.
fn routellm_terminal(out: &mut String, r: &super::metrics::RouteLlmSection, seeds: u32) {
    use crate::routellm::RouterMetrics;
    let ci = |v: f64, c: [f64; 2], pct: bool| {
        let k = if pct { 100.0 } else { 1.0 };
        let d = if pct { 1 } else { 3 };
        format!("{:.d$} [{:.d$}, {:.d$}]", k * v, k * c[0], k * c[1])
    };
    let cols = |m: &RouterMetrics| {
        format!(
            "{:>21} {:>19} {:>19}",
            ci(m.apgr, m.apgr_ci95, false),
            ci(m.cpt50, m.cpt50_ci95, true),
            ci(m.cpt80, m.cpt80_ci95, true)
        )
    };
    for reference in &r.references {
        let _ = writeln!(
            out,
            "\nRouteLLM's metrics on the {} {} questions{} (mean of {seeds} seeds [95% CI]; PGR against cheap-only {:.4} \
             and strong-only {:.4} on the same questions)",
            reference.questions,
            reference.subset.name(),
            if reference.excluded > 0 {
                format!(" ({} of RouteLLM's contaminated prompts left out)", reference.excluded)
            } else {
                String::new()
            },
            reference.cheap_accuracy,
            reference.strong_accuracy
        );
        let _ = writeln!(
            out,
            "{:<12} {:>15} | {:^61} | {:^61}",
            "", "", "x = share of questions sent to the strong solver", "x = USD relative to strong-only's"
        );
        let _ = writeln!(
            out,
            "{:<12} {:>15} | {:>21} {:>19} {:>19} | {:>21} {:>19} {:>19}",
            "method", "critic", "APGR", "CPT(50%) %", "CPT(80%) %", "APGR", "CPT(50%) (x100)", "CPT(80%) (x100)"
        );
        for f in r.fronts.iter().filter(|f| f.subset == reference.subset) {
            let _ = writeln!(out, "{:<12} {:>15} | {} | {}", f.method.name(), f.critic, cols(&f.calls), cols(&f.cost));
        }
    }
    if !r.published.is_empty() {
        let _ = writeln!(out, "\nRouteLLM's published GSM8K rows (arXiv 2406.18665, Table 3; 1,307 questions):");
        for p in &r.published {
            let _ = writeln!(
                out,
                "{:<48} APGR {:.3}  CPT(50%) {:.2}%  CPT(80%) {:.2}%",
                p.router,
                p.apgr,
                100.0 * p.cpt50,
                100.0 * p.cpt80
            );
        }
    }
    let _ = writeln!(out);
}
