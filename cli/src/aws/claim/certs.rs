//! The IoT calls of the claim certificate's lifecycle: status, the claim policy's targets (every page), create,
//! attach, and retire (detach, deactivate, delete), each tolerant of what a re-run after a kill finds.

use super::super::DeployError;
use super::decide::CertState;
use aws_sdk_iot::error::ProvideErrorMetadata;
use aws_sdk_iot::operation::register_certificate_without_ca::RegisterCertificateWithoutCAError;
use aws_sdk_iot::types::CertificateStatus;

fn not_found(e: &impl ProvideErrorMetadata) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

/// The certificate id in a certificate ARN (`arn:aws:iot:<region>:<account>:cert/<id>`); `None` for other
/// principals.
pub fn id_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":cert/").map(|(_, id)| id).filter(|id| !id.is_empty())
}

/// DescribeCertificate's status (`Missing` when there is no such certificate).
pub async fn status(iot: &aws_sdk_iot::Client, id: &str) -> Result<CertState, DeployError> {
    match iot.describe_certificate().certificate_id(id).send().await {
        Ok(out) => {
            let s = out.certificate_description().and_then(|d| d.status());
            Ok(s.map(|s| CertState::from_status(s.as_str()))
                .ok_or(DeployError::missing("IoT DescribeCertificate", "certificateDescription.status"))?)
        }
        Err(e) if not_found(&e) => Ok(CertState::Missing),
        Err(e) => Err(DeployError::sdk("IoT DescribeCertificate", e)),
    }
}

/// DescribeCertificate's whole description, for `claim show` (none: no such certificate).
pub async fn description(
    iot: &aws_sdk_iot::Client,
    id: &str,
) -> Result<Option<aws_sdk_iot::types::CertificateDescription>, DeployError> {
    match iot.describe_certificate().certificate_id(id).send().await {
        Ok(out) => Ok(out.certificate_description().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(DeployError::sdk("IoT DescribeCertificate", e)),
    }
}

/// Every principal attached to `policy` (ListTargetsForPolicy, following `nextMarker`); none when the policy does
/// not exist (yet, or any more).
pub async fn targets(iot: &aws_sdk_iot::Client, policy: &str) -> Result<Vec<String>, DeployError> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = match iot.list_targets_for_policy().policy_name(policy).set_marker(marker.clone()).send().await {
            Ok(out) => out,
            Err(e) if not_found(&e) => return Ok(vec![]),
            Err(e) => return Err(DeployError::sdk("IoT ListTargetsForPolicy", e)),
        };
        all.extend(out.targets().iter().cloned());
        match out.next_marker().filter(|m| !m.is_empty()) {
            // a marker that does not move would loop forever: the service's contract is to advance it
            Some(m) if marker.as_deref() != Some(m) => marker = Some(m.to_string()),
            _ => return Ok(all),
        }
    }
}

/// RegisterCertificateWithoutCA (ACTIVE): the certificate's id and ARN. A certificate already registered (a
/// retry whose first answer was lost, a re-run after a kill) answers ResourceAlreadyExistsException naming it: the
/// same certificate, not a second one.
pub async fn register(iot: &aws_sdk_iot::Client, pem: &str) -> Result<(String, String), DeployError> {
    const OP: &str = "IoT RegisterCertificateWithoutCA";
    match iot.register_certificate_without_ca().certificate_pem(pem).status(CertificateStatus::Active).send().await {
        Ok(out) => Ok((
            out.certificate_id().ok_or(DeployError::missing(OP, "certificateId"))?.to_string(),
            out.certificate_arn().ok_or(DeployError::missing(OP, "certificateArn"))?.to_string(),
        )),
        Err(e) => match e.as_service_error() {
            Some(RegisterCertificateWithoutCAError::ResourceAlreadyExistsException(x)) => Ok((
                x.resource_id().ok_or(DeployError::missing(OP, "resourceId"))?.to_string(),
                x.resource_arn().ok_or(DeployError::missing(OP, "resourceArn"))?.to_string(),
            )),
            _ => Err(DeployError::sdk(OP, e)),
        },
    }
}

/// The recorded certificate in IoT: its id, ARN and status, registering it from the secret's PEM when IoT does
/// not know it yet (a run stopped between storing the secret and registering).
pub async fn locate(
    iot: &aws_sdk_iot::Client,
    id: &str,
    pem: &str,
) -> Result<(String, String, CertState), DeployError> {
    if let Some(found) = describe(iot, id).await? {
        return Ok(found);
    }
    let (id, arn) = match register(iot, pem).await {
        Ok(found) => found,
        // a PEM IoT will not register without its CA (e.g. one AWS IoT issued itself, adopted from an older
        // rainmaker-deploy, then deleted): it is gone for good, and a new one replaces it
        Err(DeployError::Aws { code: Some(code), .. })
            if code == "CertificateValidationException" || code == "InvalidRequestException" =>
        {
            return Ok((id.to_string(), String::new(), CertState::Missing))
        }
        Err(e) => return Err(e),
    };
    match describe(iot, &id).await? {
        Some(found) => Ok(found),
        None => Ok((id, arn, CertState::Missing)),
    }
}

async fn describe(iot: &aws_sdk_iot::Client, id: &str) -> Result<Option<(String, String, CertState)>, DeployError> {
    const OP: &str = "IoT DescribeCertificate";
    match iot.describe_certificate().certificate_id(id).send().await {
        Ok(out) => {
            let d = out.certificate_description().ok_or(DeployError::missing(OP, "certificateDescription"))?;
            let status = d.status().ok_or(DeployError::missing(OP, "certificateDescription.status"))?;
            let arn = d.certificate_arn().ok_or(DeployError::missing(OP, "certificateDescription.certificateArn"))?;
            Ok(Some((id.to_string(), arn.to_string(), CertState::from_status(status.as_str()))))
        }
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(DeployError::sdk(OP, e)),
    }
}

pub async fn attach(iot: &aws_sdk_iot::Client, policy: &str, arn: &str) -> Result<(), DeployError> {
    iot.attach_policy()
        .policy_name(policy)
        .target(arn)
        .send()
        .await
        .map_err(|e| DeployError::sdk("IoT AttachPolicy", e))?;
    Ok(())
}

/// A principal to retire: a policy target (its ARN, and the certificate id in it), or a recorded certificate
/// known by id only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub id: Option<String>,
    pub arn: Option<String>,
}

impl Target {
    pub fn from_arn(arn: &str) -> Target {
        Target { id: id_of(arn).map(str::to_string), arn: Some(arn.to_string()) }
    }
}

/// Detach `policy` from the principal (when its ARN is known); for a certificate also deactivate (when ACTIVE) and delete it. Anything
/// already gone is what a re-run after a kill finds; every other failure is an error. Returns whether a
/// certificate was deleted by this call.
pub async fn retire(iot: &aws_sdk_iot::Client, policy: &str, target: &Target) -> Result<bool, DeployError> {
    if let Some(arn) = &target.arn {
        match iot.detach_policy().policy_name(policy).target(arn).send().await {
            Err(e) if !not_found(&e) => return Err(DeployError::sdk("IoT DetachPolicy", e)),
            _ => {}
        }
    }
    let Some(id) = target.id.as_deref() else { return Ok(false) };
    match status(iot, id).await? {
        CertState::Missing => return Ok(false),
        CertState::Active => {
            match iot.update_certificate().certificate_id(id).new_status(CertificateStatus::Inactive).send().await {
                Err(e) if !not_found(&e) => return Err(DeployError::sdk("IoT UpdateCertificate", e)),
                _ => {}
            }
        }
        _ => {}
    }
    match iot.delete_certificate().certificate_id(id).force_delete(true).send().await {
        Ok(_) => Ok(true),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(DeployError::sdk("IoT DeleteCertificate", e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn certificate_ids_from_arns() {
        assert_eq!(super::id_of("arn:aws:iot:eu-west-1:123456789012:cert/abc123"), Some("abc123"));
        assert_eq!(super::id_of("arn:aws:iot:eu-west-1:123456789012:thinggroup/g"), None);
        assert_eq!(super::id_of("arn:aws:iot:eu-west-1:123456789012:cert/"), None);
    }
}
