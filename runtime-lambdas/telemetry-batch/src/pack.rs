//! From the decoded readings of one Kinesis batch to the items of the packed layout
//! (`rainmaker_model::telemetry::packed`), and what to do when an item's key is taken (pure: no AWS calls).
//!
//! The readings of all nodes are grouped by bucket ([`packed::bucket_of`]), each bucket's sorted by
//! `received_at` (then node id, then `ts`) and cut into items that span at most [`packed::MAX_ITEM_SPAN_MS`] of
//! `received_at` and hold at most [`packed::MAX_ITEM_READINGS`] readings; an item whose compressed `packed` is
//! still over [`packed::MAX_PACKED_BYTES`] is halved until it fits. Every item is keyed
//! `(#packed-NNN, oldest received_at × 1000 + attempt)` and carries `batch` = `<shard>/<the batch's first
//! sequence number>`, the same for every item of the batch.
//!
//! A put finds its key taken ([`on_collision`]): by the same batch with the same `packed` (a redelivery: nothing to
//! write, its readings are duplicates), or by another batch whose oldest reading fell in the same millisecond
//! (the next attempt, up to 999).

use crate::group::{seq_cmp, Entry};
use rainmaker_model::telemetry::packed::{
    self, bucket_of, item_ts, PackedError, PackedReading, MAX_ITEM_READINGS, MAX_ITEM_SPAN_MS, MAX_PACKED_BYTES,
};
use std::collections::BTreeMap;

/// The highest attempt an item's `ts` can carry (`packed::item_ts`).
pub const MAX_ATTEMPT: u32 = 999;

/// One item of the packed layout to put.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedItem {
    pub bucket: u32,
    /// Its readings, ascending by (received_at, node id, ts).
    pub readings: Vec<PackedReading>,
    /// The deflated JSON lines ([`packed::encode`]).
    pub packed: Vec<u8>,
    /// The lowest sequence number of the records its readings came from (what a failed put reports).
    pub lowest_sequence: String,
}

impl PackedItem {
    /// The partition key: `#packed-NNN`.
    pub fn partition_key(&self) -> String {
        packed::partition_key(self.bucket)
    }
    /// The oldest `received_at` of its readings (its key's time).
    pub fn oldest(&self) -> i64 {
        self.readings.iter().map(|r| r.received_at).min().unwrap_or(0)
    }
    /// The newest `received_at` of its readings (its `received_at` attribute, and the base of `expires_at`).
    pub fn newest(&self) -> i64 {
        self.readings.iter().map(|r| r.received_at).max().unwrap_or(0)
    }
    /// The sort key at `attempt`.
    pub fn ts(&self, attempt: u32) -> i64 {
        item_ts(self.oldest(), attempt)
    }
}

/// Cut the readings of a batch (`per_node`: node id and its readings) into packed items, by bucket ascending, each
/// bucket's items by time.
pub fn pack(per_node: Vec<(String, Vec<Entry>)>) -> Result<Vec<PackedItem>, PackedError> {
    let mut buckets: BTreeMap<u32, Vec<(PackedReading, String)>> = BTreeMap::new();
    for (node_id, entries) in per_node {
        let bucket = buckets.entry(bucket_of(&node_id)).or_default();
        for e in entries {
            let reading = PackedReading {
                node_id: node_id.clone(),
                ts: e.ts,
                received_at: e.received_at,
                msg_id: e.msg_id,
                params: e.params,
            };
            bucket.push((reading, e.sequence));
        }
    }
    let mut out = Vec::new();
    for (bucket, mut readings) in buckets {
        readings.sort_by(|(a, _), (b, _)| (a.received_at, &a.node_id, a.ts).cmp(&(b.received_at, &b.node_id, b.ts)));
        let mut run: Vec<PackedReading> = Vec::new();
        let mut sequences: Vec<String> = Vec::new();
        for (r, seq) in readings {
            let starts_new = run.first().is_some_and(|first| {
                run.len() == MAX_ITEM_READINGS || r.received_at - first.received_at > MAX_ITEM_SPAN_MS
            });
            if starts_new {
                fit(bucket, std::mem::take(&mut run), std::mem::take(&mut sequences), MAX_PACKED_BYTES, &mut out)?;
            }
            run.push(r);
            sequences.push(seq);
        }
        if !run.is_empty() {
            fit(bucket, run, sequences, MAX_PACKED_BYTES, &mut out)?;
        }
    }
    Ok(out)
}

/// Encode `readings` (with their records' `sequences`, index for index) as one item, or, when its `packed` is
/// over `max_bytes`, its two halves (recursively; one reading is always one item: a payload is far below the
/// limit).
fn fit(
    bucket: u32,
    mut readings: Vec<PackedReading>,
    mut sequences: Vec<String>,
    max_bytes: usize,
    out: &mut Vec<PackedItem>,
) -> Result<(), PackedError> {
    let bytes = packed::encode(&readings)?;
    if bytes.len() > max_bytes && readings.len() > 1 {
        let half = readings.len() / 2;
        let (second, second_seq) = (readings.split_off(half), sequences.split_off(half));
        fit(bucket, readings, sequences, max_bytes, out)?;
        return fit(bucket, second, second_seq, max_bytes, out);
    }
    let lowest_sequence =
        sequences.iter().map(String::as_str).min_by(|a, b| seq_cmp(a, b)).unwrap_or_default().to_string();
    out.push(PackedItem { bucket, readings, packed: bytes, lowest_sequence });
    Ok(())
}

/// What a put whose key was taken does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    /// The item there is this one from this batch (a redelivery): its readings are stored.
    Redelivery,
    /// Another item holds the key: put again with this attempt.
    Retry(u32),
    /// Every attempt of the millisecond is taken: the put fails (its records are retried).
    Exhausted,
}

/// Decide on a taken key: `attempt` is the one just tried; `old_batch` / `old_packed` are the item there
/// (`ALL_OLD`), `None` where it lacks the attribute (an item of another layout, or damaged).
pub fn on_collision(
    attempt: u32,
    batch: &str,
    item: &PackedItem,
    old_batch: Option<&str>,
    old_packed: Option<&[u8]>,
) -> Collision {
    if old_batch == Some(batch) && old_packed == Some(item.packed.as_slice()) {
        Collision::Redelivery
    } else if attempt >= MAX_ATTEMPT {
        Collision::Exhausted
    } else {
        Collision::Retry(attempt + 1)
    }
}

#[cfg(test)]
#[path = "pack_tests.rs"]
mod tests;
