//! The live backend: OpenAI-compatible chat completions (`POST {base_url}/chat/completions`), as served by
//! hosted APIs, vLLM, llama.cpp's server and Ollama.
//!
//! - One user message per request: the solver prompt of [`crate::tokens`] or the critic prompt
//!   ([`crate::tokens::verify_prompt`]); `temperature`, `max_tokens` and `stop` from [`LiveConfig`].
//! - The API key is read from the environment variable the configuration names, when the backend is built; a
//!   missing or empty variable is [`LlmError::MissingApiKey`]. Local servers need no key (`api_key_env` unset).
//! - Timeouts per request; transport errors, HTTP 429 and 5xx are retried with exponential backoff
//!   (`backoff_ms`, doubled each time, no jitter), other statuses fail at once with the body's start.
//! - Tokens and cost come from the reply's `usage` (`prompt_tokens`, `completion_tokens`); without `usage`
//!   they are counted as in [`crate::tokens`].
//! - Record mode keeps every solver reply in memory; [`LiveBackend::recording`] returns it as a
//!   [`Recording`] (labels by the recording's last-integer rule), which [`Recording::write_csv`] writes in the
//!   replay format. The library writes no file itself.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Request, Response, Task};
use crate::data::{Dataset, RecordedAnswer, RecordedRow, Recording};
use crate::error::LlmError;
use crate::grade;
use crate::price::PriceTable;
use crate::simulated::question_text;

/// The longest per-request timeout accepted, in seconds (one hour).
pub const MAX_TIMEOUT_SECS: f64 = 3600.0;
use crate::tokens::{self, count_cl100k, CHAT_OVERHEAD_TOKENS};

/// Configuration of the live backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// Base URL up to and including the API version, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8000/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Name of the environment variable holding the API key (sent as `Authorization: Bearer`); unset for
    /// servers without authentication.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Per-request timeout in seconds, in `(0, 3600]` (default 120).
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Retries after the first attempt for transport errors, 429 and 5xx (default 3).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Wait before the first retry in milliseconds, doubled for each further retry (default 500).
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// `max_tokens` of each request (default 1024, as in the recording).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature (default 0, as in the recording).
    #[serde(default)]
    pub temperature: f64,
    /// Stop sequences of solver requests (default `["Question"]`, as in the recording).
    #[serde(default = "default_stop")]
    pub stop: Vec<String>,
    /// Keep solver replies for [`LiveBackend::recording`] (default false).
    #[serde(default)]
    pub record: bool,
}

fn default_timeout() -> f64 {
    120.0
}
fn default_retries() -> u32 {
    3
}
fn default_backoff() -> u64 {
    500
}
fn default_max_tokens() -> u32 {
    1024
}
fn default_stop() -> Vec<String> {
    vec!["Question".to_string()]
}

impl LiveConfig {
    /// A configuration for `base_url` with every other field at its default.
    pub fn new(base_url: impl Into<String>) -> Self {
        LiveConfig {
            base_url: base_url.into(),
            api_key_env: None,
            timeout_secs: default_timeout(),
            max_retries: default_retries(),
            backoff_ms: default_backoff(),
            max_tokens: default_max_tokens(),
            temperature: 0.0,
            stop: default_stop(),
            record: false,
        }
    }

    /// Checks the URL scheme, a timeout in `(0, 3600]` seconds and a temperature in [0, 2].
    pub fn validate(&self) -> Result<(), LlmError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(LlmError::invalid(
                "base_url",
                format!("{:?} must start with http:// or https://", self.base_url),
            ));
        }
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0 && self.timeout_secs <= MAX_TIMEOUT_SECS) {
            return Err(LlmError::invalid(
                "timeout_secs",
                format!("{} must be in (0, {MAX_TIMEOUT_SECS}] seconds", self.timeout_secs),
            ));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(LlmError::invalid("temperature", format!("{} must be in [0, 2]", self.temperature)));
        }
        Ok(())
    }
}

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
        Ok(LiveBackend {
            cfg,
            url,
            key,
            client,
            problems,
            prefix: prompt_prefix.to_string(),
            prices,
            recorded: Mutex::new(BTreeMap::new()),
        })
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

    fn post(&self, body: &ChatRequest<'_>) -> Result<ChatReply, LlmError> {
        let http = |message: String| LlmError::Http { url: self.url.clone(), message };
        let mut wait = Duration::from_millis(self.cfg.backoff_ms);
        let mut attempt = 0;
        loop {
            let mut req = self.client.post(&self.url).json(body);
            if let Some(k) = &self.key {
                req = req.bearer_auth(k);
            }
            let outcome = match req.send() {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().map_err(|e| http(format!("cannot read the reply: {e}")))?;
                    if status.is_success() {
                        return serde_json::from_str(&text)
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
            tracing::warn!(url = %self.url, attempt, error = %outcome, "retrying after {:?}", wait);
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2);
            attempt += 1;
        }
    }
}

fn excerpt(s: &str) -> String {
    let t: String = s.chars().take(300).collect();
    if t.len() < s.len() {
        format!("{t}...")
    } else {
        t
    }
}

impl Backend for LiveBackend {
    fn name(&self) -> &str {
        "live"
    }

    fn complete(&self, req: &Request) -> Result<Response, LlmError> {
        let price = self.prices.get(&req.model)?;
        let p = self.problems.get(req.question)?;
        let (content, stop): (String, &[String]) = match &req.task {
            Task::Solve => (tokens::solve_prompt(&self.prefix, &question_text(p)), &self.cfg.stop),
            Task::Verify { candidate } => (tokens::verify_prompt(&question_text(p), candidate), &[]),
        };
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
        if self.cfg.record && matches!(req.task, Task::Solve) {
            let mut rec = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            rec.entry(req.question).or_default().insert(req.model.clone(), text.clone());
        }
        Ok(Response {
            text,
            input_tokens,
            output_tokens,
            cost_usd: price.cost(input_tokens, output_tokens),
            label: None,
        })
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
        }
        assert!(LiveConfig { timeout_secs: MAX_TIMEOUT_SECS, ..LiveConfig::new("http://127.0.0.1:1") }
            .validate()
            .is_ok());
    }
}
