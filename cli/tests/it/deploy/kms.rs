//! `security.kms: customer-managed` applied to moto: the tenant key and what uses it, each through its own service
//! API (KMS DescribeKey, GetKeyRotationStatus, GetKeyPolicy, ListAliases; SQS GetQueueAttributes; DynamoDB
//! DescribeTable; CloudWatch Logs and Lambda where moto applies the property). moto 5.2.5's CloudFormation does not
//! pass `SSESpecification`, a log group's `KmsKeyId` or a function's `KmsKeyArn` on, and skips
//! `AWS::SecretsManager::Secret`: those are held by the template tests (security.rs), and the tripwires below fail
//! once moto applies them, so that the assertion can move here. `destroy --delete-data` keeps the key.

use super::fixtures::{moto_apply_options, moto_destroy_options, tenant, write_artifacts};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::destroy::{self, DestroyOptions};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_test_support::{account_for, MotoServer, REGION};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_managed_tenant_key_is_rotated_scoped_and_encrypts_the_queue_and_tables() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for("it-kms")).await;
    let dir = tempfile::tempdir().unwrap();
    let name = format!("it-kms-{}", std::process::id() % 100_000);
    let mut t = tenant(&name, REGION, sdk.clone(), dir.path());
    t.config.security.kms = rainmaker_deploy::config::Kms::CustomerManaged;
    write_artifacts(&t.artifacts_dir, "v1");
    let opts = moto_apply_options();
    let applied = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("apply");
    assert!(applied.failed_checks().is_empty(), "verification: {:#?}", applied.verification);

    // the key, found by its alias, is the one the stack created
    let kms = aws_sdk_kms::Client::new(&sdk);
    let alias = format!("alias/rm-{name}");
    let key = kms.describe_key().key_id(&alias).send().await.expect("KMS DescribeKey by the alias");
    let meta = key.key_metadata().expect("key metadata");
    let (key_id, key_arn) = (meta.key_id().to_string(), meta.arn().expect("key arn").to_string());
    assert!(meta.enabled(), "{meta:?}");
    assert_eq!(meta.key_manager().map(|m| m.as_str()), Some("CUSTOMER"));
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let res = cfn
        .describe_stack_resource()
        .stack_name(format!("rm-{name}"))
        .logical_resource_id("TenantKey")
        .send()
        .await
        .unwrap();
    assert_eq!(res.stack_resource_detail().and_then(|r| r.physical_resource_id()), Some(key_id.as_str()));
    let aliases = kms.list_aliases().key_id(&key_id).send().await.expect("KMS ListAliases");
    assert!(aliases.aliases().iter().any(|a| a.alias_name() == Some(alias.as_str())), "{aliases:?}");

    let rotation = kms.get_key_rotation_status().key_id(&key_id).send().await.expect("KMS GetKeyRotationStatus");
    assert!(rotation.key_rotation_enabled(), "rotation on");

    // the policy as KMS holds it: the account administers; CloudWatch Logs only for this tenant's log groups
    let policy = kms.get_key_policy().key_id(&key_id).policy_name("default").send().await.expect("KMS GetKeyPolicy");
    let policy: Value = serde_json::from_str(policy.policy().expect("a policy")).expect("JSON policy");
    let st = policy["Statement"].as_array().expect("statements");
    let account = aws_sdk_sts::Client::new(&sdk).get_caller_identity().send().await.unwrap().account.unwrap();
    assert_eq!(st[0]["Principal"]["AWS"], format!("arn:aws:iam::{account}:root"), "{policy}");
    assert_eq!(st[1]["Principal"]["Service"], format!("logs.{REGION}.amazonaws.com"), "{policy}");
    let groups: Vec<&str> = st[1]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        .as_array()
        .expect("logs use is conditioned on the log group")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(groups.len(), 7, "{groups:?}");
    let prefix = format!("arn:aws:logs:{REGION}:{account}:log-group:");
    assert!(groups.iter().all(|g| g.starts_with(&prefix) && g.contains(&format!("rm-{name}"))), "{groups:?}");
    assert!(groups.contains(&format!("{prefix}/aws/lambda/rm-{name}-api").as_str()), "{groups:?}");

    // the dead-letter queue, through SQS
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs.get_queue_url().queue_name(format!("rm-{name}-rule-errors")).send().await.unwrap().queue_url.unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("SQS GetQueueAttributes");
    let attr = |k: aws_sdk_sqs::types::QueueAttributeName| attrs.attributes().and_then(|a| a.get(&k)).cloned();
    assert_eq!(attr(aws_sdk_sqs::types::QueueAttributeName::KmsMasterKeyId), Some(key_arn.clone()));
    assert_eq!(attr(aws_sdk_sqs::types::QueueAttributeName::KmsDataKeyReusePeriodSeconds).as_deref(), Some("300"));
    // (moto keeps answering SqsManagedSseEnabled "true" next to the key; AWS answers "false": the template never
    // sets both, see security::customer_managed_key_encrypts_every_table_queue_log_group_function_and_secret)

    // the tables, through DynamoDB: moto drops SSESpecification from CloudFormation (tripwire)
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for table in ["users", "nodes", "user-nodes", "telemetry", "binding-requests", "serial-allowlist"] {
        let d =
            ddb.describe_table().table_name(format!("rm-{name}-{table}")).send().await.expect("DynamoDB DescribeTable");
        let sse = d.table().and_then(|t| t.sse_description());
        // real DynamoDB answers SSEDescription { Status: ENABLED, SSEType: KMS, KMSMasterKeyArn: <the key> }
        assert!(
            sse.is_none(),
            "moto now applies SSESpecification ({table}: {sse:?}): assert KMSMasterKeyArn == {key_arn} here instead"
        );
    }
    // function environments: moto drops KmsKeyArn from CloudFormation (tripwire)
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let f = lambda.get_function_configuration().function_name(format!("rm-{name}-api")).send().await.unwrap();
    assert_eq!(f.kms_key_arn(), None, "moto now applies KmsKeyArn: assert it is {key_arn} here instead");

    // destroy, even with --delete-data, keeps the key (what it encrypted may still be kept: log data, backups, the
    // secrets): it stays enabled, not scheduled for deletion
    let d = destroy::destroy(
        &t,
        &DestroyOptions { keep_data: false, force_delete_secrets: false, ..moto_destroy_options() },
        &NoProgress,
    )
    .await
    .expect("destroy --delete-data");
    let kept = d.kept.iter().find(|k| k.resource.logical_id == "TenantKey").unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(kept.resource.resource_type, "AWS::KMS::Key");
    // (real CloudFormation lists its id; moto answers DescribeStackResources for this stack with a 500, and a key
    // has no name to fall back on, so there it is listed without one)
    match kept.resource.physical_id.as_deref() {
        Some(id) => assert!(id == key_id && kept.reason.contains("schedule-key-deletion"), "{kept:?}"),
        None => assert!(kept.reason.contains("by hand"), "{kept:?}"),
    }
    assert!(!d.deleted_data.iter().any(|k| k.resource.resource_type == "AWS::KMS::Key"), "{d:#?}");
    assert_eq!(
        d.deleted_data.iter().filter(|k| k.resource.resource_type == "AWS::DynamoDB::Table").count(),
        6,
        "{d:#?}"
    );
    let after = kms.describe_key().key_id(&key_id).send().await.expect("KMS DescribeKey after destroy");
    let state = after.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str().to_string());
    assert_eq!(state.as_deref(), Some("Enabled"), "the key survives destroy --delete-data");
}
