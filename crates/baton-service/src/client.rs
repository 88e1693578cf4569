//! The client side: submit workflows to an entry agent and wait for them (`baton workflow start`), read an
//! agent's status (`baton agent status`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ServiceError;
use crate::peer::{HttpVersion, PeerClient, SendError};
use crate::server::Status;
use crate::wire::{self, Envelope, WorkflowOutcome, WorkflowStatus};

/// A client of one agent, identified by `from` and its bearer token (or its TLS client certificate).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    /// `url` + `/`, parsed once (`None`: not a URL, and every call says so).
    endpoint: Option<reqwest::Url>,
    token: Option<String>,
    from: String,
    timeout: Duration,
    /// The lean client that `start`s go through (HTTP/2 by default: a connection per
    /// [`crate::STREAMS_PER_CONNECTION`] starts in flight; with HTTP/1.1, one per start in flight); `None` for an
    /// `https://` URL without a TLS config or a token that is not a valid header (reqwest then).
    starts: Option<Arc<Starts>>,
}

/// The client `start`s go through, and its `Authorization` header.
#[derive(Debug)]
struct Starts {
    client: PeerClient,
    auth: Option<axum::http::HeaderValue>,
}

/// At most this many starts in flight from one [`Client`] share its connections (more wait their turn).
const MAX_STARTS_IN_FLIGHT: usize = 1 << 16;

/// The largest reply a client reads (a workflow's outcome or an agent's status).
pub const MAX_REPLY_BYTES: u64 = 1 << 20;

/// Why a reply body could not be read.
#[derive(Clone, Debug)]
pub(crate) enum ReadError {
    /// Larger than allowed (reading stopped there).
    TooLarge(String),
    /// The connection broke while reading.
    Broken(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(r) | ReadError::Broken(r) => f.write_str(r),
        }
    }
}

/// Read a reply body of at most `max` bytes, chunk by chunk: a larger one is refused as soon as it is
/// announced or exceeds `max`, without reading the rest.
pub(crate) async fn read_capped(mut resp: reqwest::Response, max: u64) -> Result<axum::body::Bytes, ReadError> {
    let too_large = || ReadError::TooLarge(format!("reply larger than {max} bytes (limits.max_body_bytes)"));
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let first = match resp.chunk().await {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(axum::body::Bytes::new()),
        Err(e) => return Err(ReadError::Broken(format!("reading the reply: {e}"))),
    };
    if first.len() as u64 > max {
        return Err(too_large());
    }
    let mut more = match resp.chunk().await {
        Ok(Some(c)) => Vec::from(c),
        // The common case: the whole reply in one chunk, no copy.
        Ok(None) => return Ok(first),
        Err(e) => return Err(ReadError::Broken(format!("reading the reply: {e}"))),
    };
    let mut out = Vec::with_capacity((first.len() + more.len()).max(4096));
    out.extend_from_slice(&first);
    out.append(&mut more);
    loop {
        if out.len() as u64 > max {
            return Err(too_large());
        }
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c),
            Ok(None) => return Ok(out.into()),
            Err(e) => return Err(ReadError::Broken(format!("reading the reply: {e}"))),
        }
    }
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
    /// A client of the agent at `url` (`http://127.0.0.1:7400`) calling as `from` with `token`; every
    /// workflow (retries included) and every status call has the deadline `timeout`.
    pub fn new(url: &str, token: &str, from: &str, timeout: Duration) -> Result<Client, ServiceError> {
        Client::with_tls(url, Some(token), from, timeout, None)
    }

    /// A client with an optional bearer token and an optional TLS config (for `https://` agents: the CA
    /// that signed the agent's certificate and, for mutual TLS, this client's certificate; see
    /// [`crate::tls::client_config`]).
    pub fn with_tls(
        url: &str,
        token: Option<&str>,
        from: &str,
        timeout: Duration,
        tls: Option<rustls::ClientConfig>,
    ) -> Result<Client, ServiceError> {
        Client::with_version(url, token, from, timeout, tls, HttpVersion::Http2)
    }

    /// [`Client::with_tls`] sending its `start`s over `version`. HTTP/2 (the default) carries any number of
    /// workflows in flight over a few connections; over `http://` it is spoken without negotiation (prior
    /// knowledge), which a proxy in front of the agent that only speaks HTTP/1.1 refuses: use
    /// [`HttpVersion::Http1`] there (`baton workflow start --http1`). Over `https://` the server chooses.
    pub fn with_version(
        url: &str,
        token: Option<&str>,
        from: &str,
        timeout: Duration,
        tls: Option<rustls::ClientConfig>,
        version: HttpVersion,
    ) -> Result<Client, ServiceError> {
        let mut b = reqwest::Client::builder().timeout(timeout).pool_max_idle_per_host(1024).tcp_nodelay(true);
        let endpoint = reqwest::Url::parse(&format!("{}/", url.trim_end_matches('/'))).ok();
        let auth = match token.map(|t| axum::http::HeaderValue::try_from(format!("Bearer {t}"))) {
            None => Some(None),
            Some(Ok(mut v)) => {
                v.set_sensitive(true);
                Some(Some(v))
            }
            Some(Err(_)) => None,
        };
        let starts = match (&endpoint, auth) {
            (Some(e), Some(auth)) if e.scheme() == "http" || tls.is_some() => {
                PeerClient::with_version(e, tls.clone(), MAX_STARTS_IN_FLIGHT, crate::server::PEER_IDLE_REUSE, version)
                    .ok()
                    .map(|client| Arc::new(Starts { client, auth }))
            }
            _ => None,
        };
        if let Some(config) = tls {
            b = b.use_preconfigured_tls(config);
        }
        let http = b.build().map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))?;
        let url = url.trim_end_matches('/').to_string();
        Ok(Client { http, endpoint, url, token: token.map(str::to_string), from: from.into(), timeout, starts })
    }

    fn post(&self, body: &axum::body::Bytes, remaining: Duration) -> reqwest::RequestBuilder {
        let req = match &self.endpoint {
            Some(u) => self.http.post(u.clone()),
            None => self.http.post(format!("{}/", self.url)),
        };
        let req = req.timeout(remaining).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    fn peer_error(&self, reason: impl std::fmt::Display) -> ServiceError {
        ServiceError::Peer { peer: self.url.clone(), reason: reason.to_string() }
    }

    /// Run one workflow from the entry agent and wait for its end, within the client's deadline. A start that
    /// could not connect, or that the agent refused as busy (503), never began a workflow, so it is retried
    /// with backoff (10 ms doubling to 1 s) until the deadline. Any other failure is final: a start whose
    /// connection broke after it was sent may have begun a workflow, and is not sent twice.
    pub async fn start(&self, n: u64) -> Result<WorkflowOutcome, ServiceError> {
        let id = format!("{}-start-{n}", self.from);
        let body = wire::request_bytes::<wire::Artifact>(&id, &id, &Envelope::Start { from: self.from.clone() }, None)?;
        let body = axum::body::Bytes::from(body);
        let t0 = Instant::now();
        let mut backoff = Duration::from_millis(10);
        loop {
            let remaining = self.timeout.saturating_sub(t0.elapsed());
            if remaining.is_zero() {
                return Err(self.peer_error(format!("no result within the deadline of {:?}", self.timeout)));
            }
            let reason = if let Some(s) = &self.starts {
                let sent = async {
                    let turn = s.client.turn().await.ok_or(SendError::Unsent("the client is closed".into()))?;
                    s.client.post(&turn, s.auth.as_ref(), body.clone(), MAX_REPLY_BYTES).await
                };
                match tokio::time::timeout(remaining, sent).await {
                    Err(_) => {
                        return Err(self.peer_error(format!("no result within the deadline of {:?}", self.timeout)))
                    }
                    Ok(Ok(reply)) => {
                        let bytes = reply.body.map_err(|e| self.peer_error(e))?;
                        if reply.status != reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            return wire::parse_outcome_reply(&bytes)
                                .map_err(|e| self.peer_error(format!("HTTP {}: {e}", reply.status)));
                        }
                        format!("HTTP {}", reply.status)
                    }
                    Ok(Err(SendError::Unsent(reason))) => reason,
                    Ok(Err(SendError::Broken(reason) | SendError::Certificate(reason))) => {
                        return Err(self.peer_error(reason))
                    }
                }
            } else {
                match self.post(&body, remaining).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let bytes = read_capped(resp, MAX_REPLY_BYTES).await.map_err(|e| self.peer_error(e))?;
                        if status != reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            return wire::parse_outcome_reply(&bytes)
                                .map_err(|e| self.peer_error(format!("HTTP {status}: {e}")));
                        }
                        format!("HTTP {status}")
                    }
                    Err(e) if e.is_connect() => e.to_string(),
                    Err(e) => return Err(self.peer_error(e)),
                }
            };
            if t0.elapsed() + backoff >= self.timeout {
                return Err(self.peer_error(format!("{reason} (retried until the deadline)")));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
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
        let mut req = self.http.get(format!("{}/status", self.url));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| self.peer_error(e))?;
        let code = resp.status();
        let bytes = read_capped(resp, MAX_REPLY_BYTES).await.map_err(|e| self.peer_error(e))?;
        if !code.is_success() {
            return Err(self.peer_error(format!("HTTP {code}: {}", String::from_utf8_lossy(&bytes))));
        }
        serde_json::from_slice(&bytes).map_err(|e| self.peer_error(format!("status is not valid: {e}")))
    }
}
