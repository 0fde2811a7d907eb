//! The deploy core under faults: a proxy in front of moto fails 10 % of the calls (HTTP 503, throttling in each
//! protocol's shape, connections dropped before the call, answers lost after moto did the work) and the first
//! apply, an update, a plan, status and destroy must each converge without a re-run and without duplicates: one
//! executed change set per stack and apply, one claim certificate attached to the claim policy. Checked through a
//! clean client straight to moto, never through the faulty path.

use super::fixtures::{fast_wait, tenant, write_artifacts};
use rainmaker_deploy::aws::artifacts::parameter_for;
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::destroy::{self, DestroyOptions};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::verify::{base64_of_hex, Expectations};
use rainmaker_deploy::aws::{sdk, status};
use rainmaker_test_support::{account_for, Fault, Faults, MotoServer, Proxy, Received, REGION};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// 10 % of the calls faulted, every kind, for each seed; each seed its own account and tenant.
const PERCENT: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_1() {
    converges_under_faults(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_2() {
    converges_under_faults(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_3() {
    converges_under_faults(3).await;
}

/// The answers of the calls that change something lost once each (the work done, the SDK retrying a call whose
/// effect already happened), on top of seed 4's random faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_of_every_changing_call() {
    let mut faults = Faults::every_kind(4, PERCENT);
    for call in [
        "cloudformation CreateChangeSet",
        "cloudformation ExecuteChangeSet",
        "cloudformation SetStackPolicy",
        "cloudformation DeleteStack",
        "iot PUT /target-policies/",
        "iot POST /keys-and-certificate",
        "s3 PUT /",
    ] {
        faults = faults.and_first(call, Fault::LoseResponse);
    }
    converges_under(4, faults).await;
}

/// The same sequence with no fault: the baseline the faulted runs' wall time and request count compare with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_faults_baseline() {
    converges_under(0, Faults::every_kind(0, 0)).await;
}

async fn converges_under_faults(seed: u64) {
    converges_under(seed, Faults::every_kind(seed, PERCENT)).await
}

async fn converges_under(seed: u64, faults: Faults) {
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
    let mut t = tenant(&name, REGION, faulty, dir.path());
    write_artifacts(&t.artifacts_dir, "v1");
    let opts = ApplyOptions { wait: fast_wait(), ..ApplyOptions::default() };
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
        &DestroyOptions { keep_data: true, wait: fast_wait(), ..DestroyOptions::default() },
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
