//! The run directory, written so that a failed run never damages earlier results.
//!
//! Every file is first written into a staging directory beside the target (fsynced), and the staging
//! directory is renamed into place only when everything succeeded. An existing non-empty target is
//! replaced only with `overwrite`, and then by rename, never by writing into it.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExperimentError;

/// Files of one run, staged then committed atomically.
pub struct RunDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl RunDir {
    /// Prepare to write the run directory `target`. Fails if it exists and is not empty, unless `overwrite`.
    pub fn create(target: &Path, overwrite: bool) -> Result<Self, ExperimentError> {
        let io = |what: &str, p: &Path, e: std::io::Error| ExperimentError::Io {
            path: p.display().to_string(),
            message: format!("{what}: {e}"),
        };
        let ends_in_name = matches!(target.components().next_back(), Some(std::path::Component::Normal(_)));
        let name = match target.file_name() {
            Some(n) if ends_in_name => n.to_string_lossy().into_owned(),
            _ => {
                return Err(ExperimentError::Io {
                    path: target.display().to_string(),
                    message: "the output path must end in a directory name (not '.', '..' or '/')".into(),
                })
            }
        };
        if target.exists() {
            let non_empty = fs::read_dir(target).map_err(|e| io("reading", target, e))?.next().is_some();
            if non_empty && !overwrite {
                return Err(ExperimentError::Io {
                    path: target.display().to_string(),
                    message: "output directory exists and is not empty (pass --force to replace it)".into(),
                });
            }
        }
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| io("clearing", &staging, e))?;
        }
        fs::create_dir(&staging).map_err(|e| io("creating", &staging, e))?;
        Ok(RunDir { target: target.to_path_buf(), staging, committed: false })
    }

    /// Write one file (fsynced) into the staging directory; `name` may hold `/`-separated subdirectories
    /// (relative, without `..`), which are created.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), ExperimentError> {
        let rel = Path::new(name);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(ExperimentError::Internal(format!("{name:?} is not a relative path inside the run")));
        }
        let path = self.staging.join(rel);
        if let Some(parent) = path.parent().filter(|p| *p != self.staging) {
            fs::create_dir_all(parent).map_err(|e| ExperimentError::Io {
                path: parent.display().to_string(),
                message: format!("creating: {e}"),
            })?;
        }
        write_synced(&path, bytes)
    }

    /// Move the staged directory into place, replacing an earlier one only after the new one is complete.
    pub fn commit(mut self) -> Result<PathBuf, ExperimentError> {
        let io =
            |p: &Path, e: std::io::Error| ExperimentError::Io { path: p.display().to_string(), message: e.to_string() };
        if let Ok(d) = File::open(&self.staging) {
            let _ = d.sync_all();
        }
        let mut old = None;
        if self.target.exists() {
            // A unique aside name per commit: a stale one from an interrupted run never blocks this one.
            let aside = self.staging.with_extension(format!("old-{}", unique_suffix()));
            fs::rename(&self.target, &aside).map_err(|e| io(&self.target, e))?;
            old = Some(aside);
        }
        if let Err(e) = fs::rename(&self.staging, &self.target) {
            // Put the earlier results back before reporting.
            if let Some(aside) = &old {
                let _ = fs::rename(aside, &self.target);
            }
            return Err(io(&self.target, e));
        }
        self.committed = true;
        if let Some(old) = old {
            fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Create `path`, write `bytes` and fsync it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    let err = |e: std::io::Error| ExperimentError::Io { path: path.display().to_string(), message: e.to_string() };
    let mut f = File::create(path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    Ok(())
}

/// Write one file atomically: into a temporary file beside `path` (fsynced), then renamed over it. A failure
/// leaves any earlier `path` untouched and removes the temporary file.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    let io = |message: String| ExperimentError::Io { path: path.display().to_string(), message };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io("not a file path".into()))?;
    if !dir.is_dir() {
        return Err(io(format!("the directory {} does not exist", dir.display())));
    }
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), unique_suffix()));
    let result = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, path).map_err(|e| io(e.to_string())));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}
