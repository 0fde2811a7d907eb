//! Reading a stack: does it exist, what state is it in, its outputs, parameters and template.

use super::DeployError;
use aws_sdk_cloudformation::types::{Stack, TemplateStage};
use aws_sdk_cloudformation::Client;
use std::collections::BTreeMap;

/// What a stack's status means for the next operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackState {
    /// No stack (or only a deleted one).
    Missing,
    /// Created by a CREATE change set that was never executed: a CREATE change set can be made again.
    Review,
    /// Stable and updatable (`*_COMPLETE` other than `ROLLBACK_COMPLETE`/`DELETE_COMPLETE`).
    Stable,
    /// A first create failed and rolled back: the stack must be deleted before it can be created again.
    FailedCreate,
    /// `UPDATE_ROLLBACK_FAILED`: the rollback must be continued first.
    RollbackFailed,
    /// An operation is running (`*_IN_PROGRESS`).
    Busy,
    /// `DELETE_FAILED` or anything unknown.
    Stuck,
}

/// Classify a stack status string.
pub fn classify(status: &str) -> StackState {
    match status {
        "DELETE_COMPLETE" => StackState::Missing,
        "REVIEW_IN_PROGRESS" => StackState::Review,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => StackState::FailedCreate,
        "UPDATE_ROLLBACK_FAILED" => StackState::RollbackFailed,
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy,
        s if s.ends_with("_COMPLETE") => StackState::Stable,
        _ => StackState::Stuck,
    }
}

/// What `apply` does first about a stack in this status, in words (`None`: nothing, the stack is usable as is).
/// `plan` shows it instead of planning as if the stack were fine.
pub fn recovery(status: &str) -> Option<String> {
    match classify(status) {
        StackState::Missing | StackState::Stable => None,
        StackState::Review => Some(format!(
            "delete the empty stack left in {status} by a change set that was never executed, then create it"
        )),
        StackState::FailedCreate => Some(format!(
            "delete the stack left in {status} by a failed first create (apply asks; --yes agrees), then create it again; \
             the retained tables, secrets and user pool are kept and imported into it"
        )),
        StackState::RollbackFailed => Some(
            "continue the failed rollback (ContinueUpdateRollback) back to the last working template, then update it".into(),
        ),
        StackState::Busy => Some(format!("wait for the operation in progress ({status}) to finish, then plan from its result")),
        StackState::Stuck if status == "DELETE_FAILED" => {
            Some("none possible: a delete failed; apply stops. Run `rainmaker-deploy destroy` again".into())
        }
        StackState::Stuck => Some(format!("none possible: apply stops on the unexpected status {status}")),
    }
}

/// Is this a final status of an operation (no longer in progress)?
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Is this a status that means the last operation failed?
pub fn is_failure(status: &str) -> bool {
    status.contains("FAILED") || status.contains("ROLLBACK")
}

/// Describe one stack; `None` when it does not exist (or was deleted).
pub async fn describe(cfn: &Client, stack_name: &str) -> Result<Option<Stack>, DeployError> {
    match cfn.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => Ok(out
            .stacks()
            .first()
            .cloned()
            .filter(|s| s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE"))),
        Err(e) => {
            let missing = e
                .as_service_error()
                .and_then(|s| aws_sdk_cloudformation::error::ProvideErrorMetadata::message(s))
                .is_some_and(|m| m.contains("does not exist"));
            if missing {
                Ok(None)
            } else {
                Err(DeployError::sdk("CloudFormation DescribeStacks", e))
            }
        }
    }
}

/// The status of a described stack as a string.
pub fn status(s: &Stack) -> String {
    s.stack_status().map(|x| x.as_str().to_string()).unwrap_or_default()
}

/// A stack's outputs by key.
pub fn outputs(s: &Stack) -> BTreeMap<String, String> {
    s.outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value().unwrap_or_default().to_string())))
        .collect()
}

/// A stack's parameters by key.
pub fn parameters(s: &Stack) -> BTreeMap<String, String> {
    s.parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value().unwrap_or_default().to_string())))
        .collect()
}

/// A stack's tags by key.
pub fn tags(s: &Stack) -> BTreeMap<String, String> {
    s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect()
}

/// The template a stack was last deployed with, as submitted.
pub async fn template_body(cfn: &Client, stack_name: &str) -> Result<Option<String>, DeployError> {
    let out = cfn
        .get_template()
        .stack_name(stack_name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation GetTemplate", e))?;
    Ok(out.template_body().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_apply_does_next() {
        assert_eq!(classify("ROLLBACK_COMPLETE"), StackState::FailedCreate);
        assert_eq!(classify("UPDATE_ROLLBACK_FAILED"), StackState::RollbackFailed);
        assert_eq!(classify("UPDATE_ROLLBACK_COMPLETE"), StackState::Stable);
        assert_eq!(classify("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), StackState::Busy);
        assert_eq!(classify("REVIEW_IN_PROGRESS"), StackState::Review);
        assert_eq!(classify("DELETE_FAILED"), StackState::Stuck);
        assert!(is_failure("UPDATE_ROLLBACK_COMPLETE") && !is_failure("UPDATE_COMPLETE"));
    }

    #[test]
    fn bad_states_say_what_apply_does_first() {
        assert!(recovery("ROLLBACK_COMPLETE").unwrap().starts_with("delete the stack left in ROLLBACK_COMPLETE"));
        assert!(recovery("UPDATE_ROLLBACK_FAILED").unwrap().contains("ContinueUpdateRollback"));
        assert!(recovery("UPDATE_IN_PROGRESS").unwrap().starts_with("wait"));
        assert!(recovery("DELETE_FAILED").unwrap().contains("destroy"));
        assert!(recovery("REVIEW_IN_PROGRESS").unwrap().starts_with("delete the empty stack"));
        for fine in ["CREATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "DELETE_COMPLETE"] {
            assert_eq!(recovery(fine), None, "{fine}");
        }
    }
}
