//! Bounded waits: `--timeout` (default 60 min, `90m` / `1h30m` / `45s`), the change-set creation loop bounded by
//! it and stopped by Ctrl-C, and an executed change set whose stack shows no event is reported as not started
//! instead of waited on. Replayed from responses shaped like the CloudFormation API reference.

use super::fixtures::fast_wait;
use super::replay::{actions, at, clients, event, events, info, ok, target, updated_stack, QUEUE, STACK, STACK_ID};
use crate::support::{run, tempdir};
use rainmaker_deploy::aws::converge;
use rainmaker_deploy::aws::events::{cancel_pair, WaitOptions};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::DeployError;
use std::collections::BTreeMap;
use std::time::Duration;

fn pending_change_set(status: &str) -> Vec<aws_smithy_runtime::client::http::test_util::ReplayEvent> {
    vec![
        ok("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/rainmaker-1/abc</Id><StackId>{STACK_ID}</StackId>")),
        ok("DescribeChangeSet", &format!("<ChangeSetName>rainmaker-1</ChangeSetName><StackName>rm-acme</StackName><ExecutionStatus>UNAVAILABLE</ExecutionStatus><Status>{status}</Status>")),
    ]
}

#[tokio::test]
async fn the_change_set_creation_loop_ends_at_the_timeout() {
    let (c, http) = clients(pending_change_set("CREATE_PENDING"));
    let (info, params) = (info(), BTreeMap::new());
    let t = target(&info, &params);
    let wait = WaitOptions { timeout: Duration::ZERO, ..fast_wait() };
    let err = converge::plan(&c, &t, false, (Some(t.body.to_string()), None), &wait).await.unwrap_err();
    assert!(matches!(&err, DeployError::Stuck { status, .. } if status == "change set CREATE_PENDING"), "{err:?}");
    assert!(miette::Diagnostic::help(&err).unwrap().to_string().contains("--timeout"), "{err:?}");
    assert_eq!(actions(&http), ["CreateChangeSet", "DescribeChangeSet"]);
}

#[tokio::test]
async fn ctrl_c_while_the_change_set_is_created_stops_before_anything_executes() {
    let (canceller, signal) = cancel_pair();
    canceller.cancel();
    let (c, http) = clients(pending_change_set("CREATE_IN_PROGRESS"));
    let (info, params) = (info(), BTreeMap::new());
    let t = target(&info, &params);
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let err = converge::plan(&c, &t, false, (Some(t.body.to_string()), None), &wait).await.unwrap_err();
    assert!(matches!(&err, DeployError::Declined { reason } if reason.contains("never executed")), "{err:?}");
    assert_eq!(actions(&http), ["CreateChangeSet", "DescribeChangeSet"]);
}

#[tokio::test]
async fn a_stack_that_does_not_start_moving_after_execute_is_reported() {
    // the only events are an hour old, and the stack still says UPDATE_COMPLETE from then
    let old = [event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(-3600), "earlier-run")];
    let (c, http) = clients(vec![
        super::replay::protected_policy(),
        ok("ExecuteChangeSet", ""),
        events(&old),
        updated_stack("UPDATE_COMPLETE", &at(-3600)),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let wait = WaitOptions { start_timeout: Duration::ZERO, ..fast_wait() };
    let plan = super::replay::queue_update();
    let err = converge::execute(&c, &target(&info, &params), &plan, false, &wait, &Always(true), &NoProgress)
        .await
        .unwrap_err();
    let help = miette::Diagnostic::help(&err).map(|h| h.to_string()).unwrap_or_default();
    assert!(matches!(&err, DeployError::Stuck { status, .. } if status == "UPDATE_COMPLETE"), "{err:?}");
    assert!(help.contains("did not start"), "{help}");
    assert_eq!(actions(&http), ["GetStackPolicy", "ExecuteChangeSet", "DescribeStackEvents", "DescribeStacks"]);
    let _ = QUEUE;
}

#[test]
fn a_bad_timeout_is_refused_naming_the_flag_and_the_forms() {
    let dir = tempdir();
    for command in ["apply", "destroy"] {
        let out = run(dir.path(), &[command, "--yes", "--timeout", "90"]);
        assert_eq!(out.code, 2, "{}", out.transcript());
        let text = out.transcript();
        assert!(text.contains("--timeout") && text.contains("90m, 1h30m or 45s"), "{text}");
    }
}

/// A change set that was never executed leaves only the REVIEW_IN_PROGRESS event: that empty stack is deleted
/// (with our DeleteStack token) and the stack is missing, ready for a CREATE change set.
#[tokio::test]
async fn a_stack_in_review_with_no_execution_is_deleted() {
    let created = at(-30);
    let (c, http) = clients(vec![
        updated_stack("REVIEW_IN_PROGRESS", &created),
        ok("DeleteStack", ""),
        events(&[event("rm-acme", STACK, "DELETE_COMPLETE", None, &at(1), "rainmaker-1-delete-rm-acme")]),
        super::replay::validation_error("Stack with id rm-acme does not exist"),
        super::replay::validation_error("Stack with id rm-acme does not exist"),
    ]);
    let (info, params) = (info(), BTreeMap::new());
    let mut recovered = Vec::new();
    let live = converge::recover(&c, &target(&info, &params), &fast_wait(), &Always(true), &NoProgress, &mut recovered)
        .await
        .unwrap();
    assert!(live.is_none());
    assert_eq!(recovered, ["deleted the empty stack left in REVIEW_IN_PROGRESS by an unexecuted change set"]);
    assert_eq!(
        actions(&http),
        ["DescribeStacks", "DeleteStack", "DescribeStackEvents", "DescribeStacks", "DescribeStacks"]
    );
}
