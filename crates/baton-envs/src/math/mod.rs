//! # The multi-LLM math workflow (model.md 6.4) as an IC-SMDP
//!
//! One artifact per episode: a math question, drawn from a fixed seeded split (the train half for learning,
//! the held-out half for evaluation). Five agents hand it to each other:
//!
//! | agent | work on receipt | observation (interface + private) | size |
//! |---|---|---|---|
//! | 0 cheap solver (Mixtral-8x7B) | answers (once) | strong answer: absent / agrees / disagrees; a check pending; a critique pending; own response long; question long | 48 |
//! | 1 strong solver (GPT-4-1106) | answers (once) | cheap answer: absent / agrees / disagrees; a check pending; a critique pending; question long | 24 |
//! | 2 arithmetic checker (tool, free) | checks every unchecked answer (`baton_llm::checker`) | per answer: absent, or checker and critic verdicts (pending / fine / flagged); agreement; cheap response long; private: held before | 800 (`narrow`: its own verdicts only, a critique pending: 144) |
//! | 3 LLM critic | judges every unjudged answer (one paid call each) | per answer: absent, or checker and critic verdicts; agreement; private: held before | 400 (`narrow`: its own verdicts only, a check pending: 72) |
//! | 4 submit desk | receives the question; submits | per answer: absent, or checker and critic verdicts (pending / fine / flagged); agreement; private: held before | 400 |
//!
//! The sizes are those of `interfaces = "verdicts"` (the default): a verdict written on the artifact is visible
//! to every tool that later holds it. With `interfaces = "narrow"` (the original design) the checker and the
//! critic each see only their own tool's verdicts; that hides from the critic that the checker flagged an
//! answer, and from the checker what the critic said, which measurably cost IC-Q accuracy (docs/deviations.md).
//! "Question long" is the question text's `cl100k_base` length against the data set's median, known before
//! any call; "response long" is a response's output tokens against that model's median on the data set.
//!
//! Work happens **on receipt**, so each agent observes the result of its own work before it chooses, and the
//! sender's option reward carries the cost of the work it asked for. Every agent has the same seven actions:
//! hand to the cheap solver, the strong solver, the checker, the critic or the desk, or submit the cheap or
//! the strong answer (ends the episode). Legal: a solver only before it has answered, the checker (critic)
//! only while some answer is unchecked (unjudged), the desk only once an answer exists, a submit only of an
//! existing answer. Every handoff therefore does new work or reaches the desk, and the desk cannot hand to
//! itself: an episode ends within 14 handoffs under any policy. The episode starts with the desk holding the
//! question, so either solver can be called first.
//!
//! Reward: a handoff earns `-lambda * cost` (USD of the receiver's calls; prices from the backend's token
//! counts and the price table); a submission earns `1[submitted answer right]` under the decimal-aware grader
//! (`baton_llm::grade::is_correct`). `tau = 1` per handoff.
//!
//! No observation, the centralized oracle's included, depends on whether an answer is right. The critic's
//! verdict is a noisy function of it, as a real critic's would be: with the simulated backend the critic is the
//! backend's own (`Task::Verify`, with the configured rates); in replay mode the recording holds no critic
//! outputs, so the critic is simulated from the label with the configured true and false positive rates,
//! seeded per (question, answer), and priced as the critic model reading the question and the answer.
//!
//! The oracle ([`env::oracle_spec`], [`baton_core::JointState`]) is one learner on the pooled state: the
//! holder, both answers with every verdict, agreement, both length buckets and every private state.

pub mod config;
pub mod env;
pub mod strategy;
pub mod table;

pub use config::{BackendKind, CriticConfig, CriticKind, Math, MathConfig};
pub use env::{Calls, EpisodeRecord, MathEnv, MathEpisodes, Order, Tally, Workflow};
pub use strategy::Strategy;
pub use table::{CriticSource, MathTable, QuestionRow, Solved, SolverAnswer, TableParams, Thresholds};
