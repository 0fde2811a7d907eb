//! The batched and packed telemetry pipelines in the flow: the records the telemetry rule's Kinesis action puts
//! into a stream, the shards the modeled peak needs, and the batches Lambda's event source mapping hands the
//! consumer (invocations = records / effective batch size), with the items each batch writes: one per node
//! (`TELEMETRY_LAYOUT=per-node`, `batched`) or one per bucket the batch's nodes fall in (`packed`, `cost::packed`).

use crate::cost::flow::{is, number, Flow};
use crate::cost::packed;
use crate::cost::registry::Registry;
use crate::cost::template::{target, Resource, Resources};
use crate::cost::usage::{Usage, MONTH_HOURS};
use rainmaker_model::access::{self, Event};
use rainmaker_model::telemetry::layout::{Layout, ENV_TELEMETRY_LAYOUT};
use serde_json::Value;

/// Bytes the telemetry rule adds to the device's payload in its output (`contract::SQL_TELEMETRY`: `node_id`,
/// `received_at`, `principal` = the 64-hex certificate id, and their JSON keys), an estimate.
pub const RULE_OUTPUT_OVERHEAD: f64 = 130.0;
/// Bytes of the partition key (the node id), counted in the record's size.
pub const PARTITION_KEY_BYTES: f64 = 16.0;
/// Seconds in the 730-hour month.
pub const MONTH_SECONDS: f64 = MONTH_HOURS * 3600.0;
/// A provisioned shard takes 1,000 records and 1 MB a second.
pub const SHARD_RECORDS_PER_SECOND: f64 = 1000.0;
pub const SHARD_BYTES_PER_SECOND: f64 = 1024.0 * 1024.0;
/// Largest payload of one Lambda invocation (6 MB): a batch of base64 records stops there.
pub const LAMBDA_PAYLOAD_BYTES: f64 = 6.0 * 1024.0 * 1024.0;
/// Bytes of a record's envelope in the Kinesis event (event source, ARN, ids, the sequence number), an estimate.
pub const KINESIS_EVENT_ENVELOPE_BYTES: f64 = 500.0;
/// The consumer's billed duration per invocation: a base, plus CPU per record, plus one DynamoDB round trip per
/// [`CONSUMER_CONCURRENT_PUTS`] items (the function writes that many at once). The CPU per record is measured by the
/// telemetry-batch benchmark on one full core (decode, check, group and build the items: ~10 µs a single-reading
/// record, docs/estimate.md); Lambda gives a function `memory / 1,769 MB` of a vCPU (one full vCPU at 1,769 MB), so
/// at 128 MB a record takes ~13.8× that. The base and the round trip (8 ms a put, warm connection) are assumptions.
pub const CONSUMER_BASE_MS: f64 = 5.0;
pub const CONSUMER_CPU_MS_PER_RECORD: f64 = 0.010;
pub const FULL_VCPU_MB: f64 = 1769.0;
pub const CONSUMER_MS_PER_PUT_ROUND: f64 = 8.0;
pub const CONSUMER_CONCURRENT_PUTS: f64 = 32.0;

/// Share of the consumer's timeout a modeled batch may take before the estimate warns.
pub const TIMEOUT_MARGIN: f64 = 0.5;

/// Shards a stream needs for `records` a month of `record_bytes` at `peak_to_average` times the average rate.
pub fn stream_shards(records: f64, record_bytes: f64, peak_to_average: f64) -> f64 {
    let peak = records / MONTH_SECONDS * peak_to_average.max(1.0);
    (peak / SHARD_RECORDS_PER_SECOND).max(peak * record_bytes / SHARD_BYTES_PER_SECOND).ceil().max(1.0)
}

/// An event source mapping's batching settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    pub batch_size: f64,
    pub window_seconds: f64,
}

// cost helper: packed (`telemetry.pipeline: packed` renders batched's resources, so it is priced like batched here)
/// What the consumer's invocations look like on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchShape {
    /// Invocations a month.
    pub batches: f64,
    /// Records per invocation.
    pub records: f64,
    /// Items of the batched layout per invocation (one per node of the batch, more past the item limits).
    pub items: f64,
    /// Stored bytes of one item.
    pub item_bytes: f64,
    /// Write units of one item on average (packed: over the distribution of a bucket's readings; batched: `None`,
    /// the units of `item_bytes`).
    pub write_units_per_item: Option<f64>,
    pub duration_ms: f64,
}

/// The records of one batch: a shard's average rate × the window (at least the 1-second poll), at least 1, at most
/// the batch size and what fits in Lambda's 6 MB payload (base64 data + envelope per record).
pub fn records_per_batch(m: &Mapping, records: f64, record_bytes: f64, shards: f64) -> f64 {
    let per_shard = records / MONTH_SECONDS / shards.max(1.0);
    let payload_cap = LAMBDA_PAYLOAD_BYTES / (record_bytes * 4.0 / 3.0 + KINESIS_EVENT_ENVELOPE_BYTES);
    let cap = m.batch_size.max(1.0).min(payload_cap.max(1.0));
    (per_shard * m.window_seconds.max(1.0)).clamp(1.0, cap)
}

/// The share of a vCPU Lambda gives a function of `memory_mb` (one full vCPU at [`FULL_VCPU_MB`], at most one).
pub fn cpu_share(memory_mb: f64) -> f64 {
    (memory_mb / FULL_VCPU_MB).min(1.0)
}

/// Billed milliseconds of one batch: the base, the CPU of its records at the function's share of a vCPU, and one
/// round trip per [`CONSUMER_CONCURRENT_PUTS`] items, rounded up to the millisecond (Lambda bills whole ones).
pub fn consumer_ms(records: f64, cpu_ms_per_record: f64, items: f64, memory_mb: f64) -> f64 {
    (CONSUMER_BASE_MS
        + records * cpu_ms_per_record / cpu_share(memory_mb)
        + (items / CONSUMER_CONCURRENT_PUTS).ceil() * CONSUMER_MS_PER_PUT_ROUND)
        .ceil()
}

/// The packed consumer's batches (`TELEMETRY_LAYOUT=packed`): as [`batch_shape`], with the items of the packed
/// layout (`cost::packed::batch`) and the packed CPU per record.
pub fn packed_shape(
    m: &Mapping,
    records: f64,
    record_bytes: f64,
    shards: f64,
    memory_mb: f64,
    usage: &Usage,
    blueprint: Option<&str>,
) -> BatchShape {
    let per_batch = records_per_batch(m, records, record_bytes, shards);
    let batches = if records > 0.0 { records / per_batch } else { 0.0 };
    let p = packed::batch(per_batch, shards, usage, blueprint);
    let duration_ms = consumer_ms(per_batch, packed::PACKED_CPU_MS_PER_RECORD, p.items, memory_mb);
    BatchShape {
        batches,
        records: per_batch,
        items: p.items,
        item_bytes: p.item_bytes,
        write_units_per_item: Some(p.write_units_per_item),
        duration_ms,
    }
}

/// The consumer's batches: Lambda polls each shard and invokes when the batching window ends, the batch is full,
/// or the payload reaches 6 MB; a shard's average rate × the window (at least the 1-second poll) is the records of a
/// batch, at least 1 and at most the batch size. A node's messages go to one shard (partition key = node id), so a
/// batch lasting T seconds holds max(1, rate × T) messages of each node in it: the items of the per-node layout.
pub fn batch_shape(
    m: &Mapping,
    records: f64,
    record_bytes: f64,
    shards: f64,
    memory_mb: f64,
    usage: &Usage,
) -> BatchShape {
    let per_shard = records / MONTH_SECONDS / shards.max(1.0);
    let per_batch = records_per_batch(m, records, record_bytes, shards);
    let batches = if records > 0.0 { records / per_batch } else { 0.0 };
    let seconds = if per_shard > 0.0 { per_batch / per_shard } else { 0.0 };
    let node_rate = usage.device("telemetry_per_hour") / 3600.0;
    let per_node = (node_rate * seconds).max(1.0).min(per_batch);
    let readings = usage.device("readings_per_message").max(1.0);
    let node_readings = per_node * readings;
    let limit = rainmaker_model::telemetry::layout::MAX_ITEM_READINGS as f64;
    let items_per_node = (node_readings / limit).ceil().max(1.0);
    let items = per_batch / per_node * items_per_node;
    let share = usage.device("telemetry_bytes") / readings + access::BATCH_READING_OVERHEAD as f64;
    let item_bytes = (node_readings / items_per_node) * share + access::BATCH_ITEM_OVERHEAD as f64;
    let duration_ms = consumer_ms(per_batch, CONSUMER_CPU_MS_PER_RECORD, items, memory_mb);
    BatchShape { batches, records: per_batch, items, item_bytes, write_units_per_item: None, duration_ms }
}

/// The streams of the templates: their records and shards (derived), and per event source mapping the batches
/// its function is invoked with (returned: function, event, invocations).
pub(crate) fn streams(
    f: &mut Flow,
    res: &Resources,
    usage: &Usage,
    registry: &Registry,
    d: f64,
) -> Vec<(String, Event, f64)> {
    let resolve = |f: &Flow, r: &Resource, key: &str| f.usage_of(r, usage, registry, d).get(key);
    let mut out = Vec::new();
    for stream in res.of_type("AWS::Kinesis::Stream") {
        let records = resolve(f, stream, "monthly_records");
        let record_bytes = resolve(f, stream, "record_bytes");
        if stream.prop(&["StreamModeDetails", "StreamMode"]).and_then(Value::as_str) == Some("ON_DEMAND") {
            f.warn(format!("stream {}: on-demand mode is priced as provisioned shards (the price tables carry no on-demand prices)", stream.logical_id));
        }
        let template_shards = stream.prop(&["ShardCount"]).and_then(number).unwrap_or(1.0).max(1.0);
        let needed = stream_shards(records, record_bytes, usage.fleet("peak_to_average"));
        if needed > template_shards {
            f.set(&stream.logical_id, "shards", needed);
            f.warn(format!(
                "stream {}: the modeled peak ({:.0} records/s) needs {needed} shards, the template has {template_shards}; priced at {needed} (set telemetry.stream_shards: {needed})",
                stream.logical_id,
                records / MONTH_SECONDS * usage.fleet("peak_to_average")
            ));
        }
        let explicit = usage.resources.get(&stream.logical_id).and_then(|v| v.get("shards")).copied();
        let shards = explicit.unwrap_or(needed.max(template_shards));
        for m in res.of_type("AWS::Lambda::EventSourceMapping") {
            if m.prop(&["EventSourceArn"]).and_then(target).as_deref() != Some(stream.logical_id.as_str()) {
                continue;
            }
            let Some(func) = m.prop(&["FunctionName"]).and_then(target).filter(|t| is(res, t, "AWS::Lambda::Function"))
            else {
                f.warn(format!(
                    "event source mapping {}: its function is not in the templates, so its invocations are not priced",
                    m.logical_id
                ));
                continue;
            };
            let mapping = Mapping {
                batch_size: m.prop(&["BatchSize"]).and_then(number).unwrap_or(100.0),
                window_seconds: m.prop(&["MaximumBatchingWindowInSeconds"]).and_then(number).unwrap_or(0.0),
            };
            let consumer = res.get(&func);
            let memory = consumer.and_then(|r| r.prop(&["MemorySize"])).and_then(number).unwrap_or(128.0).max(128.0);
            let layout = consumer.and_then(|r| r.prop(&["Environment", "Variables", ENV_TELEMETRY_LAYOUT]));
            let (shape, event) = if layout.and_then(Value::as_str) == Some(Layout::Packed.as_env()) {
                let blueprint = res.blueprint.as_deref();
                (
                    packed_shape(&mapping, records, record_bytes, shards, memory, usage, blueprint),
                    Event::TelemetryPacked,
                )
            } else {
                (batch_shape(&mapping, records, record_bytes, shards, memory, usage), Event::TelemetryBatch)
            };
            let timeout_ms = consumer.map_or(3000.0, crate::cost::resources::lambda::timeout_ms);
            if shape.batches > 0.0 && shape.duration_ms > timeout_ms * TIMEOUT_MARGIN {
                f.warn(format!(
                    "function {func}: a batch of {:.0} records is modeled at {:.1} s, more than {:.0}% of its {:.0} s \
                     timeout (a slower batch times out and is retried); raise lambda.timeout_seconds or \
                     lambda.memory_mb (more memory is more CPU)",
                    shape.records,
                    shape.duration_ms / 1000.0,
                    TIMEOUT_MARGIN * 100.0,
                    timeout_ms / 1000.0
                ));
            }
            out.push((func.clone(), event, shape.batches));
            f.set(&func, "_batch_records", shape.records);
            f.set(&func, "_batch_items", shape.items);
            f.set(&func, "_batch_item_bytes", shape.item_bytes);
            if let Some(units) = shape.write_units_per_item {
                f.set(&func, "_batch_item_write_units", units);
            }
            f.set(&func, "request_duration_ms", shape.duration_ms);
        }
    }
    out
}
