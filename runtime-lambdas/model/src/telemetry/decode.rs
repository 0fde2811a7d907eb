//! Validation and decoding of one rule event into readings (pure: no AWS calls).
//!
//! The rule (`contract::SQL_TELEMETRY`) selects the payload's `ts`, `msg_id`, `params` and `readings` and adds
//! `node_id` (from the topic), `received_at` and `principal`; any other top-level field means the event did not
//! come from that rule and it is refused ([`Reject::NotARuleEvent`]). A payload is either one reading
//! `{"ts": ms?, "msg_id": str?, "params": {...}}` or a batch `{"readings": [{"ts": ms, "msg_id": str?, "params": {...}}, ...]}`.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The top level of a telemetry rule event, exactly the fields the rule produces (checked, then read as JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RuleEvent {
    ts: Option<Value>,
    msg_id: Option<Value>,
    params: Option<Value>,
    readings: Option<Value>,
    node_id: Option<Value>,
    received_at: Option<Value>,
    principal: Option<Value>,
}

/// Most readings in one batch message.
pub const MAX_BATCH: usize = 25;
/// Longest `node_id` (an IoT thing name) and `msg_id`.
const MAX_ID_LEN: usize = 128;
/// A `ts` before 2020-01-01 means the device clock is not set.
const MIN_TS_MS: i64 = 1_577_836_800_000;
/// Tolerated device clock skew into the future.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why a message is rejected (the whole message: a batch with one bad reading is rejected entirely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("payload is {size} bytes, more than MAX_PAYLOAD_BYTES={max}")]
    TooLarge { size: usize, max: usize },
    #[error("payload is not a JSON object")]
    NotAnObject,
    #[error("not a telemetry rule event: {0}")]
    NotARuleEvent(String),
    #[error("node_id (from the topic) is missing or not a valid thing name")]
    BadNodeId,
    #[error("payload has neither `params` nor `readings`")]
    NoReadings,
    #[error("payload has both `params` and `readings`")]
    Ambiguous,
    #[error("`readings` must be an array of 1..={MAX_BATCH} objects")]
    BadBatch,
    #[error("reading {0}: `params` must be a non-empty object")]
    BadParams(usize),
    #[error("reading {0}: `ts` must be an integer of milliseconds since the epoch, after 2020 and not in the future")]
    BadTs(usize),
    #[error("reading {0}: `ts` is required in a batch")]
    MissingTs(usize),
    #[error("reading {0}: `ts` repeats an earlier reading of the batch")]
    DuplicateTs(usize),
    #[error("reading {0}: `msg_id` must be a string of 1..={MAX_ID_LEN} characters")]
    BadMsgId(usize),
}

/// One reading, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub ts: i64,
    pub msg_id: Option<String>,
    pub params: Map<String, Value>,
}

/// A valid message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub node_id: String,
    pub received_at: i64,
    pub readings: Vec<Reading>,
}

/// Validate a rule event of `size` bytes (its compact JSON length). `now_ms` stands in for a missing `received_at`.
pub fn decode(event: Value, size: usize, max_bytes: usize, now_ms: i64) -> Result<Message, Reject> {
    if size > max_bytes {
        return Err(Reject::TooLarge { size, max: max_bytes });
    }
    if !event.is_object() {
        return Err(Reject::NotAnObject);
    }
    if let Err(e) = RuleEvent::deserialize(&event) {
        return Err(Reject::NotARuleEvent(crate::redact::parse_error(&e.to_string())));
    }
    let Value::Object(mut obj) = event else { return Err(Reject::NotAnObject) };
    let node_id = match obj.remove("node_id") {
        Some(Value::String(s)) if is_thing_name(&s) => s,
        _ => return Err(Reject::BadNodeId),
    };
    let received_at = obj.get("received_at").and_then(Value::as_i64).filter(|t| *t > 0).unwrap_or(now_ms);
    let readings = match (obj.contains_key("params"), obj.remove("readings")) {
        (true, Some(_)) => return Err(Reject::Ambiguous),
        (true, None) => vec![reading(0, obj, received_at, false)?],
        (false, Some(Value::Array(items))) if (1..=MAX_BATCH).contains(&items.len()) => batch(items, received_at)?,
        (false, Some(_)) => return Err(Reject::BadBatch),
        (false, None) => return Err(Reject::NoReadings),
    };
    Ok(Message { node_id, received_at, readings })
}

fn batch(items: Vec<Value>, received_at: i64) -> Result<Vec<Reading>, Reject> {
    let mut out: Vec<Reading> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(obj) = item else { return Err(Reject::BadBatch) };
        let r = reading(i, obj, received_at, true)?;
        if out.iter().any(|o| o.ts == r.ts) {
            return Err(Reject::DuplicateTs(i));
        }
        out.push(r);
    }
    Ok(out)
}

fn reading(i: usize, mut obj: Map<String, Value>, received_at: i64, ts_required: bool) -> Result<Reading, Reject> {
    let ts = match obj.get("ts") {
        None | Some(Value::Null) if ts_required => return Err(Reject::MissingTs(i)),
        None | Some(Value::Null) => received_at,
        Some(v) => {
            v.as_i64().filter(|t| *t >= MIN_TS_MS && *t <= received_at + MAX_FUTURE_SKEW_MS).ok_or(Reject::BadTs(i))?
        }
    };
    let msg_id = match obj.remove("msg_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_ID_LEN => Some(s),
        Some(_) => return Err(Reject::BadMsgId(i)),
    };
    let params = match obj.remove("params") {
        Some(Value::Object(p)) if !p.is_empty() => p,
        _ => return Err(Reject::BadParams(i)),
    };
    Ok(Reading { ts, msg_id, params })
}

/// A thing name: 1..=128 of `[a-zA-Z0-9:_-]`.
pub fn is_thing_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_:-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000;

    fn dec(v: Value) -> Result<Message, Reject> {
        let size = v.to_string().len();
        decode(v, size, 8192, NOW)
    }

    #[test]
    fn single_reading_defaults_ts_to_received_at() {
        let m = dec(json!({"params": {"temp": 21.5}, "node_id": "SN-1", "received_at": NOW - 5})).unwrap();
        assert_eq!(m.node_id, "SN-1");
        assert_eq!(
            m.readings,
            vec![Reading { ts: NOW - 5, msg_id: None, params: json!({"temp": 21.5}).as_object().unwrap().clone() }]
        );
    }

    #[test]
    fn batch_needs_distinct_timestamps() {
        let ok = json!({"node_id": "n", "received_at": NOW, "readings": [
            {"ts": NOW - 2000, "params": {"a": 1}}, {"ts": NOW - 1000, "msg_id": "m2", "params": {"a": 2}}]});
        assert_eq!(dec(ok).unwrap().readings.len(), 2);
        let dup =
            json!({"node_id": "n", "readings": [{"ts": NOW, "params": {"a": 1}}, {"ts": NOW, "params": {"a": 2}}]});
        assert_eq!(dec(dup), Err(Reject::DuplicateTs(1)));
        let no_ts = json!({"node_id": "n", "readings": [{"params": {"a": 1}}]});
        assert_eq!(dec(no_ts), Err(Reject::MissingTs(0)));
    }

    #[test]
    fn rejects_each_kind_of_bad_payload() {
        let p = json!({"a": 1});
        let cases = [
            (json!([1]), Reject::NotAnObject),
            (json!({"params": p}), Reject::BadNodeId),
            (json!({"node_id": "a/b", "params": p}), Reject::BadNodeId),
            (json!({"node_id": "n"}), Reject::NoReadings),
            (json!({"node_id": "n", "params": p, "readings": []}), Reject::Ambiguous),
            (json!({"node_id": "n", "readings": []}), Reject::BadBatch),
            (json!({"node_id": "n", "readings": [1]}), Reject::BadBatch),
            (json!({"node_id": "n", "params": {}}), Reject::BadParams(0)),
            (json!({"node_id": "n", "params": [1]}), Reject::BadParams(0)),
            (json!({"node_id": "n", "params": p, "ts": "soon"}), Reject::BadTs(0)),
            (json!({"node_id": "n", "params": p, "ts": 12}), Reject::BadTs(0)),
            (json!({"node_id": "n", "params": p, "ts": NOW + 3_600_000}), Reject::BadTs(0)),
            (json!({"node_id": "n", "params": p, "msg_id": 7}), Reject::BadMsgId(0)),
            (
                json!({"node_id": "n", "params": p, "httpMethod": "POST"}),
                Reject::NotARuleEvent(
                    "unknown field `…`, expected one of `ts`, `msg_id`, `params`, \
                    `readings`, `node_id`, `received_at`, `principal`"
                        .into(),
                ),
            ),
        ];
        for (v, want) in cases {
            assert_eq!(dec(v.clone()), Err(want), "{v}");
        }
        let batch: Vec<Value> = (0..=MAX_BATCH as i64).map(|i| json!({"ts": NOW - i, "params": p})).collect();
        assert_eq!(dec(json!({"node_id": "n", "readings": batch})), Err(Reject::BadBatch));
    }

    #[test]
    fn size_limit_is_checked_first() {
        assert_eq!(decode(json!("x"), 9000, 8192, NOW), Err(Reject::TooLarge { size: 9000, max: 8192 }));
    }
}
