//! The no-op fast path of `apply` against responses shaped like the STS, CloudFormation and IoT API references:
//! a tenant whose stacks carry the `rainmaker:template-sha256` tag of what we would deploy costs three calls
//! (GetCallerIdentity, the account's DescribeStacks listing, DescribeCertificate) and no template is fetched; a
//! stack deployed before the tag existed is compared by its template (GetTemplate, `Original`). Each request is
//! read back: action, stack name (none: the account's listing), template stage, certificate path.

use super::fixtures::{fast_wait, write_artifacts};
use super::policy::form_decode;
use super::replay::{ok, replay_sdk};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::artifacts;
use rainmaker_deploy::aws::converge::StackResult;
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub(super) const ACCOUNT: &str = "123456789012";
pub(super) const TENANT: &str = "acme-home";
const CERT_ID: &str = "f0ac6b2f3a8c1e8d6d3a3f5e2c1b0a9f8e7d6c5b4a3928170605f4e3d2c1b0a9";
const ENDPOINT: &str = "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com";
pub(super) const BUCKET: &str = "rm-acme-home-bootstrap-artifactsbucket-1x2y3z4w5v6u";

pub(super) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// SHA-256 of the template text, then `\n<key>=<value>` per parameter in key order: the tag's documented format,
/// computed here independently of the core.
pub(super) fn expected_hash(body: &str, parameters: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    for (k, v) in parameters {
        h.update(format!("\n{k}={v}").as_bytes());
    }
    hex::encode(h.finalize())
}

/// One `Stacks` member as DescribeStacks documents it: parameters, tags and every output of `template`.
pub(super) fn stack_member(
    name: &str,
    parameters: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    template: &serde_json::Value,
) -> String {
    let outputs: BTreeMap<String, String> = template["Outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| {
            let v = if k == "ArtifactsBucketName" { BUCKET.to_string() } else { format!("{}-value", k.to_lowercase()) };
            (k.clone(), v)
        })
        .collect();
    stack_member_with(name, "UPDATE_COMPLETE", parameters, tags, &outputs)
}

/// The id of stack `name` in [`ACCOUNT`].
pub(super) fn stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/5b2e8c40-0000-11ef-9f0a-0a1b2c3d4e5f")
}

/// [`stack_member`] in `status`, with these outputs.
pub(super) fn stack_member_with(
    name: &str,
    status: &str,
    parameters: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let id = stack_id(name);
    let params: String = parameters
        .iter()
        .map(|(k, v)| {
            format!(
                "<member><ParameterKey>{k}</ParameterKey><ParameterValue>{}</ParameterValue></member>",
                xml_escape(v)
            )
        })
        .collect();
    let tags: String = tags
        .iter()
        .map(|(k, v)| format!("<member><Key>{}</Key><Value>{}</Value></member>", xml_escape(k), xml_escape(v)))
        .collect();
    let outputs: String = outputs
        .iter()
        .map(|(k, v)| {
            format!("<member><OutputKey>{k}</OutputKey><OutputValue>{}</OutputValue></member>", xml_escape(v))
        })
        .collect();
    format!(
        "<member><StackId>{id}</StackId><StackName>{name}</StackName><CreationTime>2026-11-02T09:12:44.181Z</CreationTime>\
         <LastUpdatedTime>2026-11-30T16:03:10.552Z</LastUpdatedTime><StackStatus>{status}</StackStatus>\
         <DisableRollback>false</DisableRollback><NotificationARNs/><Capabilities><member>CAPABILITY_IAM</member></Capabilities>\
         <Parameters>{params}</Parameters><Tags>{tags}</Tags><Outputs>{outputs}</Outputs>\
         <DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation></member>"
    )
}

pub(super) fn caller_identity() -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://sts.us-east-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder()
            .status(200)
            .header("Content-Type", "text/xml")
            .body(SdkBody::from(caller_identity_body()))
            .unwrap(),
    )
}

/// GetCallerIdentity's answer: user `deployer` of [`ACCOUNT`].
pub(super) fn caller_identity_body() -> String {
    format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <Arn>arn:aws:iam::{ACCOUNT}:user/deployer</Arn><UserId>AIDAJQABLZS4A3QDU576Q</UserId><Account>{ACCOUNT}</Account>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>"
    )
}

fn active_certificate() -> ReplayEvent {
    let body = serde_json::json!({"certificateDescription": {
        "certificateArn": format!("arn:aws:iot:us-east-1:{ACCOUNT}:cert/{CERT_ID}"),
        "certificateId": CERT_ID,
        "status": "ACTIVE",
        "certificatePem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "ownedBy": ACCOUNT,
        "creationDate": 1.7301e9,
        "lastModifiedDate": 1.7301e9,
        "customerVersion": 1,
        "generationId": "e0d4b6b7-0f5a-4c4b-8e0e-6b7c4f3a2d1e",
        "validity": {"notBefore": 1.7301e9, "notAfter": 2.5e9},
        "certificateMode": "DEFAULT"
    }});
    ReplayEvent::new(
        http::Request::builder()
            .uri(format!("https://iot.us-east-1.amazonaws.com/certificates/{CERT_ID}"))
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .body(SdkBody::from(body.to_string()))
            .unwrap(),
    )
}

pub(super) fn get_template(body: &str) -> ReplayEvent {
    ok("GetTemplate", &format!("<TemplateBody>{}</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>", xml_escape(body)))
}

/// The form fields of a query-protocol request.
pub(super) fn fields(r: &aws_smithy_runtime_api::http::Request) -> BTreeMap<String, String> {
    let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (form_decode(k), form_decode(v))).collect()
}

/// A tenant deployed earlier by this version (`tagged`) or by one before the hash tag: its two stacks as the
/// account's listing returns them (plus another team's stack), and its claim certificate recorded locally.
struct Deployed {
    _dir: tempfile::TempDir,
    tenant: Tenant,
    listing: Option<ReplayEvent>,
    bodies: (String, String),
}

fn deployed(tagged: bool) -> Deployed {
    let dir = tempfile::tempdir().unwrap();
    let config = rainmaker_deploy::config::blueprint_config("smart-home", TENANT, "us-east-1").unwrap();
    let tenant = Tenant {
        config,
        sdk: aws_config::SdkConfig::builder().build(),
        config_dir: dir.path().to_path_buf(),
        artifacts_dir: dir.path().join("artifacts"),
    };
    write_artifacts(&tenant.artifacts_dir, "v1");
    let p = deploy::prepare(&tenant).unwrap();
    let arts = artifacts::load(&tenant.artifacts_dir, &deploy::code_parameters(&p.backend.2)).unwrap();
    let mut backend_params = BTreeMap::from([
        ("ArtifactsBucket".to_string(), BUCKET.to_string()),
        ("IotDataEndpoint".to_string(), ENDPOINT.to_string()),
    ]);
    for (i, a) in arts.iter().enumerate() {
        backend_params.insert(a.parameter.clone(), a.key.clone());
        backend_params.insert(a.version_parameter.clone(), format!("3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbr{i}"));
    }
    let tags = |body: &str, params: &BTreeMap<String, String>| {
        let mut t = deploy::stack_tags(&tenant);
        if tagged {
            t.insert("rainmaker:template-sha256".into(), expected_hash(body, params));
        }
        t
    };
    let (b, k) = (&p.bootstrap.0, &p.backend.0);
    let none = BTreeMap::new();
    let other = "<member><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/network/0c1d2e3f-0000-11ef-9f0a-0a1b2c3d4e5f</StackId>\
        <StackName>network</StackName><CreationTime>2025-03-01T08:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>\
        <DisableRollback>false</DisableRollback></member>";
    let listing = ok(
        "DescribeStacks",
        &format!(
            "<Stacks>{}{other}{}</Stacks>",
            stack_member(&b.stack_name, &none, &tags(&b.body, &none), &p.bootstrap.2),
            stack_member(&k.stack_name, &backend_params, &tags(&k.body, &backend_params), &p.backend.2),
        ),
    );
    // the claim certificate an earlier apply copied from the tenant's secret (the key file must exist, and the record
    // name the secret version it was written from, for it to be kept without reading the secret)
    let state = tenant.state_dir(ACCOUNT);
    std::fs::create_dir_all(&state).unwrap();
    let record = serde_json::json!({
        "certificate_id": CERT_ID,
        "certificate_arn": format!("arn:aws:iot:us-east-1:{ACCOUNT}:cert/{CERT_ID}"),
        "certificate_file": state.join("claim.cert.pem"),
        "private_key_file": state.join("claim.private.key"),
        "policy": format!("rm-{TENANT}-claim"),
        "created": true,
        "secret": format!("rm-{TENANT}-claim-certificate"),
        "secret_version_id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    });
    std::fs::write(state.join("claim.json"), record.to_string()).unwrap();
    std::fs::write(state.join("claim.cert.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::write(state.join("claim.private.key"), "-----BEGIN RSA PRIVATE KEY-----\n").unwrap();
    Deployed { _dir: dir, tenant, listing: Some(listing), bodies: (b.body.clone(), k.body.clone()) }
}

/// Point the tenant at a replay: GetCallerIdentity, the account's listing, then `then`.
fn with_replay(mut d: Deployed, then: Vec<ReplayEvent>) -> (Deployed, StaticReplayClient) {
    let mut events = vec![caller_identity(), d.listing.take().expect("one replay per tenant")];
    events.extend(then);
    let (sdk, http) = replay_sdk(events);
    d.tenant.sdk = sdk;
    (d, http)
}

#[tokio::test]
async fn a_noop_apply_of_tagged_stacks_makes_three_calls_and_fetches_no_template() {
    let d = deployed(true);
    let (d, http) = with_replay(d, vec![active_certificate()]);
    let opts = ApplyOptions { wait: fast_wait(), ..ApplyOptions::default() };
    let report = deploy::apply(&d.tenant, &opts, &Always(true), &NoProgress).await.expect("no-op apply");

    assert!(!report.changed);
    assert_eq!(report.stacks.iter().map(|s| s.result).collect::<Vec<_>>(), [StackResult::Unchanged; 2]);
    assert!(report.artifacts.is_empty() && report.verification.is_empty(), "{report:#?}");
    assert_eq!(report.api_calls.total, 3, "{:?}", report.api_calls.by_operation);
    assert_eq!(
        report.api_calls.by_operation,
        BTreeMap::from([
            ("STS.GetCallerIdentity".to_string(), 1),
            ("CloudFormation.DescribeStacks".to_string(), 1),
            ("IoT.DescribeCertificate".to_string(), 1),
        ])
    );
    let claim = report.claim_certificate.as_ref().unwrap();
    assert_eq!((claim.certificate_id.as_str(), claim.created), (CERT_ID, false), "the recorded certificate is kept");
    // the outputs come from the listing (nothing else was read) and are written out
    assert_eq!(report.stacks[0].outputs["ArtifactsBucketName"], BUCKET);
    assert_eq!(report.outputs["ProvisioningTemplateName"], "provisioningtemplatename-value", "{:?}", report.outputs);
    assert_eq!(report.iot_endpoint, ENDPOINT, "the endpoint is the live stack's parameter: no DescribeEndpoint");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report.outputs_file).unwrap()).unwrap();
    assert_eq!(written["IotEndpoint"], ENDPOINT);

    // the requests: who is calling, the account's listing (no StackName, so both stacks and any other tenant's
    // come in one answer), the recorded certificate by id
    let reqs: Vec<_> = http.actual_requests().collect();
    assert_eq!(reqs.len(), 3);
    let sts = fields(reqs[0]);
    assert_eq!((sts["Action"].as_str(), sts["Version"].as_str()), ("GetCallerIdentity", "2011-06-15"));
    assert!(reqs[0].uri().starts_with("https://sts.us-east-1.amazonaws.com"), "{}", reqs[0].uri());
    let list = fields(reqs[1]);
    assert_eq!((list["Action"].as_str(), list["Version"].as_str()), ("DescribeStacks", "2010-05-15"));
    assert!(!list.contains_key("StackName") && !list.contains_key("NextToken"), "the account's listing: {list:?}");
    assert!(reqs[1].uri().starts_with("https://cloudformation.us-east-1.amazonaws.com"), "{}", reqs[1].uri());
    assert_eq!(reqs[2].method(), "GET");
    assert_eq!(reqs[2].uri(), format!("https://iot.us-east-1.amazonaws.com/certificates/{CERT_ID}"));
}

#[tokio::test]
async fn a_stack_deployed_without_the_hash_tag_is_compared_by_its_template() {
    let d = deployed(false);
    let (boot, backend) = d.bodies.clone();
    let (d, http) = with_replay(d, vec![get_template(&boot), get_template(&backend), active_certificate()]);
    let opts = ApplyOptions { wait: fast_wait(), ..ApplyOptions::default() };
    let report = deploy::apply(&d.tenant, &opts, &Always(true), &NoProgress).await.expect("no-op apply");

    assert!(!report.changed, "the same template text: unchanged, no change set");
    assert_eq!(report.api_calls.total, 5, "{:?}", report.api_calls.by_operation);
    assert_eq!(report.api_calls.by_operation.get("CloudFormation.GetTemplate"), Some(&2));
    let reqs: Vec<_> = http.actual_requests().collect();
    let p = deploy::prepare(&d.tenant).unwrap();
    let mut asked = Vec::new();
    for r in &reqs[2..4] {
        let f = fields(r);
        assert_eq!((f["Action"].as_str(), f["TemplateStage"].as_str()), ("GetTemplate", "Original"), "{f:?}");
        asked.push(f["StackName"].clone());
    }
    assert_eq!(asked, [p.bootstrap.0.stack_name.clone(), p.backend.0.stack_name.clone()]);
}
