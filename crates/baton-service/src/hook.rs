//! User-defined options: the JSON contract between an agent and its HTTP hook (docs/service.md, "User-defined
//! options"). The agent asks its hook to `observe` each artifact it receives (`o'`, from which it computes its
//! one scalar) and to `run` the action it picked. Every reply is checked here before the learner sees it.

use baton_core::{ActionId, ObsId};
use baton_learn::{QFunction, TabularQ};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{Hook, HookCall};
use crate::error::ServiceError;

/// A checked reply to `observe`.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// `o'`, in `0..n_obs`.
    pub obs: ObsId,
    /// The legal actions in this observation (sorted, unique, non-empty), if the hook restricts them.
    pub legal: Option<Vec<ActionId>>,
}

/// A checked reply to `run`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ran {
    /// The new artifact.
    pub artifact: Value,
    /// The option's reward, finite.
    pub reward: f64,
    /// The option's duration, `>= 1`.
    pub duration: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObserveReply {
    observation: u64,
    #[serde(default)]
    legal: Option<Vec<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunReply {
    artifact: Value,
    reward: f64,
    duration: u64,
}

/// The body of an `observe` call.
pub fn observe_request(artifact: &Value) -> Value {
    json!({ "op": "observe", "artifact": artifact })
}

/// The body of a `run` call.
pub fn run_request(artifact: &Value, action: &str) -> Value {
    json!({ "op": "run", "artifact": artifact, "action": action })
}

/// Check a reply to `observe`: `observation < n_obs`; `legal`, if given, non-empty with every index
/// `< n_actions`.
pub fn parse_observe(body: &[u8], n_obs: u32, n_actions: u16) -> Result<Observed, String> {
    let r: ObserveReply = serde_json::from_slice(body).map_err(|e| format!("bad observe reply: {e}"))?;
    if r.observation >= u64::from(n_obs) {
        return Err(format!("observation {} is out of range 0..{n_obs} (option.n_obs)", r.observation));
    }
    let legal = match r.legal {
        None => None,
        Some(mut l) => {
            if l.is_empty() {
                return Err("`legal` is empty: at least one action must be legal".into());
            }
            if let Some(a) = l.iter().find(|&&a| a >= u64::from(n_actions)) {
                return Err(format!("legal action {a} is out of range 0..{n_actions} (option.actions)"));
            }
            l.sort_unstable();
            l.dedup();
            Some(l.into_iter().map(|a| ActionId(a as u16)).collect())
        }
    };
    Ok(Observed { obs: ObsId(r.observation as u32), legal })
}

/// The largest `duration` a hook may report (`gamma^duration` is computed with an `i32` exponent).
pub const MAX_DURATION: u64 = i32::MAX as u64;

/// Check a reply to `run`: a finite `reward` with `|reward| <= max_abs_reward`, an integer `duration` in
/// `1..=MAX_DURATION`, and an `artifact` of at most `max_artifact_bytes` as JSON.
pub fn parse_run(body: &[u8], max_artifact_bytes: u64, max_abs_reward: f64) -> Result<Ran, String> {
    let r: RunReply = serde_json::from_slice(body).map_err(|e| format!("bad run reply: {e}"))?;
    if !(r.reward.is_finite() && r.reward.abs() <= max_abs_reward) {
        return Err(format!(
            "reward {} is out of range (|reward| <= {max_abs_reward}, limits.max_abs_scalar)",
            r.reward
        ));
    }
    if r.duration == 0 || r.duration > MAX_DURATION {
        return Err(format!("duration {} is out of range 1..={MAX_DURATION}", r.duration));
    }
    let size = serde_json::to_vec(&r.artifact).map_or(u64::MAX, |v| v.len() as u64);
    if size > max_artifact_bytes {
        return Err(format!("artifact is {size} bytes as JSON, more than the {max_artifact_bytes} allowed"));
    }
    Ok(Ran { artifact: r.artifact, reward: r.reward, duration: r.duration as u32 })
}

/// Call the hook with `body` within its deadline: POST it (a success status is required) or run the program
/// (request on stdin, reply on stdout, exit status 0; killed at the deadline). The reply is at most `max_bytes`.
pub async fn call(http: &reqwest::Client, hook: &Hook, body: &Value, max_bytes: u64) -> Result<Vec<u8>, ServiceError> {
    let err = |reason: String| ServiceError::Hook { hook: hook.label.clone(), reason };
    let deadline = hook.timeout;
    let exchange = async {
        match &hook.call {
            HookCall::Http(url) => post(http, url, body, max_bytes).await,
            HookCall::Command { program, args } => run_program(program, args, body, max_bytes).await,
            HookCall::A2a(_) => Err("an a2a option is called through crate::a2a, not as a hook".to_string()),
        }
    };
    // Boxed: the exchange's HTTP client and process futures are large, and every future that awaits a hook call
    // (a start's handler, which waits for its whole workflow) would carry them inline.
    match Box::pin(tokio::time::timeout(deadline, exchange)).await {
        Ok(r) => r.map_err(err),
        Err(_) => Err(err(format!("no reply within option.timeout_secs = {}", deadline.as_secs_f64()))),
    }
}

async fn post(http: &reqwest::Client, url: &str, body: &Value, max_bytes: u64) -> Result<Vec<u8>, String> {
    let resp = http.post(url).json(body).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes = crate::client::read_capped(resp, max_bytes).await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(bytes.to_vec())
}

/// One process per call. `kill_on_drop`: a process still running at the deadline is killed when the
/// timed-out future is dropped.
async fn run_program(program: &str, args: &[String], body: &Value, max_bytes: u64) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let input = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no stdin or stdout pipe".into());
    };
    let write = async move {
        // A program that exits without reading its input is not an error here; its reply decides.
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    };
    let mut out = Vec::new();
    let mut limited = stdout.take(max_bytes + 1);
    let read = limited.read_to_end(&mut out);
    let ((), read) = tokio::join!(write, read);
    read.map_err(|e| format!("reading stdout: {e}"))?;
    if out.len() as u64 > max_bytes {
        return Err(format!("reply larger than {max_bytes} bytes"));
    }
    let status = child.wait().await.map_err(|e| format!("waiting for the process: {e}"))?;
    if !status.success() {
        return Err(format!("the process exited with {status}"));
    }
    Ok(out)
}

/// A read-only view of a table whose legal actions at one observation are the hook's `legal`. Only
/// [`baton_learn::icq::reply`] and [`baton_learn::Behaviour::act`] see it; updates go to the table itself.
pub(crate) struct Restricted<'a> {
    pub q: &'a TabularQ,
    pub legal: &'a [ActionId],
}

impl QFunction for Restricted<'_> {
    fn legal(&self, _obs: ObsId) -> &[ActionId] {
        self.legal
    }

    fn max_value(&self, obs: ObsId) -> f64 {
        self.legal.iter().map(|&a| self.q.value(obs, a)).fold(f64::NEG_INFINITY, f64::max)
    }

    fn greedy(&self, obs: ObsId) -> ActionId {
        let mut best = self.legal[0];
        for &a in &self.legal[1..] {
            // Strictly greater: ties keep the lowest index, as `TabularQ::greedy` does.
            if self.q.value(obs, a).total_cmp(&self.q.value(obs, best)).is_gt() {
                best = a;
            }
        }
        best
    }

    fn value(&self, obs: ObsId, action: ActionId) -> f64 {
        self.q.value(obs, action)
    }

    /// Never called (the view is read-only): returns NaN and changes nothing.
    fn update_towards(&mut self, _obs: ObsId, _action: ActionId, _target: f64) -> f64 {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_replies_are_checked() {
        let o = parse_observe(br#"{"observation": 1, "legal": [2, 0, 2]}"#, 2, 3).unwrap();
        assert_eq!(o, Observed { obs: ObsId(1), legal: Some(vec![ActionId(0), ActionId(2)]) });
        let e = parse_observe(br#"{"observation": 2}"#, 2, 3).unwrap_err();
        assert!(e.contains("out of range 0..2"), "{e}");
        let e = parse_observe(br#"{"observation": 0, "legal": []}"#, 2, 3).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_observe(br#"{"observation": 0, "legal": [3]}"#, 2, 3).unwrap_err();
        assert!(e.contains("legal action 3"), "{e}");
        let e = parse_observe(br#"{"observation": -1}"#, 2, 3).unwrap_err();
        assert!(e.contains("bad observe reply"), "{e}");
        let e = parse_observe(br#"{"observation": 0, "q": [1.0]}"#, 2, 3).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn run_replies_are_checked() {
        let r = parse_run(br#"{"artifact": {"n": 1}, "reward": -0.5, "duration": 2}"#, 100, 1e6).unwrap();
        assert_eq!(r, Ran { artifact: json!({"n": 1}), reward: -0.5, duration: 2 });
        let e = parse_run(br#"{"artifact": 1, "reward": "NaN", "duration": 1}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("bad run reply"), "{e}");
        let e = parse_run(br#"{"artifact": 1, "reward": 1e999, "duration": 1}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("bad run reply"), "{e}");
        let e = parse_run(br#"{"artifact": 1, "reward": 0, "duration": 0}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("duration 0"), "{e}");
        let e = parse_run(br#"{"artifact": 1, "reward": 0, "duration": 1.5}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("bad run reply"), "{e}");
        let e = parse_run(br#"{"artifact": "0123456789", "reward": 0, "duration": 1}"#, 8, 1e6).unwrap_err();
        assert!(e.contains("more than the 8"), "{e}");
        let e = parse_run(br#"{"artifact": 1, "reward": 2e6, "duration": 1}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("reward 2000000 is out of range"), "{e}");
        let e = parse_run(br#"{"artifact": 1, "reward": 0, "duration": 3000000000}"#, 100, 1e6).unwrap_err();
        assert!(e.contains("duration 3000000000 is out of range"), "{e}");
    }
}
