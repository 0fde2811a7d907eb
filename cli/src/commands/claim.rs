//! `rainmaker-deploy claim show | rotate [--grace D] [--finish] [--dry-run] [--yes]`: the claim certificate's
//! lifecycle (docs/deploy.md, "Claim certificate lifecycle").

use super::common::{ask, deploy_error, display, require_yes_or_terminal, runtime, tenant};
use crate::aws::claim::rotate::{self, RotateReport};
use crate::cli::{ClaimCommand, ClaimRotateArgs, GlobalArgs};
use miette::Result;
use std::path::Path;

pub fn run(g: &GlobalArgs, cmd: &ClaimCommand) -> Result<()> {
    match cmd {
        ClaimCommand::Show => run_show(g),
        ClaimCommand::Rotate(a) => run_rotate(g, a),
    }
}

fn run_show(g: &GlobalArgs) -> Result<()> {
    let rt = runtime()?;
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        rotate::show(&t).await.map_err(|e| deploy_error(e, g))
    })?;
    crate::output::emit(g.output, &report, || {
        let mut s =
            format!("claim certificates of {} (secret {}, policy {}):\n", report.tenant, report.secret, report.policy);
        for c in &report.certificates {
            s.push_str(&format!(
                "  {:<9} {}  {}  created {}  {}{}\n    fingerprint (SHA-256) {}\n",
                c.role,
                c.certificate_id,
                c.status.as_deref().unwrap_or("NOT REGISTERED"),
                c.created.as_deref().unwrap_or("-"),
                if c.attached { "attached" } else { "NOT attached" },
                c.not_before.as_deref().map(|t| format!(", kept until {t}")).unwrap_or_default(),
                c.fingerprint.as_deref().unwrap_or("-"),
            ));
        }
        s
    })
}

fn run_rotate(g: &GlobalArgs, a: &ClaimRotateArgs) -> Result<()> {
    let what = if a.finish { "claim rotate --finish" } else { "claim rotate" };
    require_yes_or_terminal(a.yes || a.dry_run, what)?;
    if !a.yes && !a.dry_run {
        let q = if a.finish {
            "Delete every replaced claim certificate whose grace period has ended? Devices still carrying one can no longer provision."
        } else {
            "Make a new claim certificate? Firmware must be built with the new claim files before the grace period ends."
        };
        if !ask(q) {
            return Err(miette::miette!("{what}: not confirmed; nothing was changed"));
        }
    }
    let rt = runtime()?;
    let progress = display(g);
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let r = if a.finish {
            rotate::finish(&t, a.dry_run, &progress).await
        } else {
            rotate::rotate(&t, a.grace, a.dry_run, &progress).await
        };
        r.map_err(|e| deploy_error(e, g))
    });
    progress.finish();
    let report = report?;
    crate::output::emit(g.output, &report, || text(&report, a.finish))
}

fn text(r: &RotateReport, finish: bool) -> String {
    let mut s = String::new();
    if r.dry_run {
        s.push_str("dry run, nothing was changed\n");
    }
    if !finish {
        if let Some(old) = &r.replaced {
            let verb = if r.dry_run { "would replace" } else { "replaced" };
            s.push_str(&format!("{verb} claim certificate {old}\n"));
        }
        if let Some(c) = &r.current {
            s.push_str(&format!("new claim certificate {c} (the local claim files now hold it)\n"));
        }
    }
    for d in &r.deleted {
        let verb = if r.dry_run { "would delete" } else { "deleted" };
        s.push_str(&format!("{verb} replaced claim certificate {d}\n"));
    }
    for w in &r.retiring {
        s.push_str(&format!(
            "{} keeps working until {}; then `rainmaker-deploy claim rotate --finish` deletes it\n",
            w.certificate_id, w.not_before
        ));
    }
    s
}
