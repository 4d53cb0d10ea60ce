//! The observable marginal, posterior, whitening, natural/mean parameters and sampling of
//! linear Gaussian models against independent dense computations on the `(d + k)`-dimensional
//! joint normal.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]

use blockgibbs_models::lgm::{FactorAnalysis, LinearGaussianModel, NoiseType, Ppca, SampleMoments};
use blockgibbs_models::linalg::{Cholesky, Mat};
use blockgibbs_models::samples::Samples;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod lgm_support;
use lgm_support::*;

const NOISES: [NoiseType; 2] = [NoiseType::Diagonal, NoiseType::Isotropic];

fn random_points(seed: u64, n: usize, d: usize, scale: f64) -> Samples {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Samples::new(
        (0..n * d)
            .map(|_| rng.random_range(-scale..scale))
            .collect(),
        d,
    )
    .unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn log_density_is_the_marginal_of_the_joint_normal() {
    for (seed, d, k) in [(1u64, 2usize, 1usize), (2, 5, 2), (3, 9, 4), (4, 12, 11)] {
        for noise in NOISES {
            let model = random_model(seed, d, k, noise);
            let (mean, cov) = dense_marginal(&model);
            let x = random_points(seed + 100, 40, d, 4.0);
            let ours = model.score_samples(&x).unwrap();
            for (r, row) in x.iter_rows().enumerate() {
                let want = dense_log_density(row, &mean, &cov);
                assert!(
                    rel(ours[r], want) < 1e-11,
                    "{noise:?} d={d} k={k}: {} vs {want}",
                    ours[r]
                );
                let single = model.log_observable_density(row).unwrap();
                assert!(rel(single, want) < 1e-11);
            }
            // The moment form of the average equals the per-row average.
            let avg = model
                .average_log_likelihood(&SampleMoments::new(&x))
                .unwrap();
            let want = ours.iter().sum::<f64>() / ours.len() as f64;
            assert!(rel(avg, want) < 1e-11, "{avg} vs {want}");
            assert!(rel(model.score(&x).unwrap(), want) < 1e-13);
        }
    }
}

#[test]
fn log_density_is_the_integral_over_the_latent() {
    // k = 1: p(x) = ∫ N(z; m, s) N(x; μ + a z, D) dz by the trapezoid rule on ±14 prior
    // standard deviations (the integrand is Gaussian in z: the rule is exact to rounding).
    for noise in NOISES {
        let model = random_model(7, 3, 1, noise);
        let (m, s) = (model.prior_mean()[0], model.prior_covariance()[0]);
        let x = random_points(8, 5, 3, 3.0);
        for row in x.iter_rows() {
            let log_joint = |z: f64| {
                let mut lp = -0.5 * (LN_2PI + s.ln() + (z - m) * (z - m) / s);
                for i in 0..3 {
                    let v = model.noise_variance()[i];
                    let r = row[i] - model.mean()[i] - model.loadings()[i] * z;
                    lp -= 0.5 * (LN_2PI + v.ln() + r * r / v);
                }
                lp
            };
            let (lo, hi, n) = (m - 14.0 * s.sqrt(), m + 14.0 * s.sqrt(), 40_000);
            let h = (hi - lo) / n as f64;
            let peak = (0..=n)
                .map(|i| log_joint(lo + h * i as f64))
                .fold(f64::MIN, f64::max);
            let sum: f64 = (0..=n)
                .map(|i| {
                    let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                    w * (log_joint(lo + h * i as f64) - peak).exp()
                })
                .sum();
            let want = peak + (sum * h).ln();
            let got = model.log_observable_density(row).unwrap();
            assert!((got - want).abs() < 1e-9, "{noise:?}: {got} vs {want}");
        }
    }
}

#[test]
fn covariance_precision_and_posterior_match_gaussian_conditioning() {
    for noise in NOISES {
        let (d, k) = (6, 3);
        let model = random_model(11, d, k, noise);
        let (mean, joint) = joint_gaussian(&model);
        let cxx = block(&joint, 0..d, 0..d);
        let czx = block(&joint, d..d + k, 0..d);
        let czz = block(&joint, d..d + k, d..d + k);
        let ours = Mat::from_fn(d, d, |i, j| model.marginal_covariance().unwrap()[i * d + j]);
        assert!(max_abs_diff(&ours, &cxx) < 1e-12);
        let precision = Mat::from_fn(d, d, |i, j| model.marginal_precision().unwrap()[i * d + j]);
        let product = &precision * &cxx;
        assert!(max_abs_diff(&product, &Mat::identity(d, d)) < 1e-10);
        // p(z | x) = N(m + C_zx C_xx⁻¹ (x − ν), C_zz − C_zx C_xx⁻¹ C_xz).
        let chol = Cholesky::new(cxx.as_ref(), "C").unwrap();
        let gain = chol.solve(czx.transpose()).transpose().to_owned();
        let post_cov = &czz - &gain * czx.transpose();
        let ours = Mat::from_fn(k, k, |i, j| {
            model.posterior_covariance().unwrap()[i * k + j]
        });
        assert!(max_abs_diff(&ours, &post_cov) < 1e-12);
        let ours_precision =
            Mat::from_fn(k, k, |i, j| model.posterior_precision().unwrap()[i * k + j]);
        assert!(max_abs_diff(&(&ours_precision * &post_cov), &Mat::identity(k, k)) < 1e-10);
        let x = random_points(12, 7, d, 3.0);
        let z = model.transform(&x).unwrap();
        for (r, row) in x.iter_rows().enumerate() {
            for j in 0..k {
                let want = mean[d + j]
                    + (0..d)
                        .map(|i| gain[(j, i)] * (row[i] - mean[i]))
                        .sum::<f64>();
                assert!((z[r * k + j] - want).abs() < 1e-11);
            }
        }
    }
}

#[test]
fn whitening_leaves_the_marginal_unchanged() {
    for (seed, d, k) in [(21u64, 4usize, 1usize), (22, 8, 3), (23, 15, 6)] {
        for noise in NOISES {
            let model = random_model(seed, d, k, noise);
            assert!(!model.has_standard_prior());
            let white = model.whiten().unwrap();
            assert!(white.has_standard_prior());
            assert_eq!(white.noise_variance(), model.noise_variance());
            let x = random_points(seed, 50, d, 5.0);
            let before = model.score_samples(&x).unwrap();
            let after = white.score_samples(&x).unwrap();
            for (a, b) in before.iter().zip(&after) {
                assert!(rel(*a, *b) < 1e-9, "{a} vs {b}");
            }
            // The posterior means map by z' = L⁻¹ (z − m).
            let s = Mat::from_fn(k, k, |i, j| model.prior_covariance()[i * k + j]);
            let l = Cholesky::new(s.as_ref(), "S").unwrap();
            let z = model.transform(&x).unwrap();
            let zw = white.transform(&x).unwrap();
            let mut shifted =
                Mat::from_fn(k, x.rows(), |j, r| z[r * k + j] - model.prior_mean()[j]);
            l.solve_lower_in_place(shifted.as_mut());
            for r in 0..x.rows() {
                for j in 0..k {
                    assert!((shifted[(j, r)] - zw[r * k + j]).abs() < 1e-9);
                }
            }
            // The canonical orientation is another whitened model with the same marginal.
            let canonical = model.canonical().unwrap();
            let again = canonical.score_samples(&x).unwrap();
            for (a, b) in before.iter().zip(&again) {
                assert!(rel(*a, *b) < 1e-9);
            }
        }
    }
}

#[test]
fn natural_parameters_give_the_joint_density() {
    for noise in NOISES {
        let (d, k) = (5, 2);
        let model = random_model(31, d, k, noise);
        let theta = model.natural_parameters().unwrap();
        let psi = model.log_partition().unwrap();
        let (mean, joint) = joint_gaussian(&model);
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        for _ in 0..20 {
            let x: Vec<f64> = (0..d).map(|_| rng.random_range(-3.0..3.0)).collect();
            let z: Vec<f64> = (0..k).map(|_| rng.random_range(-3.0..3.0)).collect();
            let mut dot = 0.0;
            for i in 0..d {
                dot += theta.observable_linear[i] * x[i]
                    - 0.5 * theta.observable_precision[i] * x[i] * x[i];
                for j in 0..k {
                    dot += x[i] * theta.interaction[i * k + j] * z[j];
                }
            }
            for i in 0..k {
                dot += theta.latent_linear[i] * z[i];
                for j in 0..k {
                    dot -= 0.5 * z[i] * theta.latent_precision[i * k + j] * z[j];
                }
            }
            let xz: Vec<f64> = x.iter().chain(&z).copied().collect();
            let want = dense_log_density(&xz, &mean, &joint);
            assert!((dot - psi - want).abs() < 1e-10, "{} vs {want}", dot - psi);
        }
        // Back from natural parameters: the same model.
        let back = LinearGaussianModel::from_natural_parameters(noise, &theta).unwrap();
        for (a, b) in [
            (back.mean(), model.mean()),
            (back.loadings(), model.loadings()),
            (back.noise_variance(), model.noise_variance()),
            (back.prior_mean(), model.prior_mean()),
            (back.prior_covariance(), model.prior_covariance()),
        ] {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-10 * v.abs().max(1.0), "{u} vs {v}");
            }
        }
    }
}

#[test]
fn conjugation_identity_holds_at_random_latents() {
    // ψ_X(η, P) = Σ_i η_i² / (2 P_i) − ½ ln P_i + ½ ln 2π for a diagonal Gaussian.
    let psi_x = |eta: &[f64], p: &[f64]| -> f64 {
        eta.iter()
            .zip(p)
            .map(|(e, p)| e * e / (2.0 * p) - 0.5 * p.ln() + 0.5 * LN_2PI)
            .sum()
    };
    for noise in NOISES {
        let (d, k) = (6, 3);
        let model = random_model(41, d, k, noise);
        let theta = model.natural_parameters().unwrap();
        let rho = model.conjugation_parameters().unwrap();
        let base = psi_x(&theta.observable_linear, &theta.observable_precision);
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        for _ in 0..20 {
            let z: Vec<f64> = (0..k).map(|_| rng.random_range(-4.0..4.0)).collect();
            let eta: Vec<f64> = (0..d)
                .map(|i| {
                    theta.observable_linear[i]
                        + (0..k)
                            .map(|j| theta.interaction[i * k + j] * z[j])
                            .sum::<f64>()
                })
                .collect();
            let lhs = psi_x(&eta, &theta.observable_precision) - base;
            let mut rhs: f64 = rho.linear.iter().zip(&z).map(|(r, z)| r * z).sum();
            for i in 0..k {
                for j in 0..k {
                    rhs -= 0.5 * z[i] * rho.precision[i * k + j] * z[j];
                }
            }
            assert!(
                (lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
        // The prior is the latent natural parameters plus ρ.
        let s = Mat::from_fn(k, k, |i, j| model.prior_covariance()[i * k + j]);
        let s_inv = Cholesky::new(s.as_ref(), "S").unwrap().inverse();
        for i in 0..k {
            let prior_linear: f64 = (0..k).map(|j| s_inv[(i, j)] * model.prior_mean()[j]).sum();
            assert!((theta.latent_linear[i] + rho.linear[i] - prior_linear).abs() < 1e-10);
            for j in 0..k {
                let p = theta.latent_precision[i * k + j] + rho.precision[i * k + j];
                assert!((p - s_inv[(i, j)]).abs() < 1e-10);
            }
        }
    }
}

#[test]
fn mean_statistics_are_the_joint_moments_and_invert() {
    for noise in NOISES {
        let (d, k) = (7, 3);
        let model = random_model(51, d, k, noise);
        let stats = model.mean_statistics().unwrap();
        let (mean, joint) = joint_gaussian(&model);
        for i in 0..d {
            assert!((stats.observable_mean[i] - mean[i]).abs() < 1e-12);
            assert!((stats.observable_variance[i] - joint[(i, i)]).abs() < 1e-12);
            for j in 0..k {
                assert!((stats.cross_covariance[i * k + j] - joint[(i, d + j)]).abs() < 1e-12);
            }
        }
        for i in 0..k {
            assert!((stats.latent_mean[i] - mean[d + i]).abs() < 1e-12);
            for j in 0..k {
                assert!((stats.latent_covariance[i * k + j] - joint[(d + i, d + j)]).abs() < 1e-12);
            }
        }
        let back = LinearGaussianModel::from_mean_statistics(noise, &stats, 0.0).unwrap();
        for (a, b) in [
            (back.mean(), model.mean()),
            (back.loadings(), model.loadings()),
            (back.noise_variance(), model.noise_variance()),
        ] {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-10, "{u} vs {v}");
            }
        }
    }
}

#[test]
fn ancestral_samples_have_the_model_moments() {
    let n = 40_000;
    for noise in NOISES {
        let (d, k) = (4, 2);
        let model = random_model(61, d, k, noise);
        let (x, z) = model.sample_joint(n, 62).unwrap();
        assert_eq!((x.rows(), z.len()), (n, n * k));
        let (mean, cov) = dense_marginal(&model);
        let (sample_mean, sample_cov) = sample_moments(&x);
        for i in 0..d {
            let se = (cov[(i, i)] / n as f64).sqrt();
            assert!((sample_mean[i] - mean[i]).abs() < 5.0 * se, "mean {i}");
            for j in 0..d {
                // Var of a sample covariance entry: (C_ii C_jj + C_ij²) / n.
                let se = ((cov[(i, i)] * cov[(j, j)] + cov[(i, j)].powi(2)) / n as f64).sqrt();
                assert!(
                    (sample_cov[(i, j)] - cov[(i, j)]).abs() < 5.0 * se,
                    "cov {i},{j}"
                );
            }
        }
        let s = model.prior_covariance();
        for j in 0..k {
            let zm = (0..n).map(|r| z[r * k + j]).sum::<f64>() / n as f64;
            assert!((zm - model.prior_mean()[j]).abs() < 5.0 * (s[j * k + j] / n as f64).sqrt());
        }
        // Same seed, same draws.
        assert_eq!(
            model.sample(10, 62).unwrap().as_slice(),
            &x.as_slice()[..10 * d]
        );
    }
}

#[test]
fn front_ends_use_scikit_learn_layout() {
    // components[j, i] is factor j's loading on feature i: C = componentsᵀ components + diag ψ.
    let (d, k) = (5, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(71);
    let components: Vec<f64> = (0..k * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let psi: Vec<f64> = (0..d).map(|_| rng.random_range(0.1..1.0)).collect();
    let mean: Vec<f64> = (0..d).map(|i| i as f64).collect();
    let fa = FactorAnalysis::new(mean.clone(), components.clone(), k, psi.clone()).unwrap();
    let ppca = Ppca::new(mean, components.clone(), k, 0.4).unwrap();
    assert_eq!(fa.components(), components);
    assert_eq!((fa.n_components(), fa.n_features()), (k, d));
    let cov = fa.get_covariance().unwrap();
    let cov_ppca = ppca.get_covariance().unwrap();
    for i in 0..d {
        for j in 0..d {
            let cc: f64 = (0..k)
                .map(|f| components[f * d + i] * components[f * d + j])
                .sum();
            let want = cc + if i == j { psi[i] } else { 0.0 };
            assert!((cov[i * d + j] - want).abs() < 1e-14);
            let want = cc + if i == j { 0.4 } else { 0.0 };
            assert!((cov_ppca[i * d + j] - want).abs() < 1e-14);
        }
    }
    let precision = fa.get_precision().unwrap();
    for i in 0..d {
        let row: f64 = (0..d).map(|j| precision[i * d + j] * cov[j * d + i]).sum();
        assert!((row - 1.0).abs() < 1e-12);
    }
    // A general model becomes FA/PPCA by whitening, with the same density.
    let general = random_model(72, d, k, NoiseType::Isotropic);
    let x = random_points(73, 10, d, 3.0);
    let want = general.score_samples(&x).unwrap();
    for got in [
        FactorAnalysis::from_model(&general)
            .unwrap()
            .score_samples(&x)
            .unwrap(),
        Ppca::from_model(&general)
            .unwrap()
            .score_samples(&x)
            .unwrap(),
    ] {
        for (a, b) in got.iter().zip(&want) {
            assert!(rel(*a, *b) < 1e-10);
        }
    }
}
