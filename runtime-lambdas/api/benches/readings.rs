//! api `GET /nodes/{id}/readings`: the CPU of the packed part of one answer — inflate, parse and filter every item
//! of the node's bucket that the Query returns — for the smart-home fleet at 3.6M devices (4,000 readings a second,
//! `packed::BUCKETS` = 512 buckets: 7.8 a second a bucket), items of 133 readings (a 5,747-record batch of one of 12
//! shards over its ~43 buckets, the cost model's figure) of
//! 300-byte-class payloads, for the default 15 minutes and the longest hour (each reads back one item span, 5 min:
//! 20 and 65 minutes of items). The DynamoDB round trips are not CPU; docs/lambdas.md turns these into latency and
//! billed duration at 128 MB.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rainmaker_model::telemetry::packed::{self, PackedReading};
use serde_json::json;
use std::hint::black_box;

const NOW: i64 = 1_732_370_000_000;
const PER_ITEM: usize = 133;
/// The nodes of one bucket (3.6M devices over the buckets).
const NODES: usize = 3_600_000 / packed::BUCKETS as usize;

/// The items of one bucket covering `minutes` of receive time; the node asked for is `SN-000000`, one reading of
/// it every 15 minutes (every [`NODES`]th reading of its bucket).
fn items(minutes: i64) -> Vec<Vec<u8>> {
    let readings = (minutes * 60 * 4000 / i64::from(packed::BUCKETS)) as usize;
    let all: Vec<PackedReading> = (0..readings)
        .map(|i| {
            let at = NOW - minutes * 60_000 + (i as i64 * 1000 * i64::from(packed::BUCKETS) / 4000);
            let params = json!({"Power": true, "Brightness": i % 100, "Temperature": 21.5,
                                "Energy": 1234.5 + i as f64, "Mode": "auto"});
            let node = if i % NODES == 0 { "SN-000000".to_string() } else { format!("SN-{:06}", 1 + i % (NODES - 1)) };
            PackedReading {
                node_id: node,
                ts: at - 900,
                received_at: at,
                msg_id: Some(format!("m{i}")),
                params: params.as_object().cloned().unwrap(),
            }
        })
        .collect();
    all.chunks(PER_ITEM).map(|c| packed::encode(c).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("readings_packed_cpu");
    g.sample_size(10);
    for (label, window, scanned) in [("15min", 15, 20), ("1h", 60, 65)] {
        let blobs = items(scanned);
        let bytes: usize = blobs.iter().map(Vec::len).sum();
        let readings = blobs.len() * PER_ITEM;
        eprintln!(
            "{label}: {} items, ~{readings} readings, {bytes} compressed bytes ({:.1} B a reading)",
            blobs.len(),
            bytes as f64 / readings as f64
        );
        g.throughput(Throughput::Elements(readings as u64));
        let (from, to) = (NOW - window * 60_000, NOW);
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut n = 0;
                for blob in &blobs {
                    n += api::node_readings_in(black_box(blob), "SN-000000", from, to).unwrap().len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
