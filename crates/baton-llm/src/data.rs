//! Data loaders: GSM8K (test/train JSONL), MathQA (test JSONL) and the recorded GSM8K responses of two real
//! models (RouteLLM's CSV).
//!
//! Files are read from the data directory, [`data_dir`]: `$BATON_DATA_DIR` if set, else the repository's `data/`
//! folder (its path is compiled in: [`BUILT_IN_DATA_DIR`]), where every data set ships with its `SOURCE.md` and
//! `LICENSE`. Every error names the file, the 1-based line (JSONL) or data row (CSV) and the reason.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::LlmError;
use crate::grade;

/// The environment variable naming the data directory.
pub const DATA_DIR_VAR: &str = "BATON_DATA_DIR";
/// The data directory when [`DATA_DIR_VAR`] is unset: the repository's `data/` folder, as it was when this crate
/// was built (`cargo install --path .` from a clone keeps working while the clone exists; elsewhere, copy the
/// folder and set [`DATA_DIR_VAR`]).
pub const BUILT_IN_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

/// GSM8K test split, relative to the data directory.
pub const GSM8K_TEST: &str = "gsm8k/test.jsonl";
/// GSM8K train split (the few-shot examples come from here), relative to the data directory.
pub const GSM8K_TRAIN: &str = "gsm8k/train.jsonl";
/// MathQA test subset, relative to the data directory.
pub const MATHQA_TEST: &str = "mathqa/test.jsonl";
/// RouteLLM's recorded GSM8K responses, relative to the data directory.
pub const ROUTELLM_GSM8K: &str = "routellm-gsm8k/gsm8k_responses.csv";

/// The data directory: `$BATON_DATA_DIR` if set and not empty, else [`BUILT_IN_DATA_DIR`] (with its `..`
/// resolved where the folder exists, so messages show a plain path).
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_VAR) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => {
            let built_in = Path::new(BUILT_IN_DATA_DIR);
            std::fs::canonicalize(built_in).unwrap_or_else(|_| built_in.to_path_buf())
        }
    }
}

/// Where the data directory comes from, for error messages: names [`DATA_DIR_VAR`] and the folder looked in.
pub fn data_dir_help() -> String {
    let dir = data_dir();
    match std::env::var_os(DATA_DIR_VAR) {
        Some(v) if !v.is_empty() => format!("data files are read under ${DATA_DIR_VAR} = {}", dir.display()),
        _ => format!(
            "data files are read under {} (the repository's data/ folder); to use another copy of that folder, \
             set ${DATA_DIR_VAR} to it",
            dir.display()
        ),
    }
}

/// Which data set a [`Dataset`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetKind {
    /// GSM8K test split (1319 questions).
    Gsm8kTest,
    /// GSM8K train split (7473 questions).
    Gsm8kTrain,
    /// The MathQA test subset (1000 multiple-choice questions).
    MathQaTest,
}

/// The gold answer of a problem.
#[derive(Clone, Debug, PartialEq)]
pub enum Gold {
    /// A number (GSM8K: the number after `####` in the reference answer).
    Number(f64),
    /// A multiple-choice letter (MathQA), with the options as `(letter, text)` and the numeric value of each
    /// option where its text parses as one number (`a ) 12` gives 12; `rs . 1200` gives 1200; `5 : 3` gives none).
    Choice {
        /// The correct letter, `a`..=`e`.
        letter: char,
        /// Every option as `(letter, text)`.
        options: Vec<(char, String)>,
    },
}

/// One problem: question, worked reference solution, gold answer and a difficulty measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The question text, exactly as in the file.
    pub question: String,
    /// The worked reference solution (GSM8K `answer` including the final `#### N` line; MathQA `rationale`
    /// without its wrapping quotes).
    pub reference: String,
    /// The gold answer.
    pub gold: Gold,
    /// Reasoning steps of the reference solution: GSM8K, the non-empty lines before the `####` line; MathQA, the
    /// operations of `linear_formula`. At least 1.
    pub steps: u32,
}

/// A loaded data set: problems in file order (index `i` = line `i + 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Which data set this is.
    pub kind: DatasetKind,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl Dataset {
    /// GSM8K test split from `data_dir` (see [`data_dir`]).
    pub fn gsm8k_test(data_dir: &Path) -> Result<Self, LlmError> {
        Self::load_gsm8k(&data_dir.join(GSM8K_TEST), DatasetKind::Gsm8kTest)
    }

    /// GSM8K train split from `data_dir`.
    pub fn gsm8k_train(data_dir: &Path) -> Result<Self, LlmError> {
        Self::load_gsm8k(&data_dir.join(GSM8K_TRAIN), DatasetKind::Gsm8kTrain)
    }

    /// MathQA test subset from `data_dir`.
    pub fn mathqa_test(data_dir: &Path) -> Result<Self, LlmError> {
        Self::load_mathqa(&data_dir.join(MATHQA_TEST))
    }

    /// A GSM8K JSONL file (`{"question", "answer"}` per line, the answer ending in `#### N`).
    pub fn load_gsm8k(path: &Path, kind: DatasetKind) -> Result<Self, LlmError> {
        let text = std::fs::read_to_string(path).map_err(|e| LlmError::io(path, e))?;
        let problems = parse_gsm8k(&text, &path.display().to_string())?;
        tracing::debug!(path = %path.display(), n = problems.len(), "loaded GSM8K");
        Ok(Dataset { kind, problems })
    }

    /// A MathQA JSONL file (`problem`, `rationale`, `options`, `correct`, `linear_formula`, ... per line).
    pub fn load_mathqa(path: &Path) -> Result<Self, LlmError> {
        let text = std::fs::read_to_string(path).map_err(|e| LlmError::io(path, e))?;
        let problems = parse_mathqa(&text, &path.display().to_string())?;
        tracing::debug!(path = %path.display(), n = problems.len(), "loaded MathQA");
        Ok(Dataset { kind: DatasetKind::MathQaTest, problems })
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    /// Whether there are no problems.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problem `index`, or [`LlmError::QuestionOutOfRange`].
    pub fn get(&self, index: usize) -> Result<&Problem, LlmError> {
        self.problems.get(index).ok_or(LlmError::QuestionOutOfRange { index, len: self.problems.len() })
    }
}

#[derive(Deserialize)]
struct Gsm8kLine {
    question: String,
    answer: String,
}

#[derive(Deserialize)]
struct MathQaLine {
    problem: String,
    rationale: String,
    options: String,
    correct: String,
    linear_formula: String,
}

/// GSM8K JSONL text; `path` only names the source in errors.
pub fn parse_gsm8k(text: &str, path: &str) -> Result<Vec<Problem>, LlmError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| LlmError::Parse { path: path.to_string(), line: i + 1, reason };
        let row: Gsm8kLine = serde_json::from_str(line).map_err(|e| bad(format!("not a GSM8K record: {e}")))?;
        let gold =
            grade::gold_gsm8k(&row.answer).ok_or_else(|| bad("the answer has no number after `####`".to_string()))?;
        let steps = gsm8k_steps(&row.answer);
        out.push(Problem { question: row.question, reference: row.answer, gold: Gold::Number(gold), steps });
    }
    Ok(out)
}

/// Reasoning steps of a GSM8K reference answer: its non-empty lines before the `####` line (at least 1).
pub fn gsm8k_steps(answer: &str) -> u32 {
    let body = answer.split("####").next().unwrap_or("");
    let n = body.lines().filter(|l| !l.trim().is_empty()).count();
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// MathQA JSONL text; `path` only names the source in errors.
pub fn parse_mathqa(text: &str, path: &str) -> Result<Vec<Problem>, LlmError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| LlmError::Parse { path: path.to_string(), line: i + 1, reason };
        let row: MathQaLine = serde_json::from_str(line).map_err(|e| bad(format!("not a MathQA record: {e}")))?;
        let options = parse_options(&row.options).map_err(|r| bad(format!("field `options`: {r}")))?;
        let letter = match row.correct.trim().chars().collect::<Vec<_>>().as_slice() {
            [c] if options.iter().any(|(l, _)| l == c) => *c,
            _ => return Err(bad(format!("field `correct` = {:?} is not one of the option letters", row.correct))),
        };
        let ops = row.linear_formula.split('|').filter(|s| !s.trim().is_empty()).count();
        let reference = row.rationale.trim().trim_matches('"').trim().to_string();
        out.push(Problem {
            question: row.problem,
            reference,
            gold: Gold::Choice { letter, options },
            steps: u32::try_from(ops.max(1)).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

/// MathQA's option string, `"a ) 12 , b ) 16 , c ) 18 , d ) 24 , e ) 26"` (or the same as a Python list of
/// strings), as `(letter, text)` pairs.
pub fn parse_options(s: &str) -> Result<Vec<(char, String)>, String> {
    // Each option starts with "<letter> )" at the start or after " , ". Option texts can contain commas
    // ("1 , 000"), so split only on the next expected letter.
    // 16 of the 1000 lines write the options as a Python list, "['a ) 462 cm ²', 'b ) 530 cm ²', ...]".
    let t = s.trim();
    let listed;
    let mut rest = if t.starts_with("['") && t.ends_with("']") {
        listed = t[2..t.len() - 2].replace("', '", " , ");
        listed.as_str()
    } else {
        t
    };
    let mut out: Vec<(char, String)> = Vec::new();
    for letter in ['a', 'b', 'c', 'd', 'e'] {
        let head = format!("{letter} )");
        let Some(after) = rest.strip_prefix(&head) else {
            if out.len() >= 2 && rest.is_empty() {
                break;
            }
            return Err(format!("expected option `{letter} )` at {rest:?}"));
        };
        let next = (letter as u8 + 1) as char;
        let sep = format!(", {next} )");
        let (text, tail) = match after.find(&sep) {
            Some(k) => (&after[..k], &after[k + 2..]),
            None => (after, ""),
        };
        out.push((letter, text.trim().trim_end_matches(',').trim().to_string()));
        rest = tail.trim_start();
    }
    if !rest.is_empty() {
        return Err(format!("unexpected text after the options: {rest:?}"));
    }
    Ok(out)
}

/// The recorded responses of one model to one question.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedAnswer {
    /// The generated text, exactly as recorded.
    pub text: String,
    /// The recording's correctness label (its last-integer rule, [`grade::is_correct_routellm`]).
    pub correct: bool,
}

/// One recorded row: the prompt (a GSM8K test question) and every model's answer, in [`Recording::models`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRow {
    /// The question text (byte-identical to the GSM8K test question of the same index).
    pub prompt: String,
    /// One answer per model.
    pub answers: Vec<RecordedAnswer>,
}

/// Recorded real responses: RouteLLM's GSM8K CSV. Row `i` answers GSM8K test question `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// Model names as spelled in the CSV header (`gpt-4-1106-preview`, `mistralai/Mixtral-8x7B-Instruct-v0.1`).
    pub models: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<RecordedRow>,
}

impl Recording {
    /// RouteLLM's recording from `data_dir` ([`ROUTELLM_GSM8K`]).
    pub fn routellm_gsm8k(data_dir: &Path) -> Result<Self, LlmError> {
        Self::load(&data_dir.join(ROUTELLM_GSM8K))
    }

    /// A recording CSV: a `prompt` column, and per model `M` a `True`/`False` column `M` and a text column
    /// `M_response`.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        let file = std::fs::File::open(path).map_err(|e| LlmError::io(path, e))?;
        let rec = Self::from_reader(file, &path.display().to_string())?;
        tracing::debug!(path = %path.display(), rows = rec.rows.len(), models = ?rec.models, "loaded recording");
        Ok(rec)
    }

    /// A recording from any reader; `path` only names the source in errors.
    pub fn from_reader(reader: impl std::io::Read, path: &str) -> Result<Self, LlmError> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
        let header = |reason: String| LlmError::Parse { path: path.to_string(), line: 0, reason };
        let headers = rdr.headers().map_err(|e| header(format!("cannot read the header: {e}")))?.clone();
        let prompt_col = headers
            .iter()
            .position(|h| h == "prompt")
            .ok_or_else(|| header("the header has no `prompt` column".to_string()))?;
        let mut models = Vec::new();
        let mut cols = Vec::new();
        for (k, h) in headers.iter().enumerate() {
            if k == prompt_col || h.ends_with("_response") {
                continue;
            }
            let resp = format!("{h}_response");
            let r = headers
                .iter()
                .position(|x| x == resp)
                .ok_or_else(|| header(format!("column `{h}` has no matching `{resp}` column")))?;
            models.push(h.to_string());
            cols.push((k, r));
        }
        if models.is_empty() {
            return Err(header("no model columns".to_string()));
        }
        let mut rows = Vec::new();
        for (i, record) in rdr.records().enumerate() {
            let bad = |reason: String| LlmError::Parse { path: path.to_string(), line: i + 1, reason };
            let record = record.map_err(|e| bad(format!("malformed CSV record: {e}")))?;
            let field = |k: usize| record.get(k).ok_or_else(|| bad(format!("missing column {}", &headers[k])));
            let prompt = field(prompt_col)?.to_string();
            let mut answers = Vec::with_capacity(cols.len());
            for &(c, r) in &cols {
                let correct = match field(c)? {
                    "True" => true,
                    "False" => false,
                    other => return Err(bad(format!("column `{}` = {other:?}, expected True or False", &headers[c]))),
                };
                answers.push(RecordedAnswer { text: field(r)?.to_string(), correct });
            }
            rows.push(RecordedRow { prompt, answers });
        }
        Ok(Recording { models, rows })
    }

    /// The column of `model`, or [`LlmError::UnknownModel`].
    pub fn model_index(&self, model: &str) -> Result<usize, LlmError> {
        self.models
            .iter()
            .position(|m| m == model)
            .ok_or_else(|| LlmError::UnknownModel { model: model.to_string(), known: self.models.join(", ") })
    }

    /// `model`'s recorded answer to question `index`.
    pub fn answer(&self, model: &str, index: usize) -> Result<&RecordedAnswer, LlmError> {
        let m = self.model_index(model)?;
        let row = self.rows.get(index).ok_or(LlmError::QuestionOutOfRange { index, len: self.rows.len() })?;
        Ok(&row.answers[m])
    }

    /// Writes the recording as CSV in the format [`Recording::from_reader`] reads (header `prompt`, one
    /// `True`/`False` column per model, then one `_response` column per model). `path` names the destination
    /// in errors; the caller opens and owns the file.
    pub fn write_csv(&self, writer: impl std::io::Write, path: &str) -> Result<(), LlmError> {
        let io = |e: csv::Error| LlmError::Io { path: path.to_string(), message: e.to_string() };
        let mut w = csv::Writer::from_writer(writer);
        let mut header = vec!["prompt".to_string()];
        header.extend(self.models.iter().cloned());
        header.extend(self.models.iter().map(|m| format!("{m}_response")));
        w.write_record(&header).map_err(io)?;
        for row in &self.rows {
            let mut rec = vec![row.prompt.as_str()];
            rec.extend(row.answers.iter().map(|a| if a.correct { "True" } else { "False" }));
            rec.extend(row.answers.iter().map(|a| a.text.as_str()));
            w.write_record(&rec).map_err(io)?;
        }
        w.flush().map_err(|e| LlmError::Io { path: path.to_string(), message: e.to_string() })
    }

    /// Checks that row `i` is question `i` of `test` (same count, byte-identical prompt); `path` and `other`
    /// name the two files in the error.
    pub fn check_aligned(&self, test: &Dataset, path: &str, other: &str) -> Result<(), LlmError> {
        if self.rows.len() != test.len() {
            return Err(LlmError::Misaligned {
                path: path.to_string(),
                row: self.rows.len().min(test.len()) + 1,
                other: other.to_string(),
                reason: format!("{} rows against {} questions", self.rows.len(), test.len()),
            });
        }
        for (i, (row, p)) in self.rows.iter().zip(&test.problems).enumerate() {
            if row.prompt != p.question {
                return Err(LlmError::Misaligned {
                    path: path.to_string(),
                    row: i + 1,
                    other: other.to_string(),
                    reason: "the prompt is not the test question of the same index".to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm8k_line_parses_with_gold_and_steps() {
        let text = r#"{"question": "Q?", "answer": "A has 2 + 3 = <<2+3=5>>5.\nThen 5 * 2 = <<5*2=10>>10.\n#### 10"}"#;
        let p = parse_gsm8k(text, "t.jsonl").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].gold, Gold::Number(10.0));
        assert_eq!(p[0].steps, 2);
    }

    #[test]
    fn gsm8k_errors_name_file_and_line() {
        let text = "{\"question\": \"Q\", \"answer\": \"#### 1\"}\n{\"question\": \"Q\", \"answer\": \"no final\"}\n";
        let e = parse_gsm8k(text, "t.jsonl").unwrap_err();
        assert!(matches!(&e, LlmError::Parse { path, line: 2, .. } if path == "t.jsonl"), "{e}");
        let e = parse_gsm8k("not json", "t.jsonl").unwrap_err();
        assert!(e.to_string().starts_with("t.jsonl:1:"), "{e}");
    }

    #[test]
    fn mathqa_options_split_on_letters_only() {
        let o = parse_options("a ) 12 , b ) 1 , 000 , c ) rs . 18 , d ) 5 : 3 , e ) none").unwrap();
        assert_eq!(o.len(), 5);
        assert_eq!(o[1], ('b', "1 , 000".to_string()));
        assert_eq!(o[2], ('c', "rs . 18".to_string()));
        assert!(parse_options("x ) 1").is_err());
        let l = parse_options("['a ) 462 cm ²', 'b ) 530', 'c ) 1', 'd ) 2', 'e ) none']").unwrap();
        assert_eq!(l[0], ('a', "462 cm ²".to_string()));
        assert_eq!(l[4], ('e', "none".to_string()));
    }

    #[test]
    fn recording_reads_models_and_labels() {
        let csv = "prompt,m1,m2,m1_response,m2_response\n\"Q, one\",True,False,\"a\nb #### 3\",x\n";
        let r = Recording::from_reader(csv.as_bytes(), "r.csv").unwrap();
        assert_eq!(r.models, vec!["m1", "m2"]);
        assert_eq!(r.rows[0].prompt, "Q, one");
        assert!(r.answer("m1", 0).unwrap().correct);
        assert_eq!(r.answer("m2", 0).unwrap().text, "x");
        assert!(matches!(r.answer("m3", 0), Err(LlmError::UnknownModel { .. })));
        let mut out = Vec::new();
        r.write_csv(&mut out, "mem").unwrap();
        assert_eq!(Recording::from_reader(out.as_slice(), "mem").unwrap(), r);
        let bad = "prompt,m1,m1_response\nQ,maybe,x\n";
        let e = Recording::from_reader(bad.as_bytes(), "r.csv").unwrap_err();
        assert!(matches!(e, LlmError::Parse { line: 1, .. }), "{e}");
    }
}
