//! DynamoDB writes of the batched layout (`rainmaker_model::telemetry::layout`): one conditional put per group,
//! `attribute_not_exists(ts)` on `(node_id, oldest ts)`.
//!
//! A failed condition returns the item already there (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, no extra
//! read): its readings count as duplicates and the rest of the group — if any — is put again as its own item,
//! keyed by its own oldest reading. So a batch delivered again writes nothing, and a retried batch that begins
//! with an item's first reading (a partial failure moved the checkpoint) keeps the readings the first delivery did
//! not have. Nothing is lost; a reading may be stored twice only when a retried group begins after an item's first
//! reading (readers drop repeats by `ts`).

use crate::group::{Entry, Group};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::{map_to_json, n, s, to_av};
use rainmaker_model::telemetry::layout::readings_in;
use rainmaker_model::{attr, TableNames};
use std::collections::{HashMap, HashSet};

pub(crate) struct Store {
    pub(crate) ddb: Client,
    pub(crate) tables: TableNames,
}

/// What writing one group did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Readings newly stored.
    pub stored: usize,
    /// Readings already stored.
    pub duplicates: usize,
    /// Put calls made.
    pub puts: usize,
}

impl Store {
    pub(crate) fn new(sdk: &SdkConfig, tables: TableNames) -> Self {
        Store { ddb: Client::new(sdk), tables }
    }

    /// Store `group` from shard `shard` (see the module docs); an error names the DynamoDB failure.
    pub(crate) async fn put_group(&self, shard: &str, group: &Group, ttl_days: i64) -> Result<Written, String> {
        let mut out = Written::default();
        let mut rest: Vec<&Entry> = group.readings.iter().collect();
        while let Some(first) = rest.first() {
            let key_ts = first.ts;
            let item = item(&group.node_id, &rest, shard, ttl_days);
            out.puts += 1;
            let result = self
                .ddb
                .put_item()
                .table_name(&self.tables.telemetry)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#ts)")
                .expression_attribute_names("#ts", attr::TS)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => {
                    out.stored += rest.len();
                    break;
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    // The readings of the item already there (either layout) are stored; so is the key's own.
                    let mut there: HashSet<i64> = HashSet::from([key_ts]);
                    if let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) =
                        e.err()
                    {
                        if let Some(old) = c.item() {
                            there.extend(readings_in(&map_to_json(old)).into_iter().map(|r| r.ts));
                        }
                    }
                    let before = rest.len();
                    rest.retain(|r| !there.contains(&r.ts));
                    out.duplicates += before - rest.len();
                }
                Err(e) => return Err(DisplayErrorContext(e).to_string()),
            }
        }
        Ok(out)
    }
}

/// The item of the batched layout for `readings` (ascending `ts`, at least one) of `node_id` from shard `shard`:
/// keyed by the oldest reading, `received_at` the newest, `batch` = shard and first sequence number.
pub fn item(node_id: &str, readings: &[&Entry], shard: &str, ttl_days: i64) -> HashMap<String, AttributeValue> {
    let key_ts = readings.first().map_or(0, |r| r.ts);
    let received_at = readings.iter().map(|r| r.received_at).max().unwrap_or(0);
    let first_seq = readings.iter().map(|r| r.sequence.as_str()).min_by(|a, b| crate::group::seq_cmp(a, b));
    let list: Vec<AttributeValue> = readings
        .iter()
        .map(|r| {
            let mut m: HashMap<String, AttributeValue> = HashMap::with_capacity(4);
            m.insert(attr::TS.into(), n(r.ts));
            m.insert(
                attr::PARAMS.into(),
                AttributeValue::M(r.params.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
            );
            m.insert(attr::RECEIVED_AT.into(), n(r.received_at));
            if let Some(id) = &r.msg_id {
                m.insert(attr::MSG_ID.into(), s(id));
            }
            AttributeValue::M(m)
        })
        .collect();
    let mut item: HashMap<String, AttributeValue> = HashMap::with_capacity(6);
    item.insert(attr::NODE_ID.into(), s(node_id));
    item.insert(attr::TS.into(), n(key_ts));
    item.insert(attr::READINGS.into(), AttributeValue::L(list));
    item.insert(attr::RECEIVED_AT.into(), n(received_at));
    item.insert(attr::EXPIRES_AT.into(), n(received_at / 1000 + ttl_days * 86_400));
    item.insert(attr::BATCH.into(), s(format!("{shard}/{}", first_seq.unwrap_or(""))));
    item
}
