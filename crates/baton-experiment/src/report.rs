//! `baton report`: one Markdown page from one or more run directories, so the paper's claims can be read at
//! a glance. Each run gets its table, its plots, and sentences computed from its own numbers that say what
//! the figures show and what they do not. Each `summary.json` is read back into its workload's typed summary
//! ([`crate::workload::Kind::read_summary`]), which makes the tables `baton run` printed. Nothing here writes
//! files: the binary does.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ExperimentError;

/// A run directory read for the report.
pub struct RunDir {
    /// The directory as given.
    pub path: PathBuf,
    /// Its workload, from the summary's `workload`.
    pub kind: &'static dyn crate::workload::Kind,
    /// Its `summary.json`, read back into the workload's typed summary.
    pub summary: Box<dyn crate::workload::RunSummary>,
    /// Its `meta.json` (`Null` if absent).
    pub meta: Value,
    /// The SVG plots in it, sorted by name.
    pub plots: Vec<String>,
}

impl std::fmt::Debug for RunDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunDir").field("path", &self.path).field("workload", &self.kind.id()).finish_non_exhaustive()
    }
}

/// Read `summary.json`, `meta.json` and the plot names of a run directory; errors name the file and reason (for
/// a summary that is not its workload's, the field).
pub fn read_run(path: &Path) -> Result<RunDir, ExperimentError> {
    let io = |p: &Path, message: String| ExperimentError::Io { path: p.display().to_string(), message };
    if !path.is_dir() {
        return Err(io(path, "not a run directory (expected a directory written by `baton run`)".into()));
    }
    let summary_path = path.join("summary.json");
    let text = std::fs::read_to_string(&summary_path).map_err(|e| io(&summary_path, format!("cannot read: {e}")))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| io(&summary_path, format!("not valid JSON: {e}")))?;
    if !summary.get("rows").is_some_and(Value::is_array) {
        return Err(io(&summary_path, "has no `rows` array: not a baton summary".into()));
    }
    let Some(id) = summary.get("workload").and_then(Value::as_str) else {
        return Err(io(&summary_path, "has no `workload` string: not a baton summary".into()));
    };
    let Some(kind) = crate::registry::by_id(id) else {
        return Err(io(
            &summary_path,
            format!(
                "workload `{id}` is not one this baton knows ({}); was it written by another version?",
                crate::registry::ids().join(", ")
            ),
        ));
    };
    let summary =
        kind.read_summary(&text).map_err(|e| io(&summary_path, format!("is not a valid `{id}` summary: {e}")))?;
    let meta = std::fs::read_to_string(path.join("meta.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let mut plots: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| io(path, format!("cannot list: {e}")))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg") || n.ends_with(".png"))
        .collect();
    plots.sort();
    Ok(RunDir { path: path.to_path_buf(), kind, summary, meta, plots })
}

/// Render the page. `base` is the directory the page will be written to (image links are relative to it).
pub fn render(runs: &[RunDir], base: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# baton report\n");
    let _ = writeln!(out, "{} run(s). Every figure below is read from the run's own `summary.json`.\n", runs.len());
    for run in runs {
        let sm = &*run.summary;
        let (experiment, workload, seeds) = sm.head();
        let _ = writeln!(out, "## {} (`{}`)\n", experiment, run.path.display());
        if let Some(wall) = run.meta.get("wall_seconds").and_then(Value::as_f64) {
            let _ = writeln!(
                out,
                "Workload `{}`, {} seeds, {:.1} s on {} threads.\n",
                workload,
                seeds,
                wall,
                run.meta.get("threads").and_then(Value::as_u64).unwrap_or(0)
            );
        }
        sm.markdown(&mut out);
        for plot in &run.plots {
            let target = relative(&run.path.join(plot), base);
            let _ = writeln!(out, "![{plot}]({})\n", target.display());
        }
    }
    out
}

/// `path` relative to `base` when both are relative or share a prefix; otherwise `path` as is.
fn relative(path: &Path, base: &Path) -> PathBuf {
    let (p, b) = (absolute(path), absolute(base));
    let common = p.components().zip(b.components()).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in b.components().skip(common) {
        out.push("..");
    }
    for c in p.components().skip(common) {
        out.push(c);
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_summary(summary: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("summary.json"), summary).expect("write summary.json");
        dir
    }

    #[test]
    fn a_summary_of_an_unknown_workload_is_rejected_naming_it() {
        let dir = dir_with_summary(r#"{"experiment": "x", "workload": "teleport-v9", "rows": []}"#);
        let e = read_run(dir.path()).expect_err("an unknown workload").to_string();
        assert!(e.contains("summary.json") && e.contains("`teleport-v9`") && e.contains("synthetic-v0"), "{e}");
        let dir = dir_with_summary(r#"{"experiment": "x", "rows": []}"#);
        let e = read_run(dir.path()).expect_err("no workload").to_string();
        assert!(e.contains("no `workload`"), "{e}");
    }

    fn sample_json() -> String {
        crate::workload::pretty(&crate::synthetic::report::tests::sample()).expect("serialise")
    }

    #[test]
    fn a_summary_is_read_back_into_its_workloads_type_and_rendered() {
        let dir = dir_with_summary(&sample_json());
        let run = read_run(dir.path()).expect("a valid synthetic summary");
        assert_eq!(run.kind.id(), "synthetic-v0");
        assert_eq!(run.summary.head().0, "sample");
        let page = render(&[run], dir.path());
        assert!(page.contains("## sample") && page.contains("| ic-q | 1.9800 | [1.9700, 1.9900] | 1.00% |"), "{page}");
    }

    #[test]
    fn a_summary_missing_or_mistyping_a_field_is_rejected_naming_the_file_and_the_field() {
        let mut summary: Value = serde_json::from_str(&sample_json()).expect("JSON");
        summary["rows"][1].as_object_mut().expect("a row").remove("gap");
        let dir = dir_with_summary(&summary.to_string());
        let e = read_run(dir.path()).expect_err("a row without `gap`").to_string();
        assert!(e.contains("summary.json") && e.contains("`rows[1]`") && e.contains("missing field `gap`"), "{e}");

        let mut summary: Value = serde_json::from_str(&sample_json()).expect("JSON");
        summary["model"]["states"] = Value::from("twelve");
        let dir = dir_with_summary(&summary.to_string());
        let e = read_run(dir.path()).expect_err("a mistyped `model.states`").to_string();
        assert!(e.contains("summary.json") && e.contains("`model.states`") && e.contains("invalid type"), "{e}");
        assert!(e.contains("synthetic-v0"), "the workload is named: {e}");
    }

    #[test]
    fn every_registered_workload_reads_its_summaries_and_rejects_an_empty_one() {
        for kind in crate::registry::KINDS {
            let e = kind.read_summary(r#"{"experiment": "x", "rows": []}"#).expect_err("an empty summary");
            assert!(e.contains("missing field"), "{}: {e}", kind.kind());
        }
    }
}
