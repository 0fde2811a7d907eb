//! Drift: `status --drift` (one tenant), `status --tenants --drift`, and `upgrade --check-drift` /
//! `--refuse-drifted`. moto has no drift detection (DetectStackDrift is not implemented there), so a proxy in front
//! of it answers the three drift calls itself, shaped as the CloudFormation API reference shapes them
//! (`DetectStackDriftResult.StackDriftDetectionId`; `DescribeStackDriftDetectionStatusResult` with `DetectionStatus`,
//! `StackDriftStatus`, `DetectionStatusReason`; `DescribeStackResourceDriftsResult.StackResourceDrifts` members with
//! `PropertyDifferences` and a `NextToken` page), and keeps every request: the tests assert the StackName each
//! detection was started for, that the id polled is the one returned, and StackName, the MODIFIED/DELETED filters and
//! NextToken of each DescribeStackResourceDrifts. Everything else is moto's.

use super::bake::form;
use super::fleet::{memories, statuses, Entry, Fleet};
use super::schema::check_report;
use crate::deploy::cli::{own_account, run_aws};
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{Canned, Hooks, MotoServer, Proxy, Received};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// How a stack's replayed detection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    InSync,
    /// DRIFTED: UsersTable MODIFIED on the first page, DeadLetterQueue DELETED on the second.
    Drifted,
    /// DETECTION_FAILED with a reason.
    Failed,
    /// DETECTION_IN_PROGRESS forever.
    Forever,
}

#[derive(Default)]
struct Replay {
    /// Stack name -> verdict (a stack not listed is IN_SYNC).
    verdicts: BTreeMap<String, Verdict>,
    /// Detection id -> (stack name, polls so far).
    detections: BTreeMap<String, (String, usize)>,
}

fn form_map(q: &Received) -> BTreeMap<String, String> {
    form(&q.body).into_iter().collect()
}

fn action(q: &Received) -> String {
    form_map(q).get("Action").cloned().unwrap_or_default()
}

fn result(op: &str, inner: &str) -> Canned {
    Canned::xml(
        200,
        format!(
            "<{op}Response xmlns=\"{NS}\">\n  <{op}Result>\n{inner}  </{op}Result>\n  <ResponseMetadata>\n    \
             <RequestId>b9b4b068-3a41-11e5-9a4a-0f3b2d1f6e11</RequestId>\n  </ResponseMetadata>\n</{op}Response>\n"
        ),
    )
}

fn stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/8f5e7c10-3a41-11e5-9a4a-0a1b2c3d4e5f")
}

const USERS_DRIFT: &str = "      <member>\n        <LogicalResourceId>UsersTable</LogicalResourceId>\n        \
    <PhysicalResourceId>PHYS-users</PhysicalResourceId>\n        <ResourceType>AWS::DynamoDB::Table</ResourceType>\n        \
    <ExpectedProperties>{&quot;PointInTimeRecoverySpecification&quot;:{&quot;PointInTimeRecoveryEnabled&quot;:true}}</ExpectedProperties>\n        \
    <ActualProperties>{&quot;PointInTimeRecoverySpecification&quot;:{&quot;PointInTimeRecoveryEnabled&quot;:false}}</ActualProperties>\n        \
    <PropertyDifferences>\n          <member>\n            <PropertyPath>/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled</PropertyPath>\n            \
    <ExpectedValue>true</ExpectedValue>\n            <ActualValue>false</ActualValue>\n            <DifferenceType>NOT_EQUAL</DifferenceType>\n          \
    </member>\n        </PropertyDifferences>\n        <StackResourceDriftStatus>MODIFIED</StackResourceDriftStatus>\n        \
    <Timestamp>2026-12-07T14:00:05.000Z</Timestamp>\n      </member>\n";

const QUEUE_DRIFT: &str = "      <member>\n        <LogicalResourceId>DeadLetterQueue</LogicalResourceId>\n        \
    <PhysicalResourceId>PHYS-dlq</PhysicalResourceId>\n        <ResourceType>AWS::SQS::Queue</ResourceType>\n        \
    <ExpectedProperties>{&quot;MessageRetentionPeriod&quot;:1209600}</ExpectedProperties>\n        \
    <PropertyDifferences/>\n        <StackResourceDriftStatus>DELETED</StackResourceDriftStatus>\n        \
    <Timestamp>2026-12-07T14:00:06.000Z</Timestamp>\n      </member>\n";

const PAGE_TWO: &str = "AAAAAE5leHRUb2tlbi1wYWdlLTI=";

impl Replay {
    fn answer(&mut self, q: &Received) -> Option<Canned> {
        let f = form_map(q);
        match f.get("Action")?.as_str() {
            "DetectStackDrift" => {
                let stack = f.get("StackName").cloned().unwrap_or_default();
                let id = format!("{:08x}-5a1c-11e9-8d1b-0a5c4b3d2e1f", self.detections.len() + 1);
                self.detections.insert(id.clone(), (stack, 0));
                Some(result("DetectStackDrift", &format!("    <StackDriftDetectionId>{id}</StackDriftDetectionId>\n")))
            }
            "DescribeStackDriftDetectionStatus" => {
                let id = f.get("StackDriftDetectionId").cloned().unwrap_or_default();
                let Some((stack, polls)) = self.detections.get_mut(&id) else {
                    return Some(Canned::xml(
                        400,
                        format!("<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>ValidationError</Code>\
                                 <Message>No drift detection with id {id}</Message></Error><RequestId>x</RequestId></ErrorResponse>"),
                    ));
                };
                *polls += 1;
                let verdict = self.verdicts.get(stack.as_str()).copied().unwrap_or(Verdict::InSync);
                let (detection, drift, extra) = match (verdict, *polls) {
                    (Verdict::Forever, _) | (_, 1) => ("DETECTION_IN_PROGRESS", "NOT_CHECKED", String::new()),
                    (Verdict::InSync, _) => ("DETECTION_COMPLETE", "IN_SYNC", "    <DriftedStackResourceCount>0</DriftedStackResourceCount>\n".into()),
                    (Verdict::Drifted, _) => ("DETECTION_COMPLETE", "DRIFTED", "    <DriftedStackResourceCount>2</DriftedStackResourceCount>\n".into()),
                    (Verdict::Failed, _) => (
                        "DETECTION_FAILED",
                        "IN_SYNC",
                        "    <DetectionStatusReason>Failed to detect drift on resource [ApiFunction]: Access denied for operation lambda:GetFunction</DetectionStatusReason>\n".into(),
                    ),
                };
                Some(result(
                    "DescribeStackDriftDetectionStatus",
                    &format!(
                        "    <StackId>{}</StackId>\n    <StackDriftDetectionId>{id}</StackDriftDetectionId>\n    \
                         <StackDriftStatus>{drift}</StackDriftStatus>\n    <DetectionStatus>{detection}</DetectionStatus>\n{extra}    \
                         <Timestamp>2026-12-07T14:00:00.000Z</Timestamp>\n",
                        stack_id(stack)
                    ),
                ))
            }
            "DescribeStackResourceDrifts" => {
                let stack = f.get("StackName").cloned().unwrap_or_default();
                let sid = stack_id(&stack);
                let with_id = |m: &str| {
                    m.replace("<LogicalResourceId>", &format!("<StackId>{sid}</StackId>\n        <LogicalResourceId>"))
                };
                let page = match f.get("NextToken") {
                    None => format!("    <StackResourceDrifts>\n{}    </StackResourceDrifts>\n    <NextToken>{PAGE_TWO}</NextToken>\n", with_id(USERS_DRIFT)),
                    Some(_) => format!("    <StackResourceDrifts>\n{}    </StackResourceDrifts>\n", with_id(QUEUE_DRIFT)),
                };
                Some(result("DescribeStackResourceDrifts", &page))
            }
            _ => None,
        }
    }
}

/// The drift requests of `reqs` as (action, decoded form), in order.
fn drift_calls(reqs: &[Received]) -> Vec<(String, BTreeMap<String, String>)> {
    reqs.iter()
        .filter(|q| {
            ["DetectStackDrift", "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"]
                .contains(&action(q).as_str())
        })
        .map(|q| (action(q), form_map(q)))
        .collect()
}

/// For one stack in `calls`: one DetectStackDrift naming it, then every DescribeStackDriftDetectionStatus for it
/// polling exactly the id the replay returned (the n-th detection id); returns how many polls.
fn polls_for(calls: &[(String, BTreeMap<String, String>)], replay: &Replay, stack: &str) -> usize {
    let started: Vec<_> = calls.iter().filter(|(a, f)| a == "DetectStackDrift" && f["StackName"] == stack).collect();
    assert_eq!(started.len(), 1, "{stack}: one DetectStackDrift: {calls:?}");
    let ids: Vec<&String> = replay.detections.iter().filter(|(_, (s, _))| s == stack).map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1, "{stack}: {:?}", replay.detections);
    let polled: Vec<&String> = calls
        .iter()
        .filter(|(a, _)| a == "DescribeStackDriftDetectionStatus")
        .map(|(_, f)| &f["StackDriftDetectionId"])
        .filter(|id| replay.detections.get(*id).is_some_and(|(s, _)| s == stack))
        .collect();
    assert!(!polled.is_empty() && polled.iter().all(|p| *p == ids[0]), "{stack}: polls the id returned: {polled:?}");
    polled.len()
}

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["tenants"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name}: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_status_and_before_an_upgrade() {
    let moto = MotoServer::shared();
    let label = "updr";
    let mut f = Fleet::new(moto, label, "", &|_| String::new());
    let [a0, a1, b0] = [0, 1, 3].map(|i| f.tenants[i].clone());
    let only = format!("{},{},{}", a0.name, a1.name, b0.name);
    let r = f.upgrade(&["--yes", "--max-concurrent", "3", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());

    let replay = Arc::new(Mutex::new(Replay::default()));
    let answer = {
        let replay = replay.clone();
        Arc::new(move |q: &Received| replay.lock().unwrap().answer(q))
    };
    let proxy = Proxy::with(moto, Hooks { answer: Some(answer), ..Hooks::default() });
    f.endpoint = proxy.endpoint_url();
    let n = |t: &Entry| Names::new(&t.name);
    {
        let mut r = replay.lock().unwrap();
        r.verdicts.insert(n(&a0).backend_stack, Verdict::Drifted);
        r.verdicts.insert(n(&b0).backend_stack, Verdict::Failed);
    }

    // status --drift for one tenant, with its own account's keys
    let tdir = f.path().join("tenants").join(&a0.name);
    own_account(moto, &tdir, &format!("{label}-a"));
    let from = proxy.received().len();
    let r = run_aws(&tdir, &proxy.endpoint_url(), &["--output", "json", "status", "--drift"]);
    assert_eq!(r.code, 0, "drift is data, not a failure: {}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.transcript()));
    let drift = v["drift"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(drift.len(), 2);
    assert_eq!((drift[0]["stack"].as_str(), drift[0]["drift_status"].as_str()), (Some("bootstrap"), Some("IN_SYNC")));
    assert_eq!(drift[0]["resources"], serde_json::json!([]));
    let backend = &drift[1];
    assert_eq!(
        (backend["stack_name"].as_str(), backend["drift_status"].as_str()),
        (Some(n(&a0).backend_stack.as_str()), Some("DRIFTED"))
    );
    assert_eq!(
        backend["resources"],
        serde_json::json!([
            { "logical_id": "UsersTable", "resource_type": "AWS::DynamoDB::Table", "physical_id": "PHYS-users", "status": "MODIFIED",
              "differences": [{ "path": "/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled", "expected": "true", "actual": "false", "difference": "NOT_EQUAL" }] },
            { "logical_id": "DeadLetterQueue", "resource_type": "AWS::SQS::Queue", "physical_id": "PHYS-dlq", "status": "DELETED", "differences": [] }
        ]),
        "both pages, in order"
    );
    let calls = drift_calls(&proxy.received()[from..]);
    {
        let rp = replay.lock().unwrap();
        assert_eq!(polls_for(&calls, &rp, &n(&a0).bootstrap_stack), 2, "in progress, then complete");
        assert_eq!(polls_for(&calls, &rp, &n(&a0).backend_stack), 2);
    }
    let pages: Vec<&BTreeMap<String, String>> =
        calls.iter().filter(|(a, _)| a == "DescribeStackResourceDrifts").map(|(_, f)| f).collect();
    assert_eq!(pages.len(), 2, "only the drifted stack's resources are read, every page: {calls:?}");
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["StackName"], n(&a0).backend_stack);
        assert_eq!(p.get("StackResourceDriftStatusFilters.member.1").map(String::as_str), Some("MODIFIED"));
        assert_eq!(p.get("StackResourceDriftStatusFilters.member.2").map(String::as_str), Some("DELETED"));
        assert_eq!(p.get("StackResourceDriftStatusFilters.member.3"), None);
        assert_eq!(p.get("NextToken").map(String::as_str), [None, Some(PAGE_TWO)][i], "page {i}");
    }
    let text = run_aws(&tdir, &proxy.endpoint_url(), &["status", "--drift"]);
    assert_eq!(text.code, 0, "{}", text.transcript());
    for want in [
        "drift:",
        "(backend): DRIFTED",
        "UsersTable AWS::DynamoDB::Table MODIFIED",
        "NOT_EQUAL expected true actual false",
        "DeadLetterQueue AWS::SQS::Queue DELETED",
    ] {
        assert!(text.stdout.contains(want), "`{want}` in {}", text.stdout);
    }

    // the fleet: a0 drifted, a1 in sync, b0's detection failed (exit 3), the undeployed ones not detected at all
    let from = proxy.received().len();
    let r = run_aws(
        f.path(),
        &proxy.endpoint_url(),
        &["--output", "json", "status", "--tenants", "tenants.yaml", "--drift"],
    );
    assert_eq!(r.code, 3, "a failed detection: {}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.transcript()));
    let st = |t: &Entry, i: usize| row(&v, &t.name)["drift"][i]["drift_status"].as_str().map(str::to_string);
    assert_eq!((st(&a0, 0), st(&a0, 1)), (Some("IN_SYNC".into()), Some("DRIFTED".into())));
    assert_eq!((st(&a1, 0), st(&a1, 1)), (Some("IN_SYNC".into()), Some("IN_SYNC".into())));
    assert_eq!(st(&b0, 1).as_deref(), Some("FAILED"));
    let why = row(&v, &b0.name)["drift"][1]["error"].as_str().unwrap_or_default();
    assert!(why.contains("DETECTION_FAILED") && why.contains("[ApiFunction]"), "{why}");
    for t in [&f.tenants[2], &f.tenants[4], &f.tenants[5]] {
        assert_eq!(
            (st(t, 0).as_deref(), st(t, 1).as_deref()),
            (Some("NOT_DEPLOYED"), Some("NOT_DEPLOYED")),
            "{}",
            t.name
        );
    }
    let calls = drift_calls(&proxy.received()[from..]);
    let started: Vec<&str> =
        calls.iter().filter(|(a, _)| a == "DetectStackDrift").map(|(_, f)| f["StackName"].as_str()).collect();
    assert_eq!(started.len(), 6, "both stacks of the three deployed tenants only: {started:?}");
    let text = run_aws(f.path(), &proxy.endpoint_url(), &["status", "--tenants", "tenants.yaml", "--drift"]);
    assert_eq!(text.code, 3);
    assert!(
        text.stdout.contains(&format!("{}  {} (backend): DRIFTED", a0.name, n(&a0).backend_stack)),
        "{}",
        text.stdout
    );

    // a detection that never ends is bounded by --timeout: FAILED, exit 3, the id named
    replay.lock().unwrap().verdicts.insert(n(&a0).backend_stack, Verdict::Forever);
    let started = std::time::Instant::now();
    let r = run_aws(&tdir, &proxy.endpoint_url(), &["--output", "json", "status", "--drift", "--timeout", "1s"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "bounded: {:?}", started.elapsed());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let err = v["drift"][1]["error"].as_str().unwrap_or_default();
    assert!(err.contains("did not end within") && err.contains("-5a1c-11e9-"), "{err}");
    replay.lock().unwrap().verdicts.insert(n(&a0).backend_stack, Verdict::Drifted);

    // upgrade --check-drift: a0 goes through with a warning, b0's failed detection fails it, a1 is unchanged
    for t in [&a0, &a1] {
        let p = f.config(&t.name);
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("memory_mb: 128", "memory_mb: 192")).unwrap();
    }
    let (r, v) = f.upgrade_json(&[
        "--yes",
        "--check-drift",
        "--only",
        &format!("{},{}", a0.name, b0.name),
        "--failure-tolerance",
        "1",
        "--report",
        "drift.csv",
        "--report-format",
        "csv",
    ]);
    assert_eq!(r.code, 3, "b0 failed: {}", r.transcript());
    check_report(&v);
    let csv = std::fs::read_to_string(f.path().join("drift.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",error,warning"), "{csv}");
    let a0_row = csv.lines().find(|l| l.contains(&format!(",{},", a0.name))).unwrap_or_else(|| panic!("{csv}"));
    assert!(a0_row.contains(",upgraded,") && a0_row.contains("UsersTable (MODIFIED)"), "the warning column: {a0_row}");
    let s = statuses(&v);
    assert_eq!((s[&a0.name].as_str(), s[&b0.name].as_str()), ("upgraded", "failed"), "{}", r.transcript());
    let w = row(&v, &a0.name)["warning"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(w.contains("UsersTable (MODIFIED)") && w.contains("DeadLetterQueue (DELETED)"), "{w}");
    assert_eq!(row(&v, &a0.name)["drift"][1]["drift_status"], "DRIFTED");
    let e = row(&v, &b0.name)["error"].as_str().unwrap();
    assert!(e.contains("drift detection failed") && e.contains("[ApiFunction]"), "{e}");
    assert!(memories(moto, &a0).await.iter().all(|m| *m == 192), "a0 was upgraded");

    // --refuse-drifted: a0 (drifted again, with a change waiting) is blocked and untouched, a1 goes through
    let p = f.config(&a0.name);
    std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("memory_mb: 192", "memory_mb: 256")).unwrap();
    let from = proxy.received().len();
    let (r, v) = f.upgrade_json(&["--yes", "--refuse-drifted", "--only", &format!("{},{}", a0.name, a1.name)]);
    assert_eq!(r.code, 4, "blocked, none failed: {}", r.transcript());
    let s = statuses(&v);
    assert_eq!((s[&a0.name].as_str(), s[&a1.name].as_str()), ("blocked", "upgraded"), "{}", r.transcript());
    let e = row(&v, &a0.name)["error"].as_str().unwrap();
    assert!(e.contains("UsersTable (MODIFIED)") && e.contains("--refuse-drifted"), "{e}");
    let a0_writes: Vec<String> = proxy.received()[from..]
        .iter()
        .filter(|q| {
            q.body.contains(&format!("StackName={}", n(&a0).backend_stack))
                || q.body.contains(&format!("StackName={}", n(&a0).bootstrap_stack))
        })
        .map(action)
        .filter(|a| {
            !a.starts_with("Describe") && !a.starts_with("Get") && !a.starts_with("List") && a != "DetectStackDrift"
        })
        .collect();
    assert!(a0_writes.is_empty(), "a blocked tenant is not changed: {a0_writes:?}");
    assert!(memories(moto, &a0).await.iter().all(|m| *m == 192), "still the old memory");
    assert!(memories(moto, &a1).await.iter().all(|m| *m == 192));

    // back in sync: --refuse-drifted lets it through
    replay.lock().unwrap().verdicts.clear();
    let (r, v) = f.upgrade_json(&["--yes", "--refuse-drifted", "--only", &a0.name]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(statuses(&v)[&a0.name], "upgraded");
    assert!(row(&v, &a0.name)["warning"].is_null());
    assert!(memories(moto, &a0).await.iter().all(|m| *m == 256));
}
