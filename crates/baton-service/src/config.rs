//! One agent's configuration (`agent.toml`), validated into [`AgentSettings`] before the agent starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use baton_core::{AgentId, AgentSpec, Legal};
use baton_envs::{Synthetic, SyntheticConfig};
use baton_learn::{LearnerConfig, LearnerParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ServiceError;

/// One agent running as a service. Unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This agent's name on the wire (the `from` of its messages and the id its peers know it by): 1-64
    /// characters from `A-Z a-z 0-9 - _ .`.
    pub id: String,
    /// The workload agent this service plays: an agent index `0..agents` of the `[workload]` model. Required
    /// unless `[option]` makes the option a user hook (then it must be absent).
    #[serde(default)]
    pub role: Option<u16>,
    /// Address to listen on. Default `127.0.0.1:7400` (loopback: expose it only behind TLS, see docs/service.md).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Seed of this agent's own random stream (its private state and behaviour draws, and its option's noise).
    pub seed: u64,
    /// Directory of this agent's own files (checkpoint, wire log); created if missing. Relative paths are
    /// relative to the config file's directory. Nothing is ever written outside it.
    pub state_dir: PathBuf,
    /// Seconds between checkpoints of the learner (also written on shutdown), positive.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: f64,
    /// Append every message this agent sends or receives to `state_dir/wire.jsonl` (for audits and tests).
    #[serde(default)]
    pub wire_log: bool,
    /// The workload (`synthetic-v0`, model.md 6.1): the same table in every agent of a pipeline. Each agent uses it
    /// only to run its own option and to read its own interface of the artifact.
    #[serde(default)]
    pub workload: SyntheticConfig,
    /// A user-defined option (an HTTP hook) instead of a role of the synthetic workload; `[workload]` and
    /// `role` are then unused. See docs/service.md, "User-defined options".
    #[serde(default)]
    pub option: Option<HookConfig>,
    /// This agent's learner (tabular IC-Q; `[learner.network]` is not supported by services).
    #[serde(default)]
    pub learner: LearnerConfig,
    /// Request limits and deadlines.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// HTTPS and mutual TLS (absent: plain HTTP). See docs/service.md, "TLS and mutual TLS".
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The agents and clients this agent talks to, each with its own bearer token.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// A peer: another agent (with a `role` and a `url`) or a client (neither) allowed to submit workflows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's id (its messages' `from`).
    pub id: String,
    /// The workload agent index the peer plays; required for agents this agent hands work to.
    #[serde(default)]
    pub role: Option<u16>,
    /// The peer's base URL (`http://127.0.0.1:7401`); required for agents this agent hands work to.
    #[serde(default)]
    pub url: Option<String>,
    /// The bearer token shared by this pair of parties, used in both directions; at least 16 printable
    /// characters. Optional when `[tls]` requires client certificates: the peer is then known by its
    /// certificate (whose DNS name is the peer's `id`), and calls to it carry no token.
    #[serde(default)]
    pub token: Option<String>,
}

/// HTTPS with this agent's certificate, and mutual TLS: peers present certificates signed by `ca`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// This agent's certificate chain (PEM), served to callers and presented to the peers it calls. Its
    /// subject alternative names must include the agent's `id` (as a DNS name) and the host of its URL.
    /// Relative paths are relative to the config file's directory.
    pub cert: PathBuf,
    /// The private key of `cert` (PEM, PKCS#8, SEC1 or PKCS#1). Keep it private.
    pub key: PathBuf,
    /// The certificate authority (PEM) that signs the peers' and clients' certificates: it verifies peers'
    /// servers when this agent calls them, and callers' client certificates.
    pub ca: PathBuf,
    /// Require every caller to present a client certificate signed by `ca` (mutual TLS); a caller without
    /// one fails the handshake. Default true.
    #[serde(default = "default_true")]
    pub client_auth: bool,
}

fn default_true() -> bool {
    true
}

/// The largest duration any `*_secs` field or flag accepts: one day.
pub const MAX_SECS: f64 = 86_400.0;

/// A duration in seconds, checked: finite, positive and at most [`MAX_SECS`] (so the conversion cannot
/// panic). The error is the reason, for the caller to name the field.
pub fn checked_secs(v: f64) -> Result<std::time::Duration, String> {
    if !(v.is_finite() && v > 0.0 && v <= MAX_SECS) {
        return Err(format!("must be a number of seconds in (0, {MAX_SECS}], got {v}"));
    }
    std::time::Duration::try_from_secs_f64(v).map_err(|e| format!("{v} seconds: {e}"))
}

/// A user-defined option: the agent asks a hook to observe each artifact it receives and to run the option
/// it picks. Its interface (observations and actions) is declared here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// How the hook is called: `http` (a JSON POST to `url` per call), `command` (one process of `program`
    /// per call, the request on its stdin, the reply on its stdout) or `a2a` (an existing A2A agent at `url`
    /// does the work; `[option.a2a]` maps its replies, see [`crate::a2a`]).
    pub kind: HookKind,
    /// The hook's URL (`http://` or `https://`); `http` and `a2a` (the wrapped agent's JSON-RPC endpoint) only.
    #[serde(default)]
    pub url: Option<String>,
    /// The program to run (a path, or a name looked up in `PATH`); `command` only. It runs in the agent's
    /// working directory with the agent's environment.
    #[serde(default)]
    pub program: Option<String>,
    /// The program's arguments; `command` only.
    #[serde(default)]
    pub args: Vec<String>,
    /// Number of observations: the hook's `observation` must be in `0..n_obs`; positive.
    pub n_obs: u32,
    /// The actions, in order (index = position): each hands the artifact to a peer agent (`to`) or submits it
    /// (`submit = true`). At least one, at most 65535.
    pub actions: Vec<HookActionConfig>,
    /// Deadline of one hook call in seconds, positive; keep it below the senders' `limits.call_timeout_secs`,
    /// since a receiver observes while its sender waits. Default 2.
    #[serde(default = "default_hook_timeout")]
    pub timeout_secs: f64,
    /// Discount gamma per unit of the hook's `duration`, in `(0, 1]`: the same in every agent of a pipeline.
    pub discount: f64,
    /// The artifact a workflow starts with (any TOML value, sent to the hook as JSON). Set only at the entry
    /// agent: an agent accepts clients' `start` messages only if it has one.
    #[serde(default)]
    pub start_artifact: Option<Value>,
    /// `kind = "a2a"` only, and required there: how the wrapped agent's replies map to observation, reward
    /// and cost ([`crate::a2a::A2aConfig`]).
    #[serde(default)]
    pub a2a: Option<crate::a2a::A2aConfig>,
}

/// How a hook is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// One HTTP POST of a JSON body per call; the reply body is JSON.
    Http,
    /// One process per call: the JSON request on stdin (then closed), the JSON reply on stdout, exit status 0.
    Command,
    /// An existing A2A agent: one `message/send` per run; observations come from the artifact itself.
    A2a,
}

/// One action of a user-defined option.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookActionConfig {
    /// The action's name, sent to the hook in `run` (1-64 characters, unique).
    pub name: String,
    /// The peer agent (an `id` in `peers`, with a `url`) that receives the artifact after this action.
    #[serde(default)]
    pub to: Option<String>,
    /// This action submits the artifact (ends the workflow); exclusive with `to`.
    #[serde(default)]
    pub submit: bool,
}

fn default_hook_timeout() -> f64 {
    2.0
}

/// Where the artifact goes after an action of a user-defined option.
#[derive(Clone, Debug)]
pub enum HookTarget {
    /// The workflow ends here.
    Submit,
    /// Hand off to this peer.
    Peer(PeerAgent),
}

/// How a validated hook is called.
#[derive(Clone, Debug)]
pub enum HookCall {
    /// POST to this URL.
    Http(String),
    /// Run this program with these arguments.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// Send the artifact to this A2A agent.
    A2a(Box<crate::a2a::A2aOption>),
}

/// A validated [`HookConfig`].
#[derive(Clone, Debug)]
pub struct Hook {
    /// How it is called.
    pub call: HookCall,
    /// The hook as errors name it: its URL, or `command <program>`.
    pub label: String,
    /// Number of observations.
    pub n_obs: u32,
    /// Action names, by index.
    pub action_names: Vec<String>,
    /// Action targets, by index.
    pub targets: Vec<HookTarget>,
    /// Deadline of one call.
    pub timeout: std::time::Duration,
    /// Discount per unit of duration.
    pub discount: f64,
    /// The start artifact, if workflows start here.
    pub start_artifact: Option<Value>,
}

/// The `env` a hook agent's checkpoint records (instead of the synthetic workload's id).
pub const HOOK_ENV_ID: &str = "user-hook-v1";

impl AgentSettings {
    /// This agent's interface: the synthetic role's, or the one its hook config declares.
    pub fn agent_spec(&self) -> AgentSpec {
        match &self.hook {
            None => self.workload.spec().agents[self.role.index()].clone(),
            Some(h) => AgentSpec {
                name: self.config.id.clone(),
                n_obs: h.n_obs,
                n_actions: h.action_names.len() as u16,
                legal: Legal::all(h.action_names.len() as u16),
                action_names: h.action_names.clone(),
            },
        }
    }

    /// The environment id recorded in checkpoints.
    pub fn env_id(&self) -> &'static str {
        if self.hook.is_some() {
            HOOK_ENV_ID
        } else {
            baton_envs::synthetic::ENV_ID
        }
    }

    /// The discount per primitive step.
    pub fn discount(&self) -> f64 {
        self.hook.as_ref().map_or(self.workload.config().discount, |h| h.discount)
    }
}

/// Limits on what a peer can make this agent do. Every `*_secs` field is a number of seconds in
/// `(0, 86400]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes (larger: HTTP 413), in `256..=16 MiB`. Also the largest
    /// reply body read from a peer or a hook (a larger one fails the call). Default 65536.
    pub max_body_bytes: u64,
    /// Deadline of every call to a peer, retries included, in seconds. Default 5.
    pub call_timeout_secs: f64,
    /// Deadline of a whole workflow as seen by its entry agent, in seconds. Default 60.
    pub workflow_timeout_secs: f64,
    /// Seconds a caller has to send a request's head (request line and headers), counted from when the
    /// connection is ready for a request: it also closes a keep-alive HTTP/1.1 connection left idle that long,
    /// bounds the TLS handshake, and closes a connection (HTTP/2 included) that has not begun a request that
    /// long after it was accepted, whatever bytes it sent. Default 10.
    pub header_read_timeout_secs: f64,
    /// Seconds a connection may go without a request being handled before it is closed (counted from the end
    /// of its last request; bytes that begin no request, such as HTTP/2 pings, do not count). Default 60.
    pub idle_timeout_secs: f64,
    /// Largest number of open incoming connections, in `1..=65536`. At the cap the connection idle longest
    /// is closed to make room, or the new one is refused if none is idle; both are logged. Keep it well
    /// below the process's descriptor limit. Default 512.
    pub max_connections: u32,
    /// Seconds a shutdown (SIGTERM, ctrl-c) waits for requests being handled; connections still open then
    /// (idle, half-sent) are dropped and the final checkpoint is written. Default 5.
    pub shutdown_grace_secs: f64,
    /// Largest `|v|` accepted in a peer's reply (larger or non-finite: rejected, no update), and largest
    /// `|reward|` from a hook, positive. Default: for a synthetic role, `2 (R_sub + c / (1 - gamma))` of the
    /// workload (24 for the default workload), twice the largest `|Q|` any IC-Q table of it can hold; for a
    /// hook agent, 100. A finite scalar within this limit but outside the synthetic workload's value range
    /// `[-c / (1 - gamma), R_sub]` is clamped into it (and counted per peer in `agent status`).
    pub max_abs_scalar: Option<f64>,
    /// Largest number of workflows this agent holds or waits for at once (more: HTTP 503), positive. Default 4096.
    pub max_in_flight: u32,
    /// Largest number of handoffs of one workflow (more: the workflow fails), positive. Default 10000.
    pub max_hops: u32,
    /// How many recent handoff ids this agent remembers, so that a retried handoff is answered with the
    /// same scalar and not run twice, in `1..=1048576` (oldest forgotten first). Default 16384.
    pub remembered_handoffs: u32,
    /// Largest number of calls this agent has open to one peer at once, in `1..=65536`; more wait their turn
    /// (first come, first served, within `call_timeout_secs`). It bounds the connections this agent opens to
    /// each peer: without it, every workflow waiting for a reply holds its own connection, and at a thousand
    /// workflows in flight the pools grow to hundreds of connections per peer, opened and closed as the
    /// demand swings. Default 64.
    pub max_calls_per_peer: u32,
    /// Largest number of requests one HTTP/2 connection may carry at once (its streams), in `1..=4096`;
    /// further streams wait (the caller's HTTP/2 stack queues them). So at most `max_connections` times this
    /// many requests are read at once. `baton workflow start` opens a connection per 128 workflows in flight.
    /// Default 256.
    pub max_streams_per_connection: u32,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7400))
}
fn default_checkpoint_interval() -> f64 {
    30.0
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 65536,
            call_timeout_secs: 5.0,
            workflow_timeout_secs: 60.0,
            header_read_timeout_secs: 10.0,
            idle_timeout_secs: 60.0,
            max_connections: 512,
            shutdown_grace_secs: 5.0,
            max_abs_scalar: None,
            max_in_flight: 4096,
            max_hops: 10_000,
            remembered_handoffs: 16_384,
            max_calls_per_peer: 64,
            max_streams_per_connection: 256,
        }
    }
}

/// A peer agent this agent can hand work to.
#[derive(Clone, Debug)]
pub struct PeerAgent {
    /// Its id.
    pub id: String,
    /// Its base URL, without a trailing slash.
    pub url: String,
    /// The URL messages are POSTed to (`url` + `/`), parsed once.
    pub endpoint: reqwest::Url,
    /// The pair's bearer token (none: the peer knows this agent by its client certificate).
    pub token: Option<String>,
}

/// The validated limits, with every duration converted.
#[derive(Clone, Debug)]
pub struct Limits {
    /// `max_body_bytes`.
    pub max_body_bytes: u64,
    /// `call_timeout_secs`.
    pub call_timeout: Duration,
    /// `workflow_timeout_secs`.
    pub workflow_timeout: Duration,
    /// `header_read_timeout_secs`.
    pub header_read_timeout: Duration,
    /// `idle_timeout_secs`.
    pub idle_timeout: Duration,
    /// `max_connections`.
    pub max_connections: u32,
    /// `shutdown_grace_secs`.
    pub shutdown_grace: Duration,
    /// `checkpoint_interval_secs` (a top-level field).
    pub checkpoint_interval: Duration,
    /// `max_abs_scalar`, resolved.
    pub max_abs_scalar: f64,
    /// The range a peer's scalar is clamped into (synthetic roles only).
    pub scalar_range: Option<(f64, f64)>,
    /// `max_in_flight`.
    pub max_in_flight: u32,
    /// `max_hops`.
    pub max_hops: u32,
    /// `remembered_handoffs`.
    pub remembered_handoffs: u32,
    /// `max_calls_per_peer`.
    pub max_calls_per_peer: u32,
    /// `max_streams_per_connection`.
    pub max_streams_per_connection: u32,
}

/// The TLS files, read and checked.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// This agent's certificate chain.
    pub cert: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Its private key.
    pub key: Arc<rustls_pki_types::PrivateKeyDer<'static>>,
    /// The CA's certificates.
    pub ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Callers must present a client certificate.
    pub client_auth: bool,
}

/// One caller this agent admits: its id, and its token if it has one.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The peer's id.
    pub id: String,
    /// Its bearer token.
    pub token: Option<String>,
}

/// A validated [`AgentConfig`].
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// The config as written (resolved paths).
    pub config: AgentConfig,
    /// The workload model.
    pub workload: Synthetic,
    /// The agent index this service plays.
    pub role: AgentId,
    /// The learner's step size and behaviour.
    pub learner: LearnerParams,
    /// The state directory (absolute or relative to the working directory).
    pub state_dir: PathBuf,
    /// Peer agents by role: `by_role[j]` hands work to agent `j` (`None` for this agent's own role; all
    /// `None` for a hook agent).
    pub by_role: Vec<Option<PeerAgent>>,
    /// Every agent peer (with a `url`).
    pub agents: Vec<PeerAgent>,
    /// The user-defined option, if `[option]` is set.
    pub hook: Option<Hook>,
    /// Every peer allowed to call this agent.
    pub inbound: Vec<Inbound>,
    /// The limits, with durations converted.
    pub limits: Limits,
    /// HTTPS and mutual TLS, if `[tls]` is set.
    pub tls: Option<TlsFiles>,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl AgentConfig {
    /// Read and validate `path`; relative `state_dir` resolves against the file's directory.
    pub fn load(path: &Path) -> Result<AgentSettings, ServiceError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServiceError::io(path, e))?;
        let mut config: AgentConfig = baton_core::tagged::from_toml(&text).map_err(|e| ServiceError::Config {
            file: path.display().to_string(),
            field: if e.path.is_empty() { "(parse)".into() } else { e.path.clone() },
            reason: match e.line {
                Some(line) => format!("{} (line {line})", e.message),
                None => e.message,
            },
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.state_dir.is_relative() {
            config.state_dir = base.join(&config.state_dir);
        }
        if let Some(t) = &mut config.tls {
            for p in [&mut t.cert, &mut t.key, &mut t.ca] {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        config.validate(&path.display().to_string())
    }

    /// Check every field; `file` names the source in errors.
    pub fn validate(&self, file: &str) -> Result<AgentSettings, ServiceError> {
        let bad = |field: &str, reason: String| ServiceError::config(file, field, reason);
        if !valid_id(&self.id) {
            return Err(bad("id", format!("must be 1-64 characters of A-Z a-z 0-9 - _ ., got {:?}", self.id)));
        }
        let workload = self.workload.validate().map_err(|e| match e.field() {
            Some(f) => bad(&format!("workload.{f}"), e.to_string()),
            None => bad("workload", e.to_string()),
        })?;
        if workload.has_hidden_bit() {
            return Err(bad(
                "workload.aliasing",
                "services need aliasing = 0 (the hidden bit belongs to no agent)".into(),
            ));
        }
        let n = workload.n_agents();
        let role = match (self.role, &self.option) {
            (Some(r), None) if usize::from(r) < n => r,
            (Some(r), None) => return Err(bad("role", format!("must be an agent index in 0..{n}, got {r}"))),
            (None, None) => return Err(bad("role", "missing (required unless `[option]` is a user hook)".into())),
            (Some(_), Some(_)) => return Err(bad("role", "must be absent when `[option]` is a user hook".into())),
            (None, Some(_)) => 0,
        };
        let learner = self.learner.validate().map_err(|e| bad("learner", e.to_string()))?;
        if learner.network.is_some() {
            return Err(bad("learner.network", "services run tabular IC-Q only".into()));
        }
        let secs = |field: &str, v: f64| checked_secs(v).map_err(|r| bad(field, r));
        let checkpoint_interval = secs("checkpoint_interval_secs", self.checkpoint_interval_secs)?;
        let l = &self.limits;
        if !(256..=16 << 20).contains(&l.max_body_bytes) {
            return Err(bad("limits.max_body_bytes", format!("must be in 256..=16777216, got {}", l.max_body_bytes)));
        }
        if let Some(v) = l.max_abs_scalar {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad("limits.max_abs_scalar", format!("must be positive and finite, got {v}")));
            }
        }
        if l.max_in_flight == 0 || l.max_hops == 0 {
            return Err(bad("limits", "max_in_flight and max_hops must be positive".into()));
        }
        if !(1..=65_536).contains(&l.max_connections) {
            return Err(bad("limits.max_connections", format!("must be in 1..=65536, got {}", l.max_connections)));
        }
        if !(1..=65_536).contains(&l.max_calls_per_peer) {
            return Err(bad(
                "limits.max_calls_per_peer",
                format!("must be in 1..=65536, got {}", l.max_calls_per_peer),
            ));
        }
        if !(1..=4096).contains(&l.max_streams_per_connection) {
            return Err(bad(
                "limits.max_streams_per_connection",
                format!("must be in 1..=4096, got {}", l.max_streams_per_connection),
            ));
        }
        if !(1..=1 << 20).contains(&l.remembered_handoffs) {
            return Err(bad(
                "limits.remembered_handoffs",
                format!("must be in 1..=1048576, got {}", l.remembered_handoffs),
            ));
        }
        // The synthetic workload's values lie in [-c / (1 - gamma), R_sub]: every return is a discounted sum
        // of step costs plus at most one SUBMIT payoff, and IC-Q's updates keep a table inside that range.
        let wc = workload.config();
        let scalar_range = self.option.is_none().then(|| (-wc.step_cost / (1.0 - wc.discount), wc.submit_reward));
        let derived = scalar_range.map_or(100.0, |(lo, hi)| 2.0 * (hi - lo)).max(1e-9);
        let limits = Limits {
            max_body_bytes: l.max_body_bytes,
            call_timeout: secs("limits.call_timeout_secs", l.call_timeout_secs)?,
            workflow_timeout: secs("limits.workflow_timeout_secs", l.workflow_timeout_secs)?,
            header_read_timeout: secs("limits.header_read_timeout_secs", l.header_read_timeout_secs)?,
            idle_timeout: secs("limits.idle_timeout_secs", l.idle_timeout_secs)?,
            max_connections: l.max_connections,
            shutdown_grace: secs("limits.shutdown_grace_secs", l.shutdown_grace_secs)?,
            checkpoint_interval,
            max_abs_scalar: l.max_abs_scalar.unwrap_or(derived),
            scalar_range,
            max_in_flight: l.max_in_flight,
            max_hops: l.max_hops,
            remembered_handoffs: l.remembered_handoffs,
            max_calls_per_peer: l.max_calls_per_peer,
            max_streams_per_connection: l.max_streams_per_connection,
        };
        let tls = match &self.tls {
            None => None,
            Some(t) => Some(crate::tls::load_files(t).map_err(|(f, r)| bad(&format!("tls.{f}"), r))?),
        };
        let certs_identify = tls.as_ref().is_some_and(|t| t.client_auth);
        let mut by_role: Vec<Option<PeerAgent>> = vec![None; n];
        let mut inbound = Vec::new();
        let mut agents: Vec<PeerAgent> = Vec::new();
        for (k, p) in self.peers.iter().enumerate() {
            let field = |name: &str| format!("peers[{k}].{name}");
            if !valid_id(&p.id) || p.id == self.id {
                return Err(bad(&field("id"), format!("must be a valid id other than this agent's, got {:?}", p.id)));
            }
            match &p.token {
                Some(t) if t.len() < 16 || t.chars().any(|c| !c.is_ascii_graphic()) => {
                    return Err(bad(&field("token"), "must be at least 16 printable ASCII characters".into()));
                }
                None if !certs_identify => {
                    return Err(bad(
                        &field("token"),
                        "missing (required unless [tls] requires client certificates, client_auth = true)".into(),
                    ));
                }
                _ => {}
            }
            if inbound.iter().any(|i: &Inbound| i.id == p.id || (i.token.is_some() && i.token == p.token)) {
                return Err(bad(&field("id"), format!("peer {:?} or its token appears twice", p.id)));
            }
            inbound.push(Inbound { id: p.id.clone(), token: p.token.clone() });
            if let Some(url) = &p.url {
                if url.starts_with("https://") && tls.is_none() {
                    return Err(bad(&field("url"), "an https:// peer needs this agent's [tls] section".into()));
                }
            }
            match (p.role, &p.url) {
                (None, None) => {}
                (None, Some(url)) if self.option.is_some() => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(&field("url"), format!("must start with http:// or https://, got {url:?}")));
                    }
                    agents.push(peer_agent(&p.id, url, &p.token).map_err(|r| bad(&field("url"), r))?);
                }
                (Some(_), _) if self.option.is_some() => {
                    return Err(bad(&field("role"), "peers of a hook agent have no role (give `url` only)".into()))
                }
                (Some(r), Some(url)) => {
                    if usize::from(r) >= n || r == role {
                        return Err(bad(&field("role"), format!("must be another agent index in 0..{n}, got {r}")));
                    }
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(&field("url"), format!("must start with http:// or https://, got {url:?}")));
                    }
                    if by_role[usize::from(r)].is_some() {
                        return Err(bad(&field("role"), format!("two peers play role {r}")));
                    }
                    let peer = peer_agent(&p.id, url, &p.token).map_err(|r| bad(&field("url"), r))?;
                    agents.push(peer.clone());
                    by_role[usize::from(r)] = Some(peer);
                }
                _ => {
                    return Err(bad(
                        &field("url"),
                        "an agent peer needs both `role` and `url`; a client neither".into(),
                    ))
                }
            }
        }
        let hook = match &self.option {
            None => None,
            Some(h) => {
                Some(validate_hook(h, &agents, l.max_body_bytes).map_err(|(f, r)| bad(&format!("option.{f}"), r))?)
            }
        };
        Ok(AgentSettings {
            config: self.clone(),
            role: AgentId(role),
            workload,
            learner,
            state_dir: self.state_dir.clone(),
            by_role,
            agents,
            hook,
            inbound,
            limits,
            tls,
        })
    }
}

fn peer_agent(id: &str, url: &str, token: &Option<String>) -> Result<PeerAgent, String> {
    let url = url.trim_end_matches('/').to_string();
    let endpoint = reqwest::Url::parse(&format!("{url}/")).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    Ok(PeerAgent { id: id.to_string(), url, endpoint, token: token.clone() })
}

/// Check a hook config against the agent peers; errors are `(field, reason)`.
fn validate_hook(h: &HookConfig, agents: &[PeerAgent], max_body: u64) -> Result<Hook, (String, String)> {
    let err = |f: &str, r: String| (f.to_string(), r);
    let (call, label) = match (h.kind, &h.url, &h.program) {
        (HookKind::Http, Some(url), None) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("url", format!("must start with http:// or https://, got {url:?}")));
            }
            if !h.args.is_empty() {
                return Err(err("args", "only for kind = \"command\"".into()));
            }
            (HookCall::Http(url.clone()), url.clone())
        }
        (HookKind::Command, None, Some(program)) if !program.is_empty() => {
            (HookCall::Command { program: program.clone(), args: h.args.clone() }, format!("command {program}"))
        }
        (HookKind::A2a, Some(url), None) if h.args.is_empty() => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("url", format!("must start with http:// or https://, got {url:?}")));
            }
            let Some(cfg) = &h.a2a else {
                return Err(err(
                    "a2a",
                    "kind = \"a2a\" needs an [option.a2a] table (observation, reward, cost)".into(),
                ));
            };
            let token = cfg.validate(h.n_obs.max(1))?;
            let o = crate::a2a::A2aOption { url: url.clone(), cfg: cfg.clone(), token };
            (HookCall::A2a(Box::new(o)), format!("a2a {url}"))
        }
        (HookKind::A2a, _, _) => {
            return Err(err("url", "kind = \"a2a\" needs `url` and neither `program` nor `args`".into()))
        }
        (HookKind::Http, _, _) => return Err(err("url", "kind = \"http\" needs `url` and no `program`".into())),
        (HookKind::Command, _, _) => {
            return Err(err("program", "kind = \"command\" needs a non-empty `program` and no `url`".into()))
        }
    };
    if h.a2a.is_some() && h.kind != HookKind::A2a {
        return Err(err("a2a", "only for kind = \"a2a\"".into()));
    }
    if h.n_obs == 0 {
        return Err(err("n_obs", "must be positive".into()));
    }
    if h.actions.is_empty() || h.actions.len() > usize::from(u16::MAX) {
        return Err(err("actions", format!("must list 1..=65535 actions, got {}", h.actions.len())));
    }
    let timeout = checked_secs(h.timeout_secs).map_err(|r| err("timeout_secs", r))?;
    if !(h.discount > 0.0 && h.discount <= 1.0) {
        return Err(err("discount", format!("must be in (0, 1], got {}", h.discount)));
    }
    if let Some(a) = &h.start_artifact {
        let size = serde_json::to_vec(a).map_or(u64::MAX, |v| v.len() as u64);
        if size > max_body / 2 {
            return Err(err("start_artifact", format!("{size} bytes as JSON, more than limits.max_body_bytes / 2")));
        }
    }
    let mut names = Vec::with_capacity(h.actions.len());
    let mut targets = Vec::with_capacity(h.actions.len());
    for (k, a) in h.actions.iter().enumerate() {
        let f = |name: &str| format!("actions[{k}].{name}");
        if !(1..=64).contains(&a.name.len()) || names.contains(&a.name) {
            return Err(err(&f("name"), format!("must be 1-64 characters and unique, got {:?}", a.name)));
        }
        names.push(a.name.clone());
        targets.push(match (&a.to, a.submit) {
            (None, true) => HookTarget::Submit,
            (Some(to), false) => match agents.iter().find(|p| p.id == *to) {
                Some(p) => HookTarget::Peer(p.clone()),
                None => return Err(err(&f("to"), format!("{to:?} is not a peer agent with a `url`"))),
            },
            _ => return Err(err(&f("to"), "give exactly one of `to = \"<peer id>\"` and `submit = true`".into())),
        });
    }
    Ok(Hook {
        call,
        label,
        n_obs: h.n_obs,
        action_names: names,
        targets,
        timeout,
        discount: h.discount,
        start_artifact: h.start_artifact.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AgentConfig {
        toml::from_str(
            r#"
            id = "a0"
            role = 0
            seed = 1
            state_dir = "s"
            [[peers]]
            id = "a1"
            role = 1
            url = "http://127.0.0.1:1"
            token = "0123456789abcdef-1"
            [[peers]]
            id = "client"
            token = "0123456789abcdef-c"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_config_maps_peers_by_role() {
        let s = base().validate("t.toml").unwrap();
        assert_eq!(s.by_role[1].as_ref().unwrap().id, "a1");
        assert!(s.by_role[0].is_none() && s.by_role[2].is_none());
        assert_eq!(s.inbound.len(), 2);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut c = base();
        c.role = Some(3);
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("`role`"));
        let mut c = base();
        c.peers[0].token = Some("short".into());
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("peers[0].token"));
        let mut c = base();
        c.peers[1].url = Some("http://x".into());
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("peers[1].url"));
        let mut c = base();
        c.workload.aliasing = 1.0;
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("workload.aliasing"));
        for bad in [0, 4097] {
            let mut c = base();
            c.limits.max_streams_per_connection = bad;
            let e = c.validate("t.toml").unwrap_err().to_string();
            assert!(e.contains("limits.max_streams_per_connection") && e.contains("1..=4096"), "{e}");
        }
        let err = toml::from_str::<AgentConfig>("id = \"a\"\nrole = 0\nseed = 1\nstate_dir = \"s\"\ncolour = 1\n");
        assert!(err.unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn huge_durations_are_refused_with_the_field_named_before_any_conversion() {
        type Set = fn(&mut AgentConfig, f64);
        let fields: [(&str, Set); 6] = [
            ("checkpoint_interval_secs", |c, v| c.checkpoint_interval_secs = v),
            ("limits.call_timeout_secs", |c, v| c.limits.call_timeout_secs = v),
            ("limits.workflow_timeout_secs", |c, v| c.limits.workflow_timeout_secs = v),
            ("limits.header_read_timeout_secs", |c, v| c.limits.header_read_timeout_secs = v),
            ("limits.idle_timeout_secs", |c, v| c.limits.idle_timeout_secs = v),
            ("limits.shutdown_grace_secs", |c, v| c.limits.shutdown_grace_secs = v),
        ];
        for (field, set) in fields {
            for v in [1e20, f64::MAX, f64::INFINITY, f64::NAN, 0.0, -1.0, MAX_SECS * 1.5] {
                let mut c = base();
                set(&mut c, v);
                let e = c.validate("t.toml").unwrap_err().to_string();
                assert!(e.contains(&format!("`{field}`")) && e.contains("(0, 86400]"), "{field} = {v}: {e}");
            }
            let mut c = base();
            set(&mut c, MAX_SECS);
            c.validate("t.toml").unwrap();
        }
        let mut c = base();
        c.option = None;
        let hook: HookConfig = toml::from_str(
            "kind = \"command\"\nprogram = \"true\"\nn_obs = 1\ndiscount = 0.9\ntimeout_secs = 1e20\nactions = [{ name = \"s\", submit = true }]\n",
        )
        .unwrap();
        c.role = None;
        c.peers.retain(|p| p.role.is_none());
        c.option = Some(hook);
        let e = c.validate("t.toml").unwrap_err().to_string();
        assert!(e.contains("option.timeout_secs"), "{e}");
    }

    #[test]
    fn the_default_scalar_limit_comes_from_the_workloads_value_range() {
        let s = base().validate("t.toml").unwrap();
        // Values of the default workload lie in [-c / (1 - gamma), R_sub] = [-2, 10].
        let (lo, hi) = s.limits.scalar_range.unwrap();
        assert!((lo + 2.0).abs() < 1e-9 && (hi - 10.0).abs() < 1e-9, "{lo} {hi}");
        assert!((s.limits.max_abs_scalar - 24.0).abs() < 1e-9, "{}", s.limits.max_abs_scalar);
        let mut c = base();
        c.workload.submit_reward = 100.0;
        assert!((c.validate("t.toml").unwrap().limits.max_abs_scalar - 204.0).abs() < 1e-9);
        let mut c = base();
        c.limits.max_abs_scalar = Some(7.0);
        assert_eq!(c.validate("t.toml").unwrap().limits.max_abs_scalar, 7.0);
    }

    #[test]
    fn a_peer_without_a_token_needs_mutual_tls() {
        let mut c = base();
        c.peers[0].token = None;
        let e = c.validate("t.toml").unwrap_err().to_string();
        assert!(e.contains("peers[0].token") && e.contains("client_auth"), "{e}");
        let mut c = base();
        c.peers[0].url = Some("https://127.0.0.1:1".into());
        let e = c.validate("t.toml").unwrap_err().to_string();
        assert!(e.contains("peers[0].url") && e.contains("[tls]"), "{e}");
    }
}
