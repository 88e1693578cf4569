//! An agent's HTTP/1.1 client for one peer: at most `limits.max_calls_per_peer` calls in progress and at most
//! that many connections open, each carrying one call at a time and kept for reuse (the one used last is
//! reused first, so its buffers are still warm). A call waits for its turn instead of opening a connection
//! beyond the cap: with many workflows in flight, they queue here rather than in new sockets. A general pool
//! (reqwest's) opens a connection whenever a call finds none idle, including while the connection a call just
//! finished with is on its way back to the pool, and so grows far past the number of calls it carries.
//!
//! With `[tls]` the peer's server is verified by [`crate::tls::peer_client_config`]'s verifier (the CA, the
//! host of the peer's `url`, and the peer's id).
//!
//! [`HttpVersion::Http2`] (what `baton workflow start` uses to reach its entry agent) multiplexes calls as
//! streams over a few connections instead: each workflow waits for its result on a call held open for the
//! workflow's life, and over HTTP/1.1 a thousand of them hold a thousand sockets, whose buffers and kernel
//! state stop fitting in the caches (loopback round trips fell by a third from 128 to 1,024 connections).
//! A new connection is opened only when every open one carries [`STREAMS_PER_CONNECTION`] calls; over TLS
//! the version is negotiated (ALPN), and a server that only offers HTTP/1.1 gets HTTP/1.1.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, Request, StatusCode, Uri};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
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

/// The HTTP version a client of the agents speaks (to one peer, or `baton workflow start` to its entry agent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.1: one call per connection at a time (the connections kept for reuse).
    #[default]
    Http1,
    /// HTTP/2 (prior knowledge over `http://`, negotiated over `https://`): calls are streams, at most
    /// [`STREAMS_PER_CONNECTION`] on one connection.
    Http2,
}

/// Calls an HTTP/2 client puts on one connection before it opens another (an agent allows 256 by default,
/// `limits.max_streams_per_connection`; above an agent's limit, calls wait for a stream on the connection).
pub const STREAMS_PER_CONNECTION: usize = 128;

/// An open HTTP/2 connection.
struct H2Conn {
    sender: http2::SendRequest<Body>,
    use_: Arc<H2Use>,
}

/// The calls an HTTP/2 connection carries now, and since when it has carried none.
struct H2Use {
    streams: AtomicUsize,
    epoch: Instant,
    /// Milliseconds from `epoch` to the end of its last call.
    last: AtomicU64,
}

impl H2Use {
    fn idle_for(&self) -> Option<Duration> {
        (self.streams.load(Ordering::Relaxed) == 0)
            .then(|| self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed))))
    }
}

/// One call's share of an HTTP/2 connection: released when dropped.
struct Stream(Arc<H2Use>);

impl Drop for Stream {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last.store(ms, Ordering::Relaxed);
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection ready for one call.
enum Ready {
    H1(SendRequest<Body>),
    H2(http2::SendRequest<Body>, Stream),
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
    /// HTTP/2 asked for, and not refused by the server's TLS negotiation.
    http2: AtomicBool,
    /// The absolute URI of the endpoint (HTTP/2 requests carry the scheme and authority).
    uri: Uri,
    /// Open HTTP/2 connections.
    h2: Arc<Mutex<Vec<H2Conn>>>,
    /// Held while an HTTP/2 connection is being opened, so that calls arriving together share it.
    opening: tokio::sync::Mutex<()>,
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
        PeerClient::with_version(endpoint, tls, max_calls, idle_timeout, HttpVersion::Http1)
    }

    /// [`PeerClient::new`] speaking `version`.
    pub(crate) fn with_version(
        endpoint: &reqwest::Url,
        tls: Option<rustls::ClientConfig>,
        max_calls: usize,
        idle_timeout: Duration,
        version: HttpVersion,
    ) -> Result<PeerClient, String> {
        let host = endpoint.host_str().ok_or_else(|| format!("{endpoint} has no host"))?;
        let port = endpoint.port_or_known_default().ok_or_else(|| format!("{endpoint} has no port"))?;
        // An IPv6 literal keeps its brackets in `host_str`, as `connect` and `Host` want them.
        let addr = format!("{host}:{port}");
        let authority = HeaderValue::from_str(&addr).map_err(|e| format!("{endpoint}: {e}"))?;
        let path = endpoint.path().parse::<Uri>().map_err(|e| format!("{endpoint}: {e}"))?;
        let uri = endpoint.as_str().parse::<Uri>().map_err(|e| format!("{endpoint}: {e}"))?;
        let http2 = version == HttpVersion::Http2;
        let tls = match (endpoint.scheme(), tls) {
            ("https", Some(mut config)) => {
                config.alpn_protocols =
                    if http2 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"http/1.1".to_vec()] };
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
            http2: AtomicBool::new(http2),
            uri,
            h2: Arc::new(Mutex::new(Vec::new())),
            opening: tokio::sync::Mutex::new(()),
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
        let ready = if self.http2.load(Ordering::Relaxed) { self.stream().await? } else { None };
        let ready = match ready {
            Some(r) => r,
            None => Ready::H1(self.connection().await?),
        };
        let h2 = matches!(ready, Ready::H2(..));
        let mut req = Request::new(Body::from(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = if h2 { self.uri.clone() } else { self.path.clone() };
        let headers = req.headers_mut();
        if !h2 {
            headers.insert(header::HOST, self.authority.clone());
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(a) = auth {
            headers.insert(header::AUTHORIZATION, a.clone());
        }
        let unsent = |e: hyper::Error| {
            if e.is_canceled() {
                SendError::Unsent(format!("the connection closed before the request was sent: {e}"))
            } else {
                SendError::Broken(format!("sending the request: {e}"))
            }
        };
        // An HTTP/1.1 connection goes back for reuse after a whole reply; an HTTP/2 stream is released (dropped)
        // after its reply is read.
        let (resp, reuse, _stream) = match ready {
            Ready::H1(mut sender) => (sender.send_request(req).await, Some(sender), None),
            Ready::H2(mut sender, stream) => (sender.send_request(req).await, None, Some(stream)),
        };
        let resp = resp.map_err(unsent)?;
        let status = resp.status();
        let body = read_capped(resp.into_body(), max).await;
        if let Some(sender) = reuse.filter(|s| body.is_ok() && !s.is_closed()) {
            crate::server::lock(&self.idle).push(Idle { sender, since: Instant::now() });
        }
        Ok(Reply { status, body })
    }

    /// A stream on an open HTTP/2 connection with room, or on a new one; `None` when the server's TLS
    /// negotiation chose HTTP/1.1 (this client then speaks HTTP/1.1 from now on).
    async fn stream(&self) -> Result<Option<Ready>, SendError> {
        let take = |conns: &mut Vec<H2Conn>| {
            conns.retain(|c| !c.sender.is_closed());
            let c = conns
                .iter()
                .filter(|c| c.use_.streams.load(Ordering::Relaxed) < STREAMS_PER_CONNECTION)
                .min_by_key(|c| c.use_.streams.load(Ordering::Relaxed))?;
            c.use_.streams.fetch_add(1, Ordering::Relaxed);
            Some(Ready::H2(c.sender.clone(), Stream(c.use_.clone())))
        };
        if let Some(r) = take(&mut crate::server::lock(&self.h2)) {
            return Ok(Some(r));
        }
        let _opening = self.opening.lock().await;
        if let Some(r) = take(&mut crate::server::lock(&self.h2)) {
            return Ok(Some(r));
        }
        match self.open().await? {
            Opened::H2(sender) => {
                let use_ =
                    Arc::new(H2Use { streams: AtomicUsize::new(1), epoch: Instant::now(), last: AtomicU64::new(0) });
                let ready = Ready::H2(sender.clone(), Stream(use_.clone()));
                crate::server::lock(&self.h2).push(H2Conn { sender, use_ });
                Ok(Some(ready))
            }
            Opened::H1(sender) => {
                self.http2.store(false, Ordering::Relaxed);
                crate::server::lock(&self.idle).push(Idle { sender, since: Instant::now() });
                Ok(None)
            }
        }
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
        match self.open().await? {
            Opened::H1(sender) => Ok(sender),
            Opened::H2(_) => Err(SendError::Unsent("an HTTP/1.1 connection negotiated HTTP/2".into())),
        }
    }

    /// Open a connection: HTTP/2 when asked for (and, over TLS, chosen by the server), else HTTP/1.1. Boxed:
    /// connecting is rare, and its (TLS handshake) future is large; inline, every call's future would carry it.
    async fn open(&self) -> Result<Opened, SendError> {
        Box::pin(self.open_now()).await
    }

    async fn open_now(&self) -> Result<Opened, SendError> {
        self.reaper.call_once(|| {
            // Close connections idle longer than `idle_timeout` even when no call comes to reuse them, so
            // that the peer does not have to time them out. The task ends with the client.
            let (idle, h2) = (Arc::downgrade(&self.idle), Arc::downgrade(&self.h2));
            let limit = self.idle_timeout;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval((limit / 4).max(Duration::from_millis(50)));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let (Some(idle), Some(h2)) = (idle.upgrade(), h2.upgrade()) else { return };
                    crate::server::lock(&idle).retain(|c| c.since.elapsed() < limit && !c.sender.is_closed());
                    // An HTTP/2 connection closes when its last handle is dropped.
                    crate::server::lock(&h2)
                        .retain(|c| !c.sender.is_closed() && c.use_.idle_for().is_none_or(|d| d < limit));
                }
            });
        });
        let tcp = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| SendError::Unsent(format!("connecting to {}: {e}", self.addr)))?;
        let _ = tcp.set_nodelay(true);
        let http2 = self.http2.load(Ordering::Relaxed);
        match &self.tls {
            None if http2 => handshake2(tcp).await.map(Opened::H2),
            None => handshake(tcp).await.map(Opened::H1),
            Some((connector, name)) => match connector.connect(name.clone(), tcp).await {
                Ok(tls) if http2 && tls.get_ref().1.alpn_protocol() == Some(b"h2") => {
                    handshake2(tls).await.map(Opened::H2)
                }
                Ok(tls) => handshake(tls).await.map(Opened::H1),
                Err(e) if crate::tls::is_certificate_error(&e) => {
                    Err(SendError::Certificate(format!("TLS handshake with {}: {e}", self.addr)))
                }
                Err(e) => Err(SendError::Unsent(format!("TLS handshake with {}: {e}", self.addr))),
            },
        }
    }
}

/// A new connection, by the version it speaks.
enum Opened {
    H1(SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

/// The HTTP/2 handshake on `io`; the connection is driven by its own task until it closes.
async fn handshake2<S>(io: S) -> Result<http2::SendRequest<Body>, SendError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .map_err(|e| SendError::Unsent(format!("HTTP/2 handshake: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("peer connection ended: {e}");
        }
    });
    Ok(sender)
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
