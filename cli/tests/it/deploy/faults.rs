//! The deploy core under faults: a proxy in front of moto fails 10 % of the calls (HTTP 503, throttling in each
//! protocol's shape, connections dropped before the call, answers lost after moto did the work) and the first
//! apply, an update, a plan, status and destroy must each converge without a re-run and without duplicates: one
//! executed change set per stack and apply, one claim certificate attached to the claim policy. Checked through a
//! clean client straight to moto, never through the faulty path (the scenario: [`super::fault_scenario`], which
//! the benchmark `cli/benches/faults.rs` runs too).

use super::fault_scenario::{converges_under, every_changing_answer_lost, random};
use rainmaker_test_support::Faults;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_1() {
    converges_under(1, random(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_2() {
    converges_under(2, random(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seed_3() {
    converges_under(3, random(3)).await;
}

/// The answers of the calls that change something lost once each (the work done, the SDK retrying a call whose
/// effect already happened), on top of seed 4's random faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_of_every_changing_call() {
    let run = converges_under(4, every_changing_answer_lost()).await;
    // every targeted call was made and lost once (a target that matches nothing any more proves nothing)
    for call in super::fault_scenario::CHANGING_CALLS {
        assert!(run.lost_answers.iter().any(|c| c.contains(call)), "{call} was lost: {:?}", run.lost_answers);
    }
}

/// The same sequence with no fault: the baseline the faulted runs' wall time and request count compare with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_faults_baseline() {
    let run = converges_under(0, Faults::every_kind(0, 0)).await;
    assert!(run.faults_by_kind.is_empty());
}
