//! apply / no-op apply / status / destroy of the smart-home blueprint against moto, through the real SDK. Each
//! resource is checked through its own service's API, not through the stack status (moto-notes.md: moto's
//! CloudFormation silently skips some types; those are checked in the rendered template by the template tests).

use super::fixtures::{moto_apply_options, moto_destroy_options, tenant, write_artifacts};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::destroy;
use rainmaker_deploy::aws::progress::{Always, Collect, NoProgress};
use rainmaker_deploy::aws::verify::{base64_of_hex, Expectations};
use rainmaker_deploy::aws::{converge::StackResult, status};
use rainmaker_test_support::{account_for, MotoServer, REGION};
use std::collections::BTreeMap;
use std::time::Instant;

fn tenant_name(label: &str) -> String {
    // tenant names: 4-32 of [a-z0-9-]
    format!("{label}-{}", std::process::id() % 100_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_verifies_through_each_service_then_noop_then_destroy_keeps_the_tables() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for("it-apply")).await;
    let dir = tempfile::tempdir().unwrap();
    let t = tenant(&tenant_name("it-apply"), REGION, sdk.clone(), dir.path());
    let hashes = write_artifacts(&t.artifacts_dir, "v1");
    let opts = moto_apply_options();

    // first apply: both stacks created, artifacts uploaded, claim certificate written
    let started = Instant::now();
    let progress = Collect::default();
    let first = deploy::apply(&t, &opts, &Always(true), &progress).await.expect("first apply");
    let first_time = started.elapsed();
    assert!(first.changed);
    assert_eq!(first.stacks.iter().map(|s| s.result).collect::<Vec<_>>(), [StackResult::Created, StackResult::Created]);
    assert_eq!(first.artifacts.iter().filter(|a| a.uploaded).count(), 5, "{:?}", first.artifacts);
    assert!(first.failed_checks().is_empty(), "verification: {:#?}", first.verification);
    assert!(first.verification.len() >= 12, "tables, functions and policies verified: {:#?}", first.verification);
    assert!(!progress.0.lock().unwrap().is_empty(), "progress was reported");
    eprintln!(
        "first apply against moto: {:?}, {} API calls {:?}",
        first_time, first.api_calls.total, first.api_calls.by_operation
    );

    // every resource through its own API
    let rendered = rainmaker_deploy::template::render(&t.config).unwrap();
    let backend = rainmaker_deploy::template::parse(&rendered.stack("backend").unwrap().body).unwrap();
    let x = Expectations::from_template(&backend);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    assert_eq!(x.tables.len(), 6);
    for (_, name) in &x.tables {
        let d = ddb.describe_table().table_name(name).send().await.unwrap_or_else(|e| panic!("table {name}: {e:?}"));
        assert_eq!(d.table().unwrap().table_status().unwrap().as_str(), "ACTIVE", "{name}");
    }
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    assert_eq!(x.functions.len(), 5);
    for (_, name, param) in &x.functions {
        let f =
            lambda.get_function().function_name(name).send().await.unwrap_or_else(|e| panic!("function {name}: {e:?}"));
        let function =
            hashes.iter().find(|(f, _)| rainmaker_deploy::aws::artifacts::parameter_for(f) == *param).unwrap();
        assert_eq!(
            f.configuration().unwrap().code_sha256().unwrap(),
            base64_of_hex(&function.1),
            "{name} runs the uploaded zip"
        );
    }
    let iot = aws_sdk_iot::Client::new(&sdk);
    let names = rainmaker_deploy::template::Names::new(&t.config.name);
    for policy in [&names.device_policy, &names.claim_policy] {
        iot.get_policy().policy_name(policy).send().await.unwrap_or_else(|e| panic!("policy {policy}: {e:?}"));
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = backend.pointer("/Resources/DeadLetterQueue/Properties/QueueName").and_then(|v| v.as_str()).unwrap();
    sqs.get_queue_url().queue_name(queue).send().await.unwrap_or_else(|e| panic!("queue {queue}: {e:?}"));
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = &first.stacks[0].outputs["ArtifactsBucketName"];
    for a in &first.artifacts {
        s3.head_object()
            .bucket(bucket)
            .key(&a.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("artifact {}: {e:?}", a.key));
    }

    // claim certificate: active, claim policy attached, key file 0600, the key never in the report
    let claim = first.claim_certificate.clone().unwrap();
    let cert = iot.describe_certificate().certificate_id(&claim.certificate_id).send().await.unwrap();
    assert_eq!(cert.certificate_description().unwrap().status().unwrap().as_str(), "ACTIVE");
    let targets = iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap();
    assert!(targets.targets().contains(&claim.certificate_arn), "claim policy attached: {:?}", targets.targets());
    let key = std::fs::read_to_string(&claim.private_key_file).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&claim.private_key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "private key mode");
    }
    let json = serde_json::to_string(&first).unwrap();
    assert!(!json.contains("PRIVATE KEY"), "the report never carries the private key");
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&first.outputs_file).unwrap()).unwrap();
    assert_eq!(outputs["ProvisioningTemplateName"], names.provisioning_template);
    assert!(outputs["IotEndpoint"].as_str().unwrap().contains("iot"));

    // second apply: a no-op, in a handful of calls, nothing uploaded, no change set, same certificate
    let started = Instant::now();
    let second = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("second apply");
    let second_time = started.elapsed();
    eprintln!(
        "no-op apply against moto: {:?}, {} API calls {:?}",
        second_time, second.api_calls.total, second.api_calls.by_operation
    );
    assert!(!second.changed);
    assert!(second.artifacts.is_empty());
    let ops = &second.api_calls.by_operation;
    for never in ["CloudFormation.CreateChangeSet", "S3.PutObject", "S3.HeadObject", "IoT.CreateKeysAndCertificate"] {
        assert!(!ops.contains_key(never), "{never} in a no-op apply: {ops:?}");
    }
    // On AWS 3 calls (replayed in deploy::fastpath): GetCallerIdentity, the account's DescribeStacks listing (one
    // tenant per account and region; the same answer serves both stacks, whose rainmaker:template-sha256 tag says
    // they are unchanged, so no GetTemplate) and DescribeCertificate (the recorded claim certificate is still
    // ACTIVE). moto forces one DescribeStackResources per stack: it leaves stacks made through change sets without
    // outputs, which are then completed from the stacks' resources.
    let expected: BTreeMap<String, u32> = [
        ("STS.GetCallerIdentity", 1),
        ("CloudFormation.DescribeStacks", 1),
        ("CloudFormation.DescribeStackResources", 2),
        ("IoT.DescribeCertificate", 1),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    assert_eq!(ops, &expected, "no-op apply made {} calls", second.api_calls.total);
    assert_eq!(second.claim_certificate.unwrap().certificate_id, claim.certificate_id);

    // status reads the stacks
    let st = status::status(&t, 3).await.unwrap();
    assert!(st.stacks.iter().all(|s| s.exists && s.status.as_deref() == Some("CREATE_COMPLETE")), "{st:#?}");
    assert_eq!(st.claim.certificate_id.as_deref(), Some(claim.certificate_id.as_str()), "{:#?}", st.claim);
    assert!(st.claim.attached && st.claim.warnings.is_empty(), "{:#?}", st.claim);

    // destroy keeps the data: stacks gone, tables still there
    let d = destroy::destroy(&t, &moto_destroy_options(), &NoProgress).await.expect("destroy");
    assert_eq!(d.deleted_stacks.len(), 2, "{d:#?}");
    assert!(
        d.kept.iter().filter(|k| k.resource.resource_type == "AWS::DynamoDB::Table").count() == 6,
        "kept: {:#?}",
        d.kept
    );
    for (_, name) in &x.tables {
        ddb.describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("table {name} kept after destroy: {e:?}"));
    }
    let st = status::status(&t, 3).await.unwrap();
    assert!(st.stacks.iter().all(|s| !s.exists), "{st:#?}");
    // destroy scheduled the claim secret's deletion: status says so and that `apply` restores it
    assert_eq!(st.claim.secret_state, rainmaker_deploy::aws::claim::health::SecretSeen::PendingDeletion);
    assert!(st.claim.warnings.iter().any(|w| w.help.contains("apply` restores it")), "{:#?}", st.claim);
}
