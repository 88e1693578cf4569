//! The network simulator of model.md 6.2 (Boyan & Littman 1993) as an [`Env`] with many artifacts in flight.
//!
//! - Continuous time, discrete events. One network-wide Poisson stream of packets at rate `load`; source
//!   and destination uniform and distinct. At most `max_in_flight` packets in the network: an injection
//!   beyond that is dropped and counted.
//! - Every router serves its FIFO queue at one packet per time unit; a hop (transit) takes one time unit.
//! - A newly injected packet is routed at its injection instant and takes no service slot at its source; a
//!   packet sent to the neighbour that is its destination is delivered one time unit later. So at zero
//!   load a packet's delivery time equals its hop count.
//!
//! As an IC-SMDP: routers are agents, each packet is an artifact (`ArtifactId` = its slot), a router
//! observes the packet's destination (its interface) and nothing else, an action is the neighbour to send
//! to, and the option's cost is the time the packet spent at the sender: queueing `q` plus transit `s`.
//! Rewards are costs negated (`R = -(q + s)`, discount 1), so `max_a Q` of IC-Q is exactly `min_y Q` of
//! Q-routing with `Q_routing = -Q`; the receiver's one scalar is its estimate of the remaining delivery
//! time (negated). Delivery at the destination ends the artifact's episode (`t = 0`).
//!
//! The simulator also keeps what the evaluation needs (deliveries by time bin, hop counts, drops) and
//! exposes the global state (queue lengths) only through [`Network::oracle_action`], the centralized
//! baseline; learners never see it.

use std::collections::VecDeque;
use std::sync::Arc;

use baton_core::rng::uniform_index;
use baton_core::Rng;

use super::events::{sample_exp, EventQueue};
use baton_core::{
    ActionId, AgentId, AgentSpec, ArtifactId, Decision, Env, EnvSpec, Event, Handoff, Legal, Next, ObsId,
};
use rand::Rng as _;

use super::oracle::{choose, OracleSearch, Sources, View};
use super::topology::Topology;

/// Stable id of the environment.
pub const ENV_ID: &str = "routing-v0";

/// What a router observes of a packet.
#[derive(Clone, Debug, PartialEq)]
pub enum Interface {
    /// The exact destination (Q-routing): observation = destination id.
    Destination,
    /// Hierarchical addressing for large networks: a router sees the destination's region, or the exact
    /// destination when it lies in the router's own region. `region[node]` in `0..regions`.
    Region {
        /// Number of regions.
        regions: u32,
        /// Region of every node.
        region: Vec<u32>,
        /// Index of every node within its region.
        local: Vec<u32>,
        /// Size of every region.
        sizes: Vec<u32>,
    },
}

impl Interface {
    /// Region interface from a partition (`region[node] < regions`, every region non-empty).
    pub fn regions(region: Vec<u32>) -> Self {
        let regions = region.iter().copied().max().map_or(0, |m| m + 1);
        let mut sizes = vec![0u32; regions as usize];
        let mut local = vec![0u32; region.len()];
        for (v, &r) in region.iter().enumerate() {
            local[v] = sizes[r as usize];
            sizes[r as usize] += 1;
        }
        Interface::Region { regions, region, local, sizes }
    }

    /// Number of observations of router `node` in a network of `n` routers.
    pub fn n_obs(&self, n: u32, node: u32) -> u32 {
        match self {
            Interface::Destination => n,
            Interface::Region { regions, region, sizes, .. } => regions + sizes[region[node as usize] as usize],
        }
    }

    /// What router `node` observes of a packet for `dest`.
    #[inline(always)]
    pub fn obs(&self, node: u32, dest: u32) -> ObsId {
        match self {
            Interface::Destination => ObsId(dest),
            Interface::Region { regions, region, local, .. } => {
                let rd = region[dest as usize];
                if rd == region[node as usize] {
                    ObsId(regions + local[dest as usize])
                } else {
                    ObsId(rd)
                }
            }
        }
    }
}

/// What a packet needs from the network.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// Reach its destination router (packet routing).
    Deliver,
    /// Be served by a router holding its skill (skill routing, model.md 6.2's second scenario).
    Skills(Arc<Skills>),
}

/// Skill routing: requests carry a required skill; only routers holding it can finish them.
///
/// A router observes the request's skill (its interface) and its own queue length in buckets (private
/// state). Its actions are its neighbours plus `serve` (the last action). Serving takes `work` time units of
/// the router's server; served by a router without the skill, the request fails (cost `penalty`). A request
/// still unserved after `max_hops` hops fails too.
#[derive(Clone, Debug, PartialEq)]
pub struct Skills {
    /// Number of skills `K` (at most 64).
    pub n_skills: u32,
    /// Per router, the skills it holds, as a bit set.
    pub holds: Vec<u64>,
    /// Service time of a request at the router that serves it.
    pub work: f64,
    /// Cost of a failed request (served without the skill, or out of hops).
    pub penalty: f64,
    /// Hops after which an unserved request fails.
    pub max_hops: u32,
    /// Queue-length buckets of the private state: lengths `0..B-1`, and `B-1` or more.
    pub queue_buckets: u32,
}

impl Skills {
    /// Whether `router` holds `skill`.
    #[inline(always)]
    pub fn holds(&self, router: u32, skill: u32) -> bool {
        self.holds[router as usize] >> skill & 1 == 1
    }
}

/// How the source router's first-hop update is costed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceCost {
    /// model.md 6.2's update everywhere: `q + s + t` (at the source `q = 0`, `s = 1`).
    Full,
    /// Boyan & Littman's simulator: the first hop's queue and transit terms cancel, target `t` alone.
    TargetOnly,
}

/// A change of the network during a run (adaptivity scenarios).
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// From time `at`, the link `a - b` is down: a packet sent over it comes back to the sender after
    /// `penalty` time units (a timeout), and the sender holds it again.
    LinkDown {
        /// When.
        at: f64,
        /// One end.
        a: u32,
        /// The other end.
        b: u32,
        /// Time lost by a packet sent over the dead link.
        penalty: f64,
    },
    /// From time `at`, a fraction `share` of new packets go from `sources` to `destinations` (uniform
    /// within each set, distinct), the rest stay uniform.
    Traffic {
        /// When.
        at: f64,
        /// Sources of the redirected share.
        sources: Vec<u32>,
        /// Destinations of the redirected share.
        destinations: Vec<u32>,
        /// Fraction in `[0, 1]`.
        share: f64,
    },
}

impl Change {
    fn at(&self) -> f64 {
        match self {
            Change::LinkDown { at, .. } | Change::Traffic { at, .. } => *at,
        }
    }
}

/// Settings of one simulation (one load).
#[derive(Clone, Debug)]
pub struct NetworkParams {
    /// Packets per time unit injected network-wide (Poisson rate `L`).
    pub load: f64,
    /// Largest number of packets in the network at once; further injections are dropped.
    pub max_in_flight: u32,
    /// What a router observes.
    pub interface: Arc<Interface>,
    /// First-hop cost convention.
    pub source_cost: SourceCost,
    /// Deliveries from this time on count towards [`NetStats::window`].
    pub warmup: f64,
    /// Deliveries after this time are not counted at all (the run's end).
    pub horizon: f64,
    /// Width of a time-series bin.
    pub bin: f64,
    /// Scheduled changes, in time order.
    pub changes: Vec<Change>,
    /// What packets need: delivery, or a skilled server.
    pub task: Task,
}

/// Delivery statistics over a set of packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Packets delivered.
    pub delivered: u64,
    /// Sum of their delivery times.
    pub total_time: f64,
    /// Sum of their delivery times, each rounded down to a whole time unit first ([`truncated_units`]):
    /// what Boyan & Littman's simulator sums, in an integer.
    pub total_time_truncated: u64,
    /// Sum of their hop counts.
    pub total_hops: u64,
    /// Injections dropped because the network was full.
    pub dropped: u64,
    /// Skill routing: requests that failed (served without the skill, or out of hops).
    pub failed: u64,
}

impl Tally {
    /// Mean delivery time (NaN if nothing was delivered).
    pub fn mean_time(&self) -> f64 {
        self.total_time / self.delivered as f64
    }
    /// Mean delivery time with each delivery time rounded down to a whole time unit before averaging, as
    /// Boyan & Littman's simulator computes it (NaN if nothing was delivered). For comparison with their
    /// published curves only: [`Tally::mean_time`] is the true mean.
    pub fn mean_time_truncated(&self) -> f64 {
        self.total_time_truncated as f64 / self.delivered as f64
    }
    /// Mean hop count (NaN if nothing was delivered).
    pub fn mean_hops(&self) -> f64 {
        self.total_hops as f64 / self.delivered as f64
    }
    /// Skill routing: the fraction of finished requests served by a router holding their skill.
    pub fn accuracy(&self) -> f64 {
        self.delivered as f64 / (self.delivered + self.failed) as f64
    }
    /// Count one delivered packet that took `time` (injection to delivery) over `hops` hops.
    #[inline(always)]
    pub fn deliver(&mut self, time: f64, hops: u32) {
        self.delivered += 1;
        self.total_time += time;
        self.total_time_truncated += truncated_units(time);
        self.total_hops += u64::from(hops);
    }
}

/// What the simulator measured.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetStats {
    /// Deliveries (by delivery instant) and drops in `[warmup, horizon]`.
    pub window: Tally,
    /// Everything up to the horizon.
    pub total: Tally,
    /// Per time bin `[k bin, (k+1) bin)`, by delivery or drop instant.
    pub bins: Vec<Tally>,
    /// Packets injected (not dropped).
    pub injected: u64,
    /// Hops taken (router decisions executed).
    pub hops: u64,
}

#[derive(Clone, Copy, Debug)]
struct Packet {
    dest: u32,
    /// Router holding the packet (queued there, or sending from there).
    node: u32,
    /// Neighbour the packet is in transit to.
    to: u32,
    birth: f64,
    /// When it arrived at `node` (or was injected there).
    arrived: f64,
    hops: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Inject,
    /// Packet (slot) arrives at its `to` router.
    Arrive(u32),
    /// Skill routing: the router holding the request (slot) finishes serving it.
    Finish(u32),
    /// A router may send the packet at the head of its queue.
    Serve(u32),
    /// The next scheduled change takes effect.
    Change,
}

/// The network simulator. See the module documentation.
#[derive(Clone, Debug)]
pub struct Network {
    topology: Arc<Topology>,
    params: NetworkParams,
    spec: EnvSpec,
    now: f64,
    /// The event queue ([`EventQueue`]: exact `(time, scheduling order)`, most events in O(1)).
    events: EventQueue<Kind>,
    packets: Vec<Packet>,
    free: Vec<u32>,
    queues: Vec<VecDeque<u32>>,
    /// Time until which each router's server is busy.
    busy_until: Vec<f64>,
    /// Whether a `Serve` event is pending for each router.
    serving: Vec<bool>,
    /// Packets in transit towards each router (not yet arrived), for the oracle.
    incoming: Vec<u32>,
    /// Start of each router's neighbour list in the per-link arrays below.
    offsets: Vec<usize>,
    /// Per router, per neighbour index: whether the link is down.
    down: Vec<bool>,
    /// Whether any link is down (the oracle's search stops early only when none is).
    some_link_down: bool,
    /// Penalty of a dead link, per router and neighbour index.
    down_penalty: Vec<f64>,
    /// Traffic pattern: `(sources, destinations, share)` once a `Traffic` change has happened.
    traffic: Option<(Vec<u32>, Vec<u32>, f64)>,
    next_change: usize,
    /// A decision owed right after the handoff just emitted (the receiver was idle).
    then_decide: Option<u32>,
    stats: NetStats,
    /// The oracle's search and its scratch.
    oracle: OracleSearch,
}

impl Network {
    /// A network over `topology` with `params` (already validated by the caller's config).
    pub fn new(topology: Arc<Topology>, params: NetworkParams) -> Self {
        let n = topology.n_nodes();
        let agents = (0..n)
            .map(|v| {
                let nb = topology.neighbours(v);
                let mut action_names: Vec<String> = nb.iter().map(|w| format!("to-{w}")).collect();
                let n_obs = match &params.task {
                    Task::Deliver => params.interface.n_obs(n, v),
                    Task::Skills(k) => {
                        action_names.push("serve".into());
                        k.n_skills * k.queue_buckets
                    }
                };
                AgentSpec {
                    name: format!("router-{v}"),
                    n_obs,
                    n_actions: action_names.len() as u16,
                    legal: Legal::all(action_names.len() as u16),
                    action_names,
                }
            })
            .collect();
        let spec = EnvSpec { id: ENV_ID.into(), agents, discount: 1.0, max_in_flight: params.max_in_flight };
        let cap = params.max_in_flight as usize;
        let mut offsets = Vec::with_capacity(n as usize + 1);
        offsets.push(0usize);
        for v in 0..n {
            offsets.push(offsets[v as usize] + topology.degree(v));
        }
        let slots = offsets[n as usize];
        Network {
            spec,
            now: 0.0,
            events: EventQueue::with_capacity(2 * cap + 16),
            packets: vec![Packet { dest: 0, node: 0, to: 0, birth: 0.0, arrived: 0.0, hops: 0 }; cap],
            free: (0..cap as u32).rev().collect(),
            queues: vec![VecDeque::new(); n as usize],
            busy_until: vec![0.0; n as usize],
            serving: vec![false; n as usize],
            incoming: vec![0; n as usize],
            offsets,
            down: vec![false; slots],
            some_link_down: false,
            down_penalty: vec![0.0; slots],
            traffic: None,
            next_change: 0,
            then_decide: None,
            stats: NetStats::default(),
            oracle: OracleSearch::new(),
            topology,
            params,
        }
    }

    /// The current simulated time (the time of the last event processed).
    pub fn now(&self) -> f64 {
        self.now
    }

    /// What has been measured so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Packets in the network now.
    pub fn in_flight(&self) -> usize {
        self.packets.len() - self.free.len()
    }

    /// The destination of the packet in `artifact` (for heuristics that route on the destination).
    pub fn destination(&self, artifact: ArtifactId) -> u32 {
        self.packets[artifact.index()].dest
    }

    /// Where the packet in `artifact` is.
    pub fn holder(&self, artifact: ArtifactId) -> u32 {
        self.packets[artifact.index()].node
    }

    fn schedule(&mut self, time: f64, kind: Kind) {
        if kind == Kind::Inject {
            self.events.schedule_inject(time, kind);
        } else {
            self.events.schedule(time, kind);
        }
    }

    fn bin(&mut self, time: f64) -> &mut Tally {
        let k = (time / self.params.bin) as usize;
        if k >= self.stats.bins.len() {
            self.stats.bins.resize(k + 1, Tally::default());
        }
        &mut self.stats.bins[k]
    }

    /// What router `node` observes of a packet for `dest` (a destination, or a skill).
    #[inline(always)]
    fn observe(&self, node: u32, dest: u32) -> ObsId {
        match &self.params.task {
            Task::Deliver => self.params.interface.obs(node, dest),
            Task::Skills(k) => {
                let len = self.queues[node as usize].len() as u32;
                ObsId(dest * k.queue_buckets + len.min(k.queue_buckets - 1))
            }
        }
    }

    fn decide(&self, slot: u32) -> Event {
        let p = &self.packets[slot as usize];
        Event::Decide(Decision {
            artifact: ArtifactId(slot),
            agent: AgentId(p.node as u16),
            obs: self.observe(p.node, p.dest),
        })
    }

    /// The packet in `slot` enters router `y`'s queue; returns true when the router is idle and must decide
    /// on it at once (the caller emits the decision).
    fn enter(&mut self, slot: u32, y: u32) -> bool {
        let yi = y as usize;
        if !self.serving[yi] && self.busy_until[yi] <= self.now {
            return true;
        }
        self.queues[yi].push_back(slot);
        if !self.serving[yi] {
            self.serving[yi] = true;
            let t = self.busy_until[yi];
            self.schedule(t, Kind::Serve(y));
        }
        false
    }

    /// Count a finished packet: delivered (or served by a skilled router) or failed.
    fn finish(&mut self, slot: u32, success: bool) {
        let p = self.packets[slot as usize];
        let t = self.now;
        if t <= self.params.horizon {
            let age = t - p.birth;
            let in_window = t >= self.params.warmup;
            if success {
                self.stats.total.deliver(age, p.hops);
                if in_window {
                    self.stats.window.deliver(age, p.hops);
                }
                self.bin(t).deliver(age, p.hops);
            } else {
                self.stats.total.failed += 1;
                if in_window {
                    self.stats.window.failed += 1;
                }
                self.bin(t).failed += 1;
            }
        }
        self.free.push(slot);
    }

    fn pick_endpoints(&self, rng: &mut Rng) -> (u32, u32) {
        let n = self.topology.n_nodes() as usize;
        if let Task::Skills(k) = &self.params.task {
            // A request: a uniform source router and a uniform required skill.
            let s = uniform_index(rng, n) as u32;
            return (s, uniform_index(rng, k.n_skills as usize) as u32);
        }
        if let Some((sources, destinations, share)) = &self.traffic {
            if rng.random::<f64>() < *share {
                loop {
                    let s = sources[uniform_index(rng, sources.len())];
                    let d = destinations[uniform_index(rng, destinations.len())];
                    if s != d {
                        return (s, d);
                    }
                }
            }
        }
        let s = uniform_index(rng, n);
        let mut d = uniform_index(rng, n - 1);
        if d >= s {
            d += 1;
        }
        (s as u32, d as u32)
    }

    fn apply_change(&mut self) {
        let change = self.params.changes[self.next_change].clone();
        self.next_change += 1;
        match change {
            Change::LinkDown { a, b, penalty, .. } => {
                for (x, y) in [(a, b), (b, a)] {
                    if let Some(k) = self.topology.link_index(x, y) {
                        let i = self.offsets[x as usize] + k;
                        self.down[i] = true;
                        self.some_link_down = true;
                        self.down_penalty[i] = penalty;
                    }
                }
            }
            Change::Traffic { sources, destinations, share, .. } => {
                self.traffic = Some((sources, destinations, share));
            }
        }
        if let Some(next) = self.params.changes.get(self.next_change) {
            let at = next.at();
            self.schedule(at, Kind::Change);
        }
    }

    /// Hop-count initial estimates for router `agent`'s table, row-major over (observation, neighbour), in
    /// IC-Q's sign (costs negated): `-(1 + hops(y, destination))` for neighbour `y`, `-1` when `y` is the
    /// destination. For a region observation, the hops to the nearest router of that region; for an exact
    /// destination in the router's own region, the hops inside that region. This is what a hop-count
    /// distance-vector protocol would give a router; the queues are left to learning.
    pub fn hop_prior(&self, table: &HopTable, agent: u32) -> Vec<f64> {
        let nb = self.topology.neighbours(agent);
        let n_obs = self.spec.agents[agent as usize].n_obs as usize;
        let mut out = Vec::with_capacity(n_obs * nb.len());
        for o in 0..n_obs as u32 {
            for &y in nb {
                out.push(-(1.0 + f64::from(table.hops(&self.params.interface, agent, o, y))));
            }
        }
        out
    }

    /// The centralized oracle's action for the packet in `artifact` (held by the router now deciding): a
    /// full-information heuristic that sees every queue, not a learner.
    ///
    /// It knows the topology, which links are down (it never uses one), every queue's length and every
    /// packet in transit. It sends the packet to the neighbour minimising the estimated remaining delivery
    /// time, where a packet arriving at router `z` is estimated to wait `queue(z) + incoming(z)` time units
    /// and then take one unit per hop: a shortest-path computation on the current global state at every hop
    /// ([`super::oracle`]: Dijkstra from the destination guided by a hop-count potential, exact). Ties are
    /// broken uniformly at random.
    pub fn oracle_action(&mut self, artifact: ArtifactId, rng: &mut Rng) -> ActionId {
        let p = self.packets[artifact.index()];
        // dist(z) = time from z's arrival to delivery. Skill routing: from every router holding the skill,
        // its wait plus the work.
        let queues = &self.queues;
        let incoming = &self.incoming;
        let view = View {
            topology: &self.topology,
            down: &self.down,
            wait: |z: u32| queues[z as usize].len() as u32 + incoming[z as usize],
        };
        let skills = match &self.params.task {
            Task::Deliver => None,
            Task::Skills(k) => Some(Arc::clone(k)),
        };
        let x = p.node;
        match &skills {
            None => self.oracle.search(&view, x, Sources::Destination(p.dest), self.some_link_down),
            Some(k) => {
                let holds = |z: u32| k.holds(z, p.dest);
                self.oracle.search(&view, x, Sources::Holders { holds: &holds, work: k.work }, self.some_link_down);
            }
        }
        // Skill routing: serving here costs the work, plus the penalty without the skill.
        let serve = skills.map(|k| k.work + if k.holds(x, p.dest) { 0.0 } else { k.penalty });
        let oracle = &self.oracle;
        choose(&self.topology, &self.down, x, serve, |y| oracle.distance(y), rng)
    }
}

impl Env for Network {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, rng: &mut Rng) {
        let n = self.topology.n_nodes() as usize;
        let cap = self.params.max_in_flight;
        self.now = 0.0;
        self.events.clear();
        self.free = (0..cap).rev().collect();
        self.queues.iter_mut().for_each(VecDeque::clear);
        self.busy_until = vec![0.0; n];
        self.serving = vec![false; n];
        self.incoming = vec![0; n];
        self.down.fill(false);
        self.some_link_down = false;
        self.traffic = None;
        self.next_change = 0;
        self.then_decide = None;
        self.stats = NetStats::default();
        let first = sample_exp(rng, self.params.load);
        self.schedule(first, Kind::Inject);
        if let Some(c) = self.params.changes.first() {
            let at = c.at();
            self.schedule(at, Kind::Change);
        }
    }

    fn next_event(&mut self, rng: &mut Rng) -> Event {
        if let Some(slot) = self.then_decide.take() {
            return self.decide(slot);
        }
        loop {
            let Some(ev) = self.events.pop() else {
                // Cannot happen: the injection stream always has a next event.
                unreachable!("the injection stream always schedules its successor");
            };
            self.now = ev.time();
            match ev.what {
                Kind::Inject => {
                    let next = self.now + sample_exp(rng, self.params.load);
                    self.schedule(next, Kind::Inject);
                    let (src, dest) = self.pick_endpoints(rng);
                    let Some(slot) = self.free.pop() else {
                        if self.now <= self.params.horizon {
                            self.stats.total.dropped += 1;
                            if self.now >= self.params.warmup {
                                self.stats.window.dropped += 1;
                            }
                            let t = self.now;
                            self.bin(t).dropped += 1;
                        } else if let Some(t) = self.events.next_other_time().filter(|&t| t > next) {
                            // Past the horizon nothing is measured, and with every slot held (say by requests
                            // served for a long time) each injection would only be dropped: skip to the next
                            // event that frees one, so that the caller sees an event past its horizon and stops.
                            self.schedule(t, Kind::Inject);
                        }
                        continue;
                    };
                    self.stats.injected += 1;
                    self.packets[slot as usize] =
                        Packet { dest, node: src, to: src, birth: self.now, arrived: self.now, hops: 0 };
                    match self.params.task {
                        // Routed at its injection instant; no service slot at the source.
                        Task::Deliver => return self.decide(slot),
                        // A request arrives at its source router like any other.
                        Task::Skills(_) => {
                            if self.enter(slot, src) {
                                return self.decide(slot);
                            }
                            continue;
                        }
                    }
                }
                Kind::Serve(x) => {
                    // The router's server is free: it decides on the packet at the head of its queue (and `act`
                    // books the server and schedules the next `Serve`).
                    self.serving[x as usize] = false;
                    let Some(slot) = self.queues[x as usize].pop_front() else { continue };
                    return self.decide(slot);
                }
                Kind::Finish(slot) => {
                    let p = self.packets[slot as usize];
                    let Task::Skills(k) = &self.params.task else { unreachable!("Finish only in skill routing") };
                    let success = k.holds(p.node, p.dest);
                    let penalty = if success { 0.0 } else { k.penalty };
                    let spent = self.now - p.arrived;
                    self.finish(slot, success);
                    return Event::Handoff(Handoff {
                        artifact: ArtifactId(slot),
                        sender: AgentId(p.node as u16),
                        reward: -spent - penalty,
                        duration: whole_units(spent),
                        next: Next::Terminated,
                    });
                }
                Kind::Arrive(slot) => {
                    let p = self.packets[slot as usize];
                    let (x, y) = (p.node, p.to);
                    let spent = self.now - p.arrived;
                    let reward = match (self.params.source_cost, p.hops) {
                        (SourceCost::TargetOnly, 1) if x != y => 0.0,
                        _ => -spent,
                    };
                    let duration = whole_units(spent);
                    let artifact = ArtifactId(slot);
                    let sender = AgentId(x as u16);
                    if y == x {
                        // Came back over a dead link: the sender holds it again, at the head of its queue.
                        let pk = &mut self.packets[slot as usize];
                        pk.arrived = self.now;
                        self.then_decide = Some(slot);
                        let obs = self.observe(x, p.dest);
                        return Event::Handoff(Handoff {
                            artifact,
                            sender,
                            reward,
                            duration,
                            next: Next::To { agent: sender, obs },
                        });
                    }
                    self.incoming[y as usize] -= 1;
                    let ended = match &self.params.task {
                        Task::Deliver => (y == p.dest).then_some((true, reward)),
                        Task::Skills(k) => (p.hops >= k.max_hops).then_some((false, reward - k.penalty)),
                    };
                    if let Some((success, reward)) = ended {
                        self.packets[slot as usize].node = y;
                        self.finish(slot, success);
                        return Event::Handoff(Handoff { artifact, sender, reward, duration, next: Next::Terminated });
                    }
                    // The receiver observes the packet as it arrives (before it joins the queue).
                    let obs = self.observe(y, p.dest);
                    let pk = &mut self.packets[slot as usize];
                    pk.node = y;
                    pk.arrived = self.now;
                    if self.enter(slot, y) {
                        // Idle router, empty queue: it decides on the packet at once.
                        self.then_decide = Some(slot);
                    }
                    return Event::Handoff(Handoff {
                        artifact,
                        sender,
                        reward,
                        duration,
                        next: Next::To { agent: AgentId(y as u16), obs },
                    });
                }
                Kind::Change => self.apply_change(),
            }
        }
    }

    fn act(&mut self, artifact: ArtifactId, action: ActionId, _rng: &mut Rng) {
        let slot = artifact.0;
        let p = &mut self.packets[slot as usize];
        let x = p.node;
        let k = action.index();
        let degree = self.offsets[x as usize + 1] - self.offsets[x as usize];
        // Time the router's server is busy with this packet.
        let service = if k == degree {
            // Skill routing's `serve`: the router works on the request itself.
            let Task::Skills(skills) = &self.params.task else { unreachable!("serve only in skill routing") };
            let work = skills.work;
            self.schedule(self.now + work, Kind::Finish(slot));
            work
        } else {
            let i = self.offsets[x as usize] + k;
            let y = self.topology.neighbours(x)[k];
            // Packet routing: a new packet is sent at its injection instant without a service slot.
            let service = if p.hops == 0 && matches!(self.params.task, Task::Deliver) { 0.0 } else { 1.0 };
            p.hops += 1;
            self.stats.hops += 1;
            if self.down[i] {
                // Dead link: the packet times out and comes back to the sender.
                p.to = x;
                let t = self.now + self.down_penalty[i];
                self.schedule(t, Kind::Arrive(slot));
            } else {
                p.to = y;
                self.incoming[y as usize] += 1;
                let t = self.now + 1.0;
                self.schedule(t, Kind::Arrive(slot));
            }
            service
        };
        let xi = x as usize;
        if service > 0.0 {
            self.busy_until[xi] = self.now + service;
        }
        if !self.serving[xi] && !self.queues[xi].is_empty() {
            self.serving[xi] = true;
            let t = self.busy_until[xi].max(self.now);
            self.schedule(t, Kind::Serve(x));
        }
    }
}

/// Hop distances a router's prior needs, for either interface (see [`Network::hop_prior`]).
#[derive(Clone, Debug)]
pub struct HopTable {
    /// Destination interface: `dist[d * n + v]`. Region interface: `dist[r * n + v]`, hops from `v` to the
    /// nearest router of region `r`.
    dist: Vec<u16>,
    n: usize,
    /// Region interface: per region, hops between its routers over the region's own links (row-major by
    /// local index).
    local: Vec<Vec<u16>>,
}

impl HopTable {
    /// Breadth-first searches over `topology` for `interface`: one per destination, or one per region plus
    /// one inside each region per router.
    pub fn new(topology: &Topology, interface: &Interface) -> Self {
        let n = topology.n_nodes() as usize;
        let sat = |d: u32| d.min(u32::from(u16::MAX)) as u16;
        match interface {
            Interface::Destination => {
                let mut dist = Vec::with_capacity(n * n);
                for d in 0..n as u32 {
                    dist.extend(topology.hop_distances(d).into_iter().map(sat));
                }
                HopTable { dist, n, local: Vec::new() }
            }
            Interface::Region { regions, region, local, sizes } => {
                let r = *regions as usize;
                let mut members: Vec<Vec<u32>> = vec![Vec::new(); r];
                for (v, &g) in region.iter().enumerate() {
                    members[g as usize].push(v as u32);
                }
                let mut dist = vec![u16::MAX; r * n];
                let mut queue = std::collections::VecDeque::new();
                for (g, m) in members.iter().enumerate() {
                    let row = &mut dist[g * n..(g + 1) * n];
                    queue.clear();
                    for &v in m {
                        row[v as usize] = 0;
                        queue.push_back(v);
                    }
                    while let Some(u) = queue.pop_front() {
                        let du = row[u as usize];
                        for &w in topology.neighbours(u) {
                            if row[w as usize] == u16::MAX {
                                row[w as usize] = du.saturating_add(1);
                                queue.push_back(w);
                            }
                        }
                    }
                }
                // Inside each region: BFS from every member over the region's own routers.
                let mut local_dist: Vec<Vec<u16>> = Vec::with_capacity(r);
                for (g, m) in members.iter().enumerate() {
                    let k = sizes[g] as usize;
                    let mut table = vec![u16::MAX; k * k];
                    for &src in m {
                        let base = local[src as usize] as usize * k;
                        table[base + local[src as usize] as usize] = 0;
                        queue.clear();
                        queue.push_back(src);
                        while let Some(u) = queue.pop_front() {
                            let du = table[base + local[u as usize] as usize];
                            for &w in topology.neighbours(u) {
                                if region[w as usize] as usize == g
                                    && table[base + local[w as usize] as usize] == u16::MAX
                                {
                                    table[base + local[w as usize] as usize] = du.saturating_add(1);
                                    queue.push_back(w);
                                }
                            }
                        }
                    }
                    local_dist.push(table);
                }
                HopTable { dist, n, local: local_dist }
            }
        }
    }

    /// Hops from neighbour `y` of router `x` to what `x` observes as `obs`.
    fn hops(&self, interface: &Interface, x: u32, obs: u32, y: u32) -> u32 {
        match interface {
            Interface::Destination => u32::from(self.dist[obs as usize * self.n + y as usize]),
            Interface::Region { regions, region, local, sizes } => {
                if obs < *regions {
                    return u32::from(self.dist[obs as usize * self.n + y as usize]);
                }
                // An exact destination in x's own region (local index obs - regions).
                let g = region[x as usize] as usize;
                let k = sizes[g] as usize;
                let d_local = (obs - regions) as usize;
                if region[y as usize] as usize == g {
                    u32::from(self.local[g][local[y as usize] as usize * k + d_local])
                } else {
                    // y lies outside: it must come back through x's region; one hop more than x itself.
                    1 + u32::from(self.local[g][local[x as usize] as usize * k + d_local])
                }
            }
        }
    }
}

/// A delivery time rounded down to whole time units, as Boyan & Littman's C simulator counts it: it adds
/// each delivery time (a `double`) to an `int` total, which drops the fraction. A packet that never queued
/// has a whole-number delivery time (its hop count) and loses nothing; one that queued loses its fraction.
///
/// Event times are sums of the injection instant and whole units, and binary arithmetic can leave a
/// whole-number delivery time a hair below the integer (when a sum crosses a power of two), so `1e-9` is added
/// before rounding down: such a time counts as whole. `t` is finite and non-negative.
#[inline(always)]
pub fn truncated_units(t: f64) -> u64 {
    // `as` rounds toward zero, which is down for a non-negative time (and saturates, never panics).
    (t + 1e-9) as u64
}

/// `max(1, ceil(t))` for a non-negative time, without a call into libm (it showed in the profile); saturates
/// at `u32::MAX`.
#[inline(always)]
fn whole_units(t: f64) -> u32 {
    let whole = t as u32;
    let whole = if f64::from(whole) < t { whole.saturating_add(1) } else { whole };
    whole.max(1)
}
