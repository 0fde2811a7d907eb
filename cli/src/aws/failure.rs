//! What a failed `apply` did, returned alongside its error: per-stack results, the API calls made, the resource
//! that failed first with its reason (from the stack events), the artifacts handled, and what happened to
//! `outputs.json` (removed once a stack moved, so it is never left describing a state that is gone).

use super::artifacts::Uploaded;
use super::calls::CallSummary;
use super::converge::StackReport;
use super::deploy::{ApplyOptions, ApplyReport};
use super::progress::{Progress, ProgressEvent, Prompter};
use super::sdk::{Clients, Tenant};
use super::DeployError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// What the run got done before it failed, filled in by `deploy::apply_with` as it goes.
#[derive(Debug, Default)]
pub struct Partial {
    pub account: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Stacks brought to their template (in order), before the failure.
    pub stacks: Vec<StackReport>,
    pub artifacts: Vec<Uploaded>,
}

/// The resource that failed first, as its stack event says.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailedResource {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One stack's result in a failed run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StackOutcome {
    pub stack: String,
    pub stack_name: String,
    /// apply: `created`, `updated`, `unchanged`; destroy: `deleted`, `already_gone`; both: `failed` (its
    /// operation ended badly or the run stopped on it, with the last status seen) or `not_reached`.
    pub result: String,
    /// The stack's last status seen in this run (none: not seen).
    pub status: Option<String>,
    pub recovered: Vec<String>,
}

/// What happened to `outputs.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputsFile {
    pub path: Option<PathBuf>,
    /// `removed` (a stack moved: its old content may be stale; the next successful apply writes it again),
    /// `untouched` (no stack moved: it still describes what is deployed), `none` (there was none).
    pub action: String,
}

/// The report of a failed run (`apply` or `destroy`): who and where, the error, each stack's result, the resource
/// that failed first, what the run did (`D`: [`ApplyDid`], a destroy's [`crate::aws::destroy::failure::DestroyDid`]),
/// the API calls made.
#[derive(Debug, Clone, Serialize)]
pub struct RunFailure<D> {
    pub tenant: String,
    pub account: Option<String>,
    pub region: String,
    /// The error, as printed.
    pub error: String,
    /// Its diagnostic code (`rainmaker::deploy::stack_failed`, `rainmaker::deploy::delete_failed`, ...).
    pub error_code: Option<String>,
    /// In the order the run takes them (apply: bootstrap, backend; destroy: backend, bootstrap).
    pub stacks: Vec<StackOutcome>,
    pub failing_resource: Option<FailedResource>,
    #[serde(flatten)]
    pub did: D,
    pub api_calls: CallSummary,
    pub elapsed_ms: u64,
}

/// What a failed apply did besides its stacks.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyDid {
    pub artifacts: Vec<Uploaded>,
    pub outputs_file: OutputsFile,
}

/// The report of a failed apply.
pub type FailureReport = RunFailure<ApplyDid>;

/// A failed run: the error and what the run did.
#[derive(Debug)]
pub struct Failed<D> {
    pub error: DeployError,
    pub report: Box<RunFailure<D>>,
}

/// A failed apply: the error and what the run did.
pub type FailedApply = Failed<ApplyDid>;

/// A run being recorded (`apply_reporting`, `destroy_reporting`): when it started, its clients (they count the
/// calls) and the recorder its progress goes through.
pub(crate) struct Run<'a> {
    started: Instant,
    pub clients: Clients,
    pub recorder: Recorder<'a>,
}

impl<'a> Run<'a> {
    pub fn start(t: &Tenant, progress: &'a dyn Progress) -> Run<'a> {
        Run { started: Instant::now(), clients: Clients::new(&t.sdk), recorder: Recorder::new(progress) }
    }

    /// The run failed with `error`: its report, from what the recorder saw and the run's own part (`did`: given
    /// what was seen, the stack the error names and the tenant's stack names, each stack's outcome and the rest).
    pub fn failed<D>(
        self,
        t: &Tenant,
        error: DeployError,
        account: Option<String>,
        did: impl FnOnce(&Seen, Option<&str>, &crate::template::Names) -> (Vec<StackOutcome>, D),
    ) -> Failed<D> {
        let seen = self.recorder.into_seen();
        let names = crate::template::Names::new(&t.config.name);
        let (stacks, did) = did(&seen, failed_stack(&error), &names);
        let report = RunFailure {
            tenant: t.config.name.clone(),
            account,
            region: t.config.region.clone(),
            error: error.to_string(),
            error_code: miette::Diagnostic::code(&error).map(|c| c.to_string()),
            stacks,
            failing_resource: seen.first_failure,
            did,
            api_calls: self.clients.calls.summary(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        };
        Failed { error, report: Box::new(report) }
    }
}

/// Forwards progress, and remembers per stack the last status and the first failed resource (`apply` and
/// `destroy` both report from it).
pub(crate) struct Recorder<'a> {
    inner: &'a dyn Progress,
    seen: Mutex<Seen>,
}

#[derive(Default)]
pub(crate) struct Seen {
    pub status: BTreeMap<String, String>,
    pub first_failure: Option<FailedResource>,
    /// Any stack event at all: some stack moved in this run.
    pub moved: bool,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn Progress) -> Recorder<'a> {
        Recorder { inner, seen: Mutex::new(Seen::default()) }
    }

    /// What was seen (the run is over).
    pub fn into_seen(self) -> Seen {
        self.seen.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for Recorder<'_> {
    fn report(&self, event: ProgressEvent) {
        {
            let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            match &event {
                ProgressEvent::Resource { stack, logical_id, resource_type, status, reason, description, .. } => {
                    s.moved = true;
                    s.status.entry(stack.clone()).or_default();
                    if let Some(f) = first_failure(stack, logical_id, resource_type, status, reason.as_deref()) {
                        if s.first_failure.is_none() {
                            s.first_failure = Some(FailedResource { description: description.clone(), ..f });
                        }
                    }
                    if resource_type == "AWS::CloudFormation::Stack" && logical_id == stack {
                        s.status.insert(stack.clone(), status.clone());
                    }
                }
                ProgressEvent::StackDone { stack, status } => {
                    s.status.insert(stack.clone(), status.clone());
                }
                ProgressEvent::Step { .. } => {}
            }
        }
        self.inner.report(event);
    }
}

/// A resource event that says why an operation failed: a `*_FAILED` status of a resource (not the stack itself,
/// whose reason only lists the failed resources), with a reason that is not a cancellation caused by another one.
pub fn first_failure(
    stack: &str,
    logical_id: &str,
    resource_type: &str,
    status: &str,
    reason: Option<&str>,
) -> Option<FailedResource> {
    let is_stack = resource_type == "AWS::CloudFormation::Stack" && logical_id == stack;
    let reason = reason?;
    let cancelled = reason.contains("Resource creation cancelled") || reason.contains("Resource update cancelled");
    (status.ends_with("_FAILED") && !is_stack && !cancelled).then(|| FailedResource {
        stack: stack.into(),
        logical_id: logical_id.into(),
        resource_type: resource_type.into(),
        status: status.into(),
        reason: reason.into(),
        description: None,
    })
}

/// The stack an error is about, when it names one.
pub(crate) fn failed_stack(e: &DeployError) -> Option<&str> {
    match e {
        DeployError::Refused { stack, .. }
        | DeployError::StackFailed { stack, .. }
        | DeployError::FailedCreate { stack, .. }
        | DeployError::Stuck { stack, .. }
        | DeployError::DeleteFailed { stack, .. }
        | DeployError::PolicyNotRestored { stack, .. }
        | DeployError::NotDeployed { stack }
        | DeployError::Cancelled { stack, .. } => Some(stack),
        _ => None,
    }
}

/// Per stack (bootstrap, backend): done, failed, or not reached. Pure.
pub fn outcomes(
    names: &[(&str, &str)],
    done: &[StackReport],
    status: &BTreeMap<String, String>,
    failed: Option<&str>,
) -> Vec<StackOutcome> {
    names
        .iter()
        .map(|(stack, stack_name)| {
            if let Some(r) = done.iter().find(|r| r.stack_name == *stack_name) {
                return StackOutcome {
                    stack: stack.to_string(),
                    stack_name: stack_name.to_string(),
                    result: format!("{:?}", r.result).to_lowercase(),
                    status: Some(r.status.clone()),
                    recovered: r.recovered.clone(),
                };
            }
            let seen = status.get(*stack_name).filter(|s| !s.is_empty()).cloned();
            let reached = seen.is_some() || status.contains_key(*stack_name) || failed == Some(*stack_name);
            StackOutcome {
                stack: stack.to_string(),
                stack_name: stack_name.to_string(),
                result: if reached { "failed" } else { "not_reached" }.into(),
                status: seen,
                recovered: vec![],
            }
        })
        .collect()
}

/// `deploy::apply`, returning on failure what the run did alongside the error (the CLI prints both).
pub async fn apply_reporting(
    t: &Tenant,
    opts: &ApplyOptions,
    prompter: &dyn Prompter,
    progress: &dyn Progress,
) -> Result<ApplyReport, FailedApply> {
    let run = Run::start(t, progress);
    let mut partial = Partial::default();
    let error = match super::deploy::apply_with(t, &run.clients, opts, prompter, &run.recorder, &mut partial).await {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    Err(run.failed(t, error, partial.account, |seen, failed, names| {
        let stacks = outcomes(
            &[("bootstrap", &names.bootstrap_stack), ("backend", &names.backend_stack)],
            &partial.stacks,
            &seen.status,
            failed,
        );
        let moved = seen.moved
            || partial
                .stacks
                .iter()
                .any(|s| s.result != super::converge::StackResult::Unchanged || !s.recovered.is_empty());
        let outputs_file = match &partial.state_dir {
            // failed before the account was known: nothing was read or written
            None => OutputsFile { path: None, action: "untouched".into() },
            Some(dir) => stale_outputs(&dir.join("outputs.json"), moved),
        };
        (stacks, ApplyDid { artifacts: partial.artifacts, outputs_file })
    }))
}

/// Remove `outputs.json` when a stack moved (it may describe what is gone); leave it when nothing moved.
pub(crate) fn stale_outputs(path: &std::path::Path, moved: bool) -> OutputsFile {
    let exists = path.exists();
    let action = match (exists, moved) {
        (false, _) => "none",
        (true, false) => "untouched",
        (true, true) => match std::fs::remove_file(path) {
            Ok(()) => "removed",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "none",
            // cannot happen silently: say so in the report (the file may be stale)
            Err(_) => "stale: could not be removed",
        },
    };
    OutputsFile { path: exists.then(|| path.to_path_buf()), action: action.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::converge::StackResult;
    use crate::aws::plan::StackPlan;

    #[test]
    fn the_first_failed_resource_is_the_cause_not_the_stack_or_a_cancellation() {
        let f = |l: &str, t: &str, s: &str, r: Option<&str>| first_failure("rm-acme", l, t, s, r);
        let table = "AWS::DynamoDB::Table";
        assert_eq!(f("UsersTable", table, "UPDATE_FAILED", Some("GSI")).unwrap().reason, "GSI");
        assert!(f("rm-acme", "AWS::CloudFormation::Stack", "UPDATE_FAILED", Some("x")).is_none(), "the stack");
        assert!(f("Queue", "AWS::SQS::Queue", "CREATE_FAILED", Some("Resource creation cancelled")).is_none());
        assert!(f("Queue", "AWS::SQS::Queue", "UPDATE_FAILED", Some("Resource update cancelled")).is_none());
        assert!(f("UsersTable", table, "UPDATE_IN_PROGRESS", Some("x")).is_none());
        assert!(f("UsersTable", table, "UPDATE_FAILED", None).is_none());
    }

    #[test]
    fn stacks_are_done_failed_or_not_reached() {
        let boot = StackReport {
            stack: "bootstrap".into(),
            stack_name: "rm-a-bootstrap".into(),
            result: StackResult::Unchanged,
            status: "UPDATE_COMPLETE".into(),
            plan: StackPlan::unchanged("bootstrap", "rm-a-bootstrap"),
            recovered: vec![],
            outputs: BTreeMap::new(),
        };
        let names = [("bootstrap", "rm-a-bootstrap"), ("backend", "rm-a")];
        let status = BTreeMap::from([("rm-a".to_string(), "UPDATE_ROLLBACK_COMPLETE".to_string())]);
        let o = outcomes(&names, std::slice::from_ref(&boot), &status, Some("rm-a"));
        let got: Vec<(&str, Option<&str>)> = o.iter().map(|o| (o.result.as_str(), o.status.as_deref())).collect();
        assert_eq!(got, [("unchanged", Some("UPDATE_COMPLETE")), ("failed", Some("UPDATE_ROLLBACK_COMPLETE"))]);
        let o = outcomes(&names, &[], &BTreeMap::new(), Some("rm-a-bootstrap"));
        let got: Vec<(&str, Option<&str>)> = o.iter().map(|o| (o.result.as_str(), o.status.as_deref())).collect();
        assert_eq!(got, [("failed", None), ("not_reached", None)]);
        let o = outcomes(&names, &[boot], &BTreeMap::new(), None);
        assert_eq!(o[1].result, "not_reached", "an error naming no stack (the claim certificate, say)");
    }

    #[test]
    fn outputs_are_removed_only_when_a_stack_moved() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("outputs.json");
        assert_eq!(stale_outputs(&p, true).action, "none");
        std::fs::write(&p, "{}").unwrap();
        assert_eq!(stale_outputs(&p, false).action, "untouched");
        assert!(p.exists());
        assert_eq!(stale_outputs(&p, true).action, "removed");
        assert!(!p.exists());
    }
}
