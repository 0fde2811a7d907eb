//! `gdpr reapply --receipts DIR`: after a table is restored (point-in-time recovery brings erased items back),
//! delete again what the receipts say was erased. Receipts hold keyed hashes only, so the tables are scanned (keys
//! and the user-id attributes only) and each id is hashed under the tenant's key and matched: this is the one
//! place that scans, because a keyed hash cannot be looked up.

use super::error::sdk;
use super::read::str_of;
use super::{journal, receipt_key, windows, GdprClients, GdprError, Report, Resources};
use rainmaker_core::gdpr::receipt::Matcher;
use rainmaker_core::gdpr::Receipt;
use rainmaker_model::attr;
use rainmaker_model::ddb::{s, Item};
use rainmaker_model::window::Window;
use serde::Serialize;
use std::path::Path;

/// What a re-apply deleted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReapplyReport {
    pub receipts: usize,
    pub erased_users: usize,
    pub users: u64,
    pub grants: u64,
    pub binding_requests: u64,
    pub nodes_unbound: u64,
    pub telemetry: u64,
}

/// Read every `*.json` receipt in `dir` (a file that is not a receipt is an error naming it).
pub fn read_receipts(dir: &Path) -> Result<Vec<Receipt>, GdprError> {
    let entries = std::fs::read_dir(dir).map_err(|e| GdprError::Usage {
        flag: "--receipts",
        message: format!("{}: {e}", dir.display()),
        help: "pass the directory holding the receipts written by `gdpr erase` (.rainmaker/<account>/<region>/<tenant>/gdpr/erasures)"
            .into(),
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if let Some(r) = journal::load(&p)? {
            out.push(r);
        }
    }
    Ok(out)
}

async fn scan(c: &GdprClients, table: &str, projection: &str, names: &[(&str, &str)]) -> Result<Vec<Item>, GdprError> {
    let mut q = c.ddb.scan().table_name(table).projection_expression(projection);
    for (k, v) in names {
        q = q.expression_attribute_names(*k, *v);
    }
    let mut pages = q.into_paginator().items().send();
    let mut out = Vec::new();
    while let Some(item) = pages.next().await {
        out.push(item.map_err(sdk("DynamoDB Scan"))?);
    }
    Ok(out)
}

/// Re-apply the erasures of `receipts` to the tenant's tables.
pub async fn reapply(
    c: &GdprClients,
    r: &Resources,
    state_dir: &Path,
    receipts: &[Receipt],
    progress: &dyn Report,
) -> Result<ReapplyReport, GdprError> {
    let secret = receipt_key::load(c, r, state_dir, true).await?;
    let m = Matcher::new(receipts);
    let mut rep = ReapplyReport { receipts: receipts.len(), erased_users: m.subjects(), ..Default::default() };
    let t = &r.tables;
    let erased = |item: &Item, name: &str| {
        let id = str_of(item, name);
        !id.is_empty() && m.is_erased_user(&secret, &id)
    };
    for item in scan(c, &t.users, "#u", &[("#u", attr::USER_ID)]).await? {
        if erased(&item, attr::USER_ID) {
            c.ddb
                .delete_item()
                .table_name(&t.users)
                .key(attr::USER_ID, s(str_of(&item, attr::USER_ID)))
                .send()
                .await
                .map_err(sdk("DynamoDB DeleteItem"))?;
            rep.users += 1;
        }
    }
    progress.source("reapply users", rep.users, true);
    for item in scan(c, &t.binding_requests, "#c, #u", &[("#c", attr::BINDING_CODE), ("#u", attr::USER_ID)]).await? {
        if erased(&item, attr::USER_ID) {
            let code = str_of(&item, attr::BINDING_CODE);
            c.ddb
                .delete_item()
                .table_name(&t.binding_requests)
                .key(attr::BINDING_CODE, s(code))
                .send()
                .await
                .map_err(sdk("DynamoDB DeleteItem"))?;
            rep.binding_requests += 1;
        }
    }
    progress.source("reapply binding_requests", rep.binding_requests, true);
    let nodes = scan(c, &t.nodes, "#n, #o", &[("#n", attr::NODE_ID), ("#o", attr::OWNER_ID)]).await?;
    for item in &nodes {
        if erased(item, attr::OWNER_ID) {
            let owner = str_of(item, attr::OWNER_ID);
            // no window recorded: the owner is an erased user (their `users` item must not come back)
            rainmaker_model::unbind::unbind_with(&c.ddb, t, &str_of(item, attr::NODE_ID), &owner, false)
                .await
                .map_err(GdprError::unbind)?;
            rep.nodes_unbound += 1;
        }
    }
    progress.source("reapply nodes", rep.nodes_unbound, true);
    for item in scan(c, &t.user_nodes, "#u, #n", &[("#u", attr::USER_ID), ("#n", attr::NODE_ID)]).await? {
        let holder_erased = erased(&item, attr::USER_ID);
        if holder_erased {
            let key = [(attr::USER_ID, str_of(&item, attr::USER_ID)), (attr::NODE_ID, str_of(&item, attr::NODE_ID))];
            let mut del = c.ddb.delete_item().table_name(&t.user_nodes);
            for (k, v) in key {
                del = del.key(k, s(v));
            }
            del.send().await.map_err(sdk("DynamoDB DeleteItem"))?;
            rep.grants += 1;
        }
    }
    progress.source("reapply grants", rep.grants, true);
    for item in &nodes {
        let node = str_of(item, attr::NODE_ID);
        let ws: Vec<Window> = m
            .telemetry_windows(&secret, &node)
            .iter()
            .map(|(since, until)| Window { node_id: node.clone(), from: *since, to: Some(*until) })
            .collect();
        if ws.is_empty() {
            continue;
        }
        let mut sink = |n: u64| -> Result<(), GdprError> {
            rep.telemetry += n;
            progress.source("reapply telemetry", rep.telemetry, false);
            Ok(())
        };
        windows::delete(c, r, &node, &ws, &mut sink).await?;
    }
    progress.source("reapply telemetry", rep.telemetry, true);
    Ok(rep)
}
