//! Every model call an episode can make, computed once per run from a backend: the math workload's world.
//!
//! Backend calls are deterministic (replay always; the simulated backend given its seed, like sampling at
//! temperature 0), so a solver asked about question `q` always writes the same text. The table holds, per
//! question and solver, what the agents may observe of that text (checker flag, length bucket, agreement of
//! the two answers, the critic's verdict), what it cost, and, for scoring only, whether it is right.

use baton_core::rng::{stream, Stream};
use baton_llm::data::{Dataset, Gold, Problem};
use baton_llm::price::PriceTable;
use baton_llm::{backend::parse_verdict, checker, grade, simulated::question_text, tokens, Backend, Request};
use rand::Rng as _;

use crate::EnvError;

/// Index of the cheap solver's answer in [`QuestionRow::answers`].
pub const CHEAP: usize = 0;
/// Index of the strong solver's answer.
pub const STRONG: usize = 1;

/// One solver's answer to one question.
#[derive(Clone, Debug, PartialEq)]
pub struct SolverAnswer {
    /// Cost in USD of the call (the backend's token counts times the price table).
    pub cost_usd: f64,
    /// The checker flags the text (see [`checker_flags`]).
    pub checker_flags: bool,
    /// The response is longer than the median response of the same model on the data set.
    pub long: bool,
    /// The critic replies INCORRECT when asked to judge this answer.
    pub critic_flags: bool,
    /// Cost in USD of asking the critic to judge this answer.
    pub critic_cost_usd: f64,
    /// Scoring only, never observed: right under the decimal-aware grader ([`grade::is_correct`]).
    pub correct: bool,
    /// Scoring only: right under the recording's last-integer rule (GSM8K only; `None` for MathQA).
    pub correct_routellm: Option<bool>,
}

/// One question.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionRow {
    /// Its index in the data set.
    pub question: usize,
    /// The cheap ([`CHEAP`]) and strong ([`STRONG`]) solvers' answers.
    pub answers: [SolverAnswer; 2],
    /// The two answers give the same final answer.
    pub agree: bool,
    /// The question's prompt is longer than the median prompt.
    pub long_question: bool,
}

/// Where the critic's verdicts come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CriticSource {
    /// Ask the backend (`Task::Verify`): the simulated backend's critic, with its configured rates.
    Backend,
    /// No recorded critic outputs (replay): simulate a critic from the label with these rates, seeded. Its
    /// cost is the critic model's price for the judging prompt and a one-line reply.
    FromLabel {
        /// Probability of INCORRECT for a wrong answer.
        true_positive: f64,
        /// Probability of INCORRECT for a right answer.
        false_positive: f64,
        /// Seed of the verdict draws (one independent stream per question and solver).
        seed: u64,
    },
}

/// What [`MathTable::build`] needs besides the backend.
#[derive(Clone, Copy, Debug)]
pub struct TableParams<'a> {
    /// The cheap and strong models, as named in the price table.
    pub models: [&'a str; 2],
    /// The critic's model (prices its calls).
    pub critic_model: &'a str,
    /// Where critic verdicts come from.
    pub critic: CriticSource,
    /// Prices (for the critic in [`CriticSource::FromLabel`]; solver calls are priced by the backend).
    pub prices: &'a PriceTable,
}

/// The precomputed world of a math run: one row per question of the data set.
#[derive(Clone, Debug, PartialEq)]
pub struct MathTable {
    /// One row per question, in data-set order.
    pub rows: Vec<QuestionRow>,
}

/// The checker's flag: on numeric (GSM8K) answers any of its flags (arithmetic error, cut-off output, no
/// final answer, a non-integer final answer); on multiple-choice (MathQA) answers only arithmetic errors and
/// cut-off output (the other two rules assume a numeric final answer).
pub fn checker_flags(text: &str, gold: &Gold) -> bool {
    let v = checker::check(text);
    match gold {
        Gold::Number(_) => v.any(),
        Gold::Choice { .. } => v.arithmetic_or_cut_off(),
    }
}

/// Whether two responses give the same final answer: numbers compared by the decimal-aware parser, choices
/// by the option they pick.
pub fn answers_agree(a: &str, b: &str, problem: &Problem) -> bool {
    match &problem.gold {
        Gold::Number(_) => grade::answers_agree(a, b),
        Gold::Choice { options, .. } => {
            let (x, y) = (grade::parse_choice(a, options), grade::parse_choice(b, options));
            x.is_some() && x == y
        }
    }
}

/// A solver answer with its output tokens, input tokens and text, before the length buckets are known.
type Raw = (SolverAnswer, u64, u64, String);

const CRITIC_REPLY: &str = "I re-derived the solution and it holds up.\nVERDICT: CORRECT";

impl MathTable {
    /// Asks `backend` every question of `data` once per solver (and the critic once per answer).
    pub fn build(backend: &dyn Backend, data: &Dataset, p: &TableParams<'_>) -> Result<Self, EnvError> {
        let llm = |e: baton_llm::LlmError| EnvError::Backend(e.to_string());
        let mut raw = Vec::with_capacity(data.len());
        for (q, problem) in data.problems.iter().enumerate() {
            let mut answers = Vec::with_capacity(2);
            for (m, model) in p.models.iter().enumerate() {
                let r = backend.complete(&Request::solve(*model, q)).map_err(llm)?;
                let correct = grade::is_correct(&r.text, &problem.gold);
                let correct_routellm = match problem.gold {
                    Gold::Number(_) => Some(grade::is_correct_routellm(&r.text, &problem.reference)),
                    Gold::Choice { .. } => None,
                };
                let (critic_flags, critic_cost_usd) = match p.critic {
                    CriticSource::Backend => {
                        let v = backend.complete(&Request::verify(p.critic_model, q, r.text.clone())).map_err(llm)?;
                        (parse_verdict(&v.text) == Some(false), v.cost_usd)
                    }
                    CriticSource::FromLabel { true_positive, false_positive, seed } => {
                        let mut rng = stream(seed, Stream::Other((2 * q + m) as u32));
                        let flags = rng.random::<f64>() < if correct { false_positive } else { true_positive };
                        let price = p.prices.get(p.critic_model).map_err(llm)?;
                        let prompt = tokens::verify_prompt(&question_text(problem), &r.text);
                        let input = price.billed_tokens(tokens::chat_input_tokens(&prompt));
                        let output = price.billed_tokens(tokens::count_cl100k(CRITIC_REPLY));
                        (flags, price.cost(input, output))
                    }
                };
                answers.push((
                    SolverAnswer {
                        cost_usd: r.cost_usd,
                        checker_flags: checker_flags(&r.text, &problem.gold),
                        long: false,
                        critic_flags,
                        critic_cost_usd,
                        correct,
                        correct_routellm,
                    },
                    r.output_tokens,
                    r.input_tokens,
                    r.text,
                ));
            }
            raw.push(answers);
        }
        let median = |f: &dyn Fn(&[Raw]) -> u64| {
            let mut v: Vec<u64> = raw.iter().map(|a: &Vec<Raw>| f(a)).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0)
        };
        let med_out = [median(&|a| a[CHEAP].1), median(&|a| a[STRONG].1)];
        let med_in = median(&|a| a[CHEAP].2);
        let rows = raw
            .into_iter()
            .enumerate()
            .map(|(q, mut a)| {
                let agree = answers_agree(&a[CHEAP].3, &a[STRONG].3, &data.problems[q]);
                let long_question = a[CHEAP].2 > med_in;
                let mut it = a.drain(..).enumerate().map(|(m, (mut ans, out, _, _))| {
                    ans.long = out > med_out[m];
                    ans
                });
                let (Some(cheap), Some(strong)) = (it.next(), it.next()) else {
                    unreachable!("two answers per question")
                };
                QuestionRow { question: q, answers: [cheap, strong], agree, long_question }
            })
            .collect();
        Ok(MathTable { rows })
    }

    /// Number of questions.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A seeded split of `0..len` into (train, held-out): a Fisher-Yates shuffle from `seed`'s
    /// `Stream::Other(0)` stream, the first `round(len * train_fraction)` for training, in shuffled order.
    pub fn split(&self, seed: u64, train_fraction: f64) -> (Vec<u32>, Vec<u32>) {
        let mut idx: Vec<u32> = (0..self.rows.len() as u32).collect();
        let mut rng = stream(seed, Stream::Other(u32::MAX));
        for i in (1..idx.len()).rev() {
            let j = baton_core::rng::uniform_index(&mut rng, i + 1);
            idx.swap(i, j);
        }
        let n_train = ((idx.len() as f64) * train_fraction).round() as usize;
        let test = idx.split_off(n_train.min(idx.len()));
        (idx, test)
    }
}
