//! The table of `status`'s claim judgement: each state of the account and the local copy, the warnings it gives
//! and the command each help line names.

use super::*;

fn cert(role: &'static str, id: &str, status: Option<&str>, attached: bool) -> ShownCertificate {
    ShownCertificate {
        role,
        certificate_id: id.into(),
        certificate_arn: Some(format!("arn:aws:iot:eu-west-1:123456789012:cert/{id}")),
        status: status.map(str::to_string),
        created: None,
        attached,
        fingerprint: None,
        not_before: (role == "retiring").then(|| "2026-12-08T00:00:00Z".to_string()),
    }
}

/// (the case, the secret, the certificates, the local copy's id, deployed) -> (warnings' help each containing,
/// local copy, active attached)
#[test]
fn the_claim_judgement_table() {
    use SecretSeen::*;
    let ok = || cert("current", "c1", Some("ACTIVE"), true);
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let table: Vec<(&str, SecretSeen, Vec<ShownCertificate>, Option<&str>, bool, Vec<&str>, LocalCopy, usize)> = vec![
        ("all well, fresh directory", Present, vec![ok()], None, true, vec![], LocalCopy::Absent, 1),
        ("all well, local copy agrees", Present, vec![ok()], Some("c1"), true, vec![], LocalCopy::Same, 1),
        ("local copy of another certificate", Present, vec![ok()], Some("c0"), true, vec!["rewrites the local copy"], LocalCopy::Stale, 1),
        ("nothing deployed", Absent, vec![], None, false, vec![], LocalCopy::Absent, 0),
        ("deployed, no secret", Absent, vec![], None, true, vec!["`rainmaker-deploy apply` creates one"], LocalCopy::Absent, 0),
        ("no secret, an old local record", Absent, vec![], Some("c0"), true, vec!["apply` creates one"], LocalCopy::Stale, 0),
        ("no secret, strays attached", Absent, vec![cert("stray", "s1", Some("ACTIVE"), true)], None, true, vec!["apply` creates one"], LocalCopy::Absent, 1),
        ("destroyed: pending deletion", PendingDeletion, vec![], None, false, vec!["apply` restores it"], LocalCopy::Absent, 0),
        ("recorded, not attached", Present, vec![cert("current", "c1", Some("ACTIVE"), false)], None, true, vec!["apply` registers and attaches it"], LocalCopy::Absent, 0),
        ("recorded, not registered", Present, vec![cert("current", "c1", None, false)], None, true, vec!["apply` registers and attaches it"], LocalCopy::Absent, 0),
        ("recorded, revoked", Present, vec![cert("current", "c1", Some("REVOKED"), true)], None, true, vec!["apply` registers and attaches it"], LocalCopy::Absent, 0),
        ("recorded, deactivated on purpose", Present, vec![cert("current", "c1", Some("INACTIVE"), true)], None, true, vec!["--new-status ACTIVE"], LocalCopy::Absent, 0),
        ("rotation in its grace", Present, vec![ok(), cert("retiring", "r1", Some("ACTIVE"), true)], None, true, vec!["claim rotate --finish"], LocalCopy::Absent, 2),
        ("a retired one already inactive", Present, vec![ok(), cert("retiring", "r1", Some("INACTIVE"), true)], None, true, vec![], LocalCopy::Absent, 1),
        ("a stray beside the recorded one", Present, vec![ok(), cert("stray", "s1", Some("ACTIVE"), true)], None, true, vec!["detach-policy --policy-name rm-acme-claim"], LocalCopy::Absent, 2),
        ("revoked and a stray active", Present, vec![cert("current", "c1", Some("REVOKED"), true), cert("stray", "s1", Some("ACTIVE"), true)], None, true, vec!["apply` registers"], LocalCopy::Absent, 1),
    ];
    for (case, seen, certs, local, deployed, helps, copy, active) in table {
        let s = assess("rm-acme-claim-certificate", "rm-acme-claim", seen, certs, local, deployed);
        assert_eq!(s.warnings.len(), helps.len(), "{case}: {:?}", s.warnings);
        for (w, h) in s.warnings.iter().zip(&helps) {
            assert!(w.help.contains(h), "{case}: help {:?} should name {h:?}", w.help);
            assert!(!w.message.is_empty(), "{case}");
        }
        assert_eq!(s.local_copy, copy, "{case}");
        assert_eq!(s.active_attached.len(), active, "{case}");
        assert_eq!(s.source, "account");
    }
}

#[test]
fn the_report_names_the_recorded_certificate_and_both_roles_of_a_rotation() {
    let s = assess(
        "rm-acme-claim-certificate",
        "rm-acme-claim",
        SecretSeen::Present,
        vec![cert("current", "c1", Some("ACTIVE"), true), cert("retiring", "r1", Some("ACTIVE"), true)],
        Some("c1"),
        true,
    );
    assert_eq!((s.certificate_id.as_deref(), s.status.as_deref(), s.attached), (Some("c1"), Some("ACTIVE"), true));
    assert_eq!(s.active_attached, vec!["c1", "r1"]);
    let m = &s.warnings[0].message;
    assert!(m.starts_with("2 ACTIVE claim certificates") && m.contains("until 2026-12-08T00:00:00Z"), "{m}");
    let none = assess("s", "p", SecretSeen::Absent, vec![], None, true);
    assert_eq!((none.certificate_id, none.attached), (None, false));
}
