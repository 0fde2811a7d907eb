//! Tiny but real Lambda zips and the `cargo xtask lambdas` manifest beside them, for the tests and benchmarks that
//! deploy a backend without building the real functions.

use sha2::{Digest, Sha256};
use std::path::Path;

/// The five functions of the backend.
pub const FUNCTIONS: &[&str] = &["provisioning-hook", "telemetry-ingest", "presence", "binding-confirm", "api"];
/// The function `telemetry.pipeline: batched` deploys instead of telemetry-ingest.
pub const OPTIONAL_FUNCTIONS: &[&str] = &["telemetry-batch"];

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

/// Write one tiny zip per function and a manifest.json in the `cargo xtask lambdas` format for
/// `template_version` into `dir`; returns (function, hex SHA-256) per function.
pub fn write_artifacts(dir: &Path, tag: &str, template_version: &str) -> Vec<(String, String)> {
    write_artifacts_of(dir, tag, template_version, FUNCTIONS)
}

/// [`write_artifacts`] for every function `cargo xtask lambdas` builds (the five and [`OPTIONAL_FUNCTIONS`]), as
/// its manifest has them.
pub fn write_all_artifacts(dir: &Path, tag: &str, template_version: &str) -> Vec<(String, String)> {
    let all: Vec<&str> = FUNCTIONS.iter().chain(OPTIONAL_FUNCTIONS).copied().collect();
    write_artifacts_of(dir, tag, template_version, &all)
}

fn write_artifacts_of(dir: &Path, tag: &str, template_version: &str, functions: &[&str]) -> Vec<(String, String)> {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let mut entries = serde_json::Map::new();
    let mut hashes = Vec::new();
    for f in functions {
        let zip = tiny_zip(&format!("{f}-{tag}"));
        let sha = hex::encode(Sha256::digest(&zip));
        let path = dir.join(format!("{f}.zip"));
        std::fs::write(&path, &zip).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        entries.insert(
            f.to_string(),
            serde_json::json!({ "sha256": sha, "size": zip.len(), "s3_key": format!("lambdas/{f}/{sha}.zip"), "file": format!("{f}.zip") }),
        );
        hashes.push((f.to_string(), sha));
    }
    let manifest = serde_json::json!({ "template_version": template_version, "functions": entries });
    let text = serde_json::to_string_pretty(&manifest).expect("a JSON value serializes");
    std::fs::write(dir.join("manifest.json"), text).unwrap_or_else(|e| panic!("writing manifest.json: {e}"));
    hashes
}
