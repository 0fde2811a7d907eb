//! GDPR over the packed telemetry layout (issue 13): node N owned by A, then by B, its readings packed into its
//! bucket's items together with node M's (another node of the same bucket) — written as telemetry-batch writes
//! them (`packed::encode` + PutItem). A's export holds exactly A's window's readings; erasing A rewrites the items
//! so every other reading decodes identical, deletes the items left empty, and leaves items without A's readings
//! byte for byte. A concurrent change of an item between the erase's read and its write (performed through a
//! proxy in front of moto) fails the erase's condition, and the erase is redone on the changed item: nothing lost,
//! nothing of the other change undone.

use super::resale::{pool_user, user_windows, Backend};
use super::{export, fixture, opts, Fixture};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use rainmaker_model::ddb::{s, Item};
use rainmaker_model::telemetry::packed::{self, PackedReading};
use rainmaker_test_support::{Hooks, MotoServer, Proxy, Respond};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A provisioned node `PACKED<tag>` and the functions that bind it.
async fn backend(f: &Fixture, tag: &str) -> Backend {
    let (node, cert) = (format!("PACKED{tag}"), format!("{:0>64}", tag.to_lowercase()));
    Backend::provisioned(f, node, cert, "packed").await
}

/// Another id in `node`'s bucket.
fn same_bucket(node: &str) -> String {
    let b = packed::bucket_of(node);
    (0..).map(|i| format!("{node}M{i}")).find(|id| packed::bucket_of(id) == b).unwrap()
}

fn pr(node: &str, received_at: i64, seq: i64) -> PackedReading {
    let params = json!({"seq": seq}).as_object().cloned().unwrap();
    PackedReading { node_id: node.into(), ts: received_at - 7, received_at, msg_id: Some(format!("m{seq}")), params }
}

/// A packed item of `readings` keyed by their oldest receive time and `attempt`, as telemetry-batch puts it.
async fn put_packed(ddb: &aws_sdk_dynamodb::Client, table: &str, readings: &[PackedReading], attempt: u32) -> i64 {
    let oldest = readings.iter().map(|r| r.received_at).min().unwrap();
    let newest = readings.iter().map(|r| r.received_at).max().unwrap();
    let ts = packed::item_ts(oldest, attempt);
    let n = |v: i64| AttributeValue::N(v.to_string());
    ddb.put_item()
        .table_name(table)
        .item(attr::NODE_ID, s(packed::partition_key(packed::bucket_of(&readings[0].node_id))))
        .item(attr::TS, n(ts))
        .item("packed", AttributeValue::B(packed::encode(readings).unwrap().into()))
        .item("count", n(readings.len() as i64))
        .item(attr::RECEIVED_AT, n(newest))
        .item(attr::EXPIRES_AT, n(newest / 1000 + 30 * 86_400))
        .item(attr::BATCH, s(format!("shardId-000000000002/4959{ts}")))
        .send()
        .await
        .unwrap();
    ts
}

/// Every item of `node`'s bucket by `ts`.
async fn bucket(f: &Fixture, node: &str) -> BTreeMap<i64, Item> {
    let q = f.clients.ddb.query().table_name(&f.resources.tables.telemetry).consistent_read(true);
    let out = q
        .key_condition_expression("node_id = :b")
        .expression_attribute_values(":b", s(packed::partition_key(packed::bucket_of(node))))
        .send()
        .await
        .unwrap();
    let ts = |i: &Item| i[attr::TS].as_n().unwrap().parse::<i64>().unwrap();
    out.items().iter().map(|i| (ts(i), i.clone())).collect()
}

fn readings_of(item: &Item) -> Vec<PackedReading> {
    packed::decode(item["packed"].as_b().unwrap().as_ref()).unwrap()
}

/// The `seq`s of the archive's telemetry file of `node`, with every line checked to be `node`'s.
fn seqs(files: &BTreeMap<String, Vec<u8>>, node: &str) -> Vec<i64> {
    let Some(bytes) = files.get(&format!("telemetry/{node}.ndjson")) else { return vec![] };
    let mut v: Vec<i64> = std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            assert_eq!(line["node_id"], json!(node), "{l}");
            line["params"]["seq"].as_i64().unwrap()
        })
        .collect();
    v.sort();
    v
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erase_are_exact_over_packed_items() {
    let f = fixture("packed", opts(1, 1, 1, 0)).await;
    let table = f.resources.tables.telemetry.clone();
    let tag = rainmaker_deploy::gdpr::seed::random_tag().unwrap();
    let (a, b) = (pool_user(&f, &format!("packed-a-{tag}")).await, pool_user(&f, &format!("packed-b-{tag}")).await);
    let be = backend(&f, &tag).await;
    let (n, m) = (be.node.clone(), same_bucket(&be.node));

    be.bind(&a).await;
    sleep_ms(300).await;
    be.unbind(&a).await;
    let wa = user_windows(&f, &a).await;
    let (from_a, to_a) = (wa[0].from, wa[0].to.unwrap());
    assert!(to_a - from_a >= 300, "{wa:?}");
    sleep_ms(50).await;
    be.bind(&b).await;
    let from_b = user_windows(&f, &b).await[0].from;

    // seq 1..: A's (1x), B's (2x), nobody's (3x), M's (9x)
    let mixed = [
        pr(&n, from_a - 5, 30),
        pr(&n, from_a, 10),
        pr(&m, from_a + 1, 90),
        pr(&n, from_a + 2, 11),
        pr(&n, to_a - 1, 12),
        pr(&n, to_a, 31),
        pr(&m, to_a + 1, 91),
        pr(&n, from_b, 20),
    ];
    let only_a = [pr(&n, from_a + 100, 13), pr(&n, from_a + 101, 14)];
    let no_a = [pr(&m, from_b + 1, 92), pr(&n, from_b + 2, 21)];
    let mixed_ts = put_packed(&f.clients.ddb, &table, &mixed, 0).await;
    let only_a_ts = put_packed(&f.clients.ddb, &table, &only_a, 0).await;
    let no_a_ts = put_packed(&f.clients.ddb, &table, &no_a, 0).await;
    // an item keyed up to one item span before A's window can hold A's readings; this one (attempt 1) does
    let early = [pr(&m, from_a - 200_000, 93), pr(&n, from_a + 200, 15)];
    let early_ts = put_packed(&f.clients.ddb, &table, &early, 1).await;

    let ea = export(&f, &a, "a.zip");
    assert_eq!(seqs(&ea, &n), vec![10, 11, 12, 13, 14, 15], "A's export: A's window's packed readings only");
    assert_eq!(seqs(&export(&f, &b, "b.zip"), &n), vec![20, 21], "B's export");
    for (name, bytes) in &ea {
        assert!(!String::from_utf8_lossy(bytes).contains(&m), "A's {name} holds node M's data");
    }

    let before = bucket(&f, &n).await;
    let erased = f.run(&["gdpr", "erase", "--user", &a, "--yes", "--output", "json"]);
    assert_eq!(erased.code, 0, "{}", erased.transcript());
    let after = bucket(&f, &n).await;
    assert!(!after.contains_key(&only_a_ts), "an item of A's readings only is deleted");
    assert_eq!(after.get(&no_a_ts), before.get(&no_a_ts), "an item without A's readings is not written");
    let want_mixed: Vec<PackedReading> = readings_of(&before[&mixed_ts])
        .into_iter()
        .filter(|r| !r.params["seq"].as_i64().is_some_and(|s| [10, 11, 12].contains(&s)))
        .collect();
    assert_eq!(readings_of(&after[&mixed_ts]), want_mixed, "B's, nobody's and M's readings decode identical");
    assert_eq!(after[&mixed_ts]["count"], AttributeValue::N("5".into()));
    assert_eq!(after[&mixed_ts]["batch"], before[&mixed_ts]["batch"], "provenance and TTL kept");
    assert_eq!(after[&mixed_ts][attr::EXPIRES_AT], before[&mixed_ts][attr::EXPIRES_AT]);
    assert_eq!(readings_of(&after[&early_ts]), vec![early[0].clone()]);
    let receipt: Value = serde_json::from_str(&erased.stdout).unwrap_or_else(|e| panic!("{e}: {}", erased.stdout));
    assert!(receipt.to_string().contains("telemetry"), "{receipt}");
    assert_eq!(seqs(&export(&f, &b, "b2.zip"), &n), vec![20, 21], "B's export after A's erase");
    let again = f.run(&["gdpr", "erase", "--user", &a, "--yes"]);
    assert_eq!(again.code, 0, "a second erase is a no-op: {}", again.transcript());
    assert_eq!(bucket(&f, &n).await, after, "and writes nothing");
}

/// Whether a recorded request is the erase's conditional write of a packed item.
fn is_packed_write(target: &str, body: &str) -> bool {
    (target.ends_with(".UpdateItem") || target.ends_with(".DeleteItem")) && body.contains("\"#p\":\"packed\"")
}

fn target_of(headers: &[(String, String)]) -> String {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target")).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Race: between the erase's read of a packed item and its conditional rewrite, another writer (here: M's owner's
/// erase, done directly on moto from the proxy's hook) rewrites the same item without M's readings. The erase's
/// condition fails; it reads the item again and redoes the erase on it: A's readings go, M's stay gone, N's
/// reading from before A's window stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_change_during_the_erase_is_redone_never_lost() {
    let f = fixture("packed-race", opts(1, 1, 1, 0)).await;
    let table = f.resources.tables.telemetry.clone();
    let tag = rainmaker_deploy::gdpr::seed::random_tag().unwrap();
    let a = pool_user(&f, &format!("race-a-{tag}")).await;
    let be = backend(&f, &tag).await;
    let (n, m) = (be.node.clone(), same_bucket(&be.node));
    be.bind(&a).await;
    let from_a = user_windows(&f, &a).await[0].from;
    let item = [pr(&n, from_a - 10, 30), pr(&m, from_a + 1, 90), pr(&n, from_a + 2, 10), pr(&m, from_a + 3, 91)];
    let ts = put_packed(&f.clients.ddb, &table, &item, 0).await;
    let changed = [item[0].clone(), item[2].clone()]; // M's erase: M's readings gone

    let fired = Arc::new(AtomicBool::new(false));
    let (sdk, t, fired_in, changed_in) = (f.sdk.clone(), table.clone(), fired.clone(), changed.clone());
    let hook: Respond = Arc::new(move |req| {
        if is_packed_write(&target_of(&req.headers), &req.body) && !fired_in.swap(true, Ordering::SeqCst) {
            let (sdk, t, changed) = (sdk.clone(), t.clone(), changed_in.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
                    let blob = AttributeValue::B(packed::encode(&changed).unwrap().into());
                    ddb.update_item()
                        .table_name(&t)
                        .key(attr::NODE_ID, s(packed::partition_key(packed::bucket_of(&changed[0].node_id))))
                        .key(attr::TS, AttributeValue::N(ts.to_string()))
                        .update_expression("SET packed = :p, #c = :c")
                        .expression_attribute_names("#c", "count")
                        .expression_attribute_values(":p", blob)
                        .expression_attribute_values(":c", AttributeValue::N("2".into()))
                        .send()
                        .await
                        .unwrap();
                });
            })
            .join()
            .unwrap();
        }
        None
    });
    let proxy = Proxy::with(MotoServer::shared(), Hooks { answer: Some(hook), ..Hooks::default() });
    let erased = f.run_via(&proxy.endpoint_url(), &["gdpr", "erase", "--user", &a, "--yes"]);
    assert_eq!(erased.code, 0, "{}", erased.transcript());
    assert!(fired.load(Ordering::SeqCst), "the concurrent change happened");

    let left = bucket(&f, &n).await;
    assert_eq!(readings_of(&left[&ts]), vec![item[0].clone()], "A's gone, M's erase not undone, nobody's kept");
    // on the wire: the conditional write, its failure, a strong re-read, the redone conditional write
    let sent: Vec<(String, String)> = proxy
        .received()
        .into_iter()
        .map(|r| (target_of(&r.headers), r.body))
        .filter(|(t, b)| is_packed_write(t, b) || (t.ends_with(".GetItem") && b.contains(&ts.to_string())))
        .collect();
    let ops: Vec<&str> = sent.iter().map(|(t, _)| t.rsplit('.').next().unwrap()).collect();
    assert_eq!(ops, vec!["UpdateItem", "GetItem", "UpdateItem"], "{sent:?}");
    for (t, body) in &sent {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["TableName"], json!(table), "{t}");
        assert_eq!(v["Key"]["ts"]["N"], json!(ts.to_string()), "{t}");
        if t.ends_with(".UpdateItem") {
            assert_eq!(v["ConditionExpression"], "#p = :old", "{body}");
        } else {
            assert_eq!(v["ConsistentRead"], true, "{body}");
        }
    }
    let (first, redo) = (&sent[0].1, &sent[2].1);
    let old = |b: &str| serde_json::from_str::<Value>(b).unwrap()["ExpressionAttributeValues"][":old"].clone();
    assert_ne!(old(first), old(redo), "the redo is conditioned on the changed item");
}
