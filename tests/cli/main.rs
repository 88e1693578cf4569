//! End-to-end tests of the `baton` command line.
//!
//! Every test runs the real binary (`CARGO_BIN_EXE_baton`) on a tiny config written into its own temporary
//! directory, so the tests are independent of each other and of the working directory, and each run takes
//! a fraction of a second.
//!
//! - [`run`]: what a successful `baton run` writes, determinism, the `--seeds` override;
//! - [`bad_config`]: every invalid input exits with code 2, one clear error and no output directory;
//! - [`overwrite`]: earlier results are never damaged, and replaced only with `--force`;
//! - [`bench`]: `baton bench --json`;
//! - [`cpu`]: `baton cpu tasks | run | check` on TinyCPU programs;
//! - [`experiments`]: the shipped experiment configs are valid;
//! - [`shard`]: `baton run --shard I/N` and `baton merge` reproduce the unsharded run byte for byte;
//! - [`live_run`]: `baton run` on a math config with a live backend against a counting loopback server:
//!   the spend cap, record and replay, a killed run resumed;
//! - [`math_ask`]: `baton math ask` against a loopback OpenAI-compatible server, replay and simulated.

mod bad_config;
mod bench;
mod cpu;
mod experiments;
mod live_run;
mod math_ask;
mod overwrite;
mod routing;
mod run;
mod shard;
mod support;
mod sweep;
