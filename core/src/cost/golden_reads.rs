//! `GET /nodes/{id}/readings` in the estimate: one smart-home read at 3.6M packed devices recomputed from first
//! principles, the reads' share of the per-million unit cost, what the range does, the direct pipeline's cheap
//! reads and the warning for a read that cannot finish.

use super::golden_pipeline::{blueprint_with, close, run};
use super::*;
use crate::config::Pipeline;
use rainmaker_model::telemetry::packed::BUCKETS;

/// Read units of an eventually consistent Query of `bytes`, by hand: 128 a full 1 MB page (256 steps of 4 KB, ½
/// each), then ⌈rest / 4 KB⌉ × ½, at least ½.
fn by_hand_query_units(bytes: f64) -> f64 {
    let mb = 1024.0 * 1024.0;
    let pages = (bytes / mb).floor();
    pages * 128.0 + ((bytes - pages * mb) / 4096.0).ceil().max(1.0) * 0.5
}

/// The smart-home consumer at 3.6M packed devices, by hand (`golden_packed::smart_home_batch_by_hand`): records a
/// batch (the 6 MB payload), items a batch of one of the 12 shards, readings an item and its mean stored bytes.
fn smart_home_batch(shards: usize) -> (f64, f64, f64, f64) {
    let b = super::golden_packed::smart_home_batch_by_hand(shards);
    (b.records, b.items, b.records / b.items, b.bytes / b.items)
}

/// smart-home, 3.6M devices, packed, us-east-1, the blueprint's 2 % of API calls reading the last 15 minutes
/// (`packed::BUCKETS` = 512):
/// - the consumer: 10.512B records a month in batches of 5,747.4 from one of 12 shards, 43.33 items of 132.6
///   readings and 7,533 B stored each (`golden_packed`): 1.829M batches, so 1.829M × 43.33 / 2,628,000 s / 512
///   buckets = 0.0589 items a second in one bucket;
/// - the bucket Query covers 15 minutes + the 5-minute item span = 1,200 s: 70.7 items of 7,433 metered bytes
///   (without the 100 B storage overhead), 525 KB: ⌈525 KB / 4 KB⌉ × ½ = 64.5 units; the node's own partition
///   holds nothing (½ unit); the grant and the node, strongly read (1 + 1): **67 read units a call**;
/// - 70.7 items × 132.6 = 9,375 readings inflated at 2.1 µs on a full core, at 128 / 1,769 of a vCPU: 272 ms,
///   0.034 GB-s a call, priced as the api function's own duration line;
/// - calls: 3.6M × 0.5 users × 15 a day × 30.42 days × 2 % = 16.43M a month.
#[test]
fn hand_checked_smart_home_packed_read() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Packed);
    assert_eq!((usage.users("api_readings_percent"), usage.users("api_readings_minutes")), (2.0, 15.0));
    let e = run(&res, &usage, 3_600_000);
    let msgs = 3_600_000.0 * 4.0 * 730.0;
    let (records, buckets, per_item, item) = smart_home_batch(12);
    let batches = msgs / records;
    let per_bucket_second = batches * buckets / (730.0 * 3600.0) / f64::from(BUCKETS);
    let items = per_bucket_second * (15.0 * 60.0 + 5.0 * 60.0);
    // request units meter the attribute bytes: the item's stored bytes without the 100 B storage overhead
    let bucket_units = by_hand_query_units(items * (item - 100.0));
    assert!((items - 70.68).abs() < 0.01, "{items} items");
    assert!((item - 7533.4).abs() < 0.5, "{item} B an item");
    assert_eq!(bucket_units, 64.5, "{} B", items * (item - 100.0));
    let units = bucket_units + 0.5 + 1.0 + 1.0;
    let readings = items * per_item;
    close(readings, 4000.0 / f64::from(BUCKETS) * 1200.0, "every reading of the bucket in 1,200 s");
    let scan_ms = readings * 0.0021 * 1769.0 / 128.0;
    let gb_s = scan_ms / 1000.0 * 128.0 / 1024.0;

    let r = e.api_readings.expect("the API serves the route");
    let calls = 3_600_000.0 * 0.5 * 15.0 * (730.0 / 24.0) * 0.02;
    close(r.calls_monthly, calls, "calls");
    close(r.read_units_per_call, units, "read units a call");
    close(r.bucket_read_units_per_call, bucket_units, "bucket units");
    close(r.scanned_items_per_call, items, "items scanned");
    close(r.scanned_readings_per_call, readings, "readings scanned");
    close(r.scan_ms_per_call, scan_ms, "scan ms");
    close(r.scan_gb_s_per_call, gb_s, "scan GB-s");
    // $: the read units at $0.125 per million, the scan at no more than the list GB-s price (the free GB-s lower it)
    let reads_usd = units * 0.125e-6;
    assert!(r.usd_per_call > reads_usd && r.usd_per_call <= reads_usd + gb_s * 0.0000133334 + 1e-12, "{r:?}");

    // the telemetry table's read units: the readings calls, plus the newest-reading Query (½ unit) of the
    // non-shadow routes (`GET /nodes`, `GET /nodes/{id}`), which keep 60 % of the other 98 % of the calls
    let api_calls = 3_600_000.0 * 0.5 * 15.0 * (730.0 / 24.0);
    let t = e.resource("TelemetryTable").unwrap();
    let rru = t.components.iter().find(|c| c.price_id == "dynamodb.read_units").unwrap();
    close(rru.quantity, calls * (bucket_units + 0.5) + api_calls * 0.98 * 0.6 * 0.5, "telemetry read units");
    // the scan is the api function's own duration line
    let api = e.resource("ApiFunction").unwrap();
    let scan = api.components.iter().find(|c| c.name.starts_with("Duration of GET /nodes/{id}/readings")).unwrap();
    close(scan.quantity, calls * gb_s, "scan GB-s a month");
    assert_eq!(scan.price_id, "lambda.duration_arm64");
    eprintln!(
        "smart-home packed read: {items:.1} items of {item:.0} B, {units} read units, {readings:.0} readings, \
         {scan_ms:.0} ms at 128 MB; ${:.8} a call",
        r.usd_per_call
    );
}

/// Doubling the message rate doubles the bytes a packed read scans, so the per-million unit cost carries the reads:
/// the unit cost with reads minus without is the reads' added units and GB-s at 2× over the added messages.
#[test]
fn the_per_million_unit_cost_includes_the_packed_reads() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Packed);
    let mut none = usage.clone();
    none.users.insert("api_readings_percent".into(), 0.0);
    let with = run(&res, &usage, 3_600_000);
    let without = run(&res, &none, 3_600_000);
    assert_eq!(without.api_readings.unwrap().calls_monthly, 0.0);
    let r = with.api_readings.unwrap();
    let per_m = |e: &Estimate| e.unit_costs.as_ref().unwrap().per_million_device_messages_usd;
    let msgs = 3_600_000.0 * 4.0 * 730.0;
    // at twice the rate: 24 shards of the same 333 records a second, each over half the buckets: twice the
    // batches, each of about half the items, each of about twice the readings
    let bucket_bytes = |shards: usize, rate: f64| {
        let (records, items, _, item) = smart_home_batch(shards);
        rate * msgs / records * items / (730.0 * 3600.0) / f64::from(BUCKETS) * 1200.0 * (item - 100.0)
    };
    let added_units = by_hand_query_units(bucket_bytes(24, 2.0)) - by_hand_query_units(bucket_bytes(12, 1.0));
    let added_usd = r.calls_monthly * (added_units * 0.125e-6 + r.scan_gb_s_per_call * 0.0000133334);
    let want = added_usd / msgs * 1e6;
    let got = per_m(&with) - per_m(&without);
    assert!((got - want).abs() < want * 0.02, "reads add ${got:.4} per million messages, by hand ${want:.4}");
    eprintln!(
        "smart-home packed per million messages: ${:.4} without reads, ${:.4} with",
        per_m(&without),
        per_m(&with)
    );
}

/// With `direct` a read is the node's own 85 minutes (4 items of 450 B an hour: ½ unit) and an empty bucket Query;
/// a longer range costs more with `packed`, and a read past the function's Timeout is warned about.
#[test]
fn direct_reads_are_cheap_and_packed_ones_grow_with_the_range() {
    let (direct, usage) = blueprint_with("smart-home", Pipeline::Direct);
    let r = run(&direct, &usage, 3_600_000).api_readings.unwrap();
    assert_eq!((r.read_units_per_call, r.scanned_readings_per_call, r.scan_ms_per_call), (3.0, 0.0, 0.0));
    let (packed, _) = blueprint_with("smart-home", Pipeline::Packed);
    let mut hour = usage.clone();
    hour.users.insert("api_readings_minutes".into(), 60.0);
    let e15 = run(&packed, &usage, 3_600_000);
    let (r15, r60) = (e15.api_readings.unwrap(), run(&packed, &hour, 3_600_000).api_readings.unwrap());
    close(r60.scanned_items_per_call, r15.scanned_items_per_call * 3900.0 / 1200.0, "65 minutes against 20");
    assert!(r60.usd_per_call > 3.0 * r15.usd_per_call);
    assert!(!e15.warnings.iter().any(|w| w.contains("readings call")), "{:?}", e15.warnings);
    // industrial at 3.6M: a 15-minute read decodes every reading of a bucket, 360,000 a second / 512 × 1,200 s =
    // 843,750, ~12.2 s at 256 MB: within the function's 15 s Timeout (at 128 buckets it was 49 s, warned about)
    let (res, usage) = blueprint_with("industrial-sensor", Pipeline::Packed);
    let e = run(&res, &usage, 3_600_000);
    let r = e.api_readings.unwrap();
    let readings = 3_600_000.0 * 360.0 / 3600.0 / f64::from(BUCKETS) * 1200.0;
    close(r.scanned_readings_per_call, readings, "industrial readings scanned");
    close(r.scan_ms_per_call, readings * 0.0021 * 1769.0 / 256.0, "industrial scan ms at 256 MB");
    let warned = e.warnings.iter().any(|w| {
        w.contains(&format!("GET /nodes/{{id}}/readings call over 15 minutes decodes {readings:.0} readings"))
            && w.contains("beyond its Timeout of 15 s")
    });
    assert_eq!(warned, r.scan_ms_per_call > 15_000.0, "{:?}", e.warnings);
    assert!(!warned && r.scan_ms_per_call > 10_000.0, "12 s of the 15: no warning, but close: {}", r.scan_ms_per_call);
}
