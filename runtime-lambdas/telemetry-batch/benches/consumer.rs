//! telemetry-batch: the CPU work of one batch — decode and check every record, group per node, build the items
//! `store` puts — for batches of 1, 100 and 1,000 single-reading records of distinct nodes (the smart-home shape:
//! one message per node per batch), and the allocations per reading (a counting allocator, printed once per size);
//! the packed layout's work (decode, group by bucket, encode) for batches of 100, 1,000 and 10,000 smart-home
//! records; and, printed first, the compression of each blueprint's own readings (`payloads.rs`) by
//! `packed::encode` at 1, 10, 39, 78, 100 and 1,000 readings per item.
//! The DynamoDB round trips are not CPU and are modeled separately (`core/src/cost/stream_flow.rs`); docs/estimate.md
//! turns these figures into the billed duration at 128 MB arm64.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rainmaker_model::telemetry::packed::{self, PackedReading};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use telemetry_batch::{decode_batch, pack, plan, stored_item, Record};

mod payloads;

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

/// The packed consumer's CPU work for one batch (`TELEMETRY_LAYOUT=packed`): decode and check every record
/// (`decode_batch`, as the other layouts), then `pack` — group by bucket, sort, cut, `packed::encode` each item.
/// Returns the compressed bytes (and the items in `items`).
fn packed_work(data: &[Vec<u8>], keys: &[(String, String)], items: &mut usize) -> usize {
    let recs: Vec<Record> =
        data.iter().zip(keys).map(|(d, (seq, node))| Record { sequence: seq, partition_key: node, data: d }).collect();
    // the batch's records arrived up to 30 s before the invocation
    let d = decode_batch(&recs, 8192, NOW + 30_000);
    let packed = pack(d.per_node).expect("packs");
    *items += packed.len();
    packed.iter().map(|i| i.packed.len()).sum()
}

/// `n` single-reading rule outputs of distinct smart-home devices (`payloads`), received over `span_ms`.
fn smart_home_records(n: usize, span_ms: i64) -> (Vec<Vec<u8>>, Vec<(String, String)>) {
    let mut data = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let node = payloads::node_id("smart-home", i);
        let r = payloads::packed_reading("smart-home", i, &node, span_ms);
        let mut v = payloads::device_message("smart-home", i, 0, r.ts);
        v["node_id"] = json!(node);
        v["received_at"] = json!(r.received_at);
        v["principal"] = json!(format!("{:064x}", payloads::mix(i)));
        data.push(v.to_string().into_bytes());
        keys.push((format!("4959033827149025660855969253836157109592157598913{i:07}"), node));
    }
    (data, keys)
}

/// Readings per item the benchmark measures compression at: 1, 10, 39 and 78 (a 5,000- and a 10,000-record batch
/// over 128 buckets, the former layout), 100, 1,000 (132.6: a 3.6M smart-home batch over one of 12 shards' buckets).
pub const READINGS_PER_ITEM: [usize; 6] = [1, 10, 39, 78, 100, 1000];

/// The compression of each blueprint's readings in one packed item (`n` distinct nodes of one bucket, received
/// over a 17 s batch): the JSON lines `encode` deflates, the compressed bytes, per reading. Printed, not timed.
fn compression() {
    for bp in payloads::BLUEPRINTS {
        eprintln!(
            "telemetry_batch/compression/{bp}: device message {:.0} B on average (the usage profile's telemetry_bytes)",
            payloads::average_message_bytes(bp)
        );
        for n in READINGS_PER_ITEM {
            let readings: Vec<PackedReading> = payloads::nodes_of_bucket(bp, 0, n)
                .iter()
                .map(|(i, node)| payloads::packed_reading(bp, *i, node, 17_000))
                .collect();
            let packed = packed::encode(&readings).expect("encodes");
            let lines: usize = packed::decode(&packed).expect("decodes").len();
            assert_eq!(lines, n);
            let raw = raw_lines(&readings);
            eprintln!(
                "telemetry_batch/compression/{bp}/{n}: {raw} B of JSON lines -> {} B deflated, {:.1} B a reading ({:.0} raw), ratio {:.2}",
                packed.len(),
                packed.len() as f64 / n as f64,
                raw as f64 / n as f64,
                raw as f64 / packed.len() as f64
            );
        }
    }
}

/// What `encode` spends on 1,000 smart-home readings, and what the same lines cost deflated in one write (serde_json
/// writes a line token by token, and each small write runs the compressor): printed, for the consumer's owner.
fn encode_cost() {
    let readings: Vec<PackedReading> = payloads::nodes_of_bucket("smart-home", 0, 1000)
        .iter()
        .map(|(i, node)| payloads::packed_reading("smart-home", *i, node, 17_000))
        .collect();
    let rounds = 10;
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(packed::encode(&readings).expect("encodes"));
    }
    let as_written = t.elapsed().as_secs_f64() / rounds as f64;
    let t = std::time::Instant::now();
    let mut size = 0;
    for _ in 0..rounds {
        let mut text = Vec::new();
        for r in &readings {
            serde_json::to_writer(
                &mut text,
                &json!({"n": r.node_id, "ts": r.ts, "r": r.received_at, "m": r.msg_id, "p": r.params}),
            )
            .expect("serializes");
            text.push(b'\n');
        }
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &text).expect("deflates");
        size = std::hint::black_box(z.finish().expect("deflates")).len();
    }
    let one_write = t.elapsed().as_secs_f64() / rounds as f64;
    eprintln!(
        "telemetry_batch/encode/1000: packed::encode {:.2} ms ({:.1} µs a reading); the same lines in one write \
         {:.2} ms ({:.1} µs a reading, {size} B)",
        as_written * 1e3,
        as_written * 1e6 / 1000.0,
        one_write * 1e3,
        one_write * 1e6 / 1000.0
    );
}

/// Bytes of the JSON lines `encode` writes before deflating.
fn raw_lines(readings: &[PackedReading]) -> usize {
    readings
        .iter()
        .map(|r| {
            json!({"n": r.node_id, "ts": r.ts, "r": r.received_at, "m": r.msg_id, "p": r.params}).to_string().len() + 1
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    compression();
    encode_cost();
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
    let mut group = c.benchmark_group("telemetry_batch/packed");
    // a 10,000-record batch takes most of a second: the least criterion allows
    group.sample_size(10);
    for n in [100usize, 1000, 10_000] {
        // a 10,000-record batch of one shard at 333 records/s lasts 30 s
        let (data, keys) = smart_home_records(n, 30_000);
        let mut items = 0;
        let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
        let packed_bytes = std::hint::black_box(packed_work(&data, &keys, &mut items));
        let (a, b) = (ALLOCS.load(Ordering::Relaxed) - a0, BYTES.load(Ordering::Relaxed) - b0);
        let record_bytes: usize = data.iter().map(Vec::len).sum();
        eprintln!(
            "telemetry_batch/packed/batch{n}: {items} items, {packed_bytes} B packed ({:.1} a reading, records \
             {:.0} B each); {a} allocations ({:.1} per reading), {b} bytes allocated ({:.0} per reading)",
            packed_bytes as f64 / n as f64,
            record_bytes as f64 / n as f64,
            a as f64 / n as f64,
            b as f64 / n as f64
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("batch{n}"), |bch| {
            bch.iter_batched(
                || (),
                |_| {
                    let mut items = 0;
                    std::hint::black_box(packed_work(&data, &keys, &mut items))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
