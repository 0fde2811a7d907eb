//! Built-in security checks: every checkov suppression states its reason, every queue is encrypted, and every
//! function a topic rule invokes keeps its failed events (bounded retries and age, an on-failure queue).

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
