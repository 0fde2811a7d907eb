//! telemetry-batch against moto_server: records put into a Kinesis stream in moto (real shard ids and sequence
//! numbers), read back with GetRecords and handed to the function as Lambda's event source mapping does (the
//! event shaped like the AWS event reference, `tests/fixtures/kinesis-event.json`); the items checked in
//! DynamoDB in moto.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::ddb::map_to_json;
use rainmaker_model::telemetry::layout::{dedup_by_ts, readings_in};
use rainmaker_model::telemetry::Limits;
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Map, Value};
use telemetry_batch::{Consumer, Outcome};

#[path = "it/fault.rs"]
mod fault;
#[path = "it/packed.rs"]
mod packed;
#[path = "it/shards.rs"]
mod shards;

const TTL_DAYS: i64 = 7;

struct Env {
    moto: &'static MotoServer,
    ddb: Client,
    tables: TableNames,
    consumer: Consumer,
    stream: String,
    arn: String,
}

async fn env(label: &str) -> Env {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let ddb = Client::new(&sdk);
    let prefix = unique_prefix(label);
    let tables = create_tables(&ddb, &prefix).await;
    let consumer =
        Consumer::new(&sdk, tables.clone(), Limits { max_payload_bytes: 8192, ttl_days: TTL_DAYS }).without_metrics();
    let stream = format!("{prefix}-telemetry");
    moto.kinesis("CreateStream", &json!({"StreamName": stream, "ShardCount": 1})).unwrap();
    let d = moto.kinesis("DescribeStream", &json!({"StreamName": stream})).unwrap();
    let arn = d["StreamDescription"]["StreamARN"].as_str().unwrap().to_string();
    Env { moto, ddb, tables, consumer, stream, arn }
}

fn now() -> i64 {
    rainmaker_model::time::now_ms()
}

/// What the telemetry rule puts for `payload` from `node` (`contract::SQL_TELEMETRY`'s output).
fn rule_output(node: &str, mut payload: Value) -> Value {
    payload["node_id"] = json!(node);
    payload["received_at"] = json!(now());
    payload["principal"] = json!("3f1a0c5e9b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a2c4e6b8d0f");
    payload
}

impl Env {
    /// PutRecord of `data` with `key`; returns the sequence number.
    fn put(&self, key: &str, data: &[u8]) -> String {
        let b64 = base64(data);
        let out = self
            .moto
            .kinesis("PutRecord", &json!({"StreamName": self.stream, "PartitionKey": key, "Data": b64}))
            .unwrap();
        out["SequenceNumber"].as_str().unwrap().to_string()
    }

    fn put_json(&self, key: &str, v: &Value) -> String {
        self.put(key, v.to_string().as_bytes())
    }

    /// Every record of the shard from the start, as the event source mapping's event (one batch).
    fn event(&self) -> Value {
        let it = self
            .moto
            .kinesis(
                "GetShardIterator",
                &json!({"StreamName": self.stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .unwrap();
        let got = self.moto.kinesis("GetRecords", &json!({"ShardIterator": it["ShardIterator"]})).unwrap();
        let records: Vec<Value> = got["Records"].as_array().unwrap().iter().map(|r| self.lambda_record(r)).collect();
        json!({ "Records": records })
    }

    /// One record of the event, exactly the fields of the AWS event reference's example.
    fn lambda_record(&self, r: &Value) -> Value {
        let seq = r["SequenceNumber"].as_str().unwrap();
        let mut ev: Value = serde_json::from_str(include_str!("fixtures/kinesis-event.json")).unwrap();
        let mut rec = ev["Records"][0].take();
        rec["kinesis"]["partitionKey"] = r["PartitionKey"].clone();
        rec["kinesis"]["sequenceNumber"] = json!(seq);
        rec["kinesis"]["data"] = r["Data"].clone();
        rec["kinesis"]["approximateArrivalTimestamp"] = json!(now() as f64 / 1000.0);
        rec["eventID"] = json!(format!("shardId-000000000000:{seq}"));
        rec["eventSourceARN"] = json!(self.arn);
        rec
    }

    async fn items(&self, node: &str) -> Vec<Map<String, Value>> {
        let out = self
            .ddb
            .query()
            .table_name(&self.tables.telemetry)
            .key_condition_expression("#n = :n")
            .expression_attribute_names("#n", attr::NODE_ID)
            .expression_attribute_values(":n", AttributeValue::S(node.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.items().iter().map(map_to_json).collect()
    }

    async fn reading_ts(&self, node: &str) -> Vec<i64> {
        let all = self.items(node).await.iter().flat_map(readings_in).collect();
        dedup_by_ts(all).into_iter().map(|r| r.ts).collect()
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_batch_becomes_one_item_per_node_and_bad_records_are_refused_not_retried() {
    let e = env("batch-items").await;
    let t = now() - 60_000;
    let s1 = e.put_json("SN-A", &rule_output("SN-A", json!({"ts": t, "msg_id": "a1", "params": {"Power": true}})));
    e.put_json(
        "SN-B",
        &rule_output(
            "SN-B",
            json!({"readings": [
        {"ts": t + 1, "params": {"Temperature": 21.5}}, {"ts": t + 2, "params": {"Temperature": 21.6}},
        {"ts": t + 3, "params": {"Temperature": 21.7}}]}),
        ),
    );
    e.put_json("SN-A", &rule_output("SN-A", json!({"ts": t + 20, "params": {"Power": false}})));
    // a record someone else put: its partition key is not the node it claims
    let forged = e.put_json("SN-A", &rule_output("SN-B", json!({"ts": t + 30, "params": {"Power": true}})));
    let garbage = e.put("SN-A", b"\x01\x02 not json");
    e.put_json("SN-A", &rule_output("SN-A", json!({"ts": t + 10, "params": {"Power": true}})));
    let event = e.event();
    assert_eq!(event["Records"].as_array().unwrap().len(), 6);

    let out: Outcome = e.consumer.process(event.clone()).await;
    assert_eq!((out.records, out.accepted, out.duplicates, out.rejected, out.puts), (6, 6, 0, 2, 2), "{out:?}");
    assert!(out.failed.is_empty());
    assert_eq!(serde_json::to_value(out.response()).unwrap(), json!({"batchItemFailures": []}));

    let a = e.items("SN-A").await;
    assert_eq!(a.len(), 1, "{a:?}");
    let item = &a[0];
    assert_eq!(item[attr::TS], json!(t));
    assert_eq!(item[attr::BATCH], json!(format!("shardId-000000000000/{s1}")));
    let ts: Vec<i64> = readings_in(item).iter().map(|r| r.ts).collect();
    assert_eq!(ts, vec![t, t + 10, t + 20], "ascending ts, the forged and the garbage record left out");
    assert_eq!(readings_in(item)[0].msg_id.as_deref(), Some("a1"));
    let received = item[attr::RECEIVED_AT].as_i64().unwrap();
    assert_eq!(item[attr::EXPIRES_AT].as_i64().unwrap(), received / 1000 + TTL_DAYS * 86_400);
    assert_eq!(e.reading_ts("SN-B").await, vec![t + 1, t + 2, t + 3]);
    assert!(!e.reading_ts("SN-B").await.contains(&(t + 30)), "the forged record is not stored for SN-B");
    let _ = (forged, garbage);
}

#[tokio::test]
async fn a_batch_delivered_again_is_not_stored_twice_and_a_longer_retry_keeps_the_new_readings() {
    let e = env("batch-again").await;
    let t = now() - 60_000;
    for i in 0..3 {
        e.put_json("SN-C", &rule_output("SN-C", json!({"ts": t + i, "params": {"n": i}})));
    }
    let first = e.event();
    let out = e.consumer.process(first.clone()).await;
    assert_eq!((out.accepted, out.duplicates, out.puts), (3, 0, 1));
    let again = e.consumer.process(first).await;
    assert_eq!((again.accepted, again.duplicates, again.puts), (0, 3, 1), "{again:?}");
    assert_eq!(e.items("SN-C").await.len(), 1);

    // the stream moved on: the retried batch starts at the same record and has one more
    e.put_json("SN-C", &rule_output("SN-C", json!({"ts": t + 3, "params": {"n": 3}})));
    let longer = e.consumer.process(e.event()).await;
    assert_eq!((longer.accepted, longer.duplicates, longer.puts), (1, 3, 2), "{longer:?}");
    assert_eq!(e.reading_ts("SN-C").await, vec![t, t + 1, t + 2, t + 3]);
    let items = e.items("SN-C").await;
    let stored: usize = items.iter().map(|i| readings_in(i).len()).sum();
    assert_eq!(stored, 4, "no reading stored twice: {items:?}");
}

#[tokio::test]
async fn a_failed_write_reports_its_records_and_the_other_nodes_are_stored() {
    let e = env("batch-fault").await;
    let t = now() - 60_000;
    let ok1 = e.put_json("SN-OK", &rule_output("SN-OK", json!({"ts": t, "params": {"n": 1}})));
    let bad1 = e.put_json("SN-FAIL", &rule_output("SN-FAIL", json!({"ts": t, "params": {"n": 1}})));
    e.put_json("SN-OK", &rule_output("SN-OK", json!({"ts": t + 1, "params": {"n": 2}})));
    let bad2 = e.put_json("SN-FAIL", &rule_output("SN-FAIL", json!({"ts": t + 1, "params": {"n": 2}})));
    // DynamoDB refuses every write that carries SN-FAIL (moto behind a fault-injecting client)
    let sdk = fault::failing_for(&e.moto.sdk_config().await, "SN-FAIL");
    let consumer = Consumer::new(&sdk, e.tables.clone(), Limits::default()).without_metrics();
    let event = e.event();
    let out = consumer.process(event.clone()).await;
    assert_eq!(out.failed, vec![bad1.clone(), bad2.clone()], "{out:?}");
    assert_eq!(out.accepted, 2);
    let answer = serde_json::to_value(consumer.handle(event.clone()).await).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": bad1}, {"itemIdentifier": bad2}]}));
    assert_eq!(e.reading_ts("SN-OK").await, vec![t, t + 1]);
    assert!(e.items("SN-FAIL").await.is_empty());
    // Lambda retries from the oldest failed record (the checkpoint is before it): nothing is lost or doubled
    let retry: Vec<Value> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| telemetry_batch::seq_cmp(r["kinesis"]["sequenceNumber"].as_str().unwrap(), &bad1).is_ge())
        .cloned()
        .collect();
    let out = e.consumer.process(json!({ "Records": retry })).await;
    assert!(out.failed.is_empty());
    assert_eq!(e.reading_ts("SN-FAIL").await, vec![t, t + 1]);
    // SN-OK's second reading came again, after its item's first: it is stored a second time, in an item of its
    // own (the documented cost of a partial failure); a reader that drops repeats by ts sees each reading once
    assert_eq!(out.accepted, 3, "{out:?}");
    let ok_items = e.items("SN-OK").await;
    assert_eq!(ok_items.len(), 2);
    assert_eq!(ok_items.iter().map(|i| readings_in(i).len()).sum::<usize>(), 3);
    assert_eq!(e.reading_ts("SN-OK").await, vec![t, t + 1]);
    let _ = ok1;
}

#[tokio::test]
async fn an_event_that_is_not_a_kinesis_batch_is_refused() {
    let e = env("batch-refuse").await;
    for ev in [json!({"Records": [], "httpMethod": "POST"}), json!({"Records": "x"}), json!([1])] {
        let out = e.consumer.process(ev.clone()).await;
        assert!(out.refused_event.is_some(), "{ev}");
        assert_eq!(out.accepted, 0);
    }
    let empty = e.consumer.process(json!({"Records": []})).await;
    assert_eq!((empty.records, empty.refused_event), (0, None));
}
