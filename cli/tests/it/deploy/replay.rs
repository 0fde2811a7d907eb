//! Real-AWS behaviour moto does not produce, replayed from responses shaped like the CloudFormation API reference:
//! `Replacement: True` on a table (refused, change set deleted), an empty change set ("didn't contain changes"),
//! and a failed first create left in `ROLLBACK_COMPLETE` (deleted, then created again).

use super::fixtures::fast_wait;
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::converge::{self, Target};
use rainmaker_deploy::aws::plan::{PlanKind, TemplateInfo};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Clients;
use rainmaker_deploy::aws::DeployError;
use std::collections::BTreeMap;

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/rm-acme/1a2345b6-0000-00a0-a123-00abc0abc000";

/// One replayed exchange: any request, this status and body.
fn reply(status: u16, body: String) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://cloudformation.us-east-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder().status(status).body(SdkBody::from(body)).unwrap(),
    )
}

fn ok(action: &str, result: &str) -> ReplayEvent {
    reply(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

fn validation_error(message: &str) -> ReplayEvent {
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

fn clients(events: Vec<ReplayEvent>) -> (Clients, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let sdk = aws_config::SdkConfig::builder()
        .http_client(http.clone())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::SharedCredentialsProvider::new(
            aws_sdk_cloudformation::config::Credentials::new("AKID", "SECRET", None, None, "replay"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    (Clients::new(&sdk), http)
}

/// The `Action=` of every request made, in order.
fn actions(http: &StaticReplayClient) -> Vec<String> {
    http.actual_requests()
        .map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
            body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or_default().to_string()
        })
        .collect()
}

fn info() -> TemplateInfo {
    TemplateInfo::from_template(&serde_json::json!({"Resources": {
        "UsersTable": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Description": "App users", "DataClass": "user-data"}},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Metadata": {"Description": "Dead letters"}}
    }}))
}

fn target<'a>(info: &'a TemplateInfo, params: &'a BTreeMap<String, String>) -> Target<'a> {
    Target { stack: "backend", stack_name: "rm-acme", body: "Resources: {}", info, parameters: params.clone(), tags: BTreeMap::new() }
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
    let plan = converge::plan(&c, &target(&info, &params), false, (Some("x".into()), None), &fast_wait()).await.unwrap();
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
    let live = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &NoProgress, &mut recovered).await.unwrap();
    assert!(live.is_none(), "gone, ready for a CREATE change set");
    assert_eq!(recovered, ["deleted the stack left in ROLLBACK_COMPLETE by a failed create"]);
    assert_eq!(actions(&http), ["DescribeStacks", "DeleteStack", "DescribeStackEvents", "DescribeStacks", "DescribeStacks"]);

    // without consent it stops and says what to do
    let (c, _) = clients(vec![ok("DescribeStacks", &stack("ROLLBACK_COMPLETE", "failed"))]);
    let err = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(false), &NoProgress, &mut vec![]).await.unwrap_err();
    assert!(matches!(err, DeployError::FailedCreate { .. }), "{err:?}");
}
