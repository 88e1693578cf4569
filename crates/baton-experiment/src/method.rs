//! The methods a run can compare, by their stable names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A method a run can compare. Names are stable (they key `summary.json` rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Exact optimum V* by SMDP value iteration (no learning).
    Optimal,
    /// Decentralized tabular IC-Q: each agent its own table, one scalar per handoff.
    IcQ,
    /// Decentralized neural IC-Q (model.md 3) beside the tabular one: each agent its own two-layer ReLU network from
    /// `[learner.network]`, one scalar per handoff (routing and cpu runs; a synthetic run makes every learner
    /// neural with `[learner.network]` instead).
    IcQNeural,
    /// Centralized oracle: the same tabular learner on the joint state.
    Oracle,
    /// Ablation: each agent bootstraps on its own next decision; nothing crosses between agents.
    NoScalar,
    /// Uniformly random legal action at every decision (no learning).
    Random,
    /// The workload's hand-written fixed pipeline (synthetic: pass round-robin, submit when all seen
    /// components are at the top level); no learning.
    RoundRobin,
    /// Routing: static hop-count shortest paths, a random shortest path per packet; no learning.
    ShortestPath,
    /// Math: the cheap solver answers, its answer is submitted.
    CheapOnly,
    /// Math: the strong solver answers, its answer is submitted.
    StrongOnly,
    /// Math: the cheap solver answers and the checker checks; escalate to the strong solver when flagged.
    Cascade,
    /// Math: both solvers answer; the shared answer when they agree, the strong model's on a tie.
    BothTie,
    /// CPU: write, test, debug, test, optimize, test, submit, whatever the tests say.
    FixedPipeline,
    /// Math: IC-Q in RouteLLM's setting: the desk sees only the question's context (known before any model
    /// answers) and picks one solver, whose answer is submitted.
    PromptOnly,
}

impl Method {
    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Optimal => "optimal",
            Method::IcQ => "ic-q",
            Method::IcQNeural => "ic-q-neural",
            Method::Oracle => "oracle",
            Method::NoScalar => "no-scalar",
            Method::Random => "random",
            Method::RoundRobin => "round-robin",
            Method::ShortestPath => "shortest-path",
            Method::CheapOnly => "cheap-only",
            Method::StrongOnly => "strong-only",
            Method::Cascade => "cascade",
            Method::BothTie => "both-tie",
            Method::FixedPipeline => "fixed-pipeline",
            Method::PromptOnly => "prompt-only",
        }
    }

    /// Whether the method learns (and so runs once per seed).
    pub fn learns(self) -> bool {
        matches!(self, Method::IcQ | Method::IcQNeural | Method::Oracle | Method::NoScalar | Method::PromptOnly)
    }

    /// Whether the method exists only for the math workload.
    pub fn math_only(self) -> bool {
        matches!(self, Method::CheapOnly | Method::StrongOnly | Method::Cascade | Method::BothTie | Method::PromptOnly)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
