//! Real-AWS behaviour moto does not produce, replayed from responses shaped like the CloudFormation API reference
//! (query protocol, XML in the `http://cloudformation.amazonaws.com/doc/2010-05-15/` namespace): `Replacement: True`
//! on a table (refused, change set deleted), an empty change set ("didn't contain changes"), a failed first create
//! left in `ROLLBACK_COMPLETE` (deleted, then created again), per-resource events with the first failure reason,
//! `UPDATE_ROLLBACK_FAILED` (continued), a stack held by another operation (waited for), throttling (retried by
//! the SDK's standard strategy), Ctrl-C (CancelUpdateStack, or the change set deleted before execution), and a
//! template over the 51,200-byte inline limit (uploaded to the artifacts bucket, passed by URL).

use super::fixtures::fast_wait;
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::Format;
use rainmaker_deploy::aws::converge::{self, Target};
use rainmaker_deploy::aws::events::{cancel_pair, Canceller, WaitOptions};
use rainmaker_deploy::aws::plan::{PlanKind, ResourceChange, StackPlan, TemplateInfo};
use rainmaker_deploy::aws::progress::{Always, Collect, NoProgress};
use rainmaker_deploy::aws::sdk::Clients;
use rainmaker_deploy::aws::{stack as stacks, DeployError, Progress, ProgressEvent};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
pub(super) const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/rm-acme/1a2345b6-0000-00a0-a123-00abc0abc000";

/// One replayed exchange: any request, this status and body.
fn reply(status: u16, body: String) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://cloudformation.us-east-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder().status(status).body(SdkBody::from(body)).unwrap(),
    )
}

pub(super) fn ok(action: &str, result: &str) -> ReplayEvent {
    reply(200, ok_body(action, result))
}

/// A query-protocol answer's body: `<{action}Response>` with its `Result` and `ResponseMetadata`.
pub(super) fn ok_body(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata></{action}Response>"
    )
}

pub(super) fn validation_error(message: &str) -> ReplayEvent {
    reply(
        400,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{message}</Message>\
             </Error><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ErrorResponse>"
        ),
    )
}

fn stack(status: &str, reason: &str) -> String {
    format!(
        "<Stacks><member><StackName>rm-acme</StackName><StackId>{STACK_ID}</StackId>\
         <CreationTime>2026-01-05T10:00:00.000Z</CreationTime><StackStatus>{status}</StackStatus>\
         <StackStatusReason>{reason}</StackStatusReason></member></Stacks>"
    )
}

pub(super) fn clients(events: Vec<ReplayEvent>) -> (Clients, StaticReplayClient) {
    let (sdk, http) = replay_sdk(events);
    (Clients::new(&sdk), http)
}

/// An SDK config (us-east-1, standard retries, dummy keys) whose every call is answered by `events`, in order.
pub(super) fn replay_sdk(events: Vec<ReplayEvent>) -> (aws_config::SdkConfig, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let sdk = aws_config::SdkConfig::builder()
        .http_client(http.clone())
        .retry_config(rainmaker_deploy::aws::sdk::retry_config())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::SharedCredentialsProvider::new(
            aws_sdk_cloudformation::config::Credentials::new("AKID", "SECRET", None, None, "replay"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    (sdk, http)
}

/// The `Action=` of every request made, in order.
pub(super) fn actions(http: &StaticReplayClient) -> Vec<String> {
    http.actual_requests()
        .map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
            body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or_default().to_string()
        })
        .collect()
}

pub(super) fn info() -> TemplateInfo {
    TemplateInfo::from_template(&serde_json::json!({"Resources": {
        "UsersTable": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Description": "App users", "DataClass": "user-data"}},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Metadata": {"Description": "Dead letters"}}
    }}))
}

pub(super) fn target<'a>(info: &'a TemplateInfo, params: &'a BTreeMap<String, String>) -> Target<'a> {
    Target { parameters: params.clone(), ..backend_target("Resources: {}", info) }
}

/// The backend stack `rm-acme` with `body`, no parameters, no tags, no rollback triggers.
pub(super) fn backend_target<'a>(body: &'a str, info: &'a TemplateInfo) -> Target<'a> {
    Target {
        stack: "backend",
        stack_name: "rm-acme",
        body,
        info,
        parameters: BTreeMap::new(),
        tags: BTreeMap::new(),
        rollback: None,
    }
}

#[tokio::test]
async fn a_table_replacement_is_refused_and_the_change_set_deleted() {
    let changes = "<Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action>\
        <LogicalResourceId>UsersTable</LogicalResourceId><PhysicalResourceId>rm-acme-users</PhysicalResourceId>\
        <ResourceType>AWS::DynamoDB::Table</ResourceType><Replacement>True</Replacement><Scope><member>Properties</member></Scope>\
        <Details><member><Evaluation>Static</Evaluation><ChangeSource>DirectModification</ChangeSource>\
        <Target><Attribute>Properties</Attribute><Name>KeySchema</Name><RequiresRecreation>Always</RequiresRecreation></Target>\
        </member></Details></ResourceChange></member>\
        <member><Type>Resource</Type><ResourceChange><Action>Modify</Action><LogicalResourceId>DeadLetterQueue</LogicalResourceId>\
        <ResourceType>AWS::SQS::Queue</ResourceType><Replacement>False</Replacement></ResourceChange></member></Changes>";
    let (c, http) = clients(vec![
        ok("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/rainmaker-1/abc</Id><StackId>{STACK_ID}</StackId>")),
        ok("DescribeChangeSet", &format!("<ChangeSetName>rainmaker-1</ChangeSetName><StackName>rm-acme</StackName><ExecutionStatus>AVAILABLE</ExecutionStatus><Status>CREATE_COMPLETE</Status>{changes}")),
        ok("DeleteChangeSet", ""),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let t = target(&info, &params);
    let plan = converge::plan(&c, &t, false, (Some(t.body.into()), None), &fast_wait()).await.unwrap();
    assert_eq!(plan.kind, PlanKind::Update);
    let users = &plan.changes[0];
    assert_eq!((users.replacement.as_deref(), users.stateful), (Some("True"), true));
    assert_eq!(users.description.as_deref(), Some("App users"));
    assert_eq!(users.details, ["Properties.KeySchema (requires recreation: Always)"]);
    assert!(plan.to_text().contains("REPLACE  !! stateful"), "{}", plan.to_text());

    let err = converge::execute(&c, &t, &plan, false, &fast_wait(), &Always(true), &NoProgress).await.unwrap_err();
    assert!(matches!(&err, DeployError::Refused { resources, .. } if resources == &["UsersTable"]), "{err:?}");
    assert_eq!(actions(&http), ["CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet"]);
}

#[tokio::test]
async fn an_empty_change_set_is_a_no_op() {
    let (c, http) = clients(vec![
        ok("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/rainmaker-1/abc</Id><StackId>{STACK_ID}</StackId>")),
        ok(
            "DescribeChangeSet",
            "<ChangeSetName>rainmaker-1</ChangeSetName><StackName>rm-acme</StackName><ExecutionStatus>UNAVAILABLE</ExecutionStatus>\
             <Status>FAILED</Status><StatusReason>The submitted information didn't contain changes. Submit different information to create a change set.</StatusReason><Changes/>",
        ),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let plan =
        converge::plan(&c, &target(&info, &params), false, (Some("x".into()), None), &fast_wait()).await.unwrap();
    assert_eq!(plan.kind, PlanKind::NoChanges);
    assert!(plan.change_set.is_some(), "the caller deletes it");
    assert_eq!(actions(&http), ["CreateChangeSet", "DescribeChangeSet"]);
}

#[tokio::test]
async fn a_failed_first_create_is_deleted_then_created_again() {
    let (c, http) = clients(vec![
        ok("DescribeStacks", &stack("ROLLBACK_COMPLETE", "The following resource(s) failed to create: [UsersTable]. Rollback requested by user.")),
        ok("DeleteStack", ""),
        ok("DescribeStackEvents", &format!(
            "<StackEvents><member><StackId>{STACK_ID}</StackId><EventId>UsersTable-DELETE_COMPLETE-2099-01-01T00:00:01.000Z</EventId>\
             <StackName>rm-acme</StackName><LogicalResourceId>UsersTable</LogicalResourceId><ResourceType>AWS::DynamoDB::Table</ResourceType>\
             <Timestamp>2099-01-01T00:00:01.000Z</Timestamp><ResourceStatus>DELETE_COMPLETE</ResourceStatus></member></StackEvents>"
        )),
        validation_error("Stack with id rm-acme does not exist"),
        validation_error("Stack with id rm-acme does not exist"),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let mut recovered = Vec::new();
    let live = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &NoProgress, &mut recovered)
        .await
        .unwrap();
    assert!(live.is_none(), "gone, ready for a CREATE change set");
    assert_eq!(recovered, ["deleted the stack left in ROLLBACK_COMPLETE by a failed create"]);
    assert_eq!(
        actions(&http),
        ["DescribeStacks", "DeleteStack", "DescribeStackEvents", "DescribeStacks", "DescribeStacks"]
    );

    // without consent it stops and says what to do
    let (c, _) = clients(vec![ok("DescribeStacks", &stack("ROLLBACK_COMPLETE", "failed"))]);
    let err = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(false), &NoProgress, &mut vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, DeployError::FailedCreate { .. }), "{err:?}");
}

/// A time `secs` from now (negative: in the past), formatted as the API does.
pub(super) fn at(secs: i64) -> String {
    let t = if secs >= 0 {
        SystemTime::now() + Duration::from_secs(secs as u64)
    } else {
        SystemTime::now() - Duration::from_secs(-secs as u64)
    };
    aws_smithy_types::DateTime::from(t).fmt(Format::DateTime).unwrap()
}

/// One `StackEvents` member, as DescribeStackEvents documents it.
pub(super) fn event(logical: &str, rtype: &str, status: &str, reason: Option<&str>, ts: &str, token: &str) -> String {
    event_of(("rm-acme", STACK_ID), logical, rtype, status, reason, ts, token)
}

/// [`event`] of another stack: `(stack name, stack id)`.
pub(super) fn event_of(
    (stack_name, stack_id): (&str, &str),
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
    ts: &str,
    token: &str,
) -> String {
    let physical = if rtype == "AWS::CloudFormation::Stack" {
        stack_id.to_string()
    } else {
        format!("{stack_name}-{}", logical.to_lowercase())
    };
    let reason = reason.map(|r| format!("<ResourceStatusReason>{r}</ResourceStatusReason>")).unwrap_or_default();
    format!(
        "<member><StackId>{stack_id}</StackId><EventId>{logical}-{status}-{ts}</EventId><StackName>{stack_name}</StackName>\
         <LogicalResourceId>{logical}</LogicalResourceId><PhysicalResourceId>{physical}</PhysicalResourceId>\
         <ResourceType>{rtype}</ResourceType><Timestamp>{ts}</Timestamp><ResourceStatus>{status}</ResourceStatus>{reason}\
         <ClientRequestToken>{token}</ClientRequestToken></member>"
    )
}

/// A DescribeStackEvents answer: `members` newest first, as the API returns them.
pub(super) fn events(members: &[String]) -> ReplayEvent {
    ok("DescribeStackEvents", &format!("<StackEvents>{}</StackEvents>", members.concat()))
}

/// An executed update as the waiter reads it: ExecuteChangeSet's answer, one DescribeStackEvents page (`history`),
/// then DescribeStacks with the stack in `status`.
pub(super) fn executed_update(history: &[String], status: &str) -> Vec<ReplayEvent> {
    vec![ok("ExecuteChangeSet", ""), events(history), updated_stack(status, &at(0))]
}

/// An update that Ctrl-C cancels, as the waiter reads it: executed and seen running (`running`, UPDATE_IN_PROGRESS),
/// CancelUpdateStack's answer, then its rollback (`rolled_back`) to UPDATE_ROLLBACK_COMPLETE.
pub(super) fn cancelled_update(running: &[String], rolled_back: &[String]) -> Vec<ReplayEvent> {
    let mut replies = executed_update(running, "UPDATE_IN_PROGRESS");
    replies.push(ok("CancelUpdateStack", ""));
    replies.extend([events(rolled_back), updated_stack("UPDATE_ROLLBACK_COMPLETE", &at(0))]);
    replies
}

/// GetStackPolicy answering the protecting policy of [`info`]'s data (the users table): nothing to restore first.
pub(super) fn protected_policy() -> ReplayEvent {
    let body = rainmaker_deploy::aws::policy::protecting(&["UsersTable".into()]);
    ok(
        "GetStackPolicy",
        &format!(
            "<StackPolicyBody>{}</StackPolicyBody>",
            body.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
        ),
    )
}

/// A DescribeStacks answer for a stack that was last updated at `updated`.
pub(super) fn updated_stack(status: &str, updated: &str) -> ReplayEvent {
    ok(
        "DescribeStacks",
        &format!(
            "<Stacks><member><StackName>rm-acme</StackName><StackId>{STACK_ID}</StackId>\
             <CreationTime>2026-01-05T10:00:00.000Z</CreationTime><LastUpdatedTime>{updated}</LastUpdatedTime>\
             <StackStatus>{status}</StackStatus></member></Stacks>"
        ),
    )
}

pub(super) const STACK: &str = "AWS::CloudFormation::Stack";
pub(super) const TABLE: &str = "AWS::DynamoDB::Table";
pub(super) const QUEUE: &str = "AWS::SQS::Queue";
/// Our ExecuteChangeSet token for change set rainmaker-1 (`changeset::execute_token`): the events of our update.
pub(super) const TOKEN: &str = "rainmaker-1-rm-acme";

/// A ready UPDATE change set touching the queue (nothing stateful: no refusal, no policy lift).
pub(super) fn queue_update() -> StackPlan {
    StackPlan {
        stack: "backend".into(),
        stack_name: "rm-acme".into(),
        kind: PlanKind::Update,
        changes: vec![ResourceChange {
            logical_id: "DeadLetterQueue".into(),
            resource_type: QUEUE.into(),
            action: "Modify".into(),
            replacement: Some("False".into()),
            physical_id: None,
            description: Some("Dead letters".into()),
            stateful: false,
            details: vec![],
        }],
        change_set: Some("rainmaker-1".into()),
        recovery: None,
    }
}

fn resource_events(progress: &Collect) -> Vec<(String, String, Option<String>, bool)> {
    progress
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Resource { logical_id, status, description, failed, .. } => {
                Some((logical_id.clone(), status.clone(), description.clone(), *failed))
            }
            _ => None,
        })
        .collect()
}

fn steps(progress: &Collect) -> Vec<String> {
    progress
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| if let ProgressEvent::Step { message, .. } = e { Some(message.clone()) } else { None })
        .collect()
}

#[tokio::test]
async fn resource_events_stream_with_descriptions_and_the_first_failure_is_reported() {
    let failure = "Resource handler returned message: \"Cannot update GSI's properties other than Provisioned Throughput and Contributor Insights Specification\" (RequestToken: 5ad7, HandlerErrorCode: InvalidRequest)";
    let first_page = [
        event(
            "rm-acme",
            STACK,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [UsersTable]."),
            &at(4),
            TOKEN,
        ),
        event("UsersTable", TABLE, "UPDATE_FAILED", Some(failure), &at(3), TOKEN),
        event("DeadLetterQueue", QUEUE, "UPDATE_COMPLETE", None, &at(2), TOKEN),
        event("UsersTable", TABLE, "UPDATE_IN_PROGRESS", None, &at(1), TOKEN),
        event("DeadLetterQueue", QUEUE, "UPDATE_IN_PROGRESS", None, &at(1), TOKEN),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
        // an earlier operation: not part of this one, never reported
        event("rm-acme", STACK, "CREATE_COMPLETE", None, &at(-3600), "exec-old"),
    ];
    let mut second_page = vec![
        event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(7), TOKEN),
        event("UsersTable", TABLE, "UPDATE_COMPLETE", None, &at(6), TOKEN),
    ];
    second_page.extend(first_page.iter().cloned());
    let (c, http) = clients(vec![
        protected_policy(),
        ok("ExecuteChangeSet", ""),
        events(&first_page),
        updated_stack("UPDATE_ROLLBACK_IN_PROGRESS", &at(0)),
        events(&second_page),
        updated_stack("UPDATE_ROLLBACK_COMPLETE", &at(0)),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let progress = Collect::default();
    let err =
        converge::execute(&c, &target(&info, &params), &queue_update(), false, &fast_wait(), &Always(true), &progress)
            .await
            .unwrap_err();

    // one event per resource status change, oldest first, each once, with the template's description
    let seen = resource_events(&progress);
    let expected = [
        ("rm-acme", "UPDATE_IN_PROGRESS", None, false),
        ("DeadLetterQueue", "UPDATE_IN_PROGRESS", Some("Dead letters"), false),
        ("UsersTable", "UPDATE_IN_PROGRESS", Some("App users"), false),
        ("DeadLetterQueue", "UPDATE_COMPLETE", Some("Dead letters"), false),
        ("UsersTable", "UPDATE_FAILED", Some("App users"), true),
        ("rm-acme", "UPDATE_ROLLBACK_IN_PROGRESS", None, true),
        ("UsersTable", "UPDATE_COMPLETE", Some("App users"), false),
        ("rm-acme", "UPDATE_ROLLBACK_COMPLETE", None, true),
    ];
    let expected: Vec<(String, String, Option<String>, bool)> =
        expected.iter().map(|(l, s, d, f)| (l.to_string(), s.to_string(), d.map(str::to_string), *f)).collect();
    assert_eq!(seen, expected);

    // the report names the resource that failed first and why, not the stack's generic reason
    match &err {
        DeployError::StackFailed { status, reason, .. } => {
            assert_eq!(status, "UPDATE_ROLLBACK_COMPLETE");
            assert_eq!(reason, &format!("UsersTable: {failure}"));
        }
        other => panic!("expected StackFailed, got {other:?}"),
    }
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("run `rainmaker-deploy apply` again"), "{help}");
    assert_eq!(
        actions(&http),
        [
            "GetStackPolicy",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStacks"
        ]
    );
}

#[tokio::test]
async fn a_failed_rollback_is_continued_then_the_stack_is_usable() {
    let (c, http) = clients(vec![
        ok(
            "DescribeStacks",
            &stack("UPDATE_ROLLBACK_FAILED", "The following resource(s) failed to update: [ApiFunction]."),
        ),
        ok("ContinueUpdateRollback", ""),
        events(&[
            event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(2), "continue-1"),
            event("UsersTable", TABLE, "UPDATE_COMPLETE", None, &at(1), "continue-1"),
            event("rm-acme", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", Some("User Initiated"), &at(0), "continue-1"),
        ]),
        updated_stack("UPDATE_ROLLBACK_COMPLETE", &at(0)),
        updated_stack("UPDATE_ROLLBACK_COMPLETE", &at(0)),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let (progress, mut recovered) = (Collect::default(), Vec::new());
    let live = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &progress, &mut recovered)
        .await
        .unwrap();
    let live = live.expect("the stack is still there");
    assert_eq!(stacks::status(&live), "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(stacks::classify(&stacks::status(&live)), stacks::StackState::Stable, "an update can follow");
    assert_eq!(recovered, ["continued the failed rollback to UPDATE_ROLLBACK_COMPLETE"]);
    assert!(steps(&progress).iter().any(|s| s.contains("ContinueUpdateRollback")), "{:?}", steps(&progress));
    assert_eq!(
        actions(&http),
        ["DescribeStacks", "ContinueUpdateRollback", "DescribeStackEvents", "DescribeStacks", "DescribeStacks"]
    );

    // a rollback that fails again stops with what to do
    let (c, _) = clients(vec![
        ok("DescribeStacks", &stack("UPDATE_ROLLBACK_FAILED", "failed")),
        ok("ContinueUpdateRollback", ""),
        events(&[event(
            "ApiFunction",
            "AWS::Lambda::Function",
            "UPDATE_FAILED",
            Some("Access denied"),
            &at(1),
            "continue-2",
        )]),
        updated_stack("UPDATE_ROLLBACK_FAILED", &at(0)),
    ]);
    let err = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &NoProgress, &mut vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DeployError::Stuck { status, help, .. } if status == "UPDATE_ROLLBACK_FAILED" && help.contains("resources-to-skip")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stack_held_by_another_operation_is_waited_for_then_used() {
    let console = "Console-UpdateStack-7f59c3cf-00d2-40c7-b2ff-e75db0987002";
    let started = at(-60);
    let running = [
        event("DeadLetterQueue", QUEUE, "UPDATE_IN_PROGRESS", None, &at(-50), console),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &started, console),
    ];
    let mut finished = vec![
        event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(1), console),
        event("rm-acme", STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None, &at(0), console),
        event("DeadLetterQueue", QUEUE, "UPDATE_COMPLETE", None, &at(0), console),
    ];
    finished.extend(running.iter().cloned());
    let (c, http) = clients(vec![
        updated_stack("UPDATE_IN_PROGRESS", &started),
        events(&running),
        events(&running),
        updated_stack("UPDATE_IN_PROGRESS", &started),
        events(&finished),
        updated_stack("UPDATE_COMPLETE", &started),
        updated_stack("UPDATE_COMPLETE", &started),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let (progress, mut recovered) = (Collect::default(), Vec::new());
    let live = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &progress, &mut recovered)
        .await
        .unwrap();
    assert_eq!(
        live.map(|s| stacks::status(&s)).as_deref(),
        Some("UPDATE_COMPLETE"),
        "then apply goes on from a stable stack"
    );

    // it said who holds the stack and since when, and streamed that operation's events from its start
    let said = steps(&progress);
    assert!(
        said.iter()
            .any(|s| s.contains("UPDATE_IN_PROGRESS since") && s.contains(console) && s.contains("another operation")),
        "{said:?}"
    );
    assert_eq!(recovered.len(), 1);
    assert!(recovered[0].contains(console) && recovered[0].ends_with("to end in UPDATE_COMPLETE"), "{recovered:?}");
    let statuses: Vec<String> = resource_events(&progress).into_iter().map(|(l, s, _, _)| format!("{l} {s}")).collect();
    assert_eq!(
        statuses,
        [
            "rm-acme UPDATE_IN_PROGRESS",
            "DeadLetterQueue UPDATE_IN_PROGRESS",
            "DeadLetterQueue UPDATE_COMPLETE",
            "rm-acme UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "rm-acme UPDATE_COMPLETE"
        ]
    );
    assert_eq!(
        actions(&http),
        [
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStacks"
        ]
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_standard_strategy() {
    let throttled = reply(
        400,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>\
             </Error><RequestId>5ad7e5d8-0000-4b6c-8e9f-example</RequestId></ErrorResponse>"
        ),
    );
    let (c, http) = clients(vec![throttled, ok("DescribeStacks", &stack("CREATE_COMPLETE", ""))]);
    let live = stacks::describe(&c.cfn, "rm-acme").await.expect("retried after the throttling error");
    assert_eq!(live.map(|s| stacks::status(&s)).as_deref(), Some("CREATE_COMPLETE"));

    // two HTTP requests for one call: the second is the standard strategy's retry (attempt 2 of at most 8)
    let attempts: Vec<String> =
        http.actual_requests().map(|r| r.headers().get("amz-sdk-request").unwrap_or_default().to_string()).collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts[0].starts_with("attempt=1;") && attempts[1].starts_with("attempt=2;"), "{attempts:?}");
    assert!(attempts.iter().all(|a| a.ends_with("max=8")), "standard retries, 8 attempts: {attempts:?}");
    assert_eq!(actions(&http), ["DescribeStacks", "DescribeStacks"]);
    // and the report counts the call once
    assert_eq!(c.calls.summary().by_operation.get("CloudFormation.DescribeStacks"), Some(&1));
    let standard = rainmaker_deploy::aws::sdk::retry_config();
    assert_eq!((standard.mode(), standard.max_attempts()), (aws_config::retry::RetryMode::Standard, 8));
}

/// A progress sink that presses Ctrl-C when it sees the first resource event of the update.
pub(super) struct CtrlCOnFirstEvent(pub(super) Collect, pub(super) Canceller);

impl Progress for CtrlCOnFirstEvent {
    fn report(&self, event: ProgressEvent) {
        if matches!(event, ProgressEvent::Resource { .. }) {
            self.1.cancel();
        }
        self.0.report(event);
    }
}

#[tokio::test]
async fn ctrl_c_during_an_update_cancels_it_and_it_rolls_back() {
    let (canceller, signal) = cancel_pair();
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let running = [
        event("DeadLetterQueue", QUEUE, "UPDATE_IN_PROGRESS", None, &at(1), TOKEN),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
    ];
    let mut rolled_back = vec![
        event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(5), TOKEN),
        event("DeadLetterQueue", QUEUE, "UPDATE_COMPLETE", None, &at(4), TOKEN),
        event("rm-acme", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", Some("Stack update cancelled"), &at(3), TOKEN),
        event("DeadLetterQueue", QUEUE, "UPDATE_FAILED", Some("Resource update cancelled"), &at(2), TOKEN),
    ];
    rolled_back.extend(running.iter().cloned());
    let mut replies = vec![protected_policy()];
    replies.extend(cancelled_update(&running, &rolled_back));
    let (c, http) = clients(replies);
    let (info, params) = (info(), BTreeMap::new());
    let progress = CtrlCOnFirstEvent(Collect::default(), canceller);
    let err = converge::execute(&c, &target(&info, &params), &queue_update(), false, &wait, &Always(true), &progress)
        .await
        .unwrap_err();
    assert!(matches!(&err, DeployError::Cancelled { status, .. } if status == "UPDATE_ROLLBACK_COMPLETE"), "{err:?}");
    assert_eq!(
        actions(&http),
        [
            "GetStackPolicy",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks",
            "CancelUpdateStack",
            "DescribeStackEvents",
            "DescribeStacks"
        ]
    );
    assert!(steps(&progress.0).iter().any(|s| s.contains("CancelUpdateStack")), "{:?}", steps(&progress.0));
}

#[tokio::test]
async fn ctrl_c_before_execution_deletes_the_change_set_and_changes_nothing() {
    let (canceller, signal) = cancel_pair();
    canceller.cancel();
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let (c, http) = clients(vec![ok("DeleteChangeSet", "")]);
    let (info, params) = (info(), BTreeMap::new());
    let err = converge::execute(&c, &target(&info, &params), &queue_update(), false, &wait, &Always(true), &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(&err, DeployError::Declined { reason } if reason.contains("cancelled")), "{err:?}");
    assert_eq!(actions(&http), ["DeleteChangeSet"]);
}

#[tokio::test]
async fn plan_on_a_stack_in_a_bad_state_shows_the_recovery_apply_would_do() {
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    let (c, http) = clients(vec![]);
    let (info, params) = (info(), BTreeMap::new());
    let t = target(&info, &params);
    let live = |status: &str| {
        Some(
            Stack::builder()
                .stack_name("rm-acme")
                .stack_status(StackStatus::from(status))
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build(),
        )
    };

    // a failed first create: apply deletes it and creates every resource again
    let plan = rainmaker_deploy::aws::deploy::plan_one(
        &c,
        &t,
        live("ROLLBACK_COMPLETE"),
        None,
        "us-east-1",
        &fast_wait(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(plan.kind, PlanKind::Create);
    assert_eq!(plan.changes.len(), 2);
    assert!(plan.recovery.as_deref().unwrap().starts_with("delete the stack left in ROLLBACK_COMPLETE"), "{plan:?}");
    let text = plan.to_text();
    assert!(text.contains("create, 2 resources") && text.contains("first:  delete the stack"), "{text}");

    // a failed rollback: continued first; the diff is known only after it
    let plan = rainmaker_deploy::aws::deploy::plan_one(
        &c,
        &t,
        live("UPDATE_ROLLBACK_FAILED"),
        None,
        "us-east-1",
        &fast_wait(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((plan.kind, plan.changes.len()), (PlanKind::Update, 0));
    assert!(plan.recovery.as_deref().unwrap().contains("ContinueUpdateRollback"), "{plan:?}");
    assert!(plan.to_text().contains("known once the recovery is done"), "{}", plan.to_text());
    let json = serde_json::to_value(&plan).unwrap();
    assert!(json["recovery"].as_str().unwrap().contains("ContinueUpdateRollback"), "{json}");

    // planning makes no call and no change set for either
    assert_eq!(actions(&http), Vec::<String>::new());
}

#[tokio::test]
async fn a_template_over_the_inline_limit_goes_through_the_artifacts_bucket() {
    let put = ReplayEvent::new(
        http::Request::builder()
            .uri("https://rm-acme-artifacts.s3.us-east-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(200)
            .header("ETag", "\"9b2cf535f27731c974343645a3985328\"")
            .body(SdkBody::empty())
            .unwrap(),
    );
    let (c, http) = clients(vec![put]);
    let (info, params) = (info(), BTreeMap::new());
    let big = format!("Description: padded\nResources: {{}}\n#{}\n", "x".repeat(converge::MAX_TEMPLATE_BODY));
    let t = Target { body: &big, ..target(&info, &params) };
    let (body, url) = converge::template_source(&c, &t, Some("rm-acme-artifacts"), "us-east-1").await.unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(big.as_bytes()));
    assert_eq!(body, None, "not inline");
    assert_eq!(
        url.as_deref(),
        Some(format!("https://s3.us-east-1.amazonaws.com/rm-acme-artifacts/templates/backend/{sha}.yaml").as_str())
    );
    let reqs: Vec<_> = http.actual_requests().collect();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method(), "PUT");
    assert!(
        reqs[0].uri().contains(&format!("rm-acme-artifacts.s3.us-east-1.amazonaws.com/templates/backend/{sha}.yaml")),
        "{}",
        reqs[0].uri()
    );
    assert_eq!(reqs[0].body().bytes().map(<[u8]>::len), Some(big.len()), "the whole template is uploaded");

    // a small one stays inline and costs no call
    let (c, http) = clients(vec![]);
    let (body, url) =
        converge::template_source(&c, &target(&info, &params), Some("rm-acme-artifacts"), "us-east-1").await.unwrap();
    assert_eq!((body.as_deref(), url), (Some("Resources: {}"), None));
    assert_eq!(http.actual_requests().count(), 0);

    // and without a bucket a big one is an error that says why
    let err = converge::template_source(&c, &t, None, "us-east-1").await.unwrap_err();
    assert!(err.to_string().contains("51,200"), "{err}");
}
