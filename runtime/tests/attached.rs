//! Attached observers and schedules run in pieces: what a simulator that owns its loop uses.

use blockgibbs_ir::{ModelBuilder, NodeId, NodeKind};
use blockgibbs_runtime::{
    EnergyObserver, Moments, Observer, RunStatus, SampleCollector, Sampler, SamplingSchedule,
};
use std::cell::Cell;
use std::sync::Arc;

fn sampler(seed: u64) -> Sampler {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 10).unwrap();
    let ids = s.ids();
    b.pair_coupling("j", &ids[..9], &ids[1..], &[0.4; 9]);
    Sampler::builder(Arc::new(b.build().unwrap()))
        .chains(6)
        .seed(seed)
        .threads(1)
        .build()
        .unwrap()
}

fn nodes() -> Vec<NodeId> {
    (0..10).map(NodeId).collect()
}

#[test]
fn step_sweeps_n_times_then_feeds_attached_observers_once() {
    let mut a = sampler(1);
    let samples = a.attach(SampleCollector::new(nodes()));
    let energy = a.attach(EnergyObserver::default());
    a.step(3).unwrap();
    a.step(2).unwrap();
    assert_eq!(a.sweeps_done(), 5);
    assert_eq!(a.steps_observed(), 2);
    assert_eq!(a.observer(&samples).unwrap().samples, 2);
    assert_eq!(a.observer(&energy).unwrap().energies.len(), 2);

    // The same as sweeping and observing by hand.
    let mut b = sampler(1);
    let mut by_hand = SampleCollector::new(nodes());
    b.sweep(3).unwrap();
    b.observe(0, &mut [&mut by_hand]);
    b.sweep(2).unwrap();
    b.observe(1, &mut [&mut by_hand]);
    assert_eq!(a.observer(&samples).unwrap().data, by_hand.data);

    // Detached observers stop recording and come back whole; stale handles find nothing.
    let collected = a.detach(samples).unwrap();
    assert_eq!(collected.samples, 2);
    assert!(a.observer(&samples).is_none());
    assert!(a.detach(samples).is_none());
    a.step(1).unwrap();
    assert_eq!(a.observer(&energy).unwrap().energies.len(), 3);
    assert_eq!(a.attached_count(), 1);
    // A handle of one sampler finds nothing in another.
    assert!(b.observer(&energy).is_none());
    // Observers can be attached boxed, and mutated between steps.
    let boxed: Box<dyn Observer> = Box::new(Moments::new(nodes(), vec![]));
    let h = a.attach(boxed);
    a.step(1).unwrap();
    assert!(a.observer(&h).is_some());
    a.observer_mut(&energy).unwrap().energies.clear();
    a.step(1).unwrap();
    assert_eq!(a.observer(&energy).unwrap().energies.len(), 1);
}

#[test]
fn run_feeds_attached_and_passed_observers_alike() {
    let schedule = SamplingSchedule::new(4, 9, 2);
    let mut a = sampler(4);
    let h = a.attach(SampleCollector::new(nodes()));
    let mut passed = SampleCollector::new(nodes());
    a.run(&schedule, &mut [&mut passed]).unwrap();
    assert_eq!(a.observer(&h).unwrap().data, passed.data);
    assert_eq!(passed.samples, 9);
    assert!(a.schedule_cursor().is_none());
}

/// A schedule advanced in pieces of any size — including pieces ending exactly on an
/// observation, pieces of zero and a stop request — observes exactly as one run.
#[test]
fn pieces_of_any_size_equal_one_run() {
    let schedule = SamplingSchedule::new(5, 12, 3);
    let mut whole = sampler(9);
    let mut expected = SampleCollector::new(nodes());
    whole.run(&schedule, &mut [&mut expected]).unwrap();

    for pieces in [vec![1u64], vec![5, 0, 3], vec![2, 7, 11], vec![38]] {
        let mut s = sampler(9);
        let mut got = SampleCollector::new(nodes());
        s.start_schedule(schedule);
        let mut seen = Vec::new();
        let mut i = 0;
        loop {
            let n = pieces[i % pieces.len()];
            i += 1;
            let status = s
                .advance(n, &mut [&mut got], &|| false, &mut |done, total| {
                    seen.push((done, total))
                })
                .unwrap();
            let cursor = *s.schedule_cursor().unwrap();
            assert_eq!(cursor.sweeps_done(), s.sweeps_done());
            if status == RunStatus::Finished {
                assert!(cursor.is_finished());
                break;
            }
            assert_eq!(status, RunStatus::Paused);
            // Observations due are made before a piece returns.
            assert!(cursor.sweeps_in_interval < cursor.interval());
        }
        assert_eq!(got.data, expected.data, "pieces {pieces:?}");
        assert_eq!(s.sweeps_done(), schedule.total_sweeps());
        assert!(seen.iter().all(|&(_, t)| t == schedule.total_sweeps()));
        assert_eq!(seen.last().unwrap().0, schedule.total_sweeps());
    }

    // A stop request is honoured between sweeps and the run goes on afterwards.
    let mut s = sampler(9);
    let mut got = SampleCollector::new(nodes());
    s.start_schedule(schedule);
    let calls = Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 3
    };
    let status = s
        .advance(u64::MAX, &mut [&mut got], &stop, &mut |_, _| {})
        .unwrap();
    assert_eq!(status, RunStatus::Stopped);
    assert!(s.sweeps_done() < schedule.total_sweeps());
    let status = s
        .advance(u64::MAX, &mut [&mut got], &|| false, &mut |_, _| {})
        .unwrap();
    assert_eq!(status, RunStatus::Finished);
    assert_eq!(got.data, expected.data);
}

#[test]
fn a_warmup_only_schedule_observes_nothing() {
    let mut s = sampler(2);
    let h = s.attach(SampleCollector::new(nodes()));
    s.start_schedule(SamplingSchedule::new(7, 0, 1));
    assert_eq!(
        s.advance(3, &mut [], &|| false, &mut |_, _| {}).unwrap(),
        RunStatus::Paused
    );
    assert_eq!(
        s.advance(10, &mut [], &|| false, &mut |_, _| {}).unwrap(),
        RunStatus::Finished
    );
    assert_eq!(s.sweeps_done(), 7);
    assert_eq!(s.observer(&h).unwrap().samples, 0);
    // With no schedule started there is nothing to do.
    s.finish_schedule();
    assert_eq!(
        s.advance(10, &mut [], &|| false, &mut |_, _| {}).unwrap(),
        RunStatus::Finished
    );
    assert_eq!(s.sweeps_done(), 7);
}
