//! The deploy core for one tenant: [`plan`](plan()) (what would change) and [`apply`](apply()) (bootstrap stack,
//! artifacts by content hash, backend change set, IoT claim certificate, verification, outputs), returning reports
//! as data.
//!
//! This module holds the reports and what both share (rendering, tags, parameters); `planning` runs `plan`, `run`
//! runs `apply`, `stacks` converges one stack for it.

mod planning;
mod run;
mod stacks;

pub use planning::{plan, plan_as, plan_one};
pub use run::apply;
pub(crate) use run::apply_with;

use super::adopt::Adoption;
use super::artifacts::{Artifact, Uploaded};
use super::calls::CallSummary;
use super::converge::StackReport;
use super::events::WaitOptions;
use super::iot::{self, ClaimCertificate};
use super::plan::{StackPlan, TemplateInfo};
use super::progress::{Progress, ProgressEvent};
use super::sdk::{Clients, Tenant};
use super::verify::Check;
use super::{stack, DeployError};
use crate::template::{self, Names, RenderedStack};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Allow change sets that replace or remove stateful resources.
    pub allow_replace: bool,
    /// Run the verification pass even when nothing changed.
    pub always_verify: bool,
    pub wait: WaitOptions,
    /// Bake (`upgrade`): on an UPDATE of the backend, its exported alarms become rollback triggers monitored this
    /// many minutes after the update (see [`super::alarms::rollback_for`]); the wait allows for them.
    pub bake: Option<u32>,
    /// The identity of the tenant's credentials when the caller already asked STS (`upgrade`, right after
    /// assuming the role): the core then makes no GetCallerIdentity of its own. `None`: it asks (one call).
    pub caller: Option<crate::aws::identity::Caller>,
    /// How the verification judges an encryption field the endpoint left out: [`super::verify::Omissions::Strict`]
    /// (the default, and always the CLI's in release builds); `Moto` only in tests against moto, where it also
    /// skips the Device Defender audit suppression (moto has no Device Defender API).
    pub verify_omissions: super::verify::Omissions,
}

/// What `apply` did, as data.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub tenant: String,
    /// The account of the credentials (`sts:GetCallerIdentity`), checked against the config's `account:`.
    pub account: String,
    pub region: String,
    pub template_version: String,
    /// Anything created or updated.
    pub changed: bool,
    pub stacks: Vec<StackReport>,
    /// Kept resources (of an earlier stack) imported before the stack was updated to its template.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<Adoption>,
    /// Artifacts checked against the bucket (empty when the backend was unchanged).
    pub artifacts: Vec<Uploaded>,
    pub iot_endpoint: String,
    pub claim_certificate: Option<ClaimCertificate>,
    /// The Device Defender suppression of the claim policy's one finding by design: created, already in place,
    /// off, not checked (nothing changed) or skipped (test mode against moto).
    pub audit_suppression: super::audit::Suppression,
    /// What a device maker needs (IoT endpoint, API URL, user pool, template names, claim files) and every output.
    pub outputs: BTreeMap<String, String>,
    pub outputs_file: PathBuf,
    /// Empty when skipped (nothing changed and not asked for).
    pub verification: Vec<Check>,
    /// The alarm ARNs passed as rollback triggers on the backend's UPDATE (a bake; empty otherwise).
    pub rollback_triggers: Vec<String>,
    /// The backend's exported alarms to check after a baked update (empty without a bake or on a create).
    pub watched_alarms: Vec<String>,
    pub api_calls: CallSummary,
    pub elapsed_ms: u64,
}

impl ApplyReport {
    /// Checks that failed.
    pub fn failed_checks(&self) -> Vec<&Check> {
        self.verification.iter().filter(|c| !c.ok).collect()
    }
}

/// What `plan` found, as data.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub stacks: Vec<StackPlan>,
    /// Kept resources (of an earlier stack) the stack to create imports first ([`super::adopt`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<Adoption>,
    pub api_calls: CallSummary,
    pub elapsed_ms: u64,
}

/// The rendered stacks with what the core needs to know about their templates.
pub struct Prepared {
    pub bootstrap: (RenderedStack, TemplateInfo, serde_json::Value),
    pub backend: (RenderedStack, TemplateInfo, serde_json::Value),
    pub names: Names,
}

impl Prepared {
    /// The bootstrap stack as a change-set target (no parameters, never rollback triggers).
    pub(crate) fn bootstrap_target(&self, tags: BTreeMap<String, String>) -> super::converge::Target<'_> {
        let (b, info, _) = &self.bootstrap;
        super::converge::Target {
            stack: "bootstrap",
            stack_name: &b.stack_name,
            body: &b.body,
            info,
            parameters: BTreeMap::new(),
            tags,
            rollback: None,
        }
    }

    /// The backend stack as a change-set target with these parameters (rollback triggers, if any, set by the caller).
    pub(crate) fn backend_target(
        &self,
        parameters: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> super::converge::Target<'_> {
        let (k, info, _) = &self.backend;
        super::converge::Target {
            stack: "backend",
            stack_name: &k.stack_name,
            body: &k.body,
            info,
            parameters,
            tags,
            rollback: None,
        }
    }
}

/// Render and parse both stacks (no AWS).
pub fn prepare(t: &Tenant) -> Result<Prepared, DeployError> {
    let rendered = template::render(&t.config)?;
    let get = |n: &str| rendered.stack(n).cloned().ok_or_else(|| DeployError::io("rendering", format!("no {n} stack")));
    let (b, k) = (get("bootstrap")?, get("backend")?);
    let bjson = template::parse(&b.body)?;
    let binfo = TemplateInfo::from_template(&bjson);
    let kjson = template::parse(&k.body)?;
    let kinfo = TemplateInfo::from_template(&kjson);
    Ok(Prepared { bootstrap: (b, binfo, bjson), backend: (k, kinfo, kjson), names: Names::new(&t.config.name) })
}

/// Stack tags: the config's, plus the tenant and the template version.
pub fn stack_tags(t: &Tenant) -> BTreeMap<String, String> {
    let mut tags = t.config.tags.clone();
    tags.insert("rainmaker:tenant".into(), t.config.name.clone());
    tags.insert("rainmaker:template-version".into(), crate::TEMPLATE_VERSION.into());
    tags
}

/// The code-key parameters the backend template declares.
pub fn code_parameters(backend: &serde_json::Value) -> Vec<String> {
    backend
        .get("Parameters")
        .and_then(|p| p.as_object())
        .map(|m| m.keys().filter(|k| k.ends_with("CodeKey")).cloned().collect())
        .unwrap_or_default()
}

/// The backend's parameters: bucket, endpoint, each function's key and pinned version (`versions`, by version
/// parameter: the live stack's pins or the uploads').
fn backend_parameters(
    bucket: &str,
    endpoint: &str,
    arts: &[Artifact],
    versions: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut p = versions;
    p.insert("ArtifactsBucket".to_string(), bucket.to_string());
    p.insert("IotDataEndpoint".to_string(), endpoint.to_string());
    for a in arts {
        p.insert(a.parameter.clone(), a.key.clone());
    }
    p
}

/// The live stack's parameters (empty without a stack).
fn live_parameters(live: Option<&aws_sdk_cloudformation::types::Stack>) -> BTreeMap<String, String> {
    live.map(stack::parameters).unwrap_or_default()
}

fn step(progress: &dyn Progress, stack: Option<&str>, message: impl Into<String>) {
    progress.report(ProgressEvent::Step { stack: stack.map(str::to_string), message: message.into() });
}

/// The IoT endpoint: the live backend's parameter when there is one (saves a call), else DescribeEndpoint.
async fn endpoint(c: &Clients, live: Option<&aws_sdk_cloudformation::types::Stack>) -> Result<String, DeployError> {
    if let Some(e) = live.and_then(|s| stack::parameters(s).remove("IotDataEndpoint")).filter(|e| !e.is_empty()) {
        return Ok(e);
    }
    iot::data_endpoint(&c.iot).await
}

/// The output keys a template declares.
pub fn output_keys(template: &serde_json::Value) -> Vec<String> {
    template.get("Outputs").and_then(|o| o.as_object()).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The bootstrap stack exists but its bucket name is known neither from its outputs nor from its resources.
fn missing_bucket(stack: &str, failure: Option<String>) -> DeployError {
    let reason = match failure {
        Some(f) => format!("no ArtifactsBucketName output, and reading its resources failed: {f}"),
        None => "no ArtifactsBucketName output".to_string(),
    };
    DeployError::io(format!("stack {stack}"), reason)
}

/// The outputs a device maker pastes into firmware and apps, then every stack output.
pub fn device_maker_outputs(
    endpoint: &str,
    stack_outputs: &BTreeMap<String, String>,
    claim: &ClaimCertificate,
) -> BTreeMap<String, String> {
    let mut o = stack_outputs.clone();
    o.insert("IotEndpoint".into(), endpoint.to_string());
    o.insert("ClaimCertificateFile".into(), claim.certificate_file.display().to_string());
    o.insert("ClaimPrivateKeyFile".into(), claim.private_key_file.display().to_string());
    o.insert("ClaimCertificateId".into(), claim.certificate_id.clone());
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_bucket_names_why_the_resources_could_not_be_read() {
        let e =
            super::missing_bucket("rm-acme-bootstrap", Some("CloudFormation DescribeStackResources failed: x".into()));
        let text = e.to_string();
        assert!(text.contains("rm-acme-bootstrap") && text.contains("DescribeStackResources failed: x"), "{text}");
        let plain = super::missing_bucket("rm-acme-bootstrap", None).to_string();
        assert!(plain.contains("no ArtifactsBucketName output") && !plain.contains("failed"), "{plain}");
    }
}
