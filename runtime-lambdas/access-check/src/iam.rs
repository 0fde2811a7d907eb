//! Recorded requests as IAM actions on resources, a function role's grants read from a rendered template, and
//! the comparison of the two: every call must be granted, every grant must be called (or be on the explicit
//! list of grants the Lambda service itself uses).
//!
//! Resources are compared by their logical id in the template: a table `NodesTable`, its indexes
//! `NodesTable/index/by-owner`, the secret `SerialKeySecret`; ARNs built with `Fn::Sub` by their resource part
//! (`thing/*`). A trailing `*` in a grant matches any suffix.

use crate::Request;
use serde_json::Value;
use std::collections::BTreeSet;

/// One IAM action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Action {
    /// `service:Operation` as IAM names it (`dynamodb:PutItem`, `iot:GetThingShadow`).
    pub action: String,
    /// Logical id or ARN resource part (see the module docs).
    pub resource: String,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

fn act(action: impl Into<String>, resource: impl Into<String>) -> Action {
    Action { action: action.into(), resource: resource.into() }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The IAM actions the requests need. `logical` maps a physical name the request carries (a table name, a
/// secret ARN) to the template's logical id; a name it does not know stays as it is (and is then granted by
/// nothing).
pub fn actions(requests: &[Request], logical: &dyn Fn(&str) -> String) -> Vec<Action> {
    let mut out = Vec::new();
    for r in requests {
        if let Some(op) = r.dynamodb_op() {
            dynamodb(op, &r.body, logical, &mut out);
            continue;
        }
        match r.service.as_str() {
            "iotdata" => out.push(iot_data(r)),
            "secretsmanager" => {
                let op = r.target.as_deref().and_then(|t| t.strip_prefix("secretsmanager.")).unwrap_or("?");
                out.push(act(format!("secretsmanager:{op}"), logical(s(&r.body, "SecretId"))));
            }
            // Any other service: its JSON target if it has one, else the HTTP request; granted by nothing
            // until this function learns the service.
            other => {
                let op = r.target.as_deref().and_then(|t| t.rsplit('.').next()).map(str::to_string);
                let op = op.unwrap_or_else(|| format!("{} {}", r.method, r.path));
                out.push(act(format!("{other}:{op}"), "?"));
            }
        }
    }
    out
}

fn dynamodb(op: &str, body: &Value, logical: &dyn Fn(&str) -> String, out: &mut Vec<Action>) {
    let on = |v: &Value| {
        let table = logical(s(v, "TableName"));
        match v.get("IndexName").and_then(Value::as_str) {
            Some(ix) => format!("{table}/index/{ix}"),
            None => table,
        }
    };
    match op {
        // A transaction needs the action of each item, on that item's table (there is no TransactWriteItems
        // action in IAM).
        "TransactWriteItems" => {
            for item in body.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                for (kind, name) in [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ] {
                    if let Some(v) = item.get(kind) {
                        out.push(act(format!("dynamodb:{name}"), on(v)));
                    }
                }
            }
        }
        "TransactGetItems" => {
            for item in body.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                if let Some(v) = item.get("Get") {
                    out.push(act("dynamodb:GetItem", on(v)));
                }
            }
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for name in body.get("RequestItems").and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
                out.push(act(format!("dynamodb:{op}"), logical(name)));
            }
        }
        _ => out.push(act(format!("dynamodb:{op}"), on(body))),
    }
}

/// The IoT data plane is a REST protocol: the shadow operations by method on `/things/{name}/shadow`.
fn iot_data(r: &Request) -> Action {
    let segs: Vec<&str> = r.path.split('/').filter(|x| !x.is_empty()).collect();
    if let ["things", thing, "shadow"] = segs.as_slice() {
        let op = match r.method.as_str() {
            "GET" => Some("GetThingShadow"),
            "POST" => Some("UpdateThingShadow"),
            "DELETE" => Some("DeleteThingShadow"),
            _ => None,
        };
        if let Some(op) = op {
            return act(format!("iot:{op}"), format!("thing/{thing}"));
        }
    }
    act(format!("iotdata:{} {}", r.method, r.path), "?")
}

/// The Kinesis reads Lambda's event source mappings of `function` make with its role (a standard iterator: the
/// Lambda developer guide's `DescribeStream`, `DescribeStreamSummary`, `GetRecords`, `GetShardIterator`,
/// `ListShards`), on the stream each reads: calls no handler request shows, which the role must grant.
pub fn implied_stream_reads(template: &Value, function: &str) -> Vec<Action> {
    const READS: [&str; 5] = [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ];
    let mut out: Vec<Action> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::EventSourceMapping")
        .filter(|(_, r)| r["Properties"]["FunctionName"]["Ref"] == function)
        .filter_map(|(_, r)| r.pointer("/Properties/EventSourceArn/Fn::GetAtt/0").and_then(Value::as_str))
        .flat_map(|stream| READS.iter().map(move |a| act(*a, stream)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The logical id of the KMS key a property names (`{"Fn::GetAtt": [key, "Arn"]}` or `{"Ref": key}`).
fn key_of(v: Option<&Value>) -> Option<String> {
    let v = v?;
    v.pointer("/Fn::GetAtt/0").or_else(|| v.get("Ref")).and_then(Value::as_str).map(str::to_string)
}

/// The KMS actions AWS services perform with the function's role on its behalf, which no handler request shows:
/// - DynamoDB decrypts the table key (`kms:Decrypt`) for a call on a table whose `SSESpecification` names a key;
/// - Secrets Manager decrypts the secret (`kms:Decrypt`) for `GetSecretValue` on a secret with a `KmsKeyId`;
/// - Lambda decrypts the environment at cold start (`kms:Decrypt`) when the function has a `KmsKeyArn`;
/// - Lambda sends a failed asynchronous event to the on-failure queue with the role, and SQS needs
///   `kms:GenerateDataKey` and `kms:Decrypt` from a sender when the queue has a `KmsMasterKeyId`; the same for
///   the batches an event source mapping gives up on;
/// - an event source mapping reads the stream's records with the role (`kms:Decrypt` when the stream's
///   `StreamEncryption.KeyId` is a key of the template).
///
/// Read from the template: a grant on a key none of these uses is never called, a missing one is not granted.
pub fn implied_kms(template: &Value, function: &str, calls: &[Action]) -> Vec<Action> {
    let res = &template["Resources"];
    let mut out = Vec::new();
    for c in calls {
        let base = c.resource.split("/index/").next().unwrap_or(&c.resource);
        let key = if c.action.starts_with("dynamodb:") {
            key_of(res[base].pointer("/Properties/SSESpecification/KMSMasterKeyId"))
        } else if c.action == "secretsmanager:GetSecretValue" {
            key_of(res[base].pointer("/Properties/KmsKeyId"))
        } else {
            None
        };
        out.extend(key.map(|k| act("kms:Decrypt", k)));
    }
    out.extend(key_of(res[function].pointer("/Properties/KmsKeyArn")).map(|k| act("kms:Decrypt", k)));
    for (_, r) in res.as_object().into_iter().flatten() {
        let invoke_config = r["Type"] == "AWS::Lambda::EventInvokeConfig";
        let mapping = r["Type"] == "AWS::Lambda::EventSourceMapping";
        if !(invoke_config || mapping) || r["Properties"]["FunctionName"]["Ref"] != function {
            continue;
        }
        // Lambda sends a failed event (or a failed stream batch) to the on-failure queue with the role.
        let queue =
            r.pointer("/Properties/DestinationConfig/OnFailure/Destination/Fn::GetAtt/0").and_then(Value::as_str);
        if let Some(k) = queue.and_then(|q| key_of(res[q].pointer("/Properties/KmsMasterKeyId"))) {
            out.extend([act("kms:GenerateDataKey", k.clone()), act("kms:Decrypt", k)]);
        }
        // An event source mapping reads the stream's records with the role: they are decrypted with its key.
        let stream = r.pointer("/Properties/EventSourceArn/Fn::GetAtt/0").and_then(Value::as_str);
        if let Some(k) = stream.and_then(|s| key_of(res[s].pointer("/Properties/StreamEncryption/KeyId"))) {
            out.push(act("kms:Decrypt", k));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A grant of a role: one action on one resource, with the statement it comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub role: String,
    pub sid: String,
    pub action: Action,
}

fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// A statement's resource as a logical id or an ARN's resource part.
fn resource(v: &Value) -> String {
    if let Some(att) = v.get("Fn::GetAtt").and_then(Value::as_array) {
        return att.first().and_then(Value::as_str).unwrap_or("?").to_string();
    }
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return r.to_string();
    }
    let text = v.get("Fn::Sub").and_then(Value::as_str).or(v.as_str()).unwrap_or("?");
    // `${X.Arn}/index/*` → `X/index/*`; `arn:${AWS::Partition}:iot:...:thing/*` → `thing/*`.
    if let Some(rest) = text.strip_prefix("${") {
        if let Some((id, tail)) = rest.split_once(".Arn}") {
            return format!("{id}{tail}");
        }
    }
    if text.starts_with("arn:") {
        // Pseudo parameters first (`${AWS::Region}` has colons of its own).
        let mut plain = text.to_string();
        while let Some(i) = plain.find("${AWS::") {
            let end = plain[i..].find('}').map_or(plain.len(), |j| i + j + 1);
            plain.replace_range(i..end, "x");
        }
        return plain.splitn(6, ':').nth(5).unwrap_or(&plain).to_string();
    }
    text.to_string()
}

/// Every grant of the role of the function with logical id `function` in a parsed template.
pub fn grants(template: &Value, function: &str) -> Result<Vec<Grant>, String> {
    let res = template.get("Resources").ok_or("the template has no Resources")?;
    let f = res.get(function).ok_or_else(|| format!("the template has no {function}"))?;
    let role = f["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .ok_or_else(|| format!("{function}'s Role is not a Fn::GetAtt of a role in the template"))?;
    let r = res.get(role).ok_or_else(|| format!("{function}'s role {role} is not in the template"))?;
    if r["Properties"].get("ManagedPolicyArns").is_some() {
        return Err(format!("{role} has managed policies: their actions cannot be compared"));
    }
    let mut out = Vec::new();
    for p in list(&r["Properties"]["Policies"]) {
        for st in list(&p["PolicyDocument"]["Statement"]) {
            if s(st, "Effect") != "Allow" {
                continue;
            }
            if st.get("NotAction").is_some() || st.get("NotResource").is_some() {
                return Err(format!("{role} has a NotAction/NotResource statement: not comparable"));
            }
            for a in list(&st["Action"]) {
                for rs in list(&st["Resource"]) {
                    out.push(Grant {
                        role: role.to_string(),
                        sid: s(st, "Sid").to_string(),
                        action: act(a.as_str().unwrap_or("?"), resource(rs)),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// Whether a grant allows an action.
pub fn allows(grant: &Action, call: &Action) -> bool {
    matches(&grant.action, &call.action) && matches(&grant.resource, &call.resource)
}

/// What differs between a function's calls and its role.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Calls no grant allows (the function would get AccessDenied in AWS).
    pub not_granted: BTreeSet<Action>,
    /// Grants no call used and the Lambda service does not use (`used_by_lambda`): remove them.
    pub never_called: Vec<Grant>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.not_granted.is_empty() && self.never_called.is_empty()
    }
}

/// Compare. `used_by_lambda` says whether the Lambda service itself uses a grant (the runtime's logs, the
/// on-failure destination), so that no handler call is expected for it.
pub fn compare(calls: &[Action], grants: &[Grant], used_by_lambda: &dyn Fn(&Action) -> bool) -> Drift {
    let not_granted = calls.iter().filter(|c| !grants.iter().any(|g| allows(&g.action, c))).cloned().collect();
    let never_called = grants
        .iter()
        .filter(|g| !used_by_lambda(&g.action) && !calls.iter().any(|c| allows(&g.action, c)))
        .cloned()
        .collect();
    Drift { not_granted, never_called }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(service: &str, target: Option<&str>, method: &str, path: &str, body: Value) -> Request {
        Request {
            service: service.into(),
            target: target.map(str::to_string),
            method: method.into(),
            path: path.into(),
            body,
        }
    }

    #[test]
    fn requests_become_iam_actions_per_item_and_resource() {
        let logical = |n: &str| match n {
            "t-nodes" => "NodesTable".to_string(),
            "t-un" => "UserNodesTable".to_string(),
            other => other.to_string(),
        };
        let reqs = [
            req(
                "dynamodb",
                Some("DynamoDB_20120810.TransactWriteItems"),
                "POST",
                "/",
                json!({"TransactItems": [
                {"ConditionCheck": {"TableName": "t-nodes"}}, {"Put": {"TableName": "t-un"}}]}),
            ),
            req(
                "dynamodb",
                Some("DynamoDB_20120810.Query"),
                "POST",
                "/",
                json!({"TableName": "t-un", "IndexName": "by-node"}),
            ),
            req(
                "dynamodb",
                Some("DynamoDB_20120810.BatchGetItem"),
                "POST",
                "/",
                json!({"RequestItems": {"t-nodes": {}}}),
            ),
            req("iotdata", None, "POST", "/things/SN-1/shadow", Value::Null),
            req("iotdata", None, "DELETE", "/things/SN-1/shadow", Value::Null),
            req("secretsmanager", Some("secretsmanager.GetSecretValue"), "POST", "/", json!({"SecretId": "arn:x"})),
            req("monitoring", None, "POST", "/", Value::Null),
        ];
        let got: Vec<String> = actions(&reqs, &logical).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "dynamodb:ConditionCheckItem on NodesTable",
                "dynamodb:PutItem on UserNodesTable",
                "dynamodb:Query on UserNodesTable/index/by-node",
                "dynamodb:BatchGetItem on NodesTable",
                "iot:UpdateThingShadow on thing/SN-1",
                "iot:DeleteThingShadow on thing/SN-1",
                "secretsmanager:GetSecretValue on arn:x",
                "monitoring:POST / on ?",
            ]
        );
    }

    #[test]
    fn grants_are_read_per_action_and_resource_and_compared_both_ways() {
        let t = json!({"Resources": {
            "F": {"Properties": {"Role": {"Fn::GetAtt": ["R", "Arn"]}}},
            "R": {"Properties": {"Policies": [{"PolicyDocument": {"Statement": [
                {"Sid": "T", "Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:GetItem"],
                 "Resource": [{"Fn::GetAtt": ["NodesTable", "Arn"]}, {"Fn::Sub": "${NodesTable.Arn}/index/*"}]},
                {"Sid": "S", "Effect": "Allow", "Action": "iot:GetThingShadow",
                 "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:thing/*"}},
                {"Sid": "L", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": [{"Fn::GetAtt": ["FLogGroup", "Arn"]}]}
            ]}}]}}
        }});
        let g = grants(&t, "F").unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[4].action, act("iot:GetThingShadow", "thing/*"));
        let calls = [
            act("dynamodb:Query", "NodesTable/index/by-owner"),
            act("dynamodb:GetItem", "NodesTable"),
            act("iot:GetThingShadow", "thing/SN-1"),
            act("iot:UpdateThingShadow", "thing/SN-1"),
        ];
        let lambda = |a: &Action| a.action.starts_with("logs:");
        let d = compare(&calls, &g, &lambda);
        assert_eq!(d.not_granted.into_iter().collect::<Vec<_>>(), [act("iot:UpdateThingShadow", "thing/SN-1")]);
        let unused: Vec<String> = d.never_called.iter().map(|g| g.action.to_string()).collect();
        assert_eq!(unused, ["dynamodb:Query on NodesTable", "dynamodb:GetItem on NodesTable/index/*"]);
        assert!(grants(&t, "G").is_err());
    }

    #[test]
    fn services_use_the_key_of_what_the_function_touches() {
        let key = json!({"Fn::GetAtt": ["K", "Arn"]});
        let t = json!({"Resources": {
            "F": {"Properties": {"KmsKeyArn": key}},
            "G": {"Properties": {}},
            "T": {"Properties": {"SSESpecification": {"SSEEnabled": true, "KMSMasterKeyId": key}}},
            "U": {"Properties": {"SSESpecification": {"SSEEnabled": true}}},
            "S": {"Properties": {"KmsKeyId": key}},
            "Q": {"Properties": {"KmsMasterKeyId": key}},
            "C": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {"FunctionName": {"Ref": "G"},
                  "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Q", "Arn"]}}}}}
        }});
        let shown = |v: Vec<Action>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        // a table without a key of its own, no env key, no queue: nothing
        assert!(implied_kms(&t, "F2", &[act("dynamodb:GetItem", "U")]).is_empty());
        assert_eq!(shown(implied_kms(&t, "F", &[act("dynamodb:Query", "T/index/by-x")])), ["kms:Decrypt on K"]);
        assert_eq!(shown(implied_kms(&t, "X", &[act("secretsmanager:GetSecretValue", "S")])), ["kms:Decrypt on K"]);
        assert_eq!(shown(implied_kms(&t, "G", &[])), ["kms:Decrypt on K", "kms:GenerateDataKey on K"]);
    }
}
