//! The `[workload]` table of a routing experiment (`kind = "routing"`), validated into [`Routing`].
//!
//! ```toml
//! [workload]
//! kind = "routing"
//! topology = { kind = "file", path = "routing/irregular-6x6.edges" }
//! loads = [1.0, 2.0, 3.0]
//! duration = 50000.0
//! warmup = 25000.0
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::network::{Change, Interface, Network, NetworkParams, Skills, SourceCost, Task};
use super::topology::Topology;
use crate::EnvError;

/// A routing workload: the network, the loads to sweep, the run length and the measurement window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The network.
    pub topology: TopologyConfig,
    /// Offered loads `L` (packets per time unit, network-wide), each run separately; each in `(0, 1e6]`, at most
    /// 1000 of them, and `L * duration` at most 1e10 expected injections.
    pub loads: Vec<f64>,
    /// Simulated time of one run, in time units, in `(0, 1e9]` (B&L: 50,000).
    #[serde(default = "default_duration")]
    pub duration: f64,
    /// Packets delivered from this time on are scored (B&L: 25,000); in `[0, duration)`.
    #[serde(default = "default_warmup")]
    pub warmup: f64,
    /// Largest number of packets in the network, `1..=10^7`; further injections are dropped and counted (B&L:
    /// 1000).
    #[serde(default = "default_cap")]
    pub max_in_flight: u32,
    /// What a router observes of a packet: `{ kind = "destination" }` (Q-routing) or
    /// `{ kind = "region", regions = K }` (hierarchical addressing for large networks).
    #[serde(default)]
    pub interface: InterfaceConfig,
    /// Cost of the source router's first hop: `full` (`q + s + t`, model.md 6.2; the default) or `target-only`
    /// (`t` alone, as B&L's simulator effectively does). Set by `preset`; leave it out when a preset is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_cost: Option<SourceCost>,
    /// Initial estimates of every router's table: `zero` (Q-routing, model.md 6.2; the default) or `hop-count`
    /// (hops to the destination, as a distance-vector protocol would give; queues are still learned). Set by
    /// `preset`; leave it out when a preset is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_init: Option<QInit>,
    /// What the receiver's one scalar reports: `estimate` (Q-routing, model.md 6.2; the default: its best
    /// estimate of the time to deliver from its queue, `min_z Q_y(d, z)`), `wait` (the packet's wait in its
    /// queue, which the receiver knows from its own backlog, plus its best estimate of the time from its send
    /// to delivery; the sender's cost is then the transit alone) or `backlog` (every header also carries its
    /// sender's backlog; a router adds each neighbour's last-reported backlog to its estimates through that
    /// neighbour when it decides and replies, and replies with its best such estimate from its send on). Needs
    /// the fused IC-Q loop (packet delivery, no `changes`, greedy behaviour). Set by `preset`; leave it out when
    /// a preset is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// What a packet's header carries besides its destination: `none` (Q-routing; the default) or `backward`
    /// (its source, and its sender's estimate of the time back to that source: the receiver also learns its
    /// own route towards the source through the sender, as dual reinforcement Q-routing does). The reply stays
    /// one scalar. Needs the fused IC-Q loop. Set by `preset`; leave it out when a preset is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    /// A named configuration of the `ic-q` arm, or a list of them run side by side (one `ic-q` row per preset
    /// and load): `boyan-littman` (B&L's Q-routing as their simulator runs it: `q_init = "zero"`,
    /// `source_cost = "target-only"`, `reply = "estimate"`, `header = "none"`, constant step 0.5, greedy) or
    /// `baton` (`q_init = "hop-count"`, `source_cost = "full"`, `reply = "wait"`, `header = "backward"`,
    /// constant step 0.5, greedy; docs/routing-presets.md says why). A preset sets those fields and the IC-Q
    /// arm's step and behaviour, so `q_init`, `source_cost`, `reply`, `header` and `[learner]` must be left
    /// out, and `methods` may list `ic-q`, `shortest-path`, `oracle` and `random` only.
    #[serde(default, skip_serializing_if = "Presets::is_empty")]
    pub preset: Presets,
    /// Width of the time bins of the delivery-time series in `metrics.jsonl`, in time units.
    #[serde(default = "default_bin")]
    pub bin: f64,
    /// Changes during the run (adaptivity): link failures and traffic shifts, in time order.
    #[serde(default)]
    pub changes: Vec<ChangeConfig>,
    /// Skill routing (model.md 6.2's second scenario): requests need a skill instead of a destination. Omitted:
    /// packet routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<SkillsConfig>,
    /// A published curve to plot beside the results (e.g. B&L's Fig. 4); `nan` marks a missing value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishedCurve>,
}

fn default_duration() -> f64 {
    50_000.0
}
fn default_warmup() -> f64 {
    25_000.0
}
fn default_cap() -> u32 {
    1000
}

/// What the receiver's scalar reports (`reply`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    /// Its best estimate of the time to deliver from its queue (Q-routing).
    #[default]
    Estimate,
    /// The packet's wait in its queue (known from its own backlog) plus its best estimate from its send on.
    Wait,
    /// Every packet's header carries its sender's backlog; a router adds each neighbour's last-reported
    /// backlog to its estimate through that neighbour when it decides and replies, and its reply is its best
    /// such estimate from its send on (the sender tracks the receiver's wait from the headers).
    Backlog,
}

/// What a packet's header carries besides its destination (`header`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Header {
    /// Nothing else (Q-routing).
    #[default]
    None,
    /// Its source and its sender's estimate of the time back to that source (dual reinforcement).
    Backward,
}

/// A named configuration of the `ic-q` arm (`preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Boyan & Littman's Q-routing as their simulator runs it.
    BoyanLittman,
    /// baton's one-scalar configuration (docs/routing-presets.md).
    Baton,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 2] = [Preset::BoyanLittman, Preset::Baton];

    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Preset::BoyanLittman => "boyan-littman",
            Preset::Baton => "baton",
        }
    }

    /// The workload fields the preset sets: `(q_init, source_cost, reply, header)`. Its step and behaviour are
    /// the learner's side (`baton_experiment::routing::preset_learner`).
    pub fn fields(self) -> (QInit, SourceCost, Reply, Header) {
        match self {
            Preset::BoyanLittman => (QInit::Zero, SourceCost::TargetOnly, Reply::Estimate, Header::None),
            Preset::Baton => (QInit::HopCount, SourceCost::Full, Reply::Wait, Header::Backward),
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `preset`: one preset name or a list of them (run side by side), in config order, without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presets(pub Vec<Preset>);

impl Presets {
    /// Whether no preset is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Presets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Presets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Presets;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a preset name (\"boyan-littman\" or \"baton\") or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Presets, E> {
                preset_named(v).map(|p| Presets(vec![p]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Presets, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    let p = preset_named(&name)?;
                    if out.contains(&p) {
                        return Err(serde::de::Error::custom(format!("preset {name:?} is listed twice")));
                    }
                    out.push(p);
                }
                if out.is_empty() {
                    return Err(serde::de::Error::custom("list at least one preset, or leave `preset` out"));
                }
                Ok(Presets(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

fn preset_named<E: serde::de::Error>(name: &str) -> Result<Preset, E> {
    Preset::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| {
        let known: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        E::custom(format!("unknown preset {name:?}; known: {}", known.join(", ")))
    })
}

/// Initial estimates of the routers' tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QInit {
    /// All zero (Q-routing).
    Zero,
    /// Minus one plus the hop count from the neighbour to the destination.
    HopCount,
}

fn default_bin() -> f64 {
    1000.0
}

/// The network, by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TopologyConfig {
    /// An `.edges` file. A relative path is tried from the working directory, then under the data directory
    /// (`BATON_DATA_DIR`, default the repository's `data/` folder).
    File {
        /// Path of the file.
        path: String,
    },
    /// A topology built into baton by name: `irregular-6x6` (Boyan & Littman's grid), `nsfnet`, `geant2`, `gbn`
    /// (the files of `data/routing/`, compiled in; no data directory needed).
    Builtin {
        /// The topology's name.
        name: String,
    },
    /// A `rows x cols` grid with 4-neighbour links.
    Grid {
        /// Rows, at least 1.
        rows: u32,
        /// Columns, at least 1.
        cols: u32,
    },
    /// A hypercube of dimension `dim` (2^dim routers).
    Hypercube {
        /// Dimension, 1..=20.
        dim: u32,
    },
    /// A random geometric graph in the unit square, resampled until connected.
    RandomGeometric {
        /// Routers, at least 2.
        nodes: u32,
        /// Link radius; omitted: a little above the connectivity threshold `sqrt(2 ln n / (pi n))`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        radius: Option<f64>,
        /// Seed of the graph's own random stream (the graph is the same for every run seed).
        #[serde(default)]
        seed: u64,
    },
}

/// What a router observes, by `kind`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InterfaceConfig {
    /// The packet's destination (Q-routing's table: one row per destination).
    #[default]
    Destination,
    /// The destination's region, or the exact destination inside the router's own region.
    Region {
        /// Number of regions, `1..=nodes`.
        regions: u32,
    },
}

/// A change during the run, by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChangeConfig {
    /// The link goes down at time `at`; a packet sent over it returns to its sender after `penalty`.
    LinkDown {
        /// Time of the failure, in `[0, duration)`.
        at: f64,
        /// The link, as two router ids.
        link: [u32; 2],
        /// Time lost by a packet sent over the dead link (a timeout), in `(0, 1e9]`.
        #[serde(default = "default_penalty")]
        penalty: f64,
    },
    /// From time `at`, a share of the new packets go from `sources` to `destinations`.
    Traffic {
        /// Time of the change, in `[0, duration)`.
        at: f64,
        /// Routers that send the redirected share (non-empty).
        sources: Vec<u32>,
        /// Routers that receive it (non-empty; a pair with source = destination is redrawn).
        destinations: Vec<u32>,
        /// Fraction of new packets redirected, in `[0, 1]`.
        share: f64,
    },
}

fn default_penalty() -> f64 {
    10.0
}

// The tagged tables above are read `kind` first (`baton_core::tagged`), so that an error inside one names its
// field (`workload.topology.rows`); each mirror below is checked by the compiler against its enum's fields.

/// Reads [`TopologyConfig`] (see `baton_core::tagged`).
#[derive(Deserialize)]
#[serde(remote = "TopologyConfig", rename_all = "kebab-case", deny_unknown_fields)]
enum TopologyDe {
    File {
        path: String,
    },
    Builtin {
        name: String,
    },
    Grid {
        rows: u32,
        cols: u32,
    },
    Hypercube {
        dim: u32,
    },
    RandomGeometric {
        nodes: u32,
        #[serde(default)]
        radius: Option<f64>,
        #[serde(default)]
        seed: u64,
    },
}

/// Reads [`InterfaceConfig`] (see `baton_core::tagged`).
#[derive(Deserialize)]
#[serde(remote = "InterfaceConfig", rename_all = "kebab-case", deny_unknown_fields)]
enum InterfaceDe {
    Destination,
    Region { regions: u32 },
}

/// Reads [`ChangeConfig`] (see `baton_core::tagged`).
#[derive(Deserialize)]
#[serde(remote = "ChangeConfig", rename_all = "kebab-case", deny_unknown_fields)]
enum ChangeDe {
    LinkDown {
        at: f64,
        link: [u32; 2],
        #[serde(default = "default_penalty")]
        penalty: f64,
    },
    Traffic {
        at: f64,
        sources: Vec<u32>,
        destinations: Vec<u32>,
        share: f64,
    },
}

impl<'de> Deserialize<'de> for TopologyConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        baton_core::tagged::kind_first(deserializer, |d| TopologyDe::deserialize(d))
    }
}

impl<'de> Deserialize<'de> for InterfaceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        baton_core::tagged::kind_first(deserializer, |d| InterfaceDe::deserialize(d))
    }
}

impl<'de> Deserialize<'de> for ChangeConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        baton_core::tagged::kind_first(deserializer, |d| ChangeDe::deserialize(d))
    }
}

/// Skill routing: which routers hold which skill, and what serving costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillsConfig {
    /// Number of skills `K`, 1..=64; a request needs one, uniform.
    pub skills: u32,
    /// How many routers hold each skill, `1..=routers`; drawn uniformly without replacement per skill.
    pub holders: u32,
    /// Seed of the skill assignment's own random stream (the same assignment for every run seed).
    #[serde(default)]
    pub seed: u64,
    /// Service time of a request at the router that serves it, positive and at most the run's `duration`.
    #[serde(default = "default_work")]
    pub work: f64,
    /// Cost of a failed request (served without the skill, or out of hops), in `[0, 1e9]`.
    #[serde(default = "default_skill_penalty")]
    pub penalty: f64,
    /// Hops after which an unserved request fails, `1..=65535`.
    #[serde(default = "default_max_hops")]
    pub max_hops: u32,
    /// Queue-length buckets of a router's private state (0, 1, ..., B-1 or more), 1..=16.
    #[serde(default = "default_buckets")]
    pub queue_buckets: u32,
}

fn default_work() -> f64 {
    1.0
}
fn default_skill_penalty() -> f64 {
    50.0
}
fn default_max_hops() -> u32 {
    64
}
fn default_buckets() -> u32 {
    3
}

/// A published curve: values per load for named methods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedCurve {
    /// Where the numbers come from.
    pub source: String,
    /// Loads of the published points.
    pub loads: Vec<f64>,
    /// Mean delivery time of Q-routing per load (`nan` where not published).
    #[serde(default)]
    pub q_routing: Vec<f64>,
    /// Mean delivery time of shortest-path routing per load (`nan` where not published).
    #[serde(default)]
    pub shortest_path: Vec<f64>,
}

/// Largest simulated time of a run (and largest penalty), in time units (B&L run 50,000).
pub const MAX_DURATION: f64 = 1e9;
/// Largest offered load, packets per time unit.
pub const MAX_LOAD: f64 = 1e6;
/// Most loads one run sweeps.
pub const MAX_LOADS: usize = 1000;
/// Largest expected number of injections of one run (`load * duration`): about an hour of simulation.
pub const MAX_INJECTIONS: f64 = 1e10;
/// Largest `max_in_flight` (each packet in flight holds a slot of memory).
pub const MAX_IN_FLIGHT: u32 = 10_000_000;
/// Largest `skills.max_hops`.
pub const MAX_HOPS: u32 = 65_535;

/// A validated routing workload.
#[derive(Clone, Debug)]
pub struct Routing {
    /// The configuration as given.
    pub config: RoutingConfig,
    /// The network.
    pub topology: Arc<Topology>,
    /// The interface every router observes through.
    pub interface: Arc<Interface>,
    changes: Vec<Change>,
    /// What packets need.
    pub task: Task,
}

impl RoutingConfig {
    /// `q_init`, or its default (`zero`) when left out.
    pub fn q_init(&self) -> QInit {
        self.q_init.unwrap_or(QInit::Zero)
    }
    /// `source_cost`, or its default (`full`) when left out.
    pub fn source_cost(&self) -> SourceCost {
        self.source_cost.unwrap_or(SourceCost::Full)
    }
    /// `reply`, or its default (`estimate`) when left out.
    pub fn reply(&self) -> Reply {
        self.reply.unwrap_or_default()
    }
    /// `header`, or its default (`none`) when left out.
    pub fn header(&self) -> Header {
        self.header.unwrap_or_default()
    }

    /// Shrinks simulated time by `factor` (for `--quick`): the run, the warm-up, the bins and every change's time,
    /// so the run keeps its shape. A factor below 1 or not finite leaves the config as it is.
    pub fn shorten(&mut self, factor: f64) {
        if !(factor.is_finite() && factor >= 1.0) {
            return;
        }
        self.duration /= factor;
        self.warmup /= factor;
        self.bin /= factor;
        for c in &mut self.changes {
            match c {
                ChangeConfig::LinkDown { at, .. } | ChangeConfig::Traffic { at, .. } => *at /= factor,
            }
        }
    }

    /// Check every field and build the network. `file` is the text of the topology file and the name to
    /// report it by, read by the caller for `kind = "file"` (this crate reads no files).
    pub fn validate(&self, file: Option<(&str, &str)>) -> Result<Routing, EnvError> {
        fn bad(field: &str, reason: impl Into<String>) -> EnvError {
            EnvError::invalid(field, reason)
        }
        let topology = match &self.topology {
            TopologyConfig::File { .. } => {
                let (name, text) = file.ok_or_else(|| bad("topology.path", "the file was not read"))?;
                Topology::parse_edges(text, name)
            }
            TopologyConfig::Builtin { name } => Topology::builtin(name).ok_or_else(|| {
                let known: Vec<&str> = crate::routing::topology::BUILTIN.iter().map(|(n, _)| *n).collect();
                bad("topology.name", format!("no built-in topology {name:?}; built in: {}", known.join(", ")))
            })?,
            TopologyConfig::Grid { rows, cols } => Topology::grid(*rows, *cols),
            TopologyConfig::Hypercube { dim } => Topology::hypercube(*dim),
            TopologyConfig::RandomGeometric { nodes, radius, seed } => {
                let mut rng = baton_core::rng::stream(*seed, baton_core::rng::Stream::Other(0));
                Topology::random_geometric(*nodes, *radius, &mut rng)
            }
        }
        .map_err(|e| bad("topology", e.to_string()))?;
        let n = topology.n_nodes();
        if n < 2 {
            return Err(bad("topology", "a network needs at least 2 routers"));
        }
        if n > u32::from(u16::MAX) {
            return Err(bad("topology", format!("{n} routers; at most {} are supported", u16::MAX)));
        }
        if self.loads.is_empty() {
            return Err(bad("loads", "list at least one load"));
        }
        if self.loads.len() > MAX_LOADS {
            return Err(bad("loads", format!("at most {MAX_LOADS} loads, got {}", self.loads.len())));
        }
        if let Some(l) = self.loads.iter().find(|l| !(l.is_finite() && **l > 0.0 && **l <= MAX_LOAD)) {
            return Err(bad("loads", format!("every load must be positive, at most {MAX_LOAD:e}, got {l:?}")));
        }
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= MAX_DURATION) {
            return Err(bad("duration", format!("must be in (0, {MAX_DURATION:e}], got {:?}", self.duration)));
        }
        let busiest = self.loads.iter().fold(0.0, |a: f64, &l| a.max(l));
        if busiest * self.duration > MAX_INJECTIONS {
            return Err(bad(
                "duration",
                format!(
                    "load {busiest} over {} time units injects about {:.3e} packets, more than the limit of \
                     {MAX_INJECTIONS:e} per run (shorten the run or lower the load)",
                    self.duration,
                    busiest * self.duration
                ),
            ));
        }
        if !(self.warmup.is_finite() && self.warmup >= 0.0 && self.warmup < self.duration) {
            return Err(bad("warmup", format!("must be in [0, duration = {}), got {:?}", self.duration, self.warmup)));
        }
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err(bad("max_in_flight", format!("must be in 1..={MAX_IN_FLIGHT}, got {}", self.max_in_flight)));
        }
        if !(self.bin.is_finite() && self.bin > 0.0 && self.duration / self.bin <= 1e6) {
            return Err(bad("bin", format!("must be positive with at most 10^6 bins per run, got {}", self.bin)));
        }
        let interface = match self.interface {
            InterfaceConfig::Destination => Interface::Destination,
            InterfaceConfig::Region { regions } => {
                if regions == 0 || regions > n {
                    return Err(bad("interface.regions", format!("must be in 1..={n}, got {regions}")));
                }
                Interface::regions(topology.regions(regions).map_err(|e| bad("interface.regions", e.to_string()))?)
            }
        };
        let node = |field: &str, v: u32| -> Result<u32, EnvError> {
            if v < n {
                Ok(v)
            } else {
                Err(bad(field, format!("router {v} does not exist (the network has {n})")))
            }
        };
        let mut changes = Vec::with_capacity(self.changes.len());
        let mut last = 0.0;
        for (i, c) in self.changes.iter().enumerate() {
            let field = |f: &str| format!("changes[{i}].{f}");
            let at = match c {
                ChangeConfig::LinkDown { at, .. } | ChangeConfig::Traffic { at, .. } => *at,
            };
            if !(at.is_finite() && at >= last && at < self.duration) {
                return Err(bad(&field("at"), format!("must be in [{last}, duration) and in time order, got {at}")));
            }
            last = at;
            changes.push(match c {
                ChangeConfig::LinkDown { link, penalty, .. } => {
                    let (a, b) = (node(&field("link"), link[0])?, node(&field("link"), link[1])?);
                    if topology.link_index(a, b).is_none() {
                        return Err(bad(&field("link"), format!("routers {a} and {b} are not linked")));
                    }
                    if !(penalty.is_finite() && *penalty > 0.0 && *penalty <= MAX_DURATION) {
                        return Err(bad(
                            &field("penalty"),
                            format!("must be in (0, {MAX_DURATION:e}], got {penalty:?}"),
                        ));
                    }
                    Change::LinkDown { at, a, b, penalty: *penalty }
                }
                ChangeConfig::Traffic { sources, destinations, share, .. } => {
                    if sources.is_empty() || destinations.is_empty() {
                        return Err(bad(&field("sources"), "sources and destinations must be non-empty"));
                    }
                    for &v in sources {
                        node(&field("sources"), v)?;
                    }
                    for &v in destinations {
                        node(&field("destinations"), v)?;
                    }
                    if sources.len() == 1 && destinations.len() == 1 && sources[0] == destinations[0] {
                        return Err(bad(&field("destinations"), "the only pair has source = destination"));
                    }
                    if !(share.is_finite() && (0.0..=1.0).contains(share)) {
                        return Err(bad(&field("share"), format!("must be in [0, 1], got {share}")));
                    }
                    Change::Traffic { at, sources: sources.clone(), destinations: destinations.clone(), share: *share }
                }
            });
        }
        let task = match &self.skills {
            None => Task::Deliver,
            Some(k) => {
                if !(1..=64).contains(&k.skills) {
                    return Err(bad("skills.skills", format!("must be in 1..=64, got {}", k.skills)));
                }
                if !(1..=n).contains(&k.holders) {
                    return Err(bad("skills.holders", format!("must be in 1..={n}, got {}", k.holders)));
                }
                // A request served for longer than the whole run measures nothing.
                if !(k.work.is_finite() && k.work > 0.0 && k.work <= self.duration) {
                    return Err(bad(
                        "skills.work",
                        format!("must be positive and at most duration = {}, got {:?}", self.duration, k.work),
                    ));
                }
                if !(k.penalty.is_finite() && (0.0..=MAX_DURATION).contains(&k.penalty)) {
                    return Err(bad(
                        "skills.penalty",
                        format!("must be in [0, {MAX_DURATION:e}], got {:?}", k.penalty),
                    ));
                }
                if !(1..=MAX_HOPS).contains(&k.max_hops) {
                    return Err(bad("skills.max_hops", format!("must be in 1..={MAX_HOPS}, got {}", k.max_hops)));
                }
                if !(1..=16).contains(&k.queue_buckets) {
                    return Err(bad("skills.queue_buckets", format!("must be in 1..=16, got {}", k.queue_buckets)));
                }
                if self.interface != InterfaceConfig::Destination {
                    return Err(bad("interface", "skill routing observes the request's skill; leave interface out"));
                }
                let mut rng = baton_core::rng::stream(k.seed, baton_core::rng::Stream::Other(1));
                let mut holds = vec![0u64; n as usize];
                let mut routers: Vec<u32> = (0..n).collect();
                for skill in 0..k.skills {
                    // Partial Fisher-Yates: the first `holders` routers of a fresh shuffle.
                    for i in 0..k.holders as usize {
                        let j = i + baton_core::rng::uniform_index(&mut rng, routers.len() - i);
                        routers.swap(i, j);
                        holds[routers[i] as usize] |= 1 << skill;
                    }
                }
                Task::Skills(Arc::new(Skills {
                    n_skills: k.skills,
                    holds,
                    work: k.work,
                    penalty: k.penalty,
                    max_hops: k.max_hops,
                    queue_buckets: k.queue_buckets,
                }))
            }
        };
        if !self.preset.is_empty() {
            let set = [
                ("q_init", self.q_init.is_some()),
                ("source_cost", self.source_cost.is_some()),
                ("reply", self.reply.is_some()),
                ("header", self.header.is_some()),
            ];
            if let Some((field, _)) = set.iter().find(|(_, given)| *given) {
                return Err(bad(field, "is set by `preset`; leave it out (or leave `preset` out and set it here)"));
            }
        }
        let extended = self.reply() != Reply::Estimate
            || self.header() == Header::Backward
            || self.preset.0.iter().any(|p| p.fields().2 != Reply::Estimate || p.fields().3 == Header::Backward);
        if extended {
            let what = if self.preset.0.contains(&Preset::Baton) {
                "preset = \"baton\""
            } else if self.reply() != Reply::Estimate {
                "this `reply`"
            } else {
                "header = \"backward\""
            };
            if self.skills.is_some() {
                return Err(bad("skills", format!("{what} routes packets to their destination; leave `skills` out")));
            }
            if !self.changes.is_empty() {
                return Err(bad(
                    "changes",
                    format!("{what} runs in the fused IC-Q loop, which has no scheduled changes"),
                ));
            }
        }
        if let Some(p) = &self.published {
            for (name, v) in [("q_routing", &p.q_routing), ("shortest_path", &p.shortest_path)] {
                if !v.is_empty() && v.len() != p.loads.len() {
                    return Err(bad(&format!("published.{name}"), "needs one value per published load"));
                }
            }
        }
        Ok(Routing {
            config: self.clone(),
            topology: Arc::new(topology),
            interface: Arc::new(interface),
            changes,
            task,
        })
    }
}

impl Routing {
    /// The simulator's settings at offered load `load`.
    pub fn params(&self, load: f64) -> NetworkParams {
        NetworkParams {
            load,
            max_in_flight: self.config.max_in_flight,
            interface: Arc::clone(&self.interface),
            source_cost: self.config.source_cost(),
            warmup: self.config.warmup,
            horizon: self.config.duration,
            bin: self.config.bin,
            changes: self.changes.clone(),
            task: self.task.clone(),
        }
    }

    /// A fresh network at offered load `load`.
    pub fn network(&self, load: f64) -> Network {
        Network::new(Arc::clone(&self.topology), self.params(load))
    }

    /// One line describing the workload.
    pub fn describe(&self) -> String {
        let t = &self.topology;
        format!(
            "{}: {} routers, {} links; {} time units, scored after {}; at most {} packets in flight",
            t.name(),
            t.n_nodes(),
            t.n_links(),
            self.config.duration,
            self.config.warmup,
            self.config.max_in_flight
        )
    }
}
