//! `--allow-replace` lifts the stack policy for one update; it is set back on every path the update can take:
//! success, a failed ExecuteChangeSet, a rollback, Ctrl-C (CancelUpdateStack) and a timeout. Replayed from
//! responses shaped like the CloudFormation API reference; each test reads the SetStackPolicy request bodies.

use super::fixtures::fast_wait;
use super::replay::{
    actions, at, cancelled_update, clients, event, executed_update, info, ok, target, CtrlCOnFirstEvent,
};
use super::replay::{STACK, TABLE, TOKEN};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use rainmaker_deploy::aws::converge;
use rainmaker_deploy::aws::events::{cancel_pair, WaitOptions};
use rainmaker_deploy::aws::plan::{PlanKind, ResourceChange, StackPlan};
use rainmaker_deploy::aws::progress::{Always, Collect, NoProgress};
use rainmaker_deploy::aws::{policy, DeployError, Progress};
use std::collections::BTreeMap;
use std::time::Duration;

/// An UPDATE change set that replaces the users table (blocked unless `--allow-replace`).
fn table_replacement() -> StackPlan {
    StackPlan {
        stack: "backend".into(),
        stack_name: "rm-acme".into(),
        kind: PlanKind::Update,
        changes: vec![ResourceChange {
            logical_id: "UsersTable".into(),
            resource_type: TABLE.into(),
            action: "Modify".into(),
            replacement: Some("True".into()),
            physical_id: Some("rm-acme-users".into()),
            description: Some("App users".into()),
            stateful: true,
            details: vec![],
        }],
        change_set: Some("rainmaker-1".into()),
        recovery: None,
    }
}

/// `%XX` and `+` of a form-encoded value.
pub(super) fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The StackName and StackPolicyBody (parsed) of every SetStackPolicy request, in order.
fn policies_set(http: &StaticReplayClient) -> Vec<(String, serde_json::Value)> {
    http.actual_requests()
        .filter_map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
            let field = |k: &str| {
                body.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}="))).map(form_decode).unwrap_or_default()
            };
            (field("Action") == "SetStackPolicy")
                .then(|| (field("StackName"), serde_json::from_str(&field("StackPolicyBody")).unwrap()))
        })
        .collect()
}

/// Lifted first, restored last, both on rm-acme: the restored policy denies replacing or deleting the table.
fn assert_lifted_then_restored(http: &StaticReplayClient) {
    let set = policies_set(http);
    let protecting: serde_json::Value = serde_json::from_str(&policy::protecting(&["UsersTable".into()])).unwrap();
    let allow_all: serde_json::Value = serde_json::from_str(&policy::allow_all()).unwrap();
    assert_eq!(set, [("rm-acme".to_string(), allow_all), ("rm-acme".to_string(), protecting.clone())]);
    assert_eq!(protecting["Statement"][1]["Resource"][0], "LogicalResourceId/UsersTable");
    let acts = actions(http);
    assert_eq!(acts[..2], ["GetStackPolicy", "SetStackPolicy"], "read, then lifted: {acts:?}");
    assert_eq!(acts.last().map(String::as_str), Some("SetStackPolicy"), "{acts:?}");
}

/// `replies` between the policy lifted (SetStackPolicy) and restored (SetStackPolicy).
fn lifted(replies: Vec<ReplayEvent>) -> Vec<ReplayEvent> {
    let mut all = vec![ok("SetStackPolicy", "")];
    all.extend(replies);
    all.push(ok("SetStackPolicy", ""));
    all
}

async fn run(
    replies: Vec<ReplayEvent>,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> (Result<aws_sdk_cloudformation::types::Stack, DeployError>, StaticReplayClient) {
    let mut replies = replies;
    replies.insert(0, super::replay::protected_policy());
    let (c, http) = clients(replies);
    let (info, params) = (info(), BTreeMap::new());
    let out =
        converge::execute(&c, &target(&info, &params), &table_replacement(), true, wait, &Always(true), progress).await;
    (out, http)
}

#[tokio::test]
async fn allow_replace_restores_the_policy_after_a_successful_update() {
    let done = [
        event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(3), TOKEN),
        event("UsersTable", TABLE, "UPDATE_COMPLETE", None, &at(2), TOKEN),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
    ];
    let (out, http) = run(lifted(executed_update(&done, "UPDATE_COMPLETE")), &fast_wait(), &NoProgress).await;
    out.expect("the update succeeded");
    assert_lifted_then_restored(&http);
}

#[tokio::test]
async fn allow_replace_restores_the_policy_when_execute_change_set_fails() {
    let obsolete = super::replay::validation_error(
        "ChangeSet [arn:aws:cloudformation:us-east-1:123456789012:changeSet/rainmaker-1/abc] cannot be executed in its current status of [OBSOLETE]",
    );
    let (out, http) = run(lifted(vec![obsolete]), &fast_wait(), &NoProgress).await;
    let err = out.unwrap_err();
    assert!(err.to_string().starts_with("CloudFormation ExecuteChangeSet failed: ValidationError: "), "{err}");
    assert_lifted_then_restored(&http);
}

#[tokio::test]
async fn allow_replace_restores_the_policy_after_a_rollback() {
    let rolled_back = [
        event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(5), TOKEN),
        event(
            "rm-acme",
            STACK,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [UsersTable]."),
            &at(3),
            TOKEN,
        ),
        event(
            "UsersTable",
            TABLE,
            "UPDATE_FAILED",
            Some("CloudFormation cannot update a stack when a custom-named resource requires replacing"),
            &at(2),
            TOKEN,
        ),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
    ];
    let replies = lifted(executed_update(&rolled_back, "UPDATE_ROLLBACK_COMPLETE"));
    let (out, http) = run(replies, &fast_wait(), &NoProgress).await;
    let err = out.unwrap_err();
    assert!(
        matches!(&err, DeployError::StackFailed { status, reason, .. } if status == "UPDATE_ROLLBACK_COMPLETE" && reason.contains("custom-named")),
        "{err:?}"
    );
    assert_lifted_then_restored(&http);
}

#[tokio::test]
async fn allow_replace_restores_the_policy_after_ctrl_c_cancelled_the_update() {
    let (canceller, signal) = cancel_pair();
    let wait = WaitOptions { cancel: Some(signal), ..fast_wait() };
    let running = [
        event("UsersTable", TABLE, "UPDATE_IN_PROGRESS", None, &at(1), TOKEN),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
    ];
    let mut rolled_back = vec![
        event("rm-acme", STACK, "UPDATE_ROLLBACK_COMPLETE", None, &at(5), TOKEN),
        event("rm-acme", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", Some("Stack update cancelled"), &at(3), TOKEN),
        event("UsersTable", TABLE, "UPDATE_FAILED", Some("Resource update cancelled"), &at(2), TOKEN),
    ];
    rolled_back.extend(running.iter().cloned());
    let progress = CtrlCOnFirstEvent(Collect::default(), canceller);
    let (out, http) = run(lifted(cancelled_update(&running, &rolled_back)), &wait, &progress).await;
    assert!(matches!(out, Err(DeployError::Cancelled { .. })), "{out:?}");
    assert!(actions(&http).contains(&"CancelUpdateStack".to_string()));
    assert_lifted_then_restored(&http);
}

#[tokio::test]
async fn allow_replace_restores_the_policy_when_the_wait_times_out() {
    let wait = WaitOptions { timeout: Duration::ZERO, ..fast_wait() };
    let running = [event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN)];
    let (out, http) = run(lifted(executed_update(&running, "UPDATE_IN_PROGRESS")), &wait, &NoProgress).await;
    assert!(matches!(&out, Err(DeployError::Stuck { status, .. }) if status == "UPDATE_IN_PROGRESS"), "{out:?}");
    assert_lifted_then_restored(&http);
}

#[tokio::test]
async fn a_failed_restore_after_a_failed_update_reports_both() {
    let (out, http) = run(
        vec![
            ok("SetStackPolicy", ""),
            super::replay::validation_error("ChangeSet [rainmaker-1] does not exist"),
            super::replay::validation_error("Stack with id rm-acme does not exist"),
        ],
        &fast_wait(),
        &NoProgress,
    )
    .await;
    let err = out.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DeployError::PolicyNotRestored { .. }), "{err:?}");
    assert!(text.contains("ExecuteChangeSet failed") && text.contains("SetStackPolicy failed"), "{text}");
    assert_eq!(policies_set(&http).len(), 2, "the restore was attempted");
}

/// GetStackPolicy answering `body` (None: the stack has no policy; the element is left out).
fn live_policy(body: Option<&str>) -> ReplayEvent {
    let inner = body.map(|b| {
        format!(
            "<StackPolicyBody>{}</StackPolicyBody>",
            b.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
        )
    });
    ok("GetStackPolicy", &inner.unwrap_or_default())
}

fn updated() -> Vec<ReplayEvent> {
    let done = [
        event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(3), TOKEN),
        event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(0), TOKEN),
    ];
    let mut replies = executed_update(&done, "UPDATE_COMPLETE");
    replies.push(ok("SetStackPolicy", ""));
    replies
}

#[tokio::test]
async fn a_policy_left_lifted_by_a_killed_run_is_restored_before_the_next_change() {
    // a run killed while --allow-replace had lifted it: the live policy allows everything
    let mut replies = vec![live_policy(Some(&policy::allow_all())), ok("SetStackPolicy", "")];
    replies.extend(updated());
    let (c, http) = clients(replies);
    let (info, params) = (info(), BTreeMap::new());
    let progress = Collect::default();
    let plan = super::replay::queue_update();
    converge::execute(&c, &target(&info, &params), &plan, false, &fast_wait(), &Always(true), &progress)
        .await
        .expect("the update");
    let protecting: serde_json::Value = serde_json::from_str(&policy::protecting(&["UsersTable".into()])).unwrap();
    assert_eq!(
        policies_set(&http),
        [("rm-acme".to_string(), protecting.clone()), ("rm-acme".to_string(), protecting)],
        "protected again before the change, and after it"
    );
    assert_eq!(
        actions(&http),
        [
            "GetStackPolicy",
            "SetStackPolicy",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks",
            "SetStackPolicy"
        ]
    );
    let get = http.actual_requests().next().unwrap();
    let body = std::str::from_utf8(get.body().bytes().unwrap()).unwrap().to_string();
    assert!(body.contains("StackName=rm-acme"), "{body}");
    let said = progress.0.lock().unwrap().iter().any(|e| {
        matches!(e, rainmaker_deploy::aws::ProgressEvent::Step { message, .. } if message.contains("does not protect the data"))
    });
    assert!(said, "the restore is reported");
}

#[tokio::test]
async fn with_allow_replace_and_no_live_policy_it_is_protected_first_then_lifted_then_restored() {
    let mut replies = vec![live_policy(None), ok("SetStackPolicy", ""), ok("SetStackPolicy", "")];
    replies.extend(updated());
    let (c, http) = clients(replies);
    let (info, params) = (info(), BTreeMap::new());
    converge::execute(
        &c,
        &target(&info, &params),
        &table_replacement(),
        true,
        &fast_wait(),
        &Always(true),
        &NoProgress,
    )
    .await
    .expect("the update");
    let protecting: serde_json::Value = serde_json::from_str(&policy::protecting(&["UsersTable".into()])).unwrap();
    let allow_all: serde_json::Value = serde_json::from_str(&policy::allow_all()).unwrap();
    let bodies: Vec<serde_json::Value> = policies_set(&http).into_iter().map(|(_, b)| b).collect();
    assert_eq!(bodies, [protecting.clone(), allow_all, protecting]);
    assert_eq!(actions(&http)[..4], ["GetStackPolicy", "SetStackPolicy", "SetStackPolicy", "ExecuteChangeSet"]);
}
