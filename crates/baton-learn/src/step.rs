//! Step-size schedules `alpha(n)` for the tabular update (SPEC section 2, step 4).

use std::sync::Arc;

/// Counts below this use a precomputed table of `1/(n+1)^omega`; `powf` costs more than the rest of a
/// handoff update (measured with `baton bench`), so the common counts are looked up.
const TABLE_LEN: usize = 1 << 16;

/// A validated step-size schedule.
#[derive(Clone, Debug)]
pub enum StepSize {
    /// `alpha = 1/(n+1)^omega`, `omega in (1/2, 1]`.
    Polynomial {
        /// The exponent omega.
        omega: f64,
        /// `table[n] = 1/(n+1)^omega` for `n < TABLE_LEN`, shared by every agent of a run.
        table: Arc<[f64]>,
    },
    /// A constant `alpha in (0, 1]`.
    Constant(f64),
}

impl StepSize {
    /// `1/(n+1)^omega`. The caller guarantees `omega in (1/2, 1]` (see the config validation).
    pub fn polynomial(omega: f64) -> Self {
        let table: Arc<[f64]> = (0..TABLE_LEN).map(|n| ((n + 1) as f64).powf(-omega)).collect();
        StepSize::Polynomial { omega, table }
    }

    /// The step size after the entry's `n`-th visit (`n >= 1`).
    #[inline]
    pub fn alpha(&self, n: u32) -> f64 {
        match self {
            StepSize::Polynomial { omega, table } => match table.get(n as usize) {
                Some(&a) => a,
                None => (f64::from(n) + 1.0).powf(-omega),
            },
            StepSize::Constant(a) => *a,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_formula_on_both_sides_of_its_end() {
        let s = StepSize::polynomial(0.8);
        for n in [1u32, 2, 100, TABLE_LEN as u32 - 1, TABLE_LEN as u32, 10_000_000] {
            let exact = (f64::from(n) + 1.0).powf(-0.8);
            assert!((s.alpha(n) - exact).abs() < 1e-15, "n = {n}");
        }
    }
}
