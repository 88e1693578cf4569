//! RouteLLM's router metrics (Ong et al., "RouteLLM: Learning to Route LLMs with Preference Data",
//! arXiv 2406.18665, section 5.1 and Table 3), computed as their evaluation script does
//! (`routellm/evals/evaluate.py` in lm-sys/RouteLLM, commit 0b64fdaf: `apgr_metric`, `auc_metric`,
//! `pct_call_metric`). Reimplemented here from their definitions; see docs/metrics.md for the text.
//!
//! A router is a set of operating points `(x, accuracy)`, where `x` is the share of questions sent to the strong
//! model (RouteLLM's x axis; baton also reports a cost-based variant with `x` = USD relative to strong-only).
//! `weak` and `strong` are the cheap-only and strong-only accuracies on the same questions.
//!
//! - **PGR** of a point: `(accuracy - weak) / (strong - weak)`.
//! - **APGR**: the points sorted by `x`; `AUC = trapz(accuracy, x)`; `weak_auc` and `strong_auc` the same
//!   trapezoid sums of the constants `weak` and `strong` over the same `x`; `APGR = (AUC - weak_auc) /
//!   (strong_auc - weak_auc)`. Over `x` in `[0, 1]` this is the area under PGR; a random router (the straight
//!   line from `(0, weak)` to `(1, strong)`) scores 0.5.
//! - **CPT(p)**: `np.interp(weak + p (strong - weak), accuracies, xs)` with the points sorted by `x`: the `x`
//!   at which the piecewise-linear curve, read as `x` against accuracy, reaches PGR `p`. [`interp`] follows
//!   numpy's `interp` exactly, including its clamping outside the range and its binary search when the
//!   accuracies are not increasing (numpy documents the result as meaningless then, but it is what the script
//!   computes).
//!
//! One choice is ours: pandas' `sort_values` leaves the order of equal `x` to its sort; [`sort_points`] breaks
//! such ties by accuracy, ascending (it matters to the trapezoid and to `interp` only when two points share `x`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::stats::mean_ci95;

/// One operating point of a router.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Strong-call share of the questions (or cost relative to strong-only, for the cost-based variant).
    pub x: f64,
    /// Accuracy on the same questions.
    pub accuracy: f64,
}

/// RouteLLM's published GSM8K rows (arXiv 2406.18665, Table 3; 1,307 questions after their
/// decontamination, GPT-4-1106 against Mixtral-8x7B).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// The router, as they name it.
    pub router: Cow<'static, str>,
    /// APGR.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub apgr: f64,
    /// CPT(50%), as a share of questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cpt50: f64,
    /// CPT(80%), as a share of questions.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cpt80: f64,
    /// How their setting differs from baton's, in one sentence.
    pub setting: Cow<'static, str>,
}

/// The three published GSM8K rows the math summaries are compared with.
pub const PUBLISHED_GSM8K: [Published; 3] = [
    Published {
        router: Cow::Borrowed("RouteLLM random"),
        apgr: 0.497,
        cpt50: 0.5000,
        cpt80: 0.8008,
        setting: Cow::Borrowed(
            "sends each question to GPT-4 with a fixed probability; all 1,307 questions, no training",
        ),
    },
    Published {
        router: Cow::Borrowed("RouteLLM causal LLM (Arena + GPT-4-judge data)"),
        apgr: 0.622,
        cpt50: 0.3364,
        cpt80: 0.6326,
        setting: Cow::Borrowed(
            "a Llama-3-8B classifier reads the prompt only, trained on Chatbot Arena preferences plus \
                  GPT-4-judged data (not on GSM8K), thresholds swept over all 1,307 questions",
        ),
    },
    Published {
        router: Cow::Borrowed("RouteLLM matrix factorisation (same data)"),
        apgr: 0.565,
        cpt50: 0.3882,
        cpt80: 0.7262,
        setting: Cow::Borrowed(
            "a bilinear score of the prompt's embedding and each model, prompt only, trained on the same \
                  preference data, thresholds swept over all 1,307 questions",
        ),
    },
];

/// Sorts points by `x`, ties by accuracy (both ascending; stable).
pub fn sort_points(points: &mut [Point]) {
    points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.accuracy.total_cmp(&b.accuracy)));
}

/// `numpy.trapz(y, x)`: the trapezoid sum `sum_i (x[i+1] - x[i]) (y[i] + y[i+1]) / 2` (0 for fewer than two
/// points).
pub fn trapz(y: &[f64], x: &[f64]) -> f64 {
    x.windows(2).zip(y.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0).sum()
}

/// PGR of an accuracy: `(accuracy - weak) / (strong - weak)`.
pub fn pgr(accuracy: f64, weak: f64, strong: f64) -> f64 {
    (accuracy - weak) / (strong - weak)
}

/// APGR of `points` (any order; see the module doc). NaN for fewer than two distinct `x` or `strong == weak`.
pub fn apgr(points: &[Point], weak: f64, strong: f64) -> f64 {
    let mut p = points.to_vec();
    sort_points(&mut p);
    let x: Vec<f64> = p.iter().map(|p| p.x).collect();
    let y: Vec<f64> = p.iter().map(|p| p.accuracy).collect();
    let auc = trapz(&y, &x);
    let weak_auc = trapz(&vec![weak; x.len()], &x);
    let strong_auc = trapz(&vec![strong; x.len()], &x);
    (auc - weak_auc) / (strong_auc - weak_auc)
}

/// CPT(`fraction`) of `points` (any order): the `x` at which PGR reaches `fraction`, by [`interp`] of the
/// target accuracy over the points sorted by `x`. NaN for no points.
pub fn cpt(points: &[Point], weak: f64, strong: f64, fraction: f64) -> f64 {
    let mut p = points.to_vec();
    sort_points(&mut p);
    let acc: Vec<f64> = p.iter().map(|p| p.accuracy).collect();
    let x: Vec<f64> = p.iter().map(|p| p.x).collect();
    interp(fraction * (strong - weak) + weak, &acc, &x)
}

/// Index `i` with `arr[i] <= key < arr[i + 1]` as numpy's `binary_search_with_guess` finds it (-1 below
/// `arr[0]`, `len` above `arr[len - 1]`), for arrays that need not be sorted: the same probes in the same
/// order, so an unsorted array gives numpy's answer.
fn numpy_search(key: f64, arr: &[f64], guess: isize) -> isize {
    const CACHE: isize = 8;
    let len = arr.len() as isize;
    let at = |i: isize| arr[i as usize];
    if key > at(len - 1) {
        return len;
    }
    if key < at(0) {
        return -1;
    }
    if len <= 4 {
        let mut i = 1;
        while i < len && key >= at(i) {
            i += 1;
        }
        return i - 1;
    }
    let guess = guess.min(len - 3).max(1);
    let (mut lo, mut hi) = (0, len);
    if key < at(guess) {
        if key >= at(guess - 1) {
            return guess - 1;
        }
        hi = guess - 1;
        if guess > CACHE && key >= at(guess - CACHE) {
            lo = guess - CACHE;
        }
    } else if key < at(guess + 1) {
        return guess;
    } else if key < at(guess + 2) {
        return guess + 1;
    } else {
        lo = guess + 2;
        if guess < len - CACHE - 1 && key < at(guess + CACHE) {
            hi = guess + CACHE;
        }
    }
    while lo < hi {
        let mid = lo + ((hi - lo) >> 1);
        if key >= at(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo - 1
}

/// `numpy.interp(x, xp, fp)` for one `x` with the default `left`/`right` (`fp[0]`, `fp[-1]`), step for step
/// as numpy computes it. NaN when `xp` is empty or the lengths differ.
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 0 || fp.len() != n || x.is_nan() {
        return f64::NAN;
    }
    if n == 1 {
        return fp[0];
    }
    let j = numpy_search(x, xp, 0);
    if j < 0 {
        return fp[0];
    }
    let j = j as usize;
    if j >= n - 1 {
        return fp[n - 1];
    }
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut y = slope * (x - xp[j]) + fp[j];
    if y.is_nan() {
        y = slope * (x - xp[j + 1]) + fp[j + 1];
        if y.is_nan() && fp[j] == fp[j + 1] {
            y = fp[j];
        }
    }
    y
}

/// APGR, CPT(50%) and CPT(80%) of one router: means over seeds with 95% intervals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterMetrics {
    /// APGR, mean over seeds.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub apgr: f64,
    /// Its 95% confidence interval over seeds (Student t).
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub apgr_ci95: [f64; 2],
    /// CPT(50%): strong-call share (or relative cost) at which PGR reaches 50%, mean over seeds.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cpt50: f64,
    /// Its 95% interval.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub cpt50_ci95: [f64; 2],
    /// CPT(80%), mean over seeds.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cpt80: f64,
    /// Its 95% interval.
    #[serde(deserialize_with = "crate::table::nan::pair")]
    pub cpt80_ci95: [f64; 2],
}

impl RouterMetrics {
    /// The metrics of one front per seed, each with its own `(weak, strong)` accuracies.
    pub fn over_seeds(fronts: &[(Vec<Point>, f64, f64)]) -> Self {
        let per = |f: &dyn Fn(&[Point], f64, f64) -> f64| -> (f64, [f64; 2]) {
            let v: Vec<f64> = fronts.iter().map(|(p, w, s)| f(p, *w, *s)).collect();
            mean_ci95(&v)
        };
        let (apgr, apgr_ci95) = per(&apgr);
        let (cpt50, cpt50_ci95) = per(&|p, w, s| cpt(p, w, s, 0.5));
        let (cpt80, cpt80_ci95) = per(&|p, w, s| cpt(p, w, s, 0.8));
        RouterMetrics { apgr, apgr_ci95, cpt50, cpt50_ci95, cpt80, cpt80_ci95 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<Point> {
        v.iter().map(|&(x, accuracy)| Point { x, accuracy }).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn a_random_routers_line_has_apgr_one_half_and_cpt_x_at_x() {
        let (w, s) = (0.627, 0.885);
        // The two endpoints alone, and the same line sampled at 11 points, given out of order.
        let ends = pts(&[(1.0, s), (0.0, w)]);
        let line: Vec<Point> = [7, 0, 3, 10, 1, 5, 9, 2, 8, 4, 6]
            .iter()
            .map(|&k| k as f64 / 10.0)
            .map(|x| Point { x, accuracy: w + x * (s - w) })
            .collect();
        for front in [&ends, &line] {
            assert!(close(apgr(front, w, s), 0.5), "{}", apgr(front, w, s));
            for p in [0.2, 0.5, 0.8] {
                assert!(close(cpt(front, w, s, p), p), "CPT({p}) = {}", cpt(front, w, s, p));
            }
        }
        // Cheap-only and strong-only themselves lie on it.
        assert!(close(pgr(w, w, s), 0.0) && close(pgr(s, w, s), 1.0));
    }

    #[test]
    fn a_hand_made_front() {
        // PGR 0, 2/3, 1 at x = 0, 0.2, 1: area 0.2 * (0 + 2/3) / 2 + 0.8 * (2/3 + 1) / 2 = 11/15.
        let f = pts(&[(0.2, 0.8), (1.0, 0.9), (0.0, 0.6)]);
        assert!(close(apgr(&f, 0.6, 0.9), 11.0 / 15.0));
        // PGR 50% is accuracy 0.75: three quarters of the way from 0.6 to 0.8, so x = 0.15.
        assert!(close(cpt(&f, 0.6, 0.9, 0.5), 0.15));
        // PGR 80% is accuracy 0.84: 40% of the way from 0.8 (x 0.2) to 0.9 (x 1.0), so x = 0.52.
        assert!(close(cpt(&f, 0.6, 0.9, 0.8), 0.52));
        // A point above strong-only (PGR 7/6 at x = 0.5): area 0.5 * (7/6) / 2 + 0.5 * (7/6 + 1) / 2 = 5/6;
        // accuracy 0.84 is reached at 0.24 / 0.35 of the way to x = 0.5.
        let g = pts(&[(0.0, 0.6), (0.5, 0.95), (1.0, 0.9)]);
        assert!(close(apgr(&g, 0.6, 0.9), 5.0 / 6.0));
        assert!(close(cpt(&g, 0.6, 0.9, 0.8), 0.24 / 0.35 * 0.5));
        // apgr normalises by the x range the points cover: a front on [0, 0.5] only is its mean PGR there.
        let h = pts(&[(0.0, 0.6), (0.5, 0.9)]);
        assert!(close(apgr(&h, 0.6, 0.9), 0.5));
    }

    #[test]
    fn interp_follows_numpy() {
        let xp = [0.6, 0.8, 0.9];
        let fp = [0.0, 0.2, 1.0];
        // Clamped outside the range, exact at sample points, linear between them.
        assert_eq!(interp(0.5, &xp, &fp), 0.0);
        assert_eq!(interp(0.95, &xp, &fp), 1.0);
        assert_eq!(interp(0.8, &xp, &fp), 0.2);
        assert_eq!(interp(0.9, &xp, &fp), 1.0);
        assert!(close(interp(0.7, &xp, &fp), 0.1));
        // Not increasing: numpy answers from its search, e.g. fp[-1] for any key above xp[-1] ...
        assert_eq!(interp(0.8, &[0.6, 0.9, 0.7], &[0.0, 0.5, 1.0]), 1.0);
        // ... and the segment its linear search stops in otherwise.
        assert!(close(interp(0.65, &[0.6, 0.9, 0.7], &[0.0, 0.5, 1.0]), 0.05 / 0.3 * 0.5));
        // Repeated xp: the search stops at the last of the equal samples.
        assert_eq!(interp(0.7, &[0.6, 0.7, 0.7, 0.9], &[0.0, 0.3, 0.4, 1.0]), 0.4);
        // Longer arrays go through the guessed bisection; on sorted data it agrees with a plain scan.
        let xs: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.025).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x * x).collect();
        for k in 0..200 {
            let x = f64::from(k) / 200.0;
            let i = xs.iter().rposition(|&v| v <= x).unwrap();
            let want =
                if i + 1 == xs.len() { ys[i] } else { ys[i] + (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) * (x - xs[i]) };
            assert!(close(interp(x, &xs, &ys), want), "x {x}");
        }
        assert!(interp(0.5, &[], &[]).is_nan());
        assert_eq!(interp(3.0, &[1.0], &[7.0]), 7.0);
    }

    #[test]
    fn metrics_over_seeds_give_a_point_interval_for_identical_seeds() {
        let f = pts(&[(0.0, 0.6), (0.2, 0.8), (1.0, 0.9)]);
        let m = RouterMetrics::over_seeds(&[(f.clone(), 0.6, 0.9), (f, 0.6, 0.9)]);
        assert!(close(m.apgr, 11.0 / 15.0) && close(m.apgr_ci95[0], m.apgr_ci95[1]));
        assert!(close(m.cpt50, 0.15) && close(m.cpt80, 0.52));
    }
}
