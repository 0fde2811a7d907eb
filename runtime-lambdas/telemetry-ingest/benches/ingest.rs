//! telemetry-ingest: decoding alone, and the handler against moto_server for one reading and batches.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};
use telemetry_ingest::{decode, Ingest, Limits};

const RECEIVED: i64 = 1_732_370_000_000;

fn single(ts: i64) -> Value {
    json!({"ts": ts, "msg_id": "m", "params": {"Power": true, "Brightness": 73, "Temperature": 21.5},
           "node_id": "SN-000123", "received_at": RECEIVED + 10_000_000})
}

fn batch(start: i64, n: usize) -> Value {
    let readings: Vec<Value> =
        (0..n as i64).map(|i| json!({"ts": start + i, "params": {"Temperature": 21.5}})).collect();
    json!({"readings": readings, "node_id": "SN-000123", "received_at": RECEIVED + 10_000_000})
}

fn bench(c: &mut Criterion) {
    let raw = single(RECEIVED).to_string();
    c.bench_function("telemetry/decode_single", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(std::hint::black_box(&raw)).unwrap();
            decode(v, raw.len(), 8192, RECEIVED).unwrap()
        })
    });
    let raw25 = batch(RECEIVED, 25).to_string();
    c.bench_function("telemetry/decode_batch25", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(std::hint::black_box(&raw25)).unwrap();
            decode(v, raw25.len(), 8192, RECEIVED).unwrap()
        })
    });

    let rt = tokio::runtime::Runtime::new().unwrap();
    let ingest = rt.block_on(async {
        let sdk = MotoServer::shared().sdk_config().await;
        let tables = create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &unique_prefix("bench")).await;
        Ingest::new(&sdk, tables, Limits::default()).without_metrics()
    });
    let mut ts = RECEIVED;
    let mut group = c.benchmark_group("telemetry/handler_moto");
    group.sample_size(30);
    for n in [1usize, 10, 25] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("batch{n}"), |b| {
            b.iter_batched(
                || {
                    ts += n as i64;
                    if n == 1 {
                        single(ts)
                    } else {
                        batch(ts, n)
                    }
                },
                |ev| rt.block_on(async { assert_eq!(ingest.handle(ev).await.unwrap().accepted, n) }),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
