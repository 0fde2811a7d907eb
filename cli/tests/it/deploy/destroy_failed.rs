//! A failed `destroy` returns what it did (like a failed apply, `deploy::failed`): the backend's DeleteStack ends in
//! `DELETE_FAILED` because the claim policy is still attached to a principal (a device certificate someone attached
//! it to by hand), replayed with responses shaped like the STS, IoT, Secrets Manager and CloudFormation API
//! references (per-resource `DELETE_SKIPPED` / `DELETE_COMPLETE` / `DELETE_FAILED` events with the reason). The
//! report names each stack's result, the failing resource and its reason, the calls made; outputs.json goes (it
//! described stacks that changed), the record of what the stacks retain stays; the requests sent are read back.

use super::failed::{
    at, calls_by_operation, report_snapshot_settings, stack_event, stack_id_of, stack_results, tenant_with_outputs,
};
use super::fastpath::{caller_identity, fields, get_template, stack_member, xml_escape, ACCOUNT, TENANT};
use super::replay::{ok, replay_sdk};
use aws_smithy_runtime::client::http::test_util::ReplayEvent;
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::destroy::{self, DestroyOptions};
use rainmaker_deploy::aws::progress::NoProgress;
use rainmaker_deploy::aws::DeployError;
use rainmaker_deploy::template::Names;
use std::collections::BTreeMap;

const BACKEND: &str = "rm-acme-home";
const REASON: &str = "Resource handler returned message: \"The policy cannot be deleted as the policy is attached to \
                      one or more principals. (Service: Iot, Status Code: 409, Request ID: 6b1f2e0c-1a2b)\" \
                      (RequestToken: 9d2c, HandlerErrorCode: GeneralServiceException)";

fn stack_id() -> String {
    stack_id_of(BACKEND)
}

/// One `StackEvents` member of the backend stack.
fn event(logical: &str, rtype: &str, status: &str, reason: Option<&str>, ts: &str) -> String {
    stack_event(BACKEND, logical, rtype, status, reason, ts, &format!("{BACKEND}-{}", logical.to_lowercase()))
}

/// A REST-JSON or JSON answer (IoT, Secrets Manager).
fn json_reply(uri: &str, status: u16, body: serde_json::Value, error: Option<&str>) -> ReplayEvent {
    let mut res = http::Response::builder().status(status).header("Content-Type", "application/json");
    if let Some(e) = error {
        res = res.header("x-amzn-ErrorType", e);
    }
    ReplayEvent::new(
        http::Request::builder().uri(uri).body(SdkBody::empty()).unwrap(),
        res.body(SdkBody::from(body.to_string())).unwrap(),
    )
}

/// DeleteStack's answer: no result element, only the metadata (the API reference's example).
fn delete_stack_answer() -> ReplayEvent {
    let body = "<DeleteStackResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><ResponseMetadata>\
                <RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ResponseMetadata></DeleteStackResponse>";
    ReplayEvent::new(
        http::Request::builder().uri("https://cloudformation.us-east-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder().status(200).body(SdkBody::from(body)).unwrap(),
    )
}

/// The logical id of the claim policy in the backend template, and every (logical id, type) with a physical id
/// (its literal name when the template gives one).
fn resources(template: &serde_json::Value, policy: &str) -> (String, Vec<(String, String, String)>) {
    let all = template["Resources"].as_object().unwrap();
    let claim = all
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::IoT::Policy" && r["Properties"]["PolicyName"] == policy)
        .map(|(id, _)| id.clone())
        .expect("the claim policy in the template");
    let listed = all
        .iter()
        .map(|(id, r)| {
            let name = ["TableName", "PolicyName", "FunctionName", "Name"]
                .iter()
                .find_map(|k| r["Properties"][k].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{BACKEND}-{}-1A2B3C4D", id.to_lowercase()));
            (id.clone(), r["Type"].as_str().unwrap().to_string(), name)
        })
        .collect();
    (claim, listed)
}

#[tokio::test]
async fn a_failed_destroy_returns_each_stack_the_failing_resource_and_the_calls_and_leaves_nothing_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = tenant_with_outputs(dir.path());
    let names = Names::new(&t.config.name);
    let p = rainmaker_deploy::aws::deploy::prepare(&t).unwrap();
    let (body, template) = (p.backend.0.body.clone(), p.backend.2.clone());
    let state = t.state_dir(ACCOUNT);

    let (claim, listed) = resources(&template, &names.claim_policy);
    let members: String = listed
        .iter()
        .map(|(id, rtype, physical)| {
            format!(
                "<member><StackName>{BACKEND}</StackName><StackId>{}</StackId><LogicalResourceId>{id}</LogicalResourceId>\
                 <PhysicalResourceId>{physical}</PhysicalResourceId><ResourceType>{rtype}</ResourceType>\
                 <Timestamp>2026-11-02T09:14:02.118Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>",
                stack_id()
            )
        })
        .collect();
    let table = listed.iter().find(|(_, t, _)| t == "AWS::DynamoDB::Table").unwrap();
    let function = listed.iter().find(|(_, t, _)| t == "AWS::Lambda::Function").unwrap();
    let stack = "AWS::CloudFormation::Stack";
    let failed_to_delete = format!("The following resource(s) failed to delete: [{claim}]. ");
    let history = [
        event(BACKEND, stack, "DELETE_FAILED", Some(&failed_to_delete), &at(9)),
        event(&claim, "AWS::IoT::Policy", "DELETE_FAILED", Some(REASON), &at(8)),
        event(&function.0, &function.1, "DELETE_COMPLETE", None, &at(7)),
        event(&table.0, &table.1, "DELETE_SKIPPED", None, &at(4)),
        event(&claim, "AWS::IoT::Policy", "DELETE_IN_PROGRESS", None, &at(3)),
        event(BACKEND, stack, "DELETE_IN_PROGRESS", Some("User Initiated"), &at(2)),
    ];
    let failed_stack = format!(
        "<Stacks><member><StackName>{BACKEND}</StackName><StackId>{}</StackId><CreationTime>2026-11-02T09:12:44.181Z</CreationTime>\
         <DeletionTime>{}</DeletionTime><StackStatus>DELETE_FAILED</StackStatus><StackStatusReason>{}</StackStatusReason>\
         </member></Stacks>",
        stack_id(),
        at(2),
        xml_escape(&failed_to_delete)
    );
    let none = BTreeMap::new();
    let live = format!("<Stacks>{}</Stacks>", stack_member(BACKEND, &none, &none, &template));
    let (sdk, http) = replay_sdk(vec![
        caller_identity(),
        json_reply(
            &format!("https://iot.us-east-1.amazonaws.com/policy-targets/{}", names.claim_policy),
            200,
            serde_json::json!({"targets": []}),
            None,
        ),
        json_reply(
            "https://secretsmanager.us-east-1.amazonaws.com/",
            400,
            serde_json::json!({"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}),
            Some("ResourceNotFoundException"),
        ),
        ok("DescribeStacks", &live),
        get_template(&body),
        ok("DescribeStackResources", &format!("<StackResources>{members}</StackResources>")),
        delete_stack_answer(),
        ok("DescribeStackEvents", &format!("<StackEvents>{}</StackEvents>", history.concat())),
        ok("DescribeStacks", &failed_stack),
    ]);
    t.sdk = sdk;
    // the Device Defender suppression's calls have their own replay (deploy::audit_replay)
    let opts = DestroyOptions {
        wait: super::fixtures::fast_wait(),
        omissions: rainmaker_deploy::aws::verify::Omissions::Moto,
        ..DestroyOptions::default()
    };
    let failed = destroy::failure::destroy_reporting(&t, &opts, &NoProgress).await.expect_err("the delete fails");

    // the error names the stack, its status and the resource with its reason; the report says it as data
    match &failed.error {
        DeployError::DeleteFailed { stack, status, reason } => {
            assert_eq!((stack.as_str(), status.as_str()), (BACKEND, "DELETE_FAILED"));
            assert_eq!(reason, &format!("{claim}: {REASON}"));
        }
        e => panic!("expected DeleteFailed, got {e:?}"),
    }
    let r = &failed.report;
    assert_eq!(r.error_code.as_deref(), Some("rainmaker::deploy::delete_failed"));
    let f = r.failing_resource.as_ref().expect("the failing resource");
    assert_eq!(
        (f.stack.as_str(), f.logical_id.as_str(), f.resource_type.as_str(), f.status.as_str(), f.reason.as_str()),
        (BACKEND, claim.as_str(), "AWS::IoT::Policy", "DELETE_FAILED", REASON)
    );
    assert_eq!(
        stack_results(r),
        [(BACKEND, "failed", Some("DELETE_FAILED")), (names.bootstrap_stack.as_str(), "not_reached", None)],
        "{r:#?}"
    );
    assert_eq!(r.account.as_deref(), Some(ACCOUNT));
    assert_eq!(
        calls_by_operation(r),
        BTreeMap::from([
            ("STS.GetCallerIdentity", 1),
            ("IoT.ListTargetsForPolicy", 1),
            ("Secrets Manager.GetSecretValue", 1),
            ("CloudFormation.DescribeStacks", 2),
            ("CloudFormation.GetTemplate", 1),
            ("CloudFormation.DescribeStackResources", 1),
            ("CloudFormation.DeleteStack", 1),
            ("CloudFormation.DescribeStackEvents", 1),
        ])
    );
    // local state: outputs.json described stacks that changed (removed); the record of what the stacks retain is
    // kept, read from the live stack (the next destroy deletes from it); no claim copy was there
    assert_eq!(r.did.outputs_file.action, "removed");
    assert!(!state.join("outputs.json").exists());
    assert_eq!(r.did.claim_copy, "none");
    let record = r.did.retained_record.as_ref().expect("retained.json");
    let kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    let kept: Vec<&str> =
        kept["stacks"][BACKEND].as_array().unwrap().iter().map(|x| x["physical_id"].as_str().unwrap()).collect();
    assert!(kept.contains(&table.2.as_str()), "{kept:?}");

    // the requests: the claim policy's targets, the claim secret, then the backend: described, its template as
    // deployed, its resources, DeleteStack with our ClientRequestToken, its events and status
    let reqs: Vec<_> = http.actual_requests().collect();
    assert_eq!(reqs.len(), 9);
    assert_eq!(reqs[1].uri(), format!("https://iot.us-east-1.amazonaws.com/policy-targets/{}", names.claim_policy));
    let secret: serde_json::Value = serde_json::from_slice(reqs[2].body().bytes().unwrap()).unwrap();
    assert_eq!(secret["SecretId"], names.claim_secret);
    let f: Vec<BTreeMap<String, String>> = reqs.iter().map(|r| fields(r)).collect();
    let actions: Vec<&str> = f[3..].iter().map(|x| x["Action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "DescribeStacks",
            "GetTemplate",
            "DescribeStackResources",
            "DeleteStack",
            "DescribeStackEvents",
            "DescribeStacks"
        ]
    );
    for x in &f[3..] {
        assert_eq!(x["StackName"], BACKEND, "{x:?}");
    }
    assert_eq!(f[4]["TemplateStage"], "Original", "the template as deployed");
    let token = &f[6]["ClientRequestToken"];
    let re = regex::Regex::new(&format!("^rainmaker-[0-9]{{13}}-destroy-{BACKEND}$")).unwrap();
    assert!(re.is_match(token) && token.len() <= 128, "our own token on DeleteStack: {token}");
    assert!(!f[6].contains_key("RetainResources"), "nothing skipped: the retained data stays by its DeletionPolicy");

    // as the CLI prints it: JSON (snapshot) and text
    let json = serde_json::to_string_pretty(&failed.report).unwrap();
    report_snapshot_settings(dir.path()).bind(|| insta::assert_snapshot!("failed-destroy-json", json));
    let text = rainmaker_deploy::commands::destroy::failure_text(&failed.report);
    assert!(text.starts_with("destroy failed; what it did:"), "{text}");
    assert!(
        text.contains(&format!("failed first: {claim} AWS::IoT::Policy")) && text.contains("attached to one or more"),
        "{text}"
    );
    assert!(text.contains(&format!("bootstrap  {:<32} not reached", names.bootstrap_stack)), "{text}");
    assert!(text.contains("removed ") && text.contains("retained.json"), "{text}");
}

#[test]
fn the_cli_prints_what_a_failed_destroy_did_on_stdout_and_the_error_on_stderr_exit_1() {
    use crate::support::{run, tempdir};
    use rainmaker_test_support::{Reply, ReplyServer};
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", TENANT, "--region", "us-east-1"]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    // every call answers as the account would, except DescribeStacks: the backend stack is already DELETE_FAILED
    // (an earlier destroy), and DeleteStack ends there again, the claim policy still attached
    let identity = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <Arn>arn:aws:iam::{ACCOUNT}:user/deployer</Arn><UserId>AIDA</UserId><Account>{ACCOUNT}</Account>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
    let ns = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
    let cfn = |action: &str, result: &str| {
        format!(
            "<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>1\
             </RequestId></ResponseMetadata></{action}Response>"
        )
    };
    let stack = format!(
        "<Stacks><member><StackName>{BACKEND}</StackName><StackId>{}</StackId><CreationTime>2026-11-02T09:12:44.181Z\
         </CreationTime><StackStatus>DELETE_FAILED</StackStatus></member></Stacks>",
        stack_id()
    );
    let template = "{\"Resources\": {\"ClaimPolicy\": {\"Type\": \"AWS::IoT::Policy\"}}}";
    let events = [
        event(
            BACKEND,
            "AWS::CloudFormation::Stack",
            "DELETE_FAILED",
            Some("The following resource(s) failed to delete: [ClaimPolicy]. "),
            &at(60),
        ),
        event("ClaimPolicy", "AWS::IoT::Policy", "DELETE_FAILED", Some(REASON), &at(59)),
        event(BACKEND, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", Some("User Initiated"), &at(58)),
    ];
    let bodies = [
        cfn("DescribeStacks", &stack),
        cfn("GetTemplate", &format!("<TemplateBody>{}</TemplateBody>", xml_escape(template))),
        cfn("DescribeStackResources", "<StackResources/>"),
        "<DeleteStackResponse><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DeleteStackResponse>"
            .into(),
        cfn("DescribeStackEvents", &format!("<StackEvents>{}</StackEvents>", events.concat())),
    ];
    let xml: &[(&str, &str)] = &[("Content-Type", "text/xml")];
    let json: &[(&str, &str)] = &[("Content-Type", "application/json")];
    let missing: &[(&str, &str)] =
        &[("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "ResourceNotFoundException")];
    let server = ReplyServer::start_routes(&[
        Reply { when: Some("Action=GetCallerIdentity"), status: 200, headers: xml, body: &identity },
        Reply { when: Some("/policy-targets/"), status: 200, headers: json, body: "{\"targets\": []}" },
        Reply {
            when: Some("SecretId"),
            status: 400,
            headers: missing,
            body: "{\"__type\": \"ResourceNotFoundException\", \"Message\": \"Secrets Manager can't find the specified secret.\"}",
        },
        Reply { when: Some("Action=DescribeStacks"), status: 200, headers: xml, body: &bodies[0] },
        Reply { when: Some("Action=GetTemplate"), status: 200, headers: xml, body: &bodies[1] },
        Reply { when: Some("Action=DescribeStackResources"), status: 200, headers: xml, body: &bodies[2] },
        Reply { when: Some("Action=DeleteStack"), status: 200, headers: xml, body: &bodies[3] },
        Reply { when: Some("Action=DescribeStackEvents"), status: 200, headers: xml, body: &bodies[4] },
    ]);
    let endpoint = server.endpoint_url();
    let cli = |extra: &[&str]| {
        let mut c = crate::support::cmd(d.path());
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", d.path().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", d.path().join("no-aws-credentials"))
            .args(["--endpoint-url", endpoint.as_str(), "destroy", "--yes"])
            .args(extra);
        crate::support::Run::from(c.output().unwrap())
    };
    let j = cli(&["--output", "json"]);
    assert_eq!(j.code, 1, "{}", j.transcript());
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap_or_else(|e| panic!("{e}: {}", j.transcript()));
    assert_eq!(v["error_code"], "rainmaker::deploy::delete_failed", "{v}");
    assert_eq!(
        (v["stacks"][0]["result"].as_str(), v["stacks"][0]["status"].as_str()),
        (Some("failed"), Some("DELETE_FAILED"))
    );
    assert_eq!(v["stacks"][1]["result"], "not_reached");
    assert_eq!(v["failing_resource"]["logical_id"], "ClaimPolicy");
    assert_eq!(v["failing_resource"]["reason"], REASON);
    assert!(v["api_calls"]["by_operation"]["CloudFormation.DeleteStack"].as_u64() == Some(1), "{v}");
    let e: serde_json::Value =
        serde_json::from_str(j.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", j.transcript()));
    assert!(e["error"]["message"].as_str().unwrap().contains("could not be deleted (DELETE_FAILED)"), "{e}");
    assert!(e["error"]["help"].as_str().unwrap().contains("`rainmaker-deploy destroy` again"), "{e}");
    let deletes: Vec<_> = server.received().into_iter().filter(|r| r.body.contains("Action=DeleteStack")).collect();
    assert_eq!(deletes.len(), 1, "one DeleteStack per run");
    assert!(
        deletes[0].body.contains(&format!("StackName={BACKEND}"))
            && deletes[0].body.contains("ClientRequestToken=rainmaker-"),
        "{:?}",
        deletes[0]
    );

    let text = cli(&[]);
    assert_eq!(text.code, 1, "{}", text.transcript());
    assert!(text.stdout.starts_with("destroy failed; what it did:"), "{}", text.transcript());
    assert!(text.stdout.contains("failed first: ClaimPolicy AWS::IoT::Policy"), "{}", text.transcript());
    assert!(text.stderr.contains("could not be deleted"), "{}", text.transcript());
}
