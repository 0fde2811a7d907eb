//! `gdpr erase`: every item about one user deleted, in the order of `rainmaker_core::gdpr::plan`, each step
//! idempotent; a journal after every step so a killed erase resumes; a receipt of keyed hashes at the end.

use super::error::sdk;
use super::read::{self, str_of};
use super::user::{self, UserRef};
use super::{journal, marker, receipt_key, windows, GdprClients, GdprError, Report, Resources};
use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, WriteRequest};
use aws_sdk_iotdataplane::error::ProvideErrorMetadata;
use rainmaker_core::gdpr::plan::{self, classify_grants, Action, FormerNode, Inventory, OwnedNode, Step};
use rainmaker_core::gdpr::{isolate, receipt, Receipt};
use rainmaker_model::attr;
use rainmaker_model::ddb::{s, Item};
use rainmaker_model::window::Window;
use serde::Serialize;
use std::path::PathBuf;

/// How to erase.
#[derive(Debug, Clone)]
pub struct EraseOptions {
    pub dry_run: bool,
    pub revoke_devices: bool,
    /// Also write the receipt here (mode 0600).
    pub receipt: Option<PathBuf>,
    /// `<config dir>/.rainmaker/<account>/<region>/<tenant>`: the journals and the receipt key's cache.
    pub state_dir: PathBuf,
}

/// What an erase did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum EraseOutcome {
    /// `--dry-run`: the plan, with plain keys (shown, never stored).
    DryRun { user_id: String, actions: Vec<Action> },
    /// Erased now (`resumed`: an interrupted erase was finished), or earlier (`already`).
    Erased { receipt: Box<Receipt>, journal: PathBuf, resumed: bool, already: bool },
}

/// Everything about `user_id` the erase would touch (key queries only).
pub async fn inventory(
    c: &GdprClients,
    r: &Resources,
    user_id: &str,
    cognito_username: Option<String>,
) -> Result<Inventory, GdprError> {
    let user_item = read::user_item(c, r, user_id).await?;
    let grants: Vec<isolate::Grant> = read::grants(c, r, user_id).await?.iter().map(read::grant).collect();
    let nodes = read::owned_nodes(c, r, user_id).await?;
    let owned_ids: Vec<String> = nodes.iter().map(|n| str_of(n, attr::NODE_ID)).collect();
    let all = windows::of_user(user_item.as_ref(), &nodes, &grants);
    let mut owned = Vec::new();
    for id in &owned_ids {
        let open: Vec<Window> = all.iter().filter(|w| w.node_id == *id && w.to.is_none()).cloned().collect();
        let since = open.iter().map(|w| w.from).min().unwrap_or(0);
        let users = rainmaker_model::unbind::grants_of(&c.ddb, &r.tables, id).await.map_err(GdprError::unbind)?;
        owned.push(OwnedNode {
            node_id: id.clone(),
            telemetry_since: since,
            telemetry_items: windows::count(c, r, id, &open).await?,
            shared_with: users.into_iter().filter(|u| u != user_id).collect(),
            shadows: read::shadow_names(c, id).await?,
        });
    }
    let mut former = Vec::new();
    let closed: Vec<&Window> = all.iter().filter(|w| w.to.is_some()).collect();
    let mut former_ids: Vec<&str> = closed.iter().map(|w| w.node_id.as_str()).collect();
    former_ids.dedup();
    for id in former_ids {
        let ws: Vec<Window> = closed.iter().filter(|w| w.node_id == id).map(|w| (*w).clone()).collect();
        former.push(FormerNode {
            node_id: id.to_string(),
            windows: ws.iter().map(|w| (w.from, w.to.unwrap_or(w.from))).collect(),
            telemetry_items: windows::count(c, r, id, &ws).await?,
        });
    }
    let (shared_with_user, other_grants) = classify_grants(&grants, &owned_ids);
    let binding_codes =
        read::binding_requests(c, r, user_id).await?.iter().map(|i| str_of(i, attr::BINDING_CODE)).collect();
    Ok(Inventory {
        user_id: user_id.into(),
        cognito_username,
        user_item: user_item.is_some(),
        shared_with_user,
        owned,
        former,
        other_grants,
        binding_codes,
    })
}

/// Erase `who`. `confirm` sees the plan and says whether to go on (the command asks, or `--yes` says yes).
pub async fn erase(
    c: &GdprClients,
    r: &Resources,
    who: &UserRef,
    o: &EraseOptions,
    confirm: &dyn Fn(&[Action]) -> bool,
    progress: &dyn Report,
) -> Result<EraseOutcome, GdprError> {
    let pool_user = user::find(c, r, who).await?;
    let user_id = match (&pool_user, who) {
        (Some(u), _) => u.sub.clone(),
        (None, UserRef::Sub(s)) => s.clone(),
        (None, UserRef::Email(e)) => {
            return Err(GdprError::UnknownUser {
                user: e.clone(),
                tenant: r.tenant.clone(),
                user_pool: format!(
                    "{} (an erased user's email is gone with the account: pass --user SUB to see its receipt)",
                    r.user_pool_id
                ),
            })
        }
    };
    let secret = receipt_key::load(c, r, &o.state_dir, !o.dry_run).await?;
    let subject = receipt::subject(&secret, &user_id);
    let path = journal::journal_path(&o.state_dir, &subject);
    let earlier = journal::load(&path)?;
    // the erasure marker: the tenant's (any machine's erase) first, then this machine's finished journal
    let remote = marker::load(c, r, &subject).await?.filter(|m| m.finished_at.is_some());
    let local = earlier.clone().filter(|j| j.finished_at.is_some());
    let finished = match (remote, local) {
        (Some(m), _) => Some((m, true)),
        (None, Some(j)) => Some((j, false)),
        (None, None) => None,
    };
    if let Some((done, in_tenant)) = finished {
        if !o.dry_run {
            match in_tenant {
                true => journal::save(&path, &done)?,      // this machine's copy
                false => marker::save(c, r, &done).await?, // finished before the marker was kept in the tenant
            }
        }
        if let Some(copy) = &o.receipt {
            journal::save(copy, &done)?;
        }
        return Ok(EraseOutcome::Erased { receipt: Box::new(done), journal: path, resumed: false, already: true });
    }
    let inv = inventory(c, r, &user_id, pool_user.as_ref().map(|u| u.username.clone())).await?;
    if inv.is_empty() && earlier.is_none() {
        return Err(GdprError::UnknownUser {
            user: user_id,
            tenant: r.tenant.clone(),
            user_pool: r.user_pool_id.clone(),
        });
    }
    let actions = plan::plan(&inv, o.revoke_devices);
    if o.dry_run {
        return Ok(EraseOutcome::DryRun { user_id, actions });
    }
    if !confirm(&actions) {
        return Err(GdprError::usage(
            "--yes",
            "the erase was not confirmed; nothing was changed",
            "answer y, or pass --yes",
        ));
    }
    let resumed = earlier.is_some();
    let mut rec = match earlier {
        Some(j) => j,
        None => Receipt::start(
            new_receipt_id()?,
            &r.tenant,
            &r.region,
            env!("CARGO_PKG_VERSION"),
            r.template_version.clone(),
            subject,
            super::now_rfc3339(),
            o.revoke_devices,
            &r.retention,
        ),
    };
    journal::save(&path, &rec)?;
    if resumed {
        progress.line("erase: resuming an interrupted erase of this user");
    }
    for a in &actions {
        let label = match &a.node_id {
            Some(n) => format!("erase: {} {n}", a.step.name()),
            None => format!("erase: {}", a.step.name()),
        };
        progress.line(&label);
        let count = match a.step {
            Step::Verify => {
                let again = user::find(c, r, &UserRef::Sub(user_id.clone())).await?.map(|u| u.username);
                let left = inventory(c, r, &user_id, again).await?;
                if !left.is_empty() {
                    let left = leftovers(&left);
                    rec.verify_failures.push(format!("{}: {left}", super::now_rfc3339()));
                    journal::save(&path, &rec)?;
                    return Err(GdprError::Leftovers { left, journal: path.clone() });
                }
                0
            }
            Step::DeleteTelemetry | Step::DeleteFormerTelemetry => {
                // recorded batch by batch, so a kill loses at most one batch (25 items) from the counts; each
                // window on its own, so the receipt keeps the windows apart (reapply never spans a later owner's)
                let node = a.node_id.as_deref().unwrap_or_default();
                let ws: Vec<Window> = match a.step {
                    Step::DeleteTelemetry => {
                        let since = inv.owned.iter().find(|n| n.node_id == node).map(|n| n.telemetry_since);
                        vec![Window { node_id: node.into(), from: since.unwrap_or(0), to: None }]
                    }
                    _ => inv
                        .former
                        .iter()
                        .filter(|f| f.node_id == node)
                        .flat_map(|f| f.windows.clone())
                        .map(|(from, to)| Window { node_id: node.into(), from, to: Some(to) })
                        .collect(),
                };
                let label = format!("{} {node}", a.step.name());
                for w in &ws {
                    let mut deleted = 0u64;
                    let mut sink = |n: u64| -> Result<(), GdprError> {
                        rec.record_telemetry(&secret, node, w.from, w.to.unwrap_or_else(super::now_ms), n);
                        rec.record(&secret, &user_id, a, n);
                        deleted += n;
                        progress.source(&label, deleted, false);
                        journal::save(&path, &rec)
                    };
                    windows::delete(c, r, node, std::slice::from_ref(w), &mut sink).await?;
                    sink(0)?; // a window with nothing left still appears in the receipt
                    progress.source(&label, deleted, true);
                }
                continue;
            }
            _ => execute(c, r, &user_id, a).await?,
        };
        rec.record(&secret, &user_id, a, count);
        journal::save(&path, &rec)?;
    }
    rec.finished_at = Some(super::now_rfc3339());
    marker::save(c, r, &rec).await?; // before the local journal: a kill in between still leaves the marker
    journal::save(&path, &rec)?;
    if let Some(copy) = &o.receipt {
        journal::save(copy, &rec)?;
    }
    Ok(EraseOutcome::Erased { receipt: Box::new(rec), journal: path, resumed, already: false })
}

fn leftovers(inv: &Inventory) -> String {
    let mut parts = Vec::new();
    if inv.cognito_username.is_some() {
        parts.push("the Cognito user".to_string());
    }
    if inv.user_item {
        parts.push("the users item".into());
    }
    let grants = inv.shared_with_user.len() + inv.other_grants.len();
    if grants > 0 {
        parts.push(format!("{grants} grants"));
    }
    if !inv.owned.is_empty() {
        parts.push(format!("{} owned nodes", inv.owned.len()));
    }
    if !inv.binding_codes.is_empty() {
        parts.push(format!("{} binding requests", inv.binding_codes.len()));
    }
    parts.join(", ")
}

fn new_receipt_id() -> Result<String, GdprError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| GdprError::io("receipt id", e))?;
    Ok(hex::encode(b))
}

/// Delete one item; `true` when it existed.
async fn delete(
    c: &GdprClients,
    table: &str,
    key: &[(&'static str, &str)],
    condition: Option<(&str, &'static str, &str)>,
) -> Result<bool, GdprError> {
    let mut req = c.ddb.delete_item().table_name(table).return_values(ReturnValue::AllOld);
    for (k, v) in key {
        req = req.key(*k, s(*v));
    }
    if let Some((expr, name, value)) = condition {
        req = req
            .condition_expression(expr)
            .expression_attribute_names("#c", name)
            .expression_attribute_values(":c", s(value));
    }
    match req.send().await {
        Ok(out) => Ok(out.attributes().is_some_and(|a| !a.is_empty())),
        Err(e) if e.as_service_error().is_some_and(|x| x.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(sdk("DynamoDB DeleteItem")(e)),
    }
}

async fn execute(c: &GdprClients, r: &Resources, user_id: &str, a: &Action) -> Result<u64, GdprError> {
    let node = a.node_id.as_deref().unwrap_or_default();
    let t = &r.tables;
    let mut n = 0u64;
    match a.step {
        Step::SignOut => {
            for u in &a.keys {
                match c.cognito.admin_user_global_sign_out().user_pool_id(&r.user_pool_id).username(u).send().await {
                    Ok(_) => n += 1,
                    Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => {}
                    Err(e) => return Err(sdk("Cognito AdminUserGlobalSignOut")(e)),
                }
            }
        }
        Step::RemoveGrantsToUser => {
            for nd in &a.keys {
                let shared = Some(("#c = :c", attr::ROLE, "shared"));
                n += u64::from(
                    delete(c, &t.user_nodes, &[(attr::USER_ID, user_id), (attr::NODE_ID, nd)], shared).await?,
                );
            }
        }
        Step::RemoveGrantsToOthers => {
            for u in &a.keys {
                let shared = Some(("#c = :c", attr::ROLE, "shared"));
                n += u64::from(delete(c, &t.user_nodes, &[(attr::USER_ID, u), (attr::NODE_ID, node)], shared).await?);
            }
        }
        Step::ResetShadow => {
            for name in &a.keys {
                let shadow = (name != "(classic)").then(|| name.clone());
                match c.iotdata.delete_thing_shadow().thing_name(node).set_shadow_name(shadow).send().await {
                    Ok(_) => n += 1,
                    Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                    Err(e) => return Err(sdk("IoT DeleteThingShadow")(e)),
                }
            }
        }
        Step::RevokeDevice => n = revoke(c, node).await?,
        Step::Unbind => {
            // no window recorded: this erase deletes the user's readings and `users` item
            let u = rainmaker_model::unbind::unbind_with(&c.ddb, t, node, user_id, false)
                .await
                .map_err(GdprError::unbind)?;
            n = u.removed_grants.len() as u64 + u64::from(u.cleared_owner);
        }
        Step::DeleteBindingRequests => {
            for code in &a.keys {
                let mine = Some(("#c = :c", attr::USER_ID, user_id));
                n += u64::from(delete(c, &t.binding_requests, &[(attr::BINDING_CODE, code)], mine).await?);
            }
        }
        Step::DeleteGrants => {
            for nd in &a.keys {
                n += u64::from(delete(c, &t.user_nodes, &[(attr::USER_ID, user_id), (attr::NODE_ID, nd)], None).await?);
            }
        }
        Step::DeleteUserItem => n = u64::from(delete(c, &t.users, &[(attr::USER_ID, user_id)], None).await?),
        Step::DeleteCognitoUser => {
            for u in &a.keys {
                match c.cognito.admin_delete_user().user_pool_id(&r.user_pool_id).username(u).send().await {
                    Ok(_) => n += 1,
                    Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => {}
                    Err(e) => return Err(sdk("Cognito AdminDeleteUser")(e)),
                }
            }
        }
        Step::DeleteTelemetry | Step::DeleteFormerTelemetry | Step::Verify => {}
    }
    Ok(n)
}

/// Revoke every certificate attached to the thing and detach it (the thing itself stays registered).
async fn revoke(c: &GdprClients, node: &str) -> Result<u64, GdprError> {
    let mut n = 0;
    let mut token = None;
    loop {
        let out = c
            .iot
            .list_thing_principals()
            .thing_name(node)
            .set_next_token(token)
            .send()
            .await
            .map_err(sdk("IoT ListThingPrincipals"))?;
        for arn in out.principals() {
            c.iot
                .detach_thing_principal()
                .thing_name(node)
                .principal(arn)
                .send()
                .await
                .map_err(sdk("IoT DetachThingPrincipal"))?;
            if let Some(id) = arn.rsplit_once("cert/").map(|(_, id)| id) {
                c.iot
                    .update_certificate()
                    .certificate_id(id)
                    .new_status(aws_sdk_iot::types::CertificateStatus::Revoked)
                    .send()
                    .await
                    .map_err(sdk("IoT UpdateCertificate"))?;
                n += 1;
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(n);
        }
    }
}

/// Delete up to 25 keys, retrying what DynamoDB leaves unprocessed.
pub async fn batch_delete(c: &GdprClients, table: &str, keys: &[Item]) -> Result<u64, GdprError> {
    let pending: Vec<WriteRequest> = keys
        .iter()
        .map(|k| {
            let d =
                DeleteRequest::builder().set_key(Some(k.clone())).build().map_err(|e| GdprError::io("delete", e))?;
            Ok(WriteRequest::builder().delete_request(d).build())
        })
        .collect::<Result<_, GdprError>>()?;
    let total = pending.len() as u64;
    super::batch::write_all(c, table, pending, |left, attempts| GdprError::Model {
        operation: "DynamoDB BatchWriteItem",
        message: format!("{left} items still unprocessed after {attempts} attempts"),
        help: "the table is throttled; wait a minute and run the erase again (it resumes)".into(),
    })
    .await?;
    Ok(total)
}
