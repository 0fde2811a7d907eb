//! Fleet upgrades, the AWS side: core's `Scheduler` driven with tokio (at most N tenants in flight), each tenant
//! through [`tenant::upgrade`] (assume role, account check, the deploy core), progress lines per tenant on stderr,
//! and the report rewritten after each tenant so a killed job leaves a partial one.

pub mod progress;
pub mod report;
pub mod status;
pub mod tenant;

use crate::config::tenants::Fleet;
use progress::{FleetProgress, Style};
use rainmaker_core::fleet::{exit_code, Mode, RunPlan, Scheduler, Step, Stop, TenantStatus};
use report::{wave_status, ReportFormat, TenantReport, UpgradeReport, WaveReport};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tenant::{Ctx, Outcome};
use tokio::sync::Notify;

/// RFC 3339 UTC now.
pub fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Where and how the report is kept up to date during the run.
#[derive(Debug, Clone)]
pub struct ReportFile {
    pub path: PathBuf,
    pub format: ReportFormat,
}

/// A fresh report for the plan: every selected tenant listed (held ones already `held`), none ended.
pub fn new_report(fleet: &Fleet, plan: &RunPlan, run_id: &str, dry_run: bool) -> UpgradeReport {
    let mut tenants = Vec::new();
    for w in &plan.waves {
        for &i in &w.tenants {
            let t = &fleet.tenants[i];
            tenants.push(TenantReport {
                name: t.name.clone(),
                account: t.account.clone(),
                region: t.region.clone(),
                wave: w.name.clone(),
                from_version: None,
                to_version: crate::TEMPLATE_VERSION.to_string(),
                status: t.hold.then(|| TenantStatus::Held.as_str().to_string()),
                changes: Default::default(),
                duration_ms: 0,
                api_calls: 0,
                error: None,
                warning: None,
                drift: None,
            });
        }
    }
    let mut r = UpgradeReport {
        schema_version: report::REPORT_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        cli_version: env!("CARGO_PKG_VERSION").to_string(),
        template_version: crate::TEMPLATE_VERSION.to_string(),
        dry_run,
        started_at: now(),
        ended_at: None,
        stopped: None,
        waves: plan
            .waves
            .iter()
            .map(|w| WaveReport {
                name: w.name.clone(),
                failure_tolerance: w.tolerance_spec.to_string(),
                failure_tolerance_count: w.failure_tolerance,
                max_concurrent: w.max_concurrent,
                failures: 0,
                status: "pending".into(),
                bake_minutes: w.bake_minutes,
                baked: vec![],
                firing: vec![],
            })
            .collect(),
        tenants,
        summary: BTreeMap::new(),
        exit_code: None,
    };
    r.recount();
    r
}

fn sync_waves(r: &mut UpgradeReport, s: &Scheduler) {
    for (w, (failures, st)) in r.waves.iter_mut().zip(s.waves()) {
        w.failures = failures;
        w.status = wave_status(st).to_string();
    }
}

fn save(r: &UpgradeReport, file: Option<&ReportFile>) -> Result<(), String> {
    let Some(f) = file else { return Ok(()) };
    crate::commands::usage::write_atomic(&f.path, &report::render(r, f.format))
        .map_err(|e| format!("writing the report {}: {e}", f.path.display()))
}

/// Run the plan: returns the final report (with its exit code). `stop` is notified on Ctrl-C: no new tenant
/// starts (the running ones are cancelled by the core through `ctx.cancel`).
pub async fn run(
    fleet: Arc<Fleet>,
    plan: RunPlan,
    mode: Mode,
    ctx: Arc<Ctx>,
    mut r: UpgradeReport,
    file: Option<ReportFile>,
    stop: Arc<Notify>,
    no_progress: bool,
) -> Result<UpgradeReport, String> {
    let pos: BTreeMap<usize, usize> =
        plan.waves.iter().flat_map(|w| w.tenants.iter().copied()).enumerate().map(|(p, i)| (i, p)).collect();
    let wave_of: BTreeMap<usize, String> =
        plan.waves.iter().flat_map(|w| w.tenants.iter().map(|i| (*i, w.name.clone()))).collect();
    let bake_of: BTreeMap<usize, Option<u32>> =
        plan.waves.iter().flat_map(|w| w.tenants.iter().map(|i| (*i, w.bake_minutes))).collect();
    let mut watched: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let width = pos.keys().map(|i| fleet.tenants[*i].name.len()).max().unwrap_or(6);
    let display = FleetProgress::new(Style::detect(no_progress), width);
    let f2 = fleet.clone();
    let mut s = Scheduler::new(plan, mode, &|i| f2.tenants[i].hold);
    let mut jobs: tokio::task::JoinSet<(usize, Outcome)> = tokio::task::JoinSet::new();
    let mut interrupted = false;
    save(&r, file.as_ref())?;
    loop {
        match s.next_step() {
            Step::Start(ts) => {
                for i in ts {
                    let (fleet, ctx) = (fleet.clone(), ctx.clone());
                    let lines = display.tenant(&fleet.tenants[i].name, &wave_of[&i]);
                    lines.line("starting");
                    let bake = bake_of[&i];
                    jobs.spawn(async move {
                        let o = tenant::upgrade(&ctx, &fleet.tenants[i], bake, &lines).await;
                        lines.done(o.status.as_str());
                        (i, o)
                    });
                }
                sync_waves(&mut r, &s);
                save(&r, file.as_ref())?;
            }
            Step::Wait => {
                let joined = tokio::select! {
                    j = jobs.join_next() => j,
                    _ = stop.notified(), if !interrupted => {
                        interrupted = true;
                        s.interrupt();
                        continue;
                    }
                };
                let (i, o) = match joined {
                    Some(Ok(x)) => x,
                    Some(Err(e)) => return Err(format!("a tenant's task ended abnormally: {e}")),
                    None => return Err("the scheduler waits for a tenant but none is running".into()),
                };
                let t = &mut r.tenants[pos[&i]];
                t.status = Some(o.status.as_str().to_string());
                t.from_version = o.from_version;
                t.changes = o.changes;
                t.api_calls = o.api_calls;
                t.duration_ms = o.duration_ms;
                t.error = o.error;
                t.warning = o.warning;
                t.drift = o.drift;
                watched.insert(i, o.watched_alarms);
                s.finished(i, o.status);
                sync_waves(&mut r, &s);
                r.recount();
                save(&r, file.as_ref())?;
            }
            Step::Bake { wave, tenants } => {
                let checks: Vec<(usize, Vec<String>)> = tenants
                    .iter()
                    .filter_map(|i| watched.get(i).filter(|a| !a.is_empty()).map(|a| (*i, a.clone())))
                    .collect();
                let found = bake_check(&ctx, &fleet, &checks, &display).await;
                let mut firing = Vec::new();
                for (i, calls, result) in found {
                    let Some(p) = pos.get(&i) else {
                        if let Err(e) = result {
                            firing.push(e);
                        }
                        continue;
                    };
                    r.tenants[*p].api_calls += calls;
                    let name = &fleet.tenants[i].name;
                    match result {
                        Ok(f) => firing.extend(f.into_iter().map(|a| format!("{name}: {a}"))),
                        Err(e) => firing.push(format!("{name}: the alarms could not be read: {e}")),
                    }
                }
                let wr = &mut r.waves[wave];
                wr.baked = checks.iter().map(|(i, _)| fleet.tenants[*i].name.clone()).collect();
                wr.firing = firing.clone();
                s.baked(!firing.is_empty());
                sync_waves(&mut r, &s);
                save(&r, file.as_ref())?;
            }
            Step::Done => break,
        }
    }
    for (i, p) in &pos {
        if r.tenants[*p].status.is_none() {
            r.tenants[*p].status = s.status(*i).map(|st| st.as_str().to_string());
        }
    }
    sync_waves(&mut r, &s);
    r.recount();
    r.stopped = s.stop().map(|st| match st {
        Stop::ToleranceExceeded(w) => format!("tolerance_exceeded in wave {}", r.waves[*w].name),
        Stop::Alarm(w) => format!("alarm after wave {}: {}", r.waves[*w].name, r.waves[*w].firing.join("; ")),
        Stop::Interrupted => "interrupted".to_string(),
    });
    let statuses: Vec<TenantStatus> = pos.keys().filter_map(|i| s.status(*i)).collect();
    r.exit_code = Some(exit_code(&statuses, s.tolerance_exceeded(), s.interrupted()));
    r.ended_at = Some(now());
    save(&r, file.as_ref())?;
    Ok(r)
}

/// After a baked wave: each tenant's watched alarms, all tenants at once (read-only), re-assuming each role (the
/// wave may have outlasted the first credentials; the account was checked when it was upgraded), one
/// DescribeAlarms per 100 alarms. Returns per tenant the calls made and the alarms that stop the run (in ALARM or
/// gone), or why they could not be read.
async fn bake_check(
    ctx: &Arc<Ctx>,
    fleet: &Arc<Fleet>,
    checks: &[(usize, Vec<String>)],
    display: &FleetProgress,
) -> Vec<(usize, u32, Result<Vec<String>, String>)> {
    let mut jobs = tokio::task::JoinSet::new();
    for (i, alarms) in checks.iter().cloned() {
        let (ctx, fleet, display) = (ctx.clone(), fleet.clone(), display.clone());
        jobs.spawn(async move {
            let t = &fleet.tenants[i];
            display.note(&format!("{} checking {} alarms after the bake", t.name, alarms.len()));
            let calls = 1 + alarms.len().div_ceil(100) as u32;
            let result = async {
                let sdk = tenant::assume(&ctx, t).await?;
                crate::aws::alarms::states(&aws_sdk_cloudwatch::Client::new(&sdk), &alarms).await
            }
            .await
            .map(|states| crate::aws::alarms::firing(&states))
            .map_err(|e| e.to_string());
            (i, calls, result)
        });
    }
    let mut out = Vec::new();
    while let Some(j) = jobs.join_next().await {
        match j {
            Ok(x) => out.push(x),
            Err(e) => out.push((usize::MAX, 0, Err(format!("an alarm check ended abnormally: {e}")))),
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out
}
