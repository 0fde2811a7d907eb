//! The drift rules, table-tested: what each detection outcome does to a tenant under each policy.

use super::drift::*;

fn stack(name: &str, state: StackDriftState) -> StackDriftOutcome {
    StackDriftOutcome { stack_name: name.into(), state }
}

#[test]
fn drift_outcomes_table() {
    use DriftDecision as D;
    use DriftPolicy as P;
    use StackDriftState as S;
    let drifted = || S::Drifted(vec!["UsersTable (MODIFIED)".into(), "DeadLetterQueue (DELETED)".into()]);
    let failed = || S::Failed("DETECTION_FAILED: Failed to detect drift on resource [Api]".into());
    // (policy, bootstrap, backend, expected: proceed/warn/block/fail, words the reason must have)
    let cases: Vec<(P, S, S, &str, &[&str])> = vec![
        (P::Ignore, drifted(), failed(), "proceed", &[]),
        (P::Warn, S::InSync, S::InSync, "proceed", &[]),
        (P::Refuse, S::InSync, S::InSync, "proceed", &[]),
        (P::Warn, S::NotDeployed, S::NotDeployed, "proceed", &[]),
        (P::Refuse, S::InSync, S::NotDeployed, "proceed", &[]),
        (P::Warn, S::InSync, drifted(), "warn", &["rm-x: UsersTable (MODIFIED), DeadLetterQueue (DELETED)"]),
        (P::Refuse, S::InSync, drifted(), "block", &["rm-x: UsersTable (MODIFIED)", "--refuse-drifted"]),
        (P::Refuse, drifted(), S::InSync, "block", &["rm-x-bootstrap: UsersTable"]),
        // a failed detection is a failure under both policies, even when the other stack drifted
        (P::Warn, S::InSync, failed(), "fail", &["drift detection failed", "rm-x: DETECTION_FAILED"]),
        (P::Refuse, drifted(), failed(), "fail", &["rm-x: DETECTION_FAILED"]),
    ];
    for (policy, boot, backend, want, words) in cases {
        let stacks = [stack("rm-x-bootstrap", boot.clone()), stack("rm-x", backend.clone())];
        let got = decide(policy, &stacks);
        let (kind, text) = match &got {
            D::Proceed { warning: None } => ("proceed", String::new()),
            D::Proceed { warning: Some(w) } => ("warn", w.clone()),
            D::Block(r) => ("block", r.clone()),
            D::Fail(r) => ("fail", r.clone()),
        };
        assert_eq!(kind, want, "{policy:?} {boot:?} {backend:?}: {got:?}");
        for w in words {
            assert!(text.contains(w), "{policy:?} {boot:?} {backend:?}: `{w}` in {text}");
        }
    }
}

#[test]
fn what_cloudformation_says_becomes_a_stack_state() {
    let some = || vec!["UsersTable (MODIFIED)".to_string()];
    assert_eq!(stack_state("DETECTION_COMPLETE", "IN_SYNC", None, vec![]), StackDriftState::InSync);
    assert_eq!(stack_state("DETECTION_COMPLETE", "DRIFTED", None, some()), StackDriftState::Drifted(some()));
    // never "in sync" without a verdict
    for (d, s, reason, words) in [
        ("DETECTION_COMPLETE", "DRIFTED", None, "no MODIFIED or DELETED"),
        ("DETECTION_FAILED", "DRIFTED", Some("Failed to detect drift on resource [Api]"), "[Api]"),
        ("DETECTION_FAILED", "IN_SYNC", None, "DETECTION_FAILED"),
        ("DETECTION_COMPLETE", "UNKNOWN", None, "UNKNOWN"),
        ("DETECTION_COMPLETE", "NOT_CHECKED", None, "NOT_CHECKED"),
    ] {
        match stack_state(d, s, reason, vec![]) {
            StackDriftState::Failed(why) => assert!(why.contains(words), "{d} {s}: {why}"),
            other => panic!("{d} {s}: {other:?}"),
        }
    }
}
