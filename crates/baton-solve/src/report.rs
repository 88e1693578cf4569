//! Small helpers for the reports of model.md section 5: reachability, masked and weighted error norms, coverage.
//!
//! model.md section 5 asks to judge learning by xi-weighted norms and policy value as well as the max norm, and
//! to report coverage (min xi) beside the mixing time; these are the building blocks.

use baton_core::{FiniteModel, TERMINAL};

/// The states reachable from `nu_0` under some sequence of actions (outcomes with positive probability).
pub fn reachable_states(model: &FiniteModel) -> Vec<bool> {
    let mut seen = vec![false; model.n_states()];
    let mut stack: Vec<u32> = Vec::new();
    for &(s, p) in model.initial() {
        if p > 0.0 && !seen[s as usize] {
            seen[s as usize] = true;
            stack.push(s);
        }
    }
    while let Some(s) = stack.pop() {
        for p in model.pairs(s) {
            for o in model.outcomes(p) {
                if o.prob > 0.0 && o.next != TERMINAL && !seen[o.next as usize] {
                    seen[o.next as usize] = true;
                    stack.push(o.next);
                }
            }
        }
    }
    seen
}

/// The per-pair mask of pairs whose state is reachable from `nu_0` (see [`reachable_states`]).
pub fn reachable_pairs(model: &FiniteModel) -> Vec<bool> {
    let states = reachable_states(model);
    let mut mask = Vec::with_capacity(model.n_pairs());
    for (s, &r) in states.iter().enumerate() {
        mask.extend(model.pairs(s as u32).map(|_| r));
    }
    mask
}

/// `max_{i : mask[i]} |a[i] - b[i]|` (0 if the mask selects nothing). NaN if the lengths differ or a
/// selected difference is NaN, so that a silent mismatch cannot pass for a small error.
pub fn max_abs_diff_on(a: &[f64], b: &[f64], mask: &[bool]) -> f64 {
    if a.len() != b.len() || a.len() != mask.len() {
        return f64::NAN;
    }
    let mut m: f64 = 0.0;
    for ((x, y), &on) in a.iter().zip(b).zip(mask) {
        if on {
            let d = (x - y).abs();
            if d.is_nan() {
                return f64::NAN;
            }
            m = m.max(d);
        }
    }
    m
}

/// `sqrt( sum_i w_i (a_i - b_i)^2 / sum_i w_i )`, the RMS difference under normalised weights (e.g. xi).
/// Entries with zero weight are skipped (they may be NaN). NaN if the lengths differ, a weight is negative or
/// not finite, or the weights sum to 0.
pub fn weighted_rms(a: &[f64], b: &[f64], weights: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() != weights.len() {
        return f64::NAN;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for ((x, y), &w) in a.iter().zip(b).zip(weights) {
        if !(w.is_finite() && w >= 0.0) {
            return f64::NAN;
        }
        if w > 0.0 {
            num += w * (x - y) * (x - y);
            den += w;
        }
    }
    if den > 0.0 {
        (num / den).sqrt()
    } else {
        f64::NAN
    }
}

/// Coverage: the smallest positive entry of `xi` (the visit rate of the rarest visited pair); 0 if no entry is
/// positive.
pub fn coverage_min(xi: &[f64]) -> f64 {
    xi.iter().copied().filter(|&x| x > 0.0).min_by(f64::total_cmp).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_abs_diff_ignores_unmasked_entries_even_when_nan() {
        let a = [1.0, f64::NAN, 3.0];
        let b = [1.5, 0.0, 1.0];
        assert_eq!(max_abs_diff_on(&a, &b, &[true, false, true]), 2.0);
        assert!(max_abs_diff_on(&a, &b, &[true, true, true]).is_nan());
        assert_eq!(max_abs_diff_on(&a, &b, &[false, false, false]), 0.0);
    }

    #[test]
    fn length_mismatches_give_nan_not_a_small_error() {
        assert!(max_abs_diff_on(&[1.0], &[1.0, 2.0], &[true]).is_nan());
        assert!(weighted_rms(&[1.0], &[1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn weighted_rms_normalises_the_weights() {
        let a = [1.0, 2.0, f64::NAN];
        let b = [0.0, 0.0, 0.0];
        // weights 3:1 -> (3 * 1 + 1 * 4) / 4 = 7/4
        let r = weighted_rms(&a, &b, &[0.3, 0.1, 0.0]);
        assert!((r - (7.0f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!(weighted_rms(&a, &b, &[0.0, 0.0, 0.0]).is_nan());
        assert!(weighted_rms(&a, &b, &[-1.0, 0.0, 0.0]).is_nan());
    }

    #[test]
    fn coverage_is_the_smallest_positive_mass() {
        assert_eq!(coverage_min(&[0.0, 0.5, 0.2, 0.3]), 0.2);
        assert_eq!(coverage_min(&[0.0, 0.0]), 0.0);
    }
}
