//! The deploy core for one tenant: [`plan`] (what would change) and [`apply`] (bootstrap stack, artifacts by
//! content hash, backend change set, IoT claim certificate, verification, outputs), returning reports as data.

use super::adopt::{self, Adoption, Import};
use super::artifacts::{self, Artifact, Uploaded};
use super::calls::CallSummary;
use super::converge::{self, Ready, StackReport, StackResult, Target};
use super::events::WaitOptions;
use super::iot::{self, ClaimCertificate};
use super::plan::{StackPlan, TemplateInfo};
use super::progress::{Progress, ProgressEvent, Prompter};
use super::sdk::{Clients, Tenant};
use super::verify::{self, Check, Expectations};
use super::{changeset, stack, DeployError};
use crate::template::{self, Names, RenderedStack};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Allow change sets that replace or remove stateful resources.
    pub allow_replace: bool,
    /// Run the verification pass even when nothing changed.
    pub always_verify: bool,
    pub wait: WaitOptions,
    /// Bake (`upgrade`): on an UPDATE of the backend, its exported alarms become rollback triggers monitored this
    /// many minutes after the update (see [`super::alarms::rollback_for`]); the wait allows for them.
    pub bake: Option<u32>,
}

/// What `apply` did, as data.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub tenant: String,
    /// The account of the credentials (`sts:GetCallerIdentity`), checked against the config's `account:`.
    pub account: String,
    pub region: String,
    pub template_version: String,
    /// Anything created or updated.
    pub changed: bool,
    pub stacks: Vec<StackReport>,
    /// Kept resources (of an earlier stack) imported before the stack was updated to its template.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<Adoption>,
    /// Artifacts checked against the bucket (empty when the backend was unchanged).
    pub artifacts: Vec<Uploaded>,
    pub iot_endpoint: String,
    pub claim_certificate: Option<ClaimCertificate>,
    /// What a device maker needs (IoT endpoint, API URL, user pool, template names, claim files) and every output.
    pub outputs: BTreeMap<String, String>,
    pub outputs_file: PathBuf,
    /// Empty when skipped (nothing changed and not asked for).
    pub verification: Vec<Check>,
    /// The alarm ARNs passed as rollback triggers on the backend's UPDATE (a bake; empty otherwise).
    pub rollback_triggers: Vec<String>,
    /// The backend's exported alarms to check after a baked update (empty without a bake or on a create).
    pub watched_alarms: Vec<String>,
    pub api_calls: CallSummary,
    pub elapsed_ms: u64,
}

impl ApplyReport {
    /// Checks that failed.
    pub fn failed_checks(&self) -> Vec<&Check> {
        self.verification.iter().filter(|c| !c.ok).collect()
    }
}

/// What `plan` found, as data.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub stacks: Vec<StackPlan>,
    /// Kept resources (of an earlier stack) the stack to create imports first ([`super::adopt`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<Adoption>,
    pub api_calls: CallSummary,
    pub elapsed_ms: u64,
}

/// The rendered stacks with what the core needs to know about their templates.
pub struct Prepared {
    pub bootstrap: (RenderedStack, TemplateInfo, serde_json::Value),
    pub backend: (RenderedStack, TemplateInfo, serde_json::Value),
    pub names: Names,
}

/// Render and parse both stacks (no AWS).
pub fn prepare(t: &Tenant) -> Result<Prepared, DeployError> {
    let rendered = template::render(&t.config)?;
    let get = |n: &str| rendered.stack(n).cloned().ok_or_else(|| DeployError::io("rendering", format!("no {n} stack")));
    let (b, k) = (get("bootstrap")?, get("backend")?);
    let bjson = template::parse(&b.body)?;
    let binfo = TemplateInfo::from_template(&bjson);
    let kjson = template::parse(&k.body)?;
    let kinfo = TemplateInfo::from_template(&kjson);
    Ok(Prepared { bootstrap: (b, binfo, bjson), backend: (k, kinfo, kjson), names: Names::new(&t.config.name) })
}

/// Stack tags: the config's, plus the tenant and the template version.
pub fn stack_tags(t: &Tenant) -> BTreeMap<String, String> {
    let mut tags = t.config.tags.clone();
    tags.insert("rainmaker:tenant".into(), t.config.name.clone());
    tags.insert("rainmaker:template-version".into(), crate::TEMPLATE_VERSION.into());
    tags
}

/// The code-key parameters the backend template declares.
pub fn code_parameters(backend: &serde_json::Value) -> Vec<String> {
    backend
        .get("Parameters")
        .and_then(|p| p.as_object())
        .map(|m| m.keys().filter(|k| k.ends_with("CodeKey")).cloned().collect())
        .unwrap_or_default()
}

/// The backend's parameters: bucket, endpoint, each function's key and pinned version (`versions`, by version
/// parameter: the live stack's pins or the uploads').
fn backend_parameters(
    bucket: &str,
    endpoint: &str,
    arts: &[Artifact],
    versions: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut p = versions;
    p.insert("ArtifactsBucket".to_string(), bucket.to_string());
    p.insert("IotDataEndpoint".to_string(), endpoint.to_string());
    for a in arts {
        p.insert(a.parameter.clone(), a.key.clone());
    }
    p
}

/// The live stack's parameters (empty without a stack).
fn live_parameters(live: Option<&aws_sdk_cloudformation::types::Stack>) -> BTreeMap<String, String> {
    live.map(stack::parameters).unwrap_or_default()
}

/// The plan of a stack to create, with the kept resources it imports shown as `Import` of their identifier.
fn mark_imports(plan: &mut StackPlan, imports: &[Import]) {
    for change in &mut plan.changes {
        if let Some(i) = imports.iter().find(|i| i.logical_id == change.logical_id) {
            change.action = "Import".into();
            change.physical_id = Some(i.identifier_value.clone());
        }
    }
}

fn step(progress: &dyn Progress, stack: Option<&str>, message: impl Into<String>) {
    progress.report(ProgressEvent::Step { stack: stack.map(str::to_string), message: message.into() });
}

/// The IoT endpoint: the live backend's parameter when there is one (saves a call), else DescribeEndpoint.
async fn endpoint(c: &Clients, live: Option<&aws_sdk_cloudformation::types::Stack>) -> Result<String, DeployError> {
    if let Some(e) = live.and_then(|s| stack::parameters(s).remove("IotDataEndpoint")).filter(|e| !e.is_empty()) {
        return Ok(e);
    }
    iot::data_endpoint(&c.iot).await
}

/// Show what `apply` would change, without changing anything (change sets are deleted again).
pub async fn plan(t: &Tenant, wait: &WaitOptions, progress: &dyn Progress) -> Result<PlanReport, DeployError> {
    let started = Instant::now();
    let c = Clients::new(&t.sdk);
    let p = prepare(t)?;
    let tags = stack_tags(t);
    let arts = artifacts::load(&t.artifacts_dir, &code_parameters(&p.backend.2))?;
    let (caller, _) = super::identity::preflight(t, &c).await?;
    // the account's listing also serves as the DescribeStacks of both stacks (plan changes nothing in between)
    let mut listed = super::tenants::refuse_others(&c.cfn, &t.config.name, &caller.account, &t.config.region).await?;
    let (b, binfo, _) = &p.bootstrap;
    let (k, kinfo, _) = &p.backend;
    let mut stacks = Vec::new();
    let boot = listed.remove(&b.stack_name);
    let mut bucket = boot.as_ref().and_then(|s| stack::outputs(s).remove("ArtifactsBucketName"));
    if boot.is_some() && bucket.is_none() {
        let (physical, failure) = super::outputs::physical_ids_or_failure(&c.cfn, &b.stack_name).await;
        bucket = super::outputs::complete(&p.bootstrap.2, &BTreeMap::new(), &physical, &t.config.region)
            .remove("ArtifactsBucketName");
        // the bootstrap stack exists: planning the backend as a first create would be a lie
        if bucket.is_none() {
            return Err(missing_bucket(&b.stack_name, failure));
        }
    }
    let bt = Target {
        stack: "bootstrap",
        stack_name: &b.stack_name,
        body: &b.body,
        info: binfo,
        parameters: BTreeMap::new(),
        tags: tags.clone(),
        rollback: None,
    };
    stacks.push(plan_one(&c, &bt, boot, None, &t.config.region, wait, progress).await?);
    match bucket {
        None => stacks.push(StackPlan::create("backend", &k.stack_name, kinfo)),
        Some(bucket) => {
            let live = listed.remove(&k.stack_name);
            let ep = endpoint(&c, live.as_ref()).await?;
            let versions = artifacts::live_versions(&live_parameters(live.as_ref()), &arts, artifacts::PENDING_VERSION);
            let kt = Target {
                stack: "backend",
                stack_name: &k.stack_name,
                body: &k.body,
                info: kinfo,
                parameters: backend_parameters(&bucket, &ep, &arts, versions),
                tags,
                rollback: None,
            };
            stacks.push(plan_one(&c, &kt, live, Some(&bucket), &t.config.region, wait, progress).await?);
        }
    }
    // a backend to create (missing, or deleted first by the recovery) adopts what the tenant kept
    let mut adopted = Vec::new();
    if let Some(kp) = stacks.last_mut().filter(|kp| kp.kind == super::plan::PlanKind::Create) {
        let imports = super::adopt::run::check(&c, &k.stack_name, &p.backend.2).await?;
        if !imports.is_empty() {
            let adoption = super::adopt::run::adoption(&k.stack_name, &imports);
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
                kind: super::plan::PlanKind::Update,
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

fn unchanged_report(
    t: &Target<'_>,
    live: &aws_sdk_cloudformation::types::Stack,
    recovered: Vec<String>,
    progress: &dyn Progress,
) -> StackReport {
    step(progress, Some(t.stack_name), "no changes");
    StackReport {
        stack: t.stack.into(),
        stack_name: t.stack_name.into(),
        result: StackResult::Unchanged,
        status: stack::status(live),
        plan: StackPlan::unchanged(t.stack, t.stack_name),
        recovered,
        outputs: stack::outputs(live),
    }
}

/// Converge one prepared stack: unless unchanged, plan, refuse/confirm, execute, wait.
#[allow(clippy::too_many_arguments)]
async fn converge_stack(
    c: &Clients,
    t: &Target<'_>,
    ready: Ready,
    recovered: Vec<String>,
    bucket: Option<&str>,
    region: &str,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<StackReport, DeployError> {
    let (live, create) = match ready {
        Ready::Unchanged(live) => return Ok(unchanged_report(t, &live, recovered, progress)),
        Ready::Change { live, create } => (live, create),
    };
    step(
        progress,
        Some(t.stack_name),
        format!("creating {} change set", if create { "a CREATE" } else { "an UPDATE" }),
    );
    let source = converge::template_source(c, t, bucket, region).await?;
    let plan = converge::plan(c, t, create, source, &opts.wait).await?;
    if plan.kind == super::plan::PlanKind::NoChanges {
        if let Some(name) = &plan.change_set {
            changeset::delete(&c.cfn, t.stack_name, name).await?;
        }
        let live = live.ok_or_else(|| DeployError::NotDeployed { stack: t.stack_name.into() })?;
        return Ok(unchanged_report(t, &live, recovered, progress));
    }
    let done = converge::execute(c, t, &plan, opts.allow_replace, &opts.wait, prompter, progress).await?;
    Ok(StackReport {
        stack: t.stack.into(),
        stack_name: t.stack_name.into(),
        result: if create { StackResult::Created } else { StackResult::Updated },
        status: stack::status(&done),
        plan,
        recovered,
        outputs: stack::outputs(&done),
    })
}

/// Deploy one tenant end to end and report what was done ([`super::failure::apply_reporting`] also returns what
/// a failed run did).
pub async fn apply(
    t: &Tenant,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<ApplyReport, DeployError> {
    super::failure::apply_reporting(t, opts, prompter, progress).await.map_err(|f| f.error)
}

/// [`apply`] with the clients given and what is done recorded in `partial` as it goes.
pub(crate) async fn apply_with(
    t: &Tenant,
    c: &Clients,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
    partial: &mut super::failure::Partial,
) -> Result<ApplyReport, DeployError> {
    let started = Instant::now();
    let p = prepare(t)?;
    let tags = stack_tags(t);
    let region = t.config.region.clone();
    let arts = artifacts::load(&t.artifacts_dir, &code_parameters(&p.backend.2))?;
    // who is calling, before any change: the wrong account is refused here
    let (caller, state) = super::identity::preflight(t, c).await?;
    partial.account = Some(caller.account.clone());
    partial.state_dir = Some(state.clone());
    // one tenant per account and region: another tenant's stacks here are refused before any change
    let mut listed = super::tenants::refuse_others(&c.cfn, &t.config.name, &caller.account, &region).await?;
    let (b, binfo, bjson) = &p.bootstrap;
    let (k, kinfo, kjson) = &p.backend;
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

    let bt = Target {
        stack: "bootstrap",
        stack_name: &b.stack_name,
        body: &b.body,
        info: binfo,
        parameters: BTreeMap::new(),
        tags: tags.clone(),
        rollback: None,
    };
    let mut recovered = Vec::new();
    let first = Some(listed.remove(&b.stack_name));
    let live = converge::recover_from(c, &bt, first, &opts.wait, prompter, progress, &mut recovered).await?;
    let ready = converge::compare(c, &bt, live).await?;
    let mut boot = converge_stack(c, &bt, ready, recovered, None, &region, opts, prompter, progress).await?;
    partial.stacks.push(boot.clone());
    let failure = complete_outputs(c, &mut boot, bjson, &region, &caller.account).await;
    let bucket =
        boot.outputs.get("ArtifactsBucketName").cloned().ok_or_else(|| missing_bucket(&b.stack_name, failure))?;

    let mut kt = Target {
        stack: "backend",
        stack_name: &k.stack_name,
        body: &k.body,
        info: kinfo,
        parameters: BTreeMap::new(),
        tags,
        rollback: None,
    };
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
        super::outputs::complete_in(kjson, &live_outputs, &BTreeMap::new(), &region, Some(&caller.account));
    kt.rollback = super::alarms::rollback_for(opts.bake, live.as_ref(), &live_outputs, &wanted_outputs);
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
        let names: Vec<&str> = r.alarms.iter().filter_map(|a| super::alarms::alarm_name(a)).collect();
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
    let watched_alarms = if baked { super::alarms::exported(&backend.outputs) } else { vec![] };

    let claim_policy = backend.outputs.get("ClaimPolicyName").cloned().unwrap_or_else(|| p.names.claim_policy.clone());
    step(progress, None, "claim certificate");
    let place = super::claim::Place::new(&t.config, &p.names, &claim_policy, &state);
    let claim = super::claim::ensure(c, &place, backend.result == StackResult::Unchanged, progress).await?;

    let verification = if changed || opts.always_verify {
        step(progress, None, "verifying through each service's API");
        let sha: BTreeMap<String, String> = arts.iter().map(|a| (a.parameter.clone(), a.sha256.clone())).collect();
        verify::run(c, &Expectations::from_template(kjson), &sha).await
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
        outputs,
        outputs_file,
        verification,
        rollback_triggers,
        watched_alarms,
        api_calls: c.calls.summary(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// The output keys a template declares.
pub fn output_keys(template: &serde_json::Value) -> Vec<String> {
    template.get("Outputs").and_then(|o| o.as_object()).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Fill in outputs the service left out (see [`super::outputs`]); costs one call, only when some are missing. Best
/// effort: when the resources cannot be listed either, literal names from the template still fill most.
/// Fill in the outputs the service left out; returns why the stack's resources could not be read, if they could
/// not and an output is still missing.
async fn complete_outputs(
    c: &Clients,
    r: &mut StackReport,
    template: &serde_json::Value,
    region: &str,
    account: &str,
) -> Option<String> {
    if !super::outputs::incomplete(template, &r.outputs) {
        return None;
    }
    let (physical, failure) = super::outputs::physical_ids_or_failure(&c.cfn, &r.stack_name).await;
    r.outputs = super::outputs::complete_in(template, &r.outputs, &physical, region, Some(account));
    failure.filter(|_| super::outputs::incomplete(template, &r.outputs))
}

/// The bootstrap stack exists but its bucket name is known neither from its outputs nor from its resources.
fn missing_bucket(stack: &str, failure: Option<String>) -> DeployError {
    let reason = match failure {
        Some(f) => format!("no ArtifactsBucketName output, and reading its resources failed: {f}"),
        None => "no ArtifactsBucketName output".to_string(),
    };
    DeployError::io(format!("stack {stack}"), reason)
}

/// The outputs a device maker pastes into firmware and apps, then every stack output.
pub fn device_maker_outputs(
    endpoint: &str,
    stack_outputs: &BTreeMap<String, String>,
    claim: &ClaimCertificate,
) -> BTreeMap<String, String> {
    let mut o = stack_outputs.clone();
    o.insert("IotEndpoint".into(), endpoint.to_string());
    o.insert("ClaimCertificateFile".into(), claim.certificate_file.display().to_string());
    o.insert("ClaimPrivateKeyFile".into(), claim.private_key_file.display().to_string());
    o.insert("ClaimCertificateId".into(), claim.certificate_id.clone());
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_bucket_names_why_the_resources_could_not_be_read() {
        let e =
            super::missing_bucket("rm-acme-bootstrap", Some("CloudFormation DescribeStackResources failed: x".into()));
        let text = e.to_string();
        assert!(text.contains("rm-acme-bootstrap") && text.contains("DescribeStackResources failed: x"), "{text}");
        let plain = super::missing_bucket("rm-acme-bootstrap", None).to_string();
        assert!(plain.contains("no ArtifactsBucketName output") && !plain.contains("failed"), "{plain}");
    }
}
