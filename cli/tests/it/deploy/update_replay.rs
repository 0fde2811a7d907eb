//! A whole successful `apply` UPDATE of a deployed tenant, through the CLI binary, against a scripted endpoint
//! ([`super::update_script`]) answering every service in the shapes of its API reference: STS, CloudFormation (the
//! account's listing over two pages, CreateChangeSet throttled once and retried, DescribeChangeSet pending then two
//! pages of `Changes`, GetStackPolicy, ExecuteChangeSet, DescribeStackEvents over two pages holding the previous
//! run's operation too (its last events 2 s before ours, inside the clock-skew margin, under its own token),
//! per-resource `UPDATE_IN_PROGRESS` / `UPDATE_COMPLETE`, the stack's final `UPDATE_COMPLETE` with its outputs,
//! SetStackPolicy), S3 (HeadObject 404 and PutObject of every new zip, the template over the inline limit), Secrets
//! Manager and IoT (the claim certificate kept) and the verification reads (DynamoDB, Lambda, IoT). Every request is
//! read back: stack names, change set type, capabilities, parameters, tags, template URL, the `ClientToken` equal
//! across the retry, the `ClientRequestToken`, each `NextToken` sent back exactly once, the policy calls; then the
//! command's output: the JSON report, and the per-resource progress and summary as text.

use super::cli::run_aws;
use super::fastpath::{expected_hash, ACCOUNT, BUCKET};
use super::policy::form_decode;
use super::update_script::{
    scene, API_URL, CERT_ID, CHANGES_2, ENDPOINT, EVENTS_2, LISTING_2, PAGE_1, PAGE_2, STACK, TENANT,
};
use crate::support::Run;
use rainmaker_deploy::aws::changeset::execute_token;
use rainmaker_deploy::aws::converge::HASH_TAG;
use rainmaker_deploy::aws::policy;
use rainmaker_deploy::aws::verify::base64_of_hex;
use rainmaker_test_support::Exchange;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `Service Operation` of a request: the query protocol's `Action`, a JSON protocol's `X-Amz-Target`, else the
/// method and path (REST: S3, IoT, Lambda).
fn label(e: &Exchange) -> String {
    let r = &e.request;
    let header = |k: &str| r.headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(a) = form(e).get("Action") {
        return a.clone();
    }
    if let Some(t) = header("x-amz-target") {
        return t;
    }
    let mut parts = r.request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    format!("{method} {}", path.split('?').next().unwrap_or_default())
}

/// The form fields of a query-protocol request (none for the other protocols).
fn form(e: &Exchange) -> BTreeMap<String, String> {
    let r = &e.request;
    let form = r.headers.iter().any(|(k, v)| k == "content-type" && v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return BTreeMap::new();
    }
    r.body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (form_decode(k), form_decode(v))).collect()
}

/// The `N`-indexed members of a query-protocol list: `prefix.member.N.<field>` for each N, in order.
fn members(f: &BTreeMap<String, String>, prefix: &str, a: &str, b: &str) -> Vec<(String, String)> {
    (1..)
        .map_while(|i| {
            let k = f.get(&format!("{prefix}.member.{i}.{a}"))?;
            Some((k.clone(), f.get(&format!("{prefix}.member.{i}.{b}")).cloned().unwrap_or_default()))
        })
        .collect()
}

fn json_report(r: &Run) -> Value {
    assert_eq!(r.code, 0, "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()))
}

#[test]
fn a_whole_update_apply_sends_what_the_api_reference_asks_and_reports_each_resource() {
    let s = scene();
    let dir = s.dir.path();
    let started = std::time::Instant::now();
    let out =
        run_aws(dir, &s.server.endpoint_url(), &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    let took = started.elapsed();
    let report = json_report(&out);
    let ex = s.server.exchanges();
    assert!(
        ex.iter().all(|e| e.answer.is_some()),
        "unscripted: {:?}",
        ex.iter().filter(|e| e.answer.is_none()).map(|e| &e.request.request_line).collect::<Vec<_>>()
    );
    assert_eq!(s.server.left_over(), Vec::<usize>::new(), "every scripted answer was asked for");

    // the calls, in order
    let labels: Vec<String> = ex.iter().map(label).collect();
    let mut expected: Vec<String> =
        ["GetCallerIdentity", "DescribeStacks", "DescribeStacks"].map(String::from).to_vec();
    for (f, sha) in &s.hashes {
        expected.push(format!("HEAD /{BUCKET}/lambdas/{f}/{sha}.zip"));
        expected.push(format!("PUT /{BUCKET}/lambdas/{f}/{sha}.zip"));
    }
    let template_key =
        format!("templates/backend/{}.yaml", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(s.body.as_bytes())));
    expected.push(format!("PUT /{BUCKET}/{template_key}"));
    expected.extend(
        [
            "CreateChangeSet",
            "CreateChangeSet",
            "DescribeChangeSet",
            "DescribeChangeSet",
            "DescribeChangeSet",
            "GetStackPolicy",
            "ExecuteChangeSet",
            "DescribeStackEvents",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStacks",
            "SetStackPolicy",
            "secretsmanager.GetSecretValue",
        ]
        .map(String::from),
    );
    expected.push(format!("POST /policy-targets/rm-{TENANT}-claim"));
    expected.push(format!("GET /certificates/{CERT_ID}"));
    let verify: Vec<&String> = labels.iter().skip(expected.len()).collect();
    assert_eq!(labels[..expected.len()], expected[..], "{labels:#?}");
    assert_eq!(verify.iter().filter(|l| l.as_str() == "DynamoDB_20120810.DescribeTable").count(), 6, "{verify:?}");
    assert_eq!(verify.iter().filter(|l| l.starts_with("GET /2015-03-31/functions/")).count(), 5, "{verify:?}");
    assert_eq!(verify.iter().filter(|l| l.starts_with("GET /policies/")).count(), 2, "{verify:?}");
    // the encryption read-back (aws-managed): each log group, the queue, both key secrets
    assert_eq!(verify.iter().filter(|l| l.as_str() == "Logs_20140328.DescribeLogGroups").count(), 7, "{verify:?}");
    assert_eq!(verify.iter().filter(|l| l.starts_with("AmazonSQS.")).count(), 2, "{verify:?}");
    assert_eq!(verify.iter().filter(|l| l.as_str() == "secretsmanager.DescribeSecret").count(), 2, "{verify:?}");
    assert_eq!(verify.len(), 13 + 11, "nothing else: {verify:?}");
    let n = |label: &str| ex.iter().position(|e| self::label(e) == label).unwrap();
    let all = |label: &str| ex.iter().filter(|e| self::label(e) == label).map(form).collect::<Vec<_>>();

    // the account's listing: no stack name, then exactly the token page 1 gave
    let listing = all("DescribeStacks");
    assert!(!listing[0].contains_key("StackName") && !listing[0].contains_key("NextToken"), "{:?}", listing[0]);
    assert_eq!((listing[1].get("NextToken").map(String::as_str), listing[1].get("StackName")), (Some(LISTING_2), None));
    assert!(listing[2..].iter().all(|f| f["StackName"] == STACK), "{listing:?}");

    // the zips: each with the SHA-256 S3 checks, under its content-hash key
    for (f, sha) in &s.hashes {
        let put =
            ex.iter().find(|e| e.request.request_line.starts_with(&format!("PUT /{BUCKET}/lambdas/{f}/"))).unwrap();
        let checksum = put.request.headers.iter().find(|(k, _)| k == "x-amz-checksum-sha256").map(|(_, v)| v.clone());
        assert_eq!(checksum, Some(base64_of_hex(sha)), "{f}");
    }
    let template_put = &ex[n(&format!("PUT /{BUCKET}/{template_key}"))].request;
    assert_eq!(template_put.body, s.body, "the whole template is uploaded");

    // CreateChangeSet, field by field, and its retry identical (same name, same ClientToken)
    let creates = all("CreateChangeSet");
    assert_eq!(creates[0], creates[1], "the SDK's retry after the throttling error sends the same request");
    let create = &creates[0];
    let name = create["ChangeSetName"].clone();
    assert!(name.starts_with("rainmaker-") && name.len() == "rainmaker-".len() + 13, "{name}");
    assert_eq!(create["ClientToken"], name);
    assert_eq!(create["StackName"], STACK);
    assert_eq!(create["ChangeSetType"], "UPDATE");
    assert_eq!(create["Capabilities.member.1"], "CAPABILITY_IAM");
    assert!(!create.contains_key("Capabilities.member.2"));
    assert_eq!(create["TemplateURL"], format!("https://s3.us-east-1.amazonaws.com/{BUCKET}/{template_key}"));
    assert!(!create.contains_key("TemplateBody"), "one or the other");
    let sent_params: BTreeMap<String, String> =
        members(create, "Parameters", "ParameterKey", "ParameterValue").into_iter().collect();
    assert_eq!(sent_params, s.params, "bucket, endpoint, every new key and the version S3 gave it");
    let sent_tags: BTreeMap<String, String> = members(create, "Tags", "Key", "Value").into_iter().collect();
    assert_eq!(sent_tags, s.tags, "the config's tags, tenant, template version and the new hash");
    assert_eq!(sent_tags[HASH_TAG], expected_hash(&s.body, &s.params));
    assert!(!create.keys().any(|k| k.starts_with("RollbackConfiguration")), "no bake, none saved: {create:?}");

    // DescribeChangeSet: the same change set; the second page asked with exactly the first page's token
    let describes = all("DescribeChangeSet");
    assert!(describes.iter().all(|d| d["ChangeSetName"] == name && d["StackName"] == STACK), "{describes:?}");
    let tokens: Vec<Option<&str>> = describes.iter().map(|d| d.get("NextToken").map(String::as_str)).collect();
    assert_eq!(tokens, [None, None, Some(CHANGES_2)], "pending (asked again from the start), page 1, page 2");

    // the stack policy read before, set back after; executed with our request token
    let read = &all("GetStackPolicy")[0];
    assert_eq!(read["StackName"], STACK);
    let exec = &all("ExecuteChangeSet")[0];
    assert_eq!((exec["StackName"].as_str(), exec["ChangeSetName"].as_str()), (STACK, name.as_str()));
    assert_eq!(exec["ClientRequestToken"], execute_token(&name, STACK));
    let set = &all("SetStackPolicy")[0];
    assert_eq!(set["StackName"], STACK);
    assert!(policy::same(Some(&set["StackPolicyBody"]), &policy::protecting(&s.data)), "{set:?}");
    assert!(policy::unprotected(Some(&set["StackPolicyBody"]), &s.data).is_empty());

    // the events: the first poll's second page asked with exactly its token; the older page's own token never
    let polls = all("DescribeStackEvents");
    assert!(polls.iter().all(|p| p["StackName"] == STACK), "{polls:?}");
    let tokens: Vec<Option<&str>> = polls.iter().map(|p| p.get("NextToken").map(String::as_str)).collect();
    assert_eq!(
        tokens,
        [None, Some(EVENTS_2), None],
        "page 2 is older than this run: no page 3; the next poll starts over"
    );

    // the JSON report
    assert_eq!(report["changed"], true);
    assert_eq!((report["tenant"].as_str(), report["account"].as_str()), (Some(TENANT), Some(ACCOUNT)));
    let backend = &report["stacks"][1];
    assert_eq!(
        (report["stacks"][0]["result"].as_str(), backend["result"].as_str()),
        (Some("unchanged"), Some("updated"))
    );
    assert_eq!(backend["status"], "UPDATE_COMPLETE");
    assert_eq!(backend["plan"]["kind"], "update");
    assert_eq!(backend["plan"]["change_set"], name);
    let rows: Vec<Value> = backend["plan"]["changes"].as_array().unwrap().clone();
    let ids: Vec<&str> = rows.iter().map(|c| c["logical_id"].as_str().unwrap()).collect();
    let wanted: Vec<&str> = PAGE_1.iter().chain(PAGE_2).map(|(l, _)| *l).collect();
    assert_eq!(ids, wanted, "both pages, in order, nothing else");
    for c in &rows {
        assert_eq!(
            (c["action"].as_str(), c["replacement"].as_str(), c["stateful"].as_bool()),
            (Some("Modify"), Some("False"), Some(false)),
            "{c}"
        );
    }
    assert_eq!(rows[0]["details"], json!(["Properties.MemorySize", "Properties.Code"]));
    assert_eq!(rows[0]["physical_id"], "rm-acme-home-api");
    assert_eq!(rows[0]["description"].as_str().map(|d| !d.is_empty()), Some(true), "{}", rows[0]);
    let arts = report["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 5);
    for a in arts {
        let f = a["function"].as_str().unwrap();
        assert_eq!((a["uploaded"].as_bool(), a["reason"].as_str()), (Some(true), Some("missing")), "{a}");
        assert_eq!(a["version_id"], format!("Uv2.{f}.3sL4kqtJlcpXroDTDmJ"));
    }
    let checks = report["verification"].as_array().unwrap();
    // 13 + the encryption of 6 tables, 5 functions, 7 log groups, the queue and 2 secrets
    assert_eq!(checks.len(), 13 + 21);
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    assert_eq!(report["outputs"]["ApiUrl"], API_URL);
    assert_eq!(report["outputs"]["IotEndpoint"], ENDPOINT);
    assert_eq!(report["outputs"]["ClaimCertificateId"], CERT_ID);
    assert_eq!(report["claim_certificate"]["created"], false);
    // (relative to the config's directory, where the CLI ran)
    let file = dir.join(report["outputs_file"].as_str().unwrap());
    assert!(file.ends_with(format!(".rainmaker/{ACCOUNT}/us-east-1/{TENANT}/outputs.json")), "{}", file.display());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, report["outputs"]);
    // one call per operation counted once, the throttled attempt not a second call
    assert_eq!(report["api_calls"]["total"], ex.len() - 1, "{}", report["api_calls"]);
    let ops = &report["api_calls"]["by_operation"];
    assert_eq!(
        (ops["CloudFormation.CreateChangeSet"].as_u64(), ops["CloudFormation.DescribeStackEvents"].as_u64()),
        (Some(1), Some(3)),
        "{ops}"
    );
    eprintln!("update apply replayed: {} requests ({} calls), {took:?}", ex.len(), report["api_calls"]["total"]);
}

#[test]
fn the_text_output_streams_each_resource_of_this_update_and_none_of_the_last() {
    let s = scene();
    let out = run_aws(s.dir.path(), &s.server.endpoint_url(), &["apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    // per-resource rows, oldest first, as `  [  1.2s] STATUS  LogicalId  description`
    let rows: Vec<(String, String)> = out
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('[')?.split_once("] ").map(|(_, rest)| rest.to_string()))
        .map(|rest| {
            let mut w = rest.split_whitespace();
            (w.next().unwrap_or_default().to_string(), w.next().unwrap_or_default().to_string())
        })
        .collect();
    let row = |s: &str, l: &str| (s.to_string(), l.to_string());
    let expected = vec![
        row("UPDATE_IN_PROGRESS", STACK),
        row("UPDATE_IN_PROGRESS", "ApiFunction"),
        row("UPDATE_IN_PROGRESS", "WebAcl"),
        row("UPDATE_IN_PROGRESS", "BindingConfirmFunction"),
        row("UPDATE_IN_PROGRESS", "PresenceFunction"),
        row("UPDATE_IN_PROGRESS", "ProvisioningHookFunction"),
        row("UPDATE_IN_PROGRESS", "TelemetryIngestFunction"),
        row("UPDATE_COMPLETE", "ApiFunction"),
        row("UPDATE_COMPLETE", "BindingConfirmFunction"),
        row("UPDATE_COMPLETE", "PresenceFunction"),
        row("UPDATE_COMPLETE", "ProvisioningHookFunction"),
        row("UPDATE_COMPLETE", "TelemetryIngestFunction"),
        row("UPDATE_COMPLETE", "WebAcl"),
        row("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", STACK),
        row("UPDATE_COMPLETE", STACK),
    ];
    assert_eq!(rows, expected, "{}", out.stderr);
    assert!(!out.stderr.contains("DeadLetterQueue"), "the previous run's events are not this run's: {}", out.stderr);
    assert!(out.stderr.contains(&format!("= {STACK}: UPDATE_COMPLETE")), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{STACK} (backend): update, 6 changes")), "the plan is shown: {}", out.stderr);
    // the summary on stdout
    let summary: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        summary[0].split_whitespace().collect::<Vec<_>>(),
        ["bootstrap", "rm-acme-home-bootstrap", "unchanged", "(update_complete)"]
    );
    assert_eq!(summary[1].split_whitespace().collect::<Vec<_>>(), ["backend", STACK, "updated", "(update_complete)"]);
    assert!(out.stdout.contains("artifacts: 5 uploaded, 0 already in the bucket"), "{}", out.stdout);
    assert!(out.stdout.contains("verified: 34/34 resources through their own APIs"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("ApiUrl                     {API_URL}")), "{}", out.stdout);
}
