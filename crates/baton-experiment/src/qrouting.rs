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
    dest: u32,
    /// Router holding the packet (queued there, or sending from there).
    node: u32,
    /// Neighbour the packet is in transit to.
    to: u32,
    hops: u32,
    birth: f64,
    /// When it arrived at `node` (or was injected there).
    arrived: f64,
    /// The sender's open record: its observation and action.
    obs: u32,
    action: u16,
    /// Next packet in the same router's FIFO.
    next: u32,
}

#[derive(Clone, Copy, Debug)]
struct Router {
    /// Time until which the router's server is busy.
    busy_until: f64,
    /// FIFO of waiting packets (slots), linked through `Packet::next`.
    head: u32,
    tail: u32,
    /// Whether a `Serve` event is pending.
    serving: bool,
    degree: u16,
    /// Start of the router's rows in the shared table.
    base: usize,
    /// Start of its neighbour list in the topology.
    neighbours: u32,
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
    rngs: Vec<Rng>,
    env_rng: Rng,
    packets: Vec<Packet>,
    free: Vec<u32>,
    now: f64,
    /// The same event queue as the `Env`'s (`baton_envs::routing::events`); payload: a packet slot
    /// (arrival), `SERVE | router`, or `INJECT`.
    events: EventQueue<u32>,
    /// A decision owed right after the arrival just processed (the receiver was idle).
    then_decide: Option<u32>,
    stats: NetStats,
    train: TrainStats,
    /// Whether to prefetch ahead (tables too large for the caches; on small networks it only costs).
    prefetch: bool,
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
                head: NONE,
                tail: NONE,
                serving: false,
                degree: degree as u16,
                base,
                neighbours: neighbours.len() as u32,
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
        let rngs = (0..n).map(|i| stream(seed, Stream::Agent(i as u16))).collect();
        let mut env_rng = stream(seed, Stream::Env);
        // As `Network::reset`: the first injection is the first event scheduled (seq 1).
        let first = sample_exp(&mut env_rng, params.load);
        let mut events = EventQueue::with_capacity(2 * cap + 16);
        events.schedule_inject(first, INJECT);
        let packet =
            Packet { dest: 0, node: 0, to: 0, hops: 0, birth: 0.0, arrived: 0.0, obs: 0, action: 0, next: NONE };
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
            packets: vec![packet; cap],
            free: (0..cap as u32).rev().collect(),
            now: 0.0,
            events,
            then_decide: None,
            stats: NetStats::default(),
            train: TrainStats::default(),
            prefetch,
            params,
        })
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
            if let Some(slot) = self.then_decide.take() {
                self.decide(slot);
                continue;
            }
            loop {
                // Fetch what the event `LOOKAHEAD` places ahead will read, so its cache misses overlap
                // with this event's work (large networks: the tables do not fit in cache).
                if self.prefetch {
                    if let Some(ahead) = self.events.fifo_ahead(LOOKAHEAD) {
                        self.prefetch(ahead.what);
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
                    self.decide(slot);
                } else {
                    self.arrive(ev.what);
                }
                continue 'events;
            }
        }
    }

    /// Prefetch the table rows, visit counts and router state that the event with payload `what` will read.
    #[inline(always)]
    fn prefetch(&self, what: u32) {
        let (router, dest, own) = if what & SERVE != 0 {
            let x = what & !SERVE;
            let head = self.routers[x as usize].head;
            if head == NONE {
                return;
            }
            (x, self.packets[head as usize].dest, None)
        } else {
            let p = &self.packets[what as usize];
            (p.to, p.dest, Some(p))
        };
        let r = &self.routers[router as usize];
        let degree = usize::from(r.degree);
        let row = r.base + self.interface.obs(router, dest).index() * degree;
        prefetch_range(&self.q[row..row + degree]);
        // The router decides on it: its neighbour list and its own random stream (ties).
        prefetch_range(&self.neighbours[r.neighbours as usize..r.neighbours as usize + degree]);
        prefetch_range(std::slice::from_ref(&self.rngs[router as usize]));
        if let Some(p) = own {
            // The sender's entry, updated when the packet arrives.
            let i = self.routers[p.node as usize].base
                + p.obs as usize * usize::from(self.routers[p.node as usize].degree)
                + usize::from(p.action);
            prefetch_range(&self.q[i..=i]);
            if let Some(n) = self.visits.get(i..=i) {
                prefetch_range(n);
            }
        }
    }

    /// The injection due now (schedules its successor); returns whether a packet entered (and was routed) or
    /// was dropped.
    #[inline(always)]
    fn inject(&mut self) -> bool {
        let next = self.now + sample_exp(&mut self.env_rng, self.params.load);
        self.events.schedule_inject(next, INJECT);
        let n = self.routers.len();
        let src = uniform_index(&mut self.env_rng, n);
        let mut dest = uniform_index(&mut self.env_rng, n - 1);
        if dest >= src {
            dest += 1;
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
        p.dest = dest as u32;
        p.node = src as u32;
        p.to = src as u32;
        p.hops = 0;
        p.birth = self.now;
        p.arrived = self.now;
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
        let p = self.packets[slot as usize];
        let x = p.node;
        let obs = self.interface.obs(x, p.dest);
        let r = &mut self.routers[x as usize];
        let view = RouterQRef { q: &self.q[r.base..], degree: usize::from(r.degree), actions: &self.actions };
        let a = self.behaviour.act(&view, obs, None, &mut self.rngs[x as usize]);
        let y = self.neighbours[r.neighbours as usize + a.index()];
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
        pk.obs = obs.0;
        pk.action = a.0;
        pk.to = y;
        pk.hops += 1;
        self.stats.hops += 1;
        let t = self.now + 1.0;
        self.events.schedule(t, slot);
        if queued {
            let t = busy_until.max(self.now);
            self.events.schedule(t, SERVE | x);
        }
    }

    /// The packet in `slot` reaches its neighbour: the receiver replies (step 3), the sender learns (step 4).
    #[inline(always)]
    fn arrive(&mut self, slot: u32) {
        let p = self.packets[slot as usize];
        let (x, y) = (p.node, p.to);
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
            let now = self.now;
            let pk = &mut self.packets[slot as usize];
            pk.node = y;
            pk.arrived = now;
            self.enter(slot, y);
            self.train.transfers += 1;
            self.train.scalars += 1;
            icq::reply(&self.view(y), obs)
        };
        let t = Transition { obs: ObsId(p.obs), action: ActionId(p.action), reward, duration: 1 };
        let r = &self.routers[x as usize];
        let (base, degree) = (r.base, usize::from(r.degree));
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

    /// The packet in `slot` enters router `y`: decided at once when `y` is idle, else queued.
    #[inline(always)]
    fn enter(&mut self, slot: u32, y: u32) {
        let now = self.now;
        let r = &mut self.routers[y as usize];
        if !r.serving && r.busy_until <= now {
            self.then_decide = Some(slot);
            return;
        }
        self.packets[slot as usize].next = NONE;
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
    }

    /// Count a delivered packet and free its slot.
    fn finish(&mut self, slot: u32) {
        let p = self.packets[slot as usize];
        let t = self.now;
        if t <= self.params.horizon {
            let age = t - p.birth;
            let deliver = |tally: &mut Tally| {
                tally.delivered += 1;
                tally.total_time += age;
                tally.total_hops += u64::from(p.hops);
            };
            deliver(&mut self.stats.total);
            if t >= self.params.warmup {
                deliver(&mut self.stats.window);
            }
            deliver(self.bin(t));
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
