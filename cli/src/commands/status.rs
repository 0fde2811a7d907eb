//! `rainmaker-deploy status`: stack states, template versions, outputs and last events; with `--tenants`, one row
//! per tenant of a fleet (each read through its assumed role); with `--drift`, each stack's drift detection.

use super::common::{deploy_error, runtime, tenant};
use crate::aws::events::WaitOptions;
use crate::aws::status;
use crate::cli::{GlobalArgs, StatusArgs};
use miette::Result;
use std::path::Path;

/// How drift detection waits: `--timeout` bounds each stack's detection.
fn drift_wait(args: &StatusArgs) -> WaitOptions {
    WaitOptions { timeout: args.timeout.timeout, ..WaitOptions::default() }
}

pub fn run(g: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    if let Some(file) = &args.tenants {
        return fleet(g, file, args.drift.then(|| drift_wait(args)));
    }
    let rt = runtime()?;
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let r = if args.drift {
            status::with_drift(&t, None, args.events, &drift_wait(args)).await
        } else {
            status::status(&t, args.events).await
        };
        r.map_err(|e| deploy_error(e, g))
    })?;
    let failed_drift = report.drift.iter().flatten().any(|d| d.error.is_some());
    crate::output::emit(g.output, &report, || {
        let mut s = format!(
            "tenant {} in account {}, {} (this CLI: templates {})\n",
            report.tenant, report.account, report.region, report.cli_template_version
        );
        for st in &report.stacks {
            if !st.exists {
                s.push_str(&format!("\n{} ({}): not deployed\n", st.stack_name, st.stack));
                continue;
            }
            s.push_str(&format!(
                "\n{} ({}): {} - templates {}, last change {}\n",
                st.stack_name,
                st.stack,
                st.status.as_deref().unwrap_or("?"),
                st.template_version.as_deref().unwrap_or("?"),
                st.last_updated.as_deref().unwrap_or("?")
            ));
            if let Some(r) = &st.reason {
                s.push_str(&format!("  reason: {r}\n"));
            }
            if let Some(w) = &st.policy_warning {
                s.push_str(&format!("  warning: {w}\n"));
            }
            for (k, v) in &st.outputs {
                s.push_str(&format!("  {k:<28} {v}\n"));
            }
            for e in &st.last_events {
                s.push_str(&format!(
                    "  {} {} {} {}\n",
                    e.timestamp,
                    e.logical_id,
                    e.status,
                    e.reason.as_deref().unwrap_or("")
                ));
            }
        }
        s.push_str(&claim_text(&report));
        if let Some(drift) = &report.drift {
            s.push_str("\ndrift:\n");
            for l in crate::aws::drift::lines(drift) {
                s.push_str(&format!("  {l}\n"));
            }
        }
        s
    })?;
    if failed_drift {
        exit_after_output(rainmaker_core::fleet::EXIT_FAILED);
    }
    Ok(())
}

/// The claim section: what the account holds (every certificate with its role, status and attachment), the
/// warnings with their help, and the local copy.
fn claim_text(report: &status::StatusReport) -> String {
    let cl = &report.claim;
    let mut s = format!("\nclaim certificate (read from the account: secret {}, policy {}):\n", cl.secret, cl.policy);
    if cl.certificates.is_empty() {
        s.push_str("  none\n");
    }
    for c in &cl.certificates {
        let until = c.not_before.as_deref().map(|t| format!(" until {t}")).unwrap_or_default();
        s.push_str(&format!(
            "  {} {:<8} {} {}{until}\n",
            c.certificate_id,
            c.role,
            c.status.as_deref().unwrap_or("not registered"),
            if c.attached { "attached" } else { "not attached" }
        ));
    }
    for w in &cl.warnings {
        s.push_str(&format!("  warning: {}\n  help: {}\n", w.message, w.help));
    }
    match &report.claim_certificate {
        Some(c) => s.push_str(&format!(
            "  local copy: {} (key {}){}\n",
            c.certificate_file.display(),
            c.private_key_file.display(),
            if cl.local_copy == crate::aws::claim::health::LocalCopy::Stale { ", stale" } else { "" }
        )),
        None => s.push_str("  local copy: none in this directory (`apply` writes it from the secret)\n"),
    }
    s
}

/// Exit with `code` once stdout is flushed (the report is printed first).
fn exit_after_output(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// `status --tenants`: every tenant through its role (and its drift with `--drift`); exit 3 when some tenant could
/// not be read or its drift detection failed.
fn fleet(g: &GlobalArgs, file: &Path, drift: Option<WaitOptions>) -> Result<()> {
    let fleet = std::sync::Arc::new(crate::config::tenants::load(file)?);
    let ctx = std::sync::Arc::new(crate::fleet::tenant::Ctx {
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        artifacts_dir: Path::new(".").to_path_buf(),
        session: format!("rainmaker-status-{}", std::process::id()),
        dry_run: true,
        cancel: None,
        drift: rainmaker_core::fleet::DriftPolicy::Ignore,
    });
    let rt = runtime()?;
    let s = rt.block_on(crate::fleet::status::fleet_status(fleet, ctx, 8, drift));
    crate::output::emit(g.output, &s, || crate::fleet::status::text(&s))?;
    let drift_failed = s.tenants.iter().flat_map(|t| t.drift.iter().flatten()).any(|d| d.error.is_some());
    if drift_failed || s.tenants.iter().any(|t| t.error.is_some()) {
        exit_after_output(rainmaker_core::fleet::EXIT_FAILED);
    }
    Ok(())
}
