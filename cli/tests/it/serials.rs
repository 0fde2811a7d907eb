//! `serials import | list | show` through the built binary against moto: a smart-home tenant deployed with
//! `apply`, its serial key created through the Secrets Manager API (moto's CloudFormation skips
//! `AWS::SecretsManager::Secret`), the allow-list checked through DynamoDB, certificates through IoT.

use crate::deploy::cli::run_aws;
use crate::support::{run, tempdir, Run};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use rainmaker_model::device_secret::{secret_hmac, TenantKey};
use rainmaker_test_support::{closed_port_url, MotoServer, REGION};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A deployed tenant with its serial key.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    pub name: String,
    pub ddb: aws_sdk_dynamodb::Client,
    pub iot: aws_sdk_iot::Client,
    pub allowlist: String,
    pub nodes: String,
    pub key: TenantKey,
    pub sdk: aws_config::SdkConfig,
}

impl Fixture {
    pub fn run(&self, args: &[&str]) -> Run {
        let config = self.dir.path().join("rainmaker.yaml");
        let mut all: Vec<&str> = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        run_aws(self.dir.path(), &self.endpoint, &all)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub async fn entry(&self, serial: &str) -> Option<HashMap<String, AttributeValue>> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.allowlist)
            .key(attr::SERIAL, AttributeValue::S(serial.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item().cloned()
    }

    pub async fn count(&self) -> i32 {
        self.ddb
            .scan()
            .table_name(&self.allowlist)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count()
    }
}

/// Deploy a smart-home tenant to moto and create its serial key `rm-<name>-serial-key` (64 alphanumerics).
pub async fn fixture(label: &str) -> Fixture {
    let moto = MotoServer::shared();
    let (dir, tenant) = crate::deploy::fixtures::applied_smart_home(label).await;
    let (sdk, name) = (tenant.sdk.clone(), tenant.config.name.clone());
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let random = sm.get_random_password().password_length(64).exclude_punctuation(true).send().await.unwrap();
    let text = random.random_password().unwrap().to_string();
    sm.create_secret().name(format!("rm-{name}-serial-key")).secret_string(&text).send().await.unwrap();
    let tables = rainmaker_model::TableNames::for_tenant(&name);
    Fixture {
        dir,
        endpoint: moto.endpoint_url(),
        name,
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        iot: aws_sdk_iot::Client::new(&sdk),
        allowlist: tables.serial_allowlist,
        nodes: tables.nodes,
        key: TenantKey::from_secret_string(&text).unwrap(),
        sdk,
    }
}

/// Smart-home serials are 12 of A-Z and 0-9.
fn serial(i: usize) -> String {
    format!("SH{i:010}")
}

fn secret(i: usize, variant: &str) -> String {
    format!("factory-{variant}-secret-{i:08}")
}

fn csv(rows: &[(String, String)]) -> String {
    let mut s = String::from("serial,secret\n");
    for (a, b) in rows {
        s.push_str(&format!("{a},{b}\n"));
    }
    s
}

fn json(r: &Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()))
}

fn no_secret_in(r: &Run, secrets: &[String], hmacs: &[String]) {
    let all = format!("{}{}", r.stdout, r.stderr);
    for s in secrets.iter().chain(hmacs) {
        assert!(!all.contains(s.as_str()), "{s} printed:\n{}", r.transcript());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_checked_idempotent_and_never_changes_a_provisioned_serial() {
    let f = fixture("srl-imp").await;
    let rows: Vec<(String, String)> = (0..3).map(|i| (serial(i), secret(i, "a"))).collect();
    let file = f.file("serials.csv", &csv(&rows));
    let secrets: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let hmacs: Vec<String> = rows.iter().map(|(s, p)| secret_hmac(&f.key, s, p)).collect();

    // dry run: counted, nothing written
    let r = f.run(&["serials", "import", "--file", file.to_str().unwrap(), "--dry-run", "--output", "json"]);
    let v = json(&r);
    assert_eq!((v["dry_run"].as_bool(), v["added"].as_u64(), v["lines"].as_u64()), (Some(true), Some(3), Some(3)));
    assert_eq!(f.count().await, 0, "a dry run writes nothing");

    // the import: each entry holds the HMAC under the tenant key, never the secret
    let r = f.run(&["serials", "import", "--file", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.contains("3 serials — 3 added, 0 unchanged, 0 updated, 0 refused"), "{}", r.stdout);
    no_secret_in(&r, &secrets, &hmacs);
    for (i, (s, _)) in rows.iter().enumerate() {
        let e = f.entry(s).await.expect("listed");
        assert_eq!(e[attr::SECRET_HMAC], AttributeValue::S(hmacs[i].clone()), "{s}");
        assert_eq!(e[attr::PROVISIONED], AttributeValue::Bool(false));
        assert!(e.values().all(|v| v.as_s().map_or(true, |t| !secrets.contains(t))), "no secret stored");
    }

    // again: unchanged
    let v = json(&f.run(&["serials", "import", "--file", file.to_str().unwrap(), "--output", "json"]));
    assert_eq!((v["added"].as_u64(), v["unchanged"].as_u64()), (Some(0), Some(3)), "{v}");

    // serial 1 is provisioned (the hook's write), then the factory re-issues secrets for 0 and 1
    f.ddb
        .update_item()
        .table_name(&f.allowlist)
        .key(attr::SERIAL, AttributeValue::S(serial(1)))
        .update_expression("SET #p = :t, #c = :c")
        .expression_attribute_names("#p", attr::PROVISIONED)
        .expression_attribute_names("#c", attr::CERTIFICATE_ID)
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":c", AttributeValue::S("c".repeat(64)))
        .send()
        .await
        .unwrap();
    let changed = vec![(serial(0), secret(0, "b")), (serial(1), secret(1, "b")), rows[2].clone()];
    let file2 = f.file("reissued.csv", &csv(&changed));
    let r = f.run(&["serials", "import", "--file", file2.to_str().unwrap(), "--output", "json"]);
    let v = json(&r);
    assert_eq!(
        (v["added"].as_u64(), v["unchanged"].as_u64(), v["updated"].as_u64(), v["refused"].as_u64()),
        (Some(0), Some(1), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(v["updated_serials"], serde_json::json!([serial(0)]));
    assert_eq!(v["refused_serials"][0]["serial"], serial(1));
    assert_eq!(v["refused_serials"][0]["line"], 3);
    no_secret_in(&r, &[secret(0, "b"), secret(1, "b")], &[]);
    let e0 = f.entry(&serial(0)).await.unwrap();
    assert_eq!(e0[attr::SECRET_HMAC], AttributeValue::S(secret_hmac(&f.key, &serial(0), &secret(0, "b"))));
    let e1 = f.entry(&serial(1)).await.unwrap();
    assert_eq!(e1[attr::SECRET_HMAC], AttributeValue::S(hmacs[1].clone()), "a provisioned serial is never changed");
    assert_eq!(e1[attr::PROVISIONED], AttributeValue::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_imported_in_batches() {
    let f = fixture("srl-big").await;
    let n = 1_234;
    let mut text = String::from("serial,secret\n");
    for i in 0..n {
        text.push_str(&format!("{},{}\n", serial(i), secret(i, "x")));
    }
    let file = f.file("big.csv", &text);
    let v = json(&f.run(&["serials", "import", "--file", file.to_str().unwrap(), "--output", "json"]));
    assert_eq!((v["lines"].as_u64(), v["added"].as_u64()), (Some(n as u64), Some(n as u64)), "{v}");
    assert_eq!(f.count().await, n as i32);
    let last = f.entry(&serial(n - 1)).await.unwrap();
    assert_eq!(last[attr::SECRET_HMAC], AttributeValue::S(secret_hmac(&f.key, &serial(n - 1), &secret(n - 1, "x"))));
}

/// A tenant config without any stack: the file is checked before any AWS call (the endpoint is a closed port).
fn offline_tenant() -> tempfile::TempDir {
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", "srl-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    d
}

fn snap(name: &str, dir: &Path, r: &Run) {
    let d = regex::escape(&dir.display().to_string());
    insta::with_settings!({ filters => vec![(d.as_str(), "[DIR]"), (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")] }, {
        insta::assert_snapshot!(name, r.transcript());
    });
}

#[test]
fn import_reports_every_problem_with_its_line_before_any_write() {
    let d = offline_tenant();
    let good = "k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJa";
    let text = format!(
        "serial,secret\nSH0000000001,{good}\nsh-lower,{good}\nSH0000000002,tooshort\nSH0000000003\nSH0000000001,{good}\n\
         SH0000000004,{good}!\nrm-claim-123,{good}\n"
    );
    let file = d.path().join("serials.csv");
    std::fs::write(&file, text).unwrap();
    let r = run_aws(d.path(), &closed_port_url(), &["serials", "import", "--file", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(!r.stderr.contains(good) && !r.stderr.contains("tooshort"), "a secret in an error: {}", r.stderr);
    snap("serials-import-bad-file", d.path(), &r);
    let no_header = d.path().join("no-header.csv");
    std::fs::write(&no_header, format!("SH0000000001,{good}\n")).unwrap();
    let r = run_aws(d.path(), &closed_port_url(), &["serials", "import", "--file", no_header.to_str().unwrap()]);
    snap("serials-import-no-header", d.path(), &r);
    let r = run_aws(d.path(), &closed_port_url(), &["serials", "import", "--file", "missing.csv"]);
    snap("serials-import-missing-file", d.path(), &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_show_tell_the_state_and_never_a_secret() {
    let f = fixture("srl-show").await;
    let rows: Vec<(String, String)> = (0..3).map(|i| (serial(i), secret(i, "s"))).collect();
    let file = f.file("serials.csv", &csv(&rows));
    assert_eq!(f.run(&["serials", "import", "--file", file.to_str().unwrap()]).code, 0);
    let secrets: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let hmacs: Vec<String> = rows.iter().map(|(s, p)| secret_hmac(&f.key, s, p)).collect();

    // serial 0 provisions through the real hook with a certificate IoT knows
    let cert = f.iot.create_keys_and_certificate().set_as_active(true).send().await.unwrap();
    let cert_id = cert.certificate_id().unwrap().to_string();
    assert!(hook_allows(&f, &serial(0), &secret(0, "s"), &cert_id).await);

    let r = f.run(&["serials", "list"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    no_secret_in(&r, &secrets, &hmacs);
    let v = json(&f.run(&["serials", "list", "--provisioned", "--output", "json"]));
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["serial"], serial(0));
    assert_eq!(v[0]["certificate_id"], cert_id.as_str());
    let v = json(&f.run(&["serials", "list", "--unprovisioned", "--output", "json"]));
    let mut got: Vec<&str> = v.as_array().unwrap().iter().map(|e| e["serial"].as_str().unwrap()).collect();
    got.sort();
    assert_eq!(got, [serial(1), serial(2)]);

    let r = f.run(&["serials", "show", &serial(0), "--output", "json"]);
    no_secret_in(&r, &secrets, &hmacs);
    let v = json(&r);
    assert_eq!(v["provisioned"], true);
    assert_eq!(v["secret_set"], true);
    assert_eq!(v["certificate_status"], "ACTIVE");
    assert_eq!(v["node"], true);
    assert_eq!(v["owner"], false);
    let r = f.run(&["serials", "show", &serial(1)]);
    assert!(r.stdout.contains("provisioned     no") && r.stdout.contains("certificate     -"), "{}", r.stdout);
    let r = f.run(&["serials", "show", "SH9999999999"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("serial SH9999999999 is not on the allow-list of"), "{}", r.stderr);
}

async fn transact(f: &Fixture, items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>) {
    f.ddb.transact_write_items().set_transact_items(Some(items)).send().await.unwrap();
}

/// A device as fleet provisioning leaves it: a certificate IoT made (active), attached to the thing and with the
/// device policy, the serial provisioned through the real hook with its secret. The certificate's id and ARN.
async fn provision(f: &Fixture, serial: &str, secret: &str) -> (String, String) {
    let cert = f.iot.create_keys_and_certificate().set_as_active(true).send().await.unwrap();
    let (id, arn) = (cert.certificate_id().unwrap().to_string(), cert.certificate_arn().unwrap().to_string());
    if f.iot.describe_thing().thing_name(serial).send().await.is_err() {
        f.iot.create_thing().thing_name(serial).send().await.unwrap();
    }
    f.iot.attach_thing_principal().thing_name(serial).principal(&arn).send().await.unwrap();
    f.iot.attach_policy().policy_name(format!("rm-{}-device", f.name)).target(&arn).send().await.unwrap();
    assert!(hook_allows(f, serial, secret, &id).await, "the hook provisions {serial}");
    (id, arn)
}

/// The real provisioning hook's answer to the documented event for `serial` with `secret` and certificate `cert_id`.
async fn hook_allows(f: &Fixture, serial: &str, secret: &str, cert_id: &str) -> bool {
    let hook = provisioning_hook::Hook::new(
        &f.sdk,
        rainmaker_model::TableNames::for_tenant(&f.name),
        "^[A-Z0-9]{12}$",
        f.key.clone(),
    )
    .unwrap();
    let mut ev: serde_json::Value = serde_json::from_str(include_str!(
        "../../../runtime-lambdas/provisioning-hook/tests/fixtures/pre-provisioning-hook.json"
    ))
    .unwrap();
    ev["parameters"]["SerialNumber"] = serde_json::json!(serial);
    ev["parameters"]["DeviceSecret"] = serde_json::json!(secret);
    ev["certificateId"] = serde_json::json!(cert_id);
    hook.handle(ev).await.allow_provisioning
}

async fn status(f: &Fixture, cert: &str) -> String {
    let d = f.iot.describe_certificate().certificate_id(cert).send().await.unwrap();
    d.certificate_description().unwrap().status().unwrap().as_str().to_string()
}

async fn grant(f: &Fixture, user: &str, node: &str) -> bool {
    let tables = rainmaker_model::TableNames::for_tenant(&f.name);
    let out = f
        .ddb
        .get_item()
        .table_name(&tables.user_nodes)
        .key(attr::USER_ID, AttributeValue::S(user.into()))
        .key(attr::NODE_ID, AttributeValue::S(node.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item().is_some()
}

async fn node(f: &Fixture, serial: &str) -> HashMap<String, AttributeValue> {
    let out = f
        .ddb
        .get_item()
        .table_name(&f.nodes)
        .key(attr::NODE_ID, AttributeValue::S(serial.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item().cloned().expect("node")
}

/// Issue 8, high 4: a device is sold on (or its board replaced). `serials reset` revokes and detaches the old
/// certificate, removes the owner and every grant (the one unbind path), and only then lets the serial provision
/// again; the new certificate works, the old one stays REVOKED (checked through IoT's API).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high4_reset_revokes_the_old_certificate_and_clears_ownership() {
    let f = fixture("srl-reset").await;
    let (s, kept) = (serial(7), serial(8));
    let file = f.file("serials.csv", &csv(&[(s.clone(), secret(7, "r")), (kept.clone(), secret(8, "r"))]));
    assert_eq!(f.run(&["serials", "import", "--file", file.to_str().unwrap()]).code, 0);
    let (old, old_arn) = provision(&f, &s, &secret(7, "r")).await;
    let tables = rainmaker_model::TableNames::for_tenant(&f.name);
    let (owner, friend) = ("0a0a0a0a-0000-4000-8000-00000000000a", "0b0b0b0b-0000-4000-8000-00000000000b");
    transact(&f, rainmaker_model::write::bind(&tables, &s, owner, &old, "e1", 1).unwrap().into()).await;
    transact(&f, rainmaker_model::write::share(&tables, &s, owner, friend, Some("e1"), 2).unwrap().into()).await;
    // the owner's state in the thing's shadow (what the device reported, what the app wanted)
    let shadows = aws_sdk_iotdataplane::Client::new(&f.sdk);
    let doc = r#"{"state":{"reported":{"Power":true,"Room":"owner's kitchen"},"desired":{"Power":false}}}"#;
    shadows.update_thing_shadow().thing_name(&s).payload(doc.as_bytes().to_vec().into()).send().await.unwrap();

    // a dry run lists the steps and changes nothing
    let v = json(&f.run(&["serials", "reset", &s, "--dry-run", "--output", "json"]));
    let steps: Vec<&str> = v["steps"].as_array().unwrap().iter().map(|x| x["step"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "revoke_certificate",
            "detach_from_thing",
            "detach_policy",
            "unbind",
            "delete_shadow",
            "clear_node_certificate",
            "clear_provisioned"
        ]
    );
    assert_eq!(status(&f, &old).await, "ACTIVE");
    // without --yes and no terminal: refused
    let r = f.run(&["serials", "reset", &s]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(status(&f, &old).await, "ACTIVE");

    let r = f.run(&["serials", "reset", &s, "--yes", "--output", "json"]);
    let v = json(&r);
    assert_eq!(v["removed_grants"], 2, "{v}");
    assert!(!r.stdout.contains(owner) && !r.stdout.contains(friend), "no user id printed: {}", r.stdout);
    assert_eq!(status(&f, &old).await, "REVOKED", "the old certificate is revoked (IoT DescribeCertificate)");
    let principals = f.iot.list_thing_principals().thing_name(&s).send().await.unwrap();
    assert!(!principals.principals().contains(&old_arn), "detached from the thing: {principals:?}");
    let policies = f.iot.list_attached_policies().target(&old_arn).send().await.unwrap();
    assert!(policies.policies().is_empty(), "no policy left on it: {policies:?}");
    let n = node(&f, &s).await;
    assert!(!n.contains_key(attr::OWNER_ID) && !n.contains_key(attr::OWNER_EPOCH), "owner cleared: {n:?}");
    assert!(!n.contains_key(attr::CERTIFICATE_ID), "{n:?}");
    assert!(!grant(&f, owner, &s).await && !grant(&f, friend, &s).await, "every grant removed");
    let e = f.entry(&s).await.unwrap();
    assert_eq!(e[attr::PROVISIONED], AttributeValue::Bool(false));
    assert!(!e.contains_key(attr::CERTIFICATE_ID));
    assert!(e.contains_key(attr::SECRET_HMAC), "the device keeps its secret");
    let gone = shadows.get_thing_shadow().thing_name(&s).send().await.unwrap_err();
    assert!(
        gone.as_service_error().is_some_and(|x| x.is_resource_not_found_exception()),
        "the previous owner's shadow is deleted (IoT GetThingShadow): {gone:?}"
    );

    // the same device provisions again with a new certificate; the old one stays revoked
    let (new, _) = provision(&f, &s, &secret(7, "r")).await;
    assert_eq!(status(&f, &new).await, "ACTIVE");
    assert_eq!(status(&f, &old).await, "REVOKED", "a re-provisioned serial does not keep the old certificate ACTIVE");
    assert_eq!(node(&f, &s).await[attr::CERTIFICATE_ID], AttributeValue::S(new.clone()));

    // --keep-owner: the certificate goes, owner and grants stay
    let (old2, _) = provision(&f, &kept, &secret(8, "r")).await;
    transact(&f, rainmaker_model::write::bind(&tables, &kept, owner, &old2, "e2", 3).unwrap().into()).await;
    shadows.update_thing_shadow().thing_name(&kept).payload(doc.as_bytes().to_vec().into()).send().await.unwrap();
    let v = json(&f.run(&["serials", "reset", &kept, "--keep-owner", "--yes", "--output", "json"]));
    assert!(v["steps"].as_array().unwrap().iter().all(|x| x["step"] != "unbind"), "{v}");
    assert_eq!(status(&f, &old2).await, "REVOKED");
    assert_eq!(node(&f, &kept).await[attr::OWNER_ID], AttributeValue::S(owner.into()));
    assert!(grant(&f, owner, &kept).await);
    let shadow = shadows.get_thing_shadow().thing_name(&kept).send().await.unwrap();
    let shadow: serde_json::Value = serde_json::from_slice(shadow.payload().unwrap().as_ref()).unwrap();
    assert_eq!(shadow["state"]["reported"]["Room"], "owner's kitchen", "--keep-owner keeps the shadow: {shadow}");
    // and a reset of a serial with nothing to do says so
    let v = json(&f.run(&["serials", "reset", &kept, "--yes", "--output", "json"]));
    let left: Vec<&str> = v["steps"].as_array().unwrap().iter().map(|x| x["step"].as_str().unwrap()).collect();
    assert_eq!(left, ["unbind", "delete_shadow"], "only the kept owner and its shadow are left: {v}");
}
