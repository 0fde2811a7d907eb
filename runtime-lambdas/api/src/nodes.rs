//! `GET /nodes`, `GET /nodes/{node_id}`, `DELETE /nodes/{node_id}` (unbind).

use crate::authz::not_found;
use crate::error::{sdk, ApiError};
use crate::Api;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, TransactWriteItem, Update};
use rainmaker_model::ddb::{from_av, s, Item};
use rainmaker_model::tables::GSI_BY_NODE;
use rainmaker_model::{attr, Role};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The node attributes a user sees (not `owner_id`: a shared user does not learn the owner's id).
const VISIBLE: [&str; 6] =
    [attr::NODE_ID, attr::SERIAL, attr::CONNECTED, attr::PRESENCE_AT, attr::LAST_SEEN_AT, attr::PROVISIONED_AT];

/// Most items in one DynamoDB transaction.
const MAX_TRANSACTION: usize = 100;

fn view(item: &Item, role: Role) -> Value {
    let mut m: Map<String, Value> =
        VISIBLE.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), from_av(v)))).collect();
    m.insert(attr::ROLE.into(), json!(role.as_str()));
    Value::Object(m)
}

impl Api {
    pub(crate) async fn list_nodes(&self, user_id: &str) -> Result<(u16, Value), ApiError> {
        let mut roles: HashMap<String, Role> = HashMap::new();
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
            let node = item.get(attr::NODE_ID).and_then(|v| v.as_s().ok());
            let role = item.get(attr::ROLE).and_then(|v| v.as_s().ok()).and_then(|r| Role::parse(r));
            if let (Some(node), Some(role)) = (node, role) {
                roles.insert(node.clone(), role);
            }
        }
        let mut ids: Vec<&String> = roles.keys().collect();
        ids.sort();
        let mut nodes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            for item in self.batch_get_nodes(chunk).await? {
                if let Some(role) = item.get(attr::NODE_ID).and_then(|v| v.as_s().ok()).and_then(|id| roles.get(id)) {
                    nodes.push(view(&item, *role));
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
        let role = self.require_access(user_id, node_id).await?;
        let item = self.node_item(node_id).await?.ok_or_else(|| not_found(node_id))?;
        Ok((200, json!({ "node": view(&item, role) })))
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

    /// Unbind: remove the owner and every share, in one transaction; then clear the shadow's desired state.
    pub(crate) async fn unbind(&self, user_id: &str, node_id: &str) -> Result<(u16, Value), ApiError> {
        self.require_owner(user_id, node_id).await?;
        let users = self.users_of(node_id).await?;
        let clear_owner = Update::builder()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, s(node_id))
            .update_expression("REMOVE #o")
            .condition_expression("#o = :u")
            .expression_attribute_names("#o", attr::OWNER_ID)
            .expression_attribute_values(":u", s(user_id))
            .build()
            .map_err(sdk)?;
        let mut items = vec![TransactWriteItem::builder().update(clear_owner).build()];
        for u in users.iter().chain(std::iter::once(&user_id.to_string())).collect::<std::collections::BTreeSet<_>>() {
            let del = Delete::builder()
                .table_name(&self.tables.user_nodes)
                .key(attr::USER_ID, s(u.as_str()))
                .key(attr::NODE_ID, s(node_id))
                .build()
                .map_err(sdk)?;
            items.push(TransactWriteItem::builder().delete(del).build());
        }
        if items.len() > MAX_TRANSACTION {
            return Err(ApiError::conflict(format!(
                "node has more than {} shares; unshare some first",
                MAX_TRANSACTION - 2
            )));
        }
        let result = self.ddb.transact_write_items().set_transact_items(Some(items)).send().await;
        if let Err(e) = result {
            let conditional = e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception());
            return Err(if conditional { ApiError::conflict("the node changed meanwhile; retry") } else { sdk(e) });
        }
        self.clear_desired(node_id).await;
        Ok((200, json!({ "node_id": node_id, "unbound": true, "removed_shares": users.len().saturating_sub(1) })))
    }

    /// Every user id with a `user_nodes` item for the node (the `by-node` GSI).
    pub(crate) async fn users_of(&self, node_id: &str) -> Result<Vec<String>, ApiError> {
        let mut pages = self
            .ddb
            .query()
            .table_name(&self.tables.user_nodes)
            .index_name(GSI_BY_NODE)
            .key_condition_expression("#n = :n")
            .expression_attribute_names("#n", attr::NODE_ID)
            .expression_attribute_values(":n", s(node_id))
            .into_paginator()
            .items()
            .send();
        let mut users = Vec::new();
        while let Some(item) = pages.next().await {
            if let Some(AttributeValue::S(u)) = item.map_err(sdk)?.get(attr::USER_ID) {
                users.push(u.clone());
            }
        }
        Ok(users)
    }
}
