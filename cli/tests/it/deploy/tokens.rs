//! Our operations carry tokens and a cancel touches only those: CreateChangeSet has a `ClientToken` (an SDK retry
//! cannot make a second change set), ExecuteChangeSet a `ClientRequestToken` per run and stack, and Ctrl-C sends
//! CancelUpdateStack only when the running update's events carry our token. Replayed from responses shaped like
//! the CloudFormation API reference; the requests are read back field by field.

use super::fixtures::fast_wait;
use super::replay::{actions, at, clients, event, events, info, ok, target, updated_stack, CtrlCOnFirstEvent};
use super::replay::{QUEUE, STACK, STACK_ID};
use aws_smithy_runtime::client::http::test_util::StaticReplayClient;
use rainmaker_deploy::aws::changeset::execute_token;
use rainmaker_deploy::aws::converge;
use rainmaker_deploy::aws::events::{cancel_pair, WaitOptions};
use rainmaker_deploy::aws::progress::{Always, Collect};
use rainmaker_deploy::aws::DeployError;
use std::collections::BTreeMap;

/// The form fields of the `n`th request (`%XX` decoded).
fn fields(http: &StaticReplayClient, n: usize) -> BTreeMap<String, String> {
    let r = http.actual_requests().nth(n).expect("that many requests");
    let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (super::policy::form_decode(k), super::policy::form_decode(v)))
        .collect()
}

#[tokio::test]
async fn change_sets_are_created_with_a_client_token_and_executed_with_our_request_token() {
    let changes = "<Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action>\
        <LogicalResourceId>DeadLetterQueue</LogicalResourceId><ResourceType>AWS::SQS::Queue</ResourceType>\
        <Replacement>False</Replacement></ResourceChange></member></Changes>";
    let (c, http) = clients(vec![
        ok("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/rainmaker-1/abc</Id><StackId>{STACK_ID}</StackId>")),
        ok("DescribeChangeSet", &format!("<ChangeSetName>rainmaker-1</ChangeSetName><StackName>rm-acme</StackName><ExecutionStatus>AVAILABLE</ExecutionStatus><Status>CREATE_COMPLETE</Status>{changes}")),
        super::replay::protected_policy(),
        ok("ExecuteChangeSet", ""),
        events(&[
            event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(2), &execute_token("rainmaker-1", "rm-acme")),
            event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), &execute_token("rainmaker-1", "rm-acme")),
        ]),
        updated_stack("UPDATE_COMPLETE", &at(0)),
        ok("SetStackPolicy", ""),
    ]);
    let info = info();
    let params: BTreeMap<String, String> =
        [("ApiCodeKey", "lambdas/api/ab.zip"), ("ApiCodeVersion", "v-1")].map(|(k, v)| (k.into(), v.into())).into();
    let mut t = target(&info, &params);
    t.tags = [("rainmaker:tenant".to_string(), "acme".to_string())].into();
    let plan = converge::plan(&c, &t, false, (Some(t.body.to_string()), None), &fast_wait()).await.unwrap();
    converge::execute(&c, &t, &plan, false, &fast_wait(), &Always(true), &Collect::default()).await.unwrap();

    let create = fields(&http, 0);
    let name = plan.change_set.clone().unwrap();
    assert_eq!(create["Action"], "CreateChangeSet");
    assert_eq!(create["StackName"], "rm-acme");
    assert_eq!(create["ChangeSetName"], name);
    assert_eq!(create["ClientToken"], name, "the SDK's retries of this call reuse the token: {create:?}");
    assert_eq!(create["ChangeSetType"], "UPDATE");
    assert_eq!(create["Capabilities.member.1"], "CAPABILITY_IAM");
    assert_eq!(create["TemplateBody"], "Resources: {}");
    assert_eq!(
        (create["Parameters.member.1.ParameterKey"].as_str(), create["Parameters.member.1.ParameterValue"].as_str()),
        ("ApiCodeKey", "lambdas/api/ab.zip")
    );
    assert_eq!(
        (create["Parameters.member.2.ParameterKey"].as_str(), create["Parameters.member.2.ParameterValue"].as_str()),
        ("ApiCodeVersion", "v-1")
    );
    // the target's tags plus the hash of what is deployed (template text and parameters), which a later no-op
    // apply compares instead of fetching the template
    let hash = converge::deployed_hash("Resources: {}", &params);
    assert_eq!(
        (create["Tags.member.1.Key"].as_str(), create["Tags.member.1.Value"].as_str()),
        ("rainmaker:template-sha256", hash.as_str())
    );
    assert_eq!(hash.len(), 64);
    assert_eq!(
        (create["Tags.member.2.Key"].as_str(), create["Tags.member.2.Value"].as_str()),
        ("rainmaker:tenant", "acme")
    );
    assert_eq!(
        (fields(&http, 2)["Action"].as_str(), fields(&http, 2)["StackName"].as_str()),
        ("GetStackPolicy", "rm-acme")
    );
    let exec = fields(&http, 3);
    assert_eq!(exec["Action"], "ExecuteChangeSet");
    assert_eq!((exec["StackName"].as_str(), exec["ChangeSetName"].as_str()), ("rm-acme", name.as_str()));
    assert_eq!(exec["ClientRequestToken"], execute_token(&name, "rm-acme"));
    assert!(exec["ClientRequestToken"].starts_with("rainmaker-") && exec["ClientRequestToken"].ends_with("-rm-acme"));
}

#[tokio::test]
async fn ctrl_c_while_another_operators_update_runs_sends_no_cancel_update_stack() {
    let (canceller, signal) = cancel_pair();
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let console = "Console-UpdateStack-7f59c3cf-00d2-40c7-b2ff-e75db0987002";
    let started = at(-60);
    let running = [
        event("DeadLetterQueue", QUEUE, "UPDATE_IN_PROGRESS", None, &at(-50), console),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &started, console),
    ];
    let (c, http) = clients(vec![
        updated_stack("UPDATE_IN_PROGRESS", &started),
        events(&running),
        events(&running),
        updated_stack("UPDATE_IN_PROGRESS", &started),
        // what a CancelUpdateStack would get, were one sent
        ok("CancelUpdateStack", ""),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let progress = CtrlCOnFirstEvent(Collect::default(), canceller);
    let mut recovered = Vec::new();
    let err = converge::recover(&c, &target(&info, &params), &wait, &Always(true), &progress, &mut recovered)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DeployError::Declined { reason } if reason.contains(console) && reason.contains("left running")),
        "{err:?}"
    );
    let acts = actions(&http);
    assert!(!acts.iter().any(|a| a == "CancelUpdateStack"), "another operator's update was cancelled: {acts:?}");
    assert_eq!(acts, ["DescribeStacks", "DescribeStackEvents", "DescribeStackEvents", "DescribeStacks"]);
}

#[tokio::test]
async fn ctrl_c_during_our_own_update_cancels_it_with_the_stack_named() {
    let (canceller, signal) = cancel_pair();
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let ours = execute_token("rainmaker-1", "rm-acme");
    let running = [
        event("DeadLetterQueue", QUEUE, "UPDATE_IN_PROGRESS", None, &at(1), &ours),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), &ours),
    ];
    let mut rolled_back = vec![
        event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(5), &ours),
        event("rm-acme", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", Some("Stack update cancelled"), &at(3), &ours),
    ];
    rolled_back.extend(running.iter().cloned());
    let mut replies = vec![super::replay::protected_policy()];
    replies.extend(super::replay::cancelled_update(&running, &rolled_back));
    let (c, http) = clients(replies);
    let (info, params) = (info(), BTreeMap::new());
    let progress = CtrlCOnFirstEvent(Collect::default(), canceller);
    let plan = super::replay::queue_update();
    let err = converge::execute(&c, &target(&info, &params), &plan, false, &wait, &Always(true), &progress)
        .await
        .unwrap_err();
    assert!(matches!(&err, DeployError::Cancelled { .. }), "{err:?}");
    assert_eq!(fields(&http, 1)["ClientRequestToken"], ours);
    let cancel = fields(&http, 4);
    assert_eq!((cancel["Action"].as_str(), cancel["StackName"].as_str()), ("CancelUpdateStack", "rm-acme"));
}
