//! The one backend trait and its request and response types.

use crate::error::LlmError;

/// What a request asks the model to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// Solve the question (the 8-shot solver prompt, see [`crate::tokens`]).
    Solve,
    /// Judge a candidate solution of the question (an LLM critic). The reply ends in a line
    /// `VERDICT: CORRECT` or `VERDICT: INCORRECT`, read by [`parse_verdict`].
    Verify {
        /// The candidate solution's text.
        candidate: String,
    },
}

/// One request to a backend: which model, which question of the backend's data set, what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The model's name, as in the price table (e.g. [`crate::price::GPT_4_1106`]).
    pub model: String,
    /// The question's index in the backend's data set (0-based: line `question + 1` of the JSONL file).
    pub question: usize,
    /// What to do.
    pub task: Task,
}

impl Request {
    /// A [`Task::Solve`] request.
    pub fn solve(model: impl Into<String>, question: usize) -> Self {
        Request { model: model.into(), question, task: Task::Solve }
    }

    /// A [`Task::Verify`] request for `candidate`.
    pub fn verify(model: impl Into<String>, question: usize, candidate: impl Into<String>) -> Self {
        Request { model: model.into(), question, task: Task::Verify { candidate: candidate.into() } }
    }
}

/// A backend's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The generated text.
    pub text: String,
    /// Billed input tokens.
    pub input_tokens: u64,
    /// Billed output tokens.
    pub output_tokens: u64,
    /// Cost in USD: tokens times the model's per-token prices.
    pub cost_usd: f64,
    /// Ground-truth correctness known to the backend, for scoring only (never for an agent to observe): replay,
    /// the recording's label; simulated, whether the sampled answer is right; `None` for live calls and for
    /// [`Task::Verify`].
    pub label: Option<bool>,
}

/// An LLM backend: replay of recorded responses, a calibrated simulation, or a live server.
///
/// Implementations are deterministic where they can be (replay always; simulated given its seed) and shareable
/// across threads.
pub trait Backend: Send + Sync {
    /// A short name for logs and errors (`replay`, `simulated`, `live`).
    fn name(&self) -> &str;

    /// Answers one request.
    fn complete(&self, req: &Request) -> Result<Response, LlmError>;
}

/// The verdict of a critic's reply: `Some(true)` for `VERDICT: CORRECT`, `Some(false)` for
/// `VERDICT: INCORRECT` (the last such line wins, case-insensitive), `None` if there is none.
pub fn parse_verdict(text: &str) -> Option<bool> {
    text.lines().rev().find_map(|line| {
        let l = line.trim().to_ascii_uppercase();
        let v = l.strip_prefix("VERDICT:")?.trim().to_string();
        match v.as_str() {
            "CORRECT" => Some(true),
            "INCORRECT" | "WRONG" => Some(false),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_lines_parse() {
        assert_eq!(parse_verdict("Looks fine.\nVERDICT: CORRECT"), Some(true));
        assert_eq!(parse_verdict("step 2 is wrong\nverdict: incorrect\n"), Some(false));
        assert_eq!(parse_verdict("no verdict"), None);
    }
}
