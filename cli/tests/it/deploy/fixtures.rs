//! Shared fixtures of the deploy tests: a tenant, tiny Lambda zips with a manifest, fast wait options.

use crate::support::{run, tempdir};
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::events::WaitOptions;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::config;
use rainmaker_test_support::{MotoServer, REGION};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The five functions of the backend.
pub const FUNCTIONS: &[&str] = &["provisioning-hook", "telemetry-ingest", "presence", "binding-confirm", "api"];

/// A minimal but real zip holding one `bootstrap` file (stored, no compression), with the content varied by `tag`.
pub fn tiny_zip(tag: &str) -> Vec<u8> {
    let data = format!("#!/bin/sh\necho {tag}\n").into_bytes();
    let crc = crc32(&data);
    let name = b"bootstrap";
    let mut z = Vec::new();
    let header = |z: &mut Vec<u8>, sig: u32| z.extend_from_slice(&sig.to_le_bytes());
    header(&mut z, 0x0403_4b50);
    z.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name);
    z.extend_from_slice(&data);
    let central = z.len() as u32;
    header(&mut z, 0x0201_4b50);
    z.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // made by, needed, flags, method, time, date
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // extra, comment, disk, internal attrs
    z.extend_from_slice(&(0o100755u32 << 16).to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(name);
    let size = z.len() as u32 - central;
    header(&mut z, 0x0605_4b50);
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&size.to_le_bytes());
    z.extend_from_slice(&central.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Write the four zips and a manifest.json in the `cargo xtask lambdas` format; returns function -> hex sha256.
pub fn write_artifacts(dir: &Path, tag: &str) -> Vec<(String, String)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut entries = serde_json::Map::new();
    let mut hashes = Vec::new();
    for f in FUNCTIONS {
        let zip = tiny_zip(&format!("{f}-{tag}"));
        let sha = hex::encode(Sha256::digest(&zip));
        std::fs::File::create(dir.join(format!("{f}.zip"))).unwrap().write_all(&zip).unwrap();
        entries.insert(
            f.to_string(),
            serde_json::json!({ "sha256": sha, "size": zip.len(), "s3_key": format!("lambdas/{f}/{sha}.zip"), "file": format!("{f}.zip") }),
        );
        hashes.push((f.to_string(), sha));
    }
    let manifest = serde_json::json!({ "template_version": rainmaker_deploy::TEMPLATE_VERSION, "functions": entries });
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    hashes
}

/// A smart-home tenant named `name` in `region`, with its files under `dir`.
pub fn tenant(name: &str, region: &str, sdk: aws_config::SdkConfig, dir: &Path) -> Tenant {
    let config = config::blueprint_config("smart-home", name, region).expect("blueprint config");
    Tenant { config, sdk, config_dir: dir.to_path_buf(), artifacts_dir: dir.join("artifacts") }
}

/// Polls without sleeping much (moto finishes synchronously; replays need no wait at all).
pub fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll: Duration::from_millis(20),
        cancel: None,
        timeout: Duration::from_secs(120),
        start_timeout: Duration::from_secs(120),
    }
}

/// A smart-home tenant `<label>-<pid>` set up by `init` in a new directory and applied to the shared moto in its
/// own account (one tenant per account and region; CLI runs in that directory use the same keys, see
/// [`super::cli::own_account`]): the directory and the tenant, whose SDK config is in that account.
pub async fn applied_smart_home(label: &str) -> (tempfile::TempDir, Tenant) {
    let moto = MotoServer::shared();
    let dir = tempdir();
    let sdk = moto.sdk_config_with(&super::cli::own_account(moto, dir.path(), label)).await;
    let name = format!("{label}-{}", std::process::id() % 100_000);
    let config = config::blueprint_config("smart-home", &name, REGION).unwrap();
    let init = run(dir.path(), &["init", "--name", &name, "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    let tenant = Tenant { config, sdk, config_dir: dir.path().to_path_buf(), artifacts_dir: dir.path().join("a") };
    write_artifacts(&tenant.artifacts_dir, "v1");
    let opts = ApplyOptions { wait: fast_wait(), ..ApplyOptions::default() };
    deploy::apply(&tenant, &opts, &Always(true), &NoProgress).await.expect("apply");
    (dir, tenant)
}
