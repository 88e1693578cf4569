//! The simulated backend: calibrated models whose correctness falls with a question's difficulty and is
//! correlated across models, producing texts the grader and the checker can read.
//!
//! # The model
//! For model `m` with intercept `a_m` and slope `b_m`, question `q` with `steps_q` reasoning steps (see
//! [`crate::data::Problem::steps`]) and a shared latent `z_q ~ N(0, 1)` (one draw per question and seed, the
//! same for every model, so models err together):
//!
//! ```text
//! logit P(m right on q | z_q) = (a_m + b_m * steps_q) * sqrt(1 + pi * s^2 / 8) + s * z_q
//! ```
//!
//! The factor `sqrt(1 + pi s^2 / 8)` (the probit approximation of a logistic-normal mean) keeps each model's
//! accuracy averaged over `z_q` close to `sigmoid(a_m + b_m * steps_q)`, so `s` sets the correlation without
//! moving the calibrated accuracies. model.md 6.4's GSM8K values are the defaults: GPT-4-1106 `a = 2.61,
//! b = -0.24`, Mixtral-8x7B `a = 2.01, b = -0.39`.
//!
//! A wrong answer is the question's shared distractor (one per question and seed: a plausible slip such as
//! `g ± 1`, `2g`, `g / 2`) with probability `shared_wrong`, else a value of the model's own. So two wrong
//! models give the same answer with probability about `shared_wrong^2`. The defaults, `s = 1.1` and
//! `shared_wrong = 0.46`, reproduce the recording's pair statistics (see [`pair_rates`] and the tests):
//! both right 0.566, agreement (same final answer) 0.585, right when agreeing 0.968.
//!
//! # The texts
//! - Right: the reference solution, ending in `#### g` (the checker flags 2 of GSM8K's 1319 test references,
//!   both genuine slips in the reference: `$32 - $20 = $300`, `364 / 4 = 273`).
//! - Wrong, with probability `cut_off_when_wrong`: the reference cut off mid-number, no final answer (the
//!   checker flags `cut_off`).
//! - Wrong, with probability `arithmetic_slip_when_wrong`: the reference with the last `<<expr=c>>c` result
//!   replaced by the wrong value, which is also the final `#### w` (the checker flags an arithmetic error).
//! - Otherwise a silent error: the reference's reasoning with a final `#### w` that does not follow from it.
//!
//! MathQA answers are letters: right `#### c`, wrong `#### <other letter>` after the rationale; slips are silent
//! there (rationales have no annotations).
//!
//! A [`Task::Verify`] request is a critic: it grades the candidate against the gold and replies
//! `VERDICT: INCORRECT` with probability `verifier_detects_wrong` when the candidate is wrong and
//! `verifier_flags_right` when it is right.
//!
//! Every draw comes from a ChaCha8 generator seeded from `(seed, what, model, question)`, so a response depends
//! only on those (calls are order-independent and repeat exactly, like temperature-0 sampling).

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Request, Response, Task};
use crate::data::{Dataset, Gold, Problem};
use crate::error::LlmError;
use crate::grade;
use crate::price::{PriceTable, GPT_4_1106, MIXTRAL_8X7B};
use crate::tokens::{self, count_cl100k, few_shot_prefix, CHAT_OVERHEAD_TOKENS, FEW_SHOT};

/// One simulated model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedModel {
    /// Intercept `a` of the logit of being right.
    pub intercept: f64,
    /// Slope `b` of the logit per reasoning step (negative: longer problems are harder).
    pub slope_per_step: f64,
    /// Probability that a wrong answer is cut off mid-number without a final answer.
    pub cut_off_when_wrong: f64,
    /// Probability that a wrong answer shows a visible arithmetic slip (a wrong `<<expr=c>>` result).
    pub arithmetic_slip_when_wrong: f64,
    /// As a critic: probability of replying INCORRECT to a wrong candidate (true positive rate).
    pub verifier_detects_wrong: f64,
    /// As a critic: probability of replying INCORRECT to a right candidate (false positive rate).
    pub verifier_flags_right: f64,
}

/// The simulated backend's configuration. TOML:
///
/// ```toml
/// latent_scale = 1.1
/// shared_wrong = 0.46
/// [models."gpt-4-1106-preview"]
/// intercept = 2.61
/// slope_per_step = -0.24
/// cut_off_when_wrong = 0.0
/// arithmetic_slip_when_wrong = 0.01
/// verifier_detects_wrong = 0.7
/// verifier_flags_right = 0.1
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedConfig {
    /// Scale `s >= 0` of the shared per-question latent `z_q ~ N(0, 1)` in every model's logit.
    pub latent_scale: f64,
    /// Probability in [0, 1] that a wrong answer is the question's shared distractor.
    pub shared_wrong: f64,
    /// The models, by name (names should match the price table).
    pub models: BTreeMap<String, SimulatedModel>,
}

/// Calibrated latent scale (see the module doc).
pub const DEFAULT_LATENT_SCALE: f64 = 1.1;
/// Calibrated shared-distractor probability (see the module doc).
pub const DEFAULT_SHARED_WRONG: f64 = 0.46;

impl Default for SimulatedConfig {
    /// model.md 6.4's GPT-4-1106 and Mixtral-8x7B. Cut-off and slip rates are what the checker finds in the
    /// recording's wrong answers (Mixtral: 54 of 477 cut off, about 84 more with an arithmetic error; GPT-4: 0
    /// and 1 of 189). The critic rates are assumptions, not measurements: the recording has no critic outputs.
    fn default() -> Self {
        let m = |a, b, cut, slip, tp, fp| SimulatedModel {
            intercept: a,
            slope_per_step: b,
            cut_off_when_wrong: cut,
            arithmetic_slip_when_wrong: slip,
            verifier_detects_wrong: tp,
            verifier_flags_right: fp,
        };
        let models = [
            (GPT_4_1106.to_string(), m(2.61, -0.24, 0.0, 0.01, 0.7, 0.1)),
            (MIXTRAL_8X7B.to_string(), m(2.01, -0.39, 0.11, 0.18, 0.5, 0.2)),
        ];
        SimulatedConfig {
            latent_scale: DEFAULT_LATENT_SCALE,
            shared_wrong: DEFAULT_SHARED_WRONG,
            models: models.into_iter().collect(),
        }
    }
}

impl SimulatedConfig {
    /// Checks ranges: `latent_scale` finite and >= 0, probabilities in [0, 1], cut-off plus slip at most 1,
    /// intercepts and slopes finite, at least one model.
    pub fn validate(&self) -> Result<(), LlmError> {
        if !(self.latent_scale.is_finite() && self.latent_scale >= 0.0) {
            return Err(LlmError::invalid("latent_scale", format!("{} must be finite and >= 0", self.latent_scale)));
        }
        check_prob("shared_wrong", self.shared_wrong)?;
        if self.models.is_empty() {
            return Err(LlmError::invalid("models", "name at least one model"));
        }
        for (name, m) in &self.models {
            let f = |x: &str| format!("models.{name}.{x}");
            for (field, v) in [("intercept", m.intercept), ("slope_per_step", m.slope_per_step)] {
                if !v.is_finite() {
                    return Err(LlmError::invalid(f(field), format!("{v} is not finite")));
                }
            }
            check_prob(&f("cut_off_when_wrong"), m.cut_off_when_wrong)?;
            check_prob(&f("arithmetic_slip_when_wrong"), m.arithmetic_slip_when_wrong)?;
            check_prob(&f("verifier_detects_wrong"), m.verifier_detects_wrong)?;
            check_prob(&f("verifier_flags_right"), m.verifier_flags_right)?;
            if m.cut_off_when_wrong + m.arithmetic_slip_when_wrong > 1.0 {
                return Err(LlmError::invalid(
                    f("arithmetic_slip_when_wrong"),
                    "cut_off_when_wrong + arithmetic_slip_when_wrong must be at most 1",
                ));
            }
        }
        Ok(())
    }

    /// The model `name`, or [`LlmError::UnknownModel`].
    pub fn model(&self, name: &str) -> Result<&SimulatedModel, LlmError> {
        self.models.get(name).ok_or_else(|| LlmError::UnknownModel {
            model: name.to_string(),
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// The logit of `model` being right on a problem with `steps` steps given the latent `z`.
    pub fn logit(&self, model: &SimulatedModel, steps: u32, z: f64) -> f64 {
        let s = self.latent_scale;
        (model.intercept + model.slope_per_step * f64::from(steps)) * (1.0 + std::f64::consts::PI * s * s / 8.0).sqrt()
            + s * z
    }
}

fn check_prob(field: &str, p: f64) -> Result<(), LlmError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(LlmError::invalid(field, format!("{p} is not a probability in [0, 1]")))
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Expected pair statistics of two simulated models on a data set (integrated over the latent exactly, by
/// quadrature, not sampled).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairRates {
    /// Accuracy of the first model.
    pub accuracy_a: f64,
    /// Accuracy of the second model.
    pub accuracy_b: f64,
    /// Probability both are right.
    pub both_right: f64,
    /// Probability both are wrong.
    pub both_wrong: f64,
    /// Probability they give the same final answer: both right, or both wrong with the shared distractor
    /// (`both_wrong * shared_wrong^2`; private wrong values almost never coincide for numeric golds).
    pub agreement: f64,
    /// Probability both are right given they agree.
    pub right_when_agreeing: f64,
}

/// [`PairRates`] of models `a` and `b` of `cfg` on `problems`.
pub fn pair_rates(cfg: &SimulatedConfig, problems: &Dataset, a: &str, b: &str) -> Result<PairRates, LlmError> {
    let (ma, mb) = (cfg.model(a)?, cfg.model(b)?);
    // Trapezoid rule on [-8, 8] with the normal density, renormalised: ample for smooth integrands.
    const K: usize = 321;
    let nodes: Vec<(f64, f64)> = (0..K)
        .map(|i| {
            let z = -8.0 + 16.0 * i as f64 / (K - 1) as f64;
            (z, (-z * z / 2.0).exp())
        })
        .collect();
    let total: f64 = nodes.iter().map(|(_, w)| w).sum();
    let (mut acc_a, mut acc_b, mut br, mut bw) = (0.0, 0.0, 0.0, 0.0);
    for p in &problems.problems {
        for &(z, w) in &nodes {
            let pa = sigmoid(cfg.logit(ma, p.steps, z));
            let pb = sigmoid(cfg.logit(mb, p.steps, z));
            let w = w / total;
            acc_a += w * pa;
            acc_b += w * pb;
            br += w * pa * pb;
            bw += w * (1.0 - pa) * (1.0 - pb);
        }
    }
    let n = problems.len().max(1) as f64;
    let (acc_a, acc_b, br, bw) = (acc_a / n, acc_b / n, br / n, bw / n);
    let agreement = br + bw * cfg.shared_wrong * cfg.shared_wrong;
    Ok(PairRates {
        accuracy_a: acc_a,
        accuracy_b: acc_b,
        both_right: br,
        both_wrong: bw,
        agreement,
        right_when_agreeing: if agreement > 0.0 { br / agreement } else { 0.0 },
    })
}

/// How a sampled answer is written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    Right,
    Silent,
    Slip,
    CutOff,
}

/// Per-question precomputed state.
#[derive(Clone, Debug)]
struct QuestionState {
    latent: f64,
    /// The shared wrong answer: a number, or an option letter's index.
    distractor: Wrong,
    prompt_tokens: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Wrong {
    Number(f64),
    Letter(char),
}

/// The calibrated simulation of model.md 6.4 as a [`Backend`]. See the module doc.
#[derive(Clone, Debug)]
pub struct SimulatedBackend {
    cfg: SimulatedConfig,
    seed: u64,
    problems: Dataset,
    prices: PriceTable,
    questions: Vec<QuestionState>,
}

const TAG_LATENT: u64 = 1;
const TAG_SOLVE: u64 = 2;
const TAG_VERIFY: u64 = 3;

impl SimulatedBackend {
    /// A simulation over `problems` with prices `prices`, seeded by `seed`. Input tokens are counted for the
    /// prompt `prompt_prefix` + `"Question: {question}\nAnswer:"` (GSM8K: the 8-shot prefix, see
    /// [`crate::tokens`]; MathQA: the options are appended to the question). Every configured model must
    /// have a price.
    pub fn new(
        cfg: SimulatedConfig,
        seed: u64,
        problems: Dataset,
        prices: PriceTable,
        prompt_prefix: &str,
    ) -> Result<Self, LlmError> {
        cfg.validate()?;
        prices.validate()?;
        for name in cfg.models.keys() {
            prices.get(name)?;
        }
        let prefix_tokens = count_cl100k(prompt_prefix);
        let questions = problems
            .problems
            .iter()
            .enumerate()
            .map(|(q, p)| {
                let mut rng = draw_rng(seed, TAG_LATENT, 0, q as u64);
                let latent: f64 = rng.sample(StandardNormal);
                let distractor = match &p.gold {
                    Gold::Number(g) => Wrong::Number(shared_slip(*g, &mut rng)),
                    Gold::Choice { letter, options } => Wrong::Letter(other_letter(*letter, options, &mut rng)),
                };
                let prompt_tokens = prefix_tokens + count_cl100k(&tokens::example(&question_text(p), None));
                QuestionState { latent, distractor, prompt_tokens }
            })
            .collect();
        tracing::info!(questions = problems.len(), models = ?cfg.models.keys().collect::<Vec<_>>(), seed, "simulated backend ready");
        Ok(SimulatedBackend { cfg, seed, problems, prices, questions })
    }

    /// GSM8K test with the 8-shot prompt, loaded from `data_dir`.
    pub fn gsm8k(data_dir: &Path, cfg: SimulatedConfig, prices: PriceTable, seed: u64) -> Result<Self, LlmError> {
        let test = Dataset::gsm8k_test(data_dir)?;
        let train = Dataset::gsm8k_train(data_dir)?;
        Self::new(cfg, seed, test, prices, &few_shot_prefix(&train, FEW_SHOT))
    }

    /// MathQA test (zero-shot: the question and its options), loaded from `data_dir`.
    pub fn mathqa(data_dir: &Path, cfg: SimulatedConfig, prices: PriceTable, seed: u64) -> Result<Self, LlmError> {
        Self::new(cfg, seed, Dataset::mathqa_test(data_dir)?, prices, "")
    }

    /// The data set it answers.
    pub fn dataset(&self) -> &Dataset {
        &self.problems
    }

    /// The configuration.
    pub fn config(&self) -> &SimulatedConfig {
        &self.cfg
    }

    /// The shared latent `z_q` of question `q` under this seed.
    pub fn latent(&self, q: usize) -> Result<f64, LlmError> {
        Ok(self.state(q)?.latent)
    }

    /// The probability that `model` is right on question `q` given its latent.
    pub fn p_correct(&self, model: &str, q: usize) -> Result<f64, LlmError> {
        let m = self.cfg.model(model)?;
        let p = self.problems.get(q)?;
        Ok(sigmoid(self.cfg.logit(m, p.steps, self.state(q)?.latent)))
    }

    fn state(&self, q: usize) -> Result<&QuestionState, LlmError> {
        self.questions.get(q).ok_or(LlmError::QuestionOutOfRange { index: q, len: self.questions.len() })
    }

    fn solve(&self, model: &str, q: usize) -> Result<(String, bool), LlmError> {
        let m = self.cfg.model(model)?;
        let p = self.problems.get(q)?;
        let st = self.state(q)?;
        let mut rng = draw_rng(self.seed, TAG_SOLVE, fnv1a(model), q as u64);
        let p_right = sigmoid(self.cfg.logit(m, p.steps, st.latent));
        let right = rng.random::<f64>() < p_right;
        // Draw every number in a fixed order, used or not, so changing one rate does not reshuffle the rest.
        let u_form: f64 = rng.random();
        let u_shared: f64 = rng.random();
        let form = if right {
            Form::Right
        } else if u_form < m.cut_off_when_wrong {
            Form::CutOff
        } else if u_form < m.cut_off_when_wrong + m.arithmetic_slip_when_wrong {
            Form::Slip
        } else {
            Form::Silent
        };
        let wrong = if u_shared < self.cfg.shared_wrong {
            st.distractor
        } else {
            match &p.gold {
                Gold::Number(g) => Wrong::Number(private_slip(*g, st.distractor, &mut rng)),
                Gold::Choice { letter, options } => Wrong::Letter(other_letter(*letter, options, &mut rng)),
            }
        };
        let text = render(p, form, wrong, &mut rng);
        // The label is the grader's reading of the text (by construction the intended outcome).
        let label = grade::is_correct(&text, &p.gold);
        if label != right {
            tracing::warn!(model, q, "simulated text graded against its intent; using the silent form");
            let text = render(p, if right { Form::Right } else { Form::Silent }, wrong, &mut rng);
            return Ok((text, right));
        }
        Ok((text, right))
    }

    fn verify(&self, model: &str, q: usize, candidate: &str) -> Result<(String, String), LlmError> {
        let m = self.cfg.model(model)?;
        let p = self.problems.get(q)?;
        let mut rng = draw_rng(self.seed, TAG_VERIFY, fnv1a(model) ^ fnv1a(candidate).rotate_left(1), q as u64);
        let right = grade::is_correct(candidate, &p.gold);
        let flag = rng.random::<f64>() < if right { m.verifier_flags_right } else { m.verifier_detects_wrong };
        let text = if flag {
            "I re-derived the solution and it does not hold up.\nVERDICT: INCORRECT"
        } else {
            "I re-derived the solution and it holds up.\nVERDICT: CORRECT"
        };
        Ok((tokens::verify_prompt(&question_text(p), candidate), text.to_string()))
    }
}

impl Backend for SimulatedBackend {
    fn name(&self) -> &str {
        "simulated"
    }

    fn complete(&self, req: &Request) -> Result<Response, LlmError> {
        let price = self.prices.get(&req.model)?;
        let (text, input_cl, label) = match &req.task {
            Task::Solve => {
                let (text, right) = self.solve(&req.model, req.question)?;
                (text, self.state(req.question)?.prompt_tokens, Some(right))
            }
            Task::Verify { candidate } => {
                let (prompt, text) = self.verify(&req.model, req.question, candidate)?;
                (text, count_cl100k(&prompt), None)
            }
        };
        let input_tokens = price.billed_tokens(input_cl + CHAT_OVERHEAD_TOKENS);
        let output_tokens = price.billed_tokens(count_cl100k(&text));
        Ok(Response { text, input_tokens, output_tokens, cost_usd: price.cost(input_tokens, output_tokens), label })
    }
}

/// The question as shown to a model: GSM8K's question; MathQA's problem followed by its options.
pub fn question_text(p: &Problem) -> String {
    match &p.gold {
        Gold::Number(_) => p.question.clone(),
        Gold::Choice { options, .. } => {
            let opts: Vec<String> = options.iter().map(|(l, t)| format!("({l}) {t}")).collect();
            format!("{}\nOptions: {}", p.question, opts.join(" "))
        }
    }
}

fn draw_rng(seed: u64, tag: u64, model: u64, q: u64) -> ChaCha8Rng {
    let h = splitmix(seed ^ splitmix(tag ^ splitmix(model ^ splitmix(q))));
    ChaCha8Rng::seed_from_u64(h)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of a string: a stable per-model stream id.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// A plausible shared mistake for gold `g`: off by one, doubled, halved or off by ten.
fn shared_slip(g: f64, rng: &mut ChaCha8Rng) -> f64 {
    let candidates = [g + 1.0, g - 1.0, 2.0 * g, (g / 2.0).round(), g + 10.0, g - 10.0, g * 10.0];
    let ok: Vec<f64> =
        candidates.into_iter().filter(|w| !grade::same_number(*w, g) && (*w >= 0.0 || g < 0.0)).collect();
    ok.get(rng.random_range(0..ok.len().max(1))).copied().unwrap_or(g + 1.0)
}

/// A model's own wrong value: `g ± k`, `k` in 1..=40, never the gold or the distractor.
fn private_slip(g: f64, distractor: Wrong, rng: &mut ChaCha8Rng) -> f64 {
    let base = g.round();
    loop {
        let k = f64::from(rng.random_range(1..=40u32));
        let w = if rng.random::<bool>() || base - k < 0.0 { base + k } else { base - k };
        let clash = matches!(distractor, Wrong::Number(d) if grade::same_number(d, w));
        if !clash && !grade::same_number(w, g) {
            return w;
        }
    }
}

fn other_letter(gold: char, options: &[(char, String)], rng: &mut ChaCha8Rng) -> char {
    let others: Vec<char> = options.iter().map(|(l, _)| *l).filter(|l| *l != gold).collect();
    others.get(rng.random_range(0..others.len().max(1))).copied().unwrap_or(gold)
}

/// Formats a number as a model would write it (integers without decimals).
fn fmt_num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x}")
    }
}

/// The reasoning part of a reference: GSM8K's text before `####`; MathQA's rationale without its trailing
/// "answer : x".
fn body(p: &Problem) -> String {
    let text = p.reference.split("####").next().unwrap_or("").trim_end();
    match p.gold {
        Gold::Number(_) => text.to_string(),
        Gold::Choice { .. } => {
            let lower = text.to_ascii_lowercase();
            match lower.rfind("answer") {
                Some(k) if text.len() - k < 40 => text[..k].trim_end().to_string(),
                _ => text.to_string(),
            }
        }
    }
}

fn render(p: &Problem, form: Form, wrong: Wrong, rng: &mut ChaCha8Rng) -> String {
    let body = body(p);
    let final_line = |w: Wrong| match w {
        Wrong::Number(x) => format!("#### {}", fmt_num(x)),
        Wrong::Letter(c) => format!("#### {c}"),
    };
    match form {
        Form::Right => match &p.gold {
            Gold::Number(g) => format!("{body}\n#### {}", fmt_num(*g)),
            Gold::Choice { letter, .. } => format!("{body}\n#### {letter}"),
        },
        Form::Silent => format!("{body}\n{}", final_line(wrong)),
        Form::Slip => match (wrong, slip_last_annotation(&body, wrong)) {
            (Wrong::Number(_), Some(slipped)) => format!("{slipped}\n{}", final_line(wrong)),
            _ => format!("{body}\n{}", final_line(wrong)),
        },
        Form::CutOff => {
            // Cut right after a digit that another digit follows (mid-number), in the second half if possible.
            let b = body.as_bytes();
            let cuts: Vec<usize> =
                (1..b.len()).filter(|&i| b[i - 1].is_ascii_digit() && b[i].is_ascii_digit()).collect();
            let late: Vec<usize> = cuts.iter().copied().filter(|&i| i >= b.len() / 2).collect();
            let pool = if late.is_empty() { &cuts } else { &late };
            match pool.get(rng.random_range(0..pool.len().max(1))) {
                Some(&i) => body[..i].to_string(),
                None => body[..body.len() / 2].trim_end().to_string(),
            }
        }
    }
}

/// The body with its last annotation's result, `<<expr=c>>c`, replaced by the wrong value (in the annotation
/// and in the text right after it); `None` if there is no annotation.
fn slip_last_annotation(body: &str, wrong: Wrong) -> Option<String> {
    let Wrong::Number(w) = wrong else { return None };
    let open = body.rfind("<<")?;
    let close = open + body[open..].find(">>")?;
    let inner = &body[open + 2..close];
    let (expr, stated) = inner.rsplit_once('=')?;
    let after = &body[close + 2..];
    let w = fmt_num(w);
    let rest = after.strip_prefix(stated).unwrap_or(after);
    Some(format!("{}<<{expr}={w}>>{w}{rest}", &body[..open]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker;
    use crate::data::parse_gsm8k;

    fn tiny() -> Dataset {
        let lines = [
            r#"{"question": "Q0?", "answer": "She has 3 + 4 = <<3+4=7>>7 apples.\nThen 7 * 12 = <<7*12=84>>84 seeds.\n#### 84"}"#,
            r#"{"question": "Q1?", "answer": "It is 120 / 4 = <<120/4=30>>30 km.\n#### 30"}"#,
        ];
        Dataset { kind: crate::data::DatasetKind::Gsm8kTest, problems: parse_gsm8k(&lines.join("\n"), "t").unwrap() }
    }

    fn backend(cfg: SimulatedConfig, seed: u64) -> SimulatedBackend {
        SimulatedBackend::new(cfg, seed, tiny(), PriceTable::default(), "").unwrap()
    }

    #[test]
    fn same_seed_same_response_any_call_order() {
        let a = backend(SimulatedConfig::default(), 7);
        let b = backend(SimulatedConfig::default(), 7);
        let r1 = a.complete(&Request::solve(MIXTRAL_8X7B, 1)).unwrap();
        let _ = b.complete(&Request::solve(GPT_4_1106, 0)).unwrap();
        let r2 = b.complete(&Request::solve(MIXTRAL_8X7B, 1)).unwrap();
        assert_eq!(r1, r2);
        assert_eq!(a.latent(0).unwrap(), b.latent(0).unwrap());
    }

    #[test]
    fn every_form_is_readable_by_grader_and_checker() {
        let p = &tiny().problems[0];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let w = Wrong::Number(90.0);
        let right = render(p, Form::Right, w, &mut rng);
        assert!(grade::is_correct(&right, &p.gold) && !checker::check(&right).any(), "{right}");
        let silent = render(p, Form::Silent, w, &mut rng);
        assert!(!grade::is_correct(&silent, &p.gold) && !checker::check(&silent).any(), "{silent}");
        let slip = render(p, Form::Slip, w, &mut rng);
        assert!(!grade::is_correct(&slip, &p.gold) && checker::check(&slip).arithmetic_error(), "{slip}");
        assert!(slip.contains("<<7*12=90>>90 seeds"), "{slip}");
        let cut = render(p, Form::CutOff, w, &mut rng);
        assert!(checker::check(&cut).cut_off, "{cut:?}");
    }

    #[test]
    fn always_right_and_always_wrong_models_and_the_critic() {
        let mut cfg = SimulatedConfig { latent_scale: 0.0, ..SimulatedConfig::default() };
        for m in cfg.models.values_mut() {
            m.verifier_detects_wrong = 1.0;
            m.verifier_flags_right = 0.0;
        }
        cfg.models.get_mut(GPT_4_1106).unwrap().intercept = 50.0;
        cfg.models.get_mut(MIXTRAL_8X7B).unwrap().intercept = -50.0;
        let b = backend(cfg, 1);
        for q in 0..2 {
            let g = b.complete(&Request::solve(GPT_4_1106, q)).unwrap();
            let m = b.complete(&Request::solve(MIXTRAL_8X7B, q)).unwrap();
            assert_eq!((g.label, m.label), (Some(true), Some(false)));
            assert!(g.input_tokens > 0 && g.output_tokens > 0 && g.cost_usd > m.cost_usd);
            let v = b.complete(&Request::verify(GPT_4_1106, q, m.text.clone())).unwrap();
            assert_eq!(crate::backend::parse_verdict(&v.text), Some(false));
            let v = b.complete(&Request::verify(GPT_4_1106, q, g.text.clone())).unwrap();
            assert_eq!(crate::backend::parse_verdict(&v.text), Some(true));
        }
    }

    #[test]
    fn config_is_validated_and_rejects_unknown_fields() {
        SimulatedConfig::default().validate().unwrap();
        let c = SimulatedConfig { shared_wrong: 1.5, ..SimulatedConfig::default() };
        assert_eq!(c.validate().unwrap_err(), LlmError::invalid("shared_wrong", "1.5 is not a probability in [0, 1]"));
        let text = toml::to_string(&SimulatedConfig::default()).unwrap();
        assert_eq!(toml::from_str::<SimulatedConfig>(&text).unwrap(), SimulatedConfig::default());
        assert!(toml::from_str::<SimulatedConfig>(&format!("{text}\nextra = 1\n")).is_err());
        let e =
            SimulatedBackend::new(SimulatedConfig::default(), 0, tiny(), PriceTable { models: BTreeMap::new() }, "")
                .unwrap_err();
        assert!(matches!(e, LlmError::UnknownModel { .. }));
    }

    #[test]
    fn latent_preserves_the_mean_accuracy_approximately() {
        let cfg0 = SimulatedConfig { latent_scale: 0.0, ..SimulatedConfig::default() };
        let cfg2 = SimulatedConfig { latent_scale: 2.0, ..SimulatedConfig::default() };
        let r0 = pair_rates(&cfg0, &tiny(), GPT_4_1106, MIXTRAL_8X7B).unwrap();
        let r2 = pair_rates(&cfg2, &tiny(), GPT_4_1106, MIXTRAL_8X7B).unwrap();
        assert!((r0.accuracy_a - r2.accuracy_a).abs() < 0.01, "{r0:?} {r2:?}");
        assert!(r2.both_right > r0.both_right);
    }
}
