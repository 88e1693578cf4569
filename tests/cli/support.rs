//! Helpers: run the binary, build tiny configs, look at directories.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

/// The five methods, in the order of `experiments/synthetic.toml`.
pub const ALL_METHODS: [&str; 5] = ["optimal", "ic-q", "oracle", "no-scalar", "random"];
/// The methods that learn (one curve per seed each).
pub const LEARNING_METHODS: [&str; 3] = ["ic-q", "oracle", "no-scalar"];
/// Learning-curve points per (method, seed) in [`Config::tiny`].
pub const EVAL_POINTS: usize = 4;

/// What one invocation of the binary did.
pub struct Outcome {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Outcome {
    /// Panic with everything the binary printed unless it exited with code 0.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "baton should have succeeded:\n{self:?}");
        self
    }
}

/// Run the binary with `args` (never inheriting `BATON_LOG`).
pub fn baton<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env_remove("BATON_LOG")
        .output()
        .expect("cannot start the baton binary");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `baton run CONFIG --out OUT --quiet EXTRA...`.
pub fn baton_run(config: &Path, out: &Path, extra: &[&str]) -> Outcome {
    let mut args: Vec<&OsStr> =
        vec![OsStr::new("run"), config.as_os_str(), OsStr::new("--out"), out.as_os_str(), OsStr::new("--quiet")];
    args.extend(extra.iter().map(OsStr::new));
    baton(args)
}

/// An experiment config built key by key; [`Config::render`] writes it as TOML.
#[derive(Clone, Debug)]
pub struct Config {
    /// (table, key, TOML value) in insertion order; table "" is the top level.
    entries: Vec<(String, String, String)>,
}

impl Config {
    /// A run of a fraction of a second: default synthetic workload, 2 seeds, 20,000 handoffs, 4 curve points.
    pub fn tiny(methods: &[&str]) -> Self {
        let list: Vec<String> = methods.iter().map(|m| format!("{m:?}")).collect();
        Config { entries: Vec::new() }
            .set("", "name", "\"tiny\"")
            .set("", "seeds", "2")
            .set("", "methods", &format!("[{}]", list.join(", ")))
            .set("workload", "kind", "\"synthetic\"")
            .set("training", "handoffs", "20000")
            .set("training", "eval_points", &EVAL_POINTS.to_string())
    }

    /// Set `key = value` (a TOML value, e.g. `"0.5"` or `"[1.0]"`) in `table` ("" = top level), replacing an
    /// earlier value of the same key.
    pub fn set(mut self, table: &str, key: &str, value: &str) -> Self {
        match self.entries.iter_mut().find(|(t, k, _)| t == table && k == key) {
            Some(entry) => entry.2 = value.to_string(),
            None => self.entries.push((table.into(), key.into(), value.into())),
        }
        self
    }

    /// The TOML text: top-level keys, then `[workload]`, `[training]`, `[learner]` (and any other table).
    pub fn render(&self) -> String {
        let mut tables: Vec<&str> = vec!["", "workload", "training", "learner"];
        for (t, _, _) in &self.entries {
            if !tables.contains(&t.as_str()) {
                tables.push(t);
            }
        }
        let mut text = String::new();
        for table in tables {
            let keys: Vec<_> = self.entries.iter().filter(|(t, _, _)| t == table).collect();
            if keys.is_empty() {
                continue;
            }
            if !table.is_empty() {
                text.push_str(&format!("\n[{table}]\n"));
            }
            for (_, k, v) in keys {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        text
    }

    /// Write the config to `dir/name` and return the path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        write_file(dir, name, self.render().as_bytes())
    }
}

/// Write `bytes` to `dir/name` and return the path.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// A fresh temporary directory.
pub fn temp_dir() -> TempDir {
    TempDir::new().expect("cannot create a temporary directory")
}

/// The names in `dir` (hidden ones included), sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file under `dir` with its bytes, keyed by its path relative to `dir` (`policy/x.json`).
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in entries(dir) {
        let path = dir.join(&name);
        if path.is_dir() {
            files.extend(snapshot(&path).into_iter().map(|(inner, bytes)| (format!("{name}/{inner}"), bytes)));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            files.insert(name, bytes);
        }
    }
    files
}

/// Read a file as text.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Read and parse a JSON file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every line of a `metrics.jsonl`, parsed.
pub fn read_metrics(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("metrics.jsonl line {}: {e}: {line}", i + 1))
        })
        .collect()
}

/// `value[key]` as a number, panicking with context otherwise.
pub fn number(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or_else(|| panic!("`{key}` should be a number in {value}"))
}

/// `value[key]` as a string, panicking with context otherwise.
pub fn string<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` should be a string in {value}"))
}
