//! The fault scenario shared by the test `deploy::faults` and the benchmark `cli/benches/faults.rs` (which includes
//! this file by path): one tenant's life (first apply, an update with new code for every function and a config
//! change, plan, status, destroy) through test-support's fault-injecting proxy in front of moto, asserting after
//! each step that it converged without a re-run and without duplicates (one executed change set per stack and
//! apply, one claim certificate attached to the claim policy; checked through a clean client straight to moto),
//! and returning what it measured.

use rainmaker_deploy::aws::artifacts::parameter_for;
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::destroy::{self, DestroyOptions};
use rainmaker_deploy::aws::events::WaitOptions;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::aws::verify::{base64_of_hex, Expectations};
use rainmaker_deploy::aws::{sdk, status};
use rainmaker_test_support::{account_for, Fault, Faults, MotoServer, Proxy, Received, REGION};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// 10 % of the calls faulted, every kind, for each seed; each seed its own account and tenant.
pub const PERCENT: u64 = 10;

/// The calls that change something, each of whose answers seed 4's run loses once (the work done, the SDK
/// retrying a call whose effect already happened).
pub const CHANGING_CALLS: [&str; 8] = [
    "cloudformation CreateChangeSet",
    "cloudformation ExecuteChangeSet",
    "cloudformation SetStackPolicy",
    "cloudformation DeleteStack",
    "iot PUT /target-policies/",
    "iot POST /certificate/register-no-ca",
    "secretsmanager CreateSecret",
    "s3 PUT /",
];

/// What one run measured (the test and the benchmark each read what they report).
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct FaultRun {
    pub seed: u64,
    /// Faults injected, by kind (`Unavailable`, `Throttle`, `Drop`, `LoseResponse`).
    pub faults_by_kind: BTreeMap<String, usize>,
    /// The calls whose answers were lost.
    pub lost_answers: Vec<String>,
    /// The calls the client counted (its SDK interceptor: one per operation, retries not counted).
    pub client_calls: u64,
    /// Requests that arrived at the proxy (the client's calls and every retry).
    pub arrivals: u64,
    /// Requests forwarded to moto (a dropped or faulted-before-forwarding one did not reach it).
    pub reached_moto: u64,
    pub elapsed: Duration,
    /// ACTIVE certificates left in the account after destroy.
    pub active_left: usize,
}

#[allow(dead_code)]
impl FaultRun {
    /// Requests the SDK sent again (arrivals beyond the calls it counted).
    pub fn retried(&self) -> u64 {
        self.arrivals.saturating_sub(self.client_calls)
    }
}

/// `percent` % of the calls faulted with every kind, drawn by `seed`.
pub fn random(seed: u64) -> Faults {
    Faults::every_kind(seed, PERCENT)
}

/// Seed 4's random faults plus the answer of each of [`CHANGING_CALLS`] lost once.
pub fn every_changing_answer_lost() -> Faults {
    CHANGING_CALLS.iter().fold(Faults::every_kind(4, PERCENT), |f, call| f.and_first(call, Fault::LoseResponse))
}

/// Polls without sleeping much (moto finishes synchronously).
fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll: Duration::from_millis(20),
        cancel: None,
        timeout: Duration::from_secs(120),
        start_timeout: Duration::from_secs(120),
    }
}

fn tenant(name: &str, sdk: aws_config::SdkConfig, dir: &Path) -> Tenant {
    let config = rainmaker_deploy::config::blueprint_config("smart-home", name, REGION).expect("blueprint config");
    Tenant { config, sdk, config_dir: dir.to_path_buf(), artifacts_dir: dir.join("artifacts") }
}

fn write_artifacts(dir: &Path, tag: &str) -> Vec<(String, String)> {
    rainmaker_test_support::write_artifacts(dir, tag, rainmaker_deploy::TEMPLATE_VERSION)
}

pub async fn converges_under(seed: u64, faults: Faults) -> FaultRun {
    let moto = MotoServer::shared();
    let label = format!("it-faults-{seed}");
    let keys = moto.keys_in(&account_for(&label));
    let clean = moto.sdk_config_with(&keys).await;
    let faults_asked = faults.percent > 0 || !faults.targeted.is_empty();
    let proxy = Proxy::faulty(moto, faults);
    // the CLI's retry policy (8 attempts), with short backoffs: this test is about convergence, not waiting
    let faulty = clean
        .to_builder()
        .endpoint_url(proxy.endpoint_url())
        .retry_config(sdk::retry_config().with_initial_backoff(Duration::from_millis(20)))
        .build();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("flt{seed}-{}", std::process::id() % 100_000);
    let mut t = tenant(&name, faulty, dir.path());
    write_artifacts(&t.artifacts_dir, "v1");
    let opts = ApplyOptions {
        wait: fast_wait(),
        verify_omissions: rainmaker_deploy::aws::verify::Omissions::Moto,
        ..ApplyOptions::default()
    };
    let names = rainmaker_deploy::template::Names::new(&name);
    let started = Instant::now();

    // first apply
    let first = deploy::apply(&t, &opts, &Always(true), &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: first apply under faults: {e}\nfaults: {:#?}", proxy.injected()));
    assert!(first.changed);
    one_executed_change_set_per_stack(&proxy.received(), seed, "first apply");
    let claim = first.claim_certificate.clone().expect("a claim certificate");
    one_attached_claim_certificate(&clean, &names.claim_policy, &claim.certificate_arn, seed).await;
    let after_first = proxy.received().len();

    // an update: new code for every function and a config change
    let hashes = write_artifacts(&t.artifacts_dir, "v2");
    t.config.telemetry.retention_days += 1;
    let update = deploy::apply(&t, &opts, &Always(true), &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: update under faults: {e}\nfaults: {:#?}", proxy.injected()));
    assert!(update.changed);
    one_executed_change_set_per_stack(&proxy.received()[after_first..], seed, "update");
    let rendered = rainmaker_deploy::template::render(&t.config).unwrap();
    let backend = rainmaker_deploy::template::parse(&rendered.stack("backend").unwrap().body).unwrap();
    let lambda = aws_sdk_lambda::Client::new(&clean);
    let functions = Expectations::from_template(&backend).functions;
    assert_eq!(functions.len(), hashes.len());
    for (_, fname, param) in &functions {
        let (_, hash) = hashes.iter().find(|(f, _)| parameter_for(f) == *param).unwrap();
        let f = lambda.get_function().function_name(fname).send().await.unwrap_or_else(|e| panic!("{fname}: {e:?}"));
        assert_eq!(f.configuration().unwrap().code_sha256().unwrap(), base64_of_hex(hash), "{fname} runs v2");
    }
    one_attached_claim_certificate(&clean, &names.claim_policy, &claim.certificate_arn, seed).await;

    // plan (nothing to do) and status
    let plan = deploy::plan(&t, &fast_wait(), &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: plan under faults: {e}\nfaults: {:#?}", proxy.injected()));
    assert!(plan.stacks.iter().all(|s| s.changes.is_empty()), "seed {seed}: plan after the update: {plan:#?}");
    let st = status::status(&t, 3)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: status under faults: {e}\nfaults: {:#?}", proxy.injected()));
    assert!(st.stacks.iter().all(|s| s.exists), "{st:#?}");

    // destroy: both stacks gone, the tables kept
    let d = destroy::destroy(
        &t,
        &DestroyOptions {
            keep_data: true,
            wait: fast_wait(),
            omissions: rainmaker_deploy::aws::verify::Omissions::Moto,
            ..DestroyOptions::default()
        },
        &NoProgress,
    )
    .await
    .unwrap_or_else(|e| panic!("seed {seed}: destroy under faults: {e}\nfaults: {:#?}", proxy.injected()));
    assert_eq!(d.deleted_stacks.len(), 2, "{d:#?}");
    let calls: u64 =
        [first.api_calls.total, update.api_calls.total, plan.api_calls.total, st.api_calls.total, d.api_calls.total]
            .iter()
            .map(|n| u64::from(*n))
            .sum();
    let cfn = aws_sdk_cloudformation::Client::new(&clean);
    for stack in [format!("rm-{name}-bootstrap"), format!("rm-{name}")] {
        let live = cfn.describe_stacks().stack_name(&stack).send().await;
        let gone = match live {
            Err(e) => e.into_service_error().meta().message().is_some_and(|m| m.contains("does not exist")),
            Ok(out) => out.stacks().iter().all(|s| s.stack_status().is_some_and(|x| x.as_str() == "DELETE_COMPLETE")),
        };
        assert!(gone, "seed {seed}: stack {stack} deleted");
    }
    let ddb = aws_sdk_dynamodb::Client::new(&clean);
    let tables = ddb.list_tables().send().await.unwrap();
    let kept = tables.table_names().iter().filter(|n| n.starts_with(&format!("rm-{name}-"))).count();
    assert_eq!(kept, 6, "seed {seed}: the six tables kept");

    // a lost CreateKeysAndCertificate answer leaves a certificate whose key nobody received, attached to nothing
    let iot = aws_sdk_iot::Client::new(&clean);
    let certs = iot.list_certificates().send().await.unwrap();
    let active = certs.certificates().iter().filter(|c| c.status().is_some_and(|s| s.as_str() == "ACTIVE")).count();

    let injected = proxy.injected();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for i in &injected {
        *by_kind.entry(format!("{:?}", i.fault)).or_default() += 1;
    }
    eprintln!(
        "faults seed {seed}: {calls} calls, {} requests ({} retried), {} faults injected {by_kind:?}, lost answers on \
         {:?}, {:?} in all, {active} ACTIVE certificates left after destroy",
        proxy.arrivals(),
        proxy.arrivals() - calls,
        injected.len(),
        injected.iter().filter(|i| i.fault == Fault::LoseResponse).map(|i| i.call.as_str()).collect::<Vec<_>>(),
        started.elapsed()
    );
    if faults_asked {
        assert!(!injected.is_empty(), "seed {seed}: no fault was injected, the test proved nothing");
    } else {
        assert!(injected.is_empty(), "baseline: {injected:?}");
    }
    FaultRun {
        seed,
        faults_by_kind: by_kind,
        lost_answers: injected.iter().filter(|i| i.fault == Fault::LoseResponse).map(|i| i.call.clone()).collect(),
        client_calls: calls,
        arrivals: proxy.arrivals(),
        reached_moto: proxy.received().len() as u64,
        elapsed: started.elapsed(),
        active_left: active,
    }
}

/// Every `ExecuteChangeSet` that reached moto in `requests` names, per stack, one change set.
fn one_executed_change_set_per_stack(requests: &[Received], seed: u64, what: &str) {
    let mut executed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.body.contains("Action=ExecuteChangeSet")) {
        let field = |k: &str| {
            r.body.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}="))).map(str::to_string).unwrap_or_default()
        };
        executed.entry(field("StackName")).or_default().insert(field("ChangeSetName"));
    }
    assert!(!executed.is_empty(), "seed {seed}, {what}: no change set executed");
    for (stack, sets) in &executed {
        assert_eq!(sets.len(), 1, "seed {seed}, {what}: stack {stack} executed {sets:?}");
    }
}

/// Exactly one certificate attached to the claim policy, the one the apply reported, ACTIVE.
async fn one_attached_claim_certificate(clean: &aws_config::SdkConfig, policy: &str, arn: &str, seed: u64) {
    let iot = aws_sdk_iot::Client::new(clean);
    let targets = iot.list_targets_for_policy().policy_name(policy).send().await.unwrap();
    assert_eq!(targets.targets(), [arn.to_string()], "seed {seed}: the claim policy's targets");
    let id = arn.rsplit('/').next().unwrap();
    let cert = iot.describe_certificate().certificate_id(id).send().await.unwrap();
    assert_eq!(cert.certificate_description().unwrap().status().unwrap().as_str(), "ACTIVE");
}
