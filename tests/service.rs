//! Agents as separate processes (`baton agent serve`) on 127.0.0.1, driven as a client would drive them.
//!
//! - three agent processes learn the synthetic workload as well as the in-process IC-Q run at the same budget,
//!   judged exactly from the agents' checkpoints (this harness reads the state directories as an auditor,
//!   never as a peer);
//! - a kill -9 of one agent mid-run: in-flight workflows fail or finish cleanly, the checkpoint on disk is
//!   never corrupt, the restarted agent resumes from it and keeps learning.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::core::{FiniteEnv, FiniteModel};
use baton::envs::SyntheticConfig;
use baton::experiment::stats::mean_ci95;
use baton::experiment::train::Decentralized;
use baton::learn::{Behaviour, IcqAgent, LearnerConfig, StepSize};
use baton::service::bench::{client_tls, client_token, pipeline_configs, use_mutual_tls, CLIENT_ID};
use baton::service::tls::{ClientConfig, DemoCerts};
use baton::service::{AgentConfig, Checkpoint, Client, Status};
use baton::solve::{evaluate, initial_value, value_iteration, Policy};

struct Pipeline {
    dir: tempfile::TempDir,
    configs: Vec<PathBuf>,
    urls: Vec<String>,
    children: Vec<Option<Child>>,
    rt: tokio::runtime::Runtime,
    certs: Option<DemoCerts>,
}

fn free_ports(n: usize) -> Vec<SocketAddr> {
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    ls.iter().map(|l| l.local_addr().unwrap()).collect()
}

impl Pipeline {
    /// Three agent processes; over mutual TLS if `tls` (every identity from a certificate, no tokens).
    fn new(seed: u64, checkpoint_secs: f64, tls: bool) -> Pipeline {
        Pipeline::with(seed, checkpoint_secs, tls, |_, _| {})
    }

    /// [`Pipeline::new`], with `tweak(i, config)` applied to agent `i`'s generated config.
    fn with(seed: u64, checkpoint_secs: f64, tls: bool, tweak: impl Fn(usize, &mut AgentConfig)) -> Pipeline {
        let dir = tempfile::tempdir().unwrap();
        let addrs = free_ports(3);
        let mut configs = Vec::new();
        let mut generated = pipeline_configs(
            &SyntheticConfig::default(),
            &LearnerConfig::default(),
            seed,
            &addrs,
            &dir.path().join("state"),
        );
        let certs = tls.then(|| use_mutual_tls(&mut generated, &dir.path().join("certs")).unwrap());
        for (i, mut c) in generated.into_iter().enumerate() {
            c.checkpoint_interval_secs = checkpoint_secs;
            // A workflow lost with a killed agent fails at its entry agent after this deadline.
            c.limits.workflow_timeout_secs = 10.0;
            tweak(i, &mut c);
            let path = dir.path().join(format!("agent-{i}.toml"));
            std::fs::write(&path, toml::to_string(&c).unwrap()).unwrap();
            configs.push(path);
        }
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let scheme = if tls { "https" } else { "http" };
        let urls = addrs.iter().map(|a| format!("{scheme}://{a}")).collect();
        let mut p = Pipeline { dir, configs, urls, children: Vec::new(), rt, certs };
        for i in 0..3 {
            let child = p.spawn(i);
            p.children.push(Some(child));
        }
        for i in 0..3 {
            p.wait_ready(i);
        }
        p
    }

    fn spawn(&self, i: usize) -> Child {
        let log = std::fs::File::create(self.dir.path().join(format!("agent-{i}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["agent", "serve", "--config"])
            .arg(&self.configs[i])
            .env("BATON_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn client_tls(&self) -> Option<ClientConfig> {
        self.certs.as_ref().map(|c| client_tls(c).unwrap())
    }

    fn client(&self, i: usize) -> Client {
        match self.client_tls() {
            None => Client::new(&self.urls[i], &client_token(i), CLIENT_ID, Duration::from_secs(60)).unwrap(),
            Some(t) => Client::with_tls(&self.urls[i], None, CLIENT_ID, Duration::from_secs(60), Some(t)).unwrap(),
        }
    }

    fn pid(&self, i: usize) -> u32 {
        self.children[i].as_ref().unwrap().id()
    }

    fn status(&self, i: usize) -> Result<Status, String> {
        self.rt.block_on(self.client(i).status()).map_err(|e| e.to_string())
    }

    fn wait_ready(&self, i: usize) {
        let t0 = Instant::now();
        while let Err(e) = self.status(i) {
            assert!(t0.elapsed() < Duration::from_secs(30), "agent {i} did not start: {e}\n{}", self.log(i));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("agent-{i}.log"))).unwrap_or_default()
    }

    fn state_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("state/agent-{i}"))
    }

    fn updates(&self) -> u64 {
        (0..3).map(|i| self.status(i).unwrap().updates).sum()
    }

    /// SIGTERM every agent and wait: each writes its final checkpoint and exits 0.
    fn stop(&mut self) {
        for i in 0..self.children.len() {
            let Some(mut child) = self.children[i].take() else { continue };
            let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            assert!(ok.success());
            let status = child.wait().unwrap();
            assert!(status.success(), "agent {i} exited with {status}:\n{}", self.log(i));
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The exact value from `nu_0` of the greedy joint policy of per-agent tables, as a relative gap to `V*`.
fn gap_of(model: &FiniteModel, optimal: f64, table: impl Fn(usize, u32, u16) -> f64) -> f64 {
    let mut q = Vec::with_capacity(model.n_pairs());
    for s in 0..model.n_states() as u32 {
        let (h, o) = (model.holder(s).index(), model.obs(s));
        q.extend(model.pairs(s).map(|p| table(h, o.0, model.pair_action(p).0)));
    }
    let policy = Policy::greedy(model, &q).unwrap();
    let value = initial_value(model, &evaluate(model, &policy).unwrap()).unwrap();
    (optimal - value) / optimal.abs()
}

fn checkpoints(dir: &Path) -> Vec<Checkpoint> {
    (0..3).map(|i| Checkpoint::load(&dir.join(format!("agent-{i}"))).unwrap().unwrap()).collect()
}

/// Updates (completed options) every run is given. At 60,000 the in-process run reaches gap 0 on every one of 40
/// seeds (at 30,000 on 33 of 40, up to 0.18%), so the services must reach gap 0 too.
const BUDGET: u64 = 60_000;

#[test]
fn three_agent_processes_learn_as_well_as_the_in_process_run() {
    quality(false);
}

#[test]
fn three_agent_processes_over_mutual_tls_learn_as_well_as_the_in_process_run() {
    quality(true);
}

fn quality(tls: bool) {
    let syn = SyntheticConfig::default().validate().unwrap();
    let model = syn.build_model().unwrap();
    let optimal = initial_value(&model, &value_iteration(&model, 1e-10).unwrap().v).unwrap();

    // The in-process IC-Q run at the same budget, 10 seeds, as `baton run` scores it.
    let spec = model.spec().clone();
    let gaps: Vec<f64> = (1..=10)
        .map(|seed| {
            let agents =
                spec.agents.iter().map(|a| IcqAgent::tabular(a, spec.discount, StepSize::polynomial(0.8))).collect();
            let mut run = Decentralized::new(FiniteEnv::new(&model), agents, Behaviour::Uniform, seed);
            run.run(BUDGET);
            let agents = run.agents();
            gap_of(&model, optimal, |h, o, a| {
                use baton::learn::QFunction as _;
                agents[h].q().value(baton::core::ObsId(o), baton::core::ActionId(a))
            })
        })
        .collect();
    let (mean, ci) = mean_ci95(&gaps);

    // The same through three processes: workflows until the agents have made BUDGET updates between them.
    let mut p = Pipeline::new(1, 30.0, tls);
    let t0 = Instant::now();
    let client = p.client(0);
    while p.updates() < BUDGET {
        let r = p.rt.block_on(client.run(500, 16));
        assert_eq!(r.failed, 0, "{r:?}");
    }
    let secs = t0.elapsed().as_secs_f64();
    let made = p.updates();
    p.stop();
    let ck = checkpoints(&p.dir.path().join("state"));
    assert_eq!(ck.iter().map(|c| c.updates).sum::<u64>(), made, "the final checkpoints hold every update");
    let service_gap = gap_of(&model, optimal, |h, o, a| ck[h].q[o as usize * ck[h].n_actions + a as usize]);
    eprintln!(
        "tls {tls}, budget {BUDGET}: in-process gap mean {mean:.2e} (95% CI [{:.2e}, {:.2e}], seeds 1-10); three processes \
         {service_gap:.2e} after {made} updates in {secs:.1} s ({:.0} updates/s)",
        ci[0],
        ci[1],
        made as f64 / secs
    );
    assert!(
        service_gap <= ci[1] + 1e-9,
        "the services' gap {service_gap} is above the in-process run's 95% CI [{}, {}]",
        ci[0],
        ci[1]
    );
}

#[test]
fn a_killed_agent_restarts_from_an_intact_checkpoint_and_learning_continues() {
    killed_agent_restarts(false);
}

#[test]
fn over_mutual_tls_a_killed_agent_restarts_from_an_intact_checkpoint_and_learning_continues() {
    killed_agent_restarts(true);
}

fn killed_agent_restarts(tls: bool) {
    let mut p = Pipeline::new(2, 0.2, tls);
    let client = p.client(0);
    let warm = p.rt.block_on(client.run(300, 8));
    assert_eq!(warm.failed, 0, "{warm:?}");
    std::thread::sleep(Duration::from_millis(500));

    // Workflows in flight while agent-1 is killed (SIGKILL: no shutdown checkpoint) and restarted.
    let runner = {
        let c = client.clone();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        std::thread::spawn(move || rt.block_on(c.run(1500, 8)))
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut child = p.children[1].take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever moment the kill hit, the file on disk is a whole checkpoint.
    let on_disk = Checkpoint::load(&p.state_dir(1)).unwrap().expect("agent-1 had checkpointed");
    assert!(on_disk.updates > 0);
    std::thread::sleep(Duration::from_millis(300));
    p.children[1] = Some(p.spawn(1));
    p.wait_ready(1);
    let restarted = p.status(1).unwrap();
    assert_eq!(restarted.restored_updates, on_disk.updates, "the restarted agent resumed from its checkpoint");

    let during = runner.join().unwrap();
    assert_eq!(during.submitted + during.failed, 1500, "{during:?}");
    assert!(during.submitted > 0, "{during:?}");
    for reason in &during.failures {
        // Failures are clean: a failed call or a deadline, reported with its reason.
        assert!(reason.contains("agent-1") || reason.contains("failed") || reason.contains("deadline"), "{reason}");
    }
    // After the restart, every workflow goes through and agent-1 keeps learning.
    let after = p.rt.block_on(client.run(300, 8));
    assert_eq!(after.failed, 0, "{after:?}");
    let later = p.status(1).unwrap();
    assert!(later.updates > restarted.updates, "{later:?} vs {restarted:?}");
    p.stop();
    for c in checkpoints(&p.dir.path().join("state")) {
        assert!(c.q.iter().all(|v| v.is_finite()));
    }
    eprintln!(
        "tls {tls}, kill -9 of agent-1: {} of 1500 in-flight workflows submitted, {} failed; restored {} updates; {} after",
        during.submitted, during.failed, on_disk.updates, later.updates
    );
}

#[test]
fn the_example_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/service");
    for i in 0..3 {
        let s = baton::service::AgentConfig::load(&dir.join(format!("agent-{i}.toml"))).unwrap();
        assert_eq!(s.role.index(), i);
        assert!(s.by_role.iter().enumerate().all(|(j, p)| p.is_some() == (j != i)));
    }
}

#[test]
fn a_bad_config_or_a_corrupt_checkpoint_stops_the_agent_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |config: &Path| {
        Command::new(env!("CARGO_BIN_EXE_baton")).args(["agent", "serve", "--config"]).arg(config).output().unwrap()
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "id = \"a\"\nrole = 5\nseed = 1\nstate_dir = \"s\"\n").unwrap();
    let out = serve(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml") && err.contains("`role`") && err.contains("0..3"), "{err}");

    // Huge durations: one clear error naming the field, no panic (exit 101 before).
    for field in [
        "checkpoint_interval_secs = 1e20",
        "[limits]\ncall_timeout_secs = 1e20",
        "[limits]\nworkflow_timeout_secs = 1e20",
    ] {
        let huge = dir.path().join("huge.toml");
        std::fs::write(&huge, format!("id = \"a\"\nrole = 0\nseed = 1\nstate_dir = \"s\"\n{field}\n")).unwrap();
        let out = serve(&huge);
        let err = String::from_utf8_lossy(&out.stderr);
        let name = field.rsplit('\n').next().unwrap().split(' ').next().unwrap();
        assert_eq!(out.status.code(), Some(2), "{field}: {err}");
        assert!(err.contains("huge.toml") && err.contains(name) && err.contains("86400"), "{err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["workflow", "start", "--url", "http://127.0.0.1:9", "--token", "0123456789abcdef", "--timeout", "1e20"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--timeout") && err.contains("86400"), "{err}");

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "id = \"a\"\nrole = 0\nlisten = \"127.0.0.1:0\"\nseed = 1\nstate_dir = \"s\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("s/learner.safetensors"), b"not a checkpoint").unwrap();
    let out = serve(&good);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("learner.safetensors") && err.contains("not safetensors"), "{err}");
    // The corrupt file is left as it was, for inspection.
    assert_eq!(std::fs::read(dir.path().join("s/learner.safetensors")).unwrap(), b"not a checkpoint");
}

#[test]
fn workflow_start_rides_out_a_restart_of_the_entry_agent() {
    let mut p = Pipeline::new(3, 0.5, false);
    let client = p.client(0);
    let runner = {
        let c = client.clone();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        std::thread::spawn(move || rt.block_on(c.run(3000, 8)))
    };
    std::thread::sleep(Duration::from_millis(300));
    // The entry agent is down for a second, then back (kill -9, restart from its checkpoint).
    let mut child = p.children[0].take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    p.children[0] = Some(p.spawn(0));
    p.wait_ready(0);
    let r = runner.join().unwrap();
    // Only the starts in flight at the kill can fail (their connections broke after they were sent, so they
    // are not sent twice); every start made during the outage waited it out.
    assert_eq!(r.submitted + r.failed, 3000, "{r:?}");
    assert!(r.failed <= 16, "{r:?}");
    p.stop();
    eprintln!("entry agent down for 1 s: {} of 3000 workflows failed", r.failed);
}

/// Resident memory of a process, in bytes (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// What the fake peer of the soak did.
#[derive(Default)]
struct FakePeerCounts {
    /// Requests forwarded to the real peer.
    forwarded: AtomicU64,
    /// Oversized replies sent instead.
    oversized: AtomicU64,
    /// The most bytes of one oversized reply the agent let it write before dropping the connection.
    most_written: AtomicU64,
}

/// The size of each oversized reply the fake peer tries to send.
const OVERSIZED_REPLY_BYTES: u64 = 200 << 20;

/// A fake agent-1 in front of the real one (at `target`), for one agent that calls it: it forwards each request
/// (a 503 if the real one cannot be reached, so the caller retries as it would have), except that every
/// `every`-th one is answered, without forwarding it, with a 200 MB chunked reply streamed until the caller
/// hangs up. Serves until the process ends.
fn fake_peer_with_oversized_replies(target: String, every: u64) -> (SocketAddr, Arc<FakePeerCounts>) {
    use std::io::{BufRead as _, Read as _, Write as _};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let counts = Arc::new(FakePeerCounts::default());
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let c = counts.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(stream) = stream else { continue };
            let (http, target, seen, counts) = (http.clone(), target.clone(), seen.clone(), c.clone());
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let Ok(mut out) = stream.try_clone() else { return };
                let mut input = std::io::BufReader::new(stream);
                loop {
                    // One request: its head, then the body its Content-Length announces.
                    let (mut len, mut auth) = (0usize, None);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match input.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = l.split_once(':') {
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => len = value.trim().parse().unwrap_or(0),
                                "authorization" => auth = Some(value.trim().to_string()),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0u8; len];
                    if input.read_exact(&mut body).is_err() {
                        return;
                    }
                    if seen.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
                        counts.oversized.fetch_add(1, Ordering::Relaxed);
                        let head =
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        let chunk = [b' '; 1 << 16];
                        let mut written = 0u64;
                        let mut ok = out.write_all(head.as_bytes()).is_ok();
                        while ok && written < OVERSIZED_REPLY_BYTES {
                            ok = write!(out, "{:x}\r\n", chunk.len()).is_ok()
                                && out.write_all(&chunk).is_ok()
                                && out.write_all(b"\r\n").is_ok();
                            if ok {
                                written += chunk.len() as u64;
                            }
                        }
                        counts.most_written.fetch_max(written, Ordering::Relaxed);
                        return;
                    }
                    let mut req = http.post(&target).header("content-type", "application/json").body(body);
                    if let Some(a) = auth {
                        req = req.header("authorization", a);
                    }
                    let (status, reply) = match req.send().and_then(|r| Ok((r.status().as_u16(), r.bytes()?))) {
                        Ok((s, b)) => (s, b.to_vec()),
                        Err(_) => (503, Vec::new()),
                    };
                    counts.forwarded.fetch_add(1, Ordering::Relaxed);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        reply.len()
                    );
                    if out.write_all(head.as_bytes()).is_err() || out.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, counts)
}

/// About two minutes of valid workflows under hostile load: idle-connection floods past the cap, slowloris
/// heads, garbage and oversized bodies, wrong tokens, oversized replies from a fake peer (agent-0 reaches
/// agent-1 through it; one call in 200 gets a 200 MB reply instead of agent-1's), and a kill -9 and restart
/// of agent-1. Valid workflows keep being served with a bounded p99 latency, and every agent's resident memory
/// stays bounded. Run: `cargo test --release --test service soak -- --ignored --nocapture`.
#[test]
#[ignore = "a two-minute soak; run it with --ignored"]
fn soak_three_agents_under_mixed_valid_and_hostile_load() {
    use std::io::Write as _;
    use std::sync::atomic::AtomicBool;
    let secs: u64 = std::env::var("BATON_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let fake = std::sync::Mutex::new(None);
    let mut p = Pipeline::with(4, 1.0, false, |i, c| {
        if i == 0 {
            let peer = c.peers.iter_mut().find(|p| p.id == "agent-1").unwrap();
            let (addr, counts) = fake_peer_with_oversized_replies(format!("{}/", peer.url.clone().unwrap()), 200);
            peer.url = Some(format!("http://{addr}"));
            *fake.lock().unwrap() = Some(counts);
        }
    });
    let fake = fake.into_inner().unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let addrs: Vec<String> = p.urls.iter().map(|u| u.trim_start_matches("http://").to_string()).collect();
    // Hostile load, one thread per kind, until `stop`.
    let mut hostile = Vec::new();
    for k in 0..9 {
        let (addr, stop) = (addrs[k / 3].clone(), stop.clone());
        hostile.push(std::thread::spawn(move || {
            let mut held: Vec<std::net::TcpStream> = Vec::new();
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                match k % 3 {
                    // A flood of idle connections past the cap (512): kept open until the agent drops them.
                    0 => {
                        for _ in 0..200 {
                            if let Ok(s) = std::net::TcpStream::connect(&addr) {
                                held.push(s);
                            }
                        }
                        if held.len() > 1500 {
                            held.drain(..700);
                        }
                    }
                    // Slowloris: 50 heads trickled a byte at a time.
                    1 => {
                        for _ in 0..50 {
                            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                                let _ = s.write_all(b"POST / HTTP/1.1\r\nX-Slow: a");
                                held.push(s);
                            }
                        }
                        for s in &mut held {
                            let _ = s.write_all(b"a");
                        }
                        if held.len() > 400 {
                            held.drain(..200);
                        }
                    }
                    // Garbage, oversized bodies and wrong tokens.
                    _ => {
                        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                            let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                            let body = if round % 2 == 0 { vec![b'{'; 1 << 20] } else { b"{\"jsonrpc\":".to_vec() };
                            let _ = write!(
                                s,
                                "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-token-{round}\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            );
                            let _ = s.write_all(&body);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }));
    }
    let client = p.client(0);
    let t0 = Instant::now();
    let mut latencies = Vec::new();
    let (mut submitted, mut failed, mut killed, mut peak_rss) = (0u64, 0u64, false, 0u64);
    while t0.elapsed() < Duration::from_secs(secs) {
        if !killed && t0.elapsed() > Duration::from_secs(secs / 2) {
            killed = true;
            let mut child = p.children[1].take().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            p.children[1] = Some(p.spawn(1));
            p.wait_ready(1);
        }
        let batch: Vec<(Duration, bool)> = p.rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for n in 0..8u64 {
                let c = client.clone();
                let id = latencies.len() as u64 * 8 + n;
                tasks.spawn(async move {
                    let t = Instant::now();
                    let ok = matches!(c.start(id).await, Ok(o) if o.status == baton::service::wire::WorkflowStatus::Submitted);
                    (t.elapsed(), ok)
                });
            }
            let mut out = Vec::new();
            while let Some(r) = tasks.join_next().await {
                out.push(r.unwrap());
            }
            out
        });
        for (d, ok) in batch {
            if ok {
                submitted += 1;
                latencies.push(d);
            } else {
                failed += 1;
            }
        }
        for i in 0..3 {
            if let Some(rss) = resident_bytes(p.pid(i)) {
                peak_rss = peak_rss.max(rss);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in hostile {
        h.join().unwrap();
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    eprintln!(
        "soak {secs} s: {submitted} workflows submitted, {failed} failed, p99 {p99:?}, peak agent RSS {} MB",
        peak_rss >> 20
    );
    // Counts for the record (a status call may need a retry while the hostile connections drain).
    for i in 0..3 {
        let status = (0..10).find_map(|_| {
            p.status(i).map_err(|e| eprintln!("status of agent-{i}: {e}")).ok().or_else(|| {
                std::thread::sleep(Duration::from_millis(200));
                None
            })
        });
        eprintln!("agent-{i}: {status:#?}");
    }
    let oversized = fake.oversized.load(Ordering::Relaxed);
    let most_written = fake.most_written.load(Ordering::Relaxed);
    eprintln!(
        "fake peer: {} requests forwarded, {oversized} oversized replies, at most {} KB of one written",
        fake.forwarded.load(Ordering::Relaxed),
        most_written >> 10
    );
    let refused = (0..10)
        .find_map(|_| {
            p.status(0).ok().or_else(|| {
                std::thread::sleep(Duration::from_millis(200));
                None
            })
        })
        .and_then(|s| s.peers.get("agent-1").map(|c| c.scalars_refused));
    p.stop();
    assert!(submitted > 1000, "{submitted}");
    assert!(oversized >= 10, "only {oversized} oversized replies were sent");
    // Each oversized reply was refused and counted against agent-1 at agent-0 ...
    assert!(refused.is_some_and(|r| r >= oversized), "{refused:?} refused of {oversized} oversized replies");
    // ... after reading a bounded part of it.
    assert!(most_written < 32 << 20, "the agent read {} MB of a 200 MB reply", most_written >> 20);
    // Only workflows in flight at the kill, and those whose handoff got an oversized reply, may fail.
    assert!(failed <= 16 + oversized, "{failed} failed ({oversized} oversized replies)");
    assert!(p99 < Duration::from_secs(2), "p99 {p99:?}");
    assert!(peak_rss < 256 << 20, "peak RSS {} MB", peak_rss >> 20);
}
