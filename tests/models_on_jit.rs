//! The models crate's trainers run on either backend, chosen by a plain
//! [`BackendChoice`] in their options: training on the JIT gives bit for bit the results of
//! training on the reference backend (the JIT is bit-identical to it), and the choice is
//! really used (the samplers say which backend they run).

use blockgibbs::models::machine::{
    BoltzmannMachine, DeepTrainOptions, Layer, MachineGradientEstimator, UnitKind, fit_deep,
};
use blockgibbs::models::rbm::train::Sampling;
use blockgibbs::models::{IsingEBM, IsingTrainingSpec, SamplingOptions, estimate_kl_grad};
use blockgibbs::prelude::*;

const BOTH: [BackendChoice; 2] = [BackendChoice::Reference, BackendChoice::Jit];

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn deep_machine_training_is_identical_on_both_backends() {
    let layers = vec![
        Layer::zeros(UnitKind::Binary, 6).unwrap(),
        Layer::zeros(UnitKind::Spin, 4).unwrap(),
        Layer::zeros(UnitKind::Categorical(3), 2).unwrap(),
    ];
    let start = BoltzmannMachine::random(layers, 0.3, 5).unwrap();
    let data: Vec<f32> = (0..40 * 6)
        .map(|i| ((i * 7 + i / 6) % 3 == 0) as u8 as f32)
        .collect();
    let mut trained = Vec::new();
    for backend in BOTH {
        let options = DeepTrainOptions {
            epochs: 3,
            batch_size: 10,
            chains: 20,
            backend,
            ..DeepTrainOptions::default()
        };
        let mut m = start.clone();
        fit_deep(&mut m, &data, &options, None).unwrap();
        trained.push(m.flat_params());
    }
    assert_ne!(
        bits(&trained[0]),
        bits(&start.flat_params()),
        "training moved nothing"
    );
    assert_eq!(bits(&trained[0]), bits(&trained[1]));
}

#[test]
fn rbm_gradient_estimates_are_identical_on_both_backends() {
    let v = Layer::gaussian(vec![0.2, -0.1, 0.4], vec![0.1, -0.2, 0.0]).unwrap();
    let h = Layer::zeros(UnitKind::Binary, 5).unwrap();
    let machine = BoltzmannMachine::random(vec![v, h], 0.4, 9).unwrap();
    let batch: Vec<f32> = (0..8 * 3).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut estimates = Vec::new();
    for backend in BOTH {
        let sampling = Sampling::Pcd { k: 3, chains: 12 };
        let mut est = MachineGradientEstimator::new(sampling, 4)
            .unwrap()
            .backend(backend);
        let runs: Vec<_> = (0..3)
            .map(|_| est.estimate(&machine, &batch).unwrap())
            .collect();
        // One sampler for all three estimates, on the backend asked for.
        let name = est.sampler().unwrap().sampler().backend_name();
        assert_eq!(name, backend.name());
        estimates.push(runs);
    }
    assert_eq!(estimates[0], estimates[1]);
}

#[test]
fn ising_kl_gradients_are_identical_on_both_backends() {
    let ebm = IsingEBM::new(
        vec![(0, 1), (1, 2), (2, 3), (3, 0)],
        vec![0.2, -0.1, 0.3, -0.2],
        vec![0.5, -0.4, 0.6, 0.1],
        0.8,
    )
    .unwrap();
    let data = vec![vec![1.0, -1.0], vec![1.0, 1.0], vec![-1.0, -1.0]];
    let schedule = SamplingSchedule::new(20, 30, 2);
    let mut grads = Vec::new();
    for backend in BOTH {
        let mut spec =
            IsingTrainingSpec::new(&ebm, vec![0, 2], vec![], schedule, schedule).unwrap();
        let options = |seed| SamplingOptions {
            chains: 16,
            seed,
            backend,
            ..SamplingOptions::default()
        };
        spec.positive = options(1);
        spec.negative = options(2);
        grads.push(estimate_kl_grad(&ebm, &spec, &data, &[]).unwrap());
    }
    assert_eq!(grads[0], grads[1]);
}

/// Harmoniums and hierarchical mixtures lower to ordinary engine models, so their chains
/// run on the JIT bit for bit as on the reference backend: a Gaussian mixture (categorical
/// gates of Gaussian means, precisions and couplings), CD on a Bernoulli–categorical
/// harmonium, and the three-level HMoG chain.
#[test]
fn harmonium_and_hmog_chains_are_identical_on_both_backends() {
    use blockgibbs::models::expfam::{Bernoulli, Categorical, CovarianceType, Gaussian};
    use blockgibbs::models::harmonium::{Coupling, Harmonium, HarmoniumSampler, Order};
    use blockgibbs::models::hmog::{Hmog, HmogSampler, HmogVariant};
    use blockgibbs::models::samples::Samples;

    let g = Gaussian::new(3, CovarianceType::Full).unwrap();
    let weights = [0.2, 0.5, 0.3];
    let components: Vec<Vec<f64>> = (0..3)
        .map(|c| {
            let mean = [c as f64, -(c as f64), 0.5];
            let cov = blockgibbs::models::linalg::Mat::from_fn(3, 3, |i, j| {
                if i == j { 1.0 + 0.2 * c as f64 } else { 0.3 }
            });
            g.natural_from_mean_covariance(&mean, cov.as_ref()).unwrap()
        })
        .collect();
    let mixture = Harmonium::from_components(g, &weights, &components).unwrap();
    let data = Samples::new((0..30 * 4).map(|i| ((i * 5 + 1) % 2) as f64).collect(), 4).unwrap();
    let bc = Harmonium::initialize(
        Bernoulli::new(4).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        3,
    )
    .unwrap();
    let hmog_data =
        Samples::new((0..50 * 4).map(|i| ((i * 13 + 5) % 11) as f64).collect(), 4).unwrap();
    let hmog = Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        2,
        3,
        &hmog_data,
        1,
    )
    .unwrap();
    let mut runs = Vec::new();
    for choice in BOTH {
        let options = SamplingOptions {
            chains: 20,
            seed: 9,
            threads: 2,
            backend: choice,
            ..Default::default()
        };
        let mut chains = HarmoniumSampler::new(&mixture, Order::ObservableFirst, &options).unwrap();
        assert_eq!(
            chains.sampler().backend_name(),
            format!("{choice:?}").to_lowercase()
        );
        chains.sweep(25).unwrap();
        let mut out = chains.observable_states().unwrap();
        out.extend(chains.latent_states().unwrap());
        out.extend(bc.contrastive_divergence(&data, 3, &options).unwrap());
        let mut h = HmogSampler::new(&hmog, &options).unwrap();
        h.sampler_mut().sweep(25).unwrap();
        out.extend(
            (0..20)
                .flat_map(|c| h.sampler_mut().chain_state(c).unwrap())
                .map(f64::from),
        );
        runs.push(out);
    }
    assert_eq!(bits(&runs[0]), bits(&runs[1]));
}
