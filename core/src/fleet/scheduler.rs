//! The run as a state machine: given the results so far, which tenants start next, when a wave bakes, when it stops.

use super::plan::RunPlan;
use super::TenantStatus;
use std::collections::{BTreeMap, BTreeSet};

/// How failures limit concurrency (CloudFormation StackSets' `ConcurrencyMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Once a wave's failures exceed its tolerance no new tenant starts; running ones finish.
    #[default]
    Soft,
    /// Never more in flight than tolerance + 1 − failures (so the tolerance cannot be overshot).
    Strict,
}

/// Why a run stopped starting tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The wave (index) had more failures than its tolerance; tenants not started are `skipped`.
    ToleranceExceeded(usize),
    /// An alarm was in ALARM after the wave (index) baked; tenants not started are `halted`.
    Alarm(usize),
    /// Ctrl-C; tenants not started are `skipped`.
    Interrupted,
}

/// How a wave ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveStatus {
    Pending,
    Running,
    /// Every tenant finished within the tolerance (and the bake, if any, saw no alarm).
    Completed,
    ToleranceExceeded,
    /// Its bake found an alarm in ALARM.
    Halted,
    /// Never started because an earlier wave stopped the run.
    Skipped,
    Interrupted,
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Start these tenants (indexes into the fleet).
    Start(Vec<usize>),
    /// Wait for a running tenant to finish, then report it with `finished`.
    Wait,
    /// Every tenant of this wave finished: check its alarms, then report with `baked`.
    Bake { wave: usize, tenants: Vec<usize> },
    /// Nothing left: every tenant of the plan has a status.
    Done,
}

/// The state of a run.
#[derive(Debug, Clone)]
pub struct Scheduler {
    plan: RunPlan,
    mode: Mode,
    wave: usize,
    in_flight: BTreeSet<usize>,
    started: BTreeSet<usize>,
    status: BTreeMap<usize, TenantStatus>,
    failures: Vec<usize>,
    wave_status: Vec<WaveStatus>,
    baking: bool,
    stop: Option<Stop>,
    interrupted: bool,
    max_in_flight: usize,
}

impl Scheduler {
    /// A run of `plan`; `held` tenants are never started and come out `held`.
    pub fn new(plan: RunPlan, mode: Mode, held: &dyn Fn(usize) -> bool) -> Scheduler {
        let n = plan.waves.len();
        let status = plan
            .waves
            .iter()
            .flat_map(|w| w.tenants.iter().copied())
            .filter(|i| held(*i))
            .map(|i| (i, TenantStatus::Held))
            .collect();
        Scheduler {
            plan,
            mode,
            wave: 0,
            in_flight: BTreeSet::new(),
            started: BTreeSet::new(),
            status,
            failures: vec![0; n],
            wave_status: vec![WaveStatus::Pending; n],
            baking: false,
            stop: None,
            interrupted: false,
            max_in_flight: 0,
        }
    }

    /// The next thing to do. Call again after each `finished`/`baked`; `Start` marks those tenants in flight.
    pub fn next_step(&mut self) -> Step {
        loop {
            if self.baking {
                return Step::Wait;
            }
            if let Some(stop) = self.stop.clone() {
                if !self.in_flight.is_empty() {
                    return Step::Wait;
                }
                let rest = if matches!(stop, Stop::Alarm(_)) { TenantStatus::Halted } else { TenantStatus::Skipped };
                for (wi, w) in self.plan.waves.iter().enumerate() {
                    for i in &w.tenants {
                        self.status.entry(*i).or_insert(rest);
                    }
                    if matches!(self.wave_status[wi], WaveStatus::Pending | WaveStatus::Running) {
                        self.wave_status[wi] = match (&stop, self.wave_status[wi]) {
                            (Stop::Interrupted, _) => WaveStatus::Interrupted,
                            (_, WaveStatus::Running) => WaveStatus::Completed,
                            _ => WaveStatus::Skipped,
                        };
                    }
                }
                return Step::Done;
            }
            let Some(w) = self.plan.waves.get(self.wave) else { return Step::Done };
            if self.wave_status[self.wave] == WaveStatus::Pending {
                self.wave_status[self.wave] = WaveStatus::Running;
            }
            let pending: Vec<usize> = w
                .tenants
                .iter()
                .copied()
                .filter(|i| !self.started.contains(i) && !self.status.contains_key(i))
                .collect();
            if pending.is_empty() && self.in_flight.is_empty() {
                let upgraded: Vec<usize> =
                    w.tenants.iter().copied().filter(|i| self.status.get(i) == Some(&TenantStatus::Upgraded)).collect();
                if w.bake_minutes.is_some() && !upgraded.is_empty() {
                    self.baking = true;
                    return Step::Bake { wave: self.wave, tenants: upgraded };
                }
                self.wave_status[self.wave] = WaveStatus::Completed;
                self.wave += 1;
                continue;
            }
            let fails = self.failures[self.wave];
            let limit = match self.mode {
                Mode::Soft => w.max_concurrent,
                Mode::Strict => w.max_concurrent.min((w.failure_tolerance + 1).saturating_sub(fails)),
            };
            let room = limit.saturating_sub(self.in_flight.len());
            let start: Vec<usize> = pending.into_iter().take(room).collect();
            if start.is_empty() {
                return Step::Wait;
            }
            for i in &start {
                self.in_flight.insert(*i);
                self.started.insert(*i);
            }
            self.max_in_flight = self.max_in_flight.max(self.in_flight.len());
            return Step::Start(start);
        }
    }

    /// A started tenant ended with `status`.
    pub fn finished(&mut self, tenant: usize, status: TenantStatus) {
        self.in_flight.remove(&tenant);
        self.status.insert(tenant, status);
        let Some(wi) = self.plan.waves.iter().position(|w| w.tenants.contains(&tenant)) else { return };
        if status == TenantStatus::Failed {
            self.failures[wi] += 1;
            if self.failures[wi] > self.plan.waves[wi].failure_tolerance {
                self.wave_status[wi] = WaveStatus::ToleranceExceeded;
                self.stop.get_or_insert(Stop::ToleranceExceeded(wi));
            }
        }
    }

    /// The bake of the current wave ended: `alarm` is true when an alarm was in ALARM.
    pub fn baked(&mut self, alarm: bool) {
        self.baking = false;
        if alarm {
            self.wave_status[self.wave] = WaveStatus::Halted;
            self.stop.get_or_insert(Stop::Alarm(self.wave));
        } else {
            self.wave_status[self.wave] = WaveStatus::Completed;
            self.wave += 1;
        }
    }

    /// Ctrl-C: start nothing more.
    pub fn interrupt(&mut self) {
        self.baking = false;
        self.interrupted = true;
        self.stop.get_or_insert(Stop::Interrupted);
    }

    /// Whether the run was interrupted (also after it had stopped for another reason).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Why the run stopped, if it did.
    pub fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// The status of a tenant, once it has one.
    pub fn status(&self, tenant: usize) -> Option<TenantStatus> {
        self.status.get(&tenant).copied()
    }

    /// Each wave's failures and status, in plan order.
    pub fn waves(&self) -> Vec<(usize, WaveStatus)> {
        self.failures.iter().copied().zip(self.wave_status.iter().copied()).collect()
    }

    /// Whether any wave exceeded its tolerance.
    pub fn tolerance_exceeded(&self) -> bool {
        self.wave_status.contains(&WaveStatus::ToleranceExceeded)
    }

    /// The most tenants ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    pub fn plan(&self) -> &RunPlan {
        &self.plan
    }
}

/// What runs tenants for `drive`: a synchronous stand-in for the CLI's async loop (the tests' fake deployer).
pub trait Deployer {
    /// Begin upgrading this tenant.
    fn start(&mut self, tenant: usize);
    /// Block until one started tenant ends; return it and its status.
    fn wait_one(&mut self) -> (usize, TenantStatus);
    /// Check the alarms of a baked wave; true when one is in ALARM.
    fn alarm(&mut self, wave: usize, tenants: &[usize]) -> bool;
}

/// Run a scheduler to the end with a synchronous deployer.
pub fn drive(s: &mut Scheduler, d: &mut dyn Deployer) {
    loop {
        match s.next_step() {
            Step::Start(ts) => ts.into_iter().for_each(|t| d.start(t)),
            Step::Wait => {
                let (t, st) = d.wait_one();
                s.finished(t, st);
            }
            Step::Bake { wave, tenants } => {
                let alarm = d.alarm(wave, &tenants);
                s.baked(alarm);
            }
            Step::Done => return,
        }
    }
}
