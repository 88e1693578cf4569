//! `baton math ask ...`: one question through a math run's learned IC-Q policy, handoff by handoff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use baton::experiment::ask::{ask, load_policy, Policy, Transcript};
use baton_envs::math::{BackendKind, CriticKind, CriticSource};
use baton_llm::data::{data_dir, Dataset, DatasetKind};
use baton_llm::price::ModelPrice;
use baton_llm::simulated::SimulatedConfig;
use baton_llm::tokens::{few_shot_prefix, FEW_SHOT};
use baton_llm::{Gold, LiveBackend, LiveConfig, Problem, ReplayBackend, SimulatedBackend};
use clap::{Subcommand, ValueEnum};
use serde::Deserialize;

/// The `math` subcommands.
#[derive(Subcommand)]
pub enum MathCommand {
    /// Run a math run's learned IC-Q policy (greedy) on one question and show every handoff: who held it,
    /// what it saw, what it did, what that cost, and the one scalar the receiver sent back.
    Ask {
        /// The question (live backend, policies trained on GSM8K). Or use --index.
        question: Option<String>,
        /// The math run directory written by `baton run` (holds config.toml and policy/).
        #[arg(long)]
        run: PathBuf,
        /// The lambda whose policy to use (optional when the run saved one lambda).
        #[arg(long)]
        lambda: Option<f64>,
        /// Who answers: a live OpenAI-compatible server, the calibrated simulation, or the recorded responses.
        #[arg(long, value_enum, default_value_t = AskBackend::Live)]
        backend: AskBackend,
        /// A question of the run's data set by index (0-based) instead of a text; required for replay and
        /// simulated. Its reference answer grades the result.
        #[arg(long)]
        index: Option<usize>,
        /// The right answer of a free-text question (a number), to grade the result.
        #[arg(long)]
        gold: Option<f64>,
        /// Live backend settings (TOML): `base_url`, `api_key_env`, `timeout_secs`, `max_retries`, model names
        /// (`cheap_model`, `strong_model`, `critic_model`) and `[prices."<model>"]`; see docs in src/math.rs.
        #[arg(long)]
        live: Option<PathBuf>,
        /// Live: the server's base URL (e.g. http://127.0.0.1:8000/v1); overrides the file's.
        #[arg(long)]
        base_url: Option<String>,
        /// Live: the environment variable holding the API key; overrides the file's.
        #[arg(long)]
        api_key_env: Option<String>,
        /// Print the transcript as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which backend answers `ask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AskBackend {
    /// OpenAI-compatible chat completions (hosted APIs, vLLM, llama.cpp server, Ollama).
    Live,
    /// The calibrated simulated models on the run's data set (needs --index).
    Simulated,
    /// The recorded GSM8K responses (needs --index; GSM8K runs only).
    Replay,
}

/// The `--live` file: the endpoint and, optionally, other models and their prices.
///
/// ```toml
/// base_url = "https://api.openai.com/v1"
/// api_key_env = "OPENAI_API_KEY"
/// cheap_model = "gpt-4o-mini"
/// strong_model = "gpt-4o"
/// critic_model = "gpt-4o"
/// [prices."my-local-model"]
/// input_per_million = 0.0
/// output_per_million = 0.0
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveFile {
    /// Base URL up to the API version; `/chat/completions` is appended.
    base_url: Option<String>,
    /// Environment variable holding the API key (unset: no authentication).
    api_key_env: Option<String>,
    /// Per-request timeout in seconds (default 120).
    timeout_secs: Option<f64>,
    /// Retries for transport errors, 429 and 5xx (default 3).
    max_retries: Option<u32>,
    /// Wait before the first retry in milliseconds (default 500).
    backoff_ms: Option<u64>,
    /// The cheap solver's model (default: the run's).
    cheap_model: Option<String>,
    /// The strong solver's model (default: the run's).
    strong_model: Option<String>,
    /// The critic's model (default: the run's).
    critic_model: Option<String>,
    /// Prices of models the run's price table lacks, USD per million tokens.
    #[serde(default)]
    prices: BTreeMap<String, ModelPrice>,
}

/// Run a `math` subcommand.
pub fn main(command: MathCommand) -> Result<ExitCode> {
    match command {
        MathCommand::Ask { question, run, lambda, backend, index, gold, live, base_url, api_key_env, json } => {
            let mut policy =
                load_policy(&run, lambda).with_context(|| format!("cannot load a policy from {}", run.display()))?;
            let opts = LiveOpts { file: live, base_url, api_key_env };
            let t = ask_one(&mut policy, question, backend, index, gold, &opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                print_transcript(&policy, &t);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

struct LiveOpts {
    file: Option<PathBuf>,
    base_url: Option<String>,
    api_key_env: Option<String>,
}

fn dataset_of(policy: &Policy, dir: &Path) -> Result<Dataset> {
    let d = match policy.manifest.dataset.as_str() {
        "gsm8k-test" => Dataset::gsm8k_test(dir)?,
        "mathqa-test" => Dataset::mathqa_test(dir)?,
        other => bail!("the policy's data set {other:?} is unknown"),
    };
    Ok(d)
}

fn pick(d: &Dataset, index: usize) -> Result<Problem> {
    match d.problems.get(index) {
        Some(p) => Ok(p.clone()),
        None => bail!("--index {index}: the data set has {} questions (0..{})", d.len(), d.len()),
    }
}

fn ask_one(
    policy: &mut Policy,
    question: Option<String>,
    backend: AskBackend,
    index: Option<usize>,
    gold: Option<f64>,
    live: &LiveOpts,
) -> Result<Transcript> {
    let c = policy.math.config.clone();
    let dir = match &c.data_dir {
        Some(d) => baton::experiment::config::resolve_data_path(d),
        None => data_dir(),
    };
    let gsm8k = policy.manifest.dataset == "gsm8k-test";
    if backend != AskBackend::Live && (question.is_some() || index.is_none()) {
        bail!("--backend {backend:?} answers only questions of the data set: give --index N, not a question text");
    }
    match backend {
        AskBackend::Replay => {
            if !gsm8k {
                bail!(
                    "--backend replay: the recording holds GSM8K answers, but this policy was trained on {}",
                    policy.manifest.dataset
                );
            }
            let index = index.unwrap_or_default();
            let b = ReplayBackend::load(&dir, policy.math.prices.clone())?;
            let problem = pick(b.dataset(), index)?;
            let critic = match c.critic.kind {
                CriticKind::None => CriticSource::None,
                _ => CriticSource::FromLabel {
                    true_positive: c.critic.true_positive,
                    false_positive: c.critic.false_positive,
                    seed: c.split_seed,
                },
            };
            Ok(ask(policy, &b, &problem, index, critic, true)?)
        }
        AskBackend::Simulated => {
            let index = index.unwrap_or_default();
            let cfg = match (&policy.math.simulated, c.backend) {
                (Some(cfg), BackendKind::Simulated) => cfg.clone(),
                _ => {
                    let mut cfg = SimulatedConfig::default();
                    if let Some(m) = cfg.models.get_mut(&c.critic.model) {
                        m.verifier_detects_wrong = c.critic.true_positive;
                        m.verifier_flags_right = c.critic.false_positive;
                    }
                    cfg
                }
            };
            let prices = policy.math.prices.clone();
            let b = if gsm8k {
                SimulatedBackend::gsm8k(&dir, cfg, prices, c.split_seed)?
            } else {
                SimulatedBackend::mathqa(&dir, cfg, prices, c.split_seed)?
            };
            let problem = pick(b.dataset(), index)?;
            Ok(ask(policy, &b, &problem, index, CriticSource::Backend, true)?)
        }
        AskBackend::Live => {
            let (problem, data, graded) = match (question, index) {
                (Some(_), Some(_)) => bail!("give a question text or --index, not both"),
                (None, None) => bail!("give a question text (or --index N for a question of the data set)"),
                (None, Some(i)) => {
                    let d = dataset_of(policy, &dir)?;
                    (pick(&d, i)?, d, true)
                }
                (Some(text), None) => {
                    if !gsm8k {
                        bail!(
                            "a free-text question needs a policy trained on GSM8K (this one: {}); use --index",
                            policy.manifest.dataset
                        );
                    }
                    if text.trim().is_empty() {
                        bail!("the question is empty");
                    }
                    let p = Problem {
                        question: text,
                        reference: String::new(),
                        gold: Gold::Number(gold.unwrap_or(f64::NAN)),
                        steps: 1,
                    };
                    (p.clone(), Dataset { kind: DatasetKind::Gsm8kTest, problems: vec![p] }, gold.is_some())
                }
            };
            let q = index.unwrap_or(0);
            let b = live_backend(policy, live, data, gsm8k, &dir)?;
            Ok(ask(policy, &b, &problem, q, CriticSource::Backend, graded)?)
        }
    }
}

fn live_backend(policy: &mut Policy, opts: &LiveOpts, data: Dataset, gsm8k: bool, dir: &Path) -> Result<LiveBackend> {
    let file: LiveFile = match &opts.file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => LiveFile {
            base_url: None,
            api_key_env: None,
            timeout_secs: None,
            max_retries: None,
            backoff_ms: None,
            cheap_model: None,
            strong_model: None,
            critic_model: None,
            prices: BTreeMap::new(),
        },
    };
    let Some(base_url) = opts.base_url.clone().or(file.base_url) else {
        bail!("--backend live needs the server's address: --base-url URL, or base_url in a --live file");
    };
    let mut cfg = LiveConfig::new(base_url);
    cfg.api_key_env = opts.api_key_env.clone().or(file.api_key_env);
    if let Some(t) = file.timeout_secs {
        cfg.timeout_secs = t;
    }
    if let Some(r) = file.max_retries {
        cfg.max_retries = r;
    }
    if let Some(b) = file.backoff_ms {
        cfg.backoff_ms = b;
    }
    let c = &mut policy.math.config;
    for (slot, v) in [
        (&mut c.cheap_model, file.cheap_model),
        (&mut c.strong_model, file.strong_model),
        (&mut c.critic.model, file.critic_model),
    ] {
        if let Some(v) = v {
            *slot = v;
        }
    }
    for (k, v) in file.prices {
        policy.math.prices.models.insert(k, v);
    }
    policy.math.prices.validate()?;
    for m in [&c.cheap_model, &c.strong_model, &c.critic.model] {
        if policy.math.prices.get(m).is_err() {
            bail!("model {m:?} has no price: add [prices.\"{m}\"] to the --live file");
        }
    }
    let prefix = if gsm8k { few_shot_prefix(&Dataset::gsm8k_train(dir)?, FEW_SHOT) } else { String::new() };
    Ok(LiveBackend::new(cfg, data, &prefix, policy.math.prices.clone())?)
}

fn print_transcript(policy: &Policy, t: &Transcript) {
    let c = &policy.math.config;
    println!(
        "policy: ic-q at lambda {} (seed {}, trained on {}); cheap {}, strong {}, critic {}",
        policy.lambda, policy.manifest.seed, policy.manifest.dataset, c.cheap_model, c.strong_model, c.critic.model
    );
    println!("question long: {}\n", if t.long_question { "yes" } else { "no" });
    for (k, s) in t.steps.iter().enumerate() {
        println!("{}. {} (obs {}) sees: {}", k + 1, s.agent, s.obs, s.sees);
        let reward = if s.reward.is_nan() { "n/a (ungraded)".to_string() } else { format!("{:+.5}", s.reward + 0.0) };
        println!("   -> {} (its Q = {:.4}); reward {reward}; scalar back {:.4}", s.action, s.q, s.scalar);
        if !s.work.is_empty() {
            println!("   {} (${:.5})", s.work, s.cost_usd);
        }
    }
    let which = ["cheap", "strong"][t.submitted];
    println!(
        "\nsubmitted the {which} answer: {}",
        t.final_answer.clone().unwrap_or_else(|| "(no final answer found)".into())
    );
    match t.correct {
        Some(ok) => println!("right: {}", if ok { "yes" } else { "no" }),
        None => println!("right: not graded (pass --gold to grade)"),
    }
    println!("cost: ${:.5} over {} handoffs", t.cost_usd, t.steps.len());
}
