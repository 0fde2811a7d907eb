//! AWS IoT Device Defender's `IOT_POLICY_OVERLY_PERMISSIVE_CHECK`, by its documented rules, over IoT policy documents.
//!
//! Device Defender cannot run here (moto has none), so its documented rules ("AWS IoT policies overly permissive",
//! AWS IoT Device Defender developer guide, sections "MQTT permissions" and "Shadow and job permissions") are
//! applied to the policy documents themselves. Every rule and where it comes from:
//!
//! | rule | source |
//! |---|---|
//! | `iot:Connect` on a client id with a wildcard (`client/*`) | documented noncompliant: "the wildcard * allows any device to connect" |
//! | `iot:Connect` on `client/${iot:ClientId}` without `iot:Connection.Thing.IsAttached` true | documented noncompliant: "equivalent to the wildcard" |
//! | `iot:Connect` on `client/${iot:Connection.Thing.ThingName}` needs `IsAttached` true | documented compliant form has the condition; without it, treated as the `${iot:ClientId}` case (conservative) |
//! | `iot:Connect` on a literal client id | compliant (no wildcard; AWS's connect-policy example for unregistered devices) |
//! | `iot:Publish` / `iot:Subscribe` on a topic (filter) with a wildcard (`*`, `?`, MQTT `+`, `#`) that is not after a segment bound to the connection (`${iot:Connection.Thing.ThingName}`) | documented noncompliant: `topic/$aws/things/*`, `topicfilter/$aws/things/+/shadow/update`; compliant: `$aws/things/${iot:Connection.Thing.ThingName}/shadow/*`. Applied to every topic, not only `$aws/things/...` (the page's general rule: "using a wildcard to specify resources ... is considered too broad"; conservative) |
//! | `iot:Receive` | documented compliant on any topic ("can only receive messages from topics on which it has permission to subscribe") |
//! | shadow and job actions (`DeleteThingShadow`, `GetThingShadow`, `UpdateThingShadow`, `DescribeJobExecution`, `GetPendingJobExecutions`, `StartNextPendingJobExecution`, `UpdateJobExecution`) on `thing/*` | documented noncompliant; compliant: named things (and, as for topics, the connection's own thing) |
//! | any of those actions on `*` (or `NotResource`) | the `client/*` / `thing/*` cases, for every resource |
//!
//! `${iot:ClientId}` binds a topic to the device only in a statement conditioned on `IsAttached` (otherwise the
//! client id is whatever the caller chose). Action wildcards (`iot:*`, `*`, `iot:Get*`) and `NotAction` expand to
//! the data-plane actions they match. `Deny` statements are not findings (they only take permissions away).

use serde::Serialize;
use serde_json::Value;

/// The reason code Device Defender returns for this check.
pub const REASON: &str = "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS";

const THING_NAME: &str = "${iot:Connection.Thing.ThingName}";
const CLIENT_ID: &str = "${iot:ClientId}";
const IS_ATTACHED: &str = "iot:Connection.Thing.IsAttached";

/// The data-plane actions the check looks at, with the resource type each one is authorized on.
const ACTIONS: [(&str, Kind); 11] = [
    ("iot:Connect", Kind::Client),
    ("iot:Publish", Kind::Topic),
    ("iot:Subscribe", Kind::TopicFilter),
    ("iot:Receive", Kind::Receive),
    ("iot:DeleteThingShadow", Kind::Thing),
    ("iot:GetThingShadow", Kind::Thing),
    ("iot:UpdateThingShadow", Kind::Thing),
    ("iot:DescribeJobExecution", Kind::Thing),
    ("iot:GetPendingJobExecutions", Kind::Thing),
    ("iot:StartNextPendingJobExecution", Kind::Thing),
    ("iot:UpdateJobExecution", Kind::Thing),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Topic,
    TopicFilter,
    Receive,
    Thing,
}

/// Which documented rule a grant breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `iot:Connect` on a client id with a wildcard (`client/*`).
    ConnectWildcardClientId,
    /// `iot:Connect` on `${iot:ClientId}` or the thing name without `iot:Connection.Thing.IsAttached` true.
    ConnectUnattachedClientId,
    /// Publish/Subscribe on a topic whose wildcard is not under the connection's own thing.
    TopicOfManyDevices,
    /// A shadow or job action on `thing/*` (or a thing-name wildcard).
    ThingOfManyDevices,
    /// A data-plane action on every resource (`*`, `NotResource`).
    EveryResource,
}

/// One grant the check reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// The statement's `Sid`, or its position (`#0`).
    pub statement: String,
    pub action: String,
    pub resource: String,
    pub rule: Rule,
}

/// The findings of `IOT_POLICY_OVERLY_PERMISSIVE_CHECK` on one policy document (resources as plain ARNs; see
/// [`resolve_subs`] for a template's `Fn::Sub`). Empty: the policy is compliant.
pub fn overly_permissive(policy: &Value) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    for (i, st) in list(policy.get("Statement")).into_iter().enumerate() {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let name = st.get("Sid").and_then(Value::as_str).map_or_else(|| format!("#{i}"), String::from);
        let attached = is_attached(st);
        let granted: Vec<(&str, Kind)> = if let Some(not) = st.get("NotAction") {
            let not: Vec<&str> = list(Some(not)).into_iter().filter_map(Value::as_str).collect();
            ACTIONS.iter().copied().filter(|(a, _)| !not.iter().any(|p| glob(p, a))).collect()
        } else {
            let pats: Vec<&str> = list(st.get("Action")).into_iter().filter_map(Value::as_str).collect();
            ACTIONS.iter().copied().filter(|(a, _)| pats.iter().any(|p| glob(p, a))).collect()
        };
        let resources: Vec<String> = if st.get("NotResource").is_some() {
            vec!["*".into()]
        } else {
            list(st.get("Resource")).into_iter().filter_map(Value::as_str).map(String::from).collect()
        };
        for (action, kind) in granted {
            for r in &resources {
                if let Some(rule) = judge(kind, r, attached) {
                    let resource = r.clone();
                    out.push(AuditFinding { statement: name.clone(), action: action.into(), resource, rule });
                }
            }
        }
    }
    out
}

fn judge(kind: Kind, resource: &str, attached: bool) -> Option<Rule> {
    if kind == Kind::Receive {
        return None;
    }
    // the resource part of `arn:partition:iot:region:account:type/name`
    let part = if resource.starts_with("arn:") { resource.splitn(6, ':').nth(5).unwrap_or("") } else { resource };
    let part = part.strip_prefix('/').unwrap_or(part);
    let (ty, name) = part.split_once('/').unwrap_or((part, ""));
    if has_wildcard(ty) {
        return Some(Rule::EveryResource);
    }
    let expected = match kind {
        Kind::Client => "client",
        Kind::Topic => "topic",
        Kind::TopicFilter => "topicfilter",
        Kind::Thing => "thing",
        Kind::Receive => unreachable!("returned above"),
    };
    if ty != expected {
        return None; // grants nothing for this action
    }
    match kind {
        Kind::Client if has_wildcard(name) => Some(Rule::ConnectWildcardClientId),
        Kind::Client if (name.contains(CLIENT_ID) || name.contains(THING_NAME)) && !attached => {
            Some(Rule::ConnectUnattachedClientId)
        }
        Kind::Client => None,
        Kind::Thing => (!own_scope(name, attached)).then_some(Rule::ThingOfManyDevices),
        _ => (!own_scope(name, attached)).then_some(Rule::TopicOfManyDevices),
    }
}

/// No wildcard before a path segment that is exactly the connection's own thing (or client id, when attached).
fn own_scope(name: &str, attached: bool) -> bool {
    for seg in name.split('/') {
        if seg == THING_NAME || (attached && seg == CLIENT_ID) {
            return true;
        }
        if has_wildcard(seg) {
            return false;
        }
    }
    true
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '+', '#'])
}

fn is_attached(st: &Value) -> bool {
    let v = st.pointer("/Condition/Bool").and_then(|b| b.get(IS_ATTACHED));
    list(v).into_iter().any(|x| x == "true" || x == &Value::Bool(true))
}

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
        None => vec![],
    }
}

/// IAM-style wildcard match of action names (`*` any run, `?` one character; case-insensitive).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A template's policy document with every `{"Fn::Sub": "..."}` resolved: the pseudo parameters get sample values
/// (`aws`, `eu-west-1`, `123456789012`) and `${!name}` becomes the literal `${name}` (an IoT policy variable).
pub fn resolve_subs(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.get("Fn::Sub").is_some_and(Value::is_string) => {
            let s = m["Fn::Sub"].as_str().unwrap_or_default();
            let s = s
                .replace("${AWS::Partition}", "aws")
                .replace("${AWS::Region}", "eu-west-1")
                .replace("${AWS::AccountId}", "123456789012")
                .replace("${!", "${");
            Value::String(s)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), resolve_subs(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(resolve_subs).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
#[path = "iot_audit_tests.rs"]
mod tests;
