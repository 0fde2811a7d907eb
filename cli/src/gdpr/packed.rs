//! A user's readings in the packed telemetry layout (`telemetry.pipeline: packed`): the items of the node's
//! bucket (`#packed-NNN`, `rainmaker_model::telemetry::packed`) whose key range can hold readings received inside
//! a window, read by key (Query, strongly consistent, paginated), decoded one at a time. The export writes the
//! node's readings inside the window; the erase rewrites each item without them, conditional on its `packed`
//! being what was decoded (a concurrent change — another erase of the same bucket — fails the condition, and the
//! item is read again and the erase redone on what is there now), and deletes an item left empty. What to keep is
//! decided by `rainmaker_core::gdpr::packed`.

use super::error::sdk;
use super::export::PageSink;
use super::{GdprClients, GdprError, Report, Resources};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::result::SdkError;
use rainmaker_core::gdpr::packed::{self as plan, Erase};
use rainmaker_core::gdpr::Source;
use rainmaker_model::attr;
use rainmaker_model::ddb::{n, s, Item};
use rainmaker_model::telemetry::packed::{self, PackedReading};
use rainmaker_model::window::Window;
use serde_json::Value;

/// The packed items' binary attribute and their reading count.
const PACKED: &str = "packed";
const COUNT: &str = "count";
/// Packed items per Query page of the export (`Limit`): a page is at most DynamoDB's 1 MB of compressed items
/// anyway; the export holds one page and one decoded item at a time.
pub const PACKED_PAGE: i32 = 64;
/// Conditional rewrites of one item before the erase gives up (each failure means the item changed since it was
/// read; it is read again every time).
const MAX_ATTEMPTS: usize = 20;

/// The node's bucket's items that can hold readings received inside `w`.
fn bucket_items(c: &GdprClients, r: &Resources, node: &str, w: &Window) -> QueryFluentBuilder {
    let (lo, hi) = plan::item_bounds(w);
    let q = c
        .ddb
        .query()
        .table_name(&r.tables.telemetry)
        .consistent_read(true)
        .expression_attribute_names("#k", attr::NODE_ID)
        .expression_attribute_names("#t", attr::TS)
        .expression_attribute_values(":b", s(packed::partition_key(packed::bucket_of(node))))
        .expression_attribute_values(":lo", n(lo));
    match hi {
        Some(hi) => {
            q.key_condition_expression("#k = :b AND #t BETWEEN :lo AND :hi").expression_attribute_values(":hi", n(hi))
        }
        None => q.key_condition_expression("#k = :b AND #t >= :lo"),
    }
}

/// The readings of a packed item; an item without a binary `packed` or with bad data is an error (never skipped:
/// the export or erase would be silently incomplete).
fn decode(item: &Item) -> Result<Vec<PackedReading>, GdprError> {
    let key = || {
        format!(
            "{} ts {}",
            read_s(item, attr::NODE_ID),
            item.get(attr::TS).and_then(|v| v.as_n().ok()).map_or("?", |v| v)
        )
    };
    let bad = |message: String| GdprError::Model {
        operation: "DynamoDB Query",
        message,
        help: "inspect the item with `aws dynamodb get-item`; the export and erase stop rather than skip it".into(),
    };
    match item.get(PACKED) {
        Some(AttributeValue::B(b)) => {
            packed::decode(b.as_ref()).map_err(|e| bad(format!("the packed telemetry item {}: {e}", key())))
        }
        _ => Err(bad(format!("the packed telemetry item {} has no binary `{PACKED}`", key()))),
    }
}

fn read_s(item: &Item, k: &str) -> String {
    item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// Write `node`'s packed readings inside `w` to the open archive entry, page by page; `total` counts them.
pub async fn export(
    c: &GdprClients,
    r: &Resources,
    node: &str,
    w: &Window,
    sink: &mut impl PageSink,
    total: &mut u64,
    progress: &dyn Report,
) -> Result<(), GdprError> {
    let mut pages = bucket_items(c, r, node, w).limit(PACKED_PAGE).into_paginator().send();
    let mut buf = Vec::with_capacity(64 * 1024);
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("DynamoDB Query"))?;
        buf.clear();
        let mut lines = 0u64;
        for item in page.items() {
            for line in plan::export_lines(&decode(item)?, node, w) {
                serde_json::to_writer(&mut buf, &Value::Object(line))
                    .map_err(|e| GdprError::io("encoding telemetry", e))?;
                buf.push(b'\n');
                lines += 1;
            }
        }
        sink.write_page(&buf, lines)?;
        *total += lines;
        progress.source(Source::Telemetry.name(), *total, false);
    }
    Ok(())
}

/// How many of the bucket's items hold readings of `node` inside `windows`.
pub async fn count(c: &GdprClients, r: &Resources, node: &str, windows: &[Window]) -> Result<u64, GdprError> {
    // an item within reach of two windows is counted once
    let mut found = std::collections::BTreeSet::new();
    for w in windows {
        let mut pages = bucket_items(c, r, node, w).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.map_err(sdk("DynamoDB Query"))?.items() {
                if plan::erase(decode(item)?, node, windows) != Erase::Untouched {
                    found.insert(item.get(attr::TS).and_then(|v| v.as_n().ok()).cloned().unwrap_or_default());
                }
            }
        }
    }
    Ok(found.len() as u64)
}

/// Remove `node`'s readings inside `windows` from every packed item of its bucket: rewritten without them, deleted
/// when empty. `record` is told 1 after every item changed. Returns the items changed.
pub async fn delete(
    c: &GdprClients,
    r: &Resources,
    node: &str,
    windows: &[Window],
    record: &mut dyn FnMut(u64) -> Result<(), GdprError>,
) -> Result<u64, GdprError> {
    let mut changed = 0;
    for w in windows {
        let mut pages = bucket_items(c, r, node, w).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.map_err(sdk("DynamoDB Query"))?.items() {
                if erase_item(c, r, item.clone(), node, windows).await? {
                    changed += 1;
                    record(1)?;
                }
            }
        }
    }
    Ok(changed)
}

/// Why a conditional write did not happen.
enum Failed {
    /// The condition failed: the item is no longer what was read.
    Changed,
    Other(GdprError),
}

fn failed<E, R>(e: SdkError<E, R>, operation: &'static str, is_condition: impl Fn(&E) -> bool) -> Failed
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error().is_some_and(is_condition) {
        true => Failed::Changed,
        false => Failed::Other(sdk(operation)(e)),
    }
}

/// The erase of one item, redone on the item as it is now until a conditional write succeeds; `true` when the item
/// was rewritten or deleted.
async fn erase_item(
    c: &GdprClients,
    r: &Resources,
    mut item: Item,
    node: &str,
    windows: &[Window],
) -> Result<bool, GdprError> {
    let t = &r.tables.telemetry;
    let key: Item = item
        .iter()
        .filter(|(k, _)| *k == attr::NODE_ID || *k == attr::TS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for _ in 0..MAX_ATTEMPTS {
        let readings = decode(&item)?;
        // `decode` succeeded: `packed` is there (binary); this is the value the write is conditioned on
        let old = item.get(PACKED).cloned().unwrap_or(AttributeValue::Null(true));
        let outcome = match plan::erase(readings, node, windows) {
            Erase::Untouched => return Ok(false),
            Erase::Delete { .. } => c
                .ddb
                .delete_item()
                .table_name(t)
                .set_key(Some(key.clone()))
                .condition_expression("#p = :old")
                .expression_attribute_names("#p", PACKED)
                .expression_attribute_values(":old", old)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(e, "DynamoDB DeleteItem", |x| x.is_conditional_check_failed_exception())),
            Erase::Rewrite { keep, newest, .. } => {
                let blob = packed::encode(&keep).map_err(|e| GdprError::io("re-encoding a packed item", e))?;
                c.ddb
                    .update_item()
                    .table_name(t)
                    .set_key(Some(key.clone()))
                    .update_expression("SET #p = :new, #c = :count, #r = :newest")
                    .condition_expression("#p = :old")
                    .expression_attribute_names("#p", PACKED)
                    .expression_attribute_names("#c", COUNT)
                    .expression_attribute_names("#r", attr::RECEIVED_AT)
                    .expression_attribute_values(":old", old)
                    .expression_attribute_values(":new", AttributeValue::B(blob.into()))
                    .expression_attribute_values(":count", n(keep.len() as i64))
                    .expression_attribute_values(":newest", n(newest))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| failed(e, "DynamoDB UpdateItem", |x| x.is_conditional_check_failed_exception()))
            }
        };
        match outcome {
            Ok(()) => return Ok(true),
            Err(Failed::Changed) => {}
            Err(Failed::Other(e)) => return Err(e),
        }
        // the item changed since it was read: read it as it is now and redo the erase on that
        let got = c.ddb.get_item().table_name(t).set_key(Some(key.clone())).consistent_read(true).send().await;
        match got.map_err(sdk("DynamoDB GetItem"))?.item() {
            Some(now) => item = now.clone(),
            None => return Ok(false), // deleted meanwhile (by another erase, or TTL): nothing of the node left in it
        }
    }
    Err(GdprError::Model {
        operation: "DynamoDB UpdateItem",
        message: format!("the packed telemetry item {} changed {MAX_ATTEMPTS} times while being erased", read_s(&key, attr::NODE_ID)),
        help: "something keeps rewriting the item (another erase of the same bucket); run the same erase again: it resumes".into(),
    })
}
