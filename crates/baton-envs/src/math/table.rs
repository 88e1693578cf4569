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
use serde::{Deserialize, Serialize};

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
    /// The question is longer than the median question ([`Thresholds::long_question`]).
    pub long_question: bool,
    /// The question's context for a prompt-only router, known before any model answers
    /// ([`Thresholds::prompt_context`]): in `0..PROMPT_CONTEXTS`.
    pub prompt: u8,
}

/// Number of question contexts a prompt-only router tells apart: 4 length quartiles x 4 buckets of how many
/// numbers the question states.
pub const PROMPT_CONTEXTS: u32 = 16;

/// How many numbers a question states (maximal runs of digits, with `,` and `.` inside a run, count once).
pub fn numbers_in(text: &str) -> u32 {
    let mut n = 0;
    let mut in_number = false;
    let mut prev = ' ';
    for c in text.chars() {
        let digit = c.is_ascii_digit();
        let joins = in_number && (c == ',' || c == '.');
        if digit && !in_number {
            n += 1;
        }
        in_number = digit || (joins && prev.is_ascii_digit());
        prev = c;
    }
    n
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
    /// No critic (it is never called): verdicts "fine" at no cost.
    None,
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
    /// The length thresholds the rows were bucketed with.
    pub thresholds: Thresholds,
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

/// Length thresholds of a table: a response (a question) is long when its token count exceeds the median
/// over the data set. Saved with a learned policy so that one new question is read the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Median output tokens of the cheap and strong solvers' responses (billed, as the backend counts them).
    pub output_tokens: [u64; 2],
    /// Median `cl100k_base` tokens of the question text ([`question_tokens`]).
    pub question_tokens: u64,
    /// Quartiles (25th, 50th, 75th percentile) of the same question lengths, for [`Thresholds::prompt_context`].
    #[serde(default)]
    pub question_quartiles: [u64; 3],
}

impl Thresholds {
    /// Whether solver `m`'s response of `output_tokens` tokens is long.
    pub fn long_answer(&self, m: usize, output_tokens: u64) -> bool {
        output_tokens > self.output_tokens[m]
    }

    /// Whether `problem`'s question is long. Known before any model is called.
    pub fn long_question(&self, problem: &Problem) -> bool {
        question_tokens(problem) > self.question_tokens
    }

    /// The question's prompt-only context, known before any model is called: its length quartile (`0..4`)
    /// plus 4 times its bucket of stated numbers (at most 2, 3, 4, 5 or more).
    pub fn prompt_context(&self, problem: &Problem) -> u8 {
        let len = question_tokens(problem);
        let quartile = self.question_quartiles.iter().filter(|&&q| len > q).count() as u8;
        let numbers = numbers_in(&problem.question).clamp(2, 5) as u8 - 2;
        quartile + 4 * numbers
    }
}

/// The length of a question as every agent can measure it before any call: `cl100k_base` tokens of the
/// question as shown to a model ([`question_text`]).
pub fn question_tokens(problem: &Problem) -> u64 {
    tokens::count_cl100k(&question_text(problem))
}

/// One solver's call on one question, before the critic has judged it and before its length is bucketed.
#[derive(Clone, Debug, PartialEq)]
pub struct Solved {
    /// The answer; `long`, `critic_flags` and `critic_cost_usd` are not set yet.
    pub answer: SolverAnswer,
    /// Billed output tokens.
    pub output_tokens: u64,
    /// The response.
    pub text: String,
}

/// Asks solver `m` (index into `p.models`) question `q` (`problem`, index `q` of the backend's data set).
pub fn solve(
    backend: &dyn Backend,
    problem: &Problem,
    q: usize,
    m: usize,
    p: &TableParams<'_>,
) -> Result<Solved, EnvError> {
    let r = backend.complete(&Request::solve(p.models[m], q)).map_err(llm)?;
    let correct = grade::is_correct(&r.text, &problem.gold);
    let correct_routellm = match problem.gold {
        Gold::Number(_) => Some(grade::is_correct_routellm(&r.text, &problem.reference)),
        Gold::Choice { .. } => None,
    };
    Ok(Solved {
        answer: SolverAnswer {
            cost_usd: r.cost_usd,
            checker_flags: checker_flags(&r.text, &problem.gold),
            long: false,
            critic_flags: false,
            critic_cost_usd: 0.0,
            correct,
            correct_routellm,
        },
        output_tokens: r.output_tokens,
        text: r.text,
    })
}

/// Asks the critic to judge solver `m`'s answer `solved` to question `q`: (it flags the answer, cost in USD).
pub fn critique(
    backend: &dyn Backend,
    problem: &Problem,
    q: usize,
    m: usize,
    solved: &Solved,
    p: &TableParams<'_>,
) -> Result<(bool, f64), EnvError> {
    match p.critic {
        CriticSource::Backend => {
            let v = backend.complete(&Request::verify(p.critic_model, q, solved.text.clone())).map_err(llm)?;
            Ok((parse_verdict(&v.text) == Some(false), v.cost_usd))
        }
        CriticSource::None => Ok((false, 0.0)),
        CriticSource::FromLabel { true_positive, false_positive, seed } => {
            let mut rng = stream(seed, Stream::Other((2 * q + m) as u32));
            let rate = if solved.answer.correct { false_positive } else { true_positive };
            let flags = rng.random::<f64>() < rate;
            let price = p.prices.get(p.critic_model).map_err(llm)?;
            let prompt = tokens::verify_prompt(&question_text(problem), &solved.text);
            let input = price.billed_tokens(tokens::chat_input_tokens(&prompt));
            let output = price.billed_tokens(tokens::count_cl100k(CRITIC_REPLY));
            Ok((flags, price.cost(input, output)))
        }
    }
}

fn llm(e: baton_llm::LlmError) -> EnvError {
    EnvError::Backend(e.to_string())
}

const CRITIC_REPLY: &str = "I re-derived the solution and it holds up.\nVERDICT: CORRECT";

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// The values at ranks `len/4`, `len/2` and `3*len/4` of `v` sorted (the middle one is [`median`]'s).
fn quartiles(mut v: Vec<u64>) -> [u64; 3] {
    v.sort_unstable();
    [1, 2, 3].map(|k| v.get(v.len() * k / 4).copied().unwrap_or(0))
}

impl MathTable {
    /// Asks `backend` every question of `data` once per solver (and the critic once per answer).
    pub fn build(backend: &dyn Backend, data: &Dataset, p: &TableParams<'_>) -> Result<Self, EnvError> {
        let mut raw: Vec<[Solved; 2]> = Vec::with_capacity(data.len());
        for (q, problem) in data.problems.iter().enumerate() {
            let mut pair = [solve(backend, problem, q, CHEAP, p)?, solve(backend, problem, q, STRONG, p)?];
            for (m, s) in pair.iter_mut().enumerate() {
                let (flags, cost) = critique(backend, problem, q, m, s, p)?;
                s.answer.critic_flags = flags;
                s.answer.critic_cost_usd = cost;
            }
            raw.push(pair);
        }
        Ok(Self::from_solved(raw, data))
    }

    /// The table of answers already asked: `raw[q]` is question `q` of `data`'s (cheap, strong) answers with
    /// their critic verdicts set. Buckets lengths by the medians over `raw` and `data`.
    pub fn from_solved(raw: Vec<[Solved; 2]>, data: &Dataset) -> Self {
        let question_lengths: Vec<u64> = data.problems.iter().map(question_tokens).collect();
        let thresholds = Thresholds {
            output_tokens: [CHEAP, STRONG].map(|m| median(raw.iter().map(|a| a[m].output_tokens).collect())),
            question_tokens: median(question_lengths.clone()),
            question_quartiles: quartiles(question_lengths),
        };
        let rows = raw
            .into_iter()
            .enumerate()
            .map(|(q, pair)| {
                let problem = &data.problems[q];
                let agree = answers_agree(&pair[CHEAP].text, &pair[STRONG].text, problem);
                let mut m = 0;
                let answers = pair.map(|s| {
                    let a = SolverAnswer { long: thresholds.long_answer(m, s.output_tokens), ..s.answer };
                    m += 1;
                    a
                });
                QuestionRow {
                    question: q,
                    answers,
                    agree,
                    long_question: thresholds.long_question(problem),
                    prompt: thresholds.prompt_context(problem),
                }
            })
            .collect();
        MathTable { rows, thresholds }
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
