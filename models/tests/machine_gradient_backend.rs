//! The backend and the thread count of `MachineGradientEstimator` are plain settings: every
//! choice gives the same estimates and fantasy particles bit for bit, and the estimator's
//! seed is what moves the negative phase.

mod machine_support;

use blockgibbs_models::machine::{BoltzmannMachine, MachineGradientEstimator, UnitKind};
use blockgibbs_models::rbm::Sampling;
use blockgibbs_runtime::BackendChoice;
use machine_support::{random_machine, random_state};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn batch(machine: &BoltzmannMachine, rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows)
        .flat_map(|_| random_state(&machine.layers()[0], &mut rng))
        .collect()
}

#[test]
fn every_backend_and_thread_count_gives_the_same_estimates() {
    let machines = [
        random_machine(
            &[(UnitKind::Binary, 5), (UnitKind::Categorical(3), 3)],
            0.5,
            1,
        ),
        random_machine(&[(UnitKind::Gaussian, 3), (UnitKind::Spin, 4)], 0.5, 2),
    ];
    for machine in &machines {
        let data = batch(machine, 6, 3);
        for sampling in [Sampling::Cd { k: 2 }, Sampling::Pcd { k: 3, chains: 7 }] {
            let mut reference = MachineGradientEstimator::new(sampling, 42)
                .unwrap()
                .backend(BackendChoice::Reference);
            let mut others = [
                MachineGradientEstimator::new(sampling, 42).unwrap(),
                MachineGradientEstimator::new(sampling, 42)
                    .unwrap()
                    .backend(BackendChoice::Jit)
                    .threads(2),
            ];
            for step in 1..=3 {
                let a = reference.estimate(machine, &data).unwrap();
                for other in &mut others {
                    let b = other.estimate(machine, &data).unwrap();
                    assert_eq!(a, b, "{sampling:?} step {step}");
                    assert_eq!(reference.fantasy_particles(), other.fantasy_particles());
                }
            }
        }
    }
}

#[test]
fn the_seed_moves_the_negative_phase_only() {
    let machine = random_machine(&[(UnitKind::Binary, 5), (UnitKind::Binary, 4)], 0.8, 4);
    let data = batch(&machine, 8, 5);
    let sampling = Sampling::Cd { k: 1 };
    let estimate = |seed| {
        MachineGradientEstimator::new(sampling, seed)
            .unwrap()
            .backend(BackendChoice::Reference)
            .estimate(&machine, &data)
            .unwrap()
    };
    let (a, b) = (estimate(9), estimate(10));
    assert_eq!(a.positive, b.positive);
    assert_ne!(a.negative, b.negative);
}
