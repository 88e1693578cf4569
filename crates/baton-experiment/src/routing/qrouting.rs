//! Q-routing as IC-Q in one fused loop: Boyan & Littman's simulator and the routers' tables together.
//!
//! [`crate::train::Decentralized`] over [`baton_envs::routing::Network`] is the reference: a generic runner
//! that turns any environment's event stream into IC-Q updates. This module is the same computation
//! specialised to packet routing, for speed: no [`baton_core::Event`] values, no per-artifact pending
//! records outside the packet, one allocation for every router's table, an intrusive FIFO per router. It
//! draws the same random numbers in the same order, processes events in the same `(time, scheduling order)`,
//! and calls the same update ([`baton_learn::icq::reply`], [`baton_learn::icq::learn`]) and the same
//! behaviour ([`Behaviour::act`]) on each router's own slice of the table, so its results are bit for bit
//! those of the reference (tested in `tests/it/routing.rs` on tables, statistics and counters).
//!
//! The information constraint is kept: the update of router `i` is handed `i`'s own rows (a [`RouterQ`]
//! view), its own transition and the receiver's one [`Scalar`]; the receiver's reply is computed from its
//! own rows and its own observation.
//!
//! It covers packet delivery (`Task::Deliver`) without scheduled changes, tabular learners, greedy
//! behaviour and discount 1 (every routing experiment's IC-Q arm); [`FusedQRouting::supports`] says
//! whether a run qualifies, and other runs take the reference path.

use std::sync::Arc;

use baton_core::rng::{stream, uniform_index, Stream};
use baton_core::{ActionId, ObsId, Rng};
use baton_envs::routing::events::{sample_exp, EventQueue};
use baton_envs::routing::network::{Interface, SourceCost, Task};
use baton_envs::routing::{NetStats, NetworkParams, Tally, Topology};
use baton_learn::{icq, Behaviour, QFunction, Scalar, StepSize, Transition};
use rand::RngCore;

use crate::train::TrainStats;

/// No packet (end of a router's FIFO).
const NONE: u32 = u32::MAX;
/// Event payload tag of a `Serve` (the router in the low bits); otherwise the payload is an `Arrive` slot.
const SERVE: u32 = 1 << 31;
/// Event payload of the next injection (checked before `SERVE`).
const INJECT: u32 = u32::MAX;

/// One router's own table: rows of `degree` entries, one row per observation. What an update may touch.
pub struct RouterQ<'a> {
    q: &'a mut [f64],
    visits: &'a mut [u32],
    degree: usize,
    step: &'a StepSize,
    actions: &'a [ActionId],
}

/// A router's table, read-only (the receiver's side of a handoff, and the behaviour).
pub struct RouterQRef<'a> {
    q: &'a [f64],
    degree: usize,
    actions: &'a [ActionId],
}

impl QFunction for RouterQRef<'_> {
    #[inline(always)]
    fn legal(&self, _obs: ObsId) -> &[ActionId] {
        &self.actions[..self.degree]
    }
    #[inline(always)]
    fn max_value(&self, obs: ObsId) -> f64 {
        // The same pass as `TabularQ::max_value` (first entry, then strictly greater).
        let row = &self.q[obs.index() * self.degree..][..self.degree];
        let mut m = row[0];
        for &x in &row[1..] {
            if x > m {
                m = x;
            }
        }
        m
    }
    #[inline(always)]
    fn greedy(&self, obs: ObsId) -> ActionId {
        let row = &self.q[obs.index() * self.degree..][..self.degree];
        let mut best = 0;
        for a in 1..self.degree {
            if row[a].total_cmp(&row[best]).is_gt() {
                best = a;
            }
        }
        ActionId(best as u16)
    }
    #[inline(always)]
    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.q[obs.index() * self.degree + action.index()]
    }
    fn update_towards(&mut self, _obs: ObsId, _action: ActionId, _target: f64) -> f64 {
        unreachable!("a read-only view is never updated")
    }
}

/// `reply = "backlog"`: a router's table seen with its neighbours' reported backlogs subtracted (IC-Q sign):
/// the value of neighbour `z` is `Q(d, z) - W(z)`, the estimated time through `z` including the wait at `z`
/// (negated), with `W(z)` the backlog `z` last reported (as it stood when that report was sent; letting it
/// drain with time made routers pile onto a neighbour before its next report). Decisions and replies read
/// it; updates go to the table itself.
pub struct OffsetView<'a> {
    q: &'a [f64],
    heard: &'a [f64],
    degree: usize,
    actions: &'a [ActionId],
}

impl OffsetView<'_> {
    #[inline(always)]
    fn w(&self, a: usize) -> f64 {
        self.heard[a]
    }
}

impl QFunction for OffsetView<'_> {
    #[inline(always)]
    fn legal(&self, _obs: ObsId) -> &[ActionId] {
        &self.actions[..self.degree]
    }
    #[inline(always)]
    fn max_value(&self, obs: ObsId) -> f64 {
        let row = &self.q[obs.index() * self.degree..][..self.degree];
        let mut m = row[0] - self.w(0);
        for (a, &q) in row.iter().enumerate().skip(1) {
            let x = q - self.w(a);
            if x > m {
                m = x;
            }
        }
        m
    }
    #[inline(always)]
    fn greedy(&self, obs: ObsId) -> ActionId {
        let mut best = 0;
        for a in 1..self.degree {
            if self.value(obs, ActionId(a as u16)).total_cmp(&self.value(obs, ActionId(best as u16))).is_gt() {
                best = a;
            }
        }
        ActionId(best as u16)
    }
    #[inline(always)]
    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.q[obs.index() * self.degree + action.index()] - self.w(action.index())
    }
    fn update_towards(&mut self, _obs: ObsId, _action: ActionId, _target: f64) -> f64 {
        unreachable!("a read-only view is never updated")
    }
}

impl QFunction for RouterQ<'_> {
    #[inline(always)]
    fn legal(&self, _obs: ObsId) -> &[ActionId] {
        &self.actions[..self.degree]
    }
    #[inline(always)]
    fn max_value(&self, obs: ObsId) -> f64 {
        RouterQRef { q: self.q, degree: self.degree, actions: self.actions }.max_value(obs)
    }
    #[inline(always)]
    fn greedy(&self, obs: ObsId) -> ActionId {
        RouterQRef { q: self.q, degree: self.degree, actions: self.actions }.greedy(obs)
    }
    #[inline(always)]
    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.q[obs.index() * self.degree + action.index()]
    }
    #[inline(always)]
    fn update_towards(&mut self, obs: ObsId, action: ActionId, target: f64) -> f64 {
        let i = obs.index() * self.degree + action.index();
        let step = self.step;
        match step {
            // A constant step never reads the count: keep none (same values as `TabularQ`).
            StepSize::Constant(_) => {
                let mut n = 0;
                icq::tabular_step(&mut self.q[i], &mut n, |n| step.alpha(n), target)
            }
            StepSize::Polynomial { .. } => {
                icq::tabular_step(&mut self.q[i], &mut self.visits[i], |n| step.alpha(n), target)
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Packet {
    birth: f64,
    /// When it arrived at `node` (or was injected there).
    arrived: f64,
    /// The sender's open record: the start of its table (its record's `base`), its observation, action
    /// and degree, so that the arrival reads nothing else of the sender to find its entry.
    base: usize,
    obs: u32,
    action: u16,
    degree: u16,
    dest: u32,
    /// Router holding the packet (queued there, or sending from there).
    node: u32,
    hops: u32,
    /// In transit: where the receiver's id is in the topology's neighbour lists (the sender's neighbour
    /// number `action`).
    receiver: u32,
    /// Next packet in the same router's FIFO.
    next: u32,
}

/// A router's state, in one cache line with the next words of its random stream.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Router {
    /// Time until which the router's server is busy.
    busy_until: f64,
    /// Start of the router's rows in the shared table.
    base: usize,
    /// FIFO of waiting packets (slots), linked through `Packet::next`.
    head: u32,
    tail: u32,
    /// Start of its neighbour list in the topology.
    neighbours: u32,
    degree: u16,
    /// Whether a `Serve` event is pending.
    serving: bool,
    /// `draws` bookkeeping: the low 4 bits count the words of `draws` used (`DRAWS`: none left), the high
    /// 4 bits how many times `draws` was refilled, modulo 16.
    draws_state: u8,
    /// The next words of the router's own random stream, taken from it in order: a tie-break then reads
    /// no other memory (the 10^4 streams take 3 MB, more than the L2).
    draws: [u32; DRAWS],
}

const _: () = assert!(std::mem::size_of::<Router>() == 64);

/// How many words of a router's random stream its [`Router`] record holds.
const DRAWS: usize = 8;

/// A router's random stream read through the words buffered in its [`Router`] record: the same words in
/// the same order as the stream itself (`next_u32`, and `next_u64` as two words, low first, as
/// `ChaCha8Rng` does), so every draw, and every result, is the one the reference gets from the stream.
struct BufferedStream<'a> {
    words: &'a mut [u32; DRAWS],
    state: &'a mut u8,
    stream: &'a mut Rng,
}

impl RngCore for BufferedStream<'_> {
    #[inline(always)]
    fn next_u32(&mut self) -> u32 {
        let mut used = usize::from(*self.state & 15);
        if used == DRAWS {
            for w in self.words.iter_mut() {
                *w = self.stream.next_u32();
            }
            // One more refill (high bits, wrapping), none used.
            *self.state = (*self.state & !15).wrapping_add(16);
            used = 0;
        }
        *self.state += 1;
        self.words[used]
    }
    fn next_u64(&mut self) -> u64 {
        let low = u64::from(self.next_u32());
        low | (u64::from(self.next_u32()) << 32)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // Whole words, little-endian, as `ChaCha8Rng` (which drops the rest of a partly used last word).
        for chunk in dest.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// Q-routing as IC-Q, simulator and learners fused. See the module documentation.
pub struct FusedQRouting {
    topology: Arc<Topology>,
    interface: Arc<Interface>,
    params: NetworkParams,
    routers: Vec<Router>,
    neighbours: Vec<u32>,
    q: Vec<f64>,
    visits: Vec<u32>,
    step: StepSize,
    actions: Vec<ActionId>,
    behaviour: Behaviour,
    rngs: Vec<AlignedRng>,
    env_rng: Rng,
    /// The next two injections: each one's source, destination and the gap from it to the injection after
    /// it, drawn ahead from the environment's stream (the same draws in the same order as `Network`), so
    /// that the source's row can be fetched ahead. `[0]` is the scheduled injection.
    upcoming: [(f64, u32, u32); 2],
    packets: Vec<Packet>,
    free: Vec<u32>,
    now: f64,
    /// The same event queue as the `Env`'s (`baton_envs::routing::events`); payload: a packet slot
    /// (arrival), `SERVE | router`, or `INJECT`.
    events: EventQueue<u32>,
    /// A decision owed right after the arrival just processed (the receiver was idle): the packet's slot,
    /// and the observation and action the receiver already picked in the pass that made its reply (`None`:
    /// pick now).
    then_decide: Option<(u32, Option<(ObsId, ActionId)>)>,
    stats: NetStats,
    train: TrainStats,
    /// Whether to prefetch ahead (tables too large for the caches; on small networks it only costs).
    prefetch: bool,
    /// `reply = "wait"`: the receiver adds the packet's wait in its queue to its reply, and the sender's cost
    /// is the transit alone.
    wait_reply: bool,
    /// `header = "backward"`: per packet slot, its source and its sender's estimate (IC-Q sign) of the time
    /// back to that source; empty otherwise.
    back: Vec<(u32, f64)>,
    /// Packets waiting in each router's FIFO (`reply = "wait"` or `header = "backward"`; empty otherwise).
    qlen: Vec<u32>,
    /// `reply = "backlog"`: per packet slot, its sender's backlog as the header reports it; per entry of the
    /// neighbour lists, the backlog that neighbour last reported (empty otherwise).
    backlog: Vec<f64>,
    heard: Vec<f64>,
}

impl FusedQRouting {
    /// Whether a run with these settings can take the fused path (otherwise use the reference).
    pub fn supports(params: &NetworkParams, behaviour: Behaviour) -> bool {
        matches!(params.task, Task::Deliver) && params.changes.is_empty() && behaviour == Behaviour::Greedy
    }

    /// A fresh run over `topology` with `params`, every router's table starting from `init(router)` (row-major
    /// over observation and neighbour, `None`: zeros) and step size `step`. Random streams from `seed`, the
    /// same as [`crate::train::Decentralized::new`] gives the reference: the environment's and one per router.
    pub fn new(
        topology: Arc<Topology>,
        params: NetworkParams,
        step: StepSize,
        behaviour: Behaviour,
        seed: u64,
        mut init: impl FnMut(u32) -> Option<Vec<f64>>,
    ) -> Result<Self, String> {
        if !Self::supports(&params, behaviour) {
            return Err("the fused Q-routing loop needs packet delivery, no changes and greedy behaviour".into());
        }
        let n = topology.n_nodes();
        let interface = Arc::clone(&params.interface);
        let mut routers = Vec::with_capacity(n as usize);
        let mut neighbours = Vec::with_capacity(topology.neighbours_len());
        let mut base = 0usize;
        for v in 0..n {
            let degree = topology.degree(v);
            let rows = interface.n_obs(n, v) as usize;
            routers.push(Router {
                busy_until: 0.0,
                base,
                head: NONE,
                tail: NONE,
                neighbours: neighbours.len() as u32,
                degree: degree as u16,
                serving: false,
                draws_state: DRAWS as u8,
                draws: [0; DRAWS],
            });
            neighbours.extend_from_slice(topology.neighbours(v));
            base += rows * degree;
        }
        let mut q = vec![0.0; base];
        advise_huge_pages(&mut q);
        for v in 0..n {
            if let Some(values) = init(v) {
                let r = &routers[v as usize];
                let len = interface.n_obs(n, v) as usize * usize::from(r.degree);
                if values.len() != len {
                    return Err(format!("initial table of router {v}: {} values, expected {len}", values.len()));
                }
                q[r.base..r.base + len].copy_from_slice(&values);
            }
        }
        let visits = match step {
            StepSize::Constant(_) => Vec::new(),
            StepSize::Polynomial { .. } => {
                let mut v = vec![0; base];
                advise_huge_pages(&mut v);
                v
            }
        };
        let prefetch = std::mem::size_of_val(q.as_slice()) > PREFETCH_ABOVE;
        let max_degree = topology.max_degree();
        let cap = params.max_in_flight as usize;
        let rngs = (0..n).map(|i| AlignedRng(stream(seed, Stream::Agent(i as u16)))).collect();
        let mut env_rng = stream(seed, Stream::Env);
        // As `Network::reset`: the first injection is the first event scheduled (seq 1).
        let first = sample_exp(&mut env_rng, params.load);
        let mut events = EventQueue::with_capacity(2 * cap + 16);
        events.schedule_inject(first, INJECT);
        let upcoming = [draw_injection(&mut env_rng, params.load, n), draw_injection(&mut env_rng, params.load, n)];
        let packet = Packet {
            birth: 0.0,
            arrived: 0.0,
            base: 0,
            obs: 0,
            action: 0,
            degree: 0,
            dest: 0,
            node: 0,
            hops: 0,
            receiver: 0,
            next: NONE,
        };
        Ok(FusedQRouting {
            topology,
            interface,
            routers,
            neighbours,
            q,
            visits,
            step,
            actions: (0..max_degree as u16).map(ActionId).collect(),
            behaviour,
            rngs,
            env_rng,
            upcoming,
            packets: vec![packet; cap],
            free: (0..cap as u32).rev().collect(),
            now: 0.0,
            events,
            then_decide: None,
            stats: NetStats::default(),
            train: TrainStats::default(),
            prefetch,
            params,
            wait_reply: false,
            back: Vec::new(),
            qlen: Vec::new(),
            backlog: Vec::new(),
            heard: Vec::new(),
        })
    }

    /// Turn on `reply = "backlog"` (after [`FusedQRouting::with_extensions`], before the run starts): every
    /// packet's header carries its sender's backlog (the wait a packet sent back would have there, one
    /// transit later); each router keeps the last backlog each neighbour reported and adds it to its table's
    /// estimate through that neighbour when it decides and when it replies; its reply leaves out its own wait
    /// (the sender tracks it from the headers), and a sender's cost is the transit alone.
    pub fn with_backlog(mut self) -> Self {
        self.wait_reply = true;
        self.backlog = vec![0.0; self.packets.len()];
        self.heard = vec![0.0; self.neighbours.len()];
        if self.qlen.is_empty() {
            self.qlen = vec![0; self.routers.len()];
        }
        self
    }

    /// Router `x`'s rows seen through the backlogs its neighbours reported (`reply = "backlog"`).
    #[inline(always)]
    fn offset_view(&self, x: u32) -> OffsetView<'_> {
        let r = &self.routers[x as usize];
        let degree = usize::from(r.degree);
        let start = r.neighbours as usize;
        OffsetView { q: &self.q[r.base..], heard: &self.heard[start..start + degree], degree, actions: &self.actions }
    }

    /// Turn on `reply = "wait"` and `header = "backward"` (before the run starts). `wait`: a receiver replies
    /// with the packet's wait in its own queue (which it knows from its own backlog: its server's busy time
    /// plus one time unit per packet ahead) plus the maximum of its row, and a sender's cost is the transit
    /// alone (its own queueing is in its own reply upstream). `backward`: a packet also carries its source and
    /// its sender's reply-style estimate of the time back to that source; the receiver first updates its own
    /// entry for (source, sender) from it, with the transit as its cost, then replies as usual. The reply is
    /// still one scalar; the header's number travels with the packet.
    pub fn with_extensions(mut self, wait: bool, backward: bool) -> Self {
        self.wait_reply = wait;
        if backward {
            self.back = vec![(0, 0.0); self.packets.len()];
        }
        if wait || backward {
            self.qlen = vec![0; self.routers.len()];
        }
        self
    }

    /// The wait a packet arriving now at router `y` would have before `y` sends it (its private backlog): the
    /// rest of its server's current slot plus one time unit per packet queued.
    #[inline(always)]
    fn wait(&self, y: u32) -> f64 {
        self.wait_at(y, self.now)
    }

    /// The wait a packet reaching router `y` at time `t >= now` would have if nothing else reached `y`
    /// before it: the rest of the slot its server is busy with at `t`, plus one time unit per packet queued
    /// now, less the slots served between now and `t`.
    #[inline(always)]
    fn wait_at(&self, y: u32, t: f64) -> f64 {
        let r = &self.routers[y as usize];
        let queued = f64::from(self.qlen[y as usize]);
        // Work left at `now`: the current slot's rest and one unit per queued packet; `t - now` of it is
        // done by `t`.
        let work = (r.busy_until - self.now).max(0.0) + queued;
        (work - (t - self.now)).max(0.0)
    }

    /// The current simulated time.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// What the simulator measured.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Counters of the decision loop (handoffs, transfers, scalars).
    pub fn train_stats(&self) -> TrainStats {
        self.train
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Router `v`'s table, row-major over (observation, neighbour).
    pub fn table(&self, v: u32) -> &[f64] {
        let r = &self.routers[v as usize];
        let len = self.interface.n_obs(self.topology.n_nodes(), v) as usize * usize::from(r.degree);
        &self.q[r.base..r.base + len]
    }

    /// Whether any table entry is not finite (a diverging learner).
    pub fn has_non_finite(&self) -> bool {
        self.q.iter().any(|v| !v.is_finite())
    }

    /// Run until the simulated time reaches `until` (checked where the reference runner checks it: before
    /// every injection, service, arrival and owed decision).
    pub fn run_until(&mut self, until: f64) {
        'events: loop {
            if self.now >= until {
                return;
            }
            if let Some((slot, picked)) = self.then_decide.take() {
                match picked {
                    Some((obs, a)) => self.send(slot, obs, a),
                    None => self.decide(slot),
                }
                continue;
            }
            loop {
                // Fetch what the event `LOOKAHEAD` places ahead will read, so its cache misses overlap
                // with this event's work (large networks: the tables do not fit in cache).
                if self.prefetch {
                    // In three stages, each computing its addresses from what the one before fetched.
                    if let Some(e) = self.events.fifo_ahead(3 * LOOKAHEAD) {
                        self.prefetch_stage1(e.what);
                    }
                    if let Some(e) = self.events.fifo_ahead(2 * LOOKAHEAD) {
                        self.prefetch_stage2(e.what);
                    }
                    if let Some(e) = self.events.fifo_ahead(LOOKAHEAD) {
                        self.prefetch_stage3(e.what);
                    }
                }
                // The injection stream always has a next event, so the queue is never empty.
                let Some(ev) = self.events.pop() else { return };
                self.now = ev.time();
                if ev.what == INJECT {
                    if self.inject() {
                        continue 'events;
                    }
                    continue;
                }
                if ev.what & SERVE != 0 {
                    let x = (ev.what & !SERVE) as usize;
                    let r = &mut self.routers[x];
                    r.serving = false;
                    let slot = r.head;
                    if slot == NONE {
                        continue;
                    }
                    r.head = self.packets[slot as usize].next;
                    if r.head == NONE {
                        r.tail = NONE;
                    }
                    if let Some(n) = self.qlen.get_mut(x) {
                        *n -= 1;
                    }
                    self.decide(slot);
                } else {
                    self.arrive(ev.what);
                }
                continue 'events;
            }
        }
    }

    /// The neighbour a packet in transit is sent to: its sender's neighbour number `action`.
    #[inline(always)]
    fn receiver(&self, p: &Packet) -> u32 {
        self.neighbours[p.receiver as usize]
    }

    /// Prefetch stage 1 (`3 LOOKAHEAD` events ahead): an arrival's receiver id in its sender's neighbour
    /// list; a service's router record.
    #[inline(always)]
    fn prefetch_stage1(&self, what: u32) {
        if what & SERVE != 0 {
            prefetch_range(std::slice::from_ref(&self.routers[(what & !SERVE) as usize]));
        } else {
            let i = self.packets[what as usize].receiver as usize;
            prefetch_range(&self.neighbours[i..=i]);
        }
    }

    /// Prefetch stage 2 (`2 LOOKAHEAD` events ahead): an arrival's receiver's record.
    #[inline(always)]
    fn prefetch_stage2(&self, what: u32) {
        if what & SERVE == 0 {
            let y = self.receiver(&self.packets[what as usize]);
            prefetch_range(std::slice::from_ref(&self.routers[y as usize]));
        }
    }

    /// Prefetch stage 3 (`LOOKAHEAD` events ahead): the row the deciding router reads (the receiver's reply
    /// and decision, or a queued packet's decision), its random stream if it may need it, and an arrival's
    /// sender's entry and visit count (updated at the arrival).
    #[inline(always)]
    fn prefetch_stage3(&self, what: u32) {
        if what & SERVE != 0 {
            let x = what & !SERVE;
            let head = self.routers[x as usize].head;
            if head != NONE {
                self.prefetch_decision(x, self.packets[head as usize].dest);
            }
            return;
        }
        let p = &self.packets[what as usize];
        self.prefetch_decision(self.receiver(p), p.dest);
        let i = p.base + p.obs as usize * usize::from(p.degree) + usize::from(p.action);
        prefetch_range(&self.q[i..=i]);
        if let Some(n) = self.visits.get(i..=i) {
            prefetch_range(n);
        }
    }

    /// Prefetch what `router` reads to reply about, and decide on, a packet for `dest`.
    #[inline(always)]
    fn prefetch_decision(&self, router: u32, dest: u32) {
        let r = &self.routers[router as usize];
        let degree = usize::from(r.degree);
        let row = r.base + self.interface.obs(router, dest).index() * degree;
        prefetch_range(&self.q[row..row + degree]);
        // Its random stream when the words buffered in its record may run out: the stream's index and
        // the results its next refill reads (all of it when the stream generates its next 64 words).
        if usize::from(r.draws_state & 15) + RNG_SLACK >= DRAWS {
            self.rngs[router as usize].prefetch_refill(r.draws_state >> 4);
        }
    }

    /// The injection due now (schedules its successor); returns whether a packet entered (and was routed) or
    /// was dropped.
    #[inline(always)]
    fn inject(&mut self) -> bool {
        let (gap, src, dest) = self.upcoming[0];
        let next = self.now + gap;
        self.events.schedule_inject(next, INJECT);
        self.upcoming[0] = self.upcoming[1];
        self.upcoming[1] = draw_injection(&mut self.env_rng, self.params.load, self.routers.len() as u32);
        if self.prefetch {
            // The next injection's source decides on its packet at once: fetch its row now (its record
            // was fetched at the previous injection), and the record of the source after it.
            let (_, s, d) = self.upcoming[0];
            self.prefetch_decision(s, d);
            let (_, s, _) = self.upcoming[1];
            prefetch_range(std::slice::from_ref(&self.routers[s as usize]));
        }
        let Some(slot) = self.free.pop() else {
            if self.now <= self.params.horizon {
                self.stats.total.dropped += 1;
                if self.now >= self.params.warmup {
                    self.stats.window.dropped += 1;
                }
                let t = self.now;
                self.bin(t).dropped += 1;
            }
            return false;
        };
        self.stats.injected += 1;
        let p = &mut self.packets[slot as usize];
        p.dest = dest;
        p.node = src;
        p.hops = 0;
        p.birth = self.now;
        p.arrived = self.now;
        if let Some(b) = self.back.get_mut(slot as usize) {
            b.0 = src;
        }
        // Routed at its injection instant; no service slot at the source.
        self.decide(slot);
        true
    }

    fn bin(&mut self, time: f64) -> &mut Tally {
        let k = (time / self.params.bin) as usize;
        if k >= self.stats.bins.len() {
            self.stats.bins.resize(k + 1, Tally::default());
        }
        &mut self.stats.bins[k]
    }

    /// Router `x`'s own rows, read-only.
    #[inline(always)]
    fn view(&self, x: u32) -> RouterQRef<'_> {
        let r = &self.routers[x as usize];
        RouterQRef { q: &self.q[r.base..], degree: usize::from(r.degree), actions: &self.actions }
    }

    /// The holder of the packet in `slot` picks a neighbour (step 1) and sends it (step 2).
    #[inline(always)]
    fn decide(&mut self, slot: u32) {
        let p = &self.packets[slot as usize];
        let x = p.node;
        let obs = self.interface.obs(x, p.dest);
        if !self.heard.is_empty() {
            let a = self.act_backlog(x, obs);
            self.send(slot, obs, a);
            return;
        }
        let r = &mut self.routers[x as usize];
        let view = RouterQRef { q: &self.q[r.base..], degree: usize::from(r.degree), actions: &self.actions };
        let mut rng =
            BufferedStream { words: &mut r.draws, state: &mut r.draws_state, stream: &mut self.rngs[x as usize].0 };
        let a = self.behaviour.act(&view, obs, None, &mut rng);
        self.send(slot, obs, a);
    }

    /// `reply = "backlog"`: router `x`'s greedy pick at `obs` through its neighbours' reported backlogs.
    fn act_backlog(&mut self, x: u32, obs: ObsId) -> ActionId {
        let r = &mut self.routers[x as usize];
        let degree = usize::from(r.degree);
        let start = r.neighbours as usize;
        let view = OffsetView {
            q: &self.q[r.base..],
            heard: &self.heard[start..start + degree],
            degree,
            actions: &self.actions,
        };
        let mut rng =
            BufferedStream { words: &mut r.draws, state: &mut r.draws_state, stream: &mut self.rngs[x as usize].0 };
        self.behaviour.act(&view, obs, None, &mut rng)
    }

    /// The holder of the packet in `slot`, having picked neighbour number `a` at `obs` (step 1), sends it
    /// (step 2).
    #[inline(always)]
    fn send(&mut self, slot: u32, obs: ObsId, a: ActionId) {
        let p = self.packets[slot as usize];
        let x = p.node;
        let r = &mut self.routers[x as usize];
        // A new packet is sent at its injection instant without a service slot.
        let service = p.hops != 0;
        if service {
            r.busy_until = self.now + 1.0;
        }
        let queued = !r.serving && r.head != NONE;
        if queued {
            r.serving = true;
        }
        let busy_until = r.busy_until;
        let pk = &mut self.packets[slot as usize];
        if self.wait_reply {
            // The sender's cost is counted from the send: its queueing went upstream in its own reply.
            pk.arrived = self.now;
        }
        pk.base = r.base;
        pk.obs = obs.0;
        pk.action = a.0;
        pk.degree = r.degree;
        pk.receiver = r.neighbours + u32::from(a.0);
        pk.hops += 1;
        self.stats.hops += 1;
        if !self.back.is_empty() {
            self.set_back(slot, x);
        }
        if !self.backlog.is_empty() {
            self.backlog[slot as usize] = self.wait_at(x, self.now + 1.0);
        }
        let t = self.now + 1.0;
        self.events.schedule(t, slot);
        if queued {
            let t = busy_until.max(self.now);
            self.events.schedule(t, SERVE | x);
        }
    }

    /// `header = "backward"`: sender `x` writes into the packet in `slot` its estimate of the time from a
    /// packet's arrival at `x` to the packet's source (IC-Q sign: 0 when `x` is the source), as its reply
    /// would say it.
    fn set_back(&mut self, slot: u32, x: u32) {
        let src = self.back[slot as usize].0;
        let v = if src == x {
            0.0
        } else {
            let obs = self.interface.obs(x, src);
            if !self.heard.is_empty() {
                // Its backlog travels in the header too: the estimate from its send on.
                icq::reply(&self.offset_view(x), obs).value()
            } else {
                // The wait a packet sent back now would have at `x`, one transit from now.
                let wait = if self.wait_reply { self.wait_at(x, self.now + 1.0) } else { 0.0 };
                icq::reply(&self.view(x), obs).value() - wait
            }
        };
        self.back[slot as usize].1 = v;
    }

    /// `header = "backward"`: receiver `y` reads the packet's header and updates its own entry for (the
    /// packet's source, the sender `x`) towards the transit cost plus the sender's estimate.
    fn learn_back(&mut self, slot: u32, x: u32, y: u32) {
        let (src, back) = self.back[slot as usize];
        if src == y || x == y {
            return;
        }
        let Some(k) = self.topology.link_index(y, x) else { return };
        let r = &self.routers[y as usize];
        let (base, degree) = (r.base, usize::from(r.degree));
        let obs = self.interface.obs(y, src);
        let t = Transition { obs, action: ActionId(k as u16), reward: -1.0, duration: 1 };
        let mut own = RouterQ {
            q: &mut self.q[base..],
            visits: if self.visits.is_empty() { &mut [] } else { &mut self.visits[base..] },
            degree,
            step: &self.step,
            actions: &self.actions,
        };
        icq::learn(&mut own, &t, 1.0, Scalar::from_wire(back));
        self.train.handoffs += 1;
    }

    /// The packet in `slot` reaches its neighbour: the receiver replies (step 3), the sender learns (step 4).
    #[inline(always)]
    fn arrive(&mut self, slot: u32) {
        let p = self.packets[slot as usize];
        let (x, y) = (p.node, self.receiver(&p));
        if !self.heard.is_empty() && x != y {
            if let Some(k) = self.topology.link_index(y, x) {
                let i = self.routers[y as usize].neighbours as usize + k;
                self.heard[i] = self.backlog[slot as usize];
            }
        }
        if !self.back.is_empty() {
            self.learn_back(slot, x, y);
        }
        let spent = self.now - p.arrived;
        let reward = match (self.params.source_cost, p.hops) {
            (SourceCost::TargetOnly, 1) => 0.0,
            _ => -spent,
        };
        let v = if y == p.dest {
            self.packets[slot as usize].node = y;
            self.finish(slot);
            Scalar::TERMINAL
        } else {
            // The receiver observes the packet as it arrives (before it joins the queue).
            let obs = self.interface.obs(y, p.dest);
            let wait = if self.wait_reply { self.wait(y) } else { 0.0 };
            let now = self.now;
            let pk = &mut self.packets[slot as usize];
            pk.node = y;
            pk.arrived = now;
            let idle = self.enter(slot, y);
            self.train.transfers += 1;
            self.train.scalars += 1;
            if !self.heard.is_empty() {
                // The receiver's estimate from its send on, through its neighbours' reported backlogs; an
                // idle receiver decides at once (the sender's update touches only the sender's table).
                let v = icq::reply(&self.offset_view(y), obs);
                if idle {
                    self.then_decide = Some((slot, None));
                }
                v
            } else if idle && x != y {
                // The receiver decides on the packet at once, and nothing changes its table before that
                // (the sender's update touches only the sender's own): its reply and its pick in one pass,
                // the same scalar, action and draws as a reply now and a decision after the update.
                let r = &mut self.routers[y as usize];
                let view = RouterQRef { q: &self.q[r.base..], degree: usize::from(r.degree), actions: &self.actions };
                let mut rng = BufferedStream {
                    words: &mut r.draws,
                    state: &mut r.draws_state,
                    stream: &mut self.rngs[y as usize].0,
                };
                let (v, a) = self.behaviour.reply_and_act(&view, obs, &mut rng);
                self.then_decide = Some((slot, Some((obs, a))));
                // An idle receiver: no wait.
                v
            } else {
                if idle {
                    // (A link from a router to itself: its update could change the row it decides on.)
                    self.then_decide = Some((slot, None));
                }
                let v = icq::reply(&self.view(y), obs);
                if self.wait_reply {
                    // The receiver's reply from its own observation (destination, backlog): the packet's
                    // wait here plus its best estimate from its send on.
                    Scalar::from_wire(v.value() - wait)
                } else {
                    v
                }
            }
        };
        let t = Transition { obs: ObsId(p.obs), action: ActionId(p.action), reward, duration: 1 };
        let (base, degree) = (p.base, usize::from(p.degree));
        let mut own = RouterQ {
            q: &mut self.q[base..],
            visits: if self.visits.is_empty() { &mut [] } else { &mut self.visits[base..] },
            degree,
            step: &self.step,
            actions: &self.actions,
        };
        // Discount 1: gamma^tau = 1 whatever tau is.
        icq::learn(&mut own, &t, 1.0, v);
        self.train.handoffs += 1;
    }

    /// The packet in `slot` enters router `y`: returns `true` when `y` is idle (the caller has it decide at
    /// once), else queues it.
    #[inline(always)]
    fn enter(&mut self, slot: u32, y: u32) -> bool {
        let now = self.now;
        let r = &mut self.routers[y as usize];
        if !r.serving && r.busy_until <= now {
            return true;
        }
        self.packets[slot as usize].next = NONE;
        if let Some(n) = self.qlen.get_mut(y as usize) {
            *n += 1;
        }
        let r = &mut self.routers[y as usize];
        if r.tail == NONE {
            r.head = slot;
        } else {
            self.packets[r.tail as usize].next = slot;
        }
        r.tail = slot;
        if !r.serving {
            r.serving = true;
            let t = r.busy_until;
            self.events.schedule(t, SERVE | y);
        }
        false
    }

    /// Count a delivered packet and free its slot.
    fn finish(&mut self, slot: u32) {
        let p = self.packets[slot as usize];
        let t = self.now;
        if t <= self.params.horizon {
            let age = t - p.birth;
            self.stats.total.deliver(age, p.hops);
            if t >= self.params.warmup {
                self.stats.window.deliver(age, p.hops);
            }
            self.bin(t).deliver(age, p.hops);
        }
        self.free.push(slot);
    }
}

/// Ask the kernel to back `data` with 2 MB pages where it can (Linux, transparent huge pages in `madvise`
/// mode): a 10^4-router table spans hundreds of MB, and with 4 kB pages nearly every hop also misses the
/// TLB. Call before first writing to `data`. A hint: failure is ignored and results never depend on it.
fn advise_huge_pages<T>(data: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = data.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(data);
        let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if last > first {
            // SAFETY: the range lies inside `data`'s allocation, and MADV_HUGEPAGE changes no contents.
            let _ = unsafe { libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

/// The next injection from the environment's stream, in `Network`'s order: the gap to the injection after
/// it (exponential, rate `load`), then its source and its destination (uniform, distinct) among `n` routers.
#[inline(always)]
fn draw_injection(rng: &mut Rng, load: f64, n: u32) -> (f64, u32, u32) {
    let gap = sample_exp(rng, load);
    let src = uniform_index(rng, n as usize) as u32;
    let mut dest = uniform_index(rng, n as usize - 1) as u32;
    if dest >= src {
        dest += 1;
    }
    (gap, src, dest)
}

/// A router's random stream is prefetched when at most this many of its buffered words are left (a
/// decision draws 3.1 words on average on the 10^4-router network).
const RNG_SLACK: usize = 4;

/// A router's random stream, alone in its cache lines.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct AlignedRng(Rng);

impl AlignedRng {
    /// Prefetch what the next refill of 8 words reads, the `refills`-th (mod 16) since the start. A hint
    /// that relies on `rand_chacha` 0.9's layout of `ChaCha8Rng` (64 words of results at offset 0, the
    /// index at byte 304, the key after the results): a refill reads the index and 32 bytes of results,
    /// or, every 8 refills, generates 64 new words (the whole generator). Results never depend on it.
    #[inline(always)]
    fn prefetch_refill(&self, refills: u8) {
        let bytes: &[u8] = {
            let ptr = (self as *const AlignedRng).cast::<u8>();
            // SAFETY: the whole of `self`, read as bytes only for its address (no value is read).
            unsafe { std::slice::from_raw_parts(ptr, std::mem::size_of::<AlignedRng>()) }
        };
        if refills.is_multiple_of(8) {
            prefetch_range(bytes);
        } else {
            let results = usize::from(refills % 8) * 32;
            prefetch_range(&bytes[results..results + 32]);
            prefetch_range(&bytes[304..312]);
        }
    }
}

/// Tables larger than this many bytes are prefetched ahead.
const PREFETCH_ABOVE: usize = 8 << 20;

/// How many events ahead [`FusedQRouting::prefetch`] looks.
const LOOKAHEAD: usize = 8;

/// Ask the CPU to bring every cache line of `data` closer (a hint; no effect on results).
#[inline(always)]
fn prefetch_range<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = data.as_ptr().cast::<i8>();
        let bytes = std::mem::size_of_val(data);
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: a prefetch is a hint that never faults; the address lies inside `data`.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.add(offset));
            }
            offset += 64;
        }
        if bytes > 0 {
            // The last line, when `data` straddles one more line than `bytes / 64` counts.
            #[allow(unused_unsafe)]
            // SAFETY: as above; the last byte of `data`.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.add(bytes - 1));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
