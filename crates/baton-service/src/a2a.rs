//! `[option] kind = "a2a"`: a baton agent in front of an A2A agent that already exists.
//!
//! The baton agent keeps its learner and exchanges one scalar per handoff with its peers, as any agent does;
//! only its option's work changes. Running an action sends the artifact it holds to the wrapped agent as an
//! A2A `SendMessage` (JSON-RPC 2.0, method `message/send`, blocking), and the JSON-RPC `result` of the reply
//! (a `Message` or a finished `Task`) becomes the new artifact handed to the action's target. How a reply
//! maps to what the learner sees is declared in `[option.a2a]`:
//!
//! - the observation of an artifact this agent receives: a JSON pointer (RFC 6901) into the artifact that
//!   holds an integer in `0..n_obs`, or one of the strings `observation_values` (its index is the
//!   observation), with `observation_default` for artifacts without it (such as a start artifact);
//! - the reward of a call: `reward` (a JSON pointer into the result, a finite number; 0 if unset) minus
//!   `cost_weight` times `cost` (a JSON pointer to a finite number `>= 0`; 0 if unset);
//! - its duration: the constant `duration` (default 1).
//!
//! The message sent carries the artifact's `parts` when it is an A2A message or task (a task's artifacts'
//! parts), a text part when it is a string, and a data part otherwise; the action's name is sent as message
//! metadata `baton.action`. The wrapped agent never sees a Q-value or the scalar.
//!
//! Every reply is checked before the learner sees it, with the hooks' discipline: read in chunks up to
//! `limits.max_body_bytes`, a 2xx status, JSON-RPC 2.0 with a `result` object (an `error` member fails the
//! call with its message), a task in state `completed` (any other state fails), numbers found and finite,
//! the new artifact at most half of `limits.max_body_bytes` as JSON, everything within
//! `option.timeout_secs`. A failed call fails its own workflow only.

use std::sync::atomic::{AtomicU64, Ordering};

use baton_core::ObsId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::hook::{Observed, Ran, MAX_DURATION};

/// `[option.a2a]`: how the wrapped agent's replies map to observation, reward and cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aConfig {
    /// JSON pointer (RFC 6901, e.g. `/metadata/difficulty` or `/parts/0/data/label`) into each artifact this
    /// agent receives, at which its observation is found: an integer in `0..n_obs`, or one of
    /// `observation_values`.
    pub observation: String,
    /// The strings the observation may be, in order: the string `observation_values[k]` is observation `k`
    /// (at most `n_obs` of them). Empty (the default): the value must be an integer.
    #[serde(default)]
    pub observation_values: Vec<String>,
    /// The observation of an artifact without a value at `observation` (e.g. a start artifact), in
    /// `0..n_obs`. Unset: such an artifact fails the handoff into this agent.
    #[serde(default)]
    pub observation_default: Option<u32>,
    /// JSON pointer into the reply's `result` at which the call's reward is found, a finite number. Unset:
    /// reward 0 (the cost alone, and what later agents report, drive learning).
    #[serde(default)]
    pub reward: Option<String>,
    /// JSON pointer into the reply's `result` at which the call's cost is found, a finite number `>= 0`
    /// (e.g. USD). Unset: no cost.
    #[serde(default)]
    pub cost: Option<String>,
    /// Reward units per unit of cost, finite and `>= 0` (default 1): the reward is `reward - cost_weight * cost`.
    #[serde(default = "one")]
    pub cost_weight: f64,
    /// Duration of one call in the discount's units, `1..=2147483647` (default 1).
    #[serde(default = "one_u64")]
    pub duration: u64,
    /// Name of an environment variable holding a bearer token for the wrapped agent (read at start; a missing
    /// or empty variable is a config error). Unset: no `Authorization` header.
    #[serde(default)]
    pub token_env: Option<String>,
}

fn one() -> f64 {
    1.0
}
fn one_u64() -> u64 {
    1
}

/// A validated `kind = "a2a"` option.
#[derive(Clone, Debug)]
pub struct A2aOption {
    /// The wrapped agent's JSON-RPC endpoint.
    pub url: String,
    /// The mapping.
    pub cfg: A2aConfig,
    /// The bearer token, read from `token_env`.
    pub token: Option<String>,
}

fn pointer_ok(p: &str) -> bool {
    p.is_empty() || p.starts_with('/')
}

impl A2aConfig {
    /// Checks the mapping against the option's `n_obs`; errors are `(field under option.a2a, reason)`.
    pub fn validate(&self, n_obs: u32) -> Result<Option<String>, (String, String)> {
        let err = |f: &str, r: String| (format!("a2a.{f}"), r);
        for (field, p) in
            [("observation", Some(&self.observation)), ("reward", self.reward.as_ref()), ("cost", self.cost.as_ref())]
        {
            if let Some(p) = p {
                if !pointer_ok(p) {
                    return Err(err(field, format!("{p:?} is not a JSON pointer (empty, or starting with '/')")));
                }
            }
        }
        if self.observation_values.len() > n_obs as usize {
            return Err(err(
                "observation_values",
                format!("{} values for n_obs = {n_obs}", self.observation_values.len()),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(v) = self.observation_values.iter().find(|v| !seen.insert(v.as_str())) {
            return Err(err("observation_values", format!("{v:?} is listed twice")));
        }
        if let Some(d) = self.observation_default.filter(|&d| d >= n_obs) {
            return Err(err("observation_default", format!("{d} is out of range 0..{n_obs}")));
        }
        if !(self.cost_weight.is_finite() && self.cost_weight >= 0.0) {
            return Err(err("cost_weight", format!("{} must be finite and >= 0", self.cost_weight)));
        }
        if !(1..=MAX_DURATION).contains(&self.duration) {
            return Err(err("duration", format!("{} is out of range 1..={MAX_DURATION}", self.duration)));
        }
        match &self.token_env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Ok(Some(t)),
                _ => Err(err("token_env", format!("the environment variable {var} is unset or empty"))),
            },
        }
    }
}

/// The observation of `artifact` under the option's mapping.
pub fn observe(o: &A2aOption, artifact: &Value, n_obs: u32) -> Result<Observed, String> {
    let c = &o.cfg;
    let obs = match artifact.pointer(&c.observation) {
        None | Some(Value::Null) => c.observation_default.ok_or_else(|| {
            format!(
                "the artifact has no observation at {:?} (option.a2a.observation) and no observation_default",
                c.observation
            )
        })?,
        Some(Value::String(s)) if !c.observation_values.is_empty() => {
            c.observation_values.iter().position(|v| v == s).map(|k| k as u32).ok_or_else(|| {
                format!("observation {s:?} at {:?} is not one of option.a2a.observation_values", c.observation)
            })?
        }
        Some(v) => match v.as_u64() {
            Some(n) if n < u64::from(n_obs) => n as u32,
            _ => {
                return Err(format!(
                    "observation {v} at {:?} is not an integer in 0..{n_obs} (option.n_obs)",
                    c.observation
                ))
            }
        },
    };
    Ok(Observed { obs: ObsId(obs), legal: None })
}

/// The `parts` of the message sent for `artifact`.
fn parts_of(artifact: &Value) -> Value {
    if let Some(parts) = artifact.get("parts").filter(|p| p.is_array()) {
        return parts.clone();
    }
    if let Some(arts) = artifact.get("artifacts").and_then(Value::as_array) {
        let parts: Vec<Value> =
            arts.iter().filter_map(|a| a.get("parts").and_then(Value::as_array)).flatten().cloned().collect();
        if !parts.is_empty() {
            return Value::Array(parts);
        }
    }
    match artifact {
        Value::String(s) => json!([{ "kind": "text", "text": s }]),
        other => json!([{ "kind": "data", "data": other }]),
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The JSON-RPC `message/send` request for `artifact` and `action`.
pub fn send_message_request(artifact: &Value, action: &str) -> Value {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let id = format!("baton-{}-{n}", std::process::id());
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "message/send",
        "params": {
            "message": {
                "kind": "message",
                "role": "user",
                "messageId": id,
                "parts": parts_of(artifact),
                "metadata": { "baton.action": action },
            },
            "configuration": { "blocking": true },
        },
    })
}

fn number_at(result: &Value, pointer: &str, field: &str) -> Result<f64, String> {
    let v = result
        .pointer(pointer)
        .ok_or_else(|| format!("the reply has no {field} at {pointer:?} (option.a2a.{field})"))?;
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{field} at {pointer:?} is {v}, not a finite number")),
    }
}

/// Checks a wrapped agent's reply body: JSON-RPC 2.0 with a `result` object (a message, or a completed task),
/// at most `max_artifact_bytes` as JSON; the reward `reward - cost_weight * cost` with `|reward| <=
/// max_abs_reward`.
pub fn parse_reply(o: &A2aOption, body: &[u8], max_artifact_bytes: u64, max_abs_reward: f64) -> Result<Ran, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("bad A2A reply: {e}"))?;
    if v.get("jsonrpc") != Some(&json!("2.0")) {
        return Err("bad A2A reply: not JSON-RPC 2.0 (no \"jsonrpc\": \"2.0\")".into());
    }
    if let Some(e) = v.get("error") {
        let msg: String = e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
        return Err(format!("the A2A agent answered with error {}: {msg}", e.get("code").unwrap_or(&Value::Null)));
    }
    let result = match v.get("result") {
        Some(r @ Value::Object(_)) => r,
        _ => return Err("bad A2A reply: no `result` object".into()),
    };
    if result.get("kind").and_then(Value::as_str) == Some("task") {
        let state = result.pointer("/status/state").and_then(Value::as_str).unwrap_or("(none)");
        if state != "completed" {
            return Err(format!("the A2A task ended in state {state:?}, not \"completed\""));
        }
    }
    let c = &o.cfg;
    let reward = match &c.reward {
        Some(p) => number_at(result, p, "reward")?,
        None => 0.0,
    };
    let cost = match &c.cost {
        Some(p) => {
            let x = number_at(result, p, "cost")?;
            if x < 0.0 {
                return Err(format!("cost at {p:?} is {x}, negative"));
            }
            x
        }
        None => 0.0,
    };
    let r = reward - c.cost_weight * cost;
    if !(r.is_finite() && r.abs() <= max_abs_reward) {
        return Err(format!("reward {r} is out of range (|reward| <= {max_abs_reward}, limits.max_abs_scalar)"));
    }
    let size = serde_json::to_vec(result).map_or(u64::MAX, |b| b.len() as u64);
    if size > max_artifact_bytes {
        return Err(format!("the result is {size} bytes as JSON, more than the {max_artifact_bytes} allowed"));
    }
    Ok(Ran { artifact: result.clone(), reward: r, duration: c.duration as u32 })
}

/// Runs `action` on `artifact`: one `message/send` to the wrapped agent within `timeout`, its reply read up to
/// `max_bytes` and checked by [`parse_reply`].
pub async fn run(
    http: &reqwest::Client,
    o: &A2aOption,
    timeout: std::time::Duration,
    artifact: &Value,
    action: &str,
    max_bytes: u64,
    max_abs_reward: f64,
) -> Result<Ran, String> {
    let exchange = async {
        let mut req = http.post(&o.url).json(&send_message_request(artifact, action));
        if let Some(t) = &o.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = crate::client::read_capped(resp, max_bytes).await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(format!("HTTP {status}: {text}"));
        }
        parse_reply(o, &bytes, max_bytes / 2, max_abs_reward)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!("no reply within option.timeout_secs = {}", timeout.as_secs_f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(cfg: A2aConfig) -> A2aOption {
        A2aOption { url: "http://127.0.0.1:1/".into(), cfg, token: None }
    }

    fn cfg() -> A2aConfig {
        A2aConfig {
            observation: "/metadata/level".into(),
            observation_values: vec!["easy".into(), "hard".into()],
            observation_default: Some(0),
            reward: Some("/metadata/score".into()),
            cost: Some("/metadata/cost_usd".into()),
            cost_weight: 10.0,
            duration: 1,
            token_env: None,
        }
    }

    #[test]
    fn observations_come_from_the_declared_pointer() {
        let o = opt(cfg());
        assert_eq!(observe(&o, &json!({"metadata": {"level": "hard"}}), 2).unwrap().obs, ObsId(1));
        assert_eq!(observe(&o, &json!({"n": 1}), 2).unwrap().obs, ObsId(0), "default");
        assert!(observe(&o, &json!({"metadata": {"level": "odd"}}), 2).unwrap_err().contains("observation_values"));
        let o = opt(A2aConfig { observation_values: vec![], observation_default: None, ..cfg() });
        assert_eq!(observe(&o, &json!({"metadata": {"level": 1}}), 2).unwrap().obs, ObsId(1));
        assert!(observe(&o, &json!({"metadata": {"level": 2}}), 2).unwrap_err().contains("0..2"));
        assert!(observe(&o, &json!({"metadata": {"level": -1}}), 2).unwrap_err().contains("0..2"));
        assert!(observe(&o, &json!({}), 2).unwrap_err().contains("no observation_default"));
    }

    #[test]
    fn replies_are_checked_like_hook_replies() {
        let o = opt(cfg());
        let ok = br#"{"jsonrpc":"2.0","id":"1","result":{"kind":"message","parts":[],"metadata":{"score":1.0,"cost_usd":0.01}}}"#;
        let r = parse_reply(&o, ok, 1000, 100.0).unwrap();
        assert!((r.reward - 0.9).abs() < 1e-12 && r.duration == 1);
        assert_eq!(r.artifact["kind"], "message");
        let cases: [(&[u8], &str); 8] = [
            (b"not json", "bad A2A reply"),
            (br#"{"result":{}}"#, "not JSON-RPC 2.0"),
            (br#"{"jsonrpc":"2.0","id":"1","error":{"code":-32601,"message":"nope"}}"#, "error -32601: nope"),
            (br#"{"jsonrpc":"2.0","id":"1","result":3}"#, "no `result` object"),
            (br#"{"jsonrpc":"2.0","result":{"kind":"task","status":{"state":"failed"}}}"#, "state \"failed\""),
            (br#"{"jsonrpc":"2.0","result":{"metadata":{"score":"NaN","cost_usd":0}}}"#, "not a finite number"),
            (br#"{"jsonrpc":"2.0","result":{"metadata":{"score":1,"cost_usd":-1}}}"#, "negative"),
            (br#"{"jsonrpc":"2.0","result":{"metadata":{"score":1e3,"cost_usd":0}}}"#, "out of range"),
        ];
        for (body, want) in cases {
            let e = parse_reply(&o, body, 1000, 100.0).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
        let e = parse_reply(&o, ok, 10, 100.0).unwrap_err();
        assert!(e.contains("more than the 10 allowed"), "{e}");
        assert!(parse_reply(&o, br#"{"jsonrpc":"2.0","result":{}}"#, 1000, 100.0).unwrap_err().contains("no reward"));
    }

    #[test]
    fn messages_carry_the_artifacts_parts_and_the_action() {
        let m = send_message_request(&json!("2 + 2?"), "solve");
        assert_eq!(m["method"], "message/send");
        assert_eq!(m["params"]["message"]["parts"], json!([{"kind": "text", "text": "2 + 2?"}]));
        assert_eq!(m["params"]["message"]["metadata"]["baton.action"], "solve");
        let reply = json!({"kind": "message", "parts": [{"kind": "text", "text": "4"}]});
        assert_eq!(send_message_request(&reply, "x")["params"]["message"]["parts"], reply["parts"]);
        let task = json!({"kind": "task", "artifacts": [{"parts": [{"kind": "text", "text": "a"}]}]});
        assert_eq!(
            send_message_request(&task, "x")["params"]["message"]["parts"],
            json!([{"kind": "text", "text": "a"}])
        );
        assert_eq!(send_message_request(&json!({"n": 1}), "x")["params"]["message"]["parts"][0]["kind"], "data");
    }

    #[test]
    fn mappings_are_validated() {
        assert!(cfg().validate(2).is_ok());
        let bad = |c: A2aConfig, field: &str| {
            let (f, r) = c.validate(2).unwrap_err();
            assert_eq!(f, format!("a2a.{field}"), "{r}");
        };
        bad(A2aConfig { observation: "metadata".into(), ..cfg() }, "observation");
        bad(A2aConfig { reward: Some("x".into()), ..cfg() }, "reward");
        bad(A2aConfig { observation_values: vec!["a".into(), "b".into(), "c".into()], ..cfg() }, "observation_values");
        bad(A2aConfig { observation_values: vec!["a".into(), "a".into()], ..cfg() }, "observation_values");
        bad(A2aConfig { observation_default: Some(2), ..cfg() }, "observation_default");
        bad(A2aConfig { cost_weight: f64::NAN, ..cfg() }, "cost_weight");
        bad(A2aConfig { duration: 0, ..cfg() }, "duration");
        bad(A2aConfig { token_env: Some("BATON_A2A_TEST_NEVER_SET".into()), ..cfg() }, "token_env");
    }
}
