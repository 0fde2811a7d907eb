//! CloudFormation drift detection of a tenant's stacks: DetectStackDrift per stack, DescribeStackDriftDetectionStatus
//! polled with the id it returned until the detection ends (bounded by the wait's timeout, Ctrl-C honoured), and for
//! a drifted stack DescribeStackResourceDrifts, every page, filtered to MODIFIED and DELETED resources.

use super::events::WaitOptions;
use super::{stack, DeployError};
use crate::template::Names;
use aws_sdk_cloudformation::types::{StackDriftDetectionStatus, StackResourceDriftStatus};
use aws_sdk_cloudformation::Client;
use rainmaker_core::fleet::{stack_state, StackDriftOutcome, StackDriftState};
use serde::Serialize;
use std::time::Instant;

/// One property that differs from the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PropertyDifference {
    /// `/Properties/ProvisionedThroughput/ReadCapacityUnits`, as CloudFormation names it.
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub difference: String,
}

/// One resource that drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    /// `MODIFIED` or `DELETED`.
    pub status: String,
    /// Empty for a deleted resource.
    pub differences: Vec<PropertyDifference>,
}

/// One stack's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StackDrift {
    /// `bootstrap` or `backend`.
    pub stack: String,
    pub stack_name: String,
    /// `IN_SYNC`, `DRIFTED`, `NOT_DEPLOYED` (no stack), or `FAILED` (see `error`).
    pub drift_status: String,
    /// The detection's id (absent when the stack is not deployed).
    pub detection_id: Option<String>,
    /// The drifted resources (MODIFIED or DELETED), in CloudFormation's order.
    pub resources: Vec<ResourceDrift>,
    /// Why drift could not be known: the detection failed, gave no verdict, or did not end in time.
    pub error: Option<String>,
}

impl StackDrift {
    /// The pure outcome the fleet decides on ([`rainmaker_core::fleet::decide_drift`]).
    pub fn outcome(&self) -> StackDriftOutcome {
        let state = match self.drift_status.as_str() {
            "NOT_DEPLOYED" => StackDriftState::NotDeployed,
            "IN_SYNC" => StackDriftState::InSync,
            "DRIFTED" => StackDriftState::Drifted(
                self.resources.iter().map(|r| format!("{} ({})", r.logical_id, r.status)).collect(),
            ),
            _ => StackDriftState::Failed(self.error.clone().unwrap_or_else(|| self.drift_status.clone())),
        };
        StackDriftOutcome { stack_name: self.stack_name.clone(), state }
    }
}

/// Drift of both stacks of tenant `name` (a stack that does not exist, or holds nothing after a failed first create,
/// is `NOT_DEPLOYED`, no detection). A failed
/// call or detection is that stack's `FAILED` with the reason, never `IN_SYNC`. Returns the stacks and the calls made.
pub async fn tenant(cfn: &Client, name: &str, wait: &WaitOptions) -> (Vec<StackDrift>, u32) {
    let names = Names::new(name);
    let mut out = Vec::new();
    let mut calls = 0;
    for (short, stack_name) in [("bootstrap", &names.bootstrap_stack), ("backend", &names.backend_stack)] {
        let mut d = StackDrift {
            stack: short.into(),
            stack_name: stack_name.clone(),
            drift_status: "FAILED".into(),
            detection_id: None,
            resources: vec![],
            error: None,
        };
        calls += 1;
        match stack::describe(cfn, stack_name).await {
            Ok(None) => d.drift_status = "NOT_DEPLOYED".into(),
            // a failed first create or an unexecuted CREATE holds nothing to drift (apply creates it again)
            Ok(Some(live))
                if matches!(
                    stack::classify(&stack::status(&live)),
                    stack::StackState::Missing | stack::StackState::FailedCreate | stack::StackState::Review
                ) =>
            {
                d.drift_status = "NOT_DEPLOYED".into()
            }
            Ok(Some(_)) => {
                if let Err(e) = detect(cfn, &mut d, wait, &mut calls).await {
                    d.drift_status = "FAILED".into();
                    d.error = Some(e.with_help());
                }
            }
            Err(e) => d.error = Some(e.with_help()),
        }
        out.push(d);
    }
    (out, calls)
}

/// Detect one existing stack's drift into `d`.
async fn detect(cfn: &Client, d: &mut StackDrift, wait: &WaitOptions, calls: &mut u32) -> Result<(), DeployError> {
    *calls += 1;
    let started = cfn
        .detect_stack_drift()
        .stack_name(&d.stack_name)
        .send()
        .await
        .map_err(|e| DeployError::sdk("CloudFormation DetectStackDrift", e))?;
    let id = started
        .stack_drift_detection_id()
        .filter(|i| !i.is_empty())
        .ok_or(DeployError::missing("CloudFormation DetectStackDrift", "StackDriftDetectionId"))?
        .to_string();
    d.detection_id = Some(id.clone());
    let began = Instant::now();
    let status = loop {
        *calls += 1;
        let s = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DescribeStackDriftDetectionStatus", e))?;
        if s.detection_status() != Some(&StackDriftDetectionStatus::DetectionInProgress) {
            break s;
        }
        let what = || format!("drift detection {id} of {}", d.stack_name);
        if wait.cancel_requested() {
            return Err(DeployError::io(what(), "cancelled (Ctrl-C) while it ran; it only reads, nothing was changed"));
        }
        if began.elapsed() > wait.timeout {
            let why = format!(
                "did not end within {:?} (--timeout); it only reads: run again later, or with a longer --timeout",
                wait.timeout
            );
            return Err(DeployError::io(what(), why));
        }
        wait.pause().await;
    };
    let detection = status.detection_status().map(|s| s.as_str().to_string()).unwrap_or_default();
    let drift = status.stack_drift_status().map(|s| s.as_str().to_string()).unwrap_or_default();
    if detection == "DETECTION_COMPLETE" && drift == "DRIFTED" {
        d.resources = drifted_resources(cfn, &d.stack_name, calls).await?;
    }
    let names = d.resources.iter().map(|r| format!("{} ({})", r.logical_id, r.status)).collect();
    match stack_state(&detection, &drift, status.detection_status_reason(), names) {
        StackDriftState::InSync => d.drift_status = "IN_SYNC".into(),
        StackDriftState::Drifted(_) => d.drift_status = "DRIFTED".into(),
        StackDriftState::NotDeployed => d.drift_status = "NOT_DEPLOYED".into(),
        StackDriftState::Failed(why) => {
            d.drift_status = "FAILED".into();
            d.error = Some(why);
        }
    }
    Ok(())
}

/// Every MODIFIED or DELETED resource of a stack whose detection said DRIFTED (all pages).
async fn drifted_resources(cfn: &Client, stack_name: &str, calls: &mut u32) -> Result<Vec<ResourceDrift>, DeployError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        *calls += 1;
        let page = cfn
            .describe_stack_resource_drifts()
            .stack_name(stack_name)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DescribeStackResourceDrifts", e))?;
        for r in page.stack_resource_drifts() {
            out.push(ResourceDrift {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().map(str::to_string),
                status: r.stack_resource_drift_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                differences: r
                    .property_differences()
                    .iter()
                    .map(|p| PropertyDifference {
                        path: p.property_path().unwrap_or_default().to_string(),
                        expected: p.expected_value().unwrap_or_default().to_string(),
                        actual: p.actual_value().unwrap_or_default().to_string(),
                        difference: p.difference_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}

/// `  rm-acme (backend): DRIFTED` and one line per drifted resource, for the text outputs.
pub fn lines(drift: &[StackDrift]) -> Vec<String> {
    let mut out = Vec::new();
    for d in drift {
        let mut l = format!("{} ({}): {}", d.stack_name, d.stack, d.drift_status);
        if let Some(e) = &d.error {
            l.push_str(&format!(": {e}"));
        }
        out.push(l);
        for r in &d.resources {
            let diffs: Vec<String> = r
                .differences
                .iter()
                .map(|p| format!("{} {} expected {} actual {}", p.path, p.difference, p.expected, p.actual))
                .collect();
            let what = if diffs.is_empty() { String::new() } else { format!(": {}", diffs.join("; ")) };
            out.push(format!("  {} {} {}{what}", r.logical_id, r.resource_type, r.status));
        }
    }
    out
}
