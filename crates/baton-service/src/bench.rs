//! A whole pipeline in one process, on loopback: every agent a real HTTP server on `127.0.0.1`, every handoff
//! a real HTTP call. Used by `baton bench` (handoffs per second through services) and by tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::{AgentConfig, LimitsConfig, PeerConfig, TlsConfig};
use crate::error::ServiceError;
use crate::peer::PeerClient;
use crate::server::{Agent, PEER_IDLE_REUSE};
use crate::tls::{client_config, load_certs, load_key, make_demo_certs, DemoCerts};
use crate::wire::{self, Artifact, Envelope, WorkflowStatus};

/// The id of the client every generated config admits.
pub const CLIENT_ID: &str = "client";

/// The bearer token of the pair (`a`, `b`) in generated configs (tests and benches only).
pub fn pair_token(a: usize, b: usize) -> String {
    let (lo, hi) = (a.min(b), a.max(b));
    format!("pair-{lo}-{hi}-local-test-token")
}

/// The client's bearer token at agent `a` in generated configs.
pub fn client_token(a: usize) -> String {
    format!("client-{a}-local-test-token")
}

/// Configs of a full pipeline of `workload.agents` agents (`agent-0` ..), agent `i` listening on `addrs[i]`
/// with state in `state_root/agent-i`, every pair sharing its own token, the client admitted everywhere.
pub fn pipeline_configs(
    workload: &SyntheticConfig,
    learner: &LearnerConfig,
    seed: u64,
    addrs: &[SocketAddr],
    state_root: &Path,
) -> Vec<AgentConfig> {
    let n = addrs.len();
    (0..n)
        .map(|i| {
            let mut peers: Vec<PeerConfig> = (0..n)
                .filter(|&j| j != i)
                .map(|j| PeerConfig {
                    id: format!("agent-{j}"),
                    role: Some(j as u16),
                    url: Some(format!("http://{}", addrs[j])),
                    token: Some(pair_token(i, j)),
                })
                .collect();
            peers.push(PeerConfig { id: CLIENT_ID.into(), role: None, url: None, token: Some(client_token(i)) });
            AgentConfig {
                id: format!("agent-{i}"),
                role: Some(i as u16),
                option: None,
                listen: addrs[i],
                seed: seed.wrapping_add(i as u64),
                state_dir: state_root.join(format!("agent-{i}")),
                checkpoint_interval_secs: 30.0,
                wire_log: false,
                workload: workload.clone(),
                learner: learner.clone(),
                limits: LimitsConfig::default(),
                tls: None,
                peers,
            }
        })
        .collect()
}

/// Make the demo certificates of a pipeline (`ca.pem`, and `agent-i` and [`CLIENT_ID`] certificates) in
/// `dir`, and switch `configs` to mutual TLS: each agent serves HTTPS with its certificate, requires client
/// certificates signed by the CA, calls its peers at `https://` URLs, and knows every peer by its
/// certificate instead of a token.
pub fn use_mutual_tls(configs: &mut [AgentConfig], dir: &Path) -> Result<DemoCerts, ServiceError> {
    let mut ids: Vec<String> = configs.iter().map(|c| c.id.clone()).collect();
    ids.push(CLIENT_ID.into());
    let certs = make_demo_certs(dir, &ids)?;
    for c in configs.iter_mut() {
        let (cert, key) = certs
            .holders
            .iter()
            .find(|(id, _, _)| *id == c.id)
            .map(|(_, c, k)| (c.clone(), k.clone()))
            .ok_or_else(|| ServiceError::Internal(format!("no certificate made for {}", c.id)))?;
        c.tls = Some(TlsConfig { cert, key, ca: certs.ca.clone(), client_auth: true });
        for p in &mut c.peers {
            p.token = None;
            if let Some(u) = &mut p.url {
                *u = u.replacen("http://", "https://", 1);
            }
        }
    }
    Ok(certs)
}

/// The client's TLS config for a pipeline made by [`use_mutual_tls`]: the CA, and the client's certificate.
pub fn client_tls(certs: &DemoCerts) -> Result<rustls::ClientConfig, ServiceError> {
    let (_, cert, key) = certs
        .holders
        .iter()
        .find(|(id, _, _)| id == CLIENT_ID)
        .ok_or_else(|| ServiceError::Internal("no client certificate".into()))?;
    let ca = load_certs(&certs.ca).map_err(ServiceError::Internal)?;
    let cert = load_certs(cert).map_err(ServiceError::Internal)?;
    let key = load_key(key).map_err(ServiceError::Internal)?;
    client_config(&ca, Some((&cert, &key))).map_err(ServiceError::Internal)
}

/// Running in-process agents.
pub struct LocalPipeline {
    /// Base URL per agent.
    pub urls: Vec<String>,
    /// The agents (for status and checkpoints).
    pub agents: Vec<Agent>,
    /// With mutual TLS: the certificates (`None`: plain HTTP with tokens).
    pub certs: Option<DemoCerts>,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<Result<(), ServiceError>>>,
}

impl LocalPipeline {
    /// Bind `n` ephemeral loopback ports, build configs with [`pipeline_configs`], let `tweak` adjust them,
    /// and start every agent on the current tokio runtime.
    pub async fn start(
        workload: &SyntheticConfig,
        learner: &LearnerConfig,
        seed: u64,
        state_root: &Path,
        tweak: impl Fn(&mut AgentConfig),
    ) -> Result<LocalPipeline, ServiceError> {
        LocalPipeline::start_with(workload, learner, seed, state_root, false, tweak).await
    }

    /// [`LocalPipeline::start`], over mutual TLS if `tls` (certificates made in `state_root/certs`, see
    /// [`use_mutual_tls`]).
    pub async fn start_with(
        workload: &SyntheticConfig,
        learner: &LearnerConfig,
        seed: u64,
        state_root: &Path,
        tls: bool,
        tweak: impl Fn(&mut AgentConfig),
    ) -> Result<LocalPipeline, ServiceError> {
        let n = workload.agents as usize;
        let mut listeners = Vec::with_capacity(n);
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let l = TcpListener::bind("127.0.0.1:0").await.map_err(|e| ServiceError::io("127.0.0.1:0", e))?;
            addrs.push(l.local_addr().map_err(|e| ServiceError::io("127.0.0.1:0", e))?);
            listeners.push(l);
        }
        let mut configs = pipeline_configs(workload, learner, seed, &addrs, state_root);
        let certs = if tls { Some(use_mutual_tls(&mut configs, &state_root.join("certs"))?) } else { None };
        let scheme = if tls { "https" } else { "http" };
        let mut p = LocalPipeline { urls: Vec::new(), agents: Vec::new(), certs, stops: Vec::new(), tasks: Vec::new() };
        for (mut c, l) in configs.into_iter().zip(listeners) {
            tweak(&mut c);
            let agent = Agent::new(c.validate("<generated>")?)?;
            let (tx, rx) = oneshot::channel::<()>();
            p.urls.push(format!("{scheme}://{}", c.listen));
            p.agents.push(agent.clone());
            p.stops.push(tx);
            p.tasks.push(tokio::spawn(agent.run(l, async move {
                let _ = rx.await;
            })));
        }
        Ok(p)
    }

    /// A client of agent `i` (with its certificate over mutual TLS, else with its token).
    pub fn client(&self, i: usize, timeout: Duration) -> Result<Client, ServiceError> {
        match &self.certs {
            None => Client::new(&self.urls[i], &client_token(i), CLIENT_ID, timeout),
            Some(certs) => Client::with_tls(&self.urls[i], None, CLIENT_ID, timeout, Some(client_tls(certs)?)),
        }
    }

    /// Wait (up to 10 s) until no agent holds a workflow or waits for a scalar, so every update has landed.
    pub async fn quiesce(&self) -> Result<(), ServiceError> {
        let t0 = Instant::now();
        while self.agents.iter().any(|a| a.status().in_flight > 0) {
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(ServiceError::Internal("agents still busy after 10 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Stop every agent (each writes its final checkpoint).
    pub async fn stop(self) -> Result<(), ServiceError> {
        for s in self.stops {
            let _ = s.send(());
        }
        for t in self.tasks {
            t.await.map_err(|e| ServiceError::Internal(format!("agent task: {e}")))??;
        }
        Ok(())
    }
}

fn bench_runtime() -> Result<tokio::runtime::Runtime, ServiceError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServiceError::Internal(format!("tokio runtime: {e}")))
}

/// Seconds every closed-loop measurement below runs before its window opens: long enough for every one of
/// `in_flight` workflows or requests to be under way and every connection to be open.
pub const WARM_UP_SECS: f64 = 1.0;

/// What one measurement window saw.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Operations per second of wall time in the window.
    pub per_sec: f64,
    /// Operations counted in the window.
    pub ops: u64,
    /// The window's wall seconds.
    pub seconds: f64,
    /// The process's CPU seconds in the window (from the caller's clock; `None` without one), so that
    /// `ops / cpu_seconds` leaves out the warm-up, the drain and the start and stop of the servers.
    pub cpu_seconds: Option<f64>,
}

impl Window {
    /// The window from `open` to `close`.
    fn between(open: Mark, close: Mark) -> Window {
        let (ops, seconds) = (close.count.saturating_sub(open.count), (close.at - open.at).as_secs_f64());
        let cpu_seconds = open.cpu.zip(close.cpu).map(|(a, b)| b - a);
        Window { per_sec: ops as f64 / seconds, ops, seconds, cpu_seconds }
    }

    /// Operations per CPU second, with a CPU clock that moved.
    pub fn per_cpu_second(&self) -> Option<f64> {
        self.cpu_seconds.filter(|&c| c > 0.0).map(|c| self.ops as f64 / c)
    }
}

/// The clock, the operation count and the CPU clock read together, as a window opens or closes.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    count: u64,
    cpu: Option<f64>,
}

impl Mark {
    fn now(count: &impl Fn() -> u64, cpu: fn() -> Option<f64>) -> Mark {
        Mark { at: Instant::now(), count: count(), cpu: cpu() }
    }
}

/// What the closed loops of a [`Turns`] do now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// The first `in_flight` loops of `group` run; every other loop is parked.
    Run { group: usize, in_flight: usize },
    /// Every loop ends.
    End,
}

/// Groups of closed loops in one runtime (each loop starts its next operation when the last ended), measured
/// in turns: one group at a number of loops in flight at a time, the other loops parked. Loads measured one
/// after the other within a second or two see the same machine: on a shared machine the speed of the same loop
/// swings by a third between spells of a few seconds, and measurements in separate processes, or seconds apart,
/// compare spells more than loads.
struct Turns {
    phase: tokio::sync::watch::Sender<Phase>,
    tasks: tokio::task::JoinSet<()>,
    failed: Arc<AtomicU64>,
    counts: Vec<Box<dyn Fn() -> u64 + Send>>,
}

/// One measured load of [`Turns::measure`]: `in_flight` loops of group `group`.
#[derive(Clone, Copy, Debug)]
struct Setting {
    group: usize,
    in_flight: usize,
}

impl Turns {
    fn new() -> Turns {
        let (phase, _) = tokio::sync::watch::channel(Phase::Run { group: usize::MAX, in_flight: 0 });
        Turns { phase, tasks: tokio::task::JoinSet::new(), failed: Arc::new(AtomicU64::new(0)), counts: Vec::new() }
    }

    /// Add a group of `loops` closed loops of `one` (given a number unique to each operation; it returns
    /// whether the operation succeeded), whose operations `count` counts. Returns the group's index.
    fn group<F, Fut>(&mut self, loops: usize, one: F, count: impl Fn() -> u64 + Send + 'static) -> usize
    where
        F: Fn(u64) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        let g = self.counts.len();
        self.counts.push(Box::new(count));
        for k in 0..loops {
            let (one, failed, mut phase) = (one.clone(), self.failed.clone(), self.phase.subscribe());
            self.tasks.spawn(async move {
                let mut n = (k as u64) << 32;
                loop {
                    let running = match *phase.borrow_and_update() {
                        Phase::End => return,
                        Phase::Run { group, in_flight } => group == g && k < in_flight,
                    };
                    if !running {
                        if phase.changed().await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if !one(n).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            });
        }
        g
    }

    /// Run each of `settings` for [`WARM_UP_SECS`], then `rounds` rounds, each measuring every setting once (in
    /// the order `order(round)` gives, as indices into `settings`): [`SETTLE_SECS`] for the loops to settle at
    /// the new load (those above it finish their operation and park, new ones start), then a window of
    /// `seconds`. Returns the windows of each setting, one per round; any failed operation fails the
    /// measurement. Ends every loop.
    async fn measure(
        mut self,
        settings: &[Setting],
        rounds: usize,
        seconds: f64,
        order: impl Fn(usize) -> Vec<usize>,
        cpu: fn() -> Option<f64>,
    ) -> Result<Vec<Vec<Window>>, ServiceError> {
        let window = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(600));
        let set = |s: &Setting| {
            let _ = self.phase.send(Phase::Run { group: s.group, in_flight: s.in_flight });
        };
        for s in settings {
            set(s);
            tokio::time::sleep(Duration::from_secs_f64(WARM_UP_SECS)).await;
        }
        let mut out: Vec<Vec<Window>> = vec![Vec::with_capacity(rounds); settings.len()];
        for round in 0..rounds {
            for i in order(round) {
                let s = &settings[i];
                set(s);
                tokio::time::sleep(Duration::from_secs_f64(SETTLE_SECS)).await;
                let count = &self.counts[s.group];
                let open = Mark::now(count, cpu);
                tokio::time::sleep(window).await;
                out[i].push(Window::between(open, Mark::now(count, cpu)));
            }
        }
        let _ = self.phase.send(Phase::End);
        while self.tasks.join_next().await.is_some() {}
        match self.failed.load(Ordering::Relaxed) {
            0 => Ok(out),
            n => Err(ServiceError::Internal(format!("{n} operations failed"))),
        }
    }
}

/// The benches' pipeline (three agents, the default synthetic workload and learner, with `max_connections` and
/// `max_in_flight` raised to 8,192 and no periodic checkpoint), state in `root`, and a client of agent-0.
async fn bench_pipeline(root: &Path) -> Result<(LocalPipeline, Client), ServiceError> {
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, root, |c| {
        c.checkpoint_interval_secs = 3600.0;
        c.limits.max_connections = 8192;
        c.limits.max_in_flight = 8192;
    })
    .await?;
    let client = p.client(0, Duration::from_secs(30))?;
    Ok((p, client))
}

/// Add `loops` closed loops of workflows through `p` (each started by `client`, and a success only if
/// submitted) to `turns`, counted by the handoffs its agents send.
fn workflow_loops(turns: &mut Turns, p: &LocalPipeline, client: Client, loops: usize) -> usize {
    let agents = p.agents.clone();
    let sent = move || agents.iter().map(|a| a.status().handoffs_sent).sum::<u64>();
    let one = move |n: u64| {
        let c = client.clone();
        async move { matches!(c.start(n).await, Ok(o) if o.status == WorkflowStatus::Submitted) }
    };
    turns.group(loops, one, sent)
}

/// An echo server for [`echo_loops`]: a minimal axum server on `127.0.0.1` that returns a JSON body as it came.
/// Stops when the sender is dropped or sent to.
async fn echo_server() -> Result<(SocketAddr, oneshot::Sender<()>, JoinHandle<std::io::Result<()>>), ServiceError> {
    use axum::routing::post;
    use axum::{Json, Router};
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| ServiceError::io("127.0.0.1:0", e))?;
    let addr = listener.local_addr().map_err(|e| ServiceError::io("127.0.0.1:0", e))?;
    let app = Router::new().route("/", post(|Json(v): Json<serde_json::Value>| async move { Json(v) }));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    Ok((addr, stop_tx, server))
}

/// Add `loops` closed loops of echo round trips to the server at `addr` to `turns`: each POSTs a handoff's
/// request (the same size) through the client an agent calls a peer with (the same connection cap and
/// reuse) and reads the reply with the same size cap, parsed as JSON as an agent parses a scalar reply.
fn echo_loops(turns: &mut Turns, addr: SocketAddr, loops: usize) -> Result<usize, ServiceError> {
    let env = Envelope::Handoff {
        from: "agent-0".into(),
        workflow: "agent-0-18ee179d64a927e1-0".into(),
        origin: "agent-0".into(),
        hop: 1,
    };
    let body = wire::request(
        "agent-0-18ee179d64a927e1-0-h1",
        "agent-0-18ee179d64a927e1-0-h1",
        &env,
        Some(&Artifact { levels: vec![1, 0, 0] }),
    );
    let payload =
        axum::body::Bytes::from(serde_json::to_vec(&body).map_err(|e| ServiceError::Internal(e.to_string()))?);
    let url = reqwest::Url::parse(&format!("http://{addr}/")).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let client = Arc::new(
        PeerClient::new(&url, None, LimitsConfig::default().max_calls_per_peer as usize, PEER_IDLE_REUSE)
            .map_err(ServiceError::Internal)?,
    );
    let count = Arc::new(AtomicU64::new(0));
    let one = {
        let count = count.clone();
        move |_: u64| {
            let (client, payload, count) = (client.clone(), payload.clone(), count.clone());
            async move {
                let ok = match client.turn().await {
                    Some(turn) => match client.post(&turn, None, payload, 65536).await {
                        Ok(reply) => match reply.body {
                            Ok(b) => {
                                reply.status.is_success() && serde_json::from_slice::<serde_json::Value>(&b).is_ok()
                            }
                            Err(_) => false,
                        },
                        Err(_) => false,
                    },
                    None => false,
                };
                if ok {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                ok
            }
        }
    };
    Ok(turns.group(loops, one, move || count.load(Ordering::Relaxed)))
}

/// Seconds each load of the benches' turns (`Turns`) runs before its window opens, so that the operations in
/// flight settle at the new load (those above it finish and park, new ones start). At 1,024 in flight a workflow
/// takes about 0.1 s here; a settle too short would leave the previous load's operations in the window.
pub const SETTLE_SECS: f64 = 0.3;

/// Handoffs per second through three agent services on loopback and, in the same run, round trips per second
/// of the HTTP stack itself, `in_flight` operations in flight each, the two taking turns over `rounds` rounds
/// of a window of `seconds` each ([`SETTLE_SECS`] after every switch; the first of the two alternates).
///
/// Handoffs: the benches' pipeline (three agents, the default synthetic workload, one client of agent-0 keeping
/// `in_flight` workflows in flight; every handoff is one HTTP round trip carrying the artifact out and one
/// scalar back, and each workflow also costs the client's `start` and, unless agent-0 submits, one `result`
/// message), counted by the handoffs the agents send. Echo: a minimal axum server that echoes a JSON body back,
/// `in_flight` requests of a handoff's size kept in flight through the client an agent calls a peer with.
/// Either can be left out (its windows are then empty). Writes checkpoints to a temporary directory it removes;
/// `cpu` reads the process's CPU seconds (for [`Window::cpu_seconds`]). Returns (handoff windows, echo windows).
pub fn loopback_handoffs_and_echo(
    seconds: f64,
    in_flight: usize,
    rounds: usize,
    (handoffs, echo): (bool, bool),
    cpu: fn() -> Option<f64>,
) -> Result<(Vec<Window>, Vec<Window>), ServiceError> {
    let rt = bench_runtime()?;
    let root: PathBuf = std::env::temp_dir().join(format!("baton-service-bench-{}", std::process::id()));
    let result = rt.block_on(async {
        let mut turns = Turns::new();
        let mut settings = Vec::new();
        let mut pipeline = None;
        if handoffs {
            let (p, client) = bench_pipeline(&root).await?;
            settings.push(Setting { group: workflow_loops(&mut turns, &p, client, in_flight), in_flight });
            pipeline = Some(p);
        }
        let mut server = None;
        if echo {
            let (addr, stop, task) = echo_server().await?;
            settings.push(Setting { group: echo_loops(&mut turns, addr, in_flight)?, in_flight });
            server = Some((stop, task));
        }
        let measured = turns.measure(&settings, rounds, seconds, |round| sweep_order(settings.len(), round), cpu).await;
        if let Some((stop, task)) = server {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some(p) = pipeline {
            p.stop().await?;
        }
        let mut measured = measured.map_err(|e| ServiceError::Internal(format!("bench: {e}")))?.into_iter();
        let mut take = |chosen: bool| if chosen { measured.next().unwrap_or_default() } else { Vec::new() };
        let h = take(handoffs);
        Ok((h, take(echo)))
    });
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// The order in which round `round` of the benches' turns (`Turns`) measures `n` settings (indices into them,
/// sorted from fewest to most in flight): from the outside in, `0, n-1, 1, n-2, ...`, reversed every other round.
/// The fewest and the most in flight, whose ratio is the sweep's headline, are always measured one after the
/// other, and each goes first in half the rounds.
pub fn sweep_order(n: usize, round: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).map(|k| if k % 2 == 0 { k / 2 } else { n - 1 - k / 2 }).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Handoffs per second through one three-agent pipeline (as [`loopback_handoffs_and_echo`]) at each number of
/// workflows in flight in `levels` (sorted, fewest first), the levels taking turns: in each of `rounds` rounds
/// every level (in [`sweep_order`]) runs for [`SETTLE_SECS`] and then a window of `seconds`. One pipeline and
/// one client serve every level (`max(levels)` closed loops, those above the current level parked), so levels
/// measured side by side share the machine's state. Returns the windows per level (in the order of `levels`),
/// one per round.
pub fn loopback_sweep(
    seconds: f64,
    levels: &[usize],
    rounds: usize,
    cpu: fn() -> Option<f64>,
) -> Result<Vec<Vec<Window>>, ServiceError> {
    let rt = bench_runtime()?;
    let root: PathBuf = std::env::temp_dir().join(format!("baton-service-sweep-{}", std::process::id()));
    let max = levels.iter().copied().max().unwrap_or(0);
    let result = rt.block_on(async {
        let (p, client) = bench_pipeline(&root).await?;
        let mut turns = Turns::new();
        let group = workflow_loops(&mut turns, &p, client, max);
        let settings: Vec<Setting> = levels.iter().map(|&in_flight| Setting { group, in_flight }).collect();
        let measured = turns.measure(&settings, rounds, seconds, |round| sweep_order(levels.len(), round), cpu).await;
        p.stop().await?;
        measured.map_err(|e| ServiceError::Internal(format!("bench sweep: {e}")))
    });
    let _ = std::fs::remove_dir_all(&root);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two groups of loops (6 and 3) counted by one shared counter, measured in turns at 6 and 1 in flight: the
    /// windows see the loops of one group and one level only (with the other group's loops running too, the
    /// ratio of the rates would be 4.5; with every loop of the measured group, 2), and a failed operation fails
    /// the measurement.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_run_one_group_at_one_level_at_a_time() {
        let count = Arc::new(AtomicU64::new(0));
        let op = |ok: bool| {
            let count = count.clone();
            move |_: u64| {
                let count = count.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(4)).await;
                    count.fetch_add(1, Ordering::Relaxed);
                    ok
                }
            }
        };
        let counter = |count: Arc<AtomicU64>| move || count.load(Ordering::Relaxed);
        let mut turns = Turns::new();
        let a = turns.group(6, op(true), counter(count.clone()));
        let b = turns.group(3, op(true), counter(count.clone()));
        let settings = [Setting { group: a, in_flight: 6 }, Setting { group: b, in_flight: 1 }];
        let ws = turns.measure(&settings, 3, 0.3, |r| sweep_order(2, r), || None).await.unwrap();
        assert_eq!((ws[0].len(), ws[1].len()), (3, 3));
        for (wa, wb) in ws[0].iter().zip(&ws[1]) {
            let ratio = wa.per_sec / wb.per_sec;
            assert!(
                (5.0..7.2).contains(&ratio),
                "6 against 1 loop in flight: {} / {} = {ratio}",
                wa.per_sec,
                wb.per_sec
            );
        }

        let mut turns = Turns::new();
        let g = turns.group(2, op(false), counter(count.clone()));
        let failed = turns.measure(&[Setting { group: g, in_flight: 2 }], 1, 0.05, |_| vec![0], || None).await;
        assert!(failed.unwrap_err().to_string().contains("operations failed"));
    }

    #[test]
    fn the_sweep_measures_the_fewest_and_the_most_in_flight_one_after_the_other() {
        assert_eq!(sweep_order(4, 0), vec![0, 3, 1, 2]);
        assert_eq!(sweep_order(4, 1), vec![2, 1, 3, 0]);
        assert_eq!(sweep_order(1, 0), vec![0]);
        assert_eq!(sweep_order(2, 1), vec![1, 0]);
        for n in 2..9 {
            let mut first = [0usize; 2];
            for round in 0..6 {
                let order = sweep_order(n, round);
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation of the levels");
                let (lo, hi) =
                    (order.iter().position(|&i| i == 0).unwrap(), order.iter().position(|&i| i == n - 1).unwrap());
                assert_eq!(lo.abs_diff(hi), 1, "n = {n}, round {round}: {order:?}");
                first[usize::from(lo > hi)] += 1;
            }
            assert_eq!(first, [3, 3], "each of the two goes first in half the rounds");
        }
    }
}
