//! The pure part of the claim certificate's lifecycle: from what the account holds (the secret, the certificate's
//! status, the claim policy's targets) and the local copy, what `apply` does next. No AWS types, no clock.

/// What Secrets Manager holds under the tenant's claim secret name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    /// No secret of that name.
    Absent,
    /// Deleted with a recovery window (what `destroy` leaves): restore it before anything else.
    PendingDeletion,
    /// The claim certificate recorded in the secret's AWSCURRENT version.
    Present { certificate_arn: String, retiring: Vec<String> },
}

/// A certificate's status as DescribeCertificate reports it. `Missing`: not in IoT, and (for the secret's
/// certificate, which the AWS layer registers from the secret's PEM when IoT does not know it) not registrable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertState {
    Missing,
    Active,
    Revoked,
    /// INACTIVE, PENDING_TRANSFER, ...: a state someone put it in on purpose; never changed silently.
    Other(String),
}

impl CertState {
    /// From DescribeCertificate's `status` field.
    pub fn from_status(s: &str) -> CertState {
        match s {
            "ACTIVE" => CertState::Active,
            "REVOKED" => CertState::Revoked,
            other => CertState::Other(other.to_string()),
        }
    }
}

/// The local copy under `.rainmaker/<account>/<region>/<tenant>/`, read only when the account has no secret (a
/// deployment made before the secret existed): its certificate and whether its key file is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub certificate_arn: String,
    pub state: CertState,
    pub has_key: bool,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub secret: SecretState,
    /// The status of the secret's certificate (when the secret is present).
    pub current: Option<CertState>,
    pub local: Option<Local>,
    /// Principals attached to the claim policy (ListTargetsForPolicy, every page).
    pub targets: Vec<String>,
}

/// Why `apply` stops without changing the claim certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The claim policy holds certificates no secret records (their keys are on some other disk, or lost).
    Unrecorded { attached: Vec<String> },
    /// The recorded certificate is in a state that was set on purpose (e.g. INACTIVE).
    NotActive { certificate_arn: String, status: String },
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// RestoreSecret, then observe again.
    Restore,
    /// Keep the recorded certificate; attach the claim policy when it is not attached (a run killed in between).
    Reuse {
        attach: bool,
    },
    /// Store the local copy in a new secret (CreateSecret), attaching the policy if needed.
    Adopt {
        attach: bool,
    },
    /// A new key pair and certificate made locally, stored (`replace`: PutSecretValue over the recorded one,
    /// which becomes AWSPREVIOUS; else CreateSecret), then RegisterCertificateWithoutCA and AttachPolicy.
    Create {
        replace: bool,
    },
    Refuse(Refusal),
}

/// The next action, and the certificates attached to the claim policy that nothing records (reported, never
/// deleted by `apply`: firmware may carry them; `destroy` removes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub strays: Vec<String>,
}

/// Decide the next step. The create order (key pair and certificate made locally, stored in the secret, then
/// registered, then the policy attached) makes every interruption converge: a certificate exists in IoT only once
/// the secret holds it (registered by the next run if a kill came first), and a recorded certificate without the
/// policy gets it on the next run ([`Action::Reuse`] with `attach`).
pub fn decide(o: &Observed) -> Decision {
    let attached = |arn: &str| o.targets.iter().any(|t| t == arn);
    let strays = |known: &[&str]| -> Vec<String> {
        o.targets.iter().filter(|t| !known.contains(&t.as_str())).cloned().collect()
    };
    match &o.secret {
        SecretState::PendingDeletion => Decision { action: Action::Restore, strays: vec![] },
        SecretState::Present { certificate_arn, retiring } => {
            let mut known: Vec<&str> = retiring.iter().map(String::as_str).collect();
            known.push(certificate_arn);
            let action = match o.current.as_ref().unwrap_or(&CertState::Missing) {
                CertState::Active => Action::Reuse { attach: !attached(certificate_arn) },
                // deleted outside rainmaker-deploy, or revoked after a leak: a new one replaces it
                CertState::Missing | CertState::Revoked => Action::Create { replace: true },
                CertState::Other(status) => Action::Refuse(Refusal::NotActive {
                    certificate_arn: certificate_arn.clone(),
                    status: status.clone(),
                }),
            };
            Decision { action, strays: strays(&known) }
        }
        SecretState::Absent => match &o.local {
            Some(l) if l.state == CertState::Active && l.has_key => Decision {
                action: Action::Adopt { attach: !attached(&l.certificate_arn) },
                strays: strays(&[&l.certificate_arn]),
            },
            _ if !o.targets.is_empty() => Decision {
                action: Action::Refuse(Refusal::Unrecorded { attached: o.targets.clone() }),
                strays: o.targets.clone(),
            },
            _ => Decision { action: Action::Create { replace: false }, strays: vec![] },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "arn:aws:iot:eu-west-1:123456789012:cert/aaaa";
    const B: &str = "arn:aws:iot:eu-west-1:123456789012:cert/bbbb";
    const C: &str = "arn:aws:iot:eu-west-1:123456789012:cert/cccc";

    fn present(arn: &str, retiring: &[&str]) -> SecretState {
        SecretState::Present { certificate_arn: arn.into(), retiring: retiring.iter().map(|s| s.to_string()).collect() }
    }

    fn local(arn: &str, state: CertState, has_key: bool) -> Option<Local> {
        Some(Local { certificate_arn: arn.into(), state, has_key })
    }

    fn targets(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    /// case, secret, its certificate's state, local copy, policy targets -> action, strays
    type Row = (&'static str, SecretState, Option<CertState>, Option<Local>, Vec<String>, Action, Vec<String>);

    #[test]
    fn the_decision_table() {
        use Action::*;
        use CertState::*;
        let other = |s: &str| Other(s.to_string());
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            ("first apply: nothing anywhere",
                SecretState::Absent, None, None, targets(&[]), Create { replace: false }, targets(&[])),
            ("a certificate nothing records and nothing attaches is no claim certificate",
                SecretState::Absent, None, local(A, Missing, false), targets(&[]), Create { replace: false }, targets(&[])),
            ("killed after storing the secret (registered by this run's look-up) or after registering, before AttachPolicy",
                present(A, &[]), Some(Active), None, targets(&[]), Reuse { attach: true }, targets(&[])),
            ("steady state, from any directory",
                present(A, &[]), Some(Active), None, targets(&[A]), Reuse { attach: false }, targets(&[])),
            ("a stale local copy does not matter when the secret is there",
                present(A, &[]), Some(Active), local(B, Active, true), targets(&[A]), Reuse { attach: false }, targets(&[])),
            ("during a rotation's grace the retiring certificate is known, not a stray",
                present(A, &[B]), Some(Active), None, targets(&[A, B]), Reuse { attach: false }, targets(&[])),
            ("a certificate nothing records is reported as a stray",
                present(A, &[]), Some(Active), None, targets(&[A, C]), Reuse { attach: false }, targets(&[C])),
            ("the recorded certificate is gone and IoT will not register its PEM again",
                present(A, &[]), Some(Missing), None, targets(&[]), Create { replace: true }, targets(&[])),
            ("the recorded certificate was revoked (a leak): a new one replaces it",
                present(A, &[]), Some(Revoked), None, targets(&[A]), Create { replace: true }, targets(&[])),
            ("the recorded certificate was deactivated on purpose: refused",
                present(A, &[]), Some(other("INACTIVE")), None, targets(&[A]),
                Refuse(Refusal::NotActive { certificate_arn: A.into(), status: "INACTIVE".into() }), targets(&[])),
            ("after destroy: the secret is pending deletion",
                SecretState::PendingDeletion, None, local(A, Missing, true), targets(&[]), Restore, targets(&[])),
            ("a deployment from before the secret: the local copy is adopted",
                SecretState::Absent, None, local(A, Active, true), targets(&[A]), Adopt { attach: false }, targets(&[])),
            ("adopted while the policy was off it",
                SecretState::Absent, None, local(A, Active, true), targets(&[]), Adopt { attach: true }, targets(&[])),
            ("a local copy without its key cannot be adopted",
                SecretState::Absent, None, local(A, Active, false), targets(&[A]),
                Refuse(Refusal::Unrecorded { attached: targets(&[A]) }), targets(&[A])),
            ("a local copy of a deleted certificate is ignored",
                SecretState::Absent, None, local(A, Missing, true), targets(&[]), Create { replace: false }, targets(&[])),
            ("an old deployment from another directory: its key is not here, refused rather than a second one",
                SecretState::Absent, None, None, targets(&[B]),
                Refuse(Refusal::Unrecorded { attached: targets(&[B]) }), targets(&[B])),
            ("adopting the local one leaves the other directory's certificate a stray",
                SecretState::Absent, None, local(A, Active, true), targets(&[A, B]), Adopt { attach: false }, targets(&[B])),
        ];
        for (case, secret, current, local, targets, action, strays) in table {
            let d = decide(&Observed { secret, current, local, targets });
            assert_eq!(d, Decision { action, strays }, "{case}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(CertState::from_status("ACTIVE"), CertState::Active);
        assert_eq!(CertState::from_status("REVOKED"), CertState::Revoked);
        assert_eq!(CertState::from_status("INACTIVE"), CertState::Other("INACTIVE".into()));
    }
}
