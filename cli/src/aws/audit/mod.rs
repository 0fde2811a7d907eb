//! Device Defender audit suppression of the claim policy's one finding by design (`iot:Connect` on
//! `client/rm-claim-*`, docs/security.md): IoT GetPolicy (its default version), DescribeAuditSuppression, and
//! CreateAuditSuppression only when there is none; `destroy` deletes it (GetPolicy, DeleteAuditSuppression). The
//! decisions are [`decide`]'s; this layer only calls.

pub mod decide;

use super::sdk::Clients;
use super::DeployError;
use aws_sdk_iot::types::{PolicyVersionIdentifier, ResourceIdentifier};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use decide::{Created, Described, Next, Outcome, Removed, Request, Start, CHECK_NAME};
use serde::Serialize;

/// What apply reports (`audit_suppression` in its JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub check_name: &'static str,
    pub outcome: Outcome,
    /// The claim policy and its default version, when they were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Request>,
}

impl Suppression {
    /// One line for the progress output.
    pub fn summary(&self) -> String {
        let what = match &self.policy {
            Some(r) => format!("{} version {}", r.policy_name, r.policy_version_id),
            None => "the claim policy".into(),
        };
        match &self.outcome {
            Outcome::Created => format!("Device Defender: suppressed {CHECK_NAME} for {what} (created)"),
            Outcome::AlreadyInPlace => format!("Device Defender: {CHECK_NAME} suppression for {what} already in place"),
            Outcome::InPlaceUntil { expiration } => format!(
                "Device Defender: {CHECK_NAME} suppression for {what} in place until {expiration} (epoch seconds), \
                 left as set"
            ),
            Outcome::Off => "Device Defender audit off (security.device_defender_audit: false): no suppression".into(),
            Outcome::NotChecked => {
                "Device Defender suppression not checked: nothing changed since the last apply".into()
            }
            Outcome::SkippedTestMode => {
                "Device Defender suppression skipped (test mode: moto has no Device Defender)".into()
            }
        }
    }
}

/// Make sure the claim policy's current version has its suppression. `start` is [`decide::start`]'s answer.
pub async fn ensure(c: &Clients, tenant: &str, claim_policy: &str, start: Start) -> Result<Suppression, DeployError> {
    let done = |outcome, policy| Ok(Suppression { check_name: CHECK_NAME, outcome, policy });
    match start {
        Start::Off => return done(Outcome::Off, None),
        Start::Unchanged => return done(Outcome::NotChecked, None),
        Start::TestMode => return done(Outcome::SkippedTestMode, None),
        Start::Check => {}
    }
    let policy =
        c.iot.get_policy().policy_name(claim_policy).send().await.map_err(|e| DeployError::sdk("IoT GetPolicy", e))?;
    let version =
        policy.default_version_id().ok_or_else(|| DeployError::missing("IoT GetPolicy", "defaultVersionId"))?;
    let created = policy.creation_date().map(|d| d.secs().to_string());
    let req = Request::new(tenant, claim_policy, version, created.as_deref());
    let id = || {
        let v =
            PolicyVersionIdentifier::builder().policy_name(&req.policy_name).policy_version_id(&req.policy_version_id);
        ResourceIdentifier::builder().policy_version_identifier(v.build()).build()
    };
    let described =
        match c.iot.describe_audit_suppression().check_name(CHECK_NAME).resource_identifier(id()).send().await {
            Ok(out) => Described::Found {
                indefinitely: out.suppress_indefinitely() == Some(true),
                expiration: out.expiration_date().map(|d| d.secs().to_string()),
            },
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Described::NotFound,
            Err(e) => return Err(DeployError::sdk("IoT DescribeAuditSuppression", e)),
        };
    let outcome = match decide::after_describe(&described) {
        Next::Done(o) => o,
        Next::Create => {
            let sent = c
                .iot
                .create_audit_suppression()
                .check_name(CHECK_NAME)
                .resource_identifier(id())
                .suppress_indefinitely(true)
                .description(&req.description)
                .client_request_token(&req.client_request_token)
                .send()
                .await;
            let created = match sent {
                Ok(_) => Created::Ok,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_already_exists_exception()) => {
                    Created::AlreadyExists
                }
                Err(e) => return Err(DeployError::sdk("IoT CreateAuditSuppression", e)),
            };
            decide::after_create(&created)
        }
    };
    done(outcome, Some(req))
}

/// `destroy`, before the backend stack (and the claim policy) is deleted: delete the suppression of the claim
/// policy's current version. No policy or no suppression is fine (a re-run after an interrupted destroy).
pub async fn remove(c: &Clients, claim_policy: &str, start: Start) -> Result<Removed, DeployError> {
    match start {
        Start::Off => return Ok(Removed::Off),
        Start::TestMode => return Ok(Removed::SkippedTestMode),
        Start::Unchanged | Start::Check => {}
    }
    let version = match c.iot.get_policy().policy_name(claim_policy).send().await {
        Ok(p) => {
            p.default_version_id().ok_or_else(|| DeployError::missing("IoT GetPolicy", "defaultVersionId"))?.to_string()
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            return Ok(decide::after_delete(None))
        }
        Err(e) => return Err(DeployError::sdk("IoT GetPolicy", e)),
    };
    let v = PolicyVersionIdentifier::builder().policy_name(claim_policy).policy_version_id(version);
    let id = ResourceIdentifier::builder().policy_version_identifier(v.build()).build();
    let found = match c.iot.delete_audit_suppression().check_name(CHECK_NAME).resource_identifier(id).send().await {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceNotFoundException") => false,
        Err(e) => return Err(DeployError::sdk("IoT DeleteAuditSuppression", e)),
    };
    Ok(decide::after_delete(Some(found)))
}
