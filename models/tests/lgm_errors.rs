//! Every invalid input to the linear Gaussian models returns a typed error naming the field,
//! index or row at fault — never a panic and never NaN.

use blockgibbs_models::lgm::{
    FactorAnalysis, FitOptions, Init, LgmError, LgmMeanStatistics, LgmNaturalParameters,
    LinearGaussianModel, NoiseType, Ppca, SampleMoments,
};
use blockgibbs_models::linalg::LinalgError;
use blockgibbs_models::samples::{DataError, Samples};

mod lgm_support;
use lgm_support::random_model;

fn fa(mean: Vec<f64>, components: Vec<f64>, k: usize, noise: Vec<f64>) -> LgmError {
    FactorAnalysis::new(mean, components, k, noise).unwrap_err()
}

fn data(rows: usize, cols: usize) -> Samples {
    Samples::new(
        (0..rows * cols)
            .map(|i| ((i * 37) % 11) as f64 - 0.3 * (i % 7) as f64)
            .collect(),
        cols,
    )
    .unwrap()
}

#[test]
fn construction_errors_name_the_field() {
    let ok = || (vec![0.0; 3], vec![1.0, 0.5, -0.5], 1, vec![0.1, 0.2, 0.3]);
    let (m, c, k, n) = ok();
    assert!(FactorAnalysis::new(m, c, k, n).is_ok());
    // Mismatched dimensions.
    let (m, _, k, n) = ok();
    assert_eq!(
        fa(m, vec![1.0; 4], k, n),
        LgmError::Shape {
            field: "components",
            expected: 3,
            found: 4
        }
    );
    let (m, c, k, _) = ok();
    assert_eq!(
        fa(m, c, k, vec![0.1; 2]),
        LgmError::Shape {
            field: "noise_variance",
            expected: 3,
            found: 2
        }
    );
    // Non-finite values.
    let (_, c, k, n) = ok();
    assert!(matches!(
        fa(vec![0.0, f64::NAN, 0.0], c, k, n),
        LgmError::NonFinite {
            field: "mean",
            index: 1,
            ..
        }
    ));
    let (m, _, k, n) = ok();
    assert!(matches!(
        fa(m, vec![1.0, f64::INFINITY, 0.0], k, n),
        LgmError::NonFinite {
            field: "components",
            index: 1,
            ..
        }
    ));
    let (m, c, k, _) = ok();
    assert!(matches!(
        fa(m, c, k, vec![0.1, 0.2, f64::NAN]),
        LgmError::NonFinite {
            field: "noise_variance",
            index: 2,
            ..
        }
    ));
    // Non-positive noise.
    for bad in [0.0, -1.0, -0.0] {
        let (m, c, k, _) = ok();
        assert_eq!(
            fa(m, c, k, vec![0.1, bad, 0.3]),
            LgmError::NonPositiveNoise {
                index: 1,
                value: bad
            }
        );
        assert!(matches!(
            Ppca::new(vec![0.0; 3], vec![1.0; 3], 1, bad),
            Err(LgmError::NonPositiveNoise { index: 0, .. })
        ));
    }
    // Latent dimension 0 or ≥ d.
    assert_eq!(
        fa(vec![0.0; 3], vec![], 0, vec![1.0; 3]),
        LgmError::LatentDim {
            latent_dim: 0,
            observable_dim: 3
        }
    );
    assert_eq!(
        fa(vec![0.0; 3], vec![1.0; 9], 3, vec![1.0; 3]),
        LgmError::LatentDim {
            latent_dim: 3,
            observable_dim: 3
        }
    );
    assert!(matches!(
        LinearGaussianModel::new(NoiseType::Diagonal, vec![], vec![], 1, vec![]),
        Err(LgmError::LatentDim {
            latent_dim: 1,
            observable_dim: 0
        })
    ));
    // Isotropic noise must be one variance.
    assert!(matches!(
        LinearGaussianModel::new(
            NoiseType::Isotropic,
            vec![0.0; 3],
            vec![1.0; 3],
            1,
            vec![0.5, 0.5, 0.6]
        ),
        Err(LgmError::NotIsotropic { index: 2, .. })
    ));
    let diag = random_model(1, 4, 1, NoiseType::Diagonal);
    assert!(matches!(
        Ppca::from_model(&diag),
        Err(LgmError::NotIsotropic { .. })
    ));
}

#[test]
fn prior_errors() {
    let model = random_model(2, 4, 2, NoiseType::Diagonal);
    let not_pd = model
        .clone()
        .with_prior(vec![0.0; 2], vec![1.0, 2.0, 2.0, 1.0]);
    assert!(matches!(
        not_pd,
        Err(LgmError::Linalg(LinalgError::NotPositiveDefinite {
            pivot: 1,
            ..
        }))
    ));
    assert_eq!(
        model
            .clone()
            .with_prior(vec![0.0; 3], vec![1.0, 0.0, 0.0, 1.0])
            .unwrap_err(),
        LgmError::Shape {
            field: "prior_mean",
            expected: 2,
            found: 3
        }
    );
    assert!(matches!(
        model.with_prior(vec![0.0; 2], vec![1.0, 0.0, f64::NAN, 1.0]),
        Err(LgmError::NonFinite {
            field: "prior_covariance",
            index: 2,
            ..
        })
    ));
}

#[test]
fn data_errors() {
    // NaN data never becomes `Samples`; the error names row and column.
    assert!(matches!(
        Samples::new(vec![1.0, 2.0, 3.0, f64::NAN], 2),
        Err(DataError::NonFinite { row: 1, col: 1, .. })
    ));
    let model = random_model(3, 4, 2, NoiseType::Isotropic);
    let wrong = data(5, 3);
    let width = LgmError::Data(DataError::WrongWidth {
        expected: 4,
        found: 3,
    });
    assert_eq!(model.score_samples(&wrong).unwrap_err(), width);
    assert_eq!(model.transform(&wrong).unwrap_err(), width);
    assert_eq!(model.log_observable_density(&[1.0; 3]).unwrap_err(), width);
    assert!(matches!(
        model.log_observable_density(&[]),
        Err(LgmError::Data(DataError::Empty { .. }))
    ));
    assert_eq!(
        model
            .average_log_likelihood(&SampleMoments::new(&wrong))
            .unwrap_err(),
        width
    );
    assert_eq!(
        model
            .expected_statistics(&SampleMoments::new(&wrong))
            .unwrap_err(),
        width
    );
    assert!(matches!(
        model.sample(0, 1),
        Err(LgmError::InvalidOption { field: "n", .. })
    ));
}

#[test]
fn fit_errors() {
    let x = data(20, 4);
    let options = FitOptions::default();
    for k in [0, 4, 5] {
        assert_eq!(
            FactorAnalysis::fit(&x, k, &options).unwrap_err(),
            LgmError::LatentDim {
                latent_dim: k,
                observable_dim: 4
            }
        );
    }
    assert_eq!(
        Ppca::fit(&data(2, 4), 2, &options).unwrap_err(),
        LgmError::TooFewSamples {
            found: 2,
            needed: 3,
            latent_dim: 2
        }
    );
    assert!(matches!(
        Ppca::closed_form(&data(1, 4), 1),
        Err(LgmError::TooFewSamples {
            found: 1,
            needed: 2,
            ..
        })
    ));
    for (bad, field) in [
        (
            FitOptions {
                tol: f64::NAN,
                ..FitOptions::default()
            },
            "tol",
        ),
        (
            FitOptions {
                tol: -1.0,
                ..FitOptions::default()
            },
            "tol",
        ),
        (
            FitOptions {
                max_iter: 0,
                ..FitOptions::default()
            },
            "max_iter",
        ),
        (
            FitOptions {
                min_noise_variance: -1e-3,
                ..FitOptions::default()
            },
            "min_noise_variance",
        ),
        (
            FitOptions {
                min_noise_variance: f64::INFINITY,
                ..FitOptions::default()
            },
            "min_noise_variance",
        ),
    ] {
        match FactorAnalysis::fit(&x, 1, &bad) {
            Err(LgmError::InvalidOption { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    // Bad initial noise for scikit-learn's start.
    let init = |noise: Vec<f64>| FitOptions {
        init: Init::Sklearn {
            noise_variance: Some(noise),
        },
        ..FitOptions::default()
    };
    assert!(matches!(
        FactorAnalysis::fit(&x, 1, &init(vec![1.0; 3])),
        Err(LgmError::Shape {
            field: "noise_variance",
            expected: 4,
            found: 3
        })
    ));
    assert!(matches!(
        FactorAnalysis::fit(&x, 1, &init(vec![1.0, -1.0, 1.0, 1.0])),
        Err(LgmError::NonPositiveNoise { index: 1, .. })
    ));
    // A given start that does not match.
    let given = |m| FitOptions {
        init: Init::Given(m),
        ..FitOptions::default()
    };
    let iso = random_model(4, 4, 1, NoiseType::Isotropic);
    assert!(matches!(
        FactorAnalysis::fit(&x, 1, &given(iso)),
        Err(LgmError::InitMismatch { .. })
    ));
    let two = random_model(5, 4, 2, NoiseType::Diagonal);
    assert!(matches!(
        FactorAnalysis::fit(&x, 1, &given(two)),
        Err(LgmError::InitMismatch { .. })
    ));
    // A constant column without a noise floor: its variance vanishes.
    let mut v = x.into_vec();
    (0..20).for_each(|r| v[r * 4 + 2] = 1.0);
    let constant = Samples::new(v, 4).unwrap();
    let no_floor = FitOptions {
        min_noise_variance: 0.0,
        ..FitOptions::default()
    };
    assert!(matches!(
        FactorAnalysis::fit(&constant, 1, &no_floor),
        Err(LgmError::NonPositiveNoise { index: 2, .. })
    ));
}

#[test]
fn parameter_map_errors() {
    let model = random_model(6, 4, 2, NoiseType::Diagonal);
    let theta = model.natural_parameters().unwrap();
    // A latent precision too small for the interaction: the prior would not normalise.
    let mut bad = theta.clone();
    bad.latent_precision = vec![1e-3, 0.0, 0.0, 1e-3];
    assert!(matches!(
        LinearGaussianModel::from_natural_parameters(NoiseType::Diagonal, &bad),
        Err(LgmError::Linalg(LinalgError::NotPositiveDefinite { .. }))
    ));
    let mut bad = theta.clone();
    bad.observable_precision[3] = -2.0;
    assert_eq!(
        LinearGaussianModel::from_natural_parameters(NoiseType::Diagonal, &bad).unwrap_err(),
        LgmError::NotPositive {
            field: "observable_precision",
            index: 3,
            value: -2.0
        }
    );
    let short = LgmNaturalParameters {
        interaction: vec![0.0; 3],
        ..theta
    };
    assert!(matches!(
        LinearGaussianModel::from_natural_parameters(NoiseType::Diagonal, &short),
        Err(LgmError::Shape {
            field: "interaction",
            ..
        })
    ));
    let stats = model.mean_statistics().unwrap();
    let singular = LgmMeanStatistics {
        latent_covariance: vec![1.0, 1.0, 1.0, 1.0],
        ..stats.clone()
    };
    assert!(matches!(
        LinearGaussianModel::from_mean_statistics(NoiseType::Diagonal, &singular, 0.0),
        Err(LgmError::Linalg(LinalgError::NotPositiveDefinite { .. }))
    ));
    let nan = LgmMeanStatistics {
        observable_variance: vec![1.0, f64::NAN, 1.0, 1.0],
        ..stats.clone()
    };
    assert!(matches!(
        LinearGaussianModel::from_mean_statistics(NoiseType::Diagonal, &nan, 0.0),
        Err(LgmError::NonFinite {
            field: "observable_variance",
            index: 1,
            ..
        })
    ));
    // Residual variance below zero with no floor.
    let negative = LgmMeanStatistics {
        observable_variance: vec![1e-6; 4],
        ..stats
    };
    assert!(matches!(
        LinearGaussianModel::from_mean_statistics(NoiseType::Diagonal, &negative, 0.0),
        Err(LgmError::NonPositiveNoise { .. })
    ));
}

#[test]
fn extreme_parameters_are_errors_not_nan() {
    // Loadings of 1e200 over noise of 1e-200: Aᵀ D⁻¹ A overflows.
    let huge = LinearGaussianModel::new(
        NoiseType::Diagonal,
        vec![0.0; 3],
        vec![1e200, 1e200, 1e200],
        1,
        vec![1e-200; 3],
    )
    .unwrap();
    let x = data(4, 3);
    for result in [
        huge.score_samples(&x).map(|_| ()),
        huge.transform(&x).map(|_| ()),
        huge.posterior_covariance().map(|_| ()),
        huge.natural_parameters().map(|_| ()),
        huge.marginal_covariance().map(|_| ()),
        huge.conjugation_parameters().map(|_| ()),
        huge.mean_statistics().map(|_| ()),
        huge.clone()
            .with_prior(vec![1e200], vec![1.0])
            .unwrap()
            .marginal_mean()
            .map(|_| ()),
        huge.average_log_likelihood(&SampleMoments::new(&x))
            .map(|_| ()),
        huge.expected_statistics(&SampleMoments::new(&x))
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(LgmError::Overflow { .. } | LgmError::Linalg(_))),
            "{result:?}"
        );
    }
}
