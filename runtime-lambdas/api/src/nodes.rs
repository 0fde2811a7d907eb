//! `GET /nodes`, `GET /nodes/{node_id}`, `DELETE /nodes/{node_id}` (unbind).

use crate::error::{sdk, ApiError};
use crate::Api;
use aws_sdk_dynamodb::types::KeysAndAttributes;
pub(crate) use rainmaker_model::ddb::Item;
use rainmaker_model::ddb::{from_av, get_s, s};
use rainmaker_model::ownership::{self, Grant, Ownership};
use rainmaker_model::unbind::{self, UnbindError};
use rainmaker_model::{attr, Role};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The node attributes a user sees (not `owner_id`: a shared user does not learn the owner's id).
const VISIBLE: [&str; 6] =
    [attr::NODE_ID, attr::SERIAL, attr::CONNECTED, attr::PRESENCE_AT, attr::LAST_SEEN_AT, attr::PROVISIONED_AT];

fn view(item: &Item, role: Role) -> Value {
    let mut m: Map<String, Value> =
        VISIBLE.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), from_av(v)))).collect();
    m.insert(attr::ROLE.into(), json!(role.as_str()));
    Value::Object(m)
}

impl Api {
    pub(crate) async fn list_nodes(&self, user_id: &str) -> Result<(u16, Value), ApiError> {
        // node id -> (role, epoch) of the caller's grants; a grant counts only in its own ownership epoch
        let mut grants: HashMap<String, (String, Option<String>)> = HashMap::new();
        let mut pages = self
            .ddb
            .query()
            .table_name(&self.tables.user_nodes)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", attr::USER_ID)
            .expression_attribute_values(":u", s(user_id))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(sdk)?;
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            if let (Some(node), Some(role)) = (text(attr::NODE_ID), text(attr::ROLE)) {
                grants.insert(node, (role, text(attr::EPOCH)));
            }
        }
        let mut ids: Vec<&String> = grants.keys().collect();
        ids.sort();
        let mut nodes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            for item in self.batch_get_nodes(chunk).await? {
                let Some((role, epoch)) = get_s(&item, attr::NODE_ID).ok().and_then(|id| grants.get(id)) else {
                    continue;
                };
                let grant = Grant { role: Some(role), epoch: epoch.as_deref() };
                let node = Ownership {
                    owner_id: get_s(&item, attr::OWNER_ID).ok(),
                    owner_epoch: get_s(&item, attr::OWNER_EPOCH).ok(),
                };
                if let Some(role) = ownership::role(user_id, grant, node) {
                    nodes.push(view(&item, role));
                }
            }
        }
        nodes.sort_by(|a, b| a[attr::NODE_ID].as_str().cmp(&b[attr::NODE_ID].as_str()));
        Ok((200, json!({ "nodes": nodes })))
    }

    async fn batch_get_nodes(&self, ids: &[&String]) -> Result<Vec<Item>, ApiError> {
        let keys: Vec<Item> =
            ids.iter().map(|id| HashMap::from([(attr::NODE_ID.to_string(), s(id.as_str()))])).collect();
        let mut request = Some(KeysAndAttributes::builder().set_keys(Some(keys)).build().map_err(sdk)?);
        let mut found = Vec::new();
        for _ in 0..5 {
            let Some(req) = request.take() else { break };
            let out = self.ddb.batch_get_item().request_items(&self.tables.nodes, req).send().await.map_err(sdk)?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.tables.nodes)) {
                found.extend(items.iter().cloned());
            }
            request = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.tables.nodes))
                .cloned()
                .filter(|k| !k.keys().is_empty());
        }
        match request {
            None => Ok(found),
            Some(_) => Err(ApiError::internal("batch_get_item kept returning unprocessed keys")),
        }
    }

    pub(crate) async fn get_node(&self, user_id: &str, node_id: &str) -> Result<(u16, Value), ApiError> {
        let access = self.require_access(user_id, node_id).await?;
        Ok((200, json!({ "node": view(&access.node, access.role) })))
    }

    pub(crate) async fn node_item(&self, node_id: &str) -> Result<Option<Item>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, s(node_id))
            .consistent_read(true)
            .send()
            .await;
        Ok(out.map_err(sdk)?.item().cloned())
    }

    /// Unbind through the one write path (`rainmaker_model::unbind`: owner, epoch and every grant in one
    /// transaction), then clear the shadow's desired and reported state so the next owner starts clean.
    pub(crate) async fn unbind(&self, user_id: &str, node_id: &str) -> Result<(u16, Value), ApiError> {
        self.require_owner(user_id, node_id).await?;
        let done = unbind::unbind(&self.ddb, &self.tables, node_id, user_id).await.map_err(|e| match e {
            UnbindError::Conflict => ApiError::conflict("the node changed meanwhile; retry"),
            UnbindError::TooManyGrants => ApiError::conflict(e.to_string()),
            UnbindError::Sdk { .. } => ApiError::internal(e),
        })?;
        self.clear_state(node_id).await;
        let shares = done.removed_grants.iter().filter(|u| u.as_str() != user_id).count();
        Ok((200, json!({ "node_id": node_id, "unbound": true, "removed_shares": shares })))
    }
}
