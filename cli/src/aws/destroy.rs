//! `destroy` as data: delete the backend and bootstrap stacks, keep the data (tables, user pool, artifacts bucket:
//! CloudFormation retains them) unless asked to delete it too, and say exactly what was kept.

use super::calls::CallSummary;
use super::events::{EventStream, WaitOptions};
use super::plan::TemplateInfo;
use super::progress::{Progress, ProgressEvent};
use super::sdk::{Clients, Tenant};
use super::{iot, stack, DeployError};
use serde::Serialize;

/// How to destroy.
#[derive(Debug, Clone)]
pub struct DestroyOptions {
    /// Keep the DynamoDB tables, user pool and artifacts bucket (the default).
    pub keep_data: bool,
    pub wait: WaitOptions,
}

/// A resource that outlived its stack (or was deleted on request).
#[derive(Debug, Clone, Serialize)]
pub struct DataResource {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub description: Option<String>,
}

/// What `destroy` did.
#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub deleted_stacks: Vec<String>,
    /// Kept (retained by the templates): data the user can still read, or delete by hand.
    pub kept: Vec<DataResource>,
    /// Deleted on request (`keep_data: false`).
    pub deleted_data: Vec<DataResource>,
    pub claim_certificate_deleted: Option<String>,
    pub api_calls: CallSummary,
}

/// Delete the tenant's stacks.
pub async fn destroy(t: &Tenant, opts: &DestroyOptions, progress: &dyn Progress) -> Result<DestroyReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let p = super::deploy::prepare(t)?;
    // who is calling, before any change: the wrong account is refused here
    let (caller, state) = super::identity::preflight(t, &c).await?;
    let mut report = DestroyReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        deleted_stacks: vec![],
        kept: vec![],
        deleted_data: vec![],
        claim_certificate_deleted: None,
        api_calls: CallSummary::default(),
    };
    // the claim certificate holds the claim policy: detach and delete it first, or the policy cannot be deleted
    if let Some(claim) = iot::read_record(&state)? {
        progress.report(ProgressEvent::Step {
            stack: None,
            message: format!("deleting claim certificate {}", claim.certificate_id),
        });
        // a certificate (or its attachment) already gone is what a re-run after a kill finds; anything else is an error
        match c.iot.detach_policy().policy_name(&claim.policy).target(&claim.certificate_arn).send().await {
            Err(e) if !not_found(&e) => return Err(DeployError::sdk("IoT DetachPolicy", e)),
            _ => {}
        }
        match c
            .iot
            .update_certificate()
            .certificate_id(&claim.certificate_id)
            .new_status(aws_sdk_iot::types::CertificateStatus::Inactive)
            .send()
            .await
        {
            Err(e) if !not_found(&e) => return Err(DeployError::sdk("IoT UpdateCertificate", e)),
            _ => {}
        }
        match c.iot.delete_certificate().certificate_id(&claim.certificate_id).force_delete(true).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(DeployError::sdk("IoT DeleteCertificate", e)),
        }
        for f in [&claim.private_key_file, &claim.certificate_file, &state.join("claim.json")] {
            let _ = std::fs::remove_file(f);
        }
        report.claim_certificate_deleted = Some(claim.certificate_id);
    }
    let (b, binfo, _) = &p.bootstrap;
    let (k, kinfo, _) = &p.backend;
    for (short, name, info) in [("backend", &k.stack_name, kinfo), ("bootstrap", &b.stack_name, binfo)] {
        let Some(_) = stack::describe(&c.cfn, name).await? else { continue };
        let retained = retained(&c, name, short, info, &p, progress).await?;
        progress.report(ProgressEvent::Step { stack: Some(name.clone()), message: "deleting the stack".into() });
        let token = super::changeset::execute_token(&format!("{}-destroy", super::changeset::new_name()), name);
        c.cfn
            .delete_stack()
            .stack_name(name)
            .client_request_token(&token)
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DeleteStack", e))?;
        let done = EventStream::new(&c.cfn, name, info, progress).ours(token).wait(&opts.wait).await?;
        if done.status != "DELETE_COMPLETE" {
            return Err(DeployError::Stuck {
                stack: name.clone(),
                status: done.status,
                help: done.first_failure.unwrap_or_else(|| "see `rainmaker-deploy status`".into()),
            });
        }
        report.deleted_stacks.push(name.clone());
        for r in retained {
            if !opts.keep_data && delete_data(&c, &r, progress).await? {
                report.deleted_data.push(r);
            } else {
                report.kept.push(r);
            }
        }
    }
    report.api_calls = c.calls.summary();
    Ok(report)
}

/// Does this error say the resource is already gone?
fn not_found(e: &impl aws_sdk_iot::error::ProvideErrorMetadata) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

/// The resources of a stack whose template retains them (`DeletionPolicy: Retain`), with physical ids.
/// Physical ids from DescribeStackResources, or the template's literal names when the service cannot list them.
async fn retained(
    c: &Clients,
    name: &str,
    short: &str,
    info: &TemplateInfo,
    p: &super::deploy::Prepared,
    progress: &dyn Progress,
) -> Result<Vec<DataResource>, DeployError> {
    let body = if short == "backend" { &p.backend.0.body } else { &p.bootstrap.0.body };
    let t = crate::template::parse(body)?;
    let (physical, failure) = super::outputs::physical_ids_or_failure(&c.cfn, name).await;
    let Some(resources) = t.get("Resources").and_then(|r| r.as_object()) else { return Ok(vec![]) };
    let retain: Vec<_> =
        resources.iter().filter(|(_, r)| r.get("DeletionPolicy").and_then(|v| v.as_str()) == Some("Retain")).collect();
    let resolve = |id: &String| physical.get(id).cloned().or_else(|| super::outputs::literal_name(&t, id));
    if let Some(reason) = failure {
        let unknown: Vec<&str> =
            retain.iter().filter(|(id, _)| resolve(id).is_none()).map(|(id, _)| id.as_str()).collect();
        if !unknown.is_empty() {
            progress.report(ProgressEvent::Step {
                stack: Some(name.into()),
                message: format!("kept, not listed (their ids could not be read: {reason}): {}", unknown.join(", ")),
            });
        }
    }
    Ok(retain
        .into_iter()
        .filter_map(|(id, r)| {
            let physical_id = resolve(id)?;
            Some(DataResource {
                stack: name.into(),
                description: info.description(id),
                logical_id: id.clone(),
                resource_type: r.get("Type").and_then(|v| v.as_str()).unwrap_or_default().into(),
                physical_id,
            })
        })
        .collect())
}

/// Delete one retained resource (tables: lift deletion protection first; buckets: empty every version first).
/// Returns false for types this command does not delete (they are reported as kept).
async fn delete_data(c: &Clients, r: &DataResource, progress: &dyn Progress) -> Result<bool, DeployError> {
    progress.report(ProgressEvent::Step {
        stack: None,
        message: format!("deleting {} {}", r.resource_type, r.physical_id),
    });
    match r.resource_type.as_str() {
        "AWS::DynamoDB::Table" => {
            c.ddb
                .update_table()
                .table_name(&r.physical_id)
                .deletion_protection_enabled(false)
                .send()
                .await
                .map_err(|e| DeployError::sdk("DynamoDB UpdateTable", e))?;
            c.ddb
                .delete_table()
                .table_name(&r.physical_id)
                .send()
                .await
                .map_err(|e| DeployError::sdk("DynamoDB DeleteTable", e))?;
            Ok(true)
        }
        "AWS::S3::Bucket" => {
            loop {
                let out =
                    c.s3.list_object_versions()
                        .bucket(&r.physical_id)
                        .send()
                        .await
                        .map_err(|e| DeployError::sdk("S3 ListObjectVersions", e))?;
                let ids: Vec<(String, Option<String>)> = out
                    .versions()
                    .iter()
                    .map(|v| (v.key().unwrap_or_default().to_string(), v.version_id().map(str::to_string)))
                    .chain(
                        out.delete_markers()
                            .iter()
                            .map(|m| (m.key().unwrap_or_default().to_string(), m.version_id().map(str::to_string))),
                    )
                    .collect();
                if ids.is_empty() {
                    break;
                }
                for (key, version) in ids {
                    c.s3.delete_object()
                        .bucket(&r.physical_id)
                        .key(key)
                        .set_version_id(version)
                        .send()
                        .await
                        .map_err(|e| DeployError::sdk("S3 DeleteObject", e))?;
                }
            }
            c.s3.delete_bucket()
                .bucket(&r.physical_id)
                .send()
                .await
                .map_err(|e| DeployError::sdk("S3 DeleteBucket", e))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
