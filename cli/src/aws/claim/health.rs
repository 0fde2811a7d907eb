//! The pure judgement behind `status`'s claim section: from what the tenant's account holds (the claim secret, the
//! certificates attached to the claim policy and their status) and the local copy, what is wrong and what to run.
//! No AWS types.

use super::view::ShownCertificate;
use serde::Serialize;

/// What Secrets Manager holds under the claim secret's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSeen {
    Absent,
    /// Deleted with a recovery window (what `destroy` leaves).
    PendingDeletion,
    Present,
}

/// The local copy (`claim.json` under the state directory) against the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalCopy {
    /// It names the account's current certificate.
    Same,
    /// It names another certificate (or the account records none): the next apply rewrites it.
    Stale,
    /// None here (a fresh working directory, a CI runner): nothing is wrong.
    Absent,
}

/// Something wrong with the claim certificate, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimWarning {
    pub message: String,
    pub help: String,
}

/// The claim certificate as the tenant's account holds it (`status`).
#[derive(Debug, Clone, Serialize)]
pub struct ClaimStatus {
    /// `account`: read from Secrets Manager and IoT, whatever the local copy says.
    pub source: &'static str,
    pub secret: String,
    pub secret_state: SecretSeen,
    pub policy: String,
    /// The certificate the secret records (none without a secret).
    pub certificate_id: Option<String>,
    pub certificate_arn: Option<String>,
    /// Its DescribeCertificate status (none: not registered in IoT).
    pub status: Option<String>,
    /// Attached to the claim policy.
    pub attached: bool,
    /// Ids of the ACTIVE certificates attached to the claim policy: one when all is well, more during a
    /// rotation's grace period or with strays.
    pub active_attached: Vec<String>,
    /// Every certificate seen (the recorded one, retiring ones, strays), as `claim show` lists them.
    pub certificates: Vec<ShownCertificate>,
    pub local_copy: LocalCopy,
    /// Empty when exactly the recorded certificate is ACTIVE and attached and the local copy (if any) agrees.
    pub warnings: Vec<ClaimWarning>,
}

fn active_attached(c: &ShownCertificate) -> bool {
    c.attached && c.status.as_deref() == Some("ACTIVE")
}

/// Judge what was read. `deployed`: the backend stack exists (without it, no secret is expected); `local`: the id
/// in the local copy, if there is one.
pub fn assess(
    secret: &str,
    policy: &str,
    seen: SecretSeen,
    certificates: Vec<ShownCertificate>,
    local: Option<&str>,
    deployed: bool,
) -> ClaimStatus {
    let current = certificates.iter().find(|c| c.role == "current").filter(|_| seen == SecretSeen::Present);
    let active: Vec<&ShownCertificate> = certificates.iter().filter(|c| active_attached(c)).collect();
    let mut warnings = Vec::new();
    let mut warn = |message: String, help: String| warnings.push(ClaimWarning { message, help });
    match (seen, current) {
        (SecretSeen::PendingDeletion, _) => warn(
            format!("the claim secret {secret} is scheduled for deletion (an earlier `destroy`)"),
            "`rainmaker-deploy apply` restores it (within its 7-day recovery window) and attaches its certificate \
             again"
                .into(),
        ),
        (SecretSeen::Absent, _) | (SecretSeen::Present, None) if deployed || !certificates.is_empty() => warn(
            match certificates.len() {
                0 => format!("no claim certificate is recorded in secret {secret}: devices cannot provision"),
                n => format!(
                    "no claim certificate is recorded in secret {secret}; {n} attached to {policy} recorded nowhere"
                ),
            },
            "`rainmaker-deploy apply` creates one (run it where an older rainmaker-deploy's claim.json is, and it \
             moves that certificate into the secret instead)"
                .into(),
        ),
        (SecretSeen::Present, Some(c)) if !active_attached(c) => {
            let state = c.status.as_deref().unwrap_or("not registered in AWS IoT");
            let detached = if c.attached { "" } else { ", not attached" };
            let message = if active.is_empty() {
                format!(
                    "no ACTIVE claim certificate is attached to {policy}: devices cannot provision (the recorded \
                     {} is {state}{detached})",
                    c.certificate_id
                )
            } else {
                format!("the recorded claim certificate {} is {state}{detached}", c.certificate_id)
            };
            let on_purpose = c.status.as_deref().is_some_and(|s| s != "ACTIVE" && s != "REVOKED");
            let help = if on_purpose {
                format!(
                    "someone set it {state}: make it ACTIVE again (`aws iot update-certificate --certificate-id {} \
                     --new-status ACTIVE`) and run `rainmaker-deploy apply`, or REVOKED to have the next apply \
                     replace it",
                    c.certificate_id
                )
            } else {
                "`rainmaker-deploy apply` registers and attaches it (a revoked or deleted one is replaced)".into()
            };
            warn(message, help);
        }
        _ => {}
    }
    if active.len() > 1 {
        let ids: Vec<&str> = active.iter().map(|c| c.certificate_id.as_str()).collect();
        let retiring: Vec<&&ShownCertificate> = active.iter().filter(|c| c.role == "retiring").collect();
        let strays = active.iter().filter(|c| c.role == "stray").count();
        let mut why = Vec::new();
        let mut help = Vec::new();
        if !retiring.is_empty() {
            let until = retiring.iter().filter_map(|c| c.not_before.as_deref()).max().unwrap_or("?");
            why.push(format!("{} replaced by `claim rotate`, working until {until}", retiring.len()));
            help.push(
                "`rainmaker-deploy claim rotate --finish` deletes the replaced ones once their grace period has \
                       ended"
                    .to_string(),
            );
        }
        if strays > 0 {
            why.push(format!("{strays} recorded nowhere"));
            help.push(format!(
                "a certificate recorded nowhere is deleted by `rainmaker-deploy destroy`; while the tenant stays, \
                 detach it when no firmware uses it (`aws iot detach-policy --policy-name {policy} --target ARN`)"
            ));
        }
        warn(
            format!(
                "{} ACTIVE claim certificates are attached to {policy} ({}): {}",
                ids.len(),
                why.join(", "),
                ids.join(", ")
            ),
            help.join("; "),
        );
    }
    let local_copy = match (local, current) {
        (None, _) => LocalCopy::Absent,
        (Some(l), Some(c)) if l == c.certificate_id => LocalCopy::Same,
        (Some(_), _) => LocalCopy::Stale,
    };
    if let (LocalCopy::Stale, Some(c), Some(l)) = (local_copy, current, local) {
        warn(
            format!("the local copy (claim.json) holds {l}, the account's claim certificate is {}", c.certificate_id),
            "`rainmaker-deploy apply` rewrites the local copy from the secret".into(),
        );
    }
    ClaimStatus {
        source: "account",
        secret: secret.to_string(),
        secret_state: seen,
        policy: policy.to_string(),
        certificate_id: current.map(|c| c.certificate_id.clone()),
        certificate_arn: current.and_then(|c| c.certificate_arn.clone()),
        status: current.and_then(|c| c.status.clone()),
        attached: current.is_some_and(|c| c.attached),
        active_attached: ids_of(&active),
        certificates: certificates.clone(),
        local_copy,
        warnings,
    }
}

fn ids_of(c: &[&ShownCertificate]) -> Vec<String> {
    c.iter().map(|c| c.certificate_id.clone()).collect()
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
