//! The `[workload]` table of a math experiment (`kind = "math"`), validated into [`Math`].
//!
//! ```toml
//! [workload]
//! kind = "math"
//! backend = "replay"
//! lambdas = [0.0, 10.0, 30.0, 100.0]
//! episodes = 20000
//! ```

use std::collections::BTreeMap;

use baton_llm::price::{ModelPrice, PriceTable, GPT_4_1106, MIXTRAL_8X7B};
use baton_llm::simulated::SimulatedConfig;
use baton_llm::LiveConfig;
use serde::{Deserialize, Serialize};

use super::env::Interfaces;
use crate::EnvError;

/// Which backend answers the solvers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// The recorded real responses of GPT-4-1106 and Mixtral-8x7B to GSM8K test (1319 questions).
    Replay,
    /// The calibrated simulation on the MathQA test subset (1000 multiple-choice questions).
    Simulated,
    /// A live OpenAI-compatible server answering GSM8K test questions (`[workload.live]`): each (model,
    /// question) is asked once, recorded, and replayed by later runs; a spend cap stops new requests.
    Live,
}

/// Where the LLM critic's verdicts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriticKind {
    /// No critic: the critic agent is never reachable, and every signal an agent sees is computed from the
    /// recorded text (the checker, agreement, lengths, the question). The default.
    #[default]
    None,
    /// Replay only: a critic simulated from the correctness label (the recording holds no critic outputs),
    /// flagging a wrong answer with probability `true_positive` and a right one with `false_positive`. Its
    /// verdicts rest on the answer key, so figures made with it are labelled.
    LabelSimulated,
    /// Simulated backend only: the backend's own simulated verifier with the rates below.
    Backend,
}

impl CriticKind {
    /// The stable name, as in TOML and in every summary row.
    pub fn name(self) -> &'static str {
        match self {
            CriticKind::None => "none",
            CriticKind::LabelSimulated => "label-simulated",
            CriticKind::Backend => "backend",
        }
    }

    /// Whether an agent can hand a question to the critic.
    pub fn enabled(self) -> bool {
        self != CriticKind::None
    }
}

/// The LLM critic. TOML table `[workload.critic]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticConfig {
    /// Where verdicts come from: `none` (default: no critic, real signals only), `label-simulated` (replay:
    /// simulated from the correctness label with the rates below) or `backend` (the simulated backend's verifier).
    #[serde(default)]
    pub kind: CriticKind,
    /// The critic's model, as named in the price table (prices its calls; with the simulated backend, its
    /// rates below replace that model's verifier rates).
    #[serde(default = "default_critic_model")]
    pub model: String,
    /// Probability that the critic replies INCORRECT to a wrong answer, in [0, 1].
    #[serde(default = "default_tp")]
    pub true_positive: f64,
    /// Probability that the critic replies INCORRECT to a right answer, in [0, 1].
    #[serde(default = "default_fp")]
    pub false_positive: f64,
}

fn default_critic_model() -> String {
    GPT_4_1106.to_string()
}
fn default_tp() -> f64 {
    0.7
}
fn default_fp() -> f64 {
    0.1
}

impl Default for CriticConfig {
    fn default() -> Self {
        CriticConfig {
            kind: CriticKind::None,
            model: default_critic_model(),
            true_positive: default_tp(),
            false_positive: default_fp(),
        }
    }
}

/// A math workload: the backend, the lambdas to sweep, the training budget, the split and the prices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MathConfig {
    /// `replay` (GSM8K test with the recorded responses) or `simulated` (MathQA test, calibrated models).
    pub backend: BackendKind,
    /// Prices of cost, `lambda` reward units per USD (reward = `1[right] - lambda * cost`); each learning method
    /// runs once per lambda. Each in `[0, 1e9]`, 1 to 1000 of them.
    pub lambdas: Vec<f64>,
    /// Training episodes (questions) per learning method, lambda and seed, `1..=10^9`.
    #[serde(default = "default_episodes")]
    pub episodes: u64,
    /// Seed of the train/held-out split (and of the simulated backend and the replay critic): the world is
    /// the same for every run seed.
    #[serde(default)]
    pub split_seed: u64,
    /// Fraction of the questions used for training, in (0, 1); the rest are held out for evaluation.
    #[serde(default = "default_train_fraction")]
    pub train_fraction: f64,
    /// What the checker and the critic see: `verdicts` (default: every verdict on the artifact, the other
    /// tool's included) or `narrow` (each sees only its own tool's verdicts; the original interfaces).
    #[serde(default)]
    pub interfaces: Interfaces,
    /// Discount per handoff, in (0, 1]. Episodes end after at most 14 handoffs under any policy, so 1 is allowed.
    #[serde(default = "default_discount")]
    pub discount: f64,
    /// The cheap solver's model.
    #[serde(default = "default_cheap")]
    pub cheap_model: String,
    /// The strong solver's model.
    #[serde(default = "default_strong")]
    pub strong_model: String,
    /// The LLM critic.
    #[serde(default)]
    pub critic: CriticConfig,
    /// Price overrides, USD per million tokens, by model name (merged over the defaults). TOML:
    /// `[workload.prices."gpt-4-1106-preview"]` with `input_per_million`, `output_per_million`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, ModelPrice>,
    /// The simulated backend's models (simulated only; default: model.md 6.4's GSM8K calibration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<SimulatedConfig>,
    /// The live server (`backend = "live"` only, and required there): `[workload.live]` with `base_url`,
    /// `spend_cap_usd` (required), `record_file` (required while `record = true`, the default) and the client
    /// settings of baton-llm's `LiveConfig` (timeouts, retries, `max_concurrency`, `max_reply_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveConfig>,
    /// Use only the first `questions` questions of the data set (in its order), `2..=` its size; default all.
    /// Bounds a live run's bill before the spend cap does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions: Option<usize>,
    /// Data directory (GSM8K, MathQA, the recording); default `$BATON_DATA_DIR`, else the repository's `data/` folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

fn default_episodes() -> u64 {
    20_000
}
fn default_train_fraction() -> f64 {
    0.5
}
fn default_discount() -> f64 {
    1.0
}
fn default_cheap() -> String {
    MIXTRAL_8X7B.to_string()
}
fn default_strong() -> String {
    GPT_4_1106.to_string()
}

/// Most training episodes per learning method, lambda and seed (the shipped runs use 2 * 10^5).
pub const MAX_EPISODES: u64 = 1_000_000_000;
/// Largest lambda, reward units per USD (a question costs cents at most, so far beyond any trade-off).
pub const MAX_LAMBDA: f64 = 1e9;
/// Most lambdas of one run.
pub const MAX_LAMBDAS: usize = 1000;

/// A validated math workload. The runner loads the backend and builds the [`super::MathTable`] (this crate
/// reads no files).
#[derive(Clone, Debug, PartialEq)]
pub struct Math {
    /// The config as given.
    pub config: MathConfig,
    /// The price table: defaults with the overrides applied.
    pub prices: PriceTable,
    /// The simulated backend's configuration with the critic's rates applied (simulated only).
    pub simulated: Option<SimulatedConfig>,
}

impl MathConfig {
    /// Check every field. Errors name the field as spelled in TOML.
    pub fn validate(&self) -> Result<Math, EnvError> {
        if self.lambdas.is_empty() {
            return Err(EnvError::invalid("lambdas", "give at least one lambda"));
        }
        if self.lambdas.len() > MAX_LAMBDAS {
            return Err(EnvError::invalid(
                "lambdas",
                format!("at most {MAX_LAMBDAS} lambdas, got {}", self.lambdas.len()),
            ));
        }
        if let Some(l) = self.lambdas.iter().find(|l| !(l.is_finite() && (0.0..=MAX_LAMBDA).contains(*l))) {
            return Err(EnvError::invalid("lambdas", format!("{l:?} is not a lambda in [0, {MAX_LAMBDA:e}]")));
        }
        let mut sorted = self.lambdas.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(EnvError::invalid("lambdas", "a lambda is listed twice"));
        }
        if !(1..=MAX_EPISODES).contains(&self.episodes) {
            return Err(EnvError::invalid("episodes", format!("must be in 1..={MAX_EPISODES}, got {}", self.episodes)));
        }
        if !(self.train_fraction > 0.0 && self.train_fraction < 1.0) {
            return Err(EnvError::invalid("train_fraction", format!("{} is not in (0, 1)", self.train_fraction)));
        }
        if !(self.discount > 0.0 && self.discount <= 1.0) {
            return Err(EnvError::invalid("discount", format!("{} is not in (0, 1]", self.discount)));
        }
        for (field, p) in
            [("critic.true_positive", self.critic.true_positive), ("critic.false_positive", self.critic.false_positive)]
        {
            if !(0.0..=1.0).contains(&p) {
                return Err(EnvError::invalid(field, format!("{p} is not a probability in [0, 1]")));
            }
        }
        match (self.critic.kind, self.backend) {
            (CriticKind::LabelSimulated, BackendKind::Simulated) => {
                return Err(EnvError::invalid(
                    "critic.kind",
                    "\"label-simulated\" is for backend = \"replay\"; the simulated backend's critic is \"backend\"",
                ))
            }
            (CriticKind::LabelSimulated, BackendKind::Live) => {
                return Err(EnvError::invalid(
                    "critic.kind",
                    "a live run has no correctness labels to simulate a critic from: use \"none\" or \"backend\" (the critic model on the live server)",
                ))
            }
            (CriticKind::Backend, BackendKind::Replay) => {
                return Err(EnvError::invalid(
                    "critic.kind",
                    "the replay backend has no critic outputs: use \"none\" or \"label-simulated\"",
                ))
            }
            _ => {}
        }
        if self.cheap_model == self.strong_model {
            return Err(EnvError::invalid("strong_model", "must differ from cheap_model"));
        }
        if self.simulated.is_some() && self.backend != BackendKind::Simulated {
            return Err(EnvError::invalid("simulated", "only used with backend = \"simulated\""));
        }
        match (&self.live, self.backend) {
            (None, BackendKind::Live) => {
                return Err(EnvError::invalid("live", "backend = \"live\" needs a [workload.live] table with base_url"))
            }
            (Some(_), BackendKind::Replay | BackendKind::Simulated) => {
                return Err(EnvError::invalid("live", "only used with backend = \"live\""))
            }
            (Some(live), BackendKind::Live) => {
                live.validate().map_err(|e| match e {
                    baton_llm::LlmError::InvalidConfig { field, reason } => {
                        EnvError::invalid(format!("live.{field}"), reason)
                    }
                    other => EnvError::invalid("live", other.to_string()),
                })?;
                if live.spend_cap_usd.is_none() {
                    return Err(EnvError::invalid(
                        "live.spend_cap_usd",
                        "a live run needs a spend cap in USD (e.g. spend_cap_usd = 1.0)",
                    ));
                }
                if live.record && live.record_file.is_none() {
                    return Err(EnvError::invalid(
                        "live.record_file",
                        "record mode (the default) needs the journal's path (e.g. record_file = \"live.jsonl\"), or set record = false",
                    ));
                }
            }
            (None, _) => {}
        }
        if self.questions.is_some_and(|q| q < 2) {
            return Err(EnvError::invalid("questions", "must be at least 2 (one to train on, one held out)"));
        }
        let mut prices = PriceTable::default();
        for (k, v) in &self.prices {
            prices.models.insert(k.clone(), v.clone());
        }
        prices.validate().map_err(|e| EnvError::invalid("prices", e.to_string()))?;
        for (field, m) in [
            ("cheap_model", &self.cheap_model),
            ("strong_model", &self.strong_model),
            ("critic.model", &self.critic.model),
        ] {
            if prices.get(m).is_err() {
                return Err(EnvError::invalid(field, format!("{m:?} has no price (add it under [workload.prices])")));
            }
        }
        let simulated = match self.backend {
            BackendKind::Replay | BackendKind::Live => None,
            BackendKind::Simulated => {
                let mut cfg = self.simulated.clone().unwrap_or_default();
                for (field, m) in [("cheap_model", &self.cheap_model), ("strong_model", &self.strong_model)] {
                    if !cfg.models.contains_key(m) {
                        return Err(EnvError::invalid(field, format!("{m:?} is not a simulated model")));
                    }
                }
                let critic = cfg.models.get_mut(&self.critic.model).ok_or_else(|| {
                    EnvError::invalid("critic.model", format!("{:?} is not a simulated model", self.critic.model))
                })?;
                critic.verifier_detects_wrong = self.critic.true_positive;
                critic.verifier_flags_right = self.critic.false_positive;
                cfg.validate().map_err(|e| EnvError::invalid("simulated", e.to_string()))?;
                Some(cfg)
            }
        };
        Ok(Math { config: self.clone(), prices, simulated })
    }
}
