//! Authorization: the caller's role on a node, from their `user_nodes` grant and the node's ownership epoch
//! (`rainmaker_model::ownership`): both items are read strongly, and a grant from an earlier ownership grants
//! nothing.

use crate::error::{sdk, ApiError};
use crate::nodes::Item;
use crate::Api;
use rainmaker_model::ddb::{get_s, s};
use rainmaker_model::ownership::{self, Grant, Ownership};
use rainmaker_model::{attr, Role};

/// A caller's valid access to a node.
pub(crate) struct Access {
    pub role: Role,
    /// The node item, as read for the check.
    pub node: Item,
}

impl Access {
    /// The node's current ownership epoch (absent on items from before epochs).
    pub fn epoch(&self) -> Option<&str> {
        get_s(&self.node, attr::OWNER_EPOCH).ok()
    }
}

impl Api {
    /// The caller's valid access to `node_id`, if any.
    pub(crate) async fn access(&self, user_id: &str, node_id: &str) -> Result<Option<Access>, ApiError> {
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
        let Some(grant) = out.item() else { return Ok(None) };
        let Some(node) = self.node_item(node_id).await? else { return Ok(None) };
        let role = ownership::role(
            user_id,
            Grant { role: get_s(grant, attr::ROLE).ok(), epoch: get_s(grant, attr::EPOCH).ok() },
            Ownership {
                owner_id: get_s(&node, attr::OWNER_ID).ok(),
                owner_epoch: get_s(&node, attr::OWNER_EPOCH).ok(),
            },
        );
        Ok(role.map(|role| Access { role, node }))
    }

    /// Owner or shared; otherwise `NOT_FOUND` (existence is not revealed).
    pub(crate) async fn require_access(&self, user_id: &str, node_id: &str) -> Result<Access, ApiError> {
        self.access(user_id, node_id).await?.ok_or_else(|| not_found(node_id))
    }

    /// Owner; `FORBIDDEN` for a shared user, `NOT_FOUND` for anyone else.
    pub(crate) async fn require_owner(&self, user_id: &str, node_id: &str) -> Result<Access, ApiError> {
        let access = self.require_access(user_id, node_id).await?;
        match access.role {
            Role::Owner => Ok(access),
            Role::Shared => Err(ApiError::forbidden("only the node's owner may do this")),
        }
    }
}

pub(crate) fn not_found(node_id: &str) -> ApiError {
    ApiError::not_found(format!("node {node_id:?} not found"))
}
