//! The wire format: A2A-style JSON-RPC 2.0 `SendMessage` with the artifact in a data part and baton's
//! metadata under two extension URIs. See docs/service.md for an example exchange and what is and is not
//! A2A-conformant.
//!
//! Three kinds of message travel under [`HANDOFF_EXT`]:
//! - `start` (a client to the entry agent): begin a workflow; the reply comes when it ends;
//! - `handoff` (agent to agent): the artifact passes to the receiver; the reply carries exactly one number,
//!   the receiver's `v = max_a' Q_j(o', a')`, under [`SCALAR_EXT`], and nothing else;
//! - `result` (the submitting agent to the entry agent): the workflow ended (submitted or failed).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::ServiceError;

/// The extension URI of baton's handoff metadata (message type, sender, workflow, hop).
pub const HANDOFF_EXT: &str = "urn:baton:ext:icq-handoff:v1";
/// The extension URI of the one scalar a receiver sends back.
pub const SCALAR_EXT: &str = "urn:baton:ext:icq-scalar:v1";
/// The JSON-RPC method (A2A 1.0 name); the A2A 0.3 name `message/send` is accepted too.
pub const METHOD: &str = "SendMessage";
/// A2A 0.3's name of the same method.
pub const METHOD_V03: &str = "message/send";

/// The artifact of the synthetic workload: the level of every component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// `x_c` per component.
    pub levels: Vec<u32>,
}

impl Artifact {
    /// Read the synthetic workload's artifact from a message's data part (unknown fields are rejected).
    pub fn from_data(data: &Value) -> Result<Artifact, ServiceError> {
        Artifact::deserialize(data).map_err(|e| ServiceError::InvalidParams(format!("artifact: {e}")))
    }
}

/// baton's metadata of a message, under [`HANDOFF_EXT`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Envelope {
    /// A client asks the entry agent to run one workflow.
    Start {
        /// The client's id.
        from: String,
    },
    /// Control of `workflow`'s artifact passes from `from` to the receiver.
    Handoff {
        /// The sending agent's id.
        from: String,
        /// The workflow id (also the message's `contextId`).
        workflow: String,
        /// The entry agent's id, to which the result goes.
        origin: String,
        /// Handoffs so far in this workflow, this one included.
        hop: u32,
    },
    /// The workflow ended.
    Result {
        /// The reporting agent's id.
        from: String,
        /// The workflow id.
        workflow: String,
        /// How it ended.
        outcome: WorkflowOutcome,
    },
}

impl Envelope {
    /// The sender's id.
    pub fn from(&self) -> &str {
        match self {
            Envelope::Start { from } | Envelope::Handoff { from, .. } | Envelope::Result { from, .. } => from,
        }
    }
}

/// How a workflow ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowOutcome {
    /// `submitted` or `failed`.
    pub status: WorkflowStatus,
    /// Handoffs between agents before the end.
    pub hops: u32,
    /// The final artifact, when submitted.
    #[serde(default)]
    pub levels: Option<Vec<u32>>,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// The final artifact of a user-defined option (opaque JSON), when submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Value>,
}

/// The end of a workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowStatus {
    /// An agent submitted the artifact.
    Submitted,
    /// A call failed, a deadline passed or the hop limit was reached.
    Failed,
}

/// A parsed incoming `SendMessage`.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    /// The JSON-RPC id, echoed in the reply.
    pub id: Value,
    /// The A2A `messageId`.
    pub message_id: String,
    /// baton's metadata.
    pub envelope: Envelope,
    /// The artifact (the data part's `data`, opaque JSON here), if the message has a data part.
    pub artifact: Option<Value>,
}

/// A JSON-RPC `SendMessage` request carrying `envelope` and, if any, the artifact.
pub fn request(rpc_id: &str, message_id: &str, envelope: &Envelope, artifact: Option<&Artifact>) -> Value {
    let data = artifact.map(|a| json!(a));
    request_with_data(rpc_id, message_id, envelope, data.as_ref())
}

/// A JSON-RPC `SendMessage` request carrying `envelope` and, if any, an opaque JSON artifact.
pub fn request_with_data(rpc_id: &str, message_id: &str, envelope: &Envelope, artifact: Option<&Value>) -> Value {
    let context = match envelope {
        Envelope::Handoff { workflow, .. } | Envelope::Result { workflow, .. } => Some(workflow.clone()),
        Envelope::Start { .. } => None,
    };
    let parts: Vec<Value> = artifact.map(|a| json!({ "kind": "data", "data": a })).into_iter().collect();
    let mut message = json!({
        "kind": "message",
        "role": "user",
        "messageId": message_id,
        "parts": parts,
        "extensions": [HANDOFF_EXT],
        "metadata": { HANDOFF_EXT: envelope },
    });
    if let (Some(c), Some(m)) = (context, message.as_object_mut()) {
        m.insert("contextId".into(), Value::String(c));
    }
    json!({ "jsonrpc": "2.0", "id": rpc_id, "method": METHOD, "params": { "message": message } })
}

#[derive(Serialize)]
struct RequestOut<'a, A: Serialize> {
    jsonrpc: &'static str,
    id: &'a str,
    method: &'static str,
    params: ParamsOut<'a, A>,
}

#[derive(Serialize)]
struct ParamsOut<'a, A: Serialize> {
    message: MessageOut<'a, A>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageOut<'a, A: Serialize> {
    kind: &'static str,
    role: &'static str,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_id: Option<&'a str>,
    parts: &'a [DataPartOut<'a, A>],
    extensions: [&'static str; 1],
    metadata: HandoffMetaOut<'a>,
}

#[derive(Serialize)]
struct DataPartOut<'a, A: Serialize> {
    kind: &'static str,
    data: &'a A,
}

#[derive(Serialize)]
struct HandoffMetaOut<'a> {
    #[serde(rename = "urn:baton:ext:icq-handoff:v1")]
    handoff: &'a Envelope,
}

/// The bytes of the request [`request_with_data`] builds, serialised straight from typed parts (no JSON tree):
/// the same JSON object, for the hot path of a handoff. `artifact` is any serialisable artifact.
pub fn request_bytes<A: Serialize>(
    rpc_id: &str,
    message_id: &str,
    envelope: &Envelope,
    artifact: Option<&A>,
) -> Result<Vec<u8>, ServiceError> {
    let context_id = match envelope {
        Envelope::Handoff { workflow, .. } | Envelope::Result { workflow, .. } => Some(workflow.as_str()),
        Envelope::Start { .. } => None,
    };
    let part = artifact.map(|data| DataPartOut { kind: "data", data });
    let out = RequestOut {
        jsonrpc: "2.0",
        id: rpc_id,
        method: METHOD,
        params: ParamsOut {
            message: MessageOut {
                kind: "message",
                role: "user",
                message_id,
                context_id,
                parts: part.as_slice(),
                extensions: [HANDOFF_EXT],
                metadata: HandoffMetaOut { handoff: envelope },
            },
        },
    };
    let mut buf = Vec::with_capacity(512);
    serde_json::to_writer(&mut buf, &out).map_err(|e| ServiceError::Internal(format!("serialising a request: {e}")))?;
    Ok(buf)
}

#[derive(Serialize)]
struct ReplyOut<'a, M: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: ReplyMessageOut<M>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplyMessageOut<M: Serialize> {
    kind: &'static str,
    role: &'static str,
    message_id: String,
    parts: [(); 0],
    metadata: M,
}

#[derive(Serialize)]
struct ScalarMetaOut {
    #[serde(rename = "urn:baton:ext:icq-scalar:v1")]
    scalar: ScalarOut,
}

#[derive(Serialize)]
struct ScalarOut {
    v: f64,
}

/// The bytes of [`scalar_reply`], serialised straight from typed parts: the same JSON object.
pub fn scalar_reply_bytes(rpc_id: &Value, message_id: &str, v: f64) -> Result<Vec<u8>, ServiceError> {
    reply_bytes(rpc_id, message_id, ScalarMetaOut { scalar: ScalarOut { v } })
}

/// The bytes of the reply to a `start`: [`reply`] with the workflow's end (`Envelope::Result`) under
/// [`HANDOFF_EXT`], serialised straight from typed parts.
pub fn result_reply_bytes(rpc_id: &Value, message_id: &str, envelope: &Envelope) -> Result<Vec<u8>, ServiceError> {
    reply_bytes(rpc_id, message_id, HandoffMetaOut { handoff: envelope })
}

/// The bytes of [`reply`] with empty metadata (the answer to a `result`), serialised straight from typed parts.
pub fn empty_reply_bytes(rpc_id: &Value, message_id: &str) -> Result<Vec<u8>, ServiceError> {
    #[derive(Serialize)]
    struct Empty {}
    reply_bytes(rpc_id, message_id, Empty {})
}

fn reply_bytes<M: Serialize>(rpc_id: &Value, message_id: &str, metadata: M) -> Result<Vec<u8>, ServiceError> {
    let out = ReplyOut {
        jsonrpc: "2.0",
        id: rpc_id,
        result: ReplyMessageOut {
            kind: "message",
            role: "agent",
            message_id: format!("{message_id}-reply"),
            parts: [],
            metadata,
        },
    };
    let mut buf = Vec::with_capacity(256);
    serde_json::to_writer(&mut buf, &out).map_err(|e| ServiceError::Internal(format!("serialising a reply: {e}")))?;
    Ok(buf)
}

/// A JSON-RPC success reply: an agent message with the given metadata and no parts.
pub fn reply(rpc_id: &Value, message_id: &str, metadata: Map<String, Value>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": {
            "kind": "message",
            "role": "agent",
            "messageId": format!("{message_id}-reply"),
            "parts": [],
            "metadata": metadata,
        }
    })
}

/// The reply to a handoff: exactly one number, `v`, under [`SCALAR_EXT`].
pub fn scalar_reply(rpc_id: &Value, message_id: &str, v: f64) -> Value {
    let mut meta = Map::new();
    meta.insert(SCALAR_EXT.into(), json!({ "v": v }));
    reply(rpc_id, message_id, meta)
}

/// A JSON-RPC error reply.
pub fn error_reply(rpc_id: &Value, err: &ServiceError) -> Value {
    let (_, code) = err.codes();
    json!({ "jsonrpc": "2.0", "id": rpc_id, "error": { "code": code, "message": err.to_string() } })
}

/// A JSON object only (never the array form serde also accepts for structs), parsed as `T`: the typed fast
/// paths below accept exactly what the checks on a JSON tree accept, or fall back to those checks.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData)).map(Obj)
    }
}

#[derive(Deserialize)]
struct RequestIn<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    id: Value,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    params: Obj<ParamsIn>,
}

#[derive(Deserialize)]
struct ParamsIn {
    message: Obj<MessageIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageIn {
    message_id: String,
    metadata: Obj<HandoffMetaIn>,
    #[serde(default)]
    parts: Vec<Obj<PartIn>>,
}

#[derive(Deserialize)]
struct HandoffMetaIn {
    #[serde(rename = "urn:baton:ext:icq-handoff:v1")]
    handoff: Envelope,
}

#[derive(Deserialize)]
struct PartIn {
    kind: String,
    data: Value,
}

/// The typed fast path of [`parse_request`]: `None` for anything it does not take as is (the checks on the
/// JSON tree then decide, and say what is wrong).
fn parse_request_typed(body: &[u8]) -> Option<Incoming> {
    let r: Obj<RequestIn<'_>> = serde_json::from_slice(body).ok()?;
    let Obj(RequestIn { jsonrpc, id, method, params: Obj(ParamsIn { message: Obj(m) }) }) = r;
    let ok = jsonrpc == "2.0"
        && (id.is_string() || id.is_number())
        && (method == METHOD || method == METHOD_V03)
        && (1..=200).contains(&m.message_id.len())
        && m.parts.len() <= 1
        && m.parts.iter().all(|Obj(p)| p.kind == "data");
    if !ok {
        return None;
    }
    let artifact = m.parts.into_iter().next().map(|Obj(p)| p.data);
    Some(Incoming { id, message_id: m.message_id, envelope: m.metadata.0.handoff, artifact })
}

/// Parse an incoming request body. Errors say what is wrong (and map to JSON-RPC codes).
pub fn parse_request(body: &[u8]) -> Result<Incoming, ServiceError> {
    // The fast path: a well-formed request parses straight into typed parts (no JSON tree of the whole
    // message); anything else goes through the checks below.
    if let Some(incoming) = parse_request_typed(body) {
        return Ok(incoming);
    }
    parse_request_tree(body)
}

/// [`parse_request`]'s checks on the JSON tree of the whole message.
fn parse_request_tree(body: &[u8]) -> Result<Incoming, ServiceError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ServiceError::Parse(format!("body is not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| ServiceError::InvalidRequest("not a JSON object".into()))?;
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(ServiceError::InvalidRequest("`jsonrpc` must be \"2.0\"".into()));
    }
    let id = obj.get("id").cloned().ok_or_else(|| ServiceError::InvalidRequest("missing `id`".into()))?;
    if !(id.is_string() || id.is_number()) {
        return Err(ServiceError::InvalidRequest("`id` must be a string or a number".into()));
    }
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| ServiceError::InvalidRequest("missing `method`".into()))?;
    if method != METHOD && method != METHOD_V03 {
        return Err(ServiceError::MethodNotFound(format!("{method:?} (this agent serves {METHOD:?} only)")));
    }
    let message = obj
        .get("params")
        .and_then(|p| p.get("message"))
        .and_then(Value::as_object)
        .ok_or_else(|| ServiceError::InvalidParams("missing `params.message`".into()))?;
    let message_id = message
        .get("messageId")
        .and_then(Value::as_str)
        .filter(|s| (1..=200).contains(&s.len()))
        .ok_or_else(|| {
            ServiceError::InvalidParams("`params.message.messageId` must be a string of 1-200 bytes".into())
        })?
        .to_string();
    let meta = message
        .get("metadata")
        .and_then(|m| m.get(HANDOFF_EXT))
        .ok_or_else(|| ServiceError::InvalidParams(format!("missing `params.message.metadata[{HANDOFF_EXT:?}]`")))?;
    let envelope: Envelope = serde_json::from_value(meta.clone())
        .map_err(|e| ServiceError::InvalidParams(format!("metadata[{HANDOFF_EXT:?}]: {e}")))?;
    let parts = message.get("parts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let artifact = match parts {
        [] => None,
        [part] => {
            if part.get("kind").and_then(Value::as_str) != Some("data") {
                return Err(ServiceError::InvalidParams("the artifact must be one part of kind \"data\"".into()));
            }
            Some(part.get("data").cloned().unwrap_or(Value::Null))
        }
        _ => return Err(ServiceError::InvalidParams(format!("expected at most one part, got {}", parts.len()))),
    };
    Ok(Incoming { id, message_id, envelope, artifact })
}

/// The `result` of a JSON-RPC reply, or the peer's error as a message.
fn result_of(body: &[u8]) -> Result<Map<String, Value>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("reply is not JSON: {e}"))?;
    if let Some(err) = v.get("error") {
        let msg = err.get("message").and_then(Value::as_str).unwrap_or("(no message)");
        return Err(format!("peer answered with an error: {msg}"));
    }
    v.get("result").and_then(Value::as_object).cloned().ok_or_else(|| "reply has no `result` object".to_string())
}

/// Read the one scalar of a handoff's reply. The reply must be a message with no parts whose metadata holds
/// exactly one entry, [`SCALAR_EXT`], holding exactly one field `v`: a finite number with `|v| <= max_abs`.
/// Anything else is rejected (and no update happens).
pub fn parse_scalar_reply(body: &[u8], max_abs: f64) -> Result<f64, String> {
    // The fast path: a well-formed reply parses straight into typed parts that admit nothing else; anything
    // else goes through the checks below, which say what is wrong.
    if let Ok(r) = serde_json::from_slice::<ScalarReplyIn>(body) {
        if !r.error && r.result.parts.is_empty() && r.result.metadata.scalar.v.abs() <= max_abs {
            return Ok(r.result.metadata.scalar.v);
        }
    }
    let result = result_of(body)?;
    if result.get("parts").and_then(Value::as_array).is_some_and(|p| !p.is_empty()) {
        return Err("a handoff's reply must carry no parts".into());
    }
    let meta = result.get("metadata").and_then(Value::as_object).ok_or("reply has no metadata")?;
    if meta.len() != 1 {
        return Err(format!("reply metadata must hold exactly one entry ({SCALAR_EXT}), got {}", meta.len()));
    }
    let scalar = meta.get(SCALAR_EXT).and_then(Value::as_object).ok_or(format!("reply metadata lacks {SCALAR_EXT}"))?;
    if scalar.len() != 1 {
        return Err(format!("{SCALAR_EXT} must hold exactly one field `v`, got {}", scalar.len()));
    }
    let v = scalar.get("v").ok_or(format!("{SCALAR_EXT} lacks `v`"))?;
    let v = v.as_f64().ok_or_else(|| format!("scalar `v` is not a number: {v}"))?;
    if !v.is_finite() {
        return Err(format!("scalar `v` is not finite: {v}"));
    }
    if v.abs() > max_abs {
        return Err(format!("scalar `v` = {v} is out of range (|v| <= {max_abs})"));
    }
    Ok(v)
}

#[derive(Deserialize)]
struct ScalarReplyIn {
    result: ScalarMessageIn,
    #[serde(default, deserialize_with = "present")]
    error: bool,
}

#[derive(Deserialize)]
struct ScalarMessageIn {
    #[serde(default)]
    parts: Vec<serde::de::IgnoredAny>,
    metadata: ScalarMetaIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalarMetaIn {
    #[serde(rename = "urn:baton:ext:icq-scalar:v1")]
    scalar: ScalarIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalarIn {
    v: f64,
}

/// `true` when the field is present (whatever its value, `null` included).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Deserialize)]
struct OutcomeReplyIn {
    result: Obj<OutcomeMessageIn>,
    #[serde(default, deserialize_with = "present")]
    error: bool,
}

#[derive(Deserialize)]
struct OutcomeMessageIn {
    metadata: Obj<HandoffMetaIn>,
}

/// Read a workflow's outcome from the reply to a `start`.
pub fn parse_outcome_reply(body: &[u8]) -> Result<WorkflowOutcome, String> {
    // The fast path: a well-formed reply parses straight into typed parts; anything else goes through the
    // checks below, which say what is wrong.
    if let Ok(Obj(OutcomeReplyIn { result: Obj(m), error: false })) = serde_json::from_slice(body) {
        if let Envelope::Result { outcome, .. } = m.metadata.0.handoff {
            return Ok(outcome);
        }
    }
    let result = result_of(body)?;
    let meta = result
        .get("metadata")
        .and_then(|m| m.get(HANDOFF_EXT))
        .ok_or_else(|| format!("reply metadata lacks {HANDOFF_EXT}"))?;
    match serde_json::from_value::<Envelope>(meta.clone()) {
        Ok(Envelope::Result { outcome, .. }) => Ok(outcome),
        Ok(other) => Err(format!("expected a result, got {other:?}")),
        Err(e) => Err(format!("bad result metadata: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handoff() -> Envelope {
        Envelope::Handoff { from: "a0".into(), workflow: "w1".into(), origin: "a0".into(), hop: 1 }
    }

    #[test]
    fn a_request_round_trips() {
        let art = Artifact { levels: vec![1, 2, 3] };
        let body = serde_json::to_vec(&request("1", "m1", &handoff(), Some(&art))).unwrap();
        let inc = parse_request(&body).unwrap();
        assert_eq!(inc.envelope, handoff());
        assert_eq!(Artifact::from_data(&inc.artifact.unwrap()).unwrap(), art);
        assert_eq!(inc.message_id, "m1");
    }

    #[test]
    fn typed_requests_and_replies_are_the_same_json_as_the_tree_built_ones() {
        let art = Artifact { levels: vec![1, 2, 3] };
        for env in [handoff(), Envelope::Start { from: "c".into() }] {
            let tree = request("r1", "m1", &env, Some(&art));
            let typed: Value = serde_json::from_slice(&request_bytes("r1", "m1", &env, Some(&art)).unwrap()).unwrap();
            assert_eq!(typed, tree);
            let tree = request("r1", "m1", &env, None);
            let typed: Value =
                serde_json::from_slice(&request_bytes::<Artifact>("r1", "m1", &env, None).unwrap()).unwrap();
            assert_eq!(typed, tree);
        }
        for id in [json!("x"), json!(7)] {
            let typed: Value = serde_json::from_slice(&scalar_reply_bytes(&id, "m1", -0.25).unwrap()).unwrap();
            assert_eq!(typed, scalar_reply(&id, "m1", -0.25));
            let typed: Value = serde_json::from_slice(&empty_reply_bytes(&id, "m1").unwrap()).unwrap();
            assert_eq!(typed, reply(&id, "m1", Map::new()));
            let outcome = WorkflowOutcome {
                status: WorkflowStatus::Submitted,
                hops: 3,
                levels: Some(vec![3, 3, 3]),
                reason: None,
                artifact: None,
            };
            let env = Envelope::Result { from: "a0".into(), workflow: "w1".into(), outcome: outcome.clone() };
            let bytes = result_reply_bytes(&id, "m1", &env).unwrap();
            let mut meta = Map::new();
            meta.insert(HANDOFF_EXT.into(), serde_json::to_value(&env).unwrap());
            assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), reply(&id, "m1", meta));
            assert_eq!(parse_outcome_reply(&bytes), Ok(outcome));
        }
    }

    /// The typed fast paths take exactly what the checks on the JSON tree take: every variant below is parsed
    /// both ways (the tree path is what the fast path falls back to) with the same result.
    #[test]
    fn the_fast_request_parse_agrees_with_the_checks_on_the_tree() {
        let good = request("r1", "m1", &handoff(), Some(&Artifact { levels: vec![1, 2, 3] }));
        let mut cases = vec![good.clone(), request("r1", "m1", &Envelope::Start { from: "c".into() }, None)];
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<Edit> = vec![
            Box::new(|v| v["params"]["message"] = json!(["message", "user", "m1"])),
            Box::new(|v| v["params"] = json!([{ "message": {} }])),
            Box::new(|v| v["params"]["message"]["parts"] = json!(null)),
            Box::new(|v| v["params"]["message"]["parts"] = json!("x")),
            Box::new(|v| v["params"]["message"]["parts"][0]["kind"] = json!("text")),
            Box::new(|v| v["params"]["message"]["parts"][0].as_object_mut().unwrap().clear()),
            Box::new(|v| v["params"]["message"]["parts"][0] = json!({ "kind": "data" })),
            Box::new(|v| v["params"]["message"]["parts"] = json!([{ "kind": "data", "data": 1 }, { "kind": "data" }])),
            Box::new(|v| v["params"]["message"]["messageId"] = json!("")),
            Box::new(|v| v["params"]["message"]["messageId"] = json!(7)),
            Box::new(|v| v["params"]["message"]["metadata"] = json!([1])),
            Box::new(|v| v["params"]["message"]["metadata"]["extra"] = json!(1)),
            Box::new(|v| v["params"]["message"]["metadata"][HANDOFF_EXT]["hop"] = json!(1.5)),
            Box::new(|v| v["params"]["message"]["metadata"][HANDOFF_EXT]["colour"] = json!(1)),
            Box::new(|v| v["id"] = json!(null)),
            Box::new(|v| v["id"] = json!([1])),
            Box::new(|v| v["id"] = json!(7)),
            Box::new(|v| v["jsonrpc"] = json!("1.0")),
            Box::new(|v| v["method"] = json!(METHOD_V03)),
            Box::new(|v| v["method"] = json!("tasks/get")),
            Box::new(|v| v["extra"] = json!({ "a": [1, 2] })),
            Box::new(|v| v["params"]["message"]["kind"] = json!("other")),
        ];
        for edit in &edits {
            let mut v = good.clone();
            edit(&mut v);
            cases.push(v);
        }
        let mut fast_taken = 0;
        for v in cases {
            let body = serde_json::to_vec(&v).unwrap();
            let both = parse_request(&body);
            let tree = parse_request_tree(&body);
            match (&both, &tree) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{v}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{v}"),
                _ => panic!("the fast path and the tree disagree on {v}: {both:?} vs {tree:?}"),
            }
            if parse_request_typed(&body).is_some() {
                fast_taken += 1;
                assert!(tree.is_ok(), "the fast path took what the tree refuses: {v}");
            }
        }
        assert!(fast_taken >= 5, "the fast path took only {fast_taken} cases");
    }

    #[test]
    fn an_error_member_fails_a_reply_even_when_null() {
        let mut v = scalar_reply(&json!("1"), "m1", 1.0);
        v["error"] = Value::Null;
        assert!(parse_scalar_reply(&serde_json::to_vec(&v).unwrap(), 1e6).is_err());
        let outcome =
            WorkflowOutcome { status: WorkflowStatus::Failed, hops: 0, levels: None, reason: None, artifact: None };
        let env = Envelope::Result { from: "a0".into(), workflow: "w1".into(), outcome };
        let mut v: Value = serde_json::from_slice(&result_reply_bytes(&json!(1), "m1", &env).unwrap()).unwrap();
        v["error"] = Value::Null;
        assert!(parse_outcome_reply(&serde_json::to_vec(&v).unwrap()).is_err());
    }

    #[test]
    fn a_scalar_reply_carries_exactly_one_number() {
        let body = serde_json::to_vec(&scalar_reply(&json!("1"), "m1", -2.5)).unwrap();
        assert_eq!(parse_scalar_reply(&body, 1e6), Ok(-2.5));
    }

    #[test]
    fn non_finite_or_extra_scalars_are_rejected() {
        let with = |meta: Value| {
            serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": "1", "result": {"kind": "message", "role": "agent",
                "messageId": "x", "parts": [], "metadata": meta}}))
            .unwrap()
        };
        let e = parse_scalar_reply(&with(json!({SCALAR_EXT: {"v": "NaN"}})), 1e6).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        // JSON has no infinity: 1e999 does not even parse as a reply.
        let body = format!(r#"{{"jsonrpc":"2.0","id":"1","result":{{"metadata":{{"{SCALAR_EXT}":{{"v":1e999}}}}}}}}"#);
        assert!(parse_scalar_reply(body.as_bytes(), 1e6).is_err());
        let e = parse_scalar_reply(&with(json!({SCALAR_EXT: {"v": 1e7}})), 1e6).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = parse_scalar_reply(&with(json!({SCALAR_EXT: {"v": 1.0, "q": [1.0]}})), 1e6).unwrap_err();
        assert!(e.contains("exactly one field"), "{e}");
        let e = parse_scalar_reply(&with(json!({SCALAR_EXT: {"v": 1.0}, "table": [0.0]})), 1e6).unwrap_err();
        assert!(e.contains("exactly one entry"), "{e}");
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let e = parse_request(b"{not json").unwrap_err();
        assert!(matches!(e, ServiceError::Parse(_)), "{e}");
        let e = parse_request(br#"{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{}}"#).unwrap_err();
        assert!(matches!(e, ServiceError::MethodNotFound(_)), "{e}");
        let e = parse_request(br#"{"jsonrpc":"1.0","id":1,"method":"SendMessage"}"#).unwrap_err();
        assert!(matches!(e, ServiceError::InvalidRequest(_)), "{e}");
        let mut req = request("1", "m1", &handoff(), Some(&Artifact { levels: vec![1] }));
        req["params"]["message"]["parts"][0]["data"]["q_table"] = json!([1.0]);
        let inc = parse_request(&serde_json::to_vec(&req).unwrap()).unwrap();
        let e = Artifact::from_data(&inc.artifact.unwrap()).unwrap_err();
        assert!(e.to_string().contains("q_table"), "{e}");
    }
}
