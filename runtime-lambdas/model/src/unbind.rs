//! Unbinding a node: the one write path that clears a node's owner and removes every grant on it, shared by the
//! API's `DELETE /nodes/{node_id}` and the CLI's `gdpr erase` (feature `dynamodb`).
//!
//! One transaction: `REMOVE owner_id, owner_epoch` on the node, conditional on the expected owner, plus a `Delete`
//! of every `user_nodes` item of the node (found on the `by-node` index). A grant the eventually consistent index
//! does not show yet survives as an item but grants nothing: its epoch is not the node's any more
//! ([`crate::ownership`]). Run again after it succeeded it finds the node
//! unbound and only removes the owner's grant if one is left, so callers can retry freely. The device shadow is
//! not DynamoDB: callers reset it after this returns (the API clears `desired`, an erase deletes the shadows).

use crate::attr;
use crate::ddb::s;
use crate::tables::{TableNames, GSI_BY_NODE};
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
    #[error("node has more than {} grants; unshare some first", MAX_TRANSACTION - 1)]
    TooManyGrants,
    #[error("DynamoDB {operation} failed: {message}")]
    Sdk { operation: &'static str, message: String },
}

fn sdk<E: std::error::Error + 'static>(operation: &'static str) -> impl FnOnce(E) -> UnbindError {
    move |e| UnbindError::Sdk { operation, message: DisplayErrorContext(&e).to_string() }
}

/// Every user id holding a `user_nodes` item on the node (the `by-node` index, paginated).
pub async fn grants_of(ddb: &Client, tables: &TableNames, node_id: &str) -> Result<Vec<String>, UnbindError> {
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
        if let Some(AttributeValue::S(u)) = item.map_err(sdk("Query"))?.get(attr::USER_ID) {
            users.push(u.clone());
        }
    }
    Ok(users)
}

/// Unbind `node_id` from `owner`: see the module documentation.
pub async fn unbind(ddb: &Client, tables: &TableNames, node_id: &str, owner: &str) -> Result<Unbound, UnbindError> {
    let node = ddb
        .get_item()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, s(node_id))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk("GetItem"))?;
    let owned = node.item().and_then(|i| i.get(attr::OWNER_ID)).and_then(|v| v.as_s().ok()).is_some_and(|o| o == owner);
    let mut users: BTreeSet<String> = grants_of(ddb, tables, node_id).await?.into_iter().collect();
    if !owned {
        // already unbound (or another owner now): only the owner's own grant may be left over
        users.retain(|u| u == owner);
    } else {
        users.insert(owner.to_string());
    }
    let mut items = Vec::new();
    if owned {
        let clear_owner = Update::builder()
            .table_name(&tables.nodes)
            .key(attr::NODE_ID, s(node_id))
            .update_expression("REMOVE #o, #e")
            .condition_expression("#o = :u")
            .expression_attribute_names("#o", attr::OWNER_ID)
            .expression_attribute_names("#e", attr::OWNER_EPOCH)
            .expression_attribute_values(":u", s(owner))
            .build()
            .map_err(sdk("TransactWriteItems"))?;
        items.push(TransactWriteItem::builder().update(clear_owner).build());
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
