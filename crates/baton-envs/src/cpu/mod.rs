//! # CPU programming with TinyCPU (model.md 6.3) as an IC-SMDP
//!
//! One artifact per episode: a TinyCPU task (from `baton_tinycpu`'s Hacker's Delight ladder and register
//! sorts) and the program being written for it. Five roles hand it to each other; each call is an option with
//! a random duration and a cost, and does its work **on receipt** (so each role observes the result of its own
//! work before it chooses):
//!
//! | role | work on receipt ([`roles`]) | cost | duration |
//! |---|---|---|---|
//! | writer | a new draft: a seeded model of an imperfect writer (the reference, broken by 1-2 random edits with probability `1 - skill^(len/2)`, padded with dead code); clears the test log | `writer.cost` | `min + U{0..=jitter}` |
//! | tester | runs `k` sampled inputs (edge values and uniform words) against the reference, logs pass/fail | `tester.cost + cost_per_test * k` | `min + U + k/256` |
//! | debugger | Metropolis MCMC with `baton_tinycpu::mutate` until the logged tests (and the visible examples) pass or its budget ends | `debugger.cost` | `min + U + proposals/proposals_per_step` |
//! | optimizer | peepholes and dead-code elimination, then cycle-cost MCMC constrained to the logged tests | `optimizer.cost` | the same |
//! | submit desk | nothing; it receives the task at the start and is the only role that can submit | 0 | 1 |
//!
//! Every role can hand to any other; the desk can also submit (ends the episode). Reward: a handoff earns
//! minus the receiver's call cost; a submission earns
//! `1[correct on the hidden exhaustive check] + speed_bonus * min(1, reference cycles / cycles)` for a correct
//! program, else 0. After `max_handoffs` handoffs the episode
//! ends unsubmitted (reward 0).
//!
//! Interfaces ([`env::observe`], model.md 6.3): the writer sees its draft against the visible examples; the tester
//! its own pass vector (as a failing fraction); the debugger the failing logged tests it leaves; the optimizer
//! cycles against the reference and a passes-logged flag; the desk the program's test state. Every role is
//! told the task's length (difficulty bucket). Under [`env::Interfaces::Verdicts`] (the default) every role
//! also sees what the ticket shows: the program's test state as the desk sees it, with the visible-examples
//! verdict the writer writes on its draft, and the deadline; [`env::Interfaces::Spec`] keeps the original
//! interfaces. No decentralized observation depends on hidden correctness under either:
//! small `k` lets wrong programs pass the log (the interface gap). The oracle ([`env::oracle_spec`],
//! [`baton_core::JointState`]) sees the whole artifact, hidden correctness included.
//!
//! Role results are cached per (program, tests, seed variant) in a [`world::CpuWorld`] so a run stays fast and
//! deterministic; see that module.

pub mod config;
pub mod env;
pub mod roles;
pub mod strategy;
pub mod world;

pub use config::{Cpu, CpuConfig, RoleCost};
pub use env::{CpuEnv, CpuEpisodes, EpisodeRecord, Interfaces, Order, Tally};
pub use world::{CpuWorld, ProgramInfo};
