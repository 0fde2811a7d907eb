//! Goldens of the packed telemetry pipeline (`telemetry.pipeline: packed`): one table per blueprint, the
//! smart-home write and storage lines recomputed from first principles, the unit costs of the three pipelines and
//! their cross-overs.

use super::golden_pipeline::blueprint_with;
use super::report::{render, Format, View};
use super::*;
use crate::config::Pipeline;
use rainmaker_model::access::PACKED_ITEM_OVERHEAD;

fn us() -> PriceTable {
    PriceTable::embedded("us-east-1").unwrap()
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-6_f64.max(want.abs() * 1e-9), "{what}: got {got}, want {want}");
}

fn run(res: &Resources, usage: &Usage, devices: u64) -> Estimate {
    estimate(res, usage, &us(), Options { devices, free_tier: FreeTierMode::Always }).unwrap()
}

#[test]
fn golden_blueprint_tables_packed() {
    for name in crate::assets::blueprint_names() {
        let (res, usage) = blueprint_with(name, Pipeline::Packed);
        assert_eq!(res.blueprint.as_deref(), Some(name), "the templates' stamp names the blueprint");
        check_usage(&res, &usage).unwrap_or_else(|e| panic!("{name}: {e}"));
        let e = run(&res, &usage, 3_600_000);
        assert!(e.unpriced.is_empty(), "{name}: {:?}", e.unpriced);
        for id in ["TelemetryStream", "TelemetryBatchFunction", "TelemetryTable"] {
            let r = e.resource(id).unwrap_or_else(|| panic!("{name}: {id}"));
            assert!(r.components.iter().all(|c| c.quantity > 0.0), "{name}: {id} {:?}", r.components);
        }
        insta::assert_snapshot!(format!("blueprint_{name}_packed_3600000"), render(&View::One(&e), Format::Table));
    }
}

/// smart-home, 3.6M devices, packed, recomputed by hand (us-east-1):
/// - 10.512B messages of 300 + 130 + 16 = 446 B records on 12 shards: 333.3 records/s a shard; the 60 s window
///   would gather 20,000, the batch size allows 10,000, Lambda's 6 MB payload 6,291,456 / (446 × 4/3 + 500) =
///   5,747.37 records: the batch;
/// - its nodes fall in all 128 buckets (128 × (1 − (127/128)^5,747) = 128.000): 44.90 readings an item;
/// - the benchmark measured smart-home's readings at 2,469 B for 39 and 4,403 B for 78 an item: at 44.90,
///   2,469 + 1,934 × 5.90 / 39 = 2,761.6 B, × 300 / 281 (the profile's payload over the benchmark's) = 2,948.3 B,
///   + the item's keys and attributes (260 B): ⌈3,208 / 1,024⌉ = 4 write units;
/// - items a month = 10.512B / 5,747.4 × 128 = 234.1M: 936.5M WRU ($585.3), and stored at 30 days:
///   234.1M × 3,208 B × 30 / 30.42 = 690 GB (storage $0.25 and PITR $0.20 a GB-month).
#[test]
fn hand_checked_smart_home_packed_write_and_storage_lines() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Packed);
    let e = run(&res, &usage, 3_600_000);
    let msgs = 3_600_000.0 * 4.0 * 730.0;
    let per_shard = msgs / (730.0 * 3600.0) / 12.0;
    assert!(per_shard * 60.0 > 10_000.0, "the window is not what limits the batch");
    let records = 6.0 * 1024.0 * 1024.0 / (446.0 * 4.0 / 3.0 + 500.0);
    close(records, 5747.371498172961, "records per batch (6 MB)");
    let f = e.resource("TelemetryBatchFunction").unwrap();
    close(f.usage["monthly_requests"], msgs / records, "invocations");
    let buckets = 128.0 * (1.0 - (127.0_f64 / 128.0).powf(records));
    let per_item = records / buckets;
    let compressed = (2469.0 + (4403.0 - 2469.0) * (per_item - 39.0) / 39.0) * 300.0 / 281.0;
    let item = compressed + f64::from(PACKED_ITEM_OVERHEAD);
    let wru = (item / 1024.0).ceil();
    assert_eq!(wru, 4.0, "{item} B an item");
    let items = msgs / records * buckets;
    let t = e.resource("TelemetryTable").unwrap();
    let writes = t.components.iter().find(|c| c.price_id == "dynamodb.write_units").unwrap();
    close(writes.quantity, items * wru, "write units");
    close(writes.monthly_usd, items * wru / 1e6 * 0.625, "write units $");
    let gb = items * item * 30.0 / (730.0 / 24.0) / (1024.0 * 1024.0 * 1024.0);
    close(t.usage["storage_gb"], gb, "storage GB");
    let storage = t.components.iter().find(|c| c.price_id == "dynamodb.storage").unwrap();
    let pitr = t.components.iter().find(|c| c.price_id == "dynamodb.pitr").unwrap();
    close(pitr.monthly_usd, gb * 0.20, "PITR $");
    // the table's 25 free GB come off the account's storage, shared with the other tables
    assert!(storage.monthly_usd <= gb * 0.25 && storage.monthly_usd >= (gb - 25.0) * 0.25, "{storage:?}");
    eprintln!(
        "smart-home packed: {records:.1} records a batch, {per_item:.2} readings an item of {item:.0} B ({wru} WRU); \
         {:.1}M items, {:.0} GB stored",
        items / 1e6,
        gb
    );
}

/// The three pipelines at 3.6M devices per blueprint: packed writes fewer units than batched and direct, and the
/// cross-over of packed with direct lies where the totals cross.
#[test]
fn packed_against_direct_and_batched() {
    let (direct, usage) = blueprint_with("smart-home", Pipeline::Direct);
    let (batched, _) = blueprint_with("smart-home", Pipeline::Batched);
    let (packed, _) = blueprint_with("smart-home", Pipeline::Packed);
    let unit = |r: &Resources| run(r, &usage, 3_600_000).unit_costs.unwrap();
    let (d, b, p) = (unit(&direct), unit(&batched), unit(&packed));
    assert!(p.per_million_device_messages_usd < b.per_million_device_messages_usd, "{p:?} vs {b:?}");
    assert!(p.per_million_device_messages_usd < d.per_million_device_messages_usd, "{p:?} vs {d:?}");
    close(p.telemetry_fixed_monthly_usd, b.telemetry_fixed_monthly_usd, "the same stream");
    let at = unit::crossover(&direct, &packed, &usage, &us(), FreeTierMode::Always).unwrap().expect("a cross-over");
    let total = |r: &Resources, n: u64| run(r, &usage, n).total_monthly_usd;
    assert!(total(&packed, at) < total(&direct, at), "packed is cheaper at {at}");
    assert!(total(&packed, at - 1) >= total(&direct, at - 1), "direct is not dearer just below {at}");
    eprintln!(
        "smart-home 3.6M per million messages: direct ${:.4}, batched ${:.4}, packed ${:.4}; packed from {at} devices",
        d.per_million_device_messages_usd, b.per_million_device_messages_usd, p.per_million_device_messages_usd
    );
    for name in ["water-meter", "industrial-sensor"] {
        let (direct, usage) = blueprint_with(name, Pipeline::Direct);
        let (packed, _) = blueprint_with(name, Pipeline::Packed);
        let d = run(&direct, &usage, 3_600_000);
        let p = run(&packed, &usage, 3_600_000);
        let wru = |e: &Estimate| e.resource("TelemetryTable").unwrap().components[0].quantity;
        assert!(wru(&p) < wru(&d) / 10.0, "{name}: packed writes a tenth of direct's units or less");
        eprintln!(
            "{name} 3.6M per million messages: direct ${:.4}, packed ${:.4}",
            d.unit_costs.unwrap().per_million_device_messages_usd,
            p.unit_costs.unwrap().per_million_device_messages_usd
        );
    }
}

/// A profile's own compressed bytes per reading replace the measured curve, and foreign templates (no stamp) are
/// priced with the default blueprint's.
#[test]
fn an_explicit_bytes_per_reading_replaces_the_measured_curve() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Packed);
    let mut heavy = usage.clone();
    heavy.device.insert("packed_bytes_per_reading".into(), 300.0);
    let wru = |u: &Usage| run(&res, u, 3_600_000).resource("TelemetryTable").unwrap().components[0].quantity;
    assert!(wru(&heavy) > 3.0 * wru(&usage), "uncompressed readings need more units");
    let mut unstamped = res.clone();
    unstamped.blueprint = None;
    close(
        wru(&usage),
        run(&unstamped, &usage, 3_600_000).resource("TelemetryTable").unwrap().components[0].quantity,
        "smart-home's curve",
    );
}
