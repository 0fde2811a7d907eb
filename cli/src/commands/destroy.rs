//! `rainmaker-deploy destroy`: delete the stacks and the claim certificate; keep the data unless --delete-data.

use super::common::{ask, deploy_error, display, require_yes_or_terminal, runtime, tenant};
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
                "its stacks AND its data (tables, artifacts bucket)"
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
            wait: WaitOptions { timeout: args.timeout.timeout, ..WaitOptions::default() },
        };
        destroy::destroy(&t, &opts, &display).await.map_err(|e| deploy_error(e, g))
    });
    display.finish();
    let report = report?;
    crate::output::emit(g.output, &report, || {
        let mut s = String::new();
        for st in &report.deleted_stacks {
            s.push_str(&format!("deleted stack {st}\n"));
        }
        if report.deleted_stacks.is_empty() {
            s.push_str("no stacks to delete\n");
        }
        if let Some(c) = &report.claim_certificate_deleted {
            s.push_str(&format!("deleted claim certificate {c}\n"));
        }
        for r in &report.deleted_data {
            s.push_str(&format!("deleted {} {}\n", r.resource_type, r.physical_id));
        }
        if !report.kept.is_empty() {
            s.push_str("kept (retained data; `destroy --delete-data` removes tables and bucket):\n");
            for r in &report.kept {
                s.push_str(&format!(
                    "  {:<24} {:<40} {}\n",
                    r.resource_type,
                    r.physical_id,
                    r.description.as_deref().unwrap_or("")
                ));
            }
        }
        s
    })
}
