//! The replay backend on the real recording: prompts, token counts, costs, labels.

use baton_llm::price::{PriceTable, GPT_4_1106, MIXTRAL_8X7B};
use baton_llm::tokens::{count_cl100k, few_shot_prefix, solve_prompt, CHAT_OVERHEAD_TOKENS, FEW_SHOT};
use baton_llm::{Backend, Dataset, LlmError, ReplayBackend, Request};

use crate::data_dir;

#[test]
fn replay_returns_recorded_text_label_and_priced_tokens() {
    let dir = data_dir();
    let b = ReplayBackend::load(&dir, PriceTable::default()).unwrap();
    let train = Dataset::gsm8k_train(&dir).unwrap();
    let prefix = few_shot_prefix(&train, FEW_SHOT);
    assert!(prefix.starts_with("Question: Natalia sold clips"), "{}", &prefix[..60]);
    // Per-question counts (prefix + question, summed) equal whole-prompt counts.
    for q in [0, 1, 17, 500, 1318] {
        let whole = count_cl100k(&solve_prompt(&prefix, &b.dataset().problems[q].question));
        assert_eq!(b.prompt_tokens(q).unwrap(), whole, "question {q}");
    }
    let (mut cost, mut tok_in, mut tok_out) = ([0.0; 2], [0u64; 2], [0u64; 2]);
    for (k, model) in [GPT_4_1106, MIXTRAL_8X7B].into_iter().enumerate() {
        for q in 0..b.dataset().len() {
            let r = b.complete(&Request::solve(model, q)).unwrap();
            let rec = b.recording().answer(model, q).unwrap();
            assert_eq!(r.text, rec.text);
            assert_eq!(r.label, Some(rec.correct));
            cost[k] += r.cost_usd;
            tok_in[k] += r.input_tokens;
            tok_out[k] += r.output_tokens;
        }
    }
    let n = b.dataset().len() as f64;
    println!(
        "replay over 1319 questions: prefix {} cl100k tokens (+{CHAT_OVERHEAD_TOKENS} framing); gpt-4-1106 mean in {:.0} out {:.0} tokens, ${:.5}/question, ${:.2} total; \
         mixtral (x1.25) mean in {:.0} out {:.0}, ${:.6}/question, ${:.3} total; cost ratio {:.0}x",
        count_cl100k(&prefix),
        tok_in[0] as f64 / n,
        tok_out[0] as f64 / n,
        cost[0] / n,
        cost[0],
        tok_in[1] as f64 / n,
        tok_out[1] as f64 / n,
        cost[1] / n,
        cost[1],
        cost[0] / cost[1]
    );
    assert!(cost[0] > 10.0 * cost[1]);
    let r = b.complete(&Request::solve(GPT_4_1106, 0)).unwrap();
    let expect = (r.input_tokens as f64 * 10.0 + r.output_tokens as f64 * 30.0) / 1e6;
    assert!((r.cost_usd - expect).abs() < 1e-12);
}

#[test]
fn replay_errors_are_typed() {
    let b = ReplayBackend::load(&data_dir(), PriceTable::default()).unwrap();
    assert!(matches!(b.complete(&Request::solve("gpt-4o", 0)), Err(LlmError::UnknownModel { .. })));
    assert!(matches!(b.complete(&Request::solve(GPT_4_1106, 1319)), Err(LlmError::QuestionOutOfRange { .. })));
    assert!(matches!(b.complete(&Request::verify(GPT_4_1106, 0, "x")), Err(LlmError::Unsupported { .. })));
    let no_mixtral =
        PriceTable { models: PriceTable::default().models.into_iter().filter(|(k, _)| k != MIXTRAL_8X7B).collect() };
    assert!(matches!(ReplayBackend::load(&data_dir(), no_mixtral), Err(LlmError::UnknownModel { .. })));
    let e = ReplayBackend::load(std::path::Path::new("/nonexistent"), PriceTable::default()).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/gsm8k/test.jsonl"), "{e}");
}
