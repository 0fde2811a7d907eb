//! `POST /nodes/{node_id}/shares` and `DELETE /nodes/{node_id}/shares/{user_id}` (owner only).

use crate::error::{sdk, ApiError};
use crate::http::{id_field, valid_id};
use crate::Api;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use rainmaker_model::ddb::s;
use rainmaker_model::{attr, time, write, ErrorCode, Role};
use serde_json::{json, Map, Value};

impl Api {
    pub(crate) async fn share(
        &self,
        user_id: &str,
        node_id: &str,
        body: Map<String, Value>,
    ) -> Result<(u16, Value), ApiError> {
        if !self.settings.sharing_enabled {
            return Err(ApiError::new(ErrorCode::SharingDisabled, "sharing is disabled for this deployment"));
        }
        let access = self.require_owner(user_id, node_id).await?;
        let target = id_field(&body, attr::USER_ID)?;
        if target == user_id {
            return Err(ApiError::bad_request("you already own this node"));
        }
        // One transaction: the caller still owns the node in the epoch the check saw, and the grant is new
        // (rainmaker_model::write::share, the write the CLI's seed sends too).
        let items =
            write::share(&self.tables, node_id, user_id, &target, access.epoch(), time::now_ms()).map_err(sdk)?;
        let result = self.ddb.transact_write_items().set_transact_items(Some(items.to_vec())).send().await;
        match result {
            Ok(_) => Ok((201, json!({"node_id": node_id, "user_id": target, "role": Role::Shared.as_str()}))),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                let failed = |i: usize| {
                    let reasons = match e.err() {
                        TransactWriteItemsError::TransactionCanceledException(t) => t.cancellation_reasons(),
                        _ => &[],
                    };
                    reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                };
                if failed(0) {
                    Err(ApiError::not_found(format!("node {node_id:?} not found")))
                } else if failed(1) {
                    Err(ApiError::conflict("the node is already shared with this user"))
                } else {
                    Err(ApiError::conflict("the node changed meanwhile; retry"))
                }
            }
            Err(e) => Err(sdk(e)),
        }
    }

    pub(crate) async fn unshare(&self, user_id: &str, node_id: &str, target: &str) -> Result<(u16, Value), ApiError> {
        self.require_owner(user_id, node_id).await?;
        if !valid_id(target) {
            return Err(ApiError::bad_request("bad user id"));
        }
        if target == user_id {
            return Err(ApiError::bad_request(
                "the owner cannot unshare themselves; unbind with DELETE /nodes/{node_id}",
            ));
        }
        let result = self
            .ddb
            .delete_item()
            .table_name(&self.tables.user_nodes)
            .key(attr::USER_ID, s(target))
            .key(attr::NODE_ID, s(node_id))
            .condition_expression("#r = :shared")
            .expression_attribute_names("#r", attr::ROLE)
            .expression_attribute_values(":shared", s(Role::Shared.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok((200, json!({"node_id": node_id, "user_id": target, "removed": true}))),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(ApiError::not_found("the node is not shared with this user"))
            }
            Err(e) => Err(sdk(e)),
        }
    }
}
