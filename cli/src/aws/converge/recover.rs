//! Settling a stack before any change: wait for an operation in progress, continue a failed rollback, delete a
//! failed first create or an unexecuted review (CloudFormation's states, see [`crate::aws::stack::classify`]).

use super::Target;
use crate::aws::changeset;
use crate::aws::events::{EventStream, WaitOptions};
use crate::aws::progress::{Progress, ProgressEvent, Prompter, Question};
use crate::aws::sdk::Clients;
use crate::aws::stack::{self, StackState};
use crate::aws::DeployError;
use aws_sdk_cloudformation::types::Stack;

/// Delete a stack that holds nothing worth keeping (a failed first create, an unexecuted review) and wait.
async fn delete_and_wait(
    c: &Clients,
    t: &Target<'_>,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<(), DeployError> {
    let token = changeset::execute_token(&format!("{}-delete", changeset::new_name()), t.stack_name);
    c.cfn
        .delete_stack()
        .stack_name(t.stack_name)
        .client_request_token(&token)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation DeleteStack", e))?;
    EventStream::new(&c.cfn, t.stack_name, t.info, progress).ours(token).wait(wait).await?;
    Ok(())
}

/// Loop until the stack is missing or stable: wait for operations in progress, continue a failed
/// rollback, delete a failed first create (when the prompter agrees).
pub async fn recover(
    c: &Clients,
    t: &Target<'_>,
    wait: &WaitOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
    recovered: &mut Vec<String>,
) -> Result<Option<Stack>, DeployError> {
    recover_from(c, t, None, wait, prompter, progress, recovered).await
}

/// [`recover`], starting from a stack already read (`listed`: `Some(None)` = the account's listing has no such
/// stack), which saves the first DescribeStacks.
pub async fn recover_from(
    c: &Clients,
    t: &Target<'_>,
    mut listed: Option<Option<Stack>>,
    wait: &WaitOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
    recovered: &mut Vec<String>,
) -> Result<Option<Stack>, DeployError> {
    let step = |m: String| progress.report(ProgressEvent::Step { stack: Some(t.stack_name.to_string()), message: m });
    for _ in 0..6 {
        let current = match listed.take() {
            Some(known) => known,
            None => stack::describe(&c.cfn, t.stack_name).await?,
        };
        let Some(live) = current else { return Ok(None) };
        let status = stack::status(&live);
        let mut state = stack::classify(&status);
        // an IMPORT that created the stack (what adopting kept data does) and rolled back leaves an empty stack:
        // like a failed first create, it is deleted (its kept resources are retained) and the import made again
        if status == "IMPORT_ROLLBACK_COMPLETE" && holds_nothing(c, t.stack_name).await? {
            state = StackState::FailedCreate;
        }
        match state {
            StackState::Missing => return Ok(None),
            StackState::Stable => return Ok(Some(live)),
            StackState::Review => {
                // a CREATE change set was made but never executed (e.g. apply was killed): the stack holds no
                // resources, so delete it and create afresh rather than stack a second change set on it
                step(format!("deleting the empty stack left in {status} by a change set that was never executed"));
                delete_and_wait(c, t, wait, progress).await?;
                recovered.push(format!("deleted the empty stack left in {status} by an unexecuted change set"));
            }
            StackState::Busy => wait_for_operation(c, t, &live, &status, wait, progress, recovered).await?,
            StackState::FailedCreate => {
                let reason = live.stack_status_reason();
                if !prompter.confirm(&Question::DeleteFailedStack { stack: t.stack_name, status: &status, reason }) {
                    return Err(DeployError::FailedCreate { stack: t.stack_name.into(), status });
                }
                step(format!("deleting the stack left in {status} by a failed create"));
                delete_and_wait(c, t, wait, progress).await?;
                recovered.push(format!("deleted the stack left in {status} by a failed create"));
            }
            StackState::RollbackFailed => {
                step("continuing the failed rollback (ContinueUpdateRollback)".into());
                let token = changeset::execute_token(&format!("{}-continue", changeset::new_name()), t.stack_name);
                c.cfn
                    .continue_update_rollback()
                    .stack_name(t.stack_name)
                    .client_request_token(&token)
                    .send()
                    .await
                    .map_err(|e| DeployError::sdk("CloudFormation ContinueUpdateRollback", e))?;
                let done = EventStream::new(&c.cfn, t.stack_name, t.info, progress).ours(token).wait(wait).await?;
                if done.status != "UPDATE_ROLLBACK_COMPLETE" {
                    return Err(DeployError::Stuck {
                        stack: t.stack_name.into(),
                        status: done.status,
                        help: "the rollback could not finish; fix the resource named in the events (or skip it with \
                               `aws cloudformation continue-update-rollback --resources-to-skip`), then apply again"
                            .into(),
                    });
                }
                recovered.push("continued the failed rollback to UPDATE_ROLLBACK_COMPLETE".into());
            }
            StackState::Stuck => {
                return Err(DeployError::Stuck {
                    stack: t.stack_name.into(),
                    status: status.clone(),
                    help: format!(
                        "{}; `rainmaker-deploy status` shows the last events",
                        if status == "DELETE_FAILED" {
                            "a delete failed: run `rainmaker-deploy destroy` again"
                        } else {
                            "unexpected status"
                        }
                    ),
                })
            }
        }
    }
    Err(DeployError::Stuck {
        stack: t.stack_name.into(),
        status: "unsettled".into(),
        help: "the stack kept changing state; try again".into(),
    })
}

/// Does the stack hold no resources (DescribeStackResources)?
pub async fn holds_nothing(c: &Clients, stack_name: &str) -> Result<bool, DeployError> {
    let out = c
        .cfn
        .describe_stack_resources()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation DescribeStackResources", e))?;
    Ok(out.stack_resources().is_empty())
}

/// Wait for the operation holding the stack, streaming its own events (from when it started), which also say who
/// started it.
async fn wait_for_operation(
    c: &Clients,
    t: &Target<'_>,
    live: &Stack,
    status: &str,
    wait: &WaitOptions,
    progress: &dyn Progress,
    recovered: &mut Vec<String>,
) -> Result<(), DeployError> {
    let started = live.last_updated_time().or(live.creation_time()).copied();
    let since = started.map_or("?".into(), |d| d.to_string());
    let mut events = match started {
        Some(d) => EventStream::since(&c.cfn, t.stack_name, t.info, progress, d),
        None => EventStream::new(&c.cfn, t.stack_name, t.info, progress),
    };
    events.poll().await?;
    let holder = events.operation_token().map(|t| format!(", operation {t}")).unwrap_or_default();
    progress.report(ProgressEvent::Step {
        stack: Some(t.stack_name.to_string()),
        message: format!("{status} since {since}{holder}: another operation holds the stack; waiting for it to finish"),
    });
    let done = events.wait(wait).await?;
    recovered.push(format!(
        "waited for an operation in progress ({status} since {since}{holder}) to end in {}",
        done.status
    ));
    Ok(())
}
