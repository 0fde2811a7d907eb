//! A failed `apply` returns what it did (issue 11, item 9): an UPDATE of the bootstrap stack that fails on AWS
//! (responses shaped like the STS and CloudFormation API references: per-resource events with the failing
//! resource's reason, then `UPDATE_ROLLBACK_COMPLETE`), replayed through the whole `apply`. The failure report
//! names each stack's result, the resource that failed first and why, the API calls made, and removes the
//! outputs.json of an earlier apply (the stack moved); the requests sent are read back.

use super::fastpath::{
    caller_identity, expected_hash, fields, get_template, stack_member, xml_escape, ACCOUNT, TENANT,
};
use super::fixtures::{fast_wait, write_artifacts};
use super::replay::{ok, replay_sdk};
use rainmaker_deploy::aws::changeset::execute_token;
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::failure::{self, RunFailure};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::aws::DeployError;
use std::collections::BTreeMap;
use std::path::Path;

const BOOT: &str = "rm-acme-home-bootstrap";
const REASON: &str = "Resource handler returned message: \"Access Denied (Service: S3, Status Code: 403, Request ID: \
                      8XK2Q9, Extended Request ID: abc=)\" (RequestToken: 3f1c, HandlerErrorCode: AccessDenied)";

fn stack_id() -> String {
    stack_id_of(BOOT)
}

/// The id of the stack `name` (account [`ACCOUNT`], us-east-1).
pub(super) fn stack_id_of(name: &str) -> String {
    format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/5b2e8c40-0000-11ef-9f0a-0a1b2c3d4e5f")
}

/// A time `secs` from now, formatted as the API does.
pub(super) fn at(secs: u64) -> String {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
    aws_smithy_types::DateTime::from(t).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap()
}

/// One `StackEvents` member of the bootstrap stack, as DescribeStackEvents documents it.
fn event(logical: &str, rtype: &str, status: &str, reason: Option<&str>, ts: &str) -> String {
    stack_event(BOOT, logical, rtype, status, reason, ts, "rm-acme-home-bootstrap-artifactsbucket-1x2y3z4w5v6u")
}

/// One `StackEvents` member of `stack` as DescribeStackEvents documents it: `physical` is the resource's id (the
/// stack's own events carry the stack id).
pub(super) fn stack_event(
    stack: &str,
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
    ts: &str,
    physical: &str,
) -> String {
    let id = stack_id_of(stack);
    let physical = if logical == stack { id.as_str() } else { physical };
    let reason =
        reason.map(|r| format!("<ResourceStatusReason>{}</ResourceStatusReason>", xml_escape(r))).unwrap_or_default();
    format!(
        "<member><StackId>{id}</StackId><EventId>{logical}-{status}-{ts}</EventId><StackName>{stack}</StackName>\
         <LogicalResourceId>{logical}</LogicalResourceId><PhysicalResourceId>{physical}</PhysicalResourceId>\
         <ResourceType>{rtype}</ResourceType><Timestamp>{ts}</Timestamp><ResourceStatus>{status}</ResourceStatus>{reason}\
         <ClientRequestToken>exec-token</ClientRequestToken></member>"
    )
}

/// The smart-home tenant [`TENANT`] (us-east-1) configured in `dir` (its SDK config is for the test to replace), with
/// the outputs.json an earlier apply wrote in its state folder in [`ACCOUNT`].
pub(super) fn tenant_with_outputs(dir: &Path) -> Tenant {
    let config = rainmaker_deploy::config::blueprint_config("smart-home", TENANT, "us-east-1").unwrap();
    let t = Tenant {
        config,
        sdk: aws_config::SdkConfig::builder().build(),
        config_dir: dir.to_path_buf(),
        artifacts_dir: dir.join("artifacts"),
    };
    let state = t.state_dir(ACCOUNT);
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("outputs.json"), "{\"ApiUrl\": \"https://old.example/v1\"}\n").unwrap();
    t
}

/// Each stack's (name, result, last status seen) in a failure report.
pub(super) fn stack_results<D>(r: &RunFailure<D>) -> Vec<(&str, &str, Option<&str>)> {
    r.stacks.iter().map(|s| (s.stack_name.as_str(), s.result.as_str(), s.status.as_deref())).collect()
}

/// The API calls a failure report counts, by operation.
pub(super) fn calls_by_operation<D>(r: &RunFailure<D>) -> BTreeMap<&str, u32> {
    r.api_calls.by_operation.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

/// Snapshot settings for a failure report's JSON: the temp dir `dir` reads `[DIR]`, the elapsed time `[MS]`.
pub(super) fn report_snapshot_settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&dir.display().to_string()), "[DIR]");
    settings.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#);
    settings
}

/// A tenant whose bootstrap stack was deployed from another template (its hash tag and GetTemplate say so), with
/// the outputs.json of that earlier apply.
fn tenant(dir: &Path) -> (Tenant, String, String) {
    let t = tenant_with_outputs(dir);
    write_artifacts(&t.artifacts_dir, "v1");
    let body = deploy::prepare(&t).unwrap().bootstrap.0.body;
    let older = body.replace("expire-replaced-artifacts", "expire-old-artifacts");
    assert_ne!(older, body);
    (t, body, older)
}

#[tokio::test]
async fn a_failed_update_returns_each_stack_the_calls_and_the_failing_resource_and_outputs_json_goes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut t, body, older) = tenant(dir.path());
    let p = deploy::prepare(&t).unwrap();
    let none = BTreeMap::new();
    let mut tags = deploy::stack_tags(&t);
    tags.insert("rainmaker:template-sha256".into(), expected_hash(&older, &none));
    // the backend stack is there too (a tenant being updated; a missing backend would first look up kept data)
    let backend = stack_member("rm-acme-home", &none, &tags, &p.backend.2);
    let listing = ok(
        "DescribeStacks",
        &format!("<Stacks>{}{backend}</Stacks>", stack_member(BOOT, &none, &tags, &p.bootstrap.2)),
    );
    let changes = "<Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action>\
        <LogicalResourceId>ArtifactsBucket</LogicalResourceId><PhysicalResourceId>rm-acme-home-bootstrap-artifactsbucket-1x2y3z4w5v6u</PhysicalResourceId>\
        <ResourceType>AWS::S3::Bucket</ResourceType><Replacement>False</Replacement><Scope><member>Properties</member></Scope>\
        <Details><member><Evaluation>Static</Evaluation><ChangeSource>DirectModification</ChangeSource>\
        <Target><Attribute>Properties</Attribute><Name>LifecycleConfiguration</Name><RequiresRecreation>Never</RequiresRecreation></Target>\
        </member></Details></ResourceChange></member></Changes>";
    let stack = "AWS::CloudFormation::Stack";
    let bucket = "AWS::S3::Bucket";
    let failed_to_update = "The following resource(s) failed to update: [ArtifactsBucket].";
    let history = [
        event(BOOT, stack, "UPDATE_ROLLBACK_COMPLETE", None, &at(9)),
        event("ArtifactsBucket", bucket, "UPDATE_COMPLETE", None, &at(8)),
        event(BOOT, stack, "UPDATE_ROLLBACK_IN_PROGRESS", Some(failed_to_update), &at(6)),
        event("ArtifactsBucket", bucket, "UPDATE_FAILED", Some(REASON), &at(5)),
        event("ArtifactsBucket", bucket, "UPDATE_IN_PROGRESS", None, &at(3)),
        event(BOOT, stack, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(2)),
    ];
    let rolled_back = format!(
        "<Stacks><member><StackName>{BOOT}</StackName><StackId>{}</StackId><CreationTime>2026-11-02T09:12:44.181Z</CreationTime>\
         <LastUpdatedTime>{}</LastUpdatedTime><StackStatus>UPDATE_ROLLBACK_COMPLETE</StackStatus></member></Stacks>",
        stack_id(),
        at(2)
    );
    let (sdk, http) = replay_sdk(vec![
        caller_identity(),
        listing,
        get_template(&older),
        ok("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/rainmaker-1/abc</Id><StackId>{}</StackId>", stack_id())),
        ok("DescribeChangeSet", &format!("<ChangeSetName>rainmaker-1</ChangeSetName><StackName>{BOOT}</StackName><ExecutionStatus>AVAILABLE</ExecutionStatus><Status>CREATE_COMPLETE</Status>{changes}")),
        ok("ExecuteChangeSet", ""),
        ok("DescribeStackEvents", &format!("<StackEvents>{}</StackEvents>", history.concat())),
        ok("DescribeStacks", &rolled_back),
    ]);
    t.sdk = sdk;
    let opts = ApplyOptions { wait: fast_wait(), ..ApplyOptions::default() };
    let failed = failure::apply_reporting(&t, &opts, &Always(true), &NoProgress).await.expect_err("the update fails");

    // the error names the resource and its reason; the report says it as data
    match &failed.error {
        DeployError::StackFailed { stack, status, reason } => {
            assert_eq!((stack.as_str(), status.as_str()), (BOOT, "UPDATE_ROLLBACK_COMPLETE"));
            assert_eq!(reason, &format!("ArtifactsBucket: {REASON}"));
        }
        e => panic!("expected StackFailed, got {e:?}"),
    }
    let r = &failed.report;
    let f = r.failing_resource.as_ref().expect("the failing resource");
    assert_eq!(
        (f.stack.as_str(), f.logical_id.as_str(), f.status.as_str()),
        (BOOT, "ArtifactsBucket", "UPDATE_FAILED")
    );
    assert_eq!((f.resource_type.as_str(), f.reason.as_str()), (bucket, REASON));
    assert_eq!(f.description.as_deref(), Some("Artifacts bucket (Lambda zips under content-hash keys)"));
    assert_eq!(
        stack_results(r),
        [(BOOT, "failed", Some("UPDATE_ROLLBACK_COMPLETE")), ("rm-acme-home", "not_reached", None)],
        "{r:#?}"
    );
    assert_eq!(r.error_code.as_deref(), Some("rainmaker::deploy::stack_failed"));
    assert_eq!(r.account.as_deref(), Some(ACCOUNT));
    assert_eq!(
        calls_by_operation(r),
        BTreeMap::from([
            ("STS.GetCallerIdentity", 1),
            ("CloudFormation.DescribeStacks", 2),
            ("CloudFormation.GetTemplate", 1),
            ("CloudFormation.CreateChangeSet", 1),
            ("CloudFormation.DescribeChangeSet", 1),
            ("CloudFormation.ExecuteChangeSet", 1),
            ("CloudFormation.DescribeStackEvents", 1),
        ])
    );
    // outputs.json of the earlier apply described a state that moved: removed, and said so
    let outputs = t.state_dir(ACCOUNT).join("outputs.json");
    assert_eq!(r.did.outputs_file.action, "removed");
    assert_eq!(r.did.outputs_file.path.as_deref(), Some(outputs.as_path()));
    assert!(!outputs.exists());

    // the requests: our change set (UPDATE of this stack, this template, IAM capability, tags with the new hash,
    // ClientToken = its name) executed with our token; events and status of that stack
    let reqs: Vec<_> = http.actual_requests().collect();
    let f: Vec<BTreeMap<String, String>> = reqs.iter().map(|r| fields(r)).collect();
    let actions: Vec<&str> = f.iter().map(|x| x["Action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "GetCallerIdentity",
            "DescribeStacks",
            "GetTemplate",
            "CreateChangeSet",
            "DescribeChangeSet",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStacks"
        ]
    );
    assert!(!f[1].contains_key("StackName"), "the account's listing");
    assert_eq!((f[2]["StackName"].as_str(), f[2]["TemplateStage"].as_str()), (BOOT, "Original"));
    let cs = &f[3];
    assert_eq!((cs["StackName"].as_str(), cs["ChangeSetType"].as_str()), (BOOT, "UPDATE"));
    assert_eq!(cs["TemplateBody"], body);
    assert_eq!(cs["Capabilities.member.1"], "CAPABILITY_IAM");
    assert_eq!(cs["ClientToken"], cs["ChangeSetName"]);
    let sent_tags: BTreeMap<&str, &str> = (1..)
        .map_while(|i| {
            Some((cs.get(&format!("Tags.member.{i}.Key"))?.as_str(), cs[&format!("Tags.member.{i}.Value")].as_str()))
        })
        .collect();
    assert_eq!(sent_tags["rainmaker:template-sha256"], expected_hash(&body, &none));
    assert_eq!(sent_tags["rainmaker:tenant"], TENANT);
    let name = cs["ChangeSetName"].clone();
    assert_eq!((f[4]["ChangeSetName"].as_str(), f[4]["StackName"].as_str()), (name.as_str(), BOOT));
    assert_eq!((f[5]["ChangeSetName"].as_str(), f[5]["StackName"].as_str()), (name.as_str(), BOOT));
    assert_eq!(f[5]["ClientRequestToken"], execute_token(&name, BOOT));
    assert_eq!(f[6]["StackName"], BOOT);
    assert_eq!(f[7]["StackName"], BOOT);

    // as the CLI prints it with --output json (and the text)
    let json = serde_json::to_string_pretty(&failed.report).unwrap();
    report_snapshot_settings(dir.path()).bind(|| insta::assert_snapshot!("failed-update-json", json));
    let text = rainmaker_deploy::commands::apply::failure_text(&failed.report);
    assert!(text.contains("failed first: ArtifactsBucket AWS::S3::Bucket (Artifacts bucket"), "{text}");
    assert!(text.contains("backend    rm-acme-home                     not reached"), "{text}");
    assert!(text.contains("removed ") && text.contains("outputs.json"), "{text}");
}

#[test]
fn the_cli_prints_what_a_failed_apply_did_on_stdout_and_the_error_on_stderr_exit_1() {
    use crate::support::{run, tempdir};
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", "acme-home", "--region", "us-east-1"]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    write_artifacts(&d.path().join("artifacts"), "v1");
    std::fs::write(d.path().join("artifacts/api.zip"), b"changed after the manifest").unwrap();
    let endpoint = rainmaker_test_support::closed_port_url();
    let args = ["apply", "--yes", "--artifacts", "artifacts", "--endpoint-url", endpoint.as_str()];
    let json = run(d.path(), &[&args[..], &["--output", "json"]].concat());
    assert_eq!(json.code, 1, "{}", json.transcript());
    let v: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.transcript()));
    assert_eq!(v["error_code"], "rainmaker::deploy::artifact_hash", "{v}");
    assert_eq!(v["stacks"][0]["result"], "not_reached");
    assert_eq!(v["outputs_file"]["action"], "untouched");
    assert_eq!(v["api_calls"]["total"], 0, "it stopped before any call");
    let e: serde_json::Value =
        serde_json::from_str(json.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", json.transcript()));
    assert!(e["error"]["message"].as_str().unwrap().contains("api.zip"), "{e}");
    let text = run(d.path(), &args);
    assert_eq!(text.code, 1, "{}", text.transcript());
    assert!(text.stdout.starts_with("apply failed; what it did:"), "{}", text.transcript());
    assert!(text.stderr.contains("SHA-256"), "{}", text.transcript());
}
