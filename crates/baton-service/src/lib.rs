//! # baton-service: IC-Q agents as HTTP services across trust boundaries (model.md 7)
//!
//! Each agent runs as its own process ([`Agent`], `baton agent serve --config agent.toml`), owned by its own
//! party. A handoff is an A2A-style JSON-RPC `SendMessage` carrying the artifact; the reply carries exactly
//! one number, the receiver's `v = max_a' Q_j(o', a')`, under the extension URI [`wire::SCALAR_EXT`]. The
//! sender applies the IC-Q update of [`baton_learn::icq`] to its own table when that number arrives. Tables,
//! visit counts, private states and trajectories never leave their agent; each agent checkpoints its own
//! learner ([`checkpoint`]) atomically, on an interval and on shutdown.
//!
//! This is the only crate besides `baton-llm`'s `live` feature that touches the network. The wire format, the
//! A2A conformance notes, the threat model and a three-agent walk-through are in docs/service.md.

pub mod a2a;
pub mod bench;
pub mod checkpoint;
pub mod client;
pub mod config;
pub mod error;
pub mod hook;
pub mod net;
mod outbox;
mod peer;
pub mod server;
pub mod tls;
pub mod wire;

pub use checkpoint::Checkpoint;
pub use client::{Client, RunReport};
pub use config::{
    AgentConfig, AgentSettings, HookActionConfig, HookConfig, HookKind, LimitsConfig, PeerConfig, TlsConfig,
};
pub use error::ServiceError;
pub use peer::{HttpVersion, STREAMS_PER_CONNECTION};
pub use server::{shutdown_signal, Agent, PeerScalars, Status};
