//! The workflow's fixed strategies (no learning), written as policies over the agents' own observations'
//! content: each reads only what the holder could see.

use baton_core::{ActionId, AgentId};

use super::env::{
    Features, Verdict, AGENT_CHEAP, AGENT_CHECKER, AGENT_SUBMIT, SUBMIT_CHEAP, SUBMIT_STRONG, TO_CHEAP, TO_CHECKER,
    TO_STRONG,
};
use super::table::CHEAP;

/// A fixed strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Desk -> cheap solver -> submit its answer.
    CheapOnly,
    /// Desk -> strong solver -> submit its answer.
    StrongOnly,
    /// Desk -> cheap solver -> checker; submit the cheap answer unless the checker flags it, else strong
    /// solver -> submit the strong answer.
    Cascade,
    /// Desk -> cheap -> strong; submit the shared answer when they agree, and on a tie (they disagree) the
    /// strong model's answer.
    BothTie,
}

impl Strategy {
    /// The action of `agent` on the artifact with `features`.
    pub fn action(self, agent: AgentId, f: &Features) -> ActionId {
        let flagged = |m: usize| f.answers[m].check == Verdict::Flagged;
        match (self, agent) {
            (Strategy::CheapOnly, AGENT_SUBMIT) => TO_CHEAP,
            (Strategy::CheapOnly, _) => SUBMIT_CHEAP,
            (Strategy::StrongOnly, AGENT_SUBMIT) => TO_STRONG,
            (Strategy::StrongOnly, _) => SUBMIT_STRONG,
            (Strategy::Cascade, AGENT_SUBMIT) => TO_CHEAP,
            (Strategy::Cascade, AGENT_CHEAP) => TO_CHECKER,
            (Strategy::Cascade, AGENT_CHECKER) => {
                if flagged(CHEAP) {
                    TO_STRONG
                } else {
                    SUBMIT_CHEAP
                }
            }
            (Strategy::Cascade, _) => SUBMIT_STRONG,
            (Strategy::BothTie, AGENT_SUBMIT) => TO_CHEAP,
            (Strategy::BothTie, AGENT_CHEAP) => TO_STRONG,
            (Strategy::BothTie, _) => SUBMIT_STRONG,
        }
    }
}
