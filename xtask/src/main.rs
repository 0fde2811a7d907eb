//! Project automation (the cargo-xtask pattern): `cargo xtask <task>`, one file per task.

mod bench;
mod codegen;
mod demo;
mod dist;
mod lambdas;
mod prices;
mod seed;
mod test;
mod util;

use anyhow::{bail, Result};

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  test       install the test tools (Python venv: moto, cfn-lint, cargo-lambda) and run every test
  demo       the main job on the local emulator: moto_server + init + apply + status
  codegen    regenerate the JSON Schemas in docs/ and the man pages in docs/man/ (--check: fail when stale)
  lambdas    build every runtime Lambda with cargo lambda (arm64 zips + manifest.json)
  dist       the release archive: CLI, arm64 Lambdas, man pages, completions, schemas (--target, --out-dir)
  bench      run the criterion benchmarks and print what they measured
  prices     refresh the embedded price table from an AWS Price List bulk JSON file
  seed       fill a deployed tenant with users, nodes, shares and telemetry (--config FILE --users N ...)
";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "test" => test::run(&rest),
        "demo" => demo::run(&rest),
        "codegen" => codegen::run(&rest),
        "lambdas" => lambdas::run(&rest),
        "dist" => dist::run(&rest),
        "bench" => bench::run(&rest),
        "prices" => prices::run(&rest),
        "seed" => seed::run(&rest),
        "" | "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}
