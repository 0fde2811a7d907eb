//! Security hardening of the functions, as data: asynchronous failure handling and the checkov suppressions, each
//! with the reason the check does not apply.

use super::backend::Rule;
use super::functions::{Function, Statement};
use serde::Serialize;
use serde_json::json;

/// Retries of a failed asynchronous invocation before it goes to the dead-letter queue (AWS allows 0 to 2).
pub const ASYNC_MAX_RETRIES: u32 = 2;
/// Age after which an asynchronous event is given up and sent to the dead-letter queue (AWS allows 60 to 21600).
pub const ASYNC_MAX_EVENT_AGE_SECONDS: u32 = 3600;

/// One JSON line per API request: who (the Cognito `sub`, never the token), from where, what, and the outcome.
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","time":"$context.requestTime","sourceIp":"$context.identity.sourceIp","#,
    r#""userAgent":"$context.identity.userAgent","sub":"$context.authorizer.claims.sub","#,
    r#""method":"$context.httpMethod","path":"$context.path","status":"$context.status","#,
    r#""responseLength":"$context.responseLength","latencyMs":"$context.responseLatency","#,
    r#""wafStatus":"$context.waf.status","error":"$context.error.message"}"#
);

/// Requests per 5 minutes from one IP to the bind path before WAF blocks it (binding codes are short-lived and
/// a user binds a few devices, so more means someone is trying codes or serials).
pub const WAF_BIND_RATE_LIMIT: u32 = 100;
/// The api function's request body limit (`MAX_BODY` in runtime-lambdas/api/src/http.rs); WAF blocks larger
/// bodies itself, and the common rule set's 8 KB body rule only counts.
pub const API_MAX_BODY_BYTES: u32 = 16 * 1024;

/// The CORS preflight's mapping template: `Access-Control-Allow-Origin` is the request's `Origin` when it is one of
/// `origins` (validated `https://host[:port]` / `http://localhost[:port]`), absent otherwise.
pub fn cors_reflect_template(origins: &[String]) -> String {
    let cond: Vec<String> = origins.iter().map(|o| format!("$origin == '{o}'")).collect();
    format!(
        "#set($origin = $input.params().header.get('Origin'))\n#if({})\n\
         #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end\n",
        if cond.is_empty() { "false".to_string() } else { cond.join(" || ") }
    )
}

/// One checkov check suppressed in a resource's `Metadata.checkov.skip`, with the real reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skip {
    pub id: &'static str,
    pub comment: String,
}

/// How failures of asynchronous invocations of a function are kept.
#[derive(Debug, Serialize)]
pub struct AsyncInvoke {
    pub config_id: String,
    pub max_retries: u32,
    pub max_event_age_seconds: u32,
    /// Logical id of the on-failure destination (an encrypted SQS queue).
    pub on_failure_queue: &'static str,
}

const VPC: &str =
    "The function calls only AWS service endpoints (DynamoDB, IoT) over TLS with IAM-signed requests and \
                   has nothing in a VPC to reach; a VPC would add NAT or endpoint cost without narrowing its access.";
const CONCURRENCY: &str = "Reserved concurrency is taken from the account's unreserved pool (10 in a new account, and \
                           AWS refuses to go below 10), so reserving would fail the deploy or starve other tenants; \
                           load is bounded upstream by API Gateway throttling, the WAF rate rules and IoT quotas.";
const ENV_KMS: &str =
    "The environment holds table names, the tenant name and settings, no secrets; Lambda encrypts it \
                       at rest with its AWS managed key, and security.kms: customer-managed uses the tenant's KMS key.";

/// How a function is invoked, for its DLQ suppression's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// By API Gateway or fleet provisioning.
    Sync,
    /// By a topic rule.
    Async,
    /// By an event source mapping (the telemetry stream).
    Stream,
}

/// The checkov suppressions of a function invoked `how`; `customer_key`: its environment is encrypted with the
/// tenant's KMS key (then CKV_AWS_173 passes and is not suppressed).
pub fn function_skips_for(how: Invocation, customer_key: bool) -> Vec<Skip> {
    let dlq = if how == Invocation::Stream {
        "Invoked by the telemetry stream's event source mapping, whose on-failure destination is the encrypted \
         dead-letter queue (after bounded, bisected retries and a maximum record age); a function DLQ applies to \
         asynchronous invocations only."
    } else if how == Invocation::Async {
        "Asynchronous failures go to the on-failure destination of the function's EventInvokeConfig (the encrypted \
         dead-letter queue, after bounded retries and event age), which keeps the error with the event; a DLQ \
         would receive the same events without the error."
    } else {
        "Only invoked synchronously (API Gateway or fleet provisioning), so a failure returns to the caller; a DLQ \
         applies to asynchronous invocations only."
    };
    let mut skips = vec![
        Skip { id: "CKV_AWS_116", comment: dlq.into() },
        Skip { id: "CKV_AWS_117", comment: VPC.into() },
        Skip { id: "CKV_AWS_115", comment: CONCURRENCY.into() },
    ];
    if !customer_key {
        skips.push(Skip { id: "CKV_AWS_173", comment: ENV_KMS.into() });
    }
    skips
}

/// Give every function its suppressions, and every function a topic rule invokes (asynchronously) bounded retries,
/// a maximum event age and the dead-letter queue as on-failure destination, with the right to send to it.
/// `customer_key`: the functions' environments are encrypted with the tenant's KMS key.
pub fn harden(functions: &mut [Function], rules: &[Rule], dead_letter_queue: &'static str, customer_key: bool) {
    for f in functions.iter_mut() {
        let async_invoked = rules.iter().any(|r| r.function_id.as_deref() == Some(f.logical_id.as_str()));
        let how = match (f.stream_consumer, async_invoked) {
            (true, _) => Invocation::Stream,
            (false, true) => Invocation::Async,
            (false, false) => Invocation::Sync,
        };
        f.checkov_skips = function_skips_for(how, customer_key);
        if f.stream_consumer {
            // Lambda sends the records of a batch it gave up on to the mapping's on-failure destination with the
            // function's role.
            f.statements.push(Statement {
                sid: "OnFailureDestination".into(),
                actions: json!(["sqs:SendMessage"]).to_string(),
                resources: json!([{ "Fn::GetAtt": [dead_letter_queue, "Arn"] }]).to_string(),
            });
        }
        if async_invoked {
            f.async_invoke = Some(AsyncInvoke {
                config_id: format!("{}EventInvokeConfig", f.logical_id),
                max_retries: ASYNC_MAX_RETRIES,
                max_event_age_seconds: ASYNC_MAX_EVENT_AGE_SECONDS,
                on_failure_queue: dead_letter_queue,
            });
            f.statements.push(Statement {
                sid: "OnFailureDestination".into(),
                actions: json!(["sqs:SendMessage"]).to_string(),
                resources: json!([{ "Fn::GetAtt": [dead_letter_queue, "Arn"] }]).to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suppression_states_a_reason_and_the_dlq_reason_follows_the_invocation() {
        let how = |a: bool| if a { Invocation::Async } else { Invocation::Sync };
        for a in [true, false] {
            let s = function_skips_for(how(a), false);
            let stream = function_skips_for(Invocation::Stream, false);
            assert!(stream[0].comment.contains("event source mapping"), "{stream:?}");
            assert_eq!(
                s.iter().map(|s| s.id).collect::<Vec<_>>(),
                ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_115", "CKV_AWS_173"]
            );
            assert!(s.iter().all(|s| s.comment.len() > 60), "{s:?}");
            assert_eq!(s[0].comment.contains("EventInvokeConfig"), a);
            // with the tenant's key the environment check passes: no suppression for it
            let ids: Vec<&str> = function_skips_for(how(a), true).iter().map(|s| s.id).collect();
            assert_eq!(ids, ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_115"]);
        }
    }
}
