//! The learner's configuration, validated into checked types before any learner sees it.

use serde::{Deserialize, Serialize};

use crate::behaviour::Behaviour;
use crate::neural::{Features, NeuralParams};
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
    /// Behaviour policy that picks actions while learning (model.md 2 step 1).
    pub behaviour: BehaviourConfig,
    /// Neural IC-Q (model.md 3): when set, every learner is a two-layer ReLU network instead of a table, and the
    /// step-size fields above are not used. TOML table `[learner.network]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfig>,
}

/// model.md 3's network. TOML table `[learner.network]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Width `m` (number of hidden ReLU units), 1..=65536.
    pub width: usize,
    /// Constant step `eta`, in (0, 10] (with rewards of order 1, 0.2 works; model.md 3).
    pub eta: f64,
    /// Projection radius `B` of `||W - W(0)||_F`, in (0, 1e12] (a large value switches the projection off).
    #[serde(default = "default_radius")]
    pub radius: f64,
    /// Feature map: `{ kind = "one-hot" }` or `{ kind = "random", dim = d }` (fixed random unit vectors).
    #[serde(default = "default_features")]
    pub features: FeaturesConfig,
    /// Neurons in pairs with equal `w` and opposite `b`, so the network starts at exactly 0 (needs an even
    /// width).
    #[serde(default = "default_symmetric")]
    pub symmetric: bool,
    /// Fraction of the updates after which the reported Polyak (tail) average starts, in [0, 1).
    #[serde(default = "default_tail")]
    pub tail_fraction: f64,
}

/// Feature map, by `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FeaturesConfig {
    /// One-hot over the agent's (observation, action) pairs.
    OneHot,
    /// Fixed random unit vectors in `R^dim`.
    Random {
        /// The dimension `d`, 1..=4096.
        dim: usize,
    },
}

// The tagged tables are read `kind` first (`baton_core::tagged`), so that an error inside one names its field
// (`learner.behaviour.epsilon`); each mirror is checked by the compiler against its enum's fields.

/// Reads [`FeaturesConfig`] (see `baton_core::tagged`).
#[derive(Deserialize)]
#[serde(remote = "FeaturesConfig", rename_all = "kebab-case", deny_unknown_fields)]
enum FeaturesDe {
    OneHot,
    Random { dim: usize },
}

/// Reads [`BehaviourConfig`] (see `baton_core::tagged`).
#[derive(Deserialize)]
#[serde(remote = "BehaviourConfig", rename_all = "kebab-case", deny_unknown_fields)]
enum BehaviourDe {
    Uniform,
    EpsilonGreedy { epsilon: f64 },
    Greedy,
    Sticky { kappa: f64 },
}

impl<'de> Deserialize<'de> for FeaturesConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        baton_core::tagged::kind_first(deserializer, |d| FeaturesDe::deserialize(d))
    }
}

impl<'de> Deserialize<'de> for BehaviourConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        baton_core::tagged::kind_first(deserializer, |d| BehaviourDe::deserialize(d))
    }
}

fn default_radius() -> f64 {
    1e6
}
fn default_features() -> FeaturesConfig {
    FeaturesConfig::OneHot
}
fn default_symmetric() -> bool {
    true
}
fn default_tail() -> f64 {
    0.5
}

/// Behaviour policy, by `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BehaviourConfig {
    /// Uniform over legal actions (off-policy; the fixed beta of model.md 5).
    Uniform,
    /// Epsilon-greedy on the agent's own Q.
    EpsilonGreedy {
        /// Exploration probability epsilon in [0, 1].
        epsilon: f64,
    },
    /// Greedy on the agent's own Q, ties broken uniformly at random, no exploration (Q-routing's rule).
    Greedy,
    /// Sticky behaviour of model.md 5: repeat the previous handoff's action with probability kappa, else uniform.
    Sticky {
        /// Stickiness kappa in [0, 1).
        kappa: f64,
    },
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig {
            step_exponent: 0.8,
            constant_step_size: None,
            behaviour: BehaviourConfig::Uniform,
            network: None,
        }
    }
}

/// Largest constant step `eta` of `[learner.network]`.
pub const MAX_ETA: f64 = 10.0;
/// Largest projection radius `B` of `[learner.network]` (far above any distance the weights travel, so it
/// already switches the projection off).
pub const MAX_RADIUS: f64 = 1e12;

/// A validated learner configuration.
#[derive(Clone, Debug)]
pub struct LearnerParams {
    /// The step-size schedule.
    pub step: StepSize,
    /// The behaviour policy.
    pub behaviour: Behaviour,
    /// Neural IC-Q's network, when configured, and the fraction of updates before its tail average starts.
    pub network: Option<(NeuralParams, f64)>,
}

impl LearnerConfig {
    /// Check every field; errors name the field (as written in TOML, under `learner.`) and the reason.
    pub fn validate(&self) -> Result<LearnerParams, LearnError> {
        let bad = |field: &str, reason: String| LearnError::InvalidConfig { field: format!("learner.{field}"), reason };
        let step = match self.constant_step_size {
            Some(a) => {
                if !(a.is_finite() && a > 0.0 && a <= 1.0) {
                    return Err(bad("constant_step_size", format!("must be in (0, 1], got {a:?}")));
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
        let network = match &self.network {
            None => None,
            Some(n) => {
                if !(1..=65536).contains(&n.width) {
                    return Err(bad("network.width", format!("must be in 1..=65536, got {}", n.width)));
                }
                if n.symmetric && n.width % 2 == 1 {
                    return Err(bad(
                        "network.width",
                        format!("a symmetric network needs an even width, got {}", n.width),
                    ));
                }
                // A step moves f(x) by up to eta times the TD error: above 2 every update overshoots its
                // target and the network diverges; 10 leaves room to show that without nonsense.
                if !(n.eta.is_finite() && n.eta > 0.0 && n.eta <= MAX_ETA) {
                    return Err(bad("network.eta", format!("must be in (0, {MAX_ETA}], got {:?}", n.eta)));
                }
                if !(n.radius.is_finite() && n.radius > 0.0 && n.radius <= MAX_RADIUS) {
                    return Err(bad("network.radius", format!("must be in (0, {MAX_RADIUS:e}], got {:?}", n.radius)));
                }
                if !(n.tail_fraction.is_finite() && (0.0..1.0).contains(&n.tail_fraction)) {
                    return Err(bad("network.tail_fraction", format!("must be in [0, 1), got {}", n.tail_fraction)));
                }
                let features = match n.features {
                    FeaturesConfig::OneHot => Features::OneHot,
                    FeaturesConfig::Random { dim } => {
                        if !(1..=4096).contains(&dim) {
                            return Err(bad("network.features.dim", format!("must be in 1..=4096, got {dim}")));
                        }
                        Features::Random { dim }
                    }
                };
                let params = NeuralParams {
                    width: n.width,
                    radius: n.radius,
                    eta: n.eta,
                    features,
                    symmetric: n.symmetric,
                    tail_start: 0,
                };
                Some((params, n.tail_fraction))
            }
        };
        Ok(LearnerParams { step, behaviour, network })
    }
}
