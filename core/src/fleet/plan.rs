//! Wave assignment: the selected tenants of a `Fleet`, grouped into waves in execution order with their limits.

use crate::config::tenants::{Amount, Fleet};
use miette::Diagnostic;
use thiserror::Error;

/// The name of the wave `--canary N` creates.
pub const CANARY_WAVE: &str = "canary";

/// Which tenants a run touches (`--only`, `--exclude`, `--wave`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these tenants (empty: all).
    pub only: Vec<String>,
    /// Never these tenants.
    pub exclude: Vec<String>,
    /// Only this wave (one CI job per wave).
    pub wave: Option<String>,
}

/// Flags that override every wave of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub max_concurrent: Option<Amount>,
    pub failure_tolerance: Option<Amount>,
    /// Without a `canary` wave in the file, the first N selected tenants form one (1 at a time, tolerance 0).
    pub canary: Option<usize>,
    /// `Some(Some(m))`: bake every wave m minutes (`--bake`); `Some(None)`: no bake (`--no-bake`); `None`: the file's.
    pub bake_minutes: Option<Option<u32>>,
}

/// One wave of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavePlan {
    pub name: String,
    /// Indexes into `Fleet::tenants`, in file order.
    pub tenants: Vec<usize>,
    /// Tenants in flight at once (at least 1).
    pub max_concurrent: usize,
    /// Failures the wave may have; one more stops the run.
    pub failure_tolerance: usize,
    pub bake_minutes: Option<u32>,
    /// As written (`5%`), for the report.
    pub tolerance_spec: Amount,
}

/// The waves of a run, in execution order (waves with no selected tenant are left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    pub waves: Vec<WavePlan>,
}

impl RunPlan {
    /// How many tenants the run covers.
    pub fn tenant_count(&self) -> usize {
        self.waves.iter().map(|w| w.tenants.len()).sum()
    }
}

/// A flag that names something the fleet does not have.
#[derive(Debug, Error, Diagnostic, PartialEq, Eq)]
pub enum PlanError {
    #[error("{flag}: no tenant named `{name}` in the tenants file")]
    #[diagnostic(code(rainmaker::upgrade::unknown_tenant), help("{help}"))]
    UnknownTenant { flag: &'static str, name: String, help: String },
    #[error("--wave: no wave named `{name}` in the tenants file")]
    #[diagnostic(code(rainmaker::upgrade::unknown_wave), help("{help}"))]
    UnknownWave { name: String, help: String },
    #[error("--canary: the tenants file already has a `canary` wave")]
    #[diagnostic(code(rainmaker::upgrade::canary), help("drop --canary, or rename the file's wave"))]
    CanaryWaveExists,
    #[error("--canary 0 would make an empty canary wave")]
    #[diagnostic(code(rainmaker::upgrade::canary), help("--canary N with N of at least 1"))]
    EmptyCanary,
}

fn choices<'a>(word: &str, all: impl Iterator<Item = &'a str> + Clone) -> String {
    let list = all.clone().collect::<Vec<_>>().join(", ");
    match crate::config::error::did_you_mean(word, all) {
        Some(m) => format!("did you mean `{m}`? valid: {list}"),
        None => format!("valid: {list}"),
    }
}

/// Group the selected tenants into waves: each tenant in its wave (already resolved: the last wave takes unassigned
/// ones), `--canary N` makes the first N a canary wave, limits computed against each wave's size (percentages round
/// down; at least 1 in flight).
pub fn plan(fleet: &Fleet, sel: &Selection, ov: &Overrides) -> Result<RunPlan, PlanError> {
    let names = || fleet.tenants.iter().map(|t| t.name.as_str());
    for (flag, list) in [("--only", &sel.only), ("--exclude", &sel.exclude)] {
        if let Some(n) = list.iter().find(|n| !names().any(|t| t == n.as_str())) {
            return Err(PlanError::UnknownTenant { flag, name: n.clone(), help: choices(n, names()) });
        }
    }
    let mut wave_names: Vec<&str> = fleet.waves.iter().map(|w| w.name.as_str()).collect();
    if ov.canary.is_some() {
        if wave_names.contains(&CANARY_WAVE) {
            return Err(PlanError::CanaryWaveExists);
        }
        if ov.canary == Some(0) {
            return Err(PlanError::EmptyCanary);
        }
        wave_names.insert(0, CANARY_WAVE);
    }
    if let Some(w) = &sel.wave {
        if !wave_names.contains(&w.as_str()) {
            return Err(PlanError::UnknownWave { name: w.clone(), help: choices(w, wave_names.iter().copied()) });
        }
    }
    let selected: Vec<usize> = (0..fleet.tenants.len())
        .filter(|&i| {
            let n = &fleet.tenants[i].name;
            (sel.only.is_empty() || sel.only.contains(n)) && !sel.exclude.contains(n)
        })
        .collect();
    let canary: Vec<usize> = selected.iter().copied().take(ov.canary.unwrap_or(0)).collect();
    let bake = |file: Option<u32>| match ov.bake_minutes {
        Some(b) => b.filter(|m| *m > 0),
        None => file,
    };
    let mut waves = Vec::new();
    if !canary.is_empty() {
        waves.push(WavePlan {
            name: CANARY_WAVE.into(),
            tenants: canary.clone(),
            max_concurrent: 1,
            failure_tolerance: 0,
            bake_minutes: bake(None),
            tolerance_spec: Amount::Count(0),
        });
    }
    for w in &fleet.waves {
        let tenants: Vec<usize> =
            selected.iter().copied().filter(|i| fleet.tenants[*i].wave == w.name && !canary.contains(i)).collect();
        if tenants.is_empty() {
            continue;
        }
        let max = ov.max_concurrent.unwrap_or(w.max_concurrent);
        let tol = ov.failure_tolerance.unwrap_or(w.failure_tolerance);
        waves.push(WavePlan {
            name: w.name.clone(),
            max_concurrent: max.of(tenants.len()).max(1),
            failure_tolerance: tol.of(tenants.len()),
            bake_minutes: bake(w.bake_minutes),
            tolerance_spec: tol,
            tenants,
        });
    }
    if let Some(only) = &sel.wave {
        waves.retain(|w| &w.name == only);
    }
    Ok(RunPlan { waves })
}
