//! `rainmaker-deploy destroy`: delete the stacks and the claim certificate; keep the data unless --delete-data.

use super::common::{
    ask, calls_text, display, failed_run, failing_resource_text, require_yes_or_terminal, runtime, tenant,
};
use crate::aws::destroy::{self, DestroyOptions};
use crate::aws::events::WaitOptions;
use crate::cli::{DestroyArgs, GlobalArgs};
use miette::Result;
use std::path::Path;

pub fn run(g: &GlobalArgs, args: &DestroyArgs) -> Result<()> {
    require_yes_or_terminal(args.yes, "destroy")?;
    let rt = runtime()?;
    let display = display(g);
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        if !args.yes {
            let what = if args.delete_data {
                "its stacks AND its data (tables, artifacts bucket, user pool, key secrets)"
            } else {
                "its stacks (data is kept)"
            };
            if !ask(&format!("Destroy tenant {} in {}: {what}?", t.config.name, t.config.region)) {
                return Err(miette::miette!(
                    code = "rainmaker::deploy::declined",
                    "destroy was not confirmed; nothing was changed"
                ));
            }
        }
        let opts = DestroyOptions {
            keep_data: !args.delete_data,
            force_delete_secrets: args.force_delete_secrets,
            wait: WaitOptions { timeout: args.timeout.timeout, ..WaitOptions::default() },
            omissions: crate::aws::verify::Omissions::for_cli(t.sdk.endpoint_url()),
        };
        Ok::<_, miette::Report>(destroy::failure::destroy_reporting(&t, &opts, &display).await)
    });
    display.finish();
    let report = match report? {
        Ok(r) => r,
        Err(f) => return Err(failed_run(g, f, failure_text)),
    };
    crate::output::emit(g.output, &report, || text(&report))
}

/// The human summary of a failed destroy: each stack's result, the resource that failed first and why, what was
/// deleted before, the local files, calls.
pub fn failure_text(r: &destroy::failure::DestroyFailure) -> String {
    let mut s = String::from("destroy failed; what it did:\n");
    for st in &r.stacks {
        let status = st.status.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
        s.push_str(&format!("{:<10} {:<32} {}{}\n", st.stack, st.stack_name, st.result.replace('_', " "), status));
    }
    s.push_str(&failing_resource_text(r.failing_resource.as_ref()));
    for c in &r.did.claim_certificates_deleted {
        s.push_str(&format!("deleted claim certificate {c}\n"));
    }
    for d in &r.did.deleted_data {
        let id = d.resource.physical_id.as_deref().or(d.resource.name.as_deref()).unwrap_or("?");
        s.push_str(&format!("deleted {} {id}\n", d.resource.resource_type));
    }
    match (r.did.outputs_file.action.as_str(), &r.did.outputs_file.path) {
        ("removed", Some(p)) => s.push_str(&format!("removed {} (it described stacks that changed)\n", p.display())),
        (other, Some(p)) if other != "none" => s.push_str(&format!("{}: {other}\n", p.display())),
        _ => {}
    }
    if r.did.claim_copy != "none" && r.did.claim_copy != "untouched" {
        s.push_str(&format!("local claim copy: {}\n", r.did.claim_copy));
    }
    if let Some(p) = &r.did.retained_record {
        s.push_str(&format!("kept {} (what the stacks retain; the next destroy deletes from it)\n", p.display()));
    }
    s.push_str(&calls_text(&r.api_calls, r.elapsed_ms));
    s
}

/// The text report: stacks, claim certificate, what was deleted (and how), what was kept with ids and reasons.
fn text(report: &destroy::DestroyReport) -> String {
    use destroy::delete::Outcome;
    let mut s = String::new();
    for st in &report.deleted_stacks {
        s.push_str(&format!("deleted stack {st}\n"));
    }
    if report.deleted_stacks.is_empty() {
        s.push_str("no stacks to delete\n");
    }
    for (st, from) in report.judged_from.iter().filter(|(_, f)| f.as_str() != "live stack") {
        s.push_str(&format!("{st}: already gone; what it retained is taken from the {from} of an earlier destroy\n"));
    }
    for c in &report.claim_certificates_deleted {
        s.push_str(&format!("deleted claim certificate {c}\n"));
    }
    for d in &report.deleted_data {
        let r = &d.resource;
        let id = r.physical_id.as_deref().or(r.name.as_deref()).unwrap_or("?");
        let how = match &d.outcome {
            Outcome::Deleted => "deleted".to_string(),
            Outcome::AlreadyGone => "already gone".to_string(),
            Outcome::ScheduledForDeletion { recoverable_until } => {
                format!("scheduled for deletion, recoverable until {recoverable_until}")
            }
            Outcome::AlreadyScheduled { recoverable_until } => format!(
                "already scheduled for deletion, recoverable until {}",
                recoverable_until.as_deref().unwrap_or("the date the earlier run printed")
            ),
            Outcome::Kept { reason } => format!("kept: {reason}"),
        };
        s.push_str(&format!("{how}: {} {id}\n", r.resource_type));
    }
    if !report.kept.is_empty() {
        s.push_str("kept (retained by the live stacks):\n");
        for k in &report.kept {
            let r = &k.resource;
            let id = r.physical_id.as_deref().or(r.name.as_deref()).unwrap_or("(id unknown)");
            s.push_str(&format!("  {:<28} {:<24} {id}\n      {}\n", r.resource_type, r.logical_id, k.reason));
        }
    }
    s
}
