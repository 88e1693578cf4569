//! Workflows through three in-process agents.

use std::time::Duration;

use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use baton_service::bench::LocalPipeline;
use baton_service::wire::SCALAR_EXT;
use baton_service::Checkpoint;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workflows_all_finish_and_every_handoff_updates_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 3, dir.path(), |_| {})
        .await
        .unwrap();
    let report = p.client(0, Duration::from_secs(30)).unwrap().run(300, 32).await;
    assert_eq!(report.submitted, 300, "{report:?}");
    assert_eq!(report.failed, 0);
    p.quiesce().await.unwrap();
    let st: Vec<_> = p.agents.iter().map(|a| a.status()).collect();
    let sent: u64 = st.iter().map(|s| s.handoffs_sent).sum();
    let received: u64 = st.iter().map(|s| s.handoffs_received).sum();
    let scalars: u64 = st.iter().map(|s| s.scalars_received).sum();
    let updates: u64 = st.iter().map(|s| s.updates).sum();
    let submitted: u64 = st.iter().map(|s| s.workflows_submitted).sum();
    // Every handoff was received once and answered with one scalar; every decision updated its agent once
    // (the handoffs with the receiver's scalar, the SUBMITs with v = 0).
    assert_eq!(sent, report.hops);
    assert_eq!(received, sent);
    assert_eq!(scalars, sent);
    assert_eq!(submitted, 300);
    assert_eq!(updates, sent + submitted);
    assert!(st.iter().all(|s| s.in_flight == 0 && s.rejected_requests == 0), "{st:?}");
    p.stop().await.unwrap();
    // The final checkpoints hold every update.
    let restored: u64 =
        (0..3).map(|i| Checkpoint::load(&dir.path().join(format!("agent-{i}"))).unwrap().unwrap().updates).sum();
    assert_eq!(restored, updates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_carries_one_finite_number_per_handoff_and_nothing_of_a_learner() {
    wire_carries_one_number_per_handoff(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mutual_tls_the_wire_carries_one_finite_number_per_handoff_and_nothing_of_a_learner() {
    wire_carries_one_number_per_handoff(true).await;
}

pub(crate) async fn wire_carries_one_number_per_handoff(tls: bool) {
    let dir = tempfile::tempdir().unwrap();
    let p =
        LocalPipeline::start_with(&SyntheticConfig::default(), &LearnerConfig::default(), 5, dir.path(), tls, |c| {
            c.wire_log = true;
        })
        .await
        .unwrap();
    assert_eq!(p.urls[0].starts_with("https://"), tls);
    let report = p.client(0, Duration::from_secs(30)).unwrap().run(40, 4).await;
    assert_eq!(report.failed, 0, "{report:?}");
    p.quiesce().await.unwrap();
    let sent: u64 = p.agents.iter().map(|a| a.status().handoffs_sent).sum();
    p.stop().await.unwrap();
    let mut replies = 0u64;
    for i in 0..3 {
        let log = std::fs::read_to_string(dir.path().join(format!("agent-{i}/wire.jsonl"))).unwrap();
        for line in log.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let text = entry["body"].to_string();
            // No learner, private state or trajectory field appears in any message, in either direction.
            for word in ["\"q\"", "visits", "private", "obs", "reward", "duration", "action", "table", "weights"] {
                assert!(!text.contains(word), "{word} on the wire: {text}");
            }
            if entry["dir"] == "in-reply" {
                let result = &entry["body"]["result"];
                if let Some(scalar) = result["metadata"].get(SCALAR_EXT) {
                    // A handoff's reply: no parts, one metadata entry, one field, one finite number.
                    assert_eq!(result["parts"].as_array().unwrap().len(), 0);
                    assert_eq!(result["metadata"].as_object().unwrap().len(), 1);
                    assert_eq!(scalar.as_object().unwrap().len(), 1);
                    assert!(scalar["v"].as_f64().unwrap().is_finite());
                    replies += 1;
                }
            }
        }
    }
    assert_eq!(replies, sent, "one scalar reply per handoff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (w, l) = (SyntheticConfig::default(), LearnerConfig::default());
    let p = LocalPipeline::start(&w, &l, 9, dir.path(), |_| {}).await.unwrap();
    let r = p.client(0, Duration::from_secs(30)).unwrap().run(50, 8).await;
    assert_eq!(r.failed, 0);
    p.quiesce().await.unwrap();
    let before: Vec<u64> = p.agents.iter().map(|a| a.status().updates).collect();
    p.stop().await.unwrap();
    let saved = Checkpoint::load(&dir.path().join("agent-1")).unwrap().unwrap();
    let p = LocalPipeline::start(&w, &l, 9, dir.path(), |_| {}).await.unwrap();
    let after: Vec<u64> = p.agents.iter().map(|a| a.status().restored_updates).collect();
    assert_eq!(after, before);
    p.agents[1].checkpoint().unwrap();
    assert_eq!(Checkpoint::load(&dir.path().join("agent-1")).unwrap().unwrap(), saved);
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_opens_at_most_max_calls_per_peer_connections_to_each_peer() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 6, dir.path(), |c| {
        c.limits.max_calls_per_peer = 2;
    })
    .await
    .unwrap();
    // agent-1 and agent-2 are called only by the two other agents: at most 2 x 2 connections each, however
    // many workflows wait for a turn. Their open connections are sampled throughout the run.
    let agents = p.agents.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let done = done.clone();
        async move {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = agents[1..].iter().map(|a| a.status().connections_open).fold(peak, u64::max);
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            peak
        }
    });
    let report = p.client(0, Duration::from_secs(60)).unwrap().run(600, 64).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    assert_eq!((report.submitted, report.failed), (600, 0), "{report:?}");
    assert!(peak <= 4, "{peak} connections open at one agent");
    assert!(peak >= 2, "the sampler saw no connections ({peak})");
    p.quiesce().await.unwrap();
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_left_idle_are_closed_by_the_caller_before_the_peer_times_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 7, dir.path(), |_| {})
        .await
        .unwrap();
    let report = p.client(0, Duration::from_secs(30)).unwrap().run(200, 16).await;
    assert_eq!((report.submitted, report.failed), (200, 0), "{report:?}");
    p.quiesce().await.unwrap();
    assert!(p.agents[1].status().connections_open > 0);
    // Callers reuse a connection for at most 5 s and close it when idle that long; the agents' header-read
    // timeout (10 s) would close it otherwise, and count it as timed out.
    tokio::time::sleep(Duration::from_secs(7)).await;
    for a in &p.agents[1..] {
        let st = a.status();
        assert_eq!((st.connections_open, st.connections_timed_out_or_failed), (0, 0), "{st:?}");
    }
    p.stop().await.unwrap();
}
