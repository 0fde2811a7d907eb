//! Binding a node to a user, in two steps.
//!
//! 1. The app calls `POST /nodes/bind {"node_id"}`: for a provisioned node without an owner, a short code is
//!    stored in `binding_requests` (TTL `BINDING_CODE_TTL_SECONDS`) and returned with its expiry.
//! 2. The app hands the code to the device (BLE / SoftAP during Wi-Fi setup); the device publishes
//!    `{"binding_code"}` to its binding topic; the rule adds `node_id` (from the topic, which the IoT policy ties
//!    to the device's own thing name) and `received_at`, and invokes this function. If the code exists, has not
//!    expired and was issued for that very node, one transaction sets the node's owner (only if it has none),
//!    writes the owner's `user_nodes` item and consumes the code.

use crate::error::{sdk, ApiError};
use crate::http::id_field;
use crate::Api;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use rainmaker_model::ddb::{get_n, get_s, n, s};
use rainmaker_model::{attr, time, Role};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Characters of a binding code: no 0/O, 1/I/L, so a code can be read out and typed.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a binding code (31^8 ≈ 8.5e11 codes).
pub const CODE_LEN: usize = 8;

/// A fresh random binding code.
pub fn generate_code() -> Result<String, getrandom::Error> {
    let mut code = String::with_capacity(CODE_LEN);
    let limit = 256 - 256 % ALPHABET.len(); // reject bytes that would bias the choice
    while code.len() < CODE_LEN {
        let mut buf = [0u8; 16];
        getrandom::fill(&mut buf)?;
        for b in buf.iter().filter(|b| usize::from(**b) < limit).take(CODE_LEN - code.len()) {
            code.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
        }
    }
    Ok(code)
}

/// What a binding confirmation did (returned to the rule's invocation and logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BindingOutcome {
    Bound { node_id: String, user_id: String },
    Rejected { reason: String },
}

impl Api {
    pub(crate) async fn start_binding(
        &self,
        user_id: &str,
        email: Option<&str>,
        body: Map<String, Value>,
    ) -> Result<(u16, Value), ApiError> {
        let node_id = id_field(&body, attr::NODE_ID)?;
        let node = self
            .node_item(&node_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("node {node_id:?} is not provisioned")))?;
        if node.contains_key(attr::OWNER_ID) {
            return Err(ApiError::conflict("the node is already bound; its owner must unbind it first"));
        }
        self.remember_user(user_id, email).await?;
        let now = time::now_ms();
        let expires_at = now / 1000 + self.settings.binding_code_ttl_seconds;
        for _ in 0..3 {
            let code = generate_code().map_err(ApiError::internal)?;
            let result = self
                .ddb
                .put_item()
                .table_name(&self.tables.binding_requests)
                .item(attr::BINDING_CODE, s(&code))
                .item(attr::USER_ID, s(user_id))
                .item(attr::NODE_ID, s(&node_id))
                .item(attr::CREATED_AT, n(now))
                .item(attr::EXPIRES_AT, n(expires_at))
                .condition_expression("attribute_not_exists(#c)")
                .expression_attribute_names("#c", attr::BINDING_CODE)
                .send()
                .await;
            match result {
                Ok(_) => return Ok((201, json!({"binding_code": code, "node_id": node_id, "expires_at": expires_at}))),
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => continue,
                Err(e) => return Err(sdk(e)),
            }
        }
        Err(ApiError::internal("three binding-code collisions in a row"))
    }

    /// Create the `users` item on first use (`created_at` is kept, `email` refreshed from the claims).
    async fn remember_user(&self, user_id: &str, email: Option<&str>) -> Result<(), ApiError> {
        let mut req = self
            .ddb
            .update_item()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(user_id))
            .expression_attribute_names("#c", attr::CREATED_AT)
            .expression_attribute_values(":now", n(time::now_ms()));
        req = match email {
            Some(e) => req
                .update_expression("SET #c = if_not_exists(#c, :now), #e = :e")
                .expression_attribute_names("#e", attr::EMAIL)
                .expression_attribute_values(":e", s(e)),
            None => req.update_expression("SET #c = if_not_exists(#c, :now)"),
        };
        req.send().await.map_err(sdk)?;
        Ok(())
    }

    /// The device side (binding topic rule event). Bad or stale requests are `Rejected` (logged, not retried);
    /// storage errors are `Err` so Lambda retries.
    pub(crate) async fn confirm_binding(&self, event: &Value) -> Result<BindingOutcome, ApiError> {
        let outcome = self.try_confirm(event).await?;
        match &outcome {
            BindingOutcome::Bound { node_id, user_id } => tracing::info!(node_id, user_id, "node bound"),
            BindingOutcome::Rejected { reason } => tracing::warn!(reason, "binding rejected"),
        }
        Ok(outcome)
    }

    async fn try_confirm(&self, event: &Value) -> Result<BindingOutcome, ApiError> {
        let reject = |r: &str| Ok(BindingOutcome::Rejected { reason: r.to_string() });
        let Some(obj) = event.as_object() else { return reject("event is not an object") };
        let (Ok(code), Ok(node_id)) = (id_field(obj, attr::BINDING_CODE), id_field(obj, attr::NODE_ID)) else {
            return reject("binding_code and node_id must be strings");
        };
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.binding_requests)
            .key(attr::BINDING_CODE, s(&code))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        let Some(item) = out.item() else { return reject("unknown or already used binding code") };
        let (Ok(user_id), Ok(for_node), Ok(expires_at)) =
            (get_s(item, attr::USER_ID), get_s(item, attr::NODE_ID), get_n(item, attr::EXPIRES_AT))
        else {
            return reject("malformed binding request item");
        };
        if expires_at <= time::now_s() {
            return reject("binding code expired"); // TTL deletion is lazy: check it ourselves
        }
        if for_node != node_id {
            return reject("binding code was issued for another node");
        }
        let user_id = user_id.to_string();
        match self.bind_transaction(&code, &node_id, &user_id).await {
            Ok(()) => Ok(BindingOutcome::Bound { node_id, user_id }),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                reject("node already has an owner, or the code was used concurrently")
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn bind_transaction(
        &self,
        code: &str,
        node_id: &str,
        user_id: &str,
    ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>> {
        let now = time::now_ms();
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| SdkError::construction_failure(e);
        let owner = Update::builder()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, s(node_id))
            .update_expression("SET #o = :u")
            .condition_expression("attribute_exists(#n) AND attribute_not_exists(#o)")
            .expression_attribute_names("#o", attr::OWNER_ID)
            .expression_attribute_names("#n", attr::NODE_ID)
            .expression_attribute_values(":u", s(user_id))
            .build()
            .map_err(build_err)?;
        let link = Put::builder()
            .table_name(&self.tables.user_nodes)
            .item(attr::USER_ID, s(user_id))
            .item(attr::NODE_ID, s(node_id))
            .item(attr::ROLE, s(Role::Owner.as_str()))
            .item(attr::GRANTED_BY, s(user_id))
            .item(attr::GRANTED_AT, n(now))
            .build()
            .map_err(build_err)?;
        let consume = Delete::builder()
            .table_name(&self.tables.binding_requests)
            .key(attr::BINDING_CODE, s(code))
            .condition_expression("attribute_exists(#c)")
            .expression_attribute_names("#c", attr::BINDING_CODE)
            .build()
            .map_err(build_err)?;
        self.ddb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(owner).build())
            .transact_items(TransactWriteItem::builder().put(link).build())
            .transact_items(TransactWriteItem::builder().delete(consume).build())
            .send()
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_differ() {
        let a = generate_code().unwrap();
        let b = generate_code().unwrap();
        assert_eq!(a.len(), CODE_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }
}
