//! The two item layouts of the telemetry table, both keyed `(node_id, ts)`:
//!
//! - **per reading** (telemetry-ingest): `{node_id, ts, params, received_at, expires_at, msg_id?}`;
//! - **per node and batch** (telemetry-batch): `{node_id, ts = the group's oldest reading, readings: [{ts, params,
//!   received_at, msg_id?}, ...] (ts ascending), received_at = the newest of the group, expires_at, batch =
//!   "<shard id>/<sequence number of the group's first record>"}`: up to [`MAX_ITEM_READINGS`] readings of one
//!   node from one Kinesis batch in one item.
//!
//! Readers take both: [`readings_in`] lists the readings of an item of either layout. An item's top-level
//! `received_at` is the newest of its readings in both, so a node's last-seen time is one `Limit 1` query either
//! way. After a partial batch failure a retried batch may store a reading a second time in another item of the
//! same node (`telemetry-batch` never loses one, see its docs); readers that list readings drop repeats by `ts`
//! ([`dedup_by_ts`]).

use serde_json::{Map, Value};

/// telemetry-batch: the item layout it writes, `per-node` (`telemetry.pipeline: batched`) or `packed`
/// (`telemetry.pipeline: packed`, `crate::telemetry::packed`). Unset: `per-node`, what a batched backend deployed
/// before the variable existed writes.
pub const ENV_TELEMETRY_LAYOUT: &str = "TELEMETRY_LAYOUT";

/// The layout telemetry-batch writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One item per node of a batch (this module).
    #[default]
    PerNode,
    /// The readings of many nodes in one compressed item per bucket (`crate::telemetry::packed`).
    Packed,
}

impl Layout {
    /// The value of [`ENV_TELEMETRY_LAYOUT`] for this layout.
    pub const fn as_env(self) -> &'static str {
        match self {
            Layout::PerNode => "per-node",
            Layout::Packed => "packed",
        }
    }

    /// The layout named by [`ENV_TELEMETRY_LAYOUT`] through `lookup`; unset or empty is `per-node`, anything else
    /// but the two names is an error naming the variable and the valid values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, crate::ModelError> {
        match lookup(ENV_TELEMETRY_LAYOUT).as_deref().map(str::trim) {
            None | Some("") => Ok(Layout::PerNode),
            Some(v) if v == Layout::PerNode.as_env() => Ok(Layout::PerNode),
            Some(v) if v == Layout::Packed.as_env() => Ok(Layout::Packed),
            Some(v) => Err(crate::ModelError::InvalidEnv {
                name: ENV_TELEMETRY_LAYOUT,
                reason: format!("{v:?} is not a telemetry layout: use `per-node` or `packed`"),
            }),
        }
    }
}

/// Most readings in one item of the batched layout.
pub const MAX_ITEM_READINGS: usize = 100;
/// Most bytes of readings (their compact JSON) in one item of the batched layout: well under DynamoDB's 400 KB,
/// and what one `Limit 1` read of the newest item costs at most (4 KB per read unit).
pub const MAX_ITEM_READING_BYTES: usize = 16 * 1024;

/// One reading as a reader sees it, from either layout.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading {
    pub ts: i64,
    pub received_at: Option<i64>,
    pub msg_id: Option<String>,
    pub params: Map<String, Value>,
}

/// The readings of one telemetry item (as JSON: `rainmaker_model::ddb` turns DynamoDB items into it), per-reading
/// layout or batched; items without readings give none.
pub fn readings_in(item: &Map<String, Value>) -> Vec<StoredReading> {
    let one = |m: &Map<String, Value>, received_default: Option<i64>| -> Option<StoredReading> {
        Some(StoredReading {
            ts: m.get(crate::attr::TS)?.as_i64()?,
            received_at: m.get(crate::attr::RECEIVED_AT).and_then(Value::as_i64).or(received_default),
            msg_id: m.get(crate::attr::MSG_ID).and_then(Value::as_str).map(str::to_string),
            params: m.get(crate::attr::PARAMS)?.as_object()?.clone(),
        })
    };
    match item.get(crate::attr::READINGS) {
        Some(Value::Array(list)) => list.iter().filter_map(|r| r.as_object().and_then(|m| one(m, None))).collect(),
        _ => one(item, None).into_iter().collect(),
    }
}

/// `readings` sorted by `ts` with repeats of a `ts` dropped (the first kept).
pub fn dedup_by_ts(mut readings: Vec<StoredReading>) -> Vec<StoredReading> {
    readings.sort_by_key(|r| r.ts);
    readings.dedup_by_key(|r| r.ts);
    readings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn both_layouts_give_their_readings() {
        let direct = obj(json!({"node_id": "n", "ts": 5, "params": {"a": 1}, "received_at": 9, "expires_at": 1}));
        assert_eq!(
            readings_in(&direct),
            vec![StoredReading { ts: 5, received_at: Some(9), msg_id: None, params: obj(json!({"a": 1})) }]
        );
        let batched = obj(json!({"node_id": "n", "ts": 1, "received_at": 9, "batch": "shardId-0/1", "readings": [
            {"ts": 1, "params": {"a": 1}, "received_at": 8, "msg_id": "m1"}, {"ts": 2, "params": {"a": 2}, "received_at": 9}]}));
        let got = readings_in(&batched);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].ts, got[0].msg_id.as_deref(), got[1].received_at), (1, Some("m1"), Some(9)));
        assert!(readings_in(&obj(json!({"node_id": "n"}))).is_empty());
    }

    #[test]
    fn the_layout_setting_is_read_and_checked() {
        let env = |v: Option<&'static str>| {
            move |k: &str| (k == ENV_TELEMETRY_LAYOUT).then_some(v).flatten().map(String::from)
        };
        assert_eq!(Layout::from_lookup(env(None)).unwrap(), Layout::PerNode);
        assert_eq!(Layout::from_lookup(env(Some("per-node"))).unwrap(), Layout::PerNode);
        assert_eq!(Layout::from_lookup(env(Some(" packed "))).unwrap(), Layout::Packed);
        let err = Layout::from_lookup(env(Some("Packed"))).unwrap_err().to_string();
        assert!(err.contains("TELEMETRY_LAYOUT") && err.contains("`per-node` or `packed`"), "{err}");
    }

    #[test]
    fn repeats_are_dropped_by_ts() {
        let r = |ts, a| StoredReading { ts, received_at: None, msg_id: None, params: obj(json!({ "a": a })) };
        let got = dedup_by_ts(vec![r(3, 1), r(1, 1), r(3, 2), r(2, 1)]);
        assert_eq!(got.iter().map(|r| r.ts).collect::<Vec<_>>(), vec![1, 2, 3]);
    }
}
