//! The packed layout of the telemetry table (`telemetry.pipeline: packed`, issue 13): the readings of many nodes
//! in one item, compressed, so that a device reporting every 15 minutes costs a fraction of a write unit per
//! message instead of one.
//!
//! - **Key**: `node_id` = [`partition_key`]`(`[`bucket_of`]`(node))` — `#packed-NNN`, never a thing name (`#` is
//!   not allowed in one) — and `ts` = [`item_ts`]: the oldest `received_at` of the item's readings in milliseconds
//!   × 1,000 plus an attempt counter (0..999) that a writer bumps when another item already holds that key.
//! - **Attributes**: `packed` (binary: [`encode`]), `count` (readings in it), `received_at` (the newest),
//!   `expires_at` (TTL), `batch` (`<shard id>/<sequence number of the batch's first record>`, provenance).
//! - **An item's readings** span at most [`MAX_ITEM_SPAN_MS`] of `received_at` (a writer cuts a longer run into
//!   several items) and at most [`MAX_ITEM_READINGS`] readings / [`MAX_PACKED_BYTES`] compressed bytes, so a reader
//!   of the node's readings received in `[from, to)` queries the bucket's `ts` in [`query_range`] and keeps the
//!   node's readings inside the range ([`select`]).
//!
//! Inside `packed`: a header line `{"b": base}` (the oldest `received_at`), then one JSON object per reading,
//! `{"n": node_id, "t": ts − received_at, "r": received_at − base, "m": msg_id?, "p": params}`, sorted by node id,
//! then `received_at`, then `ts`, deflated (RFC 1951, best level). A retried batch can store a reading twice
//! (in two items); readers drop repeats of a node's `ts` ([`crate::telemetry::layout::dedup_by_ts`]).

use crate::telemetry::layout::StoredReading;
use serde_json::{Map, Value};
use std::io::{Read, Write};

/// Bits of a node's bucket: the high bits of the hash key Kinesis gives the node's records ([`bucket_of`]).
pub const BUCKET_BITS: u32 = 9;
/// Buckets the fleet's nodes are spread over (512). Fixed for the life of a table: a node's bucket never changes, so
/// readers and erasers find every item that can hold its readings.
pub const BUCKETS: u32 = 1 << BUCKET_BITS;
/// Longest run of `received_at` (ms) in one item.
pub const MAX_ITEM_SPAN_MS: i64 = 5 * 60 * 1000;
/// Most readings in one item.
pub const MAX_ITEM_READINGS: usize = 5_000;
/// Most compressed bytes in one item's `packed` (DynamoDB's item limit is 400 KB).
pub const MAX_PACKED_BYTES: usize = 256 * 1024;
/// Prefix of a bucket's partition key.
pub const PARTITION_PREFIX: &str = "#packed-";
/// The item's attribute holding its readings ([`encode`]; binary).
pub const ATTR_PACKED: &str = "packed";
/// The item's attribute counting its readings (number).
pub const ATTR_COUNT: &str = "count";

/// One reading with its node, as a packed item holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedReading {
    pub node_id: String,
    pub ts: i64,
    pub received_at: i64,
    pub msg_id: Option<String>,
    pub params: Map<String, Value>,
}

impl PackedReading {
    /// The reading as the other layouts' readers see it.
    pub fn stored(&self) -> StoredReading {
        StoredReading {
            ts: self.ts,
            received_at: Some(self.received_at),
            msg_id: self.msg_id.clone(),
            params: self.params.clone(),
        }
    }
}

/// Why a `packed` attribute cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PackedError {
    #[error("packed telemetry could not be compressed: {0}")]
    Deflate(std::io::Error),
    #[error("packed telemetry is not valid deflate data: {0}")]
    Inflate(std::io::Error),
    #[error("packed telemetry line {line}: {why}")]
    Line { line: usize, why: String },
}

/// The bucket of a node: the top [`BUCKET_BITS`] bits of the MD5 digest of its id. The telemetry rule's Kinesis
/// action puts a node's records with the node id as partition key, and Kinesis maps a partition key to a shard by the
/// same digest read as a 128-bit integer (the hash key; each shard owns a contiguous range of it), so one shard
/// carries the nodes of a contiguous run of buckets ([`shard_buckets`]) and one batch fills few, large items.
/// Stable across versions and platforms.
pub fn bucket_of(node_id: &str) -> u32 {
    use md5::{Digest, Md5};
    let d = Md5::digest(node_id.as_bytes());
    (u32::from(d[0]) << 8 | u32::from(d[1])) >> (16 - BUCKET_BITS)
}

/// The buckets whose nodes a shard owning the hash keys `[start, end]` (inclusive, as `ListShards` gives them)
/// receives: the first and the last bucket its range touches.
pub fn shard_buckets(start: u128, end: u128) -> (u32, u32) {
    let shift = 128 - BUCKET_BITS;
    ((start >> shift) as u32, (end >> shift) as u32)
}

/// The partition key of a bucket's items: `#packed-007`.
pub fn partition_key(bucket: u32) -> String {
    format!("{PARTITION_PREFIX}{bucket:03}")
}

/// Whether a telemetry item's partition key is a packed bucket's (not a node's).
pub fn is_packed_partition(node_id: &str) -> bool {
    node_id.starts_with(PARTITION_PREFIX)
}

/// An item's sort key: its oldest `received_at` (ms) × 1,000 + `attempt` (0..999).
pub fn item_ts(oldest_received_at: i64, attempt: u32) -> i64 {
    oldest_received_at * 1000 + i64::from(attempt.min(999))
}

/// The `ts` range (inclusive) of a bucket's items that can hold readings received in `[from, to)` (ms).
pub fn query_range(from: i64, to: i64) -> (i64, i64) {
    ((from - MAX_ITEM_SPAN_MS) * 1000, to * 1000 - 1)
}

/// The readings of `node_id` received in `[from, to)` among `readings` (one item's, or several), in the order
/// given.
pub fn select<'a>(
    readings: &'a [PackedReading],
    node_id: &'a str,
    from: i64,
    to: i64,
) -> impl Iterator<Item = &'a PackedReading> + 'a {
    readings.iter().filter(move |r| r.node_id == node_id && r.received_at >= from && r.received_at < to)
}

/// The `packed` attribute of readings: a header line `{"b": base}` (base = the oldest `received_at`), then one
/// line per reading sorted (node id, received_at, ts) with its times relative — `r` = received_at − base, `t` = ts −
/// received_at (both small, where two absolute 13-digit values cost ~9 B deflated) — deflated at the best level.
/// Nothing at all for no readings.
pub fn encode(readings: &[PackedReading]) -> Result<Vec<u8>, PackedError> {
    let mut sorted: Vec<&PackedReading> = readings.iter().collect();
    sorted.sort_by(|a, b| (&a.node_id, a.received_at, a.ts).cmp(&(&b.node_id, b.received_at, b.ts)));
    let mut text = Vec::with_capacity(sorted.len() * 120 + 24);
    if let Some(base) = readings.iter().map(|r| r.received_at).min() {
        serde_json::to_writer(&mut text, &Header { b: base }).map_err(|e| PackedError::Deflate(e.into()))?;
        text.push(b'\n');
        // The JSON lines are built in memory and deflated with one write (~5x less CPU than writing token by token).
        for r in sorted {
            let line = Line {
                n: &r.node_id,
                t: r.ts - r.received_at,
                r: r.received_at - base,
                m: r.msg_id.as_deref(),
                p: &r.params,
            };
            serde_json::to_writer(&mut text, &line).map_err(|e| PackedError::Deflate(e.into()))?;
            text.push(b'\n');
        }
    }
    let mut z = flate2::write::DeflateEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::best());
    z.write_all(&text).map_err(PackedError::Deflate)?;
    z.finish().map_err(PackedError::Deflate)
}

#[derive(serde::Serialize)]
struct Header {
    b: i64,
}

/// One reading's line of `packed`, keys in this order (`n`, `t`, `r`, `m`?, `p`).
#[derive(serde::Serialize)]
struct Line<'a> {
    n: &'a str,
    t: i64,
    r: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<&'a str>,
    p: &'a Map<String, Value>,
}

/// The readings of a `packed` attribute, in stored order.
pub fn decode(packed: &[u8]) -> Result<Vec<PackedReading>, PackedError> {
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(packed).read_to_string(&mut text).map_err(PackedError::Inflate)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.is_empty());
    let Some((_, header)) = lines.next() else { return Ok(Vec::new()) };
    let bad = |line: usize, why: &str| PackedError::Line { line, why: why.to_string() };
    let header: Map<String, Value> = serde_json::from_str(header).map_err(|e| bad(1, &e.to_string()))?;
    let base = header.get("b").and_then(Value::as_i64).ok_or_else(|| bad(1, "no integer base `b` in the header"))?;
    lines
        .map(|(i, l)| {
            let bad = |why: &str| bad(i + 1, why);
            let v: Map<String, Value> = serde_json::from_str(l).map_err(|e| bad(&e.to_string()))?;
            let received_at = base + v.get("r").and_then(Value::as_i64).ok_or_else(|| bad("no integer `r`"))?;
            Ok(PackedReading {
                node_id: v.get("n").and_then(Value::as_str).ok_or_else(|| bad("no node id `n`"))?.to_string(),
                ts: received_at + v.get("t").and_then(Value::as_i64).ok_or_else(|| bad("no integer `t`"))?,
                received_at,
                msg_id: v.get("m").and_then(Value::as_str).map(str::to_string),
                params: v.get("p").and_then(Value::as_object).cloned().ok_or_else(|| bad("no object `p`"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(node: &str, ts: i64, received_at: i64) -> PackedReading {
        let params = json!({"Power": true, "Brightness": ts % 100}).as_object().cloned().unwrap();
        PackedReading { node_id: node.into(), ts, received_at, msg_id: None, params }
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        // Pinned values (the digests from an independent MD5: Python's hashlib): a change of the hash would strand
        // every stored item; each is the digest's top 9 bits, the high bits of the hash key Kinesis computes.
        let pinned = [
            ("", "d41d8cd98f00b204e9800998ecf8427e", 424),
            ("SN-000001", "16b7df1d812374d4d7cd917dbdbd5ace", 45),
            ("SN-000002", "76b511ccae44b3b7099d2db1b9b2e453", 237),
            ("x", "9dd4e461268c8034f5c8564e155c67a6", 315),
        ];
        for (id, digest, bucket) in pinned {
            let key = u128::from_str_radix(digest, 16).unwrap();
            assert_eq!(((key >> (128 - BUCKET_BITS)) as u32, bucket_of(id)), (bucket, bucket), "{id:?}");
        }
        // one shard of four owns hash keys [2^126, 2^127 - 1]: buckets 128..=255
        assert_eq!(shard_buckets(1 << 126, (1 << 127) - 1), (128, 255));
        assert_eq!(shard_buckets(0, u128::MAX), (0, BUCKETS - 1));
        assert_eq!(partition_key(7), "#packed-007");
        assert!(is_packed_partition(&partition_key(bucket_of("x"))) && !is_packed_partition("SN-1"));
        let mut counts = vec![0u32; BUCKETS as usize];
        for i in 0..51_200 {
            counts[bucket_of(&format!("SN-{i:06}")) as usize] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*min > 50 && *max < 150, "uneven buckets: {min}..{max}");
    }

    #[test]
    fn encode_then_decode_gives_the_readings_sorted() {
        let mut with_id = r("b", 2, 20);
        with_id.msg_id = Some("m-1".into());
        let got = decode(&encode(&[r("c", 1, 10), with_id.clone(), r("a", 3, 30), r("b", 1, 10)]).unwrap()).unwrap();
        let order: Vec<(&str, i64)> = got.iter().map(|x| (x.node_id.as_str(), x.ts)).collect();
        assert_eq!(order, vec![("a", 3), ("b", 1), ("b", 2), ("c", 1)]);
        assert_eq!(got[2], with_id);
        assert!(decode(&encode(&[]).unwrap()).unwrap().is_empty());
    }

    #[test]
    fn lines_carry_times_relative_to_the_item_s_oldest_received_at() {
        let mut text = String::new();
        let bytes =
            encode(&[r("a", 1_700_000_000_500, 1_700_000_001_000), r("a", 1_700_000_000_900, 1_700_000_000_950)]);
        flate2::read::DeflateDecoder::new(bytes.unwrap().as_slice()).read_to_string(&mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"b":1700000000950}"#);
        assert!(lines[1].starts_with(r#"{"n":"a","t":-50,"r":0,"p":"#), "{}", lines[1]);
        assert!(lines[2].starts_with(r#"{"n":"a","t":-500,"r":50,"p":"#), "{}", lines[2]);
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(matches!(decode(b"not deflate"), Err(PackedError::Inflate(_))));
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"{\"b\":10}\n{\"n\":\"a\",\"t\":1,\"r\":2,\"p\":{}}\n{\"n\":\"a\",\"r\":3}\n").unwrap();
        let err = decode(&z.finish().unwrap()).unwrap_err().to_string();
        assert_eq!(err, "packed telemetry line 3: no integer `t`");
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"{\"n\":\"a\"}\n").unwrap();
        let err = decode(&z.finish().unwrap()).unwrap_err().to_string();
        assert_eq!(err, "packed telemetry line 1: no integer base `b` in the header");
    }

    #[test]
    fn a_node_s_readings_in_a_range_are_selected_and_the_query_covers_them() {
        let all = [r("a", 1, 1_000), r("b", 2, 1_500), r("a", 3, 2_000), r("a", 4, 3_000)];
        let got: Vec<i64> = select(&all, "a", 1_000, 3_000).map(|x| x.ts).collect();
        assert_eq!(got, vec![1, 3], "start inclusive, end exclusive, other nodes never");
        // An item whose oldest reading is MAX_ITEM_SPAN_MS before `from` can hold a reading at `from`.
        let (lo, hi) = query_range(1_000_000, 2_000_000);
        assert_eq!(lo, item_ts(1_000_000 - MAX_ITEM_SPAN_MS, 0));
        assert!(hi >= item_ts(1_999_999, 999) && hi < item_ts(2_000_000, 0));
    }
}
