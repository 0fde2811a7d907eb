//! telemetry-batch: the batched telemetry pipeline's consumer. The telemetry rule's Kinesis action puts each
//! device message into the tenant's telemetry stream (partition key: the node id); Lambda's event source mapping
//! hands this function batches of records, and it stores each node's readings of a batch as one item (the batched
//! layout of `rainmaker_model::telemetry::layout`) instead of one item per reading.
//!
//! Records are decoded by the direct pipeline's code (`rainmaker_model::telemetry::decode`); a record that is not
//! a valid rule output, or whose partition key is not the node id it carries, is refused: logged with its sequence
//! number and the reason (never its content), counted (`TelemetryRejected`), and not retried — so one bad record
//! never blocks the shard. A group whose write fails is reported as batch item failures (its records' sequence
//! numbers; `FunctionResponseTypes: ReportBatchItemFailures`), so Lambda retries from the oldest of them and
//! checkpoints the rest. Writes are conditional (`store`), so a batch delivered again is not stored twice.
//!
//! `TELEMETRY_LAYOUT` (`rainmaker_model::telemetry::layout::Layout`) picks the items: `per-node` (the batched
//! pipeline, above) or `packed` (the packed pipeline: the readings of every node of the batch cut into one
//! compressed item per bucket and time span, `pack`, written by `store_packed`; a failed item reports the lowest
//! sequence number of its readings).

mod group;
mod metrics;
mod pack;
mod store;
mod store_packed;

pub use group::{decode_batch, plan, seq_cmp, Decoded, Entry, Group, Plan, Record, Refusal};
pub use pack::{on_collision, pack, Collision, PackedItem, MAX_ATTEMPT};
pub use rainmaker_model::telemetry::layout::Layout;
/// The item one group becomes (what `store` puts; public for the benchmark).
pub use store::item as stored_item;
/// The item of the packed layout one packed item becomes (what `store_packed` puts).
pub use store_packed::packed_item;

use aws_config::SdkConfig;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use futures_util::StreamExt;
use rainmaker_model::telemetry::Limits;
use rainmaker_model::{time, ModelError, TableNames};
use serde::Serialize;
use serde_json::Value;

/// Groups written at the same time.
const CONCURRENT_PUTS: usize = 32;

/// What one invocation did (logged; the failures are the function's answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Records in the batch.
    pub records: usize,
    /// Readings newly stored.
    pub accepted: usize,
    /// Readings already stored (redelivery), or repeated within the batch.
    pub duplicates: usize,
    /// Records refused (not retried).
    pub rejected: usize,
    /// Items put (put calls made, conditional ones that found the item included).
    pub puts: usize,
    /// Sequence numbers of the records to retry (their group's write failed), ascending.
    pub failed: Vec<String>,
    /// Why the event itself was refused (not a Kinesis event), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_event: Option<String>,
}

impl Outcome {
    /// A batch of `records` before its writes: the refused records logged (sequence number and reason, never the
    /// content) and counted, the repeats within the batch counted as duplicates.
    fn decoded(records: usize, refused: &[(String, Refusal)], repeated: usize) -> Outcome {
        for (sequence, reason) in refused {
            tracing::warn!(%sequence, %reason, "telemetry record refused");
        }
        Outcome { records, rejected: refused.len(), duplicates: repeated, ..Outcome::default() }
    }

    /// One item's write: its counts, or (logged with `first_sequence`) the sequence numbers to retry.
    fn add(
        &mut self,
        result: Result<store::Written, String>,
        first_sequence: &str,
        retry: impl FnOnce() -> Vec<String>,
    ) {
        match result {
            Ok(w) => {
                self.accepted += w.stored;
                self.duplicates += w.duplicates;
                self.puts += w.puts;
            }
            Err(error) => {
                tracing::error!(%error, %first_sequence, "storing telemetry failed");
                self.failed.extend(retry());
            }
        }
    }

    /// The sequence numbers to retry ascending, each once.
    fn finished(mut self) -> Outcome {
        self.failed.sort_by(|a, b| seq_cmp(a, b));
        self.failed.dedup();
        self
    }
}

impl Outcome {
    /// The answer to Lambda's event source mapping.
    pub fn response(&self) -> KinesisEventResponse {
        let mut r = KinesisEventResponse::default();
        r.set_failures(self.failed.iter().cloned());
        r
    }
}

/// The function: a DynamoDB client, table names and limits.
pub struct Consumer {
    store: store::Store,
    limits: Limits,
    layout: Layout,
    metrics: bool,
}

impl Consumer {
    /// Configuration from the environment (`*_TABLE`, `TELEMETRY_TTL_DAYS`, `MAX_PAYLOAD_BYTES`,
    /// `TELEMETRY_LAYOUT`, AWS SDK variables).
    pub async fn from_env() -> Result<Self, ModelError> {
        let sdk = aws_config::load_from_env().await;
        let lookup = |k: &str| std::env::var(k).ok();
        let layout = Layout::from_lookup(lookup)?;
        Ok(Self::new(&sdk, TableNames::from_lookup(lookup)?, Limits::from_lookup(lookup)?).with_layout(layout))
    }

    /// A function with explicit configuration, writing the per-node layout.
    pub fn new(sdk: &SdkConfig, tables: TableNames, limits: Limits) -> Self {
        Consumer { store: store::Store::new(sdk, tables), limits, layout: Layout::PerNode, metrics: true }
    }

    /// Write `layout`'s items.
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Do not print the embedded-metric lines (tests; the counts are still in the [`Outcome`]).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Handle one invocation: the Kinesis event as JSON; the answer is the batch item failures.
    pub async fn handle(&self, event: Value) -> KinesisEventResponse {
        self.process(event).await.response()
    }

    /// Handle one invocation and say what it did.
    pub async fn process(&self, event: Value) -> Outcome {
        let event = match parse(event) {
            Ok(e) => e,
            Err(reason) => {
                tracing::warn!(%reason, "event refused");
                self.emit(&[("EventRefused", 1)]);
                return Outcome { refused_event: Some(reason), ..Outcome::default() };
            }
        };
        let records: Vec<(String, Record<'_>)> = event
            .records
            .iter()
            .map(|r| {
                // eventID is "<shard id>:<sequence number>"
                let shard = r.event_id.as_deref().and_then(|id| id.split_once(':')).map_or("", |(s, _)| s);
                let rec = Record {
                    sequence: &r.kinesis.sequence_number,
                    partition_key: &r.kinesis.partition_key,
                    data: &r.kinesis.data.0,
                };
                (shard.to_string(), rec)
            })
            .collect();
        let shard = records.first().map(|(s, _)| s.clone()).unwrap_or_default();
        let plain: Vec<Record<'_>> = records.iter().map(|(_, r)| *r).collect();
        let out = match self.layout {
            Layout::PerNode => self.store_per_node(&shard, &plain).await,
            Layout::Packed => self.store_packed(&shard, &plain).await,
        };
        tracing::info!(
            records = out.records,
            puts = out.puts,
            accepted = out.accepted,
            duplicates = out.duplicates,
            rejected = out.rejected,
            failed = out.failed.len(),
            "telemetry batch stored"
        );
        self.emit(&[
            ("TelemetryAccepted", out.accepted),
            ("TelemetryDuplicates", out.duplicates),
            ("TelemetryRejected", out.rejected),
            ("TelemetryRetried", out.failed.len()),
        ]);
        out
    }

    /// The packed layout: every node's readings of the batch in one item per bucket and time span.
    async fn store_packed(&self, shard: &str, records: &[Record<'_>]) -> Outcome {
        let decoded = decode_batch(records, self.limits.max_payload_bytes, time::now_ms());
        let mut out = Outcome::decoded(records.len(), &decoded.refused, decoded.repeated);
        let first = records.iter().map(|r| r.sequence).min_by(|a, b| seq_cmp(a, b)).unwrap_or_default();
        let batch = format!("{shard}/{first}");
        let items = match pack(decoded.per_node) {
            Ok(items) => items,
            Err(error) => {
                // Encoding into memory does not fail in practice; if it does, the whole batch is retried.
                tracing::error!(%error, first_sequence = %first, "packing telemetry failed");
                out.failed.push(first.to_string());
                return out;
            }
        };
        let ttl = self.limits.ttl_days;
        let batch = batch.as_str();
        let results: Vec<(&PackedItem, Result<store::Written, String>)> = futures_util::stream::iter(
            items.iter().map(|i| async move { (i, self.store.put_packed(i, batch, ttl).await) }),
        )
        .buffer_unordered(CONCURRENT_PUTS)
        .collect()
        .await;
        for (item, result) in results {
            out.add(result, &item.lowest_sequence, || vec![item.lowest_sequence.clone()]);
        }
        out.finished()
    }

    /// The per-node layout: each node's readings of the batch in one item (more past the item limits).
    async fn store_per_node(&self, shard: &str, plain: &[Record<'_>]) -> Outcome {
        let plan = plan(plain, self.limits.max_payload_bytes, time::now_ms());
        let mut out = Outcome::decoded(plain.len(), &plan.refused, plan.repeated);
        let ttl = self.limits.ttl_days;
        let results: Vec<(&Group, Result<store::Written, String>)> = futures_util::stream::iter(
            plan.groups.iter().map(|g| async move { (g, self.store.put_group(shard, g, ttl).await) }),
        )
        .buffer_unordered(CONCURRENT_PUTS)
        .collect()
        .await;
        for (g, result) in results {
            out.add(result, g.first_sequence(), || g.sequences().into_iter().map(str::to_string).collect());
        }
        out.finished()
    }

    fn emit(&self, counts: &[(&str, usize)]) {
        if self.metrics {
            metrics::emit(counts);
        }
    }
}

/// The event as Lambda's Kinesis event source mapping sends it: `{"Records": [...]}` and nothing else.
fn parse(event: Value) -> Result<KinesisEvent, String> {
    if event.as_object().is_some_and(|o| o.keys().any(|k| k != "Records")) {
        return Err("not a Kinesis event: unknown top-level field `…`".into());
    }
    serde_json::from_value(event)
        .map_err(|e| format!("not a Kinesis event: {}", rainmaker_model::redact::parse_error(&e.to_string())))
}
