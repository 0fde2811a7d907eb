//! DynamoDB writes: conditional puts of readings (idempotent on `(node_id, ts)`), nothing else. The node's
//! last-seen time is not written per message: the API derives it from the newest reading and the presence events.

use crate::IngestError;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::{n, s, to_av};
use rainmaker_model::telemetry::Message;
use rainmaker_model::{attr, TableNames};
use std::collections::HashMap;

pub(crate) struct Store {
    ddb: Client,
    tables: TableNames,
}

impl Store {
    pub(crate) fn new(sdk: &SdkConfig, tables: TableNames) -> Self {
        Store { ddb: Client::new(sdk), tables }
    }

    /// Put every reading (concurrently); returns `(stored, already there)`.
    pub(crate) async fn put_readings(&self, msg: &Message, expires_at: i64) -> Result<(usize, usize), IngestError> {
        let puts = msg.readings.iter().map(|r| {
            let mut item: HashMap<String, AttributeValue> = HashMap::with_capacity(6);
            item.insert(attr::NODE_ID.into(), s(&msg.node_id));
            item.insert(attr::TS.into(), n(r.ts));
            item.insert(
                attr::PARAMS.into(),
                AttributeValue::M(r.params.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
            );
            item.insert(attr::RECEIVED_AT.into(), n(msg.received_at));
            item.insert(attr::EXPIRES_AT.into(), n(expires_at));
            if let Some(id) = &r.msg_id {
                item.insert(attr::MSG_ID.into(), s(id));
            }
            self.ddb
                .put_item()
                .table_name(&self.tables.telemetry)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#ts)")
                .expression_attribute_names("#ts", attr::TS)
                .send()
        });
        let (mut stored, mut dup) = (0, 0);
        for result in futures_util::future::join_all(puts).await {
            match result {
                Ok(_) => stored += 1,
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => dup += 1,
                Err(e) => return Err(IngestError::Store(DisplayErrorContext(e).to_string())),
            }
        }
        Ok((stored, dup))
    }
}
