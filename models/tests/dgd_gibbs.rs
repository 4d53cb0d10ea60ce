//! multiDGD's mixture prior on the engine: as a harmonium it has the prior's exact density,
//! and Gibbs chains over (component, latent vector) — one chain per latent vector, through
//! categorical-gated Gaussian means and precisions — reproduce the analytic joint (5σ with
//! standard errors from independent chains).

use blockgibbs_models::dgd::{CovarianceType, GaussianMixturePrior, GmmPriorConfig};
use blockgibbs_models::harmonium::{Conjugated, HarmoniumSampler, Order};
use blockgibbs_models::samples::Samples;
use blockgibbs_models::training::SamplingOptions;
use blockgibbs_runtime::{SampleCollector, SamplingSchedule};

fn prior(ty: CovarianceType, seed: u64) -> GaussianMixturePrior {
    let mut config = GmmPriorConfig::new(3, 2);
    config.covariance = ty;
    GaussianMixturePrior::new(&config, seed).unwrap()
}

#[test]
fn the_harmonium_has_the_prior_density() {
    for ty in [
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        let p = prior(ty, 4);
        let h = p.to_harmonium().unwrap();
        let x = Samples::new(vec![0.3, -0.2, 1.5, 0.7, -2.0, 0.1], 2).unwrap();
        let want = p.log_density(&x).unwrap();
        for (row, w) in x.iter_rows().zip(want) {
            let got = h.log_observable_density(row).unwrap();
            assert!(
                (got - w).abs() < 1e-10 * (1.0 + w.abs()),
                "{ty}: {got} vs {w}"
            );
        }
        let weights = h.weights().unwrap();
        for (a, b) in weights.iter().zip(p.mixture_probs()) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

#[test]
fn engine_gibbs_reproduces_the_analytic_joint() {
    let p = prior(CovarianceType::Diagonal, 7);
    let h = p.to_harmonium().unwrap();
    let (chains, samples) = (64, 2000u64);
    let options = SamplingOptions {
        chains,
        seed: 3,
        threads: 2,
        ..Default::default()
    };
    let mut s = HarmoniumSampler::new(&h, Order::ObservableFirst, &options).unwrap();
    let mut nodes = s.observable_group().ids();
    nodes.extend(s.latent_group().ids());
    let mut collector = SampleCollector::new(nodes);
    s.sampler_mut()
        .run(
            &SamplingSchedule::new(100, samples, 1),
            &mut [&mut collector],
        )
        .unwrap();
    let weights = p.mixture_probs();
    let var = p.covariance();
    let ex0: f64 = (0..3).map(|k| weights[k] * p.mean(k)[0]).sum();
    let ex1sq: f64 = (0..3)
        .map(|k| weights[k] * (var[k * 2 + 1] + p.mean(k)[1].powi(2)))
        .sum();
    type RowFn = fn(&[f32]) -> f64;
    let checks: [(&str, f64, RowFn); 3] = [
        ("E[z0]", ex0, |r| r[0] as f64),
        ("E[z1²]", ex1sq, |r| (r[1] as f64).powi(2)),
        ("P(c = 1)", weights[1], |r| (r[2] == 1.0) as u8 as f64),
    ];
    for (label, want, f) in checks {
        let per_chain: Vec<f64> = (0..chains)
            .map(|c| {
                (0..samples as usize)
                    .map(|t| f(collector.row(t, c)))
                    .sum::<f64>()
                    / samples as f64
            })
            .collect();
        let m = per_chain.iter().sum::<f64>() / chains as f64;
        let v = per_chain.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (chains - 1) as f64;
        let se = (v / chains as f64).sqrt();
        assert!((m - want).abs() < 5.0 * se, "{label}: {m} ± {se} vs {want}");
    }
}
