//! Learning-curve plots (SVG, pure Rust: no font libraries needed).

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::config::Method;
use crate::runner::{JobResult, Summary};

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Render the mean value of the greedy policy against handoffs for each learning method, with `V*` and
/// the random policy's value as horizontal references. Returns the SVG text.
pub fn learning_curves_svg(summary: &Summary, jobs: &[JobResult]) -> Result<String, String> {
    let mut curves: BTreeMap<Method, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for j in jobs {
        for p in &j.curve {
            curves.entry(j.method).or_default().entry(p.handoffs).or_default().push(p.scores.value);
        }
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let series: Vec<(Method, Vec<(f64, f64)>)> =
        curves.iter().map(|(m, pts)| (*m, pts.iter().map(|(h, v)| (*h as f64, mean(v))).collect())).collect();
    let v_star = summary.model.optimal_value;
    let v_rand = summary.model.random_value;
    let mut lo = v_star.min(v_rand);
    let mut hi = v_star.max(v_rand);
    let mut x_max: f64 = 1.0;
    let mut x_min: f64 = f64::INFINITY;
    for (_, pts) in &series {
        for &(x, y) in pts {
            lo = lo.min(y);
            hi = hi.max(y);
            x_max = x_max.max(x);
            x_min = x_min.min(x);
        }
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let x_min = if x_min.is_finite() && x_min < x_max { x_min } else { x_max / 10.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: exact value of the greedy policy (mean of {} seeds)", summary.experiment, summary.seeds),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x_min..x_max).log_scale(), (lo - pad)..(hi + pad))
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("handoffs (Q-updates) per seed, log scale")
            .y_desc("value from nu_0")
            .x_label_formatter(&|x| format!("{x:.1e}"))
            .draw()
            .map_err(|x| e(&x))?;
        for (label, y, colour) in [("optimal V*", v_star, BLACK), ("random", v_rand, RGBColor(128, 128, 128))] {
            chart
                .draw_series(LineSeries::new(vec![(x_min, y), (x_max, y)], colour.stroke_width(1)))
                .map_err(|x| e(&x))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        for (k, (method, pts)) in series.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(method.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}
