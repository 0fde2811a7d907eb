//! The hook against DynamoDB and Secrets Manager in moto_server, with the event shaped like AWS's documented
//! example. moto's CloudFormation does not create `AWS::SecretsManager::Secret` (no support: the resource is
//! skipped), so each test creates the tenant's serial key through the Secrets Manager API, the way the stack's
//! `GenerateSecretString` would (64 alphanumerics), and the hook reads it as at cold start ([`read_tenant_key`]).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use provisioning_hook::{read_tenant_key, Hook};
use rainmaker_model::device_secret::{secret_hmac, TenantKey};
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

const PATTERN: &str = "SN-[0-9]{6}";
/// The fixture's `DeviceSecret`.
const SECRET: &str = "k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJa";

struct Env {
    ddb: Client,
    tables: TableNames,
    hook: Hook,
    key: TenantKey,
}

async fn env(label: &str) -> Env {
    env_on(MotoServer::shared(), label).await
}

/// Create a serial key secret in moto's Secrets Manager (random, 64 alphanumerics); its ARN.
async fn create_key_secret(sdk: &aws_config::SdkConfig, label: &str) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let random = sm.get_random_password().password_length(64).exclude_punctuation(true).send().await.unwrap();
    let out = sm
        .create_secret()
        .name(format!("{}serial-key", unique_prefix(label)))
        .secret_string(random.random_password().unwrap())
        .send()
        .await
        .unwrap();
    out.arn().unwrap().to_string()
}

async fn env_on(moto: &MotoServer, label: &str) -> Env {
    let sdk = moto.sdk_config().await;
    let ddb = Client::new(&sdk);
    let tables = create_tables(&ddb, &unique_prefix(label)).await;
    let arn = create_key_secret(&sdk, label).await;
    let key = read_tenant_key(&sdk, &arn).await.expect("the key, as the hook reads it at cold start");
    let hook = Hook::new(&sdk, tables.clone(), PATTERN, key.clone()).unwrap();
    Env { ddb, tables, hook, key }
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/pre-provisioning-hook.json")).unwrap()
}

fn event(serial: &str, cert: &str) -> Value {
    with_secret(serial, cert, Some(SECRET))
}

fn with_secret(serial: &str, cert: &str, secret: Option<&str>) -> Value {
    let mut ev = fixture();
    ev["parameters"]["SerialNumber"] = json!(serial);
    ev["certificateId"] = json!(cert);
    match secret {
        Some(s) => ev["parameters"]["DeviceSecret"] = json!(s),
        None => {
            ev["parameters"].as_object_mut().unwrap().remove("DeviceSecret");
        }
    }
    ev
}

impl Env {
    /// Allow-list `serial` with the fixture's secret, unprovisioned (what `serials import` writes).
    async fn allow(&self, serial: &str) {
        self.allow_with(serial, SECRET).await
    }

    async fn allow_with(&self, serial: &str, secret: &str) {
        self.ddb
            .put_item()
            .table_name(&self.tables.serial_allowlist)
            .item(attr::SERIAL, AttributeValue::S(serial.into()))
            .item(attr::PROVISIONED, AttributeValue::Bool(false))
            .item(attr::SECRET_HMAC, AttributeValue::S(secret_hmac(&self.key, serial, secret)))
            .send()
            .await
            .unwrap();
    }

    /// The serial is listed and not provisioned, and no node exists for it.
    async fn still_unprovisioned(&self, serial: &str) {
        let entry = self.get(&self.tables.serial_allowlist, attr::SERIAL, serial).await.unwrap();
        assert_eq!(entry[attr::PROVISIONED], AttributeValue::Bool(false), "{serial}");
        assert!(!entry.contains_key(attr::CERTIFICATE_ID), "{serial}");
        assert!(self.get(&self.tables.nodes, attr::NODE_ID, serial).await.is_none(), "no node for {serial}");
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
    let hook = Hook::new(&MotoServer::shared().sdk_config().await, e.tables.clone(), "", e.key.clone()).unwrap();
    e.allow("rm-claim-1").await;
    let resp = serde_json::to_value(hook.handle(event("rm-claim-1", "cert-x")).await).unwrap();
    assert_eq!(resp["allowProvisioning"], false, "{resp}");
    assert!(e.get(&e.tables.nodes, attr::NODE_ID, "rm-claim-1").await.is_none());
}

/// Issue 8, high 1: a claim-certificate holder knows an allow-listed, unprovisioned serial (printed on a box) but
/// not its factory secret. Guessing the secret is refused and leaves the serial untouched, so the real device
/// provisions it later.
#[tokio::test]
async fn high1_claim_holder_cannot_provision_a_serial_without_its_secret() {
    let e = env("squat").await;
    e.allow("SN-000410").await;
    for guess in ["k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJb", "0000000000000000000000", "SN-000410", &SECRET[..31]] {
        assert!(!e.allowed(with_secret("SN-000410", "attacker-cert", Some(guess))).await, "{guess}");
    }
    e.still_unprovisioned("SN-000410").await;
    assert!(e.allowed(event("SN-000410", "device-cert")).await, "the real device passes");
    let entry = e.get(&e.tables.serial_allowlist, attr::SERIAL, "SN-000410").await.unwrap();
    assert_eq!(entry[attr::CERTIFICATE_ID], AttributeValue::S("device-cert".into()));
    // and the attacker, now knowing it is provisioned, gets nothing with a retry either
    assert!(!e.allowed(with_secret("SN-000410", "attacker-cert", Some("k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJb"))).await);
}

/// Issue 8, high 1: no secret at all (the parameter left out, empty, or not a string) is refused.
#[tokio::test]
async fn high1_a_missing_secret_is_refused() {
    let e = env("nosecret").await;
    e.allow("SN-000411").await;
    let mut empty = with_secret("SN-000411", "c1", Some(""));
    assert!(!e.allowed(empty.clone()).await);
    empty["parameters"]["DeviceSecret"] = json!(12345);
    assert!(!e.allowed(empty.clone()).await);
    empty["parameters"]["DeviceSecret"] = Value::Null;
    assert!(!e.allowed(empty).await);
    assert!(!e.allowed(with_secret("SN-000411", "c1", None)).await);
    e.still_unprovisioned("SN-000411").await;
    // a serial listed without any secret (an entry from before proof of possession) is refused too
    e.ddb
        .put_item()
        .table_name(&e.tables.serial_allowlist)
        .item(attr::SERIAL, AttributeValue::S("SN-000412".into()))
        .item(attr::PROVISIONED, AttributeValue::Bool(false))
        .send()
        .await
        .unwrap();
    assert!(!e.allowed(event("SN-000412", "c2")).await);
    assert!(e.get(&e.tables.nodes, attr::NODE_ID, "SN-000412").await.is_none());
}

/// Issue 8, high 1: the attacker owns one device (serial A, secret a) and uses its secret for serial B.
#[tokio::test]
async fn high1_the_secret_of_another_serial_is_refused() {
    let e = env("othersecret").await;
    let a = "A1b2C3d4E5f6G7h8I9j0K1l2M3";
    e.allow_with("SN-000421", a).await;
    e.allow_with("SN-000422", SECRET).await;
    assert!(!e.allowed(with_secret("SN-000422", "attacker", Some(a))).await);
    e.still_unprovisioned("SN-000422").await;
    // even when the two devices were given the same secret, one serial's HMAC is not the other's
    let one = e.get(&e.tables.serial_allowlist, attr::SERIAL, "SN-000421").await.unwrap();
    e.allow_with("SN-000423", a).await;
    let two = e.get(&e.tables.serial_allowlist, attr::SERIAL, "SN-000423").await.unwrap();
    assert_ne!(one[attr::SECRET_HMAC], two[attr::SECRET_HMAC]);
    assert!(e.allowed(with_secret("SN-000421", "own-device", Some(a))).await, "its own serial still passes");
}

/// Issue 8, high 1: an allow-list written under another tenant's key verifies nothing here.
#[tokio::test]
async fn high1_an_hmac_under_another_tenants_key_is_refused() {
    let e = env("otherkey").await;
    let other = TenantKey::from_secret_string(&"Z".repeat(64)).unwrap();
    e.ddb
        .put_item()
        .table_name(&e.tables.serial_allowlist)
        .item(attr::SERIAL, AttributeValue::S("SN-000431".into()))
        .item(attr::SECRET_HMAC, AttributeValue::S(secret_hmac(&other, "SN-000431", SECRET)))
        .send()
        .await
        .unwrap();
    assert!(!e.allowed(event("SN-000431", "c1")).await);
}

/// The secret never reaches the log, whatever the outcome; the denial names its reason.
#[tokio::test]
async fn high1_the_secret_is_never_logged() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO) // RUST_LOG=info, as deployed
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Another test thread may have registered the hook's log callsites while this subscriber was
    // being registered, caching "never" for them (a race in tracing's interest cache): rebuild it.
    tracing::callsite::rebuild_interest_cache();
    let e = env("nolog").await;
    e.allow("SN-000441").await;
    let wrong = "WrongWrongWrongWrongWrong1";
    assert!(!e.allowed(with_secret("SN-000441", "c0", Some(wrong))).await);
    assert!(e.allowed(event("SN-000441", "c1")).await);
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("provisioning denied") && log.contains("does not match"), "{log}");
    assert!(log.contains("provisioning allowed"), "{log}");
    assert!(!log.contains(SECRET) && !log.contains(wrong), "a secret in the log: {log}");
    let hmac = secret_hmac(&e.key, "SN-000441", SECRET);
    assert!(!log.contains(&hmac), "the HMAC in the log: {log}");
}

/// A wrong ARN or a weak key stops the hook at cold start, with the reason (it never runs without a key).
#[tokio::test]
async fn a_missing_or_weak_serial_key_stops_the_hook_at_cold_start() {
    let sdk = MotoServer::shared().sdk_config().await;
    let err = read_tenant_key(&sdk, "arn:aws:secretsmanager:us-east-1:123456789012:secret:rm-nope-serial-key")
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("Secrets Manager GetSecretValue failed for the serial key"), "{err}");
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let weak = sm.create_secret().name(unique_prefix("weak")).secret_string("short").send().await.unwrap();
    let err = read_tenant_key(&sdk, weak.arn().unwrap()).await.unwrap_err();
    assert_eq!(err.to_string(), "the serial key has 5 characters; at least 32 are needed (the stack generates 64)");
}
