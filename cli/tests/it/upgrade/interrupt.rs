//! Ctrl-C during `upgrade`: SIGINT is sent to the running process while one tenant's update is in flight. That
//! tenant's ExecuteChangeSet is held by the proxy ([`Fault::Stall`]: moto has done it, the answer waits) until the
//! signal has been handled, then released. moto finishes an update at once and has no CancelUpdateStack, so the
//! rest of that update is replayed as CloudFormation runs it: DescribeStacks says `UPDATE_IN_PROGRESS` and
//! DescribeStackEvents shows the stack's `UPDATE_IN_PROGRESS` event carrying our ExecuteChangeSet's
//! `ClientRequestToken` (how the core knows the operation is its own) until a CancelUpdateStack arrives, which the
//! proxy answers; then the events and the stack say `UPDATE_ROLLBACK_COMPLETE`. Asserted: exactly one
//! CancelUpdateStack, for that stack, sent only after the token-bearing event; no other tenant starts (no request
//! signed for their regions); the report on stdout and in `--report` says `cancelled` / `skipped` and `interrupted`;
//! exit 130; a re-run converges.

use super::bake::form;
use super::fleet::{memories, statuses, Fleet};
use super::schema::check_report;
use crate::deploy::cli::aws_cmd;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{Canned, Fault, Faults, Hooks, MotoServer, Proxy, Received};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const DEADLINE: Duration = Duration::from_secs(240);

fn fields(q: &Received) -> BTreeMap<String, String> {
    form(&q.body).into_iter().collect()
}

fn region_of(q: &Received) -> String {
    let auth = q.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str()).unwrap_or_default();
    auth.split("Credential=").nth(1).and_then(|c| c.split('/').nth(2)).unwrap_or_default().to_string()
}

/// The replayed update of one stack: what was seen and said.
#[derive(Default)]
struct Update {
    /// Our ExecuteChangeSet went through moto: from now on the stack is "in progress".
    executing: bool,
    token: Option<String>,
    cancelled: bool,
}

fn event(stack: &str, id: &str, at: &str, status: &str, reason: &str, token: &str) -> String {
    format!(
        "      <member>\n        <StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/0c1d2e3f</StackId>\n        \
         <EventId>{id}</EventId>\n        <StackName>{stack}</StackName>\n        <LogicalResourceId>{stack}</LogicalResourceId>\n        \
         <PhysicalResourceId>arn:aws:cloudformation:eu-west-1:123456789012:stack/{stack}/0c1d2e3f</PhysicalResourceId>\n        \
         <ResourceType>AWS::CloudFormation::Stack</ResourceType>\n        <Timestamp>{at}</Timestamp>\n        \
         <ResourceStatus>{status}</ResourceStatus>\n        <ResourceStatusReason>{reason}</ResourceStatusReason>\n        \
         <ClientRequestToken>{token}</ClientRequestToken>\n      </member>\n"
    )
}

fn now_plus(secs: u64) -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    aws_smithy_types::DateTime::from(t).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_running_tenant_starts_no_other_and_a_rerun_converges() {
    let moto = MotoServer::shared();
    let mut f = Fleet::new(moto, "upx", "", &|_| String::new());
    let [a0, a1, a2] = [0, 1, 2].map(|i| f.tenants[i].clone());
    let only = format!("{},{},{}", a0.name, a1.name, a2.name);
    let r = f.upgrade(&["--yes", "--max-concurrent", "3", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    for t in [&a0, &a1, &a2] {
        let p = f.config(&t.name);
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("memory_mb: 128", "memory_mb: 256")).unwrap();
    }

    let stack = Names::new(&a0.name).backend_stack;
    let update = Arc::new(Mutex::new(Update::default()));
    let rewrite = {
        let (update, stack) = (update.clone(), stack.clone());
        Arc::new(move |q: &Received, body: &str| {
            let f = fields(q);
            let ours = f.get("StackName") == Some(&stack);
            let mut u = update.lock().unwrap();
            match f.get("Action").map(String::as_str) {
                Some("ExecuteChangeSet") if ours => {
                    u.executing = true;
                    u.token = f.get("ClientRequestToken").cloned();
                    body.to_string()
                }
                Some("DescribeStacks") if ours && u.executing => {
                    let now = if u.cancelled { "UPDATE_ROLLBACK_COMPLETE" } else { "UPDATE_IN_PROGRESS" };
                    let (head, rest) = body.split_once("<StackStatus>").expect("a StackStatus");
                    let (_, tail) = rest.split_once("</StackStatus>").unwrap();
                    format!("{head}<StackStatus>{now}</StackStatus>{tail}")
                }
                Some("DescribeStackEvents") if ours && u.executing => {
                    let token = u.token.clone().expect("the ExecuteChangeSet token");
                    let mut events = String::new();
                    if u.cancelled {
                        events.push_str(&event(&stack, "e-3", &now_plus(3), "UPDATE_ROLLBACK_COMPLETE", "", &token));
                        events.push_str(&event(
                            &stack,
                            "e-2",
                            &now_plus(2),
                            "UPDATE_ROLLBACK_IN_PROGRESS",
                            "Stack update cancelled",
                            &token,
                        ));
                    }
                    events.push_str(&event(
                        &stack,
                        "e-1",
                        &now_plus(1),
                        "UPDATE_IN_PROGRESS",
                        "User Initiated",
                        &token,
                    ));
                    format!(
                        "<DescribeStackEventsResponse xmlns=\"{NS}\">\n  <DescribeStackEventsResult>\n    <StackEvents>\n{events}    \
                         </StackEvents>\n  </DescribeStackEventsResult>\n  <ResponseMetadata>\n    <RequestId>e1</RequestId>\n  \
                         </ResponseMetadata>\n</DescribeStackEventsResponse>\n"
                    )
                }
                _ => body.to_string(),
            }
        })
    };
    let answer = {
        let (update, stack) = (update.clone(), stack.clone());
        Arc::new(move |q: &Received| {
            let f = fields(q);
            (f.get("Action").map(String::as_str) == Some("CancelUpdateStack") && f.get("StackName") == Some(&stack)).then(|| {
                update.lock().unwrap().cancelled = true;
                Canned::xml(
                    200,
                    format!("<CancelUpdateStackResponse xmlns=\"{NS}\">\n  <ResponseMetadata>\n    <RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId>\n  </ResponseMetadata>\n</CancelUpdateStackResponse>\n"),
                )
            })
        })
    };
    let faults = Faults::default().and_first_with(
        "cloudformation ExecuteChangeSet",
        &format!("StackName={stack}&"),
        Fault::Stall,
    );
    let proxy = Proxy::with(
        moto,
        Hooks { rewrite: Some(rewrite), answer: Some(answer), faults: Some(faults), ..Hooks::default() },
    );
    f.endpoint = proxy.endpoint_url();

    // one tenant at a time: a0 first; SIGINT once its ExecuteChangeSet is held
    let stderr_file = f.path().join("stderr.txt");
    let mut child = aws_cmd(f.path(), &f.endpoint)
        .args(["--output", "json", "upgrade", "--tenants", "tenants.yaml", "--artifacts", "artifacts", "--yes"])
        .args(["--max-concurrent", "1", "--only", &only, "--report", "report.json"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .expect("starting upgrade");
    let started = Instant::now();
    while !proxy.stalled() {
        assert!(child.try_wait().unwrap().is_none(), "upgrade ended before a0's ExecuteChangeSet");
        assert!(started.elapsed() < DEADLINE, "a0 never executed its change set");
        std::thread::sleep(Duration::from_millis(20));
    }
    let from = proxy.received().len();
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    while !std::fs::read_to_string(&stderr_file).unwrap().contains("interrupted: no new tenant starts") {
        assert!(started.elapsed() < DEADLINE, "the signal was not handled");
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy.release();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < DEADLINE, "upgrade did not end after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    let code = out.status.code();
    assert_eq!(code, Some(130), "interrupted: exit 130\n{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    check_report(&v);
    let st = statuses(&v);
    assert_eq!(
        (st[&a0.name].as_str(), st[&a1.name].as_str(), st[&a2.name].as_str()),
        ("cancelled", "skipped", "skipped"),
        "{stdout}\n{stderr}"
    );
    let why = v["tenants"][0]["error"].as_str().unwrap_or_default();
    assert!(
        why.contains(&stack) && why.contains("cancelled and rolled back") && why.contains("UPDATE_ROLLBACK_COMPLETE"),
        "{why}"
    );
    assert_eq!(v["stopped"], "interrupted");
    assert_eq!(v["waves"][0]["status"], "interrupted");
    assert_eq!((v["summary"]["cancelled"].as_u64(), v["summary"]["skipped"].as_u64()), (Some(1), Some(2)));
    assert_eq!(v["exit_code"], 130);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(file, v, "the --report file is the final report");

    // the cancel: one CancelUpdateStack, for a0's backend, after its events carried our token
    let after = &proxy.received()[from..];
    let cancels: Vec<BTreeMap<String, String>> =
        after.iter().map(fields).filter(|f| f.get("Action").map(String::as_str) == Some("CancelUpdateStack")).collect();
    assert_eq!(cancels.len(), 1, "{cancels:?}");
    assert_eq!(cancels[0]["StackName"], stack);
    let token = update.lock().unwrap().token.clone().expect("token");
    assert!(token.contains(&stack), "our ExecuteChangeSet's token names the stack: {token}");
    // no other tenant started: nothing signed for their regions once the signal came (nor before: one at a time)
    let all = proxy.received();
    let theirs: Vec<String> = all
        .iter()
        .filter(|q| [&a1.region, &a2.region].contains(&&region_of(q)))
        .map(|q| q.body.chars().take(60).collect())
        .collect();
    assert!(theirs.is_empty(), "a1/a2 never started: {theirs:?}");

    // a re-run converges: a0 is already on the new template in moto (the rollback was replayed), the others go through
    f.endpoint = moto.endpoint_url();
    let (r, v) = f.upgrade_json(&["--yes", "--max-concurrent", "3", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!((st[&a1.name].as_str(), st[&a2.name].as_str()), ("upgraded", "upgraded"), "{}", r.transcript());
    assert!(["upgraded", "unchanged"].contains(&st[&a0.name].as_str()), "{}", r.transcript());
    for t in [&a0, &a1, &a2] {
        assert!(memories(moto, t).await.iter().all(|m| *m == 256), "{}", t.name);
    }
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(statuses(&v).values().all(|s| s == "unchanged"), "{}", r.transcript());
}
