//! The packed telemetry layout in the cost model (`telemetry.pipeline: packed`, consumer `TELEMETRY_LAYOUT=packed`):
//! the readings of one Kinesis batch grouped by bucket (`rainmaker_model::telemetry::packed`, 128 buckets), one
//! compressed item per bucket. What one item stores comes from the benchmark: the bytes `packed::encode` makes of
//! `n` readings of the blueprint's own devices (`runtime-lambdas/telemetry-batch/benches/payloads.rs`), measured at
//! 1, 10, 39, 78, 100 and 1,000 readings and interpolated between; the test below encodes the same readings again
//! and fails when the table differs from what the code produces.

use crate::cost::usage::Usage;
use rainmaker_model::access::PACKED_ITEM_OVERHEAD;
use rainmaker_model::telemetry::packed::{BUCKETS, MAX_ITEM_READINGS, MAX_PACKED_BYTES};

/// Compressed bytes of `n` readings in one packed item, per blueprint: (readings, bytes of `packed`), from
/// `cargo bench -p telemetry-batch --bench consumer` (`telemetry_batch/compression/<blueprint>/<n>`).
pub const MEASURED: &[Curve] = &[
    Curve {
        blueprint: "smart-home",
        message_bytes: 281.0,
        points: &[(1.0, 226.0), (10.0, 916.0), (39.0, 2469.0), (78.0, 4403.0), (100.0, 5405.0), (1000.0, 45537.0)],
    },
    Curve {
        blueprint: "water-meter",
        message_bytes: 117.0,
        points: &[(1.0, 125.0), (10.0, 440.0), (39.0, 1375.0), (78.0, 2640.0), (100.0, 3331.0), (1000.0, 30197.0)],
    },
    Curve {
        blueprint: "industrial-sensor",
        message_bytes: 407.0,
        points: &[(1.0, 310.0), (10.0, 1194.0), (39.0, 3653.0), (78.0, 6788.0), (100.0, 8510.0), (1000.0, 77258.0)],
    },
];

/// One blueprint's measured compression.
#[derive(Debug, Clone, Copy)]
pub struct Curve {
    pub blueprint: &'static str,
    /// Average bytes of the benchmark's device message (`{"ts", "msg_id", "params"}`), to scale by the usage
    /// profile's `telemetry_bytes`.
    pub message_bytes: f64,
    /// (readings in the item, compressed bytes), ascending.
    pub points: &'static [(f64, f64)],
}

impl Curve {
    /// The curve of a blueprint (smart-home's, the default blueprint, for others and foreign templates).
    pub fn of(blueprint: Option<&str>) -> &'static Curve {
        MEASURED.iter().find(|c| Some(c.blueprint) == blueprint).unwrap_or(&MEASURED[0])
    }

    /// Compressed bytes of `n` readings: linear between the measured points, the first point's bytes per reading
    /// below it, the last segment's slope beyond the last.
    pub fn bytes(&self, n: f64) -> f64 {
        let p = self.points;
        let (n0, b0) = p[0];
        if n <= n0 {
            return b0 / n0 * n;
        }
        for w in p.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if n <= x1 {
                return y0 + (y1 - y0) * (n - x0) / (x1 - x0);
            }
        }
        let ((x0, y0), (x1, y1)) = (p[p.len() - 2], p[p.len() - 1]);
        y1 + (y1 - y0) / (x1 - x0) * (n - x1)
    }
}

/// The consumer's CPU per record on one full core for the packed layout: decode and check (`plan`), group by
/// bucket, `packed::encode` — measured by the benchmark (`telemetry_batch/packed/batch10000`: 745 ms for 10,000
/// smart-home records, 2026-12-07, this shared 2-core build machine; `packed::encode` is 57 of the ~70 µs, see
/// docs/estimate.md).
pub const PACKED_CPU_MS_PER_RECORD: f64 = 0.075;

/// What one batch of the packed consumer writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackedBatch {
    /// Items put (one per bucket the batch's readings fall in, more past the item limits).
    pub items: f64,
    pub readings_per_item: f64,
    /// Stored bytes of one item: compressed readings + [`PACKED_ITEM_OVERHEAD`].
    pub item_bytes: f64,
}

/// A batch of `records` messages (`readings_per_message` readings each): the expected number of the 128 buckets
/// its nodes fall in, B × (1 − (1 − 1/B)^records) (a node's bucket is a hash of its id, so the records spread
/// uniformly; ≈ 128 for a batch of thousands, ≈ records for a few), cut further where a bucket's readings pass
/// `MAX_ITEM_READINGS` or `MAX_PACKED_BYTES`. `bytes_per_reading` (`device.packed_bytes_per_reading` when set)
/// replaces the measured curve.
pub fn batch(records: f64, usage: &Usage, blueprint: Option<&str>) -> PackedBatch {
    let b = f64::from(BUCKETS);
    let records = records.max(1.0);
    let readings_per_message = usage.device("readings_per_message").max(1.0);
    let buckets = b * (1.0 - (1.0 - 1.0 / b).powf(records));
    let per_bucket = records * readings_per_message / buckets;
    let compressed = |n: f64| compressed_bytes(n, usage, blueprint);
    let cuts =
        (per_bucket / MAX_ITEM_READINGS as f64).max(compressed(per_bucket) / MAX_PACKED_BYTES as f64).ceil().max(1.0);
    let readings_per_item = per_bucket / cuts;
    PackedBatch {
        items: buckets * cuts,
        readings_per_item,
        item_bytes: compressed(readings_per_item) + f64::from(PACKED_ITEM_OVERHEAD),
    }
}

/// Compressed bytes of `n` readings of the profile's devices: the blueprint's measured curve scaled by the
/// profile's bytes per reading over the benchmark's message bytes, or `n × device.packed_bytes_per_reading` when
/// the profile sets it.
pub fn compressed_bytes(n: f64, usage: &Usage, blueprint: Option<&str>) -> f64 {
    let explicit = usage.device("packed_bytes_per_reading");
    if explicit > 0.0 {
        return n * explicit;
    }
    let curve = Curve::of(blueprint);
    let reading_bytes = usage.device("telemetry_bytes") / usage.device("readings_per_message").max(1.0);
    curve.bytes(n) * reading_bytes / curve.message_bytes
}

/// The benchmark's payloads, for the test that the table is what the encoder makes of them.
#[cfg(test)]
#[path = "../../../runtime-lambdas/telemetry-batch/benches/payloads.rs"]
#[allow(dead_code)]
mod payloads;

#[cfg(test)]
mod tests {
    use super::*;

    use super::payloads;

    /// The table is what `packed::encode` makes of the benchmark's readings today: a change of the encoder, of
    /// flate2 or of the payloads fails here until the table (and docs/estimate.md) is measured again.
    #[test]
    fn measured_compression_is_what_the_encoder_produces() {
        for curve in MEASURED {
            let avg = payloads::average_message_bytes(curve.blueprint);
            assert!((avg - curve.message_bytes).abs() < 0.5, "{}: message bytes {avg}", curve.blueprint);
            for (n, bytes) in curve.points {
                let readings: Vec<_> = payloads::nodes_of_bucket(curve.blueprint, 0, *n as usize)
                    .iter()
                    .map(|(i, node)| payloads::packed_reading(curve.blueprint, *i, node, 17_000))
                    .collect();
                let got = rainmaker_model::telemetry::packed::encode(&readings).unwrap().len() as f64;
                assert_eq!(got, *bytes, "{} at {n} readings", curve.blueprint);
            }
        }
    }

    #[test]
    fn the_curve_interpolates_and_extends() {
        let c = Curve::of(Some("smart-home"));
        assert_eq!(c.bytes(39.0), 2469.0);
        assert_eq!(c.bytes(0.5), 113.0);
        assert!((c.bytes(58.5) - (2469.0 + 1934.0 / 2.0)).abs() < 1e-9);
        assert!((c.bytes(2000.0) - (45537.0 + (45537.0 - 5405.0) / 900.0 * 1000.0)).abs() < 1e-6);
        assert_eq!(Curve::of(Some("other")).blueprint, "smart-home");
        assert_eq!(Curve::of(None).blueprint, "smart-home");
    }

    /// 5,747 single-reading records over 128 buckets: 128 × (1 − (127/128)^5747) ≈ 128 items of 44.9 readings; 100
    /// records fill ~69 buckets; a 25-reading batch of 10,000 passes no limit (1,953 readings, ~100 KB an item).
    #[test]
    fn a_batch_spreads_over_the_buckets() {
        let u = Usage::default();
        let big = batch(5747.0, &u, Some("smart-home"));
        assert!((big.items - 128.0).abs() < 1e-6, "{big:?}");
        assert!((big.readings_per_item - 5747.0 / 128.0).abs() < 1e-6);
        let small = batch(100.0, &u, None);
        assert!((small.items - 69.58).abs() < 0.01, "{small:?}");
        let one = batch(1.0, &u, None);
        assert!((one.items - 1.0).abs() < 1e-9 && (one.readings_per_item - 1.0).abs() < 1e-9, "{one:?}");
        let mut u25 = Usage::default();
        u25.device.insert("readings_per_message".into(), 25.0);
        u25.device.insert("telemetry_bytes".into(), 25.0 * 281.0);
        let b = batch(10_000.0, &u25, None);
        assert!((b.items - 128.0).abs() < 1e-6 && b.item_bytes < MAX_PACKED_BYTES as f64, "{b:?}");
        // an explicit bytes per reading replaces the curve
        u25.device.insert("packed_bytes_per_reading".into(), 200.0);
        let b = batch(10_000.0, &u25, None);
        assert!(b.items > 128.0 && b.readings_per_item * 200.0 <= MAX_PACKED_BYTES as f64 + 1e-6, "{b:?}");
    }
}
