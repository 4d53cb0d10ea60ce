//! Every invalid input of the mixture API returns its typed error, naming the field,
//! component, initialisation and iteration — never a panic and never NaN.

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::mixture::{
    GaussianMixture, GaussianMixtureOptions, InitParams, MixtureError, adjusted_rand_index,
};
use blockgibbs_models::samples::{DataError, Samples};

mod mixture_support;
use mixture_support::*;

fn new(
    ty: CovarianceType,
    w: &[f64],
    m: &[f64],
    c: &[f64],
) -> Result<GaussianMixture, MixtureError> {
    GaussianMixture::new(ty, w.to_vec(), m.to_vec(), c.to_vec())
}

#[test]
fn constructor_rejects_non_positive_definite_covariances_naming_the_component() {
    let m = [0.0, 0.0, 1.0, 1.0];
    let w = [0.5, 0.5];
    match new(
        CovarianceType::Full,
        &w,
        &m,
        &[1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0],
    ) {
        Err(MixtureError::NotPositiveDefinite {
            field: "covariances",
            component: 1,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    match new(
        CovarianceType::Full,
        &w,
        &m,
        &[1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
    ) {
        Err(MixtureError::NotPositiveDefinite {
            component: 0,
            reason,
            ..
        }) => {
            assert!(reason.contains("symmetric"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        new(CovarianceType::Diagonal, &w, &m, &[1.0, 1.0, 1.0, 0.0]),
        Err(MixtureError::NotPositiveDefinite { component: 1, .. })
    ));
    assert!(matches!(
        new(CovarianceType::Isotropic, &w, &m, &[-1.0, 1.0]),
        Err(MixtureError::NotPositiveDefinite { component: 0, .. })
    ));
    // Given as precisions.
    assert!(matches!(
        GaussianMixture::from_precisions(
            CovarianceType::Full,
            w.to_vec(),
            m.to_vec(),
            &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        ),
        Err(MixtureError::NotPositiveDefinite {
            field: "precisions",
            component: 1,
            ..
        })
    ));
}

#[test]
fn constructor_rejects_wrong_shapes_weights_and_non_finite_values() {
    let m = [0.0, 0.0, 1.0, 1.0];
    let w = [0.5, 0.5];
    let ty = CovarianceType::Diagonal;
    assert!(matches!(
        new(ty, &[], &m, &[]),
        Err(MixtureError::Shape {
            field: "weights",
            ..
        })
    ));
    assert!(matches!(
        new(ty, &w, &[0.0; 3], &[1.0; 3]),
        Err(MixtureError::Shape { field: "means", .. })
    ));
    assert!(matches!(
        new(ty, &w, &m, &[1.0; 3]),
        Err(MixtureError::Shape { field: "covariances", expected, found }) if expected == vec![2, 2] && found == vec![3]
    ));
    assert!(matches!(
        new(CovarianceType::Fixed, &w, &m, &[1.0]),
        Err(MixtureError::Shape {
            field: "covariances",
            ..
        })
    ));
    assert!(matches!(
        new(CovarianceType::Full, &w, &m, &[1.0; 4]),
        Err(MixtureError::Shape {
            field: "covariances",
            ..
        })
    ));
    assert!(matches!(
        new(ty, &[0.6, 0.6], &m, &[1.0; 4]),
        Err(MixtureError::NotProbability {
            field: "weights",
            ..
        })
    ));
    assert!(matches!(
        new(ty, &[1.5, -0.5], &m, &[1.0; 4]),
        Err(MixtureError::NotProbability { .. })
    ));
    assert!(matches!(
        new(ty, &[f64::NAN, 0.5], &m, &[1.0; 4]),
        Err(MixtureError::NonFinite {
            field: "weights",
            index: 0,
            ..
        })
    ));
    assert!(matches!(
        new(ty, &w, &[0.0, 0.0, f64::INFINITY, 1.0], &[1.0; 4]),
        Err(MixtureError::NonFinite {
            field: "means",
            index: 2,
            ..
        })
    ));
    assert!(matches!(
        new(ty, &w, &m, &[1.0, 1.0, f64::NAN, 1.0]),
        Err(MixtureError::NonFinite {
            field: "covariances",
            index: 2,
            ..
        })
    ));
}

#[test]
fn bad_data_is_a_typed_error() {
    // NaN never reaches a mixture: the data matrix names its row and column.
    assert!(matches!(
        Samples::new(vec![0.0, 1.0, f64::NAN, 3.0], 2),
        Err(DataError::NonFinite { row: 1, col: 0, value }) if value.is_nan()
    ));
    let gm = truth(CovarianceType::Full, 3.0);
    let wide = Samples::new(vec![0.0; 8], 4).unwrap();
    for result in [
        gm.score_samples(&wide).map(|_| ()),
        gm.predict(&wide).map(|_| ()),
        gm.predict_proba(&wide).map(|_| ()),
        gm.sample_probs(&wide).map(|_| ()),
        gm.bic(&wide).map(|_| ()),
    ] {
        assert_eq!(
            result,
            Err(MixtureError::Data(DataError::WrongWidth {
                expected: 3,
                found: 4
            }))
        );
    }
    assert!(matches!(
        gm.sample(0, 1),
        Err(MixtureError::InvalidArgument { field: "n", .. })
    ));
    assert!(matches!(
        gm.component_sample(0, 1),
        Err(MixtureError::InvalidArgument { .. })
    ));
    assert_eq!(adjusted_rand_index(&[0, 1], &[1]), None);
}

#[test]
fn more_components_than_samples_is_an_error() {
    let x = Samples::from_rows(&[vec![0.0, 1.0], vec![2.0, 3.0]]).unwrap();
    assert_eq!(
        GaussianMixture::fit(&x, &GaussianMixtureOptions::new(3)),
        Err(MixtureError::TooFewSamples {
            samples: 2,
            components: 3
        })
    );
}

#[test]
fn invalid_options_name_the_option() {
    let (x, _) = truth(CovarianceType::Full, 3.0).sample(50, 1).unwrap();
    let base = GaussianMixtureOptions::new(2);
    let field_of = |o: GaussianMixtureOptions| match GaussianMixture::fit(&x, &o) {
        Err(MixtureError::InvalidOption { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field_of(GaussianMixtureOptions {
            n_components: 0,
            ..base.clone()
        }),
        "n_components"
    );
    assert_eq!(
        field_of(GaussianMixtureOptions {
            tol: -1.0,
            ..base.clone()
        }),
        "tol"
    );
    assert_eq!(
        field_of(GaussianMixtureOptions {
            reg_covar: f64::NAN,
            ..base.clone()
        }),
        "reg_covar"
    );
    assert_eq!(
        field_of(GaussianMixtureOptions {
            n_init: 0,
            ..base.clone()
        }),
        "n_init"
    );
    assert_eq!(
        field_of(GaussianMixtureOptions {
            min_component_mass: -1.0,
            ..base.clone()
        }),
        "min_component_mass"
    );
    assert_eq!(
        field_of(GaussianMixtureOptions {
            covariance_type: CovarianceType::Fixed,
            precisions_init: Some(vec![1.0, 1.0]),
            ..base.clone()
        }),
        "precisions_init"
    );
    let fit = |o: GaussianMixtureOptions| GaussianMixture::fit(&x, &o);
    assert!(matches!(
        fit(GaussianMixtureOptions {
            means_init: Some(vec![0.0; 5]),
            ..base.clone()
        }),
        Err(MixtureError::Shape {
            field: "means_init",
            ..
        })
    ));
    assert!(matches!(
        fit(GaussianMixtureOptions {
            weights_init: Some(vec![0.5, 0.6]),
            ..base.clone()
        }),
        Err(MixtureError::NotProbability {
            field: "weights_init",
            ..
        })
    ));
    assert!(matches!(
        fit(GaussianMixtureOptions {
            weights_init: Some(vec![1.0]),
            ..base.clone()
        }),
        Err(MixtureError::Shape {
            field: "weights_init",
            ..
        })
    ));
    let mut bad = truth(CovarianceType::Full, 3.0).precisions()[..18].to_vec();
    bad[9 + 4] = -1.0; // component 1, entry (1, 1)
    assert!(matches!(
        fit(GaussianMixtureOptions {
            precisions_init: Some(bad),
            ..base.clone()
        }),
        Err(MixtureError::NotPositiveDefinite {
            field: "precisions_init",
            component: 1,
            ..
        })
    ));
    assert!(matches!(
        fit(GaussianMixtureOptions {
            means_init: Some(vec![0.0, 0.0, f64::NAN, 0.0, 0.0, 0.0]),
            ..base
        }),
        Err(MixtureError::NonFinite {
            field: "means_init",
            index: 2,
            ..
        })
    ));
}

#[test]
fn an_empty_component_names_the_component_and_iteration() {
    let (x, _) = truth(CovarianceType::Diagonal, 3.0).sample(400, 2).unwrap();
    // Component 1 sits a thousand standard deviations from every sample: no sample is
    // responsible for it at the first E-step.
    let o = GaussianMixtureOptions {
        covariance_type: CovarianceType::Diagonal,
        weights_init: Some(vec![0.5, 0.1, 0.4]),
        means_init: Some(vec![-3.0, 0.0, 0.0, 1e3, 1e3, 1e3, 3.0, -1.0, 2.0]),
        precisions_init: Some(vec![1.0; 9]),
        ..GaussianMixtureOptions::new(3)
    };
    match GaussianMixture::fit(&x, &o) {
        Err(MixtureError::EmptyComponent {
            component: 1,
            init: 0,
            iteration: 1,
            mass,
        }) => {
            assert!(mass < 1e-8, "{mass}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_singular_covariance_without_regularisation_names_the_component() {
    // Three-dimensional data on a plane: every full covariance estimate is singular.
    let rows: Vec<Vec<f64>> = (0..60)
        .map(|i| {
            let (a, b) = ((i as f64 * 0.37).sin() * 3.0, (i as f64 * 0.61).cos() * 2.0);
            vec![a, b, a - 2.0 * b]
        })
        .collect();
    let x = Samples::from_rows(&rows).unwrap();
    let full = |o: GaussianMixtureOptions| {
        GaussianMixture::fit(
            &x,
            &GaussianMixtureOptions {
                covariance_type: CovarianceType::Full,
                reg_covar: 0.0,
                ..o
            },
        )
    };
    // From given, regular parameters: the first M-step fails.
    match full(GaussianMixtureOptions {
        weights_init: Some(vec![1.0]),
        means_init: Some(vec![0.0; 3]),
        precisions_init: Some(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
        ..GaussianMixtureOptions::new(1)
    }) {
        Err(MixtureError::SingularCovariance {
            component: 0,
            init: 0,
            iteration: 1,
            reg_covar,
            ..
        }) => {
            assert_eq!(reg_covar, 0.0)
        }
        other => panic!("{other:?}"),
    }
    // k-means++ starts each component at one sample: singular at the initialisation.
    assert!(matches!(
        full(GaussianMixtureOptions {
            init_params: InitParams::KMeansPlusPlus,
            ..GaussianMixtureOptions::new(2)
        }),
        Err(MixtureError::SingularCovariance {
            component: 0,
            iteration: 0,
            ..
        })
    ));
    // A regularisation makes the same fit work, and nothing is NaN.
    let fit = GaussianMixture::fit(&x, &GaussianMixtureOptions::new(2)).unwrap();
    assert!(
        fit.model
            .score_samples(&x)
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    // Diagonal: a constant column has zero variance.
    let constant = Samples::from_rows(&[vec![1.0, 0.0], vec![2.0, 0.0], vec![3.0, 0.0]]).unwrap();
    assert!(matches!(
        GaussianMixture::fit(
            &constant,
            &GaussianMixtureOptions {
                covariance_type: CovarianceType::Diagonal,
                reg_covar: 0.0,
                ..GaussianMixtureOptions::new(1)
            }
        ),
        Err(MixtureError::SingularCovariance {
            component: 0,
            iteration: 0,
            ..
        })
    ));
}

#[test]
fn overflowing_magnitudes_are_reported_not_nan() {
    // A mean near 1e200: its square overflows, so every log-density is −∞ or ∞ − ∞.
    let gm =
        GaussianMixture::new(CovarianceType::Diagonal, vec![1.0], vec![1e200], vec![1.0]).unwrap();
    let x = Samples::new(vec![0.0, -1e200], 1).unwrap();
    assert_eq!(gm.score_samples(&x), Err(MixtureError::Overflow { row: 0 }));
    assert_eq!(gm.predict(&x), Err(MixtureError::Overflow { row: 0 }));
    assert!(matches!(
        GaussianMixture::fit(
            &x,
            &GaussianMixtureOptions {
                covariance_type: CovarianceType::Diagonal,
                weights_init: Some(vec![1.0]),
                means_init: Some(vec![1e200]),
                precisions_init: Some(vec![1.0]),
                ..GaussianMixtureOptions::new(1)
            }
        ),
        Err(MixtureError::Overflow { row: 0 })
    ));
}
