//! Packet routing (model.md 6.2): Boyan & Littman's network simulator as an IC-SMDP with many artifacts in
//! flight, its topologies, its configuration and its heuristics.
//!
//! - [`topology`]: networks from `.edges` files and generators (grid, hypercube, random geometric).
//! - [`network`]: the discrete-event simulator, an [`baton_core::Env`] where routers are agents and packets
//!   are artifacts.
//! - [`shortest`]: the shortest-path baseline.
//! - [`oracle`]: the centralized oracle's search (a full-information heuristic that sees every queue).
//! - [`config`]: the `[workload]` table of a routing experiment, validated into [`Routing`].

pub mod config;
pub mod events;
pub mod network;
pub mod oracle;
pub mod shortest;
pub mod topology;

pub use config::{Routing, RoutingConfig};
pub use network::{HopTable, NetStats, Network, NetworkParams, Tally};
pub use shortest::ShortestPaths;
pub use topology::{Topology, TopologyError};
