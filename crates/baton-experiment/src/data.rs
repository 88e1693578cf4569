//! Where the data baton ships (GSM8K, MathQA, the recording, routing topologies) is read from: one definition,
//! in `baton_llm::data`, re-exported here.

pub use baton_llm::data::{data_dir, data_dir_help, BUILT_IN_DATA_DIR, DATA_DIR_VAR};

/// Where a data file named in a config lives: an absolute path as is; a relative path that exists from the working
/// directory (e.g. `tests/data/x.edges`) as is; any other relative path under [`data_dir`] (`$BATON_DATA_DIR`,
/// default the repository's `data/` folder).
pub fn resolve_data_path(path: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(path);
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    data_dir().join(p)
}
