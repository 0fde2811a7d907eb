//! Benchmark (not a test): `gdpr export` of one user with 10 nodes against a local moto_server, at 1,000 and
//! 10,000 telemetry items per node (10k and 100k items in all): wall time, items/s, archive size and the peak
//! resident memory of the export alone (VmHWM after resetting it through /proc/self/clear_refs), which must stay
//! flat as the items grow because telemetry is streamed page by page into the zip.
//!
//! Run: `cargo bench -p rainmaker-deploy --bench gdpr_export` (or `cargo xtask bench`). Prints what it measured.

use rainmaker_core::gdpr::manifest::{Retention, PITR_DAYS};
use rainmaker_deploy::gdpr::archive::Format;
use rainmaker_deploy::gdpr::export::{self, Out};
use rainmaker_deploy::gdpr::seed::{self, SeedOptions};
use rainmaker_deploy::gdpr::user::UserRef;
use rainmaker_deploy::gdpr::{GdprClients, NoReport, Resources};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use std::time::Instant;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset the peak RSS to the current RSS (Linux: `5` to clear_refs).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn one(moto: &MotoServer, per_node: usize) {
    let sdk = moto.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let tables = create_tables(&ddb, &unique_prefix(&format!("bench-{per_node}"))).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool = cognito.create_user_pool().pool_name(format!("bench-{per_node}")).send().await.expect("pool");
    let r = Resources {
        tenant: "bench".into(),
        region: rainmaker_test_support::REGION.into(),
        stack_name: "none".into(),
        tables,
        user_pool_id: pool.user_pool().and_then(|p| p.id()).expect("pool id").to_string(),
        template_version: None,
        receipt_key_secret: None,
        retention: Retention {
            telemetry_ttl_days: 30,
            log_retention_days: 14,
            binding_code_ttl_seconds: 600,
            pitr_days: PITR_DAYS,
        },
    };
    let c = GdprClients::new(&sdk).await.expect("clients");
    let o = SeedOptions {
        users: 1,
        nodes_per_user: 10,
        telemetry_per_node: per_node,
        shares: 0,
        tag: seed::random_tag().expect("tag"),
    };
    let started = Instant::now();
    let s = seed::seed(&c, &r, &o, &NoReport).await.expect("seed");
    let seeding = started.elapsed();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("export.zip");
    let before = rss_kib();
    let reset = reset_peak();
    let started = Instant::now();
    let rep = export::export(
        &c,
        &r,
        &UserRef::Sub(s.users[0].user_id.clone()),
        &Out::File(out),
        false,
        Format::Zip,
        &NoReport,
    )
    .await
    .expect("export");
    let wall = started.elapsed();
    let peak = peak_rss_kib();
    let items = rep.items.get("telemetry").copied().unwrap_or(0);
    assert_eq!(items as usize, 10 * per_node, "every reading exported");
    println!(
        "gdpr_export/10 nodes x {per_node:>6}: {items:>7} telemetry items in {:>7.2} s = {:>7.0} items/s, archive {:>6.1} MiB; \
         RSS before {} KiB, peak during export {} KiB{} (seeding took {:.1} s)",
        wall.as_secs_f64(),
        items as f64 / wall.as_secs_f64(),
        rep.bytes as f64 / 1048576.0,
        before.map(|b| b.to_string()).unwrap_or("?".into()),
        peak.map(|b| b.to_string()).unwrap_or("?".into()),
        if reset { "" } else { " (peak not reset: process peak)" },
        seeding.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; a plain `cargo test` of the benches passes nothing: run only when benched
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let moto = MotoServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        for per_node in [1_000, 10_000] {
            one(&moto, per_node).await;
        }
    });
}
