//! In-process tests of agent services: real HTTP servers on 127.0.0.1 with ephemeral ports, one process.
//!
//! - [`a2a`]: `[option] kind = "a2a"` agents in front of a minimal A2A agent; bad replies fail one workflow;
//! - [`pipeline`]: workflows run end to end, many at once; one scalar per handoff on the wire; checkpoints
//!   round-trip through a restart; at most `limits.max_calls_per_peer` connections to each peer;
//! - [`reject`]: every malformed or out-of-range request gets a clear error and changes nothing;
//! - [`robust`]: hostile connections (idle, slowloris, a flood past the connection cap), shutdown with
//!   half-sent requests, oversized and error-status replies, clamped and refused scalars, retried handoffs;
//! - [`tls`]: the same pipeline over mutual TLS; a client without a valid certificate fails the handshake; a
//!   peer's server certificate must name the peer's id.
//!
//! The multi-process tests (quality against the in-process run, kill -9 and restart) are in the root
//! package's `tests/service.rs`, since they run the `baton` binary.

#![allow(clippy::unwrap_used)]

mod a2a;
mod hooks;
mod pipeline;
mod reject;
mod robust;
mod tls;
