//! Step-size schedules `alpha(n)` for the tabular update (model.md section 2, step 4).

use std::sync::Arc;

/// Counts below this use a precomputed table of `1/(n+1)^omega`; `powf` cost about as much as the rest of
/// a handoff update (10% of the IC-Q bench's profile), so counts are never sent to `powf` in the hot loop.
const TABLE_LEN: usize = 1 << 16;
/// Grid of the mantissa table used beyond `TABLE_LEN`.
const MANTISSA_BITS: u32 = 12;
const MANTISSA_LEN: usize = (1 << MANTISSA_BITS) + 1;

/// A validated step-size schedule.
#[derive(Clone, Debug)]
pub enum StepSize {
    /// `alpha = 1/(n+1)^omega`, `omega in (1/2, 1]`.
    Polynomial {
        /// The exponent omega.
        omega: f64,
        /// `table[n] = 1/(n+1)^omega` for `n < TABLE_LEN`, shared by every agent of a run.
        table: Arc<[f64]>,
        /// `mantissa[k] = (1 + k/2^12)^-omega`, and `exponent[e] = 2^(-e omega)`: beyond the table,
        /// `(n+1)^-omega = m^-omega 2^(-e omega)` with `n + 1 = m 2^e`, `m` in [1, 2), `m^-omega` linearly
        /// interpolated (relative error below 1e-7, see the test).
        mantissa: Arc<[f64]>,
        /// See `mantissa`.
        exponent: Arc<[f64]>,
    },
    /// A constant `alpha in (0, 1]`.
    Constant(f64),
}

impl StepSize {
    /// `1/(n+1)^omega`. The caller guarantees `omega in (1/2, 1]` (see the config validation).
    pub fn polynomial(omega: f64) -> Self {
        let table: Arc<[f64]> = (0..TABLE_LEN).map(|n| ((n + 1) as f64).powf(-omega)).collect();
        let scale = f64::from(1u32 << MANTISSA_BITS);
        let mantissa: Arc<[f64]> = (0..MANTISSA_LEN).map(|k| (1.0 + k as f64 / scale).powf(-omega)).collect();
        let exponent: Arc<[f64]> = (0..64).map(|e| 2f64.powf(-omega * f64::from(e))).collect();
        StepSize::Polynomial { omega, table, mantissa, exponent }
    }

    /// The step size after the entry's `n`-th visit (`n >= 1`).
    #[inline(always)]
    pub fn alpha(&self, n: u32) -> f64 {
        match self {
            StepSize::Polynomial { table, mantissa, exponent, .. } => match table.get(n as usize) {
                Some(&a) => a,
                None => {
                    let x = u64::from(n) + 1;
                    let e = 63 - x.leading_zeros();
                    // Position of x / 2^e in [1, 2) on the mantissa grid, as integer part and fraction.
                    let shift = e - MANTISSA_BITS;
                    let k = ((x >> shift) as usize) - (1 << MANTISSA_BITS);
                    let frac = (x & ((1 << shift) - 1)) as f64 / (1u64 << shift) as f64;
                    let m = mantissa[k] + frac * (mantissa[k + 1] - mantissa[k]);
                    m * exponent[e as usize]
                }
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
        for n in [1u32, 2, 100, TABLE_LEN as u32 - 2, TABLE_LEN as u32 - 1] {
            let exact = (f64::from(n) + 1.0).powf(-0.8);
            assert!((s.alpha(n) - exact).abs() < 1e-15, "n = {n}");
        }
        for omega in [0.51, 0.8, 1.0] {
            let s = StepSize::polynomial(omega);
            let mut n = TABLE_LEN as u64 - 1;
            while n < u64::from(u32::MAX) - 7 {
                for m in [n as u32, n as u32 + 1, n as u32 + 7] {
                    let exact = (f64::from(m) + 1.0).powf(-omega);
                    let rel = (s.alpha(m) - exact).abs() / exact;
                    assert!(rel < 1e-7, "omega {omega}, n = {m}: relative error {rel}");
                }
                n = n / 2 * 3 + 1;
            }
        }
    }
}
