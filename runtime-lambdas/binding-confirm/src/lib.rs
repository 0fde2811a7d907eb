//! binding-confirm: the device side of binding, invoked only by the binding topic rule.
//!
//! The app got a code from `POST /nodes/bind` (the api function) and handed it to the device; the device publishes
//! `{"binding_code"}` to its binding topic; the rule (`contract::SQL_BINDING`) adds `node_id` (from the topic,
//! which the device policy ties to the device's own thing name), `received_at` and `principal`. If the code
//! exists, has not expired and was issued for that very node, one transaction sets the node's owner (only if it
//! has none) and a fresh ownership epoch, writes the owner's `user_nodes` item with that epoch, records the open
//! ownership window on the owner's `users` item (`rainmaker_model::window`: the readings received from now on are
//! theirs) and consumes the code (`rainmaker_model::ownership`).
//!
//! This function has its own role (binding_requests, nodes, user_nodes, users UpdateItem; no shadows) and is not the REST
//! API: an event of any other shape is refused, logged and counted (`EventRefused`), never routed.

mod event;

pub use event::{parse, BindingEvent};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use rainmaker_model::contract::ENV_TENANT;
use rainmaker_model::ddb::{get_n, get_s, s};
use rainmaker_model::logid::pseudonym;
use rainmaker_model::{attr, emf, time, write, ModelError, TableNames};
use serde::Serialize;
use serde_json::Value;

/// The function's name in metrics.
const FUNCTION: &str = "binding-confirm";

/// What a binding confirmation did (returned to the rule's invocation and logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BindingOutcome {
    Bound {
        node_id: String,
        user_id: String,
    },
    /// A well-formed confirmation that does not bind (unknown, expired or foreign code, node already owned).
    Rejected {
        reason: String,
    },
    /// Not a binding rule event at all.
    Refused {
        reason: String,
    },
}

/// Storage failures: the invocation fails and Lambda retries it (the transaction is conditional, so a retry after
/// a success is a rejection, not a second binding).
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("binding confirmation failed, will be retried: {0}")]
    Store(String),
}

/// The function: a DynamoDB client, the table names and the tenant (for log pseudonyms).
pub struct Confirm {
    ddb: Client,
    tables: TableNames,
    tenant: String,
    metrics: bool,
}

impl Confirm {
    /// Configuration from the environment (`*_TABLE`, `TENANT`, the AWS SDK's variables).
    pub async fn from_env() -> Result<Self, ModelError> {
        let sdk = aws_config::load_from_env().await;
        let tenant =
            std::env::var(ENV_TENANT).ok().filter(|t| !t.is_empty()).ok_or(ModelError::MissingEnv(ENV_TENANT))?;
        Ok(Self::new(&sdk, TableNames::from_env()?, &tenant))
    }

    /// A function with explicit configuration.
    pub fn new(sdk: &SdkConfig, tables: TableNames, tenant: &str) -> Self {
        Confirm { ddb: Client::new(sdk), tables, tenant: tenant.to_string(), metrics: true }
    }

    /// Do not print the embedded-metric lines (tests; the outcome still says what happened).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Handle one binding rule event.
    pub async fn handle(&self, event: Value) -> Result<BindingOutcome, ConfirmError> {
        let outcome = match parse(event) {
            Ok(ev) => self.confirm(&ev).await?,
            Err(reason) => BindingOutcome::Refused { reason },
        };
        match &outcome {
            BindingOutcome::Bound { node_id, user_id } => {
                tracing::info!(node_id, user = %pseudonym(&self.tenant, "user", user_id), "node bound");
                self.emit("NodeBound");
            }
            BindingOutcome::Rejected { reason } => {
                tracing::warn!(reason, "binding rejected");
                self.emit("BindingRejected");
            }
            BindingOutcome::Refused { reason } => {
                tracing::warn!(reason, "event refused");
                self.emit("EventRefused");
            }
        }
        Ok(outcome)
    }

    fn emit(&self, metric: &str) {
        if self.metrics {
            emf::emit(FUNCTION, &[(metric, 1)]);
        }
    }

    async fn confirm(&self, ev: &BindingEvent) -> Result<BindingOutcome, ConfirmError> {
        let reject = |r: &str| Ok(BindingOutcome::Rejected { reason: r.to_string() });
        let code = match &ev.binding_code {
            Some(Value::String(c)) if valid_id(c) => c.clone(),
            _ => return reject("binding_code must be a string of 1 to 128 characters"),
        };
        if !valid_id(&ev.node_id) {
            return reject("node_id must be a string of 1 to 128 characters");
        }
        let Some(principal) = ev.principal.as_deref().filter(|p| !p.is_empty()) else {
            return reject("no principal: the rule did not say which certificate published");
        };
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.binding_requests)
            .key(attr::BINDING_CODE, s(&code))
            .consistent_read(true)
            .send()
            .await
            .map_err(store)?;
        let Some(item) = out.item() else { return reject("unknown or already used binding code") };
        let (Ok(user_id), Ok(for_node), Ok(expires_at)) =
            (get_s(item, attr::USER_ID), get_s(item, attr::NODE_ID), get_n(item, attr::EXPIRES_AT))
        else {
            return reject("malformed binding request item");
        };
        if expires_at <= time::now_s() {
            return reject("binding code expired"); // TTL deletion is lazy: check it ourselves
        }
        if for_node != ev.node_id {
            return reject("binding code was issued for another node");
        }
        let user_id = user_id.to_string();
        match self.bind_transaction(&code, &ev.node_id, &user_id, principal).await {
            Ok(()) => Ok(BindingOutcome::Bound { node_id: ev.node_id.clone(), user_id }),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                reject("node already has an owner, was published by another certificate than the node's, its last ownership ended after this host's clock, or the code was used concurrently")
            }
            Err(e) => Err(store(e)),
        }
    }

    async fn bind_transaction(
        &self,
        code: &str,
        node_id: &str,
        user_id: &str,
        principal: &str,
    ) -> Result<(), SdkError<TransactWriteItemsError>> {
        let now = time::now_ms();
        let epoch = new_epoch(now).map_err(|e| SdkError::construction_failure(e.to_string()))?;
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| SdkError::construction_failure(e);
        // the model's bind write path: owner + epoch on the node (this certificate's node only), the owner's grant
        let [owner, link, window] =
            write::bind(&self.tables, node_id, user_id, principal, &epoch, now).map_err(build_err)?;
        let consume = Delete::builder()
            .table_name(&self.tables.binding_requests)
            .key(attr::BINDING_CODE, s(code))
            .condition_expression("attribute_exists(#c)")
            .expression_attribute_names("#c", attr::BINDING_CODE)
            .build()
            .map_err(build_err)?;
        self.ddb
            .transact_write_items()
            .transact_items(owner)
            .transact_items(link)
            .transact_items(window)
            .transact_items(TransactWriteItem::builder().delete(consume).build())
            .send()
            .await
            .map(|_| ())
    }
}

/// A fresh ownership epoch (`rainmaker_model::ownership`): the bind time in ms and 8 random hex digits.
fn new_epoch(now_ms: i64) -> Result<String, getrandom::Error> {
    let mut r = [0u8; 4];
    getrandom::fill(&mut r)?;
    Ok(rainmaker_model::ownership::epoch(now_ms, u32::from_be_bytes(r)))
}

fn store<E: std::error::Error + 'static>(e: E) -> ConfirmError {
    ConfirmError::Store(DisplayErrorContext(e).to_string())
}

/// 1..=128 characters, none of them control characters or `/`.
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(|c| c.is_control() || c == '/')
}
