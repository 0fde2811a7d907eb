//! `GET /nodes`, `GET /nodes/{node_id}`, `DELETE /nodes/{node_id}` (unbind).

use crate::error::{sdk, ApiError};
use crate::Api;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_sdk_dynamodb::Client;
pub(crate) use rainmaker_model::ddb::Item;
use rainmaker_model::ddb::{from_av, get_n, get_s, s};
use rainmaker_model::ownership::{self, Grant, Ownership};
use rainmaker_model::unbind::{self, UnbindError};
use rainmaker_model::{attr, Role};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The node attributes a user sees (not `owner_id`: a shared user does not learn the owner's id).
const VISIBLE: [&str; 5] = [attr::NODE_ID, attr::SERIAL, attr::CONNECTED, attr::PRESENCE_AT, attr::PROVISIONED_AT];

/// The node as a user sees it, with its derived `last_seen_at` (see [`last_seen`]).
fn view(item: &Item, role: Role, newest_reading: Option<i64>) -> Value {
    let mut m: Map<String, Value> =
        VISIBLE.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), from_av(v)))).collect();
    if let Some(t) = last_seen(item, newest_reading) {
        m.insert(attr::LAST_SEEN_AT.into(), json!(t));
    }
    m.insert(attr::ROLE.into(), json!(role.as_str()));
    Value::Object(m)
}

/// A node's last-seen time, derived on read (issue 13: telemetry no longer writes the node per message): the
/// newest of its last lifecycle event (`presence_at`), the `received_at` of its newest telemetry item and a
/// `last_seen_at` stored by an older version.
pub(crate) fn last_seen(item: &Item, newest_reading: Option<i64>) -> Option<i64> {
    let stored = |k: &'static str| get_n(item, k).ok();
    [stored(attr::PRESENCE_AT), stored(attr::LAST_SEEN_AT), newest_reading].into_iter().flatten().max()
}

/// `received_at` of the node's newest telemetry item: one Query, newest first, `Limit 1`, eventually consistent.
async fn newest_reading(ddb: &Client, table: &str, node_id: &str) -> Result<Option<i64>, ApiError> {
    let out = ddb
        .query()
        .table_name(table)
        .key_condition_expression("#n = :n")
        .expression_attribute_names("#n", attr::NODE_ID)
        .expression_attribute_values(":n", s(node_id))
        .scan_index_forward(false)
        .limit(1)
        .send()
        .await
        .map_err(sdk)?;
    Ok(out.items().first().and_then(|i| get_n(i, attr::RECEIVED_AT).ok()))
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
        let mut visible = Vec::with_capacity(ids.len());
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
                    visible.push((item, role));
                }
            }
        }
        // The newest reading of every listed node, concurrently.
        let mut queries = tokio::task::JoinSet::new();
        for (i, (item, _)) in visible.iter().enumerate() {
            let (ddb, table) = (self.ddb.clone(), self.tables.telemetry.clone());
            let id = get_s(item, attr::NODE_ID).unwrap_or_default().to_string();
            queries.spawn(async move { (i, newest_reading(&ddb, &table, &id).await) });
        }
        let mut newest = vec![None; visible.len()];
        while let Some(done) = queries.join_next().await {
            let (i, result) = done.map_err(ApiError::internal)?;
            newest[i] = result?;
        }
        let mut nodes: Vec<Value> = visible.iter().zip(newest).map(|((item, role), t)| view(item, *role, t)).collect();
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
        let newest = newest_reading(&self.ddb, &self.tables.telemetry, node_id).await?;
        Ok((200, json!({ "node": view(&access.node, access.role, newest) })))
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
