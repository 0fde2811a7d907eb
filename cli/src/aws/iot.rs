//! Account-level IoT steps CloudFormation cannot do: the data endpoint, and the claim certificate's local copy
//! (record, certificate and a 0600 private key under the tenant's state directory; the account's record is the
//! secret, see [`super::claim`]).

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

/// The claim certificate: where its local copy is. The private key never leaves its file (and its secret).
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
    /// The Secrets Manager secret that is the record of it in the account (none: a record written before the
    /// secret existed, adopted into one by the next full apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The secret version this local copy was written from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version_id: Option<String>,
    /// Other certificates attached to the claim policy that no secret records (reported, not deleted by apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strays: Vec<String>,
}

pub(crate) const RECORD: &str = "claim.json";
pub(crate) const CERT: &str = "claim.cert.pem";
pub(crate) const KEY: &str = "claim.private.key";

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
