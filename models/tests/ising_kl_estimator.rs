//! `KlGradEstimator`: a training run's steps through one estimator (one compiled program,
//! parameters pushed as live weights, data held by runtime clamps, persistent negative
//! chains) equal, bit for bit, the free-function calls chained through `negative_chains`;
//! a changed structure is refused with a typed error naming the field, and the estimator
//! carries on unchanged after it.

use std::sync::Arc;

use blockgibbs_models::{
    GradTargets, InitMode, IsingEBM, IsingError, IsingTrainingSpec, KlGradEstimator,
    PersistentChains, SamplingOptions, estimate_kl_grad_targeted,
};
use blockgibbs_runtime::{BackendChoice, SamplingSchedule};

mod ising_support;
use ising_support::{chain4, options};

fn spec(ebm: &IsingEBM, data_nodes: Vec<u32>, cond: Vec<u32>) -> IsingTrainingSpec {
    let s = SamplingSchedule::new(3, 4, 2);
    let mut spec = IsingTrainingSpec::new(ebm, data_nodes, cond, s, s).unwrap();
    spec.positive = options(4, 11);
    spec.negative = options(8, 12);
    spec
}

/// `ebm` with every parameter moved by a step-dependent amount (as an optimiser would).
fn perturbed(ebm: &IsingEBM, step: usize) -> IsingEBM {
    let mut next = ebm.clone();
    let t = step as f32;
    let w: Vec<f32> = ebm
        .weights()
        .iter()
        .enumerate()
        .map(|(e, &w)| w + 0.1 * ((e as f32 + t).sin()))
        .collect();
    let b: Vec<f32> = ebm
        .biases()
        .iter()
        .enumerate()
        .map(|(i, &b)| b - 0.05 * ((i as f32 * t).cos()))
        .collect();
    next.set_weights(&w).unwrap();
    next.set_biases(&b).unwrap();
    next.set_beta(0.8 + 0.05 * t).unwrap();
    next
}

/// Rows of `width` spins that differ from step to step.
fn batch(rows: usize, width: usize, step: usize) -> Vec<Vec<f32>> {
    (0..rows)
        .map(|r| {
            (0..width)
                .map(|c| {
                    if (r * 7 + c * 3 + step).is_multiple_of(3) {
                        -1.0
                    } else {
                        1.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Runs `steps` estimates through one estimator and through chained free-function calls,
/// asserting equal gradients, moments and chains at every step; `rows(step)` is the batch
/// size of each step.
fn check_equal_runs(
    spec: &IsingTrainingSpec,
    targets: &GradTargets,
    steps: usize,
    rows: impl Fn(usize) -> usize,
) {
    let mut ebm = chain4();
    let conditioned = !spec.conditioning_nodes.is_empty();
    let mut estimator = KlGradEstimator::targeted(&ebm, spec, targets).unwrap();
    let mut chains: Option<PersistentChains> = None;
    let mut program = None;
    for step in 0..steps {
        let data = batch(rows(step), spec.data_nodes.len(), step);
        let cond = if conditioned {
            batch(rows(step), spec.conditioning_nodes.len(), step + 1)
        } else {
            vec![]
        };
        let free =
            estimate_kl_grad_targeted(&ebm, spec, targets, &data, &cond, chains.as_ref()).unwrap();
        let kept = estimator.estimate(&ebm, &data, &cond).unwrap();
        assert_eq!(kept, free.grad, "step {step}");
        let kept_chains = estimator.negative_chains().unwrap();
        assert_eq!(kept_chains, free.negative_chains, "step {step}");
        assert_eq!(
            kept_chains.sweeps_done,
            (step as u64 + 1) * spec.schedule_negative.total_sweeps()
        );
        // One compiled program for both phases and every step.
        let negative = estimator.negative_sampler().unwrap().program().clone();
        let positive = estimator.positive_sampler().unwrap().program().clone();
        assert!(Arc::ptr_eq(&negative, &positive));
        let first = program.get_or_insert_with(|| negative.clone());
        assert!(Arc::ptr_eq(first, &negative), "step {step} recompiled");
        chains = Some(free.negative_chains);
        ebm = perturbed(&ebm, step);
    }
}

#[test]
fn steps_through_one_estimator_equal_chained_free_calls() {
    let ebm = chain4();
    let all = GradTargets::all(&ebm);
    let some = GradTargets {
        bias_nodes: vec![2, 0],
        weight_edges: vec![(2, 1)],
    };
    // Hinton initial states (recomputed from each step's parameters for the positive phase).
    check_equal_runs(&spec(&ebm, vec![0, 3], vec![]), &all, 4, |_| 3);
    check_equal_runs(&spec(&ebm, vec![0, 3], vec![]), &some, 3, |_| 2);
    // Conditioning clamped in both phases, new values every step.
    check_equal_runs(&spec(&ebm, vec![3], vec![0]), &all, 4, |_| 3);
    // The sampler's own uniform initial state, on the JIT where it runs.
    let mut uniform = spec(&ebm, vec![1, 2], vec![]);
    for o in [&mut uniform.positive, &mut uniform.negative] {
        *o = SamplingOptions {
            init: InitMode::Uniform,
            backend: BackendChoice::Auto,
            ..*o
        };
    }
    check_equal_runs(&uniform, &all, 3, |_| 2);
    // Batches of changing size (only the positive sampler is rebuilt, from the program).
    check_equal_runs(&spec(&ebm, vec![0], vec![]), &all, 4, |s| 1 + s % 3);
}

#[test]
fn an_estimator_resumed_from_saved_chains_continues_the_run() {
    let ebm = chain4();
    let spec = spec(&ebm, vec![0, 3], vec![]);
    let data = batch(2, 2, 0);
    let mut whole = KlGradEstimator::new(&ebm, &spec).unwrap();
    let mut first = KlGradEstimator::new(&ebm, &spec).unwrap();
    whole.estimate(&ebm, &data, &[]).unwrap();
    first.estimate(&ebm, &data, &[]).unwrap();
    let next = perturbed(&ebm, 1);
    let mut second = KlGradEstimator::new(&next, &spec).unwrap();
    second.resume_from(first.negative_chains().unwrap());
    assert_eq!(
        second.estimate(&next, &data, &[]).unwrap(),
        whole.estimate(&next, &data, &[]).unwrap()
    );
    assert_eq!(
        second.negative_chains().unwrap(),
        whole.negative_chains().unwrap()
    );
}

#[test]
fn a_changed_structure_is_refused_and_changes_nothing() {
    let ebm = chain4();
    let spec = spec(&ebm, vec![0, 3], vec![]);
    let data = batch(2, 2, 0);
    let mut est = KlGradEstimator::new(&ebm, &spec).unwrap();
    let mut twin = KlGradEstimator::new(&ebm, &spec).unwrap();
    est.estimate(&ebm, &data, &[]).unwrap();
    twin.estimate(&ebm, &data, &[]).unwrap();
    let field_of = |e: IsingError| match e {
        IsingError::StructureChanged { field, .. } => field,
        other => panic!("expected StructureChanged, got {other:?}"),
    };
    let rewired = IsingEBM::new(
        vec![(0, 1), (1, 3), (2, 3)],
        ebm.biases().to_vec(),
        ebm.weights().to_vec(),
        ebm.beta(),
    )
    .unwrap();
    assert_eq!(
        field_of(est.estimate(&rewired, &data, &[]).unwrap_err()),
        "ebm.edges[1]"
    );
    let fewer = IsingEBM::new(vec![(0, 1)], ebm.biases().to_vec(), vec![0.5], 0.8).unwrap();
    assert_eq!(
        field_of(est.estimate(&fewer, &data, &[]).unwrap_err()),
        "ebm.edges"
    );
    let bigger = IsingEBM::new(ebm.edges().to_vec(), vec![0.0; 5], vec![0.1; 3], 0.8).unwrap();
    assert_eq!(
        field_of(est.estimate(&bigger, &data, &[]).unwrap_err()),
        "ebm.biases"
    );
    // The refused calls touched nothing: the next step is the twin's.
    assert_eq!(
        est.estimate(&ebm, &data, &[]).unwrap(),
        twin.estimate(&ebm, &data, &[]).unwrap()
    );
    assert_eq!(est.negative_chains(), twin.negative_chains());
}

#[test]
fn conditioning_example_count_is_fixed_by_the_first_estimate() {
    let ebm = chain4();
    let spec = spec(&ebm, vec![3], vec![0]);
    let mut est = KlGradEstimator::new(&ebm, &spec).unwrap();
    assert!(matches!(
        est.negative_chains().unwrap_err(),
        IsingError::InvalidParameter { ref field, .. } if field == "negative_chains"
    ));
    est.estimate(&ebm, &batch(3, 1, 0), &batch(3, 1, 1))
        .unwrap();
    let err = est
        .estimate(&ebm, &batch(2, 1, 0), &batch(2, 1, 1))
        .unwrap_err();
    assert!(
        matches!(
            err,
            IsingError::LengthMismatch { ref field, expected: 3, found: 2 }
                if field == "conditioning"
        ),
        "{err:?}"
    );
    // Saved chains of the wrong shape are named when the estimate that uses them runs.
    let mut short = est.negative_chains().unwrap();
    short.states.pop();
    est.resume_from(short);
    let err = est
        .estimate(&ebm, &batch(3, 1, 0), &batch(3, 1, 1))
        .unwrap_err();
    assert!(
        matches!(err, IsingError::LengthMismatch { ref field, expected: 24, found: 23 }
            if field == "negative_init.states"),
        "{err:?}"
    );
}
