//! The live backend's configuration, its journal (record and replay format) and the connector the runner
//! calls. Nothing here touches the network: [`connect_live`] builds a `LiveBackend` when
//! the crate is compiled with its `live` feature (the `baton` binary and the Python module enable it) and
//! returns [`LlmError::Unsupported`] otherwise, so the runner needs no HTTP stack of its own.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::LlmError;
use crate::price::PriceTable;

/// The longest per-request timeout accepted, in seconds (one hour).
pub const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// Most retries after the first attempt.
pub const MAX_RETRIES: u32 = 20;
/// Most requests in flight at once.
pub const MAX_CONCURRENCY: u32 = 256;
/// Smallest and largest reply size cap, bytes.
pub const REPLY_BYTES_RANGE: (u64, u64) = (1024, 256 << 20);
/// Largest spend cap accepted, USD.
pub const MAX_SPEND_CAP_USD: f64 = 1e6;

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
    /// Retries after the first attempt for transport errors, 429 and 5xx, `0..=20` (default 3).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Wait before the first retry in milliseconds, doubled for each further retry, `1..=600000` (default 500).
    /// A `Retry-After` header (seconds) replaces it for that retry.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Longest single wait between attempts in seconds, `(0, 3600]` (default 60): longer `Retry-After` values
    /// and backoffs are cut to it.
    #[serde(default = "default_retry_wait")]
    pub max_retry_wait_secs: f64,
    /// `max_tokens` of each request, `1..=1000000` (default 1024, as in the recording).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature in [0, 2] (default 0, as in the recording).
    #[serde(default)]
    pub temperature: f64,
    /// Stop sequences of solver requests (default `["Question"]`, as in the recording).
    #[serde(default = "default_stop")]
    pub stop: Vec<String>,
    /// Most requests in flight at once, `1..=256` (default 4).
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// Largest reply body read, in bytes, `1024..=268435456` (default 4 MiB); a longer reply fails its request.
    #[serde(default = "default_reply_bytes")]
    pub max_reply_bytes: u64,
    /// Spend cap in USD, in `(0, 1e6]`: no new request starts once this much is spent (journal included).
    /// Unset: no cap (`baton run` requires one for `backend = "live"`).
    #[serde(default)]
    pub spend_cap_usd: Option<f64>,
    /// Record mode (default true): every new response is appended to `record_file` as it arrives (fsynced)
    /// and kept for `LiveBackend::recording`.
    #[serde(default = "yes")]
    pub record: bool,
    /// The journal file (JSON lines, see [`JournalEntry`]): its responses are replayed without a request,
    /// and with `record` new ones are appended. A relative path is taken from the working directory.
    /// `baton run` requires it when `record` is true.
    #[serde(default)]
    pub record_file: Option<String>,
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
fn default_retry_wait() -> f64 {
    60.0
}
fn default_max_tokens() -> u32 {
    1024
}
fn default_stop() -> Vec<String> {
    vec!["Question".to_string()]
}
fn default_concurrency() -> u32 {
    4
}
fn default_reply_bytes() -> u64 {
    4 << 20
}
fn yes() -> bool {
    true
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
            max_retry_wait_secs: default_retry_wait(),
            max_tokens: default_max_tokens(),
            temperature: 0.0,
            stop: default_stop(),
            max_concurrency: default_concurrency(),
            max_reply_bytes: default_reply_bytes(),
            spend_cap_usd: None,
            record: true,
            record_file: None,
        }
    }

    /// Checks every field's range (see each field); errors name the field.
    pub fn validate(&self) -> Result<(), LlmError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(LlmError::invalid(
                "base_url",
                format!("{:?} must start with http:// or https://", self.base_url),
            ));
        }
        for (field, v) in [("timeout_secs", self.timeout_secs), ("max_retry_wait_secs", self.max_retry_wait_secs)] {
            if !(v.is_finite() && v > 0.0 && v <= MAX_TIMEOUT_SECS) {
                return Err(LlmError::invalid(field, format!("{v} must be in (0, {MAX_TIMEOUT_SECS}] seconds")));
            }
        }
        if self.max_retries > MAX_RETRIES {
            return Err(LlmError::invalid(
                "max_retries",
                format!("{} must be at most {MAX_RETRIES}", self.max_retries),
            ));
        }
        if !(1..=600_000).contains(&self.backoff_ms) {
            return Err(LlmError::invalid("backoff_ms", format!("{} must be in 1..=600000", self.backoff_ms)));
        }
        if !(1..=1_000_000).contains(&self.max_tokens) {
            return Err(LlmError::invalid("max_tokens", format!("{} must be in 1..=1000000", self.max_tokens)));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(LlmError::invalid("temperature", format!("{} must be in [0, 2]", self.temperature)));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.max_concurrency) {
            return Err(LlmError::invalid(
                "max_concurrency",
                format!("{} must be in 1..={MAX_CONCURRENCY}", self.max_concurrency),
            ));
        }
        let (lo, hi) = REPLY_BYTES_RANGE;
        if !(lo..=hi).contains(&self.max_reply_bytes) {
            return Err(LlmError::invalid(
                "max_reply_bytes",
                format!("{} must be in {lo}..={hi}", self.max_reply_bytes),
            ));
        }
        if let Some(c) = self.spend_cap_usd {
            if !(c.is_finite() && c > 0.0 && c <= MAX_SPEND_CAP_USD) {
                return Err(LlmError::invalid("spend_cap_usd", format!("{c} must be in (0, {MAX_SPEND_CAP_USD:e}]")));
            }
        }
        if self.record_file.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err(LlmError::invalid("record_file", "must not be empty"));
        }
        Ok(())
    }
}

/// One response of a live server, as one line of the journal (the live backend's replay format).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// The model asked.
    pub model: String,
    /// The question's index in the data set.
    pub question: usize,
    /// `solve` or `verify`.
    pub task: String,
    /// FNV-1a 64 of the whole user message (16 hex digits): a replay matches (model, prompt), so a changed
    /// question, few-shot prefix or critic candidate is asked again.
    pub prompt_hash: String,
    /// The reply's text.
    pub text: String,
    /// Billed input tokens.
    pub input_tokens: u64,
    /// Billed output tokens.
    pub output_tokens: u64,
    /// USD paid for it (at the prices of the run that recorded it).
    pub cost_usd: f64,
}

/// A journal file's complete lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Journal {
    /// The responses, in file order.
    pub entries: Vec<JournalEntry>,
    /// Bytes of the file up to and including the last complete line: a run killed while writing leaves a torn
    /// last line, which the runner cuts off (the response is asked again) before appending.
    pub complete_bytes: usize,
}

/// Parses a journal's text: every complete (newline-terminated) line must be a [`JournalEntry`] (errors name
/// `path` and the line); a final line without a newline is a torn write and is left out.
pub fn parse_journal(text: &str, path: &str) -> Result<Journal, LlmError> {
    let complete_bytes = text.rfind('\n').map_or(0, |i| i + 1);
    let mut entries = Vec::new();
    for (n, line) in text[..complete_bytes].lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: JournalEntry = serde_json::from_str(line).map_err(|e| LlmError::Parse {
            path: path.to_string(),
            line: n + 1,
            reason: format!("not a journal entry: {e}"),
        })?;
        if !(e.cost_usd.is_finite() && e.cost_usd >= 0.0) {
            return Err(LlmError::Parse {
                path: path.to_string(),
                line: n + 1,
                reason: format!("cost_usd {} is not a finite amount >= 0", e.cost_usd),
            });
        }
        entries.push(e);
    }
    Ok(Journal { entries, complete_bytes })
}

/// FNV-1a 64 of `text`, as 16 hex digits.
pub fn prompt_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where new responses go: the runner's append-only journal file. `append` gets one JSON line (without the
/// newline) and returns only once it is durable (written and fsynced); an error fails the request's call.
pub trait Recorder: Send + Sync + std::fmt::Debug {
    /// Appends one line durably.
    fn append(&self, line: &str) -> Result<(), String>;
}

/// What a live backend did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveStats {
    /// HTTP requests sent (retries included).
    pub http_requests: u64,
    /// New responses received (and recorded).
    pub new_responses: u64,
    /// Calls answered from the journal.
    pub replayed: u64,
    /// USD spent: the journal's recorded cost plus this run's new responses.
    pub spent_usd: f64,
    /// USD of this run's new responses.
    pub new_spent_usd: f64,
}

/// A live backend as the runner sees it: a [`Backend`] that reports its spend.
pub trait LiveSession: Backend {
    /// Counters and spend so far.
    fn stats(&self) -> LiveStats;
}

/// Builds the live backend for `problems` (solver prompts `prompt_prefix` + the question), replaying
/// `journal` and recording new responses through `recorder`. Without the crate's `live` feature, an
/// [`LlmError::Unsupported`] error saying so.
pub fn connect_live(
    cfg: LiveConfig,
    problems: Dataset,
    prompt_prefix: &str,
    prices: PriceTable,
    journal: Vec<JournalEntry>,
    recorder: Option<Box<dyn Recorder>>,
) -> Result<Box<dyn LiveSession>, LlmError> {
    #[cfg(feature = "live")]
    {
        let b = crate::live::LiveBackend::new(cfg, problems, prompt_prefix, prices)?.with_journal(journal, recorder);
        Ok(Box::new(b))
    }
    #[cfg(not(feature = "live"))]
    {
        let _ = (cfg, problems, prompt_prefix, prices, journal, recorder);
        Err(LlmError::Unsupported {
            backend: "live".to_string(),
            what: "requests in this build (baton-llm was compiled without its `live` feature)".to_string(),
        })
    }
}
