//! `GET /nodes/{id}/readings` in the flow: what one call reads and decodes, as `runtime-lambdas/api/src/readings.rs`
//! makes its two eventually consistent Queries (the two strong authorization GetItems are priced like every
//! declared read):
//! - the node's own partition, `ts` in `read_range::own_ts_bounds` (the range + 70 minutes: device lag, item span,
//!   clock skew): with `direct` the node's per-reading items, with `batched` its per-node items, with `packed` none.
//!   DynamoDB meters every item of the key condition; the `received_at` filter does not lower it;
//! - its bucket's packed items (`packed` only), `ts` in `packed::query_range` (the range + `MAX_ITEM_SPAN_MS`):
//!   every node's items of the bucket. Items a second in one bucket = the consumer's batches a month × items a
//!   batch / `MONTH_SECONDS` / `packed::BUCKETS`, from what `stream_flow` computed (`_batch_items`,
//!   `_batch_item_bytes`, `_batch_records`, the consumer's invocations).
//!
//! A Query's read units are ⌈sum of its items' bytes / 4 KB⌉ × ½ (eventual) per 1 MB page, at least ½ a request
//! (DynamoDB developer guide, "DynamoDB read and write operations": a Query's items are one read, the sum of their
//! sizes rounded up to 4 KB; "Filter expressions for the Query operation": a Query consumes the same read capacity
//! with or without a filter, and reads at most 1 MB a page, before the filter; both read 2026-12-07).
//!
//! The CPU: every reading of the scanned packed items is inflated and parsed ([`CPU_MS_PER_SCANNED_READING`], at
//! the api function's memory share of a vCPU). The flow has no per-event duration, so the scan is its own
//! duration line on the api function (`_readings_scan_ms`, the GetReadings calls' scan ms a month) on top of
//! `request_duration_ms`, which every call, this one too, still pays.

use crate::cost::flow::{units, Flow};
use crate::cost::registry::Registry;
use crate::cost::resources::ResourceUsage;
use crate::cost::stream_flow::{cpu_share, MONTH_SECONDS};
use crate::cost::template::{Resource, Resources};
use crate::cost::usage::{Usage, Values};
use indexmap::IndexMap;
use rainmaker_model::access::{metered_item_bytes, Access, Event, Op, Size};
use rainmaker_model::telemetry::packed::{query_range, BUCKETS};
use rainmaker_model::telemetry::read_range::own_ts_bounds;
use serde::Serialize;

/// CPU on one full core per reading of a scanned packed item (inflate, parse, select): `cargo bench -p api --bench
/// readings` measured 77.6 ms for 37,518 readings (15 minutes at 3.6M smart-home devices) and 267 ms for 121,914
/// (an hour), ~2.1 µs a reading (docs/lambdas.md).
pub const CPU_MS_PER_SCANNED_READING: f64 = 0.0021;
/// Most bytes one Query page reads.
pub const PAGE_BYTES: f64 = 1024.0 * 1024.0;
/// A read unit's step.
const READ_STEP: f64 = 4096.0;
/// API Gateway's REST integration timeout (the default and, without a quota increase, the most): 29 s.
pub const API_INTEGRATION_TIMEOUT_MS: f64 = 29_000.0;
/// The derived key of the api function: the GetReadings calls' scan milliseconds a month.
pub const SCAN_MS_KEY: &str = "_readings_scan_ms";

/// What the telemetry table holds, as the route meets it (from the pipeline the templates deploy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stored {
    /// `direct`: one item a reading in the node's partition.
    PerReading { node_items_per_second: f64, item_bytes: f64 },
    /// `batched`: the node's per-node items.
    PerNode { node_items_per_second: f64, item_bytes: f64 },
    /// `packed`: every node's readings in their bucket's items.
    Packed { bucket_items_per_second: f64, item_bytes: f64, readings_per_item: f64 },
}

impl Stored {
    /// The packed layout of a consumer invoked `batches` times a month, each batch putting `items` items.
    pub fn packed(batches: f64, items: f64, item_bytes: f64, readings_per_item: f64) -> Stored {
        let bucket_items_per_second = batches * items / MONTH_SECONDS / f64::from(BUCKETS);
        Stored::Packed { bucket_items_per_second, item_bytes, readings_per_item }
    }
}

/// One call's reads over a range of `minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Read {
    /// Metered bytes of the node's own partition Query.
    pub own_bytes: f64,
    /// Items and metered bytes of the bucket Query.
    pub bucket_items: f64,
    pub bucket_bytes: f64,
    /// Readings in the bucket Query's items (each one inflated and parsed).
    pub scanned_readings: f64,
}

/// Seconds of `ts` the own partition Query covers for a range of `minutes` (range + 70 minutes).
pub fn own_seconds(minutes: f64) -> f64 {
    let (lo, hi) = own_ts_bounds(0, (minutes * 60_000.0).round() as i64);
    (hi + 1 - lo) as f64 / 1000.0
}

/// Seconds of `received_at` the bucket Query covers (range + `MAX_ITEM_SPAN_MS`; its `ts` is ms × 1000 + a
/// sequence, `packed::item_ts`).
pub fn bucket_seconds(minutes: f64) -> f64 {
    let (lo, hi) = query_range(0, (minutes * 60_000.0).round() as i64);
    (hi + 1 - lo) as f64 / 1_000_000.0
}

/// What one call over `minutes` reads.
pub fn read(stored: Stored, minutes: f64) -> Read {
    match stored {
        Stored::PerReading { node_items_per_second: n, item_bytes }
        | Stored::PerNode { node_items_per_second: n, item_bytes } => {
            Read { own_bytes: n * own_seconds(minutes) * metered_item_bytes(item_bytes), ..Read::default() }
        }
        Stored::Packed { bucket_items_per_second, item_bytes, readings_per_item } => {
            let items = bucket_items_per_second * bucket_seconds(minutes);
            Read {
                own_bytes: 0.0,
                bucket_items: items,
                bucket_bytes: items * metered_item_bytes(item_bytes),
                scanned_readings: items * readings_per_item,
            }
        }
    }
}

/// Read units of one eventually consistent Query reading `bytes` over all its pages: ⌈page bytes / 4 KB⌉ × ½ a
/// page of at most 1 MB, at least ½ (a Query that finds nothing).
pub fn query_read_units(bytes: f64) -> f64 {
    let bytes = bytes.max(0.0);
    let full = (bytes / PAGE_BYTES).floor();
    let rest = ((bytes - full * PAGE_BYTES) / READ_STEP).ceil();
    let rest = if full == 0.0 { rest.max(1.0) } else { rest };
    (full * PAGE_BYTES / READ_STEP + rest) * 0.5
}

/// Billed milliseconds of decoding `readings` at `memory_mb` (Lambda's share of a vCPU: memory / 1,769 MB).
pub fn scan_ms(readings: f64, memory_mb: f64) -> f64 {
    readings * CPU_MS_PER_SCANNED_READING / cpu_share(memory_mb)
}

/// What the telemetry table holds, from the stream consumer the templates deploy (`packed`: `TelemetryPacked`
/// invocations; `batched`: `TelemetryBatch`), else the direct pipeline's per-reading items (`reading_item` bytes)
/// when telemetry-ingest is invoked; `None` without telemetry.
pub(crate) fn stored(
    f: &Flow,
    res: &Resources,
    usage: &Usage,
    d: f64,
    registry: &Registry,
    invocations: &IndexMap<String, IndexMap<Event, f64>>,
    reading_item: f64,
) -> Option<Stored> {
    let readings = usage.device("readings_per_message").max(1.0);
    for (id, kinds) in invocations {
        let (Some(r), Some(derived)) = (res.get(id), f.derived.get(id)) else { continue };
        for (ev, n) in kinds {
            if !matches!(ev, Event::TelemetryPacked | Event::TelemetryBatch) {
                continue;
            }
            // the consumer's batches a month: an explicit `monthly_requests` wins over the derived invocations
            let own: Values = [("monthly_requests".to_string(), kinds.values().sum::<f64>())].into_iter().collect();
            let ru = ResourceUsage {
                id,
                type_name: &r.type_name,
                usage,
                derived: Some(&own),
                keys: registry.keys(&r.type_name),
                devices: d,
            };
            let batches = ru.get("monthly_requests") * n / kinds.values().sum::<f64>().max(f64::MIN_POSITIVE);
            let get = |k: &str| derived.get(k).copied().unwrap_or(0.0);
            let (items, item_bytes) = (get("_batch_items"), get("_batch_item_bytes"));
            if *ev == Event::TelemetryPacked {
                let per_item = if items > 0.0 { get("_batch_records") * readings / items } else { 0.0 };
                return Some(Stored::packed(batches, items, item_bytes, per_item));
            }
            let node_items_per_second = if d > 0.0 { batches * items / MONTH_SECONDS / d } else { 0.0 };
            return Some(Stored::PerNode { node_items_per_second, item_bytes });
        }
    }
    invocations.values().any(|k| k.contains_key(&Event::Telemetry)).then(|| Stored::PerReading {
        node_items_per_second: usage.device("telemetry_per_hour") * readings / 3600.0,
        item_bytes: reading_item,
    })
}

/// One `GET /nodes/{id}/readings` call as the estimate prices it (`--output json`: `api_readings`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReadingsCall {
    /// Calls a month (`users.api_readings_percent` of the API calls).
    pub calls_monthly: f64,
    /// The range asked for (`users.api_readings_minutes`).
    pub range_minutes: f64,
    /// Read units of one call: the two strong authorization GetItems and the two Queries.
    pub read_units_per_call: f64,
    /// Of those, the bucket Query's (packed only).
    pub bucket_read_units_per_call: f64,
    /// Packed items and readings the bucket Query reads and decodes.
    pub scanned_items_per_call: f64,
    pub scanned_readings_per_call: f64,
    /// Billed milliseconds of that decoding at the api function's memory.
    pub scan_ms_per_call: f64,
    /// GB-seconds of it.
    pub scan_gb_s_per_call: f64,
    /// What the reads and the scan cost a call at the estimate's effective prices (the RRU of the telemetry table,
    /// the api function's GB-s); the request itself (API Gateway, WAF, Lambda request, `request_duration_ms`) is
    /// priced like every other route.
    pub usd_per_call: f64,
}

/// The scan CPU of a function's `GET /nodes/{id}/readings` calls (`SCAN_MS_KEY`, its own duration line)
/// and what one call reads (`Flow::readings`).
pub(crate) fn price_calls(f: &mut Flow, func: &Resource, accesses: &[Access], calls: f64, minutes: f64, read: &Read) {
    let memory = crate::cost::resources::lambda::memory_mb(func);
    let scan_ms = scan_ms(read.scanned_readings, memory);
    f.add(&func.logical_id, SCAN_MS_KEY, calls * scan_ms);
    // a call that cannot finish: the function's Timeout (3 s when the template sets none) or API Gateway's 29 s
    let timeout_ms = crate::cost::resources::lambda::timeout_ms(func);
    let (limit, what) = if timeout_ms < API_INTEGRATION_TIMEOUT_MS {
        (timeout_ms, format!("its Timeout of {} s", timeout_ms / 1000.0))
    } else {
        (API_INTEGRATION_TIMEOUT_MS, "API Gateway's 29 s integration timeout".to_string())
    };
    if calls > 0.0 && scan_ms > limit {
        f.warn(format!(
            "function {}: a GET /nodes/{{id}}/readings call over {minutes} minutes decodes {:.0} readings of its packed bucket, ~{:.1} s at {memory} MB, beyond {what}: such calls fail; give the function more memory, ask for shorter ranges (users.api_readings_minutes) or spread the readings over more packed buckets",
            func.logical_id,
            read.scanned_readings,
            scan_ms / 1000.0
        ));
    }
    let bucket = query_read_units(read.bucket_bytes);
    let units: f64 = accesses
        .iter()
        .map(|a| match (a.op, a.size) {
            (Op::Query, Size::PackedItem) => bucket,
            (Op::Query, _) => query_read_units(read.own_bytes),
            _ => units(a, 0.0, 0).1,
        })
        .sum();
    let prev = f.readings.map_or(0.0, |r| r.calls_monthly);
    f.readings = Some(ReadingsCall {
        calls_monthly: prev + calls,
        range_minutes: minutes,
        read_units_per_call: units,
        bucket_read_units_per_call: bucket,
        scanned_items_per_call: read.bucket_items,
        scanned_readings_per_call: read.scanned_readings,
        scan_ms_per_call: scan_ms,
        scan_gb_s_per_call: scan_ms / 1000.0 * memory / 1024.0,
        usd_per_call: 0.0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_meters_its_pages_in_4_kb_steps_at_least_half_a_unit() {
        assert_eq!(query_read_units(0.0), 0.5, "a Query that finds nothing");
        assert_eq!(query_read_units(3000.0), 0.5);
        assert_eq!(query_read_units(4097.0), 1.0);
        assert_eq!(query_read_units(PAGE_BYTES), 128.0, "one full page: 256 steps of 4 KB, eventual");
        assert_eq!(query_read_units(PAGE_BYTES + 1.0), 128.5, "a second page of one byte");
        assert_eq!(query_read_units(2.5 * PAGE_BYTES), 320.0);
    }

    #[test]
    fn the_queries_cover_the_range_and_the_margins_the_route_reads() {
        assert_eq!(own_seconds(15.0), 85.0 * 60.0);
        assert_eq!(bucket_seconds(15.0), 20.0 * 60.0);
        assert_eq!(bucket_seconds(60.0), 65.0 * 60.0);
    }

    /// 3.6M smart-home devices, packed: 1.829M batches a month, each an item in every bucket, are 0.696 items a
    /// second a bucket; 15 minutes + 5 read 835 items.
    #[test]
    fn a_packed_read_scans_every_node_of_the_bucket() {
        let b = f64::from(BUCKETS);
        let s = Stored::packed(1_829_000.0, b, 3208.0, 44.9);
        let r = read(s, 15.0);
        assert!((r.bucket_items - 1_829_000.0 * b / MONTH_SECONDS / b * 1200.0).abs() < 1e-9, "{r:?}");
        assert!((r.bucket_items - 835.2).abs() < 0.1, "{r:?}");
        assert_eq!(r.own_bytes, 0.0);
        assert!((r.scanned_readings - r.bucket_items * 44.9).abs() < 1e-9);
        // twice the message rate, twice the bytes; a longer range, more
        let twice = read(Stored::packed(2.0 * 1_829_000.0, b, 3208.0, 44.9), 15.0);
        assert!((twice.bucket_bytes - 2.0 * r.bucket_bytes).abs() < 1e-6);
        assert!(read(s, 60.0).bucket_bytes > 3.0 * r.bucket_bytes);
        // a direct node's own 85 minutes: 4 messages an hour of 450 B stored, 350 B metered (no storage overhead)
        let d = read(Stored::PerReading { node_items_per_second: 4.0 / 3600.0, item_bytes: 450.0 }, 15.0);
        assert!((d.own_bytes - 4.0 * 85.0 / 60.0 * 350.0).abs() < 1e-9 && d.bucket_bytes == 0.0, "{d:?}");
        assert_eq!(query_read_units(d.own_bytes), 0.5);
    }

    #[test]
    fn the_scan_runs_at_the_memory_share_of_a_vcpu() {
        assert!((scan_ms(37_500.0, 128.0) - 37_500.0 * 0.0021 * 1769.0 / 128.0).abs() < 1e-9);
        assert!((scan_ms(37_500.0, 4096.0) - 37_500.0 * 0.0021).abs() < 1e-9, "at most one full vCPU");
    }
}
