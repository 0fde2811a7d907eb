//! `destroy` as data: delete the claim certificate, the backend and the bootstrap stacks, and say exactly what
//! outlived them. What is kept is decided from the LIVE stacks (`decide`: their deployed templates' `DeletionPolicy:
//! Retain` and `Metadata.DataClass`, their resources' ids), so a tenant deployed by an older version is judged by
//! what is deployed; `--delete-data` then deletes each retained data resource through its own service (`delete`),
//! after both stacks are gone. `journal` keeps the list across a partial run; `failure` says what a failed run did.

pub mod decide;
pub mod delete;
pub mod failure;
pub mod journal;

use super::calls::CallSummary;
use super::events::{EventStream, WaitOptions};
use super::plan::TemplateInfo;
use super::progress::{Progress, ProgressEvent};
use super::sdk::{Clients, Tenant};
use super::{stack, DeployError};
use decide::{Action, Retained};
use delete::Outcome;
use journal::Journal;
use serde::Serialize;
use std::collections::BTreeMap;

/// How to destroy.
#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// Keep the retained data (tables, user pool, artifacts bucket, key secrets): the default.
    pub keep_data: bool,
    /// With `keep_data: false`: delete the key secrets without a recovery window (`ForceDeleteWithoutRecovery`).
    pub force_delete_secrets: bool,
    pub wait: WaitOptions,
    /// [`super::verify::Omissions::Moto`] only in tests against moto: the Device Defender suppression is not
    /// deleted there (moto has no Device Defender API). The CLI: [`super::verify::Omissions::for_cli`].
    pub omissions: super::verify::Omissions,
}

impl Default for DestroyOptions {
    fn default() -> Self {
        DestroyOptions {
            keep_data: true,
            force_delete_secrets: false,
            wait: WaitOptions::default(),
            omissions: super::verify::Omissions::Strict,
        }
    }
}

/// A retained resource that is still there, and why.
#[derive(Debug, Clone, Serialize)]
pub struct KeptResource {
    #[serde(flatten)]
    pub resource: Retained,
    pub reason: String,
}

/// A retained resource deleted on request (`--delete-data`), and how that ended.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedResource {
    #[serde(flatten)]
    pub resource: Retained,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What `destroy` did.
#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub deleted_stacks: Vec<String>,
    /// Per stack, where its list of retained resources came from: `live stack` (its deployed template and
    /// resources) or `record` (`retained.json`, written from the live stack by an earlier run).
    pub judged_from: BTreeMap<String, String>,
    /// Outlived the stacks: data kept (the default), or anything `--delete-data` does not or may not delete.
    pub kept: Vec<KeptResource>,
    /// Deleted on request (`keep_data: false`).
    pub deleted_data: Vec<DeletedResource>,
    /// Every claim certificate of the tenant found in the account (claim policy targets, the secret) and deleted.
    pub claim_certificates_deleted: Vec<String>,
    /// The Device Defender suppression of the claim policy's current version: deleted, already gone, no policy,
    /// off or skipped (test mode).
    pub audit_suppression: super::audit::decide::Removed,
    pub api_calls: CallSummary,
}

/// Delete the tenant's stacks, then (unless keeping data) what they retained ([`failure::destroy_reporting`] also
/// returns what a failed run did).
pub async fn destroy(t: &Tenant, opts: &DestroyOptions, progress: &dyn Progress) -> Result<DestroyReport, DeployError> {
    failure::destroy_reporting(t, opts, progress).await.map_err(|f| f.error)
}

/// [`destroy`] with the clients given and what is done recorded in `partial` as it goes.
pub(crate) async fn destroy_with(
    t: &Tenant,
    c: &Clients,
    opts: &DestroyOptions,
    progress: &dyn Progress,
    partial: &mut failure::Partial,
) -> Result<DestroyReport, DeployError> {
    let names = crate::template::Names::new(&t.config.name);
    // who is calling, before any change: the wrong account is refused here
    let (caller, state) = super::identity::preflight(t, c).await?;
    partial.account = Some(caller.account.clone());
    partial.state_dir = Some(state.clone());
    let mut report = DestroyReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        deleted_stacks: vec![],
        judged_from: BTreeMap::new(),
        kept: vec![],
        deleted_data: vec![],
        claim_certificates_deleted: vec![],
        audit_suppression: super::audit::decide::Removed::Off,
        api_calls: CallSummary::default(),
    };
    // the claim certificates hold the claim policy: detach and delete them first, or the policy cannot be deleted
    let place = super::claim::Place::new(&t.config, &names, &names.claim_policy, &state);
    super::claim::retire_all_into(c, &place, progress, &mut partial.claim_deleted).await?;
    report.claim_certificates_deleted = partial.claim_deleted.clone();
    // the suppression names the claim policy's version: deleted while the policy still tells which one
    let start = super::audit::decide::removal_start(t.config.security.device_defender_audit, opts.omissions);
    report.audit_suppression = super::audit::remove(c, &names.claim_policy, start).await?;
    let mut record = Journal::load(&state)?;
    for name in [&names.backend_stack, &names.bootstrap_stack] {
        if stack::describe(&c.cfn, name).await?.is_none() {
            if record.stacks.contains_key(name.as_str()) {
                report.judged_from.insert(name.clone(), "record".into());
            }
            partial.gone.push(name.clone());
            continue;
        }
        // the live stack decides: its deployed template and its resources' ids, recorded before it goes
        let Some(live) = stack::template_body(&c.cfn, name).await? else {
            return Err(DeployError::missing("CloudFormation GetTemplate", "TemplateBody"));
        };
        let live = crate::template::parse(&live)?;
        let (physical, failure) = super::outputs::physical_ids_or_failure(&c.cfn, name).await;
        let retained = decide::retained(name, &live, &physical);
        if let Some(reason) = failure {
            let unknown: Vec<&str> =
                retained.iter().filter(|r| r.physical_id.is_none()).map(|r| r.logical_id.as_str()).collect();
            if !unknown.is_empty() {
                progress.report(ProgressEvent::Step {
                    stack: Some(name.clone()),
                    message: format!("ids not readable ({reason}); kept by name or without id: {}", unknown.join(", ")),
                });
            }
        }
        record.stacks.insert(name.clone(), retained);
        record.save(&state)?;
        report.judged_from.insert(name.clone(), "live stack".into());
        partial.delete_sent.push(name.clone());
        delete_stack(c, name, &TemplateInfo::from_template(&live), opts, progress).await?;
        report.deleted_stacks.push(name.clone());
        partial.deleted_stacks.push(name.clone());
    }
    // both stacks are gone: outputs.json described them
    failure::remove_outputs(&state, progress)?;
    // now the data, backend's first (the user pool and tables before the bucket)
    let prefix = &names.prefix;
    for name in [&names.backend_stack, &names.bootstrap_stack] {
        let list = record.stacks.get(name.as_str()).cloned().unwrap_or_default();
        for r in list {
            match decide::decide(&r, prefix, !opts.keep_data) {
                Action::Keep(reason) => report.kept.push(KeptResource { resource: r, reason }),
                Action::Delete(kind) => match delete::one(c, kind, &r, prefix, opts, progress).await? {
                    Outcome::Kept { reason } => report.kept.push(KeptResource { resource: r, reason }),
                    outcome => {
                        record.forget(&r);
                        record.save(&state)?;
                        let deleted = DeletedResource { resource: r, outcome };
                        partial.deleted_data.push(deleted.clone());
                        report.deleted_data.push(deleted);
                    }
                },
            }
        }
    }
    report.api_calls = c.calls.summary();
    Ok(report)
}

/// DeleteStack with our own token, and wait for DELETE_COMPLETE.
async fn delete_stack(
    c: &Clients,
    name: &str,
    info: &TemplateInfo,
    opts: &DestroyOptions,
    progress: &dyn Progress,
) -> Result<(), DeployError> {
    progress.report(ProgressEvent::Step { stack: Some(name.into()), message: "deleting the stack".into() });
    let token = super::changeset::execute_token(&format!("{}-destroy", super::changeset::new_name()), name);
    c.cfn
        .delete_stack()
        .stack_name(name)
        .client_request_token(&token)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation DeleteStack", e))?;
    let done = EventStream::new(&c.cfn, name, info, progress).ours(token).wait(&opts.wait).await?;
    if done.status == "DELETE_COMPLETE" {
        return Ok(());
    }
    let reason = done
        .first_failure
        .or_else(|| done.stack.as_ref().and_then(|s| s.stack_status_reason()).map(str::to_string))
        .unwrap_or_else(|| "no event names a resource; `rainmaker-deploy status` shows the last events".into());
    Err(DeployError::DeleteFailed { stack: name.into(), status: done.status, reason })
}
