//! A whole pipeline in one process, on loopback: every agent a real HTTP server on `127.0.0.1`, every handoff
//! a real HTTP call. Used by `baton bench` (handoffs per second through services) and by tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::{AgentConfig, LimitsConfig, PeerConfig};
use crate::error::ServiceError;
use crate::server::Agent;

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
                    token: pair_token(i, j),
                })
                .collect();
            peers.push(PeerConfig { id: CLIENT_ID.into(), role: None, url: None, token: client_token(i) });
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
                peers,
            }
        })
        .collect()
}

/// Running in-process agents.
pub struct LocalPipeline {
    /// Base URL per agent.
    pub urls: Vec<String>,
    /// The agents (for status and checkpoints).
    pub agents: Vec<Agent>,
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
        let n = workload.agents as usize;
        let mut listeners = Vec::with_capacity(n);
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let l = TcpListener::bind("127.0.0.1:0").await.map_err(|e| ServiceError::io("127.0.0.1:0", e))?;
            addrs.push(l.local_addr().map_err(|e| ServiceError::io("127.0.0.1:0", e))?);
            listeners.push(l);
        }
        let mut p = LocalPipeline { urls: Vec::new(), agents: Vec::new(), stops: Vec::new(), tasks: Vec::new() };
        for (mut c, l) in pipeline_configs(workload, learner, seed, &addrs, state_root).into_iter().zip(listeners) {
            tweak(&mut c);
            let agent = Agent::new(c.validate("<generated>")?)?;
            let (tx, rx) = oneshot::channel::<()>();
            p.urls.push(format!("http://{}", c.listen));
            p.agents.push(agent.clone());
            p.stops.push(tx);
            p.tasks.push(tokio::spawn(agent.run(l, async move {
                let _ = rx.await;
            })));
        }
        Ok(p)
    }

    /// A client of agent `i`.
    pub fn client(&self, i: usize, timeout: Duration) -> Result<Client, ServiceError> {
        Client::new(&self.urls[i], &client_token(i), CLIENT_ID, timeout)
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

/// Handoffs per second through three agent services on loopback (the default synthetic workload, 32 workflows
/// in flight, about `seconds` of measurement after a short warm-up). Every handoff is one HTTP round trip
/// carrying the artifact out and one scalar back. Writes checkpoints to a temporary directory it removes.
pub fn loopback_handoffs_per_sec(seconds: f64) -> Result<f64, ServiceError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServiceError::Internal(format!("tokio runtime: {e}")))?;
    let root: PathBuf = std::env::temp_dir().join(format!("baton-service-bench-{}", std::process::id()));
    let result = rt.block_on(async {
        let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, &root, |c| {
            c.checkpoint_interval_secs = 3600.0;
        })
        .await?;
        let client = p.client(0, Duration::from_secs(30))?;
        let _ = client.run(64, 32).await;
        let sent = |p: &LocalPipeline| p.agents.iter().map(|a| a.status().handoffs_sent).sum::<u64>();
        let before = sent(&p);
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < seconds {
            let r = client.run(256, 32).await;
            if r.failed > 0 {
                return Err(ServiceError::Internal(format!("bench workflows failed: {:?}", r.failures)));
            }
        }
        let rate = (sent(&p) - before) as f64 / t0.elapsed().as_secs_f64();
        p.stop().await?;
        Ok(rate)
    });
    let _ = std::fs::remove_dir_all(&root);
    result
}
