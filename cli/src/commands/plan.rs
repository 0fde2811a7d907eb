//! `rainmaker-deploy plan`: what `apply` would change, per resource, with replacements flagged; changes nothing.

use super::common::{deploy_error, display, runtime, tenant};
use crate::aws::deploy;
use crate::aws::events::WaitOptions;
use crate::cli::{GlobalArgs, PlanArgs};
use miette::Result;

pub fn run(g: &GlobalArgs, args: &PlanArgs) -> Result<()> {
    let rt = runtime()?;
    let display = display(g);
    let report = rt.block_on(async {
        let t = tenant(g, &args.artifacts.locate()?.dir).await?;
        deploy::plan(&t, &WaitOptions::default(), &display).await.map_err(|e| deploy_error(e, g))
    });
    display.finish();
    let report = report?;
    crate::output::emit(g.output, &report, || {
        let mut s: String = report.stacks.iter().map(|p| p.to_text()).collect();
        for a in &report.adopted {
            s.push_str(&format!(
                "\n{}: {} kept from an earlier stack (an IMPORT change set first, then the update; nothing is \
                 deleted or recreated)\n",
                a.stack_name, a.summary
            ));
        }
        let blocked: Vec<String> =
            report.stacks.iter().flat_map(|p| p.blocked()).map(|c| c.logical_id.clone()).collect();
        if !blocked.is_empty() {
            s.push_str(&format!(
                "\n!! would replace or remove stateful resources: {} (apply refuses without --allow-replace)\n",
                blocked.join(", ")
            ));
        }
        s
    })
}
