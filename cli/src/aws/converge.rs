//! Bringing one stack to its rendered template: recover from the state CloudFormation left it in, detect "no
//! changes" cheaply, then change set -> refuse stateful losses -> confirm -> execute -> wait -> stack policy.

use super::changeset::{self, ChangeSetInput};
use super::events::{EventStream, WaitOptions};
use super::plan::{PlanKind, StackPlan, TemplateInfo};
use super::progress::{Progress, ProgressEvent, Prompter, Question};
use super::sdk::Clients;
use super::stack::{self, StackState};
use super::{policy, DeployError};
use aws_sdk_cloudformation::types::Stack;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// CloudFormation's limit for an inline template body; larger ones go through the artifacts bucket.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// One stack to converge.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `bootstrap` or `backend`.
    pub stack: &'a str,
    pub stack_name: &'a str,
    pub body: &'a str,
    pub info: &'a TemplateInfo,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Rollback triggers for an UPDATE change set (a bake, see [`super::alarms::rollback_for`]); never on a create.
    pub rollback: Option<super::alarms::RollbackTriggers>,
}

/// Where a stack stands before any change.
#[derive(Debug, Clone)]
pub enum Ready {
    /// Live template, parameters and tags are what we would deploy.
    Unchanged(Stack),
    /// Something differs (or there is no stack yet: `live` is None or the stack is in review).
    Change { live: Option<Stack>, create: bool },
}

/// How the stack ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StackResult {
    Created,
    Updated,
    Unchanged,
}

/// What happened to one stack, as data.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    pub stack: String,
    pub stack_name: String,
    pub result: StackResult,
    pub status: String,
    pub plan: StackPlan,
    /// Recovery steps taken first ("deleted the stack left in ROLLBACK_COMPLETE", ...).
    pub recovered: Vec<String>,
    pub outputs: BTreeMap<String, String>,
}

/// The stack tag holding [`deployed_hash`] of what was deployed: a no-op apply reads it instead of the template.
pub const HASH_TAG: &str = "rainmaker:template-sha256";

/// SHA-256 (hex) of the rendered template and its parameters (`key=value` lines in key order).
pub fn deployed_hash(body: &str, parameters: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    for (k, v) in parameters {
        h.update(format!("\n{k}={v}").as_bytes());
    }
    hex::encode(h.finalize())
}

/// The tags a change set of `t` carries: the target's plus [`HASH_TAG`].
pub fn wanted_tags(t: &Target<'_>) -> BTreeMap<String, String> {
    let mut tags = t.tags.clone();
    tags.insert(HASH_TAG.into(), deployed_hash(t.body, &t.parameters));
    tags
}

/// How a live stack compares with the target, from its parameters and tags alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Parameters, tags and the deployed hash are ours: unchanged, no call needed.
    Same,
    /// Parameters and tags are ours but the stack has no (or another) hash tag: compare the template text.
    CompareTemplate,
    Differs,
}

/// Pure: compare live parameters and tags with the wanted ones (wanted tags include [`HASH_TAG`]).
pub fn verdict(
    live_parameters: &BTreeMap<String, String>,
    live_tags: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
    wanted_tags: &BTreeMap<String, String>,
) -> Verdict {
    let without = |m: &BTreeMap<String, String>| {
        let mut m = m.clone();
        let hash = m.remove(HASH_TAG);
        (m, hash)
    };
    let ((live, live_hash), (want, want_hash)) = (without(live_tags), without(wanted_tags));
    if live_parameters != parameters || live != want {
        Verdict::Differs
    } else if live_hash.is_some() && live_hash == want_hash {
        Verdict::Same
    } else {
        Verdict::CompareTemplate
    }
}

/// Compare a recovered stack (missing or stable: [`recover`] deletes one left in review) with the target:
/// unchanged when parameters and tags are ours and the deployed-hash tag matches (no call), or, for a stack
/// deployed without that tag, when its template (GetTemplate) is the same document.
pub async fn compare(c: &Clients, t: &Target<'_>, live: Option<Stack>) -> Result<Ready, DeployError> {
    let Some(live) = live else { return Ok(Ready::Change { live: None, create: true }) };
    match verdict(&stack::parameters(&live), &stack::tags(&live), &t.parameters, &wanted_tags(t)) {
        Verdict::Same => return Ok(Ready::Unchanged(live)),
        Verdict::CompareTemplate => {
            let body = stack::template_body(&c.cfn, t.stack_name).await?;
            if body.as_deref().is_some_and(|b| same_template(b, t.body)) {
                return Ok(Ready::Unchanged(live));
            }
        }
        Verdict::Differs => {}
    }
    Ok(Ready::Change { live: Some(live), create: false })
}

/// Same template text, or the same document once parsed (quoting and layout changes are not changes).
pub fn same_template(live: &str, wanted: &str) -> bool {
    live == wanted || matches!((crate::template::parse(live), crate::template::parse(wanted)), (Ok(a), Ok(b)) if a == b)
}

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

#[cfg(test)]
mod verdict_tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_hash_tag_decides_without_the_template_and_anything_else_differing_is_a_change() {
        let params = map(&[("ApiCodeKey", "k1")]);
        let hash = deployed_hash("Resources: {}", &params);
        let tags = map(&[("rainmaker:tenant", "acme"), (HASH_TAG, &hash)]);
        assert_eq!(verdict(&params, &tags, &params, &tags), Verdict::Same);
        // deployed before the tag existed: the template text decides
        assert_eq!(verdict(&params, &map(&[("rainmaker:tenant", "acme")]), &params, &tags), Verdict::CompareTemplate);
        // another template or parameters: another hash, the template text decides (the change set says what)
        let other = map(&[("rainmaker:tenant", "acme"), (HASH_TAG, "00")]);
        assert_eq!(verdict(&params, &other, &params, &tags), Verdict::CompareTemplate);
        assert_eq!(verdict(&map(&[("ApiCodeKey", "k0")]), &tags, &params, &tags), Verdict::Differs);
        assert_eq!(verdict(&params, &map(&[(HASH_TAG, &hash)]), &params, &tags), Verdict::Differs);
        assert_ne!(deployed_hash("Resources: {}", &map(&[("ApiCodeKey", "k2")])), hash);
        assert_ne!(deployed_hash("Resources: {x: 1}", &params), hash);
    }
}
