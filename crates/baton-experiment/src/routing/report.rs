//! The routing run's section of `baton report`.

use std::fmt::Write as _;

use serde_json::Value;

use super::RoutingSummary;
use crate::report::{f, num, rows, s};

pub(crate) fn markdown(out: &mut String, sm: &Value) {
    let _ = writeln!(
        out,
        "| method | load | mean delivery time | IQR over seeds | hops | delivered | dropped | published |\n|---|---|---|---|---|---|---|---|"
    );
    for r in rows(sm) {
        let iqr = r.get("mean_delivery_time_iqr").and_then(Value::as_array).cloned().unwrap_or_default();
        let iqr = iqr.iter().filter_map(Value::as_f64).map(num).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | [{}] | {} | {} | {} | {} |",
            label(r),
            f(r, "load"),
            num(f(r, "mean_delivery_time")),
            iqr,
            num(f(r, "mean_hops")),
            num(f(r, "delivered")),
            num(f(r, "dropped")),
            num(f(r, "published"))
        );
    }
    let by = |m: &str| -> Vec<(f64, f64, f64)> {
        rows(sm)
            .iter()
            .filter(|r| label(r) == m)
            .map(|r| (f(r, "load"), f(r, "mean_delivery_time"), f(r, "published")))
            .collect()
    };
    let oracle = by("oracle");
    let shortest = by("shortest-path");
    let _ = writeln!(out);
    let mut labels: Vec<String> = rows(sm).iter().map(label).filter(|l| l.starts_with("ic-q (")).collect();
    labels.dedup();
    for l in &labels {
        let arm = by(l);
        let excess = |base: &[(f64, f64, f64)], max_load: f64| {
            arm.iter()
                .filter(|(load, _, _)| *load <= max_load)
                .filter_map(|(load, t, _)| {
                    base.iter().find(|(b, _, _)| b == load).map(|(_, o, _)| (*load, 100.0 * (t - o) / o))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        if let Some((load, d)) = excess(&oracle, f64::INFINITY) {
            let _ = writeln!(out, "{l}: largest excess over the full-information oracle {d:+.1}% (at load {load}).");
        }
        // Low load: up to 0.43 of the network's shortest-path saturation load (B&L's grid: L <= 1.0).
        let sat = sm.get("network").and_then(|n| n.get("saturation_load")).and_then(Value::as_f64);
        if let Some((load, d)) = sat.and_then(|sat| excess(&shortest, 0.43 * sat)) {
            let _ = writeln!(
                out,
                "{l}: largest excess over shortest paths up to 0.43 of saturation (B&L's grid: L <= 1.0): {d:+.1}% \
                 (at load {load})."
            );
        }
    }
    let icq = by("ic-q");
    let worst_pub = icq
        .iter()
        .filter(|(_, _, p)| p.is_finite())
        .map(|(l, t, p)| (*l, 100.0 * (t - p) / p))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    if let Some((load, d)) = worst_pub {
        let _ = writeln!(
            out,
            "**Shows:** IC-Q (Q-routing) against the published curve: the largest difference is {d:+.1}% (at load {load})."
        );
    }
    let worst_oracle = icq
        .iter()
        .filter_map(|(l, t, _)| oracle.iter().find(|(lo, _, _)| lo == l).map(|(_, o, _)| (*l, 100.0 * (t - o) / o)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((load, d)) = worst_oracle {
        let _ = writeln!(out, "IC-Q's largest excess over the full-information oracle is {d:+.1}% (at load {load}).");
    }
    let _ = writeln!(
        out,
        "**Does not show:** the oracle is a heuristic with global information, not a proven optimum; the simulator \
         follows model.md 6.2, and docs/deviations.md lists where the published simulator's details are unknown.\n"
    );
}

/// A row's method, with its preset when it has one: `ic-q (baton)`.
fn label(r: &Value) -> String {
    match r.get("preset").and_then(Value::as_str) {
        Some(p) => format!("{} ({p})", s(r, "method")),
        None => s(r, "method").to_string(),
    }
}

/// The result table `baton run` prints.
pub(crate) fn terminal(s: &RoutingSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} on {} ({} seeds): {}", s.experiment, s.workload, s.seeds, s.network.description);
    let _ = writeln!(out, "mean delivery time of packets delivered after t = {}, median over seeds\n", s.warmup);
    let skills = s.rows.iter().any(|r| r.routing_accuracy.is_some());
    let last = if skills { "accuracy" } else { "published" };
    let _ = writeln!(
        out,
        "{:<20} {:>6} {:>12} {:>19} {:>10} {:>10} {:>9} {:>10}",
        "method", "load", "delivery", "IQR", "hops", "delivered", "dropped", last
    );
    for r in &s.rows {
        let iqr = format!("[{:.2}, {:.2}]", r.mean_delivery_time_iqr[0], r.mean_delivery_time_iqr[1]);
        let extra = match (r.routing_accuracy, r.published) {
            (Some(a), _) => format!("{:.2}%", 100.0 * a),
            (None, Some(v)) => format!("{v:.2}"),
            (None, None) => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>12.3} {:>19} {:>10.2} {:>10.0} {:>9.0} {:>10}",
            r.label(),
            r.load,
            r.mean_delivery_time,
            iqr,
            r.mean_hops,
            r.delivered,
            r.dropped,
            extra
        );
    }
    out
}
