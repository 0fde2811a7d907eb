//! One tenant of an upgrade: assume its role (STS, from the CI's own credentials), check the account, detect drift
//! when asked, then the deploy core's `plan` (dry run) or `apply` with the assumed-role `SdkConfig` and the identity
//! already read; the outcome as data.

use super::report::Changes;
use crate::aws::deploy::{self, ApplyOptions};
use crate::aws::drift::{self, StackDrift};
use crate::aws::events::{CancelSignal, WaitOptions};
use crate::aws::identity::Caller;
use crate::aws::plan::StackPlan;
use crate::aws::sdk::{self, AwsOptions, Tenant};
use crate::aws::{stack, DeployError, Progress, ProgressEvent, Prompter, Question};
use crate::config::tenants::{FleetTenant, TenantConfig};
use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use rainmaker_core::fleet::{decide_drift, DriftDecision, DriftPolicy, TenantStatus};
use std::path::PathBuf;
use std::time::Instant;

/// What every tenant of a run shares.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--profile`: the CI's own credentials the roles are assumed from.
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub artifacts_dir: PathBuf,
    /// STS role session name (`rainmaker-upgrade-<run id>`).
    pub session: String,
    pub dry_run: bool,
    pub cancel: Option<CancelSignal>,
    /// `--check-drift` / `--refuse-drifted`: drift detection before a tenant is changed.
    pub drift: DriftPolicy,
}

/// How one tenant ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: TenantStatus,
    pub from_version: Option<String>,
    pub changes: Changes,
    pub api_calls: u32,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// A baked update: the backend's exported alarms, to check after the wave (empty otherwise).
    pub watched_alarms: Vec<String>,
    /// What drift detection found before the change (`--check-drift`, `--refuse-drifted`; absent otherwise).
    pub drift: Option<Vec<StackDrift>>,
    /// Something the report should say though the tenant went through (it had drifted).
    pub warning: Option<String>,
}

/// Answers the core's questions without a terminal: `upgrade` runs with `--yes` (a failed first create holds
/// nothing and is deleted and created again, as `apply --yes` does).
struct Unattended;

impl Prompter for Unattended {
    fn confirm(&self, _q: &Question<'_>) -> bool {
        true
    }
}

/// Count the changes of some stack plans.
pub fn count(plans: &[&StackPlan]) -> Changes {
    let mut c = Changes::default();
    for ch in plans.iter().flat_map(|p| p.changes.iter()) {
        match ch.action.as_str() {
            "Add" => c.add += 1,
            "Remove" => c.remove += 1,
            _ => {
                c.modify += 1;
                if matches!(ch.replacement.as_deref(), Some("True" | "Conditional")) {
                    c.replace += 1;
                }
            }
        }
    }
    c
}

/// The tenant's SDK configuration: the CI's chain in the tenant's region, then AssumeRole into the tenant's role
/// (session `ctx.session`). A role that cannot be assumed is named, with what to check.
pub async fn assume(ctx: &Ctx, t: &FleetTenant) -> Result<SdkConfig, DeployError> {
    let base = sdk::load(&AwsOptions {
        profile: ctx.profile.clone(),
        region: t.region.clone(),
        endpoint_url: ctx.endpoint_url.clone(),
    })
    .await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(&t.role)
        .role_session_name(&ctx.session)
        .send()
        .await
        .map_err(|e| assume_failure(&t.role, DeployError::sdk("STS AssumeRole", e)))?;
    let c = out
        .credentials()
        .ok_or_else(|| DeployError::io("STS AssumeRole", format!("no credentials returned for {}", t.role)))?;
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "rainmaker-upgrade",
    );
    Ok(base.to_builder().credentials_provider(SharedCredentialsProvider::new(creds)).build())
}

/// An AssumeRole refusal says which role and what decides it (its trust policy, the CI identity's own policy).
fn assume_failure(role: &str, e: DeployError) -> DeployError {
    match e {
        DeployError::Aws { operation, code, message, help } => {
            let denied = matches!(code.as_deref(), Some("AccessDenied" | "AccessDeniedException"))
                || message.contains("not authorized");
            let help = if denied {
                format!(
                    "the CI's identity may not assume {role}: the role's trust policy must name that identity (or its \
                     account) as Principal for sts:AssumeRole, and the identity's own policy must allow sts:AssumeRole \
                     on the role; check this tenant's `role:` in tenants.yaml ({{account}} expands to its account)"
                )
            } else {
                format!("assuming {role}: {help}")
            };
            DeployError::Aws { operation, code, message, help }
        }
        other => other,
    }
}

/// Upgrade (or with `dry_run`, plan) one tenant, baking an update `bake` minutes (its wave's). Never panics and
/// never returns an error: a failure is the tenant's `failed` (or `blocked`) outcome with the reason.
pub async fn upgrade(ctx: &Ctx, t: &FleetTenant, bake: Option<u32>, progress: &dyn Progress) -> Outcome {
    let started = Instant::now();
    let mut o = Outcome {
        status: TenantStatus::Failed,
        from_version: None,
        changes: Changes::default(),
        api_calls: 0,
        error: None,
        duration_ms: 0,
        watched_alarms: vec![],
        drift: None,
        warning: None,
    };
    if let Err(e) = run(ctx, t, bake, progress, &mut o).await {
        o.status = match e {
            DeployError::Refused { .. } => TenantStatus::Blocked,
            // Ctrl-C: the core cancelled what it had started (a change set deleted, an update rolled back)
            DeployError::Cancelled { .. } | DeployError::Declined { .. } => TenantStatus::Cancelled,
            _ => TenantStatus::Failed,
        };
        o.error = Some(e.with_help());
    }
    o.duration_ms = started.elapsed().as_millis() as u64;
    o
}

/// The tenant as the deploy core takes it: its valid config, the assumed role's `SdkConfig`, the account checked
/// against the entry (GetCallerIdentity, whose answer the deploy core then reuses: one per tenant). `calls` counts
/// the STS calls made.
pub async fn connect(
    ctx: &Ctx,
    t: &FleetTenant,
    progress: &dyn Progress,
    calls: &mut u32,
) -> Result<(Tenant, Caller), DeployError> {
    let config = match &t.config {
        TenantConfig::Valid(c) => (**c).clone(),
        TenantConfig::Invalid(reason) => {
            return Err(DeployError::io(format!("config {}", t.config_path.display()), reason.clone()))
        }
    };
    progress.report(ProgressEvent::Step { stack: None, message: format!("assuming {}", t.role) });
    *calls += 1;
    let sdk = assume(ctx, t).await?;
    *calls += 1;
    let caller = crate::aws::identity::caller(&crate::aws::Clients::new(&sdk)).await?;
    if caller.account != t.account {
        return Err(DeployError::io(
            "account check",
            format!(
                "the role {} acts in account {}, but tenants.yaml says {} for this tenant",
                t.role, caller.account, t.account
            ),
        ));
    }
    let config_dir = t.config_path.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| PathBuf::from("."));
    Ok((Tenant { config, sdk, config_dir, artifacts_dir: ctx.artifacts_dir.clone() }, caller))
}

async fn run(
    ctx: &Ctx,
    t: &FleetTenant,
    bake: Option<u32>,
    progress: &dyn Progress,
    o: &mut Outcome,
) -> Result<(), DeployError> {
    let (tenant, caller) = connect(ctx, t, progress, &mut o.api_calls).await?;
    let names = crate::template::Names::new(&tenant.config.name);
    o.api_calls += 1;
    let cfn = aws_sdk_cloudformation::Client::new(&tenant.sdk);
    let live = stack::describe(&cfn, &names.backend_stack).await?;
    if let Some(live) = &live {
        o.from_version = stack::tags(live).remove("rainmaker:template-version");
    }
    let wait = WaitOptions { cancel: ctx.cancel.clone(), ..WaitOptions::default() };
    if ctx.drift != DriftPolicy::Ignore {
        progress.report(ProgressEvent::Step { stack: None, message: "detecting drift".into() });
        let (found, calls) = drift::tenant(&cfn, &tenant.config.name, &wait).await;
        o.api_calls += calls;
        let outcomes: Vec<_> = found.iter().map(StackDrift::outcome).collect();
        o.drift = Some(found);
        match decide_drift(ctx.drift, &outcomes) {
            DriftDecision::Proceed { warning } => o.warning = warning,
            DriftDecision::Block(reason) => {
                o.status = TenantStatus::Blocked;
                o.error = Some(reason);
                return Ok(());
            }
            DriftDecision::Fail(reason) => {
                // Ctrl-C stopped the detection: nothing was started, the tenant is cancelled, not failed
                if wait.cancel_requested() {
                    o.status = TenantStatus::Cancelled;
                }
                o.error = Some(reason);
                return Ok(());
            }
        }
    }
    if ctx.dry_run {
        let plan = deploy::plan_as(&tenant, Some(&caller), &wait, progress).await?;
        o.api_calls += plan.api_calls.total;
        let plans: Vec<&StackPlan> = plan.stacks.iter().collect();
        o.changes = count(&plans);
        let blocked: Vec<String> = plan.stacks.iter().flat_map(|s| s.blocked()).map(|c| c.logical_id.clone()).collect();
        o.status = if !blocked.is_empty() && !t.allow_replace {
            o.error = Some(format!("would replace or remove stateful resources: {}", blocked.join(", ")));
            TenantStatus::Blocked
        } else if o.changes == Changes::default() {
            TenantStatus::Unchanged
        } else {
            TenantStatus::Planned
        };
        return Ok(());
    }
    let opts = ApplyOptions {
        allow_replace: t.allow_replace,
        always_verify: false,
        wait,
        bake,
        caller: Some(caller),
        verify_omissions: crate::aws::verify::Omissions::for_cli(tenant.sdk.endpoint_url()),
    };
    let r = match deploy::apply(&tenant, &opts, &Unattended, progress).await {
        Ok(r) => r,
        Err(DeployError::StackFailed { stack, status, reason }) if stack == names.backend_stack && bake.is_some() => {
            let reason = rolled_back_by(&tenant, bake, live.as_ref(), &t.account, &reason, &mut o.api_calls).await;
            return Err(DeployError::StackFailed { stack, status, reason });
        }
        Err(e) => return Err(e),
    };
    o.api_calls += r.api_calls.total;
    o.watched_alarms = r.watched_alarms.clone();
    let plans: Vec<&StackPlan> = r.stacks.iter().map(|s| &s.plan).collect();
    o.changes = count(&plans);
    let failed: Vec<String> = r.failed_checks().iter().map(|c| format!("{} ({})", c.name, c.detail)).collect();
    o.status = if !failed.is_empty() {
        o.error = Some(format!("verification failed: {}", failed.join("; ")));
        TenantStatus::Failed
    } else if r.changed {
        TenantStatus::Upgraded
    } else {
        TenantStatus::Unchanged
    };
    Ok(())
}

/// A baked update of the backend failed: when one of its rollback triggers is in ALARM, CloudFormation rolled it
/// back because of that alarm, and the reason says which (one DescribeAlarms of the triggers).
async fn rolled_back_by(
    tenant: &Tenant,
    bake: Option<u32>,
    live: Option<&aws_sdk_cloudformation::types::Stack>,
    account: &str,
    reason: &str,
    calls: &mut u32,
) -> String {
    // the live outputs as the update started, completed from the template (moto returns none)
    let template = match deploy::prepare(tenant) {
        Ok(p) => p.backend.2,
        Err(e) => return format!("{reason} (its rollback triggers could not be named: {e})"),
    };
    let raw = live.map(stack::outputs).unwrap_or_default();
    let region = &tenant.config.region;
    let outputs = crate::aws::outputs::complete_in(&template, &raw, &Default::default(), region, Some(account));
    let keys: Vec<String> = outputs.keys().cloned().collect();
    let triggers = crate::aws::alarms::rollback_for(bake, live, &outputs, &keys);
    let Some(triggers) = triggers.filter(|r| !r.alarms.is_empty()) else {
        return reason.to_string();
    };
    *calls += 1;
    let cw = aws_sdk_cloudwatch::Client::new(&tenant.sdk);
    match crate::aws::alarms::states(&cw, &triggers.alarms).await {
        Ok(states) => {
            let fired: Vec<String> = states
                .iter()
                .filter(|(_, s)| s.as_str() == "ALARM")
                .filter_map(|(a, _)| crate::aws::alarms::alarm_name(a).map(str::to_string))
                .collect();
            let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            if fired.is_empty() {
                reason.to_string()
            } else {
                format!("rolled back by its rollback trigger: alarm {} in ALARM{why}", fired.join(", "))
            }
        }
        Err(e) => format!("{reason} (its rollback triggers' alarms could not be read: {e})"),
    }
}
