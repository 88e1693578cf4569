//! Per-agent checkpoints: the Q table and visit counts as safetensors, written atomically (temp file, fsync,
//! rename, fsync of the directory), so a kill at any moment leaves either the old or the new file, never a
//! torn one.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::ServiceError;

/// The checkpoint's file name inside the agent's state directory.
pub const FILE_NAME: &str = "learner.safetensors";
/// The format tag stored in the file's metadata.
pub const FORMAT: &str = "baton-agent-checkpoint-v1";

/// One agent's learner state.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The agent's id.
    pub agent: String,
    /// The workload agent index it plays.
    pub role: u16,
    /// The workload id (`synthetic-v0`).
    pub env: String,
    /// Observations (rows).
    pub n_obs: usize,
    /// Actions (columns).
    pub n_actions: usize,
    /// `Q(o, a)`, row-major.
    pub q: Vec<f64>,
    /// `n(o, a)`, row-major.
    pub visits: Vec<u32>,
    /// Updates applied so far (the sender's `learn` calls).
    pub updates: u64,
}

/// The checkpoint path of a state directory.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

impl Checkpoint {
    /// Serialize to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ServiceError> {
        let shape = vec![self.n_obs, self.n_actions];
        let q_bytes: Vec<u8> = self.q.iter().flat_map(|v| v.to_le_bytes()).collect();
        let n_bytes: Vec<u8> = self.visits.iter().flat_map(|v| v.to_le_bytes()).collect();
        let bad = |e: safetensors::SafeTensorError| ServiceError::Internal(format!("checkpoint: {e}"));
        let q = TensorView::new(Dtype::F64, shape.clone(), &q_bytes).map_err(bad)?;
        let n = TensorView::new(Dtype::U32, shape, &n_bytes).map_err(bad)?;
        let meta: HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("agent", self.agent.clone()),
            ("role", self.role.to_string()),
            ("env", self.env.clone()),
            ("updates", self.updates.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        safetensors::serialize([("q", q), ("visits", n)], Some(meta)).map_err(bad)
    }

    /// Parse safetensors bytes; `path` names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Checkpoint, ServiceError> {
        let bad = |reason: String| ServiceError::Checkpoint { path: path.to_path_buf(), reason };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).cloned().ok_or_else(|| bad(format!("metadata lacks `{k}`")));
        if get("format")? != FORMAT {
            return Err(bad(format!("format is not {FORMAT}")));
        }
        let role = get("role")?.parse::<u16>().map_err(|e| bad(format!("metadata `role`: {e}")))?;
        let updates = get("updates")?.parse::<u64>().map_err(|e| bad(format!("metadata `updates`: {e}")))?;
        let q = st.tensor("q").map_err(|e| bad(format!("tensor `q`: {e}")))?;
        let n = st.tensor("visits").map_err(|e| bad(format!("tensor `visits`: {e}")))?;
        if q.dtype() != Dtype::F64 || n.dtype() != Dtype::U32 {
            return Err(bad("tensor `q` must be F64 and `visits` U32".into()));
        }
        if q.shape().len() != 2 || q.shape() != n.shape() {
            return Err(bad(format!("shapes {:?} and {:?} must be equal and 2-D", q.shape(), n.shape())));
        }
        let qv: Vec<f64> = q
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        if let Some(k) = qv.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("Q entry {k} is not finite")));
        }
        let nv: Vec<u32> = n.data().chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(Checkpoint {
            agent: get("agent")?,
            role,
            env: get("env")?,
            n_obs: q.shape()[0],
            n_actions: q.shape()[1],
            q: qv,
            visits: nv,
            updates,
        })
    }

    /// Read the checkpoint of `state_dir`, `None` if there is none yet.
    pub fn load(state_dir: &Path) -> Result<Option<Checkpoint>, ServiceError> {
        let path = path_in(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => Checkpoint::from_bytes(&bytes, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ServiceError::io(path, e)),
        }
    }

    /// Write atomically into `state_dir`: a temp file in the same directory, fsync, rename over the old
    /// checkpoint, fsync the directory.
    pub fn save(&self, state_dir: &Path) -> Result<(), ServiceError> {
        let bytes = self.to_bytes()?;
        let tmp = state_dir.join(format!(".{FILE_NAME}.tmp"));
        let path = path_in(state_dir);
        let mut f = std::fs::File::create(&tmp).map_err(|e| ServiceError::io(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| ServiceError::io(&tmp, e))?;
        f.sync_all().map_err(|e| ServiceError::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| ServiceError::io(&path, e))?;
        let dir = std::fs::File::open(state_dir).map_err(|e| ServiceError::io(state_dir, e))?;
        dir.sync_all().map_err(|e| ServiceError::io(state_dir, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            agent: "a0".into(),
            role: 0,
            env: "synthetic-v0".into(),
            n_obs: 2,
            n_actions: 3,
            q: vec![0.5, -1.0, 2.0, 0.0, 3.25, -7.0],
            visits: vec![1, 2, 3, 0, 5, 6],
            updates: 17,
        }
    }

    #[test]
    fn checkpoints_round_trip_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Checkpoint::load(dir.path()).unwrap(), None);
        sample().save(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(dir.path()).unwrap(), Some(sample()));
        // No temp file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_rejected_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = sample().to_bytes().unwrap();
        std::fs::write(path_in(dir.path()), &bytes[..bytes.len() - 5]).unwrap();
        let err = Checkpoint::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains(FILE_NAME) && err.contains("not safetensors"), "{err}");
        let mut bad = sample();
        bad.q[1] = f64::NAN;
        std::fs::write(path_in(dir.path()), bad.to_bytes().unwrap()).unwrap();
        let err = Checkpoint::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not finite"), "{err}");
    }
}
