//! Agents over mutual TLS: HTTPS with each agent's certificate, callers known by their client certificates
//! (no tokens), and callers without a valid certificate refused in the handshake.

use std::time::Duration;

use baton_envs::SyntheticConfig;
use baton_learn::LearnerConfig;
use baton_service::bench::{client_tls, LocalPipeline, CLIENT_ID};
use baton_service::tls::{client_config, load_certs, load_key, make_demo_certs};
use baton_service::wire::{self, Artifact, Envelope};
use baton_service::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_run_over_mutual_tls_with_every_identity_from_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        LocalPipeline::start_with(&SyntheticConfig::default(), &LearnerConfig::default(), 3, dir.path(), true, |_| {})
            .await
            .unwrap();
    let report = p.client(0, Duration::from_secs(30)).unwrap().run(200, 16).await;
    assert_eq!((report.submitted, report.failed), (200, 0), "{report:?}");
    p.quiesce().await.unwrap();
    let st: Vec<_> = p.agents.iter().map(|a| a.status()).collect();
    let sent: u64 = st.iter().map(|s| s.handoffs_sent).sum();
    assert_eq!(sent, report.hops);
    assert_eq!(st.iter().map(|s| s.scalars_received).sum::<u64>(), sent);
    assert!(st.iter().all(|s| s.rejected_requests == 0), "{st:?}");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_valid_certificate_fails_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        LocalPipeline::start_with(&SyntheticConfig::default(), &LearnerConfig::default(), 3, dir.path(), true, |_| {})
            .await
            .unwrap();
    let certs = p.certs.clone().unwrap();
    let ca = load_certs(&certs.ca).unwrap();
    let url = &p.urls[0];
    let t = Duration::from_secs(5);

    // The CA but no client certificate.
    let no_cert = Client::with_tls(url, None, CLIENT_ID, t, Some(client_config(&ca, None).unwrap())).unwrap();
    let e = no_cert.status().await.unwrap_err().to_string();
    assert!(e.contains("error sending request"), "{e}");
    // A client certificate for the right name, signed by another CA.
    let other = make_demo_certs(&dir.path().join("other"), &[CLIENT_ID.to_string()]).unwrap();
    let (_, c, k) = &other.holders[0];
    let forged = client_config(&ca, Some((&load_certs(c).unwrap(), &load_key(k).unwrap()))).unwrap();
    let e = Client::with_tls(url, None, CLIENT_ID, t, Some(forged)).unwrap().status().await.unwrap_err();
    assert!(e.to_string().contains("error sending request"), "{e}");
    // Plain HTTP to the HTTPS port.
    let plain = Client::with_tls(&url.replace("https://", "http://"), None, CLIENT_ID, t, None).unwrap();
    assert!(plain.status().await.is_err());
    // Every refused client failed in the handshake: nothing reached the routes.
    let st = p.agents[0].status();
    assert_eq!(st.rejected_requests, 0, "{st:?}");
    assert!(st.connections_timed_out_or_failed >= 3, "{st:?}");
    // The client's own certificate works, with no token.
    let ok = Client::with_tls(url, None, CLIENT_ID, t, Some(client_tls(&certs).unwrap())).unwrap();
    assert_eq!(ok.status().await.unwrap().id, "agent-0");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_certificate_cannot_claim_another_peers_identity() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        LocalPipeline::start_with(&SyntheticConfig::default(), &LearnerConfig::default(), 3, dir.path(), true, |_| {})
            .await
            .unwrap();
    let certs = p.certs.clone().unwrap();
    let ca = load_certs(&certs.ca).unwrap();
    let (_, c, k) = certs.holders.iter().find(|(id, _, _)| id == "agent-2").unwrap();
    let as_agent_2 = client_config(&ca, Some((&load_certs(c).unwrap(), &load_key(k).unwrap()))).unwrap();
    let http = reqwest::Client::builder().use_preconfigured_tls(as_agent_2).build().unwrap();
    let handoff = |from: &str| {
        let env = Envelope::Handoff { from: from.into(), workflow: "w".into(), origin: "agent-0".into(), hop: 1 };
        wire::request("1", "m-claim", &env, Some(&Artifact { levels: vec![0, 0, 0] }))
    };
    // agent-2's certificate, a message claiming to come from agent-0: 403.
    let resp = http.post(format!("{}/", p.urls[1])).json(&handoff("agent-0")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // As itself, it is served.
    let resp = http.post(format!("{}/", p.urls[1])).json(&handoff("agent-2")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    p.quiesce().await.unwrap();
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_another_agents_certificate_at_its_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().join("certs");
    // agent-1 serves (and calls) with agent-2's certificate: signed by the same CA and valid for 127.0.0.1,
    // agent-1's address, but naming agent-2, not agent-1.
    let p =
        LocalPipeline::start_with(&SyntheticConfig::default(), &LearnerConfig::default(), 4, dir.path(), true, |c| {
            c.limits.call_timeout_secs = 20.0;
            c.limits.workflow_timeout_secs = 3.0;
            if c.id == "agent-1" {
                let tls = c.tls.as_mut().unwrap();
                tls.cert = certs_dir.join("agent-2.pem");
                tls.key = certs_dir.join("agent-2.key");
            }
        })
        .await
        .unwrap();
    let client = p.client(0, Duration::from_secs(60)).unwrap();
    // Start workflows until agent-0 hands one to agent-1 (it may submit or hand to agent-2 instead).
    let mut refused = None;
    for k in 0..200 {
        let t0 = std::time::Instant::now();
        let o = client.start(k).await.unwrap();
        let reason = o.reason.unwrap_or_default();
        // Nothing reached the impostor's routes: the handshake failed before any request was sent.
        assert_eq!(p.agents[1].status().handoffs_received, 0, "the impostor took a handoff; workflow: {reason}");
        if reason.contains("call to agent-1 failed") && o.hops == 0 {
            refused = Some((reason, t0.elapsed()));
            break;
        }
    }
    let (reason, took) = refused.expect("agent-0 never handed a workflow to agent-1");
    assert!(
        reason.contains("server's certificate was refused") && reason.contains("not valid for name \"agent-1\""),
        "{reason}"
    );
    // Refused in the handshake, not retried until limits.call_timeout_secs.
    assert!(took < Duration::from_secs(10), "took {took:?}: {reason}");
    p.quiesce().await.unwrap();
    let st0 = p.agents[0].status();
    assert!(st0.peers["agent-1"].certificates_refused >= 1, "{st0:?}");
    assert_eq!(st0.peers["agent-1"].scalars_refused, 0, "{st0:?}");
    assert_eq!(st0.peers["agent-2"].certificates_refused, 0, "{st0:?}");
    assert_eq!(p.agents[1].status().handoffs_received, 0);
    p.stop().await.unwrap();
}
