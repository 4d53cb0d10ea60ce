//! The mixture's densities, objective, assignments and sampling against independent
//! computations: explicit sums of products of 1-D normal densities, the priors added by hand,
//! sample moments within standard errors, and typed errors for every invalid input.

use std::f64::consts::PI;

use blockgibbs_models::dgd::{
    CovarianceType, DgdError, DirichletPrior, GaussianMixturePrior, GmmPriorConfig,
    LogVariancePrior, ResampleType, SoftballPrior,
};
use blockgibbs_models::samples::{DataError, Samples};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const K: usize = 3;
const D: usize = 2;

/// A three-component mixture in two dimensions with every covariance type.
fn mixture(covariance: CovarianceType) -> GaussianMixturePrior {
    let means = vec![0.0, 0.5, -1.0, 1.2, 1.5, -0.7];
    let log_var = match covariance {
        CovarianceType::Diagonal => vec![-0.4, 0.3, 0.1, -1.0, 0.6, 0.0],
        CovarianceType::Isotropic => vec![-0.2, 0.4, 0.1],
        _ => vec![],
    };
    let var_prior = match covariance {
        CovarianceType::Fixed => None,
        _ => Some(LogVariancePrior::new(-0.5, 0.8).unwrap()),
    };
    GaussianMixturePrior::from_parts(
        covariance,
        SoftballPrior::new(D, 1.5, 3.0).unwrap(),
        var_prior,
        DirichletPrior::new(K, 1.7).unwrap(),
        means,
        log_var,
        vec![0.2, -0.3, 0.5],
    )
    .unwrap()
}

/// Variance of dimension j of component k, read independently of the crate's expansion.
fn variance(m: &GaussianMixturePrior, k: usize, j: usize) -> f64 {
    match m.covariance_type() {
        CovarianceType::Diagonal => m.log_var()[k * D + j].exp(),
        CovarianceType::Isotropic => m.log_var()[k].exp(),
        _ => 1.0,
    }
}

fn normal_pdf(x: f64, mean: f64, var: f64) -> f64 {
    (-(x - mean).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt()
}

fn component_pdf(m: &GaussianMixturePrior, k: usize, x: &[f64]) -> f64 {
    (0..D)
        .map(|j| normal_pdf(x[j], m.means()[k * D + j], variance(m, k, j)))
        .product()
}

fn weights(m: &GaussianMixturePrior) -> Vec<f64> {
    let z: f64 = m.weight_logits().iter().map(|a| a.exp()).sum();
    m.weight_logits().iter().map(|a| a.exp() / z).collect()
}

fn data() -> Samples {
    Samples::from_rows(&[
        vec![0.1, 0.4],
        vec![-1.5, 2.0],
        vec![3.0, -3.0],
        vec![0.0, 0.0],
        vec![1.4, -0.9],
    ])
    .unwrap()
}

const TYPES: [CovarianceType; 3] = [
    CovarianceType::Diagonal,
    CovarianceType::Isotropic,
    CovarianceType::Fixed,
];

#[test]
fn log_density_is_the_explicit_mixture_sum() {
    let x = data();
    for cov in TYPES {
        let m = mixture(cov);
        let w = weights(&m);
        let got = m.log_density(&x).unwrap();
        let comp = m.sample_probs(&x).unwrap();
        let log_comp = m.log_sample_probs(&x).unwrap();
        for (i, row) in x.iter_rows().enumerate() {
            let explicit: f64 = (0..K).map(|k| w[k] * component_pdf(&m, k, row)).sum();
            assert!((got[i] - explicit.ln()).abs() < 1e-12, "{cov} row {i}");
            for k in 0..K {
                let pdf = component_pdf(&m, k, row);
                assert!((comp[i * K + k] / pdf - 1.0).abs() < 1e-12);
                assert!((log_comp[i * K + k] - pdf.ln()).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn log_prior_is_the_sum_of_the_three_priors() {
    for cov in TYPES {
        let m = mixture(cov);
        let ball = SoftballPrior::new(D, 1.5, 3.0).unwrap();
        let mut expected: f64 = m.means().chunks(D).map(|mu| ball.log_prob(mu)).sum();
        if cov != CovarianceType::Fixed {
            let g = LogVariancePrior::new(-0.5, 0.8).unwrap();
            expected += m.log_var().iter().map(|&v| g.log_prob(v)).sum::<f64>();
        }
        expected += DirichletPrior::new(K, 1.7).unwrap().log_prob(&weights(&m));
        assert!((m.log_prior() - expected).abs() < 1e-12, "{cov}");
    }
}

#[test]
fn forward_counts_the_prior_once_per_data_set() {
    let x = data();
    for cov in TYPES {
        let m = mixture(cov);
        let log_p = m.log_density(&x).unwrap();
        let forward = m.forward(&x).unwrap();
        let n = x.rows() as f64;
        for (f, l) in forward.iter().zip(&log_p) {
            assert!((f - (-l - m.log_prior() / n)).abs() < 1e-12);
        }
        // Σ_i forward_i = −log p(x_1…x_n, θ).
        let joint: f64 = log_p.iter().sum::<f64>() + m.log_prior();
        assert!((forward.iter().sum::<f64>() + joint).abs() < 1e-11);
        assert!((m.objective(&x).unwrap() + joint / n).abs() < 1e-12);
        let lp = m.log_prob(&x).unwrap();
        assert!(lp.iter().zip(&forward).all(|(a, b)| a == &-b));
        // A mini-batch of a data set of 40 carries 1/40 of the prior per sample.
        let batch = m.forward_with_total(&x, 40).unwrap();
        for (f, l) in batch.iter().zip(&log_p) {
            assert!((f - (-l - m.log_prior() / 40.0)).abs() < 1e-12);
        }
    }
}

#[test]
fn responsibilities_and_clustering_are_the_posterior() {
    let x = data();
    for cov in TYPES {
        let m = mixture(cov);
        let w = weights(&m);
        let resp = m.responsibilities(&x).unwrap();
        let labels = m.clustering(&x).unwrap();
        for (i, row) in x.iter_rows().enumerate() {
            let joint: Vec<f64> = (0..K).map(|k| w[k] * component_pdf(&m, k, row)).collect();
            let total: f64 = joint.iter().sum();
            for k in 0..K {
                assert!((resp[i * K + k] - joint[k] / total).abs() < 1e-12);
            }
            let best = (0..K)
                .max_by(|&a, &b| joint[a].total_cmp(&joint[b]))
                .unwrap();
            assert_eq!(labels[i], best);
        }
    }
}

#[test]
fn accessors_expand_the_covariances() {
    for cov in TYPES {
        let m = mixture(cov);
        let var = m.covariance();
        let sd = m.stddev();
        for k in 0..K {
            for j in 0..D {
                assert!((var[k * D + j] - variance(&m, k, j)).abs() < 1e-15);
                assert!((sd[k * D + j] - variance(&m, k, j).sqrt()).abs() < 1e-15);
            }
        }
        let w = m.mixture_probs();
        assert!(
            w.iter()
                .zip(weights(&m))
                .all(|(a, b)| (a - b).abs() < 1e-15)
        );
    }
}

#[test]
fn new_initialises_like_multidgd() {
    let mut config = GmmPriorConfig::new(6, 4);
    config.sd_mean = 0.3;
    let m = GaussianMixturePrior::new(&config, 11).unwrap();
    assert_eq!(m.covariance_type(), CovarianceType::Diagonal);
    assert!(
        m.means()
            .chunks(4)
            .all(|mu| mu.iter().map(|v| v * v).sum::<f64>() <= 4.0)
    );
    assert!(
        m.log_var()
            .iter()
            .all(|&v| (v - 2.0 * 0.3f64.ln()).abs() < 1e-15)
    );
    assert!(
        m.mixture_probs()
            .iter()
            .all(|&w| (w - 1.0 / 6.0).abs() < 1e-15)
    );
    assert_eq!(m, GaussianMixturePrior::new(&config, 11).unwrap());
    assert_ne!(m, GaussianMixturePrior::new(&config, 12).unwrap());
    // The default spread makes the log-variance prior's scale exactly 1, like multiDGD's.
    let default = GaussianMixturePrior::new(&GmmPriorConfig::new(6, 4), 0).unwrap();
    assert!((default.log_var_prior().unwrap().scale() - 1.0).abs() < 1e-12);
}

#[test]
fn samples_have_the_mixture_moments() {
    let m = mixture(CovarianceType::Diagonal);
    let w = weights(&m);
    let n = 40_000;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (z, comps) = m.sample_with_components(n, &mut rng);
    assert_eq!(z.len(), n * D);
    for (k, &wk) in w.iter().enumerate() {
        let frac = comps.iter().filter(|&&c| c == k).count() as f64 / n as f64;
        assert!((frac - wk).abs() < 5.0 * (wk * (1.0 - wk) / n as f64).sqrt());
    }
    for j in 0..D {
        let mean: f64 = (0..K).map(|k| w[k] * m.means()[k * D + j]).sum();
        let second: f64 = (0..K)
            .map(|k| w[k] * (variance(&m, k, j) + m.means()[k * D + j].powi(2)))
            .sum();
        let var = second - mean * mean;
        let sample_mean = z.chunks(D).map(|r| r[j]).sum::<f64>() / n as f64;
        assert!((sample_mean - mean).abs() < 5.0 * (var / n as f64).sqrt());
    }
    // Each draw lies with its component: per component, the sample mean is its mean.
    for k in 0..K {
        let rows: Vec<&[f64]> = z
            .chunks(D)
            .zip(&comps)
            .filter(|(_, c)| **c == k)
            .map(|(r, _)| r)
            .collect();
        for j in 0..D {
            let mean = rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64;
            let se = (variance(&m, k, j) / rows.len() as f64).sqrt();
            assert!((mean - m.means()[k * D + j]).abs() < 5.0 * se);
        }
    }
}

#[test]
fn component_samples_are_laid_out_n_by_k_by_d() {
    let m = mixture(CovarianceType::Isotropic);
    let n = 20_000;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let z = m.component_sample(n, &mut rng);
    assert_eq!(z.len(), n * K * D);
    for k in 0..K {
        for j in 0..D {
            let values: Vec<f64> = (0..n).map(|i| z[(i * K + k) * D + j]).collect();
            let mean = values.iter().sum::<f64>() / n as f64;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let (mu, s2) = (m.means()[k * D + j], variance(&m, k, j));
            assert!((mean - mu).abs() < 5.0 * (s2 / n as f64).sqrt());
            // SE of a normal sample variance: s²√(2/(n−1)).
            assert!((var - s2).abs() < 5.0 * s2 * (2.0 / (n - 1) as f64).sqrt());
        }
    }
    let means = m.sample_new_points(ResampleType::Mean, 7, &mut rng);
    assert_eq!(means, m.means());
    let points = m.sample_new_points(ResampleType::Sample, 4, &mut rng);
    assert_eq!(points.len(), 4 * K * D);
}

#[test]
fn invalid_inputs_are_typed_errors() {
    let m = mixture(CovarianceType::Diagonal);
    let wide = Samples::new(vec![0.0; 6], 3).unwrap();
    assert_eq!(
        m.log_density(&wide),
        Err(DgdError::Data(DataError::WrongWidth {
            expected: 2,
            found: 3
        }))
    );
    assert!(matches!(m.forward(&wide), Err(DgdError::Data(_))));
    assert!(matches!(m.responsibilities(&wide), Err(DgdError::Data(_))));
    assert!(matches!(m.clustering(&wide), Err(DgdError::Data(_))));
    assert!(matches!(m.sample_probs(&wide), Err(DgdError::Data(_))));
    assert!(matches!(m.gradient(&wide), Err(DgdError::Data(_))));
    assert!(matches!(
        m.forward_with_total(&data(), 0),
        Err(DgdError::InvalidCount {
            field: "n_total",
            ..
        })
    ));

    let mut config = GmmPriorConfig::new(3, 2);
    config.covariance = CovarianceType::Full;
    assert_eq!(
        GaussianMixturePrior::new(&config, 0),
        Err(DgdError::UnsupportedCovariance(CovarianceType::Full))
    );
    let bad = |f: &dyn Fn(&mut GmmPriorConfig)| {
        let mut c = GmmPriorConfig::new(3, 2);
        f(&mut c);
        match GaussianMixturePrior::new(&c, 0).unwrap_err() {
            DgdError::InvalidParameter { field, .. } | DgdError::InvalidCount { field, .. } => {
                field
            }
            e => panic!("{e:?}"),
        }
    };
    assert_eq!(bad(&|c| c.n_components = 0), "n_components");
    assert_eq!(bad(&|c| c.dim = 0), "dim");
    assert_eq!(bad(&|c| c.softball_radius = -2.0), "softball_radius");
    assert_eq!(
        bad(&|c| c.softball_hardness = f64::NAN),
        "softball_hardness"
    );
    assert_eq!(bad(&|c| c.sd_mean = 0.0), "sd_mean");
    assert_eq!(bad(&|c| c.sd_sd = -1.0), "sd_sd");
    assert_eq!(bad(&|c| c.dirichlet_alpha = 0.0), "dirichlet_alpha");
    assert_eq!(
        bad(&|c| {
            c.covariance = CovarianceType::Fixed;
            c.sd_mean = f64::INFINITY
        }),
        "sd_mean"
    );

    // Parameters of the wrong length or not finite, named.
    let mut m2 = m.clone();
    assert_eq!(
        m2.set_parameters(vec![0.0; 5], vec![0.0; 6], vec![0.0; 3]),
        Err(DgdError::Shape {
            field: "means",
            expected: 6,
            found: 5
        })
    );
    assert_eq!(
        m2.set_parameters(vec![0.0; 6], vec![0.0; 3], vec![0.0; 3]),
        Err(DgdError::Shape {
            field: "log_var",
            expected: 6,
            found: 3
        })
    );
    let mut logits = vec![0.0; 3];
    logits[2] = f64::NAN;
    assert!(matches!(
        m2.set_parameters(vec![0.0; 6], vec![0.0; 6], logits),
        Err(DgdError::NonFinite {
            field: "weight_logits",
            index: 2,
            ..
        })
    ));
    assert_eq!(m2, m, "a rejected update leaves the mixture unchanged");
    // A variance prior for fixed covariances (or none for free ones) is a shape error.
    let fixed_with_prior = GaussianMixturePrior::from_parts(
        CovarianceType::Fixed,
        SoftballPrior::new(D, 1.0, 1.0).unwrap(),
        Some(LogVariancePrior::new(0.0, 1.0).unwrap()),
        DirichletPrior::new(K, 1.0).unwrap(),
        vec![0.0; K * D],
        vec![],
        vec![0.0; K],
    );
    assert!(matches!(
        fixed_with_prior,
        Err(DgdError::Shape {
            field: "log_var_prior",
            ..
        })
    ));
}

#[test]
fn extreme_points_give_finite_or_infinite_values_never_nan() {
    let m = mixture(CovarianceType::Diagonal);
    let far = Samples::new(vec![1e150, -1e150], 2).unwrap();
    let lp = m.log_density(&far).unwrap();
    assert!(!lp[0].is_nan());
    assert_eq!(m.clustering(&far).unwrap().len(), 1);
    match m.responsibilities(&far) {
        Ok(r) => assert!(r.iter().all(|v| v.is_finite())),
        Err(e) => assert_eq!(e, DgdError::ZeroDensity { row: 0 }),
    }
}
