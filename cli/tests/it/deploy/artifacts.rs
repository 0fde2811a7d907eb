//! Artifact integrity: uploads carry their SHA-256 as the S3 checksum, an object already in the bucket is reused
//! only when the checksum S3 stored for it matches (a tampered object under the same key is uploaded again), and
//! each function is pinned to the object version that was checked. On moto through S3's, CloudFormation's and
//! Lambda's own APIs; the request shapes (checksum headers, 403 handling) in replays of the S3 REST API.

use super::fixtures::{moto_apply_options, tenant, tiny_zip, write_artifacts};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::artifacts::{self, s3_checksum, Artifact};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::verify::base64_of_hex;
use rainmaker_test_support::{account_for, MotoServer, REGION};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

async fn backend_parameters(sdk: &aws_config::SdkConfig, stack: &str) -> BTreeMap<String, String> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let out = cfn.describe_stacks().stack_name(stack).send().await.expect("DescribeStacks");
    rainmaker_deploy::aws::stack::parameters(&out.stacks()[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_carry_their_checksum_functions_pin_the_version_and_a_tampered_object_is_replaced() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for("it-artifacts")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut t = tenant(&format!("it-art-{}", std::process::id() % 100_000), REGION, sdk.clone(), dir.path());
    let hashes: BTreeMap<String, String> = write_artifacts(&t.artifacts_dir, "v1").into_iter().collect();
    let opts = moto_apply_options();
    let first = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("first apply");
    let bucket = first.stacks[0].outputs["ArtifactsBucketName"].clone();
    let backend_stack = first.stacks[1].stack_name.clone();
    let s3 = s3_client(&sdk);

    // S3 stored our SHA-256 as the object's checksum, and the stack pins the version that holds it
    let params = backend_parameters(&sdk, &backend_stack).await;
    for u in &first.artifacts {
        assert!(u.uploaded, "{u:?}");
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(&u.key)
            .version_id(&u.version_id)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", u.key));
        assert_eq!(head.checksum_sha256(), Some(s3_checksum(&hashes[&u.function]).as_str()), "{}", u.key);
        let version_parameter = artifacts::version_parameter_for(&artifacts::parameter_for(&u.function));
        assert_eq!(params.get(&version_parameter), Some(&u.version_id), "{version_parameter}: {params:?}");
    }
    // the deployed template passes that parameter as each function's S3ObjectVersion (GetTemplate, not our render)
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let body = cfn.get_template().stack_name(&backend_stack).send().await.unwrap().template_body().unwrap().to_string();
    let deployed = rainmaker_deploy::template::parse(&body).unwrap();
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    for (id, r) in deployed["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::Lambda::Function" {
            continue;
        }
        let key_param = r.pointer("/Properties/Code/S3Key/Ref").and_then(|v| v.as_str()).unwrap();
        let version_ref = r.pointer("/Properties/Code/S3ObjectVersion/Ref").and_then(|v| v.as_str());
        assert_eq!(version_ref, Some(artifacts::version_parameter_for(key_param).as_str()), "{id}");
        // and Lambda runs exactly those bytes
        let name = r.pointer("/Properties/FunctionName").and_then(|v| v.as_str()).unwrap();
        let f = lambda.get_function().function_name(name).send().await.unwrap();
        let function = hashes.keys().find(|f| artifacts::parameter_for(f) == key_param).unwrap();
        assert_eq!(f.configuration().unwrap().code_sha256(), Some(base64_of_hex(&hashes[function]).as_str()), "{id}");
    }

    // the attack: other bytes under the api's content-hash key (with their own, valid checksum)
    let api = first.artifacts.iter().find(|u| u.function == "api").unwrap().clone();
    let evil = tiny_zip("evil");
    let tampered = s3
        .put_object()
        .bucket(&bucket)
        .key(&api.key)
        .body(evil.clone().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let evil_version = tampered.version_id().unwrap().to_string();

    // any change to the backend (here the functions' memory) checks every artifact again: the tampered one is
    // uploaded again
    t.config.lambda.memory_mb += 64;
    let second = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("second apply");
    assert!(second.changed);
    let again = second.artifacts.iter().find(|u| u.function == "api").unwrap();
    assert!(again.uploaded && again.reason.contains("differs"), "{again:?}");
    assert!(again.version_id != evil_version && again.version_id != api.version_id, "{again:?}");
    for u in second.artifacts.iter().filter(|u| u.function != "api") {
        let before = first.artifacts.iter().find(|f| f.function == u.function).unwrap();
        assert!(!u.uploaded && u.version_id == before.version_id, "untouched objects are reused: {u:?}");
    }
    // proven through S3: the key's newest object is our zip again, with our checksum, and the stack pins it
    let got = s3.get_object().bucket(&bucket).key(&api.key).send().await.unwrap();
    assert_eq!(got.version_id(), Some(again.version_id.as_str()));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), hashes["api"], "the bucket serves our bytes again");
    assert_ne!(bytes.as_ref(), evil.as_slice());
    let params = backend_parameters(&sdk, &backend_stack).await;
    assert_eq!(params.get("ApiCodeVersion"), Some(&again.version_id), "{params:?}");
    let api_function = deployed.pointer("/Resources/ApiFunction/Properties/FunctionName").and_then(|v| v.as_str());
    let f = lambda.get_function().function_name(api_function.unwrap()).send().await.unwrap();
    assert_eq!(f.configuration().unwrap().code_sha256(), Some(base64_of_hex(&hashes["api"]).as_str()));
}

// ---- replays of the S3 REST API (HeadObject answers have no body; errors are XML <Error>) ----

fn replay(status: u16, headers: &[(&str, &str)], body: &str) -> ReplayEvent {
    let mut response = http::Response::builder().status(status);
    for (k, v) in headers {
        response = response.header(*k, *v);
    }
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://rm-acme-artifacts.s3.us-east-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        response.body(SdkBody::from(body.to_string())).unwrap(),
    )
}

fn access_denied() -> ReplayEvent {
    replay(
        403,
        &[("content-type", "application/xml"), ("x-amz-request-id", "4442587FB7D0A2F9")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>\
         <RequestId>4442587FB7D0A2F9</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>",
    )
}

fn s3_replay(events: Vec<ReplayEvent>) -> (aws_sdk_s3::Client, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let conf = aws_sdk_s3::Config::builder()
        .http_client(http.clone())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("AKID", "SECRET", None, None, "replay"))
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .build();
    (aws_sdk_s3::Client::from_conf(conf), http)
}

/// One artifact on disk (the api zip) and its entry.
fn one_artifact(dir: &std::path::Path) -> Artifact {
    write_artifacts(dir, "replay");
    artifacts::load(dir, &["ApiCodeKey".to_string()]).unwrap().remove(0)
}

fn header(r: &aws_smithy_runtime_api::http::Request, name: &str) -> Option<String> {
    r.headers().get(name).map(str::to_string)
}

#[tokio::test]
async fn a_missing_object_is_put_with_its_sha256_checksum_and_the_new_version_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let a = one_artifact(dir.path());
    let checksum = s3_checksum(&a.sha256);
    let (s3, http) = s3_replay(vec![
        replay(404, &[("x-amz-request-id", "0A49CE4060975EAC")], ""),
        replay(
            200,
            &[
                ("etag", "\"6805f2cfc46c0f04559748bb039d69ae\""),
                ("x-amz-checksum-sha256", &checksum),
                ("x-amz-version-id", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
            ],
            "",
        ),
    ]);
    let done = artifacts::upload(&s3, "rm-acme-artifacts", std::slice::from_ref(&a), &|| {}).await.unwrap();
    assert_eq!(done[0].version_id, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
    assert!(done[0].uploaded && done[0].reason == "missing", "{done:?}");
    let requests: Vec<_> = http.actual_requests().collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method(), "HEAD");
    assert!(requests[0].uri().split('?').next().unwrap().ends_with(&a.key), "{}", requests[0].uri());
    assert_eq!(header(requests[0], "x-amz-checksum-mode").as_deref(), Some("ENABLED"));
    let put = requests[1];
    assert_eq!(put.method(), "PUT");
    assert!(put.uri().split('?').next().unwrap().ends_with(&a.key), "{}", put.uri());
    assert_eq!(header(put, "x-amz-checksum-sha256"), Some(checksum), "{:?}", put.headers());
    assert_eq!(header(put, "x-amz-sdk-checksum-algorithm").as_deref(), Some("SHA256"), "{:?}", put.headers());
    let body = put.body().bytes().expect("an in-memory body");
    assert_eq!(hex::encode(Sha256::digest(body)), a.sha256, "the zip's own bytes, not aws-chunked framing");
}

#[tokio::test]
async fn an_object_with_our_stored_checksum_is_reused_without_an_upload() {
    let dir = tempfile::tempdir().unwrap();
    let a = one_artifact(dir.path());
    let checksum = s3_checksum(&a.sha256);
    let (s3, http) = s3_replay(vec![replay(
        200,
        &[("content-length", "150"), ("x-amz-checksum-sha256", &checksum), ("x-amz-version-id", "v-checked")],
        "",
    )]);
    let done = artifacts::upload(&s3, "rm-acme-artifacts", std::slice::from_ref(&a), &|| {}).await.unwrap();
    assert_eq!((done[0].uploaded, done[0].version_id.as_str()), (false, "v-checked"));
    assert_eq!(http.actual_requests().count(), 1, "HeadObject only");
}

#[tokio::test]
async fn a_head_object_403_is_uploaded_when_the_caller_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let a = one_artifact(dir.path());
    let (s3, http) = s3_replay(vec![
        replay(403, &[("x-amz-request-id", "0A49CE4060975EAC")], ""),
        replay(200, &[("x-amz-version-id", "v-new")], ""),
    ]);
    let done = artifacts::upload(&s3, "rm-acme-artifacts", std::slice::from_ref(&a), &|| {}).await.unwrap();
    assert_eq!((done[0].uploaded, done[0].version_id.as_str()), (true, "v-new"));
    assert!(done[0].reason.contains("403"), "{done:?}");
    assert_eq!(http.actual_requests().map(|r| r.method().to_string()).collect::<Vec<_>>(), ["HEAD", "PUT"]);
}

#[tokio::test]
async fn a_head_object_403_without_write_access_is_reported_with_what_to_grant() {
    let dir = tempfile::tempdir().unwrap();
    let a = one_artifact(dir.path());
    let (s3, _http) = s3_replay(vec![replay(403, &[("x-amz-request-id", "0A49CE4060975EAC")], ""), access_denied()]);
    let err = artifacts::upload(&s3, "rm-acme-artifacts", std::slice::from_ref(&a), &|| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("S3 HeadObject failed: AccessDenied: "), "{text}");
    assert!(text.contains(&a.key), "{text}");
    let help = miette::Diagnostic::help(&err).map(|h| h.to_string()).unwrap_or_default();
    assert!(help.contains("s3:ListBucket on arn:aws:s3:::rm-acme-artifacts"), "{help}");
    assert!(help.contains(&format!("s3:GetObject on arn:aws:s3:::rm-acme-artifacts/{}", a.key)), "{help}");
}
