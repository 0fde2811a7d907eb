//! From the records of one Kinesis batch to the items to write (pure: no AWS calls).
//!
//! Each record's data is the telemetry rule's output (`contract::SQL_TELEMETRY`), decoded by the same code as the
//! direct pipeline's (`rainmaker_model::telemetry::decode`). The rule's Kinesis action puts it with partition key
//! `${topic(2)}`, the node id, so a record whose partition key is not the `node_id` it carries did not come from
//! the rule and is refused. The valid readings are grouped per node — in record order, a repeated `ts` of a node
//! keeps the first — sorted by `ts` and cut into items of at most [`MAX_ITEM_READINGS`] readings and
//! [`MAX_ITEM_READING_BYTES`] bytes.

use rainmaker_model::telemetry::layout::{MAX_ITEM_READINGS, MAX_ITEM_READING_BYTES};
use rainmaker_model::telemetry::{decode, Reject};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One Kinesis record, as the event carries it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// `kinesis.sequenceNumber`: what a batch item failure names.
    pub sequence: &'a str,
    pub partition_key: &'a str,
    /// `kinesis.data`, base64-decoded.
    pub data: &'a [u8],
}

/// Why a record is refused (logged with its sequence number, never with its content, and counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("record data is not JSON")]
    NotJson,
    #[error("{0}")]
    Invalid(Reject),
    #[error("partition key is not the record's node_id (not put by the telemetry rule)")]
    PartitionKey,
}

/// One reading with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub ts: i64,
    pub msg_id: Option<String>,
    pub params: Map<String, Value>,
    pub received_at: i64,
    /// The sequence number of its record.
    pub sequence: String,
}

/// One item to write: readings of one node, ascending `ts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub node_id: String,
    pub readings: Vec<Entry>,
}

impl Group {
    /// The item's sort key: its oldest reading.
    pub fn ts(&self) -> i64 {
        self.readings[0].ts
    }
    /// The newest `received_at` of its readings (the item's `received_at`).
    pub fn received_at(&self) -> i64 {
        self.readings.iter().map(|r| r.received_at).max().unwrap_or(0)
    }
    /// The lowest sequence number of its records (its `batch` provenance, and what a failure reports).
    pub fn first_sequence(&self) -> &str {
        self.readings.iter().map(|r| r.sequence.as_str()).min_by(|a, b| seq_cmp(a, b)).unwrap_or("")
    }
    /// The sequence numbers of its records, ascending, each once.
    pub fn sequences(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.readings.iter().map(|r| r.sequence.as_str()).collect();
        s.sort_by(|a, b| seq_cmp(a, b));
        s.dedup();
        s
    }
}

/// What a batch becomes.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub groups: Vec<Group>,
    /// Refused records: (sequence number, reason).
    pub refused: Vec<(String, Refusal)>,
    /// Readings dropped because an earlier record of the batch had the node's same `ts`.
    pub repeated: usize,
}

/// Kinesis sequence numbers are decimal integers of up to 128 digits: compare by length, then digits.
pub fn seq_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Bytes a reading adds to an item (its compact JSON plus the keys and numbers around it).
fn entry_bytes(e: &Entry) -> usize {
    serde_json::to_string(&e.params).map_or(MAX_ITEM_READING_BYTES, |s| s.len())
        + e.msg_id.as_ref().map_or(0, |m| m.len() + 10)
        + 48
}

/// The valid readings of one batch per node (nodes in the order of their first record, readings in record
/// order), with the refusals and the repeats dropped: what both layouts are cut from.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub per_node: Vec<(String, Vec<Entry>)>,
    /// Refused records: (sequence number, reason).
    pub refused: Vec<(String, Refusal)>,
    /// Readings dropped because an earlier record of the batch had the node's same `ts`.
    pub repeated: usize,
}

/// Decode, check and group the records of one batch into items of the batched layout. `max_bytes` is
/// `MAX_PAYLOAD_BYTES`; `now_ms` stands in for a missing `received_at`.
pub fn plan(records: &[Record<'_>], max_bytes: usize, now_ms: i64) -> Plan {
    let d = decode_batch(records, max_bytes, now_ms);
    let mut out = Plan { groups: Vec::new(), refused: d.refused, repeated: d.repeated };
    for (node_id, mut entries) in d.per_node {
        entries.sort_by_key(|e| e.ts);
        let mut current: Vec<Entry> = Vec::new();
        let mut bytes = 0;
        for e in entries {
            let b = entry_bytes(&e);
            if !current.is_empty() && (current.len() == MAX_ITEM_READINGS || bytes + b > MAX_ITEM_READING_BYTES) {
                out.groups.push(Group { node_id: node_id.clone(), readings: std::mem::take(&mut current) });
                bytes = 0;
            }
            bytes += b;
            current.push(e);
        }
        if !current.is_empty() {
            out.groups.push(Group { node_id, readings: current });
        }
    }
    out
}

/// Decode and check the records of one batch (see the module docs); no cutting into items.
pub fn decode_batch(records: &[Record<'_>], max_bytes: usize, now_ms: i64) -> Decoded {
    let mut out = Decoded::default();
    // node -> (its readings in record order, the ts seen)
    let mut per_node: Vec<(String, Vec<Entry>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<(usize, i64), ()> = HashMap::new();
    for r in records {
        let value: Value = match serde_json::from_slice(r.data) {
            Ok(v) => v,
            Err(_) => {
                out.refused.push((r.sequence.to_string(), Refusal::NotJson));
                continue;
            }
        };
        let msg = match decode(value, r.data.len(), max_bytes, now_ms) {
            Ok(m) => m,
            Err(reject) => {
                out.refused.push((r.sequence.to_string(), Refusal::Invalid(reject)));
                continue;
            }
        };
        if msg.node_id != r.partition_key {
            out.refused.push((r.sequence.to_string(), Refusal::PartitionKey));
            continue;
        }
        let at = *index.entry(msg.node_id.clone()).or_insert_with(|| {
            per_node.push((msg.node_id.clone(), Vec::new()));
            per_node.len() - 1
        });
        for reading in msg.readings {
            if seen.insert((at, reading.ts), ()).is_some() {
                out.repeated += 1;
                continue;
            }
            per_node[at].1.push(Entry {
                ts: reading.ts,
                msg_id: reading.msg_id,
                params: reading.params,
                received_at: msg.received_at,
                sequence: r.sequence.to_string(),
            });
        }
    }
    out.per_node = per_node;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000;

    fn data(node: &str, ts: i64) -> Vec<u8> {
        json!({"ts": ts, "params": {"t": 21.5}, "node_id": node, "received_at": NOW, "principal": "c"})
            .to_string()
            .into_bytes()
    }

    fn rec<'a>(seq: &'a str, key: &'a str, data: &'a [u8]) -> Record<'a> {
        Record { sequence: seq, partition_key: key, data }
    }

    #[test]
    fn readings_are_grouped_per_node_and_sorted() {
        let (a1, b1, a2) = (data("A", NOW - 10), data("B", NOW - 5), data("A", NOW - 20));
        let p = plan(&[rec("1", "A", &a1), rec("2", "B", &b1), rec("3", "A", &a2)], 8192, NOW);
        assert!(p.refused.is_empty());
        assert_eq!(p.groups.len(), 2);
        let a = &p.groups[0];
        assert_eq!((a.node_id.as_str(), a.ts(), a.readings.len()), ("A", NOW - 20, 2));
        assert_eq!(a.first_sequence(), "1");
        assert_eq!(a.sequences(), vec!["1", "3"]);
        assert_eq!(p.groups[1].node_id, "B");
    }

    #[test]
    fn a_foreign_partition_key_bad_data_and_bad_readings_are_refused() {
        let (ok, other) = (data("A", NOW - 1), data("B", NOW - 1));
        let bad = json!({"node_id": "A", "params": {}}).to_string().into_bytes();
        let p = plan(
            &[rec("1", "A", &ok), rec("2", "A", &other), rec("3", "A", b"\x00not json"), rec("4", "A", &bad)],
            8192,
            NOW,
        );
        assert_eq!(
            p.refused,
            vec![
                ("2".into(), Refusal::PartitionKey),
                ("3".into(), Refusal::NotJson),
                ("4".into(), Refusal::Invalid(Reject::BadParams(0)))
            ]
        );
        assert_eq!(p.groups.len(), 1);
        let big = plan(&[rec("1", "A", &ok)], 16, NOW);
        assert_eq!(big.refused[0].1, Refusal::Invalid(Reject::TooLarge { size: ok.len(), max: 16 }));
    }

    #[test]
    fn a_repeated_ts_of_a_node_keeps_the_first_record() {
        let (a, again, b) = (data("A", NOW - 1), data("A", NOW - 1), data("B", NOW - 1));
        let p = plan(&[rec("1", "A", &a), rec("2", "A", &again), rec("3", "B", &b)], 8192, NOW);
        assert_eq!(p.repeated, 1);
        assert_eq!(p.groups[0].readings.len(), 1);
        assert_eq!(p.groups[0].readings[0].sequence, "1");
    }

    #[test]
    fn items_are_cut_at_the_reading_and_byte_limits() {
        let many: Vec<Vec<u8>> = (0..(MAX_ITEM_READINGS as i64 + 5)).map(|i| data("A", NOW - 1000 + i)).collect();
        let seqs: Vec<String> = (0..many.len()).map(|i| format!("{}", 100 + i)).collect();
        let recs: Vec<Record> = many.iter().zip(&seqs).map(|(d, s)| rec(s, "A", d)).collect();
        let p = plan(&recs, 8192, NOW);
        assert_eq!(p.groups.iter().map(|g| g.readings.len()).collect::<Vec<_>>(), vec![MAX_ITEM_READINGS, 5]);
        assert!(p.groups[0].ts() < p.groups[1].ts());
        // big readings: the byte budget cuts first
        let params: Map<String, Value> = (0..40).map(|i| (format!("p{i:02}"), json!("x".repeat(150)))).collect();
        let big: Vec<Vec<u8>> = (0..6)
            .map(|i| {
                json!({"ts": NOW - 100 + i, "params": params, "node_id": "A", "received_at": NOW})
                    .to_string()
                    .into_bytes()
            })
            .collect();
        let recs: Vec<Record> = big.iter().zip(&seqs).map(|(d, s)| rec(s, "A", d)).collect();
        let p = plan(&recs, 16_384, NOW);
        assert!(p.groups.len() >= 2, "{}", p.groups.len());
        for g in &p.groups {
            assert!(g.readings.iter().map(entry_bytes).sum::<usize>() <= MAX_ITEM_READING_BYTES);
        }
    }

    #[test]
    fn sequence_numbers_compare_as_integers() {
        use std::cmp::Ordering::*;
        assert_eq!(seq_cmp("9", "10"), Less);
        assert_eq!(seq_cmp("49568167373333333334444", "49568167373333333333333"), Greater);
        assert_eq!(seq_cmp("5", "5"), Equal);
    }
}
