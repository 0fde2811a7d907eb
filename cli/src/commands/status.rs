//! `rainmaker-deploy status`: stack states, template versions, outputs and last events.

use super::common::{deploy_error, runtime, tenant};
use crate::aws::status;
use crate::cli::{GlobalArgs, StatusArgs};
use miette::Result;
use std::path::Path;

pub fn run(g: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    let rt = runtime()?;
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        status::status(&t, args.events).await.map_err(|e| deploy_error(e, g))
    })?;
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
        if let Some(c) = &report.claim_certificate {
            s.push_str(&format!(
                "\nclaim certificate {}: {} (key {})\n",
                c.certificate_id,
                c.certificate_file.display(),
                c.private_key_file.display()
            ));
        }
        s
    })
}
