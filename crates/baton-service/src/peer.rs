//! An agent's HTTP/1.1 client for one peer: at most `limits.max_calls_per_peer` calls in progress and at most
//! that many connections open, each carrying one call at a time and kept for reuse (the one used last is
//! reused first, so its buffers are still warm). A call waits for its turn instead of opening a connection
//! beyond the cap: with many workflows in flight, they queue here rather than in new sockets. A general pool
//! (reqwest's) opens a connection whenever a call finds none idle, including while the connection a call just
//! finished with is on its way back to the pool, and so grows far past the number of calls it carries.
//!
//! With `[tls]` the peer's server is verified by [`crate::tls::peer_client_config`]'s verifier (the CA, the
//! host of the peer's `url`, and the peer's id).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, Request, StatusCode, Uri};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::client::ReadError;

/// Why a call got no reply.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The connection could not be made, or closed before the request went out: nothing was sent.
    Unsent(String),
    /// The connection broke after the request went out, before a reply came: the peer may have taken it.
    Broken(String),
    /// The peer's server certificate was refused in the TLS handshake: no retry changes that.
    Certificate(String),
}

/// A reply: its status and its body, read up to the cap.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Result<Bytes, ReadError>,
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// The client of one peer.
pub(crate) struct PeerClient {
    /// `host:port`, for connecting.
    addr: String,
    /// The `Host` header.
    authority: HeaderValue,
    /// The request target (the path of the peer's endpoint).
    path: Uri,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    idle: Arc<Mutex<Vec<Idle>>>,
    /// Starts the task that closes connections left idle too long (with the first connection, on the runtime).
    reaper: std::sync::Once,
    turns: Semaphore,
    /// A connection idle this long is closed instead of reused (before the peer's header-read timeout would
    /// close it under a request).
    idle_timeout: Duration,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient").field("addr", &self.addr).field("tls", &self.tls.is_some()).finish()
    }
}

/// The turn of one call: while it is held, the call may use (or open) one connection.
pub(crate) struct Turn<'a>(#[allow(dead_code)] SemaphorePermit<'a>);

impl PeerClient {
    /// A client of the peer whose messages go to `endpoint` (`http://` or, with `tls`, `https://`), with at
    /// most `max_calls` calls and connections.
    pub(crate) fn new(
        endpoint: &reqwest::Url,
        tls: Option<rustls::ClientConfig>,
        max_calls: usize,
        idle_timeout: Duration,
    ) -> Result<PeerClient, String> {
        let host = endpoint.host_str().ok_or_else(|| format!("{endpoint} has no host"))?;
        let port = endpoint.port_or_known_default().ok_or_else(|| format!("{endpoint} has no port"))?;
        // An IPv6 literal keeps its brackets in `host_str`, as `connect` and `Host` want them.
        let addr = format!("{host}:{port}");
        let authority = HeaderValue::from_str(&addr).map_err(|e| format!("{endpoint}: {e}"))?;
        let path = endpoint.path().parse::<Uri>().map_err(|e| format!("{endpoint}: {e}"))?;
        let tls = match (endpoint.scheme(), tls) {
            ("https", Some(config)) => {
                let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_string())
                    .map_err(|e| format!("{endpoint}: {host} is not a server name: {e}"))?;
                Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
            }
            ("https", None) => return Err(format!("{endpoint} is https, but this agent has no [tls] section")),
            ("http", _) => None,
            (other, _) => return Err(format!("{endpoint}: scheme {other} is neither http nor https")),
        };
        Ok(PeerClient {
            addr,
            authority,
            path,
            tls,
            idle: Arc::new(Mutex::new(Vec::new())),
            reaper: std::sync::Once::new(),
            turns: Semaphore::new(max_calls),
            idle_timeout,
        })
    }

    /// Wait for this call's turn among the calls to this peer.
    pub(crate) async fn turn(&self) -> Option<Turn<'_>> {
        self.turns.acquire().await.ok().map(Turn)
    }

    /// POST `body` (JSON) with `auth` as its `Authorization` header, and read the reply's body up to `max`
    /// bytes. The caller holds a [`Turn`].
    pub(crate) async fn post(
        &self,
        _turn: &Turn<'_>,
        auth: Option<&HeaderValue>,
        body: Bytes,
        max: u64,
    ) -> Result<Reply, SendError> {
        let mut sender = self.connection().await?;
        let mut req = Request::new(Body::from(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        let headers = req.headers_mut();
        headers.insert(header::HOST, self.authority.clone());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(a) = auth {
            headers.insert(header::AUTHORIZATION, a.clone());
        }
        let resp = sender.send_request(req).await.map_err(|e| {
            if e.is_canceled() {
                SendError::Unsent(format!("the connection closed before the request was sent: {e}"))
            } else {
                SendError::Broken(format!("sending the request: {e}"))
            }
        })?;
        let status = resp.status();
        let body = read_capped(resp.into_body(), max).await;
        // Reuse the connection only after a whole reply, when it is ready for the next request.
        if body.is_ok() && !sender.is_closed() {
            let mut idle = crate::server::lock(&self.idle);
            idle.push(Idle { sender, since: Instant::now() });
        }
        Ok(Reply { status, body })
    }

    /// The connection used last that is still open and ready, or a new one.
    async fn connection(&self) -> Result<SendRequest<Body>, SendError> {
        loop {
            let Some(mut c) = crate::server::lock(&self.idle).pop() else { break };
            if c.since.elapsed() >= self.idle_timeout || c.sender.is_closed() {
                // Too old or closed (and so is everything older below it, in the first case).
                continue;
            }
            if poll_fn(|cx| c.sender.poll_ready(cx)).await.is_ok() {
                return Ok(c.sender);
            }
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<SendRequest<Body>, SendError> {
        self.reaper.call_once(|| {
            // Close connections idle longer than `idle_timeout` even when no call comes to reuse them, so
            // that the peer does not have to time them out. The task ends with the client.
            let idle = Arc::downgrade(&self.idle);
            let limit = self.idle_timeout;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval((limit / 4).max(Duration::from_millis(50)));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(idle) = idle.upgrade() else { return };
                    crate::server::lock(&idle).retain(|c| c.since.elapsed() < limit && !c.sender.is_closed());
                }
            });
        });
        let tcp = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| SendError::Unsent(format!("connecting to {}: {e}", self.addr)))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await,
            Some((connector, name)) => match connector.connect(name.clone(), tcp).await {
                Ok(tls) => handshake(tls).await,
                Err(e) if crate::tls::is_certificate_error(&e) => {
                    Err(SendError::Certificate(format!("TLS handshake with {}: {e}", self.addr)))
                }
                Err(e) => Err(SendError::Unsent(format!("TLS handshake with {}: {e}", self.addr))),
            },
        }
    }
}

/// The HTTP/1.1 handshake on `io`; the connection is driven by its own task until it closes.
async fn handshake<S>(io: S) -> Result<SendRequest<Body>, SendError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| SendError::Unsent(format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("peer connection ended: {e}");
        }
    });
    Ok(sender)
}

/// Read a reply body of at most `max` bytes, frame by frame: a larger one is refused as soon as it is
/// announced or exceeds `max`, without reading the rest (the connection is then dropped).
async fn read_capped(mut body: Incoming, max: u64) -> Result<Bytes, ReadError> {
    let too_large = || ReadError::TooLarge(format!("reply larger than {max} bytes (limits.max_body_bytes)"));
    if body.size_hint().lower() > max {
        return Err(too_large());
    }
    let mut first: Option<Bytes> = None;
    let mut out: Vec<u8> = Vec::new();
    loop {
        let frame = match poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => break,
            Some(Ok(f)) => f,
            Some(Err(e)) => return Err(ReadError::Broken(format!("reading the reply: {e}"))),
        };
        let Ok(data) = frame.into_data() else { continue };
        match first.take() {
            // The common case: the whole reply in one frame, no copy.
            None if out.is_empty() => first = Some(data),
            Some(f) => {
                out.reserve(f.len() + data.len());
                out.extend_from_slice(&f);
                out.extend_from_slice(&data);
            }
            None => out.extend_from_slice(&data),
        }
        let len = first.as_ref().map_or(out.len(), Bytes::len);
        if len as u64 > max {
            return Err(too_large());
        }
    }
    Ok(match first {
        Some(f) => f,
        None => out.into(),
    })
}
