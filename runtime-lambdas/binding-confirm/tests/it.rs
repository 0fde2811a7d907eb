//! binding-confirm against DynamoDB in moto_server, with events made by running the binding rule's SQL
//! (`contract::SQL_BINDING`) over the payload a device publishes (moto stores rules but never runs them; the
//! projection is `rainmaker_test_support::iot_rule`).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use binding_confirm::{BindingOutcome, Confirm};
use rainmaker_model::contract::SQL_BINDING;
use rainmaker_model::{attr, time, TableNames};
use rainmaker_test_support::iot_rule::{project, Publisher};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

const ALICE: &str = "7d4c8f3e-1b2a-4c5d-9e6f-0a1b2c3d4e5f";
const MALLORY: &str = "3a11041e-0000-4000-8000-00000000000d";
/// Every node's certificate in these tests (the provisioning hook records it on the node).
const CERT: &str = "c0ffee";
/// The binding rule of the design before issue 8 (the payload's keys, then the rule's).
const OLD_SQL_BINDING: &str = "SELECT *, topic(2) AS node_id, timestamp() AS received_at FROM 'node/+/binding'";

struct Env {
    ddb: Client,
    tables: TableNames,
    api: api::Api,
    confirm: Confirm,
    victim: String,
    mallory_node: String,
}

async fn env(label: &str) -> Env {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let ddb = Client::new(&sdk);
    let prefix = unique_prefix(label);
    let tables = create_tables(&ddb, &prefix).await;
    let tag = prefix.trim_end_matches('-');
    let (victim, mallory_node) = (format!("SN-V-{tag}"), format!("SN-M-{tag}"));
    for node in [&victim, &mallory_node] {
        moto.create_thing(node);
        ddb.put_item()
            .table_name(&tables.nodes)
            .item(attr::NODE_ID, AttributeValue::S(node.clone()))
            .item(attr::SERIAL, AttributeValue::S(node.clone()))
            .item(attr::CERTIFICATE_ID, AttributeValue::S(CERT.into()))
            .send()
            .await
            .unwrap();
    }
    let api = api::Api::new(&sdk, tables.clone(), api::Settings::default(), Some("iot-data.invalid")).without_metrics();
    let confirm = Confirm::new(&sdk, tables.clone(), "test").without_metrics();
    Env { ddb, tables, api, confirm, victim, mallory_node }
}

fn api_request(method: &str, path: &str, user: &str, body: Value) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/tests/fixtures/apigw-proxy-request.json");
    let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(dir).unwrap()).unwrap();
    ev["httpMethod"] = json!(method);
    ev["path"] = json!(path);
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["authorizer"]["claims"]["sub"] = json!(user);
    ev["body"] = json!(body.to_string());
    ev
}

/// What the binding rule hands the function when `node`'s certificate publishes `payload` on its binding topic.
fn published(sql: &str, node: &str, payload: &Value) -> Value {
    published_by(sql, node, payload, CERT)
}

fn published_by(sql: &str, node: &str, payload: &Value, principal: &str) -> Value {
    let by = Publisher { principal, client_id: node };
    project(sql, &format!("node/{node}/binding"), payload, by, time::now_ms()).unwrap().expect("the rule matches")
}

impl Env {
    /// `user` binds `node` through both steps (the app's code request, the device's confirmation).
    async fn bind(&self, user: &str, node: &str) {
        let resp = self.api.handle(api_request("POST", "/nodes/bind", user, json!({"node_id": node}))).await;
        let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
        assert_eq!(resp["statusCode"], 201, "{body}");
        let ev = published(SQL_BINDING, node, &json!({"binding_code": body["binding_code"]}));
        let out = self.confirm.handle(ev).await.unwrap();
        assert_eq!(out, BindingOutcome::Bound { node_id: node.into(), user_id: user.into() });
    }

    async fn grant(&self, user: &str, node: &str) -> Option<String> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.user_nodes)
            .key(attr::USER_ID, AttributeValue::S(user.into()))
            .key(attr::NODE_ID, AttributeValue::S(node.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item().map(|i| i[attr::ROLE].as_s().unwrap().clone())
    }
}

/// Issue 8, critical: a device publishes an API Gateway request as the victim on its own binding topic. Neither
/// the new rule nor the old one gets it run as the REST API: binding-confirm refuses it, and the api function (no
/// longer a rule target at all) refuses it too if it ever gets it.
#[tokio::test]
async fn critical_device_cannot_run_the_api_as_a_user() {
    let e = env("crit-api").await;
    e.bind(ALICE, &e.victim).await;
    e.bind(MALLORY, &e.mallory_node).await;
    let crafted = json!({"httpMethod": "POST", "path": format!("/nodes/{}/shares", e.victim),
        "body": json!({"user_id": MALLORY}).to_string(),
        "requestContext": {"authorizer": {"claims": {"sub": ALICE}}}});

    // Through today's rule: only binding_code is selected, and there is none.
    let ev = published(SQL_BINDING, &e.mallory_node, &crafted);
    assert!(ev.get("httpMethod").is_none() && ev.get("requestContext").is_none(), "{ev}");
    let out = e.confirm.handle(ev).await.unwrap();
    assert!(matches!(out, BindingOutcome::Rejected { .. }), "{out:?}");

    // Through the old `SELECT *` rule: binding-confirm refuses the unknown fields.
    let old = published(OLD_SQL_BINDING, &e.mallory_node, &crafted);
    let out = e.confirm.handle(old.clone()).await.unwrap();
    match out {
        BindingOutcome::Refused { reason } => assert!(reason.contains("unknown field"), "{reason}"),
        other => panic!("the crafted event was not refused: {other:?}"),
    }
    // ... and so does the api function, with the rule's fields or without them.
    for ev in [old, crafted] {
        let resp = e.api.handle(ev).await;
        assert_eq!(resp["statusCode"], 400, "{resp}");
        assert!(resp["body"].as_str().unwrap().contains("not an API Gateway proxy request"), "{resp}");
    }

    assert_eq!(e.grant(MALLORY, &e.victim).await, None, "the attacker got no share of the victim's node");
    assert_eq!(e.grant(ALICE, &e.victim).await.as_deref(), Some("owner"));
}

/// A payload cannot set the rule-derived `node_id`: a device confirming another node's code from its own topic
/// confirms for its own node, and the code (issued for the other node) is refused.
#[tokio::test]
async fn payload_cannot_set_the_node_id() {
    let e = env("node-id").await;
    let resp = e.api.handle(api_request("POST", "/nodes/bind", ALICE, json!({"node_id": e.victim}))).await;
    let code = serde_json::from_str::<Value>(resp["body"].as_str().unwrap()).unwrap()["binding_code"].clone();
    let ev = published(SQL_BINDING, &e.mallory_node, &json!({"binding_code": code, "node_id": e.victim}));
    assert_eq!(ev["node_id"], json!(e.mallory_node), "the topic's thing name, not the payload's");
    let out = e.confirm.handle(ev).await.unwrap();
    assert_eq!(out, BindingOutcome::Rejected { reason: "binding code was issued for another node".into() });
    assert_eq!(e.grant(ALICE, &e.victim).await, None);
}

#[tokio::test]
async fn malformed_confirmations_are_rejected_and_nothing_is_written() {
    let e = env("malformed").await;
    for payload in [json!({"binding_code": 5}), json!({"binding_code": ""}), json!({"binding_code": "ZZZZZZZZ"})] {
        let out = e.confirm.handle(published(SQL_BINDING, &e.victim, &payload)).await.unwrap();
        assert!(matches!(out, BindingOutcome::Rejected { .. }), "{payload}: {out:?}");
    }
    for ev in [json!("text"), json!({"binding_code": "A"}), json!({"hello": "world"})] {
        let out = e.confirm.handle(ev.clone()).await.unwrap();
        assert!(matches!(out, BindingOutcome::Refused { .. }), "{ev}: {out:?}");
    }
    let scan = e.ddb.scan().table_name(&e.tables.user_nodes).send().await.unwrap();
    assert_eq!(scan.count(), 0);
}

/// Issue 8, high 2: only the node's current certificate (recorded by the provisioning hook) confirms a binding;
/// a confirmation published with another certificate binds nothing and leaves the code usable.
#[tokio::test]
async fn high2_only_the_nodes_certificate_confirms_a_binding() {
    let e = env("cert").await;
    let resp = e.api.handle(api_request("POST", "/nodes/bind", ALICE, json!({"node_id": e.victim}))).await;
    let code = serde_json::from_str::<Value>(resp["body"].as_str().unwrap()).unwrap()["binding_code"].clone();
    let payload = json!({"binding_code": code});
    let out = e.confirm.handle(published_by(SQL_BINDING, &e.victim, &payload, "an-old-certificate")).await.unwrap();
    assert!(matches!(out, BindingOutcome::Rejected { .. }), "{out:?}");
    assert_eq!(e.grant(ALICE, &e.victim).await, None);
    let out = e.confirm.handle(published(SQL_BINDING, &e.victim, &payload)).await.unwrap();
    assert_eq!(out, BindingOutcome::Bound { node_id: e.victim.clone(), user_id: ALICE.into() });
}
