//! Lambda artifacts: read `manifest.json` (written by `cargo xtask lambdas`), check every zip's SHA-256, and upload
//! each under its content-hash key `lambdas/<function>/<sha256>.zip` with that SHA-256 as its S3 checksum. An
//! object already in the bucket is reused only when the checksum S3 stored for it matches (never trusted by its
//! name), and each function is pinned to the object version that was checked or uploaded.

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
    /// The backend stack parameter carrying the pinned object version (`TelemetryIngestCodeVersion`).
    pub version_parameter: String,
    #[serde(skip)]
    pub path: PathBuf,
}

/// What the upload did with one artifact.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Uploaded {
    pub function: String,
    pub key: String,
    pub size: u64,
    /// False when the bucket already had this content (its stored SHA-256 checksum matched).
    pub uploaded: bool,
    /// The object version the function is pinned to.
    pub version_id: String,
    /// Why it was uploaded: `missing`, `no access to read it`, `checksum differs`, ... (empty when reused).
    pub reason: String,
}

/// The version parameter of a code-key parameter: `ApiCodeKey` -> `ApiCodeVersion`.
pub fn version_parameter_for(code_key_parameter: &str) -> String {
    format!("{}CodeVersion", code_key_parameter.trim_end_matches("CodeKey"))
}

/// The SHA-256 of hex `sha256` as S3 carries it (`x-amz-checksum-sha256`: base64 of the 32 bytes).
pub fn s3_checksum(sha256_hex: &str) -> String {
    super::verify::base64_of_hex(sha256_hex)
}

/// What to do with one artifact, given what HeadObject (with `ChecksumMode: ENABLED`) said about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The stored object has our checksum: pin this version.
    Reuse { version_id: String },
    /// Upload (again), for this reason.
    Upload { reason: String },
}

/// What HeadObject found at the artifact's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Missing,
    /// 403: S3 answers this for a missing key when the caller lacks s3:ListBucket (or for any key without
    /// s3:GetObject); the PutObject decides whether the caller may write.
    Forbidden,
    Object {
        checksum_sha256: Option<String>,
        version_id: Option<String>,
    },
}

/// Reuse an object only when its stored SHA-256 checksum is ours and it has a version to pin; else upload.
pub fn decide(sha256_hex: &str, found: &Found) -> Decision {
    let upload = |reason: &str| Decision::Upload { reason: reason.into() };
    match found {
        Found::Missing => upload("missing"),
        Found::Forbidden => upload("HeadObject was denied (403), so it is uploaded and PutObject decides"),
        Found::Object { checksum_sha256: None, .. } => upload("the stored object has no SHA-256 checksum"),
        Found::Object { checksum_sha256: Some(c), .. } if *c != s3_checksum(sha256_hex) => {
            upload("the stored object's SHA-256 checksum differs (other bytes under this key)")
        }
        Found::Object { version_id: None, .. } => upload("the stored object has no version id to pin"),
        Found::Object { version_id: Some(v), .. } => Decision::Reuse { version_id: v.clone() },
    }
}

/// The versions the live stack pins, for the artifacts whose key it already deploys (so an unchanged stack is
/// recognised without any S3 call: its functions run the version that was checked when it was deployed).
/// Artifacts with another key, or no version parameter on the live stack, get `pending` (the upload fills it).
pub fn live_versions(
    live: &BTreeMap<String, String>,
    artifacts: &[Artifact],
    pending: &str,
) -> BTreeMap<String, String> {
    artifacts
        .iter()
        .map(|a| {
            let pinned = live
                .get(&a.version_parameter)
                .filter(|v| !v.is_empty() && live.get(&a.parameter) == Some(&a.key))
                .cloned()
                .unwrap_or_else(|| pending.to_string());
            (a.version_parameter.clone(), pinned)
        })
        .collect()
}

/// The value of a version parameter in a plan for an artifact `apply` has not uploaded yet.
pub const PENDING_VERSION: &str = "(version of the upload)";

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
            version_parameter: version_parameter_for(&parameter),
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

/// HeadObject with `ChecksumMode: ENABLED`: what is stored at the artifact's key.
async fn head(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    a: &Artifact,
) -> Result<(Found, Option<DeployError>), DeployError> {
    let out = s3
        .head_object()
        .bucket(bucket)
        .key(&a.key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await;
    match out {
        Ok(o) => Ok((
            Found::Object {
                checksum_sha256: o.checksum_sha256().map(str::to_string),
                version_id: o.version_id().map(str::to_string),
            },
            None,
        )),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok((Found::Missing, None)),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok((Found::Missing, None)),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            // HEAD answers carry no body, hence no code: name it, and keep it for the report if PutObject fails too
            let denied = DeployError::Aws {
                operation: "S3 HeadObject",
                code: Some("AccessDenied".into()),
                message: format!("403 Forbidden on s3://{bucket}/{}", a.key),
                help: denied_help(bucket, &a.key),
            };
            Ok((Found::Forbidden, Some(denied)))
        }
        Err(e) => Err(DeployError::sdk("S3 HeadObject", e)),
    }
}

fn denied_help(bucket: &str, key: &str) -> String {
    format!(
        "S3 answers 403 for a missing key without s3:ListBucket, and for any key without s3:GetObject: grant \
         s3:ListBucket on arn:aws:s3:::{bucket} or s3:GetObject on arn:aws:s3:::{bucket}/{key} (and s3:PutObject \
         on arn:aws:s3:::{bucket}/lambdas/* to upload), or use a --profile that has them; docs/deploy.md lists what a deployer needs"
    )
}

/// PutObject with `ChecksumAlgorithm: SHA256` and our checksum (S3 refuses bytes that do not match it); the
/// version id it created, if the bucket is versioned.
async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    a: &Artifact,
    denied: Option<DeployError>,
) -> Result<Option<String>, DeployError> {
    let body = std::fs::read(&a.path).map_err(|e| DeployError::io(format!("reading {}", a.path.display()), e))?;
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(&a.key)
        .body(body.into())
        .content_type("application/zip")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(s3_checksum(&a.sha256))
        .send()
        .await;
    match (put, denied) {
        (Ok(out), _) => Ok(out.version_id().map(str::to_string)),
        // neither read nor write: report the HeadObject denial with what to grant
        (Err(e), Some(denied)) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => Err(denied),
        (Err(e), _) => Err(DeployError::sdk("S3 PutObject", e)),
    }
}

/// Make each artifact present in the bucket with our SHA-256 and pin a version: reuse an object only when the
/// checksum S3 stored for it matches, else upload it. The bucket must be versioned (the bootstrap template
/// enables it); when an upload gets no version id, versioning is turned on (PutBucketVersioning Enabled, as the
/// template says) and the object uploaded again. `on_versioning` is told when that happened.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifacts: &[Artifact],
    on_versioning: &(dyn Fn() + Sync),
) -> Result<Vec<Uploaded>, DeployError> {
    let mut done = Vec::new();
    for a in artifacts {
        let (found, denied) = head(s3, bucket, a).await?;
        let (uploaded, version_id, reason) = match decide(&a.sha256, &found) {
            Decision::Reuse { version_id } => (false, version_id, String::new()),
            Decision::Upload { reason } => {
                let version = match put(s3, bucket, a, denied).await? {
                    Some(v) => v,
                    None => {
                        enable_versioning(s3, bucket).await?;
                        on_versioning();
                        put(s3, bucket, a, None).await?.ok_or_else(|| DeployError::Aws {
                            operation: "S3 PutObject",
                            code: None,
                            message: format!(
                                "no VersionId for s3://{bucket}/{} although versioning was just enabled",
                                a.key
                            ),
                            help: "functions are pinned to object versions; check the bucket's versioning \
                                   (`aws s3api get-bucket-versioning`) and run apply again"
                                .into(),
                        })?
                    }
                };
                (true, version, reason)
            }
        };
        done.push(Uploaded {
            function: a.function.clone(),
            key: a.key.clone(),
            size: a.size,
            uploaded,
            version_id,
            reason,
        });
    }
    Ok(done)
}

/// PutBucketVersioning Enabled (what the bootstrap template declares).
async fn enable_versioning(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), DeployError> {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| DeployError::sdk("S3 PutBucketVersioning", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_follow_the_template() {
        assert_eq!(parameter_for("provisioning-hook"), "ProvisioningHookCodeKey");
        assert_eq!(parameter_for("api"), "ApiCodeKey");
        assert_eq!(version_parameter_for("ProvisioningHookCodeKey"), "ProvisioningHookCodeVersion");
    }

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn an_object_is_reused_only_when_its_stored_checksum_matches() {
        let ours = s3_checksum(SHA);
        assert_eq!(ours, "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=");
        let object = |c: Option<&str>, v: Option<&str>| Found::Object {
            checksum_sha256: c.map(str::to_string),
            version_id: v.map(str::to_string),
        };
        let upload = |d: &Decision| matches!(d, Decision::Upload { .. });
        let cases = [
            (Found::Missing, true),
            (Found::Forbidden, true),
            (object(None, Some("v1")), true),
            (object(Some("AAAA"), Some("v1")), true),
            (object(Some(&ours), None), true),
            (object(Some(&ours), Some("v1")), false),
        ];
        for (found, uploads) in cases {
            assert_eq!(upload(&decide(SHA, &found)), uploads, "{found:?}");
        }
        assert_eq!(decide(SHA, &object(Some(&ours), Some("v1"))), Decision::Reuse { version_id: "v1".into() });
    }

    #[test]
    fn live_versions_are_kept_only_for_the_key_the_stack_already_deploys() {
        let a = |f: &str, key: &str| Artifact {
            function: f.into(),
            sha256: SHA.into(),
            size: 1,
            key: key.into(),
            parameter: parameter_for(f),
            version_parameter: version_parameter_for(&parameter_for(f)),
            path: PathBuf::new(),
        };
        let arts = [a("api", "lambdas/api/new.zip"), a("presence", "lambdas/presence/same.zip"), a("hook", "k")];
        let live: BTreeMap<String, String> = [
            ("ApiCodeKey", "lambdas/api/old.zip"),
            ("ApiCodeVersion", "v-old"),
            ("PresenceCodeKey", "lambdas/presence/same.zip"),
            ("PresenceCodeVersion", "v-same"),
            ("HookCodeKey", "k"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = live_versions(&live, &arts, PENDING_VERSION);
        assert_eq!(v["ApiCodeVersion"], PENDING_VERSION, "other key: the upload decides");
        assert_eq!(v["PresenceCodeVersion"], "v-same", "same key: the deployed pin stays");
        assert_eq!(v["HookCodeVersion"], PENDING_VERSION, "deployed before versions were pinned");
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
