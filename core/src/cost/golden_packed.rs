//! Goldens of the packed telemetry pipeline (`telemetry.pipeline: packed`): one table per blueprint, the
//! smart-home write and storage lines recomputed from first principles, the unit costs of the three pipelines and
//! their cross-overs.

use super::golden_pipeline::{blueprint_with, close, run, us};
use super::report::{render, Format, View};
use super::*;
use crate::config::Pipeline;
use rainmaker_model::access::PACKED_ITEM_OVERHEAD;

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

/// The smart-home packed batch by hand (doc of the test below) from one of `shards` shards of 333 records a second
/// (12 at 3.6M devices, 24 at twice the message rate), averaged over the shards: the items, their stored bytes and
/// their write units.
pub(super) struct HandBatch {
    pub records: f64,
    pub items: f64,
    pub bytes: f64,
    pub units: f64,
}

pub(super) fn smart_home_batch_by_hand(shards: usize) -> HandBatch {
    let records = 6.0 * 1024.0 * 1024.0 / (446.0 * 4.0 / 3.0 + 500.0);
    let curve = [(1.0, 230.0), (10.0, 909.0), (39.0, 2455.0), (78.0, 4374.0), (100.0, 5357.0), (1000.0, 45584.0)];
    let compressed = |k: f64| {
        let seg = curve.windows(2).find(|w| k <= w[1].0).unwrap_or(&curve[4..]);
        let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
        y0 + (y1 - y0) * (k - x0) / (x1 - x0)
    };
    let n = 5747usize; // the model rounds the batch to whole records for its distribution
    let ln_fact: Vec<f64> = (0..=n)
        .scan(0.0, |acc, i| {
            if i > 0 {
                *acc += (i as f64).ln();
            }
            Some(*acc)
        })
        .collect();
    let (mut items, mut units, mut bytes) = (0.0, 0.0, 0.0);
    let width = 512.0 / shards as f64;
    for shard in 0..shards {
        let (lo, hi) = (width * shard as f64, width * (shard + 1) as f64);
        for bucket in (lo.floor() as usize)..(hi.ceil() as usize) {
            let share = ((hi.min(bucket as f64 + 1.0) - lo.max(bucket as f64)) / width).max(0.0);
            if share <= 0.0 {
                continue;
            }
            for k in 1..=n {
                let ln_p = ln_fact[n] - ln_fact[k] - ln_fact[n - k]
                    + k as f64 * share.ln()
                    + if share < 1.0 { (n - k) as f64 * (1.0 - share).ln() } else { 0.0 };
                let p = ln_p.exp();
                let item = compressed(k as f64) * 300.0 / 281.0 + f64::from(PACKED_ITEM_OVERHEAD);
                items += p;
                bytes += p * item;
                units += p * ((item - 100.0) / 1024.0).ceil();
            }
        }
    }
    let n = shards as f64;
    let (items, units, bytes) = (items / n, units / n, bytes / n);
    HandBatch { records, items, bytes, units }
}

/// smart-home, 3.6M devices, packed, recomputed by hand (us-east-1):
/// - 10.512B messages of 300 + 130 + 16 = 446 B records on 12 shards: 333.3 records/s a shard; the 60 s window
///   would gather 20,000, the batch size allows 10,000, Lambda's 6 MB payload 6,291,456 / (446 × 4/3 + 500) =
///   5,747.37 records: the batch;
/// - shard i of 12 owns the hash keys [i/12, (i+1)/12): the buckets [128i/3, 128(i+1)/3) of 512 (a bucket is the
///   key's top 9 bits), 43 or 44 of them, 3/128 of the shard's records each, less at the shared edges;
/// - a bucket getting k of the 5,747 records (binomial) stores one item of the curve's bytes at k readings (the
///   benchmark's 39 → 2,455 B, 78 → 4,374 B, 100 → 5,357 B, 1,000 → 45,584 B, linear between) × 300 / 281 (the
///   profile's payload over the benchmark's) + 260 B of keys, attributes and storage overhead, and pays
///   ⌈(bytes − 100) / 1,024⌉ write units (the 100 B storage overhead is not metered);
/// - summed over k with factorials of its own (not the model's recurrence), over every bucket of every shard.
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
    let HandBatch { items, bytes, units, .. } = smart_home_batch_by_hand(12);
    close(items, 520.0 / 12.0, "items a batch");
    let batches = msgs / records;
    let t = e.resource("TelemetryTable").unwrap();
    let writes = t.components.iter().find(|c| c.price_id == "dynamodb.write_units").unwrap();
    let near = |got: f64, want: f64, what: &str| assert!((got / want - 1.0).abs() < 1e-6, "{what}: {got} vs {want}");
    near(writes.quantity, batches * units, "write units");
    near(writes.monthly_usd, batches * units / 1e6 * 0.625, "write units $");
    let gb = batches * bytes * 30.0 / (730.0 / 24.0) / (1024.0 * 1024.0 * 1024.0);
    near(t.usage["storage_gb"], gb, "storage GB");
    let storage = t.components.iter().find(|c| c.price_id == "dynamodb.storage").unwrap();
    let pitr = t.components.iter().find(|c| c.price_id == "dynamodb.pitr").unwrap();
    near(pitr.monthly_usd, gb * 0.20, "PITR $");
    // the table's 25 free GB come off the account's storage, shared with the other tables
    assert!(storage.monthly_usd <= gb * 0.25 && storage.monthly_usd >= (gb - 25.0) * 0.25, "{storage:?}");
    eprintln!(
        "smart-home packed: {records:.1} records a batch, {items:.2} items of {:.1} readings, {:.0} B, {:.3} WRU \
         each; {:.4} WRU a message; {:.0} GB stored",
        records / items,
        bytes / items,
        units / items,
        units / records,
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

/// A consumer whose modeled batch takes more than half its timeout is named in a warning that says what to raise;
/// at the blueprint's 10 s there is none.
#[test]
fn a_batch_near_the_consumer_s_timeout_is_a_warning() {
    let (mut res, usage) = blueprint_with("smart-home", Pipeline::Packed);
    let timeout_warning = |e: &Estimate| e.warnings.iter().find(|w| w.contains("timeout (a slower batch")).cloned();
    assert_eq!(timeout_warning(&run(&res, &usage, 3_600_000)), None);
    let f = res.list.iter_mut().find(|r| r.logical_id == "TelemetryBatchFunction").unwrap();
    f.properties["Timeout"] = serde_json::json!(2);
    let w = timeout_warning(&run(&res, &usage, 3_600_000)).expect("a warning at a 2 s timeout");
    assert!(w.contains("TelemetryBatchFunction") && w.contains("of its 2 s timeout"), "{w}");
    assert!(w.contains("lambda.timeout_seconds") && w.contains("lambda.memory_mb"), "{w}");
}
