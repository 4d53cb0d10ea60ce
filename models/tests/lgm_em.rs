//! EM for factor analysis and PPCA: monotone likelihood (checked by an independent dense
//! computation), the E-step against per-row posteriors, the PPCA fixed point against the
//! closed-form Tipping–Bishop solution, the FA stationarity conditions, and recovery of a
//! planted low-dimensional structure within sampling error.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]

use std::ops::ControlFlow;

use blockgibbs_models::lgm::{
    FactorAnalysis, FitOptions, Init, LinearGaussianModel, NoiseType, Ppca, SampleMoments,
};
use blockgibbs_models::linalg::{Cholesky, Mat};
use blockgibbs_models::samples::Samples;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod lgm_support;
use lgm_support::*;

/// Data from a planted model with a standard prior.
fn planted(
    seed: u64,
    d: usize,
    k: usize,
    noise: NoiseType,
    n: usize,
) -> (LinearGaussianModel, Samples) {
    let truth = random_model(seed, d, k, noise).whiten().unwrap();
    let x = truth.sample(n, seed + 1000).unwrap();
    (truth, x)
}

/// Skewed, heavy-ish tailed data that no linear Gaussian model fits exactly.
fn skewed(seed: u64, n: usize, d: usize) -> Samples {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = Vec::with_capacity(n * d);
    for _ in 0..n {
        let common: f64 = -rng.random::<f64>().ln();
        for i in 0..d {
            let own: f64 = rng.random::<f64>().powi(3);
            v.push(common * (i as f64 * 0.3 - 1.0) + 2.0 * own);
        }
    }
    Samples::new(v, d).unwrap()
}

#[test]
fn em_never_decreases_the_likelihood() {
    let data = [
        ("planted FA", planted(1, 8, 2, NoiseType::Diagonal, 300).1),
        (
            "planted PPCA",
            planted(2, 8, 2, NoiseType::Isotropic, 300).1,
        ),
        ("skewed", skewed(3, 250, 7)),
    ];
    for (name, x) in &data {
        for noise in [NoiseType::Diagonal, NoiseType::Isotropic] {
            for k in [1, 3] {
                for init in [
                    Init::Random,
                    Init::Sklearn {
                        noise_variance: None,
                    },
                    Init::Principal,
                ] {
                    let options = FitOptions {
                        tol: 0.0,
                        max_iter: 60,
                        seed: 5,
                        init: init.clone(),
                        ..FitOptions::default()
                    };
                    let mut checked = 0;
                    let mut record =
                        |p: &blockgibbs_models::lgm::EmProgress, m: &LinearGaussianModel| {
                            // An independent dense evaluation of every fifth model.
                            if p.iteration % 5 == 1 {
                                let dense = dense_average_log_likelihood(m, x);
                                assert!(
                                    (dense - p.log_likelihood).abs() < 1e-10 * dense.abs(),
                                    "{dense} vs {}",
                                    p.log_likelihood
                                );
                                checked += 1;
                            }
                            ControlFlow::Continue(())
                        };
                    let (fit, report) =
                        LinearGaussianModel::fit_with_progress(x, k, noise, &options, &mut record)
                            .unwrap();
                    assert_eq!(checked, 12);
                    assert_eq!(report.history.len(), 61);
                    for w in report.history.windows(2) {
                        assert!(
                            w[1] >= w[0] - 1e-9 * w[0].abs(),
                            "{name} {noise:?} k={k} {init:?}: {} → {}",
                            w[0],
                            w[1]
                        );
                    }
                    let dense = dense_average_log_likelihood(&fit, x);
                    assert!((dense - report.log_likelihood).abs() < 1e-10 * dense.abs());
                }
            }
        }
    }
}

#[test]
fn em_step_from_a_general_prior_never_decreases_the_likelihood() {
    for noise in [NoiseType::Diagonal, NoiseType::Isotropic] {
        let x = skewed(7, 200, 6);
        let moments = SampleMoments::new(&x);
        let mut model = random_model(8, 6, 2, noise);
        assert!(!model.has_standard_prior());
        let mut ll = dense_average_log_likelihood(&model, &x);
        for _ in 0..10 {
            model = model.em_step(&moments, 0.0).unwrap();
            let next = dense_average_log_likelihood(&model, &x);
            assert!(next >= ll - 1e-9 * ll.abs(), "{ll} → {next}");
            ll = next;
        }
    }
}

#[test]
fn e_step_averages_the_per_row_posteriors() {
    let x = skewed(9, 150, 5);
    let model = random_model(10, 5, 2, NoiseType::Diagonal);
    let k = 2;
    let stats = model.expected_statistics(&SampleMoments::new(&x)).unwrap();
    let z = model.transform(&x).unwrap();
    let post = model.posterior_covariance().unwrap();
    let n = x.rows() as f64;
    let (xbar, _) = sample_moments(&x);
    let zbar: Vec<f64> = (0..k)
        .map(|j| (0..x.rows()).map(|r| z[r * k + j]).sum::<f64>() / n)
        .collect();
    for j in 0..k {
        assert!((stats.latent_mean[j] - zbar[j]).abs() < 1e-11);
        for l in 0..k {
            let second = (0..x.rows())
                .map(|r| z[r * k + j] * z[r * k + l])
                .sum::<f64>()
                / n;
            let want = post[j * k + l] + second - zbar[j] * zbar[l];
            assert!((stats.latent_covariance[j * k + l] - want).abs() < 1e-10);
        }
    }
    for i in 0..5 {
        for j in 0..k {
            let second = x
                .iter_rows()
                .enumerate()
                .map(|(r, row)| row[i] * z[r * k + j])
                .sum::<f64>()
                / n;
            let want = second - xbar[i] * zbar[j];
            assert!((stats.cross_covariance[i * k + j] - want).abs() < 1e-10);
        }
    }
}

#[test]
fn ppca_em_converges_to_the_tipping_bishop_solution() {
    for (seed, d, k) in [(11u64, 6usize, 2usize), (12, 10, 3)] {
        let (_, x) = planted(seed, d, k, NoiseType::Isotropic, 400);
        let (sigma2, cov) = tipping_bishop(&x, k);
        // The closed form of the library is the same solution.
        let closed = Ppca::closed_form(&x, k).unwrap();
        assert!((closed.noise_variance() - sigma2).abs() < 1e-12 * sigma2);
        assert!(max_abs_diff(&covariance_of(closed.model()), &cov) < 1e-11);
        // EM from a random start reaches it.
        let options = FitOptions {
            tol: 1e-15,
            max_iter: 100_000,
            init: Init::Random,
            seed,
            ..FitOptions::default()
        };
        let (fit, report) = Ppca::fit(&x, k, &options).unwrap();
        assert!(report.converged, "{} iterations", report.iterations);
        assert!(
            (fit.noise_variance() - sigma2).abs() < 1e-8 * sigma2,
            "{} vs {sigma2}",
            fit.noise_variance()
        );
        let scale = (0..d).map(|i| cov[(i, i)]).fold(0.0, f64::max);
        assert!(max_abs_diff(&covariance_of(fit.model()), &cov) < 1e-7 * scale);
        // And it is a fixed point: one more step does not move it.
        let moments = SampleMoments::new(&x);
        let again = closed.model().em_step(&moments, 0.0).unwrap();
        assert!(max_abs_diff(&covariance_of(&again), &cov) < 1e-11 * scale);
        // Canonical PPCA loadings are the principal axes: AᵀA diagonal, decreasing.
        let a = Mat::from_fn(d, k, |i, j| fit.loadings()[i * k + j]);
        let g = a.transpose() * &a;
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    assert!(g[(i, j)].abs() < 1e-8 * g[(0, 0)]);
                }
            }
            assert!(i == 0 || g[(i, i)] <= g[(i - 1, i - 1)]);
        }
    }
}

#[test]
fn factor_analysis_fixed_point_satisfies_the_likelihood_equations() {
    // At a maximum with no noise floor active: Σ̂ C⁻¹ A = A and diag(C) = diag(Σ̂).
    let (_, x) = planted(21, 9, 3, NoiseType::Diagonal, 600);
    let options = FitOptions {
        tol: 1e-14,
        max_iter: 100_000,
        ..FitOptions::default()
    };
    let (fa, report) = FactorAnalysis::fit(&x, 3, &options).unwrap();
    assert!(report.converged);
    let (d, k) = (9, 3);
    let (_, sample_cov) = sample_moments(&x);
    let c = covariance_of(fa.model());
    for i in 0..d {
        assert!((c[(i, i)] - sample_cov[(i, i)]).abs() < 1e-7 * sample_cov[(i, i)]);
    }
    let a = Mat::from_fn(d, k, |i, j| fa.loadings()[i * k + j]);
    let chol = Cholesky::new(c.as_ref(), "C").unwrap();
    let lhs = &sample_cov * chol.solve(a.as_ref());
    assert!(max_abs_diff(&lhs, &a) < 1e-6, "{}", max_abs_diff(&lhs, &a));
    // The mean is the sample mean.
    let (xbar, _) = sample_moments(&x);
    for i in 0..d {
        assert!((fa.mean()[i] - xbar[i]).abs() < 1e-10);
    }
    // Canonical orientation: Aᵀ D⁻¹ A diagonal with decreasing entries.
    let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / fa.noise_variance()[i]);
    let g = a.transpose() * &scaled;
    for i in 0..k {
        for j in 0..k {
            if i != j {
                assert!(g[(i, j)].abs() < 1e-9 * g[(0, 0)]);
            }
        }
        assert!(i == 0 || g[(i, i)] <= g[(i - 1, i - 1)]);
    }
}

#[test]
fn planted_structure_is_recovered_within_sampling_error() {
    let (d, k, n) = (10, 3, 20_000);
    let (truth, x) = planted(31, d, k, NoiseType::Diagonal, n);
    let (fa, report) = FactorAnalysis::fit(&x, k, &FitOptions::default()).unwrap();
    assert!(report.converged);
    // Wilks: 2n (ℓ̂ − ℓ_true) ~ χ²_p, p = free parameters (means, loadings up to rotation,
    // noise); the fit can only be better than the truth on its own data.
    let p = (d + d * k - k * (k - 1) / 2 + d) as f64;
    let gain = n as f64 * (report.log_likelihood - truth.score(&x).unwrap());
    assert!(
        gain >= 0.0 && 2.0 * gain < p + 5.0 * (2.0 * p).sqrt(),
        "2nΔ = {}",
        2.0 * gain
    );
    // Covariance entries within 5 standard errors of a sample covariance entry.
    let want = covariance_of(&truth);
    let got = covariance_of(fa.model());
    for i in 0..d {
        for j in 0..d {
            let se = ((want[(i, i)] * want[(j, j)] + want[(i, j)].powi(2)) / n as f64).sqrt();
            assert!((got[(i, j)] - want[(i, j)]).abs() < 5.0 * se, "({i}, {j})");
        }
    }
    // Principal angles between loading subspaces: of order √(ψ / (n σ_min(A)²)).
    let sines = principal_angle_sines(truth.loadings(), fa.loadings(), d, k);
    let a = Mat::from_fn(d, k, |i, j| truth.loadings()[i * k + j]);
    let smallest = blockgibbs_models::linalg::symmetric_eigen((a.transpose() * &a).as_ref(), "g")
        .unwrap()
        .values[0];
    let psi_max = truth.noise_variance().iter().cloned().fold(0.0, f64::max);
    let bound = 5.0 * (psi_max / (n as f64 * smallest)).sqrt();
    assert!(sines.iter().all(|&s| s < bound), "{sines:?} vs {bound}");
}

#[test]
fn constant_columns_sit_at_the_noise_floor() {
    // An always-blank feature, like the digits' corner pixels: its variance goes to the
    // floor and the likelihood stays finite.
    let (_, x) = planted(41, 6, 2, NoiseType::Diagonal, 200);
    let mut v = x.into_vec();
    for r in 0..200 {
        v[r * 6 + 4] = 3.0;
    }
    let x = Samples::new(v, 6).unwrap();
    let (fa, report) = FactorAnalysis::fit(&x, 2, &FitOptions::default()).unwrap();
    assert_eq!(fa.noise_variance()[4], 1e-12);
    assert!(report.log_likelihood.is_finite());
    assert!(fa.loadings()[8..10].iter().all(|a| a.abs() < 1e-9));
    let dense = dense_average_log_likelihood(fa.model(), &x);
    assert!((dense - report.log_likelihood).abs() < 1e-8 * dense.abs());
}

#[test]
fn sklearn_start_is_the_ml_loadings_for_unit_noise() {
    let (_, x) = planted(51, 7, 2, NoiseType::Diagonal, 300);
    let options = FitOptions {
        init: Init::Sklearn {
            noise_variance: None,
        },
        max_iter: 1,
        ..FitOptions::default()
    };
    let (_, report) = FactorAnalysis::fit(&x, 2, &options).unwrap();
    // With ψ = 1: A = U_k diag(√(λ_j − 1)), so C = U_k diag(λ_j − 1) U_kᵀ + I.
    let (mean, cov) = sample_moments(&x);
    let e = blockgibbs_models::linalg::symmetric_eigen(cov.as_ref(), "cov").unwrap();
    let mut c = Mat::<f64>::identity(7, 7);
    for col in 5..7 {
        for i in 0..7 {
            for j in 0..7 {
                c[(i, j)] += (e.values[col] - 1.0) * e.vectors[(i, col)] * e.vectors[(j, col)];
            }
        }
    }
    let want = x
        .iter_rows()
        .map(|r| dense_log_density(r, &mean, &c))
        .sum::<f64>()
        / 300.0;
    assert!((report.history[0] - want).abs() < 1e-10 * want.abs());
}

#[test]
fn progress_callback_sees_every_step_and_can_stop() {
    let (_, x) = planted(61, 5, 1, NoiseType::Diagonal, 100);
    let options = FitOptions {
        tol: 0.0,
        max_iter: 10,
        init: Init::Random,
        ..FitOptions::default()
    };
    let mut seen = Vec::new();
    let (_, report) = FactorAnalysis::fit_with_progress(&x, 1, &options, &mut |p, _| {
        seen.push(p.iteration);
        if p.iteration == 4 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, [1, 2, 3, 4]);
    assert!(report.stopped && !report.converged);
    assert_eq!(report.iterations, 4);
    let (_, full) = FactorAnalysis::fit(&x, 1, &options).unwrap();
    assert_eq!(full.iterations, 10);
    assert!(!full.converged && !full.stopped);
    assert_eq!(&full.history[..5], &report.history[..]);
}

#[test]
fn sklearn_start_on_small_scale_data_reaches_the_same_maximum() {
    // Every eigenvalue of the scaled covariance is below one, so scikit-learn's first
    // loadings would all be zero — a fixed point of EM. The start keeps them small but
    // non-zero, and EM climbs to the maximum the principal start finds.
    let (_, x) = planted(71, 6, 2, NoiseType::Diagonal, 400);
    let small = Samples::new(x.as_slice().iter().map(|v| 0.01 * v).collect(), 6).unwrap();
    let fit = |init| {
        let options = FitOptions {
            tol: 1e-13,
            max_iter: 100_000,
            init,
            ..FitOptions::default()
        };
        FactorAnalysis::fit(&small, 2, &options).unwrap()
    };
    let (sk, sk_report) = fit(Init::Sklearn {
        noise_variance: None,
    });
    let (pr, pr_report) = fit(Init::Principal);
    assert!(sk_report.converged && pr_report.converged);
    let ll = pr_report.log_likelihood;
    assert!((sk_report.log_likelihood - ll).abs() < 1e-9 * ll.abs());
    let scale = 1e-4;
    assert!(max_abs_diff(&covariance_of(sk.model()), &covariance_of(pr.model())) < 1e-6 * scale);
    // The fit is the unscaled fit scaled: log-likelihood shifts by d ln 100.
    let (_, big) = FactorAnalysis::fit(
        &x,
        2,
        &FitOptions {
            tol: 1e-13,
            max_iter: 100_000,
            ..FitOptions::default()
        },
    )
    .unwrap();
    assert!((ll - (big.log_likelihood + 6.0 * 100f64.ln())).abs() < 1e-8 * ll.abs());
}
