//! Binding a node to a user, the app's step: `POST /nodes/bind {"node_id"}` stores a short code in
//! `binding_requests` (TTL `BINDING_CODE_TTL_SECONDS`) and returns it with its expiry, whatever the node: the
//! answer and the calls are the same for unknown, bound and unbound nodes (no existence oracle), and only a code
//! for a provisioned node without an owner can ever be confirmed. A user has at most
//! `MAX_OUTSTANDING_BINDING_CODES` unexpired codes (429 beyond). The app hands the code to the device, which publishes it to its binding topic; the device's step is
//! another function, binding-confirm, with its own role (this function is invoked by API Gateway only).

use crate::error::{sdk, ApiError};
use crate::http::id_field;
use crate::Api;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::Select;
use rainmaker_model::contract::MAX_OUTSTANDING_BINDING_CODES;
use rainmaker_model::ddb::{n, s};
use rainmaker_model::tables::GSI_BY_USER;
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
        // No read of the node: unknown, bound and unbound nodes get the same answer after the same calls (no
        // existence oracle). A code for a node that is unknown or owned never confirms: binding-confirm binds
        // only an existing node without an owner, from that node's own certificate.
        let now = time::now_ms();
        let outstanding = self.outstanding_codes(user_id, now / 1000).await?;
        if outstanding >= MAX_OUTSTANDING_BINDING_CODES {
            return Err(ApiError::too_many_requests(format!(
                "you have {MAX_OUTSTANDING_BINDING_CODES} binding codes outstanding, the most allowed; use one or \
                 wait until one expires (after {} seconds) before asking for another",
                self.settings.binding_code_ttl_seconds
            )));
        }
        self.remember_user(user_id, email).await?;
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

    /// How many of the user's codes have not expired (`by-user` index, eventually consistent), counted up to the
    /// cap: used codes are deleted by binding-confirm, expired ones filtered out before TTL deletion gets to them.
    async fn outstanding_codes(&self, user_id: &str, now_s: i64) -> Result<usize, ApiError> {
        let mut count = 0usize;
        let mut start = None;
        loop {
            let out = self
                .ddb
                .query()
                .table_name(&self.tables.binding_requests)
                .index_name(GSI_BY_USER)
                .key_condition_expression("#u = :u")
                .filter_expression("#x > :now")
                .expression_attribute_names("#u", attr::USER_ID)
                .expression_attribute_names("#x", attr::EXPIRES_AT)
                .expression_attribute_values(":u", s(user_id))
                .expression_attribute_values(":now", n(now_s))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            count += usize::try_from(out.count()).unwrap_or(0);
            start = out.last_evaluated_key().cloned();
            if start.is_none() || count >= MAX_OUTSTANDING_BINDING_CODES {
                return Ok(count);
            }
        }
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
