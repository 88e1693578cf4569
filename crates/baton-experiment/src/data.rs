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

/// Largest experiment config file read, in bytes (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest data file read (routing topology, task file), in bytes (64 MiB).
pub const MAX_DATA_BYTES: u64 = 64 << 20;

/// Read the UTF-8 text of `path`, at most `cap` bytes: a larger file (or an endless one such as `/dev/zero`)
/// is refused after reading `cap + 1` bytes, and a regular file's size is checked before reading. `what` names
/// the file in the message ("config", "topology file").
pub fn read_capped(path: &std::path::Path, cap: u64, what: &str) -> Result<String, crate::ExperimentError> {
    use std::io::Read as _;
    let io = |message: String| crate::ExperimentError::Io { path: path.display().to_string(), message };
    let too_large = || io(format!("the {what} is larger than {cap} bytes, the most that is read"));
    let file = std::fs::File::open(path).map_err(|e| io(format!("cannot read {what}: {e}")))?;
    let meta = file.metadata().map_err(|e| io(format!("cannot read {what}: {e}")))?;
    if meta.is_dir() {
        return Err(io(format!("cannot read {what}: it is a directory")));
    }
    if meta.is_file() && meta.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(|e| io(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| io(format!("the {what} is not UTF-8 text: {e}")))
}
