//! The claim certificate's record in the tenant's account: one Secrets Manager secret (`rm-<tenant>-claim-certificate`)
//! whose AWSCURRENT version holds the certificate id, PEM and private key as JSON, encrypted with the account's
//! `aws/secretsmanager` key, or the tenant key with `security.kms: customer-managed` ([`super::encrypt`]), and
//! tagged with the tenant.

use super::super::DeployError;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The secret's JSON. `Debug` never shows the key.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    /// The certificate's id: hex SHA-256 of its DER, known before it is registered.
    pub certificate_id: String,
    /// Unknown until AWS IoT registered it (the secret is written first); the policy's targets and
    /// DescribeCertificate give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    pub certificate_pem: String,
    pub private_key: String,
    /// The claim policy it carries.
    pub policy: String,
    /// Certificates a rotation replaced, still attached until `claim rotate --finish` (ARNs).
    #[serde(default)]
    pub retiring: Vec<Retiring>,
}

/// A certificate replaced by a rotation, kept working until its grace period ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Retiring {
    pub certificate_id: String,
    pub certificate_arn: String,
    /// RFC 3339: not deactivated before this time.
    pub not_before: String,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("certificate_id", &self.certificate_id)
            .field("certificate_arn", &self.certificate_arn)
            .field("policy", &self.policy)
            .field("retiring", &self.retiring)
            .finish_non_exhaustive()
    }
}

/// What GetSecretValue found.
#[derive(Debug, Clone)]
pub enum Read {
    Absent,
    PendingDeletion,
    Present { stored: Stored, version_id: String },
}

/// The secret's AWSCURRENT version. A secret that does not parse is an error naming it (replacing it would lose
/// the only copy of a key that firmware may carry).
pub async fn read(sm: &aws_sdk_secretsmanager::Client, name: &str) -> Result<Read, DeployError> {
    let out = match sm.get_secret_value().secret_id(name).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(Read::Absent),
        // what GetSecretValue answers for a secret scheduled for deletion: confirm with DescribeSecret
        Err(e) if e.code() == Some("InvalidRequestException") => {
            let d = sm
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| DeployError::sdk("Secrets Manager DescribeSecret", e))?;
            if d.deleted_date().is_some() {
                return Ok(Read::PendingDeletion);
            }
            return Err(DeployError::sdk("Secrets Manager GetSecretValue", e));
        }
        Err(e) => return Err(DeployError::sdk("Secrets Manager GetSecretValue", e)),
    };
    const OP: &str = "Secrets Manager GetSecretValue";
    let text = out.secret_string().ok_or(DeployError::missing(OP, "SecretString"))?;
    let version_id = out.version_id().ok_or(DeployError::missing(OP, "VersionId"))?.to_string();
    let stored: Stored = serde_json::from_str(text).map_err(|e| DeployError::Claim {
        message: format!("secret {name} does not hold a claim certificate record: {e}"),
        help: "it must be the JSON rainmaker-deploy wrote (certificate_id, certificate_arn, certificate_pem, \
               private_key, policy); restore a good version (`aws secretsmanager update-secret-version-stage`) or \
               delete the secret if no device uses its certificate"
            .into(),
    })?;
    Ok(Read::Present { stored, version_id })
}

fn body(stored: &Stored) -> Result<String, DeployError> {
    serde_json::to_string(stored).map_err(|e| DeployError::io("serializing the claim secret", e))
}

/// CreateSecret, encrypted with `kms_key` (an ARN; none: `aws/secretsmanager`). `Ok(None)`: another run created
/// it first (ResourceExistsException); read it again.
pub async fn create(
    sm: &aws_sdk_secretsmanager::Client,
    name: &str,
    tenant: &str,
    tags: &BTreeMap<String, String>,
    stored: &Stored,
    kms_key: Option<&str>,
) -> Result<Option<String>, DeployError> {
    let mut req = sm
        .create_secret()
        .name(name)
        .description(format!(
            "rainmaker-deploy: the fleet-provisioning claim certificate of tenant {tenant} (id, PEM, private key)"
        ))
        .secret_string(body(stored)?)
        .set_kms_key_id(kms_key.map(str::to_string));
    for (k, v) in tags {
        req = req.tags(aws_sdk_secretsmanager::types::Tag::builder().key(k).value(v).build());
    }
    match req.send().await {
        Ok(out) => Ok(Some(
            out.version_id().ok_or(DeployError::missing("Secrets Manager CreateSecret", "VersionId"))?.to_string(),
        )),
        Err(e) if e.code() == Some("ResourceExistsException") => Ok(None),
        Err(e) => Err(DeployError::sdk("Secrets Manager CreateSecret", e)),
    }
}

/// PutSecretValue: a new AWSCURRENT version; the one before becomes AWSPREVIOUS. The SDK fills the
/// ClientRequestToken, so its retries do not make a second version.
pub async fn put(sm: &aws_sdk_secretsmanager::Client, name: &str, stored: &Stored) -> Result<String, DeployError> {
    const OP: &str = "Secrets Manager PutSecretValue";
    let out = sm
        .put_secret_value()
        .secret_id(name)
        .secret_string(body(stored)?)
        .send()
        .await
        .map_err(|e| DeployError::sdk(OP, e))?;
    Ok(out.version_id().ok_or(DeployError::missing(OP, "VersionId"))?.to_string())
}

/// RestoreSecret (cancels a scheduled deletion).
pub async fn restore(sm: &aws_sdk_secretsmanager::Client, name: &str) -> Result<(), DeployError> {
    sm.restore_secret()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| DeployError::sdk("Secrets Manager RestoreSecret", e))?;
    Ok(())
}

/// The recovery window of a deleted claim secret.
pub const RECOVERY_DAYS: i64 = 7;

/// DeleteSecret with a [`RECOVERY_DAYS`] recovery window; a secret already gone or already scheduled is fine.
pub async fn delete(sm: &aws_sdk_secretsmanager::Client, name: &str) -> Result<bool, DeployError> {
    match sm.delete_secret().secret_id(name).recovery_window_in_days(RECOVERY_DAYS).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(false),
        Err(e) if e.code() == Some("InvalidRequestException") => match read(sm, name).await? {
            Read::PendingDeletion => Ok(false),
            _ => Err(DeployError::sdk("Secrets Manager DeleteSecret", e)),
        },
        Err(e) => Err(DeployError::sdk("Secrets Manager DeleteSecret", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let s = Stored {
            certificate_id: "abc".into(),
            certificate_arn: Some("arn:aws:iot:eu-west-1:123456789012:cert/abc".into()),
            certificate_pem: "-----BEGIN CERTIFICATE-----".into(),
            private_key: "-----BEGIN RSA PRIVATE KEY-----SECRET".into(),
            policy: "rm-acme-claim".into(),
            retiring: vec![],
        };
        let d = format!("{s:?}");
        assert!(d.contains("abc") && !d.contains("SECRET") && !d.contains("PRIVATE"), "{d}");
        let back: Stored = serde_json::from_str(&body(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
