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

/// Upgrade (or with `dry_run`, plan) one tenant. Never panics and never returns an error: a failure is the
/// tenant's `failed` (or `blocked`) outcome with the reason.
pub async fn upgrade(ctx: &Ctx, t: &FleetTenant, progress: &dyn Progress) -> Outcome {
    let started = Instant::now();
    let mut o = Outcome {
        status: TenantStatus::Failed,
        from_version: None,
        changes: Changes::default(),
        api_calls: 0,
        error: None,
        duration_ms: 0,
    };
    if let Err(e) = run(ctx, t, progress, &mut o).await {
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

async fn run(ctx: &Ctx, t: &FleetTenant, progress: &dyn Progress, o: &mut Outcome) -> Result<(), DeployError> {
    let tenant = connect(ctx, t, progress, &mut o.api_calls).await?;
    let names = crate::template::Names::new(&tenant.config.name);
    o.api_calls += 1;
    let cfn = aws_sdk_cloudformation::Client::new(&tenant.sdk);
    if let Some(live) = stack::describe(&cfn, &names.backend_stack).await? {
        o.from_version = stack::tags(&live).remove("rainmaker:template-version");
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
    let opts = ApplyOptions { allow_replace: t.allow_replace, always_verify: false, wait };
    let r = deploy::apply(&tenant, &opts, &Unattended, progress).await?;
    o.api_calls += r.api_calls.total;
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
