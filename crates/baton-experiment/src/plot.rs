//! Learning-curve plots (SVG, pure Rust: no font libraries needed).

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::method::Method;
use crate::runner::{JobResult, Summary};
use crate::stats::quantile;

const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
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

/// Colour of a method, the same in every plot.
fn method_colour(method: Method) -> RGBColor {
    let k = match method {
        Method::IcQ => 0,
        Method::ShortestPath | Method::FixedPipeline => 1,
        Method::Oracle => 2,
        Method::NoScalar => 3,
        Method::Random => 4,
        Method::Optimal | Method::RoundRobin | Method::CheapOnly => 5,
        Method::StrongOnly => 6,
        Method::Cascade => 7,
        Method::BothTie => 8,
        Method::IcQNeural => 9,
    };
    COLOURS[k]
}

/// Mean delivery time (median over seeds) against offered load for every method, log y axis, with the
/// published curves dashed beside them. Returns the SVG text.
pub fn delivery_vs_load_svg(
    summary: &crate::routing::RoutingSummary,
    published: Option<&baton_envs::routing::config::PublishedCurve>,
) -> Result<String, String> {
    let mut methods: Vec<Method> = Vec::new();
    for r in &summary.rows {
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    // (label, colour, dashed, points)
    type Series = (String, RGBColor, bool, Vec<(f64, f64)>);
    let mut series: Vec<Series> = methods
        .iter()
        .map(|&m| {
            let pts = summary
                .rows
                .iter()
                .filter(|r| r.method == m && r.mean_delivery_time.is_finite())
                .map(|r| (r.load, r.mean_delivery_time))
                .collect();
            (m.name().to_string(), method_colour(m), false, pts)
        })
        .collect();
    if let Some(p) = published {
        for (name, curve, m) in
            [("Q-routing", &p.q_routing, Method::IcQ), ("shortest path", &p.shortest_path, Method::ShortestPath)]
        {
            let pts: Vec<(f64, f64)> =
                p.loads.iter().zip(curve.iter()).filter(|(_, v)| v.is_finite()).map(|(l, v)| (*l, *v)).collect();
            if !pts.is_empty() {
                series.push((format!("{name} (published)"), method_colour(m), true, pts));
            }
        }
    }
    let all = series.iter().flat_map(|s| s.3.iter());
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, 1.0f64);
    for &(x, y) in all {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo) = (0.0, 1.0, 1.0);
    }
    let x_pad = ((x_hi - x_lo) * 0.05).max(0.05);
    let y_lo = (y_lo * 0.8).max(1e-3);
    let y_hi = y_hi * 1.25;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 520)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: mean delivery time after t = {} (median of {} seeds)",
                    summary.network.topology, summary.warmup, summary.seeds
                ),
                ("sans-serif", 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x_lo - x_pad)..(x_hi + x_pad), (y_lo..y_hi).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("offered load L (packets per time unit)")
            .y_desc("mean delivery time (log scale)")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|x| e(&x))?;
        for (label, colour, dashed, pts) in &series {
            let colour = *colour;
            let style = if *dashed { colour.stroke_width(1) } else { colour.stroke_width(2) };
            if *dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                    .map_err(|x| e(&x))?
                    .label(label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
                chart.draw_series(pts.iter().map(|&(x, y)| Cross::new((x, y), 4, colour))).map_err(|x| e(&x))?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(|x| e(&x))?
                    .label(label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
                chart
                    .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))
                    .map_err(|x| e(&x))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Per method (in order of first appearance), the median over seeds of `value` in each time bin, placed at
/// the bin's centre; points whose `value` is `None` are left out.
fn median_per_bin(
    points: &[crate::routing::BinPoint],
    bin: f64,
    value: impl Fn(&crate::routing::BinPoint) -> Option<f64>,
) -> Vec<(Method, Vec<(f64, f64)>)> {
    let mut by_method: Vec<(Method, BTreeMap<u64, Vec<f64>>)> = Vec::new();
    for p in points {
        let Some(v) = value(p) else { continue };
        let slot = match by_method.iter().position(|(m, _)| *m == p.method) {
            Some(i) => i,
            None => {
                by_method.push((p.method, BTreeMap::new()));
                by_method.len() - 1
            }
        };
        // Bin starts are non-negative, so their bit patterns sort like the numbers.
        by_method[slot].1.entry(p.t_start.to_bits()).or_default().push(v);
    }
    by_method
        .into_iter()
        .map(|(m, bins)| {
            let pts = bins.iter().map(|(t, vs)| (f64::from_bits(*t) + bin / 2.0, quantile(vs, 0.5))).collect();
            (m, pts)
        })
        .collect()
}

/// Mean delivery time per time bin (median over seeds) for every method of a one-load run, with the
/// scheduled changes (link failures, traffic shifts) marked, and below it the packets delivered per time
/// unit (a stalled method delivers nothing, which the upper panel cannot show). Returns the SVG text.
pub fn time_series_svg(
    summary: &crate::routing::RoutingSummary,
    points: &[crate::routing::BinPoint],
    config: &baton_envs::routing::RoutingConfig,
) -> Result<String, String> {
    let series = median_per_bin(points, config.bin, |p| p.mean_delivery_time);
    // Packets delivered per time unit in each bin (median over seeds), bins with no delivery included.
    let rate_series = median_per_bin(points, config.bin, |p| Some(p.delivered as f64 / config.bin));
    let rate_hi = rate_series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1e-9) * 1.15;
    let y_hi = series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.25;
    let y_lo = series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).fold(f64::INFINITY, f64::min).min(y_hi) * 0.8;
    let y_lo = if y_lo.is_finite() && y_lo > 0.0 { y_lo } else { 1.0 };
    let load = config.loads.first().copied().unwrap_or(f64::NAN);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 760)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let (upper, lower) = root.split_vertically(480);
        let mut chart = ChartBuilder::on(&upper)
            .caption(
                format!(
                    "{} at L = {load}: mean delivery time per {} time units (median of {} seeds)",
                    summary.network.topology, config.bin, summary.seeds
                ),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..config.duration, (y_lo..y_hi).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("simulated time")
            .y_desc("mean delivery time (log scale)")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|x| e(&x))?;
        for c in &config.changes {
            let (at, label) = match c {
                baton_envs::routing::config::ChangeConfig::LinkDown { at, link, .. } => {
                    (*at, format!("link {}-{} down", link[0], link[1]))
                }
                baton_envs::routing::config::ChangeConfig::Traffic { at, .. } => (*at, "traffic shift".to_string()),
            };
            chart
                .draw_series(DashedLineSeries::new(vec![(at, y_lo), (at, y_hi)], 4, 4, BLACK.stroke_width(1)))
                .map_err(|x| e(&x))?
                .label(label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        for (method, pts) in &series {
            let colour = method_colour(*method);
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(method.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(&x))?;
        let mut rate_chart = ChartBuilder::on(&lower)
            .caption("packets delivered per time unit (median of seeds)", ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..config.duration, 0.0..rate_hi)
            .map_err(|x| e(&x))?;
        rate_chart
            .configure_mesh()
            .x_desc("simulated time")
            .y_desc("delivered / time unit")
            .draw()
            .map_err(|x| e(&x))?;
        for (method, pts) in &rate_series {
            let colour = method_colour(*method);
            rate_chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2))).map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// One series of an x-y plot: points `(x, y, lo, hi)` (a band is drawn where `lo < hi`).
struct XySeries {
    label: String,
    points: Vec<(f64, f64, f64, f64)>,
    colour: RGBColor,
    dashed: bool,
}

/// A bound sweep (see [`crate::sweep`]): the measured error of every learning method against the axis with
/// its 95% band, and the bound's predicted term beside it. Width: log-log against `m`, with `e_approx(m)` of
/// every feature map dashed. Interface: against `lambda`, with `alpha_IF` and the exact gap
/// `max |Q* - Q_bar o sigma|` dashed. Mixing and duration: against the predicted quantity (`t_mix`,
/// `1/(1-gamma_bar)`), with IC-Q's fitted line dashed.
pub fn sweep_svg(summary: &crate::sweep::SweepSummary) -> Result<String, String> {
    use crate::sweep::Axis;
    let axis = summary.axis;
    let mut methods: Vec<Method> = Vec::new();
    for r in &summary.rows {
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    let x_of = |r: &crate::sweep::SweepRow| match axis {
        Axis::Width | Axis::Interface => Some(r.level),
        Axis::Mixing | Axis::Duration => r.predicted,
    };
    let mut series: Vec<XySeries> = methods
        .iter()
        .map(|&m| XySeries {
            label: format!("{} (measured, 95% band)", m.name()),
            points: summary
                .rows
                .iter()
                .filter(|r| r.method == m && r.error.is_finite())
                .filter_map(|r| x_of(r).map(|x| (x, r.error, r.error_ci95[0], r.error_ci95[1])))
                .collect(),
            colour: method_colour(m),
            dashed: false,
        })
        .collect();
    let icq_rows = || summary.rows.iter().filter(|r| r.method == Method::IcQ);
    match axis {
        Axis::Width => {
            let mut names: Vec<&String> = Vec::new();
            for r in icq_rows() {
                for k in r.e_approx.keys() {
                    if !names.contains(&k) {
                        names.push(k);
                    }
                }
            }
            for (k, name) in names.into_iter().enumerate() {
                series.push(XySeries {
                    label: format!("e_approx(m), {name} features"),
                    points: icq_rows()
                        .filter_map(|r| r.e_approx.get(name).map(|&v| (r.level, v.max(1e-6), 0.0, 0.0)))
                        .collect(),
                    colour: COLOURS[(4 + k) % COLOURS.len()],
                    dashed: true,
                });
            }
        }
        Axis::Interface => {
            series.push(XySeries {
                label: "alpha_IF (predicted bound)".into(),
                points: summary.levels.iter().map(|l| (l.level, l.model.alpha_if, 0.0, 0.0)).collect(),
                colour: BLACK,
                dashed: true,
            });
            series.push(XySeries {
                label: "exact gap max|Q* - Q_bar o sigma|".into(),
                points: summary.levels.iter().map(|l| (l.level, l.model.exact_gap_inf, 0.0, 0.0)).collect(),
                colour: COLOURS[4],
                dashed: true,
            });
        }
        Axis::Mixing | Axis::Duration => {
            if let Some(fit) = &summary.fit {
                let xs: Vec<f64> = icq_rows().filter_map(x_of).collect();
                let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                if lo.is_finite() {
                    series.push(XySeries {
                        label: format!("IC-Q fit (R^2 = {:.3})", fit.r2),
                        points: [lo, hi].iter().map(|&x| (x, fit.slope * x + fit.intercept, 0.0, 0.0)).collect(),
                        colour: BLACK,
                        dashed: true,
                    });
                }
            }
        }
    }
    let log = axis == Axis::Width;
    let x_desc = match axis {
        Axis::Width => "width m (log scale)",
        Axis::Interface => "aliasing lambda",
        Axis::Mixing => "t_mix of the behaviour chain (handoffs)",
        Axis::Duration => "1 / (1 - gamma_bar)",
    };
    let caption =
        format!("{}: {} against {} ({} seeds)", summary.experiment, summary.error, axis.name(), summary.seeds);
    xy_svg(&caption, x_desc, &summary.error, log, &series)
}

/// Render x-y series (solid with bands, or dashed) on linear or log-log axes.
fn xy_svg(caption: &str, x_desc: &str, y_desc: &str, log: bool, series: &[XySeries]) -> Result<String, String> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &(x, y, lo, hi) in &s.points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            for v in [y, lo, hi] {
                if v.is_finite() && (!log || v > 0.0) && !(v == 0.0 && lo == hi && v != y) {
                    y0 = y0.min(v);
                    y1 = y1.max(v);
                }
            }
        }
    }
    if !(x0.is_finite() && y0.is_finite()) {
        (x0, x1, y0, y1) = (1.0, 2.0, 1.0, 2.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .light_line_style(RGBColor(235, 235, 235))
                    .x_label_formatter(&|x| if log { format!("{x:.0}") } else { format!("{x:.3}") })
                    .y_label_formatter(&|y| format!("{y:.3}"))
                    .draw()
                    .map_err(|x| e(&x))?;
                for s in series {
                    let colour = s.colour;
                    let band: Vec<(f64, f64)> =
                        s.points.iter().map(|p| (p.0, p.2)).chain(s.points.iter().rev().map(|p| (p.0, p.3))).collect();
                    if s.points.iter().any(|p| p.2 < p.3) {
                        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15)))).map_err(|x| e(&x))?;
                    }
                    let line: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.1)).collect();
                    let dashed = s.dashed;
                    let drawn = if dashed {
                        chart.draw_series(DashedLineSeries::new(line.clone(), 6, 4, colour.stroke_width(2)))
                    } else {
                        chart.draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
                    };
                    drawn
                        .map_err(|x| e(&x))?
                        .label(s.label.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
                    chart
                        .draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))
                        .map_err(|x| e(&x))?;
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|x| e(&x))?;
            }};
        }
        if log {
            draw!(ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d((x0 * 0.9..x1 * 1.1).log_scale(), (y0 * 0.8..y1 * 1.25).log_scale())
                .map_err(|x| e(&x))?);
        } else {
            let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.08);
            draw!(ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(x0 - px..x1 + px, (y0 - py).min(0.0)..y1 + py)
                .map_err(|x| e(&x))?);
        }
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Held-out accuracy against USD per 1000 questions (log x axis): each learning method as a line through its
/// lambda points (in cost order), each fixed strategy as one marked point. Returns the SVG text.
pub fn front_svg(summary: &crate::math::MathSummary) -> Result<String, String> {
    let mut methods: Vec<Method> = Vec::new();
    for r in &summary.rows {
        if !methods.contains(&r.method) {
            methods.push(r.method);
        }
    }
    let series: Vec<(Method, Vec<(f64, f64)>)> = methods
        .iter()
        .map(|&m| {
            let mut pts: Vec<(f64, f64)> = summary
                .rows
                .iter()
                .filter(|r| r.method == m && r.cost_per_1k_usd.is_finite() && r.accuracy.is_finite())
                .map(|r| (r.cost_per_1k_usd.max(1e-3), r.accuracy))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (m, pts)
        })
        .collect();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, 1.0f64, 0.0f64);
    for (x, y) in series.iter().flat_map(|s| s.1.iter().copied()) {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo, y_hi) = (0.1, 10.0, 0.0, 1.0);
    }
    let (x_lo, x_hi) = (x_lo / 1.5, x_hi * 1.5);
    let (y_lo, y_hi) = ((y_lo - 0.03).max(0.0), (y_hi + 0.03).min(1.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 520)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: held-out accuracy vs cost ({} held-out questions, {} seeds)",
                    summary.dataset, summary.heldout_questions, summary.seeds
                ),
                ("sans-serif", 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("USD per 1000 questions (log scale)")
            .y_desc("accuracy (decimal-aware grader)")
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(|x| e(&x))?;
        for (m, pts) in &series {
            let colour = method_colour(*m);
            let label = m.name();
            if m.learns() {
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                    .map_err(|x| e(&x))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
                chart
                    .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))
                    .map_err(|x| e(&x))?;
            } else {
                chart
                    .draw_series(pts.iter().map(|&(x, y)| TriangleMarker::new((x, y), 7, colour.filled())))
                    .map_err(|x| e(&x))?
                    .label(label)
                    .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, colour.filled()));
            }
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

/// Lines of (x, y) points per method, drawn with markers on linear axes; `y` in [0, 1].
fn method_lines_svg(
    caption: &str,
    x_desc: &str,
    series: &[(Method, Vec<(f64, f64)>)],
    log_x: bool,
) -> Result<String, String> {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in xs {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi) = (1.0, 2.0);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 520)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut builder = ChartBuilder::on(&root);
        builder.caption(caption, ("sans-serif", 17)).margin(12).x_label_area_size(40).y_label_area_size(60);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc("success rate (hidden exhaustive check)")
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .y_label_formatter(&|y| format!("{y:.2}"))
                    .draw()
                    .map_err(|x| e(&x))?;
                for (m, pts) in series {
                    let colour = method_colour(*m);
                    chart
                        .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                        .map_err(|x| e(&x))?
                        .label(m.name())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
                    chart
                        .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))
                        .map_err(|x| e(&x))?;
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerLeft)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|x| e(&x))?;
            }};
        }
        if log_x {
            draw!(builder.build_cartesian_2d((x_lo / 1.3..x_hi * 1.3).log_scale(), 0.0..1.02).map_err(|x| e(&x))?);
        } else {
            draw!(builder.build_cartesian_2d(x_lo - 0.5..x_hi + 0.5, 0.0..1.02).map_err(|x| e(&x))?);
        }
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Success rate against task difficulty (reference length; tasks of equal length averaged), one line per
/// method, at the run's `tester_k`. Returns the SVG text.
pub fn success_vs_difficulty_svg(summary: &crate::cpu::CpuSummary) -> Result<String, String> {
    let series: Vec<(Method, Vec<(f64, f64)>)> = summary
        .rows
        .iter()
        .map(|r| {
            let mut by_len: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            for t in &summary.per_task {
                if let Some(&s) = t.success_rate.get(r.method.name()) {
                    by_len.entry(t.reference_length).or_default().push(s);
                }
            }
            let pts = by_len.into_iter().map(|(l, v)| (l as f64, v.iter().sum::<f64>() / v.len() as f64)).collect();
            (r.method, pts)
        })
        .collect();
    let caption = format!(
        "{}: success vs difficulty ({} tasks, k = {}, {} seeds)",
        summary.experiment, summary.tasks, summary.tester_k, summary.seeds
    );
    method_lines_svg(&caption, "reference length (instructions)", &series, false)
}

/// Success rate against the tester's sample size k (log axis), one line per method. Returns the SVG text.
pub fn success_vs_k_svg(summary: &crate::cpu::CpuSummary) -> Result<String, String> {
    let series: Vec<(Method, Vec<(f64, f64)>)> = summary
        .rows
        .iter()
        .map(|r| {
            let pts = summary
                .k_sweep
                .iter()
                .filter(|p| p.method == r.method)
                .map(|p| (f64::from(p.k), p.success_rate))
                .collect();
            (r.method, pts)
        })
        .collect();
    let caption = format!("{}: success vs tester sample size ({} seeds)", summary.experiment, summary.seeds);
    method_lines_svg(&caption, "tester sample size k (log scale)", &series, true)
}
