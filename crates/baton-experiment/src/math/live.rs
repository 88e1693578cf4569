//! A math run against a live OpenAI-compatible server (`backend = "live"`): the table of every call is asked
//! of the server once per (model, question), `max_concurrency` questions at a time, every new response
//! appended to the journal (`record_file`, JSON lines, fsynced) before it is used, and journal responses
//! replayed without a request. The spend cap (`spend_cap_usd`, the journal's recorded spend included) stops
//! new requests; the run then trains and scores on the longest prefix of questions that are fully answered,
//! writes its outputs, and its summary's `live` section says the cap was reached. Raising the cap and running
//! again resumes where the journal ends; a rerun with the same cap sends no request.
//!
//! A run killed at any point loses at most the responses in flight: every response used was durable first.
//! A torn last line (a kill during a write) is cut off on the next run and that response asked again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use baton_envs::math::table::{critique, solve, CHEAP, STRONG};
use baton_envs::math::{CriticKind, CriticSource, Math, MathTable, Solved, TableParams};
use baton_llm::data::Dataset;
use baton_llm::session::{connect_live, parse_journal, LiveSession};
use baton_llm::tokens::{few_shot_prefix, FEW_SHOT};
use baton_llm::{LlmError, Recorder};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// Largest journal read, bytes (1 GiB: about 400,000 responses).
pub const MAX_JOURNAL_BYTES: u64 = 1 << 30;

/// What the live backend did in a run: the `live` section of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveReport {
    /// Questions the config asked for.
    pub questions_requested: usize,
    /// Questions fully answered (the prefix the run trained and scored on).
    pub questions_answered: usize,
    /// Whether the spend cap stopped new requests before every question was answered.
    pub cap_reached: bool,
    /// The cap, USD.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub spend_cap_usd: f64,
    /// USD spent in total: the journal's earlier responses plus this run's.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub spent_usd: f64,
    /// USD of this run's new responses.
    #[serde(deserialize_with = "crate::table::nan::f64")]
    pub new_spent_usd: f64,
    /// HTTP requests this run sent (retries included).
    pub http_requests: u64,
    /// New responses this run received and recorded.
    pub new_responses: u64,
    /// Calls answered from the journal.
    pub replayed: u64,
    /// The journal file, if any.
    pub record_file: Option<String>,
}

/// The journal file: append-only, each line written whole and fsynced before the response is used.
#[derive(Debug)]
struct FileRecorder {
    path: PathBuf,
    file: Mutex<File>,
}

impl Recorder for FileRecorder {
    fn append(&self, line: &str) -> Result<(), String> {
        let mut f = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        f.write_all(&buf).and_then(|()| f.sync_data()).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// A journal's entries and the recorder appending to it (none when not recording).
type Opened = (Vec<baton_llm::JournalEntry>, Option<Box<dyn Recorder>>);

/// Opens (creating it and its directory if needed) and reads the journal at `path`, cuts off a torn last line,
/// and returns its entries with a recorder appending to it (when `record`).
fn open_journal(path: &Path, record: bool) -> Result<Opened, ExperimentError> {
    let io = |what: &str, e: std::io::Error| ExperimentError::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    };
    if !record && !path.exists() {
        return Ok((Vec::new(), None));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io("creating its directory", e))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(record)
        .create(record)
        .open(path)
        .map_err(|e| io("opening the journal", e))?;
    let len = file.metadata().map_err(|e| io("reading", e))?.len();
    if len > MAX_JOURNAL_BYTES {
        return Err(ExperimentError::Io {
            path: path.display().to_string(),
            message: format!("the journal is {len} bytes, more than {MAX_JOURNAL_BYTES}"),
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    (&mut file).take(MAX_JOURNAL_BYTES).read_to_end(&mut bytes).map_err(|e| io("reading", e))?;
    let text = String::from_utf8(bytes).map_err(|e| ExperimentError::Io {
        path: path.display().to_string(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    let journal = parse_journal(&text, &path.display().to_string()).map_err(llm)?;
    if journal.complete_bytes < text.len() && record {
        tracing::warn!(
            path = %path.display(),
            bytes = text.len() - journal.complete_bytes,
            "cutting off a torn last line (a run was killed while writing it); that response will be asked again"
        );
        file.set_len(journal.complete_bytes as u64).map_err(|e| io("truncating a torn last line", e))?;
        file.sync_all().map_err(|e| io("syncing", e))?;
    }
    let recorder: Option<Box<dyn Recorder>> =
        if record { Some(Box::new(FileRecorder { path: path.to_path_buf(), file: Mutex::new(file) })) } else { None };
    Ok((journal.entries, recorder))
}

fn llm(e: LlmError) -> ExperimentError {
    ExperimentError::Workload(format!("live backend: {e}"))
}

/// Asks question `q` of both solvers (and the critic of both answers when the run has one).
fn ask_question(
    backend: &dyn LiveSession,
    data: &Dataset,
    q: usize,
    p: &TableParams<'_>,
) -> Result<[Solved; 2], baton_envs::EnvError> {
    let problem = &data.problems[q];
    let mut pair = [solve(backend, problem, q, CHEAP, p)?, solve(backend, problem, q, STRONG, p)?];
    for (m, s) in pair.iter_mut().enumerate() {
        let (flags, cost) = critique(backend, problem, q, m, s, p)?;
        s.answer.critic_flags = flags;
        s.answer.critic_cost_usd = cost;
    }
    Ok(pair)
}

/// Builds the table of a live run over the first `questions` GSM8K test questions (all by default); returns
/// the table (of the answered prefix), the whole GSM8K test set and the report.
pub fn build(math: &Math, dir: &Path) -> Result<(MathTable, Dataset, LiveReport), ExperimentError> {
    let c = &math.config;
    let cfg = c.live.clone().ok_or_else(|| ExperimentError::Internal("live backend without [workload.live]".into()))?;
    let full = Dataset::gsm8k_test(dir).map_err(llm)?;
    let train = Dataset::gsm8k_train(dir).map_err(llm)?;
    let requested = c.questions.unwrap_or(full.len()).min(full.len());
    let mut test = full.clone();
    test.problems.truncate(requested);
    let (journal, recorder) = match (&cfg.record_file, cfg.record) {
        (Some(f), record) => open_journal(Path::new(f), record)?,
        (None, _) => (Vec::new(), None),
    };
    let prefix = few_shot_prefix(&train, FEW_SHOT);
    let cap = cfg.spend_cap_usd.unwrap_or(f64::INFINITY);
    let workers = cfg.max_concurrency.max(1) as usize;
    let record_file = cfg.record_file.clone();
    let backend = connect_live(cfg, test.clone(), &prefix, math.prices.clone(), journal, recorder).map_err(llm)?;
    let critic = match c.critic.kind {
        CriticKind::None => CriticSource::None,
        _ => CriticSource::Backend,
    };
    let models = [c.cheap_model.as_str(), c.strong_model.as_str()];
    let p = TableParams { models, critic_model: &c.critic.model, critic, prices: &math.prices };

    // Questions are handed out in order; each worker asks one question's calls in turn.
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let capped = AtomicBool::new(false);
    let answers: Mutex<Vec<Option<[Solved; 2]>>> = Mutex::new(vec![None; requested]);
    let failure: Mutex<Option<baton_envs::EnvError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers.min(requested.max(1)) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let q = next.fetch_add(1, Ordering::Relaxed);
                    if q >= requested {
                        return;
                    }
                    match ask_question(&*backend, &test, q, &p) {
                        Ok(pair) => answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[q] = Some(pair),
                        Err(e) => {
                            // Questions after this one may still complete; the table takes the complete prefix.
                            if e.to_string().contains("spend cap reached") {
                                capped.store(true, Ordering::Relaxed);
                            } else {
                                failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e);
                            }
                            stop.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            });
        }
    });
    let stats = backend.stats();
    if let Some(e) = failure.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        return Err(ExperimentError::Workload(format!(
            "live backend: {e} ({} new responses recorded{}; a rerun replays them without paying again)",
            stats.new_responses,
            record_file.as_deref().map(|f| format!(" in {f}")).unwrap_or_default()
        )));
    }
    let answers = answers.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let raw: Vec<[Solved; 2]> = answers.into_iter().map_while(|a| a).collect();
    let answered = raw.len();
    let report = LiveReport {
        questions_requested: requested,
        questions_answered: answered,
        cap_reached: capped.load(Ordering::Relaxed) && answered < requested,
        spend_cap_usd: cap,
        spent_usd: stats.spent_usd,
        new_spent_usd: stats.new_spent_usd,
        http_requests: stats.http_requests,
        new_responses: stats.new_responses,
        replayed: stats.replayed,
        record_file,
    };
    if answered < 2 {
        return Err(ExperimentError::Workload(format!(
            "live backend: the spend cap ({cap} USD) was reached after {answered} fully answered questions, too few \
             to train and score (spent {:.4} USD in all); raise workload.live.spend_cap_usd and run again: \
             recorded responses are replayed without paying again",
            stats.spent_usd
        )));
    }
    if report.cap_reached {
        tracing::warn!(
            "spend cap reached: {:.4} USD spent of the {cap} USD cap; training and scoring on the first {answered} of \
             {requested} questions (raise workload.live.spend_cap_usd and run again to continue; recorded responses \
             are replayed without paying again)",
            stats.spent_usd
        );
    }
    let mut answered_set = full.clone();
    answered_set.problems.truncate(answered);
    Ok((MathTable::from_solved(raw, &answered_set), full, report))
}
