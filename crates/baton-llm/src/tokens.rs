//! Prompts and token counts.
//!
//! The solver prompt is the one the recording used (RouteLLM's GSM8K script, itself from SGLang's benchmark):
//! one user message whose content is eight worked examples, the first eight GSM8K train items, then the test
//! question:
//!
//! ```text
//! Question: {train[0].question}\nAnswer: {train[0].answer}\n\n
//! ... (train items 1 to 7 alike)
//! Question: {test[i].question}\nAnswer:
//! ```
//!
//! (`\n` is a newline; there is no system message.) Tokens are counted with OpenAI's `cl100k_base` BPE (bundled
//! by the tokenizer crate, so counting works offline). Input tokens = `cl100k(content) + CHAT_OVERHEAD_TOKENS`:
//! the chat framing of one user message (3 tokens per message, 1 for the role, 3 priming the reply), as in
//! OpenAI's published counting recipe for gpt-4 and gpt-3.5 chat models. Output tokens = `cl100k(response)`.
//!
//! Models with another tokenizer are counted as `cl100k × token_factor` of their price entry (see
//! [`crate::price::ModelPrice::token_factor`]). Mixtral uses Mistral's 32k SentencePiece vocabulary, which is
//! not available offline here, so its ratio to `cl100k` is not measured: the default factor 1.25 is an
//! assumption. It reflects that Mistral's tokenizer splits every digit into its own token (`cl100k` groups up
//! to three digits) and that a 32k vocabulary splits more words than a 100k one. At $0.24 per million tokens,
//! even a 20% error in this factor moves a Mixtral call's cost by well under a hundredth of a cent.

use tiktoken_rs::cl100k_base_singleton;

use crate::data::Dataset;

/// Number of train items in the few-shot prefix.
pub const FEW_SHOT: usize = 8;

/// Chat framing tokens added to the content of one user message (see the module doc).
pub const CHAT_OVERHEAD_TOKENS: u64 = 7;

/// `cl100k_base` token count of `text` (special-token strings are counted as ordinary text).
pub fn count_cl100k(text: &str) -> u64 {
    cl100k_base_singleton().encode_ordinary(text).len() as u64
}

/// One solved example, `"Question: {q}\nAnswer: {a}"`, or the open question `"Question: {q}\nAnswer:"`.
pub fn example(question: &str, answer: Option<&str>) -> String {
    match answer {
        Some(a) => format!("Question: {question}\nAnswer: {a}"),
        None => format!("Question: {question}\nAnswer:"),
    }
}

/// The few-shot prefix: the first `k` problems of `train` as solved examples, each followed by a blank line.
pub fn few_shot_prefix(train: &Dataset, k: usize) -> String {
    let mut s = String::new();
    for p in train.problems.iter().take(k) {
        s.push_str(&example(&p.question, Some(&p.reference)));
        s.push_str("\n\n");
    }
    s
}

/// The full solver prompt (user message content): `prefix` then the open question.
pub fn solve_prompt(prefix: &str, question: &str) -> String {
    format!("{prefix}{}", example(question, None))
}

/// The critic prompt (user message content) for judging `candidate` as a solution of `question`.
pub fn verify_prompt(question: &str, candidate: &str) -> String {
    format!(
        "Question: {question}\nProposed solution: {candidate}\n\nCheck the proposed solution step by step. \
         End with a line `VERDICT: CORRECT` or `VERDICT: INCORRECT`."
    )
}

/// Input tokens of a chat request whose single user message is `content` (cl100k, before any factor).
pub fn chat_input_tokens(content: &str) -> u64 {
    count_cl100k(content) + CHAT_OVERHEAD_TOKENS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cl100k_counts_known_strings() {
        // Reference counts from OpenAI's tiktoken for cl100k_base.
        assert_eq!(count_cl100k("hello world"), 2);
        assert_eq!(count_cl100k(""), 0);
        assert_eq!(count_cl100k("1234567"), 3); // digits grouped by three
    }

    #[test]
    fn prompt_format_is_question_answer_pairs() {
        assert_eq!(example("Q1", Some("A1")), "Question: Q1\nAnswer: A1");
        assert_eq!(
            solve_prompt("Question: Q1\nAnswer: A1\n\n", "Q2"),
            "Question: Q1\nAnswer: A1\n\nQuestion: Q2\nAnswer:"
        );
    }
}
