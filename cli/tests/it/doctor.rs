//! `rainmaker-deploy doctor`: against moto (every check answers, exit 0), with no credentials and with an endpoint
//! that nothing answers (both fail within seconds, naming the fix), and Service Quotas as real AWS answers it
//! (moto has no Lambda or IoT quotas) replayed from responses shaped like its API reference.

use crate::deploy::fixtures::write_artifacts;
use crate::support::{cmd, root, tempdir, Run};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::doctor::aws::{by_code, listed};
use rainmaker_deploy::doctor::quota::{self, Observed, Source};
use rainmaker_deploy::doctor::Status;
use rainmaker_test_support::{MotoServer, REGION};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The doctor's generous bound for failing (the issue asks < 10 s).
const FAST: Duration = Duration::from_secs(10);

fn doctor(dir: &Path, creds: bool, args: &[&str]) -> (Run, Duration) {
    let mut c: Command = cmd(dir);
    let path = format!("{}:{}", root().join(".venv/bin").display(), std::env::var("PATH").unwrap_or_default());
    c.env("PATH", path).env_remove("RAINMAKER_ARTIFACTS");
    c.env("AWS_CONFIG_FILE", dir.join("no-aws-config")).env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-aws-creds"));
    if creds {
        c.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing");
    } else {
        c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_SESSION_TOKEN");
    }
    c.env_remove("AWS_WEB_IDENTITY_TOKEN_FILE").env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    c.env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    let start = Instant::now();
    let out = c.args(args).output().expect("running rainmaker-deploy doctor");
    let took = start.elapsed();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, took)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn against_moto_every_check_answers_and_doctor_exits_0() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let (dir, arts) = (tempdir(), tempdir());
    write_artifacts(arts.path(), "doctor");
    let init = crate::support::run(dir.path(), &["init", "--name", "doc-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    let a = arts.path().display().to_string();
    let (r, took) =
        doctor(dir.path(), true, &["--endpoint-url", &endpoint, "--output", "json", "doctor", "--artifacts", &a]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let report: Value = serde_json::from_str(&r.stdout).expect("the report as JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["region"], REGION);
    for name in ["credentials", "cloudformation", "iot", "s3", "cfn-lint", "lambdas", "config"] {
        assert_eq!(check(&report, name)["status"], "ok", "{name}: {}", r.stdout);
    }
    assert!(check(&report, "credentials")["detail"].as_str().unwrap().contains("account 123456789012"));
    assert!(check(&report, "iot")["detail"].as_str().unwrap().contains("device endpoint"));
    // moto's Service Quotas knows only VPC: the documented defaults are used and say why
    let rules = check(&report, "quota.iot-topic-rules")["detail"].as_str().unwrap();
    assert!(rules.contains("1000 (documented default") && rules.contains("this tenant adds 3"), "{rules}");
    let lambda = check(&report, "quota.lambda-concurrency")["detail"].as_str().unwrap();
    assert!(lambda.contains("GetServiceQuota failed: NoSuchResourceException"), "{lambda}");
    eprintln!("doctor against moto took {took:?}");

    // the Lambdas missing: that check fails, names where it looked, and doctor exits 1
    let empty = tempdir();
    let (r, _) = doctor(
        dir.path(),
        true,
        &[
            "--endpoint-url",
            &endpoint,
            "--output",
            "json",
            "doctor",
            "--artifacts",
            &empty.path().display().to_string(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let report: Value = serde_json::from_str(&r.stdout).expect("the report as JSON");
    assert_eq!((report["ok"].clone(), report["summary"]["fail"].clone()), (Value::Bool(false), Value::from(1)));
    let l = check(&report, "lambdas");
    assert_eq!(l["status"], "fail");
    assert!(l["detail"].as_str().unwrap().contains("manifest.json"), "{l}");
    assert!(l["fix"].as_str().unwrap().contains("cargo xtask lambdas"), "{l}");
}

#[test]
fn without_credentials_doctor_fails_fast_and_names_the_fix() {
    let dir = tempdir();
    let (r, took) = doctor(dir.path(), false, &["--region", REGION, "--output", "json", "doctor"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let report: Value = serde_json::from_str(&r.stdout).expect("the report as JSON");
    let c = check(&report, "credentials");
    assert_eq!(c["status"], "fail", "{c}");
    let fix = c["fix"].as_str().unwrap();
    assert!(fix.contains("aws configure") && fix.contains("--profile"), "{fix}");
    assert_eq!(check(&report, "cloudformation")["status"], "warn");
    assert_eq!(check(&report, "config")["status"], "warn", "no rainmaker.yaml is a warning");
    assert!(took < FAST, "took {took:?}");
    eprintln!("doctor without credentials took {took:?}");
}

#[test]
fn an_endpoint_nobody_answers_fails_fast_naming_it() {
    let dir = tempdir();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let (r, took) = doctor(dir.path(), true, &["--region", REGION, "--endpoint-url", &url, "doctor"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let line = |name: &str| r.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(name)).unwrap_or("");
    assert!(line("cloudformation").starts_with("FAIL"), "{}", r.stdout);
    assert!(line("cloudformation").contains("CloudFormation ListStacks failed: connection failed"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("fix: nothing answers at {url}")), "{}", r.stdout);
    assert!(line("credentials").starts_with("FAIL") && line("credentials").contains("STS GetCallerIdentity failed"));
    assert!(r.stderr.contains("check") && r.stderr.contains("failed"), "{}", r.stderr);
    assert!(took < FAST, "took {took:?}");
    eprintln!("doctor against a closed port took {took:?}");
}

// ---- Service Quotas as AWS answers it (awsJson1_1, target prefix ServiceQuotasV20190624)

fn json(status: u16, body: &str) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://servicequotas.us-east-1.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder()
            .status(status)
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(SdkBody::from(body.to_string()))
            .unwrap(),
    )
}

fn client(events: Vec<ReplayEvent>) -> (aws_sdk_servicequotas::Client, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let sdk = aws_config::SdkConfig::builder()
        .http_client(http.clone())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_servicequotas::config::SharedCredentialsProvider::new(
            aws_sdk_servicequotas::config::Credentials::new("AKID", "SECRET", None, None, "replay"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    (aws_sdk_servicequotas::Client::new(&sdk), http)
}

/// (X-Amz-Target, JSON body) of every request sent.
fn sent(http: &StaticReplayClient) -> Vec<(String, Value)> {
    http.actual_requests()
        .map(|r| {
            let target = r.headers().get("x-amz-target").unwrap_or_default().to_string();
            let body = serde_json::from_slice(r.body().bytes().unwrap_or_default()).unwrap_or(Value::Null);
            (target, body)
        })
        .collect()
}

const LAMBDA_10: &str = r#"{"Quota":{"ServiceCode":"lambda","ServiceName":"AWS Lambda","QuotaArn":
  "arn:aws:servicequotas:us-east-1:123456789012:lambda/L-B99A9384","QuotaCode":"L-B99A9384",
  "QuotaName":"Concurrent executions","Value":10.0,"Unit":"None","Adjustable":true,"GlobalQuota":false}}"#;

#[test]
fn a_new_account_with_10_concurrent_executions_is_warned_with_the_quota_code() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (sq, http) = client(vec![json(200, LAMBDA_10)]);
    let (value, source) = rt.block_on(by_code(&sq, &quota::LAMBDA_CONCURRENCY));
    assert_eq!((value, source.clone()), (Some(10.0), Source::Applied));
    let want = serde_json::json!({"ServiceCode": "lambda", "QuotaCode": "L-B99A9384"});
    assert_eq!(sent(&http), [("ServiceQuotasV20190624.GetServiceQuota".to_string(), want.clone())]);
    let c = quota::verdict(&quota::LAMBDA_CONCURRENCY, &Observed { value, source, used: None, need: None });
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.fix.unwrap().contains("lambda L-B99A9384"));

    // no applied value (NoSuchResourceException): the AWS default is asked for next
    let missing = r#"{"__type":"NoSuchResourceException","Message":"The request failed because the specified service does not exist."}"#;
    let (sq, http) = client(vec![json(400, missing), json(200, &LAMBDA_10.replace("10.0", "1000.0"))]);
    let (value, source) = rt.block_on(by_code(&sq, &quota::LAMBDA_CONCURRENCY));
    assert_eq!((value, source), (Some(1000.0), Source::AwsDefault));
    let targets: Vec<String> = sent(&http).into_iter().map(|(t, b)| format!("{t} {b}")).collect();
    assert_eq!(targets[1], format!("ServiceQuotasV20190624.GetAWSDefaultServiceQuota {want}"));
}

#[test]
fn iot_quotas_are_found_by_name_and_applied_values_win() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let applied = r#"{"Quotas":[{"ServiceCode":"iotcore","QuotaCode":"L-AAAA1111","QuotaName":"Maximum number of rules",
        "Value":1500.0,"Unit":"None","Adjustable":true}]}"#;
    let defaults = r#"{"Quotas":[{"ServiceCode":"iotcore","QuotaCode":"L-AAAA1111","QuotaName":"Maximum number of rules",
        "Value":1000.0,"Unit":"None","Adjustable":true},{"ServiceCode":"iotcore","QuotaCode":"L-BBBB2222",
        "QuotaName":"Rule actions per rule","Value":10.0,"Unit":"None","Adjustable":false}]}"#;
    let (sq, http) = client(vec![json(200, applied), json(200, defaults)]);
    let list = rt.block_on(listed(&sq, "iotcore")).expect("the quotas");
    let targets: Vec<String> = sent(&http).into_iter().map(|(t, b)| format!("{t} {}", b["ServiceCode"])).collect();
    assert_eq!(
        targets,
        [
            "ServiceQuotasV20190624.ListServiceQuotas \"iotcore\"",
            "ServiceQuotasV20190624.ListAWSDefaultServiceQuotas \"iotcore\""
        ]
    );
    let rules: Vec<_> = list.iter().filter(|(n, _, _)| quota::matches_name(&quota::IOT_TOPIC_RULES, n)).collect();
    assert_eq!(rules.len(), 1, "{list:?}");
    assert_eq!((rules[0].1, rules[0].2.clone()), (1500.0, Source::Applied));
}
