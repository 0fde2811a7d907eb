//! telemetry-batch: the CPU work of one batch — decode and check every record, group per node, build the items
//! `store` puts — for batches of 1, 100 and 1,000 single-reading records of distinct nodes (the smart-home shape:
//! one message per node per batch), and the allocations per reading (a counting allocator, printed once per size).
//! The DynamoDB round trips are not CPU and are modeled separately (`core/src/cost/stream_flow.rs`); docs/estimate.md
//! turns these figures into the billed duration at 128 MB arm64.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use telemetry_batch::{plan, stored_item, Record};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const NOW: i64 = 1_732_370_000_000;

/// `n` rule outputs (300-byte-class payloads), one per node, as the records' data and (sequence, node) keys.
fn records(n: usize) -> (Vec<Vec<u8>>, Vec<(String, String)>) {
    let data = (0..n)
        .map(|i| {
            json!({"ts": NOW - 1000, "msg_id": format!("m{i}"), "params": {"Power": true, "Brightness": 73,
                   "Temperature": 21.5, "Energy": 1234.5, "Mode": "auto"},
                   "node_id": format!("SN-{i:06}"), "received_at": NOW, "principal": "a".repeat(64)})
            .to_string()
            .into_bytes()
        })
        .collect();
    let keys = (0..n)
        .map(|i| (format!("4959033827149025660855969253836157109592157598913{i:07}"), format!("SN-{i:06}")))
        .collect();
    (data, keys)
}

/// One batch's CPU work: plan + the items.
fn work(data: &[Vec<u8>], keys: &[(String, String)]) -> usize {
    let recs: Vec<Record> =
        data.iter().zip(keys).map(|(d, (seq, node))| Record { sequence: seq, partition_key: node, data: d }).collect();
    let p = plan(&recs, 8192, NOW);
    p.groups
        .iter()
        .map(|g| {
            let refs: Vec<&telemetry_batch::Entry> = g.readings.iter().collect();
            stored_item(&g.node_id, &refs, "shardId-000000000000", 30).len()
        })
        .sum()
}

/// The compression ratio a packed layout would get (docs/estimate.md, design record): `n` readings of distinct
/// nodes as one bucket item would hold them (a JSON array of node id, ts, received_at, params), deflated at the
/// default level. Printed, not timed.
fn compression(n: usize) {
    let readings: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mode = ["auto", "eco", "manual"][i % 3];
            json!({"node_id": format!("SN-{:06}", i * 7919 % 1_000_000), "ts": NOW - 1000 + i as i64 * 37,
                   "received_at": NOW + i as i64 * 41,
                   "params": {"Power": i % 3 != 0, "Brightness": (i * 13) % 101, "Temperature": 18.0 + (i % 70) as f64 / 10.0,
                              "Energy": 1000.0 + (i * 7) as f64 * 0.1, "Mode": mode}})
        })
        .collect();
    let raw = serde_json::to_vec(&readings).unwrap();
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).unwrap();
    let packed = z.finish().unwrap();
    eprintln!(
        "telemetry_batch/compression/{n}: {} B of JSON -> {} B deflated ({:.0} B a reading -> {:.0}), ratio {:.2}",
        raw.len(),
        packed.len(),
        raw.len() as f64 / n as f64,
        packed.len() as f64 / n as f64,
        raw.len() as f64 / packed.len() as f64
    );
}

fn bench(c: &mut Criterion) {
    for n in [20, 23, 100, 1000] {
        compression(n);
    }
    let mut group = c.benchmark_group("telemetry_batch/cpu");
    for n in [1usize, 100, 1000] {
        let (data, keys) = records(n);
        let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
        std::hint::black_box(work(&data, &keys));
        let (a, b) = (ALLOCS.load(Ordering::Relaxed) - a0, BYTES.load(Ordering::Relaxed) - b0);
        eprintln!(
            "telemetry_batch/cpu/batch{n}: {a} allocations ({:.1} per reading), {b} bytes allocated ({:.0} per reading)",
            a as f64 / n as f64,
            b as f64 / n as f64
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("batch{n}"), |bch| {
            bch.iter_batched(|| (), |_| std::hint::black_box(work(&data, &keys)), BatchSize::SmallInput)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
