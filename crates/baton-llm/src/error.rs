//! Errors of data loading, configuration and backends.

use thiserror::Error;

/// Everything that can go wrong in this crate. Variants carry the file, line or row, model or field involved.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LlmError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file's path as given.
        path: String,
        /// The operating system's message, with a hint where useful.
        message: String,
    },
    /// A data file is malformed. `line` is the 1-based line (JSONL) or the 1-based data row (CSV, header excluded).
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file's path.
        path: String,
        /// 1-based line (JSONL) or data row (CSV).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two data files that must line up do not (e.g. the recording's row `row` is not test question `row`).
    #[error("{path}: row {row} does not match {other}: {reason}")]
    Misaligned {
        /// The file whose row disagrees.
        path: String,
        /// 1-based data row.
        row: usize,
        /// The file it should match.
        other: String,
        /// What differs.
        reason: String,
    },
    /// A configuration value is out of range or inconsistent. `field` is dotted as in TOML (`models.gpt-4o.input`).
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The backend or price table does not know this model.
    #[error("unknown model `{model}` (known: {known})")]
    UnknownModel {
        /// The model asked for.
        model: String,
        /// The models that are known, comma separated.
        known: String,
    },
    /// A question index beyond the data set.
    #[error("question {index} out of range: the data set has {len} questions")]
    QuestionOutOfRange {
        /// The index asked for (0-based).
        index: usize,
        /// The number of questions.
        len: usize,
    },
    /// The backend cannot serve this kind of request (e.g. a replay of solver outputs asked to verify).
    #[error("backend `{backend}` does not support {what}")]
    Unsupported {
        /// The backend's name.
        backend: String,
        /// What was asked.
        what: String,
    },
    /// The API key's environment variable is unset or empty.
    #[error("API key missing: set the environment variable {var}")]
    MissingApiKey {
        /// The variable's name.
        var: String,
    },
    /// An HTTP request failed (after retries) or the server's reply could not be understood.
    #[error("HTTP request to {url} failed: {message}")]
    Http {
        /// The endpoint.
        url: String,
        /// What went wrong (status, body excerpt or transport error).
        message: String,
    },
    /// The spend cap is reached: no new request is started.
    #[error("spend cap reached: {spent_usd:.4} USD spent of the {cap_usd} USD cap (workload.live.spend_cap_usd)")]
    SpendCap {
        /// The cap, USD.
        cap_usd: f64,
        /// Spent so far (the journal's recorded responses included), USD.
        spent_usd: f64,
    },
    /// A response could not be recorded in the journal (the call fails: an unrecorded reply is never used).
    #[error("cannot record the response in the journal: {0}")]
    Journal(String),
}

impl LlmError {
    /// An [`LlmError::InvalidConfig`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        LlmError::InvalidConfig { field: field.into(), reason: reason.into() }
    }

    /// An [`LlmError::Io`] for `path`.
    pub fn io(path: &std::path::Path, err: impl std::fmt::Display) -> Self {
        LlmError::Io { path: path.display().to_string(), message: format!("{err} ({})", crate::data::data_dir_help()) }
    }
}
