//! The run directory, written so that a failed run never damages earlier results.
//!
//! Every file is first written into a staging directory `.<name>.partial-<pid>` beside the target (fsynced),
//! and the staging directory is renamed into place only when everything succeeded; the parent directory is
//! fsynced after the rename. An existing non-empty target is replaced only with `overwrite`, and then by
//! rename, never by writing into it: on Linux the two directories are swapped in one step
//! (`renameat2(RENAME_EXCHANGE)`), so the target never goes missing; elsewhere (or on a file system without
//! the exchange) the old one is first moved aside to `.<name>.old-<pid>-<nanos>`.
//!
//! A run killed half-way leaves its staging directory, and a kill between the two renames of the fallback
//! leaves the old results aside with the target missing. The next run on the same target cleans up: staging
//! directories of processes that are gone are removed, and aside copies are moved back into place when the
//! target is missing (or removed when it is not). Each such step is logged as a warning.

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
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
        recover(parent, &name, target)?;
        if target.exists() {
            let non_empty = fs::read_dir(target).map_err(|e| io("reading", target, e))?.next().is_some();
            if non_empty && !overwrite {
                return Err(ExperimentError::Io {
                    path: target.display().to_string(),
                    message: "output directory exists and is not empty (pass --force to replace it)".into(),
                });
            }
        }
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

    /// Move the staged directory into place, replacing an earlier one only after the new one is complete, and
    /// fsync the parent directory.
    pub fn commit(mut self) -> Result<PathBuf, ExperimentError> {
        let io =
            |p: &Path, e: std::io::Error| ExperimentError::Io { path: p.display().to_string(), message: e.to_string() };
        if let Ok(d) = File::open(&self.staging) {
            let _ = d.sync_all();
        }
        let parent = self.staging.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut old = None;
        if self.target.exists() {
            if exchange(&self.staging, &self.target).is_ok() {
                // The new run is in place and the old one sits at the staging path.
                self.committed = true;
                old = Some(self.staging.clone());
            } else {
                // A unique aside name per commit: a stale one from an interrupted run never blocks this one.
                let aside = self.staging.with_extension(format!("old-{}", unique_suffix()));
                fs::rename(&self.target, &aside).map_err(|e| io(&self.target, e))?;
                old = Some(aside);
            }
        }
        if !self.committed {
            if let Err(e) = fs::rename(&self.staging, &self.target) {
                // Put the earlier results back before reporting.
                if let Some(aside) = &old {
                    let _ = fs::rename(aside, &self.target);
                }
                return Err(io(&self.target, e));
            }
            self.committed = true;
        }
        sync_dir(&parent).map_err(|e| io(&parent, e))?;
        if let Some(old) = old {
            fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

/// Swap two directories in one step (Linux `renameat2(RENAME_EXCHANGE)`); an error where the system or the
/// file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt as _;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// fsync a directory, so that a rename inside it is durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Whether process `pid` may still be running (on systems where this cannot be asked, always yes).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Clean up what interrupted runs on `target` (named `name`, in `parent`) left: staging directories of
/// processes that are gone are removed; aside copies of earlier results of processes that are gone are moved
/// back when the target is missing, else removed. Directories of live processes are left alone (reported).
fn recover(parent: &Path, name: &str, target: &Path) -> Result<(), ExperimentError> {
    let io = |what: &str, p: &Path, e: std::io::Error| ExperimentError::Io {
        path: p.display().to_string(),
        message: format!("{what}: {e}"),
    };
    let Ok(entries) = fs::read_dir(parent) else { return Ok(()) };
    let partial = format!(".{name}.partial-");
    let aside = format!(".{name}.old-");
    let mut stale: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let (rest, is_aside) = if let Some(rest) = file_name.strip_prefix(&partial) {
            (rest, false)
        } else if let Some(rest) = file_name.strip_prefix(&aside) {
            (rest, true)
        } else {
            continue;
        };
        // `<pid>` for staging, `<pid>-<nanos>` for aside copies (older builds: `.<name>.old`, no pid).
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let path = entry.path();
        match pid {
            Some(pid) if pid == std::process::id() => {}
            Some(pid) if process_alive(pid) => {
                tracing::warn!(path = %path.display(), pid, "left alone: the run that owns it (pid {pid}) is still running");
            }
            _ => stale.push((path, is_aside)),
        }
    }
    // The newest aside copy (by the time in its name) holds the latest results: restore it first when the
    // target is missing; the rest are removed.
    let nanos =
        |p: &Path| -> u128 { p.file_name().and_then(|n| n.to_str()?.rsplit('-').next()?.parse().ok()).unwrap_or(0) };
    stale.sort_by_key(|(p, is_aside)| (*is_aside, nanos(p)));
    for (path, is_aside) in stale.into_iter().rev() {
        if is_aside && !target.exists() {
            fs::rename(&path, target).map_err(|e| io("restoring earlier results", &path, e))?;
            sync_dir(parent).map_err(|e| io("syncing", parent, e))?;
            tracing::warn!(
                "restored {} from {}: an earlier --force run was interrupted between its two renames",
                target.display(),
                path.display()
            );
        } else {
            fs::remove_dir_all(&path).map_err(|e| io("removing a stale directory", &path, e))?;
            let what = if is_aside { "an earlier run's replaced results" } else { "an interrupted run's staging" };
            tracing::warn!("removed {} ({what}; its process is gone)", path.display());
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The process id of a child that has exited (so no process has it, barring immediate reuse).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    fn run(target: &Path, overwrite: bool, text: &str) -> Result<PathBuf, ExperimentError> {
        let dir = RunDir::create(target, overwrite)?;
        dir.write("summary.json", text.as_bytes())?;
        dir.write("policy/a.json", b"{}")?;
        dir.commit()
    }

    #[test]
    fn force_replaces_the_target_and_leaves_nothing_beside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        run(&target, false, "first").unwrap();
        assert!(run(&target, false, "second").is_err(), "a non-empty target needs overwrite");
        run(&target, true, "second").unwrap();
        assert_eq!(fs::read_to_string(target.join("summary.json")).unwrap(), "second");
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_exchange_swaps_two_directories_in_one_step() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("x"), "a").unwrap();
        fs::write(b.join("x"), "b").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(a.join("x")).unwrap(), "b");
        assert_eq!(fs::read_to_string(b.join("x")).unwrap(), "a");
        assert!(exchange(&a, &tmp.path().join("missing")).is_err());
    }

    /// A `--force` run killed between moving the old results aside and moving the new ones in: the next run
    /// puts the old results back (the newest aside copy) before anything else.
    #[test]
    fn results_moved_aside_by_a_killed_run_are_restored_by_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let pid = dead_pid();
        for (nanos, text) in [(100u128, "older"), (200, "latest")] {
            let aside = tmp.path().join(format!(".out.old-{pid}-{nanos}"));
            fs::create_dir(&aside).unwrap();
            fs::write(aside.join("summary.json"), text).unwrap();
        }
        let partial = tmp.path().join(format!(".out.partial-{pid}"));
        fs::create_dir(&partial).unwrap();
        fs::write(partial.join("summary.json"), "half").unwrap();

        // A run without --force must now refuse: the earlier results are back in place.
        assert!(RunDir::create(&target, false).is_err());
        assert_eq!(fs::read_to_string(target.join("summary.json")).unwrap(), "latest");
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn stale_staging_of_dead_runs_is_removed_and_that_of_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let dead = tmp.path().join(format!(".out.partial-{}", dead_pid()));
        fs::create_dir(&dead).unwrap();
        // pid 1 always exists.
        let live = tmp.path().join(".out.partial-1");
        fs::create_dir(&live).unwrap();
        // Another target's staging is not this run's business.
        let other = tmp.path().join(format!(".other.partial-{}", dead_pid()));
        fs::create_dir(&other).unwrap();
        run(&target, false, "new").unwrap();
        assert!(!dead.exists(), "the dead run's staging should be removed");
        assert!(live.exists(), "a live run's staging must be left alone");
        assert!(other.exists());
        // With the target present, a dead run's aside copy is removed, not restored.
        let aside = tmp.path().join(format!(".out.old-{}-5", dead_pid()));
        fs::create_dir(&aside).unwrap();
        run(&target, true, "newer").unwrap();
        assert!(!aside.exists());
        assert_eq!(fs::read_to_string(target.join("summary.json")).unwrap(), "newer");
    }

    #[test]
    fn a_relative_target_commits_and_syncs_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("nested/deeper/out");
        run(&target, false, "x").unwrap();
        assert_eq!(names(&tmp.path().join("nested/deeper")), ["out"]);
        sync_dir(Path::new(".")).unwrap();
        assert!(sync_dir(&tmp.path().join("missing")).is_err());
    }
}
