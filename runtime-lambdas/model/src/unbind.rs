//! Unbinding a node: the one write path that clears a node's owner and removes every grant on it, shared by the
//! API's `DELETE /nodes/{node_id}` and the CLI's `gdpr erase` (feature `dynamodb`).
//!
//! One transaction: `REMOVE owner_id, owner_epoch` and `SET released_at = now` on the node, conditional on the
//! expected owner, the owner's closed ownership window on their `users` item (`crate::window`: the readings
//! received from the bind until now stay attributable to them), plus a `Delete` of every `user_nodes` item of the
//! node (found on the `by-node` index). A grant the eventually consistent index
//! does not show yet survives as an item but grants nothing: its epoch is not the node's any more
//! ([`crate::ownership`]). Run again after it succeeded it finds the node
//! unbound and only removes the owner's grant if one is left, so callers can retry freely. The device shadow is
//! not DynamoDB: callers reset it after this returns (the API clears `desired`, an erase deletes the shadows).

use crate::attr;
use crate::ddb::{n, s};
use crate::tables::{TableNames, GSI_BY_NODE};
use crate::window::{self, Window};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use std::collections::BTreeSet;

/// Most items in one DynamoDB transaction.
pub const MAX_TRANSACTION: usize = 100;

/// What an unbind did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbound {
    /// The node had `owner` as its owner and now has none.
    pub cleared_owner: bool,
    /// Grants deleted (the owner's included).
    pub removed_grants: Vec<String>,
}

/// Why an unbind failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnbindError {
    /// The node has another owner now, or changed while the transaction ran.
    #[error("the node changed meanwhile (another owner, or a grant added); retry")]
    Conflict,
    #[error("node has more than {} grants; unshare some first", MAX_TRANSACTION - 2)]
    TooManyGrants,
    #[error("DynamoDB {operation} failed: {message}")]
    Sdk { operation: &'static str, message: String },
}

fn sdk<E: std::error::Error + 'static>(operation: &'static str) -> impl FnOnce(E) -> UnbindError {
    move |e| UnbindError::Sdk { operation, message: DisplayErrorContext(&e).to_string() }
}

/// Every user id holding a `user_nodes` item on the node (the `by-node` index, paginated).
pub async fn grants_of(ddb: &Client, tables: &TableNames, node_id: &str) -> Result<Vec<String>, UnbindError> {
    Ok(grant_items(ddb, tables, node_id).await?.into_iter().map(|(u, _)| u).collect())
}

/// Every grant of the node as (user id, `granted_at`).
async fn grant_items(
    ddb: &Client,
    tables: &TableNames,
    node_id: &str,
) -> Result<Vec<(String, Option<i64>)>, UnbindError> {
    let mut pages = ddb
        .query()
        .table_name(&tables.user_nodes)
        .index_name(GSI_BY_NODE)
        .key_condition_expression("#n = :n")
        .expression_attribute_names("#n", attr::NODE_ID)
        .expression_attribute_values(":n", s(node_id))
        .into_paginator()
        .items()
        .send();
    let mut users = Vec::new();
    while let Some(item) = pages.next().await {
        let item = item.map_err(sdk("Query"))?;
        if let Some(AttributeValue::S(u)) = item.get(attr::USER_ID) {
            let at = item.get(attr::GRANTED_AT).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
            users.push((u.clone(), at));
        }
    }
    Ok(users)
}

/// Unbind `node_id` from `owner`, recording the owner's closed window: see the module documentation. The API's
/// `DELETE /nodes/{id}` and `serials reset` unbind this way.
pub async fn unbind(ddb: &Client, tables: &TableNames, node_id: &str, owner: &str) -> Result<Unbound, UnbindError> {
    unbind_with(ddb, tables, node_id, owner, true).await
}

/// [`unbind`], recording the owner's window or not: `gdpr erase` and `gdpr reapply` do not, as they delete the
/// owner's readings and `users` item (a window written there would recreate an erased user's item).
pub async fn unbind_with(
    ddb: &Client,
    tables: &TableNames,
    node_id: &str,
    owner: &str,
    record: bool,
) -> Result<Unbound, UnbindError> {
    let node = ddb
        .get_item()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, s(node_id))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk("GetItem"))?;
    let owned = node.item().and_then(|i| i.get(attr::OWNER_ID)).and_then(|v| v.as_s().ok()).is_some_and(|o| o == owner);
    let epoch = node.item().and_then(|i| i.get(attr::OWNER_EPOCH)).and_then(|v| v.as_s().ok()).cloned();
    let grants = grant_items(ddb, tables, node_id).await?;
    let owner_granted_at = grants.iter().find(|(u, _)| u == owner).and_then(|(_, at)| *at);
    let mut users: BTreeSet<String> = grants.into_iter().map(|(u, _)| u).collect();
    if !owned {
        // already unbound (or another owner now): only the owner's own grant may be left over
        users.retain(|u| u == owner);
    } else {
        users.insert(owner.to_string());
    }
    let mut items = Vec::new();
    if owned {
        // the window ends now, never before it began (two hosts' clocks): the next bind starts at or after it
        let from = epoch.as_deref().and_then(window::epoch_start).or(owner_granted_at).unwrap_or(0);
        let now = crate::time::now_ms().max(from);
        let mut clear_owner = Update::builder()
            .table_name(&tables.nodes)
            .key(attr::NODE_ID, s(node_id))
            .update_expression("SET #r = :now REMOVE #o, #e")
            .expression_attribute_names("#o", attr::OWNER_ID)
            .expression_attribute_names("#e", attr::OWNER_EPOCH)
            .expression_attribute_names("#r", attr::RELEASED_AT)
            .expression_attribute_values(":u", s(owner))
            .expression_attribute_values(":now", n(now));
        // the epoch read is still the node's: a re-bind in between cannot get its window closed by this unbind
        clear_owner = match &epoch {
            Some(e) => clear_owner.condition_expression("#o = :u AND #e = :e").expression_attribute_values(":e", s(e)),
            None => clear_owner.condition_expression("#o = :u AND attribute_not_exists(#e)"),
        };
        items
            .push(TransactWriteItem::builder().update(clear_owner.build().map_err(sdk("TransactWriteItems"))?).build());
        if record {
            let w = Window { node_id: node_id.to_string(), from, to: Some(now) };
            let closed =
                crate::write::record_window(tables, owner, &w, epoch.as_deref()).map_err(sdk("TransactWriteItems"))?;
            items.push(TransactWriteItem::builder().update(closed).build());
        }
    }
    for u in &users {
        let del = Delete::builder()
            .table_name(&tables.user_nodes)
            .key(attr::USER_ID, s(u.as_str()))
            .key(attr::NODE_ID, s(node_id))
            .build()
            .map_err(sdk("TransactWriteItems"))?;
        items.push(TransactWriteItem::builder().delete(del).build());
    }
    if items.is_empty() {
        return Ok(Unbound { cleared_owner: false, removed_grants: vec![] });
    }
    if items.len() > MAX_TRANSACTION {
        return Err(UnbindError::TooManyGrants);
    }
    let result = ddb.transact_write_items().set_transact_items(Some(items)).send().await;
    if let Err(e) = result {
        if e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception()) {
            return Err(UnbindError::Conflict);
        }
        return Err(sdk("TransactWriteItems")(e));
    }
    Ok(Unbound { cleared_owner: owned, removed_grants: users.into_iter().collect() })
}
