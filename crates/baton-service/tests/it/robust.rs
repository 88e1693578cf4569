//! Resources an attacker or a faulty peer could exhaust, and calls that must be safe to retry: connections
//! (idle, slowloris, a flood past the cap, half-sent at shutdown), peers' replies (oversized, error status,
//! out-of-range scalars), the `Authorization` scheme's case, and retried handoffs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use baton_service::bench::{client_token, pair_token, LocalPipeline};
use baton_service::config::LimitsConfig;
use baton_service::wire::{self, Artifact, Envelope, WorkflowStatus, SCALAR_EXT};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

fn host(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Wait until the agent closes `s` (a read returns end-of-file or an error), at most `within`.
async fn closed_within(s: &mut (impl tokio::io::AsyncRead + Unpin), within: Duration) -> bool {
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Connect to `addr`, send `head`, then the bytes of `body` (cycled) one every 100 ms, 100 in all; the time
/// from the first byte until a write failed (the agent closed the connection), or `None`.
fn trickle(addr: &str, head: &'static [u8], body: &'static [u8]) -> tokio::task::JoinHandle<Option<Duration>> {
    let addr = addr.to_string();
    tokio::spawn(async move {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(head).await.unwrap();
        let t0 = Instant::now();
        for b in body.iter().cycle().take(100) {
            if s.write_all(&[*b]).await.is_err() {
                return Some(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    })
}

/// A pipeline whose agents have a 1 s header-read timeout and a 1.5 s idle timeout.
async fn quick_timeouts(dir: &std::path::Path) -> LocalPipeline {
    LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir, |c| {
        c.limits.header_read_timeout_secs = 1.0;
        c.limits.idle_timeout_secs = 1.5;
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slowloris_connections_are_closed_by_the_header_and_idle_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let p = quick_timeouts(dir.path()).await;
    let addr = host(&p.urls[0]);
    let t0 = Instant::now();
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A slowloris: one byte of an endless header every 100 ms.
    let trickle = trickle(&addr, b"POST / HTTP/1.1\r\nX-Slow: ", b"a");
    assert!(closed_within(&mut idle, Duration::from_secs(4)).await, "an idle connection stayed open");
    assert!(closed_within(&mut half, Duration::from_secs(4)).await, "a half-sent request head stayed open");
    let cut = trickle.await.unwrap().expect("the slowloris connection was never closed");
    assert!(cut < Duration::from_secs(4), "slowloris cut after {cut:?}");
    assert!(t0.elapsed() < Duration::from_secs(6));
    let st = p.agents[0].status();
    assert!(st.connections_timed_out_or_failed >= 3, "{st:?}");
    // The agent still serves.
    let r = p.client(0, Duration::from_secs(10)).unwrap().run(20, 2).await;
    assert_eq!(r.failed, 0, "{r:?}");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_past_the_cap_does_not_lock_out_valid_workflows() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |c| {
        c.limits.max_connections = 16;
    })
    .await
    .unwrap();
    let addr = host(&p.urls[0]);
    // 60 connections that never send a byte (the default timeouts would keep them for 10 s).
    let mut flood = Vec::new();
    for _ in 0..60 {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let st = p.agents[0].status();
    assert!(st.connections_open <= 16, "{st:?}");
    assert!(st.connections_evicted >= 44, "{st:?}");
    let t0 = Instant::now();
    let r = p.client(0, Duration::from_secs(10)).unwrap().run(100, 4).await;
    assert_eq!(r.failed, 0, "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert!(p.agents[0].status().connections_open <= 16);
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_idle_and_half_sent_connections_within_its_grace_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |c| {
        // Timeouts far beyond the test, so only the shutdown deadline can close these connections.
        c.limits.header_read_timeout_secs = 600.0;
        c.limits.idle_timeout_secs = 600.0;
        c.limits.shutdown_grace_secs = 0.5;
    })
    .await
    .unwrap();
    let r = p.client(0, Duration::from_secs(10)).unwrap().run(10, 2).await;
    assert_eq!(r.failed, 0, "{r:?}");
    let mut held = Vec::new();
    for url in &p.urls {
        for k in 0..4 {
            let mut s = TcpStream::connect(host(url)).await.unwrap();
            if k % 2 == 0 {
                s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le").await.unwrap();
            }
            held.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), p.stop()).await.expect("the agents did not stop").unwrap();
    assert!(t0.elapsed() < Duration::from_secs(3), "stopping took {:?}", t0.elapsed());
    for s in &mut held {
        assert!(closed_within(s, Duration::from_secs(1)).await);
    }
    for i in 0..3 {
        assert!(dir.path().join(format!("agent-{i}/learner.safetensors")).exists());
    }
}

/// What the fake peer answers to every request.
const OVERSIZED: u32 = 0;
const ERROR_STATUS: u32 = 1;
const HUGE_SCALAR: u32 = 2;
const CLAMPED_SCALAR: u32 = 3;

fn scalar_json(v: f64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":"x","result":{{"kind":"message","role":"agent","messageId":"x","parts":[],"metadata":{{"{SCALAR_EXT}":{{"v":{v}}}}}}}}}"#
    )
}

/// A hostile peer speaking raw HTTP/1.1: it reads a request and answers as `mode` says. In the oversized
/// mode it streams a 200 MB chunked body of a well-formed scalar reply padded with spaces, counting the
/// bytes it managed to write into `written`.
async fn fake_peer(mode: Arc<AtomicU32>, written: Arc<AtomicU64>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            let (mode, written) = (mode.clone(), written.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the announced body.
                loop {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_string))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let head = |status: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let reply = match mode.load(Ordering::Relaxed) {
                    ERROR_STATUS => head("500 Internal Server Error", &scalar_json(0.5)),
                    HUGE_SCALAR => head("200 OK", &scalar_json(1000.0)),
                    CLAMPED_SCALAR => head("200 OK", &scalar_json(20.0)),
                    _ => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                            .await;
                        let body = scalar_json(0.5);
                        let first = format!("{:x}\r\n{body}\r\n", body.len());
                        if s.write_all(first.as_bytes()).await.is_err() {
                            return;
                        }
                        let pad = vec![b' '; 1 << 16];
                        let mut frame = format!("{:x}\r\n", pad.len()).into_bytes();
                        frame.extend_from_slice(&pad);
                        frame.extend_from_slice(b"\r\n");
                        for _ in 0..(200 << 20) / pad.len() {
                            if s.write_all(&frame).await.is_err() {
                                return;
                            }
                            written.fetch_add(frame.len() as u64, Ordering::Relaxed);
                        }
                        let _ = s.write_all(b"0\r\n\r\n").await;
                        return;
                    }
                };
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_error_status_and_out_of_range_replies_are_refused_or_clamped_and_counted_per_peer() {
    let mode = Arc::new(AtomicU32::new(OVERSIZED));
    let written = Arc::new(AtomicU64::new(0));
    let fake = fake_peer(mode.clone(), written.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 2, dir.path(), |c| {
        c.limits.workflow_timeout_secs = 1.0;
        for peer in &mut c.peers {
            if peer.role.is_some() {
                peer.url = Some(format!("http://{fake}"));
            }
        }
    })
    .await
    .unwrap();
    // The derived default: twice the synthetic workload's value range [-c/(1-gamma), R_sub] = [-2, 10].
    let client = p.client(0, Duration::from_secs(30)).unwrap();
    let mut n = 0;
    // Start workflows until one hands off (uniform behaviour sometimes submits at once); its reason.
    let mut handed_off = |expect: &'static str| {
        let client = client.clone();
        n += 100;
        let first = n;
        async move {
            for k in first..first + 60 {
                let o = client.start(k).await.unwrap();
                if o.status == WorkflowStatus::Failed {
                    let reason = o.reason.unwrap_or_default();
                    assert!(reason.contains(expect), "expected {expect:?} in {reason:?}");
                    return;
                }
            }
            panic!("no workflow handed off");
        }
    };
    mode.store(OVERSIZED, Ordering::Relaxed);
    handed_off("reply larger than 65536 bytes").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = written.load(Ordering::Relaxed);
    assert!(w < 50 << 20, "the agent read on: the fake wrote {w} bytes of its 200 MB reply");
    mode.store(ERROR_STATUS, Ordering::Relaxed);
    handed_off("HTTP 500").await;
    mode.store(HUGE_SCALAR, Ordering::Relaxed);
    handed_off("= 1000 is out of range (|v| <= 23.99").await;
    let st = p.agents[0].status();
    let refused: u64 = st.peers.values().map(|c| c.scalars_refused).sum();
    assert_eq!(refused, 3, "{st:?}");
    assert_eq!(st.scalars_received, 0, "{st:?}");
    // A scalar within the limit but above the workload's largest value R_sub = 10 is clamped to it.
    mode.store(CLAMPED_SCALAR, Ordering::Relaxed);
    handed_off("deadline").await;
    let st = p.agents[0].status();
    let clamped: u64 = st.peers.values().map(|c| c.scalars_clamped).sum();
    assert_eq!((clamped, st.scalars_received), (1, 1), "{st:?}");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |_| {})
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for (header, code) in [
        (format!("Bearer {}", client_token(0)), 200),
        (format!("bearer {}", client_token(0)), 200),
        (format!("BEARER {}", client_token(0)), 200),
        (format!("Basic {}", client_token(0)), 401),
        (format!("Bearer{}", client_token(0)), 401),
    ] {
        let resp = http.get(format!("{}/status", p.urls[0])).header("authorization", &header).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), code, "{header}");
    }
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_handoff_gets_the_same_scalar_and_its_work_is_not_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |_| {})
        .await
        .unwrap();
    // Warm agent-1's table up so its scalars are not all zero.
    let r = p.client(0, Duration::from_secs(30)).unwrap().run(200, 4).await;
    assert_eq!(r.failed, 0, "{r:?}");
    p.quiesce().await.unwrap();
    let before = p.agents[1].status();
    let http = reqwest::Client::new();
    // The last hop limits.max_hops allows: agent-1 takes the handoff but hands nothing on, so the workflow
    // cannot come back to it and add handoffs of its own to the counts below.
    let hop = LimitsConfig::default().max_hops;
    let send = |message_id: &'static str| {
        let env =
            Envelope::Handoff { from: "agent-0".into(), workflow: "w-retry".into(), origin: "agent-0".into(), hop };
        let body = wire::request(message_id, message_id, &env, Some(&Artifact { levels: vec![1, 1, 0] }));
        let req = http.post(format!("{}/", p.urls[1])).bearer_auth(pair_token(0, 1)).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            let v: Value = resp.json().await.unwrap();
            v["result"]["metadata"][SCALAR_EXT]["v"].as_f64().unwrap()
        }
    };
    let first = send("w-retry-h1").await;
    for _ in 0..3 {
        assert_eq!(send("w-retry-h1").await.to_bits(), first.to_bits(), "a retry got another scalar");
    }
    let st = p.agents[1].status();
    assert_eq!(st.handoffs_received, before.handoffs_received + 1, "{st:?}");
    assert_eq!(st.handoffs_deduplicated, before.handoffs_deduplicated + 3, "{st:?}");
    // Another id is another handoff.
    send("w-retry-h2").await;
    assert_eq!(p.agents[1].status().handoffs_received, before.handoffs_received + 2);
    p.quiesce().await.unwrap();
    p.stop().await.unwrap();
}

/// HTTP/2's connection preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
/// An HTTP/2 PING frame (8 bytes of payload, stream 0).
const H2_PING: &[u8] = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00baton-ok";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_that_send_no_request_are_closed_however_busy_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = quick_timeouts(dir.path()).await;
    let addr = host(&p.urls[0]);
    // The whole preface, then a PING every 100 ms: bytes keep moving, no request ever comes.
    let (mut read, mut write) = TcpStream::connect(&addr).await.unwrap().into_split();
    write.write_all(H2_PREFACE).await.unwrap();
    let pinger = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(H2_PING).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // The preface itself, one byte every 100 ms (hyper waits for all of it to tell HTTP/2 from HTTP/1.1).
    let trickle = trickle(&addr, b"", H2_PREFACE);
    let t0 = Instant::now();
    assert!(
        closed_within(&mut read, Duration::from_secs(4)).await,
        "an HTTP/2 connection sending only pings stayed open"
    );
    assert!(t0.elapsed() >= Duration::from_millis(800), "closed before the header-read timeout: {:?}", t0.elapsed());
    pinger.abort();
    let cut = trickle.await.unwrap().expect("a preface sent a byte at a time was never cut");
    assert!(cut < Duration::from_secs(4), "preface trickle cut after {cut:?}");
    // A valid workflow still runs over HTTP/2 after the closed ones.
    let r = p.client(0, Duration::from_secs(10)).unwrap().run(20, 4).await;
    assert_eq!(r.submitted, 20, "{r:?}");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_workflows_in_flight_from_one_client_take_a_few_connections() {
    let dir = tempfile::tempdir().unwrap();
    // The default limits: at most 512 connections per agent, 256 streams per connection.
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |c| {
        c.checkpoint_interval_secs = 3600.0;
    })
    .await
    .unwrap();
    let client = p.client(0, Duration::from_secs(60)).unwrap();
    let agent = p.agents[0].clone();
    let peak = Arc::new(AtomicU64::new(0));
    let watch = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(agent.status().connections_open, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let r = client.run(3000, 1024).await;
    watch.abort();
    assert_eq!(r.submitted, 3000, "{r:?}");
    let s = p.agents[0].status();
    assert_eq!((s.connections_evicted, s.connections_refused), (0, 0), "{s:?}");
    // 1,024 starts in flight over connections of 128 streams: 8; the two peers report results over at most
    // limits.max_calls_per_peer = 64 connections each. Over HTTP/1.1 it took one connection per start in flight.
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak <= 8 + 2 * 64, "agent-0 had {peak} connections open at once");
    // HTTP/1.1 is still spoken to anyone who asks for it.
    let http1 = baton_service::Client::with_version(
        &p.urls[0],
        Some(&client_token(0)),
        baton_service::bench::CLIENT_ID,
        Duration::from_secs(10),
        None,
        baton_service::HttpVersion::Http1,
    )
    .unwrap();
    assert_eq!(http1.run(20, 4).await.submitted, 20);
    p.stop().await.unwrap();
}
