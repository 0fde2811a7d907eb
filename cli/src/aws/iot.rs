//! Account-level IoT steps CloudFormation cannot do: the data endpoint, and the claim certificate (created once,
//! private key written with mode 0600 next to the config and never printed, claim policy attached).

use super::DeployError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The account's `iot:Data-ATS` endpoint host name.
pub async fn data_endpoint(iot: &aws_sdk_iot::Client) -> Result<String, DeployError> {
    let out = iot
        .describe_endpoint()
        .endpoint_type("iot:Data-ATS")
        .send()
        .await
        .map_err(|e| DeployError::sdk("IoT DescribeEndpoint", e))?;
    match out.endpoint_address() {
        Some(a) if !a.is_empty() => Ok(a.to_string()),
        _ => Err(DeployError::missing("IoT DescribeEndpoint", "endpointAddress")),
    }
}

/// The claim certificate: where its files are. The private key never leaves its file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimCertificate {
    pub certificate_id: String,
    pub certificate_arn: String,
    pub certificate_file: PathBuf,
    pub private_key_file: PathBuf,
    /// The IoT policy attached to it.
    pub policy: String,
    /// Created by this run (false: an existing, active one was kept).
    #[serde(default)]
    pub created: bool,
}

const RECORD: &str = "claim.json";
const CERT: &str = "claim.cert.pem";
const KEY: &str = "claim.private.key";

/// Keep the existing active claim certificate, or create one; attach the claim policy when `attach` is set or the
/// certificate is new.
pub async fn ensure_claim(
    iot: &aws_sdk_iot::Client,
    dir: &Path,
    policy: &str,
    attach: bool,
) -> Result<ClaimCertificate, DeployError> {
    if let Some(existing) = read_record(dir)? {
        let active = match iot.describe_certificate().certificate_id(&existing.certificate_id).send().await {
            Ok(out) => out.certificate_description().and_then(|d| d.status()).is_some_and(|s| s.as_str() == "ACTIVE"),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => false,
            Err(e) => return Err(DeployError::sdk("IoT DescribeCertificate", e)),
        };
        if active && existing.private_key_file.exists() {
            if attach {
                attach_policy(iot, policy, &existing.certificate_arn).await?;
            }
            return Ok(ClaimCertificate { created: false, policy: policy.into(), ..existing });
        }
    }
    let out = iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .map_err(|e| DeployError::sdk("IoT CreateKeysAndCertificate", e))?;
    const OP: &str = "IoT CreateKeysAndCertificate";
    let key = out.key_pair().and_then(|k| k.private_key()).ok_or(DeployError::missing(OP, "keyPair.PrivateKey"))?;
    let pem = out.certificate_pem().ok_or(DeployError::missing(OP, "certificatePem"))?;
    let id = out.certificate_id().ok_or(DeployError::missing(OP, "certificateId"))?;
    let arn = out.certificate_arn().ok_or(DeployError::missing(OP, "certificateArn"))?;
    create_private_dir(dir)?;
    let claim = ClaimCertificate {
        certificate_id: id.to_string(),
        certificate_arn: arn.to_string(),
        certificate_file: dir.join(CERT),
        private_key_file: dir.join(KEY),
        policy: policy.to_string(),
        created: true,
    };
    write_private(&claim.private_key_file, key.as_bytes())?;
    write_private(&claim.certificate_file, pem.as_bytes())?;
    let record = serde_json::to_string_pretty(&claim).map_err(|e| DeployError::io("serializing claim.json", e))?;
    write_private(&dir.join(RECORD), record.as_bytes())?;
    attach_policy(iot, policy, &claim.certificate_arn).await?;
    Ok(claim)
}

/// The claim certificate recorded next to the config, if any; a record that cannot be read is an error (ignoring
/// it would create a second active claim certificate). The certificate and key files are the ones beside the
/// record, whatever paths it stored (older records held paths relative to the working directory of the run that
/// wrote them, and a moved state directory keeps its files together).
pub fn read_record(dir: &Path) -> Result<Option<ClaimCertificate>, DeployError> {
    let path = dir.join(RECORD);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DeployError::io(format!("reading {}", path.display()), e)),
    };
    let record: ClaimCertificate =
        serde_json::from_str(&text).map_err(|e| DeployError::io(format!("reading {}", path.display()), e))?;
    Ok(Some(ClaimCertificate { certificate_file: dir.join(CERT), private_key_file: dir.join(KEY), ..record }))
}

async fn attach_policy(iot: &aws_sdk_iot::Client, policy: &str, arn: &str) -> Result<(), DeployError> {
    iot.attach_policy()
        .policy_name(policy)
        .target(arn)
        .send()
        .await
        .map_err(|e| DeployError::sdk("IoT AttachPolicy", e))?;
    Ok(())
}

/// Create a directory only its owner can enter (0700 on Unix), with a .gitignore that keeps it out of git.
pub fn create_private_dir(dir: &Path) -> Result<(), DeployError> {
    std::fs::create_dir_all(dir).map_err(|e| DeployError::io(format!("creating {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| DeployError::io(format!("restricting {}", dir.display()), e))?;
    }
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").map_err(|e| DeployError::io(format!("writing {}", ignore.display()), e))?;
    }
    Ok(())
}

/// Write a file readable only by its owner (0600 on Unix, set before any byte is written), atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DeployError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let err = |e: std::io::Error| DeployError::io(format!("writing {}", path.display()), e);
    let mut f = opts.open(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn private_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        super::write_private(&p, b"secret").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
