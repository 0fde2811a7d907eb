//! The deploy core's own overhead, with no network: render both stacks (+ parse, resource info), hash the Lambda
//! zips against their manifest, and the no-op diff `apply` makes before any change set (live template vs ours,
//! parameters, tags), plus the plan of a fresh create. Uses `target/lambda-artifacts` when `cargo xtask lambdas`
//! has built it, else four synthetic 2 MiB zips (about the size of the real ones).
//!
//! `cargo bench -p rainmaker-deploy --bench deploy_overhead`

use criterion::{criterion_group, criterion_main, Criterion};
use rainmaker_deploy::aws::artifacts;
use rainmaker_deploy::aws::converge::same_template;
use rainmaker_deploy::aws::deploy::{code_parameters, prepare, stack_tags};
use rainmaker_deploy::aws::plan::StackPlan;
use rainmaker_deploy::aws::sdk::Tenant;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::path::{Path, PathBuf};

const FUNCTIONS: &[&str] = &["provisioning-hook", "telemetry-ingest", "presence", "binding-confirm", "api"];

/// The real artifacts, or synthetic ones of a realistic size in `tmp`.
fn artifacts_dir(tmp: &Path) -> PathBuf {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/lambda-artifacts");
    if real.join("manifest.json").exists() {
        eprintln!("deploy_overhead: hashing the real zips in {}", real.display());
        return real;
    }
    eprintln!("deploy_overhead: no target/lambda-artifacts; hashing four synthetic 2 MiB zips");
    let mut manifest = serde_json::Map::new();
    for (i, f) in FUNCTIONS.iter().enumerate() {
        // incompressible-looking bytes, different per function
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
        let bytes: Vec<u8> = (0..2 * 1024 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(tmp.join(format!("{f}.zip")), &bytes).unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        manifest
            .insert(f.to_string(), serde_json::json!({"file": format!("{f}.zip"), "sha256": sha, "size": bytes.len()}));
    }
    std::fs::write(tmp.join("manifest.json"), serde_json::Value::Object(manifest).to_string()).unwrap();
    tmp.to_path_buf()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let config = rainmaker_deploy::config::blueprint_config("smart-home", "bench-home", "us-east-1").unwrap();
    // an SDK config that is never used: nothing here talks to AWS
    let sdk = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
    let t = Tenant { config, sdk, config_dir: tmp.path().to_path_buf(), artifacts_dir: artifacts_dir(tmp.path()) };
    let p = prepare(&t).unwrap();
    let wanted = code_parameters(&p.backend.2);
    let body = p.backend.0.body.clone();
    // the live template as another tool might have re-serialized it: same document, other text (the slow path)
    let relaid = serde_json::to_string_pretty(&p.backend.2).unwrap();
    let tags = stack_tags(&t);

    let mut g = c.benchmark_group("deploy_overhead");
    g.sample_size(20);
    g.bench_function("render_both_stacks", |b| b.iter(|| black_box(prepare(&t).unwrap())));
    g.bench_function("hash_artifacts", |b| b.iter(|| black_box(artifacts::load(&t.artifacts_dir, &wanted).unwrap())));
    g.bench_function("noop_diff_same_text", |b| {
        b.iter(|| black_box(same_template(&body, &body) && stack_tags(&t) == tags))
    });
    g.bench_function("noop_diff_reparsed", |b| b.iter(|| black_box(same_template(&relaid, &body))));
    g.bench_function("plan_create_text", |b| {
        b.iter(|| black_box(StackPlan::create("backend", &p.backend.0.stack_name, &p.backend.1).to_text()))
    });
    g.bench_function("total_noop_overhead", |b| {
        b.iter(|| {
            let p = prepare(&t).unwrap();
            let arts = artifacts::load(&t.artifacts_dir, &code_parameters(&p.backend.2)).unwrap();
            black_box((arts, same_template(&body, &p.backend.0.body), stack_tags(&t) == tags))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
