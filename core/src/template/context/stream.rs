//! The batched telemetry pipeline (`telemetry.pipeline: batched`) as data: the Kinesis data stream the telemetry
//! rule puts every message into, the role the rule's Kinesis action uses, and the event source mapping that hands
//! telemetry-batch its batches (bounded retries, bisect on error, failures kept in the encrypted dead-letter
//! queue). The consumer function itself is built with the others (`functions::functions`).

use super::functions::Statement;
use crate::config::{Config, Pipeline};
use crate::template::names::Names;
use serde::Serialize;
use serde_json::json;

/// Logical ids of the pipeline's resources.
pub const STREAM_ID: &str = "TelemetryStream";
pub const RULE_ROLE_ID: &str = "TelemetryStreamRuleRole";
pub const MAPPING_ID: &str = "TelemetryBatchEventSourceMapping";
pub const CONSUMER_ID: &str = "TelemetryBatchFunction";

/// Hours the stream keeps a record (Kinesis's minimum and default: the consumer reads within seconds, and a day
/// covers an outage of the function; longer retention is billed per shard-hour).
pub const RETENTION_HOURS: u32 = 24;
/// Most records in one batch with `pipeline: batched` (Kinesis allows 1 to 10,000); Lambda also stops at 6 MB of
/// payload.
pub const BATCH_SIZE: u32 = 1000;
/// Most records in one batch with `pipeline: packed`: Kinesis's maximum, so a batch packs as many nodes' readings
/// per item as the window gathers (Lambda still stops at 6 MB of payload).
pub const PACKED_BATCH_SIZE: u32 = 10_000;
// The batching window (seconds the mapping gathers records before it invokes with fewer than the batch size: the
// latency a reading may wait before it is stored, traded for larger batches) is `telemetry.batch_window_seconds`.
/// Retries of a failed batch (each bisected) before its records go to the dead-letter queue.
pub const MAX_RETRIES: u32 = 3;
/// Age after which a record is given up and sent to the dead-letter queue (Kinesis allows 60 to 604,800, or -1).
pub const MAX_RECORD_AGE_SECONDS: u32 = 3600;
/// The partition key the rule's Kinesis action puts with: the node id from the topic (`node/<id>/telemetry`; a
/// Basic Ingest topic is seen without its `$aws/rules/<rule>/` prefix), which telemetry-batch checks against the
/// record's `node_id`.
pub const PARTITION_KEY: &str = "${topic(2)}";

/// The telemetry stream and how the rule and the consumer use it.
#[derive(Debug, Serialize)]
pub struct TelemetryStream {
    pub logical_id: &'static str,
    pub name: String,
    pub shards: u32,
    pub retention_hours: u32,
    /// `StreamEncryption.KeyId` (JSON text): `alias/aws/kinesis`, or the tenant key's ARN.
    pub key: String,
    /// Role of the rule's Kinesis action: `kinesis:PutRecord` on this stream (+ the tenant key).
    pub rule_role_id: &'static str,
    pub rule_role_statements: Vec<Statement>,
    pub partition_key: &'static str,
    pub mapping: Mapping,
}

/// The event source mapping from the stream to telemetry-batch.
#[derive(Debug, Serialize)]
pub struct Mapping {
    pub logical_id: &'static str,
    pub function_id: &'static str,
    pub batch_size: u32,
    pub batching_window_seconds: u32,
    pub max_retries: u32,
    pub max_record_age_seconds: u32,
    /// Logical id of the on-failure destination (the encrypted SQS dead-letter queue).
    pub on_failure_queue: &'static str,
}

/// The Kinesis read actions Lambda's event source mapping uses with the consumer's role (the Lambda developer
/// guide's list for a standard iterator; `SubscribeToShard` is for enhanced fan-out, not used).
pub const CONSUMER_STREAM_ACTIONS: [&str; 5] = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];

/// `{"Fn::GetAtt": ["TelemetryStream", "Arn"]}` as JSON.
pub fn stream_arn() -> serde_json::Value {
    json!({ "Fn::GetAtt": [STREAM_ID, "Arn"] })
}

/// The pipeline of a config, `None` with `telemetry.pipeline: direct` (`packed` deploys what `batched` does).
pub fn telemetry_stream(cfg: &Config, n: &Names, dead_letter_queue: &'static str) -> Option<TelemetryStream> {
    if !cfg.telemetry.pipeline.streams() {
        return None;
    }
    let customer_key = cfg.security.kms.customer_managed();
    let key = if customer_key { super::encryption::key_arn() } else { json!("alias/aws/kinesis") };
    let mut rule_role_statements = vec![Statement {
        sid: "PutTelemetry".into(),
        actions: json!(["kinesis:PutRecord"]).to_string(),
        resources: json!([stream_arn()]).to_string(),
    }];
    if customer_key {
        // A producer to a stream under a customer-managed key needs a data key (the Kinesis developer guide).
        rule_role_statements.push(Statement {
            sid: "TenantKey".into(),
            actions: json!(["kms:GenerateDataKey"]).to_string(),
            resources: json!([super::encryption::key_arn()]).to_string(),
        });
    }
    Some(TelemetryStream {
        logical_id: STREAM_ID,
        name: n.resource("telemetry"),
        shards: cfg.telemetry.stream_shards,
        retention_hours: RETENTION_HOURS,
        key: key.to_string(),
        rule_role_id: RULE_ROLE_ID,
        rule_role_statements,
        partition_key: PARTITION_KEY,
        mapping: Mapping {
            logical_id: MAPPING_ID,
            function_id: CONSUMER_ID,
            batch_size: if cfg.telemetry.pipeline == Pipeline::Packed { PACKED_BATCH_SIZE } else { BATCH_SIZE },
            batching_window_seconds: cfg.telemetry.batch_window(),
            max_retries: MAX_RETRIES,
            max_record_age_seconds: MAX_RECORD_AGE_SECONDS,
            on_failure_queue: dead_letter_queue,
        },
    })
}

/// The consumer's stream access: the read actions the mapping uses, on this stream only.
pub fn consumer_statements() -> Vec<Statement> {
    vec![Statement {
        sid: "ReadTelemetryStream".into(),
        actions: json!(CONSUMER_STREAM_ACTIONS).to_string(),
        resources: json!([stream_arn()]).to_string(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pipeline: &str, kms: &str) -> Config {
        let mut c = crate::config::blueprint_config("smart-home", "acme-home", "eu-west-1").unwrap();
        c.telemetry.pipeline = serde_json::from_value(json!(pipeline)).unwrap();
        c.security.kms = serde_json::from_value(json!(kms)).unwrap();
        c
    }

    #[test]
    fn direct_has_no_stream_and_batched_encrypts_it_with_the_chosen_key() {
        let n = Names::new("acme-home");
        assert!(telemetry_stream(&cfg("direct", "aws-managed"), &n, "DeadLetterQueue").is_none());
        let s = telemetry_stream(&cfg("batched", "aws-managed"), &n, "DeadLetterQueue").unwrap();
        assert_eq!((s.name.as_str(), s.shards, s.retention_hours), ("rm-acme-home-telemetry", 1, 24));
        assert_eq!(s.key, "\"alias/aws/kinesis\"");
        assert_eq!(s.rule_role_statements.len(), 1);
        let s = telemetry_stream(&cfg("batched", "customer-managed"), &n, "DeadLetterQueue").unwrap();
        assert!(s.key.contains("TenantKey"));
        assert!(s.rule_role_statements[1].actions.contains("kms:GenerateDataKey"));
        assert_eq!((s.mapping.batch_size, s.mapping.batching_window_seconds), (BATCH_SIZE, 10));
    }

    #[test]
    fn packed_takes_full_batches_and_the_configured_window() {
        let n = Names::new("acme-home");
        let mut c = cfg("packed", "aws-managed");
        let s = telemetry_stream(&c, &n, "DeadLetterQueue").unwrap();
        assert_eq!((s.mapping.batch_size, s.mapping.batching_window_seconds), (10_000, 60));
        c.telemetry.batch_window_seconds = Some(120);
        c.telemetry.stream_shards = 4;
        let s = telemetry_stream(&c, &n, "DeadLetterQueue").unwrap();
        assert_eq!((s.mapping.batching_window_seconds, s.shards), (120, 4));
        let mut b = cfg("batched", "aws-managed");
        b.telemetry.batch_window_seconds = Some(30);
        assert_eq!(telemetry_stream(&b, &n, "DeadLetterQueue").unwrap().mapping.batching_window_seconds, 30);
    }
}
