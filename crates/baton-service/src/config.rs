//! One agent's configuration (`agent.toml`), validated into [`AgentSettings`] before the agent starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use baton_core::{AgentId, AgentSpec, Legal};
use baton_envs::{Synthetic, SyntheticConfig};
use baton_learn::{LearnerConfig, LearnerParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ServiceError;

/// One agent running as a service. Unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This agent's name on the wire (the `from` of its messages and the id its peers know it by): 1-64
    /// characters from `A-Z a-z 0-9 - _ .`.
    pub id: String,
    /// The workload agent this service plays: an agent index `0..agents` of the `[workload]` model. Required
    /// unless `[option]` makes the option a user hook (then it must be absent).
    #[serde(default)]
    pub role: Option<u16>,
    /// Address to listen on. Default `127.0.0.1:7400` (loopback: expose it only behind TLS, see docs/service.md).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Seed of this agent's own random stream (its private state and behaviour draws, and its option's noise).
    pub seed: u64,
    /// Directory of this agent's own files (checkpoint, wire log); created if missing. Relative paths are
    /// relative to the config file's directory. Nothing is ever written outside it.
    pub state_dir: PathBuf,
    /// Seconds between checkpoints of the learner (also written on shutdown), positive.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: f64,
    /// Append every message this agent sends or receives to `state_dir/wire.jsonl` (for audits and tests).
    #[serde(default)]
    pub wire_log: bool,
    /// The workload (`synthetic-v0`, model.md 6.1): the same table in every agent of a pipeline. Each agent uses it
    /// only to run its own option and to read its own interface of the artifact.
    #[serde(default)]
    pub workload: SyntheticConfig,
    /// A user-defined option (an HTTP hook) instead of a role of the synthetic workload; `[workload]` and
    /// `role` are then unused. See docs/service.md, "User-defined options".
    #[serde(default)]
    pub option: Option<HookConfig>,
    /// This agent's learner (tabular IC-Q; `[learner.network]` is not supported by services).
    #[serde(default)]
    pub learner: LearnerConfig,
    /// Request limits and deadlines.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The agents and clients this agent talks to, each with its own bearer token.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// A peer: another agent (with a `role` and a `url`) or a client (neither) allowed to submit workflows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's id (its messages' `from`).
    pub id: String,
    /// The workload agent index the peer plays; required for agents this agent hands work to.
    #[serde(default)]
    pub role: Option<u16>,
    /// The peer's base URL (`http://127.0.0.1:7401`); required for agents this agent hands work to.
    #[serde(default)]
    pub url: Option<String>,
    /// The bearer token shared by this pair of parties, used in both directions; at least 16 characters.
    pub token: String,
}

/// A user-defined option: the agent asks a hook to observe each artifact it receives and to run the option
/// it picks. Its interface (observations and actions) is declared here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// How the hook is called: `http` (a JSON POST to `url` per call) or `command` (one process of `program`
    /// per call, the request on its stdin, the reply on its stdout).
    pub kind: HookKind,
    /// The hook's URL (`http://` or `https://`); `http` only.
    #[serde(default)]
    pub url: Option<String>,
    /// The program to run (a path, or a name looked up in `PATH`); `command` only. It runs in the agent's
    /// working directory with the agent's environment.
    #[serde(default)]
    pub program: Option<String>,
    /// The program's arguments; `command` only.
    #[serde(default)]
    pub args: Vec<String>,
    /// Number of observations: the hook's `observation` must be in `0..n_obs`; positive.
    pub n_obs: u32,
    /// The actions, in order (index = position): each hands the artifact to a peer agent (`to`) or submits it
    /// (`submit = true`). At least one, at most 65535.
    pub actions: Vec<HookActionConfig>,
    /// Deadline of one hook call in seconds, positive; keep it below the senders' `limits.call_timeout_secs`,
    /// since a receiver observes while its sender waits. Default 2.
    #[serde(default = "default_hook_timeout")]
    pub timeout_secs: f64,
    /// Discount gamma per unit of the hook's `duration`, in `(0, 1]`: the same in every agent of a pipeline.
    pub discount: f64,
    /// The artifact a workflow starts with (any TOML value, sent to the hook as JSON). Set only at the entry
    /// agent: an agent accepts clients' `start` messages only if it has one.
    #[serde(default)]
    pub start_artifact: Option<Value>,
}

/// How a hook is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// One HTTP POST of a JSON body per call; the reply body is JSON.
    Http,
    /// One process per call: the JSON request on stdin (then closed), the JSON reply on stdout, exit status 0.
    Command,
}

/// One action of a user-defined option.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookActionConfig {
    /// The action's name, sent to the hook in `run` (1-64 characters, unique).
    pub name: String,
    /// The peer agent (an `id` in `peers`, with a `url`) that receives the artifact after this action.
    #[serde(default)]
    pub to: Option<String>,
    /// This action submits the artifact (ends the workflow); exclusive with `to`.
    #[serde(default)]
    pub submit: bool,
}

fn default_hook_timeout() -> f64 {
    2.0
}

/// Where the artifact goes after an action of a user-defined option.
#[derive(Clone, Debug)]
pub enum HookTarget {
    /// The workflow ends here.
    Submit,
    /// Hand off to this peer.
    Peer(PeerAgent),
}

/// How a validated hook is called.
#[derive(Clone, Debug)]
pub enum HookCall {
    /// POST to this URL.
    Http(String),
    /// Run this program with these arguments.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// A validated [`HookConfig`].
#[derive(Clone, Debug)]
pub struct Hook {
    /// How it is called.
    pub call: HookCall,
    /// The hook as errors name it: its URL, or `command <program>`.
    pub label: String,
    /// Number of observations.
    pub n_obs: u32,
    /// Action names, by index.
    pub action_names: Vec<String>,
    /// Action targets, by index.
    pub targets: Vec<HookTarget>,
    /// Deadline of one call.
    pub timeout: std::time::Duration,
    /// Discount per unit of duration.
    pub discount: f64,
    /// The start artifact, if workflows start here.
    pub start_artifact: Option<Value>,
}

/// The `env` a hook agent's checkpoint records (instead of the synthetic workload's id).
pub const HOOK_ENV_ID: &str = "user-hook-v1";

impl AgentSettings {
    /// This agent's interface: the synthetic role's, or the one its hook config declares.
    pub fn agent_spec(&self) -> AgentSpec {
        match &self.hook {
            None => self.workload.spec().agents[self.role.index()].clone(),
            Some(h) => AgentSpec {
                name: self.config.id.clone(),
                n_obs: h.n_obs,
                n_actions: h.action_names.len() as u16,
                legal: Legal::all(h.action_names.len() as u16),
                action_names: h.action_names.clone(),
            },
        }
    }

    /// The environment id recorded in checkpoints.
    pub fn env_id(&self) -> &'static str {
        if self.hook.is_some() {
            HOOK_ENV_ID
        } else {
            baton_envs::synthetic::ENV_ID
        }
    }

    /// The discount per primitive step.
    pub fn discount(&self) -> f64 {
        self.hook.as_ref().map_or(self.workload.config().discount, |h| h.discount)
    }
}

/// Limits on what a peer can make this agent do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes (larger: HTTP 413), in `256..=16 MiB`. Default 65536.
    pub max_body_bytes: u64,
    /// Deadline of every call to a peer, in seconds, positive. Default 5.
    pub call_timeout_secs: f64,
    /// Deadline of a whole workflow as seen by its entry agent, in seconds, positive. Default 60.
    pub workflow_timeout_secs: f64,
    /// Largest `|v|` accepted in a peer's reply (larger or non-finite: rejected, no update), positive. Default 1e6.
    pub max_abs_scalar: f64,
    /// Largest number of workflows this agent holds or waits for at once (more: HTTP 503), positive. Default 4096.
    pub max_in_flight: u32,
    /// Largest number of handoffs of one workflow (more: the workflow fails), positive. Default 10000.
    pub max_hops: u32,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7400))
}
fn default_checkpoint_interval() -> f64 {
    30.0
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 65536,
            call_timeout_secs: 5.0,
            workflow_timeout_secs: 60.0,
            max_abs_scalar: 1e6,
            max_in_flight: 4096,
            max_hops: 10_000,
        }
    }
}

/// A peer agent this agent can hand work to.
#[derive(Clone, Debug)]
pub struct PeerAgent {
    /// Its id.
    pub id: String,
    /// Its base URL, without a trailing slash.
    pub url: String,
    /// The pair's bearer token.
    pub token: String,
}

/// A validated [`AgentConfig`].
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// The config as written (resolved paths).
    pub config: AgentConfig,
    /// The workload model.
    pub workload: Synthetic,
    /// The agent index this service plays.
    pub role: AgentId,
    /// The learner's step size and behaviour.
    pub learner: LearnerParams,
    /// The state directory (absolute or relative to the working directory).
    pub state_dir: PathBuf,
    /// Peer agents by role: `by_role[j]` hands work to agent `j` (`None` for this agent's own role; all
    /// `None` for a hook agent).
    pub by_role: Vec<Option<PeerAgent>>,
    /// Every agent peer (with a `url`).
    pub agents: Vec<PeerAgent>,
    /// The user-defined option, if `[option]` is set.
    pub hook: Option<Hook>,
    /// `(id, token)` of every peer allowed to call this agent.
    pub inbound: Vec<(String, String)>,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl AgentConfig {
    /// Read and validate `path`; relative `state_dir` resolves against the file's directory.
    pub fn load(path: &Path) -> Result<AgentSettings, ServiceError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServiceError::io(path, e))?;
        let mut config: AgentConfig = toml::from_str(&text).map_err(|e| ServiceError::Config {
            file: path.display().to_string(),
            field: "(parse)".into(),
            reason: e.to_string(),
        })?;
        if config.state_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            config.state_dir = base.join(&config.state_dir);
        }
        config.validate(&path.display().to_string())
    }

    /// Check every field; `file` names the source in errors.
    pub fn validate(&self, file: &str) -> Result<AgentSettings, ServiceError> {
        let bad = |field: &str, reason: String| ServiceError::config(file, field, reason);
        if !valid_id(&self.id) {
            return Err(bad("id", format!("must be 1-64 characters of A-Z a-z 0-9 - _ ., got {:?}", self.id)));
        }
        let workload = self.workload.validate().map_err(|e| match e.field() {
            Some(f) => bad(&format!("workload.{f}"), e.to_string()),
            None => bad("workload", e.to_string()),
        })?;
        if workload.has_hidden_bit() {
            return Err(bad(
                "workload.aliasing",
                "services need aliasing = 0 (the hidden bit belongs to no agent)".into(),
            ));
        }
        let n = workload.n_agents();
        let role = match (self.role, &self.option) {
            (Some(r), None) if usize::from(r) < n => r,
            (Some(r), None) => return Err(bad("role", format!("must be an agent index in 0..{n}, got {r}"))),
            (None, None) => return Err(bad("role", "missing (required unless `[option]` is a user hook)".into())),
            (Some(_), Some(_)) => return Err(bad("role", "must be absent when `[option]` is a user hook".into())),
            (None, Some(_)) => 0,
        };
        let learner = self.learner.validate().map_err(|e| bad("learner", e.to_string()))?;
        if learner.network.is_some() {
            return Err(bad("learner.network", "services run tabular IC-Q only".into()));
        }
        if !(self.checkpoint_interval_secs.is_finite() && self.checkpoint_interval_secs > 0.0) {
            return Err(bad(
                "checkpoint_interval_secs",
                format!("must be positive, got {}", self.checkpoint_interval_secs),
            ));
        }
        let l = &self.limits;
        if !(256..=16 << 20).contains(&l.max_body_bytes) {
            return Err(bad("limits.max_body_bytes", format!("must be in 256..=16777216, got {}", l.max_body_bytes)));
        }
        for (field, v) in [
            ("limits.call_timeout_secs", l.call_timeout_secs),
            ("limits.workflow_timeout_secs", l.workflow_timeout_secs),
            ("limits.max_abs_scalar", l.max_abs_scalar),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(field, format!("must be positive and finite, got {v}")));
            }
        }
        if l.max_in_flight == 0 || l.max_hops == 0 {
            return Err(bad("limits", "max_in_flight and max_hops must be positive".into()));
        }
        let mut by_role: Vec<Option<PeerAgent>> = vec![None; n];
        let mut inbound = Vec::new();
        let mut agents: Vec<PeerAgent> = Vec::new();
        for (k, p) in self.peers.iter().enumerate() {
            let field = |name: &str| format!("peers[{k}].{name}");
            if !valid_id(&p.id) || p.id == self.id {
                return Err(bad(&field("id"), format!("must be a valid id other than this agent's, got {:?}", p.id)));
            }
            if p.token.len() < 16 || p.token.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(bad(&field("token"), "must be at least 16 printable ASCII characters".into()));
            }
            if inbound.iter().any(|(id, tok): &(String, String)| *id == p.id || *tok == p.token) {
                return Err(bad(&field("id"), format!("peer {:?} or its token appears twice", p.id)));
            }
            inbound.push((p.id.clone(), p.token.clone()));
            match (p.role, &p.url) {
                (None, None) => {}
                (None, Some(url)) if self.option.is_some() => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(&field("url"), format!("must start with http:// or https://, got {url:?}")));
                    }
                    agents.push(PeerAgent {
                        id: p.id.clone(),
                        url: url.trim_end_matches('/').to_string(),
                        token: p.token.clone(),
                    });
                }
                (Some(_), _) if self.option.is_some() => {
                    return Err(bad(&field("role"), "peers of a hook agent have no role (give `url` only)".into()))
                }
                (Some(r), Some(url)) => {
                    if usize::from(r) >= n || r == role {
                        return Err(bad(&field("role"), format!("must be another agent index in 0..{n}, got {r}")));
                    }
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(&field("url"), format!("must start with http:// or https://, got {url:?}")));
                    }
                    if by_role[usize::from(r)].is_some() {
                        return Err(bad(&field("role"), format!("two peers play role {r}")));
                    }
                    let peer = PeerAgent {
                        id: p.id.clone(),
                        url: url.trim_end_matches('/').to_string(),
                        token: p.token.clone(),
                    };
                    agents.push(peer.clone());
                    by_role[usize::from(r)] = Some(peer);
                }
                _ => {
                    return Err(bad(
                        &field("url"),
                        "an agent peer needs both `role` and `url`; a client neither".into(),
                    ))
                }
            }
        }
        let hook = match &self.option {
            None => None,
            Some(h) => {
                Some(validate_hook(h, &agents, l.max_body_bytes).map_err(|(f, r)| bad(&format!("option.{f}"), r))?)
            }
        };
        Ok(AgentSettings {
            config: self.clone(),
            role: AgentId(role),
            workload,
            learner,
            state_dir: self.state_dir.clone(),
            by_role,
            agents,
            hook,
            inbound,
        })
    }
}

/// Check a hook config against the agent peers; errors are `(field, reason)`.
fn validate_hook(h: &HookConfig, agents: &[PeerAgent], max_body: u64) -> Result<Hook, (String, String)> {
    let err = |f: &str, r: String| (f.to_string(), r);
    let (call, label) = match (h.kind, &h.url, &h.program) {
        (HookKind::Http, Some(url), None) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("url", format!("must start with http:// or https://, got {url:?}")));
            }
            if !h.args.is_empty() {
                return Err(err("args", "only for kind = \"command\"".into()));
            }
            (HookCall::Http(url.clone()), url.clone())
        }
        (HookKind::Command, None, Some(program)) if !program.is_empty() => {
            (HookCall::Command { program: program.clone(), args: h.args.clone() }, format!("command {program}"))
        }
        (HookKind::Http, _, _) => return Err(err("url", "kind = \"http\" needs `url` and no `program`".into())),
        (HookKind::Command, _, _) => {
            return Err(err("program", "kind = \"command\" needs a non-empty `program` and no `url`".into()))
        }
    };
    if h.n_obs == 0 {
        return Err(err("n_obs", "must be positive".into()));
    }
    if h.actions.is_empty() || h.actions.len() > usize::from(u16::MAX) {
        return Err(err("actions", format!("must list 1..=65535 actions, got {}", h.actions.len())));
    }
    if !(h.timeout_secs.is_finite() && h.timeout_secs > 0.0) {
        return Err(err("timeout_secs", format!("must be positive and finite, got {}", h.timeout_secs)));
    }
    if !(h.discount > 0.0 && h.discount <= 1.0) {
        return Err(err("discount", format!("must be in (0, 1], got {}", h.discount)));
    }
    if let Some(a) = &h.start_artifact {
        let size = serde_json::to_vec(a).map_or(u64::MAX, |v| v.len() as u64);
        if size > max_body / 2 {
            return Err(err("start_artifact", format!("{size} bytes as JSON, more than limits.max_body_bytes / 2")));
        }
    }
    let mut names = Vec::with_capacity(h.actions.len());
    let mut targets = Vec::with_capacity(h.actions.len());
    for (k, a) in h.actions.iter().enumerate() {
        let f = |name: &str| format!("actions[{k}].{name}");
        if !(1..=64).contains(&a.name.len()) || names.contains(&a.name) {
            return Err(err(&f("name"), format!("must be 1-64 characters and unique, got {:?}", a.name)));
        }
        names.push(a.name.clone());
        targets.push(match (&a.to, a.submit) {
            (None, true) => HookTarget::Submit,
            (Some(to), false) => match agents.iter().find(|p| p.id == *to) {
                Some(p) => HookTarget::Peer(p.clone()),
                None => return Err(err(&f("to"), format!("{to:?} is not a peer agent with a `url`"))),
            },
            _ => return Err(err(&f("to"), "give exactly one of `to = \"<peer id>\"` and `submit = true`".into())),
        });
    }
    Ok(Hook {
        call,
        label,
        n_obs: h.n_obs,
        action_names: names,
        targets,
        timeout: std::time::Duration::from_secs_f64(h.timeout_secs),
        discount: h.discount,
        start_artifact: h.start_artifact.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AgentConfig {
        toml::from_str(
            r#"
            id = "a0"
            role = 0
            seed = 1
            state_dir = "s"
            [[peers]]
            id = "a1"
            role = 1
            url = "http://127.0.0.1:1"
            token = "0123456789abcdef-1"
            [[peers]]
            id = "client"
            token = "0123456789abcdef-c"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_config_maps_peers_by_role() {
        let s = base().validate("t.toml").unwrap();
        assert_eq!(s.by_role[1].as_ref().unwrap().id, "a1");
        assert!(s.by_role[0].is_none() && s.by_role[2].is_none());
        assert_eq!(s.inbound.len(), 2);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut c = base();
        c.role = Some(3);
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("`role`"));
        let mut c = base();
        c.peers[0].token = "short".into();
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("peers[0].token"));
        let mut c = base();
        c.peers[1].url = Some("http://x".into());
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("peers[1].url"));
        let mut c = base();
        c.workload.aliasing = 1.0;
        assert!(c.validate("t.toml").unwrap_err().to_string().contains("workload.aliasing"));
        let err = toml::from_str::<AgentConfig>("id = \"a\"\nrole = 0\nseed = 1\nstate_dir = \"s\"\ncolour = 1\n");
        assert!(err.unwrap_err().to_string().contains("colour"));
    }
}
