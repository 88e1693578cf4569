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
