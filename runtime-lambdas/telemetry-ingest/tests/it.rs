//! telemetry-ingest against DynamoDB in moto_server, with events shaped like the telemetry rule's output.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};
use std::collections::HashMap;
use telemetry_ingest::{Ingest, Limits};

type Item = HashMap<String, AttributeValue>;

struct Env {
    ddb: Client,
    tables: TableNames,
    ingest: Ingest,
}

const TTL_DAYS: i64 = 7;

async fn env(label: &str, max_payload_bytes: usize) -> Env {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = Client::new(&sdk);
    let tables = create_tables(&ddb, &unique_prefix(label)).await;
    let ingest = Ingest::new(&sdk, tables.clone(), Limits { max_payload_bytes, ttl_days: TTL_DAYS }).without_metrics();
    Env { ddb, tables, ingest }
}

fn single() -> Value {
    serde_json::from_str(include_str!("fixtures/rule-event-single.json")).unwrap()
}

fn batch() -> Value {
    serde_json::from_str(include_str!("fixtures/rule-event-batch.json")).unwrap()
}

impl Env {
    async fn readings(&self, node: &str) -> Vec<Item> {
        let out = self
            .ddb
            .query()
            .table_name(&self.tables.telemetry)
            .key_condition_expression("node_id = :n")
            .expression_attribute_values(":n", AttributeValue::S(node.into()))
            .send()
            .await
            .unwrap();
        out.items().to_vec()
    }

    async fn node(&self, node: &str) -> Option<Item> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, AttributeValue::S(node.into()))
            .send()
            .await
            .unwrap();
        out.item().cloned()
    }

    async fn provisioned(&self, node: &str) {
        self.ddb
            .put_item()
            .table_name(&self.tables.nodes)
            .item(attr::NODE_ID, AttributeValue::S(node.into()))
            .item(attr::SERIAL, AttributeValue::S(node.into()))
            .item(attr::CONNECTED, AttributeValue::Bool(true))
            .send()
            .await
            .unwrap();
    }
}

fn num(item: &Item, name: &str) -> i64 {
    item[name].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_reading_is_stored_with_ttl_and_the_node_item_is_not_written() {
    let e = env("single", 8192).await;
    e.provisioned("SN-000123").await;
    let out = e.ingest.handle(single()).await.unwrap();
    assert_eq!((out.accepted, out.duplicates, out.rejected), (1, 0, None));

    let items = e.readings("SN-000123").await;
    assert_eq!(items.len(), 1);
    let it = &items[0];
    assert_eq!(num(it, attr::TS), 1732370000000);
    assert_eq!(num(it, attr::RECEIVED_AT), 1732370000250);
    assert_eq!(num(it, attr::EXPIRES_AT), 1732370000 + TTL_DAYS * 86_400);
    assert_eq!(it[attr::MSG_ID], AttributeValue::S("b7e4c1a2-0001".into()));
    let params = it[attr::PARAMS].as_m().unwrap();
    assert_eq!(params["Brightness"], AttributeValue::N("73".into()));
    assert_eq!(params["Power"], AttributeValue::Bool(true));
    // Issue 13: no per-message write of the node (the API derives last-seen from the newest reading).
    let node = e.node("SN-000123").await.unwrap();
    assert!(!node.contains_key(attr::LAST_SEEN_AT), "the node item was written: {node:?}");
}

#[tokio::test]
async fn a_redelivered_message_is_not_stored_twice() {
    let e = env("redeliver", 8192).await;
    e.ingest.handle(batch()).await.unwrap();
    let again = e.ingest.handle(batch()).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 3));
    assert_eq!(e.readings("SN-000123").await.len(), 3);
}

#[tokio::test]
async fn a_batch_stores_every_reading() {
    let e = env("batch", 8192).await;
    let out = e.ingest.handle(batch()).await.unwrap();
    assert_eq!((out.accepted, out.duplicates), (3, 0));
    let ts: Vec<i64> = e.readings("SN-000123").await.iter().map(|i| num(i, attr::TS)).collect();
    assert_eq!(ts, vec![1732370000000, 1732370060000, 1732370120000]);
    assert!(e.node("SN-000123").await.is_none(), "telemetry never creates a node item");
}

#[tokio::test]
async fn bad_payloads_are_rejected_counted_and_not_stored() {
    let e = env("bad", 512).await;
    let mut big = single();
    big["params"]["Name"] = json!("x".repeat(600));
    let mut bad_node = single();
    bad_node["node_id"] = json!("node/../other");
    let mut no_params = single();
    no_params.as_object_mut().unwrap().remove("params");
    let mut bad_ts = single();
    bad_ts["ts"] = json!("yesterday");
    let mut dup_ts = batch();
    dup_ts["readings"][1]["ts"] = dup_ts["readings"][0]["ts"].clone();
    for (ev, reason) in [
        (big, "MAX_PAYLOAD_BYTES"),
        (bad_node, "node_id"),
        (no_params, "neither"),
        (bad_ts, "`ts`"),
        (dup_ts, "repeats"),
        (json!("not json object"), "not a JSON object"),
    ] {
        let out = e.ingest.handle(ev.clone()).await.expect("bad input is not an invocation error");
        let why = out.rejected.unwrap_or_else(|| panic!("accepted {ev}"));
        assert!(why.contains(reason), "{why:?} should mention {reason:?}");
        assert_eq!(out.accepted, 0);
    }
    assert!(e.readings("SN-000123").await.is_empty());
}

/// Issue 8, critical (telemetry half): a device's payload carries its own `node_id` and `received_at`; the rule
/// (`contract::SQL_TELEMETRY`) does not select them, so the reading is stored under the publishing device's node
/// with IoT's receive time, and nothing lands on the victim's node.
#[tokio::test]
async fn critical_payload_cannot_set_node_id_or_received_at() {
    use rainmaker_test_support::iot_rule::{project, Publisher};
    let e = env("crit-telemetry", 8192).await;
    let (own, victim) = ("SN-own-crit", "SN-victim-crit");
    e.provisioned(own).await;
    e.provisioned(victim).await;
    let now = rainmaker_model::time::now_ms();
    let payload = json!({"node_id": victim, "received_at": 1_600_000_000_000i64, "ts": now - 1000,
        "params": {"temp": 99}});
    let by = Publisher { principal: "c0ffee", client_id: own };
    let topic = format!("node/{own}/telemetry");
    let ev = project(rainmaker_model::contract::SQL_TELEMETRY, &topic, &payload, by, now).unwrap().unwrap();
    assert_eq!((ev["node_id"].clone(), ev["received_at"].clone()), (json!(own), json!(now)), "{ev}");
    assert_eq!(e.ingest.handle(ev).await.unwrap().accepted, 1);
    assert!(e.readings(victim).await.is_empty(), "nothing is stored for the victim");
    let stored = e.readings(own).await;
    assert_eq!((stored.len(), num(&stored[0], attr::RECEIVED_AT)), (1, now));

    // The same payload under the old `SELECT *` rule is not a telemetry rule event any more than it is anything
    // else; a field the rule does not produce is refused.
    let mut crafted = payload.clone();
    crafted["requestContext"] = json!({});
    let out = e.ingest.handle(crafted).await.unwrap();
    let rejected = out.rejected.unwrap();
    // refused, without echoing the sender's field name (rainmaker_model::redact)
    assert!(rejected.contains("unknown field `…`") && !rejected.contains("requestContext"), "{rejected}");
}
