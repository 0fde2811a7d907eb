//! Ctrl-C in the scheduler: a tenant whose operation was cancelled is `cancelled`, no failure, and the rest is
//! skipped; an interrupted run exits 130.

use super::tests::fleet;
use super::*;
use TenantStatus::*;

#[test]
fn a_cancelled_tenant_is_no_failure_and_the_rest_is_skipped() {
    // tolerance 0 everywhere: a tenant cancelled by Ctrl-C must not count as the failure that exceeds it
    let f = fleet(&[("all", "2", "0", None)], &[("t0", "all"), ("t1", "all"), ("t2", "all"), ("t3", "all")]);
    let p = plan(&f, &Selection::default(), &Overrides::default()).expect("plan");
    let mut s = Scheduler::new(p, Mode::Strict, &|_| false);
    assert_eq!(s.next_step(), Step::Start(vec![0]), "strict, tolerance 0: one at a time");
    s.finished(0, Upgraded);
    assert_eq!(s.next_step(), Step::Start(vec![1]));
    s.interrupt();
    assert_eq!(s.next_step(), Step::Wait, "the running one is waited for");
    s.finished(1, Cancelled);
    assert_eq!(s.next_step(), Step::Done);
    let st: Vec<_> = (0..4).map(|i| s.status(i).expect("every tenant has a status")).collect();
    assert_eq!(st, vec![Upgraded, Cancelled, Skipped, Skipped]);
    assert!(!s.tolerance_exceeded(), "a cancel is no failure");
    assert_eq!(s.waves(), vec![(0, WaveStatus::Interrupted)]);
    assert_eq!(exit_code(&st, false, true), EXIT_INTERRUPTED);
}
