//! One run split across machines without a cluster engine: `baton run --shard i/n` runs only its share of the
//! run's jobs (every (grid point, method, seed) training job) and writes them to a shard directory;
//! [`merge`] (`baton merge`) reads the shards of one run and writes the run directory the unsharded
//! `baton run` writes, byte for byte (`config.toml`, `metrics.jsonl`, `summary.json` and the plots; only
//! `meta.json`'s timings and provenance differ).
//!
//! How: a workload runs its jobs through `Experiment::map_jobs`. In a shard, job `k` of the run (counted
//! across the workload's successive job lists, e.g. a sweep's levels) runs when `k % n == i`; its result is
//! kept (CBOR, every float bit for bit), and the workload stops before summarising. The merge runs the same
//! workload with every job's result replayed from the shards instead of recomputed, so everything after the
//! jobs (the summary, the metrics, the plots) is the unsharded run's own code on the same inputs. The work
//! outside the jobs (solving a model exactly, a sweep's approximation errors) is done again by each shard and
//! by the merge.
//!
//! A shard directory holds `shard.json` (format, index, count, jobs), the resolved `config.toml` and
//! `jobs.cbor`; the merge checks that the shards are one run's (identical `config.toml`), complete (every
//! index of `0..n` once) and consistent (every job exactly once) before writing anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::Experiment;
use crate::launch::Finished;
use crate::{ExperimentConfig, ExperimentError, Progress};

/// `shard.json`'s format tag.
pub const FORMAT: &str = "baton-shard-v1";
/// The shard's description in a shard directory.
pub const SHARD_FILE: &str = "shard.json";
/// The shard's job results in a shard directory.
pub const JOBS_FILE: &str = "jobs.cbor";
/// The resolved config in a shard directory (and in a run directory).
pub const CONFIG_FILE: &str = "config.toml";
/// Most shards of one run.
pub const MAX_SHARDS: u32 = 100_000;
/// Largest `jobs.cbor` the merge reads.
pub const MAX_JOBS_BYTES: u64 = 1 << 30;

/// `i/n`: shard `i` of `n` (`0 <= i < n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// This shard's index.
    pub index: u32,
    /// The number of shards.
    pub count: u32,
}

impl FromStr for ShardSpec {
    type Err = ExperimentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| ExperimentError::Shard(format!("--shard {s}: {reason}"));
        let (i, n) = s.split_once('/').ok_or_else(|| bad("expected i/n, e.g. 0/4".into()))?;
        let index: u32 = i.trim().parse().map_err(|_| bad(format!("index `{i}` is not a whole number")))?;
        let count: u32 = n.trim().parse().map_err(|_| bad(format!("count `{n}` is not a whole number")))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(bad(format!("the count must be in 1..={MAX_SHARDS}")));
        }
        if index >= count {
            return Err(bad(format!("the index must be in 0..{count} (shards are numbered from 0)")));
        }
        Ok(ShardSpec { index, count })
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How `Experiment::map_jobs` runs a workload's jobs.
#[derive(Clone, Debug, Default)]
pub enum JobMode {
    /// Every job, here (a plain run).
    #[default]
    All,
    /// This shard's jobs only, kept in the store; the workload stops after its jobs.
    Shard(ShardSpec, Arc<Store>),
    /// Every job's result taken from the store (a merge).
    Replay(Arc<Store>),
}

/// Job results by (job list, job), and the count of job lists seen so far.
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    /// Job lists started so far.
    lists: u32,
    /// Jobs in those lists.
    jobs: u64,
    /// Results by (list, job in the list).
    results: BTreeMap<(u32, u64), ciborium::Value>,
}

/// One job's result as stored in `jobs.cbor`.
#[derive(Serialize, Deserialize)]
struct StoredJob {
    list: u32,
    job: u64,
    result: ciborium::Value,
}

/// `shard.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardFile {
    format: String,
    index: u32,
    count: u32,
    jobs: u64,
    baton_version: String,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, StoreState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a job list of `len` jobs: its number and the run-wide index of its first job.
    fn next_list(&self, len: usize) -> (u32, u64) {
        let mut s = self.lock();
        let at = (s.lists, s.jobs);
        s.lists += 1;
        s.jobs += len as u64;
        at
    }
}

/// A shard stopped after its jobs (the launcher writes the shard directory).
pub(crate) fn stopped() -> ExperimentError {
    ExperimentError::ShardStopped
}

fn internal(what: &str, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Internal(format!("{what}: {e}"))
}

impl Experiment {
    /// Run `run` on every job of `jobs` on the current rayon pool and return the results in job order: all
    /// of them in a plain run; this shard's share in a shard (then it returns [`ExperimentError::ShardStopped`],
    /// which [`crate::launch::Launch::run`] turns into the shard directory); the shards' results in a merge.
    /// Jobs must be independent and deterministic (their own random streams), as every workload's are.
    pub(crate) fn map_jobs<J, R>(
        &self,
        jobs: &[J],
        run: impl Fn(&J) -> Result<R, ExperimentError> + Sync + Send,
    ) -> Result<Vec<R>, ExperimentError>
    where
        J: Sync,
        R: Send + Serialize + DeserializeOwned,
    {
        match &self.jobs {
            JobMode::All => jobs.par_iter().map(run).collect(),
            JobMode::Shard(spec, store) => {
                let (list, first) = store.next_list(jobs.len());
                let (i, n) = (u64::from(spec.index), u64::from(spec.count));
                let mine: Vec<usize> = (0..jobs.len()).filter(|&k| (first + k as u64) % n == i).collect();
                let done: Vec<(u64, ciborium::Value)> = mine
                    .par_iter()
                    .map(|&k| {
                        let r = run(&jobs[k])?;
                        let v = ciborium::Value::serialized(&r).map_err(|e| internal("encoding a job's result", e))?;
                        Ok((k as u64, v))
                    })
                    .collect::<Result<_, ExperimentError>>()?;
                store.lock().results.extend(done.into_iter().map(|(k, v)| ((list, k), v)));
                Err(stopped())
            }
            JobMode::Replay(store) => {
                let (list, first) = store.next_list(jobs.len());
                let mut s = store.lock();
                (0..jobs.len() as u64)
                    .map(|k| {
                        let v = s.results.remove(&(list, k)).ok_or_else(|| {
                            ExperimentError::Shard(format!(
                                "job {} of the run is in no shard (the shards are not of this run's config)",
                                first + k
                            ))
                        })?;
                        v.deserialized::<R>().map_err(|e| {
                            ExperimentError::Shard(format!("job {}: its stored result does not fit: {e}", first + k))
                        })
                    })
                    .collect()
            }
        }
    }

    /// Whether this run's results are a shard's share (see [`JobMode::Shard`]).
    pub fn is_shard(&self) -> bool {
        matches!(self.jobs, JobMode::Shard(..))
    }
}

/// Write a finished shard into `dir` (prepared by [`crate::output::RunDir::create`]): `shard.json`, the
/// resolved `config.toml` and `jobs.cbor`.
pub(crate) fn write_shard(
    dir: crate::output::RunDir,
    experiment: &Experiment,
    spec: ShardSpec,
    store: &Store,
) -> Result<PathBuf, ExperimentError> {
    let s = store.lock();
    let jobs: Vec<StoredJob> =
        s.results.iter().map(|(&(list, job), v)| StoredJob { list, job, result: v.clone() }).collect();
    let mut bytes = Vec::new();
    ciborium::into_writer(&jobs, &mut bytes).map_err(|e| internal("encoding the shard's jobs", e))?;
    let file = ShardFile {
        format: FORMAT.into(),
        index: spec.index,
        count: spec.count,
        jobs: jobs.len() as u64,
        baton_version: env!("CARGO_PKG_VERSION").into(),
    };
    dir.write(CONFIG_FILE, experiment.config.to_toml()?.as_bytes())?;
    dir.write(SHARD_FILE, crate::workload::pretty(&file)?.as_bytes())?;
    dir.write(JOBS_FILE, &bytes)?;
    dir.commit()
}

/// One shard directory, read.
struct ReadShard {
    dir: PathBuf,
    file: ShardFile,
    config: String,
    jobs: Vec<StoredJob>,
}

fn read_shard(dir: &Path) -> Result<ReadShard, ExperimentError> {
    let io = |path: &Path, e: std::io::Error| ExperimentError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let bad = |reason: String| ExperimentError::Shard(format!("{}: {reason}", dir.display()));
    let shard_path = dir.join(SHARD_FILE);
    if !shard_path.is_file() {
        return Err(bad(format!("no {SHARD_FILE}: not a shard directory (write one with `baton run --shard i/n`)")));
    }
    let text = crate::data::read_capped(&shard_path, 1 << 20, "shard description")?;
    let file: ShardFile = serde_json::from_str(&text).map_err(|e| bad(format!("{SHARD_FILE}: {e}")))?;
    if file.format != FORMAT {
        return Err(bad(format!("{SHARD_FILE}: format `{}` is not {FORMAT}", file.format)));
    }
    let config = crate::data::read_capped(&dir.join(CONFIG_FILE), crate::data::MAX_CONFIG_BYTES, "config")?;
    let jobs_path = dir.join(JOBS_FILE);
    let size = std::fs::metadata(&jobs_path).map_err(|e| io(&jobs_path, e))?.len();
    if size > MAX_JOBS_BYTES {
        return Err(bad(format!("{JOBS_FILE} is larger than {MAX_JOBS_BYTES} bytes")));
    }
    let bytes = std::fs::read(&jobs_path).map_err(|e| io(&jobs_path, e))?;
    let jobs: Vec<StoredJob> = ciborium::from_reader(bytes.as_slice()).map_err(|e| bad(format!("{JOBS_FILE}: {e}")))?;
    if jobs.len() as u64 != file.jobs {
        return Err(bad(format!("{JOBS_FILE} holds {} jobs, {SHARD_FILE} says {}", jobs.len(), file.jobs)));
    }
    Ok(ReadShard { dir: dir.to_path_buf(), file, config, jobs })
}

/// What [`merge`] needs besides the shards.
#[derive(Clone, Debug, Default)]
pub struct MergeOptions {
    /// Worker threads (`None` or 0: all cores). The merge recomputes only what is outside the jobs.
    pub threads: Option<usize>,
    /// Replace an existing non-empty output directory.
    pub force: bool,
}

/// Merge the shard directories of one run (every shard `i/n` of the same `config.toml`, in any order) into the
/// run directory `out`, as the unsharded `baton run` writes it. Every check runs before anything is written.
pub fn merge(
    out: &Path,
    shards: &[PathBuf],
    options: &MergeOptions,
    progress: &dyn Progress,
) -> Result<Finished, ExperimentError> {
    if shards.is_empty() {
        return Err(ExperimentError::Shard("name the shard directories to merge".into()));
    }
    let read = shards.iter().map(|d| read_shard(d)).collect::<Result<Vec<_>, _>>()?;
    let count = read[0].file.count;
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in &read {
        if s.file.count != count {
            return Err(ExperimentError::Shard(format!(
                "{} is shard {}/{}, but {} is of {count} shards",
                s.dir.display(),
                s.file.index,
                s.file.count,
                read[0].dir.display()
            )));
        }
        if s.config != read[0].config {
            return Err(ExperimentError::Shard(format!(
                "{} and {} are shards of different runs ({CONFIG_FILE} differs)",
                read[0].dir.display(),
                s.dir.display()
            )));
        }
        if let Some(other) = by_index.insert(s.file.index, &s.dir) {
            return Err(ExperimentError::Shard(format!(
                "{} and {} are both shard {}/{count}",
                other.display(),
                s.dir.display(),
                s.file.index
            )));
        }
    }
    let missing: Vec<String> =
        (0..count).filter(|i| !by_index.contains_key(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(ExperimentError::Shard(format!("missing shard(s) {}", missing.join(", "))));
    }
    let store = Store::default();
    {
        let mut s = store.lock();
        for shard in read.iter() {
            for j in &shard.jobs {
                if s.results.insert((j.list, j.job), j.result.clone()).is_some() {
                    return Err(ExperimentError::Shard(format!(
                        "{}: job {} of list {} is in another shard too",
                        shard.dir.display(),
                        j.job,
                        j.list
                    )));
                }
            }
        }
    }
    let origin = read[0].dir.join(CONFIG_FILE).display().to_string();
    let config = ExperimentConfig::from_toml(&read[0].config, &origin)?;
    let mut experiment = config.validate()?;
    let store = Arc::new(store);
    experiment.jobs = JobMode::Replay(Arc::clone(&store));
    let pool = crate::launch::worker_pool(options.threads)?;
    let dir = crate::output::RunDir::create(out, options.force)?;
    let started = Instant::now();
    let outcome = pool.install(|| experiment.run(progress))?;
    let left = store.lock().results.len();
    if left > 0 {
        return Err(ExperimentError::Shard(format!(
            "{left} stored job(s) were not used: the shards are not of this config"
        )));
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let meta = serde_json::json!({
        "baton_version": env!("CARGO_PKG_VERSION"),
        "config_file": origin,
        "merged_shards": shards.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        "threads": pool.current_num_threads(),
        "wall_seconds": wall_seconds,
        "work": experiment.total_work(),
        "work_unit": experiment.work_unit(),
        "host": std::env::var("HOSTNAME").unwrap_or_default(),
    });
    let dir = crate::write_run(dir, &experiment, &outcome, &meta)?;
    Ok(Finished { dir, outcome: Some(outcome), wall_seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_bad_ones_say_why() {
        assert_eq!("1/4".parse::<ShardSpec>().ok(), Some(ShardSpec { index: 1, count: 4 }));
        for (s, why) in [("4/4", "0..4"), ("1", "i/n"), ("a/2", "index"), ("0/0", "count"), ("0/x", "count")] {
            let e = s.parse::<ShardSpec>().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(why) && e.contains(s), "{s}: {e}");
        }
    }
}
