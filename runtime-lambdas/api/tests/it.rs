//! api against DynamoDB and iot-data in moto_server, with events shaped like AWS's documented examples.

use api::{Api, Settings};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

#[path = "it/readings.rs"]
mod readings;

const ALICE: &str = "7d4c8f3e-1b2a-4c5d-9e6f-0a1b2c3d4e5f";
const BOB: &str = "0b0b0b0b-0000-4000-8000-000000000002";
const CAROL: &str = "ca201ca2-0000-4000-8000-000000000003";

struct Env {
    ddb: Client,
    iot: aws_sdk_iotdataplane::Client,
    tables: TableNames,
    api: Api,
    confirm: binding_confirm::Confirm,
    node: String,
}

/// Tables, a provisioned node (item + thing) and the function. The IoT data endpoint given here must lose
/// against the SDK's endpoint (moto), or every shadow call would fail.
async fn env(label: &str, settings: Settings) -> Env {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let ddb = Client::new(&sdk);
    let prefix = unique_prefix(label);
    let tables = create_tables(&ddb, &prefix).await;
    let node = format!("SN-{}", prefix.trim_end_matches('-'));
    moto.create_thing(&node);
    ddb.put_item()
        .table_name(&tables.nodes)
        .item(attr::NODE_ID, AttributeValue::S(node.clone()))
        .item(attr::SERIAL, AttributeValue::S(node.clone()))
        .item(attr::CONNECTED, AttributeValue::Bool(true))
        // the certificate of the binding fixture's `principal`
        .item(
            attr::CERTIFICATE_ID,
            AttributeValue::S("5a8f3b7c9d2e4f6a1b0c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a".into()),
        )
        .send()
        .await
        .unwrap();
    let api = Api::new(&sdk, tables.clone(), settings, Some("iot-data.invalid")).without_metrics();
    let confirm = binding_confirm::Confirm::new(&sdk, tables.clone(), "test").without_metrics();
    Env { ddb, iot: aws_sdk_iotdataplane::Client::new(&sdk), tables, api, confirm, node }
}

fn request(method: &str, path: &str, user: Option<&str>, body: Option<Value>) -> Value {
    let mut ev: Value = serde_json::from_str(include_str!("fixtures/apigw-proxy-request.json")).unwrap();
    ev["httpMethod"] = json!(method);
    ev["path"] = json!(path);
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["path"] = json!(format!("/prod{path}"));
    match user {
        Some(u) => ev["requestContext"]["authorizer"]["claims"]["sub"] = json!(u),
        None => ev["requestContext"]["authorizer"] = json!({}),
    }
    ev["body"] = body.map(|b| json!(b.to_string())).unwrap_or(Value::Null);
    ev
}

impl Env {
    /// Call the API; returns (status, body) and checks the response shape.
    async fn call(&self, method: &str, path: &str, user: &str, body: Option<Value>) -> (i64, Value) {
        let resp = self.api.handle(request(method, path, Some(user), body)).await;
        assert_eq!(resp["headers"]["content-type"], "application/json", "{resp}");
        let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
        let status = resp["statusCode"].as_i64().unwrap();
        if status >= 400 {
            assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
        }
        (status, body)
    }

    /// Call and expect an error code.
    async fn fails(&self, method: &str, path: &str, user: &str, body: Option<Value>, code: &str) {
        let (status, body) = self.call(method, path, user, body).await;
        assert_eq!(body["error"]["code"], code, "{method} {path} as {user}: {status} {body}");
    }

    async fn confirm(&self, code: &str, node: &str) -> Value {
        let mut ev: Value =
            serde_json::from_str(include_str!("../../binding-confirm/tests/fixtures/binding-rule-event.json")).unwrap();
        ev["binding_code"] = json!(code);
        ev["node_id"] = json!(node);
        serde_json::to_value(self.confirm.handle(ev).await.unwrap()).unwrap()
    }

    /// Bind `self.node` to `user` through both steps.
    async fn bind(&self, user: &str) {
        let (status, body) = self.call("POST", "/nodes/bind", user, Some(json!({"node_id": self.node}))).await;
        assert_eq!(status, 201, "{body}");
        let out = self.confirm(body["binding_code"].as_str().unwrap(), &self.node).await;
        assert_eq!(out["status"], "bound", "{out}");
    }

    async fn node_item(&self) -> std::collections::HashMap<String, AttributeValue> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, AttributeValue::S(self.node.clone()))
            .send()
            .await;
        out.unwrap().item().cloned().unwrap()
    }
}

#[tokio::test]
async fn binding_flow_makes_the_caller_owner() {
    let e = env("bind", Settings::default()).await;
    let (status, started) = e.call("POST", "/nodes/bind", ALICE, Some(json!({"node_id": e.node}))).await;
    assert_eq!(status, 201);
    let code = started["binding_code"].as_str().unwrap().to_string();
    let expires_at = started["expires_at"].as_i64().unwrap();
    let now = rainmaker_model::time::now_s();
    assert!((now + 590..=now + 601).contains(&expires_at), "{expires_at} vs {now}");
    let (_, before) = e.call("GET", "/nodes", ALICE, None).await;
    assert_eq!(before, json!({"nodes": []}), "nothing is bound before the device confirms");

    assert_eq!(e.confirm(&code, &e.node).await, json!({"status": "bound", "node_id": e.node, "user_id": ALICE}));
    assert_eq!(e.node_item().await[attr::OWNER_ID], AttributeValue::S(ALICE.into()));
    let (status, list) = e.call("GET", "/nodes", ALICE, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(list["nodes"][0]["node_id"], json!(e.node));
    assert_eq!(list["nodes"][0]["role"], "owner");
    assert!(list["nodes"][0].get("owner_id").is_none());
    let (status, node) = e.call("GET", &format!("/nodes/{}", e.node), ALICE, None).await;
    assert_eq!((status, node["node"]["connected"].clone()), (200, json!(true)));

    let user = e
        .ddb
        .get_item()
        .table_name(&e.tables.users)
        .key(attr::USER_ID, AttributeValue::S(ALICE.into()))
        .send()
        .await
        .unwrap();
    assert_eq!(user.item().unwrap()[attr::EMAIL], AttributeValue::S("alice@example.com".into()));
    // the code is single-use
    assert_eq!(e.confirm(&code, &e.node).await["status"], "rejected");
}

#[tokio::test]
async fn medium_only_a_verified_email_is_stored() {
    // an attacker signs up with someone else's address and never verifies it: the address is not stored as theirs
    let e = env("verified-email", Settings::default()).await;
    let email_of = |user: &'static str| {
        let (ddb, table) = (e.ddb.clone(), e.tables.users.clone());
        async move {
            let out = ddb.get_item().table_name(table).key(attr::USER_ID, AttributeValue::S(user.into())).send();
            out.await.unwrap().item().and_then(|i| i.get(attr::EMAIL).cloned())
        }
    };
    for (user, verified, stored) in [(ALICE, Some("false"), false), (BOB, None, false), (CAROL, Some("true"), true)] {
        let mut ev = request("POST", "/nodes/bind", Some(user), Some(json!({"node_id": e.node})));
        let claims = &mut ev["requestContext"]["authorizer"]["claims"];
        claims["email"] = json!(format!("victim-of-{user}@example.com"));
        match verified {
            Some(v) => claims["email_verified"] = json!(v),
            None => drop(claims.as_object_mut().unwrap().remove("email_verified")),
        }
        let resp = e.api.handle(ev).await;
        assert_eq!(resp["statusCode"], 201, "{resp}");
        let want = stored.then(|| AttributeValue::S(format!("victim-of-{user}@example.com")));
        assert_eq!(email_of(user).await, want, "{user} with email_verified {verified:?}");
    }
}

#[tokio::test]
async fn binding_is_refused_for_wrong_codes_nodes_and_owned_nodes() {
    let e = env("bind-refuse", Settings::default()).await;
    // an unknown node gets a code like any other (no existence oracle), which never confirms
    let (status, unknown) = e.call("POST", "/nodes/bind", ALICE, Some(json!({"node_id": "SN-not-provisioned"}))).await;
    assert_eq!(status, 201, "{unknown}");
    let out = e.confirm(unknown["binding_code"].as_str().unwrap(), "SN-not-provisioned").await;
    assert_eq!(out["status"], "rejected", "{out}");
    e.fails("POST", "/nodes/bind", ALICE, Some(json!({"serial": e.node})), "BAD_REQUEST").await;
    e.fails("POST", "/nodes/bind", ALICE, Some(json!("text")), "BAD_REQUEST").await;

    let (_, started) = e.call("POST", "/nodes/bind", BOB, Some(json!({"node_id": e.node}))).await;
    let bob_code = started["binding_code"].as_str().unwrap().to_string();
    let other = e.confirm(&bob_code, "SN-some-other-device").await;
    assert_eq!(other, json!({"status": "rejected", "reason": "binding code was issued for another node"}));
    assert_eq!(e.confirm("ZZZZZZZZ", &e.node).await["status"], "rejected");

    e.ddb
        .put_item()
        .table_name(&e.tables.binding_requests)
        .item(attr::BINDING_CODE, AttributeValue::S("EXPIRED2".into()))
        .item(attr::USER_ID, AttributeValue::S(CAROL.into()))
        .item(attr::NODE_ID, AttributeValue::S(e.node.clone()))
        .item(attr::CREATED_AT, AttributeValue::N("1".into()))
        .item(attr::EXPIRES_AT, AttributeValue::N((rainmaker_model::time::now_s() - 1).to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(e.confirm("EXPIRED2", &e.node).await, json!({"status": "rejected", "reason": "binding code expired"}));

    e.bind(ALICE).await;
    // Bob's older code cannot steal the node, and new binding attempts conflict
    assert_eq!(e.confirm(&bob_code, &e.node).await["status"], "rejected");
    assert_eq!(e.node_item().await[attr::OWNER_ID], AttributeValue::S(ALICE.into()));
    // a code for the owned node is issued (no oracle) and never confirms
    let (status, late) = e.call("POST", "/nodes/bind", BOB, Some(json!({"node_id": e.node}))).await;
    assert_eq!(status, 201, "{late}");
    assert_eq!(e.confirm(late["binding_code"].as_str().unwrap(), &e.node).await["status"], "rejected");
    assert_eq!(e.node_item().await[attr::OWNER_ID], AttributeValue::S(ALICE.into()));

    let now = rainmaker_model::time::now_ms();
    for ev in [json!({"binding_code": 5, "node_id": "x", "received_at": now}), json!({"binding_code": "A"})] {
        assert_ne!(serde_json::to_value(e.confirm.handle(ev).await.unwrap()).unwrap()["status"], "bound");
    }
}

#[tokio::test]
async fn strangers_see_nothing_and_shared_users_cannot_manage() {
    let e = env("authz", Settings::default()).await;
    e.bind(ALICE).await;
    let n = e.node.clone();
    let (status, _) = e.call("POST", &format!("/nodes/{n}/shares"), ALICE, Some(json!({"user_id": CAROL}))).await;
    assert_eq!(status, 201);

    // Bob: neither owner nor shared → NOT_FOUND everywhere, and an empty list
    let p = json!({"Power": true});
    e.fails("GET", &format!("/nodes/{n}"), BOB, None, "NOT_FOUND").await;
    e.fails("GET", &format!("/nodes/{n}/params"), BOB, None, "NOT_FOUND").await;
    e.fails("PUT", &format!("/nodes/{n}/params"), BOB, Some(p.clone()), "NOT_FOUND").await;
    e.fails("DELETE", &format!("/nodes/{n}"), BOB, None, "NOT_FOUND").await;
    e.fails("POST", &format!("/nodes/{n}/shares"), BOB, Some(json!({"user_id": BOB})), "NOT_FOUND").await;
    e.fails("DELETE", &format!("/nodes/{n}/shares/{CAROL}"), BOB, None, "NOT_FOUND").await;
    assert_eq!(e.call("GET", "/nodes", BOB, None).await.1, json!({"nodes": []}));

    // Carol (shared): may read and set params, may not manage
    let (status, node) = e.call("GET", &format!("/nodes/{n}"), CAROL, None).await;
    assert_eq!((status, node["node"]["role"].clone()), (200, json!("shared")));
    assert_eq!(e.call("PUT", &format!("/nodes/{n}/params"), CAROL, Some(p)).await.0, 200);
    e.fails("DELETE", &format!("/nodes/{n}"), CAROL, None, "FORBIDDEN").await;
    e.fails("POST", &format!("/nodes/{n}/shares"), CAROL, Some(json!({"user_id": BOB})), "FORBIDDEN").await;
    e.fails("DELETE", &format!("/nodes/{n}/shares/{CAROL}"), CAROL, None, "FORBIDDEN").await;

    // no claims at all
    let resp = e.api.handle(request("GET", "/nodes", None, None)).await;
    assert_eq!(resp["statusCode"], 403);
    assert!(resp["body"].as_str().unwrap().contains("FORBIDDEN"));
    e.fails("GET", "/things", ALICE, None, "NOT_FOUND").await;
}

/// Issue 13: telemetry no longer writes the node per message; the API derives `last_seen_at` from the node's last
/// lifecycle event and the `received_at` of its newest telemetry item (newest by `ts`), in both node routes.
#[tokio::test]
async fn last_seen_is_derived_from_presence_and_the_newest_reading() {
    let e = env("last-seen", Settings::default()).await;
    e.bind(ALICE).await;
    let path = format!("/nodes/{}", e.node);
    let seen = |v: &Value| v.get("last_seen_at").cloned();
    let (_, node) = e.call("GET", &path, ALICE, None).await;
    assert_eq!(seen(&node["node"]), None, "nothing seen yet: {node}");

    e.ddb
        .update_item()
        .table_name(&e.tables.nodes)
        .key(attr::NODE_ID, AttributeValue::S(e.node.clone()))
        .update_expression("SET #p = :p")
        .expression_attribute_names("#p", attr::PRESENCE_AT)
        .expression_attribute_values(":p", AttributeValue::N("1732370000000".into()))
        .send()
        .await
        .unwrap();
    let (_, node) = e.call("GET", &path, ALICE, None).await;
    assert_eq!(seen(&node["node"]), Some(json!(1732370000000i64)), "from the lifecycle event: {node}");

    let reading = |node: &str, ts: i64, received: i64| {
        e.ddb
            .put_item()
            .table_name(&e.tables.telemetry)
            .item(attr::NODE_ID, AttributeValue::S(node.into()))
            .item(attr::TS, AttributeValue::N(ts.to_string()))
            .item(attr::RECEIVED_AT, AttributeValue::N(received.to_string()))
            .send()
    };
    reading(&e.node, 1732370100000, 1732370100250).await.unwrap();
    reading(&e.node, 1732370050000, 1732370050100).await.unwrap();
    reading("SN-someone-else", 1732379999000, 1732379999000).await.unwrap();
    let (_, node) = e.call("GET", &path, ALICE, None).await;
    assert_eq!(seen(&node["node"]), Some(json!(1732370100250i64)), "the newest reading's receive time: {node}");
    let (_, list) = e.call("GET", "/nodes", ALICE, None).await;
    assert_eq!(seen(&list["nodes"][0]), Some(json!(1732370100250i64)), "{list}");
}

#[tokio::test]
async fn params_go_through_the_shadow() {
    let e = env("params", Settings::default()).await;
    e.bind(ALICE).await;
    let path = format!("/nodes/{}/params", e.node);
    let (status, empty) = e.call("GET", &path, ALICE, None).await;
    assert_eq!((status, empty["desired"].clone(), empty["reported"].clone()), (200, json!({}), json!({})));

    let (status, set) = e.call("PUT", &path, ALICE, Some(json!({"Power": true, "Brightness": 40}))).await;
    assert_eq!((status, set["desired"].clone()), (200, json!({"Power": true, "Brightness": 40})));
    // the device reports
    let reported = json!({"state": {"reported": {"Power": true, "Brightness": 40}}}).to_string();
    e.iot.update_thing_shadow().thing_name(&e.node).payload(reported.into_bytes().into()).send().await.unwrap();
    let (_, got) = e.call("GET", &path, ALICE, None).await;
    assert_eq!(got["reported"], json!({"Power": true, "Brightness": 40}));
    assert_eq!(got["desired"], json!({"Power": true, "Brightness": 40}));
    assert!(got["version"].as_i64().unwrap() >= 2);

    e.fails("PUT", &path, ALICE, Some(json!({})), "BAD_REQUEST").await;
    e.fails("PUT", &path, ALICE, Some(json!([1])), "BAD_REQUEST").await;
    e.fails("PUT", &path, ALICE, None, "BAD_REQUEST").await;
}

#[tokio::test]
async fn sharing_rules() {
    let e = env("share", Settings::default()).await;
    e.bind(ALICE).await;
    let shares = format!("/nodes/{}/shares", e.node);
    assert_eq!(e.call("POST", &shares, ALICE, Some(json!({"user_id": CAROL}))).await.0, 201);
    e.fails("POST", &shares, ALICE, Some(json!({"user_id": CAROL})), "CONFLICT").await;
    e.fails("POST", &shares, ALICE, Some(json!({"user_id": ALICE})), "BAD_REQUEST").await;
    e.fails("POST", &shares, ALICE, Some(json!({"user_id": ""})), "BAD_REQUEST").await;
    assert_eq!(e.call("GET", "/nodes", CAROL, None).await.1["nodes"][0]["role"], "shared");

    assert_eq!(e.call("DELETE", &format!("{shares}/{CAROL}"), ALICE, None).await.0, 200);
    e.fails("GET", &format!("/nodes/{}", e.node), CAROL, None, "NOT_FOUND").await;
    e.fails("DELETE", &format!("{shares}/{CAROL}"), ALICE, None, "NOT_FOUND").await;
    e.fails("DELETE", &format!("{shares}/{ALICE}"), ALICE, None, "BAD_REQUEST").await;

    let off = env("share-off", Settings { sharing_enabled: false, ..Settings::default() }).await;
    off.bind(ALICE).await;
    off.fails(
        "POST",
        &format!("/nodes/{}/shares", off.node),
        ALICE,
        Some(json!({"user_id": CAROL})),
        "SHARING_DISABLED",
    )
    .await;
}

#[tokio::test]
async fn unbind_removes_owner_shares_and_desired_state() {
    let e = env("unbind", Settings::default()).await;
    e.bind(ALICE).await;
    let n = e.node.clone();
    e.call("POST", &format!("/nodes/{n}/shares"), ALICE, Some(json!({"user_id": CAROL}))).await;
    e.call("PUT", &format!("/nodes/{n}/params"), ALICE, Some(json!({"Power": false}))).await;

    let (status, body) = e.call("DELETE", &format!("/nodes/{n}"), ALICE, None).await;
    assert_eq!((status, body["removed_shares"].clone()), (200, json!(1)), "{body}");
    assert!(!e.node_item().await.contains_key(attr::OWNER_ID));
    for user in [ALICE, CAROL] {
        e.fails("GET", &format!("/nodes/{n}"), user, None, "NOT_FOUND").await;
        assert_eq!(e.call("GET", "/nodes", user, None).await.1, json!({"nodes": []}));
    }
    // a new owner starts clean
    e.bind(BOB).await;
    let (_, params) = e.call("GET", &format!("/nodes/{n}/params"), BOB, None).await;
    assert_eq!(params["desired"], json!({}), "{params}");
}

#[tokio::test]
async fn cors_headers_only_for_allowed_origins() {
    let settings = Settings { allowed_origins: vec!["https://app.example".into()], ..Settings::default() };
    let e = env("cors", settings).await;
    for (origin, want) in [("https://app.example", Some("https://app.example")), ("https://evil.example", None)] {
        let mut ev = request("GET", "/nodes", Some(ALICE), None);
        ev["headers"]["Origin"] = json!(origin);
        ev["multiValueHeaders"]["Origin"] = json!([origin]);
        let resp = e.api.handle(ev).await;
        assert_eq!(resp["statusCode"], 200);
        assert_eq!(resp["headers"]["access-control-allow-origin"].as_str(), want, "{resp}");
    }
}

/// Issue 8, high 3: a share (and the previous owner's own grant) left behind by an unbind — here put back as the
/// eventually consistent `by-node` index could have hidden it from the unbind — grants nothing once the node is
/// resold: every grant carries its ownership epoch and authorization compares it with the node's. The previous
/// owner's reported shadow state is gone too.
#[tokio::test]
async fn high3_shares_do_not_survive_unbind_and_resale() {
    let e = env("resale", Settings::default()).await;
    e.bind(ALICE).await;
    let n = e.node.clone();
    assert_eq!(e.call("POST", &format!("/nodes/{n}/shares"), ALICE, Some(json!({"user_id": CAROL}))).await.0, 201);
    let grant = |user: &str| {
        let (ddb, table, node) = (e.ddb.clone(), e.tables.user_nodes.clone(), n.clone());
        let user = user.to_string();
        async move {
            let key = [(attr::USER_ID, user), (attr::NODE_ID, node)];
            let mut req = ddb.get_item().table_name(table).consistent_read(true);
            for (k, v) in key {
                req = req.key(k, AttributeValue::S(v));
            }
            req.send().await.unwrap().item().cloned()
        }
    };
    let (carol_old, alice_old) = (grant(CAROL).await.unwrap(), grant(ALICE).await.unwrap());
    assert!(carol_old.contains_key(attr::EPOCH) && carol_old[attr::EPOCH] == alice_old[attr::EPOCH]);
    let reported = json!({"state": {"reported": {"Power": true, "Wifi": "alice-home"}}}).to_string();
    e.iot.update_thing_shadow().thing_name(&n).payload(reported.into_bytes().into()).send().await.unwrap();

    let (status, out) = e.call("DELETE", &format!("/nodes/{n}"), ALICE, None).await;
    assert_eq!((status, out["removed_shares"].clone()), (200, json!(1)), "{out}");
    assert!(grant(CAROL).await.is_none() && grant(ALICE).await.is_none(), "unbind removes every grant");
    let (_, params) = e.call("GET", &format!("/nodes/{n}/params"), ALICE, None).await;
    assert_eq!(params["error"]["code"], "NOT_FOUND");
    let shadow = e.iot.get_thing_shadow().thing_name(&n).send().await.unwrap();
    let doc: Value = serde_json::from_slice(shadow.payload().unwrap().as_ref()).unwrap();
    let left = doc["state"]["reported"].as_object().map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "the previous owner's reported state is cleared: {doc}");

    // The stale grants come back (a missed index entry, a concurrent write), then Bob buys the node.
    for item in [carol_old, alice_old] {
        e.ddb.put_item().table_name(&e.tables.user_nodes).set_item(Some(item)).send().await.unwrap();
    }
    e.bind(BOB).await;
    e.fails("GET", &format!("/nodes/{n}"), CAROL, None, "NOT_FOUND").await;
    e.fails("PUT", &format!("/nodes/{n}/params"), CAROL, Some(json!({"Power": false})), "NOT_FOUND").await;
    assert_eq!(e.call("GET", "/nodes", CAROL, None).await.1, json!({"nodes": []}));
    e.fails("POST", &format!("/nodes/{n}/shares"), ALICE, Some(json!({"user_id": CAROL})), "NOT_FOUND").await;
    e.fails("DELETE", &format!("/nodes/{n}"), ALICE, None, "NOT_FOUND").await;
    assert_eq!(e.call("GET", "/nodes", ALICE, None).await.1, json!({"nodes": []}));
    let (status, node) = e.call("GET", &format!("/nodes/{n}"), BOB, None).await;
    assert_eq!((status, node["node"]["role"].clone()), (200, json!("owner")));
}

/// A second provisioned node in `e`'s tables (same certificate as the binding fixture's `principal`).
async fn put_node(e: &Env, node: &str) {
    let mut item = e.node_item().await;
    item.retain(|k, _| [attr::SERIAL, attr::CERTIFICATE_ID].contains(&k.as_str()));
    item.insert(attr::NODE_ID.into(), AttributeValue::S(node.into()));
    e.ddb.put_item().table_name(&e.tables.nodes).set_item(Some(item)).send().await.unwrap();
}

/// Issue 8, medium: an attacker asks for binding codes for an unknown, an unbound and a bound node (node ids of
/// the same length). The three whole proxy responses (status, headers, body) are byte for byte the same once the
/// random code, the echoed node id and the expiry (checked against the clock) are masked, the raw bodies have the
/// same length, and the function made the same DynamoDB calls for each (recorded on the wire): nothing tells the
/// three apart. Only the unbound node's code can bind, and only from that node's certificate.
#[tokio::test]
async fn medium_bind_is_no_existence_oracle() {
    let base = MotoServer::shared().sdk_config().await;
    let e = env("oracle", Settings::default()).await;
    let (sdk, rec) = access_check::Recorder::wrap(&base);
    let api = Api::new(&sdk, e.tables.clone(), Settings::default(), Some("iot-data.invalid")).without_metrics();
    let suffix = e.node.trim_start_matches("SN-");
    let (unknown, unbound, bound) = (format!("SX-{suffix}"), e.node.clone(), format!("SB-{suffix}"));
    put_node(&e, &bound).await;
    let (_, code) = e.call("POST", "/nodes/bind", BOB, Some(json!({"node_id": bound}))).await;
    assert_eq!(e.confirm(code["binding_code"].as_str().unwrap(), &bound).await["status"], "bound");

    let mut seen = Vec::new();
    for node in [&unknown, &unbound, &bound] {
        rec.take();
        let before = rainmaker_model::time::now_s();
        let resp = api.handle(request("POST", "/nodes/bind", Some(CAROL), Some(json!({"node_id": node})))).await;
        let after = rainmaker_model::time::now_s();
        let calls = access_check::calls(&rec.take(), &e.tables);
        let raw = resp["body"].as_str().unwrap().to_string();
        let body: Value = serde_json::from_str(&raw).unwrap();
        let code = body["binding_code"].as_str().unwrap_or_else(|| panic!("{node}: {resp}")).to_string();
        let expires_at = body["expires_at"].as_i64().unwrap();
        assert!((before + 600..=after + 600).contains(&expires_at), "{node}: {expires_at} vs {before}..{after}");
        let masked = resp
            .to_string()
            .replace(&code, "<code>")
            .replace(node.as_str(), "<node>")
            .replace(&expires_at.to_string(), "<expires>");
        seen.push((node.clone(), masked, raw.len(), calls, code));
    }
    let (_, first, len, calls, _) = &seen[0];
    assert!(first.contains("\"statusCode\":201"), "{first}");
    for (node, masked, l, c, _) in &seen[1..] {
        assert_eq!(masked, first, "{node}'s response differs from {unknown}'s");
        assert_eq!(l, len, "{node}'s body length differs");
        assert_eq!(c, calls, "{node}: the function did other work than for {unknown}");
    }
    // what the codes are worth: nothing for the unknown and the bound node, a binding for the unbound one
    assert_eq!(e.confirm(&seen[0].4, &unknown).await["status"], "rejected");
    assert_eq!(e.confirm(&seen[2].4, &bound).await["status"], "rejected");
    assert_eq!(e.node_item().await.get(attr::OWNER_ID), None);
    assert_eq!(e.confirm(&seen[1].4, &unbound).await["status"], "bound");
    assert_eq!(e.node_item().await[attr::OWNER_ID], AttributeValue::S(CAROL.into()));
}

/// Issue 8, medium: one user asks for codes until the cap (`MAX_OUTSTANDING_BINDING_CODES`); the next is refused
/// with 429 and says why, and stores nothing. Another user is not affected; a code that expired or was used frees
/// its place.
#[tokio::test]
async fn medium_bind_caps_outstanding_codes_per_user() {
    use rainmaker_model::contract::MAX_OUTSTANDING_BINDING_CODES as CAP;
    let e = env("bind-cap", Settings::default()).await;
    let ask = |user: &'static str, node: String| {
        let e = &e;
        async move { e.call("POST", "/nodes/bind", user, Some(json!({"node_id": node}))).await }
    };
    let stored = || async {
        let out = e.ddb.scan().table_name(&e.tables.binding_requests).send().await.unwrap();
        out.items().iter().filter(|i| i[attr::USER_ID] == AttributeValue::S(CAROL.into())).count()
    };
    let mut codes = Vec::new();
    for i in 0..CAP {
        let node = if i == 0 { e.node.clone() } else { format!("SN-guess-{i:04}") };
        let (status, body) = ask(CAROL, node).await;
        assert_eq!(status, 201, "code {}: {body}", i + 1);
        codes.push(body["binding_code"].as_str().unwrap().to_string());
    }
    let (status, body) = ask(CAROL, "SN-guess-9999".into()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("TOO_MANY_REQUESTS")), "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("{CAP} binding codes outstanding")) && msg.contains("expires"), "{msg}");
    assert_eq!(stored().await, CAP, "the refused request stored no code");
    assert_eq!(ask(BOB, "SN-guess-0001".into()).await.0, 201, "the cap is per user");

    // an expired code (not yet deleted by TTL) no longer counts
    e.ddb
        .update_item()
        .table_name(&e.tables.binding_requests)
        .key(attr::BINDING_CODE, AttributeValue::S(codes[1].clone()))
        .update_expression("SET #x = :past")
        .expression_attribute_names("#x", attr::EXPIRES_AT)
        .expression_attribute_values(":past", AttributeValue::N((rainmaker_model::time::now_s() - 1).to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(ask(CAROL, "SN-guess-1000".into()).await.0, 201, "the expired code freed a place");
    assert_eq!(ask(CAROL, "SN-guess-1001".into()).await.0, 429);
    // a used code no longer counts
    assert_eq!(e.confirm(&codes[0], &e.node).await["status"], "bound");
    assert_eq!(ask(CAROL, "SN-guess-1002".into()).await.0, 201, "the used code freed a place");
    assert_eq!(ask(CAROL, "SN-guess-1003".into()).await.0, 429);
}
