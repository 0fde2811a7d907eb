//! KMS requests made with each customer-managed key of the templates, from what the key encrypts and the traffic the
//! flow derived for it (docs/estimate.md, "KMS"):
//!
//! - **DynamoDB**: a table whose `SSESpecification.KMSMasterKeyId` is the key. DynamoDB caches the plaintext table
//!   key for each caller and asks KMS again after 5 minutes ("How Amazon DynamoDB uses AWS KMS", table key caching,
//!   <https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html>, read 2026-12-03): one `Decrypt`
//!   per 5 minutes of activity per caller and table. A caller is counted per concurrently running execution
//!   environment of a function that calls the table (each has its own connections), the conservative reading.
//! - **Lambda**: a function whose `KmsKeyArn` is the key: one `Decrypt` of its environment per cold start.
//! - **Secrets Manager**: a function reading a secret whose `KmsKeyId` is the key (the provisioning hook, once per
//!   cold start): one `Decrypt` per cold start.
//! - **SQS**: a queue whose `KmsMasterKeyId` is the key: one `GenerateDataKey` (sender) and one `Decrypt` (reader)
//!   per data key reuse period (`KmsDataKeyReusePeriodSeconds`, 300 by default), at most one each per message.
//! - **CloudWatch Logs**: a log group whose `KmsKeyId` is the key: AWS does not publish how often CloudWatch Logs
//!   calls KMS; assumed one request per 5 minutes while the group ingests.

use crate::cost::flow::Flow;
use crate::cost::registry::Registry;
use crate::cost::template::{target, Resource, Resources};
use crate::cost::usage::{Usage, MONTH_HOURS};
use serde_json::Value;

/// Seconds DynamoDB keeps a caller's table key before asking KMS again.
pub const DYNAMODB_TABLE_KEY_CACHE_SECONDS: f64 = 300.0;
/// SQS's default data key reuse period, when the queue does not set one.
pub const SQS_DEFAULT_REUSE_SECONDS: f64 = 300.0;
/// Seconds between CloudWatch Logs' KMS requests for a log group that ingests (an assumption, see the module docs).
pub const LOGS_REQUEST_SECONDS: f64 = 300.0;
/// Hours an execution environment lives before Lambda replaces it (AWS publishes no figure; an assumption): a
/// function with `c` concurrent environments cold-starts about `c × 730 / 2` times a month.
pub const ENVIRONMENT_LIFETIME_HOURS: f64 = 2.0;
/// The internal derived key under which the flow records that a function calls a table (`_table:<TableId>`).
pub const TABLE_CALL_PREFIX: &str = "_table:";

const MONTH_SECONDS: f64 = MONTH_HOURS * 3600.0;

/// Requests of one function, from the flow's derivation (and any override).
struct FnLoad {
    requests: f64,
    /// Mean concurrently running execution environments (Little's law: requests × duration / month), at least 1
    /// when the function runs at all.
    callers: f64,
    cold_starts: f64,
}

fn load(f: &Flow, r: &Resource, usage: &Usage, d: f64, registry: &Registry) -> FnLoad {
    let ru = f.usage_of(r, usage, registry, d);
    let requests = ru.get("monthly_requests");
    let scan_ms = ru.derived(crate::cost::read_flow::SCAN_MS_KEY).unwrap_or(0.0);
    let busy = (requests * ru.get("request_duration_ms") + scan_ms) / 1000.0 / MONTH_SECONDS;
    let callers = if requests > 0.0 { busy.ceil().max(1.0) } else { 0.0 };
    let cold_starts = requests.min(callers * MONTH_HOURS / ENVIRONMENT_LIFETIME_HOURS);
    FnLoad { requests, callers, cold_starts }
}

/// The key a property names (`GetAtt Arn`, `Ref`, or a `Fn::Sub` of it), if it is one of `keys`.
fn key_of<'a>(v: Option<&Value>, keys: &'a [String]) -> Option<&'a String> {
    let t = target(v?)?;
    keys.iter().find(|k| **k == t)
}

/// Requests per month for every `AWS::KMS::Key`, set as its derived `monthly_requests` (with the parts under
/// `_dynamodb`, `_lambda`, `_secrets`, `_sqs`, `_logs`).
pub fn derive(f: &mut Flow, res: &Resources, usage: &Usage, d: f64, registry: &Registry) {
    let keys: Vec<String> = res.of_type("AWS::KMS::Key").map(|k| k.logical_id.clone()).collect();
    if keys.is_empty() {
        return;
    }
    let mut parts: Vec<(String, &'static str, f64)> = Vec::new();
    for func in res.of_type("AWS::Lambda::Function") {
        let l = load(f, func, usage, d, registry);
        if l.requests <= 0.0 {
            continue;
        }
        if let Some(k) = key_of(func.prop(&["KmsKeyArn"]), &keys) {
            parts.push((k.clone(), "_lambda", l.cold_starts));
        }
        let derived = f.derived.get(&func.logical_id).cloned().unwrap_or_default();
        for table in derived.keys().filter_map(|k| k.strip_prefix(TABLE_CALL_PREFIX)) {
            let t = res.get(table);
            if let Some(k) = key_of(t.and_then(|t| t.prop(&["SSESpecification", "KMSMasterKeyId"])), &keys) {
                let windows = MONTH_SECONDS / DYNAMODB_TABLE_KEY_CACHE_SECONDS;
                parts.push((k.clone(), "_dynamodb", (windows * l.callers).min(l.requests)));
            }
        }
        // secrets the function reads: environment variables that name a secret (the hook's SERIAL_KEY_SECRET_ARN)
        let vars = func.prop(&["Environment", "Variables"]).and_then(Value::as_object).cloned().unwrap_or_default();
        for v in vars.values() {
            let secret = target(v).and_then(|s| res.get(&s)).filter(|s| s.type_name == "AWS::SecretsManager::Secret");
            if let Some(k) = key_of(secret.and_then(|s| s.prop(&["KmsKeyId"])), &keys) {
                parts.push((k.clone(), "_secrets", l.cold_starts));
            }
        }
    }
    for q in res.of_type("AWS::SQS::Queue") {
        let Some(k) = key_of(q.prop(&["KmsMasterKeyId"]), &keys) else { continue };
        let sent = f.derived.get(&q.logical_id).and_then(|v| v.get("monthly_requests")).copied().unwrap_or(0.0);
        let reuse =
            q.prop(&["KmsDataKeyReusePeriodSeconds"]).and_then(Value::as_f64).unwrap_or(SQS_DEFAULT_REUSE_SECONDS);
        parts.push((k.clone(), "_sqs", 2.0 * sent.min(MONTH_SECONDS / reuse)));
    }
    for lg in res.of_type("AWS::Logs::LogGroup") {
        let Some(k) = key_of(lg.prop(&["KmsKeyId"]), &keys) else { continue };
        let ingests =
            f.derived.get(&lg.logical_id).and_then(|v| v.get("monthly_ingested_gb")).is_some_and(|g| *g > 0.0);
        if ingests {
            parts.push((k.clone(), "_logs", MONTH_SECONDS / LOGS_REQUEST_SECONDS));
        }
    }
    for k in &keys {
        let mut total = 0.0;
        for (key, part, n) in parts.iter().filter(|(key, _, _)| key == k) {
            f.add(key, part, *n);
            total += n;
        }
        f.set(k, "monthly_requests", total);
    }
}
