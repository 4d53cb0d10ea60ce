//! The machine, deep and RBM gradient estimators compile their negative phase's sampler
//! once and give it each step's parameters: across steps under changing parameters the
//! program is the same allocation, and every estimate equals, bit for bit, the one a sampler
//! made afresh for that step's parameters gives (the rebuild-per-step behaviour), started
//! from the previous step's chains with that step's seed from the estimator's stream.

mod machine_support;

use std::sync::Arc;

use blockgibbs_ir::Program;
use blockgibbs_models::machine::{
    self, BoltzmannMachine, DeepGradientEstimator, MachineGradientEstimator, MachineSampler,
    MeanFieldOptions, SamplingMode, UnitKind,
};
use blockgibbs_models::rbm::{
    self, BetaProcess, BinaryRbm, DrivenBeta, GradientEstimator, Penalty, Sampling,
};
use blockgibbs_runtime::{BackendChoice, SamplerOptions};
use machine_support::{random_machine, random_state};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEPS: u64 = 4;

fn batch(machine: &BoltzmannMachine, rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows)
        .flat_map(|_| random_state(&machine.layers()[0], &mut rng))
        .collect()
}

/// A sampler made afresh for `machine` with `seed`, every layer given in `start` set.
fn fresh(
    machine: &BoltzmannMachine,
    chains: usize,
    seed: u64,
    start: &[(usize, &[f32])],
) -> MachineSampler {
    let options = SamplerOptions {
        chains,
        seed,
        threads: 1,
        beta: 1.0,
    };
    let mut s = MachineSampler::new(machine, &[], options, BackendChoice::Reference).unwrap();
    for &(l, values) in start {
        s.set_layer(l, values).unwrap();
    }
    s
}

/// Checks that the program is the first step's, or records it.
fn same_program(first: &mut Option<Arc<Program>>, now: &Arc<Program>, what: &str, step: u64) {
    match first {
        Some(p) => assert!(Arc::ptr_eq(p, now), "{what}: step {step} compiled again"),
        None => *first = Some(now.clone()),
    }
}

#[test]
fn the_two_layer_estimator_keeps_one_sampler_and_matches_fresh_samplers() {
    let spec = [(UnitKind::Binary, 4), (UnitKind::Categorical(3), 2)];
    for sampling in [Sampling::Cd { k: 2 }, Sampling::Pcd { k: 3, chains: 5 }] {
        let mut estimator = MachineGradientEstimator::new(sampling, 7)
            .unwrap()
            .backend(BackendChoice::Reference);
        let mut seeds = ChaCha8Rng::seed_from_u64(7);
        let (mut program, mut chains_before) = (None, Vec::<Vec<f32>>::new());
        for step in 0..STEPS {
            let m = random_machine(&spec, 0.7, 30 + step);
            let data = batch(&m, 6, step);
            let est = estimator.estimate(&m, &data).unwrap();
            let seed: u64 = seeds.random();
            let (k, mut reference) = match sampling {
                Sampling::Cd { k } => (k, fresh(&m, 6, seed, &[(0, &data)])),
                Sampling::Pcd { k, chains } => {
                    let start: Vec<(usize, &[f32])> = chains_before
                        .iter()
                        .enumerate()
                        .map(|(l, v)| (l, v.as_slice()))
                        .collect();
                    (k, fresh(&m, chains, seed, &start))
                }
                Sampling::DrivenPcd { .. } => unreachable!(),
            };
            reference.run(SamplingMode::MarkovChain, k as u64).unwrap();
            let v = reference.layer_values(0).unwrap();
            assert_eq!(
                est.negative,
                machine::positive_phase(&m, &v).unwrap(),
                "{sampling:?} step {step}"
            );
            if let Sampling::Pcd { .. } = sampling {
                chains_before = reference.all_layer_values().unwrap();
                assert_eq!(estimator.fantasy_particles(), &chains_before[..]);
            }
            let now = estimator.sampler().unwrap().sampler().program();
            same_program(&mut program, now, &format!("{sampling:?}"), step);
        }
    }
}

#[test]
fn the_deep_estimator_keeps_one_sampler_and_matches_fresh_samplers() {
    let spec = [
        (UnitKind::Binary, 4),
        (UnitKind::Spin, 3),
        (UnitKind::Binary, 2),
    ];
    let (k, chains) = (2, 6);
    let mut estimator = DeepGradientEstimator::new(
        k,
        chains,
        MeanFieldOptions::default(),
        Penalty::default(),
        11,
    )
    .unwrap()
    .backend(BackendChoice::Reference);
    let mut seeds = ChaCha8Rng::seed_from_u64(11);
    let (mut program, mut chains_before) = (None, Vec::<Vec<f32>>::new());
    for step in 0..STEPS {
        let m = random_machine(&spec, 0.5, 50 + step);
        let est = estimator.estimate(&m, &batch(&m, 5, step)).unwrap();
        let start: Vec<(usize, &[f32])> = chains_before
            .iter()
            .enumerate()
            .map(|(l, v)| (l, v.as_slice()))
            .collect();
        let mut reference = fresh(&m, chains, seeds.random(), &start);
        reference.run(SamplingMode::MarkovChain, k as u64).unwrap();
        chains_before = reference.all_layer_values().unwrap();
        assert_eq!(
            estimator.fantasy_particles(),
            &chains_before[..],
            "step {step}"
        );
        let stats = machine::chain_statistics(&m, &chains_before).unwrap();
        assert_eq!(est.negative, stats, "step {step}");
        let now = estimator.sampler().unwrap().sampler().program();
        same_program(&mut program, now, "deep", step);
    }
}

#[test]
fn the_rbm_estimator_keeps_one_sampler_and_matches_fresh_samplers() {
    let (nv, nh, rows, chains) = (5, 3, 6, 4);
    let driven = DrivenBeta::default();
    for sampling in [
        Sampling::Cd { k: 2 },
        Sampling::Pcd { k: 2, chains },
        Sampling::DrivenPcd {
            k: 3,
            chains,
            driven,
        },
    ] {
        let mut estimator = GradientEstimator::new(sampling, Penalty::default(), 3)
            .unwrap()
            .backend(BackendChoice::Reference);
        let mut seeds = ChaCha8Rng::seed_from_u64(3);
        let mut beta_rng = ChaCha8Rng::seed_from_u64(3);
        beta_rng.set_stream(1);
        let mut process = None;
        let (mut program, mut chains_before) = (None, Vec::<Vec<f32>>::new());
        for step in 0..STEPS {
            let r = BinaryRbm::random(nv, nh, 0.8, 0.3, 70 + step).unwrap();
            let m = BoltzmannMachine::try_from(&r).unwrap();
            let data = batch(&m, rows, step);
            let est = estimator.estimate(&r, &data).unwrap();
            let seed: u64 = seeds.random();
            let v = match sampling {
                Sampling::Cd { k } => {
                    let mut s = fresh(&m, rows, seed, &[(0, &data)]);
                    s.run(SamplingMode::MarkovChain, k as u64).unwrap();
                    s.layer_values(0).unwrap()
                }
                Sampling::Pcd { k, .. } | Sampling::DrivenPcd { k, .. } => {
                    let start: Vec<(usize, &[f32])> = chains_before
                        .iter()
                        .enumerate()
                        .map(|(l, v)| (l, v.as_slice()))
                        .collect();
                    let mut s = fresh(&m, chains, seed, &start);
                    if let Sampling::DrivenPcd { driven, .. } = sampling {
                        let p = process.get_or_insert_with(|| {
                            BetaProcess::new(driven, chains, &mut beta_rng).unwrap()
                        });
                        for _ in 0..k {
                            let betas: Vec<f32> = (0..chains)
                                .map(|c| p.step_chain(c, &mut beta_rng).unwrap() as f32)
                                .collect();
                            s.sampler_mut().set_betas(&betas).unwrap();
                            s.run(SamplingMode::MarkovChain, 1).unwrap();
                        }
                    } else {
                        s.run(SamplingMode::MarkovChain, k as u64).unwrap();
                    }
                    chains_before = s.all_layer_values().unwrap();
                    assert_eq!(estimator.fantasy_particles(), &chains_before[0][..]);
                    chains_before[0].clone()
                }
            };
            assert_eq!(
                est.negative,
                rbm::positive_phase(&r, &v).unwrap(),
                "{sampling:?} step {step}"
            );
            if let Some(p) = &process {
                assert_eq!(estimator.chain_betas(), p.betas());
            }
            let now = estimator.sampler().unwrap().sampler().program();
            same_program(&mut program, now, &format!("{sampling:?}"), step);
        }
    }
}
