//! `cargo xtask lambdas [--verify]`: build every runtime Lambda (`contract::all_functions`: the five every backend
//! deploys and `telemetry-batch`, which `telemetry.pipeline: batched` adds) for arm64 with cargo-lambda, re-pack each zip
//! deterministically and write `target/lambda-artifacts/{<function>.zip, manifest.json}` (the manifest names the
//! template version the functions were built for; the CLI refuses another).
//!
//! cargo-lambda's zips carry the build time as the entry's mtime, so the same source would give a new hash on
//! every build; the re-pack fixes mtime (1980-01-01), order and permissions (0755 for `bootstrap`), so the
//! SHA-256 — and the S3 key `lambdas/<function>/<sha256>.zip` — only change when the binary does.
//! `--verify` rebuilds the functions (after touching their sources) and fails unless the hashes are identical.

use crate::util::{cargo, ensure_venv, path_with_venv, root, run_cmd};
use anyhow::{bail, Context, Result};
use rainmaker_model::contract::all_functions;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TARGET: &str = "aarch64-unknown-linux-gnu";

pub fn run(args: &[String]) -> Result<()> {
    let verify = args.iter().any(|a| a == "--verify");
    if let Some(other) = args.iter().find(|a| *a != "--verify") {
        bail!("unknown argument `{other}` (usage: cargo xtask lambdas [--verify])");
    }
    ensure_venv()?;
    ensure_target()?;
    let seconds = build()?;
    let manifest = package(&artifacts_dir())?;
    print_manifest(&manifest, seconds);
    if verify {
        for f in all_functions() {
            touch(&root().join("runtime-lambdas").join(f).join("src/main.rs"))?;
        }
        let again = build()?;
        let tmp = target_dir().join("lambda-artifacts-verify");
        let second = package(&tmp)?;
        let _ = std::fs::remove_dir_all(&tmp);
        for f in all_functions() {
            let (a, b) = (&manifest[f]["sha256"], &second[f]["sha256"]);
            if a != b {
                bail!("{f}: the rebuild gave another hash ({a} vs {b}): the build is not reproducible");
            }
        }
        eprintln!("lambdas: rebuilt in {again:.0} s; every hash is identical: the build is reproducible");
    }
    Ok(())
}

/// The Cargo target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

/// Where the zips and `manifest.json` go.
pub fn artifacts_dir() -> PathBuf {
    target_dir().join("lambda-artifacts")
}

pub(crate) fn ensure_target() -> Result<()> {
    let status = Command::new("rustup").args(["target", "add", TARGET]).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        other => bail!(
            "could not add the Rust target {TARGET} with rustup ({}).\n\
             Add it yourself once (`rustup target add {TARGET}`, which needs network access), or, without rustup, \
             install a Rust toolchain that ships the {TARGET} standard library; then rerun `cargo xtask lambdas`.",
            match other {
                Ok(s) => format!("exit {s}"),
                Err(e) => e.to_string(),
            }
        ),
    }
}

/// One `cargo lambda build` for all functions, so the dependencies compile once. Returns the seconds it took.
pub(crate) fn build() -> Result<f64> {
    let start = Instant::now();
    let mut cmd = cargo();
    cmd.env("PATH", path_with_venv()).args(["lambda", "build", "--release", "--arm64", "--output-format", "zip"]);
    for f in all_functions() {
        cmd.args(["--package", f]);
    }
    run_cmd(&mut cmd)
        .context("cargo lambda build (cargo-lambda and ziglang come from the venv: `cargo xtask test` sets it up)")?;
    Ok(start.elapsed().as_secs_f64())
}

/// Re-pack every function's zip into `dir` and write `dir/manifest.json`; returns the manifest.
pub(crate) fn package(dir: &Path) -> Result<Map<String, Value>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut manifest = Map::new();
    for f in all_functions() {
        let src = target_dir().join("lambda").join(f).join("bootstrap.zip");
        let bytes = repack(&src).with_context(|| format!("re-packing {}", src.display()))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let file = format!("{f}.zip");
        std::fs::write(dir.join(&file), &bytes)?;
        manifest.insert(
            f.to_string(),
            json!({"file": file, "sha256": sha, "size": bytes.len(), "s3_key": format!("lambdas/{f}/{sha}.zip")}),
        );
    }
    let wrapped = json!({"template_version": rainmaker_deploy::TEMPLATE_VERSION, "functions": &manifest});
    let text = serde_json::to_string_pretty(&wrapped)? + "\n";
    std::fs::write(dir.join("manifest.json"), text)?;
    Ok(manifest)
}

/// The entries of `src`, sorted, with a fixed mtime and permissions, deflated at a fixed level.
fn repack(src: &Path) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src)?)?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        if entry.is_dir() {
            continue;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data)?;
        entries.push((entry.name().to_string(), data));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if !entries.iter().any(|(n, _)| n == "bootstrap") {
        bail!("{} has no `bootstrap` entry", src.display());
    }
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let mode = if name == "bootstrap" { 0o755 } else { 0o644 };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode);
        out.start_file(name, options)?;
        out.write_all(&data)?;
    }
    Ok(out.finish()?.into_inner())
}

fn touch(path: &Path) -> Result<()> {
    let file =
        std::fs::OpenOptions::new().append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
    file.set_modified(std::time::SystemTime::now())?;
    Ok(())
}

fn print_manifest(manifest: &Map<String, Value>, seconds: f64) {
    eprintln!("lambdas: cargo lambda build took {seconds:.0} s; artifacts in {}", artifacts_dir().display());
    for (f, m) in manifest {
        println!("{f:<18} {:>9} bytes  sha256 {}", m["size"], m["sha256"].as_str().unwrap_or(""));
    }
}
