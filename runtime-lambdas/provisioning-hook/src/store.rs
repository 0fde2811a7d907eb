//! The allow-list read (one strongly consistent GetItem) and the claim: one DynamoDB transaction that marks the
//! serial provisioned and records the node with its certificate id (presence and binding accept only events of
//! that certificate), conditioned on the entry still holding the secret HMAC that was checked
//! ([`rainmaker_model::write::provision`], the write the CLI's seed sends too).
//!
//! Idempotent: the same certificate asking again (a retry after a lost answer) gets the same answer, allowed;
//! another certificate for a provisioned serial is refused.

use crate::decide::{Denial, ListedSerial, ProvisioningRequest};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::s;
use rainmaker_model::{attr, time, write, TableNames};
use std::time::Duration;

/// AWS gives the hook 5 s in all; keep the DynamoDB work well inside that.
const OPERATION_TIMEOUT: Duration = Duration::from_millis(3000);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);

pub(crate) struct Store {
    ddb: Client,
    tables: TableNames,
}

impl Store {
    pub(crate) fn new(sdk: &SdkConfig, tables: TableNames) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(OPERATION_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build();
        let conf = aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(timeouts).build();
        Store { ddb: Client::from_conf(conf), tables }
    }

    /// The serial's allow-list entry, read strongly (`None`: not listed).
    pub(crate) async fn entry(&self, serial: &str) -> Result<Option<ListedSerial>, Denial> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.serial_allowlist)
            .key(attr::SERIAL, s(serial))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Denial::Store(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e))))?;
        Ok(out.item().map(|item| {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            ListedSerial {
                secret_hmac: text(attr::SECRET_HMAC),
                provisioned: item.get(attr::PROVISIONED).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                certificate_id: text(attr::CERTIFICATE_ID),
            }
        }))
    }

    /// Mark the serial provisioned, if it is on the allow-list with the secret HMAC `hmac` and not provisioned yet
    /// (or by this certificate), and create (or refresh) its node item — atomically, so of two devices with one
    /// serial only one passes, and an import that changes the secret meanwhile wins over this claim.
    pub(crate) async fn claim(&self, req: &ProvisioningRequest, hmac: &str) -> Result<(), Denial> {
        let items = write::provision(&self.tables, &req.serial, &req.certificate_id, hmac, time::now_ms())
            .map_err(|e| Denial::Store(e.to_string()))?;
        let result = self.ddb.transact_write_items().set_transact_items(Some(items.to_vec())).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if is_condition_failure(e.err()) => Err(Denial::Changed),
            Err(e) => Err(Denial::Store(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))),
        }
    }
}

fn is_condition_failure(e: &TransactWriteItemsError) -> bool {
    match e {
        TransactWriteItemsError::TransactionCanceledException(c) => c
            .cancellation_reasons()
            .iter()
            .any(|r| matches!(r.code(), Some("ConditionalCheckFailed") | Some("TransactionConflict"))),
        _ => false,
    }
}
