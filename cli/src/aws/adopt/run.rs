//! Adopting what a tenant kept into a stack that does not exist yet: look the retained resources up
//! ([`check`]: refuses, before any change, what differs from the template), then an IMPORT change set of only
//! those resources ([`import`]); the caller's normal UPDATE with the full template follows.

use super::{decide, find, import_template, summary, wanted, Adoption, Import};
use crate::aws::changeset::{self, ChangeSetInput};
use crate::aws::converge::{self, Target};
use crate::aws::events::WaitOptions;
use crate::aws::plan::PlanKind;
use crate::aws::progress::{Progress, ProgressEvent, Prompter};
use crate::aws::sdk::Clients;
use crate::aws::DeployError;
use aws_sdk_cloudformation::types::Stack;
use std::collections::BTreeMap;

/// What of the template's retained resources exists and can be imported into `stack_name`; a found resource that
/// differs from what the template declares is refused ([`DeployError::KeptDiffers`]).
pub async fn check(c: &Clients, stack_name: &str, template: &serde_json::Value) -> Result<Vec<Import>, DeployError> {
    let wanted = wanted(template);
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let found = find::find(c, &wanted).await?;
    decide(&wanted, &found).map_err(|problems| DeployError::KeptDiffers { stack: stack_name.into(), problems })
}

/// The report's view of an import.
pub fn adoption(stack_name: &str, imports: &[Import]) -> Adoption {
    Adoption { stack_name: stack_name.into(), summary: summary(imports), resources: imports.to_vec() }
}

/// Create the stack `t` names from the kept resources: an IMPORT change set whose template holds only them (as
/// `template` declares them), with the target's tags, confirmed like any change set, executed with our token and
/// waited for; then the stack policy protects the data resources at once. Returns the stack (`IMPORT_COMPLETE`).
pub async fn import(
    c: &Clients,
    t: &Target<'_>,
    template: &serde_json::Value,
    imports: &[Import],
    wait: &WaitOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<Stack, DeployError> {
    let body = import_template(template, imports);
    if body.len() > converge::MAX_TEMPLATE_BODY {
        return Err(DeployError::io(
            format!("the import template of {}", t.stack_name),
            "larger than 51,200 bytes; import the kept resources in smaller groups by hand",
        ));
    }
    let ti = Target { body: &body, parameters: BTreeMap::new(), ..t.clone() };
    let tags = converge::wanted_tags(&ti);
    progress.report(ProgressEvent::Step {
        stack: Some(t.stack_name.into()),
        message: format!("{} kept from an earlier stack (IMPORT change set)", summary(imports)),
    });
    let input = ChangeSetInput {
        stack: t.stack,
        stack_name: t.stack_name,
        template_body: Some(&body),
        template_url: None,
        parameters: &ti.parameters,
        tags: &tags,
        create: true,
        import: imports,
        // an IMPORT never bakes: the new stack has no alarms yet
        rollback: None,
    };
    let name = changeset::create(&c.cfn, &input).await?;
    let mut plan = changeset::describe(&c.cfn, t.stack, t.stack_name, &name, t.info, wait, true).await?;
    plan.kind = PlanKind::Import;
    converge::execute(c, &ti, &plan, false, wait, prompter, progress).await
}
