//! The client side: submit workflows to an entry agent and wait for them (`baton workflow start`), read an
//! agent's status (`baton agent status`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ServiceError;
use crate::server::Status;
use crate::wire::{self, Envelope, WorkflowOutcome, WorkflowStatus};

/// A client of one agent, identified by `from` and its bearer token.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
    from: String,
}

/// What a batch of workflows did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// Workflows that ended with a SUBMIT.
    pub submitted: u64,
    /// Workflows that failed (with the first few reasons in `failures`).
    pub failed: u64,
    /// Handoffs between agents in the submitted workflows.
    pub hops: u64,
    /// Wall time.
    pub seconds: f64,
    /// Up to 10 failure reasons.
    pub failures: Vec<String>,
}

impl Client {
    /// A client of the agent at `url` (`http://127.0.0.1:7400`) calling as `from` with `token`; every call
    /// has the deadline `timeout`.
    pub fn new(url: &str, token: &str, from: &str, timeout: Duration) -> Result<Client, ServiceError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))?;
        Ok(Client { http, url: url.trim_end_matches('/').to_string(), token: token.into(), from: from.into() })
    }

    fn peer_error(&self, reason: impl std::fmt::Display) -> ServiceError {
        ServiceError::Peer { peer: self.url.clone(), reason: reason.to_string() }
    }

    /// Run one workflow from the entry agent and wait for its end.
    pub async fn start(&self, n: u64) -> Result<WorkflowOutcome, ServiceError> {
        let id = format!("{}-start-{n}", self.from);
        let body = wire::request(&id, &id, &Envelope::Start { from: self.from.clone() }, None);
        let resp = self
            .http
            .post(format!("{}/", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.peer_error(e))?;
        let bytes = resp.bytes().await.map_err(|e| self.peer_error(e))?;
        wire::parse_outcome_reply(&bytes).map_err(|e| self.peer_error(e))
    }

    /// Run `count` workflows with at most `concurrency` in flight; failures are counted, not fatal.
    pub async fn run(&self, count: u64, concurrency: usize) -> RunReport {
        let t0 = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (c, next) = (self.clone(), next.clone());
            tasks.spawn(async move {
                let mut r = RunReport::default();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= count {
                        return r;
                    }
                    match c.start(n).await {
                        Ok(o) if o.status == WorkflowStatus::Submitted => {
                            r.submitted += 1;
                            r.hops += u64::from(o.hops);
                        }
                        Ok(o) => {
                            r.failed += 1;
                            r.failures.push(o.reason.unwrap_or_default());
                        }
                        Err(e) => {
                            r.failed += 1;
                            r.failures.push(e.to_string());
                        }
                    }
                }
            });
        }
        let mut total = RunReport::default();
        while let Some(done) = tasks.join_next().await {
            if let Ok(r) = done {
                total.submitted += r.submitted;
                total.failed += r.failed;
                total.hops += r.hops;
                total.failures.extend(r.failures);
            }
        }
        total.failures.truncate(10);
        total.seconds = t0.elapsed().as_secs_f64();
        total
    }

    /// The agent's counts and health.
    pub async fn status(&self) -> Result<Status, ServiceError> {
        let resp = self
            .http
            .get(format!("{}/status", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.peer_error(e))?;
        let code = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.peer_error(e))?;
        if !code.is_success() {
            return Err(self.peer_error(format!("HTTP {code}: {}", String::from_utf8_lossy(&bytes))));
        }
        serde_json::from_slice(&bytes).map_err(|e| self.peer_error(format!("status is not valid: {e}")))
    }
}
