//! The routing run's result table (printed by `baton run`, written by `baton report`) and its report section.

use std::fmt::Write as _;

use super::{RoutingRow, RoutingSummary};
use crate::table::{interval, num, percent, Table};
use crate::workload::RunSummary;

/// Every (method, load): delivery time, hops, delivered and dropped packets, and the published value or, for
/// skill routing, the routing accuracy.
pub(crate) fn table(s: &RoutingSummary) -> Table {
    let skills = s.rows.iter().any(|r| r.routing_accuracy.is_some());
    let mut header =
        vec!["method", "load", "mean delivery time", "IQR over seeds", "hops", "delivered", "dropped", "published"];
    if skills {
        header.push("accuracy");
    }
    let mut t = Table::new(&header);
    for r in &s.rows {
        let mut cells = vec![
            r.label(),
            r.load.to_string(),
            num(r.mean_delivery_time),
            interval(r.mean_delivery_time_iqr),
            num(r.mean_hops),
            format!("{:.0}", r.delivered),
            format!("{:.0}", r.dropped),
            r.published.map_or_else(|| "-".to_string(), |p| format!("{p:.2}")),
        ];
        if skills {
            cells.push(r.routing_accuracy.map_or_else(|| "-".to_string(), percent));
        }
        t.row(cells);
    }
    t
}

impl RunSummary for RoutingSummary {
    fn head(&self) -> (&str, &str, u32) {
        (&self.experiment, &self.workload, self.seeds)
    }
    fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} on {} ({} seeds): {}",
            self.experiment, self.workload, self.seeds, self.network.description
        );
        let _ = writeln!(out, "mean delivery time of packets delivered after t = {}, median over seeds\n", self.warmup);
        out.push_str(&table(self).text());
        out
    }
    fn markdown(&self, out: &mut String) {
        out.push_str(&table(self).markdown());
        claims(self, out);
    }
}

/// The sentences under the table: each arm against the oracle and shortest paths, IC-Q against the published
/// curve.
fn claims(s: &RoutingSummary, out: &mut String) {
    // (load, mean delivery time, published) of every row of one label.
    let by = |m: &str| -> Vec<(f64, f64, f64)> {
        s.rows
            .iter()
            .filter(|r| r.label() == m)
            .map(|r| (r.load, r.mean_delivery_time, r.published.unwrap_or(f64::NAN)))
            .collect()
    };
    let oracle = by("oracle");
    let shortest = by("shortest-path");
    let mut labels: Vec<String> = s.rows.iter().map(RoutingRow::label).filter(|l| l.starts_with("ic-q (")).collect();
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
        if let Some((load, d)) = excess(&shortest, 0.43 * s.network.saturation_load) {
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
