//! Built-in security checks: every checkov suppression states its reason, every queue is encrypted, every
//! function a topic rule invokes keeps its failed events (bounded retries and age, an on-failure queue), no role
//! grants a KMS action on any key but a key of the stack (never `*`), and a stack with a KMS key encrypts every
//! table, queue, log group, function environment and secret with it.

use super::checks::Finding;
use serde_json::{Map, Value};

/// The shortest reason a checkov suppression may give.
const MIN_REASON: usize = 30;

fn finding(check: &'static str, id: &str, message: String) -> Finding {
    Finding { check, resource: Some(id.to_string()), message }
}

/// Run the security checks over a template's resources.
pub fn check(resources: &Map<String, Value>, out: &mut Vec<Finding>) {
    for (id, res) in resources {
        for skip in res.pointer("/Metadata/checkov/skip").and_then(Value::as_array).into_iter().flatten() {
            let ck = skip.get("id").and_then(Value::as_str).unwrap_or("");
            let why = skip.get("comment").and_then(Value::as_str).unwrap_or("").trim();
            if !ck.starts_with("CKV") || why.len() < MIN_REASON {
                out.push(finding(
                    "checkov-skip-reason",
                    id,
                    format!("suppresses checkov `{ck}` without a reason of at least {MIN_REASON} characters"),
                ));
            }
        }
        let ty = res.get("Type").and_then(Value::as_str).unwrap_or("");
        let p = |k: &str| res.pointer(&format!("/Properties/{k}"));
        if ty == "AWS::SQS::Queue"
            && p("SqsManagedSseEnabled") != Some(&Value::Bool(true))
            && p("KmsMasterKeyId").is_none()
        {
            out.push(finding(
                "queue-encrypted",
                id,
                "queue is not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)".into(),
            ));
        }
    }
    kms_checks(resources, out);
    for (id, m) in resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::EventSourceMapping"))
    {
        let p = |k: &str| m.pointer(&format!("/Properties/{k}"));
        let queue = p("DestinationConfig/OnFailure/Destination/Fn::GetAtt/0")
            .and_then(Value::as_str)
            .and_then(|q| resources.get(q))
            .and_then(|q| q.get("Type"))
            .and_then(Value::as_str);
        let bounded = p("MaximumRetryAttempts").and_then(Value::as_i64).is_some_and(|n| (0..=10).contains(&n))
            && p("MaximumRecordAgeInSeconds").and_then(Value::as_i64).is_some_and(|n| n > 0);
        if queue != Some("AWS::SQS::Queue") || !bounded {
            out.push(finding(
                "stream-failures-kept",
                id,
                "a stream event source mapping must bound retries (MaximumRetryAttempts 0 to 10) and record age and \
                 send the batches it gives up on to an SQS queue (DestinationConfig.OnFailure)"
                    .into(),
            ));
        }
    }
    for fn_id in rule_targets(resources) {
        let kept = resources.values().any(|r| {
            r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::EventInvokeConfig")
                && r.pointer("/Properties/FunctionName/Ref").and_then(Value::as_str) == Some(fn_id.as_str())
                && r.pointer("/Properties/MaximumRetryAttempts").and_then(Value::as_u64).is_some_and(|n| n <= 2)
                && r.pointer("/Properties/MaximumEventAgeInSeconds").and_then(Value::as_u64).is_some()
                && r.pointer("/Properties/DestinationConfig/OnFailure/Destination/Fn::GetAtt/0")
                    .and_then(Value::as_str)
                    .and_then(|q| resources.get(q))
                    .and_then(|q| q.get("Type"))
                    .and_then(Value::as_str)
                    == Some("AWS::SQS::Queue")
        });
        if !kept {
            out.push(finding(
                "async-failures-kept",
                &fn_id,
                "a topic rule invokes it asynchronously but no EventInvokeConfig bounds retries and event age and \
                 sends failures to an SQS queue"
                    .into(),
            ));
        }
    }
}

/// Logical ids of the functions topic rules invoke.
fn rule_targets(resources: &Map<String, Value>) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::IoT::TopicRule"))
        .flat_map(|r| {
            r.pointer("/Properties/TopicRulePayload/Actions").and_then(Value::as_array).cloned().unwrap_or_default()
        })
        .filter_map(|a| a.pointer("/Lambda/FunctionArn/Fn::GetAtt/0").and_then(Value::as_str).map(String::from))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The property of each resource type that names its KMS key.
const KEY_PROPERTY: [(&str, &str); 6] = [
    ("AWS::DynamoDB::Table", "SSESpecification/KMSMasterKeyId"),
    ("AWS::Kinesis::Stream", "StreamEncryption/KeyId"),
    ("AWS::SQS::Queue", "KmsMasterKeyId"),
    ("AWS::Logs::LogGroup", "KmsKeyId"),
    ("AWS::Lambda::Function", "KmsKeyArn"),
    ("AWS::SecretsManager::Secret", "KmsKeyId"),
];

fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn kms_checks(resources: &Map<String, Value>, out: &mut Vec<Finding>) {
    let keys: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::KMS::Key"))
        .map(|(id, _)| id)
        .collect();
    let is_key = |v: &Value| {
        v.pointer("/Fn::GetAtt/0").and_then(Value::as_str).is_some_and(|id| keys.iter().any(|k| *k == id))
            && v.pointer("/Fn::GetAtt/1").and_then(Value::as_str) == Some("Arn")
    };
    for (id, res) in resources {
        let ty = res.get("Type").and_then(Value::as_str).unwrap_or("");
        if !keys.is_empty() {
            if let Some((_, prop)) = KEY_PROPERTY.iter().find(|(t, _)| *t == ty) {
                if !res.pointer(&format!("/Properties/{prop}")).is_some_and(is_key) {
                    out.push(finding("kms-key-used", id, format!("the stack has a KMS key but {prop} is not its ARN")));
                }
            }
        }
        if ty != "AWS::IAM::Role" {
            continue;
        }
        let statements = list(res.pointer("/Properties/Policies").unwrap_or(&Value::Null))
            .into_iter()
            .flat_map(|p| list(p.pointer("/PolicyDocument/Statement").unwrap_or(&Value::Null)));
        for st in statements {
            let actions: Vec<&str> =
                list(st.get("Action").unwrap_or(&Value::Null)).into_iter().filter_map(Value::as_str).collect();
            let kms: Vec<&&str> = actions.iter().filter(|a| a.starts_with("kms:") || **a == "*").collect();
            if kms.is_empty() {
                continue;
            }
            let wildcard_action = kms.iter().any(|a| a.contains('*'));
            let resources_ok = {
                let r = list(st.get("Resource").unwrap_or(&Value::Null));
                !r.is_empty() && r.into_iter().all(is_key)
            };
            if wildcard_action || !resources_ok {
                out.push(finding(
                    "kms-grant-scoped",
                    id,
                    format!("grants {kms:?}: a role may use only named KMS actions, on a key of this stack (its GetAtt Arn)"),
                ));
            }
        }
    }
}
