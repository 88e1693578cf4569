//! The run plots (SVG, pure Rust: no font libraries needed). Each plot function turns a summary into
//! `Panel`s of `Series`; one renderer (`render`) draws every panel, so all plots share one look.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::method::Method;
use crate::stats::quantile;
use crate::synthetic::{JobResult, Summary};

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

/// Colour of a method, the same in every plot.
fn method_colour(method: Method) -> RGBColor {
    let k = match method {
        Method::IcQ => 0,
        Method::ShortestPath | Method::FixedPipeline | Method::PromptOnly => 1,
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

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// A solid line (circles at the points with `dots`).
    Line,
    /// A dashed line (crosses at the points with `dots`).
    Dashed,
    /// Filled triangles at the points, no line.
    Triangles,
}

/// One series of a panel.
struct Series {
    /// Its legend entry (none: not in the legend).
    label: Option<String>,
    colour: RGBColor,
    mark: Mark,
    /// Line width in pixels.
    width: u32,
    /// Markers at the points.
    dots: bool,
    points: Vec<(f64, f64)>,
    /// A shaded band `(lo, hi)` per point, drawn when some `lo < hi`.
    band: Vec<(f64, f64)>,
}

impl Series {
    /// A solid line, 2 pixels wide, in the legend.
    fn line(label: impl Into<String>, colour: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: Some(label.into()), colour, mark: Mark::Line, width: 2, dots: false, points, band: Vec::new() }
    }

    fn dashed(mut self) -> Self {
        self.mark = Mark::Dashed;
        self
    }

    fn triangles(mut self) -> Self {
        self.mark = Mark::Triangles;
        self
    }

    fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    fn dots(mut self) -> Self {
        self.dots = true;
        self
    }

    fn unlabelled(mut self) -> Self {
        self.label = None;
        self
    }

    fn band(mut self, band: Vec<(f64, f64)>) -> Self {
        self.band = band;
        self
    }
}

/// A tick-label format.
type Format = fn(&f64) -> String;

/// One axis: its description, range, scale and tick format (`None`: plotters' default).
struct Axis {
    desc: String,
    range: (f64, f64),
    log: bool,
    format: Option<Format>,
}

impl Axis {
    fn linear(desc: impl Into<String>, lo: f64, hi: f64) -> Self {
        Axis { desc: desc.into(), range: (lo, hi), log: false, format: None }
    }

    fn log(desc: impl Into<String>, lo: f64, hi: f64) -> Self {
        Axis { log: true, ..Axis::linear(desc, lo, hi) }
    }

    fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
}

/// Where a panel's legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Corner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

impl Corner {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        }
    }
}

/// One chart: a caption, two axes, its series and where the legend goes (none: no legend).
struct Panel {
    caption: String,
    caption_size: u32,
    x: Axis,
    y: Axis,
    y_label_area: u32,
    series: Vec<Series>,
    legend: Option<Corner>,
    /// Height in pixels when panels are stacked (the last panel takes what is left).
    height: u32,
}

impl Panel {
    fn new(caption: impl Into<String>, x: Axis, y: Axis, series: Vec<Series>) -> Self {
        Panel {
            caption: caption.into(),
            caption_size: 17,
            x,
            y,
            y_label_area: 60,
            series,
            legend: Some(Corner::UpperLeft),
            height: 0,
        }
    }

    fn legend(mut self, at: Option<Corner>) -> Self {
        self.legend = at;
        self
    }
}

/// A plot the plotting library could not draw (its message).
#[derive(Debug, thiserror::Error)]
#[error("drawing a plot: {0}")]
pub struct PlotError(String);

fn err(e: &dyn std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// Draw `panels` stacked top to bottom on a white canvas of `size` pixels. Returns the SVG text.
fn render(size: (u32, u32), panels: &[Panel]) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|x| err(&x))?;
        let mut rest = root.clone();
        for (i, p) in panels.iter().enumerate() {
            let area = if i + 1 < panels.len() {
                let (top, bottom) = rest.split_vertically(p.height);
                rest = bottom;
                top
            } else {
                rest.clone()
            };
            draw_panel(&area, p)?;
        }
        root.present().map_err(|x| err(&x))?;
    }
    Ok(svg)
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, p: &Panel) -> Result<(), PlotError> {
    let ((x0, x1), (y0, y1)) = (p.x.range, p.y.range);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.caption, ("sans-serif", p.caption_size))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(p.y_label_area);
    // plotters gives each combination of linear and log axes its own coordinate type.
    macro_rules! draw {
        ($x:expr, $y:expr) => {{
            let mut chart = builder.build_cartesian_2d($x, $y).map_err(|x| err(&x))?;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(p.x.desc.as_str()).y_desc(p.y.desc.as_str()).light_line_style(RGBColor(235, 235, 235));
            let (xf, yf) = (p.x.format, p.y.format);
            if let Some(f) = xf.as_ref() {
                mesh.x_label_formatter(f);
            }
            if let Some(f) = yf.as_ref() {
                mesh.y_label_formatter(f);
            }
            mesh.draw().map_err(|x| err(&x))?;
            for s in &p.series {
                let c = s.colour;
                if s.band.iter().any(|(lo, hi)| lo < hi) {
                    let outline: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .zip(&s.band)
                        .map(|(pt, b)| (pt.0, b.0))
                        .chain(s.points.iter().zip(&s.band).rev().map(|(pt, b)| (pt.0, b.1)))
                        .collect();
                    chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15)))).map_err(|x| err(&x))?;
                }
                let style = c.stroke_width(s.width);
                let drawn = match s.mark {
                    Mark::Line => chart.draw_series(LineSeries::new(s.points.clone(), style)),
                    Mark::Dashed => chart.draw_series(DashedLineSeries::new(s.points.clone(), 6, 4, style)),
                    Mark::Triangles => {
                        chart.draw_series(s.points.iter().map(|&pt| TriangleMarker::new(pt, 7, c.filled())))
                    }
                }
                .map_err(|x| err(&x))?;
                if let Some(label) = &s.label {
                    let anno = drawn.label(label.as_str());
                    if s.mark == Mark::Triangles {
                        anno.legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, c.filled()));
                    } else {
                        anno.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                    }
                }
                if s.dots {
                    if s.mark == Mark::Dashed {
                        chart.draw_series(s.points.iter().map(|&pt| Cross::new(pt, 4, c))).map_err(|x| err(&x))?;
                    } else if s.mark == Mark::Line {
                        chart
                            .draw_series(s.points.iter().map(|&pt| Circle::new(pt, 3, c.filled())))
                            .map_err(|x| err(&x))?;
                    }
                }
            }
            if let Some(at) = p.legend {
                chart
                    .configure_series_labels()
                    .position(at.position())
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|x| err(&x))?;
            }
        }};
    }
    match (p.x.log, p.y.log) {
        (false, false) => draw!(x0..x1, y0..y1),
        (true, false) => draw!((x0..x1).log_scale(), y0..y1),
        (false, true) => draw!(x0..x1, (y0..y1).log_scale()),
        (true, true) => draw!((x0..x1).log_scale(), (y0..y1).log_scale()),
    }
    Ok(())
}

/// The methods of `rows` in order of first appearance.
fn methods_in<T>(rows: &[T], method: impl Fn(&T) -> Method) -> Vec<Method> {
    let mut out: Vec<Method> = Vec::new();
    for r in rows {
        if !out.contains(&method(r)) {
            out.push(method(r));
        }
    }
    out
}

/// Render the mean value of the greedy policy against handoffs for each learning method, with `V*` and
/// the random policy's value as horizontal references. Returns the SVG text.
pub fn learning_curves_svg(summary: &Summary, jobs: &[JobResult]) -> Result<String, PlotError> {
    let mut curves: BTreeMap<Method, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for j in jobs {
        for p in &j.curve {
            curves.entry(j.method).or_default().entry(p.handoffs).or_default().push(p.scores.value);
        }
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let curves: Vec<(Method, Vec<(f64, f64)>)> =
        curves.iter().map(|(m, pts)| (*m, pts.iter().map(|(h, v)| (*h as f64, mean(v))).collect())).collect();
    let v_star = summary.model.optimal_value;
    let v_rand = summary.model.random_value;
    let (mut lo, mut hi) = (v_star.min(v_rand), v_star.max(v_rand));
    let (mut x_min, mut x_max) = (f64::INFINITY, 1.0f64);
    for &(x, y) in curves.iter().flat_map(|c| c.1.iter()) {
        lo = lo.min(y);
        hi = hi.max(y);
        x_max = x_max.max(x);
        x_min = x_min.min(x);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let x_min = if x_min.is_finite() && x_min < x_max { x_min } else { x_max / 10.0 };
    let mut series = vec![
        Series::line("optimal V*", BLACK, vec![(x_min, v_star), (x_max, v_star)]).width(1),
        Series::line("random", RGBColor(128, 128, 128), vec![(x_min, v_rand), (x_max, v_rand)]).width(1),
    ];
    series.extend(curves.into_iter().map(|(m, pts)| Series::line(m.name(), method_colour(m), pts)));
    let panel = Panel::new(
        format!("{}: exact value of the greedy policy (mean of {} seeds)", summary.experiment, summary.seeds),
        Axis::log("handoffs (Q-updates) per seed, log scale", x_min, x_max).format(|x| format!("{x:.1e}")),
        Axis::linear("value from nu_0", lo - pad, hi + pad),
        series,
    )
    .legend(Some(Corner::LowerRight));
    render((800, 500), &[panel])
}

/// Mean delivery time (median over seeds) against offered load for every method, log y axis, with the
/// published curves dashed beside them. Returns the SVG text.
pub fn delivery_vs_load_svg(
    summary: &crate::routing::RoutingSummary,
    published: Option<&baton_envs::routing::config::PublishedCurve>,
) -> Result<String, PlotError> {
    // One series per method, and per preset of the `ic-q` arm (the second preset drawn in colour 5).
    let mut arms: Vec<(Method, Option<baton_envs::routing::config::Preset>)> = Vec::new();
    for r in &summary.rows {
        if !arms.contains(&(r.method, r.preset)) {
            arms.push((r.method, r.preset));
        }
    }
    let mut series: Vec<Series> = arms
        .iter()
        .enumerate()
        .map(|(i, &(m, preset))| {
            let rows: Vec<&crate::routing::RoutingRow> =
                summary.rows.iter().filter(|r| r.method == m && r.preset == preset).collect();
            let pts = rows.iter().filter(|r| r.mean_delivery_time.is_finite()).map(|r| (r.load, r.mean_delivery_time));
            let colour = match preset {
                Some(_) if arms[..i].iter().any(|(a, _)| *a == m) => COLOURS[5],
                _ => method_colour(m),
            };
            let name = rows.first().map_or_else(|| m.name().to_string(), |r| r.label());
            Series::line(name, colour, pts.collect()).dots()
        })
        .collect();
    if let Some(p) = published {
        for (name, curve, m) in
            [("Q-routing", &p.q_routing, Method::IcQ), ("shortest path", &p.shortest_path, Method::ShortestPath)]
        {
            let pts: Vec<(f64, f64)> =
                p.loads.iter().zip(curve.iter()).filter(|(_, v)| v.is_finite()).map(|(l, v)| (*l, *v)).collect();
            if !pts.is_empty() {
                series
                    .push(Series::line(format!("{name} (published)"), method_colour(m), pts).dashed().width(1).dots());
            }
        }
    }
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, 1.0f64);
    for &(x, y) in series.iter().flat_map(|s| s.points.iter()) {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo) = (0.0, 1.0, 1.0);
    }
    let x_pad = ((x_hi - x_lo) * 0.05).max(0.05);
    let panel = Panel::new(
        format!(
            "{}: mean delivery time after t = {} (median of {} seeds)",
            summary.network.topology, summary.warmup, summary.seeds
        ),
        Axis::linear("offered load L (packets per time unit)", x_lo - x_pad, x_hi + x_pad),
        Axis::log("mean delivery time (log scale)", (y_lo * 0.8).max(1e-3), y_hi * 1.25).format(|y| format!("{y:.0}")),
        series,
    );
    render((800, 520), &[panel])
}

/// A time-series line: its label, its colour and its points.
type BinSeries = (String, RGBColor, Vec<(f64, f64)>);

/// Per method (in order of first appearance), the median over seeds of `value` in each time bin, placed at
/// the bin's centre; points whose `value` is `None` are left out. Each `ic-q` preset is its own series (its
/// label names the preset; a second preset is drawn in colour 5). Returns (label, colour, points).
fn median_per_bin(
    points: &[crate::routing::BinPoint],
    bin: f64,
    value: impl Fn(&crate::routing::BinPoint) -> Option<f64>,
) -> Vec<BinSeries> {
    type Key = (Method, Option<baton_envs::routing::config::Preset>);
    let mut by_method: Vec<(Key, BTreeMap<u64, Vec<f64>>)> = Vec::new();
    for p in points {
        let Some(v) = value(p) else { continue };
        let slot = match by_method.iter().position(|(k, _)| *k == (p.method, p.preset)) {
            Some(i) => i,
            None => {
                by_method.push(((p.method, p.preset), BTreeMap::new()));
                by_method.len() - 1
            }
        };
        // Bin starts are non-negative, so their bit patterns sort like the numbers.
        by_method[slot].1.entry(p.t_start.to_bits()).or_default().push(v);
    }
    let keys: Vec<Key> = by_method.iter().map(|(k, _)| *k).collect();
    by_method
        .into_iter()
        .enumerate()
        .map(|(i, ((m, preset), bins))| {
            let pts = bins.iter().map(|(t, vs)| (f64::from_bits(*t) + bin / 2.0, quantile(vs, 0.5))).collect();
            let (label, colour) = match preset {
                Some(p) => {
                    let second = keys[..i].iter().any(|(a, _)| *a == m);
                    (format!("{} ({p})", m.name()), if second { COLOURS[5] } else { method_colour(m) })
                }
                None => (m.name().to_string(), method_colour(m)),
            };
            (label, colour, pts)
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
) -> Result<String, PlotError> {
    let delay = median_per_bin(points, config.bin, |p| p.mean_delivery_time);
    // Packets delivered per time unit in each bin (median over seeds), bins with no delivery included.
    let rate = median_per_bin(points, config.bin, |p| Some(p.delivered as f64 / config.bin));
    let rate_hi = rate.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1e-9) * 1.15;
    let y_hi = delay.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.25;
    let y_lo = delay.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(f64::INFINITY, f64::min).min(y_hi) * 0.8;
    let y_lo = if y_lo.is_finite() && y_lo > 0.0 { y_lo } else { 1.0 };
    let load = config.loads.first().copied().unwrap_or(f64::NAN);
    let changes = config.changes.iter().map(|c| {
        let (at, label) = match c {
            baton_envs::routing::config::ChangeConfig::LinkDown { at, link, .. } => {
                (*at, format!("link {}-{} down", link[0], link[1]))
            }
            baton_envs::routing::config::ChangeConfig::Traffic { at, .. } => (*at, "traffic shift".to_string()),
        };
        Series::line(label, BLACK, vec![(at, y_lo), (at, y_hi)]).dashed().width(1)
    });
    let upper = Panel {
        caption_size: 16,
        height: 480,
        ..Panel::new(
            format!(
                "{} at L = {load}: mean delivery time per {} time units (median of {} seeds)",
                summary.network.topology, config.bin, summary.seeds
            ),
            Axis::linear("simulated time", 0.0, config.duration),
            Axis::log("mean delivery time (log scale)", y_lo, y_hi).format(|y| format!("{y:.0}")),
            changes.chain(delay.into_iter().map(|(label, colour, pts)| Series::line(label, colour, pts))).collect(),
        )
        .legend(Some(Corner::UpperRight))
    };
    let lower = Panel {
        caption_size: 15,
        ..Panel::new(
            "packets delivered per time unit (median of seeds)",
            Axis::linear("simulated time", 0.0, config.duration),
            Axis::linear("delivered / time unit", 0.0, rate_hi),
            rate.into_iter().map(|(label, colour, pts)| Series::line(label, colour, pts).unlabelled()).collect(),
        )
        .legend(None)
    };
    render((900, 760), &[upper, lower])
}

/// A bound sweep (see [`crate::sweep`]): the measured error of every learning method against the axis with
/// its 95% band, and the bound's predicted term beside it. Width: log-log against `m`, with `e_approx(m)` of
/// every feature map dashed. Interface: against `lambda`, with `alpha_IF` and the exact gap
/// `max |Q* - Q_bar o sigma|` dashed. Mixing and duration: against the predicted quantity (`t_mix`,
/// `1/(1-gamma_bar)`), with IC-Q's fitted line dashed.
pub fn sweep_svg(summary: &crate::sweep::SweepSummary) -> Result<String, PlotError> {
    use crate::sweep::Axis as SweepAxis;
    let axis = summary.axis;
    let x_of = |r: &crate::sweep::SweepRow| match axis {
        SweepAxis::Width | SweepAxis::Interface => Some(r.level),
        SweepAxis::Mixing | SweepAxis::Duration => r.predicted,
    };
    let mut series: Vec<Series> = methods_in(&summary.rows, |r| r.method)
        .into_iter()
        .map(|m| {
            let rows: Vec<(f64, &crate::sweep::SweepRow)> = summary
                .rows
                .iter()
                .filter(|r| r.method == m && r.error.is_finite())
                .filter_map(|r| x_of(r).map(|x| (x, r)))
                .collect();
            Series::line(
                format!("{} (measured, 95% band)", m.name()),
                method_colour(m),
                rows.iter().map(|(x, r)| (*x, r.error)).collect(),
            )
            .band(rows.iter().map(|(_, r)| (r.error_ci95[0], r.error_ci95[1])).collect())
        })
        .collect();
    let icq_rows = || summary.rows.iter().filter(|r| r.method == Method::IcQ);
    let predicted =
        |label: String, colour: RGBColor, points: Vec<(f64, f64)>| Series::line(label, colour, points).dashed();
    match axis {
        SweepAxis::Width => {
            let mut names: Vec<&String> = Vec::new();
            for r in icq_rows() {
                for k in r.e_approx.keys() {
                    if !names.contains(&k) {
                        names.push(k);
                    }
                }
            }
            for (k, name) in names.into_iter().enumerate() {
                let pts = icq_rows().filter_map(|r| r.e_approx.get(name).map(|&v| (r.level, v.max(1e-6)))).collect();
                series.push(predicted(format!("e_approx(m), {name} features"), COLOURS[(4 + k) % COLOURS.len()], pts));
            }
        }
        SweepAxis::Interface => {
            let at = |f: fn(&crate::sweep::LevelFacts) -> f64| summary.levels.iter().map(|l| (l.level, f(l))).collect();
            series.push(predicted("alpha_IF (predicted bound)".into(), BLACK, at(|l| l.model.alpha_if)));
            series.push(predicted(
                "exact gap max|Q* - Q_bar o sigma|".into(),
                COLOURS[4],
                at(|l| l.model.exact_gap_inf),
            ));
        }
        SweepAxis::Mixing | SweepAxis::Duration => {
            if let Some(fit) = &summary.fit {
                let xs: Vec<f64> = icq_rows().filter_map(x_of).collect();
                let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                if lo.is_finite() {
                    let pts = [lo, hi].iter().map(|&x| (x, fit.slope * x + fit.intercept)).collect();
                    series.push(predicted(format!("IC-Q fit (R^2 = {:.3})", fit.r2), BLACK, pts));
                }
            }
        }
    }
    let log = axis == SweepAxis::Width;
    let x_desc = match axis {
        SweepAxis::Width => "width m (log scale)",
        SweepAxis::Interface => "aliasing lambda",
        SweepAxis::Mixing => "t_mix of the behaviour chain (handoffs)",
        SweepAxis::Duration => "1 / (1 - gamma_bar)",
    };
    let caption =
        format!("{}: {} against {} ({} seeds)", summary.experiment, summary.error, axis.name(), summary.seeds);
    for s in &mut series {
        s.dots = true;
    }
    xy_svg(&caption, x_desc, &summary.error, log, series)
}

/// Render x-y series (with their bands) on linear or log-log axes, the range fitted to every point and band.
fn xy_svg(caption: &str, x_desc: &str, y_desc: &str, log: bool, series: Vec<Series>) -> Result<String, PlotError> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for s in &series {
        for (i, &(x, y)) in s.points.iter().enumerate() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            let (lo, hi) = s.band.get(i).copied().unwrap_or((y, y));
            for v in [y, lo, hi] {
                if v.is_finite() && (!log || v > 0.0) {
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
    let (x, y) = if log {
        (
            Axis::log(x_desc, x0 * 0.9, x1 * 1.1).format(|x| format!("{x:.0}")),
            Axis::log(y_desc, y0 * 0.8, y1 * 1.25).format(|y| format!("{y:.3}")),
        )
    } else {
        let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.08);
        (
            Axis::linear(x_desc, x0 - px, x1 + px).format(|x| format!("{x:.3}")),
            Axis::linear(y_desc, (y0 - py).min(0.0), y1 + py).format(|y| format!("{y:.3}")),
        )
    };
    let panel = Panel { caption_size: 16, y_label_area: 70, ..Panel::new(caption, x, y, series) };
    render((800, 500), &[panel])
}

/// Held-out accuracy against USD per 1000 questions (log x axis): each learning method as a line through its
/// lambda points (in cost order), each fixed strategy as one marked point. Returns the SVG text.
pub fn front_svg(summary: &crate::math::MathSummary) -> Result<String, PlotError> {
    let series: Vec<Series> = methods_in(&summary.rows, |r| r.method)
        .into_iter()
        .map(|m| {
            let mut pts: Vec<(f64, f64)> = summary
                .rows
                .iter()
                .filter(|r| r.method == m && r.cost_per_1k_usd.is_finite() && r.accuracy.is_finite())
                .map(|r| (r.cost_per_1k_usd.max(1e-3), r.accuracy))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let s = Series::line(m.name(), method_colour(m), pts);
            if m.learns() {
                s.dots()
            } else {
                s.triangles()
            }
        })
        .collect();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, 1.0f64, 0.0f64);
    for &(x, y) in series.iter().flat_map(|s| s.points.iter()) {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo, y_hi) = (0.1, 10.0, 0.0, 1.0);
    }
    let panel = Panel::new(
        format!(
            "{}: held-out accuracy vs cost ({} held-out questions, {} seeds)",
            summary.dataset, summary.heldout_questions, summary.seeds
        ),
        Axis::log("USD per 1000 questions (log scale)", x_lo / 1.5, x_hi * 1.5).format(|x| format!("{x:.2}")),
        Axis::linear("accuracy (decimal-aware grader)", (y_lo - 0.03).max(0.0), (y_hi + 0.03).min(1.0))
            .format(|y| format!("{y:.2}")),
        series,
    )
    .legend(Some(Corner::LowerRight));
    render((800, 520), &[panel])
}

/// Success rate (in [0, 1]) against `x` per method, lines with markers.
fn success_svg(
    caption: &str,
    x_desc: &str,
    series: Vec<(Method, Vec<(f64, f64)>)>,
    log_x: bool,
) -> Result<String, PlotError> {
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in series.iter().flat_map(|s| s.1.iter().map(|p| p.0)) {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
    }
    if !x_lo.is_finite() {
        (x_lo, x_hi) = (1.0, 2.0);
    }
    let x =
        if log_x { Axis::log(x_desc, x_lo / 1.3, x_hi * 1.3) } else { Axis::linear(x_desc, x_lo - 0.5, x_hi + 0.5) };
    let panel = Panel::new(
        caption,
        x.format(|x| format!("{x:.0}")),
        Axis::linear("success rate (hidden exhaustive check)", 0.0, 1.02).format(|y| format!("{y:.2}")),
        series.into_iter().map(|(m, pts)| Series::line(m.name(), method_colour(m), pts).dots()).collect(),
    )
    .legend(Some(Corner::LowerLeft));
    render((800, 520), &[panel])
}

/// Success rate against task difficulty (reference length; tasks of equal length averaged), one line per
/// method, at the run's `tester_k`. Returns the SVG text.
pub fn success_vs_difficulty_svg(summary: &crate::cpu::CpuSummary) -> Result<String, PlotError> {
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
    success_svg(&caption, "reference length (instructions)", series, false)
}

/// Success rate against the tester's sample size k (log axis), one line per method. Returns the SVG text.
pub fn success_vs_k_svg(summary: &crate::cpu::CpuSummary) -> Result<String, PlotError> {
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
    success_svg(&caption, "tester sample size k (log scale)", series, true)
}
