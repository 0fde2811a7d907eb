//! AWS::Kinesis::Stream (provisioned mode): shard-hours, the fixed cost of the batched telemetry pipeline, and PUT
//! payload units, one per started 25 KB of a record (<https://aws.amazon.com/kinesis/data-streams/pricing/>).
//! Reading the stream (Lambda's event source mapping, a standard iterator) is free; retention beyond 24 hours and
//! enhanced fan-out are not used by the template and not priced; an on-demand stream (`StreamMode: ON_DEMAND`, not
//! what the template renders) is priced as provisioned with a warning (`flow.rs`). The stream's records come from the telemetry
//! rule's Kinesis action (`flow.rs`); its shards from the template's `ShardCount`, or more when the modeled peak
//! needs them (`flow::stream_shards`, with a warning).

use super::{metered, Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::{Key, MONTH_HOURS};

pub struct KinesisStream;

/// Bytes of one PUT payload unit.
pub const PUT_PAYLOAD_UNIT_BYTES: f64 = 25.0 * 1024.0;

const KEYS: &[Key] = &[
    Key { name: "shards", default: 1.0, doc: "open shards (provisioned mode; default: the template's ShardCount)" },
    Key { name: "monthly_records", default: 0.0, doc: "records put a month (derived from the rules' Kinesis actions)" },
    Key { name: "record_bytes", default: 400.0, doc: "bytes of one record: data + partition key (25 KB units)" },
];

impl Priced for KinesisStream {
    fn type_name(&self) -> &'static str {
        "AWS::Kinesis::Stream"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let template_shards = r.prop(&["ShardCount"]).and_then(|v| v.as_f64()).unwrap_or(1.0);
        let shards = u.explicit("shards").or_else(|| u.derived("shards")).unwrap_or(template_shards).max(1.0);
        let units = u.get("monthly_records") * metered(u.get("record_bytes"), PUT_PAYLOAD_UNIT_BYTES);
        vec![
            Line::new(format!("Shard-hours ({shards} shards)"), "kinesis.shard_hours", shards * MONTH_HOURS),
            Line::new("PUT payload units (25 KB)", "kinesis.put_payload_units", units),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    /// Golden, from first principles: 2 shards × 730 h = 1,460 shard-hours (× $0.015 = $21.90 in us-east-1), and
    /// 1M records of 30 KB are 2 payload units each (25 KB units): 2M units (× $0.014/M = $0.028).
    #[test]
    fn shard_hours_and_25_kb_payload_units() {
        let s = resource(
            "S",
            "AWS::Kinesis::Stream",
            json!({"ShardCount": 2, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}),
        );
        let l = lines_of(&KinesisStream, &s, &[("monthly_records", 1e6), ("record_bytes", 30_000.0)]);
        assert_eq!(l[0], Line::new("Shard-hours (2 shards)", "kinesis.shard_hours", 1460.0));
        assert_eq!(l[1], Line::new("PUT payload units (25 KB)", "kinesis.put_payload_units", 2e6));
        // a small record is one unit; the flow's shard count replaces the template's
        let l = lines_of(&KinesisStream, &s, &[("monthly_records", 10.0), ("record_bytes", 400.0), ("shards", 5.0)]);
        assert_eq!(l[0].quantity, 5.0 * 730.0);
        assert_eq!(l[1].quantity, 10.0);
    }
}
