//! Running a change set: template source (inline or via the bucket), create and read it into a plan, refuse
//! stateful losses, confirm, execute, wait, and set the stack policy again on every path.

use super::{wanted_tags, Target, MAX_TEMPLATE_BODY};
use crate::aws::changeset::{self, ChangeSetInput};
use crate::aws::events::{EventStream, WaitOptions};
use crate::aws::plan::{PlanKind, StackPlan};
use crate::aws::progress::{Progress, ProgressEvent, Prompter, Question};
use crate::aws::sdk::Clients;
use crate::aws::{policy, stack, DeployError};
use aws_sdk_cloudformation::types::Stack;
use sha2::{Digest, Sha256};

/// Inline body, or upload the template to the artifacts bucket and return its URL.
pub async fn template_source(
    c: &Clients,
    t: &Target<'_>,
    bucket: Option<&str>,
    region: &str,
) -> Result<(Option<String>, Option<String>), DeployError> {
    if t.body.len() <= MAX_TEMPLATE_BODY {
        return Ok((Some(t.body.to_string()), None));
    }
    let Some(bucket) = bucket else {
        return Err(DeployError::Io {
            what: format!("template of {}", t.stack_name),
            reason: "larger than 51,200 bytes and no artifacts bucket".into(),
        });
    };
    let key = format!("templates/{}/{}.yaml", t.stack, hex::encode(Sha256::digest(t.body.as_bytes())));
    c.s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(t.body.as_bytes().to_vec().into())
        .content_type("application/x-yaml")
        .send()
        .await
        .map_err(|e| DeployError::sdk("S3 PutObject", e))?;
    Ok((None, Some(format!("https://s3.{region}.amazonaws.com/{bucket}/{key}"))))
}

/// Create a change set and read it into a plan (the change set is left for [`execute`] or deletion).
pub async fn plan(
    c: &Clients,
    t: &Target<'_>,
    create: bool,
    source: (Option<String>, Option<String>),
    wait: &WaitOptions,
) -> Result<StackPlan, DeployError> {
    let tags = wanted_tags(t);
    let input = ChangeSetInput {
        stack: t.stack,
        stack_name: t.stack_name,
        template_body: source.0.as_deref(),
        template_url: source.1,
        parameters: &t.parameters,
        tags: &tags,
        create,
        import: &[],
        rollback: if create { None } else { t.rollback.as_ref() },
    };
    let name = changeset::create(&c.cfn, &input).await?;
    changeset::describe(&c.cfn, t.stack, t.stack_name, &name, t.info, wait, create).await
}

/// Refuse, confirm, execute and wait for a planned change set; then set the stack policy (restored on every path
/// when `--allow-replace` lifted it).
pub async fn execute(
    c: &Clients,
    t: &Target<'_>,
    plan: &StackPlan,
    allow_replace: bool,
    wait: &WaitOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<Stack, DeployError> {
    let name = plan.change_set.clone().unwrap_or_default();
    let blocked: Vec<String> = plan.blocked().iter().map(|r| r.logical_id.clone()).collect();
    if !blocked.is_empty() && !allow_replace {
        changeset::delete(&c.cfn, t.stack_name, &name).await?;
        return Err(DeployError::Refused { stack: t.stack_name.into(), resources: blocked });
    }
    if !prompter.confirm(&Question::Execute(plan)) {
        changeset::delete(&c.cfn, t.stack_name, &name).await?;
        return Err(DeployError::Declined { reason: "not confirmed".into() });
    }
    if wait.cancel_requested() {
        changeset::delete(&c.cfn, t.stack_name, &name).await?;
        return Err(DeployError::Declined { reason: "cancelled before execution (the change set was deleted)".into() });
    }
    let protected = t.info.data_resources();
    let update = plan.kind == PlanKind::Update;
    if update && !protected.is_empty() {
        // a run killed while `--allow-replace` had lifted the policy left it lifted: protect the data again first
        let wanted = policy::protecting(&protected);
        if !policy::same(get_policy(c, t.stack_name).await?.as_deref(), &wanted) {
            progress.report(ProgressEvent::Step {
                stack: Some(t.stack_name.into()),
                message: "the stack policy does not protect the data (an interrupted --allow-replace left it \
                          lifted?): restoring it before the change"
                    .into(),
            });
            set_policy(c, t.stack_name, &wanted).await?;
        }
    }
    let lifted = update && !blocked.is_empty() && !protected.is_empty();
    if lifted {
        set_policy(c, t.stack_name, &policy::allow_all()).await?;
    }
    // from here on, every path (success, failed execute, rollback, cancel, timeout) sets the protecting policy
    // again, in this one place
    let outcome = run_change_set(c, t, &name, wait, progress).await;
    if lifted || (outcome.is_ok() && !protected.is_empty()) {
        let restored = set_policy(c, t.stack_name, &policy::protecting(&protected)).await;
        return match (outcome, restored) {
            (outcome, Ok(())) => outcome,
            (Ok(_), Err(restore)) => Err(restore),
            (Err(error), Err(restore)) => Err(DeployError::PolicyNotRestored {
                stack: t.stack_name.into(),
                error: Box::new(error),
                restore: Box::new(restore),
            }),
        };
    }
    outcome
}

/// Execute the change set and wait for the stack to settle: the live stack when the change succeeded.
async fn run_change_set(
    c: &Clients,
    t: &Target<'_>,
    name: &str,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<Stack, DeployError> {
    progress.report(ProgressEvent::Step {
        stack: Some(t.stack_name.into()),
        message: format!("executing change set {name}"),
    });
    let ours = changeset::execute_token(name, t.stack_name);
    let mut events = EventStream::new(&c.cfn, t.stack_name, t.info, progress).ours(ours);
    changeset::execute(&c.cfn, t.stack_name, name).await?;
    let done = events.wait(wait).await?;
    if done.cancelled {
        return Err(DeployError::Cancelled { stack: t.stack_name.into(), status: done.status });
    }
    let Some(live) = done.stack else { return Err(DeployError::NotDeployed { stack: t.stack_name.into() }) };
    if stack::is_failure(&done.status) {
        let reason = done.first_failure.or(live.stack_status_reason().map(str::to_string)).unwrap_or_default();
        return Err(DeployError::StackFailed { stack: t.stack_name.into(), status: done.status, reason });
    }
    Ok(live)
}

/// The stack's policy as set (None: it has none).
pub async fn get_policy(c: &Clients, stack_name: &str) -> Result<Option<String>, DeployError> {
    let out = c
        .cfn
        .get_stack_policy()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation GetStackPolicy", e))?;
    Ok(out.stack_policy_body().filter(|b| !b.is_empty()).map(str::to_string))
}

async fn set_policy(c: &Clients, stack_name: &str, body: &str) -> Result<(), DeployError> {
    c.cfn
        .set_stack_policy()
        .stack_name(stack_name)
        .stack_policy_body(body)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation SetStackPolicy", e))?;
    Ok(())
}
