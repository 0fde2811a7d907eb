//! Benchmarks of `estimate`: the engine for 3,600,000 devices, a 100-point sweep, rendering + pricing the
//! smart-home blueprint, and the CLI end to end (`estimate --devices 3600000`, process start included).
//! Run: `cargo bench -p rainmaker-deploy --bench estimate`.

use criterion::{criterion_group, criterion_main, Criterion};
use rainmaker_deploy::cost::{self, FreeTierMode, Options, PriceTable, Resources, Usage};
use std::hint::black_box;
use std::process::Command;

fn smart_home() -> (Resources, Usage) {
    let cfg = rainmaker_deploy::config::blueprint_config("smart-home", "bench", "us-east-1").expect("blueprint");
    let mut res = Resources::default();
    for s in rainmaker_deploy::template::render(&cfg).expect("render").stacks {
        res.add(&s.name, &s.file_name, &s.body).expect("parse");
    }
    let text = rainmaker_deploy::assets::blueprint_file("smart-home", "usage.yaml").expect("usage.yaml");
    (res, Usage::parse("smart-home/usage.yaml", text).expect("usage"))
}

fn bench(c: &mut Criterion) {
    let (res, usage) = smart_home();
    let prices = PriceTable::embedded("us-east-1").expect("prices");
    let opts = Options { devices: 3_600_000, free_tier: FreeTierMode::Always };
    c.bench_function("estimate/engine_3600000", |b| {
        b.iter(|| cost::estimate(black_box(&res), &usage, &prices, opts).expect("estimate"))
    });

    let counts: Vec<u64> = (0..100).map(|i| (1000.0 * 3600f64.powf(i as f64 / 99.0)).round() as u64).collect();
    c.bench_function("estimate/sweep_100_points", |b| {
        b.iter(|| cost::sweep(black_box(&res), &usage, &prices, &counts, FreeTierMode::Always).expect("sweep"))
    });

    c.bench_function("estimate/render_parse_estimate_table_3600000", |b| {
        b.iter(|| {
            let (res, usage) = smart_home();
            let e = cost::estimate(&res, &usage, &prices, opts).expect("estimate");
            cost::report::render(&cost::report::View::One(&e), cost::report::Format::Table)
        })
    });

    // An empty directory: no rainmaker.yaml, so the smart-home blueprint is rendered and priced.
    let dir = std::env::temp_dir().join(format!("estimate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let mut g = c.benchmark_group("estimate/cli");
    g.sample_size(20);
    g.bench_function("estimate --devices 3600000", |b| {
        b.iter(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_rainmaker-deploy"))
                .current_dir(&dir)
                .env_remove("RAINMAKER_CONFIG")
                .args(["estimate", "--devices", "3600000"])
                .output()
                .expect("run");
            assert!(out.status.success());
            black_box(out.stdout.len())
        })
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench);
criterion_main!(benches);
