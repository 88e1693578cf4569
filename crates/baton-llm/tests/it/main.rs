//! Integration tests of baton-llm against the real data (GSM8K, MathQA, the RouteLLM recording).

mod anchors;
#[cfg(feature = "live")]
mod live;
mod replay;
mod simulated;

use std::path::PathBuf;

/// The shared data directory: `BATON_DATA_DIR`, or `../shared/data` from the project root.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("BATON_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("gsm8k/test.jsonl").exists(),
        "{} has no gsm8k/test.jsonl: set BATON_DATA_DIR to the shared data directory",
        dir.display()
    );
    dir
}
