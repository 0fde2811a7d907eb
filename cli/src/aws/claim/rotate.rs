//! `claim rotate`, `claim rotate --finish` and `claim show` as data: a new claim certificate beside the old one
//! (which keeps working until its grace period ends), the retirement of those whose grace has ended, and what the
//! account holds (never a key).

use super::plan::{rfc3339, split_due};
use super::secret::{self, Read, Retiring, Stored};
use super::{certs, step, write_copy, Place};
use crate::aws::calls::CallSummary;
use crate::aws::progress::Progress;
use crate::aws::sdk::{Clients, Tenant};
use crate::aws::DeployError;
use crate::template::Names;
use serde::Serialize;

pub use super::view::ShownCertificate;
use std::time::Duration;

/// What a rotation (or its finish) did, or would do with `dry_run`.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub dry_run: bool,
    /// The claim certificate after the run (none on a dry run of a rotation: it is made only when run).
    pub current: Option<String>,
    /// The certificate the rotation replaced (it keeps working until `retiring[..].not_before`).
    pub replaced: Option<String>,
    /// Certificates still working, waiting for their grace period to end.
    pub retiring: Vec<Retiring>,
    /// Certificates detached, deactivated and deleted by `--finish` (or that would be, on a dry run).
    pub deleted: Vec<String>,
    pub api_calls: CallSummary,
}

/// What `claim show` found.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub tenant: String,
    pub account: String,
    pub region: String,
    pub secret: String,
    pub policy: String,
    pub certificates: Vec<ShownCertificate>,
    pub api_calls: CallSummary,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn not_deployed(secret: &str) -> DeployError {
    DeployError::Claim {
        message: format!("no claim certificate is recorded in secret {secret}"),
        help: "run `rainmaker-deploy apply` first: it creates the claim certificate".into(),
    }
}

/// The recorded claim certificate, after [`super::ensure`] brought it to ACTIVE, recorded and attached.
async fn current(c: &Clients, p: &Place<'_>, progress: &dyn Progress) -> Result<(Stored, String, String), DeployError> {
    if !matches!(secret::read(&c.secrets, p.secret).await?, Read::Present { .. }) {
        return Err(not_deployed(p.secret));
    }
    let claim = super::ensure(c, p, false, progress).await?;
    let Read::Present { stored, .. } = secret::read(&c.secrets, p.secret).await? else {
        return Err(not_deployed(p.secret));
    };
    Ok((stored, claim.certificate_id, claim.certificate_arn))
}

/// A new claim certificate (made locally, stored as the secret's new AWSCURRENT version, the old one kept as
/// AWSPREVIOUS and listed as retiring until now + `grace`, then registered and attached), and the local copy
/// (the device-facing claim files) rewritten. The old certificate stays ACTIVE and attached until `--finish`.
pub async fn rotate(
    t: &Tenant,
    grace: Duration,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<RotateReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let (caller, state) = crate::aws::identity::preflight(t, &c).await?;
    let names = Names::new(&t.config.name);
    let p = Place::new(&t.config, &names, &names.claim_policy, &state);
    let (old, old_id, old_arn) = current(&c, &p, progress).await?;
    let mut retiring = old.retiring.clone();
    retiring.push(Retiring {
        certificate_id: old_id.clone(),
        certificate_arn: old_arn,
        not_before: rfc3339(now() + grace.as_secs() as i64),
    });
    let mut report = RotateReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        dry_run,
        current: None,
        replaced: Some(old_id),
        retiring: retiring.clone(),
        deleted: vec![],
        api_calls: CallSummary::default(),
    };
    if !dry_run {
        let stored = super::new_certificate(&p, retiring)?;
        step(progress, format!("storing the new claim certificate {} in secret {}", stored.certificate_id, p.secret));
        let version = secret::put(&c.secrets, p.secret, &stored).await?;
        let id = super::register_and_attach(&c, &p, &stored, &version, vec![], progress).await?.certificate_id;
        update_outputs(&state, &id)?;
        report.current = Some(id);
    }
    report.api_calls = c.calls.summary();
    Ok(report)
}

/// Retire every replaced certificate whose grace period has ended: detach, deactivate, delete, and drop it from the
/// secret's list. Those still in their grace are left working and reported.
pub async fn finish(t: &Tenant, dry_run: bool, progress: &dyn Progress) -> Result<RotateReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let (caller, state) = crate::aws::identity::preflight(t, &c).await?;
    let names = Names::new(&t.config.name);
    let p = Place::new(&t.config, &names, &names.claim_policy, &state);
    let (stored, id, arn) = current(&c, &p, progress).await?;
    let (due, waiting) = split_due(&stored.retiring, now());
    let mut report = RotateReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        dry_run,
        current: Some(id.clone()),
        replaced: None,
        retiring: waiting.clone(),
        deleted: due.iter().map(|r| r.certificate_id.clone()).collect(),
        api_calls: CallSummary::default(),
    };
    if !dry_run && !due.is_empty() {
        for r in &due {
            step(progress, format!("deleting the replaced claim certificate {}", r.certificate_id));
            let target = certs::Target { id: Some(r.certificate_id.clone()), arn: Some(r.certificate_arn.clone()) };
            certs::retire(&c.iot, p.policy, &target).await?;
        }
        let kept = Stored { retiring: waiting, certificate_arn: Some(arn.clone()), ..stored };
        let version = secret::put(&c.secrets, p.secret, &kept).await?;
        write_copy(&p, &kept, (&id, &arn), &version, false, vec![])?;
    }
    report.api_calls = c.calls.summary();
    Ok(report)
}

/// `outputs.json` names the claim certificate: keep it true after a rotation (when the file exists).
fn update_outputs(state: &std::path::Path, id: &str) -> Result<(), DeployError> {
    let path = state.join("outputs.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DeployError::io(format!("reading {}", path.display()), e)),
    };
    let mut outputs: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|e| DeployError::io(format!("reading {}", path.display()), e))?;
    outputs.insert("ClaimCertificateId".into(), id.to_string());
    let text = serde_json::to_string_pretty(&outputs).map_err(|e| DeployError::io("serializing outputs", e))?;
    std::fs::write(&path, text + "\n").map_err(|e| DeployError::io(format!("writing {}", path.display()), e))
}

/// The tenant's claim certificates: the secret's current and retiring ones and every other target of the claim
/// policy, each with IoT's status, creation date and whether it is attached ([`super::view::observe`]). Changes
/// nothing.
pub async fn show(t: &Tenant) -> Result<ShowReport, DeployError> {
    let c = Clients::new(&t.sdk);
    let (caller, _) = crate::aws::identity::preflight(t, &c).await?;
    let names = Names::new(&t.config.name);
    let (seen, shown) = super::view::observe(&c, &names.claim_secret, &names.claim_policy).await?;
    if seen != super::health::SecretSeen::Present {
        return Err(not_deployed(&names.claim_secret));
    }
    Ok(ShowReport {
        tenant: t.config.name.clone(),
        account: caller.account,
        region: t.config.region.clone(),
        secret: names.claim_secret.clone(),
        policy: names.claim_policy.clone(),
        certificates: shown,
        api_calls: c.calls.summary(),
    })
}
