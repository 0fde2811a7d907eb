//! Goldens of the batched telemetry pipeline (`telemetry.pipeline: batched`): one table per blueprint, one line of
//! each recomputed from first principles, the unit costs of both pipelines and the cross-over fleet size.

use super::report::{render, Format, View};
use super::*;
use crate::config::Pipeline;

/// The us-east-1 price table the pipeline goldens use.
pub(super) fn us() -> PriceTable {
    PriceTable::embedded("us-east-1").unwrap()
}

/// `got` equals `want` to a millionth of a unit or a billionth of its size.
pub(super) fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-6_f64.max(want.abs() * 1e-9), "{what}: got {got}, want {want}");
}

/// A blueprint's stacks rendered with `pipeline`, and its usage profile.
pub(crate) fn blueprint_with(name: &str, pipeline: Pipeline) -> (Resources, Usage) {
    let mut cfg = crate::config::blueprint_config(name, "acme", "us-east-1").unwrap();
    cfg.telemetry.pipeline = pipeline;
    let mut res = Resources::default();
    for s in crate::template::render(&cfg).unwrap().stacks {
        res.add(&s.name, &s.file_name, &s.body).unwrap();
    }
    let text = crate::assets::blueprint_file(name, "usage.yaml").unwrap();
    (res, Usage::parse(&format!("blueprints/{name}/usage.yaml"), text).unwrap())
}

/// The estimate at `devices` in us-east-1, free tier always.
pub(super) fn run(res: &Resources, usage: &Usage, devices: u64) -> Estimate {
    estimate(res, usage, &us(), Options { devices, free_tier: FreeTierMode::Always }).unwrap()
}

#[test]
fn golden_blueprint_tables_batched() {
    for name in crate::assets::blueprint_names() {
        let (res, usage) = blueprint_with(name, Pipeline::Batched);
        check_usage(&res, &usage).unwrap_or_else(|e| panic!("{name}: {e}"));
        let e = run(&res, &usage, 3_600_000);
        assert!(e.unpriced.is_empty(), "{name}: {:?}", e.unpriced);
        assert!(e.resource("TelemetryIngestFunction").is_none(), "{name}");
        for id in ["TelemetryStream", "TelemetryBatchFunction", "TelemetryTable"] {
            let r = e.resource(id).unwrap_or_else(|| panic!("{name}: {id}"));
            assert!(r.components.iter().all(|c| c.quantity > 0.0), "{name}: {id} {:?}", r.components);
        }
        insta::assert_snapshot!(format!("blueprint_{name}_batched_3600000"), render(&View::One(&e), Format::Table));
    }
}

/// smart-home, 3.6M devices, batched, recomputed by hand:
/// - messages: 3.6M × 4 an hour × 730 h = 10.512B, one record each of 300 B payload + 130 B the rule adds + 16 B
///   partition key = 446 B: one 25 KB PUT payload unit each;
/// - shards: the peak is 10.512B / 2,628,000 s × 3 = 12,000 records/s → 12 shards at 1,000 records/s (5.1 MB/s
///   needs only 6), so 12 × 730 = 8,760 shard-hours ($131.40) — the template's 1 shard is warned about;
/// - batches: a shard takes 333.3 records/s; the 10 s window would gather 3,333, so batches are full at 1,000:
///   10.512M invocations of 5 + 1,000 × 0.010 ms × 1,769 / 128 (the benchmark's CPU per record at 128 MB's share
///   of a vCPU) + ⌈1,000 / 32⌉ × 8 = 5 + 138.2 + 256 = 399.2, billed 400 ms;
/// - a batch lasts 3 s and a device sends every 900 s: one message per node per batch, so 1,000 items of
///   300 + 60 + 230 = 590 B, one write unit each: 10.512B WRU, exactly the direct pipeline's (the per-node layout
///   packs nothing here).
#[test]
fn hand_checked_smart_home_batched_lines() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Batched);
    let e = run(&res, &usage, 3_600_000);
    let msgs = 3_600_000.0 * 4.0 * 730.0;
    let stream = e.resource("TelemetryStream").unwrap();
    close(stream.components[0].quantity, 12.0 * 730.0, "shard-hours");
    close(stream.components[0].monthly_usd, 12.0 * 730.0 * 0.015, "shard-hours $");
    close(stream.components[1].quantity, msgs, "PUT payload units");
    close(stream.components[1].monthly_usd, msgs / 1e6 * 0.014, "PUT payload units $");
    assert!(e.warnings.iter().any(|w| w.contains("needs 12 shards") && w.contains("telemetry.stream_shards: 12")));
    let f = e.resource("TelemetryBatchFunction").unwrap();
    close(f.usage["monthly_requests"], msgs / 1000.0, "invocations = messages / 1,000");
    close(f.usage["request_duration_ms"], (5.0 + 1000.0 * 0.010 * 1769.0 / 128.0 + 32.0 * 8.0_f64).ceil(), "billed ms");
    let t = e.resource("TelemetryTable").unwrap();
    let direct = run(&blueprint_with("smart-home", Pipeline::Direct).0, &usage, 3_600_000);
    close(t.components[0].quantity, msgs, "one WRU per message and node");
    close(
        t.components[0].quantity,
        direct.resource("TelemetryTable").unwrap().components[0].quantity,
        "the same writes as direct",
    );
    // the rule: the same triggers and one action, now Kinesis
    let rule = |e: &Estimate| e.resource("TelemetryRule").unwrap().components[1].quantity;
    close(rule(&e), rule(&direct), "rule actions unchanged");
}

/// Unit costs of both pipelines at 3.6M smart-home devices, and where batched becomes cheaper: below the
/// cross-over direct costs less, above it batched does (its fixed cost is the stream's shard-hours).
#[test]
fn unit_costs_and_crossover_of_the_pipelines() {
    let (direct, usage) = blueprint_with("smart-home", Pipeline::Direct);
    let (batched, _) = blueprint_with("smart-home", Pipeline::Batched);
    let d = run(&direct, &usage, 3_600_000).unit_costs.unwrap();
    let b = run(&batched, &usage, 3_600_000).unit_costs.unwrap();
    assert!(b.per_million_device_messages_usd < d.per_million_device_messages_usd, "{b:?} vs {d:?}");
    close(d.telemetry_fixed_monthly_usd, 0.0, "direct has no fixed telemetry cost");
    assert!(b.telemetry_fixed_monthly_usd >= 12.0 * 730.0 * 0.015 - 1e-9, "{b:?}");
    assert!(b.per_million_readings_at_25_per_message_usd < b.per_million_readings_usd, "{b:?}");
    assert!(d.per_million_readings_at_25_per_message_usd < d.per_million_readings_usd, "{d:?}");
    let at = unit::crossover(&direct, &batched, &usage, &us(), FreeTierMode::Always).unwrap().expect("a cross-over");
    let total = |r: &Resources, n: u64| run(r, &usage, n).total_monthly_usd;
    assert!(total(&batched, at) < total(&direct, at), "batched is cheaper at {at}");
    assert!(total(&batched, at - 1) >= total(&direct, at - 1), "direct is not dearer just below {at}");
    assert!(at > 100 && at < 3_600_000, "{at}");
    eprintln!(
        "smart-home 3.6M: direct ${:.4}/M messages, batched ${:.4}/M (fixed ${:.2}); 25 readings a message: direct \
         ${:.4}/M readings, batched ${:.4}/M; cross-over at {at} devices",
        d.per_million_device_messages_usd,
        b.per_million_device_messages_usd,
        b.telemetry_fixed_monthly_usd,
        d.per_million_readings_at_25_per_message_usd,
        b.per_million_readings_at_25_per_message_usd
    );
}

/// The blueprints' usage profiles serve both pipelines: industrial-sensor's `resource_usage.TelemetryIngestFunction`
/// is ignored with a warning when the templates deploy telemetry-batch instead (it failed with UnknownResource).
#[test]
fn a_profile_naming_the_other_pipelines_function_is_warned_not_refused() {
    let (res, usage) = blueprint_with("industrial-sensor", Pipeline::Batched);
    let e = run(&res, &usage, 1000);
    assert!(
        e.warnings.iter().any(|w| w.starts_with(
            "resource_usage.TelemetryIngestFunction of blueprints/industrial-sensor/usage.yaml is ignored"
        )),
        "{:?}",
        e.warnings
    );
    // a key that is wrong for the type is still an error
    let bad = Usage::parse("u.yaml", "version: 1\nresource_usage:\n  TelemetryBatchFunction: {shards: 1}\n").unwrap();
    let (direct, _) = blueprint_with("industrial-sensor", Pipeline::Direct);
    let err = estimate(&direct, &bad, &us(), Options { devices: 1, free_tier: FreeTierMode::Always }).unwrap_err();
    assert!(err.to_string().contains("unknown usage key `shards`"), "{err}");
}

/// water-meter and industrial-sensor, batched, at 3.6M devices, by hand:
/// - water-meter: 3.6M × 1 an hour × 730 = 2.628B messages; peak 1,000/s × 2 = 2,000 records/s → 2 shards; a
///   shard's 500/s fill a batch of 1,000 in 2 s (1,000 < 6 MB / (266 × 4/3 + 500) B); items of 120 + 60 + 230 = 410 B
///   (one WRU) per message — and 140 B more stored per reading than direct's 270 B, kept 365 days;
/// - industrial-sensor: 3.6M × 360 × 730 = 946.08B messages; peak 360,000/s × 1.5 = 540,000/s → 540 shards
///   (294 MB/s would need only 282); batches of 1,000: 946.08M invocations.
#[test]
fn hand_checked_water_meter_and_industrial_batched_lines() {
    let (res, usage) = blueprint_with("water-meter", Pipeline::Batched);
    let e = run(&res, &usage, 3_600_000);
    let msgs = 3_600_000.0 * 730.0;
    let stream = e.resource("TelemetryStream").unwrap();
    close(stream.components[0].quantity, 2.0 * 730.0, "water-meter shard-hours");
    close(stream.components[1].quantity, msgs, "water-meter PUT payload units");
    close(e.resource("TelemetryBatchFunction").unwrap().usage["monthly_requests"], msgs / 1000.0, "batches");
    let t = e.resource("TelemetryTable").unwrap();
    close(t.components[0].quantity, msgs, "one WRU a message");
    // storage at steady state: items a month × 410 B × 365 days / 30.4, GSIs none
    close(t.usage["storage_gb"], msgs * 410.0 * 365.0 / (730.0 / 24.0) / flow::GB, "telemetry storage");

    let (res, usage) = blueprint_with("industrial-sensor", Pipeline::Batched);
    let e = run(&res, &usage, 3_600_000);
    let msgs = 3_600_000.0 * 360.0 * 730.0;
    let stream = e.resource("TelemetryStream").unwrap();
    close(stream.components[0].quantity, 540.0 * 730.0, "industrial shard-hours");
    close(stream.components[1].monthly_usd, msgs / 1e6 * 0.014, "industrial PUT payload units $");
    close(e.resource("TelemetryBatchFunction").unwrap().usage["monthly_requests"], msgs / 1000.0, "batches");
}

/// `--output json` carries the telemetry path's unit costs under the names docs/estimate.md (and issue 13) give.
#[test]
fn json_carries_the_unit_costs_of_the_telemetry_path() {
    let (res, usage) = blueprint_with("smart-home", Pipeline::Batched);
    let e = run(&res, &usage, 100_000);
    let v: serde_json::Value = serde_json::from_str(&render(&View::One(&e), Format::Json)).unwrap();
    let u = &v["unit_costs"];
    for k in [
        "per_million_device_messages_usd",
        "per_million_readings_usd",
        "telemetry_fixed_monthly_usd",
        "per_million_readings_at_25_per_message_usd",
        "readings_per_message",
        "device_messages_monthly",
    ] {
        assert!(u[k].as_f64().is_some_and(f64::is_finite), "unit_costs.{k}: {u}");
    }
    close(u["telemetry_fixed_monthly_usd"].as_f64().unwrap(), 730.0 * 0.015, "one shard at 100,000 devices");
    close(u["device_messages_monthly"].as_f64().unwrap(), 100_000.0 * 4.0 * 730.0, "messages");
}
