//! Converging one prepared stack for `apply` (unchanged, or change set -> execute -> wait) and completing the
//! outputs the service left out.

use super::{step, ApplyOptions};
use crate::aws::converge::{self, Ready, StackReport, StackResult, Target};
use crate::aws::plan::StackPlan;
use crate::aws::progress::{Progress, Prompter};
use crate::aws::sdk::Clients;
use crate::aws::{changeset, stack, DeployError};

fn unchanged_report(
    t: &Target<'_>,
    live: &aws_sdk_cloudformation::types::Stack,
    recovered: Vec<String>,
    progress: &dyn Progress,
) -> StackReport {
    step(progress, Some(t.stack_name), "no changes");
    StackReport {
        stack: t.stack.into(),
        stack_name: t.stack_name.into(),
        result: StackResult::Unchanged,
        status: stack::status(live),
        plan: StackPlan::unchanged(t.stack, t.stack_name),
        recovered,
        outputs: stack::outputs(live),
    }
}

/// Converge one prepared stack: unless unchanged, plan, refuse/confirm, execute, wait.
#[allow(clippy::too_many_arguments)]
pub(super) async fn converge_stack(
    c: &Clients,
    t: &Target<'_>,
    ready: Ready,
    recovered: Vec<String>,
    bucket: Option<&str>,
    region: &str,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<StackReport, DeployError> {
    let (live, create) = match ready {
        Ready::Unchanged(live) => return Ok(unchanged_report(t, &live, recovered, progress)),
        Ready::Change { live, create } => (live, create),
    };
    step(
        progress,
        Some(t.stack_name),
        format!("creating {} change set", if create { "a CREATE" } else { "an UPDATE" }),
    );
    let source = converge::template_source(c, t, bucket, region).await?;
    let plan = converge::plan(c, t, create, source, &opts.wait).await?;
    if plan.kind == crate::aws::plan::PlanKind::NoChanges {
        if let Some(name) = &plan.change_set {
            changeset::delete(&c.cfn, t.stack_name, name).await?;
        }
        let live = live.ok_or_else(|| DeployError::NotDeployed { stack: t.stack_name.into() })?;
        return Ok(unchanged_report(t, &live, recovered, progress));
    }
    let done = converge::execute(c, t, &plan, opts.allow_replace, &opts.wait, prompter, progress).await?;
    Ok(StackReport {
        stack: t.stack.into(),
        stack_name: t.stack_name.into(),
        result: if create { StackResult::Created } else { StackResult::Updated },
        status: stack::status(&done),
        plan,
        recovered,
        outputs: stack::outputs(&done),
    })
}

/// Fill in outputs the service left out (see [`crate::aws::outputs`]); costs one call, only when some are missing. Best
/// effort: when the resources cannot be listed either, literal names from the template still fill most.
/// Fill in the outputs the service left out; returns why the stack's resources could not be read, if they could
/// not and an output is still missing.
pub(super) async fn complete_outputs(
    c: &Clients,
    r: &mut StackReport,
    template: &serde_json::Value,
    region: &str,
    account: &str,
) -> Option<String> {
    if !crate::aws::outputs::incomplete(template, &r.outputs) {
        return None;
    }
    let (physical, failure) = crate::aws::outputs::physical_ids_or_failure(&c.cfn, &r.stack_name).await;
    r.outputs = crate::aws::outputs::complete_in(template, &r.outputs, &physical, region, Some(account));
    failure.filter(|_| crate::aws::outputs::incomplete(template, &r.outputs))
}
