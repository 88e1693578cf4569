//! The crate's one error type, and its mapping to HTTP status codes and JSON-RPC error codes (in one place).

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong in an agent service, its client or its checkpoints.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// A configuration field is out of range or inconsistent (field dotted as in TOML).
    #[error("{file}: invalid config field `{field}`: {reason}")]
    Config {
        /// The config file (or `<inline>`).
        file: String,
        /// The offending field.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A checkpoint file exists but is not a valid checkpoint of this agent.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it is rejected.
        reason: String,
    },
    /// The request carries no bearer token, or one no peer holds.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The request is authenticated but names a sender or agent this agent does not know.
    #[error("unknown agent: {0}")]
    UnknownAgent(String),
    /// The request body is larger than `limits.max_body_bytes`.
    #[error("request body too large: {size} bytes, limit {limit}")]
    TooLarge {
        /// Size seen (or announced).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The body is not JSON (JSON-RPC parse error).
    #[error("parse error: {0}")]
    Parse(String),
    /// The body is JSON but not a JSON-RPC 2.0 request of the expected shape.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The JSON-RPC method is not one this agent serves.
    #[error("method not found: {0}")]
    MethodNotFound(String),
    /// The message is well-formed JSON-RPC but its content is out of range (artifact, metadata, scalar).
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The agent is at `limits.max_in_flight` workflows.
    #[error("busy: {0}")]
    Busy(String),
    /// A call to a peer failed (connection, deadline, HTTP status, or a reply that breaks the protocol).
    #[error("call to {peer} failed: {reason}")]
    Peer {
        /// The peer called.
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// A user-defined option's hook failed: unreachable, late, or a reply that breaks the hook contract.
    #[error("option hook {hook} failed: {reason}")]
    Hook {
        /// The hook: its URL, or `command <program>`.
        hook: String,
        /// What went wrong.
        reason: String,
    },
    /// A workload or learner rejected something (a bug if it happens after validation).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// A [`ServiceError::Config`].
    pub fn config(file: impl Into<String>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Config { file: file.into(), field: field.into(), reason: reason.into() }
    }

    /// A [`ServiceError::Io`].
    pub fn io(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        ServiceError::Io { path: path.into(), reason: err.to_string() }
    }

    /// The HTTP status and JSON-RPC error code this error is answered with.
    pub fn codes(&self) -> (u16, i64) {
        match self {
            ServiceError::Unauthorized(_) => (401, -32001),
            ServiceError::UnknownAgent(_) => (403, -32002),
            ServiceError::TooLarge { .. } => (413, -32003),
            ServiceError::Parse(_) => (400, -32700),
            ServiceError::InvalidRequest(_) => (400, -32600),
            ServiceError::MethodNotFound(_) => (404, -32601),
            ServiceError::InvalidParams(_) => (400, -32602),
            ServiceError::Busy(_) => (503, -32004),
            ServiceError::Peer { .. } => (502, -32005),
            ServiceError::Hook { .. } => (502, -32006),
            ServiceError::Config { .. }
            | ServiceError::Io { .. }
            | ServiceError::Checkpoint { .. }
            | ServiceError::Internal(_) => (500, -32603),
        }
    }
}
