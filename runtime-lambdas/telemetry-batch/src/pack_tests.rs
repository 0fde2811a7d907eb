//! The packed layout's planning, table-tested: cutting by bucket, span, count and bytes; the collision decisions.

use super::*;
use serde_json::{json, Map, Value};

const T0: i64 = 1_700_000_000_000;

fn entry(ts: i64, received_at: i64, seq: &str) -> Entry {
    let params = json!({"Power": true, "Brightness": ts % 100}).as_object().cloned().unwrap();
    Entry { ts, msg_id: None, params, received_at, sequence: seq.into() }
}

/// Nodes named so their buckets are known: bucket 45 and bucket 237 (pinned in the model's tests).
const A: &str = "SN-000001";
const B: &str = "SN-000002";

#[test]
fn readings_of_many_nodes_go_to_their_bucket_s_item() {
    assert_eq!((bucket_of(A), bucket_of(B)), (45, 237));
    let items = pack(vec![
        (A.into(), vec![entry(T0 - 10, T0, "3"), entry(T0 - 20, T0 + 5, "7")]),
        (B.into(), vec![entry(T0 - 5, T0 + 1, "2")]),
    ])
    .unwrap();
    assert_eq!(items.len(), 2);
    let (a, b) = (&items[0], &items[1]);
    assert_eq!((a.bucket, a.partition_key().as_str(), a.readings.len()), (45, "#packed-045", 2));
    assert_eq!((a.oldest(), a.newest(), a.ts(0), a.ts(3)), (T0, T0 + 5, T0 * 1000, T0 * 1000 + 3));
    assert_eq!(a.lowest_sequence, "3");
    assert_eq!((b.bucket, b.readings[0].node_id.as_str(), b.lowest_sequence.as_str()), (237, B, "2"));
    // the packed attribute decodes to exactly the readings
    assert_eq!(packed::decode(&a.packed).unwrap(), a.readings);
}

#[test]
fn items_are_cut_by_span_count_and_bytes() {
    struct Case {
        what: &'static str,
        /// (received_at offset, params size) of readings of one node
        readings: Vec<(i64, usize)>,
        want: Vec<usize>,
    }
    let cases = [
        Case { what: "one span", readings: (0..10).map(|i| (i * 1000, 10)).collect(), want: vec![10] },
        Case {
            what: "exactly the span stays in one item",
            readings: vec![(0, 10), (MAX_ITEM_SPAN_MS, 10)],
            want: vec![2],
        },
        Case {
            what: "a millisecond past the span starts another",
            readings: vec![(0, 10), (1, 10), (MAX_ITEM_SPAN_MS + 1, 10)],
            want: vec![2, 1],
        },
        Case {
            what: "three spans",
            readings: (0..9).map(|i| (i * MAX_ITEM_SPAN_MS / 2, 10)).collect(),
            want: vec![3, 3, 3],
        },
        Case {
            what: "the count limit",
            readings: (0..(MAX_ITEM_READINGS as i64 * 2 + 1)).map(|i| (i / 100, 10)).collect(),
            want: vec![MAX_ITEM_READINGS, MAX_ITEM_READINGS, 1],
        },
    ];
    for c in cases {
        let entries: Vec<Entry> = c
            .readings
            .iter()
            .enumerate()
            .map(|(i, (at, _))| entry(i as i64, T0 + at, &format!("{}", 10 + i)))
            .collect();
        let items = pack(vec![(A.into(), entries)]).unwrap();
        let sizes: Vec<usize> = items.iter().map(|i| i.readings.len()).collect();
        assert_eq!(sizes, c.want, "{}", c.what);
        for i in &items {
            assert!(i.newest() - i.oldest() <= MAX_ITEM_SPAN_MS, "{}", c.what);
        }
        let keys: Vec<i64> = items.iter().map(|i| i.ts(0)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{}: items in time order", c.what);
    }
}

#[test]
fn an_item_over_the_packed_byte_limit_is_halved_until_it_fits() {
    // barely compressible params: 2,000 readings of 300 random-looking characters are ~2 x 256 KB deflated
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = || {
        (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 90) as u8)
            })
            .collect::<String>()
    };
    let entries: Vec<Entry> = (0..2000)
        .map(|i| {
            let mut params = Map::new();
            params.insert("blob".into(), Value::from(noise()));
            Entry { ts: i, msg_id: None, params, received_at: T0 + i, sequence: format!("{}", 100 + i) }
        })
        .collect();
    let whole: Vec<PackedReading> = entries
        .iter()
        .map(|e| PackedReading {
            node_id: A.into(),
            ts: e.ts,
            received_at: e.received_at,
            msg_id: None,
            params: e.params.clone(),
        })
        .collect();
    assert!(packed::encode(&whole).unwrap().len() > MAX_PACKED_BYTES, "the run does not fit in one item");
    let items = pack(vec![(A.into(), entries)]).unwrap();
    assert!(items.len() >= 2, "{} items", items.len());
    assert!(items.iter().all(|i| i.packed.len() <= MAX_PACKED_BYTES), "every item fits");
    assert_eq!(items.iter().map(|i| i.readings.len()).sum::<usize>(), 2000, "no reading lost");
    // halves keep the time order: every item is a contiguous run
    for w in items.windows(2) {
        assert!(w[0].newest() < w[1].oldest());
    }
    assert_eq!(items[0].lowest_sequence, "100");
}

#[test]
fn a_taken_key_is_a_redelivery_or_the_next_attempt() {
    let item = pack(vec![(A.into(), vec![entry(1, T0, "5")])]).unwrap().remove(0);
    let other = pack(vec![(A.into(), vec![entry(2, T0, "5")])]).unwrap().remove(0);
    let batch = "shardId-000000000000/5";
    // (what, the attempt tried, the old item's batch and packed, the decision)
    type Case<'a> = (&'a str, u32, Option<&'a str>, Option<&'a [u8]>, Collision);
    let cases: [Case; 7] = [
        ("same batch, same packed", 0, Some(batch), Some(&item.packed), Collision::Redelivery),
        ("same batch at a later attempt", 4, Some(batch), Some(&item.packed), Collision::Redelivery),
        (
            "same batch, other readings (a second item of the ms)",
            0,
            Some(batch),
            Some(&other.packed),
            Collision::Retry(1),
        ),
        ("another batch, same readings", 0, Some("shardId-000000000000/4"), Some(&item.packed), Collision::Retry(1)),
        ("an item without batch or packed", 7, None, None, Collision::Retry(8)),
        ("the last attempt", 998, Some("x/1"), Some(&other.packed), Collision::Retry(999)),
        ("every attempt taken", 999, Some("x/1"), Some(&other.packed), Collision::Exhausted),
    ];
    for (what, attempt, old_batch, old_packed, want) in cases {
        assert_eq!(on_collision(attempt, batch, &item, old_batch, old_packed), want, "{what}");
    }
}

#[test]
fn nothing_to_pack_is_no_item() {
    assert_eq!(pack(vec![]).unwrap(), vec![]);
    assert_eq!(pack(vec![(A.into(), vec![])]).unwrap(), vec![]);
}

/// DynamoDB's size of an item (attribute names + values; a number at ⌈significant digits / 2⌉ + 1 bytes), plus
/// its 100-byte storage overhead.
fn stored_bytes(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let value = |v: &A| match v {
        A::S(s) => s.len(),
        A::N(n) => n.trim_start_matches('-').trim_start_matches('0').trim_end_matches('0').len().div_ceil(2) + 1,
        A::B(b) => b.as_ref().len(),
        _ => unreachable!("a packed item has only S, N and B"),
    };
    item.iter().map(|(k, v)| k.len() + value(v)).sum::<usize>() + 100
}

/// A full batch (10,000 single-reading records of distinct smart-home nodes, as the telemetry benchmark's
/// payloads): one item per bucket, each well inside the limits; the item's bytes beyond `packed` are what
/// `access::PACKED_ITEM_OVERHEAD` declares. Prints the measured numbers (docs/lambdas.md).
#[test]
fn a_full_batch_of_smart_home_readings_is_one_item_per_bucket() {
    let modes = ["auto", "eco", "manual"];
    let per_node: Vec<(String, Vec<Entry>)> = (0..10_000usize)
        .map(|i| {
            let params = json!({"Power": i % 3 != 0, "Brightness": (i * 13) % 101,
                                "Temperature": 18.0 + (i % 70) as f64 / 10.0,
                                "Energy": 1000.0 + (i * 7) as f64 * 0.1, "Mode": modes[i % 3]});
            let received_at = T0 + (i as i64 * 6); // 10,000 records over a 60 s window
            let e = Entry {
                ts: received_at - 800,
                msg_id: None,
                params: params.as_object().cloned().unwrap(),
                received_at,
                sequence: format!("49590338271490256608559692538361571095921575989136{i:06}"),
            };
            (format!("SN-{:06}", i * 7919 % 1_000_000), vec![e])
        })
        .collect();
    let raw: usize = per_node
        .iter()
        .map(|(n, e)| {
            // the JSON line `packed::encode` writes for the reading, and its newline
            json!({"n": n, "ts": e[0].ts, "r": e[0].received_at, "p": e[0].params}).to_string().len() + 1
        })
        .sum();
    let items = pack(per_node).unwrap();
    assert_eq!(items.len(), packed::BUCKETS as usize, "one item per bucket");
    assert_eq!(items.iter().map(|i| i.readings.len()).sum::<usize>(), 10_000);
    let batch = format!("shardId-000000000000/49590338271490256608559692538361571095921575989136{:06}", 0);
    let ddb: Vec<_> = items.iter().map(|i| crate::store_packed::packed_item(i, 0, &batch, 30)).collect();
    for (i, d) in items.iter().zip(&ddb) {
        assert!(i.packed.len() <= MAX_PACKED_BYTES && i.readings.len() <= MAX_ITEM_READINGS);
        let overhead = stored_bytes(d) - i.packed.len();
        let declared = rainmaker_model::access::PACKED_ITEM_OVERHEAD as usize;
        // numbers are sized by their significant digits (`count`, `ts`), so an item may come in a few bytes under
        assert!(overhead <= declared && overhead + 16 >= declared, "overhead {overhead} B vs declared {declared} B");
    }
    let packed_total: usize = items.iter().map(|i| i.packed.len()).sum();
    let stored_total: usize = ddb.iter().map(stored_bytes).sum();
    // a write unit is 1 KB of the item itself (the 100 B of overhead count for storage only)
    let write_units: usize = ddb.iter().map(|d| (stored_bytes(d) - 100).div_ceil(1024)).sum();
    let (min, max) =
        (items.iter().map(|i| i.readings.len()).min().unwrap(), items.iter().map(|i| i.readings.len()).max().unwrap());
    assert!(packed_total * 3 < raw, "deflate at least thirds the JSON lines: {packed_total} of {raw}");
    eprintln!(
        "packed: 10,000 records -> {} items ({min}..{max} readings, mean {:.1}); JSON lines {:.1} B a reading, \
         deflated {:.1} B; mean item {:.0} B stored ({:.0} B packed + overhead), {:.2} write units an item, \
         {:.4} write units a reading",
        items.len(),
        10_000.0 / items.len() as f64,
        raw as f64 / 10_000.0,
        packed_total as f64 / 10_000.0,
        stored_total as f64 / items.len() as f64,
        packed_total as f64 / items.len() as f64,
        write_units as f64 / items.len() as f64,
        write_units as f64 / 10_000.0,
    );
}
