//! The scripted answers of [`super::update_replay`]: a tenant deployed last week (blueprint config, v1 zips) whose
//! rainmaker.yaml and zips changed since, and every answer its `apply` UPDATE gets, shaped like each service's API
//! reference (see there for what is asserted).

use super::adopt_replay::table_body;
use super::fastpath::{caller_identity_body, expected_hash, stack_id, stack_member_with, xml_escape, ACCOUNT, BUCKET};
use super::fixtures::{edit_config, write_artifacts};
use super::replay::{at, event_of, ok_body};
use crate::support::{run, tempdir};
use rainmaker_deploy::aws::converge::{HASH_TAG, MAX_TEMPLATE_BODY};
use rainmaker_deploy::aws::plan::TemplateInfo;
use rainmaker_deploy::aws::verify::base64_of_hex;
use rainmaker_deploy::aws::{artifacts, deploy, policy, sdk::Tenant};
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{Answer, ScriptServer};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) const TENANT: &str = "acme-home";
pub(super) const STACK: &str = "rm-acme-home";
pub(super) const ENDPOINT: &str = "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com";
pub(super) const CERT_ID: &str = "f0ac6b2f3a8c1e8d6d3a3f5e2c1b0a9f8e7d6c5b4a3928170605f4e3d2c1b0a9";
pub(super) const API_URL: &str = "https://k3x9q2w1z7.execute-api.us-east-1.amazonaws.com/v1";
/// Page tokens as the API hands them out (base64: `+`, `/` and `=` travel percent-encoded).
pub(super) const LISTING_2: &str = "AAEAAVr4ZtGd+6qT/listing==";
pub(super) const CHANGES_2: &str = "AAEAAZc3jK+9Fq/pQchanges==";
pub(super) const EVENTS_2: &str = "AAEAAQs6Lx+0Wd/events2==";
pub(super) const EVENTS_3: &str = "AAEAAQs6Lx+0Wd/events3==";
/// The resources the change set modifies: page 1, then page 2.
pub(super) const PAGE_1: &[(&str, &str)] = &[
    ("ApiFunction", "AWS::Lambda::Function"),
    ("BindingConfirmFunction", "AWS::Lambda::Function"),
    ("PresenceFunction", "AWS::Lambda::Function"),
];
pub(super) const PAGE_2: &[(&str, &str)] = &[
    ("ProvisioningHookFunction", "AWS::Lambda::Function"),
    ("TelemetryIngestFunction", "AWS::Lambda::Function"),
    ("WebAcl", "AWS::WAFv2::WebACL"),
];

/// `%XX`-encode a form value as the SDK does.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query(when: &[&str], action: &str, result: &str) -> Answer {
    Answer::new(when, ok_body(action, result)).header("Content-Type", "text/xml")
}

fn cfn(action: &str, result: &str) -> Answer {
    query(&[&format!("Action={action}&")], action, result)
}

fn rest_json(when: &[&str], body: Value) -> Answer {
    Answer::new(when, body.to_string()).header("Content-Type", "application/json")
}

fn target_json(target: &str, also: &[&str], kind: &str, body: Value) -> Answer {
    let header = format!("x-amz-target: {target}");
    let mut when = vec![header.as_str()];
    when.extend(also);
    Answer::new(&when, body.to_string()).header("Content-Type", kind)
}

/// One `Changes` member: a Modify without replacement, what DescribeChangeSet documents for a property change
/// (the functions' memory and code, the web ACL's rules).
fn change(logical: &str, rtype: &str) -> String {
    let physical = match rtype {
        "AWS::Lambda::Function" => {
            let f = logical.trim_end_matches("Function");
            let kebab: String = f
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let lower = c.to_ascii_lowercase();
                    if c.is_ascii_uppercase() && i > 0 {
                        vec!['-', lower]
                    } else {
                        vec![lower]
                    }
                })
                .collect();
            format!("{STACK}-{kebab}")
        }
        _ => format!("{STACK}-api-acl|0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0|REGIONAL"),
    };
    let details: &[(&str, &str, &str)] = match rtype {
        "AWS::Lambda::Function" => {
            &[("MemorySize", "Static", "DirectModification"), ("Code", "Dynamic", "ParameterReference")]
        }
        _ => &[("Rules", "Static", "DirectModification")],
    };
    let details: String = details
        .iter()
        .map(|(name, eval, source)| {
            format!(
                "<member><Target><Attribute>Properties</Attribute><Name>{name}</Name><RequiresRecreation>Never</RequiresRecreation>\
                 </Target><Evaluation>{eval}</Evaluation><ChangeSource>{source}</ChangeSource></member>"
            )
        })
        .collect();
    format!(
        "<member><Type>Resource</Type><ResourceChange><PolicyAction>ReplaceAndUpdate</PolicyAction><Action>Modify</Action>\
         <LogicalResourceId>{logical}</LogicalResourceId><PhysicalResourceId>{physical}</PhysicalResourceId>\
         <ResourceType>{rtype}</ResourceType><Replacement>False</Replacement><Scope><member>Properties</member></Scope>\
         <Details>{details}</Details></ResourceChange></member>"
    )
}

fn change_set_page(status: &str, rows: &[(&str, &str)], next: Option<&str>) -> String {
    let changes: String = rows.iter().map(|(l, t)| change(l, t)).collect();
    let next = next.map(|t| format!("<NextToken>{t}</NextToken>")).unwrap_or_default();
    let execution = if status == "CREATE_COMPLETE" { "AVAILABLE" } else { "UNAVAILABLE" };
    format!(
        "<ChangeSetName>${{ChangeSetName}}</ChangeSetName>\
         <ChangeSetId>arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/${{ChangeSetName}}/7f3c2b1a-0000-4d5e-8f90-a1b2c3d4e5f6</ChangeSetId>\
         <StackId>{}</StackId><StackName>{STACK}</StackName><Description>rainmaker-deploy</Description>\
         <CreationTime>{}</CreationTime><ExecutionStatus>{execution}</ExecutionStatus><Status>{status}</Status>\
         <NotificationARNs/><Capabilities><member>CAPABILITY_IAM</member></Capabilities>\
         <IncludeNestedStacks>false</IncludeNestedStacks><Changes>{changes}</Changes>{next}",
        stack_id(STACK),
        at(0)
    )
}

/// The tenant as deployed last week (blueprint config, v1 zips) and as it is now on disk (a config change, v2 zips),
/// with the script that answers its update.
pub(super) struct Scene {
    pub(super) dir: tempfile::TempDir,
    pub(super) server: ScriptServer,
    /// The rendered backend template (over the inline limit: passed by URL).
    pub(super) body: String,
    /// The backend parameters the update sends: bucket, endpoint, the new keys and the versions S3 gave.
    pub(super) params: BTreeMap<String, String>,
    pub(super) tags: BTreeMap<String, String>,
    /// function -> hex SHA-256 of its v2 zip.
    pub(super) hashes: BTreeMap<String, String>,
    pub(super) data: Vec<String>,
}

fn outputs_of(template: &Value, names: &Names) -> BTreeMap<String, String> {
    template["Outputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, o)| {
            let v = match (k.as_str(), &o["Value"]) {
                (_, Value::String(s)) => s.clone(),
                ("ApiUrl", _) => API_URL.to_string(),
                ("UserPoolId", _) => "us-east-1_Qw3rTy7Ui".to_string(),
                ("UserPoolClientId", _) => "4k1c2q8r7s6t5u4v3w2x1y0z9a".to_string(),
                (k, _) if k.ends_with("AlarmArn") => {
                    format!(
                        "arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{}-{}",
                        names.prefix,
                        k.trim_end_matches("Arn")
                    )
                }
                (k, _) if k.ends_with("SecretArn") => {
                    format!(
                        "arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{}-{}-a1B2c3",
                        names.prefix,
                        k.to_lowercase()
                    )
                }
                ("DeadLetterQueueUrl", _) => {
                    format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{}-rule-errors", names.prefix)
                }
                (k, v) => v["Ref"]
                    .as_str()
                    .map_or_else(|| format!("{k}-value"), |r| format!("{}-{}", names.prefix, r.to_lowercase())),
            };
            (k.clone(), v)
        })
        .collect()
}

pub(super) fn scene() -> Scene {
    let dir = tempdir();
    let init = run(dir.path(), &["init", "--name", TENANT, "--region", "us-east-1"]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    let old_cfg = rainmaker_deploy::config::load(&dir.path().join("rainmaker.yaml")).unwrap();
    let cfg = edit_config(
        dir.path(),
        &[("memory_mb: 128", "memory_mb: 256"), ("waf_rate_limit: 2000", "waf_rate_limit: 1500")],
    );
    let old_zips = tempdir();
    let old: BTreeMap<String, String> = write_artifacts(old_zips.path(), "v1").into_iter().collect();
    let hashes: BTreeMap<String, String> = write_artifacts(&dir.path().join("artifacts"), "v2").into_iter().collect();
    let tenant = |config| Tenant {
        config,
        sdk: aws_config::SdkConfig::builder().build(),
        config_dir: dir.path().to_path_buf(),
        artifacts_dir: dir.path().join("artifacts"),
    };
    let (before, now) = (deploy::prepare(&tenant(old_cfg)).unwrap(), deploy::prepare(&tenant(cfg.clone())).unwrap());
    let names = Names::new(TENANT);
    let (boot, body) = (now.bootstrap.0.body.clone(), now.backend.0.body.clone());
    assert!(body.len() > MAX_TEMPLATE_BODY, "the backend goes by TemplateURL ({} bytes)", body.len());
    let base = deploy::stack_tags(&tenant(cfg));
    let tagged = |hash: String| {
        let mut t = base.clone();
        t.insert(HASH_TAG.into(), hash);
        t
    };
    let params = |hashes: &BTreeMap<String, String>, version: &dyn Fn(&str) -> String| {
        let mut p = BTreeMap::from([
            ("ArtifactsBucket".to_string(), BUCKET.to_string()),
            ("IotDataEndpoint".to_string(), ENDPOINT.to_string()),
        ]);
        for (f, sha) in hashes {
            let key = artifacts::parameter_for(f);
            p.insert(artifacts::version_parameter_for(&key), version(f));
            p.insert(key, format!("lambdas/{f}/{sha}.zip"));
        }
        p
    };
    let new_version = |f: &str| format!("Uv2.{f}.3sL4kqtJlcpXroDTDmJ");
    let (old_params, new_params) =
        (params(&old, &|f| format!("Uv1.{f}.9aB8cD7eF6gH5iJ4")), params(&hashes, &new_version));
    let outputs = outputs_of(&now.backend.2, &names);
    let boot_outputs = BTreeMap::from([
        ("ArtifactsBucketName".to_string(), BUCKET.to_string()),
        ("TemplateVersion".to_string(), rainmaker_deploy::TEMPLATE_VERSION.to_string()),
    ]);
    let boot_member = stack_member_with(
        &format!("{STACK}-bootstrap"),
        "UPDATE_COMPLETE",
        &BTreeMap::new(),
        &tagged(expected_hash(&boot, &BTreeMap::new())),
        &boot_outputs,
    );
    let deployed = stack_member_with(
        STACK,
        "UPDATE_COMPLETE",
        &old_params,
        &tagged(expected_hash(&before.backend.0.body, &old_params)),
        &outputs,
    );
    let new_tags = tagged(expected_hash(&body, &new_params));
    let updating = stack_member_with(STACK, "UPDATE_IN_PROGRESS", &old_params, &new_tags, &outputs);
    let updated = stack_member_with(STACK, "UPDATE_COMPLETE", &new_params, &new_tags, &outputs);
    let other = format!(
        "<member><StackId>arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/network/0c1d2e3f-0000-11ef-9f0a-0a1b2c3d4e5f</StackId>\
         <StackName>network</StackName><CreationTime>2025-03-01T08:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>\
         <DisableRollback>false</DisableRollback></member>"
    );
    let data = TemplateInfo::from_template(&now.backend.2).data_resources();
    let stack = (STACK, stack_id(STACK));
    let ours = "${ChangeSetName}-rm-acme-home";
    // stamped relative to the arrival of ExecuteChangeSet (`${t±N}`, the server's anchor)
    let ev = |logical: &str, rtype: &str, status: &str, reason: Option<&str>, secs: i64, token: &str| {
        event_of((stack.0, &stack.1), logical, rtype, status, reason, &format!("${{t{secs:+}}}"), token)
    };
    const FN: &str = "AWS::Lambda::Function";
    const CFN: &str = "AWS::CloudFormation::Stack";
    // the first poll: the update has started (newest first); below it the end of the previous run's update, which
    // finished 2 s before ours was sent (inside the clock-skew margin, under its own token); a token to the next page
    let previous = "rainmaker-1765100000000-rm-acme-home";
    let started = [
        ev("WebAcl", "AWS::WAFv2::WebACL", "UPDATE_IN_PROGRESS", None, 2, ours),
        ev("ApiFunction", FN, "UPDATE_IN_PROGRESS", None, 1, ours),
        ev(STACK, CFN, "UPDATE_IN_PROGRESS", Some("User Initiated"), 0, ours),
        ev(STACK, CFN, "UPDATE_COMPLETE", None, -2, previous),
        ev(STACK, CFN, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None, -3, previous),
    ];
    // the next page: the rest of the previous run's update, older than this run
    let earlier = [
        ev("DeadLetterQueue", "AWS::SQS::Queue", "UPDATE_COMPLETE", None, -30, previous),
        ev("DeadLetterQueue", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS", None, -35, previous),
        ev(STACK, CFN, "UPDATE_IN_PROGRESS", Some("User Initiated"), -40, previous),
    ];
    // the second poll: the rest, newest first, down to what the first poll saw
    let mut finished = vec![
        ev(STACK, CFN, "UPDATE_COMPLETE", None, 9, ours),
        ev(STACK, CFN, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None, 8, ours),
        ev("WebAcl", "AWS::WAFv2::WebACL", "UPDATE_COMPLETE", None, 7, ours),
        ev("TelemetryIngestFunction", FN, "UPDATE_COMPLETE", None, 6, ours),
        ev("ProvisioningHookFunction", FN, "UPDATE_COMPLETE", None, 6, ours),
        ev("PresenceFunction", FN, "UPDATE_COMPLETE", None, 5, ours),
        ev("BindingConfirmFunction", FN, "UPDATE_COMPLETE", None, 5, ours),
        ev("ApiFunction", FN, "UPDATE_COMPLETE", None, 4, ours),
        ev("TelemetryIngestFunction", FN, "UPDATE_IN_PROGRESS", None, 3, ours),
        ev("ProvisioningHookFunction", FN, "UPDATE_IN_PROGRESS", None, 3, ours),
        ev("PresenceFunction", FN, "UPDATE_IN_PROGRESS", None, 3, ours),
        ev("BindingConfirmFunction", FN, "UPDATE_IN_PROGRESS", None, 3, ours),
    ];
    finished.extend(started.iter().cloned());
    let events = |members: &[String], next: Option<&str>| {
        let next = next.map(|t| format!("<NextToken>{t}</NextToken>")).unwrap_or_default();
        format!("<StackEvents>{}</StackEvents>{next}", members.concat())
    };
    let policy_body = format!("<StackPolicyBody>{}</StackPolicyBody>", xml_escape(&policy::protecting(&data)));
    let throttled = String::from(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
         <Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>5ad7e5d8-0000-4b6c-8e9f-example</RequestId></ErrorResponse>"
    );
    let cert_arn = format!("arn:aws:iot:us-east-1:{ACCOUNT}:cert/{CERT_ID}");
    let stored = json!({
        "certificate_id": CERT_ID, "certificate_arn": cert_arn,
        "certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfake\n-----END CERTIFICATE-----\n",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAfake\n-----END PRIVATE KEY-----\n",
        "policy": names.claim_policy, "retiring": []
    });
    let secret = json!({
        "ARN": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{}-Xy9Zab", names.claim_secret),
        "Name": names.claim_secret, "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222",
        "SecretString": stored.to_string(), "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7301e9
    });
    let bucket_path = format!("/{BUCKET}/");
    let mut script = vec![
        Answer::new(&["Action=GetCallerIdentity&"], caller_identity_body()).header("Content-Type", "text/xml"),
        // the account's listing: the bootstrap stack and another team's on page 1, the backend on page 2
        query(&["Action=DescribeStacks&", &format!("NextToken={}", form_encode(LISTING_2))], "DescribeStacks", &format!("<Stacks>{deployed}</Stacks>")).once(),
        query(&["Action=DescribeStacks&"], "DescribeStacks", &format!("<Stacks>{boot_member}{other}</Stacks><NextToken>{LISTING_2}</NextToken>")).once(),
        // the backend while the update runs, then done (with its outputs)
        query(&["Action=DescribeStacks&", &format!("StackName={STACK}")], "DescribeStacks", &format!("<Stacks>{updating}</Stacks>")).once(),
        query(&["Action=DescribeStacks&", &format!("StackName={STACK}")], "DescribeStacks", &format!("<Stacks>{updated}</Stacks>")),
        // the template, over the inline limit, into the artifacts bucket
        Answer::new(&[&format!("PUT {bucket_path}templates/backend/")], "").header("ETag", "\"5d41402abc4b2a76b9719d911017c592\"").once(),
        // the change set: throttled once (the SDK retries with the same token), pending, then two pages
        Answer::new(&["Action=CreateChangeSet&"], throttled).status(400).header("Content-Type", "text/xml").once(),
        cfn("CreateChangeSet", &format!("<Id>arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/${{ChangeSetName}}/7f3c2b1a-0000-4d5e-8f90-a1b2c3d4e5f6</Id><StackId>{}</StackId>", stack_id(STACK))).once(),
        query(&["Action=DescribeChangeSet&", &format!("NextToken={}", form_encode(CHANGES_2))], "DescribeChangeSet", &change_set_page("CREATE_COMPLETE", PAGE_2, None)).once(),
        cfn("DescribeChangeSet", &change_set_page("CREATE_PENDING", &[], None)).once(),
        cfn("DescribeChangeSet", &change_set_page("CREATE_COMPLETE", PAGE_1, Some(CHANGES_2))).once(),
        cfn("GetStackPolicy", &policy_body).once(),
        cfn("ExecuteChangeSet", "").once(),
        query(&["Action=DescribeStackEvents&", &format!("NextToken={}", form_encode(EVENTS_2))], "DescribeStackEvents", &events(&earlier, Some(EVENTS_3))).once(),
        cfn("DescribeStackEvents", &events(&started, Some(EVENTS_2))).once(),
        cfn("DescribeStackEvents", &events(&finished, Some(EVENTS_2))).once(),
        cfn("SetStackPolicy", "").once(),
        // the claim certificate the secret records: ACTIVE, attached
        target_json("secretsmanager.GetSecretValue", &[], "application/x-amz-json-1.1", secret).once(),
        rest_json(&[&format!("POST /policy-targets/{}", names.claim_policy)], json!({"targets": [cert_arn]})).once(),
        rest_json(&[&format!("GET /certificates/{CERT_ID}")], json!({"certificateDescription": {
            "certificateArn": cert_arn, "certificateId": CERT_ID, "status": "ACTIVE",
            "certificatePem": stored["certificate_pem"], "ownedBy": ACCOUNT, "creationDate": 1.7301e9,
            "lastModifiedDate": 1.7301e9, "customerVersion": 1, "generationId": "e0d4b6b7-0f5a-4c4b-8e0e-6b7c4f3a2d1e",
            "validity": {"notBefore": 1.7301e9, "notAfter": 2.5e9}, "certificateMode": "DEFAULT"
        }})).once(),
        // the verification reads: both IoT policies
        rest_json(&["GET /policies/"], json!({"policyName": names.device_policy, "policyArn": format!("arn:aws:iot:us-east-1:{ACCOUNT}:policy/{}", names.device_policy), "policyDocument": "{}", "defaultVersionId": "1", "creationDate": 1.7301e9, "lastModifiedDate": 1.7301e9, "generationId": "0a1b"})).times(2),
    ];
    // every zip: not in the bucket yet (HEAD 404, no body), then uploaded, S3 answering the version it made
    for (f, sha) in &hashes {
        let key = format!("{bucket_path}lambdas/{f}/{sha}.zip");
        script.push(Answer::new(&[&format!("HEAD {key}")], "").status(404).once());
        script.push(
            Answer::new(&[&format!("PUT {key}")], "")
                .header("ETag", "\"9b2cf535f27731c974343645a3985328\"")
                .header("x-amz-version-id", &new_version(f))
                .header("x-amz-checksum-sha256", &base64_of_hex(sha))
                .once(),
        );
        let function = format!("{}-{f}", names.prefix);
        script.push(rest_json(&[&format!("GET /2015-03-31/functions/{function}")], json!({
            "Configuration": {"FunctionName": function, "FunctionArn": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}"),
                "Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": 256, "Timeout": 10,
                "CodeSha256": base64_of_hex(sha), "CodeSize": 200, "Version": "$LATEST", "State": "Active",
                "LastUpdateStatus": "Successful", "Architectures": ["arm64"], "PackageType": "Zip"},
            "Code": {"RepositoryType": "S3", "Location": "https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/snapshots/x"}
        })).once());
    }
    for (_, r) in
        now.backend.2["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
    {
        let name = r["Properties"]["TableName"].as_str().unwrap();
        let when = format!("\"TableName\":\"{name}\"");
        script.push(
            target_json(
                "DynamoDB_20120810.DescribeTable",
                &[&when],
                "application/x-amz-json-1.0",
                table_body(&r["Properties"]),
            )
            .once(),
        );
    }
    let x = rainmaker_deploy::aws::verify::Expectations::from_template(&now.backend.2);
    script.extend(super::encryption_replay::aws_managed_store_answers(&x));
    let server = ScriptServer::start_anchored(script, Some("Action=ExecuteChangeSet&"));
    Scene { dir, server, body, params: new_params, tags: new_tags, hashes, data }
}
