//! [`NeuralQ`]: SPEC section 3's two-layer ReLU network as an agent's Q-function.
//!
//! ```text
//! f(x; W) = (1/sqrt(m)) sum_{r=1..m} b_r ReLU(w_r . x),   b_r ~ uniform{+1,-1} fixed,   w_r(0) ~ N(0, I/d)
//! delta   = f(x_k; W) - (R + gamma^tau v)
//! W      <- Proj_{||W - W(0)||_F <= B} ( W - eta * delta * grad_W f(x_k; W) ),
//!           grad_{w_r} f = (1/sqrt(m)) b_r 1{w_r . x > 0} x
//! ```
//!
//! `x = x(o, a)` is a feature map with `||x|| = 1`: one-hot over the agent's own (observation, action) pairs
//! (the network can interpolate any target once `m` is a few times the number of pairs), or fixed random unit
//! vectors in `R^d` with `d` much smaller than the number of pairs (a genuine approximation error). The step
//! `eta` is constant. [`NeuralQ::averaged`] returns the Polyak (tail) average of `W`, SPEC's reported output.
//!
//! It implements [`QFunction`], so [`crate::IcqAgent`] and every training loop use it exactly like the table:
//! the IC-Q update of [`crate::icq`] is unchanged, only "move Q(o, a) towards the target" is a gradient step.

use baton_core::{ActionId, AgentSpec, Legal, ObsId, Rng};
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use crate::icq::QFunction;

/// The feature map `x(o, a)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Features {
    /// `x = e_{(o, a)}`: `d` = number of (observation, action) pairs.
    OneHot,
    /// Fixed random unit vectors in `R^dim`, one per pair, drawn from the network's own stream.
    Random {
        /// The dimension `d`.
        dim: usize,
    },
}

/// The network's settings (validated by the caller).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuralParams {
    /// Width `m` (even when `symmetric`).
    pub width: usize,
    /// Projection radius `B` of `||W - W(0)||_F`.
    pub radius: f64,
    /// Constant step `eta`.
    pub eta: f64,
    /// The feature map.
    pub features: Features,
    /// Neurons in pairs with equal `w` and opposite `b`, so that `f(.; W(0)) = 0`.
    pub symmetric: bool,
    /// Updates before the Polyak average starts (the tail average covers the rest).
    pub tail_start: u64,
}

/// A two-layer ReLU network over one agent's (observation, action) pairs. See the module documentation.
#[derive(Clone, Debug)]
pub struct NeuralQ {
    legal: Legal,
    n_actions: usize,
    m: usize,
    d: usize,
    /// `w[k * m + r]` is coordinate `k` of neuron `r` (the neurons of one input coordinate are contiguous,
    /// so a one-hot input reads one contiguous block).
    w: Vec<f64>,
    w0: Vec<f64>,
    /// Output signs `b_r / sqrt(m)`.
    b: Vec<f64>,
    /// Random features: `x[p * d + k]`; `None` for one-hot.
    x: Option<Vec<f64>>,
    eta: f64,
    radius: f64,
    /// `||W - W(0)||_F^2`, kept up to date entry by entry.
    dist2: f64,
    /// Updates so far.
    steps: u64,
    tail_start: u64,
    /// Lazy Polyak sums: `sum[e]` is `sum_t W_t[e]` over the tail iterates `tail_start + 1 ..= last[e]`
    /// (`W_t` is `W` after update `t`).
    sum: Vec<f64>,
    last: Vec<u64>,
    /// Per-neuron scratch for the update (length `m`).
    scratch: Vec<f64>,
}

/// Neurons processed together in a forward pass that may not allocate.
const BLOCK: usize = 64;

impl NeuralQ {
    /// A network over the interface `spec`, its random initialisation (and random features) drawn from `rng`.
    pub fn new(spec: &AgentSpec, params: NeuralParams, rng: &mut Rng) -> Self {
        let n_actions = spec.n_actions as usize;
        let pairs = spec.n_obs as usize * n_actions;
        let m = params.width.max(1);
        let (d, x) = match params.features {
            Features::OneHot => (pairs, None),
            Features::Random { dim } => {
                let dim = dim.max(1);
                let mut x = Vec::with_capacity(pairs * dim);
                for _ in 0..pairs {
                    let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
                    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-300);
                    x.extend(v.iter().map(|a| a / norm));
                }
                (dim, Some(x))
            }
        };
        let sd = 1.0 / (d as f64).sqrt();
        let scale = 1.0 / (m as f64).sqrt();
        let mut w = vec![0.0; m * d];
        let mut b = vec![0.0; m];
        for r in 0..m {
            let twin = params.symmetric && r % 2 == 1;
            b[r] = if twin {
                -b[r - 1]
            } else if rng.random::<bool>() {
                scale
            } else {
                -scale
            };
            for k in 0..d {
                w[k * m + r] = if twin {
                    w[k * m + r - 1]
                } else {
                    let z: f64 = StandardNormal.sample(rng);
                    z * sd
                };
            }
        }
        NeuralQ {
            legal: spec.legal.clone(),
            n_actions,
            m,
            d,
            w0: w.clone(),
            sum: vec![0.0; w.len()],
            last: vec![params.tail_start; w.len()],
            w,
            b,
            x,
            eta: params.eta,
            radius: params.radius,
            dist2: 0.0,
            steps: 0,
            tail_start: params.tail_start,
            scratch: vec![0.0; m],
        }
    }

    #[inline(always)]
    fn pair(&self, obs: ObsId, action: ActionId) -> usize {
        obs.index() * self.n_actions + action.index()
    }

    /// `f(x(p); W)`. Dense features run over `W` coordinate by coordinate, 64 neurons at a time on the stack,
    /// so the inner loop reads contiguous memory and allocates nothing.
    fn output(&self, p: usize) -> f64 {
        let m = self.m;
        match &self.x {
            None => {
                let row = &self.w[p * m..(p + 1) * m];
                row.iter().zip(&self.b).map(|(w, b)| b * w.max(0.0)).sum()
            }
            Some(x) => {
                let xp = &x[p * self.d..(p + 1) * self.d];
                let mut total = 0.0;
                for r0 in (0..m).step_by(BLOCK) {
                    let len = BLOCK.min(m - r0);
                    let mut acc = [0.0f64; BLOCK];
                    for (k, &xk) in xp.iter().enumerate() {
                        let w = &self.w[k * m + r0..k * m + r0 + len];
                        for (a, w) in acc[..len].iter_mut().zip(w) {
                            *a += xk * w;
                        }
                    }
                    total += acc[..len].iter().zip(&self.b[r0..r0 + len]).map(|(a, b)| b * a.max(0.0)).sum::<f64>();
                }
                total
            }
        }
    }

    /// Every neuron's pre-activation `w_r . x(p)` into `out` (length `m`); returns `f(x(p); W)`.
    fn forward(&self, p: usize, out: &mut [f64]) -> f64 {
        let m = self.m;
        match &self.x {
            None => out.copy_from_slice(&self.w[p * m..(p + 1) * m]),
            Some(x) => {
                out.fill(0.0);
                for (k, &xk) in x[p * self.d..(p + 1) * self.d].iter().enumerate() {
                    for (a, w) in out.iter_mut().zip(&self.w[k * m..(k + 1) * m]) {
                        *a += xk * w;
                    }
                }
            }
        }
        out.iter().zip(&self.b).map(|(a, b)| b * a.max(0.0)).sum()
    }

    /// Set entry `e` of `W` to `value`, keeping `||W - W(0)||^2` and the lazy Polyak sums current.
    #[inline(always)]
    fn set(&mut self, e: usize, value: f64) {
        let old = self.w[e];
        if self.steps > self.tail_start {
            // `old` was W[e] for iterates last[e] + 1 ..= steps - 1; the new value counts from iterate `steps`.
            self.sum[e] += old * (self.steps - 1 - self.last[e]) as f64;
            self.last[e] = self.steps - 1;
        }
        let (a, c) = (old - self.w0[e], value - self.w0[e]);
        self.dist2 += c * c - a * a;
        self.w[e] = value;
    }

    /// Scale `W - W(0)` back onto the ball of radius `B` when the step left it.
    fn project(&mut self) {
        // Recompute exactly now and then: the incremental sum drifts by rounding.
        if self.dist2 <= self.radius * self.radius {
            return;
        }
        let exact: f64 = self.w.iter().zip(&self.w0).map(|(w, w0)| (w - w0) * (w - w0)).sum();
        self.dist2 = exact;
        if exact <= self.radius * self.radius {
            return;
        }
        let factor = self.radius / exact.sqrt();
        for e in 0..self.w.len() {
            let value = self.w0[e] + (self.w[e] - self.w0[e]) * factor;
            self.set(e, value);
        }
        self.dist2 = self.radius * self.radius;
    }

    /// `grad_W f(x(o, a); W)`, laid out like `W` (`k * m + r`): `(1/sqrt(m)) b_r 1{w_r . x > 0} x_k`. For
    /// checks and analysis; the update computes only the entries it needs.
    pub fn gradient(&self, obs: ObsId, action: ActionId) -> Vec<f64> {
        let p = self.pair(obs, action);
        let mut pre = vec![0.0; self.m];
        self.forward(p, &mut pre);
        let mut g = vec![0.0; self.w.len()];
        for (r, &pre_r) in pre.iter().enumerate() {
            if pre_r <= 0.0 {
                continue;
            }
            for k in 0..self.d {
                let xk = match &self.x {
                    None => f64::from(u8::from(k == p)),
                    Some(x) => x[p * self.d + k],
                };
                g[k * self.m + r] = self.b[r] * xk;
            }
        }
        g
    }

    /// `||W - W(0)||_F`.
    pub fn distance_from_init(&self) -> f64 {
        self.w.iter().zip(&self.w0).map(|(w, w0)| (w - w0) * (w - w0)).sum::<f64>().sqrt()
    }

    /// Updates so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The network with `W` replaced by its Polyak average over the updates after `tail_start` (the current
    /// `W` if there were none).
    pub fn averaged(&self) -> NeuralQ {
        let mut out = self.clone();
        if self.steps > self.tail_start {
            let n = (self.steps - self.tail_start) as f64;
            for e in 0..self.w.len() {
                let total = self.sum[e] + self.w[e] * (self.steps - self.last[e]) as f64;
                out.w[e] = total / n;
            }
        }
        out
    }
}

impl QFunction for NeuralQ {
    #[inline]
    fn legal(&self, obs: ObsId) -> &[ActionId] {
        self.legal.of(obs)
    }

    fn max_value(&self, obs: ObsId) -> f64 {
        self.legal.of(obs).iter().map(|&a| self.value(obs, a)).fold(f64::NEG_INFINITY, f64::max)
    }

    fn greedy(&self, obs: ObsId) -> ActionId {
        let legal = self.legal.of(obs);
        let mut best = legal[0];
        let mut best_q = self.value(obs, best);
        for &a in &legal[1..] {
            let q = self.value(obs, a);
            if q.total_cmp(&best_q).is_gt() {
                best = a;
                best_q = q;
            }
        }
        best
    }

    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.output(self.pair(obs, action))
    }

    /// One projected gradient step on `(f - target)^2 / 2`; returns `target - f` before the step.
    fn update_towards(&mut self, obs: ObsId, action: ActionId, target: f64) -> f64 {
        let p = self.pair(obs, action);
        // The scratch buffer is owned by the network (allocated once); take it to satisfy the borrow checker.
        let mut pre = std::mem::take(&mut self.scratch);
        let td_error = target - self.forward(p, &mut pre);
        self.steps += 1;
        // W <- W - eta * delta * grad f, delta = f - target = -td_error; grad_{w_r} = b_r 1{pre_r > 0} x.
        let step = self.eta * td_error;
        let m = self.m;
        // Reuse the buffer: the step of neuron r, zero for inactive neurons.
        for (g, b) in pre.iter_mut().zip(&self.b) {
            *g = if *g > 0.0 { step * b } else { 0.0 };
        }
        let x = self.x.take();
        match &x {
            None => {
                for (r, &g) in pre.iter().enumerate() {
                    if g != 0.0 {
                        let e = p * m + r;
                        self.set(e, self.w[e] + g);
                    }
                }
            }
            Some(x) => {
                for (k, &xk) in x[p * self.d..(p + 1) * self.d].iter().enumerate() {
                    for (r, &g) in pre.iter().enumerate() {
                        if g != 0.0 {
                            let e = k * m + r;
                            self.set(e, self.w[e] + g * xk);
                        }
                    }
                }
            }
        }
        self.x = x;
        self.scratch = pre;
        self.project();
        td_error
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use baton_core::rng::{stream, Stream};

    fn spec(n_obs: u32, n_actions: u16) -> AgentSpec {
        AgentSpec {
            name: "t".into(),
            n_obs,
            n_actions,
            legal: Legal::all(n_actions),
            action_names: (0..n_actions).map(|a| format!("a{a}")).collect(),
        }
    }

    fn params(width: usize, features: Features) -> NeuralParams {
        NeuralParams { width, radius: 1e9, eta: 0.2, features, symmetric: true, tail_start: 0 }
    }

    #[test]
    fn a_symmetric_network_starts_at_zero_everywhere() {
        for features in [Features::OneHot, Features::Random { dim: 5 }] {
            let q = NeuralQ::new(&spec(4, 3), params(16, features), &mut stream(1, Stream::Other(0)));
            for o in 0..4 {
                for a in 0..3 {
                    assert_eq!(q.value(ObsId(o), ActionId(a)), 0.0);
                }
            }
        }
    }

    #[test]
    fn a_wide_one_hot_network_interpolates_fixed_targets() {
        let mut q = NeuralQ::new(&spec(6, 3), params(128, Features::OneHot), &mut stream(2, Stream::Other(0)));
        let target = |o: u32, a: u16| f64::from(o) - 0.7 * f64::from(a) + 0.3;
        for _ in 0..400 {
            for o in 0..6 {
                for a in 0..3 {
                    q.update_towards(ObsId(o), ActionId(a), target(o, a));
                }
            }
        }
        for o in 0..6 {
            for a in 0..3 {
                let err = (q.value(ObsId(o), ActionId(a)) - target(o, a)).abs();
                assert!(err < 1e-3, "pair ({o}, {a}): error {err}");
            }
        }
    }

    #[test]
    fn low_dimensional_random_features_cannot_fit_every_target() {
        // 30 pairs through d = 2: the network is a function of a 2-d input, so arbitrary targets stay off.
        let mut q =
            NeuralQ::new(&spec(10, 3), params(64, Features::Random { dim: 2 }), &mut stream(3, Stream::Other(0)));
        let target = |o: u32, a: u16| if (o + u32::from(a)).is_multiple_of(2) { 1.0 } else { -1.0 };
        for _ in 0..300 {
            for o in 0..10 {
                for a in 0..3 {
                    q.update_towards(ObsId(o), ActionId(a), target(o, a));
                }
            }
        }
        let worst = (0..10)
            .flat_map(|o| (0..3).map(move |a| (o, a)))
            .map(|(o, a)| (q.value(ObsId(o), ActionId(a)) - target(o, a)).abs())
            .fold(0.0, f64::max);
        assert!(worst > 0.1, "a 2-d feature map fitted 30 alternating targets (worst error {worst})");
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        for features in [Features::OneHot, Features::Random { dim: 4 }] {
            let p = NeuralParams { symmetric: false, ..params(6, features) };
            let mut q = NeuralQ::new(&spec(3, 2), p, &mut stream(6, Stream::Other(0)));
            // Move away from the initialisation so the check is not at a special point.
            for k in 0..20u32 {
                q.update_towards(ObsId(k % 3), ActionId((k % 2) as u16), 1.0);
            }
            let (o, a) = (ObsId(1), ActionId(1));
            let g = q.gradient(o, a);
            let h = 1e-6;
            for (e, &analytic) in g.iter().enumerate() {
                let mut plus = q.clone();
                plus.w[e] += h;
                let mut minus = q.clone();
                minus.w[e] -= h;
                let numeric = (plus.value(o, a) - minus.value(o, a)) / (2.0 * h);
                assert!((numeric - analytic).abs() < 1e-6, "entry {e}: numeric {numeric} vs analytic {analytic}");
            }
        }
    }

    #[test]
    fn the_weights_stay_within_radius_b_of_their_initialisation() {
        for features in [Features::OneHot, Features::Random { dim: 4 }] {
            let p = NeuralParams { radius: 0.05, ..params(8, features) };
            let mut q = NeuralQ::new(&spec(3, 2), p, &mut stream(4, Stream::Other(0)));
            for k in 0..500u32 {
                q.update_towards(ObsId(k % 3), ActionId((k % 2) as u16), 10.0);
                assert!(q.distance_from_init() <= 0.05 + 1e-12, "{}", q.distance_from_init());
            }
        }
    }

    #[test]
    fn the_lazy_polyak_average_equals_the_average_of_every_iterate() {
        for features in [Features::OneHot, Features::Random { dim: 3 }] {
            let p = NeuralParams { tail_start: 7, radius: 0.3, ..params(6, features) };
            let mut q = NeuralQ::new(&spec(3, 2), p, &mut stream(5, Stream::Other(0)));
            let mut sum = vec![0.0; q.w.len()];
            for k in 0..60u32 {
                q.update_towards(ObsId(k % 3), ActionId((k / 3 % 2) as u16), f64::from(k % 5) - 2.0);
                if q.steps() > 7 {
                    for (s, w) in sum.iter_mut().zip(&q.w) {
                        *s += w;
                    }
                }
            }
            let avg = q.averaged();
            for (e, s) in sum.iter().enumerate() {
                assert!((avg.w[e] - s / 53.0).abs() < 1e-12, "entry {e}: {} vs {}", avg.w[e], s / 53.0);
            }
        }
    }
}
