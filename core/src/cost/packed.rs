//! The packed telemetry layout in the cost model (`telemetry.pipeline: packed`, consumer `TELEMETRY_LAYOUT=packed`):
//! the readings of one Kinesis batch grouped by bucket (`rainmaker_model::telemetry::packed`, 128 buckets), one
//! compressed item per bucket. What one item stores comes from the benchmark: the bytes `packed::encode` makes of
//! `n` readings of the blueprint's own devices (`runtime-lambdas/telemetry-batch/benches/payloads.rs`), measured at
//! 1, 10, 39, 78, 100 and 1,000 readings and interpolated between; the test below encodes the same readings again
//! and fails when the table differs from what the code produces.

use crate::cost::resources::metered;
use crate::cost::usage::Usage;
use rainmaker_model::access::{metered_item_bytes, PACKED_ITEM_OVERHEAD};
use rainmaker_model::telemetry::packed::{BUCKETS, MAX_ITEM_READINGS, MAX_PACKED_BYTES};

/// Compressed bytes of `n` readings in one packed item, per blueprint: (readings, bytes of `packed`), from
/// `cargo bench -p telemetry-batch --bench consumer` (`telemetry_batch/compression/<blueprint>/<n>`).
pub const MEASURED: &[Curve] = &[
    Curve {
        blueprint: "smart-home",
        message_bytes: 281.0,
        points: &[(1.0, 230.0), (10.0, 909.0), (39.0, 2455.0), (78.0, 4374.0), (100.0, 5357.0), (1000.0, 45584.0)],
    },
    Curve {
        blueprint: "water-meter",
        message_bytes: 117.0,
        points: &[(1.0, 123.0), (10.0, 430.0), (39.0, 1348.0), (78.0, 2605.0), (100.0, 3283.0), (1000.0, 30081.0)],
    },
    Curve {
        blueprint: "industrial-sensor",
        message_bytes: 407.0,
        points: &[(1.0, 303.0), (10.0, 1193.0), (39.0, 3643.0), (78.0, 6782.0), (100.0, 8528.0), (1000.0, 77258.0)],
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

/// The consumer's CPU per record on one full core for the packed layout: decode and check (`decode_batch`), group
/// by bucket, sort, cut, `packed::encode` — measured by the benchmark (`telemetry_batch/packed/batch10000`: 154 ms
/// for 10,000 smart-home records, 15.4 µs a record, 2026-12-07 on this shared 2-core build machine while two builds
/// ran; it was 745 ms before the denser line format and its single deflate write, see docs/estimate.md).
pub const PACKED_CPU_MS_PER_RECORD: f64 = 0.0154;

/// What one batch of the packed consumer writes (averages over the stream's shards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackedBatch {
    /// Items put (one per bucket the batch's readings fall in, more past the item limits).
    pub items: f64,
    pub readings_per_item: f64,
    /// Stored bytes of one item on average: compressed readings + [`PACKED_ITEM_OVERHEAD`].
    pub item_bytes: f64,
    /// Write units of one item on average: the expectation of ⌈metered bytes / 1 KB⌉ over how many readings a
    /// bucket gets (not the units of the average item: a bucket's readings vary around the mean).
    pub write_units_per_item: f64,
}

/// The share of one shard's records each bucket gets: shard `shard` of `shards` owns the hash keys
/// `[shard, shard + 1) / shards` of the key space (CreateStream and UpdateShardCount's uniform scaling split it
/// evenly), bucket `b` the keys `[b, b + 1) / BUCKETS` (`packed::bucket_of` is the key's high bits), so the shard
/// receives the nodes of the buckets its range overlaps, in proportion to the overlap.
pub fn shard_shares(shard: u32, shards: u32) -> Vec<f64> {
    let width = f64::from(BUCKETS) / f64::from(shards.max(1));
    let (lo, hi) = (f64::from(shard) * width, f64::from(shard + 1) * width);
    let mut shares = Vec::new();
    let mut b = lo.floor();
    while b < hi {
        let overlap = hi.min(b + 1.0) - lo.max(b);
        if overlap > 1e-9 {
            shares.push(overlap / width);
        }
        b += 1.0;
    }
    shares
}

/// The binomial distribution of `n` trials of probability `p`, as (k, probability) for every k that matters
/// (probabilities below 1e-12 of the mode's left out), from the mode outwards by the ratio of neighbours.
fn binomial(n: f64, p: f64) -> Vec<(f64, f64)> {
    let n = n.round().max(0.0);
    if p >= 1.0 - 1e-12 {
        return vec![(n, 1.0)];
    }
    let mode = ((n + 1.0) * p).floor().min(n);
    let odds = p / (1.0 - p);
    let mut up = vec![(mode, 1.0)];
    let (mut k, mut w) = (mode, 1.0);
    while k < n && w > 1e-12 {
        w *= (n - k) / (k + 1.0) * odds;
        k += 1.0;
        up.push((k, w));
    }
    let (mut k, mut w) = (mode, 1.0);
    while k > 0.0 && w > 1e-12 {
        w *= k / (n - k + 1.0) / odds;
        k -= 1.0;
        up.push((k, w));
    }
    let total: f64 = up.iter().map(|(_, w)| w).sum();
    up.into_iter().map(|(k, w)| (k, w / total)).collect()
}

/// A batch of `records` messages (`readings_per_message` readings each) from one shard of `shards`: each bucket the
/// shard's range overlaps gets a binomial share of the records ([`shard_shares`]); a bucket with readings is one
/// item, cut further where its readings pass `MAX_ITEM_READINGS` or `MAX_PACKED_BYTES`; the items' bytes and
/// write units are summed over that distribution and averaged over the shards. `bytes_per_reading`
/// (`device.packed_bytes_per_reading` when set) replaces the measured curve.
pub fn batch(records: f64, shards: f64, usage: &Usage, blueprint: Option<&str>) -> PackedBatch {
    let records = records.max(1.0);
    let shards = shards.round().clamp(1.0, f64::from(BUCKETS)) as u32;
    let readings_per_message = usage.device("readings_per_message").max(1.0);
    let compressed = |n: f64| compressed_bytes(n, usage, blueprint);
    let stored = f64::from(PACKED_ITEM_OVERHEAD);
    let (mut items, mut bytes, mut units) = (0.0, 0.0, 0.0);
    for shard in 0..shards {
        for p in shard_shares(shard, shards) {
            for (k, prob) in binomial(records, p) {
                if k < 1.0 {
                    continue;
                }
                let readings = k * readings_per_message;
                let all = compressed(readings);
                let cuts = (readings / MAX_ITEM_READINGS as f64).max(all / MAX_PACKED_BYTES as f64).ceil().max(1.0);
                let item = all / cuts + stored;
                items += prob * cuts;
                bytes += prob * cuts * item;
                units += prob * cuts * metered(metered_item_bytes(item), 1024.0);
            }
        }
    }
    let n = f64::from(shards);
    let (items, bytes, units) = (items / n, bytes / n, units / n);
    PackedBatch {
        items,
        readings_per_item: records * readings_per_message / items,
        item_bytes: bytes / items,
        write_units_per_item: units / items,
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
        assert_eq!(c.bytes(39.0), 2455.0);
        assert_eq!(c.bytes(0.5), 115.0);
        assert!((c.bytes(58.5) - (2455.0 + (4374.0 - 2455.0) / 2.0)).abs() < 1e-9);
        assert!((c.bytes(2000.0) - (45584.0 + (45584.0 - 5357.0) / 900.0 * 1000.0)).abs() < 1e-6);
        assert_eq!(Curve::of(Some("other")).blueprint, "smart-home");
        assert_eq!(Curve::of(None).blueprint, "smart-home");
    }

    /// A shard owns an even slice of the hash keys: the buckets it overlaps, each in proportion.
    #[test]
    fn a_shard_receives_the_buckets_its_hash_key_range_overlaps() {
        let one = shard_shares(0, 1);
        assert_eq!(one.len(), BUCKETS as usize);
        let four: Vec<Vec<f64>> = (0..4).map(|i| shard_shares(i, 4)).collect();
        assert!(four.iter().all(|s| s.len() == 128 && s.iter().all(|p| (p - 1.0 / 128.0).abs() < 1e-12)));
        // 12 shards: 42.67 buckets each, so 43 or 44 touched, the edge buckets shared with the neighbours
        let twelve: Vec<Vec<f64>> = (0..12).map(|i| shard_shares(i, 12)).collect();
        assert_eq!(twelve[0].len(), 43);
        assert!((twelve[0][42] - (2.0 / 3.0) / (512.0 / 12.0)).abs() < 1e-12, "{:?}", twelve[0][42]);
        assert_eq!(twelve[1].len(), 44);
        for s in &twelve {
            assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        // 8 of the 11 inner boundaries fall inside a bucket (3 of them on 128, 256, 384) and split it
        assert_eq!(twelve.iter().map(Vec::len).sum::<usize>(), 512 + 8);
    }

    /// The distribution a bucket's record count is summed over: total 1, mean np, variance np(1 − p).
    #[test]
    fn the_binomial_has_its_moments() {
        for (n, p) in [(5747.0, 1.0 / 44.0), (100.0, 0.5), (10.0, 0.01), (5747.0, 1.0)] {
            let d = binomial(n, p);
            let total: f64 = d.iter().map(|(_, w)| w).sum();
            let mean: f64 = d.iter().map(|(k, w)| k * w).sum();
            let var: f64 = d.iter().map(|(k, w)| (k - mean).powi(2) * w).sum();
            assert!((total - 1.0).abs() < 1e-9, "{n} {p}");
            assert!((mean - n * p).abs() < 1e-6 * n, "{n} {p}: mean {mean}");
            assert!((var - n * p * (1.0 - p)).abs() < 1e-4 * n.max(1.0), "{n} {p}: variance {var}");
        }
    }

    /// 5,747 single-reading records: from one shard they spread over all 512 buckets (11.2 readings an item); from
    /// one of 12 shards over its 43.3 buckets (132.6 readings an item, fewer and larger items); the expected write
    /// units exceed those of the average item (a bucket's count varies, and ⌈⌉ is convex on average); 100 records
    /// fill ~92 buckets; a 25-reading batch of 10,000 passes no limit.
    #[test]
    fn a_batch_spreads_over_the_buckets_of_its_shard() {
        let u = Usage::default();
        let one = batch(5747.0, 1.0, &u, Some("smart-home"));
        let expected = 512.0 * (1.0 - (1.0f64 - 1.0 / 512.0).powf(5747.0));
        assert!((one.items - expected).abs() < 1e-3, "{one:?} vs {expected}");
        let twelve = batch(5747.0, 12.0, &u, Some("smart-home"));
        assert!((twelve.items - 520.0 / 12.0).abs() < 1e-6, "{twelve:?}");
        assert!((twelve.readings_per_item * twelve.items - 5747.0).abs() < 1e-6);
        let mean_item_units = (metered_item_bytes(twelve.item_bytes) / 1024.0).ceil();
        assert!(twelve.write_units_per_item > mean_item_units - 1.0, "{twelve:?}");
        assert!(twelve.write_units_per_item * twelve.items < one.write_units_per_item * one.items, "{twelve:?}");
        let small = batch(100.0, 1.0, &u, None);
        assert!((small.items - 512.0 * (1.0 - (511.0f64 / 512.0).powf(100.0))).abs() < 0.01, "{small:?}");
        let single = batch(1.0, 1.0, &u, None);
        assert!((single.items - 1.0).abs() < 1e-9 && (single.readings_per_item - 1.0).abs() < 1e-9, "{single:?}");
        let mut u25 = Usage::default();
        u25.device.insert("readings_per_message".into(), 25.0);
        u25.device.insert("telemetry_bytes".into(), 25.0 * 281.0);
        let b = batch(10_000.0, 4.0, &u25, None);
        assert!((b.items - 128.0).abs() < 1e-6 && b.item_bytes < MAX_PACKED_BYTES as f64, "{b:?}");
        // an explicit bytes per reading replaces the curve; past MAX_PACKED_BYTES a bucket's readings are cut
        u25.device.insert("packed_bytes_per_reading".into(), 200.0);
        let b = batch(10_000.0, 4.0, &u25, None);
        assert!(b.items > 128.0 && b.readings_per_item * 200.0 <= MAX_PACKED_BYTES as f64 + 1e-6, "{b:?}");
    }
}
