//! The wave, tolerance and exit-code rules, table-tested with a fake deployer (no AWS).

use super::*;
use crate::config::tenants::{Amount, Fleet, FleetTenant, TenantConfig, Wave};
use std::collections::{BTreeMap, VecDeque};

/// A fleet of `tenants` (name, wave) with the given waves (name, max, tolerance, bake).
pub(super) fn fleet(waves: &[(&str, &str, &str, Option<u32>)], tenants: &[(&str, &str)]) -> Fleet {
    Fleet {
        waves: waves
            .iter()
            .map(|(n, m, t, b)| Wave {
                name: n.to_string(),
                max_concurrent: m.parse().expect("amount"),
                failure_tolerance: t.parse().expect("amount"),
                bake_minutes: *b,
            })
            .collect(),
        tenants: tenants
            .iter()
            .map(|(n, w)| FleetTenant {
                name: n.to_string(),
                account: "111111111111".into(),
                role: "arn:aws:iam::111111111111:role/r".into(),
                region: "eu-west-1".into(),
                wave: w.to_string(),
                allow_replace: false,
                hold: false,
                config_path: "x".into(),
                config: TenantConfig::Invalid("not read in these tests".into()),
            })
            .collect(),
    }
}

/// Finishes tenants first-started-first-finished with the outcome listed for them (default `upgraded`), records the
/// order of starts and the peak in flight, and answers bakes from a list.
struct Fake {
    outcome: BTreeMap<usize, TenantStatus>,
    running: VecDeque<usize>,
    started: Vec<usize>,
    peak: usize,
    alarms: VecDeque<bool>,
    baked: Vec<(usize, Vec<usize>)>,
}

impl Fake {
    fn new(outcome: &[(usize, TenantStatus)], alarms: &[bool]) -> Fake {
        Fake {
            outcome: outcome.iter().copied().collect(),
            running: VecDeque::new(),
            started: Vec::new(),
            peak: 0,
            alarms: alarms.iter().copied().collect(),
            baked: Vec::new(),
        }
    }
}

impl Deployer for Fake {
    fn start(&mut self, t: usize) {
        self.running.push_back(t);
        self.started.push(t);
        self.peak = self.peak.max(self.running.len());
    }
    fn wait_one(&mut self) -> (usize, TenantStatus) {
        let t = self.running.pop_front().expect("wait only with a tenant running");
        (t, self.outcome.get(&t).copied().unwrap_or(TenantStatus::Upgraded))
    }
    fn alarm(&mut self, wave: usize, tenants: &[usize]) -> bool {
        self.baked.push((wave, tenants.to_vec()));
        self.alarms.pop_front().unwrap_or(false)
    }
}

use TenantStatus::*;

fn run(f: &Fleet, sel: &Selection, ov: &Overrides, mode: Mode, fake: &mut Fake) -> (Scheduler, Vec<TenantStatus>) {
    let p = plan(f, sel, ov).expect("plan");
    let mut s = Scheduler::new(p, mode, &|i| f.tenants[i].hold);
    drive(&mut s, fake);
    let statuses = (0..f.tenants.len()).map(|i| s.status(i).expect("every tenant has a status")).collect();
    (s, statuses)
}

fn six() -> Fleet {
    fleet(
        &[("canary", "1", "0", Some(15)), ("rest", "3", "1", None)],
        &[("t0", "canary"), ("t1", "rest"), ("t2", "rest"), ("t3", "rest"), ("t4", "rest"), ("t5", "rest")],
    )
}

#[test]
fn waves_run_in_order_and_the_last_takes_the_unassigned() {
    let f = fleet(&[("a", "1", "0", None), ("b", "2", "0", None)], &[("t0", "b"), ("t1", "a"), ("t2", "b")]);
    let p = plan(&f, &Selection::default(), &Overrides::default()).expect("plan");
    let waves: Vec<(&str, Vec<usize>, usize)> =
        p.waves.iter().map(|w| (w.name.as_str(), w.tenants.clone(), w.max_concurrent)).collect();
    assert_eq!(waves, vec![("a", vec![1], 1), ("b", vec![0, 2], 2)]);
    let mut fake = Fake::new(&[], &[]);
    let (_, st) = run(&f, &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
    assert_eq!(fake.started, vec![1, 0, 2]);
    assert_eq!(st, vec![Upgraded; 3]);
}

#[test]
fn percentages_round_down_with_at_least_one_in_flight() {
    // (max, tolerance, wave size) -> (in flight, tolerance)
    for (max, tol, n, want) in
        [("25%", "5%", 3, (1, 0)), ("50%", "50%", 5, (2, 2)), ("100%", "10%", 10, (10, 1)), ("2", "1", 4, (2, 1))]
    {
        let tenants: Vec<(String, &str)> = (0..n).map(|i| (format!("t{i}"), "w")).collect();
        let refs: Vec<(&str, &str)> = tenants.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        let f = fleet(&[("w", max, tol, None)], &refs);
        let p = plan(&f, &Selection::default(), &Overrides::default()).expect("plan");
        assert_eq!((p.waves[0].max_concurrent, p.waves[0].failure_tolerance), want, "{max} {tol} of {n}");
    }
}

#[test]
fn canary_flag_makes_the_first_n_one_at_a_time_with_no_tolerance() {
    let f = fleet(&[("all", "5", "2", None)], &[("t0", "all"), ("t1", "all"), ("t2", "all"), ("t3", "all")]);
    let ov = Overrides { canary: Some(2), ..Overrides::default() };
    let p = plan(&f, &Selection::default(), &ov).expect("plan");
    assert_eq!(p.waves[0].name, CANARY_WAVE);
    assert_eq!(
        (p.waves[0].tenants.clone(), p.waves[0].max_concurrent, p.waves[0].failure_tolerance),
        (vec![0, 1], 1, 0)
    );
    assert_eq!(p.waves[1].tenants, vec![2, 3]);
    // a canary failure skips everything after it
    let mut fake = Fake::new(&[(0, Failed)], &[]);
    let (_, st) = run(&f, &Selection::default(), &ov, Mode::Soft, &mut fake);
    assert_eq!(st, vec![Failed, Skipped, Skipped, Skipped]);
    assert_eq!(plan(&six(), &Selection::default(), &ov), Err(PlanError::CanaryWaveExists));
}

/// (mode, outcomes, statuses, peak in flight in `rest`, exit code)
#[test]
fn tolerance_in_both_modes() {
    type Case = (Mode, &'static [(usize, TenantStatus)], [TenantStatus; 6], usize, i32);
    let cases: &[Case] = &[
        // all good
        (Mode::Soft, &[], [Upgraded; 6], 3, 0),
        // one failure within tolerance 1: the wave goes on, but the run reports it
        (Mode::Soft, &[(2, Failed)], [Upgraded, Upgraded, Failed, Upgraded, Upgraded, Upgraded], 3, 3),
        // two failures: t4 started when t1 failed (still within tolerance); t2 exceeds it; t3, t4 finish; t5 skipped
        (Mode::Soft, &[(1, Failed), (2, Failed)], [Upgraded, Failed, Failed, Upgraded, Upgraded, Skipped], 3, 3),
        // strict: never more in flight than tolerance + 1 - failures = 2, then 1 after the first failure
        (Mode::Strict, &[(1, Failed)], [Upgraded, Failed, Upgraded, Upgraded, Upgraded, Upgraded], 2, 3),
        (Mode::Strict, &[(1, Failed), (2, Failed)], [Upgraded, Failed, Failed, Skipped, Skipped, Skipped], 2, 3),
        // the canary fails: nothing else starts, in either mode
        (Mode::Strict, &[(0, Failed)], [Failed, Skipped, Skipped, Skipped, Skipped, Skipped], 1, 3),
        (Mode::Soft, &[(0, Failed)], [Failed, Skipped, Skipped, Skipped, Skipped, Skipped], 1, 3),
        // blocked is not a failure: the run goes on and exits 4
        (Mode::Soft, &[(3, Blocked)], [Upgraded, Upgraded, Upgraded, Blocked, Upgraded, Upgraded], 3, 4),
        (
            Mode::Soft,
            &[(1, Unchanged), (4, Unchanged)],
            [Upgraded, Unchanged, Upgraded, Upgraded, Unchanged, Upgraded],
            3,
            0,
        ),
    ];
    for (i, (mode, outcomes, want, peak, code)) in cases.iter().enumerate() {
        let f = six();
        let mut fake = Fake::new(outcomes, &[]);
        let (s, st) = run(&f, &Selection::default(), &Overrides::default(), *mode, &mut fake);
        assert_eq!(st, want.to_vec(), "case {i}");
        assert_eq!(fake.peak, *peak, "case {i}: peak in flight");
        assert_eq!(exit_code(&st, s.tolerance_exceeded(), s.interrupted()), *code, "case {i}");
    }
}

#[test]
fn soft_mode_counts_failures_against_the_tolerance_as_they_come() {
    // tolerance 0, 3 at a time: t1 fails first; t2 and t3 were already running and finish; nothing else starts
    let f = fleet(&[("w", "3", "0", None)], &[("t0", "w"), ("t1", "w"), ("t2", "w"), ("t3", "w"), ("t4", "w")]);
    let mut fake = Fake::new(&[(0, Failed)], &[]);
    let (s, st) = run(&f, &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
    assert_eq!(st, vec![Failed, Upgraded, Upgraded, Skipped, Skipped]);
    assert_eq!(s.waves(), vec![(1, WaveStatus::ToleranceExceeded)]);
    assert_eq!(s.stop(), Some(&Stop::ToleranceExceeded(0)));
}

#[test]
fn held_tenants_are_never_started() {
    let mut f = six();
    f.tenants[2].hold = true;
    let mut fake = Fake::new(&[], &[]);
    let (s, st) = run(&f, &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
    assert!(!fake.started.contains(&2));
    assert_eq!(st[2], Held);
    assert_eq!(exit_code(&st, s.tolerance_exceeded(), s.interrupted()), 0);
}

#[test]
fn a_bake_alarm_halts_the_later_tenants() {
    let mut fake = Fake::new(&[], &[true]);
    let (s, st) = run(&six(), &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
    assert_eq!(fake.baked, vec![(0, vec![0])]);
    assert_eq!(st, vec![Upgraded, Halted, Halted, Halted, Halted, Halted]);
    assert_eq!(s.waves(), vec![(0, WaveStatus::Halted), (0, WaveStatus::Skipped)]);
    assert_eq!(exit_code(&st, s.tolerance_exceeded(), s.interrupted()), 4);
}

#[test]
fn bake_applies_to_updates_only_and_flags_override_it() {
    // canary unchanged: nothing to watch
    let mut fake = Fake::new(&[(0, Unchanged)], &[true]);
    let (_, st) = run(&six(), &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
    assert!(fake.baked.is_empty());
    assert_eq!(st[5], Upgraded);
    // --no-bake
    let mut fake = Fake::new(&[], &[true]);
    let ov = Overrides { bake_minutes: Some(None), ..Overrides::default() };
    run(&six(), &Selection::default(), &ov, Mode::Soft, &mut fake);
    assert!(fake.baked.is_empty());
    // --bake 5 on every wave
    let mut fake = Fake::new(&[], &[false, false]);
    let ov = Overrides { bake_minutes: Some(Some(5)), ..Overrides::default() };
    run(&six(), &Selection::default(), &ov, Mode::Soft, &mut fake);
    assert_eq!(fake.baked, vec![(0, vec![0]), (1, vec![1, 2, 3, 4, 5])]);
}

#[test]
fn bake_outcomes_table() {
    // waves: canary (1 at a time, tolerance 0, bake 15), middle (2, tolerance 1, bake 5), rest (3, tolerance 0, no
    // bake); tenants t0 canary, t1..t3 middle, t4..t5 rest
    let f = fleet(
        &[("canary", "1", "0", Some(15)), ("middle", "2", "1", Some(5)), ("rest", "3", "0", None)],
        &[("t0", "canary"), ("t1", "middle"), ("t2", "middle"), ("t3", "middle"), ("t4", "rest"), ("t5", "rest")],
    );
    struct Case {
        what: &'static str,
        outcome: &'static [(usize, TenantStatus)],
        alarms: &'static [bool],
        baked: &'static [(usize, &'static [usize])],
        statuses: [TenantStatus; 6],
        waves: [WaveStatus; 3],
        exit: i32,
    }
    use WaveStatus as W;
    let cases = [
        Case {
            what: "every bake OK: all upgraded, the unbaked last wave is not checked",
            outcome: &[],
            alarms: &[false, false],
            baked: &[(0, &[0]), (1, &[1, 2, 3])],
            statuses: [Upgraded; 6],
            waves: [W::Completed, W::Completed, W::Completed],
            exit: 0,
        },
        Case {
            what: "the canary's alarm: everything after it halted",
            outcome: &[],
            alarms: &[true],
            baked: &[(0, &[0])],
            statuses: [Upgraded, Halted, Halted, Halted, Halted, Halted],
            waves: [W::Halted, W::Skipped, W::Skipped],
            exit: 4,
        },
        Case {
            what: "the middle wave's alarm: the rest halted",
            outcome: &[],
            alarms: &[false, true],
            baked: &[(0, &[0]), (1, &[1, 2, 3])],
            statuses: [Upgraded, Upgraded, Upgraded, Upgraded, Halted, Halted],
            waves: [W::Completed, W::Halted, W::Skipped],
            exit: 4,
        },
        Case {
            what: "a rollback by a trigger is a failure within the tolerance: only the upgraded ones are checked",
            outcome: &[(2, Failed)],
            alarms: &[false, false],
            baked: &[(0, &[0]), (1, &[1, 3])],
            statuses: [Upgraded, Upgraded, Failed, Upgraded, Upgraded, Upgraded],
            waves: [W::Completed, W::Completed, W::Completed],
            exit: 3,
        },
        Case {
            what: "a failure and then an alarm: exit 3 (failed), later tenants halted",
            outcome: &[(1, Failed)],
            alarms: &[false, true],
            baked: &[(0, &[0]), (1, &[2, 3])],
            statuses: [Upgraded, Failed, Upgraded, Upgraded, Halted, Halted],
            waves: [W::Completed, W::Halted, W::Skipped],
            exit: 3,
        },
        Case {
            what: "the canary rolled back (failed, tolerance 0): no bake check, the rest skipped, not halted",
            outcome: &[(0, Failed)],
            alarms: &[true],
            baked: &[],
            statuses: [Failed, Skipped, Skipped, Skipped, Skipped, Skipped],
            waves: [W::ToleranceExceeded, W::Skipped, W::Skipped],
            exit: 3,
        },
        Case {
            what: "nothing updated in a baked wave (unchanged, blocked): nothing to check, the run goes on",
            outcome: &[(0, Unchanged), (1, Blocked), (2, Unchanged), (3, Unchanged)],
            alarms: &[true, true],
            baked: &[],
            statuses: [Unchanged, Blocked, Unchanged, Unchanged, Upgraded, Upgraded],
            waves: [W::Completed, W::Completed, W::Completed],
            exit: 4,
        },
    ];
    for c in cases {
        let mut fake = Fake::new(c.outcome, c.alarms);
        let (s, st) = run(&f, &Selection::default(), &Overrides::default(), Mode::Soft, &mut fake);
        let baked: Vec<(usize, Vec<usize>)> = c.baked.iter().map(|(w, t)| (*w, t.to_vec())).collect();
        assert_eq!(fake.baked, baked, "{}", c.what);
        assert_eq!(st, c.statuses, "{}", c.what);
        assert_eq!(s.waves().iter().map(|(_, w)| *w).collect::<Vec<_>>(), c.waves, "{}", c.what);
        assert_eq!(exit_code(&st, s.tolerance_exceeded(), s.interrupted()), c.exit, "{}", c.what);
    }
}

#[test]
fn interrupt_starts_nothing_more() {
    let f = six();
    let p = plan(&f, &Selection::default(), &Overrides::default()).expect("plan");
    let mut s = Scheduler::new(p, Mode::Soft, &|_| false);
    assert_eq!(s.next_step(), Step::Start(vec![0]));
    s.finished(0, Upgraded);
    assert!(matches!(s.next_step(), Step::Bake { wave: 0, .. }));
    s.baked(false);
    assert_eq!(s.next_step(), Step::Start(vec![1, 2, 3]));
    s.interrupt();
    assert_eq!(s.next_step(), Step::Wait);
    s.finished(1, Upgraded);
    s.finished(2, Failed);
    s.finished(3, Upgraded);
    assert_eq!(s.next_step(), Step::Done);
    let st: Vec<_> = (0..6).map(|i| s.status(i)).collect();
    assert_eq!(st, vec![Some(Upgraded), Some(Upgraded), Some(Failed), Some(Upgraded), Some(Skipped), Some(Skipped)]);
    assert_eq!(s.waves()[1].1, WaveStatus::Interrupted);
    assert!(s.interrupted());
    let done: Vec<_> = st.into_iter().flatten().collect();
    assert_eq!(exit_code(&done, s.tolerance_exceeded(), s.interrupted()), EXIT_INTERRUPTED);
}

#[test]
fn selection_by_wave_only_and_exclude() {
    let f = six();
    let sel = Selection { wave: Some("rest".into()), exclude: vec!["t5".into()], ..Selection::default() };
    let p = plan(&f, &sel, &Overrides::default()).expect("plan");
    assert_eq!(p.waves.len(), 1);
    assert_eq!(p.waves[0].tenants, vec![1, 2, 3, 4]);
    let sel = Selection { only: vec!["t0".into(), "t3".into()], ..Selection::default() };
    assert_eq!(plan(&f, &sel, &Overrides::default()).expect("plan").tenant_count(), 2);
    let e = plan(&f, &Selection { wave: Some("rset".into()), ..Selection::default() }, &Overrides::default());
    assert!(matches!(&e, Err(PlanError::UnknownWave { help, .. }) if help.contains("did you mean `rest`?")), "{e:?}");
    let e = plan(&f, &Selection { only: vec!["t9".into()], ..Selection::default() }, &Overrides::default());
    assert!(matches!(&e, Err(PlanError::UnknownTenant { flag: "--only", .. })), "{e:?}");
}

#[test]
fn flags_override_the_files_limits() {
    let ov = Overrides {
        max_concurrent: Some(Amount::Percent(50)),
        failure_tolerance: Some(Amount::Count(2)),
        ..Overrides::default()
    };
    let p = plan(&six(), &Selection::default(), &ov).expect("plan");
    assert_eq!((p.waves[1].max_concurrent, p.waves[1].failure_tolerance), (2, 2));
    assert_eq!((p.waves[0].max_concurrent, p.waves[0].failure_tolerance), (1, 2));
}

#[test]
fn exit_codes() {
    for (st, exceeded, code) in [
        (vec![Upgraded, Unchanged, Held], false, 0),
        (vec![Planned, Unchanged], false, 0),
        (vec![Planned, Blocked], false, 4),
        (vec![], false, 0),
        (vec![Upgraded, Failed], false, 3),
        (vec![Upgraded, Skipped], true, 3),
        (vec![Blocked, Upgraded], false, 4),
        (vec![Halted], false, 4),
        (vec![Skipped, Failed], false, 3),
        (vec![Cancelled, Upgraded], false, 4),
    ] {
        assert_eq!(exit_code(&st, exceeded, false), code, "{st:?} {exceeded}");
        // interrupted runs exit 130 whatever their tenants did
        assert_eq!(exit_code(&st, exceeded, true), 130, "{st:?} {exceeded}");
    }
    let s = summary(&[Upgraded, Upgraded, Held, Cancelled]);
    assert_eq!((s["upgraded"], s["held"], s["failed"], s["cancelled"], s.len()), (2, 1, 0, 1, 9));
}
