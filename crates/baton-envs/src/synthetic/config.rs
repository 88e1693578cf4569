//! The `[workload]` table of the synthetic workload, checked into a [`Synthetic`].

use super::*;

/// Configuration of the synthetic IC-SMDP. Every field has a default ([`SyntheticConfig::default`]), so an empty
/// TOML table is the default model; unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    /// Number of agents `n`, in `2..=10`. Default 3.
    pub agents: u32,
    /// Number of artifact components `L`, at least `agents` (every agent owns at least one); component `c` is
    /// owned by agent `c % n`. Bounded above only by the model size limit. Default 3.
    pub components: u32,
    /// Number of quality levels `K` of each component (levels `0..K`), in `2..=8`. Default 4.
    pub levels: u32,
    /// Number of private states `P` of each agent, in `1..=4`: 0 = busy .. `P-1` = focused (with `P = 1` the
    /// only state is focused). Default 2.
    pub private_states: u32,
    /// Discount factor `gamma` per primitive step, in `[0, 1)`. Default 0.95.
    pub discount: f64,
    /// Cost `c` per primitive step of any option (work or submit), in `[0, 1e6]`. Default 0.1.
    pub step_cost: f64,
    /// Scale `R_sub` of the SUBMIT payoff `R_sub * (mean level / (K-1))^2`, in `[0, 1e6]`. Default 10.0.
    pub submit_reward: f64,
    /// Duration pmfs of the two work efforts (`durations.low`, `durations.high`).
    pub durations: DurationPmfs,
    /// Success probabilities of the work options (`success.low`, `success.high_focused`, `success.high_busy`).
    pub success: SuccessProbabilities,
    /// Aliasing `lambda`, in `[0, 1e6]`: when positive, a hidden uniform bit `b` that no agent observes shifts
    /// every SUBMIT reward by `(b - 1/2) * lambda` and doubles the state count. 0 = no bit (interface gap zero).
    /// Default 0.
    pub aliasing: f64,
    /// The agent holding control at the start of every episode, in `0..agents`. Default 0.
    pub start_agent: u32,
}

/// Duration pmfs of the work options: entry `k` is the probability that the option lasts `tau = k + 1` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DurationPmfs {
    /// Pmf of the duration `tau` of a low-effort option over `1..=len`: `len` in `1..=64`, entries in `[0, 1]`
    /// summing to 1 within 1e-9. Default `[0.7, 0.3]`.
    pub low: Vec<f64>,
    /// Pmf of the duration `tau` of a high-effort option over `1..=len`: `len` in `1..=64`, entries in `[0, 1]`
    /// summing to 1 within 1e-9. Default `[0.0, 0.5, 0.5]`.
    pub high: Vec<f64>,
}

/// Success probabilities of the work options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuccessProbabilities {
    /// Probability that a low-effort option raises the owned components (gain 1), in `[0, 1]`, whatever the
    /// private state. Default 0.8.
    pub low: f64,
    /// Probability that a high-effort option succeeds (gain 2) when the agent is focused (private state
    /// `P - 1`), in `[0, 1]`. Default 0.9.
    pub high_focused: f64,
    /// Probability that a high-effort option succeeds (gain 2) when the agent is busy (private state 0), in
    /// `[0, 1]`; states in between interpolate linearly. Unused when `P = 1`. Default 0.2.
    pub high_busy: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            agents: 3,
            components: 3,
            levels: 4,
            private_states: 2,
            discount: 0.95,
            step_cost: 0.1,
            submit_reward: 10.0,
            durations: DurationPmfs { low: vec![0.7, 0.3], high: vec![0.0, 0.5, 0.5] },
            success: SuccessProbabilities { low: 0.8, high_focused: 0.9, high_busy: 0.2 },
            aliasing: 0.0,
            start_agent: 0,
        }
    }
}

impl Default for DurationPmfs {
    /// The durations of [`SyntheticConfig::default`].
    fn default() -> Self {
        SyntheticConfig::default().durations
    }
}

impl Default for SuccessProbabilities {
    /// The success probabilities of [`SyntheticConfig::default`].
    fn default() -> Self {
        SyntheticConfig::default().success
    }
}

fn check_count(field: &str, value: u32, lo: u32, hi: u32) -> Result<(), EnvError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be in {lo}..={hi}, got {value}")))
    }
}

/// Largest step cost, submit reward or aliasing accepted: rewards far beyond this scale only overflow the
/// solver's and learners' sums (the defaults are 0.1 and 10).
pub const MAX_REWARD_SCALE: f64 = 1e6;

fn check_nonneg(field: &str, value: f64) -> Result<(), EnvError> {
    if value.is_finite() && (0.0..=MAX_REWARD_SCALE).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be finite, in [0, {MAX_REWARD_SCALE:e}], got {value:?}")))
    }
}

fn check_prob(field: &str, value: f64) -> Result<(), EnvError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(EnvError::invalid(field, format!("must be a probability in [0, 1], got {value}")))
    }
}

/// Validate a duration pmf and return it normalised to sum to exactly 1 (up to rounding).
fn check_pmf(field: &str, pmf: &[f64]) -> Result<Vec<f64>, EnvError> {
    if pmf.is_empty() || pmf.len() > MAX_DURATION {
        return Err(EnvError::invalid(
            field,
            format!("needs 1..={MAX_DURATION} entries (probabilities of tau = 1, 2, ...), got {}", pmf.len()),
        ));
    }
    for (k, &q) in pmf.iter().enumerate() {
        if !(q.is_finite() && (0.0..=1.0).contains(&q)) {
            return Err(EnvError::invalid(
                field,
                format!("entry {k} (tau = {}) must be a probability in [0, 1], got {q}", k + 1),
            ));
        }
    }
    let total: f64 = pmf.iter().sum();
    if (total - 1.0).abs() > PMF_TOL {
        return Err(EnvError::invalid(field, format!("probabilities must sum to 1 (within {PMF_TOL}), got {total}")));
    }
    Ok(pmf.iter().map(|q| q / total).collect())
}

impl SyntheticConfig {
    /// Check every field and the model size; on success, the checked [`Synthetic`].
    ///
    /// Errors: [`EnvError::InvalidConfig`] naming the first offending field (dotted as in TOML), or
    /// [`EnvError::TooLarge`] when the model would exceed [`MAX_PAIRS`] state-action pairs or [`MAX_OUTCOMES`]
    /// outcomes.
    pub fn validate(&self) -> Result<Synthetic, EnvError> {
        let c = self;
        check_count("agents", c.agents, 2, MAX_AGENTS)?;
        if c.components < c.agents {
            return Err(EnvError::invalid(
                "components",
                format!("must be at least agents = {} (every agent owns a component), got {}", c.agents, c.components),
            ));
        }
        check_count("levels", c.levels, 2, MAX_LEVELS)?;
        check_count("private_states", c.private_states, 1, MAX_PRIVATE_STATES)?;
        if !(c.discount.is_finite() && (0.0..1.0).contains(&c.discount)) {
            return Err(EnvError::invalid("discount", format!("gamma must be in [0, 1), got {}", c.discount)));
        }
        check_nonneg("step_cost", c.step_cost)?;
        check_nonneg("submit_reward", c.submit_reward)?;
        let low_pmf = check_pmf("durations.low", &c.durations.low)?;
        let high_pmf = check_pmf("durations.high", &c.durations.high)?;
        check_prob("success.low", c.success.low)?;
        check_prob("success.high_focused", c.success.high_focused)?;
        check_prob("success.high_busy", c.success.high_busy)?;
        check_nonneg("aliasing", c.aliasing)?;
        if c.start_agent >= c.agents {
            return Err(EnvError::invalid(
                "start_agent",
                format!("must be in 0..{} (an agent), got {}", c.agents, c.start_agent),
            ));
        }

        // Size, with saturating arithmetic so that absurd configurations are reported, not overflowed.
        let n = c.agents as u128;
        let nb: u128 = if c.aliasing > 0.0 { 2 } else { 1 };
        let p = u128::from(c.private_states);
        let states =
            u128::from(c.levels).saturating_pow(c.components).saturating_mul(n).saturating_mul(p).saturating_mul(nb);
        let actions = 2 * (n - 1) + 1;
        let pairs = states.saturating_mul(actions);
        if pairs > u128::from(MAX_PAIRS) {
            return Err(EnvError::TooLarge {
                what: "state-action pairs".into(),
                count: pairs,
                limit: MAX_PAIRS,
                reduce: "`components`, `levels`, `agents` or `private_states`, or set `aliasing` = 0 \
                         (a positive aliasing doubles the states)"
                    .into(),
            });
        }
        let nnz = |pmf: &[f64]| pmf.iter().filter(|&&q| q > 0.0).count() as u128;
        // Before merging: per state, (n-1) targets x 2 success branches x P receiver states x durations, + submit.
        let per_state = (n - 1) * 2 * p * (nnz(&low_pmf) + nnz(&high_pmf)) + 1;
        let outcomes = states.saturating_mul(per_state);
        if outcomes > u128::from(MAX_OUTCOMES) {
            return Err(EnvError::TooLarge {
                what: "outcomes".into(),
                count: outcomes,
                limit: MAX_OUTCOMES,
                reduce: "the number of positive entries of `durations.low` and `durations.high`, or \
                         `private_states`, `components`, `levels` or `agents`"
                    .into(),
            });
        }

        let (n, l, k, p, nb) =
            (c.agents as usize, c.components as usize, c.levels as usize, c.private_states as usize, nb as usize);
        let pow_k: Vec<usize> = (0..l).map(|comp| k.pow(comp as u32)).collect();
        let own: Vec<Vec<usize>> = (0..n).map(|i| (0..l).filter(|comp| comp % n == i).collect()).collect();
        let seen: Vec<Vec<usize>> = (0..n).map(|i| (0..l).filter(|comp| comp % n != i).collect()).collect();
        let own_weight = own.iter().map(|cs| cs.iter().map(|&comp| pow_k[comp]).sum()).collect();
        let n_obs = seen.iter().map(|cs| (k.pow(cs.len() as u32) * p) as u32).collect();
        let high_success = (0..p)
            .map(|q| {
                if p == 1 {
                    c.success.high_focused
                } else {
                    let t = q as f64 / (p - 1) as f64;
                    c.success.high_busy + t * (c.success.high_focused - c.success.high_busy)
                }
            })
            .collect();
        let gamma = c.discount;
        let work_of = |pmf: &[f64]| -> Vec<(u32, f64, f64)> {
            let mut discounted = 0.0; // sum_{u<tau} gamma^u, accumulated
            let mut g = 1.0;
            let mut out = Vec::new();
            for (idx, &q) in pmf.iter().enumerate() {
                discounted += g;
                g *= gamma;
                if q > 0.0 {
                    out.push((idx as u32 + 1, q, -c.step_cost * discounted));
                }
            }
            out
        };
        let n_states = states as usize;
        Ok(Synthetic {
            config: c.clone(),
            n,
            l,
            k,
            p,
            nb,
            pow_k,
            own,
            seen,
            own_weight,
            n_obs,
            n_states,
            n_pairs: pairs as usize,
            high_success,
            work: [work_of(&low_pmf), work_of(&high_pmf)],
        })
    }
}
