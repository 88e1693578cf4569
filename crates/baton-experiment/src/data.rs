//! Where the shared data (GSM8K, MathQA, routing topologies, task sets) is read from.

/// The environment variable naming the data directory (GSM8K, MathQA, routing topologies).
pub const DATA_DIR_VAR: &str = "BATON_DATA_DIR";
/// The data directory when the variable is unset, relative to the working directory (the project root).
pub const DEFAULT_DATA_DIR: &str = "../shared/data";

/// Where a data file named in a config lives: an absolute path as is; a relative path under
/// `$BATON_DATA_DIR` (default `../shared/data`); a relative path that exists from the working directory
/// (e.g. `tests/data/x.edges`) is taken as is first.
pub fn resolve_data_path(path: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(path);
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    let base = std::env::var_os(DATA_DIR_VAR).map_or_else(|| std::path::PathBuf::from(DEFAULT_DATA_DIR), Into::into);
    base.join(p)
}
