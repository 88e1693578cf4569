//! [`NeuralQ`]: model.md section 3's two-layer ReLU network as an agent's Q-function.
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
//! `eta` is constant. [`NeuralQ::averaged`] returns the Polyak (tail) average of `W`, model.md's reported output.
//!
//! It implements [`QFunction`], so [`crate::IcqAgent`] and every training loop use it exactly like the table:
//! the IC-Q update of [`crate::icq`] is unchanged, only "move Q(o, a) towards the target" is a gradient step.
//!
//! # Numerics and speed
//!
//! `W`, `W(0)` and the random features are stored in `f32`; outputs, targets, TD errors and every sum over
//! neurons are `f64`. `W` is stored in tiles of 64 neurons, each tile coordinate-major, so that a forward pass
//! streams memory and keeps 64 pre-activations in registers. A step costs a forward pass (`2md` flops) and the
//! rank-1 step `W += g x^T` (`2md` flops) and nothing else of order `md` while the weights are inside the ball:
//!
//! * the projection distance is tracked by an upper bound (triangle inequality plus a rounding margin) and
//!   computed exactly only when the bound exceeds `B`;
//! * the Polyak tail average uses `sum_{t=t0+1}^{T} W_t = n W_{t0} + (n+1)(W_T - W_{t0}) - U` with
//!   `n = T - t0` and `U = sum_s (s - t0) Delta_s` kept in `f64`. A gradient step's `Delta` is `g x(p)^T`, so
//!   for random features `U` is kept factored, `sum_s (s - t0) g_s` per pair (`O(m)` per step, `8 m` bytes per
//!   pair; a dense `U` updated with every step's exact change measured 2-2.6x slower), and the factored part
//!   counts each change before its rounding into `W` (see the Polyak tests for the resulting tolerance). For
//!   one-hot features `U` is the row `p`, updated with the exact change. Projections add their exact (dense)
//!   change to a dense `U`.
//!
//! Every kernel is one portable Rust loop nest, compiled twice (baseline x86-64 and AVX2, picked at run time):
//! Rust never fuses a multiply and an add, element-wise loops round the same whatever the vector width, and
//! every sum over neurons or entries runs in eight fixed lanes combined in a fixed order, so results are
//! bit-identical on every machine and path (tested). Nothing in `value`, `max_value` or `update_towards`
//! allocates (tested). The loops are hand-written because a general matrix-multiply crate was much slower on
//! these shapes: in the criterion group `neural m1024-d64` of `benches/hot_loops.rs`, `matrixmultiply`'s
//! `sgemm` with `n = 1` (forward pass) and `k = 1` (rank-1 step) pack their operands on every call; in one run
//! they took 168 us and 231 us against 15 us for the forward pass here and 33 us for the rest of an update
//! (11x and 7x). It also uses fused multiply-adds on some CPUs and not others, which would break the
//! bit-identity across machines.

use baton_core::{ActionId, AgentSpec, Legal, ObsId, Rng};
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use crate::icq::QFunction;

mod checkpoint;
pub use checkpoint::{CheckpointMeta, FORMAT as CHECKPOINT_FORMAT};

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
    n_obs: usize,
    n_actions: usize,
    m: usize,
    d: usize,
    /// In tiles of `BLOCK` neurons: tile `r0 = 0, BLOCK, ..` (width `tw = min(BLOCK, m - r0)`) is
    /// `w[r0 * d .. (r0 + tw) * d]`, coordinate `k` of neuron `r0 + j` at `r0 * d + k * tw + j` (see [`index`]).
    /// Loops over the neurons of a tile vectorize, and a forward pass streams each tile contiguously (a plain
    /// coordinate-major layout strides by `4m` bytes, which at m = 1024 is the 4 KiB that aliases in L1).
    w: Vec<f32>,
    w0: Vec<f32>,
    /// Output signs `b_r / sqrt(m)`.
    b: Vec<f64>,
    /// `b_r` as `+-1`.
    sign: Vec<f32>,
    /// Random features: `x[p * d + k]`; `None` for one-hot.
    x: Option<Vec<f32>>,
    eta: f64,
    radius: f64,
    /// An upper bound on `||W - W(0)||_F` (exact after every check against the radius).
    bound: f64,
    /// `||W(0)||_F`, for the rounding margin of the bound.
    w0_norm: f64,
    /// Updates so far.
    steps: u64,
    tail_start: u64,
    /// `W_{t0}` (`W` after update `tail_start`), copied when the tail starts; empty when `tail_start = 0`
    /// (then it is `W(0)`).
    origin: Vec<f32>,
    /// `U = sum_s (s - t0) Delta_s`, laid out like `W`: every change for one-hot features, the projections'
    /// changes for random ones.
    u: Vec<f64>,
    /// Random features: `gu[p * m + r] = sum_s (s - t0) g_{s,r}` over the tail steps `s` at pair `p`, so that
    /// the gradient steps' part of `U` is `sum_p gu[p] x(p)^T`. Empty for one-hot.
    gu: Vec<f64>,
    /// Per-neuron scratch for the update (length `m`).
    scratch: Vec<f32>,
}

/// Neurons per tile of `W`, and per register block of a one-pair forward pass (eight AVX registers of `f32`).
const BLOCK: usize = 64;
/// Lanes of every fixed-order sum: entry `i` of a sum goes to lane `i % LANES`, lanes combine pairwise.
const LANES: usize = 8;

/// `fn name(args) -> ret { body }` compiled twice: for AVX2, used when the CPU has it, and for the baseline
/// target. The body is the same Rust in both, and Rust does not contract `a * b + c` into a fused
/// multiply-add, so both give the same bits.
macro_rules! kernel {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if avx2_allowed() && std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

#[cfg(test)]
thread_local! {
    /// Set by a test to run the baseline build of every kernel on this thread.
    static BASELINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[inline(always)]
#[allow(dead_code)] // unused off x86-64
fn avx2_allowed() -> bool {
    #[cfg(test)]
    return !BASELINE.with(|b| b.get());
    #[cfg(not(test))]
    true
}

#[inline(always)]
fn relu(a: f32) -> f64 {
    if a > 0.0 {
        f64::from(a)
    } else {
        0.0
    }
}

/// The eight lanes, summed pairwise in a fixed order.
#[inline(always)]
fn combine(l: &[f64; LANES]) -> f64 {
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// `lanes[r % LANES] += b_r ReLU(pre_r)` for a run of neurons starting at a multiple of `LANES`.
#[inline(always)]
fn add_outputs(lanes: &mut [f64; LANES], b: &[f64], pre: &[f32]) {
    let (mut bc, mut pc) = (b.chunks_exact(LANES), pre.chunks_exact(LANES));
    for (bb, pp) in (&mut bc).zip(&mut pc) {
        for ((l, &bv), &pv) in lanes.iter_mut().zip(bb).zip(pp) {
            *l += bv * relu(pv);
        }
    }
    for ((l, &bv), &pv) in lanes.iter_mut().zip(bc.remainder()).zip(pc.remainder()) {
        *l += bv * relu(pv);
    }
}

/// Where coordinate `k` of neuron `r` is stored (see the field `w`).
#[inline(always)]
fn index(m: usize, d: usize, k: usize, r: usize) -> usize {
    let r0 = r / BLOCK * BLOCK;
    r0 * d + k * BLOCK.min(m - r0) + (r - r0)
}

/// The tiles of `W`: first neuron and width.
#[inline(always)]
fn tiles(m: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..m).step_by(BLOCK).map(move |r0| (r0, BLOCK.min(m - r0)))
}

/// Pre-activations `w_r . x` of the `acc.len()` neurons of a tile (its `d` rows of `acc.len()`), summed over `k`
/// in order: the same bits whatever the blocking.
#[inline(always)]
fn tile_pre(tile: &[f32], x: &[f32], acc: &mut [f32]) {
    acc.fill(0.0);
    for (row, &xk) in tile.chunks_exact(acc.len()).zip(x) {
        for (a, &wv) in acc.iter_mut().zip(row) {
            *a += xk * wv;
        }
    }
}

/// [`tile_pre`] for a full tile (a fixed length, so the accumulators stay in registers).
#[inline(always)]
fn full_tile_pre(tile: &[f32], x: &[f32], acc: &mut [f32; BLOCK]) {
    *acc = [0.0; BLOCK];
    for (row, &xk) in tile.chunks_exact(BLOCK).zip(x) {
        for (a, &wv) in acc.iter_mut().zip(row) {
            *a += xk * wv;
        }
    }
}

kernel! {
    /// `f(x; W)` for dense features `x`; with `pre`, also every pre-activation into it (length `m`).
    fn output_dense(w: &[f32], m: usize, b: &[f64], x: &[f32], pre: Option<&mut [f32]>) -> f64 {
        let d = x.len();
        let mut lanes = [0.0; LANES];
        let mut acc = [0.0f32; BLOCK];
        let mut pre = pre;
        for (r0, tw) in tiles(m) {
            let tile = &w[r0 * d..(r0 + tw) * d];
            if tw == BLOCK {
                full_tile_pre(tile, x, &mut acc);
            } else {
                tile_pre(tile, x, &mut acc[..tw]);
            }
            add_outputs(&mut lanes, &b[r0..r0 + tw], &acc[..tw]);
            if let Some(pre) = pre.as_deref_mut() {
                pre[r0..r0 + tw].copy_from_slice(&acc[..tw]);
            }
        }
        combine(&lanes)
    }
}

kernel! {
    /// The rank-1 step `W += g x^T` (`g_r = 0` leaves neuron `r` exactly as it was).
    fn step_dense(w: &mut [f32], m: usize, x: &[f32], g: &[f32]) {
        let d = x.len();
        for (r0, tw) in tiles(m) {
            let tile = &mut w[r0 * d..(r0 + tw) * d];
            let g = &g[r0..r0 + tw];
            for (row, &xk) in tile.chunks_exact_mut(tw).zip(x) {
                for (wv, &gv) in row.iter_mut().zip(g) {
                    *wv += gv * xk;
                }
            }
        }
    }
}

kernel! {
    /// `g_r = sign_r * c` for the active neurons (`pre_r > 0`, `g` holds `pre` on entry), else 0; returns how
    /// many are active.
    fn step_sizes(g: &mut [f32], sign: &[f32], c: f32) -> usize {
        let mut active = 0;
        for (gv, &s) in g.iter_mut().zip(sign) {
            let on = *gv > 0.0;
            active += usize::from(on);
            *gv = if on { s * c } else { 0.0 };
        }
        active
    }
}

kernel! {
    /// One-hot step on coordinate `p`: `w += g` on its entries; in the tail also `u += weight * (new - old)`
    /// (the exact change).
    fn step_one_hot(w: &mut [f32], u: &mut [f64], d: usize, p: usize, g: &[f32], weight: Option<f64>) {
        for (r0, tw) in tiles(g.len()) {
            let at = r0 * d + p * tw;
            let (w, g) = (&mut w[at..at + tw], &g[r0..r0 + tw]);
            match weight {
                None => {
                    for (wv, &gv) in w.iter_mut().zip(g) {
                        *wv += gv;
                    }
                }
                Some(weight) => {
                    for ((wv, &gv), uv) in w.iter_mut().zip(g).zip(&mut u[at..at + tw]) {
                        let old = *wv;
                        *wv = old + gv;
                        *uv += weight * (f64::from(*wv) - f64::from(old));
                    }
                }
            }
        }
    }
}

kernel! {
    /// `||W - W(0)||_F^2`, summed in fixed lanes.
    fn dist2(w: &[f32], w0: &[f32]) -> f64 {
        let mut lanes = [0.0; LANES];
        let (mut wc, mut w0c) = (w.chunks_exact(LANES), w0.chunks_exact(LANES));
        for (a, b) in (&mut wc).zip(&mut w0c) {
            for ((l, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
                let d = f64::from(a) - f64::from(b);
                *l += d * d;
            }
        }
        for ((l, &a), &b) in lanes.iter_mut().zip(wc.remainder()).zip(w0c.remainder()) {
            let d = f64::from(a) - f64::from(b);
            *l += d * d;
        }
        combine(&lanes)
    }
}

kernel! {
    /// `W <- W(0) + c (W - W(0))`; in the tail also `u += weight * (new - old)`. Returns the new
    /// `||W - W(0)||_F^2` in the lanes of [`dist2`].
    fn shrink(w: &mut [f32], w0: &[f32], c: f32, u: &mut [f64], weight: Option<f64>) -> f64 {
        let mut lanes = [0.0; LANES];
        for (e, (wv, &w0v)) in w.iter_mut().zip(w0).enumerate() {
            let old = *wv;
            *wv = w0v + c * (old - w0v);
            if let Some(weight) = weight {
                u[e] += weight * (f64::from(*wv) - f64::from(old));
            }
            let d = f64::from(*wv) - f64::from(w0v);
            lanes[e % LANES] += d * d;
        }
        combine(&lanes)
    }
}

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
                    x.extend(v.iter().map(|a| (a / norm) as f32));
                }
                (dim, Some(x))
            }
        };
        let sd = 1.0 / (d as f64).sqrt();
        let scale = 1.0 / (m as f64).sqrt();
        let mut w = vec![0.0f32; m * d];
        let mut b = vec![0.0; m];
        let at = |k: usize, r: usize| index(m, d, k, r);
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
                w[at(k, r)] = if twin {
                    w[at(k, r - 1)]
                } else {
                    let z: f64 = StandardNormal.sample(rng);
                    (z * sd) as f32
                };
            }
        }
        let w0_norm = w.iter().map(|&a| f64::from(a) * f64::from(a)).sum::<f64>().sqrt();
        NeuralQ {
            legal: spec.legal.clone(),
            n_obs: spec.n_obs as usize,
            n_actions,
            m,
            d,
            w0: w.clone(),
            origin: if params.tail_start > 0 { vec![0.0; w.len()] } else { Vec::new() },
            u: vec![0.0; w.len()],
            gu: if x.is_some() { vec![0.0; pairs * m] } else { Vec::new() },
            w,
            sign: b.iter().map(|&b| if b > 0.0 { 1.0 } else { -1.0 }).collect(),
            b,
            x,
            eta: params.eta,
            radius: params.radius,
            bound: 0.0,
            w0_norm,
            steps: 0,
            tail_start: params.tail_start,
            scratch: vec![0.0; m],
        }
    }

    #[inline(always)]
    fn pair(&self, obs: ObsId, action: ActionId) -> usize {
        obs.index() * self.n_actions + action.index()
    }

    /// The pre-activations `w_r . e_p = W[p, r]` of one-hot pair `p` into `out` (length `m`).
    fn one_hot_row(&self, p: usize, out: &mut [f32]) {
        for (r0, tw) in tiles(self.m) {
            let at = r0 * self.d + p * tw;
            out[r0..r0 + tw].copy_from_slice(&self.w[at..at + tw]);
        }
    }

    /// `f(x(p); W)`.
    fn output(&self, p: usize) -> f64 {
        let m = self.m;
        match &self.x {
            None => {
                let mut lanes = [0.0; LANES];
                for (r0, tw) in tiles(m) {
                    let at = r0 * self.d + p * tw;
                    add_outputs(&mut lanes, &self.b[r0..r0 + tw], &self.w[at..at + tw]);
                }
                combine(&lanes)
            }
            Some(x) => output_dense(&self.w, m, &self.b, &x[p * self.d..(p + 1) * self.d], None),
        }
    }

    /// `(action, Q(obs, action))` for every legal action in order. (Evaluating four actions in one pass over
    /// `W`, 4 x 16 neurons per register block, measured 10-20% slower than four passes of 64-neuron blocks.)
    #[inline]
    fn each_value(&self, obs: ObsId, mut visit: impl FnMut(ActionId, f64)) {
        for &a in self.legal.of(obs) {
            visit(a, self.output(self.pair(obs, a)));
        }
    }

    /// `||W - W(0)||_F^2` exactly; projects onto the ball when it is above `B^2` and resets the bound.
    fn check_radius(&mut self, weight: Option<f64>) {
        let limit = self.radius * self.radius;
        let mut d2 = dist2(&self.w, &self.w0);
        let mut shrink_by = 1.0;
        while d2 > limit {
            // Rounding in `f32` can leave the scaled weights a hair outside: shrink again, slightly more.
            let c = (self.radius / d2.sqrt() * shrink_by) as f32;
            d2 = shrink(&mut self.w, &self.w0, c, &mut self.u, weight);
            shrink_by *= 1.0 - 1e-6;
        }
        self.bound = d2.sqrt();
    }

    /// `grad_W f(x(o, a); W)`, laid out like `W` (`k * m + r`): `(1/sqrt(m)) b_r 1{w_r . x > 0} x_k`. For
    /// checks and analysis; the update computes only the entries it needs.
    pub fn gradient(&self, obs: ObsId, action: ActionId) -> Vec<f64> {
        let p = self.pair(obs, action);
        let m = self.m;
        let mut pre = vec![0.0f32; m];
        match &self.x {
            None => self.one_hot_row(p, &mut pre),
            Some(x) => {
                output_dense(&self.w, m, &self.b, &x[p * self.d..(p + 1) * self.d], Some(&mut pre));
            }
        }
        let mut g = vec![0.0; self.w.len()];
        for (r, &pre_r) in pre.iter().enumerate() {
            if pre_r <= 0.0 {
                continue;
            }
            for k in 0..self.d {
                let xk = match &self.x {
                    None => f64::from(u8::from(k == p)),
                    Some(x) => f64::from(x[p * self.d + k]),
                };
                g[k * m + r] = self.b[r] * xk;
            }
        }
        g
    }

    /// `||W - W(0)||_F`.
    pub fn distance_from_init(&self) -> f64 {
        dist2(&self.w, &self.w0).sqrt()
    }

    /// Updates so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The network with `W` replaced by its Polyak average over the updates after `tail_start` (the current
    /// `W` if there were none), rounded to `f32`.
    pub fn averaged(&self) -> NeuralQ {
        let mut out = self.clone();
        if self.steps > self.tail_start {
            let (m, d) = (self.m, self.d);
            let n = (self.steps - self.tail_start) as f64;
            let origin = if self.tail_start == 0 { &self.w0 } else { &self.origin };
            let mut u = self.u.clone();
            if let Some(x) = &self.x {
                for (gp, xp) in self.gu.chunks_exact(m).zip(x.chunks_exact(d)) {
                    if gp.iter().all(|&g| g == 0.0) {
                        continue;
                    }
                    for (r0, tw) in tiles(m) {
                        let tile = &mut u[r0 * d..(r0 + tw) * d];
                        for (row, &xk) in tile.chunks_exact_mut(tw).zip(xp) {
                            for (uv, &g) in row.iter_mut().zip(&gp[r0..r0 + tw]) {
                                *uv += g * f64::from(xk);
                            }
                        }
                    }
                }
            }
            for (((avg, &w), &o), &u) in out.w.iter_mut().zip(&self.w).zip(origin).zip(&u) {
                let (w, o) = (f64::from(w), f64::from(o));
                *avg = (o + ((n + 1.0) * (w - o) - u) / n) as f32;
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
        let mut best = f64::NEG_INFINITY;
        self.each_value(obs, |_, q| best = best.max(q));
        best
    }

    fn greedy(&self, obs: ObsId) -> ActionId {
        let mut best: Option<(ActionId, f64)> = None;
        self.each_value(obs, |a, q| {
            if best.is_none_or(|(_, best_q)| q.total_cmp(&best_q).is_gt()) {
                best = Some((a, q));
            }
        });
        best.map_or(self.legal.of(obs)[0], |(a, _)| a)
    }

    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.output(self.pair(obs, action))
    }

    /// One projected gradient step on `(f - target)^2 / 2`; returns `target - f` before the step.
    fn update_towards(&mut self, obs: ObsId, action: ActionId, target: f64) -> f64 {
        let (p, m, d) = (self.pair(obs, action), self.m, self.d);
        // The scratch buffer is owned by the network (allocated once); take it to satisfy the borrow checker.
        let mut g = std::mem::take(&mut self.scratch);
        let f = match &self.x {
            None => {
                self.one_hot_row(p, &mut g);
                let mut lanes = [0.0; LANES];
                add_outputs(&mut lanes, &self.b, &g);
                combine(&lanes)
            }
            Some(x) => output_dense(&self.w, m, &self.b, &x[p * d..(p + 1) * d], Some(&mut g)),
        };
        let td_error = target - f;
        if self.steps == self.tail_start && !self.origin.is_empty() {
            self.origin.copy_from_slice(&self.w);
        }
        self.steps += 1;
        // Weight `s - t0` of this step's change in `U`, inside the tail.
        let weight = (self.steps > self.tail_start).then(|| (self.steps - self.tail_start) as f64);
        // W <- W - eta * delta * grad f, delta = f - target = -td_error; grad_{w_r} = b_r 1{pre_r > 0} x.
        // The buffer now holds the step of neuron r, zero for inactive neurons: `step * b_r` in f32, i.e.
        // `sign_r * c` (rounding is symmetric).
        let step = self.eta * td_error;
        let c = (step * (1.0 / (m as f64).sqrt())) as f32;
        let active = step_sizes(&mut g, &self.sign, c);
        match &self.x {
            None => step_one_hot(&mut self.w, &mut self.u, d, p, &g, weight),
            Some(x) => {
                step_dense(&mut self.w, m, &x[p * d..(p + 1) * d], &g);
                if let Some(weight) = weight {
                    for (s, &gv) in self.gu[p * m..(p + 1) * m].iter_mut().zip(&g) {
                        *s += weight * f64::from(gv);
                    }
                }
            }
        }
        self.scratch = g;
        // ||Delta||_F = ||g|| ||x|| with ||x|| = 1 up to f32 rounding; each stored entry is off the exact
        // `w + g_r x_k` by at most one f32 unit roundoff of `|g_r x_k|` plus one of `|w|`, hence the margin.
        let step_norm = (active as f64).sqrt() * f64::from(c).abs() * (1.0 + 1e-6);
        let grown = (self.bound + step_norm) * (1.0 + 1e-12);
        self.bound = grown + f64::from(f32::EPSILON) * (self.w0_norm + grown + step_norm);
        if self.bound > self.radius {
            self.check_radius(weight);
        }
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
            for width in [16, 70] {
                let q = NeuralQ::new(&spec(4, 3), params(width, features), &mut stream(1, Stream::Other(0)));
                for o in 0..4 {
                    for a in 0..3 {
                        assert_eq!(q.value(ObsId(o), ActionId(a)), 0.0);
                    }
                    assert_eq!(q.max_value(ObsId(o)), 0.0);
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
            // `f` is piecewise linear in `W`, so a central difference is exact unless a step crosses a kink;
            // every pre-activation here is further than `h` from zero. `W` is f32: divide by the step as
            // stored, and allow for f32 rounding of the pre-activations (about 1e-7 each, over 2h = 2e-3).
            let h = 1e-3f32;
            for (e, &analytic) in g.iter().enumerate() {
                let at = index(q.m, q.d, e / q.m, e % q.m);
                let mut plus = q.clone();
                plus.w[at] += h;
                let mut minus = q.clone();
                minus.w[at] -= h;
                let dw = f64::from(plus.w[at]) - f64::from(minus.w[at]);
                let numeric = (plus.value(o, a) - minus.value(o, a)) / dw;
                assert!((numeric - analytic).abs() < 1e-4, "entry {e}: numeric {numeric} vs analytic {analytic}");
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
            assert!(q.distance_from_init() > 0.049, "the radius binds: {}", q.distance_from_init());
        }
    }

    /// `max |lazy average - plain average of every stored iterate|` over the entries after `updates` updates
    /// (`tail_start` 7, a radius that binds now and then), and the largest `|w|` seen.
    fn polyak_error(features: Features, width: usize, updates: u32) -> (f64, f64) {
        let p = NeuralParams { tail_start: 7, radius: 0.3, ..params(width, features) };
        let mut q = NeuralQ::new(&spec(3, 2), p, &mut stream(5, Stream::Other(0)));
        let mut sum = vec![0.0; q.w.len()];
        let mut biggest = 0.0f64;
        for k in 0..updates {
            q.update_towards(ObsId(k % 3), ActionId((k / 3 % 2) as u16), f64::from(k % 5) - 2.0);
            if q.steps() > 7 {
                for (s, &w) in sum.iter_mut().zip(&q.w) {
                    *s += f64::from(w);
                    biggest = biggest.max(f64::from(w).abs());
                }
            }
        }
        let n = f64::from(updates - 7);
        let avg = q.averaged();
        let worst = sum.iter().zip(&avg.w).map(|(s, &a)| (f64::from(a) - s / n).abs()).fold(0.0, f64::max);
        (worst, biggest)
    }

    #[test]
    fn the_lazy_polyak_average_equals_the_average_of_every_iterate() {
        // The average is rounded to f32 once (half a unit in the last place, 2^-24 relative). For one-hot
        // features `U` adds the exact change of every stored entry, so that is all. For random features the
        // gradient steps enter `U` factored, as `g x^T` before rounding into `W`; each stored entry differs from
        // that by at most 2^-23 |w| (the product's and the sum's rounding), weighted by `s - t0` in `U`, which
        // bounds the error by (n + 1) / 2 * 2^-23 * max|w| over `n` tail iterates.
        let eps = f64::from(f32::EPSILON);
        for (features, n) in [(Features::OneHot, 53.0), (Features::Random { dim: 3 }, 53.0)] {
            let (worst, biggest) = polyak_error(features, 6, 60);
            let tol = match features {
                Features::OneHot => eps * biggest,
                Features::Random { .. } => ((n + 1.0) / 2.0 + 1.0) * eps * biggest,
            };
            assert!(worst <= tol, "{features:?}: error {worst} above {tol}");
        }
    }

    #[test]
    fn the_polyak_average_stays_accurate_over_a_long_tail() {
        // 20,000 tail iterates of a periodic schedule (so the rounding differences of the random-features case
        // do not cancel as they would in a random one): with `U` in f64 the one-hot average stays within one
        // f32 unit and the random-features one within 1e-4 of max |w| (about 220 f32 units when written), far
        // below the worst case (n + 1) / 2 units and below anything the learning curves can resolve.
        for features in [Features::OneHot, Features::Random { dim: 3 }] {
            let (worst, biggest) = polyak_error(features, 6, 20_007);
            let tol = match features {
                Features::OneHot => f64::from(f32::EPSILON) * biggest,
                Features::Random { .. } => 1e-4 * biggest,
            };
            assert!(worst <= tol, "{features:?}: error {worst} above {tol} (max |w| {biggest})");
        }
    }

    #[test]
    fn several_actions_in_one_pass_give_the_same_bits_as_one_at_a_time() {
        for (features, width) in
            [(Features::Random { dim: 7 }, 70), (Features::Random { dim: 64 }, 256), (Features::Random { dim: 3 }, 200)]
        {
            let p = NeuralParams { symmetric: false, ..params(width, features) };
            let mut q = NeuralQ::new(&spec(5, 6), p, &mut stream(8, Stream::Other(0)));
            for k in 0..50u32 {
                q.update_towards(ObsId(k % 5), ActionId((k % 6) as u16), f64::from(k % 3));
            }
            for o in 0..5 {
                let values: Vec<f64> = (0..6).map(|a| q.value(ObsId(o), ActionId(a))).collect();
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(q.max_value(ObsId(o)).to_bits(), max.to_bits());
                let best = (0..6).fold(0, |b, a| if values[a] > values[b] { a } else { b });
                assert_eq!(q.greedy(ObsId(o)), ActionId(best as u16));
            }
        }
    }

    #[test]
    fn the_baseline_and_avx2_builds_give_the_same_bits() {
        let run = |baseline: bool| {
            BASELINE.with(|b| b.set(baseline));
            let mut out = Vec::new();
            for features in [Features::OneHot, Features::Random { dim: 64 }] {
                let p = NeuralParams { radius: 2.0, tail_start: 100, ..params(200, features) };
                let mut q = NeuralQ::new(&spec(8, 4), p, &mut stream(9, Stream::Other(0)));
                for k in 0..400u32 {
                    let o = ObsId(k % 8);
                    let target = f64::from(k % 7) - 3.0 + q.max_value(ObsId((k + 3) % 8));
                    out.push(q.update_towards(o, ActionId((k / 8 % 4) as u16), target).to_bits());
                }
                out.extend(q.w.iter().map(|w| u64::from(w.to_bits())));
                out.extend(q.averaged().w.iter().map(|w| u64::from(w.to_bits())));
            }
            BASELINE.with(|b| b.set(false));
            out
        };
        assert_eq!(run(true), run(false));
    }

    #[test]
    fn values_and_updates_do_not_allocate() {
        let probe = ALLOCATIONS.with(|a| a.get());
        drop(std::hint::black_box(vec![0u8; 16]));
        assert!(ALLOCATIONS.with(|a| a.get()) > probe, "the counting allocator counts");
        for features in [Features::OneHot, Features::Random { dim: 64 }] {
            let p = NeuralParams { radius: 0.5, tail_start: 10, ..params(256, features) };
            let mut q = NeuralQ::new(&spec(16, 4), p, &mut stream(10, Stream::Other(0)));
            let before = ALLOCATIONS.with(|a| a.get());
            let mut total = 0.0;
            for k in 0..200u32 {
                let o = ObsId(k % 16);
                total += q.max_value(o) + q.value(o, ActionId(1));
                total += q.update_towards(o, ActionId((k % 4) as u16), 1.0 + total.signum());
                total += f64::from(q.greedy(o).0);
            }
            assert!(total.is_finite());
            assert_eq!(ALLOCATIONS.with(|a| a.get()), before, "{features:?}: allocations in the hot path");
            assert!(q.distance_from_init() <= 0.5 + 1e-12);
        }
    }

    thread_local! {
        static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// Counts this thread's allocations (tests run on several threads).
    struct Counting;

    // SAFETY: forwards to the system allocator; the counter is a const-initialised thread-local `Cell`.
    unsafe impl std::alloc::GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
            // SAFETY: the caller's contract is the system allocator's.
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            // SAFETY: as above.
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
            // SAFETY: as above.
            unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;
}
