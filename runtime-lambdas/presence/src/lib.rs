//! presence: apply IoT lifecycle events to the node item (`connected`, `presence_at`), never out of order.
//!
//! The update is conditional on the stored `presence_at`: an event older than the last applied one is ignored,
//! and at the same millisecond a `disconnected` wins over a `connected` (never report a device online wrongly).
//! Events for client ids without a node item (e.g. a device still on its claim certificate) change nothing, and
//! neither do events whose `principalIdentifier` is not the node's current certificate (`certificate_id`, written
//! by the provisioning hook): a connection with another certificate under the node's client id is not the node.

mod event;

pub use event::{parse, BadEvent, EventType, LifecycleEvent};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::{n, s};
use rainmaker_model::{attr, ModelError, TableNames};
use serde::Serialize;
use serde_json::Value;

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The node now shows this event's state.
    Applied,
    /// The node has newer state, or there is no node item for the client id.
    Stale,
    /// Not a valid lifecycle event (logged).
    Ignored,
}

/// Storage failures: the invocation fails and Lambda retries it (the update is idempotent).
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("updating the node failed: {0}")]
    Store(String),
}

/// The function: a DynamoDB client and the nodes table.
pub struct Presence {
    ddb: Client,
    nodes_table: String,
}

impl Presence {
    /// Configuration from the environment (`*_TABLE` and the AWS SDK's variables).
    pub async fn from_env() -> Result<Self, ModelError> {
        let sdk = aws_config::load_from_env().await;
        Ok(Self::new(&sdk, &TableNames::from_env()?))
    }

    /// A function with explicit configuration.
    pub fn new(sdk: &SdkConfig, tables: &TableNames) -> Self {
        Presence { ddb: Client::new(sdk), nodes_table: tables.nodes.clone() }
    }

    /// Apply one lifecycle event.
    pub async fn handle(&self, event: Value) -> Result<Outcome, PresenceError> {
        let ev = match parse(event) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(reason = %e, "presence event refused");
                rainmaker_model::emf::emit("presence", &[("EventRefused", 1)]);
                return Ok(Outcome::Ignored);
            }
        };
        let Some(principal) = ev.principal_identifier.clone().filter(|p| !p.is_empty()) else {
            tracing::warn!(node_id = %ev.client_id, "presence event refused: no principalIdentifier");
            rainmaker_model::emf::emit("presence", &[("EventRefused", 1)]);
            return Ok(Outcome::Ignored);
        };
        let connected = ev.event_type == EventType::Connected;
        // Same millisecond: a disconnect may overwrite a connect, not the other way round.
        let newer = if connected { "#at < :ts" } else { "#at <= :ts" };
        let result = self
            .ddb
            .update_item()
            .table_name(&self.nodes_table)
            .key(attr::NODE_ID, s(&ev.client_id))
            .update_expression("SET #c = :c, #at = :ts")
            .condition_expression(format!(
                "attribute_exists(#id) AND #cert = :cert AND (attribute_not_exists(#at) OR {newer})"
            ))
            .expression_attribute_names("#cert", attr::CERTIFICATE_ID)
            .expression_attribute_values(":cert", s(&principal))
            .expression_attribute_names("#c", attr::CONNECTED)
            .expression_attribute_names("#at", attr::PRESENCE_AT)
            .expression_attribute_names("#id", attr::NODE_ID)
            .expression_attribute_values(":c", AttributeValue::Bool(connected))
            .expression_attribute_values(":ts", n(ev.timestamp))
            .send()
            .await;
        let outcome = match result {
            Ok(_) => Outcome::Applied,
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Outcome::Stale,
            Err(e) => return Err(PresenceError::Store(DisplayErrorContext(e).to_string())),
        };
        tracing::info!(node_id = %ev.client_id, connected, timestamp = ev.timestamp, ?outcome, "presence event");
        Ok(outcome)
    }
}
