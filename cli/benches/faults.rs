//! Benchmark (not a test): the fault runs of the test `deploy::faults`, measured. The same scenario (the file is
//! shared: `cli/tests/it/deploy/fault_scenario.rs`): a clean run, seeds 1-3 with 10 % of the calls faulted, seed 4
//! with every changing call's answer lost once besides, each one tenant's first apply, update, plan, status and
//! destroy against a local moto_server behind test-support's fault-injecting proxy. Prints per run: faults injected
//! by kind, the client's calls, requests at the proxy and at moto, requests retried, wall time against the clean
//! run. Each run still asserts that it converged without a re-run and without duplicates.
//!
//! Run: `cargo bench -p rainmaker-deploy --bench faults` (or `cargo xtask bench`). Prints what it measured. A first
//! clean run warms moto up and is not compared.

#[path = "../tests/it/deploy/fault_scenario.rs"]
mod fault_scenario;

use fault_scenario::{converges_under, every_changing_answer_lost, random, FaultRun};
use rainmaker_test_support::Faults;

fn kinds(r: &FaultRun) -> String {
    let n = |k: &str| r.faults_by_kind.get(k).copied().unwrap_or(0);
    format!(
        "{} ({} / {} / {} / {})",
        r.faults_by_kind.values().sum::<usize>(),
        n("Unavailable"),
        n("Throttle"),
        n("Drop"),
        n("LoseResponse")
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut runs: Vec<(String, FaultRun)> = Vec::new();
    let warm_up = rt.block_on(async {
        // a fresh moto loads its backends on the first CloudFormation call (seconds): a clean run first, not compared
        // (seed 100 only names its own account and tenant: no fault)
        converges_under(100, Faults::every_kind(100, 0)).await
    });
    println!("warm-up (a clean run on the fresh moto): {:.1}s", warm_up.elapsed.as_secs_f64());
    rt.block_on(async {
        runs.push(("no faults (baseline)".into(), converges_under(0, Faults::every_kind(0, 0)).await));
        for seed in 1..=3 {
            runs.push((format!("{seed} (10 %)"), converges_under(seed, random(seed)).await));
        }
        let lost = converges_under(4, every_changing_answer_lost()).await;
        runs.push(("4 (10 %) + every changing call's answer lost once".into(), lost));
    });
    let clean = runs[0].1.elapsed.as_secs_f64();
    println!(
        "\n{:<52} {:>6} {:>9} {:>8} {:>8}  {:<32} {:>8} {:>7}",
        "seed", "calls", "requests", "at moto", "retried", "faults (503 / throttle / drop / lost)", "wall", "vs clean"
    );
    for (label, r) in &runs {
        let wall = r.elapsed.as_secs_f64();
        println!(
            "{label:<52} {:>6} {:>9} {:>8} {:>8}  {:<37} {:>7.1}s {:>6.1}x",
            r.client_calls,
            r.arrivals,
            r.reached_moto,
            r.retried(),
            kinds(r),
            wall,
            wall / clean
        );
    }
    for (label, r) in runs.iter().filter(|(_, r)| !r.lost_answers.is_empty()) {
        println!("lost answers, {label}: {}", r.lost_answers.join(", "));
    }
}
