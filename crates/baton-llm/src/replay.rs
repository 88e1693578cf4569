//! The replay backend: recorded real responses (RouteLLM's GSM8K recording), priced per token.

use std::path::Path;

use crate::backend::{Backend, Request, Response, Task};
use crate::data::{Dataset, Recording, GSM8K_TEST, ROUTELLM_GSM8K};
use crate::error::LlmError;
use crate::price::PriceTable;
use crate::tokens::{count_cl100k, few_shot_prefix, CHAT_OVERHEAD_TOKENS, FEW_SHOT};

/// Answers [`Task::Solve`] for (model, GSM8K test question) with the recorded response.
///
/// Tokens: input = the 8-shot prompt of [`crate::tokens`] counted with `cl100k_base` plus the chat framing;
/// output = the recorded text counted with `cl100k_base`; both times the model's token factor. Cost = tokens
/// times the model's prices. All counts are computed once, at load. [`Response::label`] is the recording's
/// correctness label.
#[derive(Clone, Debug)]
pub struct ReplayBackend {
    test: Dataset,
    recording: Recording,
    prices: PriceTable,
    /// cl100k tokens of each question's full prompt content, without framing.
    prompt_tokens: Vec<u64>,
    /// cl100k tokens of each recorded text, `[question][model column]`.
    output_tokens: Vec<Vec<u64>>,
}

impl ReplayBackend {
    /// Loads GSM8K test and train and the recording from `data_dir` (see [`crate::data::data_dir`]), checks that
    /// recording row `i` is test question `i`, that every recorded model has a price, and counts tokens.
    pub fn load(data_dir: &Path, prices: PriceTable) -> Result<Self, LlmError> {
        let test = Dataset::gsm8k_test(data_dir)?;
        let train = Dataset::gsm8k_train(data_dir)?;
        let recording = Recording::routellm_gsm8k(data_dir)?;
        recording.check_aligned(
            &test,
            &data_dir.join(ROUTELLM_GSM8K).display().to_string(),
            &data_dir.join(GSM8K_TEST).display().to_string(),
        )?;
        Self::new(test, &train, recording, prices)
    }

    /// From loaded parts: `test` must line up with `recording` row by row; `train` gives the few-shot prefix.
    pub fn new(test: Dataset, train: &Dataset, recording: Recording, prices: PriceTable) -> Result<Self, LlmError> {
        prices.validate()?;
        for m in &recording.models {
            prices.get(m)?;
        }
        if recording.rows.len() != test.len() {
            return Err(LlmError::Misaligned {
                path: "recording".to_string(),
                row: recording.rows.len().min(test.len()) + 1,
                other: "test set".to_string(),
                reason: format!("{} rows against {} questions", recording.rows.len(), test.len()),
            });
        }
        // The prefix ends in "\n\n" and the open question starts with "Question", so cl100k's pre-tokenizer
        // splits there and counts add up (checked against whole-prompt counts by the integration tests).
        let prefix = count_cl100k(&few_shot_prefix(train, FEW_SHOT));
        let prompt_tokens =
            test.problems.iter().map(|p| prefix + count_cl100k(&crate::tokens::example(&p.question, None))).collect();
        let output_tokens =
            recording.rows.iter().map(|r| r.answers.iter().map(|a| count_cl100k(&a.text)).collect()).collect();
        tracing::info!(questions = test.len(), models = ?recording.models, prefix_tokens = prefix, "replay backend ready");
        Ok(ReplayBackend { test, recording, prices, prompt_tokens, output_tokens })
    }

    /// The GSM8K test set the recording answers.
    pub fn dataset(&self) -> &Dataset {
        &self.test
    }

    /// The recording.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The models it can replay.
    pub fn models(&self) -> &[String] {
        &self.recording.models
    }

    /// The price table in use.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// `cl100k_base` tokens of question `index`'s prompt content (without chat framing or token factor).
    pub fn prompt_tokens(&self, index: usize) -> Result<u64, LlmError> {
        self.prompt_tokens.get(index).copied().ok_or(LlmError::QuestionOutOfRange { index, len: self.test.len() })
    }
}

impl Backend for ReplayBackend {
    fn name(&self) -> &str {
        "replay"
    }

    fn complete(&self, req: &Request) -> Result<Response, LlmError> {
        if !matches!(req.task, Task::Solve) {
            return Err(LlmError::Unsupported {
                backend: self.name().to_string(),
                what: "verify requests (the recording holds solver outputs only)".to_string(),
            });
        }
        let m = self.recording.model_index(&req.model)?;
        let answer = self.recording.answer(&req.model, req.question)?;
        let price = self.prices.get(&req.model)?;
        let input_tokens = price.billed_tokens(self.prompt_tokens[req.question] + CHAT_OVERHEAD_TOKENS);
        let output_tokens = price.billed_tokens(self.output_tokens[req.question][m]);
        Ok(Response {
            text: answer.text.clone(),
            input_tokens,
            output_tokens,
            cost_usd: price.cost(input_tokens, output_tokens),
            label: Some(answer.correct),
        })
    }
}
