//! Integration tests of baton-llm against the real data (GSM8K, MathQA, the RouteLLM recording).

mod anchors;
#[cfg(feature = "live")]
mod live;
mod replay;
mod simulated;

use std::path::PathBuf;

/// The data directory: `BATON_DATA_DIR`, default the repository's `data/` folder.
pub fn data_dir() -> PathBuf {
    let dir = baton_llm::data::data_dir();
    assert!(dir.join("gsm8k/test.jsonl").exists(), "no gsm8k/test.jsonl: {}", baton_llm::data::data_dir_help());
    dir
}
