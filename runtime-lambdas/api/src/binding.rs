//! Binding a node to a user, the app's step: `POST /nodes/bind {"node_id"}` stores a short code in
//! `binding_requests` (TTL `BINDING_CODE_TTL_SECONDS`) for a provisioned node without an owner and returns it with
//! its expiry. The app hands the code to the device, which publishes it to its binding topic; the device's step is
//! another function, binding-confirm, with its own role (this function is invoked by API Gateway only).

use crate::error::{sdk, ApiError};
use crate::http::id_field;
use crate::Api;
use aws_sdk_dynamodb::error::SdkError;
use rainmaker_model::ddb::{n, s};
use rainmaker_model::{attr, time};
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
