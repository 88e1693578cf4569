//! The agent service: one IC-Q agent behind an HTTP endpoint.
//!
//! On a `handoff` the receiver draws its own private state, computes its observation `o'` of the artifact and
//! answers the sender with ONE number, `v = max_a' Q_j(o', a')` ([`baton_learn::icq::reply`] via
//! [`IcqAgent::reply`]). It then holds control: it picks its action with its own behaviour policy, runs its own
//! option on the artifact ([`baton_envs::synthetic::Synthetic::run_option`]) and hands the artifact on; when the next receiver's
//! number arrives it applies [`IcqAgent::learn`] (model.md 2 step 4) to its own table. On SUBMIT it learns from
//! `v = 0` and reports the end of the workflow to the entry agent. The table, the visit counts, the private
//! state and the transition never leave this module.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use baton_core::rng::{stream, Stream};
use baton_core::{ObsId, Rng};
use baton_learn::{IcqAgent, Scalar, TabularQ, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::checkpoint::Checkpoint;
use crate::config::{AgentSettings, Hook, HookCall, HookTarget, PeerAgent};
use crate::error::ServiceError;
use crate::hook::{self, Restricted};
use crate::net::{CertIdentity, NetCounts};
use crate::outbox::{Outbox, Pushed};
use crate::peer::{PeerClient, SendError};
use crate::wire::{self, Artifact, Envelope, WorkflowOutcome, WorkflowStatus, HANDOFF_EXT, SCALAR_EXT};

/// What `baton agent status` shows: counts and health, nothing of the learner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The agent's id.
    pub id: String,
    /// The workload agent index it plays.
    pub role: u16,
    /// Serving requests.
    pub healthy: bool,
    /// Seconds since the process started.
    pub uptime_secs: f64,
    /// Handoffs received from peers (each answered with one scalar).
    pub handoffs_received: u64,
    /// Handoffs sent to peers.
    pub handoffs_sent: u64,
    /// Scalars received back (one per successful handoff sent).
    pub scalars_received: u64,
    /// IC-Q updates applied to this agent's own table since its first start (checkpointed).
    pub updates: u64,
    /// Workflows started here (entry agent).
    pub workflows_started: u64,
    /// Workflows this agent submitted.
    pub workflows_submitted: u64,
    /// Workflows that failed while this agent held them (a call failed or a limit was hit).
    pub workflows_failed: u64,
    /// Requests rejected (authentication, size, malformed, out of range, busy).
    pub rejected_requests: u64,
    /// Workflows held or waited for now.
    pub in_flight: u32,
    /// Checkpoints written by this process.
    pub checkpoints_written: u64,
    /// Updates restored from the checkpoint at start.
    pub restored_updates: u64,
    /// Retried handoffs answered with the scalar already sent (the work was not run again).
    pub handoffs_deduplicated: u64,
    /// Incoming connections open now.
    pub connections_open: u64,
    /// Idle connections closed to make room at `limits.max_connections`.
    pub connections_evicted: u64,
    /// New connections refused at `limits.max_connections`.
    pub connections_refused: u64,
    /// Connections closed by the header-read or idle timeout, or whose TLS handshake failed.
    pub connections_timed_out_or_failed: u64,
    /// Per agent peer: scalars it sent back that were refused or clamped.
    pub peers: BTreeMap<String, PeerScalars>,
}

/// What one peer's replies to this agent's handoffs did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerScalars {
    /// Replies refused (not exactly one finite number within `limits.max_abs_scalar`, or an error status):
    /// the workflow failed and nothing was learned.
    pub scalars_refused: u64,
    /// Scalars within `limits.max_abs_scalar` but outside the workload's value range, clamped into it.
    pub scalars_clamped: u64,
    /// Calls refused in the TLS handshake because its server's certificate did not verify: not signed by the
    /// CA, or not naming the host of its `url` and its id. Nothing was sent.
    #[serde(default)]
    pub certificates_refused: u64,
}

/// What this agent keeps per agent peer: counts of its replies, the client it calls this peer with (at most
/// `limits.max_calls_per_peer` calls and connections; with `[tls]`, its own verifier, which requires the
/// peer's id in the server's certificate), its `Authorization` header (built once), and the outbox of messages
/// waiting to be sent to it (taken by at most `limits.max_calls_per_peer` workers).
struct PeerState {
    refused: AtomicU64,
    clamped: AtomicU64,
    certificates_refused: AtomicU64,
    client: PeerClient,
    auth: Option<axum::http::HeaderValue>,
    outbox: Outbox<Job>,
}

/// What this agent remembers of a handoff id, for idempotent retries.
#[derive(Clone, Copy)]
enum SeenState {
    /// Being taken now: a duplicate gets 503 and retries.
    Pending,
    /// Answered with this scalar.
    Answered(f64),
}

/// The most recent handoff ids (per sending peer), oldest forgotten first. An id is kept as a 64-bit keyed hash
/// of (peer, id) under a per-process random key, so a peer cannot aim for collisions and no string is stored.
struct Seen {
    map: HashMap<u64, SeenState>,
    order: VecDeque<u64>,
    cap: usize,
    keyed: std::collections::hash_map::RandomState,
}

impl Seen {
    fn key(&self, peer: &str, id: &str) -> u64 {
        use std::hash::BuildHasher as _;
        self.keyed.hash_one((peer, id))
    }

    fn insert(&mut self, key: u64, state: SeenState) {
        if self.map.insert(key, state).is_none() {
            self.order.push_back(key);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

#[derive(Default)]
struct Counts {
    handoffs_received: AtomicU64,
    handoffs_sent: AtomicU64,
    scalars_received: AtomicU64,
    workflows_started: AtomicU64,
    workflows_submitted: AtomicU64,
    workflows_failed: AtomicU64,
    rejected: AtomicU64,
    checkpoints: AtomicU64,
}

/// The learner and the agent's own random stream; locked only for short, allocation-light sections and
/// never across an `await`.
struct Core {
    learner: IcqAgent<TabularQ>,
    rng: Rng,
    updates: u64,
}

struct Shared {
    s: AgentSettings,
    core: Mutex<Core>,
    counts: Counts,
    in_flight: AtomicU32,
    /// The client for the hook (public roots: a hook is not a peer).
    hook_http: reqwest::Client,
    waiters: Mutex<HashMap<String, oneshot::Sender<WorkflowOutcome>>>,
    net: Arc<NetCounts>,
    peers: HashMap<String, PeerState>,
    seen: Mutex<Seen>,
    deduplicated: AtomicU64,
    /// Held while a checkpoint is written: the periodic and the final checkpoint share one temp file.
    checkpointing: Mutex<()>,
    wire_log: Option<Mutex<std::fs::File>>,
    started: Instant,
    boot_tag: String,
    next_workflow: AtomicU64,
    restored_updates: u64,
}

/// One agent, ready to serve.
#[derive(Clone)]
pub struct Agent {
    shared: Arc<Shared>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the table half-updated (each update is one store), so a
    // poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A handoff id marked as being taken: answered with its scalar, or forgotten (if taking it failed, so that a
/// retry can take it).
struct PendingHandoff {
    sh: Arc<Shared>,
    key: Option<u64>,
}

impl PendingHandoff {
    fn answer(mut self, v: f64) {
        if let Some(key) = self.key.take() {
            lock(&self.sh.seen).insert(key, SeenState::Answered(v));
        }
    }
}

impl Drop for PendingHandoff {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.sh.seen).map.remove(&key);
        }
    }
}

/// Decrements the in-flight count when a workflow leaves this agent.
struct InFlight(Arc<Shared>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Agent {
    /// Create the state directory and restore the learner from its checkpoint, if any.
    pub fn new(s: AgentSettings) -> Result<Agent, ServiceError> {
        std::fs::create_dir_all(&s.state_dir).map_err(|e| ServiceError::io(&s.state_dir, e))?;
        let agent_spec = &s.agent_spec();
        let env_id = s.env_id();
        let (q, restored_updates) = match Checkpoint::load(&s.state_dir)? {
            None => (TabularQ::new(agent_spec, s.learner.step.clone()), 0),
            Some(c) => {
                let path = crate::checkpoint::path_in(&s.state_dir);
                let bad = |reason: String| ServiceError::Checkpoint { path: path.clone(), reason };
                if c.agent != s.config.id || c.role != s.role.0 || c.env != env_id {
                    return Err(bad(format!(
                        "belongs to agent {:?} (role {}, {}), not {:?} (role {}, {env_id})",
                        c.agent, c.role, c.env, s.config.id, s.role.0
                    )));
                }
                let updates = c.updates;
                let shape = (c.n_obs, c.n_actions);
                let q = TabularQ::from_parts(agent_spec, s.learner.step.clone(), c.q, c.visits).ok_or_else(|| {
                    bad(format!(
                        "table shape {shape:?} does not match the interface's ({}, {})",
                        agent_spec.n_obs, agent_spec.n_actions
                    ))
                })?;
                tracing::info!(agent = %s.config.id, updates, "restored the learner from its checkpoint");
                (q, updates)
            }
        };
        // A restarted agent continues on a fresh part of its stream (the restored update count picks it),
        // so it does not replay the draws it made before the restart.
        let rng = stream(s.config.seed ^ restored_updates.wrapping_mul(0x9E37_79B9_7F4A_7C15), Stream::Agent(s.role.0));
        let wire_log = if s.config.wire_log {
            let path = s.state_dir.join("wire.jsonl");
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| ServiceError::io(&path, e))?;
            Some(Mutex::new(f))
        } else {
            None
        };
        let hook_http = reqwest::Client::builder()
            .timeout(s.limits.call_timeout)
            .build()
            .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))?;
        let mut peers = HashMap::new();
        for p in &s.agents {
            let auth = match &p.token {
                None => None,
                Some(t) => {
                    let mut v = axum::http::HeaderValue::try_from(format!("Bearer {t}")).map_err(|e| {
                        ServiceError::Internal(format!("the token of peer {:?} is not a valid header: {e}", p.id))
                    })?;
                    v.set_sensitive(true);
                    Some(v)
                }
            };
            let state = PeerState {
                refused: AtomicU64::new(0),
                clamped: AtomicU64::new(0),
                certificates_refused: AtomicU64::new(0),
                client: peer_client(&s, p)?,
                auth,
                outbox: Outbox::new(s.limits.max_calls_per_peer as usize),
            };
            peers.insert(p.id.clone(), state);
        }
        let seen = Seen {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: s.limits.remembered_handoffs as usize,
            keyed: std::collections::hash_map::RandomState::new(),
        };
        let boot = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Ok(Agent {
            shared: Arc::new(Shared {
                core: Mutex::new(Core { learner: IcqAgent::new(q, s.discount()), rng, updates: restored_updates }),
                counts: Counts::default(),
                in_flight: AtomicU32::new(0),
                hook_http,
                waiters: Mutex::new(HashMap::new()),
                net: Arc::new(NetCounts::default()),
                peers,
                seen: Mutex::new(seen),
                deduplicated: AtomicU64::new(0),
                checkpointing: Mutex::new(()),
                wire_log,
                started: Instant::now(),
                boot_tag: format!("{}-{:x}", s.config.id, boot),
                next_workflow: AtomicU64::new(0),
                restored_updates,
                s,
            }),
        })
    }

    /// Counts and health.
    pub fn status(&self) -> Status {
        self.shared.status()
    }

    /// Write a checkpoint now (atomically).
    pub fn checkpoint(&self) -> Result<(), ServiceError> {
        self.shared.checkpoint()
    }

    /// Serve on `listener` until `shutdown` resolves, checkpointing every `checkpoint_interval_secs` and once
    /// more at the end. Workflows waiting at this agent fail with "agent shutting down".
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let sh = self.shared.clone();
        let interval = sh.s.limits.checkpoint_interval;
        let ticker = {
            let sh = sh.clone();
            tokio::spawn(async move {
                let mut t = tokio::time::interval(interval);
                t.tick().await;
                loop {
                    t.tick().await;
                    let sh = sh.clone();
                    match tokio::task::spawn_blocking(move || sh.checkpoint()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::error!("periodic checkpoint failed: {e}"),
                        Err(e) => tracing::error!("periodic checkpoint task failed: {e}"),
                    }
                }
            })
        };
        let app = router(sh.clone());
        let stop = {
            let sh = sh.clone();
            async move {
                shutdown.await;
                tracing::info!(agent = %sh.s.config.id, "shutting down");
                lock(&sh.waiters).clear();
            }
        };
        let tls = match &sh.s.tls {
            None => None,
            Some(f) => Some(crate::net::TlsServer {
                acceptor: tokio_rustls::TlsAcceptor::from(
                    crate::tls::server_config(f).map_err(ServiceError::Internal)?,
                ),
                ids: Arc::new(sh.s.inbound.iter().map(|i| i.id.clone()).collect()),
            }),
        };
        crate::net::serve(listener, tls, app, sh.s.limits.clone(), sh.net.clone(), sh.s.config.id.clone(), stop).await;
        ticker.abort();
        // Messages not yet sent are dropped (their workflows fail at their entry agents' deadlines), and the
        // outbox workers end after the calls they are making.
        for p in sh.peers.values() {
            drop(p.outbox.close());
        }
        tokio::task::spawn_blocking(move || sh.checkpoint())
            .await
            .map_err(|e| ServiceError::Internal(format!("final checkpoint task: {e}")))?
    }
}

/// A future that resolves on ctrl-c or (on Unix) SIGTERM. The SIGTERM handler is installed when this is called
/// (inside a tokio runtime), not when the future is first polled, so a SIGTERM that arrives while the server
/// starts still leads to a clean shutdown with a checkpoint.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}

fn router(sh: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(handle_rpc))
        .route("/.well-known/agent-card.json", get(agent_card))
        .route("/status", get(handle_status))
        .with_state(sh)
}

async fn agent_card(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(sh.card())
}

fn identity(req: &axum::extract::Request) -> CertIdentity {
    req.extensions().get::<CertIdentity>().cloned().unwrap_or_default()
}

async fn handle_status(State(sh): State<Arc<Shared>>, req: axum::extract::Request) -> Response {
    match sh.authenticate(req.headers(), &identity(&req)) {
        Ok(_) => Json(sh.status()).into_response(),
        Err(e) => sh.reject(&Value::Null, &e),
    }
}

/// One JSON-RPC message: read and checked by [`read_rpc`], then dispatched. A `start` waits here for its
/// workflow's result, so this future is held per workflow in flight at the entry agent: with the reading stage
/// in its own function and a hook call's exchange boxed ([`hook::call`]), it is 1,512 bytes instead of 4,624
/// (release build, `size_of_val`).
async fn handle_rpc(State(sh): State<Arc<Shared>>, req: axum::extract::Request) -> Response {
    let (peer, incoming) = match read_rpc(&sh, req).await {
        Ok(x) => x,
        Err(e) => return sh.reject(&Value::Null, &e),
    };
    let id = incoming.id.clone();
    match sh.clone().dispatch(&peer, incoming).await {
        Ok(Reply::Bytes(b)) => {
            sh.log("out-reply", &peer, &b);
            ([(axum::http::header::CONTENT_TYPE, "application/json")], b).into_response()
        }
        Err(e) => sh.reject(&id, &e),
    }
}

/// Authenticate a request, read its body (within the size cap and `limits.call_timeout_secs`) and parse it:
/// the caller's id and the message.
async fn read_rpc(sh: &Shared, req: axum::extract::Request) -> Result<(String, wire::Incoming), ServiceError> {
    let cert = identity(&req);
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let peer = sh.authenticate(&headers, &cert)?;
    let limit = sh.s.limits.max_body_bytes;
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = announced.filter(|&n| n > limit) {
        return Err(ServiceError::TooLarge { size, limit });
    }
    // A deadline on reading the body too, so a peer that sends slowly cannot hold a connection open.
    let read_deadline = sh.s.limits.call_timeout;
    let bytes = match tokio::time::timeout(read_deadline, axum::body::to_bytes(body, limit as usize)).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(ServiceError::TooLarge { size: limit + 1, limit }),
        Err(_) => {
            let reason = format!("request body not received within limits.call_timeout_secs = {read_deadline:?}");
            return Err(ServiceError::InvalidRequest(reason));
        }
    };
    let incoming = wire::parse_request(&bytes)?;
    sh.log("in", &peer, &bytes);
    Ok((peer, incoming))
}

fn log_line(w: &Mutex<std::fs::File>, dir: &str, peer: &str, body: &Value) -> std::io::Result<()> {
    use std::io::Write as _;
    let line = json!({ "dir": dir, "peer": peer, "body": body });
    let mut f = lock(w);
    writeln!(f, "{line}")
}

impl Shared {
    fn card(&self) -> Value {
        let c = &self.s.config;
        json!({
            "protocolVersion": "0.3.0",
            "name": c.id,
            "description": format!(
                "baton IC-Q agent playing role {} of {}; it answers a handoff with one scalar",
                self.s.role.0,
                self.s.env_id()
            ),
            "url": format!("http://{}/", c.listen),
            "preferredTransport": "JSONRPC",
            "version": env!("CARGO_PKG_VERSION"),
            "capabilities": {
                "streaming": false,
                "pushNotifications": false,
                "extensions": [
                    { "uri": HANDOFF_EXT, "required": true,
                      "description": "baton handoff metadata: message type (start, handoff, result), sender, workflow, hop" },
                    { "uri": SCALAR_EXT, "required": true,
                      "description": "the one number v = max_a' Q_j(o', a') a receiver sends back for a handoff" }
                ]
            },
            "defaultInputModes": ["application/json"],
            "defaultOutputModes": ["application/json"],
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "security": [ { "bearer": [] } ],
            "skills": [ {
                "id": format!("{}-role-{}", self.s.env_id(), self.s.role.0),
                "name": format!("{} agent {}", self.s.env_id(), self.s.role.0),
                "description": "runs its own option on the artifact and hands it on",
                "tags": ["ic-q", "handoff"]
            } ]
        })
    }

    fn status(&self) -> Status {
        let c = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Status {
            id: self.s.config.id.clone(),
            role: self.s.role.0,
            healthy: true,
            uptime_secs: self.started.elapsed().as_secs_f64(),
            handoffs_received: get(&c.handoffs_received),
            handoffs_sent: get(&c.handoffs_sent),
            scalars_received: get(&c.scalars_received),
            updates: lock(&self.core).updates,
            workflows_started: get(&c.workflows_started),
            workflows_submitted: get(&c.workflows_submitted),
            workflows_failed: get(&c.workflows_failed),
            rejected_requests: get(&c.rejected),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            checkpoints_written: get(&c.checkpoints),
            restored_updates: self.restored_updates,
            handoffs_deduplicated: self.deduplicated.load(Ordering::Relaxed),
            connections_open: get(&self.net.open),
            connections_evicted: get(&self.net.evicted),
            connections_refused: get(&self.net.refused),
            connections_timed_out_or_failed: get(&self.net.timed_out_or_failed),
            peers: self
                .peers
                .iter()
                .map(|(id, c)| {
                    let scalars = PeerScalars {
                        scalars_refused: get(&c.refused),
                        scalars_clamped: get(&c.clamped),
                        certificates_refused: get(&c.certificates_refused),
                    };
                    (id.clone(), scalars)
                })
                .collect(),
        }
    }

    fn checkpoint(&self) -> Result<(), ServiceError> {
        let _writing = lock(&self.checkpointing);
        let snapshot = {
            let core = lock(&self.core);
            let q = core.learner.q();
            Checkpoint {
                agent: self.s.config.id.clone(),
                role: self.s.role.0,
                env: self.s.env_id().to_string(),
                n_obs: q.n_obs(),
                n_actions: q.n_actions(),
                q: q.as_slice().to_vec(),
                visits: q.visits_slice().to_vec(),
                updates: core.updates,
            }
        };
        snapshot.save(&self.s.state_dir)?;
        self.counts.checkpoints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn reject(&self, id: &Value, e: &ServiceError) -> Response {
        self.counts.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(agent = %self.s.config.id, "rejected a request: {e}");
        let (status, _) = e.codes();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(wire::error_reply(id, e))).into_response()
    }

    fn log(&self, dir: &str, peer: &str, bytes: &[u8]) {
        if let Some(w) = &self.wire_log {
            let body = serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
            if let Err(e) = log_line(w, dir, peer, &body) {
                tracing::error!("wire log: {e}");
            }
        }
    }

    /// The id of the calling peer: the one whose bearer token the request carries (the scheme is matched
    /// case-insensitively, RFC 7235), or the one its verified client certificate names. When both are
    /// present they must agree.
    fn authenticate(&self, headers: &HeaderMap, cert: &CertIdentity) -> Result<String, ServiceError> {
        let by_cert = match cert.0.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => {
                return Err(ServiceError::UnknownAgent(format!("the client certificate names several peers: {many:?}")))
            }
        };
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return by_cert.ok_or_else(|| {
                ServiceError::Unauthorized(
                    "missing `Authorization: Bearer <token>` (or a client certificate naming a peer)".into(),
                )
            });
        };
        let value = value.to_str().unwrap_or_default();
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim_start_matches(' '),
            _ => return Err(ServiceError::Unauthorized("the Authorization header must be `Bearer <token>`".into())),
        };
        let mut found = None;
        for i in &self.s.inbound {
            if let Some(t) = &i.token {
                if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                    found = Some(i.id.clone());
                }
            }
        }
        let found = found
            .ok_or_else(|| ServiceError::Unauthorized("the bearer token belongs to no peer of this agent".into()))?;
        match by_cert {
            Some(c) if c != found => Err(ServiceError::UnknownAgent(format!(
                "the bearer token is {found:?}'s but the client certificate is {c:?}'s"
            ))),
            _ => Ok(found),
        }
    }

    fn enter(self: &Arc<Self>) -> Result<InFlight, ServiceError> {
        let max = self.s.limits.max_in_flight;
        let n = self.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(self.clone());
        if n >= max {
            return Err(ServiceError::Busy(format!("{max} workflows in flight (limits.max_in_flight)")));
        }
        Ok(guard)
    }

    fn peer_agent_by_id(&self, id: &str) -> Option<&PeerAgent> {
        self.s.agents.iter().find(|p| p.id == id)
    }

    async fn dispatch(self: Arc<Self>, peer: &str, inc: wire::Incoming) -> Result<Reply, ServiceError> {
        if inc.envelope.from() != peer {
            return Err(ServiceError::UnknownAgent(format!(
                "message claims to come from {:?} but carries the token of {peer:?}",
                inc.envelope.from()
            )));
        }
        match inc.envelope {
            Envelope::Handoff { workflow, origin, hop, .. } => {
                if self.peer_agent_by_id(peer).is_none() {
                    return Err(ServiceError::UnknownAgent(format!("{peer:?} is a client, not an agent peer")));
                }
                if self.peer_agent_by_id(&origin).is_none() && origin != self.s.config.id {
                    return Err(ServiceError::UnknownAgent(format!("origin {origin:?} is not a known agent")));
                }
                if hop > self.s.limits.max_hops {
                    return Err(ServiceError::InvalidParams(format!(
                        "hop {hop} exceeds limits.max_hops = {}",
                        self.s.limits.max_hops
                    )));
                }
                let data =
                    inc.artifact.ok_or_else(|| ServiceError::InvalidParams("a handoff needs the artifact".into()))?;
                let levels = match &self.s.hook {
                    None => {
                        let artifact = Artifact::from_data(&data)?;
                        self.s
                            .workload
                            .check_artifact(&artifact.levels)
                            .map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
                        Some(artifact.levels)
                    }
                    Some(_) => None,
                };
                // A retried handoff (the same id from the same peer) is answered with the scalar already sent,
                // and its work is not run again.
                let key = {
                    let mut seen = lock(&self.seen);
                    let key = seen.key(peer, &inc.message_id);
                    match seen.map.get(&key) {
                        Some(SeenState::Answered(v)) => {
                            self.deduplicated.fetch_add(1, Ordering::Relaxed);
                            return wire::scalar_reply_bytes(&inc.id, &inc.message_id, *v).map(Reply::Bytes);
                        }
                        Some(SeenState::Pending) => {
                            return Err(ServiceError::Busy(format!(
                                "handoff {:?} is being taken now; retry",
                                inc.message_id
                            )))
                        }
                        None => seen.insert(key, SeenState::Pending),
                    }
                    key
                };
                let pending = PendingHandoff { sh: self.clone(), key: Some(key) };
                let guard = self.enter()?;
                // model.md 2 step 3: observe (a synthetic role draws its own private state first), reply with ONE
                // scalar. A failed observation (a hook's) answers the sender with an error instead.
                let (obs, held, v) = match (levels, &self.s.hook) {
                    (Some(levels), None) => {
                        // One locked section: the private draw, the observation, the reply, and this agent's
                        // own action and option (model.md 2 steps 3, 1-2), run as soon as it holds control.
                        let mut core = lock(&self.core);
                        let private = self.s.workload.draw_private(&mut core.rng);
                        let obs = self
                            .s
                            .workload
                            .agent_observation(self.s.role, &levels, private)
                            .map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
                        let v = core.learner.reply(obs).value();
                        let stepped = self.step_locked(&mut core, obs, levels, private);
                        (obs, Held::Ready(stepped), v)
                    }
                    (levels, _) => {
                        let (obs, held) = self.observe(levels, data).await?;
                        let core = lock(&self.core);
                        let v = match &held {
                            Held::Hook { legal: Some(legal), .. } => {
                                baton_learn::icq::reply(&Restricted { q: core.learner.q(), legal }, obs).value()
                            }
                            _ => core.learner.reply(obs).value(),
                        };
                        (obs, held, v)
                    }
                };
                self.counts.handoffs_received.fetch_add(1, Ordering::Relaxed);
                pending.answer(v);
                self.take_control(Hold { workflow, origin, hop, obs, held }, guard);
                wire::scalar_reply_bytes(&inc.id, &inc.message_id, v).map(Reply::Bytes)
            }
            Envelope::Start { .. } => {
                let start_data = match &self.s.hook {
                    None => {
                        let start = self.s.workload.config().start_agent;
                        if u32::from(self.s.role.0) != start {
                            return Err(ServiceError::InvalidParams(format!(
                                "this agent plays role {}, workflows start at role {start}",
                                self.s.role.0
                            )));
                        }
                        Value::Null
                    }
                    Some(h) => h.start_artifact.clone().ok_or_else(|| {
                        ServiceError::InvalidParams("workflows do not start here (no option.start_artifact)".into())
                    })?,
                };
                if inc.artifact.is_some() {
                    return Err(ServiceError::InvalidParams("a start carries no artifact (it starts at nu_0)".into()));
                }
                let wait_guard = self.enter()?;
                // Holding the new workflow is part of the one admitted above: no second check.
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                let hold_guard = InFlight(self.clone());
                let levels = self.s.hook.is_none().then(|| vec![0; self.s.workload.n_components()]);
                let (obs, held) = self.observe(levels, start_data).await?;
                let n = self.next_workflow.fetch_add(1, Ordering::Relaxed);
                let workflow = format!("{}-{n}", self.boot_tag);
                let (tx, rx) = oneshot::channel();
                lock(&self.waiters).insert(workflow.clone(), tx);
                self.counts.workflows_started.fetch_add(1, Ordering::Relaxed);
                let origin = self.s.config.id.clone();
                self.take_control(Hold { workflow: workflow.clone(), origin, hop: 0, obs, held }, hold_guard);
                let deadline = self.s.limits.workflow_timeout;
                let outcome = match tokio::time::timeout(deadline, rx).await {
                    Ok(Ok(o)) => o,
                    Ok(Err(_)) => failed(0, "the entry agent is shutting down".into()),
                    Err(_) => {
                        lock(&self.waiters).remove(&workflow);
                        failed(
                            0,
                            format!(
                                "deadline passed: no result within limits.workflow_timeout_secs = {}",
                                deadline.as_secs_f64()
                            ),
                        )
                    }
                };
                drop(wait_guard);
                let env = Envelope::Result { from: self.s.config.id.clone(), workflow, outcome };
                wire::result_reply_bytes(&inc.id, &inc.message_id, &env).map(Reply::Bytes)
            }
            Envelope::Result { workflow, outcome, .. } => {
                if self.peer_agent_by_id(peer).is_none() {
                    return Err(ServiceError::UnknownAgent(format!("{peer:?} is a client, not an agent peer")));
                }
                let tx = lock(&self.waiters).remove(&workflow).ok_or_else(|| {
                    ServiceError::InvalidParams(format!(
                        "unknown workflow {workflow:?} (ended, timed out, or not ours)"
                    ))
                })?;
                let _ = tx.send(outcome);
                wire::empty_reply_bytes(&inc.id, &inc.message_id).map(Reply::Bytes)
            }
        }
    }

    /// Take control of an artifact: act and run the option (model.md 2 steps 1-2), then hand on or submit
    /// ([`Shared::hand_on`]). A synthetic role does it here and now (its option is a computation); a hook's
    /// option is an HTTP call, so it runs in a task of its own.
    fn take_control(self: &Arc<Self>, h: Hold, guard: InFlight) {
        let Hold { workflow, origin, hop, obs, held } = h;
        let stepped = match held {
            Held::Ready(stepped) => stepped,
            Held::Synthetic { levels, private } => self.run_synthetic(obs, levels, private),
            Held::Hook { artifact, legal } => {
                let sh = self.clone();
                tokio::spawn(async move {
                    let stepped = match &sh.s.hook {
                        Some(hook) => sh.run_hook(hook, obs, &artifact, legal.as_deref()).await,
                        None => Err("a hook artifact at an agent without a hook".into()),
                    };
                    sh.hand_on(workflow, origin, hop, stepped, guard);
                });
                return;
            }
        };
        self.hand_on(workflow, origin, hop, stepped, guard);
    }

    /// After this agent's option: submit (learning from `v = 0`), or queue the handoff to the next agent in
    /// its outbox; the receiver's scalar, when it comes, settles the update ([`Shared::settle`]).
    fn hand_on(
        self: &Arc<Self>,
        workflow: String,
        origin: String,
        hop: u32,
        stepped: Result<Stepped, String>,
        guard: InFlight,
    ) {
        let Stepped { t, next, payload } = match stepped {
            Ok(x) => x,
            Err(e) => return self.finish(&workflow, &origin, failed(hop, format!("option failed: {e}"))),
        };
        let peer = match next {
            Next::Submit => {
                self.learn(&t, Scalar::TERMINAL);
                self.counts.workflows_submitted.fetch_add(1, Ordering::Relaxed);
                let (levels, artifact) = match payload {
                    Payload::Levels(l) => (Some(l), None),
                    Payload::Json(a) => (None, Some(a)),
                };
                let outcome =
                    WorkflowOutcome { status: WorkflowStatus::Submitted, hops: hop, levels, reason: None, artifact };
                drop(guard);
                return self.finish(&workflow, &origin, outcome);
            }
            _ if hop >= self.s.limits.max_hops => {
                let reason = format!("limits.max_hops = {} reached", self.s.limits.max_hops);
                return self.finish(&workflow, &origin, failed(hop, reason));
            }
            Next::Missing(reason) => return self.finish(&workflow, &origin, failed(hop, reason)),
            Next::Peer(p) => p,
        };
        let env = Envelope::Handoff {
            from: self.s.config.id.clone(),
            workflow: workflow.clone(),
            origin: origin.clone(),
            hop: hop + 1,
        };
        let message_id = format!("{workflow}-h{}", hop + 1);
        let body = match payload {
            Payload::Levels(levels) => wire::request_bytes(&message_id, &message_id, &env, Some(&Artifact { levels })),
            Payload::Json(a) => wire::request_bytes(&message_id, &message_id, &env, Some(&a)),
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => return self.finish(&workflow, &origin, failed(hop, e.to_string())),
        };
        self.counts.handoffs_sent.fetch_add(1, Ordering::Relaxed);
        self.send(&peer.id, body, Then::Learn { t, workflow, origin, hop, _in_flight: guard });
    }

    /// What a handoff's reply settles: the receiver's scalar (checked, clamped into the workload's value range)
    /// applied to this agent's own table (model.md 2 step 4), or the workflow failed.
    /// `counts` is the peer's state, for its per-peer counts (`None` for a peer this agent does not know).
    fn settle(
        self: &Arc<Self>,
        peer: &str,
        counts: Option<&PeerState>,
        then: Then,
        reply: Result<axum::body::Bytes, CallError>,
    ) {
        let (t, workflow, origin, hop) = match then {
            Then::Learn { t, workflow, origin, hop, _in_flight } => (t, workflow, origin, hop),
            Then::Report { workflow, origin } => {
                if let Err(e) = reply {
                    tracing::warn!("workflow {workflow}: reporting the result to {origin} failed: {}", e.error);
                }
                return;
            }
        };
        let reply = reply.map_err(|e| {
            if let (true, Some(c)) = (e.replied, counts) {
                c.refused.fetch_add(1, Ordering::Relaxed);
            }
            e.error
        });
        match reply.and_then(|bytes| {
            let v = wire::parse_scalar_reply(&bytes, self.s.limits.max_abs_scalar).map_err(|reason| {
                if let Some(c) = counts {
                    c.refused.fetch_add(1, Ordering::Relaxed);
                }
                ServiceError::Peer { peer: peer.to_string(), reason }
            })?;
            Ok(match self.s.limits.scalar_range {
                Some((lo, hi)) if !(lo..=hi).contains(&v) => {
                    if let Some(c) = counts {
                        c.clamped.fetch_add(1, Ordering::Relaxed);
                    }
                    v.clamp(lo, hi)
                }
                _ => v,
            })
        }) {
            Ok(v) => {
                self.counts.scalars_received.fetch_add(1, Ordering::Relaxed);
                // model.md 2 step 4, with the receiver's one number.
                self.learn(&t, Scalar::from_wire(v));
            }
            Err(e) => {
                tracing::warn!(agent = %self.s.config.id, "handoff of {workflow} failed: {e}");
                self.finish(&workflow, &origin, failed(hop, e.to_string()));
            }
        }
    }

    /// model.md 2 step 3's observation: a synthetic role draws its own private state and reads its interface of
    /// `levels`; a hook agent asks its hook to observe `data`.
    async fn observe(&self, levels: Option<Vec<u32>>, data: Value) -> Result<(ObsId, Held), ServiceError> {
        match (&self.s.hook, levels) {
            (Some(hook), _) => {
                let max = self.s.limits.max_body_bytes;
                let o = if let HookCall::A2a(a) = &hook.call {
                    crate::a2a::observe(a, &data, hook.n_obs)
                        .map_err(|reason| ServiceError::Hook { hook: hook.label.clone(), reason })?
                } else {
                    let bytes = hook::call(&self.hook_http, hook, &hook::observe_request(&data), max).await?;
                    let n_actions = hook.action_names.len() as u16;
                    hook::parse_observe(&bytes, hook.n_obs, n_actions)
                        .map_err(|reason| ServiceError::Hook { hook: hook.label.clone(), reason })?
                };
                Ok((o.obs, Held::Hook { artifact: data, legal: o.legal }))
            }
            (None, Some(levels)) => {
                let mut core = lock(&self.core);
                let private = self.s.workload.draw_private(&mut core.rng);
                let obs = self
                    .s
                    .workload
                    .agent_observation(self.s.role, &levels, private)
                    .map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
                Ok((obs, Held::Synthetic { levels, private }))
            }
            (None, None) => Err(ServiceError::Internal("a synthetic role without an artifact".into())),
        }
    }

    /// Act and run the synthetic workload's option (one locked section).
    fn run_synthetic(&self, obs: ObsId, levels: Vec<u32>, private: u32) -> Result<Stepped, String> {
        let mut core = lock(&self.core);
        self.step_locked(&mut core, obs, levels, private)
    }

    /// Act and run the synthetic workload's option, with the learner already locked.
    fn step_locked(&self, core: &mut Core, obs: ObsId, mut levels: Vec<u32>, private: u32) -> Result<Stepped, String> {
        let Core { learner, rng, .. } = core;
        let action = self.s.learner.behaviour.act(learner.q(), obs, None, rng);
        let step =
            self.s.workload.run_option(self.s.role, &mut levels, private, action, rng).map_err(|e| e.to_string())?;
        let t = Transition { obs, action, reward: step.reward, duration: step.duration };
        let next = match step.next {
            None => Next::Submit,
            Some(j) => match self.s.by_role.get(j.index()).cloned().flatten() {
                Some(p) => Next::Peer(p),
                None => Next::Missing(format!("no peer plays role {} (add it to `peers`)", j.0)),
            },
        };
        Ok(Stepped { t, next, payload: Payload::Levels(levels) })
    }

    /// Act (under the lock), then ask the hook to run the action (outside it) and check its reply.
    async fn run_hook(
        &self,
        hook: &Hook,
        obs: ObsId,
        artifact: &Value,
        legal: Option<&[baton_core::ActionId]>,
    ) -> Result<Stepped, String> {
        let action = {
            let mut core = lock(&self.core);
            let Core { learner, rng, .. } = &mut *core;
            match legal {
                Some(legal) => self.s.learner.behaviour.act(&Restricted { q: learner.q(), legal }, obs, None, rng),
                None => self.s.learner.behaviour.act(learner.q(), obs, None, rng),
            }
        };
        let name = &hook.action_names[action.index()];
        let max = self.s.limits.max_body_bytes;
        let ran = if let HookCall::A2a(a) = &hook.call {
            crate::a2a::run(&self.hook_http, a, hook.timeout, artifact, name, max, self.s.limits.max_abs_scalar)
                .await
                .map_err(|reason| format!("option {} failed: {reason}", hook.label))?
        } else {
            let bytes = hook::call(&self.hook_http, hook, &hook::run_request(artifact, name), max)
                .await
                .map_err(|e| e.to_string())?;
            // The artifact must fit in a handoff with room for the envelope.
            hook::parse_run(&bytes, max / 2, self.s.limits.max_abs_scalar)
                .map_err(|reason| format!("option hook {} failed: {reason}", hook.label))?
        };
        let t = Transition { obs, action, reward: ran.reward, duration: ran.duration };
        let next = match &hook.targets[action.index()] {
            HookTarget::Submit => Next::Submit,
            HookTarget::Peer(p) => Next::Peer(p.clone()),
        };
        Ok(Stepped { t, next, payload: Payload::Json(ran.artifact) })
    }

    fn learn(&self, t: &Transition, v: Scalar) {
        let mut core = lock(&self.core);
        core.learner.learn(t, v);
        core.updates += 1;
    }

    /// Queue `body` for `peer` in its outbox, to be POSTed within `limits.call_timeout_secs` from now (the wait
    /// in the queue, every attempt and every backoff included); `then` says what its reply settles.
    fn send(self: &Arc<Self>, peer: &str, body: Vec<u8>, then: Then) {
        self.log("out", peer, &body);
        let job = Job {
            body: axum::body::Bytes::from(body),
            deadline: Instant::now() + self.s.limits.call_timeout,
            backoff: Duration::from_millis(10),
            then,
        };
        self.enqueue(peer, job);
    }

    /// Settle a message to `peer` that got no reply, for `reason`.
    fn unanswered(self: &Arc<Self>, peer: &str, counts: Option<&PeerState>, then: Then, reason: String) {
        self.settle(peer, counts, then, Err(CallError::new(peer, reason, false)));
    }

    /// Put `job` in `peer`'s outbox, starting a worker for it if none is free.
    fn enqueue(self: &Arc<Self>, peer: &str, job: Job) {
        let Some(state) = self.peers.get(peer) else {
            return self.unanswered(peer, None, job.then, "not an agent peer of this agent".into());
        };
        match state.outbox.push(job) {
            Pushed::Queued => {}
            Pushed::StartWorker => {
                let (sh, peer) = (self.clone(), peer.to_string());
                tokio::spawn(async move { sh.work(peer).await });
            }
            Pushed::Closed(job) => self.unanswered(peer, Some(state), job.then, "this agent is shutting down".into()),
        }
    }

    /// One of `peer`'s outbox workers: POST each message (one call at a time, on a connection of the peer's
    /// client), then settle its reply. A message whose attempt failed in a way a retry can mend (the connection
    /// failed or broke before a reply, or the peer answered 503: busy, or taking the same handoff now) goes back
    /// to the queue after a backoff, if its deadline allows: a handoff carries an id and a receiver that already
    /// took it answers with the same scalar without running the work again, so a retry cannot run an option twice.
    async fn work(self: Arc<Self>, peer: String) {
        let Some(state) = self.peers.get(&peer) else { return };
        let no_reply = |job: Job| {
            let budget = self.s.limits.call_timeout.as_secs_f64();
            self.unanswered(
                &peer,
                Some(state),
                job.then,
                format!("no reply within limits.call_timeout_secs = {budget}"),
            );
        };
        while let Some(mut job) = state.outbox.next().await {
            if Instant::now() >= job.deadline {
                no_reply(job);
                continue;
            }
            let attempt =
                match tokio::time::timeout_at(job.deadline.into(), self.attempt(&peer, state, &job.body)).await {
                    Ok(a) => a,
                    Err(_) => {
                        no_reply(job);
                        continue;
                    }
                };
            match attempt {
                Attempt::Done(reply) => self.settle(&peer, Some(state), job.then, reply),
                Attempt::Retry(reason) => {
                    if Instant::now() + job.backoff >= job.deadline {
                        let reason = format!("{reason} (retried until limits.call_timeout_secs)");
                        self.unanswered(&peer, Some(state), job.then, reason);
                        continue;
                    }
                    // Waiting to retry does not hold a worker.
                    let (sh, peer) = (self.clone(), peer.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(job.backoff).await;
                        job.backoff = (job.backoff * 2).min(Duration::from_millis(500));
                        sh.enqueue(&peer, job);
                    });
                }
            }
        }
    }

    /// One POST of `body` to `peer`, and what came of it: a 2xx reply's body (at most `limits.max_body_bytes`),
    /// a failure, or a reason to retry.
    async fn attempt(&self, peer: &str, state: &PeerState, body: &axum::body::Bytes) -> Attempt {
        let err = |reason: String, replied: bool| Attempt::Done(Err(CallError::new(peer, reason, replied)));
        // Outbox workers are at most `limits.max_calls_per_peer`, so a turn is free at once.
        let Some(turn) = state.client.turn().await else {
            return err("the peer's client is closed".into(), false);
        };
        let max = self.s.limits.max_body_bytes;
        let reply = match state.client.post(&turn, state.auth.as_ref(), body.clone(), max).await {
            Ok(reply) => reply,
            // Its server's certificate was refused (another CA, or not naming the `url`'s host or the peer's id):
            // no retry changes that.
            Err(SendError::Certificate(reason)) => {
                state.certificates_refused.fetch_add(1, Ordering::Relaxed);
                return err(format!("its server's certificate was refused: {reason}"), false);
            }
            Err(SendError::Unsent(reason) | SendError::Broken(reason)) => return Attempt::Retry(reason),
        };
        let status = reply.status;
        match reply.body {
            Ok(bytes) if status.is_success() => {
                self.log("in-reply", peer, &bytes);
                Attempt::Done(Ok(bytes))
            }
            Ok(_) if status == StatusCode::SERVICE_UNAVAILABLE => Attempt::Retry("HTTP 503".to_string()),
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                err(format!("HTTP {status}: {text}"), true)
            }
            Err(crate::client::ReadError::TooLarge(reason)) => err(reason, true),
            Err(crate::client::ReadError::Broken(reason)) if !status.is_success() => {
                err(format!("HTTP {status}: {reason}"), true)
            }
            Err(crate::client::ReadError::Broken(reason)) => Attempt::Retry(reason),
        }
    }

    /// Report the end of a workflow to its entry agent: here, or queued for the peer.
    fn finish(self: &Arc<Self>, workflow: &str, origin: &str, outcome: WorkflowOutcome) {
        if outcome.status == WorkflowStatus::Failed {
            self.counts.workflows_failed.fetch_add(1, Ordering::Relaxed);
        }
        if origin == self.s.config.id {
            if let Some(tx) = lock(&self.waiters).remove(workflow) {
                let _ = tx.send(outcome);
            }
            return;
        }
        if self.peer_agent_by_id(origin).is_none() {
            return tracing::warn!("workflow {workflow}: origin {origin:?} is not a peer");
        }
        let env = Envelope::Result { from: self.s.config.id.clone(), workflow: workflow.to_string(), outcome };
        let message_id = format!("{workflow}-result");
        let body = match wire::request_bytes::<Value>(&message_id, &message_id, &env, None) {
            Ok(b) => b,
            Err(e) => return tracing::warn!("workflow {workflow}: {e}"),
        };
        self.send(origin, body, Then::Report { workflow: workflow.to_string(), origin: origin.to_string() });
    }
}

/// A message waiting in a peer's outbox.
struct Job {
    body: axum::body::Bytes,
    /// The end of its `limits.call_timeout_secs`, from when it was first queued.
    deadline: Instant,
    /// The wait before its next retry.
    backoff: Duration,
    then: Then,
}

/// What a message's reply settles.
enum Then {
    /// A handoff: this agent's transition, learned from the receiver's scalar, in a workflow still counted
    /// in flight here.
    Learn { t: Transition, workflow: String, origin: String, hop: u32, _in_flight: InFlight },
    /// A workflow's result reported to its entry agent.
    Report { workflow: String, origin: String },
}

/// What one attempt came to.
enum Attempt {
    Done(Result<axum::body::Bytes, CallError>),
    Retry(String),
}
/// A successful answer, already serialised.
enum Reply {
    Bytes(Vec<u8>),
}

/// A failed call to a peer; `replied` if the peer answered, with an error status or an oversized reply.
struct CallError {
    error: ServiceError,
    replied: bool,
}

impl CallError {
    fn new(peer: &str, reason: String, replied: bool) -> CallError {
        CallError { error: ServiceError::Peer { peer: peer.to_string(), reason }, replied }
    }
}

struct Hold {
    workflow: String,
    origin: String,
    hop: u32,
    obs: ObsId,
    held: Held,
}

/// What an agent holds besides its observation: the synthetic artifact and its own private state, or a hook's
/// opaque artifact and the legal actions its hook reported.
enum Held {
    Synthetic {
        levels: Vec<u32>,
        private: u32,
    },
    /// A synthetic role that already acted and ran its option when it took the handoff.
    Ready(Result<Stepped, String>),
    Hook {
        artifact: Value,
        legal: Option<Vec<baton_core::ActionId>>,
    },
}

/// Where the artifact goes next.
enum Next {
    Submit,
    Peer(PeerAgent),
    Missing(String),
}

/// The artifact to hand on.
enum Payload {
    Levels(Vec<u32>),
    Json(Value),
}

/// One decision: the sender's own transition, where the artifact goes, and the artifact.
struct Stepped {
    t: Transition,
    next: Next,
    payload: Payload,
}

fn failed(hops: u32, reason: String) -> WorkflowOutcome {
    WorkflowOutcome { status: WorkflowStatus::Failed, hops, levels: None, reason: Some(reason), artifact: None }
}

/// How long a connection to a peer may sit idle and still be reused: below the peers' default
/// `limits.header_read_timeout_secs` (10), after which they close it.
pub(crate) const PEER_IDLE_REUSE: Duration = Duration::from_secs(5);

/// The client an agent calls `peer` with: at most `limits.max_calls_per_peer` calls and connections; with
/// `[tls]`, the peer's server verified against the CA, for the host of its `url` and for its `id`, and this
/// agent's certificate presented.
fn peer_client(s: &AgentSettings, peer: &PeerAgent) -> Result<PeerClient, ServiceError> {
    let id = &peer.id;
    let tls = match &s.tls {
        None => None,
        Some(t) => Some(
            crate::tls::peer_client_config(t, id)
                .map_err(|e| ServiceError::Internal(format!("the TLS client for peer {id:?}: {e}")))?,
        ),
    };
    PeerClient::new(&peer.endpoint, tls, s.limits.max_calls_per_peer as usize, PEER_IDLE_REUSE)
        .map_err(|e| ServiceError::Internal(format!("the client for peer {id:?}: {e}")))
}
