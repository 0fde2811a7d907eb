//! Lambda artifacts: read `manifest.json` (written by `cargo xtask lambdas`), check every zip's SHA-256, and upload
//! each under its content-hash key `lambdas/<function>/<sha256>.zip` unless the bucket already has it.

use super::DeployError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One function's entry in manifest.json.
#[derive(Debug, Clone, Deserialize)]
struct Entry {
    sha256: String,
    #[serde(default, alias = "zip", alias = "path")]
    file: Option<String>,
}

/// manifest.json: `{"functions": {"<function>": {"sha256": "...", "file": "<function>.zip", ...}}}` (other fields,
/// e.g. `size` and `s3_key`, are ignored; a top-level map of functions is accepted too).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Manifest {
    Wrapped { functions: BTreeMap<String, Entry> },
    Plain(BTreeMap<String, Entry>),
}

/// One verified artifact.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Artifact {
    /// Function (crate) name, e.g. `telemetry-ingest`.
    pub function: String,
    pub sha256: String,
    pub size: u64,
    /// `lambdas/<function>/<sha256>.zip`.
    pub key: String,
    /// The backend stack parameter carrying the key (`TelemetryIngestCodeKey`).
    pub parameter: String,
    #[serde(skip)]
    pub path: PathBuf,
}

/// What the upload did with one artifact.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Uploaded {
    pub function: String,
    pub key: String,
    pub size: u64,
    /// False when the bucket already had this content.
    pub uploaded: bool,
}

/// `telemetry-ingest` -> `TelemetryIngestCodeKey`.
pub fn parameter_for(function: &str) -> String {
    let mut s: String = function
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    s.push_str("CodeKey");
    s
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<(String, u64), DeployError> {
    let bytes = std::fs::read(path).map_err(|e| DeployError::io(format!("reading {}", path.display()), e))?;
    Ok((hex::encode(Sha256::digest(&bytes)), bytes.len() as u64))
}

/// Read `<dir>/manifest.json`, keep the functions whose code-key parameters the template has (`wanted`), and check
/// every zip against its hash. Every wanted parameter must be covered.
pub fn load(dir: &Path, wanted: &[String]) -> Result<Vec<Artifact>, DeployError> {
    let fail = |reason: String| DeployError::Artifacts { dir: dir.display().to_string(), reason };
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let entries = match manifest {
        Manifest::Wrapped { functions } | Manifest::Plain(functions) => functions,
    };
    let mut out = Vec::new();
    for (function, entry) in entries {
        let parameter = parameter_for(&function);
        if !wanted.contains(&parameter) {
            continue;
        }
        let file = dir.join(entry.file.clone().unwrap_or_else(|| format!("{function}.zip")));
        let (actual, size) = sha256_file(&file)?;
        let expected = entry.sha256.to_ascii_lowercase();
        if actual != expected {
            return Err(DeployError::HashMismatch { file: file.display().to_string(), expected, actual });
        }
        out.push(Artifact {
            key: format!("lambdas/{function}/{actual}.zip"),
            function,
            sha256: actual,
            size,
            parameter,
            path: file,
        });
    }
    let missing: Vec<&String> = wanted.iter().filter(|p| !out.iter().any(|a| &a.parameter == *p)).collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|p| p.to_string()).collect();
        return Err(fail(format!("manifest.json has no function for {}", names.join(", "))));
    }
    Ok(out)
}

/// Upload each artifact unless an object with its key exists already (HeadObject first).
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifacts: &[Artifact],
) -> Result<Vec<Uploaded>, DeployError> {
    let mut done = Vec::new();
    for a in artifacts {
        let present = match s3.head_object().bucket(bucket).key(&a.key).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => return Err(DeployError::sdk("S3 HeadObject", e)),
        };
        if !present {
            let body =
                std::fs::read(&a.path).map_err(|e| DeployError::io(format!("reading {}", a.path.display()), e))?;
            s3.put_object()
                .bucket(bucket)
                .key(&a.key)
                .body(body.into())
                .content_type("application/zip")
                .send()
                .await
                .map_err(|e| DeployError::sdk("S3 PutObject", e))?;
        }
        done.push(Uploaded { function: a.function.clone(), key: a.key.clone(), size: a.size, uploaded: !present });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_follow_the_template() {
        assert_eq!(parameter_for("provisioning-hook"), "ProvisioningHookCodeKey");
        assert_eq!(parameter_for("api"), "ApiCodeKey");
    }

    #[test]
    fn a_changed_zip_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api.zip"), b"zip").unwrap();
        std::fs::write(dir.path().join("manifest.json"), r#"{"functions":{"api":{"sha256":"00"}}}"#).unwrap();
        let err = load(dir.path(), &["ApiCodeKey".into()]).unwrap_err();
        assert!(matches!(err, DeployError::HashMismatch { .. }), "{err:?}");
        let (sha, _) = sha256_file(&dir.path().join("api.zip")).unwrap();
        std::fs::write(dir.path().join("manifest.json"), format!(r#"{{"api":{{"sha256":"{sha}","size":3}}}}"#))
            .unwrap();
        let a = load(dir.path(), &["ApiCodeKey".into()]).unwrap();
        assert_eq!(a[0].key, format!("lambdas/api/{sha}.zip"));
        let err = load(dir.path(), &["ApiCodeKey".into(), "PresenceCodeKey".into()]).unwrap_err();
        assert!(err.to_string().contains("PresenceCodeKey"), "{err}");
    }
}
