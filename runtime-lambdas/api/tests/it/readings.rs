//! `GET /nodes/{id}/readings` against moto: the three telemetry layouts in one answer, the range checks, and the
//! attacks (a stranger, a previous owner, another node of the same packed bucket).

use super::{env, request, Env, ALICE, BOB, CAROL};
use api::Settings;
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use rainmaker_model::telemetry::packed::{self, PackedReading};
use serde_json::{json, Value};

fn params(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn pr(node: &str, ts: i64, received_at: i64, p: Value) -> PackedReading {
    PackedReading { node_id: node.into(), ts, received_at, msg_id: None, params: params(p) }
}

/// An id other than `node` in `node`'s packed bucket.
pub(crate) fn same_bucket(node: &str) -> String {
    let b = packed::bucket_of(node);
    (0..).map(|i| format!("{node}-n{i}")).find(|id| packed::bucket_of(id) == b).unwrap()
}

impl Env {
    /// A packed item of `readings` (their bucket is the first reading's) as telemetry-batch writes it.
    pub(crate) async fn put_packed(&self, readings: &[PackedReading], attempt: u32) {
        let bucket = packed::partition_key(packed::bucket_of(&readings[0].node_id));
        let oldest = readings.iter().map(|r| r.received_at).min().unwrap();
        let newest = readings.iter().map(|r| r.received_at).max().unwrap();
        let n = |v: i64| AttributeValue::N(v.to_string());
        self.ddb
            .put_item()
            .table_name(&self.tables.telemetry)
            .item(attr::NODE_ID, AttributeValue::S(bucket))
            .item(attr::TS, n(packed::item_ts(oldest, attempt)))
            .item("packed", AttributeValue::B(packed::encode(readings).unwrap().into()))
            .item("count", n(readings.len() as i64))
            .item(attr::RECEIVED_AT, n(newest))
            .item(attr::EXPIRES_AT, n(newest / 1000 + 30 * 86_400))
            .item(
                attr::BATCH,
                AttributeValue::S(
                    "shardId-000000000003/49590338271490256608559692538361571095921575989136588898".into(),
                ),
            )
            .condition_expression("attribute_not_exists(node_id)")
            .send()
            .await
            .unwrap();
    }

    /// A per-reading item (telemetry-ingest's layout).
    async fn put_reading(&self, node: &str, ts: i64, received_at: i64, p: Value, msg_id: Option<&str>) {
        let mut req = self
            .ddb
            .put_item()
            .table_name(&self.tables.telemetry)
            .item(attr::NODE_ID, AttributeValue::S(node.into()))
            .item(attr::TS, AttributeValue::N(ts.to_string()))
            .item(attr::PARAMS, rainmaker_model::ddb::to_av(&p))
            .item(attr::RECEIVED_AT, AttributeValue::N(received_at.to_string()))
            .item(attr::EXPIRES_AT, AttributeValue::N((received_at / 1000 + 86_400).to_string()));
        if let Some(m) = msg_id {
            req = req.item(attr::MSG_ID, AttributeValue::S(m.into()));
        }
        req.send().await.unwrap();
    }

    /// A per-node item of the batched layout: `readings` = (ts, received_at, params).
    async fn put_batched(&self, node: &str, readings: &[(i64, i64, Value)]) {
        let list: Vec<Value> =
            readings.iter().map(|(ts, r, p)| json!({"ts": ts, "received_at": r, "params": p})).collect();
        let newest = readings.iter().map(|r| r.1).max().unwrap();
        let item = json!({"node_id": node, "ts": readings[0].0, "received_at": newest, "expires_at": newest / 1000 + 86_400,
            "batch": "shardId-000000000001/4959", "readings": list});
        let item = rainmaker_model::ddb::to_item(&item).unwrap();
        self.ddb.put_item().table_name(&self.tables.telemetry).set_item(Some(item)).send().await.unwrap();
    }

    /// `GET /nodes/{node}/readings` with `query` as API Gateway sends it (both query maps).
    async fn readings(&self, node: &str, user: &str, query: &[(&str, String)]) -> (i64, Value) {
        let path = format!("/nodes/{node}/readings");
        let mut ev = request("GET", &path, Some(user), None);
        if !query.is_empty() {
            ev["queryStringParameters"] = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            ev["multiValueQueryStringParameters"] = query.iter().map(|(k, v)| (k.to_string(), json!([v]))).collect();
        }
        let resp = self.api.handle(ev).await;
        (resp["statusCode"].as_i64().unwrap(), serde_json::from_str(resp["body"].as_str().unwrap()).unwrap())
    }
}

fn ts_of(body: &Value) -> Vec<i64> {
    body["readings"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|r| r["ts"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn readings_of_all_three_layouts_in_one_answer() {
    let e = env("readings", Settings::default()).await;
    e.bind(ALICE).await;
    let n = e.node.clone();
    let now = rainmaker_model::time::now_ms();
    let (from, to) = (now - 50 * 60_000, now - 20 * 60_000);
    // per reading: in range (device ts a little before arrival), before `from`, at `to` (excluded)
    e.put_reading(&n, from + 1_000, from + 1_500, json!({"L": "direct"}), Some("m-1")).await;
    e.put_reading(&n, from - 2_000, from - 1, json!({"L": "too early"}), None).await;
    e.put_reading(&n, to - 500, to, json!({"L": "at to"}), None).await;
    // per node: two readings in range, one of them the same ts as a packed one (kept once)
    e.put_batched(
        &n,
        &[
            (from + 60_000, from + 61_000, json!({"L": "batched"})),
            (from + 90_000, from + 91_000, json!({"L": "batched"})),
        ],
    )
    .await;
    // packed: an item begun 4 minutes before `from` (found: query_range reaches back MAX_ITEM_SPAN_MS), and one
    // that repeats the batched reading's ts
    e.put_packed(
        &[
            pr(&n, from - 240_000, from - 240_000, json!({"L": "packed, too early"})),
            pr(&n, from + 20_000, from + 20_500, json!({"L": "packed"})),
        ],
        0,
    )
    .await;
    e.put_packed(&[pr(&n, from + 90_000, from + 92_000, json!({"L": "packed repeat"}))], 0).await;
    e.put_packed(&[pr(&n, to - 1, to - 1, json!({"L": "packed, last ms"}))], 0).await;

    let (status, body) = e.readings(&n, ALICE, &[("from", from.to_string()), ("to", to.to_string())]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["node_id"].clone(), body["from"].clone(), body["to"].clone()), (json!(n), json!(from), json!(to)));
    assert_eq!(ts_of(&body), vec![from + 1_000, from + 20_000, from + 60_000, from + 90_000, to - 1], "{body}");
    let r = &body["readings"];
    assert_eq!(
        r[0],
        json!({"ts": from + 1_000, "received_at": from + 1_500, "msg_id": "m-1", "params": {"L": "direct"}})
    );
    assert_eq!(r[1], json!({"ts": from + 20_000, "received_at": from + 20_500, "params": {"L": "packed"}}));
    assert_eq!(r[4]["params"], json!({"L": "packed, last ms"}));

    // the default range is the last 15 minutes: only what arrived in it
    e.put_reading(&n, now - 60_000, now - 59_000, json!({"L": "recent"}), None).await;
    e.put_packed(&[pr(&n, now - 30_000, now - 30_000, json!({"L": "recent packed"}))], 0).await;
    let (status, body) = e.readings(&n, ALICE, &[]).await;
    assert_eq!((status, ts_of(&body)), (200, vec![now - 60_000, now - 30_000]), "{body}");
    let got_to = body["to"].as_i64().unwrap();
    assert!(got_to >= now && got_to - body["from"].as_i64().unwrap() == api::DEFAULT_WINDOW_MS, "{body}");
}

#[tokio::test]
async fn bad_ranges_are_400_naming_the_parameter() {
    let e = env("readings-bad", Settings::default()).await;
    e.bind(ALICE).await;
    let now = rainmaker_model::time::now_ms();
    let cases: [(&[(&str, String)], &str); 5] = [
        (&[("from", "soon".into())], "`from` must be an integer of milliseconds since the epoch in 0..="),
        (&[("from", "2000".into()), ("to", "1000".into())], "`from` (2000) must be less than `to` (1000)"),
        (&[("from", "0".into()), ("to", "3600001".into())], "at most 3600000 (one hour)"),
        (&[("to", (now + 3_600_000).to_string())], "(not in the future)"),
        (&[("count", "3".into())], "unknown query parameter `count`"),
    ];
    for (query, want) in cases {
        let (status, body) = e.readings(&e.node, ALICE, query).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{query:?}: {body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(want), "{query:?}: {msg}");
    }
}

/// Attack: Bob (neither owner nor sharee) asks for Alice's node's readings: the same 404 as `GET /nodes/{id}`
/// (and as for a node that does not exist), no reading. Carol, a sharee, reads them; after the unshare and after
/// Alice's unbind, neither Carol nor Alice does.
#[tokio::test]
async fn strangers_and_former_users_get_the_node_s_404_sharees_read() {
    let e = env("readings-authz", Settings::default()).await;
    e.bind(ALICE).await;
    let n = e.node.clone();
    let now = rainmaker_model::time::now_ms();
    e.put_packed(&[pr(&n, now - 5_000, now - 5_000, json!({"secret": "alice-home"}))], 0).await;
    e.put_reading(&n, now - 4_000, now - 4_000, json!({"secret": "alice-home"}), None).await;

    let (_, node_404) = e.call("GET", &format!("/nodes/{n}"), BOB, None).await;
    let (status, body) = e.readings(&n, BOB, &[]).await;
    assert_eq!((status, &body), (404, &node_404), "a stranger gets GetNode's 404");
    assert!(!body.to_string().contains("alice-home"));
    let (_, unknown) = e.readings("SN-does-not-exist", BOB, &[]).await;
    assert_eq!(unknown["error"]["code"], "NOT_FOUND", "{unknown}");

    assert_eq!(e.call("POST", &format!("/nodes/{n}/shares"), ALICE, Some(json!({"user_id": CAROL}))).await.0, 201);
    let (status, body) = e.readings(&n, CAROL, &[]).await;
    assert_eq!((status, ts_of(&body)), (200, vec![now - 5_000, now - 4_000]), "the sharee reads: {body}");
    assert_eq!(e.readings(&n, ALICE, &[]).await.1["readings"], body["readings"], "the owner sees the same");

    assert_eq!(e.call("DELETE", &format!("/nodes/{n}/shares/{CAROL}"), ALICE, None).await.0, 200);
    assert_eq!(e.readings(&n, CAROL, &[]).await.0, 404, "unshared: no more readings");
    assert_eq!(e.call("DELETE", &format!("/nodes/{n}"), ALICE, None).await.0, 200);
    assert_eq!(e.readings(&n, ALICE, &[]).await.0, 404, "unbound: the former owner reads nothing");
}

/// Attack: Bob owns another node in the same packed bucket as Alice's, its readings packed into the same items,
/// some with the very same `ts` as Alice's. Alice's answer holds exactly her readings, Bob's exactly his.
#[tokio::test]
async fn another_node_s_packed_readings_in_the_same_bucket_never_leak() {
    let e = env("readings-bucket", Settings::default()).await;
    e.bind(ALICE).await;
    let (a, b) = (e.node.clone(), same_bucket(&e.node));
    assert_eq!(packed::bucket_of(&a), packed::bucket_of(&b));
    super::put_node(&e, &b).await;
    let (_, code) = e.call("POST", "/nodes/bind", BOB, Some(json!({"node_id": b}))).await;
    assert_eq!(e.confirm(code["binding_code"].as_str().unwrap(), &b).await["status"], "bound");
    let now = rainmaker_model::time::now_ms();
    let mut readings = Vec::new();
    for i in 0..6 {
        let t = now - 600_000 + i * 60_000;
        readings.push(pr(&a, t, t, json!({"owner": "alice", "i": i})));
        readings.push(pr(&b, t, t + 1, json!({"owner": "bob", "i": i})));
    }
    readings.push(pr(&b, now - 1_000, now - 1_000, json!({"owner": "bob", "i": 99})));
    e.put_packed(&readings[..7], 0).await;
    e.put_packed(&readings[7..], 0).await;

    for (node, user, owner, count) in [(&a, ALICE, "alice", 6), (&b, BOB, "bob", 7)] {
        let (status, body) = e.readings(node, user, &[]).await;
        assert_eq!(status, 200, "{body}");
        let list = body["readings"].as_array().unwrap();
        assert_eq!(list.len(), count, "{owner}: {body}");
        assert!(list.iter().all(|r| r["params"]["owner"] == owner), "{owner} sees another node's reading: {body}");
    }
    assert_eq!(e.readings(&b, ALICE, &[]).await.0, 404, "and Alice cannot ask for Bob's node");
}
