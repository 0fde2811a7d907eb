//! `status` as data: each stack's state, template version, outputs and last events, the claim certificate as the
//! tenant's account holds it (Secrets Manager and IoT, [`super::claim::health`]) and the local claim record.

use super::calls::CallSummary;
use super::claim::health::{self, ClaimStatus};
use super::identity::Caller;
use super::iot::{self, ClaimCertificate};
use super::sdk::{Clients, Tenant};
use super::{stack, DeployError};
use crate::template::Names;
use serde::Serialize;
use std::collections::BTreeMap;

/// One recent stack event.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    pub timestamp: String,
    pub logical_id: String,
    pub status: String,
    pub reason: Option<String>,
}

/// One stack's state.
#[derive(Debug, Clone, Serialize)]
pub struct StackStatus {
    pub stack: String,
    pub stack_name: String,
    pub exists: bool,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub template_version: Option<String>,
    pub last_updated: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub last_events: Vec<EventLine>,
    /// Data resources of the deployed template (`Metadata.DataClass`) the live stack policy does not protect from
    /// replacement or deletion (an `--allow-replace` run killed while the policy was lifted leaves them so).
    pub unprotected_data: Vec<String>,
    /// Set when `unprotected_data` is not empty: what is wrong and how to fix it.
    pub policy_warning: Option<String>,
}

/// The whole tenant.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub cli_template_version: String,
    pub stacks: Vec<StackStatus>,
    /// The claim certificate as the account holds it: the secret's certificate, its status, whether it is
    /// attached to the claim policy, every other certificate attached, and warnings with what to run.
    pub claim: ClaimStatus,
    /// The local copy (`claim.json` in this working directory's state; none in a fresh one).
    pub claim_certificate: Option<ClaimCertificate>,
    /// `--drift`: each stack's drift detection (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Vec<super::drift::StackDrift>>,
    pub api_calls: CallSummary,
}

/// Read the state of both stacks (DescribeStacks and one page of events each), then the claim certificate from the
/// account (GetSecretValue, ListTargetsForPolicy, DescribeCertificate of each certificate); [`with_drift`] adds drift
/// detection.
pub async fn status(t: &Tenant, events: usize) -> Result<StatusReport, DeployError> {
    status_as(t, None, events).await
}

/// [`status`] with the identity of the tenant's credentials already known (`status --tenants` asked STS right
/// after assuming the role): no second GetCallerIdentity.
pub async fn status_as(t: &Tenant, known: Option<&Caller>, events: usize) -> Result<StatusReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let (caller, state) = super::identity::preflight_as(t, &c, known).await?;
    let names = Names::new(&t.config.name);
    let mut stacks = Vec::new();
    for (short, name) in [("bootstrap", &names.bootstrap_stack), ("backend", &names.backend_stack)] {
        let live = stack::describe(&c.cfn, name).await?;
        let mut s = StackStatus {
            stack: short.into(),
            stack_name: name.clone(),
            exists: live.is_some(),
            status: None,
            reason: None,
            template_version: None,
            last_updated: None,
            outputs: BTreeMap::new(),
            last_events: vec![],
            unprotected_data: vec![],
            policy_warning: None,
        };
        if let Some(live) = live {
            s.status = Some(stack::status(&live));
            s.reason = live.stack_status_reason().map(str::to_string);
            s.outputs = stack::outputs(&live);
            // the stack's own output, else the tag every change set sets (moto keeps no outputs of change-set stacks)
            s.template_version = s
                .outputs
                .get("TemplateVersion")
                .cloned()
                .or_else(|| stack::tags(&live).remove("rainmaker:template-version"));
            s.last_updated = live.last_updated_time().or(live.creation_time()).map(|d| d.to_string());
            let out = c
                .cfn
                .describe_stack_events()
                .stack_name(name)
                .send()
                .await
                .map_err(|e| DeployError::sdk("CloudFormation DescribeStackEvents", e))?;
            s.last_events = out
                .stack_events()
                .iter()
                .take(events)
                .map(|e| EventLine {
                    timestamp: e.timestamp().map(|d| d.to_string()).unwrap_or_default(),
                    logical_id: e.logical_resource_id().unwrap_or_default().into(),
                    status: e.resource_status().map(|x| x.as_str().to_string()).unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_string),
                })
                .collect();
            let (data, open) = unprotected(&c, name).await?;
            s.unprotected_data = open;
            if !s.unprotected_data.is_empty() {
                s.policy_warning = Some(format!(
                    "the stack policy does not protect {} from replacement or deletion (an interrupted \
                     `apply --allow-replace` leaves it lifted); the next `apply` that changes the stack restores it, \
                     or set it now: `aws cloudformation set-stack-policy --stack-name {name} --stack-policy-body '{}'`",
                    s.unprotected_data.join(", "),
                    super::policy::protecting(&data)
                ));
            }
        }
        stacks.push(s);
    }
    // `created` means "by this run": status creates nothing
    let local = iot::read_record(&state)?.map(|c| ClaimCertificate { created: false, ..c });
    let backend = stacks.iter().find(|s| s.stack == "backend").filter(|s| s.exists);
    let policy = backend.and_then(|s| s.outputs.get("ClaimPolicyName")).unwrap_or(&names.claim_policy).clone();
    let (seen, certificates) = super::claim::view::observe(&c, &names.claim_secret, &policy).await?;
    let local_id = local.as_ref().map(|l| l.certificate_id.as_str());
    let claim = health::assess(&names.claim_secret, &policy, seen, certificates, local_id, backend.is_some());
    Ok(StatusReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        cli_template_version: crate::TEMPLATE_VERSION.into(),
        stacks,
        claim,
        claim_certificate: local,
        drift: None,
        api_calls: c.calls.summary(),
    })
}

/// The data resources of the deployed template, and those the live stack policy leaves open (GetTemplate and
/// GetStackPolicy; none for a stack without data, e.g. the bootstrap stack).
async fn unprotected(c: &Clients, name: &str) -> Result<(Vec<String>, Vec<String>), DeployError> {
    let Some(body) = stack::template_body(&c.cfn, name).await? else { return Ok((vec![], vec![])) };
    let data = super::plan::TemplateInfo::from_template(&crate::template::parse(&body)?).data_resources();
    if data.is_empty() {
        return Ok((data, vec![]));
    }
    let live = super::converge::get_policy(c, name).await?;
    let open = super::policy::unprotected(live.as_deref(), &data);
    Ok((data, open))
}

/// [`status_as`], then drift detection of both stacks ([`super::drift::tenant`]), counted in `api_calls`.
pub async fn with_drift(
    t: &Tenant,
    known: Option<&Caller>,
    events: usize,
    wait: &super::events::WaitOptions,
) -> Result<StatusReport, DeployError> {
    let mut r = status_as(t, known, events).await?;
    let c = Clients::new(&t.sdk);
    let (drift, _) = super::drift::tenant(&c.cfn, &t.config.name, wait).await;
    for (op, n) in c.calls.summary().by_operation {
        *r.api_calls.by_operation.entry(op).or_insert(0) += n;
    }
    r.api_calls.total = r.api_calls.by_operation.values().sum();
    r.drift = Some(drift);
    Ok(r)
}
