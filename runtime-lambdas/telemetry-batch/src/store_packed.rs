//! DynamoDB writes of the packed layout (`rainmaker_model::telemetry::packed`): one conditional put per item,
//! `attribute_not_exists(node_id)` on `(#packed-NNN, oldest received_at × 1000 + attempt)`.
//!
//! A failed condition returns the item already there (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, no extra
//! read), and `pack::on_collision` decides: the same batch's same item (a redelivery) counts its readings as
//! duplicates; anything else is put again at the next attempt, up to 999, then the put fails and its records are
//! retried by Lambda.

use crate::pack::{on_collision, Collision, PackedItem, MAX_ATTEMPT};
use crate::store::{Store, Written};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use rainmaker_model::attr;
use rainmaker_model::ddb::{n, s};
use rainmaker_model::telemetry::packed::{ATTR_COUNT, ATTR_PACKED};
use std::collections::HashMap;

impl Store {
    /// Store one packed item of the batch `batch` (`<shard>/<first sequence number>`); an error names the
    /// DynamoDB failure.
    pub(crate) async fn put_packed(&self, item: &PackedItem, batch: &str, ttl_days: i64) -> Result<Written, String> {
        let readings = item.readings.len();
        let mut out = Written::default();
        let mut attempt = 0;
        loop {
            out.puts += 1;
            let result = self
                .ddb
                .put_item()
                .table_name(&self.tables.telemetry)
                .set_item(Some(packed_item(item, attempt, batch, ttl_days)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::NODE_ID)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let old = match result {
                Ok(_) => {
                    out.stored = readings;
                    return Ok(out);
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => match e.err() {
                    PutItemError::ConditionalCheckFailedException(c) => c.item().cloned().unwrap_or_default(),
                    _ => HashMap::new(),
                },
                Err(e) => return Err(format!("DynamoDB PutItem failed: {}", DisplayErrorContext(e))),
            };
            let old_batch = old.get(attr::BATCH).and_then(|v| v.as_s().ok()).map(String::as_str);
            let old_packed = old.get(ATTR_PACKED).and_then(|v| v.as_b().ok()).map(Blob::as_ref);
            match on_collision(attempt, batch, item, old_batch, old_packed) {
                Collision::Redelivery => {
                    out.duplicates = readings;
                    return Ok(out);
                }
                Collision::Retry(next) => attempt = next,
                Collision::Exhausted => {
                    return Err(format!(
                        "DynamoDB PutItem failed: ConditionalCheckFailedException: every attempt 0..={MAX_ATTEMPT} \
                         of item {} at {} ms is taken by other items",
                        item.partition_key(),
                        item.oldest()
                    ))
                }
            }
        }
    }
}

/// The item of the packed layout for `item` at `attempt` of batch `batch`.
pub fn packed_item(item: &PackedItem, attempt: u32, batch: &str, ttl_days: i64) -> HashMap<String, AttributeValue> {
    let newest = item.newest();
    let mut m: HashMap<String, AttributeValue> = HashMap::with_capacity(7);
    m.insert(attr::NODE_ID.into(), s(item.partition_key()));
    m.insert(attr::TS.into(), n(item.ts(attempt)));
    m.insert(ATTR_PACKED.into(), AttributeValue::B(Blob::new(item.packed.clone())));
    m.insert(ATTR_COUNT.into(), n(item.readings.len() as i64));
    m.insert(attr::RECEIVED_AT.into(), n(newest));
    m.insert(attr::EXPIRES_AT.into(), n(newest / 1000 + ttl_days * 86_400));
    m.insert(attr::BATCH.into(), s(batch));
    m
}
