//! The claim certificate (fleet provisioning by claim), kept in the tenant's account: its record is a Secrets Manager
//! secret, the claim policy's targets say what is attached, and the 0600 files under the state directory are a copy.
//! `apply` calls [`ensure`], `destroy` calls [`retire_all`], `claim rotate` / `claim show` are [`rotate`]; the
//! decisions are pure ([`decide`], [`plan`], [`health`] for `status`); [`view`] reads what the account holds.

mod certs;
pub mod decide;
pub mod encrypt;
pub mod health;
mod keygen;
pub mod plan;
pub mod rotate;
pub mod secret;
pub mod view;

use super::iot::{self, ClaimCertificate};
use super::progress::{Progress, ProgressEvent};
use super::sdk::Clients;
use super::DeployError;
use crate::template::Names;
use decide::{Action, CertState, Local, Observed, Refusal, SecretState};
use secret::{Read, Stored};
use std::collections::BTreeMap;
use std::path::Path;

pub use certs::id_of;

/// Where the claim certificate lives for one tenant.
pub struct Place<'a> {
    pub tenant: &'a str,
    /// The claim policy (the backend's `ClaimPolicyName`).
    pub policy: &'a str,
    /// The secret's name ([`crate::template::Names::claim_secret`]).
    pub secret: &'a str,
    /// The secret's tags (the config's tags and `rainmaker:tenant`).
    pub tags: BTreeMap<String, String>,
    /// The tenant's local state directory (the copy).
    pub state: &'a Path,
    /// `security.kms: customer-managed`: the alias of the tenant key the secret is encrypted with (none: the
    /// account's `aws/secretsmanager` key).
    pub kms: Option<String>,
}

impl<'a> Place<'a> {
    /// The tenant's place: its claim policy `policy`, the secret named after it, tagged with the config's tags and
    /// `rainmaker:tenant`, encrypted with the tenant key when the config says `security.kms: customer-managed`.
    pub fn new(config: &'a crate::config::Config, names: &'a Names, policy: &'a str, state: &'a Path) -> Place<'a> {
        let mut tags = config.tags.clone();
        tags.insert("rainmaker:tenant".into(), config.name.clone());
        let kms = config.security.kms.customer_managed().then(|| format!("alias/{}", names.prefix));
        Place { tenant: &config.name, policy, secret: &names.claim_secret, tags, state, kms }
    }
}

fn step(progress: &dyn Progress, message: String) {
    progress.report(ProgressEvent::Step { stack: None, message });
}

/// Make sure the account holds exactly one claim certificate for the tenant, ACTIVE, recorded in its secret and
/// attached to the claim policy, and that the local copy equals the secret; return it (never its key).
///
/// `quick` (nothing changed in the stacks): a local copy written from the secret is trusted after one
/// DescribeCertificate says it is still ACTIVE (the no-op apply's 3 calls). Otherwise, or when that fails, the
/// account is read: the secret, the policy's targets, the certificate's status, and [`decide::decide`] says what
/// to do. A run killed at any point converges on the next one.
pub async fn ensure(
    c: &Clients,
    p: &Place<'_>,
    quick: bool,
    progress: &dyn Progress,
) -> Result<ClaimCertificate, DeployError> {
    if quick {
        if let Some(local) = iot::read_record(p.state)? {
            let copied = local.secret.as_deref() == Some(p.secret) && local.secret_version_id.is_some();
            if copied
                && local.private_key_file.exists()
                && local.certificate_file.exists()
                && certs::status(&c.iot, &local.certificate_id).await? == CertState::Active
            {
                return Ok(ClaimCertificate { created: false, policy: p.policy.into(), strays: vec![], ..local });
            }
        }
    }
    // the tenant key exists (it is the backend stack's, converged before) and is enabled before anything is
    // written with it
    let key = match &p.kms {
        Some(alias) => Some((encrypt::key_arn(c, alias).await?, alias.as_str())),
        None => None,
    };
    let mut key_checked = false;
    // bounded: each pass either finishes or saw another run move first (a secret created or restored meanwhile)
    for _ in 0..4 {
        let read = secret::read(&c.secrets, p.secret).await?;
        if let (Read::Present { .. }, Some((arn, alias)), false) = (&read, &key, key_checked) {
            // written before under aws/secretsmanager (or another key): moved to the tenant key, value untouched
            if encrypt::use_key(c, p.secret, arn, alias).await? {
                step(progress, format!("re-encrypted secret {} with the tenant key {alias}", p.secret));
            }
            key_checked = true;
        }
        let kms_key = key.as_ref().map(|(arn, _)| arn.as_str());
        let mut located: Option<(String, String)> = None;
        let targets = certs::targets(&c.iot, p.policy).await?;
        let (state, current, local) = match &read {
            Read::Absent => (SecretState::Absent, None, observe_local(c, p.state).await?),
            Read::PendingDeletion => (SecretState::PendingDeletion, None, None),
            Read::Present { stored, .. } => {
                let (id, arn, status) = certs::locate(&c.iot, &stored.certificate_id, &stored.certificate_pem).await?;
                located = Some((id, arn.clone()));
                let state = SecretState::Present {
                    certificate_arn: arn,
                    retiring: stored.retiring.iter().map(|r| r.certificate_arn.clone()).collect(),
                };
                (state, Some(status), None)
            }
        };
        let d = decide::decide(&Observed { secret: state, current, local: local.clone(), targets });
        for s in &d.strays {
            step(
                progress,
                format!(
                    "warning: {s} is attached to the claim policy {} but no secret records it; `destroy` removes it, \
                     or detach it when no firmware uses it",
                    p.policy
                ),
            );
        }
        match d.action {
            Action::Restore => {
                step(progress, format!("restoring secret {} (deleted by an earlier destroy)", p.secret));
                secret::restore(&c.secrets, p.secret).await?;
            }
            Action::Reuse { attach } => {
                let (Read::Present { stored, version_id }, Some((id, arn))) = (read, located) else {
                    return Err(not_read());
                };
                if attach {
                    step(progress, format!("attaching the claim policy to {id} (an earlier run stopped before)"));
                    certs::attach(&c.iot, p.policy, &arn).await?;
                }
                return write_copy(p, &stored, (&id, &arn), &version_id, false, d.strays);
            }
            Action::Adopt { attach } => {
                let (stored, arn) = read_copy(p)?;
                step(progress, format!("storing claim certificate {} in secret {}", stored.certificate_id, p.secret));
                let Some(version_id) =
                    secret::create(&c.secrets, p.secret, p.tenant, &p.tags, &stored, kms_key).await?
                else {
                    continue;
                };
                if attach {
                    certs::attach(&c.iot, p.policy, &arn).await?;
                }
                let id = stored.certificate_id.clone();
                return write_copy(p, &stored, (&id, &arn), &version_id, false, d.strays);
            }
            Action::Create { replace } => {
                // made here and stored before AWS IoT knows it: a kill or a lost answer at any point leaves a
                // certificate the secret records (registered by the next run), never one nobody knows
                let stored = new_certificate(p, vec![])?;
                step(
                    progress,
                    format!("storing a new claim certificate {} in secret {}", stored.certificate_id, p.secret),
                );
                let version_id = if replace {
                    secret::put(&c.secrets, p.secret, &stored).await?
                } else {
                    // None: another run stored its certificate first; ours exists nowhere but here
                    let Some(v) = secret::create(&c.secrets, p.secret, p.tenant, &p.tags, &stored, kms_key).await?
                    else {
                        continue;
                    };
                    v
                };
                return register_and_attach(c, p, &stored, &version_id, d.strays, progress).await;
            }
            Action::Refuse(r) => return Err(refusal(r, p)),
        }
    }
    Err(DeployError::Claim {
        message: format!("the claim secret {} kept changing while this run read it", p.secret),
        help: "another apply, rotate or destroy of this tenant is running: let it finish, then run again".into(),
    })
}

/// A new key pair and certificate made here ([`keygen`]), as the secret's content with `retiring` listed.
fn new_certificate(p: &Place<'_>, retiring: Vec<secret::Retiring>) -> Result<Stored, DeployError> {
    let new = keygen::generate(p.tenant)?;
    Ok(Stored {
        certificate_id: new.id,
        certificate_arn: None,
        certificate_pem: new.pem,
        private_key: new.key,
        policy: p.policy.to_string(),
        retiring,
    })
}

/// After the secret holds `stored` (version `version_id`): register it with AWS IoT (a repeat names the same
/// certificate), attach the claim policy, write the local copy. The certificate is new (`created`).
async fn register_and_attach(
    c: &Clients,
    p: &Place<'_>,
    stored: &Stored,
    version_id: &str,
    strays: Vec<String>,
    progress: &dyn Progress,
) -> Result<ClaimCertificate, DeployError> {
    step(progress, format!("stored; registering claim certificate {} with AWS IoT", stored.certificate_id));
    let (id, arn) = certs::register(&c.iot, &stored.certificate_pem).await?;
    certs::attach(&c.iot, p.policy, &arn).await?;
    write_copy(p, stored, (&id, &arn), version_id, true, strays)
}

fn not_read() -> DeployError {
    DeployError::io("claim certificate", "decided to reuse a secret that was not read")
}

/// The local copy's certificate and status, when a record and its files are there.
async fn observe_local(c: &Clients, state: &Path) -> Result<Option<Local>, DeployError> {
    let Some(r) = iot::read_record(state)? else { return Ok(None) };
    let has_key = r.private_key_file.exists() && r.certificate_file.exists();
    let status = certs::status(&c.iot, &r.certificate_id).await?;
    Ok(Some(Local { certificate_arn: r.certificate_arn, state: status, has_key }))
}

/// The local copy as a secret's content (for adopting a deployment made before the secret), and its ARN.
fn read_copy(p: &Place<'_>) -> Result<(Stored, String), DeployError> {
    let r =
        iot::read_record(p.state)?.ok_or_else(|| DeployError::io("claim certificate", "the local record vanished"))?;
    let read =
        |f: &Path| std::fs::read_to_string(f).map_err(|e| DeployError::io(format!("reading {}", f.display()), e));
    let stored = Stored {
        certificate_pem: read(&r.certificate_file)?,
        private_key: read(&r.private_key_file)?,
        certificate_id: r.certificate_id,
        certificate_arn: Some(r.certificate_arn.clone()),
        policy: p.policy.to_string(),
        retiring: vec![],
    };
    Ok((stored, r.certificate_arn))
}

/// Write the local copy (key and certificate 0600, record last) from the secret's content.
fn write_copy(
    p: &Place<'_>,
    stored: &Stored,
    (id, arn): (&str, &str),
    version_id: &str,
    created: bool,
    strays: Vec<String>,
) -> Result<ClaimCertificate, DeployError> {
    iot::create_private_dir(p.state)?;
    let claim = ClaimCertificate {
        certificate_id: id.to_string(),
        certificate_arn: arn.to_string(),
        certificate_file: p.state.join(iot::CERT),
        private_key_file: p.state.join(iot::KEY),
        policy: p.policy.to_string(),
        created,
        secret: Some(p.secret.to_string()),
        secret_version_id: Some(version_id.to_string()),
        strays: vec![],
    };
    iot::write_private(&claim.private_key_file, stored.private_key.as_bytes())?;
    iot::write_private(&claim.certificate_file, stored.certificate_pem.as_bytes())?;
    let record = serde_json::to_string_pretty(&claim).map_err(|e| DeployError::io("serializing claim.json", e))?;
    iot::write_private(&p.state.join(iot::RECORD), record.as_bytes())?;
    Ok(ClaimCertificate { strays, ..claim })
}

fn refusal(r: Refusal, p: &Place<'_>) -> DeployError {
    match r {
        Refusal::Unrecorded { attached } => DeployError::Claim {
            message: format!(
                "the claim policy {} has {} certificate(s) attached ({}) but no secret {} records a key for them; \
                 nothing was changed",
                p.policy,
                attached.len(),
                attached.join(", "),
                p.secret
            ),
            help: "they were made by an older rainmaker-deploy in another directory or on another machine: run \
                   `rainmaker-deploy apply` once where its .rainmaker/<account>/<region>/<tenant>/claim.json is (it \
                   moves that certificate into the secret), or, when no firmware uses them, detach them \
                   (`aws iot detach-policy --policy-name ... --target ARN`) and run again to create a new one"
                .into(),
        },
        Refusal::NotActive { certificate_arn, status } => DeployError::Claim {
            message: format!(
                "the claim certificate {certificate_arn} recorded in secret {} is {status}; nothing was changed",
                p.secret
            ),
            help: "someone set that state on purpose: make it ACTIVE again (`aws iot update-certificate \
                   --certificate-id ID --new-status ACTIVE`), or REVOKED to have the next apply replace it"
                .into(),
        },
    }
}

/// Remove every claim certificate of the tenant from the account (before its stacks are deleted: an attached
/// certificate keeps the claim policy from being deleted): each certificate attached to the claim policy (every
/// page of ListTargetsForPolicy), the secret's (attached or not: a kill may have stopped before AttachPolicy) and
/// the ones it lists as retiring, and the local record's; each detached, deactivated and deleted. Then the secret
/// is deleted with a 7-day recovery window and the local copy removed. Returns the ids of the deleted certificates.
pub async fn retire_all(c: &Clients, p: &Place<'_>, progress: &dyn Progress) -> Result<Vec<String>, DeployError> {
    let mut deleted = Vec::new();
    retire_all_into(c, p, progress, &mut deleted).await?;
    Ok(deleted)
}

/// [`retire_all`], adding each certificate to `deleted` as soon as it is deleted (so a failed run still says
/// which ones went).
pub async fn retire_all_into(
    c: &Clients,
    p: &Place<'_>,
    progress: &dyn Progress,
    deleted: &mut Vec<String>,
) -> Result<(), DeployError> {
    let mut all: Vec<certs::Target> =
        certs::targets(&c.iot, p.policy).await?.iter().map(|a| certs::Target::from_arn(a)).collect();
    let read = secret::read(&c.secrets, p.secret).await?;
    if let Read::Present { stored, .. } = &read {
        all.push(certs::Target { id: Some(stored.certificate_id.clone()), arn: stored.certificate_arn.clone() });
        for r in &stored.retiring {
            all.push(certs::Target { id: Some(r.certificate_id.clone()), arn: Some(r.certificate_arn.clone()) });
        }
    }
    if let Some(l) = iot::read_record(p.state)? {
        all.push(certs::Target { id: Some(l.certificate_id), arn: Some(l.certificate_arn) });
    }
    // each principal once: by id (a target's ARN carries it), else by ARN
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|t| seen.insert(t.id.clone().or_else(|| t.arn.clone())));
    for t in &all {
        let name = t.id.as_deref().or(t.arn.as_deref()).unwrap_or_default();
        step(progress, format!("deleting claim certificate {name}"));
        if certs::retire(&c.iot, p.policy, t).await? {
            deleted.extend(t.id.clone());
        }
    }
    if matches!(read, Read::Present { .. }) {
        step(progress, format!("deleting secret {} (recoverable for {} days)", p.secret, secret::RECOVERY_DAYS));
        secret::delete(&c.secrets, p.secret).await?;
    }
    for f in [iot::KEY, iot::CERT, iot::RECORD] {
        let path = p.state.join(f);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(DeployError::io(format!("removing {}", path.display()), e))
            }
            _ => {}
        }
    }
    Ok(())
}
