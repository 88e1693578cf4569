//! placeholder
pub mod backend;
pub mod checker;
pub mod data;
pub mod error;
pub mod grade;
pub mod price;
pub mod replay;
pub mod tokens;
