//! Helpers of the destroy tests: an applied tenant with moto's skipped resources stood in, and each resource's
//! state read through its own service.

use super::super::fixtures::{moto_apply_options, moto_destroy_options, tenant, write_artifacts};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::destroy::delete::Outcome;
use rainmaker_deploy::aws::destroy::{self, DestroyOptions, DestroyReport};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer, REGION};
use std::collections::BTreeSet;

/// A fresh smart-home tenant applied in its own account, with moto's skipped resources stood in.
pub async fn applied(label: &str) -> (tempfile::TempDir, Tenant, StandIns) {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for(label)).await;
    let dir = tempfile::tempdir().unwrap();
    let t = tenant(&format!("{label}-{}", std::process::id() % 100_000), REGION, sdk, dir.path());
    write_artifacts(&t.artifacts_dir, "v1");
    let opts = moto_apply_options();
    deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("apply");
    let s = stand_ins(&t).await;
    (dir, t, s)
}

/// What moto's CloudFormation skipped, created through each service with the deployed template's names.
pub struct StandIns {
    pub pool_id: String,
    pub secrets: Vec<String>,
}

pub async fn live_template(t: &Tenant, stack: &str) -> serde_json::Value {
    let cfn = aws_sdk_cloudformation::Client::new(&t.sdk);
    let body = cfn.get_template().stack_name(stack).send().await.unwrap();
    rainmaker_deploy::template::parse(body.template_body().unwrap()).unwrap()
}

pub async fn stand_ins(t: &Tenant) -> StandIns {
    use aws_sdk_cognitoidentityprovider::types::DeletionProtectionType;
    let names = Names::new(&t.config.name);
    let live = live_template(t, &names.backend_stack).await;
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&t.sdk);
    let (mut secrets, mut pool_id) = (vec![], None);
    for (id, r) in live["Resources"].as_object().unwrap() {
        match r["Type"].as_str().unwrap() {
            "AWS::SecretsManager::Secret" => {
                let name = r["Properties"]["Name"].as_str().unwrap();
                sm.create_secret().name(name).secret_string(format!("{id}-key")).send().await.unwrap();
                secrets.push(name.to_string());
            }
            "AWS::Cognito::UserPool" => {
                let name = r["Properties"]["UserPoolName"].as_str().unwrap();
                let p = cognito
                    .create_user_pool()
                    .pool_name(name)
                    .deletion_protection(DeletionProtectionType::Active)
                    .send()
                    .await
                    .unwrap();
                let id = p.user_pool().unwrap().id().unwrap().to_string();
                cognito
                    .create_user_pool_domain()
                    .user_pool_id(&id)
                    .domain(format!("{name}-auth"))
                    .send()
                    .await
                    .unwrap();
                pool_id = Some(id);
            }
            _ => {}
        }
    }
    assert_eq!(secrets.len(), 2, "SerialKeySecret and GdprReceiptKeySecret in the deployed template");
    StandIns { pool_id: pool_id.expect("a user pool in the deployed template"), secrets }
}

/// (stack, logical id) of every resource the live stacks' deployed templates retain, read here from GetTemplate.
pub async fn retained_live(t: &Tenant) -> BTreeSet<(String, String)> {
    let names = Names::new(&t.config.name);
    let mut out = BTreeSet::new();
    for stack in [&names.backend_stack, &names.bootstrap_stack] {
        let live = live_template(t, stack).await;
        for (id, r) in live["Resources"].as_object().unwrap() {
            if r["DeletionPolicy"] == "Retain" {
                out.insert((stack.clone(), id.clone()));
            }
        }
    }
    out
}

pub fn kept_ids(d: &DestroyReport) -> BTreeSet<(String, String)> {
    d.kept.iter().map(|k| (k.resource.stack.clone(), k.resource.logical_id.clone())).collect()
}

pub fn outcome<'a>(d: &'a DestroyReport, logical_id: &str) -> &'a Outcome {
    &d.deleted_data
        .iter()
        .find(|x| x.resource.logical_id == logical_id)
        .unwrap_or_else(|| panic!("{logical_id}: {d:#?}"))
        .outcome
}

pub fn s3(t: &Tenant) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&t.sdk).force_path_style(true).build())
}

pub async fn run(t: &Tenant, keep_data: bool) -> DestroyReport {
    let opts = DestroyOptions { keep_data, ..moto_destroy_options() };
    destroy::destroy(t, &opts, &NoProgress).await.expect("destroy")
}

pub async fn table_exists(t: &Tenant, name: &str) -> bool {
    match aws_sdk_dynamodb::Client::new(&t.sdk).describe_table().table_name(name).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => false,
        Err(e) => panic!("DescribeTable {name}: {e:?}"),
    }
}

pub async fn pool_exists(t: &Tenant, id: &str) -> bool {
    match aws_sdk_cognitoidentityprovider::Client::new(&t.sdk).describe_user_pool().user_pool_id(id).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => false,
        Err(e) => panic!("DescribeUserPool {id}: {e:?}"),
    }
}

/// DescribeSecret: None = gone, Some(None) = live, Some(Some(date)) = scheduled for deletion on that date.
pub async fn secret_state(t: &Tenant, name: &str) -> Option<Option<aws_smithy_types::DateTime>> {
    match aws_sdk_secretsmanager::Client::new(&t.sdk).describe_secret().secret_id(name).send().await {
        Ok(d) => Some(d.deleted_date().cloned()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => None,
        Err(e) => panic!("DescribeSecret {name}: {e:?}"),
    }
}

/// The tables the deployed backend template names.
pub async fn tables(t: &Tenant) -> Vec<String> {
    let live = live_template(t, &Names::new(&t.config.name).backend_stack).await;
    let mut v: Vec<String> = live["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::DynamoDB::Table")
        .map(|r| r["Properties"]["TableName"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

pub fn started_secs(t: std::time::SystemTime) -> i64 {
    aws_smithy_types::DateTime::from(t).secs()
}
