//! One DynamoDB `BatchWriteItem` of up to 25 requests, with what DynamoDB leaves unprocessed retried (erase deletes,
//! seed puts).

use super::error::sdk;
use super::{GdprClients, GdprError};
use aws_sdk_dynamodb::types::WriteRequest;
use std::time::Duration;

/// Most attempts of one batch before giving up.
pub const MAX_BATCH_ATTEMPTS: u32 = 10;

/// Send `pending` to `table`, retrying unprocessed items with an exponential backoff; after
/// [`MAX_BATCH_ATTEMPTS`] attempts returns `give_up(items still unprocessed, attempts)`.
pub async fn write_all(
    c: &GdprClients,
    table: &str,
    mut pending: Vec<WriteRequest>,
    give_up: impl FnOnce(usize, u32) -> GdprError,
) -> Result<(), GdprError> {
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        let out = c
            .ddb
            .batch_write_item()
            .request_items(table, pending.clone())
            .send()
            .await
            .map_err(sdk("DynamoDB BatchWriteItem"))?;
        pending = match out.unprocessed_items().and_then(|u| u.get(table)) {
            Some(left) => left.clone(),
            None => Vec::new(),
        };
        if !pending.is_empty() {
            if attempt >= MAX_BATCH_ATTEMPTS {
                return Err(give_up(pending.len(), attempt));
            }
            tokio::time::sleep(Duration::from_millis(50u64 << attempt.min(6))).await;
        }
    }
    Ok(())
}
