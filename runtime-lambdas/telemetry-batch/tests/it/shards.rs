//! A node's bucket follows its Kinesis shard: the telemetry rule puts with the node id as partition key, Kinesis
//! places a record by the MD5 of its partition key as a 128-bit hash key (each shard owning an even, contiguous
//! range of it), and `packed::bucket_of` is that key's top bits. So one shard's batch only ever fills the buckets
//! of its own range: on moto (which places records by the same documented MD5 rule), 12 shards, 1,200 nodes.

use super::{env, now, rule_output};
use rainmaker_model::telemetry::packed::{self, bucket_of, shard_buckets, BUCKETS};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[tokio::test]
async fn a_shard_carries_only_the_nodes_of_its_run_of_buckets_and_its_batch_writes_only_those() {
    let e = env("shards").await;
    let stream = format!("{}-12", e.stream);
    e.moto.kinesis("CreateStream", &json!({"StreamName": stream, "ShardCount": 12})).unwrap();
    let shards = e.moto.kinesis("ListShards", &json!({"StreamName": stream})).unwrap();
    let shards = shards["Shards"].as_array().unwrap().clone();
    assert_eq!(shards.len(), 12);
    for i in 0..1_200 {
        let node = format!("SN-{i:06}");
        let data = crate::base64(rule_output(&node, json!({"ts": now(), "params": {"n": i}})).to_string().as_bytes());
        e.moto.kinesis("PutRecord", &json!({"StreamName": stream, "PartitionKey": node, "Data": data})).unwrap();
    }
    let range = |s: &Value, k: &str| s["HashKeyRange"][k].as_str().unwrap().parse::<u128>().unwrap();
    let mut seen = 0;
    let mut all_buckets = BTreeSet::new();
    for s in &shards {
        let (first, last) = shard_buckets(range(s, "StartingHashKey"), range(s, "EndingHashKey"));
        assert!(last - first <= BUCKETS / 12 + 1, "a twelfth of the buckets (+ a shared edge): {first}..={last}");
        let it = e
            .moto
            .kinesis(
                "GetShardIterator",
                &json!({"StreamName": stream, "ShardId": s["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .unwrap();
        let got = e.moto.kinesis("GetRecords", &json!({"ShardIterator": it["ShardIterator"], "Limit": 10000})).unwrap();
        let records = got["Records"].as_array().unwrap();
        assert!(!records.is_empty(), "{}: 1,200 nodes leave no shard empty", s["ShardId"]);
        seen += records.len();
        for r in records {
            let b = bucket_of(r["PartitionKey"].as_str().unwrap());
            assert!((first..=last).contains(&b), "{}: bucket {b} outside {first}..={last}", r["PartitionKey"]);
        }
        // the packed consumer's batch of this shard: items only in the shard's buckets
        let event = json!({"Records": records.iter().map(|r| e.lambda_record(r)).collect::<Vec<_>>()});
        let consumer = super::packed::packed_consumer(&e).await;
        let out = consumer.process(event).await;
        assert!(out.failed.is_empty() && out.accepted == records.len(), "{out:?}");
        all_buckets.extend(records.iter().map(|r| bucket_of(r["PartitionKey"].as_str().unwrap())));
    }
    assert_eq!(seen, 1_200);
    let items = e.ddb.scan().table_name(&e.tables.telemetry).send().await.unwrap();
    let written: BTreeSet<String> =
        items.items().iter().map(|i| i[rainmaker_model::attr::NODE_ID].as_s().unwrap().clone()).collect();
    let expected: BTreeSet<String> = all_buckets.iter().map(|b| packed::partition_key(*b)).collect();
    assert_eq!(written, expected, "one item per bucket of the nodes, whichever shard they came through");
    // a bucket split by a shard boundary (8 of the 11 boundaries fall inside one) may get one item from each side
    assert!(items.items().len() <= expected.len() + 8, "{} items for {} buckets", items.items().len(), expected.len());
}
