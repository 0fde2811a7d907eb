//! `cargo xtask bench [--no-criterion] [--no-cold-start] [--no-gdpr] [--no-faults]`: run every criterion benchmark
//! (the runtime Lambdas' against a local moto_server, the CLI's estimate and deploy overhead without network), the
//! `gdpr_export` benchmark (10k vs 100k telemetry items against moto: wall time, items/s, peak memory) and the
//! `faults` benchmark (the deploy core's fault runs: faults injected, requests retried, wall time against a clean
//! run), then print their results, the zip sizes from `cargo xtask lambdas`, and the cold-start time of each
//! function binary (see [`coldstart`]).

mod coldstart;

use crate::lambdas::{artifacts_dir, target_dir};
use crate::util::{cargo, ensure_venv, path_with_venv, run_cmd};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;

/// The criterion benches: (package, bench target, benchmark-id prefix they report under).
const BENCHED: [(&str, &str, &str); 5] = [
    ("telemetry-ingest", "ingest", "telemetry/"),
    ("telemetry-batch", "consumer", "telemetry_batch/"),
    ("provisioning-hook", "decision", "provisioning/"),
    ("rainmaker-deploy", "estimate", "estimate/"),
    ("rainmaker-deploy", "deploy_overhead", "deploy_overhead/"),
];

pub fn run(args: &[String]) -> Result<()> {
    let known = ["--no-criterion", "--no-cold-start", "--no-gdpr", "--no-faults"];
    if let Some(other) = args.iter().find(|a| !known.contains(&a.as_str())) {
        bail!(
            "unknown argument `{other}` (usage: cargo xtask bench [--no-criterion] [--no-cold-start] [--no-gdpr] \
             [--no-faults])"
        );
    }
    ensure_venv()?;
    if !args.iter().any(|a| a == "--no-criterion") {
        for (package, bench, _) in BENCHED {
            let mut cmd = cargo();
            cmd.env("PATH", path_with_venv()).args(["bench", "--package", package, "--bench", bench]);
            cmd.args(["--", "--warm-up-time", "1", "--measurement-time", "4"]);
            run_cmd(&mut cmd).context("cargo bench")?;
        }
        print_criterion(&target_dir().join("criterion"))?;
    }
    if !args.iter().any(|a| a == "--no-gdpr") {
        // not criterion: one export of 10k and one of 100k telemetry items against moto, printed as measured
        let mut cmd = cargo();
        cmd.env("PATH", path_with_venv()).args(["bench", "--package", "rainmaker-deploy", "--bench", "gdpr_export"]);
        run_cmd(&mut cmd).context("cargo bench --bench gdpr_export")?;
    }
    if !args.iter().any(|a| a == "--no-faults") {
        // not criterion: the fault runs of `deploy::faults` (clean, seeds 1-3, seed 4 with lost answers), measured
        let mut cmd = cargo();
        cmd.env("PATH", path_with_venv()).args(["bench", "--package", "rainmaker-deploy", "--bench", "faults"]);
        run_cmd(&mut cmd).context("cargo bench --bench faults")?;
    }
    print_zip_sizes();
    if !args.iter().any(|a| a == "--no-cold-start") {
        coldstart::run()?;
    }
    Ok(())
}

/// One line per benchmark found under `target/criterion/<group>/<bench>/new/`.
fn print_criterion(dir: &Path) -> Result<()> {
    let mut rows = Vec::new();
    collect(dir, &mut rows)?;
    rows.retain(|r| BENCHED.iter().any(|(_, _, prefix)| r.0.starts_with(prefix)));
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    println!("\n{:<48} {:>12} {:>12} {:>14}", "benchmark", "mean", "median", "per element");
    for (id, mean, median, per) in rows {
        println!("{id:<48} {:>12} {:>12} {:>14}", fmt_ns(mean), fmt_ns(median), per.map(fmt_ns).unwrap_or_default());
    }
    Ok(())
}

type Row = (String, f64, f64, Option<f64>);

fn collect(dir: &Path, rows: &mut Vec<Row>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let new = path.join("new");
        if new.join("estimates.json").is_file() {
            let est: Value = serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json"))?)?;
            let meta: Value = serde_json::from_str(&std::fs::read_to_string(new.join("benchmark.json"))?)?;
            let mean = est["mean"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
            let median = est["median"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
            let elements = meta["throughput"]["Elements"].as_f64();
            let id = meta["full_id"].as_str().unwrap_or_default().to_string();
            rows.push((id, mean, median, elements.map(|n| mean / n)));
        } else {
            collect(&path, rows)?;
        }
    }
    Ok(())
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn print_zip_sizes() {
    let path = artifacts_dir().join("manifest.json");
    let manifest: Option<Value> = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
    let Some(Value::Object(m)) = manifest else {
        println!("\nzip sizes: no {} yet; run `cargo xtask lambdas` first", path.display());
        return;
    };
    println!("\n{:<18} {:>12}  (arm64 zips from `cargo xtask lambdas`)", "function", "zip bytes");
    for (f, v) in m {
        println!("{f:<18} {:>12}", v["size"]);
    }
}
