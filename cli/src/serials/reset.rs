//! `serials reset SERIAL`: let a serial provision again without its old certificate (issue 8, high 4). In this
//! order, each step idempotent so an interrupted reset is finished by running it again:
//! 1. revoke the old certificate (`UpdateCertificate REVOKED`): from now on it cannot connect;
//! 2. detach it from the thing (`DetachThingPrincipal`) and detach every policy from it (`DetachPolicy`);
//! 3. unless `--keep-owner`: clear the owner and every grant through [`rainmaker_model::unbind`], and delete the
//!    thing's classic shadow (`DeleteThingShadow`: the previous owner's desired and reported state);
//! 4. remove the certificate from the node (presence and binding accept none until the device provisions again);
//! 5. last, clear the allow-list's provisioned state (conditioned on the old certificate), so the device can
//!    provision again only when everything above is done.

use super::error::{sdk, SerialsError};
use super::inspect::{certificate, get_consistent};
use super::resources::{SerialsClients, SerialsResources};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use serde::Serialize;

/// What a reset finds before it changes anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub provisioned: bool,
    pub certificate_id: Option<String>,
    /// `DescribeCertificate`'s status (`NOT_FOUND` when IoT has none).
    pub certificate_status: Option<String>,
    /// The certificate is attached to the thing.
    pub attached_to_thing: bool,
    /// Policies attached to the certificate.
    pub policies: Vec<String>,
    /// The node's owner (never printed).
    pub owner: Option<String>,
    /// The node records a certificate.
    pub node_certificate: bool,
    /// The thing has a classic shadow (`GetThingShadow` found one).
    pub shadow: bool,
}

/// One step of a reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    RevokeCertificate { certificate_id: String },
    DetachFromThing { certificate_id: String },
    DetachPolicy { policy: String },
    Unbind { grants: bool },
    DeleteShadow,
    ClearNodeCertificate,
    ClearProvisioned,
}

/// The steps a reset takes from `state` (pure): nothing that is already done, in the module's order.
pub fn plan(state: &State, keep_owner: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(cert) = &state.certificate_id {
        if !matches!(state.certificate_status.as_deref(), Some("REVOKED") | Some("NOT_FOUND")) {
            steps.push(Step::RevokeCertificate { certificate_id: cert.clone() });
        }
        if state.attached_to_thing {
            steps.push(Step::DetachFromThing { certificate_id: cert.clone() });
        }
        for p in &state.policies {
            steps.push(Step::DetachPolicy { policy: p.clone() });
        }
    }
    if !keep_owner && state.owner.is_some() {
        steps.push(Step::Unbind { grants: true });
    }
    if !keep_owner && state.shadow {
        steps.push(Step::DeleteShadow);
    }
    if state.node_certificate {
        steps.push(Step::ClearNodeCertificate);
    }
    if state.provisioned || state.certificate_id.is_some() {
        steps.push(Step::ClearProvisioned);
    }
    steps
}

/// What a reset did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct ResetReport {
    pub serial: String,
    pub dry_run: bool,
    pub steps: Vec<Step>,
    /// Grants removed by the unbind (count only: no user id is printed).
    pub removed_grants: usize,
}

async fn read_state(
    c: &SerialsClients,
    r: &SerialsResources,
    serial: &str,
) -> Result<(State, Option<String>), SerialsError> {
    let item = get_consistent(c, &r.tables.serial_allowlist, attr::SERIAL, serial)
        .await?
        .ok_or_else(|| SerialsError::Unknown { serial: serial.into(), tenant: r.tenant.clone() })?;
    let mut state = State {
        provisioned: matches!(item.get(attr::PROVISIONED), Some(AttributeValue::Bool(true))),
        certificate_id: item.get(attr::CERTIFICATE_ID).and_then(|v| v.as_s().ok()).cloned(),
        ..State::default()
    };
    if let Some(n) = get_consistent(c, &r.tables.nodes, attr::NODE_ID, serial).await? {
        state.owner = n.get(attr::OWNER_ID).and_then(|v| v.as_s().ok()).cloned();
        state.node_certificate = n.contains_key(attr::CERTIFICATE_ID);
    }
    state.shadow = has_shadow(&c.iot_data().await?, serial).await?;
    let mut arn = None;
    if let Some(cert) = state.certificate_id.clone() {
        let described = certificate(c, &cert).await?;
        state.certificate_status = Some(described.status);
        arn = described.arn;
        if let Some(arn) = &arn {
            state.attached_to_thing = thing_principals(c, serial).await?.iter().any(|p| p == arn);
            state.policies = attached_policies(c, arn).await?;
        }
    }
    Ok((state, arn))
}

/// Whether the thing has a classic shadow (`ResourceNotFoundException`: no).
async fn has_shadow(iot_data: &aws_sdk_iotdataplane::Client, thing: &str) -> Result<bool, SerialsError> {
    match iot_data.get_thing_shadow().thing_name(thing).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(false),
        Err(e) => Err(sdk("IoT GetThingShadow")(e)),
    }
}

async fn thing_principals(c: &SerialsClients, thing: &str) -> Result<Vec<String>, SerialsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let resp = match c.iot.list_thing_principals().thing_name(thing).set_next_token(token).send().await {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(out),
            Err(e) => return Err(sdk("IoT ListThingPrincipals")(e)),
        };
        out.extend(resp.principals().iter().cloned());
        token = resp.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn attached_policies(c: &SerialsClients, target: &str) -> Result<Vec<String>, SerialsError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let resp = c
            .iot
            .list_attached_policies()
            .target(target)
            .set_marker(marker)
            .send()
            .await
            .map_err(sdk("IoT ListAttachedPolicies"))?;
        out.extend(resp.policies().iter().filter_map(|p| p.policy_name()).map(str::to_string));
        marker = resp.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// Reset `serial` (see the module documentation); `confirm` sees the plan and may refuse it.
pub async fn reset(
    c: &SerialsClients,
    r: &SerialsResources,
    serial: &str,
    keep_owner: bool,
    dry_run: bool,
    confirm: &dyn Fn(&[Step]) -> bool,
) -> Result<ResetReport, SerialsError> {
    let (state, arn) = read_state(c, r, serial).await?;
    let steps = plan(&state, keep_owner);
    let mut report = ResetReport { serial: serial.into(), dry_run, steps: steps.clone(), removed_grants: 0 };
    if dry_run || steps.is_empty() {
        return Ok(report);
    }
    if !confirm(&steps) {
        return Err(SerialsError::Usage {
            flag: "--yes",
            message: "not confirmed; nothing was changed".into(),
            help: "answer y, or pass --yes".into(),
        });
    }
    for step in &steps {
        match step {
            Step::RevokeCertificate { certificate_id } => {
                c.iot
                    .update_certificate()
                    .certificate_id(certificate_id)
                    .new_status(aws_sdk_iot::types::CertificateStatus::Revoked)
                    .send()
                    .await
                    .map_err(sdk("IoT UpdateCertificate"))?;
            }
            Step::DetachFromThing { .. } => {
                let arn = arn.as_deref().unwrap_or_default();
                c.iot
                    .detach_thing_principal()
                    .thing_name(serial)
                    .principal(arn)
                    .send()
                    .await
                    .map_err(sdk("IoT DetachThingPrincipal"))?;
            }
            Step::DetachPolicy { policy } => {
                let arn = arn.as_deref().unwrap_or_default();
                c.iot.detach_policy().policy_name(policy).target(arn).send().await.map_err(sdk("IoT DetachPolicy"))?;
            }
            Step::Unbind { .. } => {
                let owner = state.owner.as_deref().unwrap_or_default();
                let done = rainmaker_model::unbind::unbind(&c.ddb, &r.tables, serial, owner).await.map_err(|e| {
                    SerialsError::Incomplete {
                        operation: "unbind",
                        message: e.to_string(),
                        help: "run the same reset again: every step is idempotent and it goes on where it stopped"
                            .into(),
                    }
                })?;
                report.removed_grants = done.removed_grants.len();
            }
            Step::DeleteShadow => {
                match c.iot_data().await?.delete_thing_shadow().thing_name(serial).send().await {
                    Ok(_) => {}
                    // deleted meanwhile (an earlier, interrupted reset): done
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
                    Err(e) => return Err(sdk("IoT DeleteThingShadow")(e)),
                }
            }
            Step::ClearNodeCertificate => {
                let old = state.certificate_id.clone();
                let mut u = c
                    .ddb
                    .update_item()
                    .table_name(&r.tables.nodes)
                    .key(attr::NODE_ID, AttributeValue::S(serial.into()))
                    .update_expression("REMOVE #c")
                    .expression_attribute_names("#c", attr::CERTIFICATE_ID);
                if let Some(old) = old {
                    u = u.condition_expression("#c = :old").expression_attribute_values(":old", AttributeValue::S(old));
                }
                match u.send().await {
                    Ok(_) => {}
                    // the device provisioned again meanwhile with a new certificate: keep it
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                    Err(e) => return Err(sdk("DynamoDB UpdateItem")(e)),
                }
            }
            Step::ClearProvisioned => {
                let mut u = c
                    .ddb
                    .update_item()
                    .table_name(&r.tables.serial_allowlist)
                    .key(attr::SERIAL, AttributeValue::S(serial.into()))
                    .update_expression("SET #p = :f REMOVE #c, #at")
                    .expression_attribute_names("#p", attr::PROVISIONED)
                    .expression_attribute_names("#c", attr::CERTIFICATE_ID)
                    .expression_attribute_names("#at", attr::PROVISIONED_AT)
                    .expression_attribute_values(":f", AttributeValue::Bool(false));
                u = match &state.certificate_id {
                    Some(old) => u
                        .condition_expression("#c = :old")
                        .expression_attribute_values(":old", AttributeValue::S(old.clone())),
                    None => u.condition_expression("attribute_not_exists(#c)"),
                };
                u.send().await.map_err(sdk("DynamoDB UpdateItem"))?;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_table() {
        let full = State {
            provisioned: true,
            certificate_id: Some("c1".into()),
            certificate_status: Some("ACTIVE".into()),
            attached_to_thing: true,
            policies: vec!["rm-x-device".into()],
            owner: Some("u".into()),
            node_certificate: true,
            shadow: true,
        };
        let all = vec![
            Step::RevokeCertificate { certificate_id: "c1".into() },
            Step::DetachFromThing { certificate_id: "c1".into() },
            Step::DetachPolicy { policy: "rm-x-device".into() },
            Step::Unbind { grants: true },
            Step::DeleteShadow,
            Step::ClearNodeCertificate,
            Step::ClearProvisioned,
        ];
        assert_eq!(plan(&full, false), all);
        let kept: Vec<Step> =
            all.iter().filter(|s| !matches!(s, Step::Unbind { .. } | Step::DeleteShadow)).cloned().collect();
        assert_eq!(plan(&full, true), kept, "--keep-owner");
        let revoked = State {
            certificate_status: Some("REVOKED".into()),
            attached_to_thing: false,
            policies: vec![],
            ..full.clone()
        };
        assert_eq!(plan(&revoked, false)[0], Step::Unbind { grants: true }, "an interrupted reset goes on");
        assert_eq!(plan(&State::default(), false), Vec::<Step>::new(), "nothing to do for a fresh serial");
    }
}
