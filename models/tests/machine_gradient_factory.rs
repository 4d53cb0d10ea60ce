//! `MachineGradientEstimator::with_factory`: the negative phase's samplers come from the given
//! factory, and a factory building the reference backend reproduces the default estimator
//! bit for bit.

mod machine_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use blockgibbs_models::machine::{
    BoltzmannMachine, MachineError, MachineGradientEstimator, UnitKind,
};
use blockgibbs_models::rbm::Sampling;
use blockgibbs_models::training::SamplerFactory;
use blockgibbs_runtime::{RuntimeError, Sampler, SamplerOptions};
use machine_support::{random_machine, random_state};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A factory building the reference backend that counts its calls and records the options
/// it was given.
fn counting_factory(
    calls: Arc<AtomicUsize>,
    seen: Arc<std::sync::Mutex<Vec<SamplerOptions>>>,
) -> Arc<SamplerFactory> {
    Arc::new(move |model, options| {
        calls.fetch_add(1, Ordering::SeqCst);
        seen.lock().unwrap().push(options);
        Sampler::reference(model, options)
    })
}

fn batch(machine: &BoltzmannMachine, rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows)
        .flat_map(|_| random_state(&machine.layers()[0], &mut rng))
        .collect()
}

#[test]
fn a_reference_factory_is_called_once_per_estimate_and_matches_the_default() {
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
            let calls = Arc::new(AtomicUsize::new(0));
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut default = MachineGradientEstimator::new(sampling, 42).unwrap();
            let mut custom = MachineGradientEstimator::new(sampling, 42)
                .unwrap()
                .with_factory(counting_factory(calls.clone(), seen.clone()));
            for step in 1..=3 {
                let a = default.estimate(machine, &data).unwrap();
                let b = custom.estimate(machine, &data).unwrap();
                assert_eq!(a, b, "{sampling:?} step {step}");
                assert_eq!(default.fantasy_particles(), custom.fantasy_particles());
                assert_eq!(calls.load(Ordering::SeqCst), step);
            }
            let chains = match sampling {
                Sampling::Cd { .. } => 6,
                Sampling::Pcd { chains, .. } => chains,
                Sampling::DrivenPcd { .. } => unreachable!("not among the cases"),
            };
            let seen = seen.lock().unwrap();
            assert!(
                seen.iter()
                    .all(|o| o.chains == chains && o.threads == 1 && o.beta == 1.0)
            );
            // Each estimate draws a fresh seed from the estimator's stream.
            assert!(seen.windows(2).all(|w| w[0].seed != w[1].seed));
        }
    }
}

#[test]
fn the_factorys_sampler_is_the_one_used() {
    let machine = random_machine(&[(UnitKind::Binary, 5), (UnitKind::Binary, 4)], 0.8, 4);
    let data = batch(&machine, 8, 5);
    let sampling = Sampling::Cd { k: 1 };
    let default = MachineGradientEstimator::new(sampling, 9)
        .unwrap()
        .estimate(&machine, &data)
        .unwrap();
    // Same backend, other seed: the negative phase changes, the positive phase does not.
    let reseeded: Arc<SamplerFactory> = Arc::new(|model, options: SamplerOptions| {
        Sampler::reference(
            model,
            SamplerOptions {
                seed: options.seed ^ 1,
                ..options
            },
        )
    });
    let other = MachineGradientEstimator::new(sampling, 9)
        .unwrap()
        .with_factory(reseeded)
        .estimate(&machine, &data)
        .unwrap();
    assert_eq!(other.positive, default.positive);
    assert_ne!(other.negative, default.negative);
    // A factory's error comes back typed.
    let failing: Arc<SamplerFactory> = Arc::new(|model, options: SamplerOptions| {
        Sampler::reference(
            model,
            SamplerOptions {
                chains: 0,
                ..options
            },
        )
    });
    let err = MachineGradientEstimator::new(sampling, 9)
        .unwrap()
        .with_factory(failing)
        .estimate(&machine, &data)
        .unwrap_err();
    assert_eq!(err, MachineError::Runtime(RuntimeError::NoChains));
}
