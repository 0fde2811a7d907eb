//! A user's telemetry: the readings of a node received inside their ownership windows (`rainmaker_model::window`;
//! the receive time decides, never the device's `ts`), listed for the export, counted for the erase's inventory and
//! deleted by the erase and `reapply`. Items are read by key (Query per node, paginated), never scanned: the
//! node's own partition (per-reading and per-node items) and its packed bucket's items (`super::packed`).

use super::erase::batch_delete;
use super::error::sdk;
use super::{read, GdprClients, GdprError, Resources};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use rainmaker_core::gdpr::isolate::{self, Owned};
use rainmaker_model::attr;
use rainmaker_model::ddb::{map_to_json, to_av, Item};
use rainmaker_model::window::{self, Part, Window};
use serde_json::{Map, Value};

/// The user's windows from their `users` item and the nodes they own now (`isolate::windows`).
pub fn of_user(user_item: Option<&Item>, owned_nodes: &[Item], grants: &[isolate::Grant]) -> Vec<Window> {
    let recorded = user_item.map(|i| window::windows_of(&map_to_json(i))).unwrap_or_default();
    let owned: Vec<Owned> = owned_nodes
        .iter()
        .map(|n| {
            let node_id = read::str_of(n, attr::NODE_ID);
            let granted_at =
                grants.iter().find(|g| g.node_id == node_id && g.role == "owner").and_then(|g| g.granted_at);
            let owner_epoch = n.get(attr::OWNER_EPOCH).and_then(|v| v.as_s().ok()).cloned();
            Owned { node_id, owner_epoch, granted_at }
        })
        .collect();
    isolate::windows(&recorded, &owned)
}

/// The latest receive time `windows` hold, for the Query's bound (`None` when one is open).
pub fn until(windows: &[Window]) -> Option<i64> {
    windows.iter().map(|w| w.to).collect::<Option<Vec<i64>>>().map(|ends| ends.into_iter().max().unwrap_or(0))
}

/// The part of one item (as JSON) inside `w`: the whole item, a batched item's readings inside, or nothing.
pub fn inside(item: &Map<String, Value>, w: &Window) -> Option<Map<String, Value>> {
    match window::split(item, std::slice::from_ref(w)) {
        Part::None => None,
        Part::All => Some(item.clone()),
        Part::Some { inside, .. } => Some(inside),
    }
}

/// The node's items that can hold readings inside `windows`, projected to what [`window::split`] reads.
fn projected(c: &GdprClients, r: &Resources, node: &str, windows: &[Window]) -> QueryFluentBuilder {
    read::telemetry(c, r, node, until(windows))
        .projection_expression("#k, #t, #r, #l")
        .expression_attribute_names("#t", attr::TS)
        .expression_attribute_names("#r", attr::RECEIVED_AT)
        .expression_attribute_names("#l", attr::READINGS)
}

/// How many of the node's items (its own and its bucket's packed ones) have readings inside `windows`.
pub async fn count(c: &GdprClients, r: &Resources, node: &str, windows: &[Window]) -> Result<u64, GdprError> {
    let mut pages = projected(c, r, node, windows).into_paginator().send();
    let mut n = super::packed::count(c, r, node, windows).await?;
    while let Some(page) = pages.next().await {
        for item in page.map_err(sdk("DynamoDB Query"))?.items() {
            if window::split(&map_to_json(item), windows) != Part::None {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Delete the node's readings inside `windows`: items wholly inside by key (25 per BatchWriteItem, unprocessed ones
/// retried), an item of the batched layout straddling a window's edge put back with only the readings outside it
/// (read whole, strongly); then its bucket's packed items holding such readings rewritten without them
/// (`super::packed::delete`). Other owners' and nobody's readings are never touched. `record` is told the count
/// after every batch (every packed item).
pub async fn delete(
    c: &GdprClients,
    r: &Resources,
    node: &str,
    windows: &[Window],
    record: &mut dyn FnMut(u64) -> Result<(), GdprError>,
) -> Result<u64, GdprError> {
    let mut pages = projected(c, r, node, windows).into_paginator().send();
    let mut total = 0u64;
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("DynamoDB Query"))?;
        let mut whole = Vec::new();
        for item in page.items() {
            match window::split(&map_to_json(item), windows) {
                Part::None => {}
                Part::All => whole.push(key_of(item)),
                Part::Some { .. } => {
                    rewrite(c, r, item, windows).await?;
                    total += 1;
                    record(1)?;
                }
            }
        }
        for chunk in whole.chunks(25) {
            let n = batch_delete(c, &r.tables.telemetry, chunk).await?;
            total += n;
            record(n)?;
        }
    }
    total += super::packed::delete(c, r, node, windows, record).await?;
    Ok(total)
}

fn key_of(item: &Item) -> Item {
    item.iter().filter(|(k, _)| *k == attr::NODE_ID || *k == attr::TS).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Put a straddling item back with only its readings outside `windows`.
async fn rewrite(c: &GdprClients, r: &Resources, item: &Item, windows: &[Window]) -> Result<(), GdprError> {
    let t = &r.tables.telemetry;
    let got = c.ddb.get_item().table_name(t).set_key(Some(key_of(item))).consistent_read(true).send().await;
    let Some(full) = got.map_err(sdk("DynamoDB GetItem"))?.item().cloned() else { return Ok(()) };
    match window::split(&map_to_json(&full), windows) {
        Part::None => {}
        Part::All => {
            batch_delete(c, t, &[key_of(&full)]).await?;
        }
        Part::Some { outside, .. } => {
            let rest: Item = outside.iter().map(|(k, v)| (k.clone(), to_av(v))).collect();
            c.ddb.put_item().table_name(t).set_item(Some(rest)).send().await.map_err(sdk("DynamoDB PutItem"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn w(from: i64, to: Option<i64>) -> Window {
        Window { node_id: "N".into(), from, to }
    }

    #[test]
    fn the_query_bound_is_the_latest_end_unless_a_window_is_open() {
        assert_eq!(until(&[w(1, Some(5)), w(7, Some(9))]), Some(9));
        assert_eq!(until(&[w(1, Some(5)), w(7, None)]), None);
        let item = json!({"node_id": "N", "ts": 3, "received_at": 4, "params": {"a": 1}});
        let item = item.as_object().unwrap();
        assert_eq!(inside(item, &w(1, Some(5))).as_ref(), Some(item));
        assert_eq!(inside(item, &w(4, None)).as_ref(), Some(item));
        assert_eq!(inside(item, &w(5, None)), None);
    }
}
