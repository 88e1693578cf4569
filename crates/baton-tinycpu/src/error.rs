//! Errors of assembly and of task-file loading.

use std::fmt;

use thiserror::Error;

/// What is wrong with one line of assembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsmErrorKind {
    /// The first word is not a mnemonic of the instruction set.
    UnknownMnemonic(String),
    /// An operand that should be a register is not `r0`..`r5`.
    BadRegister(String),
    /// An operand that should be a number is not one.
    BadImmediate(String),
    /// A number outside the range its operand allows.
    ImmediateOutOfRange {
        /// The operand as written.
        text: String,
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A `jnz` names a label defined nowhere.
    UndefinedLabel(String),
    /// A label defined twice.
    DuplicateLabel {
        /// The label.
        label: String,
        /// The line of its first definition.
        first_line: usize,
    },
    /// A label that is not an identifier (letters, digits, `_` and `.`, not starting with a digit).
    BadLabel(String),
    /// The mnemonic takes a different number of operands.
    WrongOperandCount {
        /// The mnemonic, lower case.
        mnemonic: &'static str,
        /// How many operands it takes.
        expected: usize,
        /// How many were written.
        got: usize,
    },
    /// More instructions than [`crate::MAX_PROGRAM_LEN`].
    TooLong,
}

impl fmt::Display for AsmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsmErrorKind::UnknownMnemonic(m) => write!(f, "unknown mnemonic `{m}`"),
            AsmErrorKind::BadRegister(r) => write!(f, "bad register `{r}` (registers are r0 to r5)"),
            AsmErrorKind::BadImmediate(t) => write!(f, "bad number `{t}` (decimal, 0x hex or 0b binary)"),
            AsmErrorKind::ImmediateOutOfRange { text, min, max } => {
                write!(f, "immediate `{text}` out of range {min}..={max}")
            }
            AsmErrorKind::UndefinedLabel(l) => write!(f, "undefined label `{l}`"),
            AsmErrorKind::DuplicateLabel { label, first_line } => {
                write!(f, "label `{label}` already defined on line {first_line}")
            }
            AsmErrorKind::BadLabel(l) => {
                write!(f, "bad label `{l}` (letters, digits, `_` and `.`, not starting with a digit)")
            }
            AsmErrorKind::WrongOperandCount { mnemonic, expected, got } => {
                write!(f, "wrong operand count: `{mnemonic}` takes {expected}, got {got}")
            }
            AsmErrorKind::TooLong => write!(f, "program longer than {} instructions", crate::MAX_PROGRAM_LEN),
        }
    }
}

/// An assembly error: the 1-based line and the reason.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("line {line}: {kind}")]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// The reason.
    pub kind: AsmErrorKind,
}

/// Everything that can go wrong loading a task file or preparing a task.
#[derive(Debug, Error)]
pub enum TinyCpuError {
    /// The task file cannot be read.
    #[error("cannot read task file {file}: {reason}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        reason: String,
    },
    /// The task file is not valid TOML, or its top level is wrong.
    #[error("task file {file}: {reason}")]
    File {
        /// The file (or the name the text was given).
        file: String,
        /// Why it is rejected.
        reason: String,
    },
    /// One task of a task file is invalid.
    #[error("task file {file}, task `{task}`, field `{field}`: {reason}")]
    Task {
        /// The file (or the name the text was given).
        file: String,
        /// The task's name (or `#i` by position if it has no valid name).
        task: String,
        /// The offending field as spelled in TOML.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// No task of that name.
    #[error("no task `{name}` (known: {known})")]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The names available, comma-separated.
        known: String,
    },
}
