//! The live backend against a scripted OpenAI-compatible server on 127.0.0.1 (no network model needed).

use baton_llm::data::{parse_gsm8k, Dataset, DatasetKind, Recording};
use baton_llm::mock::completion;
use baton_llm::price::{PriceTable, GPT_4O, GPT_4O_MINI};
use baton_llm::{Backend, LiveBackend, LiveConfig, LlmError, Request};

fn serve(replies: Vec<(u16, String)>) -> (String, baton_llm::mock::Log) {
    baton_llm::mock::scripted(replies).expect("bind a local port")
}

fn tiny() -> Dataset {
    let text = r#"{"question": "Tom has 2 + 3 apples. How many?", "answer": "2 + 3 = <<2+3=5>>5\n#### 5"}
{"question": "What is 6 * 7?", "answer": "6 * 7 = <<6*7=42>>42\n#### 42"}"#;
    Dataset { kind: DatasetKind::Gsm8kTest, problems: parse_gsm8k(text, "tiny").expect("tiny data set parses") }
}

fn fast(url: &str) -> LiveConfig {
    LiveConfig { backoff_ms: 10, timeout_secs: 5.0, ..LiveConfig::new(url) }
}

#[test]
fn live_call_retries_server_errors_then_prices_the_usage() {
    let (url, seen) = serve(vec![
        (503, r#"{"error": "overloaded"}"#.to_string()),
        (429, r#"{"error": "slow down"}"#.to_string()),
        (200, completion("2 + 3 = 5\n#### 5", Some((1000, 200)))),
    ]);
    // A variable no other test reads or writes, so setting it cannot race with them.
    std::env::set_var("BATON_LLM_TEST_KEY_RETRY", "sk-test");
    let cfg = LiveConfig { api_key_env: Some("BATON_LLM_TEST_KEY_RETRY".to_string()), ..fast(&url) };
    let b = LiveBackend::new(cfg, tiny(), "Question: Q\nAnswer: A\n\n", PriceTable::default()).unwrap();
    let r = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap();
    assert_eq!(r.text, "2 + 3 = 5\n#### 5");
    assert_eq!((r.input_tokens, r.output_tokens), (1000, 200));
    assert!((r.cost_usd - (1000.0 * 0.15 + 200.0 * 0.60) / 1e6).abs() < 1e-15);
    assert_eq!(r.label, None);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let last = &seen[2];
    assert_eq!(last.path, "/v1/chat/completions");
    assert_eq!(last.authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(last.body["model"], GPT_4O_MINI);
    assert_eq!(last.body["temperature"], 0.0);
    assert_eq!(last.body["max_tokens"], 1024);
    assert_eq!(last.body["stop"], serde_json::json!(["Question"]));
    assert_eq!(last.body["messages"][0]["role"], "user");
    assert_eq!(
        last.body["messages"][0]["content"],
        "Question: Q\nAnswer: A\n\nQuestion: Tom has 2 + 3 apples. How many?\nAnswer:"
    );
}

#[test]
fn client_errors_fail_at_once_and_retries_run_out() {
    let (url, seen) = serve(vec![(400, r#"{"error": "bad model"}"#.to_string())]);
    let b = LiveBackend::new(fast(&url), tiny(), "", PriceTable::default()).unwrap();
    let e = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap_err();
    assert!(
        matches!(&e, LlmError::Http { message, .. } if message.contains("400") && message.contains("bad model")),
        "{e}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(seen.lock().unwrap()[0].authorization.is_none());

    let (url, seen) = serve(vec![(500, "{}".to_string()), (500, "{}".to_string())]);
    let cfg = LiveConfig { max_retries: 1, ..fast(&url) };
    let b = LiveBackend::new(cfg, tiny(), "", PriceTable::default()).unwrap();
    let e = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap_err();
    assert!(e.to_string().contains("after 2 attempts"), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn missing_key_and_bad_config_are_clear_errors() {
    let cfg = LiveConfig {
        api_key_env: Some("BATON_LLM_TEST_KEY_NEVER_SET".to_string()),
        ..LiveConfig::new("http://127.0.0.1:9/v1")
    };
    let e = LiveBackend::new(cfg, tiny(), "", PriceTable::default()).unwrap_err();
    assert_eq!(e, LlmError::MissingApiKey { var: "BATON_LLM_TEST_KEY_NEVER_SET".to_string() });
    assert_eq!(e.to_string(), "API key missing: set the environment variable BATON_LLM_TEST_KEY_NEVER_SET");
    let e = LiveBackend::new(LiveConfig::new("ftp://x"), tiny(), "", PriceTable::default()).unwrap_err();
    assert!(matches!(e, LlmError::InvalidConfig { ref field, .. } if field == "base_url"));
    assert!(toml::from_str::<LiveConfig>("base_url = \"http://x\"\nkey = 1\n").is_err());
    let c: LiveConfig = toml::from_str("base_url = \"http://x/v1\"\napi_key_env = \"OPENAI_API_KEY\"\n").unwrap();
    assert_eq!(c.max_retries, 3);
}

#[test]
fn record_mode_writes_the_replay_format_and_usage_falls_back_to_counting() {
    let (url, seen) = serve(vec![
        (200, completion("2 + 3 = 5\n#### 5", None)),
        (200, completion("6 * 7 = 43\n#### 43", None)),
        (200, completion("Looks right.\nVERDICT: CORRECT", None)),
    ]);
    let cfg = LiveConfig { record: true, ..fast(&url) };
    let b = LiveBackend::new(cfg, tiny(), "", PriceTable::default()).unwrap();
    let r0 = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap();
    assert_eq!(r0.output_tokens, baton_llm::tokens::count_cl100k("2 + 3 = 5\n#### 5"));
    b.complete(&Request::solve(GPT_4O_MINI, 1)).unwrap();
    let v = b.complete(&Request::verify(GPT_4O_MINI, 1, "6 * 7 = 43")).unwrap();
    assert_eq!(baton_llm::backend::parse_verdict(&v.text), Some(true));
    assert!(seen.lock().unwrap()[2].body.get("stop").is_none(), "critic requests have no stop sequence");
    let rec = b.recording();
    assert_eq!(rec.models, vec![GPT_4O_MINI.to_string()]);
    assert_eq!(rec.rows.len(), 2, "verify replies are not recorded");
    assert!(rec.rows[0].answers[0].correct && !rec.rows[1].answers[0].correct);
    let mut csv = Vec::new();
    rec.write_csv(&mut csv, "mem").unwrap();
    let back = Recording::from_reader(csv.as_slice(), "mem").unwrap();
    assert_eq!(back, rec);
    back.check_aligned(&tiny(), "mem", "tiny").unwrap();
}

#[test]
fn oversized_replies_fail_without_being_read_whole() {
    let big = completion(&"x".repeat(5000), None);
    let (url, seen) = serve(vec![(200, big.clone()), (200, big)]);
    let cfg = LiveConfig { max_reply_bytes: 2048, ..fast(&url) };
    let b = LiveBackend::new(cfg, tiny(), "", PriceTable::default()).unwrap();
    let e = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap_err();
    assert!(e.to_string().contains("max_reply_bytes = 2048"), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 1, "an oversized reply is not retried");
    assert_eq!(b.stats().new_responses, 0);
}

#[test]
fn rate_limits_wait_for_retry_after() {
    let mut n = 0;
    let (url, seen) = baton_llm::mock::serve_with_headers(Some(2), move |_| {
        n += 1;
        if n == 1 {
            (429, r#"{"error": "slow down"}"#.to_string(), vec![("Retry-After".to_string(), "1".to_string())])
        } else {
            (200, completion("#### 5", Some((10, 2))), vec![])
        }
    })
    .unwrap();
    let b = LiveBackend::new(fast(&url), tiny(), "", PriceTable::default()).unwrap();
    let t = std::time::Instant::now();
    let r = b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap();
    assert!(t.elapsed() >= std::time::Duration::from_millis(950), "Retry-After ignored: {:?}", t.elapsed());
    assert_eq!(r.text, "#### 5");
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(b.stats().http_requests, 2);
}

#[derive(Clone, Debug, Default)]
struct MemRecorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
impl baton_llm::Recorder for MemRecorder {
    fn append(&self, line: &str) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(line.to_string());
        Ok(())
    }
}

#[test]
fn the_cap_stops_new_requests_and_the_journal_replays_for_free() {
    // 1000 + 1000 tokens of gpt-4o-mini: 0.00075 USD per reply.
    let (url, seen) =
        baton_llm::mock::serve(None, |_| (200, completion("2 + 3 = 5\n#### 5", Some((1000, 1000))))).unwrap();
    let rec = MemRecorder::default();
    let cfg = LiveConfig { spend_cap_usd: Some(0.001), max_concurrency: 1, ..fast(&url) };
    let b = LiveBackend::new(cfg.clone(), tiny(), "", PriceTable::default())
        .unwrap()
        .with_journal(vec![], Some(Box::new(rec.clone())));
    b.complete(&Request::solve(GPT_4O_MINI, 0)).unwrap();
    b.complete(&Request::solve(GPT_4O_MINI, 1)).unwrap();
    let e = b.complete(&Request::verify(GPT_4O_MINI, 1, "6 * 7 = 42")).unwrap_err();
    assert!(matches!(e, LlmError::SpendCap { .. }), "{e}");
    assert!(e.to_string().contains("spend cap reached: 0.0015 USD spent of the 0.001 USD cap"), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 2, "no request after the cap");
    let lines = rec.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 2);
    let journal = baton_llm::live::parse_journal(&(lines.join("\n") + "\n"), "mem").unwrap();

    // Replaying: the same calls send nothing; the cap (already reached by the journal) refuses new work.
    let b = LiveBackend::new(cfg, tiny(), "", PriceTable::default()).unwrap().with_journal(journal.entries, None);
    let r = b.complete(&Request::solve(GPT_4O_MINI, 1)).unwrap();
    assert_eq!((r.text.as_str(), r.input_tokens, r.output_tokens), ("2 + 3 = 5\n#### 5", 1000, 1000));
    assert!(matches!(b.complete(&Request::solve(GPT_4O, 1)), Err(LlmError::SpendCap { .. })));
    assert_eq!(seen.lock().unwrap().len(), 2, "a replay sends no request");
    assert_eq!(b.stats().replayed, 1);
}
