//! Reading one user's data with key queries and indexes (every query paginated; no table scan).

use super::error::sdk;
use super::{GdprClients, GdprError, Resources};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_iotdataplane::error::ProvideErrorMetadata;
use rainmaker_core::gdpr::isolate::Grant;
use rainmaker_model::attr;
use rainmaker_model::ddb::{n, s, Item};
use rainmaker_model::tables::{GSI_BY_OWNER, GSI_BY_USER};
use rainmaker_model::telemetry::MAX_FUTURE_SKEW_MS;
use serde_json::Value;

async fn all(q: QueryFluentBuilder, op: &'static str) -> Result<Vec<Item>, GdprError> {
    let mut pages = q.into_paginator().items().send();
    let mut out = Vec::new();
    while let Some(item) = pages.next().await {
        out.push(item.map_err(sdk(op))?);
    }
    Ok(out)
}

fn by_key(c: &GdprClients, table: &str, index: Option<&str>, key: &'static str, value: &str) -> QueryFluentBuilder {
    c.ddb
        .query()
        .table_name(table)
        .set_index_name(index.map(str::to_string))
        .key_condition_expression("#k = :v")
        .expression_attribute_names("#k", key)
        .expression_attribute_values(":v", s(value))
}

/// The `users` item (GetItem, consistent).
pub async fn user_item(c: &GdprClients, r: &Resources, user: &str) -> Result<Option<Item>, GdprError> {
    let out = c
        .ddb
        .get_item()
        .table_name(&r.tables.users)
        .key(attr::USER_ID, s(user))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk("DynamoDB GetItem"))?;
    Ok(out.item().cloned())
}

/// The user's `user_nodes` items (Query by user_id).
pub async fn grants(c: &GdprClients, r: &Resources, user: &str) -> Result<Vec<Item>, GdprError> {
    all(by_key(c, &r.tables.user_nodes, None, attr::USER_ID, user).consistent_read(true), "DynamoDB Query").await
}

/// The nodes the user owns (Query on the `by-owner` index), sorted by node id.
pub async fn owned_nodes(c: &GdprClients, r: &Resources, user: &str) -> Result<Vec<Item>, GdprError> {
    let mut v = all(by_key(c, &r.tables.nodes, Some(GSI_BY_OWNER), attr::OWNER_ID, user), "DynamoDB Query").await?;
    v.sort_by_key(|a| str_of(a, attr::NODE_ID));
    Ok(v)
}

/// The user's binding requests (Query on the `by-user` index), sorted by code.
pub async fn binding_requests(c: &GdprClients, r: &Resources, user: &str) -> Result<Vec<Item>, GdprError> {
    let q = by_key(c, &r.tables.binding_requests, Some(GSI_BY_USER), attr::USER_ID, user);
    let mut v = all(q, "DynamoDB Query").await?;
    v.sort_by_key(|a| str_of(a, attr::BINDING_CODE));
    Ok(v)
}

/// A string attribute, or "".
pub fn str_of(item: &Item, name: &str) -> String {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// A `user_nodes` item as a [`Grant`].
pub fn grant(item: &Item) -> Grant {
    Grant {
        node_id: str_of(item, attr::NODE_ID),
        role: str_of(item, attr::ROLE),
        granted_by: item.get(attr::GRANTED_BY).and_then(|v| v.as_s().ok()).cloned(),
        granted_at: item.get(attr::GRANTED_AT).and_then(|v| v.as_n().ok()).and_then(|x| x.parse().ok()),
    }
}

/// The telemetry items of one node that can hold readings received before `until` (ms; `None`: every item):
/// Query node_id = :n [AND ts < until + the device clock skew telemetry-ingest tolerates], to be paginated by the
/// caller. No lower bound: ownership goes by receive time and a device may send old (buffered) readings late.
pub fn telemetry(c: &GdprClients, r: &Resources, node: &str, until: Option<i64>) -> QueryFluentBuilder {
    let q = c
        .ddb
        .query()
        .table_name(&r.tables.telemetry)
        .expression_attribute_names("#k", attr::NODE_ID)
        .expression_attribute_values(":n", s(node));
    match until {
        None => q.key_condition_expression("#k = :n"),
        Some(u) => q
            .key_condition_expression("#k = :n AND #t < :until")
            .expression_attribute_names("#t", attr::TS)
            .expression_attribute_values(":until", n(u.saturating_add(MAX_FUTURE_SKEW_MS))),
    }
}

/// The thing's registry entry (DescribeThing), `None` when the thing does not exist.
pub async fn thing(c: &GdprClients, node: &str) -> Result<Option<Value>, GdprError> {
    match c.iot.describe_thing().thing_name(node).send().await {
        Ok(t) => {
            let attrs: std::collections::BTreeMap<String, String> =
                t.attributes().map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            Ok(Some(serde_json::json!({
                "thing_name": t.thing_name(),
                "thing_type": t.thing_type_name(),
                "attributes": attrs,
                "version": t.version(),
            })))
        }
        Err(e) if e.as_service_error().is_some_and(|x| x.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(sdk("IoT DescribeThing")(e)),
    }
}

/// The names of a node's shadows present: `""` for the classic one, then the named ones (sorted).
pub async fn shadow_names(c: &GdprClients, node: &str) -> Result<Vec<String>, GdprError> {
    let mut names = Vec::new();
    if shadow(c, node, None).await?.is_some() {
        names.push(String::new());
    }
    let mut token: Option<String> = None;
    let mut named = Vec::new();
    loop {
        let out = c.iotdata.list_named_shadows_for_thing().thing_name(node).set_next_token(token.clone()).send().await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.code() == Some("ResourceNotFoundException") => break,
            Err(e) => return Err(sdk("IoT ListNamedShadowsForThing")(e)),
        };
        named.extend(out.results().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    named.sort();
    names.extend(named);
    Ok(names)
}

/// One shadow document (`name` None: the classic shadow), without the response's `timestamp` (the time AWS sent
/// it, not data). `None` when there is no such shadow.
pub async fn shadow(c: &GdprClients, node: &str, name: Option<&str>) -> Result<Option<Value>, GdprError> {
    let got = c.iotdata.get_thing_shadow().thing_name(node).set_shadow_name(name.map(str::to_string)).send().await;
    match got {
        Ok(out) => {
            let bytes = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
            let mut doc: Value = serde_json::from_slice(&bytes).map_err(|e| GdprError::Model {
                operation: "IoT GetThingShadow",
                message: format!("the shadow of {node} is not JSON: {e}"),
                help: "inspect it with `aws iot-data get-thing-shadow`".into(),
            })?;
            if let Some(o) = doc.as_object_mut() {
                o.remove("timestamp");
            }
            Ok(Some(doc))
        }
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(sdk("IoT GetThingShadow")(e)),
    }
}
