//! Bad requests: each is answered with the right HTTP status and a JSON-RPC error that says what is wrong,
//! and none changes the agent's learner.

use std::time::Duration;

use axum::routing::post;
use axum::Router;
use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use baton_service::bench::{client_token, pair_token, LocalPipeline};
use baton_service::wire::{self, Artifact, Envelope, WorkflowStatus, SCALAR_EXT};
use serde_json::{json, Value};

async fn post_raw(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{url}/")).header("content-type", "application/json").body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn handoff(from: &str, levels: Vec<u32>) -> Vec<u8> {
    let env = Envelope::Handoff { from: from.into(), workflow: "w".into(), origin: "agent-0".into(), hop: 1 };
    serde_json::to_vec(&wire::request("1", "m1", &env, Some(&Artifact { levels }))).unwrap()
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 1, dir.path(), |_| {})
        .await
        .unwrap();
    let url = &p.urls[1];
    let tok = pair_token(0, 1);

    // No token, a wrong token: 401.
    let (code, v) = post_raw(url, None, handoff("agent-0", vec![0, 0, 0])).await;
    assert_eq!(code, 401);
    assert!(message(&v).contains("Authorization"), "{v}");
    let (code, v) = post_raw(url, Some("not-a-token-of-anyone"), handoff("agent-0", vec![0, 0, 0])).await;
    assert_eq!(code, 401);
    assert!(message(&v).contains("belongs to no peer"), "{v}");

    // An oversized artifact: 413, before it is parsed.
    let (code, v) = post_raw(url, Some(&tok), handoff("agent-0", vec![1; 100_000])).await;
    assert_eq!(code, 413);
    assert!(message(&v).contains("too large"), "{v}");

    // Malformed JSON-RPC: 400 with the reason.
    let (code, v) = post_raw(url, Some(&tok), b"{\"jsonrpc\": \"2.0\", ".to_vec()).await;
    assert_eq!(code, 400);
    assert!(message(&v).contains("not JSON"), "{v}");
    let (code, v) = post_raw(url, Some(&tok), br#"{"jsonrpc":"2.0","id":1,"method":"tasks/cancel"}"#.to_vec()).await;
    assert_eq!(code, 404);
    assert!(message(&v).contains("tasks/cancel"), "{v}");

    // An out-of-range artifact: 400 naming the component.
    let (code, v) = post_raw(url, Some(&tok), handoff("agent-0", vec![0, 7, 0])).await;
    assert_eq!(code, 400);
    assert!(message(&v).contains("component 1 has level 7"), "{v}");

    // An unknown agent, and a sender claiming another's identity: 403.
    let (code, v) = post_raw(url, Some(&tok), handoff("agent-9", vec![0, 0, 0])).await;
    assert_eq!(code, 403);
    assert!(message(&v).contains("agent-9"), "{v}");
    // The client may start workflows at the entry agent, but may not hand work to an agent.
    let (code, v) = post_raw(url, Some(&client_token(1)), handoff("client", vec![0, 0, 0])).await;
    assert_eq!(code, 403);
    assert!(message(&v).contains("client"), "{v}");

    let st = p.agents[1].status();
    assert_eq!((st.handoffs_received, st.updates, st.rejected_requests), (0, 0, 8));
    // A well-formed handoff is still served: one number back.
    let (code, v) = post_raw(url, Some(&tok), handoff("agent-0", vec![0, 0, 0])).await;
    assert_eq!(code, 200);
    assert_eq!(v["result"]["metadata"][SCALAR_EXT]["v"].as_f64(), Some(0.0));
    p.stop().await.unwrap();
}

/// A peer that answers every handoff with a scalar that is not a finite number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_finite_scalar_fails_the_workflow_and_updates_nothing() {
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake_addr = fake.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        post(|| async {
            axum::Json(json!({"jsonrpc": "2.0", "id": "1", "result": {"kind": "message", "role": "agent",
                "messageId": "x", "parts": [], "metadata": {SCALAR_EXT: {"v": "NaN"}}}}))
        }),
    );
    tokio::spawn(async move { axum::serve(fake, app).await });
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 2, dir.path(), |c| {
        for peer in &mut c.peers {
            if peer.role.is_some() {
                peer.url = Some(format!("http://{fake_addr}"));
            }
        }
    })
    .await
    .unwrap();
    let client = p.client(0, Duration::from_secs(30)).unwrap();
    let mut failed = 0;
    let mut submitted = 0;
    for n in 0..30 {
        let o = client.start(n).await.unwrap();
        match o.status {
            WorkflowStatus::Failed => {
                failed += 1;
                let reason = o.reason.unwrap_or_default();
                assert!(reason.contains("scalar `v` is not a number"), "{reason}");
            }
            WorkflowStatus::Submitted => submitted += 1,
        }
    }
    assert!(failed > 0 && submitted > 0, "uniform behaviour both hands off and submits: {failed} {submitted}");
    p.quiesce().await.unwrap();
    let st = p.agents[0].status();
    // Only the immediate SUBMITs updated the table; the rejected scalars did not.
    assert_eq!(st.updates, submitted);
    assert_eq!(st.scalars_received, 0);
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_at_its_in_flight_limit_answers_busy_and_callers_retry() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalPipeline::start(&SyntheticConfig::default(), &LearnerConfig::default(), 4, dir.path(), |c| {
        if c.role == Some(0) {
            // One workflow waited for, plus its handoffs at agent-0 (a hold still waiting for its scalar can
            // overlap the workflow's next visit).
            c.limits.max_in_flight = 4;
            c.limits.call_timeout_secs = 1.0;
        }
    })
    .await
    .unwrap();
    let client = p.client(0, Duration::from_secs(30)).unwrap();
    let r = client.run(40, 8).await;
    assert_eq!(r.submitted + r.failed, 40);
    // 8 clients at a limit of 4 are turned away with 503 and retry; a handoff to agent-0 turned away
    // retries too, until its deadline.
    assert!(p.agents[0].status().rejected_requests > 0, "{:?}", p.agents[0].status());
    assert!(r.submitted > 0, "{r:?}");
    assert!(r.failures.iter().all(|f| f.contains("busy") || f.contains("503")), "{:?}", r.failures);
    p.quiesce().await.unwrap();
    // One at a time, everything goes through.
    let r = client.run(20, 1).await;
    assert_eq!((r.submitted, r.failed), (20, 0), "{r:?}");
    p.stop().await.unwrap();
}
