//! Drift before an upgrade, the pure part: what a tenant's drift detection found, and what `upgrade` does about it
//! (`--check-drift` warns, `--refuse-drifted` blocks). A detection that failed or could not say is never "in sync".

/// What `upgrade` does about drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DriftPolicy {
    /// No drift detection (the default: it costs minutes per tenant).
    #[default]
    Ignore,
    /// `--check-drift`: detect, warn about a drifted tenant in the report, upgrade it anyway (an update changes only
    /// what the template changes: drifted properties the new template does not touch stay as they are).
    Warn,
    /// `--refuse-drifted`: detect; a drifted tenant is `blocked` (untouched) until someone looks at it.
    Refuse,
}

/// What drift detection found for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackDriftState {
    /// The stack does not exist (a first create): nothing can have drifted.
    NotDeployed,
    /// `DETECTION_COMPLETE` and `IN_SYNC`.
    InSync,
    /// `DETECTION_COMPLETE` and `DRIFTED`: these resources (`LogicalId (MODIFIED)`, ...).
    Drifted(Vec<String>),
    /// The detection failed, timed out, or ended without a verdict (`DETECTION_FAILED`, `UNKNOWN`, `NOT_CHECKED`):
    /// why.
    Failed(String),
}

/// One stack's drift, by stack name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackDriftOutcome {
    pub stack_name: String,
    pub state: StackDriftState,
}

/// What to do with the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftDecision {
    /// Go on; with a warning for the report when something drifted.
    Proceed { warning: Option<String> },
    /// `blocked`, with the reason.
    Block(String),
    /// `failed`, with the reason: drift could not be known.
    Fail(String),
}

/// Decide from every stack's outcome: any failed detection fails the tenant (whatever the policy asked for: a
/// refusal that cannot see drift must not pass it); drifted stacks warn (`Warn`) or block (`Refuse`).
pub fn decide(policy: DriftPolicy, stacks: &[StackDriftOutcome]) -> DriftDecision {
    if policy == DriftPolicy::Ignore {
        return DriftDecision::Proceed { warning: None };
    }
    let failed: Vec<String> = stacks
        .iter()
        .filter_map(|s| match &s.state {
            StackDriftState::Failed(why) => Some(format!("{}: {why}", s.stack_name)),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return DriftDecision::Fail(format!("drift detection failed ({})", failed.join("; ")));
    }
    let drifted: Vec<String> = stacks
        .iter()
        .filter_map(|s| match &s.state {
            StackDriftState::Drifted(r) => Some(format!("{}: {}", s.stack_name, r.join(", "))),
            _ => None,
        })
        .collect();
    if drifted.is_empty() {
        return DriftDecision::Proceed { warning: None };
    }
    let what = drifted.join("; ");
    match policy {
        DriftPolicy::Refuse => DriftDecision::Block(format!(
            "drifted from its template ({what}); --refuse-drifted leaves it untouched: undo the changes made outside \
             CloudFormation (or accept them), then upgrade again"
        )),
        _ => DriftDecision::Proceed {
            warning: Some(format!(
                "drifted from its template ({what}); upgraded anyway: an update changes only what the template \
                 changes, so the drifted values stay unless the new template touches them"
            )),
        },
    }
}

/// The outcome of one stack's detection from what CloudFormation said: `detection` is `DetectionStatus`, `stack`
/// the `StackDriftStatus`, `reason` the `DetectionStatusReason`, `resources` the drifted resources read.
pub fn stack_state(detection: &str, stack: &str, reason: Option<&str>, resources: Vec<String>) -> StackDriftState {
    let why = |what: &str| match reason.filter(|r| !r.is_empty()) {
        Some(r) => format!("{what}: {r}"),
        None => what.to_string(),
    };
    match (detection, stack) {
        ("DETECTION_COMPLETE", "IN_SYNC") => StackDriftState::InSync,
        ("DETECTION_COMPLETE", "DRIFTED") if !resources.is_empty() => StackDriftState::Drifted(resources),
        ("DETECTION_COMPLETE", "DRIFTED") => {
            StackDriftState::Failed("DRIFTED, but no MODIFIED or DELETED resource was listed".into())
        }
        ("DETECTION_FAILED", _) => StackDriftState::Failed(why("DETECTION_FAILED")),
        (d, s) => StackDriftState::Failed(why(&format!("{d} with stack drift status {s}"))),
    }
}
