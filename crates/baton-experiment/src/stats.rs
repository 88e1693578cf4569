//! Small statistics for summaries: mean, a Student-t 95% confidence interval, quantiles.

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (normal beyond 30... approximated).
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df - 1],
        31..=60 => 2.0,
        61..=120 => 1.98,
        _ => 1.96,
    }
}

/// Mean of `xs` (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Mean and the 95% confidence interval of the mean (`[mean, mean]` for a single value).
pub fn mean_ci95(xs: &[f64]) -> (f64, [f64; 2]) {
    let m = mean(xs);
    let n = xs.len();
    if n < 2 {
        return (m, [m, m]);
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    (m, [m - half, m + half])
}

/// The `q`-quantile (linear interpolation) of `values`; NaN for an empty slice. NaNs sort last.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_of_constant_sample_is_a_point() {
        let (m, ci) = mean_ci95(&[2.0, 2.0, 2.0]);
        assert_eq!(m, 2.0);
        assert_eq!(ci, [2.0, 2.0]);
    }

    #[test]
    fn ci_matches_hand_computation() {
        // mean 2, sd 1, n 3: half width = 4.303 / sqrt(3)
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((ci[1] - (2.0 + 4.303 / 3f64.sqrt())).abs() < 1e-12);
    }
}
