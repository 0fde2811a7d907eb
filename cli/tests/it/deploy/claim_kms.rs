//! The claim secret under the tenant key with `security.kms: customer-managed`, on moto, checked through Secrets
//! Manager (DescribeSecret's `KmsKeyId`) and KMS (DescribeKey by the alias): a first apply creates the secret with
//! the key the backend stack made before it; a secret written under `aws/secretsmanager` (no KmsKeyId) is moved to
//! the key with its certificate and private key unchanged; with the key disabled, an apply that would
//! write the secret is refused and changes nothing.

use super::fixtures::{moto_apply_options, tenant, write_artifacts};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::config::Kms;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer, REGION};

async fn secret_key(t: &Tenant) -> Option<String> {
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    let d = sm.describe_secret().secret_id(Names::new(&t.config.name).claim_secret).send().await.unwrap();
    d.kms_key_id().map(str::to_string)
}

async fn tenant_key_arn(t: &Tenant) -> String {
    let kms = aws_sdk_kms::Client::new(&t.sdk);
    let k = kms.describe_key().key_id(format!("alias/rm-{}", t.config.name)).send().await.expect("the tenant key");
    k.key_metadata().unwrap().arn().unwrap().to_string()
}

async fn secret_value(t: &Tenant) -> serde_json::Value {
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    let v = sm.get_secret_value().secret_id(Names::new(&t.config.name).claim_secret).send().await.unwrap();
    serde_json::from_str(v.secret_string().unwrap()).unwrap()
}

async fn applied(label: &str, kms: Kms) -> (tempfile::TempDir, Tenant) {
    let sdk = MotoServer::shared().sdk_config_in(&account_for(label)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut t = tenant(&format!("{label}-{}", std::process::id() % 100_000), REGION, sdk, dir.path());
    t.config.security.kms = kms;
    write_artifacts(&t.artifacts_dir, "v1");
    apply(&t).await.expect("apply");
    (dir, t)
}

async fn apply(t: &Tenant) -> Result<deploy::ApplyReport, rainmaker_deploy::aws::DeployError> {
    deploy::apply(t, &moto_apply_options(), &Always(true), &NoProgress).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_apply_with_customer_managed_creates_the_claim_secret_under_the_tenant_key() {
    let (_dir, t) = applied("ckms-new", Kms::CustomerManaged).await;
    let arn = tenant_key_arn(&t).await;
    assert!(arn.starts_with("arn:aws:kms:") && arn.contains(":key/"), "{arn}");
    assert_eq!(secret_key(&t).await.as_deref(), Some(arn.as_str()), "CreateSecret carried the tenant key's ARN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_secret_written_under_aws_managed_is_moved_to_the_tenant_key_and_kept() {
    let (_dir, t) = applied("ckms-move", Kms::CustomerManaged).await;
    let arn = tenant_key_arn(&t).await;
    let before = secret_value(&t).await;
    // the secret as a tenant deployed under aws-managed left it: the same record, under aws/secretsmanager (moto
    // cannot execute the backend UPDATE that switches a deployed tenant: "Fn::GetAtt references undefined resource
    // UsersTable"; that update is CloudFormation's, this is what the claim step does after it)
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    let name = Names::new(&t.config.name).claim_secret;
    sm.delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await.unwrap();
    sm.create_secret().name(&name).secret_string(before.to_string()).send().await.unwrap();
    assert_eq!(secret_key(&t).await, None, "under the account's aws/secretsmanager key: no KmsKeyId");

    // an apply that reads the account (a fresh directory) moves it to the tenant key, value untouched
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Tenant { config_dir: fresh_dir.path().to_path_buf(), ..t.clone() };
    let r = apply(&fresh).await.expect("apply from a fresh directory");
    assert!(r.claim_certificate.is_some_and(|c| !c.created), "the recorded certificate, none made");
    assert_eq!(secret_key(&t).await.as_deref(), Some(arn.as_str()), "UpdateSecret moved it to the tenant key");
    let ops = &r.api_calls.by_operation;
    assert_eq!(ops.get("Secrets Manager.UpdateSecret"), Some(&1), "{ops:?}");
    assert_eq!(ops.get("KMS.DescribeKey"), Some(&1), "the key checked before: {ops:?}");
    assert_eq!(ops.get("Secrets Manager.PutSecretValue"), None, "the value is not rewritten: {ops:?}");
    assert_eq!(secret_value(&t).await, before, "the same certificate and private key: nothing lost");
    // already under the key: the next full read of the account does not move it again
    let again_dir = tempfile::tempdir().unwrap();
    let again = apply(&Tenant { config_dir: again_dir.path().to_path_buf(), ..t.clone() }).await.expect("again");
    assert_eq!(again.api_calls.by_operation.get("Secrets Manager.UpdateSecret"), None, "{:?}", again.api_calls);

    // the key disabled: an apply that reads the account (a fresh directory) refuses before writing anything
    let kms = aws_sdk_kms::Client::new(&t.sdk);
    let key_id = arn.rsplit_once(":key/").unwrap().1.to_string();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let versions = || async {
        let v = sm.list_secret_version_ids().secret_id(Names::new(&t.config.name).claim_secret).send().await;
        v.unwrap().versions().len()
    };
    let n = versions().await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = Tenant { config_dir: other_dir.path().to_path_buf(), ..t.clone() };
    let err = apply(&other).await.expect_err("a disabled tenant key");
    let text = err.to_string();
    assert!(text.contains(&format!("alias/rm-{}", t.config.name)) && text.contains("Disabled"), "{text}");
    assert_eq!(versions().await, n, "no version written");
    assert_eq!(secret_value(&t).await, before, "the secret is untouched");
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    apply(&other).await.expect("the key enabled again");
}
