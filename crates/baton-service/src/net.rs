//! The connection layer under the agent's HTTP routes: plain TCP or TLS (with the caller's certificate
//! identity), HTTP/1.1 or HTTP/2 on each, a cap on open connections and on the streams of one, a header-read
//! timeout, an idle timeout, and a shutdown that waits a bounded time for requests being handled and then
//! drops every connection still open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::config::Limits;

/// The caller's identity from its verified client certificate: the configured peer ids it names (empty
/// without TLS client authentication). Inserted into every request's extensions.
#[derive(Clone, Debug, Default)]
pub struct CertIdentity(pub Arc<Vec<String>>);

/// Connection counts, shown in `agent status`.
#[derive(Debug, Default)]
pub struct NetCounts {
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Idle connections closed to make room at `limits.max_connections`.
    pub evicted: AtomicU64,
    /// New connections refused at `limits.max_connections` (none idle to close).
    pub refused: AtomicU64,
    /// Connections closed by the header-read or idle timeout, or whose TLS handshake failed.
    pub timed_out_or_failed: AtomicU64,
}

/// The TLS side of the server: the acceptor and the peer ids a client certificate may name.
#[derive(Clone)]
pub(crate) struct TlsServer {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ids: Arc<Vec<String>>,
}

struct Entry {
    /// When a request last started or ended (or the connection was accepted), in [`millis`].
    last_io: Arc<AtomicU64>,
    active: Arc<AtomicU32>,
    close: Arc<Notify>,
}

struct Registry {
    next: u64,
    conns: HashMap<u64, Entry>,
}

/// Milliseconds since `epoch`, for last-activity stamps.
fn millis(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A request being handled: counted in `active`, and the time it ended stamped in `last` when dropped.
struct Active {
    active: Arc<AtomicU32>,
    last: Arc<AtomicU64>,
    epoch: Instant,
}
impl Drop for Active {
    fn drop(&mut self) {
        self.last.store(millis(self.epoch), Ordering::Relaxed);
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve `app` on `listener` until `shutdown` resolves; then stop accepting, let open connections finish the
/// requests they are handling for up to `limits.shutdown_grace`, and drop the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsServer>,
    app: Router,
    limits: Limits,
    counts: Arc<NetCounts>,
    agent: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let epoch = Instant::now();
    let registry = Arc::new(Mutex::new(Registry { next: 0, conns: HashMap::new() }));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut last_cap_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of descriptors or a transient error: back off instead of spinning.
                        tracing::warn!(agent = %agent, "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let entry = {
                    let mut reg = crate::server::lock(&registry);
                    let at_cap = reg.conns.len() >= limits.max_connections as usize;
                    let mut admitted = true;
                    if at_cap {
                        // Close the connection idle longest (no request being handled), if any.
                        let victim = reg
                            .conns
                            .iter()
                            .filter(|(_, e)| e.active.load(Ordering::Relaxed) == 0)
                            .min_by_key(|(_, e)| e.last_io.load(Ordering::Relaxed))
                            .map(|(&k, _)| k);
                        match victim.and_then(|k| reg.conns.remove(&k)) {
                            Some(v) => {
                                v.close.notify_one();
                                counts.evicted.fetch_add(1, Ordering::Relaxed);
                            }
                            None => {
                                counts.refused.fetch_add(1, Ordering::Relaxed);
                                admitted = false;
                            }
                        }
                        if last_cap_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                            last_cap_log = Some(Instant::now());
                            tracing::warn!(
                                agent = %agent,
                                "limits.max_connections = {} reached: {}",
                                limits.max_connections,
                                if admitted { "closed the connection idle longest" } else { "refused a new connection" }
                            );
                        }
                    }
                    if admitted {
                        let id = reg.next;
                        reg.next += 1;
                        let entry = Entry {
                            last_io: Arc::new(AtomicU64::new(millis(epoch))),
                            active: Arc::new(AtomicU32::new(0)),
                            close: Arc::new(Notify::new()),
                        };
                        let handles = (entry.last_io.clone(), entry.active.clone(), entry.close.clone());
                        reg.conns.insert(id, entry);
                        Some((id, handles))
                    } else {
                        None
                    }
                };
                let Some((id, (last_io, active, close))) = entry else {
                    drop(stream);
                    continue;
                };
                counts.accepted.fetch_add(1, Ordering::Relaxed);
                counts.open.fetch_add(1, Ordering::Relaxed);
                let conn = Conn {
                    tls: tls.clone(),
                    app: app.clone(),
                    limits: limits.clone(),
                    last_io,
                    active,
                    close,
                    epoch,
                    stop: stop_rx.clone(),
                    counts: counts.clone(),
                };
                let (registry, counts) = (registry.clone(), counts.clone());
                tasks.spawn(async move {
                    conn.run(stream).await;
                    crate::server::lock(&registry).conns.remove(&id);
                    counts.open.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let grace = limits.shutdown_grace;
    let drained = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(agent = %agent, "dropping {} connections still open after {grace:?} (limits.shutdown_grace_secs)", tasks.len());
        tasks.shutdown().await;
    }
}

struct Conn {
    tls: Option<TlsServer>,
    app: Router,
    limits: Limits,
    last_io: Arc<AtomicU64>,
    active: Arc<AtomicU32>,
    close: Arc<Notify>,
    epoch: Instant,
    stop: watch::Receiver<bool>,
    counts: Arc<NetCounts>,
}

impl Conn {
    async fn run(self, stream: TcpStream) {
        match self.tls.clone() {
            None => self.http(stream, CertIdentity::default()).await,
            Some(tls) => {
                let handshake = tokio::time::timeout(self.limits.header_read_timeout, tls.acceptor.accept(stream));
                let stream = match handshake.await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!("TLS handshake failed: {e}");
                        self.counts.timed_out_or_failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => {
                        self.counts.timed_out_or_failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                let names = match stream.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                    Some(cert) => crate::tls::names_in_cert(cert, tls.ids.iter().map(String::as_str)),
                    None => Vec::new(),
                };
                self.http(stream, CertIdentity(Arc::new(names))).await;
            }
        }
    }

    /// Serve HTTP/1.1 or HTTP/2 (told apart by the client's first bytes: HTTP/2's connection preface, with
    /// or without TLS) on `io` until the connection ends, times out or is told to close.
    async fn http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, io: S, identity: CertIdentity) {
        let (app, active, last, epoch) = (self.app.clone(), self.active.clone(), self.last_io.clone(), self.epoch);
        let any_request = Arc::new(AtomicBool::new(false));
        let seen = any_request.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // Without a client certificate there is nothing to insert (and no allocation per request).
            if !identity.0.is_empty() {
                req.extensions_mut().insert(identity.clone());
            }
            seen.store(true, Ordering::Relaxed);
            active.fetch_add(1, Ordering::Relaxed);
            last.store(millis(epoch), Ordering::Relaxed);
            let guard = Active { active: active.clone(), last: last.clone(), epoch };
            let mut app = app.clone();
            async move {
                let resp = tower_service::Service::call(&mut app, req).await;
                drop(guard);
                Ok::<_, Infallible>(match resp {
                    Ok(r) => r,
                    Err(never) => match never {},
                })
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout).keep_alive(true);
        // hyper's HTTP/2 server also bounds resets, pending accepts and header lists (rapid reset, CONTINUATION
        // floods); the streams a connection may carry at once are bounded here.
        builder.http2().timer(TokioTimer::new()).max_concurrent_streams(self.limits.max_streams_per_connection);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        if stopping {
            conn.as_mut().graceful_shutdown();
        }
        let (idle, first) = (self.limits.idle_timeout, self.limits.header_read_timeout);
        let tick = (idle.min(first) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut check = tokio::time::interval(tick);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let as_millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
                            self.counts.timed_out_or_failed.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!("connection ended: {e}");
                    }
                    return;
                }
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        // Idle connections close at once; one handling a request closes after its reply.
                        conn.as_mut().graceful_shutdown();
                    }
                }
                () = self.close.notified() => return,
                _ = check.tick() => {
                    // No request yet within the header-read timeout (whatever bytes came: an HTTP/2 preface
                    // and pings, or a preface sent a byte at a time), or none handled for the idle timeout.
                    let quiet = millis(self.epoch).saturating_sub(self.last_io.load(Ordering::Relaxed));
                    let limit = if any_request.load(Ordering::Relaxed) { idle } else { first };
                    if self.active.load(Ordering::Relaxed) == 0 && quiet >= as_millis(limit) {
                        self.counts.timed_out_or_failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }
    }
}
