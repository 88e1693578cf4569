//! Integration tests of `baton-solve` (one test binary, modules by topic).

#![allow(clippy::unwrap_used)]

mod chain;
mod evaluate;
mod interface;
mod models;
mod policy;
mod scale;
mod value;
