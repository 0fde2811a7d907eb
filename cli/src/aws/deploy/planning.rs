//! `plan`: what `apply` would change, read from change sets that are deleted again; a stack in a bad state is not
//! diffed but planned as the recovery `apply` would run first.

use super::{backend_parameters, code_parameters, endpoint, live_parameters, missing_bucket, prepare, stack_tags};
use super::{step, PlanReport};
use crate::aws::adopt::Import;
use crate::aws::artifacts;
use crate::aws::converge::{self, Target};
use crate::aws::events::WaitOptions;
use crate::aws::plan::StackPlan;
use crate::aws::progress::Progress;
use crate::aws::sdk::{Clients, Tenant};
use crate::aws::{changeset, stack, DeployError};
use std::collections::BTreeMap;
use std::time::Instant;

/// The plan of a stack to create, with the kept resources it imports shown as `Import` of their identifier.
fn mark_imports(plan: &mut StackPlan, imports: &[Import]) {
    for change in &mut plan.changes {
        if let Some(i) = imports.iter().find(|i| i.logical_id == change.logical_id) {
            change.action = "Import".into();
            change.physical_id = Some(i.identifier_value.clone());
        }
    }
}

/// Show what `apply` would change, without changing anything (change sets are deleted again).
pub async fn plan(t: &Tenant, wait: &WaitOptions, progress: &dyn Progress) -> Result<PlanReport, DeployError> {
    plan_as(t, None, wait, progress).await
}

/// [`plan`] with the identity of the tenant's credentials already known (see [`super::ApplyOptions::caller`]).
pub async fn plan_as(
    t: &Tenant,
    caller: Option<&crate::aws::identity::Caller>,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<PlanReport, DeployError> {
    let started = Instant::now();
    let c = Clients::new(&t.sdk);
    let p = prepare(t)?;
    let tags = stack_tags(t);
    let arts = artifacts::load(&t.artifacts_dir, &code_parameters(&p.backend.2))?;
    let (caller, _) = crate::aws::identity::preflight_as(t, &c, caller).await?;
    // the account's listing also serves as the DescribeStacks of both stacks (plan changes nothing in between)
    let mut listed =
        crate::aws::tenants::refuse_others(&c.cfn, &t.config.name, &caller.account, &t.config.region).await?;
    let (b, _, _) = &p.bootstrap;
    let (k, kinfo, _) = &p.backend;
    let mut stacks = Vec::new();
    let boot = listed.remove(&b.stack_name);
    let mut bucket = boot.as_ref().and_then(|s| stack::outputs(s).remove("ArtifactsBucketName"));
    if boot.is_some() && bucket.is_none() {
        let (physical, failure) = crate::aws::outputs::physical_ids_or_failure(&c.cfn, &b.stack_name).await;
        bucket = crate::aws::outputs::complete(&p.bootstrap.2, &BTreeMap::new(), &physical, &t.config.region)
            .remove("ArtifactsBucketName");
        // the bootstrap stack exists: planning the backend as a first create would be a lie
        if bucket.is_none() {
            return Err(missing_bucket(&b.stack_name, failure));
        }
    }
    let bt = p.bootstrap_target(tags.clone());
    stacks.push(plan_one(&c, &bt, boot, None, &t.config.region, wait, progress).await?);
    match bucket {
        None => stacks.push(StackPlan::create("backend", &k.stack_name, kinfo)),
        Some(bucket) => {
            let live = listed.remove(&k.stack_name);
            let ep = endpoint(&c, live.as_ref()).await?;
            let versions = artifacts::live_versions(&live_parameters(live.as_ref()), &arts, artifacts::PENDING_VERSION);
            let kt = p.backend_target(backend_parameters(&bucket, &ep, &arts, versions), tags);
            stacks.push(plan_one(&c, &kt, live, Some(&bucket), &t.config.region, wait, progress).await?);
        }
    }
    // a backend to create (missing, or deleted first by the recovery) adopts what the tenant kept
    let mut adopted = Vec::new();
    if let Some(kp) = stacks.last_mut().filter(|kp| kp.kind == crate::aws::plan::PlanKind::Create) {
        let imports = crate::aws::adopt::run::check(&c, &k.stack_name, &p.backend.2).await?;
        if !imports.is_empty() {
            let adoption = crate::aws::adopt::run::adoption(&k.stack_name, &imports);
            step(progress, Some(&k.stack_name), format!("{} kept from an earlier stack", adoption.summary));
            mark_imports(kp, &imports);
            adopted.push(adoption);
        }
    }
    Ok(PlanReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        stacks,
        adopted,
        api_calls: c.calls.summary(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Plan one stack against its live state (`None`: not there). A stack in a bad state is not diffed: the plan
/// says what `apply` would do first ([`StackPlan::recovery`]): a failed first create is deleted and created again
/// (all resources added), a failed rollback is continued, an operation in progress is waited for.
pub async fn plan_one(
    c: &Clients,
    t: &Target<'_>,
    live: Option<aws_sdk_cloudformation::types::Stack>,
    bucket: Option<&str>,
    region: &str,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<StackPlan, DeployError> {
    let Some(live) = live else { return Ok(StackPlan::create(t.stack, t.stack_name, t.info)) };
    let status = stack::status(&live);
    let mut state = stack::classify(&status);
    // an IMPORT that created the stack and rolled back left it empty: apply deletes it and imports again
    if status == "IMPORT_ROLLBACK_COMPLETE" && converge::holds_nothing(c, t.stack_name).await? {
        state = stack::StackState::FailedCreate;
    }
    match state {
        stack::StackState::Stable => {}
        stack::StackState::Missing => return Ok(StackPlan::create(t.stack, t.stack_name, t.info)),
        stack::StackState::FailedCreate | stack::StackState::Review => {
            let recovery = stack::recovery(&status).or_else(|| {
                Some(format!(
                    "delete the empty stack left in {status} by a failed import (apply asks; --yes agrees), then \
                     create it, importing the kept resources again"
                ))
            });
            step(progress, Some(t.stack_name), format!("{status}: apply deletes it first and creates it again"));
            return Ok(StackPlan { recovery, ..StackPlan::create(t.stack, t.stack_name, t.info) });
        }
        _ => {
            let recovery = stack::recovery(&status);
            step(
                progress,
                Some(t.stack_name),
                format!("{status}: apply recovers from it first; no change set until then"),
            );
            return Ok(StackPlan {
                kind: crate::aws::plan::PlanKind::Update,
                recovery,
                ..StackPlan::unchanged(t.stack, t.stack_name)
            });
        }
    }
    let unchanged = match converge::verdict(
        &stack::parameters(&live),
        &stack::tags(&live),
        &t.parameters,
        &converge::wanted_tags(t),
    ) {
        converge::Verdict::Same => true,
        converge::Verdict::CompareTemplate => stack::template_body(&c.cfn, t.stack_name)
            .await?
            .as_deref()
            .is_some_and(|b| converge::same_template(b, t.body)),
        converge::Verdict::Differs => false,
    };
    if unchanged {
        return Ok(StackPlan::unchanged(t.stack, t.stack_name));
    }
    step(progress, Some(t.stack_name), "creating a change set");
    let source = converge::template_source(c, t, bucket, region).await?;
    let plan = converge::plan(c, t, false, source, wait).await?;
    if let Some(name) = &plan.change_set {
        changeset::delete(&c.cfn, t.stack_name, name).await?;
    }
    Ok(StackPlan { change_set: None, ..plan })
}
