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

/// A least-squares line `y = slope * x + intercept` and its coefficient of determination.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LineFit {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// `R^2 = 1 - SS_res / SS_tot` (NaN when the `y` values are all equal).
    pub r2: f64,
    /// Points used.
    pub points: usize,
}

/// Ordinary least squares of `ys` on `xs` (equal lengths, at least 2 distinct `x`); `None` otherwise.
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> Option<LineFit> {
    let n = xs.len();
    if n != ys.len() || n < 2 {
        return None;
    }
    let (mx, my) = (mean(xs), mean(ys));
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_tot: f64 = ys.iter().map(|y| (y - my) * (y - my)).sum();
    let ss_res: f64 = xs.iter().zip(ys).map(|(x, y)| (y - slope * x - intercept).powi(2)).sum();
    let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { f64::NAN };
    Some(LineFit { slope, intercept, r2, points: n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_fit_recovers_a_line_and_scores_noise() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        let f = linear_fit(&xs, &[3.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12 && (f.r2 - 1.0).abs() < 1e-12);
        // y = 1, 3, 2, 4: slope 0.8, intercept 0.5, R^2 = 0.64.
        let g = linear_fit(&xs, &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!((g.slope - 0.8).abs() < 1e-12 && (g.intercept - 0.5).abs() < 1e-12 && (g.r2 - 0.64).abs() < 1e-12);
        assert!(linear_fit(&[1.0, 1.0], &[1.0, 2.0]).is_none());
    }

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
