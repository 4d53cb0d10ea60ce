//! The Gaussian mixture as a harmonium: the same densities and posteriors as the mixture's
//! own E-step for every covariance type, EM steps that agree, and engine Gibbs chains over
//! (component, point) that reproduce the mixture's weights and moments (5σ, standard errors
//! from independent chains).

mod harmonium_support;

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::harmonium::{AnalyticEm, Conjugated, HarmoniumSampler, Order};
use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions};
use blockgibbs_models::samples::Samples;
use blockgibbs_models::training::SamplingOptions;
use blockgibbs_runtime::{SampleCollector, SamplingSchedule};
use harmonium_support::{assert_within, chain_mean_se, gaussian_mixture};

fn fitted(ty: CovarianceType) -> (GaussianMixture, Samples) {
    let truth = gaussian_mixture(2, 3, CovarianceType::Full, 8);
    let (xs, _) = truth.sample(400, 2).unwrap();
    let data = Samples::new(xs, 2).unwrap();
    let options = GaussianMixtureOptions {
        covariance_type: ty,
        max_iter: 20,
        seed: 1,
        ..GaussianMixtureOptions::new(3)
    };
    (GaussianMixture::fit(&data, &options).unwrap().model, data)
}

#[test]
fn the_harmonium_has_the_mixture_densities_and_posteriors() {
    for ty in [
        CovarianceType::Full,
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        let (gm, data) = fitted(ty);
        let h = gm.to_harmonium().unwrap();
        let scores = gm.score_samples(&data).unwrap();
        let proba = gm.predict_proba(&data).unwrap();
        for (r, x) in data.iter_rows().enumerate().take(50) {
            let lp = h.log_observable_density(x).unwrap();
            assert!(
                (lp - scores[r]).abs() < 1e-10 * (1.0 + lp.abs()),
                "{ty}: {lp} vs {}",
                scores[r]
            );
            let post = h.posterior_statistics(x).unwrap();
            for k in 1..3 {
                assert!((post[k - 1] - proba[r * 3 + k]).abs() < 1e-10);
            }
        }
        for (a, b) in h.weights().unwrap().iter().zip(gm.weights()) {
            assert!((a - b).abs() < 1e-12);
        }
        // The harmonium's analytic EM step increases the same likelihood.
        let before = h.average_log_observable_density(&data).unwrap();
        let after = h
            .em_step(&data)
            .unwrap()
            .average_log_observable_density(&data)
            .unwrap();
        assert!(after >= before - 1e-9 * before.abs());
    }
}

#[test]
fn engine_chains_sample_the_mixture() {
    let (gm, _) = fitted(CovarianceType::Full);
    let h = gm.to_harmonium().unwrap();
    let options = SamplingOptions {
        chains: 64,
        seed: 5,
        threads: 2,
        ..Default::default()
    };
    let mut s = HarmoniumSampler::new(&h, Order::ObservableFirst, &options).unwrap();
    let mut nodes = s.observable_group().ids();
    nodes.extend(s.latent_group().ids());
    let mut collector = SampleCollector::new(nodes);
    s.sampler_mut()
        .run(&SamplingSchedule::new(100, 2000, 1), &mut [&mut collector])
        .unwrap();
    let w = gm.weights();
    let ex1: f64 = (0..3).map(|k| w[k] * gm.mean(k)[1]).sum();
    let exy: f64 = (0..3)
        .map(|k| w[k] * (gm.component_covariance(k)[1] + gm.mean(k)[0] * gm.mean(k)[1]))
        .sum();
    assert_within("E[x1]", chain_mean_se(&collector, |r| r[1] as f64), ex1);
    assert_within(
        "E[x0 x1]",
        chain_mean_se(&collector, |r| (r[0] * r[1]) as f64),
        exy,
    );
    assert_within(
        "P(c = 0)",
        chain_mean_se(&collector, |r| (r[2] == 0.0) as u8 as f64),
        w[0],
    );
}
