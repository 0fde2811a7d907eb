//! What a failed `destroy` did, returned alongside its error (like a failed apply's, [`crate::aws::failure`]):
//! per-stack results, the resource that failed first with its reason (the stack events' `DELETE_FAILED`), the
//! claim certificates and data deleted before, the API calls, and the local state with nothing stale left in it.

use super::{DeletedResource, DestroyOptions, DestroyReport};
use crate::aws::failure::{stale_outputs, Failed, OutputsFile, Run, RunFailure, StackOutcome};
use crate::aws::iot;
use crate::aws::progress::{Progress, ProgressEvent};
use crate::aws::sdk::Tenant;
use crate::aws::DeployError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the run got done before it failed, filled in by `destroy_with` as it goes.
#[derive(Debug, Default)]
pub struct Partial {
    pub account: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Claim certificates deleted (each as soon as it was).
    pub claim_deleted: Vec<String>,
    /// Stacks found already gone.
    pub gone: Vec<String>,
    /// Stacks whose DeleteStack was sent.
    pub delete_sent: Vec<String>,
    /// Stacks that reached DELETE_COMPLETE.
    pub deleted_stacks: Vec<String>,
    pub deleted_data: Vec<DeletedResource>,
}

/// What a failed destroy did besides its stacks (backend first, then bootstrap: `deleted`, `already_gone`, `failed`
/// or `not_reached`).
#[derive(Debug, Clone, Serialize)]
pub struct DestroyDid {
    pub claim_certificates_deleted: Vec<String>,
    pub deleted_data: Vec<DeletedResource>,
    pub outputs_file: OutputsFile,
    /// The local claim copy: `removed` (the certificate it names was deleted), `untouched` or `none`.
    pub claim_copy: String,
    /// The record of what the stacks retain (`retained.json`): kept on purpose, the next run deletes from it.
    pub retained_record: Option<PathBuf>,
}

/// The report of a failed destroy.
pub type DestroyFailure = RunFailure<DestroyDid>;

/// A failed destroy: the error and what the run did.
pub type FailedDestroy = Failed<DestroyDid>;

/// Per stack (backend, bootstrap): deleted, already gone, failed, or not reached. Pure.
pub fn outcomes(
    names: &[(&str, &str)],
    p: &Partial,
    status: &BTreeMap<String, String>,
    failed: Option<&str>,
) -> Vec<StackOutcome> {
    names
        .iter()
        .map(|(stack, name)| {
            let has = |l: &[String]| l.iter().any(|n| n == name);
            let seen = status.get(*name).filter(|s| !s.is_empty()).cloned();
            let (result, status) = if has(&p.deleted_stacks) {
                ("deleted", Some("DELETE_COMPLETE".to_string()))
            } else if has(&p.gone) {
                ("already_gone", None)
            } else if has(&p.delete_sent) || failed == Some(*name) || seen.is_some() {
                ("failed", seen)
            } else {
                ("not_reached", None)
            };
            StackOutcome {
                stack: stack.to_string(),
                stack_name: name.to_string(),
                result: result.into(),
                status,
                recovered: vec![],
            }
        })
        .collect()
}

/// `destroy`, returning on failure what the run did alongside the error (the CLI prints both).
pub async fn destroy_reporting(
    t: &Tenant,
    opts: &DestroyOptions,
    progress: &dyn Progress,
) -> Result<DestroyReport, FailedDestroy> {
    let run = Run::start(t, progress);
    let mut partial = Partial::default();
    let error = match super::destroy_with(t, &run.clients, opts, &run.recorder, &mut partial).await {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    Err(run.failed(t, error, partial.account.take(), |seen, failed, names| {
        let stacks = outcomes(
            &[("backend", &names.backend_stack), ("bootstrap", &names.bootstrap_stack)],
            &partial,
            &seen.status,
            failed,
        );
        let moved = seen.moved
            || !partial.delete_sent.is_empty()
            || !partial.claim_deleted.is_empty()
            || !partial.deleted_data.is_empty();
        let (outputs_file, claim_copy, retained_record) = match &partial.state_dir {
            // failed before the account was known: nothing was read or written
            None => (OutputsFile { path: None, action: "untouched".into() }, "untouched".to_string(), None),
            Some(dir) => {
                let record = super::journal::path(dir);
                (
                    stale_outputs(&dir.join("outputs.json"), moved),
                    stale_claim_copy(dir, &partial.claim_deleted),
                    record.exists().then_some(record),
                )
            }
        };
        let did = DestroyDid {
            claim_certificates_deleted: partial.claim_deleted,
            deleted_data: partial.deleted_data,
            outputs_file,
            claim_copy,
            retained_record,
        };
        (stacks, did)
    }))
}

/// Remove the local claim copy when the certificate it names was deleted (a run stopped between the deletion and
/// the copy's removal); leave it otherwise (it is still the account's). A record that cannot be read is left too.
fn stale_claim_copy(state: &Path, deleted: &[String]) -> String {
    let Ok(Some(local)) = iot::read_record(state) else {
        return if state.join(iot::RECORD).exists() { "untouched" } else { "none" }.into();
    };
    if !deleted.contains(&local.certificate_id) {
        return "untouched".into();
    }
    for f in [iot::RECORD, iot::KEY, iot::CERT] {
        match std::fs::remove_file(state.join(f)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return "stale: could not be removed".into(),
            _ => {}
        }
    }
    "removed".into()
}

/// After both stacks are gone: remove `outputs.json` (it described them); said on the progress sink.
pub(super) fn remove_outputs(state: &Path, progress: &dyn Progress) -> Result<(), DeployError> {
    let path = state.join("outputs.json");
    match std::fs::remove_file(&path) {
        Ok(()) => {
            let message = format!("removed {} (it described the deleted stacks)", path.display());
            progress.report(ProgressEvent::Step { stack: None, message });
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DeployError::io(format!("removing {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_deleted_gone_failed_or_not_reached() {
        let names = [("backend", "rm-a"), ("bootstrap", "rm-a-bootstrap")];
        let result = |p: &Partial, status: &BTreeMap<String, String>, failed: Option<&str>| {
            let o = outcomes(&names, p, status, failed);
            o.into_iter().map(|o| (o.result, o.status)).collect::<Vec<_>>()
        };
        let s = |r: &str, st: Option<&str>| (r.to_string(), st.map(str::to_string));
        let failed_delete = Partial { delete_sent: vec!["rm-a".into()], ..Partial::default() };
        let status = BTreeMap::from([("rm-a".to_string(), "DELETE_FAILED".to_string())]);
        assert_eq!(
            result(&failed_delete, &status, Some("rm-a")),
            [s("failed", Some("DELETE_FAILED")), s("not_reached", None)]
        );
        let second =
            Partial { gone: vec!["rm-a".into()], delete_sent: vec!["rm-a-bootstrap".into()], ..Partial::default() };
        assert_eq!(result(&second, &BTreeMap::new(), None), [s("already_gone", None), s("failed", None)]);
        let data = Partial {
            delete_sent: vec!["rm-a".into(), "rm-a-bootstrap".into()],
            deleted_stacks: vec!["rm-a".into(), "rm-a-bootstrap".into()],
            ..Partial::default()
        };
        let done = [s("deleted", Some("DELETE_COMPLETE")), s("deleted", Some("DELETE_COMPLETE"))];
        assert_eq!(result(&data, &BTreeMap::new(), None), done, "a failure after the stacks: the data");
        assert_eq!(
            result(&Partial::default(), &BTreeMap::new(), None),
            [s("not_reached", None), s("not_reached", None)],
            "failed on the claim certificate, before any stack"
        );
    }

    #[test]
    fn the_claim_copy_goes_only_when_its_certificate_was_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        assert_eq!(stale_claim_copy(state, &[]), "none");
        let record = serde_json::json!({
            "certificate_id": "c1", "certificate_arn": "arn:aws:iot:eu-west-1:123456789012:cert/c1",
            "certificate_file": "claim.cert.pem", "private_key_file": "claim.private.key", "policy": "rm-a-claim"
        });
        std::fs::write(state.join(iot::RECORD), record.to_string()).unwrap();
        std::fs::write(state.join(iot::KEY), "key").unwrap();
        std::fs::write(state.join(iot::CERT), "cert").unwrap();
        assert_eq!(stale_claim_copy(state, &["c0".into()]), "untouched");
        assert!(state.join(iot::KEY).exists());
        assert_eq!(stale_claim_copy(state, &["c0".into(), "c1".into()]), "removed");
        for f in [iot::RECORD, iot::KEY, iot::CERT] {
            assert!(!state.join(f).exists(), "{f}");
        }
    }
}
