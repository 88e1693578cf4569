//! RouteLLM's metrics for math runs ([`crate::routellm`] computes them): the reference accuracies of the
//! held-out questions, RouteLLM's list of contaminated GSM8K prompts, and every method's front per seed.
//!
//! A method's front on a set of questions is its operating points there (one per lambda for a learning method,
//! one for a fixed strategy) plus the two single-model endpoints, cheap-only at strong share 0 and
//! strong-only at strong share 1: every router reaches them, and RouteLLM's threshold sweeps contain them (the
//! lowest threshold sends every question to the strong model, the highest none). For the cost-based variant,
//! `x` is the method's USD per question relative to strong-only's on the same questions, with cheap-only at its
//! own relative cost.

use std::path::Path;

use baton_envs::math::table::{CHEAP, STRONG};
use baton_envs::math::{EpisodeRecord, MathTable, Tally};
use baton_llm::data::Dataset;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::math::{MathJob, MathWorkload};
use crate::method::Method;
use crate::routellm::{Point, Published, RouterMetrics, PUBLISHED_GSM8K};
use crate::ExperimentError;

/// RouteLLM's contaminated GSM8K prompts, under the data directory.
pub const CONTAMINATED_FILE: &str = "routellm-gsm8k/contaminated_prompts.jsonl";

/// The file is 6,282 bytes; anything far larger is not it.
const MAX_CONTAMINATED_BYTES: u64 = 1 << 20;

#[derive(Deserialize)]
struct ContaminatedLine {
    eval_prompt: String,
    eval_idx: usize,
}

/// Per question of `data`: whether it is one of RouteLLM's contaminated prompts. A prompt is matched by its
/// exact text, as RouteLLM's benchmark drops them (`isin` on the prompt column); every listed prompt must match
/// the question at its `eval_idx`.
pub fn contaminated(dir: &Path, data: &Dataset) -> Result<Vec<bool>, ExperimentError> {
    let path = dir.join(CONTAMINATED_FILE);
    let io = |message: String| ExperimentError::Io { path: path.display().to_string(), message };
    let meta = std::fs::metadata(&path).map_err(|e| io(format!("cannot read: {e}")))?;
    if meta.len() > MAX_CONTAMINATED_BYTES {
        return Err(io(format!("{} bytes: larger than RouteLLM's list can be", meta.len())));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| io(format!("cannot read: {e}")))?;
    let mut out = vec![false; data.len()];
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let c: ContaminatedLine = serde_json::from_str(line)
            .map_err(|e| io(format!("line {}: not a contaminated-prompt record: {e}", n + 1)))?;
        match data.problems.get(c.eval_idx) {
            Some(p) if p.question == c.eval_prompt => out[c.eval_idx] = true,
            _ => {
                return Err(io(format!(
                    "line {}: eval_idx {} is not that prompt's question in the data set",
                    n + 1,
                    c.eval_idx
                )))
            }
        }
    }
    Ok(out)
}

/// Which held-out questions a figure is computed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subset {
    /// Every held-out question.
    HeldOut,
    /// The held-out questions not in RouteLLM's contaminated list.
    HeldOutDecontaminated,
}

impl Subset {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Subset::HeldOut => "held-out",
            Subset::HeldOutDecontaminated => "held-out-decontaminated",
        }
    }
}

/// Cheap-only and strong-only on one subset of the held-out questions: PGR's two ends.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The subset.
    pub subset: Subset,
    /// Questions in it.
    pub questions: usize,
    /// Held-out questions left out of it (RouteLLM's contaminated prompts).
    pub excluded: usize,
    /// Cheap-only's accuracy on them (decimal-aware grader).
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cheap_accuracy: f64,
    /// Strong-only's accuracy on them.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub strong_accuracy: f64,
    /// Cheap-only's USD per 1000 of them.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub cheap_cost_per_1k_usd: f64,
    /// Strong-only's USD per 1000 of them.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub strong_cost_per_1k_usd: f64,
}

impl Reference {
    /// The reference of `subset` of `test` (question indices into `table`).
    pub fn of(table: &MathTable, test: &[u32], contaminated: &[bool], subset: Subset) -> Self {
        let keep: Vec<usize> = test.iter().map(|&q| q as usize).filter(|&q| subset.keeps(contaminated, q)).collect();
        let n = keep.len().max(1) as f64;
        let acc = |m: usize| keep.iter().filter(|&&q| table.rows[q].answers[m].correct).count() as f64 / n;
        let cost = |m: usize| 1000.0 * keep.iter().map(|&q| table.rows[q].answers[m].cost_usd).sum::<f64>() / n;
        Reference {
            subset,
            questions: keep.len(),
            excluded: test.len() - keep.len(),
            cheap_accuracy: acc(CHEAP),
            strong_accuracy: acc(STRONG),
            cheap_cost_per_1k_usd: cost(CHEAP),
            strong_cost_per_1k_usd: cost(STRONG),
        }
    }

    /// PGR of `accuracy` against this reference.
    pub fn pgr(&self, accuracy: f64) -> f64 {
        crate::routellm::pgr(accuracy, self.cheap_accuracy, self.strong_accuracy)
    }
}

impl Subset {
    fn keeps(self, contaminated: &[bool], q: usize) -> bool {
        self == Subset::HeldOut || !contaminated.get(q).copied().unwrap_or(false)
    }
}

/// The totals of the records of `subset`.
pub fn tally(records: &[EpisodeRecord], contaminated: &[bool], subset: Subset) -> Tally {
    let mut t = Tally::default();
    for r in records.iter().filter(|r| subset.keeps(contaminated, r.question)) {
        t.add(r);
    }
    t
}

/// Whether `method` can call the critic at all (the fixed strategies and the prompt-only arm never do).
pub fn may_call_critic(method: Method) -> bool {
    matches!(method, Method::IcQ | Method::Oracle | Method::NoScalar | Method::Random)
}

/// The critic behind a row of `method` in a run whose critic is `critic`.
pub fn critic_label(method: Method, critic: baton_envs::math::CriticKind) -> &'static str {
    if may_call_critic(method) {
        critic.name()
    } else {
        baton_envs::math::CriticKind::None.name()
    }
}

/// RouteLLM's metrics of one method on one subset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontMetrics {
    /// Method.
    pub method: Method,
    /// The critic behind its figures (`none`, `label-simulated`, `backend`).
    pub critic: Cow<'static, str>,
    /// The questions.
    pub subset: Subset,
    /// Operating points per seed, the two endpoints included.
    pub points: usize,
    /// APGR and CPT with `x` = the share of questions on which the strong solver was called.
    pub calls: RouterMetrics,
    /// The same with `x` = USD per question relative to strong-only's.
    pub cost: RouterMetrics,
    /// How the method's setting differs from RouteLLM's routers, in one sentence.
    pub setting: Cow<'static, str>,
}

/// How `method`'s setting differs from RouteLLM's routers (which read the prompt only, call one model and are
/// trained on other data), in one sentence.
pub fn setting(method: Method) -> &'static str {
    match method {
        Method::IcQ => {
            "baton's decentralized learner: the agents read the cheap answer's checker verdict, the two \
                        answers' agreement and lengths before escalating, and may call both models; trained on the \
                        other half of GSM8K test"
        }
        Method::Oracle => {
            "the same learner on every agent's pooled state: an upper reference that no single agent \
                           could run"
        }
        Method::NoScalar => "IC-Q without the receiver's scalar (ablation)",
        Method::PromptOnly => {
            "baton's learner in RouteLLM's setting: one decision from the question's length and \
                               number count only, one model per question; trained on the other half of GSM8K test"
        }
        Method::Cascade => "a fixed rule, no training: GPT-4 only when the arithmetic checker flags Mixtral's answer",
        Method::BothTie => "a fixed rule: both models on every question, GPT-4's answer on a disagreement",
        Method::CheapOnly | Method::StrongOnly => "one model for every question: a point of the random router's line",
        Method::Random => "uniformly random legal handoffs (not RouteLLM's random router)",
        _ => "",
    }
}

/// The RouteLLM block of a math summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteLlmSection {
    /// PGR's ends per subset.
    pub references: Vec<Reference>,
    /// Per method (config order) and subset.
    pub fronts: Vec<FrontMetrics>,
    /// RouteLLM's published GSM8K rows (empty for other data sets).
    pub published: Vec<Published>,
}

/// The block for a run's jobs.
pub fn section(math: &MathWorkload, methods: &[Method], jobs: &[MathJob]) -> RouteLlmSection {
    let decontaminated = math.contaminated.iter().any(|&c| c);
    let subsets: &[Subset] =
        if decontaminated { &[Subset::HeldOut, Subset::HeldOutDecontaminated] } else { &[Subset::HeldOut] };
    let references: Vec<Reference> =
        subsets.iter().map(|&s| Reference::of(&math.table, &math.test, &math.contaminated, s)).collect();
    let mut seeds: Vec<u64> = jobs.iter().map(|j| j.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut fronts = Vec::new();
    for &method in methods {
        for r in &references {
            let (w, s) = (r.cheap_accuracy, r.strong_accuracy);
            let cost_w = r.cheap_cost_per_1k_usd / r.strong_cost_per_1k_usd;
            let mut calls = Vec::new();
            let mut cost = Vec::new();
            let mut points = 0;
            for &seed in &seeds {
                let mut c = vec![Point { x: 0.0, accuracy: w }, Point { x: 1.0, accuracy: s }];
                let mut u = vec![Point { x: cost_w, accuracy: w }, Point { x: 1.0, accuracy: s }];
                for j in jobs.iter().filter(|j| j.method == method && j.seed == seed) {
                    let t = tally(&j.records, &math.contaminated, r.subset);
                    let n = t.episodes.max(1) as f64;
                    let accuracy = t.correct as f64 / n;
                    c.push(Point { x: t.strong_calls as f64 / n, accuracy });
                    u.push(Point { x: 1000.0 * t.cost_usd / n / r.strong_cost_per_1k_usd, accuracy });
                }
                points = c.len();
                calls.push((c, w, s));
                cost.push((u, w, s));
            }
            fronts.push(FrontMetrics {
                method,
                critic: critic_label(method, math.critic()).into(),
                subset: r.subset,
                points,
                calls: RouterMetrics::over_seeds(&calls),
                cost: RouterMetrics::over_seeds(&cost),
                setting: setting(method).into(),
            });
        }
    }
    let published = if math.has_routellm() { PUBLISHED_GSM8K.to_vec() } else { Vec::new() };
    RouteLlmSection { references, fronts, published }
}
