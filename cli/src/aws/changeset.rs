//! Change sets: create one (CREATE or UPDATE), wait until it is ready, read it into a [`StackPlan`], execute or
//! delete it. "No changes" (AWS's `FAILED` status with "didn't contain changes") is a plan of kind NoChanges.

use super::alarms::{RollbackTriggers, TRIGGER_TYPE};
use super::events::WaitOptions;
use super::plan::{PlanKind, ResourceChange, StackPlan, TemplateInfo};
use super::DeployError;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, Parameter, ResourceToImport, RollbackConfiguration, RollbackTrigger, Tag,
};
use aws_sdk_cloudformation::Client;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to put in a change set.
#[derive(Debug, Clone)]
pub struct ChangeSetInput<'a> {
    pub stack: &'a str,
    pub stack_name: &'a str,
    /// The template body (up to 51,200 bytes) ...
    pub template_body: Option<&'a str>,
    /// ... or its S3 URL when larger.
    pub template_url: Option<String>,
    pub parameters: &'a BTreeMap<String, String>,
    pub tags: &'a BTreeMap<String, String>,
    pub create: bool,
    /// Non-empty: an IMPORT change set of these resources (the template holds only them).
    pub import: &'a [super::adopt::Import],
    /// `RollbackConfiguration` (a bake's alarms, or an empty list clearing saved ones); `None`: not sent.
    pub rollback: Option<&'a RollbackTriggers>,
}

/// Reasons AWS gives when a change set has nothing in it.
pub fn is_no_changes(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("didn't contain changes")
        || r.contains("no updates are to be performed")
        || r.contains("submitted information didn't contain changes")
}

/// A change set name unique enough per stack: `rainmaker-<unix millis>`.
pub fn new_name() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    format!("rainmaker-{ms}")
}

/// The `ClientRequestToken` of our ExecuteChangeSet: `<change set name>-<stack name>`, one per run and stack
/// (CloudFormation stamps it on every event of the operation, which is how a cancel knows the operation is ours).
/// At most 128 of `[a-zA-Z0-9-]`, starting with a letter or digit, as the API requires.
pub fn execute_token(change_set: &str, stack_name: &str) -> String {
    let raw = format!("{change_set}-{stack_name}");
    let clean: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(128).collect();
    clean.trim_start_matches('-').to_string()
}

/// Create the change set (its name doubles as the `ClientToken`, so an SDK retry of a call whose answer was lost
/// cannot make a second change set); returns its name.
pub async fn create(cfn: &Client, input: &ChangeSetInput<'_>) -> Result<String, DeployError> {
    let name = new_name();
    let params: Vec<Parameter> = input
        .parameters
        .iter()
        .map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build())
        .collect();
    let tags: Vec<Tag> = input.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    let kind = match (input.import.is_empty(), input.create) {
        (false, _) => ChangeSetType::Import,
        (true, true) => ChangeSetType::Create,
        (true, false) => ChangeSetType::Update,
    };
    let import: Vec<ResourceToImport> = input
        .import
        .iter()
        .map(|i| {
            ResourceToImport::builder()
                .resource_type(&i.resource_type)
                .logical_resource_id(&i.logical_id)
                .resource_identifier(&i.identifier_key, &i.identifier_value)
                .build()
        })
        .collect();
    let rollback = input.rollback.map(rollback_configuration);
    cfn.create_change_set()
        .stack_name(input.stack_name)
        .change_set_name(&name)
        .client_token(&name)
        .change_set_type(kind)
        .set_resources_to_import((!import.is_empty()).then_some(import))
        .set_template_body(input.template_body.map(str::to_string))
        .set_template_url(input.template_url.clone())
        .set_parameters(Some(params))
        .set_tags(Some(tags))
        .set_rollback_configuration(rollback)
        .capabilities(Capability::CapabilityIam)
        .description(format!("rainmaker-deploy {}", crate::TEMPLATE_VERSION))
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation CreateChangeSet", e))?;
    Ok(name)
}

/// The API shape of a bake's triggers: each alarm as an `AWS::CloudWatch::Alarm` trigger, and the monitoring time
/// (an empty list is sent as one, which clears triggers CloudFormation saved from an earlier operation).
pub fn rollback_configuration(r: &RollbackTriggers) -> RollbackConfiguration {
    let triggers = r.alarms.iter().map(|arn| RollbackTrigger::builder().arn(arn).r#type(TRIGGER_TYPE).build());
    RollbackConfiguration::builder()
        .set_rollback_triggers(Some(triggers.collect()))
        .monitoring_time_in_minutes(r.minutes as i32)
        .build()
}

/// Wait until the change set is ready and read it into a plan (NoChanges when AWS says it is empty).
pub async fn describe(
    cfn: &Client,
    stack: &str,
    stack_name: &str,
    name: &str,
    info: &TemplateInfo,
    wait: &WaitOptions,
    create: bool,
) -> Result<StackPlan, DeployError> {
    let poll = wait.poll;
    let started = std::time::Instant::now();
    let mut changes = Vec::new();
    let mut token: Option<String> = None;
    let mut polls = 0u32;
    loop {
        let out = cfn
            .describe_change_set()
            .stack_name(stack_name)
            .change_set_name(name)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DescribeChangeSet", e))?;
        let status = out
            .status()
            .map(|s| s.as_str().to_string())
            .ok_or(DeployError::missing("CloudFormation DescribeChangeSet", "Status"))?;
        match status.as_str() {
            "CREATE_PENDING" | "CREATE_IN_PROGRESS" => {
                if wait.cancel_requested() {
                    return Err(DeployError::Declined {
                        reason: format!(
                            "cancelled while change set {name} of {stack_name} was being created ({status}); it was \
                             never executed, nothing was changed"
                        ),
                    });
                }
                if started.elapsed() > wait.timeout {
                    return Err(DeployError::Stuck {
                        stack: stack_name.into(),
                        status: format!("change set {status}"),
                        help: format!(
                            "the change set {name} was not ready after {:?} (--timeout); it is never executed: run \
                             apply again",
                            wait.timeout
                        ),
                    });
                }
                polls += 1;
                // 0.5 s, 1 s, then `poll`: small change sets are ready in a second or two
                let pause = if polls < 2 { poll.min(Duration::from_millis(500)) } else { poll };
                tokio::time::sleep(pause).await;
                continue;
            }
            "FAILED" => {
                let reason = out.status_reason().unwrap_or_default().to_string();
                if is_no_changes(&reason) {
                    return Ok(StackPlan {
                        change_set: Some(name.to_string()),
                        ..StackPlan::unchanged(stack, stack_name)
                    });
                }
                return Err(DeployError::StackFailed {
                    stack: stack_name.into(),
                    status: "change set FAILED".into(),
                    reason,
                });
            }
            _ => {}
        }
        for c in out.changes() {
            let Some(rc) = c.resource_change() else { continue };
            let logical_id = rc.logical_resource_id().unwrap_or_default().to_string();
            let resource_type = rc.resource_type().unwrap_or_default().to_string();
            let known = info.resources.get(&logical_id);
            let stateful = known.map_or(super::plan::STATEFUL_TYPES.contains(&resource_type.as_str()), |r| r.stateful);
            let details = rc
                .details()
                .iter()
                .filter_map(|d| {
                    let t = d.target()?;
                    let what = [t.attribute().map(|a| a.as_str()), t.name()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(".");
                    let recreate = t.requires_recreation().map(|r| r.as_str()).filter(|r| *r != "Never");
                    Some(match recreate {
                        Some(r) => format!("{what} (requires recreation: {r})"),
                        None => what,
                    })
                })
                .collect();
            changes.push(ResourceChange {
                description: info.description(&logical_id),
                logical_id,
                resource_type,
                action: rc.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
                replacement: rc.replacement().map(|r| r.as_str().to_string()).filter(|r| !r.is_empty()),
                physical_id: rc.physical_resource_id().map(str::to_string),
                stateful,
                details,
            });
        }
        match out.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let kind = if changes.is_empty() {
        PlanKind::NoChanges
    } else if create {
        PlanKind::Create
    } else {
        PlanKind::Update
    };
    Ok(StackPlan {
        stack: stack.into(),
        stack_name: stack_name.into(),
        kind,
        changes,
        change_set: Some(name.into()),
        recovery: None,
    })
}

/// Execute a ready change set with our [`execute_token`] as its `ClientRequestToken`.
pub async fn execute(cfn: &Client, stack_name: &str, name: &str) -> Result<(), DeployError> {
    cfn.execute_change_set()
        .stack_name(stack_name)
        .change_set_name(name)
        .client_request_token(execute_token(name, stack_name))
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation ExecuteChangeSet", e))?;
    Ok(())
}

/// Delete a change set that will not be executed.
pub async fn delete(cfn: &Client, stack_name: &str, name: &str) -> Result<(), DeployError> {
    cfn.delete_change_set()
        .stack_name(stack_name)
        .change_set_name(name)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation DeleteChangeSet", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_the_no_changes_reasons_aws_gives() {
        assert!(super::is_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(super::is_no_changes("No updates are to be performed."));
        assert!(!super::is_no_changes("Template format error: Unresolved resource dependencies [X]"));
    }

    #[test]
    fn execute_tokens_are_valid_client_request_tokens() {
        assert_eq!(
            super::execute_token("rainmaker-1733212345678", "rm-acme-backend"),
            "rainmaker-1733212345678-rm-acme-backend"
        );
        let long = super::execute_token(&"x".repeat(100), &format!("rm_{}", "y".repeat(100)));
        assert_eq!(long.len(), 128);
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{long}");
        assert!(!super::execute_token("-a", "b").starts_with('-'));
    }
}
