//! Issue 8, high 3, the previous owner's telemetry (performs the attack): user A owns node N and it sends
//! telemetry, A unbinds, B binds N and it sends telemetry — through the real api, binding-confirm and
//! telemetry-ingest against moto; then `gdpr export` of each and `gdpr erase` of A through the binary.
//! A's archive holds only readings received in A's window, B's only B's; erasing A leaves B's items byte for byte;
//! the readings at the edges of the two windows go by the boundary rule of `rainmaker_model::window`; and a
//! reading B's device back-dates (`ts`) into A's window is B's, never A's.

use super::{export, fixture, opts, Fixture};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::ddb::{map_to_json, s, Item};
use rainmaker_model::{attr, window};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) async fn pool_user(f: &Fixture, name: &str) -> String {
    let a = |k: &str, v: &str| AttributeType::builder().name(k).value(v).build().unwrap();
    let out = f
        .clients
        .cognito
        .admin_create_user()
        .user_pool_id(&f.pool)
        .username(name)
        .user_attributes(a("email", &format!("{name}@example.com")))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let sub = out.user().unwrap().attributes().iter().find(|x| x.name() == "sub").unwrap();
    sub.value().unwrap().to_string()
}

/// API Gateway's proxy event (the AWS event reference's shape, the api function's test fixture) of `method` `path`
/// by the Cognito user `user` (and `email`: else the fixture's), with `body` as JSON text (none: null).
pub(super) fn api_request(method: &str, path: &str, user: &str, email: Option<&str>, body: Option<Value>) -> Value {
    let mut ev: Value =
        serde_json::from_str(include_str!("../../../../runtime-lambdas/api/tests/fixtures/apigw-proxy-request.json"))
            .unwrap();
    ev["httpMethod"] = json!(method);
    ev["path"] = json!(path);
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["path"] = json!(format!("/prod{path}"));
    ev["requestContext"]["authorizer"]["claims"]["sub"] = json!(user);
    if let Some(email) = email {
        ev["requestContext"]["authorizer"]["claims"]["email"] = json!(email);
    }
    ev["body"] = body.map(|b| json!(b.to_string())).unwrap_or(Value::Null);
    ev
}

pub(super) struct Backend {
    pub(super) api: api::Api,
    pub(super) confirm: binding_confirm::Confirm,
    pub(super) ingest: telemetry_ingest::Ingest,
    pub(super) node: String,
    pub(super) cert: String,
}

impl Backend {
    /// `node` on the allow-list and provisioned by the hook's transaction with certificate `cert`, and the
    /// functions that bind it and store its telemetry (`label`: the binding-confirm instance's name).
    pub(super) async fn provisioned(f: &Fixture, node: String, cert: String, label: &str) -> Backend {
        let t = f.resources.tables.clone();
        let listed: Item = [
            (attr::SERIAL.to_string(), s(&node)),
            (attr::PROVISIONED.to_string(), AttributeValue::Bool(false)),
            (attr::SECRET_HMAC.to_string(), s("h")),
        ]
        .into();
        f.clients.ddb.put_item().table_name(&t.serial_allowlist).set_item(Some(listed)).send().await.unwrap();
        let provision = rainmaker_model::write::provision(&t, &node, &cert, "h", 1).unwrap();
        f.clients.ddb.transact_write_items().set_transact_items(Some(provision.into())).send().await.unwrap();
        let sdk = &f.sdk;
        Backend {
            api: api::Api::new(sdk, t.clone(), api::Settings::default(), None).without_metrics(),
            confirm: binding_confirm::Confirm::new(sdk, t.clone(), label).without_metrics(),
            ingest: telemetry_ingest::Ingest::new(sdk, t, rainmaker_model::telemetry::Limits::default())
                .without_metrics(),
            node,
            cert,
        }
    }

    /// `POST /nodes/bind` as `user`, then the device confirms the code (the binding rule's event).
    pub(super) async fn bind(&self, user: &str) {
        let resp =
            self.api.handle(api_request("POST", "/nodes/bind", user, None, Some(json!({"node_id": self.node})))).await;
        assert_eq!(resp["statusCode"], 201, "{resp}");
        let code = serde_json::from_str::<Value>(resp["body"].as_str().unwrap()).unwrap()["binding_code"].clone();
        let ev = json!({"binding_code": code, "node_id": self.node, "received_at": 1, "principal": self.cert});
        let out = self.confirm.handle(ev).await.unwrap();
        assert!(matches!(out, binding_confirm::BindingOutcome::Bound { .. }), "{out:?}");
    }

    pub(super) async fn unbind(&self, user: &str) {
        let resp = self.api.handle(api_request("DELETE", &format!("/nodes/{}", self.node), user, None, None)).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
    }

    /// The telemetry rule's event for one reading the device sent with `ts`, received by IoT at `received_at`.
    async fn reading(&self, ts: i64, received_at: i64, seq: i64) {
        let ev = json!({"ts": ts, "msg_id": format!("m{seq}"), "params": {"seq": seq}, "node_id": self.node,
            "received_at": received_at, "principal": self.cert});
        let out = self.ingest.handle(ev).await.unwrap();
        assert_eq!(out.accepted, 1, "reading {seq}: {out:?}");
    }
}

pub(super) async fn user_windows(f: &Fixture, user: &str) -> Vec<window::Window> {
    let item = super::get_item(f, &f.resources.tables.users, &[(attr::USER_ID, user)]).await;
    item.map(|i| window::windows_of(&map_to_json(&i))).unwrap_or_default()
}

/// Every telemetry item of the node, as stored, by `ts`.
async fn items(f: &Fixture, node: &str) -> BTreeMap<i64, Item> {
    let q = f.clients.ddb.query().table_name(&f.resources.tables.telemetry);
    let out = q.key_condition_expression("node_id = :n").expression_attribute_values(":n", s(node)).send().await;
    let ts = |i: &Item| i[attr::TS].as_n().unwrap().parse::<i64>().unwrap();
    out.unwrap().items().iter().map(|i| (ts(i), i.clone())).collect()
}

/// The `seq` of every reading in the archive's telemetry file of `node`.
fn seqs(files: &BTreeMap<String, Vec<u8>>, node: &str) -> Vec<i64> {
    let Some(bytes) = files.get(&format!("telemetry/{node}.ndjson")) else { return vec![] };
    let mut v: Vec<i64> = std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["params"]["seq"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high3_previous_owners_telemetry_stays_attributable_after_resale() {
    let f = fixture("resale", opts(1, 1, 1, 0)).await;
    let t = f.resources.tables.clone();
    let tag = rainmaker_deploy::gdpr::seed::random_tag().unwrap();
    let (a, b) = (pool_user(&f, &format!("resale-a-{tag}")).await, pool_user(&f, &format!("resale-b-{tag}")).await);

    // node N, provisioned by the hook's transaction with its certificate
    let (node, cert) = (format!("RESALE{tag}"), format!("{:0>64}", tag.to_lowercase()));
    let be = Backend::provisioned(&f, node.clone(), cert, "resale").await;
    let now = rainmaker_model::time::now_ms;

    // A owns N; its device sends two readings
    be.bind(&a).await;
    let from_a = user_windows(&f, &a).await[0].from;
    be.reading(now() - 1, now(), 1).await;
    be.reading(now() - 60_000, now(), 2).await; // an old reading sent late: A's, it arrived while A owned N
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    be.unbind(&a).await;
    let wa = user_windows(&f, &a).await;
    assert_eq!(wa.len(), 1, "one ownership, one window: {wa:?}");
    let to_a = wa[0].to.expect("the unbind closed A's window");
    assert_eq!(wa[0].from, from_a);
    let released = super::get_item(&f, &t.nodes, &[(attr::NODE_ID, &node)]).await.unwrap();
    assert_eq!(released[attr::RELEASED_AT], AttributeValue::N(to_a.to_string()), "the node remembers the end");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // B binds N; its device sends readings, one back-dated into A's window (the attack on A's export and erase)
    be.bind(&b).await;
    let wb = user_windows(&f, &b).await;
    let from_b = wb[0].from;
    assert!(from_b >= to_a && wb[0].to.is_none(), "B's window starts after A's ends: {wa:?} {wb:?}");
    be.reading(now() - 2, now(), 3).await;
    be.reading(to_a - 3, now(), 4).await; // ts inside A's window, received in B's

    // the boundary: the rule's receive times on both edges of the two windows (ts distinct, so items distinct)
    let base = from_a - 10_000_000;
    be.reading(base + 5, to_a - 1, 5).await; // the last millisecond of A's window: A's
    be.reading(base + 6, to_a, 6).await; // the unbind's millisecond: not A's (B's only if B bound in it)
    be.reading(base + 7, from_b - 1, 7).await; // before B's bind: nobody's (unless that is A's window)
    be.reading(base + 8, from_b, 8).await; // B's bind's millisecond: B's
    be.reading(base + 9, from_a - 1, 9).await; // before A: nobody's
    let owner_of = |at: i64| match () {
        _ if from_a <= at && at < to_a => "a",
        _ if from_b <= at => "b",
        _ => "nobody",
    };
    let mut want: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (seq, at) in [(5, to_a - 1), (6, to_a), (7, from_b - 1), (8, from_b), (9, from_a - 1)] {
        want.entry(owner_of(at)).or_default().push(seq);
    }
    want.entry("a").or_default().extend([1, 2]);
    want.entry("b").or_default().extend([3, 4]);
    for v in want.values_mut() {
        v.sort();
    }
    assert!(want["a"].contains(&5) && want["b"].contains(&8) && !want["a"].contains(&6), "{want:?}");

    // the exports: each owner's readings and nothing else; the files of N are the only telemetry
    let ea = export(&f, &a, "a.zip");
    let eb = export(&f, &b, "b.zip");
    assert_eq!(seqs(&ea, &node), want["a"], "A's export");
    assert_eq!(seqs(&eb, &node), want["b"], "B's export");
    let none: Vec<i64> = vec![];
    assert_eq!(want.get("nobody").unwrap_or(&none).iter().filter(|s| seqs(&ea, &node).contains(s)).count(), 0);
    let users_a: Value = serde_json::from_slice(&ea["users.json"]).unwrap();
    let recorded = users_a.as_object().unwrap().iter().filter(|(k, _)| k.starts_with(window::PREFIX)).count();
    assert_eq!(recorded, 1, "A's window is in A's users.json: {users_a}");
    assert!(!String::from_utf8_lossy(&ea["nodes.json"]).contains(&node), "A no longer owns N");
    for (who, files, other) in [("A", &ea, &b), ("B", &eb, &a)] {
        for (name, bytes) in files.iter() {
            assert!(!String::from_utf8_lossy(bytes).contains(other.as_str()), "{who}'s {name} names the other user");
        }
    }

    // erase A: exactly A's readings and A's window go; B's items stay byte for byte, and so do nobody's
    let before = items(&f, &node).await;
    let dry = f.run(&["gdpr", "erase", "--user", &a, "--dry-run", "--output", "json"]);
    assert_eq!(dry.code, 0, "{}", dry.transcript());
    assert!(dry.stdout.contains("delete_former_telemetry"), "the plan deletes A's window: {}", dry.stdout);
    let erased = f.run(&["gdpr", "erase", "--user", &a, "--yes"]);
    assert_eq!(erased.code, 0, "{}", erased.transcript());
    let after = items(&f, &node).await;
    let seq_of = |i: &Item| map_to_json(i)["params"]["seq"].as_i64().unwrap();
    let kept: Vec<i64> = {
        let mut v: Vec<i64> = after.values().map(seq_of).collect();
        v.sort();
        v
    };
    let mut not_a: Vec<i64> = (1..=9).filter(|s| !want["a"].contains(s)).collect();
    not_a.sort();
    assert_eq!(kept, not_a, "only A's readings were deleted");
    for (ts, item) in &after {
        assert_eq!(Some(item), before.get(ts), "reading {} changed", seq_of(item));
    }
    assert!(super::get_item(&f, &t.users, &[(attr::USER_ID, &a)]).await.is_none(), "A's users item and window");
    assert_eq!(user_windows(&f, &b).await, wb, "B's window is untouched");
    assert_eq!(seqs(&export(&f, &b, "b2.zip"), &node), want["b"], "B's export after A's erase");
}
