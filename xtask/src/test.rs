//! `cargo xtask test`: install the test tools into the project venv, run every test of the workspace, check that
//! generated files are fresh, run `cargo fmt --check` and `cargo clippy --all-targets -- -D warnings`, and close with
//! one line counting what passed and failed.

use crate::util::{cargo, ensure_venv, path_with_venv};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

pub fn run(args: &[String]) -> Result<()> {
    ensure_venv()?;
    let mut cmd = cargo();
    cmd.env("PATH", path_with_venv()).args(["test", "--workspace", "--locked"]).args(args).stdout(Stdio::piped());
    let mut child = cmd.spawn().context("starting cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.context("reading cargo test output")?;
            println!("{line}");
            if let Some((p, f)) = counts(&line) {
                passed += p;
                failed += f;
            }
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    if passed == 0 {
        bail!("cargo test ran no test");
    }
    crate::codegen::run(&["--check".to_string()])?;
    lint()
}

/// `cargo fmt --check` and `cargo clippy --workspace --all-targets -- -D warnings` (after the tests, so a lint never
/// hides a failing test).
fn lint() -> Result<()> {
    let fmt = cargo().args(["fmt", "--all", "--", "--check"]).status().context("starting cargo fmt")?;
    if !fmt.success() {
        bail!("cargo fmt --check found unformatted files: run `cargo fmt --all`");
    }
    let clippy = cargo()
        .args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
        .status()
        .context("starting cargo clippy")?;
    if !clippy.success() {
        bail!("cargo clippy found warnings (shown above)");
    }
    println!("lint: cargo fmt --check and cargo clippy -D warnings are clean");
    Ok(())
}

/// The passed and failed counts of a libtest summary line (`test result: ok. 5 passed; 0 failed; ...`).
fn counts(line: &str) -> Option<(u64, u64)> {
    let (_, rest) = line.strip_prefix("test result: ")?.split_once(". ")?;
    let num = |word: &str| {
        rest.split("; ").find_map(|part| {
            let (n, w) = part.trim().split_once(' ')?;
            (w == word).then(|| n.parse().ok()).flatten()
        })
    };
    Some((num("passed")?, num("failed")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_libtest_summaries() {
        assert_eq!(
            super::counts(
                "test result: ok. 21 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.05s"
            ),
            Some((21, 0))
        );
        assert_eq!(super::counts("test result: FAILED. 2 passed; 1 failed; 0 ignored"), Some((2, 1)));
        assert_eq!(super::counts("running 3 tests"), None);
    }
}
