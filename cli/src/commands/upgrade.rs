//! `rainmaker-deploy upgrade --tenants tenants.yaml`: roll this CLI's templates out to a fleet in waves (see
//! docs/upgrade.md). Every input refusal happens here, before any AWS call; the run is `crate::fleet`.

use super::common::runtime;
use super::usage::UsageError;
use crate::aws::events::cancel_pair;
use crate::cli::{ArtifactsArg, GlobalArgs, OutputFormat};
use crate::config::tenants::{self, Amount};
use crate::fleet::report::{self, ReportFormat};
use crate::fleet::{self as run, tenant::Ctx, ReportFile};
use clap::{Args, ValueEnum};
use miette::Result;
use rainmaker_core::fleet::{plan, DriftPolicy, Mode, Overrides, Selection};
use std::path::PathBuf;
use std::sync::Arc;

/// `--concurrency-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Once a wave's failures exceed its tolerance no new tenant starts; running ones finish
    Soft,
    /// Never more in flight than tolerance + 1 - failures (StackSets' STRICT_FAILURE_TOLERANCE)
    Strict,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The fleet: tenants.yaml (docs/upgrade.md; schema docs/tenants.schema.json)
    #[arg(long)]
    pub tenants: PathBuf,
    /// Only these tenants (comma-separated names)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Never these tenants (comma-separated names)
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Only this wave (one CI job per wave, with approvals between the jobs)
    #[arg(long)]
    pub wave: Option<String>,
    /// Tenants in flight at once in every wave: a count (3) or a percentage of the wave (25%)
    #[arg(long, value_name = "N|N%")]
    pub max_concurrent: Option<String>,
    /// Failures every wave may have before the run stops: a count (0) or a percentage of the wave (5%)
    #[arg(long, value_name = "N|N%")]
    pub failure_tolerance: Option<String>,
    /// How failures limit concurrency
    #[arg(long, value_enum, default_value = "soft")]
    pub concurrency_mode: ModeArg,
    /// Without a `canary` wave in the file: the first N selected tenants form one (1 at a time, tolerance 0)
    #[arg(long, value_name = "N")]
    pub canary: Option<usize>,
    /// Bake every wave: updates carry the backend's alarms as rollback triggers monitored MINUTES (1-180) after the
    /// update, and the alarms are checked after the wave (any in ALARM halts the run). Default: each wave's bake_minutes
    #[arg(long, value_name = "MINUTES", conflicts_with = "no_bake")]
    pub bake: Option<u32>,
    /// No bake in any wave, whatever the tenants file says
    #[arg(long)]
    pub no_bake: bool,
    /// Refuse unless this CLI renders this template version (CI asserts what it ships)
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Plan every tenant (change counts, replacements, versions) and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Detect each tenant's drift (CloudFormation drift detection, read-only) before changing it; a drifted tenant
    /// is upgraded with a warning in the report (drifted values the new template does not touch stay as they are)
    #[arg(long)]
    pub check_drift: bool,
    /// Detect drift like --check-drift, but leave a drifted tenant untouched: `blocked`, with what drifted
    #[arg(long, conflicts_with = "check_drift")]
    pub refuse_drifted: bool,
    /// Upgrade without asking (required unless --dry-run: nobody answers per-tenant questions)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also write the report to FILE, rewritten after each tenant (a killed job leaves a partial report)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Format of --report
    #[arg(long, value_enum, default_value = "json")]
    pub report_format: ReportFormat,
    #[command(flatten)]
    pub artifacts: ArtifactsArg,
}

fn amount(flag: &str, v: Option<&String>, zero_ok: bool) -> Result<Option<Amount>> {
    let Some(v) = v else { return Ok(None) };
    let a: Amount = v.parse().map_err(|m: String| {
        UsageError::new(flag, m, "a count (`3`) or a percentage of the wave (`25%`, rounded down)")
    })?;
    if !zero_ok && matches!(a, Amount::Count(0) | Amount::Percent(0)) {
        return Err(
            UsageError::new(flag, "0 would never start a tenant", "a count of at least 1, or a percentage").into()
        );
    }
    Ok(Some(a))
}

pub fn run(g: &GlobalArgs, args: &UpgradeArgs) -> Result<()> {
    // every refusal before any AWS call
    if let Some(v) = args.to.as_deref().filter(|v| *v != crate::TEMPLATE_VERSION) {
        return Err(UsageError::new(
            "--to",
            format!("this CLI renders templates {}, not {v}", crate::TEMPLATE_VERSION),
            format!("run the rainmaker-deploy release that ships templates {v}, or drop --to"),
        )
        .into());
    }
    let max_concurrent = amount("--max-concurrent", args.max_concurrent.as_ref(), false)?;
    let failure_tolerance = amount("--failure-tolerance", args.failure_tolerance.as_ref(), true)?;
    if !args.dry_run && !args.yes {
        return Err(UsageError::new(
            "--yes",
            "upgrade changes every selected tenant without asking per tenant",
            "pass --yes to upgrade, or --dry-run to only plan",
        )
        .into());
    }
    let fleet = tenants::load(&args.tenants)?;
    let sel = Selection { only: args.only.clone(), exclude: args.exclude.clone(), wave: args.wave.clone() };
    let bake_minutes = match (args.bake, args.no_bake) {
        (_, true) => Some(None),
        (Some(m), false) if (1..=crate::aws::alarms::MAX_MONITORING_MINUTES).contains(&m) => Some(Some(m)),
        (Some(m), false) => {
            return Err(UsageError::new(
                "--bake",
                format!("{m} minutes is outside what CloudFormation monitors"),
                "1 to 180 minutes (MonitoringTimeInMinutes), or --no-bake",
            )
            .into())
        }
        (None, false) => None,
    };
    let ov = Overrides { max_concurrent, failure_tolerance, canary: args.canary, bake_minutes };
    let plan = plan(&fleet, &sel, &ov)?;
    if plan.tenant_count() == 0 {
        return Err(UsageError::new(
            "--only/--exclude/--wave",
            "no tenant is selected",
            "check the names against the tenants file",
        )
        .into());
    }
    let artifacts_dir = args.artifacts.locate()?.dir;
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let run_id = format!("{millis}-{}", std::process::id());
    let mode = match args.concurrency_mode {
        ModeArg::Soft => Mode::Soft,
        ModeArg::Strict => Mode::Strict,
    };

    let rt = runtime()?;
    let (canceller, signal) = cancel_pair();
    let stop = Arc::new(tokio::sync::Notify::new());
    {
        let stop = stop.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                canceller.cancel();
                stop.notify_one();
                eprintln!(
                    "\ninterrupted: no new tenant starts; running updates are cancelled (Ctrl-C again exits now)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    let ctx = Arc::new(Ctx {
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        artifacts_dir,
        session: format!("rainmaker-upgrade-{run_id}"),
        dry_run: args.dry_run,
        cancel: Some(signal),
        drift: if args.refuse_drifted {
            DriftPolicy::Refuse
        } else if args.check_drift {
            DriftPolicy::Warn
        } else {
            DriftPolicy::Ignore
        },
    });
    let fleet = Arc::new(fleet);
    let report = run::new_report(&fleet, &plan, &run_id, args.dry_run);
    let file = args.report.as_ref().map(|p| ReportFile { path: p.clone(), format: args.report_format });
    let r = rt
        .block_on(run::run(fleet, plan, mode, ctx, report, file, stop, g.no_progress))
        .map_err(|e| miette::miette!(code = "rainmaker::upgrade::run", "{e}"))?;
    match g.output {
        OutputFormat::Json => print!("{}", report::render(&r, ReportFormat::Json)),
        OutputFormat::Text => print!("{}", report::text(&r)),
    }
    let code = r.exit_code.unwrap_or(1);
    if code != 0 {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    }
    Ok(())
}
