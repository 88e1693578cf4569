//! The learner's configuration, validated into checked types before any learner sees it.

use serde::{Deserialize, Serialize};

use crate::behaviour::Behaviour;
use crate::step::StepSize;
use crate::LearnError;

/// How every learner of a run updates and explores. TOML table `[learner]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnerConfig {
    /// Step-size exponent omega in (1/2, 1]: after the n-th visit of an entry, alpha = 1/(n+1)^omega.
    pub step_exponent: f64,
    /// A constant step size alpha in (0, 1] used instead of the polynomial schedule when set.
    pub constant_step_size: Option<f64>,
    /// Behaviour policy that picks actions while learning (SPEC 2 step 1).
    pub behaviour: BehaviourConfig,
}

/// Behaviour policy, by `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BehaviourConfig {
    /// Uniform over legal actions (off-policy; the fixed beta of SPEC 5).
    Uniform,
    /// Epsilon-greedy on the agent's own Q.
    EpsilonGreedy {
        /// Exploration probability epsilon in [0, 1].
        epsilon: f64,
    },
    /// Greedy on the agent's own Q, ties broken uniformly at random, no exploration (Q-routing's rule).
    Greedy,
    /// Sticky behaviour of SPEC 5: repeat the previous handoff's action with probability kappa, else uniform.
    Sticky {
        /// Stickiness kappa in [0, 1).
        kappa: f64,
    },
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig { step_exponent: 0.8, constant_step_size: None, behaviour: BehaviourConfig::Uniform }
    }
}

/// A validated learner configuration.
#[derive(Clone, Debug)]
pub struct LearnerParams {
    /// The step-size schedule.
    pub step: StepSize,
    /// The behaviour policy.
    pub behaviour: Behaviour,
}

impl LearnerConfig {
    /// Check every field; errors name the field (as written in TOML, under `learner.`) and the reason.
    pub fn validate(&self) -> Result<LearnerParams, LearnError> {
        let bad = |field: &str, reason: String| LearnError::InvalidConfig { field: format!("learner.{field}"), reason };
        let step = match self.constant_step_size {
            Some(a) => {
                if !(a.is_finite() && a > 0.0 && a <= 1.0) {
                    return Err(bad("constant_step_size", format!("must be in (0, 1], got {a}")));
                }
                StepSize::Constant(a)
            }
            None => {
                let w = self.step_exponent;
                if !(w.is_finite() && w > 0.5 && w <= 1.0) {
                    return Err(bad("step_exponent", format!("omega must be in (1/2, 1], got {w}")));
                }
                StepSize::polynomial(w)
            }
        };
        let behaviour = match self.behaviour {
            BehaviourConfig::Uniform => Behaviour::Uniform,
            BehaviourConfig::EpsilonGreedy { epsilon } => {
                if !(epsilon.is_finite() && (0.0..=1.0).contains(&epsilon)) {
                    return Err(bad("behaviour.epsilon", format!("must be in [0, 1], got {epsilon}")));
                }
                Behaviour::EpsilonGreedy { epsilon }
            }
            BehaviourConfig::Greedy => Behaviour::Greedy,
            BehaviourConfig::Sticky { kappa } => {
                if !(kappa.is_finite() && (0.0..1.0).contains(&kappa)) {
                    return Err(bad("behaviour.kappa", format!("must be in [0, 1), got {kappa}")));
                }
                Behaviour::Sticky { kappa }
            }
        };
        Ok(LearnerParams { step, behaviour })
    }
}
