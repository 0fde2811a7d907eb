//! Recoveries that end in adopting kept data, replayed like [`super::adopt_replay`]: a failed first create whose
//! retained table survived the rollback (the stack is deleted, the table imported, never recreated), and an
//! IMPORT that created the stack and rolled back (the empty stack is deleted for the next import).

use super::adopt_replay::{change_set_created, change_set_ready, form, sent, table_answer};
use super::fixtures::fast_wait;
use super::replay::{at, backend_target, clients, event, events, ok, updated_stack, validation_error, STACK, STACK_ID};
use rainmaker_deploy::aws::adopt::run;
use rainmaker_deploy::aws::converge;
use rainmaker_deploy::aws::plan::TemplateInfo;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use serde_json::{json, Value};

#[tokio::test]
async fn a_failed_first_create_with_its_retained_table_left_is_deleted_then_the_table_imported() {
    let table = json!({"TableName": "rm-acme-users",
        "AttributeDefinitions": [{"AttributeName": "user_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}]});
    let backend = json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "UsersTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Metadata": {"Description": "App users", "DataClass": "user-data"}, "Properties": table},
        "ApiFunction": {"Type": "AWS::Lambda::Function", "Properties": {}}
    }});
    let body = backend.to_string();
    let info = TemplateInfo::from_template(&backend);
    let reason = "The following resource(s) failed to create: [ApiFunction]. Rollback requested by user.";
    let (c, http) = clients(vec![
        ok(
            "DescribeStacks",
            &format!(
                "<Stacks><member><StackName>rm-acme</StackName><StackId>{STACK_ID}</StackId>\
                 <CreationTime>2026-01-05T10:00:00.000Z</CreationTime><StackStatus>ROLLBACK_COMPLETE</StackStatus>\
                 <StackStatusReason>{reason}</StackStatusReason></member></Stacks>"
            ),
        ),
        ok("DeleteStack", ""),
        events(&[event("rm-acme", STACK, "DELETE_COMPLETE", None, &at(1), "ours")]),
        validation_error("Stack with id rm-acme does not exist"),
        validation_error("Stack with id rm-acme does not exist"),
        // the table the rollback retained (DELETE_SKIPPED) is still there
        table_answer(&table),
        change_set_created("rainmaker-import"),
        change_set_ready(&[("Import", "UsersTable", "AWS::DynamoDB::Table")]),
        ok("ExecuteChangeSet", ""),
        events(&[
            event("rm-acme", STACK, "IMPORT_COMPLETE", None, &at(4), "ours"),
            event("rm-acme", STACK, "IMPORT_IN_PROGRESS", Some("User Initiated"), &at(3), "ours"),
        ]),
        updated_stack("IMPORT_COMPLETE", &at(3)),
        ok("SetStackPolicy", ""),
    ]);
    let t = backend_target(&body, &info);
    let mut recovered = Vec::new();
    let live = converge::recover(&c, &t, &fast_wait(), &Always(true), &NoProgress, &mut recovered).await.unwrap();
    assert!(live.is_none());
    assert_eq!(recovered, ["deleted the stack left in ROLLBACK_COMPLETE by a failed create"]);
    let imports = run::check(&c, "rm-acme", &backend).await.unwrap();
    let live = run::import(&c, &t, &backend, &imports, &fast_wait(), &Always(true), &NoProgress).await.unwrap();
    assert_eq!(rainmaker_deploy::aws::stack::status(&live), "IMPORT_COMPLETE");

    let sent = sent(&http);
    let ops: Vec<&str> = sent.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "DescribeStacks",
            "DeleteStack",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStacks",
            "DynamoDB_20120810.DescribeTable",
            "CreateChangeSet",
            "DescribeChangeSet",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks",
            "SetStackPolicy",
        ],
        "the retained table is never deleted or created again"
    );
    let create = form(&sent[6].body);
    assert_eq!(create["ChangeSetType"], "IMPORT");
    assert_eq!(create["ResourcesToImport.member.1.LogicalResourceId"], "UsersTable");
    assert_eq!(create["ResourcesToImport.member.1.ResourceIdentifier.entry.1.value"], "rm-acme-users");
    let import_body: Value = serde_json::from_str(&create["TemplateBody"]).unwrap();
    assert_eq!(import_body["Resources"].as_object().unwrap().keys().collect::<Vec<_>>(), ["UsersTable"]);
}

#[tokio::test]
async fn an_import_that_created_the_stack_and_rolled_back_leaves_an_empty_stack_that_is_deleted_for_the_next_import() {
    let backend = json!({"Resources": {}});
    let info = TemplateInfo::from_template(&backend);
    let t = backend_target("{}", &info);
    let (c, http) = clients(vec![
        updated_stack("IMPORT_ROLLBACK_COMPLETE", &at(-60)),
        ok("DescribeStackResources", "<StackResources/>"),
        ok("DeleteStack", ""),
        events(&[event("rm-acme", STACK, "DELETE_COMPLETE", None, &at(1), "ours")]),
        validation_error("Stack with id rm-acme does not exist"),
        validation_error("Stack with id rm-acme does not exist"),
    ]);
    let mut recovered = Vec::new();
    let live = converge::recover(&c, &t, &fast_wait(), &Always(true), &NoProgress, &mut recovered).await.unwrap();
    assert!(live.is_none(), "gone: the next step imports the kept resources again");
    assert_eq!(recovered, ["deleted the stack left in IMPORT_ROLLBACK_COMPLETE by a failed create"]);
    let ops: Vec<String> = sent(&http).into_iter().map(|s| s.op).collect();
    assert_eq!(
        ops,
        [
            "DescribeStacks",
            "DescribeStackResources",
            "DeleteStack",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStacks"
        ]
    );

    // a stack that holds resources after an import rolled back is a stable stack, updated as it is
    let (c, http) = clients(vec![
        updated_stack("IMPORT_ROLLBACK_COMPLETE", &at(-60)),
        ok(
            "DescribeStackResources",
            &format!(
                "<StackResources><member><StackName>rm-acme</StackName><StackId>{STACK_ID}</StackId>\
                 <LogicalResourceId>UsersTable</LogicalResourceId><PhysicalResourceId>rm-acme-users</PhysicalResourceId>\
                 <ResourceType>AWS::DynamoDB::Table</ResourceType><Timestamp>2026-01-05T10:00:00.000Z</Timestamp>\
                 <ResourceStatus>IMPORT_COMPLETE</ResourceStatus></member></StackResources>"
            ),
        ),
    ]);
    let live = converge::recover(&c, &t, &fast_wait(), &Always(true), &NoProgress, &mut vec![]).await.unwrap();
    assert_eq!(live.map(|s| rainmaker_deploy::aws::stack::status(&s)).as_deref(), Some("IMPORT_ROLLBACK_COMPLETE"));
    assert_eq!(sent(&http).len(), 2);
}

#[tokio::test]
async fn plan_shows_an_empty_stack_left_by_a_failed_import_as_deleted_then_created() {
    let backend = json!({"Resources": {"UsersTable": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Description": "App users"}}}});
    let info = TemplateInfo::from_template(&backend);
    let t = backend_target("{}", &info);
    let (c, http) = clients(vec![ok("DescribeStackResources", "<StackResources/>")]);
    let live = rainmaker_deploy::aws::stack::describe(
        &clients(vec![updated_stack("IMPORT_ROLLBACK_COMPLETE", &at(-60))]).0.cfn,
        "rm-acme",
    )
    .await
    .unwrap();
    let plan = rainmaker_deploy::aws::deploy::plan_one(&c, &t, live, None, "us-east-1", &fast_wait(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(plan.kind, rainmaker_deploy::aws::plan::PlanKind::Create, "{plan:?}");
    assert!(plan.recovery.as_deref().is_some_and(|r| r.contains("failed import")), "{plan:?}");
    assert_eq!(sent(&http).into_iter().map(|s| s.op).collect::<Vec<_>>(), ["DescribeStackResources"], "no change set");
}
