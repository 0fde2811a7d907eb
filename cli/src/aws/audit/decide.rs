//! What apply does about the one Device Defender finding that stays by design (the claim policy's `iot:Connect` on
//! `client/rm-claim-*`, docs/security.md): a decision over data — the config switch, the test mode, then IoT
//! GetPolicy's default version and DescribeAuditSuppression's answer — plus the suppression's request fields
//! (description, deterministic client request token). No AWS here; `super` makes the calls.

use crate::aws::verify::Omissions;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The Device Defender check whose finding is suppressed.
pub const CHECK_NAME: &str = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK";

/// Before any call: whether the step runs at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `security.device_defender_audit: false`: no audit, nothing to suppress, no call.
    Off,
    /// Nothing changed in the backend and no verification was asked for: the claim policy version is the one the
    /// previous apply handled; no call (the no-op fast path keeps its three calls).
    Unchanged,
    /// Test mode against moto (no Device Defender API there): no call.
    TestMode,
    /// Read the policy and the suppression.
    Check,
}

/// The step's start: `audit` is `security.device_defender_audit`, `backend_unchanged` whether neither stack changed
/// and no verification was asked for.
pub fn start(audit: bool, backend_unchanged: bool, om: Omissions) -> Start {
    match (audit, om) {
        (false, _) => Start::Off,
        (true, Omissions::Moto) => Start::TestMode,
        (true, Omissions::Strict) if backend_unchanged => Start::Unchanged,
        (true, Omissions::Strict) => Start::Check,
    }
}

/// DescribeAuditSuppression's answer for the claim policy's default version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    /// `ResourceNotFoundException`: no suppression of this check for this policy version.
    NotFound,
    /// A suppression exists: indefinitely, or until `expiration` (epoch seconds as the API sends it).
    Found { indefinitely: bool, expiration: Option<String> },
}

/// What to do after Describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing to write.
    Done(Outcome),
    /// CreateAuditSuppression with [`Request`].
    Create,
}

/// What the step did, as the apply report shows it (`audit_suppression.outcome`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// CreateAuditSuppression succeeded.
    Created,
    /// A suppression was already there (Describe found it, or Create answered ResourceAlreadyExistsException: a
    /// retry after a lost answer, or another run meanwhile).
    AlreadyInPlace,
    /// Found, but with an expiration date someone set: left as it is (the finding returns after it).
    InPlaceUntil { expiration: String },
    /// `security.device_defender_audit: false`.
    Off,
    /// Nothing changed since the previous apply (not read again).
    NotChecked,
    /// Test mode against moto.
    SkippedTestMode,
}

/// Given Describe's answer.
pub fn after_describe(d: &Described) -> Next {
    match d {
        Described::NotFound => Next::Create,
        Described::Found { indefinitely: true, .. } => Next::Done(Outcome::AlreadyInPlace),
        Described::Found { indefinitely: false, expiration: Some(e) } => {
            Next::Done(Outcome::InPlaceUntil { expiration: e.clone() })
        }
        // neither indefinite nor dated: the API always sends one of them; treat it as in place, it exists
        Described::Found { indefinitely: false, expiration: None } => Next::Done(Outcome::AlreadyInPlace),
    }
}

/// How CreateAuditSuppression ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Ok,
    /// `ResourceAlreadyExistsException`.
    AlreadyExists,
}

pub fn after_create(c: &Created) -> Outcome {
    match c {
        Created::Ok => Outcome::Created,
        Created::AlreadyExists => Outcome::AlreadyInPlace,
    }
}

/// What `destroy` did with the suppression of the claim policy's current version (`audit_suppression` in its
/// report): deleted before the backend stack (and the policy with it) goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Removed {
    /// DeleteAuditSuppression succeeded.
    Deleted,
    /// DeleteAuditSuppression answered ResourceNotFoundException: none (never made, or an earlier run deleted it).
    AlreadyGone,
    /// GetPolicy answered ResourceNotFoundException: no claim policy, so no version to have a suppression.
    NoPolicy,
    /// `security.device_defender_audit: false`: no call.
    Off,
    /// Test mode against moto: no call.
    SkippedTestMode,
}

/// `destroy`'s start: the same switch and test mode as apply's, never "unchanged".
pub fn removal_start(audit: bool, om: Omissions) -> Start {
    start(audit, false, om)
}

/// How GetPolicy then DeleteAuditSuppression ended (`None`: GetPolicy found no policy; `Some(found)`: whether
/// DeleteAuditSuppression found one to delete).
pub fn after_delete(deleted: Option<bool>) -> Removed {
    match deleted {
        None => Removed::NoPolicy,
        Some(true) => Removed::Deleted,
        Some(false) => Removed::AlreadyGone,
    }
}

/// The fields of DescribeAuditSuppression / CreateAuditSuppression for one policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub policy_name: String,
    pub policy_version_id: String,
    #[serde(skip)]
    pub description: String,
    #[serde(skip)]
    pub client_request_token: String,
}

impl Request {
    /// `created` is GetPolicy's `creationDate` as sent (it tells a policy re-created after a destroy from the one
    /// before, so their tokens differ; a retry of the same apply gets the same token).
    pub fn new(tenant: &str, policy_name: &str, policy_version_id: &str, created: Option<&str>) -> Request {
        Request {
            policy_name: policy_name.into(),
            policy_version_id: policy_version_id.into(),
            description: description(tenant),
            client_request_token: token(tenant, policy_name, policy_version_id, created),
        }
    }
}

/// Why the finding is suppressed: at most 1,000 characters of `[\p{Graph}\x20]` (the API's constraint).
pub fn description(tenant: &str) -> String {
    format!(
        "rainmaker-deploy tenant {tenant}: fleet provisioning by claim needs distinct client ids in the rm-claim- \
         namespace (a shared claim certificate has no thing attached, so IsAttached cannot apply); iot:Connect is \
         limited to client/rm-claim-*, see docs/security.md"
    )
}

/// The client request token: `rm-` and 48 hex digits of SHA-256 over tenant, policy name, version and creation date
/// (the API allows 1-64 of `[a-zA-Z0-9-_]`).
pub fn token(tenant: &str, policy_name: &str, policy_version_id: &str, created: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in ["audit-suppression", tenant, policy_name, policy_version_id, created.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("rm-{}", &hex::encode(h.finalize())[..48])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_table() {
        use Omissions::*;
        let starts = [
            (false, false, Strict, Start::Off),
            (false, true, Strict, Start::Off),
            (false, false, Moto, Start::Off),
            (true, false, Moto, Start::TestMode),
            (true, true, Moto, Start::TestMode),
            (true, true, Strict, Start::Unchanged),
            (true, false, Strict, Start::Check),
        ];
        for (audit, unchanged, om, want) in starts {
            assert_eq!(start(audit, unchanged, om), want, "audit {audit} unchanged {unchanged} {om:?}");
        }
        let described = [
            (Described::NotFound, Next::Create),
            (Described::Found { indefinitely: true, expiration: None }, Next::Done(Outcome::AlreadyInPlace)),
            (
                Described::Found { indefinitely: false, expiration: Some("1798761600".into()) },
                Next::Done(Outcome::InPlaceUntil { expiration: "1798761600".into() }),
            ),
            (Described::Found { indefinitely: false, expiration: None }, Next::Done(Outcome::AlreadyInPlace)),
        ];
        for (d, want) in described {
            assert_eq!(after_describe(&d), want, "{d:?}");
        }
        assert_eq!(after_create(&Created::Ok), Outcome::Created);
        assert_eq!(after_create(&Created::AlreadyExists), Outcome::AlreadyInPlace);
        assert_eq!(removal_start(false, Strict), Start::Off);
        assert_eq!(removal_start(true, Moto), Start::TestMode);
        assert_eq!(removal_start(true, Strict), Start::Check);
        assert_eq!(after_delete(None), Removed::NoPolicy);
        assert_eq!(after_delete(Some(true)), Removed::Deleted);
        assert_eq!(after_delete(Some(false)), Removed::AlreadyGone);
    }

    #[test]
    fn the_token_is_deterministic_valid_and_per_policy_version() {
        let a = token("acme", "rm-acme-claim", "1", Some("1730100000"));
        assert_eq!(a, token("acme", "rm-acme-claim", "1", Some("1730100000")));
        assert_eq!(a.len(), 51);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        for other in [
            token("acme2", "rm-acme-claim", "1", Some("1730100000")),
            token("acme", "rm-acme-claim", "2", Some("1730100000")),
            token("acme", "rm-acme-claim", "1", Some("1730200000")),
            token("acme", "rm-acme-claim", "1", None),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn the_description_fits_the_api_constraint_for_the_longest_tenant() {
        let d = description(&"t".repeat(32));
        assert!(d.len() <= 1000, "{}", d.len());
        // [\p{Graph}\x20]*: printable, no control characters (ASCII only here)
        assert!(d.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{d}");
        assert!(d.contains("rm-claim-") && d.contains("docs/security.md"), "{d}");
    }
}
