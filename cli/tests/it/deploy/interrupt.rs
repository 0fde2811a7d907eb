//! An `apply` killed mid-way (SIGKILL: no cleanup at all) loses nothing: the next `apply` picks up whatever state
//! the stacks were left in and converges, and the one after that has nothing to do. Each kill lands right after
//! the call it names: the apply runs through a proxy that forwards that call, lets moto finish it, and holds the
//! answer back ([`Fault::Stall`]); the test kills the process then, checks the state the kill left through a clean
//! client, and gives every run a deadline, so a regression fails in minutes instead of waiting for an hour.

use super::cli::{aws_cmd, own_account};
use super::fixtures::write_artifacts;
use crate::support::{run, tempdir, Run};
use rainmaker_test_support::{AccountKeys, Fault, Faults, MotoServer, Proxy, REGION};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one run may take before the test fails (a first apply on moto takes seconds).
const DEADLINE: Duration = Duration::from_secs(240);

/// Start `apply --yes` through a proxy that stalls the first call named `call` whose body contains `body` once
/// moto has done it, and kill the process then.
fn apply_killed_after(dir: &std::path::Path, moto: &MotoServer, call: &str, body: &str) {
    let proxy = Proxy::faulty(moto, Faults::default().and_first_with(call, body, Fault::Stall));
    let mut child = aws_cmd(dir, &proxy.endpoint_url())
        .args(["--no-progress", "apply", "--yes", "--artifacts", "artifacts"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting apply");
    let started = Instant::now();
    while !proxy.stalled() {
        if let Some(status) = child.try_wait().expect("polling apply") {
            panic!("apply ended ({status}) without making `{call}` with `{body}`");
        }
        assert!(started.elapsed() < DEADLINE, "apply did not reach `{call}` within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("killing apply");
    let _ = child.wait();
}

/// Run `cmd` to its end, failing the test if it takes longer than [`DEADLINE`].
fn run_within_deadline(mut cmd: Command) -> Run {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting rainmaker-deploy");
    let started = Instant::now();
    while child.try_wait().expect("polling").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collecting output");
            panic!("still running after {DEADLINE:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("collecting output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A smart-home tenant `<label>-<pid>` made by `init` in a new directory, in its own account, with zips; its first
/// `apply` killed right after the first `call` whose body contains `body` (`{tenant}` replaced by its name).
fn tenant_killed_after(label: &str, call: &str, body: &str) -> (tempfile::TempDir, String, AccountKeys) {
    let moto = MotoServer::shared();
    let tenant = format!("{label}-{}", std::process::id() % 100_000);
    let d = tempdir();
    let dir = d.path();
    assert_eq!(run(dir, &["init", "--name", &tenant, "--region", REGION]).code, 0);
    let keys = own_account(moto, dir, label);
    write_artifacts(&dir.join("artifacts"), label);
    apply_killed_after(dir, moto, call, &body.replace("{tenant}", &tenant));
    (d, tenant, keys)
}

/// `apply --yes --output json` in `dir` straight to moto, within the [`DEADLINE`].
fn apply_again(dir: &std::path::Path) -> Run {
    let mut c = aws_cmd(dir, &MotoServer::shared().endpoint_url());
    c.args(["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    run_within_deadline(c)
}

/// A tenant set up in its own account, its apply killed after `call`; `left` checks what the kill left (through a
/// clean client), then the next apply must converge and the one after must be a no-op.
async fn killed_then_converges<F, Fut>(label: &str, call: &str, body: &str, left: F)
where
    F: FnOnce(aws_config::SdkConfig, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (d, tenant, keys) = tenant_killed_after(label, call, body);
    let dir = d.path();
    left(MotoServer::shared().sdk_config_with(&keys).await, tenant).await;

    let again = apply_again(dir);
    assert_eq!(again.code, 0, "the next apply converges: {}", again.transcript());
    let v: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON report");
    let verified = v.to_string();
    assert!(!verified.contains("\"ok\":false"), "every verification passed: {verified}");

    let noop = apply_again(dir);
    let v: serde_json::Value = serde_json::from_str(&noop.stdout).expect("JSON report");
    assert_eq!(v["changed"], false, "then nothing is left to do: {}", noop.transcript());
}

/// The status of stack `name`, `None` when it does not exist.
async fn stack_status(sdk: &aws_config::SdkConfig, name: &str) -> Option<String> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string()),
        Err(e) => {
            let e = e.into_service_error();
            assert!(e.meta().message().is_some_and(|m| m.contains("does not exist")), "DescribeStacks {name}: {e:?}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_first_zip_was_uploaded() {
    killed_then_converges("kill-upload", "s3 PUT /", "", |sdk, tenant| async move {
        // the bootstrap stack is done, the backend not started
        let boot = stack_status(&sdk, &format!("rm-{tenant}-bootstrap")).await;
        assert_eq!(boot.as_deref(), Some("CREATE_COMPLETE"));
        assert_eq!(stack_status(&sdk, &format!("rm-{tenant}")).await, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_backend_change_set_was_created() {
    killed_then_converges(
        "kill-changeset",
        "cloudformation CreateChangeSet",
        "StackName=rm-{tenant}&",
        |sdk, tenant| {
            async move {
                // a new stack under review, holding our unexecuted change set
                let backend = format!("rm-{tenant}");
                assert_eq!(stack_status(&sdk, &backend).await.as_deref(), Some("REVIEW_IN_PROGRESS"));
                let cfn = aws_sdk_cloudformation::Client::new(&sdk);
                let sets = cfn.list_change_sets().stack_name(&backend).send().await.unwrap();
                let ours: Vec<_> =
                    sets.summaries().iter().filter(|s| s.stack_name() == Some(backend.as_str())).collect();
                assert_eq!(ours.len(), 1, "{ours:#?}");
                assert_eq!(ours[0].execution_status().map(|s| s.as_str()), Some("AVAILABLE"), "{ours:#?}");
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_backend_change_set_was_executed() {
    killed_then_converges("kill-exec", "cloudformation ExecuteChangeSet", "StackName=rm-{tenant}&", |sdk, tenant| {
        async move {
            // the execution started (moto runs it inside the request: done by the time it answers; on AWS the
            // stack would be CREATE_IN_PROGRESS). moto answers the first ExecuteChangeSet of the backend with HTTP
            // 500 (KeyError 'IntegrationHttpMethod' on the API's OPTIONS method) and the SDK's retry succeeds: the
            // kill lands after the retry's answer.
            let status = stack_status(&sdk, &format!("rm-{tenant}")).await;
            assert!(
                matches!(status.as_deref(), Some("CREATE_IN_PROGRESS" | "CREATE_COMPLETE")),
                "backend after the kill: {status:?}"
            );
        }
    })
    .await;
}

/// A first apply killed right after `call` of the claim certificate; `registered` is how many certificates the
/// kill left in IoT (0 after CreateSecret, 1 after RegisterCertificateWithoutCA, not yet attached). The secret
/// holds the certificate either way; the next apply ends with exactly one certificate in the account, ACTIVE,
/// attached to the claim policy, equal to the secret's, and the one after is a no-op.
async fn claim_killed_after(label: &str, call: &str, registered: usize) {
    let (d, tenant, keys) = tenant_killed_after(label, call, "");
    let dir = d.path();
    let moto = MotoServer::shared();

    let sdk = moto.sdk_config_with(&keys).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let iot = aws_sdk_iot::Client::new(&sdk);
    let names = rainmaker_deploy::template::Names::new(&tenant);
    // what the kill left
    let secret = sm.get_secret_value().secret_id(&names.claim_secret).send().await.expect("the secret was stored");
    let secret: serde_json::Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let pem = secret["certificate_pem"].as_str().unwrap().to_string();
    assert_eq!(iot.list_certificates().send().await.unwrap().certificates().len(), registered);
    let targets = iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap();
    assert!(targets.targets().is_empty(), "nothing attached yet: {targets:?}");

    let again = apply_again(dir);
    assert_eq!(again.code, 0, "the next apply converges: {}", again.transcript());
    let certs = iot.list_certificates().send().await.unwrap();
    assert_eq!(certs.certificates().len(), 1, "exactly one certificate in the account: {certs:?}");
    let id = certs.certificates()[0].certificate_id().unwrap();
    let desc = iot.describe_certificate().certificate_id(id).send().await.unwrap();
    let desc = desc.certificate_description().unwrap();
    assert_eq!((desc.status().unwrap().as_str(), desc.certificate_pem()), ("ACTIVE", Some(pem.as_str())));
    let targets = iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap();
    assert_eq!(targets.targets(), [desc.certificate_arn().unwrap().to_string()], "attached to the claim policy");
    let noop = apply_again(dir);
    let v: serde_json::Value = serde_json::from_str(&noop.stdout).expect("JSON report");
    assert_eq!(v["changed"], false, "then nothing is left to do: {}", noop.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_claim_certificate_was_stored() {
    claim_killed_after("kill-claim-store", "secretsmanager CreateSecret", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_claim_certificate_was_registered() {
    claim_killed_after("kill-claim-reg", "iot POST /certificate/register-no-ca", 1).await;
}
