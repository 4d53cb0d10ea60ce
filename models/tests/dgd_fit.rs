//! Gradients of the MAP objective against central finite differences, and MAP fitting with
//! Adam: it decreases the objective, converges to a stationary point that agrees with an
//! independent EM maximum-likelihood fit up to the prior's O(1/N) pull, reports progress, is
//! deterministic, and rejects invalid options with typed errors.

use blockgibbs_models::dgd::{
    CovarianceType, DgdError, DirichletPrior, FitOptions, GaussianMixturePrior, GmmPriorConfig,
    LogVariancePrior, PriorGradient, SoftballPrior,
};
use blockgibbs_models::optim::Method;
use blockgibbs_models::samples::Samples;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn mixture(covariance: CovarianceType, alpha: f64) -> GaussianMixturePrior {
    let (k, d) = (3, 2);
    let log_var = match covariance {
        CovarianceType::Diagonal => vec![-0.4, 0.3, 0.1, -1.0, 0.6, 0.0],
        CovarianceType::Isotropic => vec![-0.2, 0.4, 0.1],
        _ => vec![],
    };
    let var_prior = (covariance != CovarianceType::Fixed)
        .then(|| LogVariancePrior::from_sd_moments(0.7, 0.4).unwrap());
    GaussianMixturePrior::from_parts(
        covariance,
        // Radius 1.2: the third mean lies outside the ball, where the softball's slope is large.
        SoftballPrior::new(d, 1.2, 3.0).unwrap(),
        var_prior,
        DirichletPrior::new(k, alpha).unwrap(),
        vec![0.0, 0.5, -1.0, 0.2, 1.5, -0.7],
        log_var,
        vec![0.2, -0.3, 0.5],
    )
    .unwrap()
}

fn data() -> Samples {
    Samples::from_rows(&[
        vec![0.1, 0.4],
        vec![-1.5, 2.0],
        vec![3.0, -3.0],
        vec![0.0, 0.0],
        vec![1.4, -0.9],
        vec![-0.8, 0.1],
    ])
    .unwrap()
}

/// Central differences of `f` over the flat parameters (means, log-variances, logits).
fn finite_differences(
    m: &GaussianMixturePrior,
    f: &dyn Fn(&GaussianMixturePrior) -> f64,
) -> Vec<f64> {
    let (nm, nv) = (m.means().len(), m.log_var().len());
    let flat: Vec<f64> = [m.means(), m.log_var(), m.weight_logits()].concat();
    let h = 1e-6;
    (0..flat.len())
        .map(|i| {
            let eval = |delta: f64| {
                let mut p = flat.clone();
                p[i] += delta;
                let mut q = m.clone();
                q.set_parameters(
                    p[..nm].to_vec(),
                    p[nm..nm + nv].to_vec(),
                    p[nm + nv..].to_vec(),
                )
                .unwrap();
                f(&q)
            };
            (eval(h) - eval(-h)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(analytic: &PriorGradient, fd: &[f64], what: &str) {
    let flat = analytic.to_flat();
    assert_eq!(flat.len(), fd.len());
    for (i, (a, b)) in flat.iter().zip(fd).enumerate() {
        assert!(
            (a - b).abs() < 1e-7 * (1.0 + b.abs()),
            "{what} [{i}]: {a} vs {b}"
        );
    }
}

#[test]
fn gradient_matches_finite_differences_for_every_covariance_type() {
    let x = data();
    for cov in [
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        for alpha in [1.0, 0.6, 2.5] {
            let m = mixture(cov, alpha);
            let fd = finite_differences(&m, &|q| q.objective(&x).unwrap());
            assert_close(&m.gradient(&x).unwrap(), &fd, &format!("{cov} α={alpha}"));
            // The mini-batch form: the prior's share is 1/n_total.
            let fd = finite_differences(&m, &|q| {
                let f = q.forward_with_total(&x, 40).unwrap();
                f.iter().sum::<f64>() / f.len() as f64
            });
            assert_close(&m.gradient_with_total(&x, 40).unwrap(), &fd, "with total");
        }
    }
}

/// Draws `n` points from a two-component diagonal mixture with known parameters.
fn two_clusters(n: usize, seed: u64) -> (Samples, [[f64; 2]; 2]) {
    let means = [[-1.5, 0.0], [1.5, 0.5]];
    let sds = [[0.3, 0.4], [0.5, 0.35]];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let k = usize::from(rng.random::<f64>() < 0.6);
        for j in 0..2 {
            let z: f64 = rng.sample(StandardNormal);
            values.push(means[k][j] + sds[k][j] * z);
        }
    }
    (Samples::new(values, 2).unwrap(), means)
}

/// Maximum likelihood by EM for a diagonal two-component mixture, written out here as an
/// independent reference: (weights, means, variances).
fn em_reference(x: &Samples, mut means: Vec<[f64; 2]>) -> (Vec<f64>, Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let mut w = vec![0.5, 0.5];
    let mut var = vec![[1.0, 1.0]; 2];
    for _ in 0..500 {
        let mut nk = [0.0; 2];
        let mut s1 = [[0.0; 2]; 2];
        let mut s2 = [[0.0; 2]; 2];
        for row in x.iter_rows() {
            let p: Vec<f64> = (0..2)
                .map(|k| {
                    w[k] * (0..2)
                        .map(|j| {
                            (-(row[j] - means[k][j]).powi(2) / (2.0 * var[k][j])).exp()
                                / (var[k][j]).sqrt()
                        })
                        .product::<f64>()
                })
                .collect();
            let total = p[0] + p[1];
            for k in 0..2 {
                let r = p[k] / total;
                nk[k] += r;
                for j in 0..2 {
                    s1[k][j] += r * row[j];
                    s2[k][j] += r * row[j] * row[j];
                }
            }
        }
        for k in 0..2 {
            w[k] = nk[k] / x.rows() as f64;
            for j in 0..2 {
                means[k][j] = s1[k][j] / nk[k];
                var[k][j] = s2[k][j] / nk[k] - means[k][j] * means[k][j];
            }
        }
    }
    (w, means, var)
}

#[test]
fn map_fit_decreases_the_objective_and_reaches_the_likelihood_optimum() {
    let n = 1000;
    let (x, true_means) = two_clusters(n, 1);
    let mut config = GmmPriorConfig::new(2, 2);
    config.softball_radius = 3.0;
    config.sd_mean = 0.5;
    config.sd_sd = 0.5;
    let mut m = GaussianMixturePrior::new(&config, 4).unwrap();
    // Gradient descent, like EM, finds local optima (one broad component covering both
    // clusters); both start from the same separated means.
    let start = [[-1.0, 0.0], [1.0, 0.0]];
    m.set_parameters(start.concat(), vec![0.0; 4], vec![0.0; 2])
        .unwrap();
    let options = FitOptions {
        learning_rate: 0.05,
        lr_decay: 0.998,
        epochs: 5000,
        batch_size: n,
        seed: 9,
        method: Method::adam(),
    };
    let report = m.fit(&x, &options, |_| {}).unwrap();
    assert!(report.final_objective() < report.initial_objective - 0.5);
    assert!((report.final_objective() - m.objective(&x).unwrap()).abs() < 1e-12);
    // A stationary point of the MAP objective …
    let g = m.gradient(&x).unwrap().to_flat();
    assert!(g.iter().all(|v| v.abs() < 1e-5), "{g:?}");
    // … which is the maximum-likelihood point moved by the prior's O(1/N) pull.
    let (w, means, var) = em_reference(&x, start.to_vec());
    for (fit, truth) in means.iter().zip(&true_means) {
        assert!((fit[0] - truth[0]).abs() < 0.1, "EM found the clusters");
    }
    let fitted_w = m.mixture_probs();
    for (k, truth) in means.iter().enumerate() {
        let kk = (0..2)
            .min_by(|&a, &b| {
                let da = (m.mean(a)[0] - truth[0]).abs();
                da.total_cmp(&(m.mean(b)[0] - truth[0]).abs())
            })
            .unwrap();
        assert!((fitted_w[kk] - w[k]).abs() < 1e-3, "weight {k}");
        for j in 0..2 {
            assert!((m.mean(kk)[j] - truth[j]).abs() < 2e-3, "mean {k},{j}");
            let v = m.covariance()[kk * 2 + j];
            assert!(
                (v.ln() - var[k][j].ln()).abs() < 0.02,
                "var {k},{j}: {v} vs {}",
                var[k][j]
            );
        }
    }
}

#[test]
fn mini_batch_fitting_decreases_the_objective_reports_progress_and_is_deterministic() {
    let (x, _) = two_clusters(600, 2);
    for cov in [
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        let mut config = GmmPriorConfig::new(3, 2);
        config.covariance = cov;
        config.softball_radius = 3.0;
        let start = GaussianMixturePrior::new(&config, 1).unwrap();
        let options = FitOptions {
            learning_rate: 0.02,
            epochs: 30,
            batch_size: 64,
            seed: 5,
            ..FitOptions::default()
        };
        let mut seen = Vec::new();
        let mut a = start.clone();
        let report = a.fit(&x, &options, |p| seen.push(p.clone())).unwrap();
        assert!(report.final_objective() < report.initial_objective, "{cov}");
        assert_eq!(report.history.len(), 30);
        assert_eq!(report.steps, 30 * 600_u64.div_ceil(64));
        assert_eq!(seen.len(), 30);
        for (i, p) in seen.iter().enumerate() {
            assert_eq!(
                (p.epoch, p.epochs, p.objective),
                (i + 1, 30, report.history[i])
            );
        }
        let mut b = start.clone();
        b.fit(&x, &options, |_| {}).unwrap();
        assert_eq!(a, b, "same seed, same result");
    }
}

#[test]
fn invalid_options_are_typed_errors_and_leave_the_mixture_unchanged() {
    let (x, _) = two_clusters(50, 3);
    let start = GaussianMixturePrior::new(&GmmPriorConfig::new(2, 2), 0).unwrap();
    let check = |options: FitOptions, expected: &str| {
        let mut m = start.clone();
        let e = m.fit(&x, &options, |_| {}).unwrap_err();
        let field = match e {
            DgdError::InvalidParameter { field, .. }
            | DgdError::InvalidCount { field, .. }
            | DgdError::Optimizer { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field, expected);
        assert_eq!(m, start);
    };
    for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        check(
            FitOptions {
                learning_rate: lr,
                ..FitOptions::default()
            },
            "learning_rate",
        );
    }
    for decay in [0.0, 1.5, f64::NAN] {
        check(
            FitOptions {
                lr_decay: decay,
                ..FitOptions::default()
            },
            "lr_decay",
        );
    }
    check(
        FitOptions {
            epochs: 0,
            ..FitOptions::default()
        },
        "epochs",
    );
    check(
        FitOptions {
            batch_size: 0,
            ..FitOptions::default()
        },
        "batch_size",
    );
    check(
        FitOptions {
            method: Method::Adam {
                beta1: 1.0,
                beta2: 0.999,
                eps: 1e-8,
            },
            ..FitOptions::default()
        },
        "method",
    );
    let mut m = start.clone();
    let wide = Samples::new(vec![0.0; 9], 3).unwrap();
    assert!(matches!(
        m.fit(&wide, &FitOptions::default(), |_| {}),
        Err(DgdError::Data(_))
    ));
}

#[test]
fn a_runaway_learning_rate_never_leaves_nan() {
    let (x, _) = two_clusters(200, 4);
    let mut m = GaussianMixturePrior::new(&GmmPriorConfig::new(2, 2), 0).unwrap();
    let options = FitOptions {
        learning_rate: 1e4,
        epochs: 50,
        batch_size: 200,
        ..FitOptions::default()
    };
    match m.fit(&x, &options, |_| {}) {
        Ok(r) => assert!(r.history.iter().all(|v| v.is_finite())),
        Err(e) => assert!(matches!(
            e,
            DgdError::Diverged { .. } | DgdError::ZeroDensity { .. }
        )),
    }
    let all = [m.means(), m.log_var(), m.weight_logits()].concat();
    assert!(all.iter().all(|v| v.is_finite()));
}
