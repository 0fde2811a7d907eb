//! `apply`: one tenant end to end (preflight, bootstrap, artifacts, adoption of kept data, backend, claim
//! certificate, verification, outputs.json), recording what it did as it goes.

use super::stacks::{complete_outputs, converge_stack};
use super::{backend_parameters, code_parameters, device_maker_outputs, endpoint, live_parameters, missing_bucket};
use super::{output_keys, prepare, stack_tags, step, ApplyOptions, ApplyReport};
use crate::aws::artifacts;
use crate::aws::converge::{self, Ready, StackResult};
use crate::aws::progress::{Progress, ProgressEvent, Prompter};
use crate::aws::sdk::{Clients, Tenant};
use crate::aws::verify::{self, Expectations};
use crate::aws::{adopt, iot, stack, DeployError};
use std::collections::BTreeMap;
use std::time::Instant;

/// Deploy one tenant end to end and report what was done ([`crate::aws::failure::apply_reporting`] also returns what
/// a failed run did).
pub async fn apply(
    t: &Tenant,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<ApplyReport, DeployError> {
    crate::aws::failure::apply_reporting(t, opts, prompter, progress).await.map_err(|f| f.error)
}

/// [`apply`] with the clients given and what is done recorded in `partial` as it goes.
pub(crate) async fn apply_with(
    t: &Tenant,
    c: &Clients,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
    partial: &mut crate::aws::failure::Partial,
) -> Result<ApplyReport, DeployError> {
    let started = Instant::now();
    let p = prepare(t)?;
    let tags = stack_tags(t);
    let region = t.config.region.clone();
    let arts = artifacts::load(&t.artifacts_dir, &code_parameters(&p.backend.2))?;
    // who is calling, before any change: the wrong account is refused here
    let (caller, state) = crate::aws::identity::preflight_as(t, c, opts.caller.as_ref()).await?;
    partial.account = Some(caller.account.clone());
    partial.state_dir = Some(state.clone());
    // one tenant per account and region: another tenant's stacks here are refused before any change
    let mut listed = crate::aws::tenants::refuse_others(&c.cfn, &t.config.name, &caller.account, &region).await?;
    let (b, _, bjson) = &p.bootstrap;
    let (k, _, kjson) = &p.backend;
    // a backend to be created (missing, or a failed first create / unexecuted review that recovery deletes) adopts
    // what the tenant kept: looked up now, so a kept resource that differs from the template is refused before
    // any change
    let backend_state = listed.get(&k.stack_name).map(|s| stack::classify(&stack::status(s)));
    let mut kept = match backend_state {
        None | Some(stack::StackState::Missing | stack::StackState::FailedCreate | stack::StackState::Review) => {
            Some(adopt::run::check(c, &k.stack_name, kjson).await?)
        }
        Some(_) => None,
    };

    let bt = p.bootstrap_target(tags.clone());
    let mut recovered = Vec::new();
    let first = Some(listed.remove(&b.stack_name));
    let live = converge::recover_from(c, &bt, first, &opts.wait, prompter, progress, &mut recovered).await?;
    let ready = converge::compare(c, &bt, live).await?;
    let mut boot = converge_stack(c, &bt, ready, recovered, None, &region, opts, prompter, progress).await?;
    partial.stacks.push(boot.clone());
    let failure = complete_outputs(c, &mut boot, bjson, &region, &caller.account).await;
    let bucket =
        boot.outputs.get("ArtifactsBucketName").cloned().ok_or_else(|| missing_bucket(&b.stack_name, failure))?;

    let mut kt = p.backend_target(BTreeMap::new(), tags);
    let mut recovered = Vec::new();
    // the listing still tells the backend's state when the bootstrap took no time (unchanged, nothing recovered);
    // after a change or a wait, someone else may have moved the backend meanwhile: read it again
    let quick = boot.result == StackResult::Unchanged && boot.recovered.is_empty();
    let first = quick.then(|| listed.remove(&k.stack_name));
    let mut live = converge::recover_from(c, &kt, first, &opts.wait, prompter, progress, &mut recovered).await?;
    let mut adopted = Vec::new();
    if live.is_none() {
        // no stack: import what the tenant kept first (looked up again if the backend vanished meanwhile)
        let imports = match kept.take() {
            Some(imports) => imports,
            None => adopt::run::check(c, &k.stack_name, kjson).await?,
        };
        if !imports.is_empty() {
            let imported = adopt::run::import(c, &kt, kjson, &imports, &opts.wait, prompter, progress).await?;
            let adoption = adopt::run::adoption(&k.stack_name, &imports);
            recovered.push(format!("{} kept from an earlier stack (IMPORT change set)", adoption.summary));
            adopted.push(adoption);
            live = Some(imported);
        }
    }
    let ep = endpoint(c, live.as_ref()).await?;
    // unchanged when the live stack already pins the same keys (no S3 call); any change checks every artifact
    let versions = artifacts::live_versions(&live_parameters(live.as_ref()), &arts, artifacts::PENDING_VERSION);
    kt.parameters = backend_parameters(&bucket, &ep, &arts, versions);
    let wanted_outputs = output_keys(kjson);
    let live_outputs = live.as_ref().map(stack::outputs).unwrap_or_default();
    let live_outputs =
        crate::aws::outputs::complete_in(kjson, &live_outputs, &BTreeMap::new(), &region, Some(&caller.account));
    kt.rollback = crate::aws::alarms::rollback_for(opts.bake, live.as_ref(), &live_outputs, &wanted_outputs);
    let baking = kt.rollback.as_ref().is_some_and(|r| r.minutes > 0);
    let ready = converge::compare(c, &kt, live).await?;
    let mut uploaded = Vec::new();
    if matches!(ready, Ready::Change { .. }) {
        step(progress, None, format!("uploading {} Lambda artifacts to {bucket} (an object already there is reused only when its stored SHA-256 checksum matches)", arts.len()));
        let versioning = || {
            let m = format!("{bucket} was not versioned: turned versioning on (as the bootstrap template says)");
            step(progress, None, m)
        };
        uploaded = artifacts::upload(&c.s3, &bucket, &arts, &versioning).await?;
        partial.artifacts = uploaded.clone();
        let pins = uploaded.iter().zip(&arts).map(|(u, a)| (a.version_parameter.clone(), u.version_id.clone()));
        kt.parameters = backend_parameters(&bucket, &ep, &arts, pins.collect());
    }
    // CloudFormation holds the update in progress for the monitoring time: the wait allows for it
    let mut kopts = opts.clone();
    if let Some(r) = kt.rollback.as_ref().filter(|r| r.minutes > 0) {
        kopts.wait.timeout += std::time::Duration::from_secs(60 * u64::from(r.minutes));
        let names: Vec<&str> = r.alarms.iter().filter_map(|a| crate::aws::alarms::alarm_name(a)).collect();
        step(progress, Some(&k.stack_name), format!("bake: {} min, rollback triggers {}", r.minutes, names.join(", ")));
    }
    let mut backend =
        converge_stack(c, &kt, ready, recovered, Some(&bucket), &region, &kopts, prompter, progress).await?;
    partial.stacks.push(backend.clone());
    let baked = baking && backend.result == StackResult::Updated;
    let rollback_triggers = kt.rollback.as_ref().filter(|_| baked).map(|r| r.alarms.clone()).unwrap_or_default();
    if let Some(reason) = complete_outputs(c, &mut backend, kjson, &region, &caller.account).await {
        progress.report(ProgressEvent::Step {
            stack: Some(backend.stack_name.clone()),
            message: format!("some outputs could not be completed from the stack's resources: {reason}"),
        });
    }
    let changed = boot.result != StackResult::Unchanged || backend.result != StackResult::Unchanged;
    let watched_alarms = if baked { crate::aws::alarms::exported(&backend.outputs) } else { vec![] };

    let claim_policy = backend.outputs.get("ClaimPolicyName").cloned().unwrap_or_else(|| p.names.claim_policy.clone());
    step(progress, None, "claim certificate");
    let place = crate::aws::claim::Place::new(&t.config, &p.names, &claim_policy, &state);
    let claim = crate::aws::claim::ensure(c, &place, backend.result == StackResult::Unchanged, progress).await?;

    // the one Device Defender finding by design, suppressed for the claim policy's current version
    let start = crate::aws::audit::decide::start(
        t.config.security.device_defender_audit,
        !changed && !opts.always_verify,
        opts.verify_omissions,
    );
    let audit_suppression = crate::aws::audit::ensure(c, &t.config.name, &claim_policy, start).await?;
    step(progress, None, audit_suppression.summary());

    let verification = if changed || opts.always_verify {
        step(progress, None, "verifying through each service's API");
        let sha: BTreeMap<String, String> = arts.iter().map(|a| (a.parameter.clone(), a.sha256.clone())).collect();
        verify::run(c, &Expectations::from_template(kjson), &sha, opts.verify_omissions).await
    } else {
        vec![]
    };

    let outputs = device_maker_outputs(&ep, &backend.outputs, &claim);
    let outputs_file = state.join("outputs.json");
    iot::create_private_dir(&state)?;
    let text = serde_json::to_string_pretty(&outputs).map_err(|e| DeployError::io("serializing outputs", e))?;
    std::fs::write(&outputs_file, text + "\n")
        .map_err(|e| DeployError::io(format!("writing {}", outputs_file.display()), e))?;

    Ok(ApplyReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region,
        template_version: crate::TEMPLATE_VERSION.into(),
        changed,
        stacks: vec![boot, backend],
        adopted,
        artifacts: uploaded,
        iot_endpoint: ep,
        claim_certificate: Some(claim),
        audit_suppression,
        outputs,
        outputs_file,
        verification,
        rollback_triggers,
        watched_alarms,
        api_calls: c.calls.summary(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
