//! Authorization: the caller's role on a node, from their `user_nodes` item.

use crate::error::{sdk, ApiError};
use crate::Api;
use rainmaker_model::ddb::s;
use rainmaker_model::{attr, Role};

impl Api {
    /// The caller's role on `node_id`, if any.
    pub(crate) async fn role(&self, user_id: &str, node_id: &str) -> Result<Option<Role>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.user_nodes)
            .key(attr::USER_ID, s(user_id))
            .key(attr::NODE_ID, s(node_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item().and_then(|i| i.get(attr::ROLE)).and_then(|r| r.as_s().ok()).and_then(|r| Role::parse(r)))
    }

    /// Owner or shared; otherwise `NOT_FOUND` (existence is not revealed).
    pub(crate) async fn require_access(&self, user_id: &str, node_id: &str) -> Result<Role, ApiError> {
        self.role(user_id, node_id).await?.ok_or_else(|| not_found(node_id))
    }

    /// Owner; `FORBIDDEN` for a shared user, `NOT_FOUND` for anyone else.
    pub(crate) async fn require_owner(&self, user_id: &str, node_id: &str) -> Result<(), ApiError> {
        match self.require_access(user_id, node_id).await? {
            Role::Owner => Ok(()),
            Role::Shared => Err(ApiError::forbidden("only the node's owner may do this")),
        }
    }
}

pub(crate) fn not_found(node_id: &str) -> ApiError {
    ApiError::not_found(format!("node {node_id:?} not found"))
}
