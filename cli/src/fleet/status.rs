//! `status --tenants`: every tenant's stack states and template version through its assumed role, so the fleet's
//! version skew shows at a glance, and with `--drift` each stack's drift. Read-only; a tenant that cannot be read is
//! a row with its error.

use super::tenant::{connect, Ctx};
use crate::aws::drift::{self, StackDrift};
use crate::aws::events::WaitOptions;
use crate::aws::{status, NoProgress};
use crate::config::tenants::Fleet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One tenant's state.
#[derive(Debug, Clone, Serialize)]
pub struct TenantState {
    pub name: String,
    pub account: String,
    pub region: String,
    pub wave: String,
    /// Stack status of the bootstrap stack (absent: not deployed or not read).
    pub bootstrap: Option<String>,
    /// Stack status of the backend stack (absent: not deployed or not read).
    pub backend: Option<String>,
    /// The backend's template version.
    pub template_version: Option<String>,
    /// The backend runs another template version than this CLI renders.
    pub behind: bool,
    pub held: bool,
    /// Why the tenant could not be read.
    pub error: Option<String>,
    /// `--drift`: each stack's drift (absent without it, or when the tenant could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Vec<StackDrift>>,
}

/// The whole fleet.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStatus {
    pub cli_template_version: String,
    pub tenants: Vec<TenantState>,
    /// How many tenants run each template version (`none`: not deployed, `unknown`: not read).
    pub versions: BTreeMap<String, usize>,
}

/// Read every tenant, at most `concurrency` at a time, in file order; with `detect`, also each stack's drift
/// (waiting as it says).
pub async fn fleet_status(
    fleet: Arc<Fleet>,
    ctx: Arc<Ctx>,
    concurrency: usize,
    detect: Option<WaitOptions>,
) -> FleetStatus {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..fleet.tenants.len() {
        let (fleet, ctx, sem, detect) = (fleet.clone(), ctx.clone(), sem.clone(), detect.clone());
        jobs.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let t = &fleet.tenants[i];
            let mut row = TenantState {
                name: t.name.clone(),
                account: t.account.clone(),
                region: t.region.clone(),
                wave: t.wave.clone(),
                bootstrap: None,
                backend: None,
                template_version: None,
                behind: false,
                held: t.hold,
                error: None,
                drift: None,
            };
            let mut calls = 0;
            let read = async {
                let (tenant, caller) = connect(&ctx, t, &NoProgress, &mut calls).await?;
                let r = status::status_as(&tenant, Some(&caller), 0).await?;
                let found = match &detect {
                    Some(wait) => {
                        let cfn = aws_sdk_cloudformation::Client::new(&tenant.sdk);
                        Some(drift::tenant(&cfn, &tenant.config.name, wait).await.0)
                    }
                    None => None,
                };
                Ok::<_, crate::aws::DeployError>((r, found))
            };
            match read.await {
                Ok((r, found)) => {
                    row.drift = found;
                    for s in &r.stacks {
                        let st = s.status.clone();
                        match s.stack.as_str() {
                            "bootstrap" => row.bootstrap = st,
                            _ => {
                                row.backend = st;
                                row.template_version = s.template_version.clone();
                            }
                        }
                    }
                    row.behind = row.template_version.as_deref().is_some_and(|v| v != crate::TEMPLATE_VERSION);
                }
                Err(e) => row.error = Some(e.to_string()),
            }
            (i, row)
        });
    }
    let mut rows: Vec<(usize, TenantState)> = Vec::new();
    while let Some(j) = jobs.join_next().await {
        match j {
            Ok(r) => rows.push(r),
            Err(e) => rows.push((usize::MAX, error_row(format!("a tenant's task ended abnormally: {e}")))),
        }
    }
    rows.sort_by_key(|(i, _)| *i);
    let tenants: Vec<TenantState> = rows.into_iter().map(|(_, r)| r).collect();
    let mut versions = BTreeMap::new();
    for t in &tenants {
        let v = match (&t.error, &t.backend, &t.template_version) {
            (Some(_), _, _) => "unknown".to_string(),
            (None, None, _) => "none".to_string(),
            (None, Some(_), Some(v)) => v.clone(),
            (None, Some(_), None) => "unknown".to_string(),
        };
        *versions.entry(v).or_insert(0) += 1;
    }
    FleetStatus { cli_template_version: crate::TEMPLATE_VERSION.into(), tenants, versions }
}

fn error_row(error: String) -> TenantState {
    TenantState {
        name: "?".into(),
        account: String::new(),
        region: String::new(),
        wave: String::new(),
        bootstrap: None,
        backend: None,
        template_version: None,
        behind: false,
        held: false,
        error: Some(error),
        drift: None,
    }
}

/// The stdout table.
pub fn text(s: &FleetStatus) -> String {
    let w = s.tenants.iter().map(|t| t.name.len()).max().unwrap_or(6).max(6);
    let mut out = format!("fleet status (this CLI: templates {})\n\n", s.cli_template_version);
    out.push_str(&format!(
        "{:<w$}  {:<12}  {:<14}  {:<18}  {:<18}  {:<8}  error\n",
        "tenant", "account", "region", "bootstrap", "backend", "version"
    ));
    for t in &s.tenants {
        let line = format!(
            "{:<w$}  {:<12}  {:<14}  {:<18}  {:<18}  {:<8}  {}",
            t.name,
            t.account,
            t.region,
            t.bootstrap.as_deref().unwrap_or("-"),
            t.backend.as_deref().unwrap_or("-"),
            t.template_version.as_deref().unwrap_or("-"),
            t.error.as_deref().unwrap_or(if t.behind { "behind this CLI" } else { "" })
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let v: Vec<String> = s.versions.iter().map(|(k, n)| format!("{n} at {k}")).collect();
    out.push_str(&format!("\nversions: {}\n", v.join(", ")));
    if s.tenants.iter().any(|t| t.drift.is_some()) {
        out.push_str("\ndrift:\n");
        for t in &s.tenants {
            for l in t.drift.as_deref().map(drift::lines).unwrap_or_default() {
                out.push_str(&format!("{:<w$}  {l}\n", t.name));
            }
        }
    }
    out
}
