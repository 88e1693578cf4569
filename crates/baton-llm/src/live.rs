//! The live backend: OpenAI-compatible chat completions (`POST {base_url}/chat/completions`), as served by
//! hosted APIs, vLLM, llama.cpp's server and Ollama.
//!
//! - One user message per request: the solver prompt of [`crate::tokens`] or the critic prompt
//!   ([`crate::tokens::verify_prompt`]); `temperature`, `max_tokens` and `stop` from [`LiveConfig`].
//! - The API key is read from the environment variable the configuration names, when the backend is built; a
//!   missing or empty variable is [`LlmError::MissingApiKey`]. Local servers need no key (`api_key_env` unset).
//! - Timeouts per request; transport errors, HTTP 429 and 5xx are retried: after the server's `Retry-After`
//!   (seconds) when it sends one, else with exponential backoff (`backoff_ms`, doubled each time, no jitter),
//!   every wait at most `max_retry_wait_secs`. Other statuses fail at once with the body's start.
//! - Every reply is read in chunks up to `max_reply_bytes`; a longer one (or a longer `Content-Length`) fails
//!   the request without being read further and is not retried.
//! - At most `max_concurrency` requests are in flight at once (further callers wait).
//! - Tokens and cost come from the reply's `usage` (`prompt_tokens`, `completion_tokens`); without `usage`
//!   they are counted as in [`crate::tokens`].
//! - Spend cap: with `spend_cap_usd`, no new request starts once the USD spent (the journal's recorded
//!   responses included, see below) reaches the cap; the call fails with [`LlmError::SpendCap`]. Requests
//!   already in flight finish and are recorded, so the spend can exceed the cap by at most
//!   `max_concurrency - 1` replies.
//! - Journal (record and replay): [`LiveBackend::with_journal`] gives the backend earlier responses
//!   ([`JournalEntry`], one JSON object per line, parsed by [`parse_journal`]) and a [`Recorder`]. A request
//!   whose (model, prompt) is in the journal is answered from it with no HTTP request; every new response is
//!   handed to the recorder (which appends and fsyncs it) before the call returns. The library writes no file
//!   itself: the runner owns the journal file.
//! - [`LiveBackend::recording`] returns the solver replies of this run (`record = true`) as a [`Recording`]
//!   in RouteLLM's CSV replay format (labels by the recording's last-integer rule).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Request, Response, Task};
use crate::data::{Dataset, RecordedAnswer, RecordedRow, Recording};
use crate::error::LlmError;
use crate::grade;
use crate::price::PriceTable;
use crate::simulated::question_text;
use crate::tokens::{self, count_cl100k, CHAT_OVERHEAD_TOKENS};

pub use crate::session::{
    parse_journal, prompt_hash, Journal, JournalEntry, LiveConfig, LiveSession, LiveStats, Recorder, MAX_CONCURRENCY,
    MAX_RETRIES, MAX_SPEND_CAP_USD, MAX_TIMEOUT_SECS, REPLY_BYTES_RANGE,
};

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 1],
    max_tokens: u32,
    temperature: f64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatReply {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// A counting semaphore: at most `max_concurrency` requests in flight.
#[derive(Debug)]
struct Permits {
    free: Mutex<u32>,
    freed: Condvar,
}

struct Permit<'a>(&'a Permits);

impl Permits {
    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// Money and counters, under one lock.
#[derive(Debug, Default)]
struct Ledger {
    spent_usd: f64,
    new_spent_usd: f64,
    new_responses: u64,
    replayed: u64,
}

/// OpenAI-compatible chat completions as a [`Backend`]. See the module doc.
#[derive(Debug)]
pub struct LiveBackend {
    cfg: LiveConfig,
    url: String,
    key: Option<String>,
    client: reqwest::blocking::Client,
    problems: Dataset,
    prefix: String,
    prices: PriceTable,
    recorded: Mutex<BTreeMap<usize, BTreeMap<String, String>>>,
    journal: HashMap<(String, String), JournalEntry>,
    recorder: Option<Box<dyn Recorder>>,
    permits: Permits,
    ledger: Mutex<Ledger>,
    http_requests: AtomicU64,
}

impl LiveBackend {
    /// A live backend answering questions of `problems` with solver prompts `prompt_prefix` +
    /// `"Question: {question}\nAnswer:"`, priced by `prices`. Reads the API key now.
    pub fn new(cfg: LiveConfig, problems: Dataset, prompt_prefix: &str, prices: PriceTable) -> Result<Self, LlmError> {
        cfg.validate()?;
        prices.validate()?;
        let key = match &cfg.api_key_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(k) if !k.trim().is_empty() => Some(k),
                _ => return Err(LlmError::MissingApiKey { var: var.clone() }),
            },
        };
        let url = format!("{}/chat/completions", cfg.base_url.trim_end_matches('/'));
        let client = reqwest::blocking::Client::builder()
            .timeout(
                Duration::try_from_secs_f64(cfg.timeout_secs).unwrap_or(Duration::from_secs(MAX_TIMEOUT_SECS as u64)),
            )
            .build()
            .map_err(|e| LlmError::Http { url: url.clone(), message: format!("cannot build the HTTP client: {e}") })?;
        let permits = Permits { free: Mutex::new(cfg.max_concurrency.max(1)), freed: Condvar::new() };
        Ok(LiveBackend {
            cfg,
            url,
            key,
            client,
            problems,
            prefix: prompt_prefix.to_string(),
            prices,
            recorded: Mutex::new(BTreeMap::new()),
            journal: HashMap::new(),
            recorder: None,
            permits,
            ledger: Mutex::new(Ledger::default()),
            http_requests: AtomicU64::new(0),
        })
    }

    /// Replays `journal`'s responses (their cost counts towards the spend cap) and hands every new response
    /// to `recorder` (when `record` is on).
    pub fn with_journal(mut self, journal: Vec<JournalEntry>, recorder: Option<Box<dyn Recorder>>) -> Self {
        let mut spent = 0.0;
        for e in journal {
            spent += e.cost_usd;
            self.journal.insert((e.model.clone(), e.prompt_hash.clone()), e);
        }
        self.ledger.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).spent_usd = spent;
        self.recorder = recorder;
        self
    }

    /// Counters and spend so far.
    pub fn stats(&self) -> LiveStats {
        let l = self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        LiveStats {
            http_requests: self.http_requests.load(Ordering::Relaxed),
            new_responses: l.new_responses,
            replayed: l.replayed,
            spent_usd: l.spent_usd,
            new_spent_usd: l.new_spent_usd,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &LiveConfig {
        &self.cfg
    }

    /// The solver replies kept in record mode, as a [`Recording`] in the replay format: one row per question
    /// answered by every recorded model, in question order, labelled by the recording's last-integer rule.
    /// (A recording that [`crate::replay::ReplayBackend`] can replay needs every question of the data set.)
    pub fn recording(&self) -> Recording {
        let rec = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut models: Vec<String> = rec.values().flat_map(|m| m.keys().cloned()).collect();
        models.sort();
        models.dedup();
        let rows = rec
            .iter()
            .filter(|(_, by_model)| models.iter().all(|m| by_model.contains_key(m)))
            .filter_map(|(&q, by_model)| {
                let p = self.problems.problems.get(q)?;
                let answers = models
                    .iter()
                    .map(|m| {
                        let text = by_model.get(m).cloned().unwrap_or_default();
                        let correct = grade::is_correct_routellm(&text, &p.reference);
                        RecordedAnswer { text, correct }
                    })
                    .collect();
                Some(RecordedRow { prompt: p.question.clone(), answers })
            })
            .collect();
        Recording { models, rows }
    }

    fn check_cap(&self) -> Result<(), LlmError> {
        if let Some(cap) = self.cfg.spend_cap_usd {
            let spent = self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).spent_usd;
            if spent >= cap {
                return Err(LlmError::SpendCap { cap_usd: cap, spent_usd: spent });
            }
        }
        Ok(())
    }

    fn post(&self, body: &ChatRequest<'_>) -> Result<ChatReply, LlmError> {
        let http = |message: String| LlmError::Http { url: self.url.clone(), message };
        let max_wait = Duration::try_from_secs_f64(self.cfg.max_retry_wait_secs).unwrap_or(Duration::from_secs(60));
        let mut backoff = Duration::from_millis(self.cfg.backoff_ms);
        let mut attempt = 0;
        loop {
            let mut req = self.client.post(&self.url).json(body);
            if let Some(k) = &self.key {
                req = req.bearer_auth(k);
            }
            self.http_requests.fetch_add(1, Ordering::Relaxed);
            let mut retry_after = None;
            let outcome = match req.send() {
                Ok(resp) => {
                    let status = resp.status();
                    retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .and_then(|s| Duration::try_from_secs_f64(s).ok());
                    let bytes = read_capped(resp, self.cfg.max_reply_bytes).map_err(http)?;
                    let text = String::from_utf8_lossy(&bytes);
                    if status.is_success() {
                        return serde_json::from_slice(&bytes)
                            .map_err(|e| http(format!("not a chat completion: {e}: {}", excerpt(&text))));
                    }
                    let message = format!("HTTP {status}: {}", excerpt(&text));
                    if status.as_u16() == 429 || status.is_server_error() {
                        message
                    } else {
                        return Err(http(message));
                    }
                }
                Err(e) => format!("transport error: {e}"),
            };
            if attempt >= self.cfg.max_retries {
                return Err(http(format!("{outcome} (after {} attempts)", attempt + 1)));
            }
            let wait = retry_after.unwrap_or(backoff).min(max_wait);
            tracing::warn!(url = %self.url, attempt, error = %outcome, "retrying after {:?}", wait);
            std::thread::sleep(wait);
            backoff = backoff.saturating_mul(2).min(max_wait);
            attempt += 1;
        }
    }
}

/// Reads a reply body of at most `max` bytes, in chunks; a longer one (or a longer `Content-Length`) is an
/// error and is not read further.
fn read_capped(resp: reqwest::blocking::Response, max: u64) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length().filter(|&l| l > max) {
        return Err(format!("the reply is {len} bytes, more than max_reply_bytes = {max}"));
    }
    let mut buf = Vec::new();
    resp.take(max + 1).read_to_end(&mut buf).map_err(|e| format!("cannot read the reply: {e}"))?;
    if buf.len() as u64 > max {
        return Err(format!("the reply is longer than max_reply_bytes = {max}"));
    }
    Ok(buf)
}

fn excerpt(s: &str) -> String {
    let t: String = s.chars().take(300).collect();
    if t.len() < s.len() {
        format!("{t}...")
    } else {
        t
    }
}

impl LiveSession for LiveBackend {
    fn stats(&self) -> LiveStats {
        LiveBackend::stats(self)
    }
}

impl Backend for LiveBackend {
    fn name(&self) -> &str {
        "live"
    }

    fn complete(&self, req: &Request) -> Result<Response, LlmError> {
        let price = self.prices.get(&req.model)?;
        let p = self.problems.get(req.question)?;
        let (content, stop, task): (String, &[String], &str) = match &req.task {
            Task::Solve => (tokens::solve_prompt(&self.prefix, &question_text(p)), &self.cfg.stop, "solve"),
            Task::Verify { candidate } => (tokens::verify_prompt(&question_text(p), candidate), &[], "verify"),
        };
        let hash = prompt_hash(&content);
        if let Some(e) = self.journal.get(&(req.model.clone(), hash.clone())) {
            self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).replayed += 1;
            if self.cfg.record && task == "solve" {
                let mut rec = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                rec.entry(req.question).or_default().insert(req.model.clone(), e.text.clone());
            }
            return Ok(Response {
                text: e.text.clone(),
                input_tokens: e.input_tokens,
                output_tokens: e.output_tokens,
                cost_usd: price.cost(e.input_tokens, e.output_tokens),
                label: None,
            });
        }
        self.check_cap()?;
        let _permit = self.permits.acquire();
        // Checked again: the spend may have reached the cap while this call waited for a permit.
        self.check_cap()?;
        let body = ChatRequest {
            model: &req.model,
            messages: [Message { role: "user", content: &content }],
            max_tokens: self.cfg.max_tokens,
            temperature: self.cfg.temperature,
            stop,
        };
        let reply = self.post(&body)?;
        let text = reply.choices.into_iter().next().and_then(|c| c.message.content).ok_or_else(|| LlmError::Http {
            url: self.url.clone(),
            message: "the reply has no choices[0].message.content".to_string(),
        })?;
        let (input_tokens, output_tokens) = match reply.usage {
            Some(u) => (u.prompt_tokens, u.completion_tokens),
            None => (
                price.billed_tokens(count_cl100k(&content) + CHAT_OVERHEAD_TOKENS),
                price.billed_tokens(count_cl100k(&text)),
            ),
        };
        let cost_usd = price.cost(input_tokens, output_tokens);
        {
            // One lock around the append and the ledger: the journal's lines and the spend agree.
            let mut ledger = self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if self.cfg.record {
                if let Some(r) = &self.recorder {
                    let entry = JournalEntry {
                        model: req.model.clone(),
                        question: req.question,
                        task: task.to_string(),
                        prompt_hash: hash,
                        text: text.clone(),
                        input_tokens,
                        output_tokens,
                        cost_usd,
                    };
                    let line = serde_json::to_string(&entry).map_err(|e| LlmError::Journal(e.to_string()))?;
                    r.append(&line).map_err(LlmError::Journal)?;
                }
            }
            ledger.spent_usd += cost_usd;
            ledger.new_spent_usd += cost_usd;
            ledger.new_responses += 1;
        }
        if self.cfg.record && task == "solve" {
            let mut rec = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            rec.entry(req.question).or_default().insert(req.model.clone(), text.clone());
        }
        Ok(Response { text, input_tokens, output_tokens, cost_usd, label: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_or_bad_timeouts_are_refused_before_any_conversion() {
        for t in [1e20, f64::INFINITY, f64::NAN, 0.0, -1.0, MAX_TIMEOUT_SECS + 1.0] {
            let cfg = LiveConfig { timeout_secs: t, ..LiveConfig::new("http://127.0.0.1:1") };
            let e = cfg.validate().expect_err("out-of-range timeout accepted");
            assert!(e.to_string().contains("timeout_secs"), "{e}");
            let cfg = LiveConfig { max_retry_wait_secs: t, ..LiveConfig::new("http://127.0.0.1:1") };
            assert!(cfg.validate().expect_err("bad wait accepted").to_string().contains("max_retry_wait_secs"));
        }
        assert!(LiveConfig { timeout_secs: MAX_TIMEOUT_SECS, ..LiveConfig::new("http://127.0.0.1:1") }
            .validate()
            .is_ok());
    }

    #[test]
    fn every_bounded_field_names_itself() {
        let base = || LiveConfig::new("http://127.0.0.1:1");
        let cases: Vec<(LiveConfig, &str)> = vec![
            (LiveConfig { max_retries: 21, ..base() }, "max_retries"),
            (LiveConfig { backoff_ms: 0, ..base() }, "backoff_ms"),
            (LiveConfig { max_tokens: 0, ..base() }, "max_tokens"),
            (LiveConfig { max_concurrency: 0, ..base() }, "max_concurrency"),
            (LiveConfig { max_concurrency: 257, ..base() }, "max_concurrency"),
            (LiveConfig { max_reply_bytes: 10, ..base() }, "max_reply_bytes"),
            (LiveConfig { spend_cap_usd: Some(0.0), ..base() }, "spend_cap_usd"),
            (LiveConfig { spend_cap_usd: Some(f64::NAN), ..base() }, "spend_cap_usd"),
            (LiveConfig { spend_cap_usd: Some(1e7), ..base() }, "spend_cap_usd"),
            (LiveConfig { record_file: Some(" ".into()), ..base() }, "record_file"),
        ];
        for (cfg, field) in cases {
            let e = cfg.validate().expect_err(field);
            assert!(matches!(&e, LlmError::InvalidConfig { field: f, .. } if f == field), "{field}: {e}");
        }
        assert!(base().validate().is_ok() && base().record);
    }

    #[test]
    fn journals_keep_complete_lines_and_name_bad_ones() {
        let e = JournalEntry {
            model: "m".into(),
            question: 3,
            task: "solve".into(),
            prompt_hash: prompt_hash("p"),
            text: "#### 4".into(),
            input_tokens: 10,
            output_tokens: 2,
            cost_usd: 0.5,
        };
        let line = serde_json::to_string(&e).unwrap();
        let text = format!("{line}\n{line}\n{{\"model\": \"m\", \"quest");
        let j = parse_journal(&text, "j.jsonl").unwrap();
        assert_eq!(j.entries, vec![e.clone(), e.clone()]);
        assert_eq!(j.complete_bytes, 2 * (line.len() + 1));
        let err = parse_journal(&format!("{line}\nnot json\n"), "j.jsonl").unwrap_err();
        assert!(err.to_string().starts_with("j.jsonl:2: not a journal entry"), "{err}");
        let neg = line.replace("0.5", "-1.0");
        assert!(parse_journal(&format!("{neg}\n"), "j").unwrap_err().to_string().contains("cost_usd"));
        assert_ne!(prompt_hash("a"), prompt_hash("b"));
        assert_eq!(prompt_hash(""), "cbf29ce484222325");
    }
}
