//! The hook against DynamoDB in moto_server, with the event shaped like AWS's documented example.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use provisioning_hook::Hook;
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

const PATTERN: &str = "SN-[0-9]{6}";

struct Env {
    ddb: Client,
    tables: TableNames,
    hook: Hook,
}

async fn env(label: &str) -> Env {
    env_on(MotoServer::shared(), label).await
}

async fn env_on(moto: &MotoServer, label: &str) -> Env {
    let sdk = moto.sdk_config().await;
    let ddb = Client::new(&sdk);
    let tables = create_tables(&ddb, &unique_prefix(label)).await;
    let hook = Hook::new(&sdk, tables.clone(), PATTERN).unwrap();
    Env { ddb, tables, hook }
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/pre-provisioning-hook.json")).unwrap()
}

fn event(serial: &str, cert: &str) -> Value {
    let mut ev = fixture();
    ev["parameters"]["SerialNumber"] = json!(serial);
    ev["certificateId"] = json!(cert);
    ev
}

impl Env {
    async fn allow(&self, serial: &str) {
        self.ddb
            .put_item()
            .table_name(&self.tables.serial_allowlist)
            .item(attr::SERIAL, AttributeValue::S(serial.into()))
            .item(attr::PROVISIONED, AttributeValue::Bool(false))
            .send()
            .await
            .unwrap();
    }

    async fn get(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        let out = self.ddb.get_item().table_name(table).key(key, AttributeValue::S(value.into())).send().await.unwrap();
        out.item().cloned()
    }

    async fn allowed(&self, ev: Value) -> bool {
        let resp = serde_json::to_value(self.hook.handle(ev).await).unwrap();
        assert_eq!(resp["parameterOverrides"], json!({}), "{resp}");
        resp["allowProvisioning"].as_bool().expect("allowProvisioning is a bool")
    }
}

#[tokio::test]
async fn the_documented_event_provisions_a_listed_serial_once() {
    let e = env("once").await;
    e.allow("SN-000123").await;
    assert!(e.allowed(fixture()).await);

    let entry = e.get(&e.tables.serial_allowlist, attr::SERIAL, "SN-000123").await.unwrap();
    assert_eq!(entry[attr::PROVISIONED], AttributeValue::Bool(true));
    assert_eq!(entry[attr::CERTIFICATE_ID], AttributeValue::S(fixture()["certificateId"].as_str().unwrap().into()));
    let node = e.get(&e.tables.nodes, attr::NODE_ID, "SN-000123").await.unwrap();
    assert_eq!(node[attr::SERIAL], AttributeValue::S("SN-000123".into()));
    assert_eq!(node[attr::CONNECTED], AttributeValue::Bool(false));
    assert!(node.contains_key(attr::PROVISIONED_AT));
    assert!(!node.contains_key(attr::OWNER_ID));

    // a second device (another certificate) with the same serial is refused
    assert!(!e.allowed(event("SN-000123", "another-cert")).await);
}

#[tokio::test]
async fn concurrent_devices_with_one_serial_cannot_both_pass() {
    // moto's threaded server lets two conditional transactions on one item both succeed (DynamoDB serialises
    // them); the serialised server keeps DynamoDB's guarantee while the eight hooks still race.
    let moto = MotoServer::start_serialised();
    let e = env_on(&moto, "race").await;
    e.allow("SN-000777").await;
    let calls = (0..8).map(|i| e.hook.handle(event("SN-000777", &format!("cert-{i}"))));
    let results = futures_util::future::join_all(calls).await;
    let winners: Vec<usize> =
        results.iter().enumerate().filter(|(_, r)| r.allow_provisioning).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "exactly one device may pass: {winners:?}");
    let entry = e.get(&e.tables.serial_allowlist, attr::SERIAL, "SN-000777").await.unwrap();
    assert_eq!(entry[attr::CERTIFICATE_ID], AttributeValue::S(format!("cert-{}", winners[0])));
}

#[tokio::test]
async fn unlisted_or_mismatching_serials_are_refused() {
    let e = env("refuse").await;
    assert!(!e.allowed(event("SN-000999", "c1")).await, "not on the allow-list");
    e.allow("XX-1").await;
    assert!(!e.allowed(event("XX-1", "c2")).await, "listed but does not match SERIAL_PATTERN");
    assert!(e.get(&e.tables.nodes, attr::NODE_ID, "XX-1").await.is_none(), "no node for a refused serial");
    let entry = e.get(&e.tables.serial_allowlist, attr::SERIAL, "XX-1").await.unwrap();
    assert_eq!(entry[attr::PROVISIONED], AttributeValue::Bool(false));
}

#[tokio::test]
async fn malformed_events_are_refused_not_crashed() {
    let e = env("malformed").await;
    e.allow("SN-000123").await;
    let mut no_params = fixture();
    no_params.as_object_mut().unwrap().remove("parameters");
    let mut no_cert = fixture();
    no_cert.as_object_mut().unwrap().remove("certificateId");
    let mut numeric = fixture();
    numeric["parameters"]["SerialNumber"] = json!(123);
    for bad in [json!(null), json!("text"), json!([fixture()]), json!({}), no_params, no_cert, numeric] {
        assert!(!e.allowed(bad.clone()).await, "{bad}");
    }
    // none of them used up the serial
    assert!(e.allowed(fixture()).await);
}

#[tokio::test]
async fn an_operator_can_allow_a_serial_again() {
    let e = env("again").await;
    e.allow("SN-000500").await;
    assert!(e.allowed(event("SN-000500", "c1")).await);
    e.allow("SN-000500").await; // operator resets `provisioned` (e.g. after a board replacement)
    assert!(e.allowed(event("SN-000500", "c2")).await);
}

/// Issue 8, high 4 (first half): a retry of the same certificate after a lost answer gets the same answer;
/// another certificate for the provisioned serial is still refused. The node records the certificate.
#[tokio::test]
async fn high4_the_same_certificate_gets_the_same_answer() {
    let e = env("idempotent").await;
    e.allow("SN-000321").await;
    assert!(e.allowed(event("SN-000321", "cert-a")).await);
    assert!(e.allowed(event("SN-000321", "cert-a")).await, "a retry is allowed again");
    assert!(!e.allowed(event("SN-000321", "cert-b")).await, "another certificate is not");
    let node = e.get(&e.tables.nodes, attr::NODE_ID, "SN-000321").await.unwrap();
    assert_eq!(node[attr::CERTIFICATE_ID], AttributeValue::S("cert-a".into()));
}

/// Issue 8, high 2: no serial may live in the claim connections' client-id namespace, so a claim connection's
/// client id is never a thing name.
#[tokio::test]
async fn high2_a_serial_in_the_claim_namespace_is_refused() {
    let e = env("claim-ns").await;
    let hook = Hook::new(&MotoServer::shared().sdk_config().await, e.tables.clone(), "").unwrap();
    e.allow("rm-claim-1").await;
    let resp = serde_json::to_value(hook.handle(event("rm-claim-1", "cert-x")).await).unwrap();
    assert_eq!(resp["allowProvisioning"], false, "{resp}");
    assert!(e.get(&e.tables.nodes, attr::NODE_ID, "rm-claim-1").await.is_none());
}
