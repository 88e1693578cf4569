//! A [`NeuralQ`]'s whole state as safetensors bytes, so that a saved network resumes exactly where it stopped:
//! the same outputs, and the same weights after any further updates (the tail-average accumulators, the
//! projection bound and the step counter travel with the weights).
//!
//! Tensors (little-endian): `w`, `w0` (`F32`, `[m, d]` in the network's tiled layout), `u` (`F64`, `[m, d]`),
//! `origin` (`F32`, `[m, d]`, only when the tail starts after update 0), `sign` (`F32`, `[m]`, the output signs
//! `b_r` as +-1), and for random features `x` (`F32`, `[pairs, d]`) and `gu` (`F64`, `[pairs, m]`). The metadata
//! holds the format tag [`FORMAT`], the writer's identity ([`CheckpointMeta`]: agent, role, env, updates, as in
//! the agent services' tabular checkpoint) and the network's scalars (`eta`, `radius`, `bound`, `steps`,
//! `tail_start`, `n_obs`, `n_actions`), floats written with Rust's shortest round-trip formatting.
//! Only bytes are produced and read here; whoever writes the file writes it atomically.

use std::collections::HashMap;

use baton_core::AgentSpec;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{dist2, NeuralQ};
use crate::LearnError;

/// The format tag stored in a neural checkpoint's metadata.
pub const FORMAT: &str = "baton-neural-checkpoint-v1";

/// Who wrote a checkpoint (the same fields as the agent services' tabular checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointMeta {
    /// The agent's id.
    pub agent: String,
    /// The workload agent index it plays.
    pub role: u16,
    /// The workload id (`synthetic-v0`).
    pub env: String,
    /// IC-Q updates applied so far.
    pub updates: u64,
}

fn bad(reason: impl Into<String>) -> LearnError {
    LearnError::Checkpoint { reason: reason.into() }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl NeuralQ {
    /// The most bytes a checkpoint of this network can take (its tensors, plus 1 MiB for the header): a
    /// reader refuses a larger file before reading it.
    pub fn checkpoint_bytes_max(&self) -> u64 {
        let floats = |n: usize| n as u64;
        let md = floats(self.w.len());
        // w, w0, origin (f32) and u (f64); sign (f32); x (f32) and gu (f64) for random features.
        4 * 3 * md
            + 8 * md
            + 4 * floats(self.m)
            + 4 * floats(self.x.as_ref().map_or(0, Vec::len))
            + 8 * floats(self.gu.len())
            + (1 << 20)
    }

    /// The network's whole state as safetensors bytes, with `meta` in the metadata.
    pub fn to_safetensors(&self, meta: &CheckpointMeta) -> Result<Vec<u8>, LearnError> {
        let (m, d) = (self.m, self.d);
        let pairs = self.legal_pairs();
        let mut tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = vec![
            ("w", Dtype::F32, vec![m, d], f32_bytes(&self.w)),
            ("w0", Dtype::F32, vec![m, d], f32_bytes(&self.w0)),
            ("u", Dtype::F64, vec![m, d], f64_bytes(&self.u)),
            ("sign", Dtype::F32, vec![m], f32_bytes(&self.sign)),
        ];
        if !self.origin.is_empty() {
            tensors.push(("origin", Dtype::F32, vec![m, d], f32_bytes(&self.origin)));
        }
        if let Some(x) = &self.x {
            tensors.push(("x", Dtype::F32, vec![pairs, d], f32_bytes(x)));
            tensors.push(("gu", Dtype::F64, vec![pairs, m], f64_bytes(&self.gu)));
        }
        let views = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                TensorView::new(*dtype, shape.clone(), bytes).map(|v| (*name, v)).map_err(|e| bad(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metadata: HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("agent", meta.agent.clone()),
            ("role", meta.role.to_string()),
            ("env", meta.env.clone()),
            ("updates", meta.updates.to_string()),
            ("n_obs", self.n_obs.to_string()),
            ("n_actions", self.n_actions.to_string()),
            ("eta", self.eta.to_string()),
            ("radius", self.radius.to_string()),
            ("bound", self.bound.to_string()),
            ("steps", self.steps.to_string()),
            ("tail_start", self.tail_start.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        safetensors::serialize(views, Some(metadata)).map_err(|e| bad(e.to_string()))
    }

    /// Read a checkpoint written by [`NeuralQ::to_safetensors`] into a network over `spec`'s interface. `like`
    /// is the reader's own network: the checkpoint must have its width, feature dimension and feature kind.
    /// Every tensor's type and shape and every scalar is checked; nothing in the bytes can panic.
    pub fn from_safetensors(
        bytes: &[u8],
        spec: &AgentSpec,
        like: &NeuralQ,
    ) -> Result<(NeuralQ, CheckpointMeta), LearnError> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).cloned().ok_or_else(|| bad(format!("metadata lacks `{k}`")));
        fn parse<T: std::str::FromStr>(k: &str, v: String) -> Result<T, LearnError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse::<T>().map_err(|e| bad(format!("metadata `{k}`: {e}")))
        }
        if get("format")? != FORMAT {
            return Err(bad(format!("format is not {FORMAT} (a tabular checkpoint? load it into a tabular agent)")));
        }
        let (n_obs, n_actions): (u32, usize) = (parse("n_obs", get("n_obs")?)?, parse("n_actions", get("n_actions")?)?);
        if n_obs != spec.n_obs || n_actions != usize::from(spec.n_actions) {
            return Err(bad(format!(
                "interface ({n_obs} observations, {n_actions} actions) is not this agent's ({}, {})",
                spec.n_obs, spec.n_actions
            )));
        }
        let (m, d) = (like.m, like.d);
        let pairs = like.legal_pairs();
        let tensor = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<Vec<u8>, LearnError> {
            let t = st.tensor(name).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            if t.dtype() != dtype || t.shape() != shape {
                return Err(bad(format!(
                    "tensor `{name}` is {:?} {:?}; this network needs {dtype:?} {shape:?} (width {m}, feature \
                     dimension {d})",
                    t.dtype(),
                    t.shape()
                )));
            }
            Ok(t.data().to_vec())
        };
        let f32s = |b: Vec<u8>| -> Vec<f32> {
            b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        };
        let f64s = |b: Vec<u8>| -> Vec<f64> {
            b.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
        };
        let finite32 = |name: &str, v: &[f32]| match v.iter().position(|a| !a.is_finite()) {
            Some(k) => Err(bad(format!("tensor `{name}` entry {k} is not finite"))),
            None => Ok(()),
        };
        let finite64 = |name: &str, v: &[f64]| match v.iter().position(|a| !a.is_finite()) {
            Some(k) => Err(bad(format!("tensor `{name}` entry {k} is not finite"))),
            None => Ok(()),
        };
        let w = f32s(tensor("w", Dtype::F32, &[m, d])?);
        let w0 = f32s(tensor("w0", Dtype::F32, &[m, d])?);
        let u = f64s(tensor("u", Dtype::F64, &[m, d])?);
        let sign = f32s(tensor("sign", Dtype::F32, &[m])?);
        finite32("w", &w)?;
        finite32("w0", &w0)?;
        finite64("u", &u)?;
        if sign.iter().any(|&s| s != 1.0 && s != -1.0) {
            return Err(bad("tensor `sign`: entries must be +1 or -1"));
        }
        let tail_start: u64 = parse("tail_start", get("tail_start")?)?;
        let origin = if tail_start > 0 {
            let o = f32s(tensor("origin", Dtype::F32, &[m, d])?);
            finite32("origin", &o)?;
            o
        } else {
            Vec::new()
        };
        let (x, gu) = match &like.x {
            None => {
                if st.tensor("x").is_ok() {
                    return Err(bad("has random features (tensor `x`); this network's features are one-hot"));
                }
                (None, Vec::new())
            }
            Some(_) => {
                let x = f32s(tensor("x", Dtype::F32, &[pairs, d])?);
                let gu = f64s(tensor("gu", Dtype::F64, &[pairs, m])?);
                finite32("x", &x)?;
                finite64("gu", &gu)?;
                (Some(x), gu)
            }
        };
        let eta: f64 = parse("eta", get("eta")?)?;
        let radius: f64 = parse("radius", get("radius")?)?;
        let bound: f64 = parse("bound", get("bound")?)?;
        if !(eta.is_finite() && eta > 0.0 && radius.is_finite() && radius > 0.0 && bound.is_finite() && bound >= 0.0) {
            return Err(bad(format!(
                "metadata: eta {eta}, radius {radius}, bound {bound} must be finite and positive"
            )));
        }
        let steps: u64 = parse("steps", get("steps")?)?;
        let scale = 1.0 / (m as f64).sqrt();
        let b = sign.iter().map(|&s| if s > 0.0 { scale } else { -scale }).collect();
        let w0_norm = w0.iter().map(|&a| f64::from(a) * f64::from(a)).sum::<f64>().sqrt();
        let net = NeuralQ {
            legal: spec.legal.clone(),
            n_obs: spec.n_obs as usize,
            n_actions,
            m,
            d,
            w,
            w0,
            b,
            sign,
            x,
            eta,
            radius,
            bound,
            w0_norm,
            steps,
            tail_start,
            origin,
            u,
            gu,
            scratch: vec![0.0; m],
        };
        // The recorded bound must bound the true distance (the projection relies on it).
        if dist2(&net.w, &net.w0).sqrt() > net.bound * (1.0 + 1e-9) + 1e-12 {
            return Err(bad("metadata `bound` is below the weights' distance from their initialisation"));
        }
        let meta = CheckpointMeta {
            agent: get("agent")?,
            role: parse("role", get("role")?)?,
            env: get("env")?,
            updates: parse("updates", get("updates")?)?,
        };
        Ok((net, meta))
    }

    /// Observation-action pairs of the interface (`n_obs * n_actions`).
    fn legal_pairs(&self) -> usize {
        self.n_obs * self.n_actions
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::neural::{Features, NeuralParams};
    use crate::QFunction;
    use baton_core::rng::{stream, Stream};
    use baton_core::{ActionId, Legal, ObsId};

    fn spec() -> AgentSpec {
        AgentSpec {
            name: "a".into(),
            n_obs: 3,
            n_actions: 2,
            legal: Legal::all(2),
            action_names: vec!["x".into(), "y".into()],
        }
    }

    fn trained(features: Features, tail_start: u64) -> NeuralQ {
        let params = NeuralParams { width: 16, radius: 0.5, eta: 0.3, features, symmetric: true, tail_start };
        let mut q = NeuralQ::new(&spec(), params, &mut stream(3, Stream::Init(0)));
        for k in 0..200u32 {
            q.update_towards(ObsId(k % 3), ActionId((k % 2) as u16), f64::from(k % 5));
        }
        q
    }

    fn meta() -> CheckpointMeta {
        CheckpointMeta { agent: "svc".into(), role: 1, env: "synthetic-v0".into(), updates: 200 }
    }

    #[test]
    fn a_checkpoint_resumes_bit_for_bit() {
        for (features, tail) in [(Features::OneHot, 0), (Features::OneHot, 50), (Features::Random { dim: 5 }, 80)] {
            let mut a = trained(features, tail);
            let bytes = a.to_safetensors(&meta()).unwrap();
            assert!(bytes.len() as u64 <= a.checkpoint_bytes_max());
            let (mut b, m) = NeuralQ::from_safetensors(&bytes, &spec(), &trained(features, tail)).unwrap();
            assert_eq!(m, meta());
            for k in 0..100u32 {
                let (o, act) = (ObsId(k % 3), ActionId(((k / 3) % 2) as u16));
                assert_eq!(a.update_towards(o, act, 1.5).to_bits(), b.update_towards(o, act, 1.5).to_bits());
            }
            assert_eq!(a.w, b.w);
            assert_eq!(a.bound.to_bits(), b.bound.to_bits());
            let (pa, pb) = (a.averaged(), b.averaged());
            assert_eq!(pa.w, pb.w);
        }
    }

    #[test]
    fn mismatches_and_damage_are_refused() {
        let a = trained(Features::OneHot, 0);
        let bytes = a.to_safetensors(&meta()).unwrap();
        let wider = NeuralQ::new(
            &spec(),
            NeuralParams {
                width: 32,
                radius: 1.0,
                eta: 0.3,
                features: Features::OneHot,
                symmetric: true,
                tail_start: 0,
            },
            &mut stream(3, Stream::Init(0)),
        );
        let e = NeuralQ::from_safetensors(&bytes, &spec(), &wider).unwrap_err().to_string();
        assert!(e.contains("width 32"), "{e}");
        let random = trained(Features::Random { dim: 5 }, 0);
        assert!(NeuralQ::from_safetensors(&bytes, &spec(), &random).is_err());
        let e = NeuralQ::from_safetensors(&bytes[..bytes.len() - 4], &spec(), &a).unwrap_err().to_string();
        assert!(e.contains("safetensors"), "{e}");
        let mut other = spec();
        other.n_obs = 4;
        let e = NeuralQ::from_safetensors(&bytes, &other, &a).unwrap_err().to_string();
        assert!(e.contains("interface"), "{e}");
    }
}
