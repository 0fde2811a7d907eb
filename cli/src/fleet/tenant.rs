//! One tenant of an upgrade: assume its role (STS, from the CI's own credentials), check the account, then the
//! deploy core's `plan` (dry run) or `apply` with the assumed-role `SdkConfig`; the outcome as data.

use super::report::Changes;
use crate::aws::deploy::{self, ApplyOptions};
use crate::aws::events::{CancelSignal, WaitOptions};
use crate::aws::plan::StackPlan;
use crate::aws::sdk::{self, AwsOptions, Tenant};
use crate::aws::{stack, DeployError, Progress, ProgressEvent, Prompter, Question};
use crate::config::tenants::{FleetTenant, TenantConfig};
use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use rainmaker_core::fleet::TenantStatus;
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

/// The tenant's SDK configuration: the CI's chain in the tenant's region, then AssumeRole into the tenant's role.
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
        .map_err(|e| DeployError::sdk("STS AssumeRole", e))?;
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
    };
    if let Err(e) = run(ctx, t, bake, progress, &mut o).await {
        o.status = match e {
            DeployError::Refused { .. } => TenantStatus::Blocked,
            _ => TenantStatus::Failed,
        };
        o.error = Some(e.to_string());
    }
    o.duration_ms = started.elapsed().as_millis() as u64;
    o
}

/// The tenant as the deploy core takes it: its valid config, the assumed role's `SdkConfig`, the account checked
/// against the entry (GetCallerIdentity). `calls` counts the STS calls made.
pub async fn connect(
    ctx: &Ctx,
    t: &FleetTenant,
    progress: &dyn Progress,
    calls: &mut u32,
) -> Result<Tenant, DeployError> {
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
    let account = crate::aws::identity::caller(&crate::aws::Clients::new(&sdk)).await?.account;
    if account != t.account {
        return Err(DeployError::io(
            "account check",
            format!(
                "the role {} acts in account {account}, but tenants.yaml says {} for this tenant",
                t.role, t.account
            ),
        ));
    }
    let config_dir = t.config_path.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| PathBuf::from("."));
    Ok(Tenant { config, sdk, config_dir, artifacts_dir: ctx.artifacts_dir.clone() })
}

async fn run(
    ctx: &Ctx,
    t: &FleetTenant,
    bake: Option<u32>,
    progress: &dyn Progress,
    o: &mut Outcome,
) -> Result<(), DeployError> {
    let tenant = connect(ctx, t, progress, &mut o.api_calls).await?;
    let names = crate::template::Names::new(&tenant.config.name);
    o.api_calls += 1;
    let cfn = aws_sdk_cloudformation::Client::new(&tenant.sdk);
    let live = stack::describe(&cfn, &names.backend_stack).await?;
    if let Some(live) = &live {
        o.from_version = stack::tags(live).remove("rainmaker:template-version");
    }
    let wait = WaitOptions { cancel: ctx.cancel.clone(), ..WaitOptions::default() };
    if ctx.dry_run {
        let plan = deploy::plan(&tenant, &wait, progress).await?;
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
    let opts = ApplyOptions { allow_replace: t.allow_replace, always_verify: false, wait, bake };
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
