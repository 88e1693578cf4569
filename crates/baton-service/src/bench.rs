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

/// Run `in_flight` closed loops of `one` (each starting its next operation when the last ended) for
/// [`WARM_UP_SECS`] and then a window of `seconds`; `count()` and `cpu()` read as the window opens and closes
/// give the rate. The loops stop starting new operations when the window closes and are then waited for;
/// `one` returns whether its operation succeeded, and any failure fails the measurement.
async fn closed_loop<F, Fut>(
    seconds: f64,
    in_flight: usize,
    one: F,
    count: impl Fn() -> u64,
    cpu: fn() -> Option<f64>,
) -> Result<Window, ServiceError>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let window = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(600));
    let opens = Instant::now() + Duration::from_secs_f64(WARM_UP_SECS);
    let closes = opens + window;
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..in_flight {
        let (one, failed) = (one.clone(), failed.clone());
        tasks.spawn(async move {
            let mut n = (k as u64) << 32;
            while Instant::now() < closes {
                if !one(n).await {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        });
    }
    tokio::time::sleep_until(opens.into()).await;
    let open = Mark::now(&count, cpu);
    tokio::time::sleep_until(closes.into()).await;
    let close = Mark::now(&count, cpu);
    while tasks.join_next().await.is_some() {}
    match failed.load(Ordering::Relaxed) {
        0 => Ok(Window::between(open, close)),
        n => Err(ServiceError::Internal(format!("{n} operations failed"))),
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

/// Handoffs per second through three agent services on loopback (the default synthetic workload, `in_flight`
/// workflows kept in flight by one client, counted in a window after a warm-up of [`WARM_UP_SECS`]). Every
/// handoff is one HTTP round trip carrying the artifact out and one scalar back; each workflow also costs the client's
/// `start` and, unless agent-0 submits, one `result` message. The agents run with the default limits, except
/// `max_connections` and `max_in_flight` raised above `in_flight`. Writes checkpoints to a temporary directory
/// it removes. `cpu` reads the process's CPU seconds (for [`Window::cpu_seconds`]).
pub fn loopback_handoffs(seconds: f64, in_flight: usize, cpu: fn() -> Option<f64>) -> Result<Window, ServiceError> {
    let rt = bench_runtime()?;
    let root: PathBuf = std::env::temp_dir().join(format!("baton-service-bench-{}", std::process::id()));
    let result = rt.block_on(async {
        let (p, client) = bench_pipeline(&root).await?;
        let agents = p.agents.clone();
        let sent = move || agents.iter().map(|a| a.status().handoffs_sent).sum::<u64>();
        let one = move |n: u64| {
            let c = client.clone();
            async move { matches!(c.start(n).await, Ok(o) if o.status == WorkflowStatus::Submitted) }
        };
        let rate = closed_loop(seconds, in_flight, one, sent, cpu).await;
        p.stop().await?;
        rate.map_err(|e| ServiceError::Internal(format!("bench workflows: {e}")))
    });
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// Seconds each level of [`loopback_sweep`] runs before its window opens, so that the workflows in flight
/// settle at the new level (those above it finish and park, new ones start). At 1,024 in flight a workflow
/// takes about 0.1 s here; a settle too short would leave the previous level's workflows in the window.
pub const SETTLE_SECS: f64 = 0.3;

/// The order in which round `round` of [`loopback_sweep`] measures `n` levels (indices into them, sorted from
/// fewest to most in flight): from the outside in, `0, n-1, 1, n-2, ...`, reversed every other round. The
/// fewest and the most in flight, whose ratio is the sweep's headline, are always measured one after the other,
/// and each goes first in half the rounds.
pub fn sweep_order(n: usize, round: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).map(|k| if k % 2 == 0 { k / 2 } else { n - 1 - k / 2 }).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Handoffs per second through one three-agent pipeline (as [`loopback_handoffs`]) at each number of
/// workflows in flight in `levels` (sorted, fewest first), the levels taking turns: in each of `rounds` rounds
/// every level (in [`sweep_order`]) runs for [`SETTLE_SECS`] and then a window of `seconds`. One pipeline and
/// one client serve every level (`max(levels)` closed loops, those above the current level parked), so levels
/// measured side by side share the machine's state: on a shared machine the same loop's speed swings by a
/// third between spells of a few seconds, and separate runs compare spells more than levels; many short rounds
/// put most pairs of neighbouring windows within one spell. Returns the windows per level (in the order of
/// `levels`), one per round.
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
        let (level_tx, level_rx) = tokio::sync::watch::channel(0usize);
        let failed = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for k in 0..max {
            let (client, failed, mut level) = (client.clone(), failed.clone(), level_rx.clone());
            tasks.spawn(async move {
                let mut n = (k as u64) << 32;
                loop {
                    // Parked while the level is at or below this loop's index; `usize::MAX` ends the sweep.
                    let current = *level.borrow_and_update();
                    if current == usize::MAX {
                        return;
                    }
                    if k >= current {
                        if level.changed().await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if !matches!(client.start(n).await, Ok(o) if o.status == WorkflowStatus::Submitted) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            });
        }
        let agents = p.agents.clone();
        let sent = move || agents.iter().map(|a| a.status().handoffs_sent).sum::<u64>();
        let window = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(600));
        let mut out: Vec<Vec<Window>> = vec![Vec::with_capacity(rounds); levels.len()];
        for round in 0..rounds {
            for i in sweep_order(levels.len(), round) {
                let _ = level_tx.send(levels[i]);
                tokio::time::sleep(Duration::from_secs_f64(SETTLE_SECS)).await;
                let open = Mark::now(&sent, cpu);
                tokio::time::sleep(window).await;
                out[i].push(Window::between(open, Mark::now(&sent, cpu)));
            }
        }
        let _ = level_tx.send(usize::MAX);
        while tasks.join_next().await.is_some() {}
        p.stop().await?;
        match failed.load(Ordering::Relaxed) {
            0 => Ok(out),
            n => Err(ServiceError::Internal(format!("bench sweep: {n} workflows failed"))),
        }
    });
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// The HTTP stack's own rate on loopback, for comparison with [`loopback_handoffs`]: round trips per
/// second to a minimal axum server that echoes a JSON body back, with `in_flight` requests kept in flight
/// through the client an agent calls a peer with (the same connection cap and reuse). The body is a handoff's
/// request (the same size), and each reply is read with the same size cap and parsed as JSON, as an agent
/// reads a scalar reply.
pub fn loopback_echo_round_trips(
    seconds: f64,
    in_flight: usize,
    cpu: fn() -> Option<f64>,
) -> Result<Window, ServiceError> {
    use axum::routing::post;
    use axum::{Json, Router};
    let rt = bench_runtime()?;
    rt.block_on(async {
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
        let rate = closed_loop(seconds, in_flight, one, move || count.load(Ordering::Relaxed), cpu).await;
        let _ = stop_tx.send(());
        let _ = server.await;
        rate.map_err(|e| ServiceError::Internal(format!("echo round trips: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::sweep_order;

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
