//! # baton-llm: the multi-LLM math workload's foundation (model.md 6.4)
//!
//! Data, model backends, grading and checking for agents that hand math problems to each other (a cheap
//! solver, a strong solver, a verifier, a refiner). This crate holds no environment and no learner.
//!
//! - [`data`]: GSM8K test/train, the MathQA test subset and RouteLLM's recorded GSM8K responses of
//!   `gpt-4-1106-preview` and `Mixtral-8x7B-Instruct-v0.1`, read from `$BATON_DATA_DIR` (default
//!   the repository's `data/` folder). Row `i` of the recording is GSM8K test question `i` (checked at load).
//! - [`backend`]: one trait, [`Backend::complete`]`(&Request) -> Response` (text, input and output tokens,
//!   cost in USD, and a ground-truth label for scoring only).
//!   - [`replay::ReplayBackend`] returns the recorded response for (model, question), priced per token.
//!   - [`simulated::SimulatedBackend`] samples calibrated, correlated models (logit of being right
//!     `a + b * steps` plus a shared per-question latent), writes texts the grader and checker can read, and
//!     plays an LLM critic with set true and false positive rates. Deterministic given its seed.
//! - [`grade`]: the decimal-aware answer parser and the recording's own last-integer rule.
//! - [`checker`]: re-computes the arithmetic written in a response and flags errors, cut-off output, a
//!   missing final answer and a non-integer final answer.
//! - [`price`]: the per-model price table (configuration); [`tokens`]: prompts and token counts.
//! - [`mock`] (feature `live`): a scripted OpenAI-compatible server on 127.0.0.1 for tests and offline demos.
//!
//! ## How tokens are counted
//! The solver prompt is the recording's: the first eight GSM8K train items as `Question: ...\nAnswer: ...`
//! pairs separated by blank lines, then `Question: {question}\nAnswer:`, sent as one user message (details in
//! [`tokens`]). Tokens are OpenAI's `cl100k_base` (bundled, works offline): input = prompt tokens + 7 for the chat
//! framing, output = the response's tokens. For GPT-4 these are the billed counts up to the framing constant.
//! Mixtral's own tokenizer (SentencePiece, 32k vocabulary) is not available offline, so its counts are
//! `cl100k × 1.25`, an assumed, unmeasured factor (per-model `token_factor` in the price table): Mistral's
//! tokenizer spells every digit separately and splits more words than `cl100k`. Cost = input tokens × input
//! price + output tokens × output price, from [`price::PriceTable`] (defaults: GPT-4-1106 $10/$30 per million,
//! Mixtral $0.24 blended, gpt-4o-mini $0.15/$0.60, gpt-4o $2.50/$10.00).
//!
//! Errors are [`LlmError`]; they name the file and line or row, the model, or the configuration field.

#![warn(missing_docs)]

pub mod backend;
pub mod checker;
pub mod data;
pub mod error;
pub mod grade;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod mock;
pub mod price;
pub mod replay;
pub mod session;
pub mod simulated;
pub mod tokens;

pub use backend::{Backend, Request, Response, Task};
pub use checker::{check, CheckVerdict};
pub use data::{Dataset, Gold, Problem, Recording};
pub use error::LlmError;
#[cfg(feature = "live")]
pub use live::LiveBackend;
pub use price::PriceTable;
pub use replay::ReplayBackend;
pub use session::{connect_live, Journal, JournalEntry, LiveConfig, LiveSession, LiveStats, Recorder};
pub use simulated::{SimulatedBackend, SimulatedConfig};
