//! Fleet upgrades, the pure part: which tenant runs in which wave, how many at a time, when a run stops, the exit code.
//!
//! No AWS and no clock: `plan` turns a `Fleet` and the command's flags into waves, `Scheduler` is a state machine
//! ("which tenants start next, given the results so far") that the CLI drives with tokio and the tests drive with a
//! fake `Deployer`.

mod drift;
mod plan;
mod scheduler;

pub use drift::{decide as decide_drift, stack_state, DriftDecision, DriftPolicy, StackDriftOutcome, StackDriftState};
pub use plan::{plan, Overrides, PlanError, RunPlan, Selection, WavePlan, CANARY_WAVE};
pub use scheduler::{drive, Deployer, Mode, Scheduler, Step, Stop, WaveStatus};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to one tenant in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Its stacks were changed to this CLI's templates.
    Upgraded,
    /// Nothing to change (already at this version and config).
    Unchanged,
    /// `--dry-run` only: the plan has changes that a real run would apply.
    Planned,
    /// The upgrade failed (role not assumable, wrong account, invalid config, a failed stack operation, ...).
    Failed,
    /// Its change would replace or remove a stateful resource and the entry has no `allow_replace`.
    Blocked,
    /// Never started: the run stopped (tolerance exceeded in an earlier or this wave, or interrupted).
    Skipped,
    /// Pinned with `hold: true`: never touched.
    Held,
    /// Never started: an alarm fired during a bake.
    Halted,
    /// Running when the run was interrupted (Ctrl-C): its own operation was cancelled (an unexecuted change set
    /// deleted, an update cancelled and rolled back by CloudFormation).
    Cancelled,
}

impl TenantStatus {
    /// Every status, in report order.
    pub const ALL: [TenantStatus; 9] = [
        TenantStatus::Upgraded,
        TenantStatus::Unchanged,
        TenantStatus::Planned,
        TenantStatus::Failed,
        TenantStatus::Blocked,
        TenantStatus::Skipped,
        TenantStatus::Held,
        TenantStatus::Halted,
        TenantStatus::Cancelled,
    ];

    /// The name used in reports (`upgraded`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Upgraded => "upgraded",
            TenantStatus::Unchanged => "unchanged",
            TenantStatus::Planned => "planned",
            TenantStatus::Failed => "failed",
            TenantStatus::Blocked => "blocked",
            TenantStatus::Skipped => "skipped",
            TenantStatus::Held => "held",
            TenantStatus::Halted => "halted",
            TenantStatus::Cancelled => "cancelled",
        }
    }
}

/// Exit code when a run failed or a wave exceeded its tolerance.
pub const EXIT_FAILED: i32 = 3;
/// Exit code when nothing failed but some tenants were blocked, skipped or halted.
pub const EXIT_INCOMPLETE: i32 = 4;
/// Exit code of a run interrupted by Ctrl-C (128 + SIGINT, as a shell reports it), whatever else happened.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The exit code of a run: 130 interrupted (Ctrl-C); 0 all upgraded/unchanged/planned/held; 3 some failed or a
/// tolerance was exceeded; 4 none failed but some blocked/skipped/halted/cancelled. (2 bad input and 1 other errors
/// are decided before a run.)
pub fn exit_code(statuses: &[TenantStatus], tolerance_exceeded: bool, interrupted: bool) -> i32 {
    use TenantStatus as S;
    if interrupted {
        EXIT_INTERRUPTED
    } else if tolerance_exceeded || statuses.contains(&S::Failed) {
        EXIT_FAILED
    } else if statuses.iter().any(|s| matches!(s, S::Blocked | S::Skipped | S::Halted | S::Cancelled)) {
        EXIT_INCOMPLETE
    } else {
        0
    }
}

/// How many tenants ended in each status (every status present, zero or not).
pub fn summary(statuses: &[TenantStatus]) -> BTreeMap<&'static str, usize> {
    let mut m: BTreeMap<&'static str, usize> = TenantStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for s in statuses {
        *m.entry(s.as_str()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod cancel_tests;
#[cfg(test)]
mod drift_tests;
#[cfg(test)]
mod tests;
