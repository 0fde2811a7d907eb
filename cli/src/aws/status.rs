//! `status` as data: each stack's state, template version, outputs and last events, and the local claim record.

use super::calls::CallSummary;
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
}

/// The whole tenant.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub cli_template_version: String,
    pub stacks: Vec<StackStatus>,
    pub claim_certificate: Option<ClaimCertificate>,
    pub api_calls: CallSummary,
}

/// Read the state of both stacks (DescribeStacks and one page of events each).
pub async fn status(t: &Tenant, events: usize) -> Result<StatusReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let (caller, state) = super::identity::preflight(t, &c).await?;
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
        }
        stacks.push(s);
    }
    Ok(StatusReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        cli_template_version: crate::TEMPLATE_VERSION.into(),
        stacks,
        // `created` means "by this run": status creates nothing
        claim_certificate: iot::read_record(&state)?.map(|c| ClaimCertificate { created: false, ..c }),
        api_calls: c.calls.summary(),
    })
}
