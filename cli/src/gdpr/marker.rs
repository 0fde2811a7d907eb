//! The erasure marker in the tenant's own account: one item of the `users` table keyed
//! `gdpr-erasure#<subject>` (the keyed hash of the user id, never the id) holding the finished receipt, so a
//! finished erase run again from any machine prints the same receipt instead of "unknown user".
//!
//! Why there: the `users` table already exists, is PITR-protected and `Retain`ed like every table, and a key with
//! `#` can never be a Cognito `sub` (a UUID), so no user's item is ever read or overwritten by it. The receipt holds
//! keyed hashes and counts only (no personal data), so the marker holds none either.

use super::error::sdk;
use super::{GdprClients, GdprError, Resources};
use rainmaker_core::gdpr::Receipt;
use rainmaker_model::attr;
use rainmaker_model::ddb::s;

/// The key prefix of marker items in the `users` table.
pub const PREFIX: &str = "gdpr-erasure#";
/// The attribute holding the receipt's JSON.
pub const RECEIPT: &str = "receipt";
/// The attribute holding the end of the erase (RFC 3339).
pub const FINISHED_AT: &str = "finished_at";

/// The `user_id` of the marker of `subject`.
pub fn key(subject: &str) -> String {
    format!("{PREFIX}{subject}")
}

/// Whether a `users` key is a marker's (reapply and every reader of users items skip them).
pub fn is_marker(user_id: &str) -> bool {
    user_id.starts_with(PREFIX)
}

/// The finished receipt of `subject`, if the tenant holds one (GetItem, consistent).
pub async fn load(c: &GdprClients, r: &Resources, subject: &str) -> Result<Option<Receipt>, GdprError> {
    let out = c
        .ddb
        .get_item()
        .table_name(&r.tables.users)
        .key(attr::USER_ID, s(key(subject)))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk("DynamoDB GetItem"))?;
    let Some(item) = out.item() else { return Ok(None) };
    let text = item.get(RECEIPT).and_then(|v| v.as_s().ok()).ok_or_else(|| GdprError::Model {
        operation: "DynamoDB GetItem",
        message: format!("the erasure marker {} in {} has no string attribute {RECEIPT}", key(subject), r.tables.users),
        help: "restore the marker from a receipt file (`--receipt`) or delete it and run the erase again".into(),
    })?;
    let receipt: Receipt = serde_json::from_str(text).map_err(|e| GdprError::Model {
        operation: "DynamoDB GetItem",
        message: format!("the erasure marker {} in {} is not a receipt: {e}", key(subject), r.tables.users),
        help: "restore the marker from a receipt file (`--receipt`) or delete it and run the erase again".into(),
    })?;
    Ok(Some(receipt))
}

/// Keep the finished receipt in the tenant (PutItem; a re-run writes the same receipt again).
pub async fn save(c: &GdprClients, r: &Resources, receipt: &Receipt) -> Result<(), GdprError> {
    let text = serde_json::to_string(receipt).map_err(|e| GdprError::io("encoding the receipt", e))?;
    c.ddb
        .put_item()
        .table_name(&r.tables.users)
        .item(attr::USER_ID, s(key(&receipt.subject)))
        .item(RECEIPT, s(text))
        .item(FINISHED_AT, s(receipt.finished_at.clone().unwrap_or_default()))
        .send()
        .await
        .map_err(sdk("DynamoDB PutItem"))?;
    Ok(())
}
