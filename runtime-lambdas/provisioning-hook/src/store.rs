//! The allow-list claim: one DynamoDB transaction that marks the serial provisioned and records the node with
//! its certificate id (presence and binding accept only events of that certificate).
//!
//! Idempotent: the same certificate asking again (a retry after a lost answer) gets the same answer, allowed;
//! another certificate for a provisioned serial is refused.

use crate::decide::{Denial, ProvisioningRequest};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::{n, s};
use rainmaker_model::{attr, time, TableNames};
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

    /// Mark the serial provisioned, if it is on the allow-list and not provisioned yet, and create (or refresh)
    /// its node item — atomically, so of two devices with one serial only one passes.
    pub(crate) async fn claim(&self, req: &ProvisioningRequest) -> Result<(), Denial> {
        let now = time::now_ms();
        let allow = Update::builder()
            .table_name(&self.tables.serial_allowlist)
            .key(attr::SERIAL, s(&req.serial))
            .update_expression("SET #p = :true, #c = :cert, #at = :now")
            .condition_expression("attribute_exists(#s) AND (attribute_not_exists(#p) OR #p = :false OR #c = :cert)")
            .expression_attribute_names("#p", attr::PROVISIONED)
            .expression_attribute_names("#c", attr::CERTIFICATE_ID)
            .expression_attribute_names("#at", attr::PROVISIONED_AT)
            .expression_attribute_names("#s", attr::SERIAL)
            .expression_attribute_values(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":false", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .expression_attribute_values(":cert", s(&req.certificate_id))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| Denial::Store(e.to_string()))?;
        let node = Update::builder()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, s(&req.serial))
            .update_expression("SET #s = :serial, #at = :now, #c = if_not_exists(#c, :false), #cert = :cert")
            .expression_attribute_names("#s", attr::SERIAL)
            .expression_attribute_names("#cert", attr::CERTIFICATE_ID)
            .expression_attribute_values(":cert", s(&req.certificate_id))
            .expression_attribute_names("#at", attr::PROVISIONED_AT)
            .expression_attribute_names("#c", attr::CONNECTED)
            .expression_attribute_values(":serial", s(&req.serial))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":false", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .build()
            .map_err(|e| Denial::Store(e.to_string()))?;
        let result = self
            .ddb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(allow).build())
            .transact_items(TransactWriteItem::builder().update(node).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if is_condition_failure(e.err()) => Err(self.why_not(&req.serial).await),
            Err(e) => Err(Denial::Store(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))),
        }
    }

    /// After a failed condition: tell "not listed" from "already provisioned" for the log.
    async fn why_not(&self, serial: &str) -> Denial {
        let got = self
            .ddb
            .get_item()
            .table_name(&self.tables.serial_allowlist)
            .key(attr::SERIAL, s(serial))
            .consistent_read(true)
            .send()
            .await;
        match got {
            Ok(out) if out.item().is_none() => Denial::NotAllowed,
            Ok(_) => Denial::AlreadyProvisioned,
            Err(e) => Denial::Store(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e))),
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
