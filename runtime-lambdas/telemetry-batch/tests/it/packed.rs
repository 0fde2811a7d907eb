//! `TELEMETRY_LAYOUT=packed` against moto: records of many nodes in one batch become one item per bucket, decoded
//! back to exactly the readings; a redelivered batch writes nothing new; another batch's item at the same key
//! makes the next attempt; a forged record is refused; a failed put reports the lowest sequence number of its
//! readings.

use super::{env, fault, now, rule_output, Env, TTL_DAYS};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use rainmaker_model::telemetry::packed::{self, bucket_of, item_ts, PackedReading, ATTR_COUNT, ATTR_PACKED};
use rainmaker_model::telemetry::Limits;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use telemetry_batch::{Consumer, Layout};

type Item = HashMap<String, AttributeValue>;

pub(super) async fn packed_consumer(e: &Env) -> Consumer {
    Consumer::new(&e.moto.sdk_config().await, e.tables.clone(), Limits { max_payload_bytes: 8192, ttl_days: TTL_DAYS })
        .with_layout(Layout::Packed)
        .without_metrics()
}

impl Env {
    /// Every item of the tenant's telemetry table (a strongly consistent scan; the table is this test's own).
    async fn all_items(&self) -> Vec<Item> {
        let out = self.ddb.scan().table_name(&self.tables.telemetry).consistent_read(true).send().await.unwrap();
        assert!(out.last_evaluated_key().is_none(), "one page");
        let mut items = out.items().to_vec();
        items.sort_by_key(|i| (text(i, attr::NODE_ID), number(i, attr::TS)));
        items
    }

    /// The events' records from `from` (an index into the shard's records) on, as one event.
    fn event_from(&self, from: usize) -> Value {
        let mut ev = self.event();
        let records = ev["Records"].as_array_mut().unwrap();
        records.drain(..from);
        ev
    }
}

fn text(i: &Item, k: &str) -> String {
    i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

fn number(i: &Item, k: &str) -> i64 {
    i.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(-1)
}

fn readings(i: &Item) -> Vec<PackedReading> {
    packed::decode(i[ATTR_PACKED].as_b().expect("packed is binary").as_ref()).expect("decodes")
}

/// A reading as a comparable tuple: (node, ts, received_at, msg_id, params as JSON text).
fn key(r: &PackedReading) -> (String, i64, i64, Option<String>, String) {
    (r.node_id.clone(), r.ts, r.received_at, r.msg_id.clone(), Value::Object(r.params.clone()).to_string())
}

/// The rule output with a given `received_at` (two batches whose oldest readings share a millisecond).
fn rule_output_at(node: &str, payload: Value, received_at: i64) -> Value {
    let mut v = rule_output(node, payload);
    v["received_at"] = json!(received_at);
    v
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn records_of_many_nodes_become_one_item_per_bucket_with_exactly_their_readings() {
    let e = env("packed-items").await;
    let c = packed_consumer(&e).await;
    let t = now() - 60_000;
    let mut want = BTreeSet::new();
    let mut first_seq = None;
    for i in 0..300i64 {
        let node = format!("SN-P{i:04}");
        let payload = if i % 50 == 7 {
            // a device-side batch of three readings, one with a msg_id
            json!({"readings": [{"ts": t + i, "msg_id": format!("m{i}"), "params": {"Temperature": 21.5}},
                                {"ts": t + i + 1, "params": {"Temperature": 21.6}},
                                {"ts": t + i + 2, "params": {"Temperature": 21.7}}]})
        } else {
            json!({"ts": t + i, "params": {"Power": i % 2 == 0, "Brightness": i % 101, "Mode": "auto"}})
        };
        let out = rule_output(&node, payload.clone());
        let seq = e.put_json(&node, &out);
        first_seq.get_or_insert(seq);
        let received = out["received_at"].as_i64().unwrap();
        let list = payload.get("readings").and_then(Value::as_array).cloned().unwrap_or_else(|| vec![payload]);
        for r in list {
            let reading = PackedReading {
                node_id: node.clone(),
                ts: r["ts"].as_i64().unwrap(),
                received_at: received,
                msg_id: r.get("msg_id").and_then(Value::as_str).map(str::to_string),
                params: params(r["params"].clone()),
            };
            want.insert(key(&reading));
        }
    }
    assert_eq!(want.len(), 294 + 6 * 3);
    let buckets: BTreeSet<u32> = (0..300).map(|i| bucket_of(&format!("SN-P{i:04}"))).collect();

    let out = c.process(e.event()).await;
    assert_eq!((out.records, out.accepted, out.duplicates, out.rejected), (300, 312, 0, 0), "{out:?}");
    assert!(out.failed.is_empty());
    assert_eq!(out.puts, buckets.len(), "one put per bucket: the batch spans far less than 5 minutes");

    let items = e.all_items().await;
    assert_eq!(items.len(), buckets.len());
    let mut got = BTreeSet::new();
    for i in &items {
        let pk = text(i, attr::NODE_ID);
        let rs = readings(i);
        let bucket: u32 = pk.strip_prefix("#packed-").expect("a bucket's partition").parse().unwrap();
        assert!(rs.iter().all(|r| bucket_of(&r.node_id) == bucket), "{pk}: only its bucket's nodes");
        let oldest = rs.iter().map(|r| r.received_at).min().unwrap();
        let newest = rs.iter().map(|r| r.received_at).max().unwrap();
        assert_eq!(number(i, attr::TS), item_ts(oldest, 0), "{pk}: oldest received_at x 1000, attempt 0");
        assert_eq!(number(i, ATTR_COUNT), rs.len() as i64);
        assert_eq!(number(i, attr::RECEIVED_AT), newest);
        assert_eq!(number(i, attr::EXPIRES_AT), newest / 1000 + TTL_DAYS * 86_400);
        assert_eq!(text(i, attr::BATCH), format!("shardId-000000000000/{}", first_seq.as_ref().unwrap()));
        for r in &rs {
            assert!(got.insert(key(r)), "a reading stored twice: {r:?}");
        }
    }
    assert_eq!(got, want, "decoded back to exactly the readings put");
    // nothing of the per-node layouts: every item is a bucket's
    assert!(items.iter().all(|i| packed::is_packed_partition(&text(i, attr::NODE_ID))));
}

#[tokio::test]
async fn a_redelivered_batch_writes_nothing_new() {
    let e = env("packed-again").await;
    let c = packed_consumer(&e).await;
    let t = now() - 60_000;
    for i in 0..40 {
        e.put_json(
            &format!("SN-R{i:03}"),
            &rule_output(&format!("SN-R{i:03}"), json!({"ts": t + i, "params": {"n": i}})),
        );
    }
    let event = e.event();
    let first = c.process(event.clone()).await;
    assert_eq!((first.accepted, first.duplicates), (40, 0), "{first:?}");
    let before = e.all_items().await;
    let again = c.process(event).await;
    assert_eq!((again.accepted, again.duplicates, again.puts), (0, 40, first.puts), "{again:?}");
    assert!(again.failed.is_empty());
    assert_eq!(e.all_items().await, before, "the table is exactly as the first delivery left it");
}

#[tokio::test]
async fn another_batch_s_item_at_the_same_key_bumps_the_attempt() {
    let e = env("packed-collide").await;
    let c = packed_consumer(&e).await;
    let r = now() - 60_000;
    // Two batches of the same node (one bucket) whose oldest readings arrived in the same millisecond.
    e.put_json("SN-X1", &rule_output_at("SN-X1", json!({"ts": r - 10, "params": {"n": 1}}), r));
    let second_seq = e.put_json("SN-X1", &rule_output_at("SN-X1", json!({"ts": r - 5, "params": {"n": 2}}), r));
    let mut one = e.event();
    one["Records"].as_array_mut().unwrap().truncate(1);
    let two = e.event_from(1);
    assert_eq!(c.process(one).await.accepted, 1);

    let out = c.process(two.clone()).await;
    assert_eq!((out.accepted, out.puts), (1, 2), "the taken key, then attempt 1: {out:?}");
    let items = e.all_items().await;
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().map(|i| number(i, attr::TS)).collect::<Vec<_>>(), vec![item_ts(r, 0), item_ts(r, 1)]);
    assert_eq!(readings(&items[0]).iter().map(|x| x.ts).collect::<Vec<_>>(), vec![r - 10], "the first left alone");
    assert_eq!(readings(&items[1]).iter().map(|x| x.ts).collect::<Vec<_>>(), vec![r - 5]);
    assert_eq!(text(&items[1], attr::BATCH), format!("shardId-000000000000/{second_seq}"));

    // the second batch again: attempt 0 is the other batch's, attempt 1 its own: a redelivery, nothing new
    let again = c.process(two).await;
    assert_eq!((again.accepted, again.duplicates, again.puts), (0, 1, 2), "{again:?}");
    assert_eq!(e.all_items().await, items);
}

/// Attack: a record whose partition key is not the node it claims (put by someone other than the telemetry rule),
/// and one that names a bucket's partition as its node, are refused; the rest of the batch is stored.
#[tokio::test]
async fn a_forged_record_is_refused_and_stores_nothing_for_its_victim() {
    let e = env("packed-attack").await;
    let c = packed_consumer(&e).await;
    let t = now() - 60_000;
    e.put_json("SN-OK1", &rule_output("SN-OK1", json!({"ts": t, "params": {"Power": true}})));
    let forged = e.put_json("SN-EVIL", &rule_output("SN-VICTIM", json!({"ts": t + 1, "params": {"Lock": "open"}})));
    let bucket = packed::partition_key(bucket_of("SN-OK1"));
    let into_bucket = e.put_json(&bucket, &rule_output(&bucket, json!({"ts": t + 2, "params": {"x": 1}})));
    let out = c.process(e.event()).await;
    assert_eq!((out.records, out.accepted, out.rejected), (3, 1, 2), "{out:?}");
    assert!(out.failed.is_empty(), "refused records are not retried");
    let stored: Vec<PackedReading> = e.all_items().await.iter().flat_map(readings).collect();
    assert_eq!(stored.iter().map(|r| r.node_id.as_str()).collect::<Vec<_>>(), vec!["SN-OK1"]);
    let _ = (forged, into_bucket);
}

#[tokio::test]
async fn a_failed_put_reports_the_lowest_sequence_of_its_readings_and_other_buckets_are_stored() {
    let e = env("packed-fault").await;
    // SN-000001 is in bucket 45, SN-000002 in bucket 237 (pinned by the model's tests)
    let (ok, bad) = ("SN-000002", "SN-000001");
    let t = now() - 60_000;
    e.put_json(ok, &rule_output(ok, json!({"ts": t, "params": {"n": 1}})));
    let bad1 = e.put_json(bad, &rule_output(bad, json!({"ts": t, "params": {"n": 1}})));
    e.put_json(bad, &rule_output(bad, json!({"ts": t + 1, "params": {"n": 2}})));
    e.put_json(ok, &rule_output(ok, json!({"ts": t + 1, "params": {"n": 2}})));
    // DynamoDB refuses every write to bucket 45's partition (moto behind a fault-injecting client)
    let sdk = fault::failing_for(&e.moto.sdk_config().await, "#packed-045");
    let failing =
        Consumer::new(&sdk, e.tables.clone(), Limits::default()).with_layout(Layout::Packed).without_metrics();
    let event = e.event();
    let out = failing.process(event.clone()).await;
    assert_eq!(out.failed, vec![bad1.clone()], "{out:?}");
    assert_eq!(out.accepted, 2);
    let answer = serde_json::to_value(failing.handle(event.clone()).await).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": bad1}]}));
    let nodes = |items: &[Item]| -> Vec<String> {
        items.iter().flat_map(readings).map(|r| format!("{}@{}", r.node_id, r.ts - t)).collect()
    };
    assert_eq!(nodes(&e.all_items().await), vec![format!("{ok}@0"), format!("{ok}@1")]);

    // Lambda retries from the failed record: its readings are stored; the ok node's later reading comes again
    // in another batch (a repeat readers drop by (node, ts))
    let c = packed_consumer(&e).await;
    let retry = c.process(e.event_from(1)).await;
    assert!(retry.failed.is_empty(), "{retry:?}");
    assert_eq!(retry.accepted, 3);
    let mut stored = nodes(&e.all_items().await);
    stored.sort();
    assert_eq!(
        stored,
        vec![format!("{bad}@0"), format!("{bad}@1"), format!("{ok}@0"), format!("{ok}@1"), format!("{ok}@1")]
    );
}
