//! What the tenant's account says about its claim certificates, read only: the secret's current and retiring ones
//! and every other target of the claim policy, each with IoT's status. Shared by `claim show` and `status`.

use super::plan::{fingerprint, rfc3339};
use super::secret::{self, Read, Stored};
use super::{certs, health::SecretSeen};
use crate::aws::sdk::Clients;
use crate::aws::DeployError;
use serde::Serialize;

/// One certificate as `claim show` and `status` list it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShownCertificate {
    /// `current`, `retiring` (replaced, in its grace period) or `stray` (attached, recorded nowhere).
    pub role: &'static str,
    pub certificate_id: String,
    pub certificate_arn: Option<String>,
    /// DescribeCertificate's status (none: not registered in IoT).
    pub status: Option<String>,
    pub created: Option<String>,
    pub attached: bool,
    /// SHA-256 of the certificate's DER (hex).
    pub fingerprint: Option<String>,
    /// For a retiring certificate: not deactivated before this time.
    pub not_before: Option<String>,
}

/// The secret as read, and the certificates: every target of the claim policy (ListTargetsForPolicy, every page;
/// DescribeCertificate each), and the recorded one first when it is not attached. Never a key.
pub async fn observe(
    c: &Clients,
    secret_name: &str,
    policy: &str,
) -> Result<(SecretSeen, Vec<ShownCertificate>), DeployError> {
    let read = secret::read(&c.secrets, secret_name).await?;
    let stored = match &read {
        Read::Present { stored, .. } => Some(stored),
        _ => None,
    };
    let targets = certs::targets(&c.iot, policy).await?;
    let mut shown = Vec::new();
    let mut current_found = false;
    for arn in &targets {
        let Some(id) = certs::id_of(arn) else { continue };
        let d = certs::description(&c.iot, id).await?;
        let pem = d.as_ref().and_then(|d| d.certificate_pem());
        let role = role(stored, id, arn, pem);
        current_found |= role == "current";
        let not_before = stored
            .and_then(|s| s.retiring.iter().find(|r| r.certificate_id == id || r.certificate_arn == *arn))
            .map(|r| r.not_before.clone());
        shown.push(entry(role, id, Some(arn.clone()), d.as_ref(), true, pem.and_then(fingerprint), not_before));
    }
    if let Some(stored) = stored.filter(|_| !current_found) {
        // registered but not attached, or not registered yet (a run stopped early): the next apply fixes either
        // IoT's id: the one in the ARN the secret recorded once registered (an id is not always the SHA-256 the
        // secret was written with), else that one
        let id = stored.certificate_arn.as_deref().and_then(certs::id_of).unwrap_or(stored.certificate_id.as_str());
        let d = certs::description(&c.iot, id).await?;
        let arn = d.as_ref().and_then(|d| d.certificate_arn()).map(str::to_string).or(stored.certificate_arn.clone());
        let fp = fingerprint(&stored.certificate_pem);
        shown.insert(0, entry("current", id, arn, d.as_ref(), false, fp, None));
    }
    let seen = match read {
        Read::Absent => SecretSeen::Absent,
        Read::PendingDeletion => SecretSeen::PendingDeletion,
        Read::Present { .. } => SecretSeen::Present,
    };
    Ok((seen, shown))
}

/// A target's role: the secret's certificate (same PEM or id), one it lists as retiring, or a stray.
fn role(stored: Option<&Stored>, id: &str, arn: &str, pem: Option<&str>) -> &'static str {
    let Some(s) = stored else { return "stray" };
    if pem.is_some_and(|p| p.trim() == s.certificate_pem.trim()) || id == s.certificate_id {
        "current"
    } else if s.retiring.iter().any(|r| r.certificate_id == id || r.certificate_arn == arn) {
        "retiring"
    } else {
        "stray"
    }
}

fn entry(
    role: &'static str,
    id: &str,
    arn: Option<String>,
    d: Option<&aws_sdk_iot::types::CertificateDescription>,
    attached: bool,
    fingerprint: Option<String>,
    not_before: Option<String>,
) -> ShownCertificate {
    ShownCertificate {
        role,
        certificate_id: id.to_string(),
        certificate_arn: arn,
        status: d.and_then(|d| d.status()).map(|s| s.as_str().to_string()),
        created: d.and_then(|d| d.creation_date()).map(|t| rfc3339(t.secs())),
        attached,
        fingerprint,
        not_before,
    }
}
