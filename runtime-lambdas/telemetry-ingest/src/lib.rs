//! telemetry-ingest: validate a device message from the telemetry topic rule and store its readings.
//!
//! Bad messages are rejected with a logged reason and counted (a CloudWatch embedded-metric line), and the
//! function still succeeds so that IoT and Lambda do not retry them. Storage errors fail the invocation so that
//! Lambda retries; the writes are conditional on `(node_id, ts)`, so a redelivered message is not stored twice.

mod metrics;
mod store;

pub use rainmaker_model::telemetry::{decode, is_thing_name, Limits, Message, Reading, Reject, MAX_BATCH};

use aws_config::SdkConfig;
use rainmaker_model::{time, ModelError, TableNames};
use serde::Serialize;
use serde_json::Value;

/// What one invocation did (logged, and returned to the caller for tests; IoT ignores it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Readings newly stored.
    pub accepted: usize,
    /// Readings already stored (redelivery).
    pub duplicates: usize,
    /// Why the message was rejected, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// Storage failures: the invocation fails and Lambda retries it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("writing telemetry to DynamoDB failed: {0}")]
    Store(String),
}

/// The function: a DynamoDB client, table names and limits.
pub struct Ingest {
    store: store::Store,
    limits: Limits,
    metrics: bool,
}

impl Ingest {
    /// Configuration from the environment (`*_TABLE`, `TELEMETRY_TTL_DAYS`, `MAX_PAYLOAD_BYTES`, AWS SDK variables).
    pub async fn from_env() -> Result<Self, ModelError> {
        let sdk = aws_config::load_from_env().await;
        let lookup = |k: &str| std::env::var(k).ok();
        Ok(Self::new(&sdk, TableNames::from_lookup(lookup)?, Limits::from_lookup(lookup)?))
    }

    /// A function with explicit configuration.
    pub fn new(sdk: &SdkConfig, tables: TableNames, limits: Limits) -> Self {
        Ingest { store: store::Store::new(sdk, tables), limits, metrics: true }
    }

    /// Do not print the embedded-metric lines (tests and benches; the counts are still in the [`Outcome`]).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Handle one rule event.
    pub async fn handle(&self, event: Value) -> Result<Outcome, IngestError> {
        let size = serde_json::to_string(&event).map(|s| s.len()).unwrap_or(usize::MAX);
        let now = time::now_ms();
        let msg = match decode(event, size, self.limits.max_payload_bytes, now) {
            Ok(m) => m,
            Err(reject) => {
                tracing::warn!(reason = %reject, size, "telemetry rejected");
                self.emit(&[("TelemetryRejected", 1)]);
                return Ok(Outcome { rejected: Some(reject.to_string()), ..Outcome::default() });
            }
        };
        let expires_at = msg.received_at / 1000 + self.limits.ttl_days * 86_400;
        let (accepted, duplicates) = self.store.put_readings(&msg, expires_at).await?;
        tracing::info!(node_id = %msg.node_id, accepted, duplicates, "telemetry stored");
        self.emit(&[("TelemetryAccepted", accepted), ("TelemetryDuplicates", duplicates)]);
        Ok(Outcome { accepted, duplicates, rejected: None })
    }

    fn emit(&self, counts: &[(&str, usize)]) {
        if self.metrics {
            metrics::emit(counts);
        }
    }
}
