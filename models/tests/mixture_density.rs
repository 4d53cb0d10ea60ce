//! What a mixture says about data, against independent computations: log-densities,
//! responsibilities, labels, component densities and information criteria straight from
//! the formulas (explicit 3 × 3 inverses and determinants, explicit log-sum-exp), parameter
//! views, and the moments of exact samples within their standard errors.

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::mixture::{GaussianMixture, NewPoints};
use blockgibbs_models::samples::Samples;

mod mixture_support;
use mixture_support::*;

/// Points where the components overlap, and two far from every component (where the
/// densities underflow and only a shifted log-sum-exp gives the right answer).
fn probe_points() -> Samples {
    let mut rows = vec![vec![40.0, -35.0, 12.0], vec![-300.0, 250.0, -80.0]];
    for i in 0..40 {
        let t = i as f64;
        rows.push(vec![
            -4.0 + 0.2 * t,
            (0.37 * t).sin() * 3.0,
            (0.11 * t).cos() * 2.0,
        ]);
    }
    Samples::from_rows(&rows).unwrap()
}

#[test]
fn the_reference_inverse_is_an_inverse() {
    for cov in FULL {
        let inv = inv3(&cov);
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|l| cov[3 * i + l] * inv[3 * l + j]).sum();
                assert!((p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-13);
            }
        }
        assert!(cov[0] > 0.0 && cov[0] * cov[4] - cov[1] * cov[3] > 0.0 && det3(&cov) > 0.0);
    }
}

#[test]
fn log_densities_equal_the_direct_formula_for_every_type() {
    let x = probe_points();
    for ty in TYPES {
        let gm = truth(ty, 3.0);
        let scores = gm.score_samples(&x).unwrap();
        let proba = gm.predict_proba(&x).unwrap();
        let labels = gm.predict(&x).unwrap();
        let densities = gm.sample_probs(&x).unwrap();
        let log_densities = gm.component_log_densities(&x).unwrap();
        let mut total = 0.0;
        for (i, row) in x.iter_rows().enumerate() {
            let log_n: Vec<f64> = (0..3)
                .map(|k| log_normal3(row, gm.mean(k), &full_covariance(ty, k)))
                .collect();
            let joint: Vec<f64> = (0..3).map(|k| WEIGHTS[k].ln() + log_n[k]).collect();
            let want = log_sum_exp(&joint);
            assert!(
                close(scores[i], want, 1e-12),
                "{ty} row {i}: {} vs {want}",
                scores[i]
            );
            total += want;
            for k in 0..3 {
                let r = (joint[k] - want).exp();
                assert!(
                    (proba[3 * i + k] - r).abs() < 1e-12,
                    "{ty} row {i} comp {k}"
                );
                assert!(close(log_densities[3 * i + k], log_n[k], 1e-12));
                let dens = log_n[k].exp();
                assert!((densities[3 * i + k] - dens).abs() <= 1e-12 * dens.max(1e-300));
            }
            let best = (0..3).fold(0, |b, k| if joint[k] > joint[b] { k } else { b });
            assert_eq!(labels[i], best, "{ty} row {i}");
        }
        let mean = total / x.rows() as f64;
        assert!(close(gm.score(&x).unwrap(), mean, 1e-12));
        assert_eq!(gm.clustering(&x).unwrap(), labels);
        assert_eq!(gm.posterior_soft_assignments(&x).unwrap(), proba);
        // Far points: every density underflows, the log-likelihood stays finite.
        assert!(scores[1].is_finite() && scores[1] < -1e4);
        assert!(densities[3..6].iter().all(|&p| p == 0.0));
    }
}

#[test]
fn bic_and_aic_use_scikit_learns_parameter_counts() {
    let x = probe_points();
    let n = x.rows() as f64;
    // K = 3, d = 3: K−1 weights, K·d means, and K·d(d+1)/2, K·d, K or 0 covariance entries.
    for (ty, count) in [
        (CovarianceType::Full, 2 + 9 + 18),
        (CovarianceType::Diagonal, 2 + 9 + 9),
        (CovarianceType::Isotropic, 2 + 9 + 3),
        (CovarianceType::Fixed, 2 + 9),
    ] {
        let gm = truth(ty, 3.0);
        assert_eq!(gm.n_parameters(), count, "{ty}");
        let log_lik: f64 = x
            .iter_rows()
            .map(|row| {
                let joint: Vec<f64> = (0..3)
                    .map(|k| {
                        WEIGHTS[k].ln() + log_normal3(row, gm.mean(k), &full_covariance(ty, k))
                    })
                    .collect();
                log_sum_exp(&joint)
            })
            .sum();
        let bic = -2.0 * log_lik + count as f64 * n.ln();
        let aic = -2.0 * log_lik + 2.0 * count as f64;
        assert!(close(gm.bic(&x).unwrap(), bic, 1e-12), "{ty}");
        assert!(close(gm.aic(&x).unwrap(), aic, 1e-12), "{ty}");
    }
}

#[test]
fn parameter_views_agree_with_each_other() {
    for ty in TYPES {
        let gm = truth(ty, 3.0);
        assert_eq!(gm.mixture_probs(), &WEIGHTS);
        let cov = gm.covariance();
        let sd = gm.stddev();
        let precisions = gm.precisions();
        for k in 0..3 {
            let want = full_covariance(ty, k);
            assert_eq!(&cov[9 * k..9 * k + 9], &want, "{ty}");
            assert_eq!(gm.component_covariance(k), want.to_vec());
            for j in 0..3 {
                assert_eq!(sd[3 * k + j], want[4 * j].sqrt());
            }
            let p = gm.component_precision(k);
            let inv = inv3(&want);
            for e in 0..9 {
                assert!((p[e] - inv[e]).abs() < 1e-12, "{ty} comp {k} entry {e}");
            }
            // ½ log det Λ from the cached factor.
            let half = -0.5 * det3(&want).ln();
            assert!((gm.log_det_precision_cholesky()[k] - half).abs() < 1e-12);
            match ty {
                CovarianceType::Full => {
                    let u = &gm.precisions_cholesky()[9 * k..9 * k + 9];
                    assert!(
                        u[3] == 0.0 && u[6] == 0.0 && u[7] == 0.0,
                        "U is upper triangular"
                    );
                    assert!((0..9).all(|e| (precisions[9 * k + e] - inv[e]).abs() < 1e-12));
                }
                CovarianceType::Diagonal => {
                    (0..3).for_each(|j| assert!((precisions[3 * k + j] - inv[4 * j]).abs() < 1e-12))
                }
                CovarianceType::Isotropic => assert!((precisions[k] - inv[0]).abs() < 1e-12),
                CovarianceType::Fixed => assert!(precisions.is_empty()),
            }
        }
        // The precisions given back build the same mixture (to rounding).
        if ty != CovarianceType::Fixed {
            let again =
                GaussianMixture::from_precisions(ty, WEIGHTS.to_vec(), means(3.0), &precisions)
                    .unwrap();
            for (a, b) in again.covariances().iter().zip(gm.covariances()) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn samples_have_the_mixture_moments_within_standard_errors() {
    let n = 30_000;
    for ty in TYPES {
        let gm = truth(ty, 6.0);
        let (x, labels) = gm.sample(n, 11).unwrap();
        assert_eq!((x.rows(), x.cols(), labels.len()), (n, 3, n));
        assert!(
            labels.windows(2).all(|w| w[0] <= w[1]),
            "grouped by component"
        );
        for (k, &w) in WEIGHTS.iter().enumerate() {
            let rows: Vec<&[f64]> = x
                .iter_rows()
                .zip(&labels)
                .filter(|(_, l)| **l == k)
                .map(|(r, _)| r)
                .collect();
            let nk = rows.len() as f64;
            assert!((nk / n as f64 - w).abs() < 5.0 * (w * (1.0 - w) / n as f64).sqrt());
            let cov = full_covariance(ty, k);
            let mean: Vec<f64> = (0..3)
                .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / nk)
                .collect();
            for j in 0..3 {
                let se = (cov[4 * j] / nk).sqrt();
                assert!(
                    (mean[j] - gm.mean(k)[j]).abs() < 5.0 * se,
                    "{ty} comp {k} mean {j}"
                );
            }
            for a in 0..3 {
                for b in 0..3 {
                    let s: f64 = rows
                        .iter()
                        .map(|r| (r[a] - mean[a]) * (r[b] - mean[b]))
                        .sum::<f64>()
                        / nk;
                    let se = ((cov[4 * a] * cov[4 * b] + cov[3 * a + b].powi(2)) / nk).sqrt();
                    assert!(
                        (s - cov[3 * a + b]).abs() < 5.0 * se,
                        "{ty} comp {k} cov ({a},{b})"
                    );
                }
            }
        }
        // Same seed, same draws.
        assert_eq!(gm.sample(50, 11).unwrap(), gm.sample(50, 11).unwrap());
    }
}

#[test]
fn component_samples_and_new_points() {
    let n = 20_000;
    for ty in TYPES {
        let gm = truth(ty, 6.0);
        let draws = gm.component_sample(n, 3).unwrap();
        assert_eq!(draws.len(), n * 3 * 3);
        for k in 0..3 {
            let cov = full_covariance(ty, k);
            for j in 0..3 {
                let m = (0..n).map(|i| draws[(i * 3 + k) * 3 + j]).sum::<f64>() / n as f64;
                let se = (cov[4 * j] / n as f64).sqrt();
                assert!(
                    (m - gm.mean(k)[j]).abs() < 5.0 * se,
                    "{ty} comp {k} coord {j}"
                );
                let v = (0..n)
                    .map(|i| (draws[(i * 3 + k) * 3 + j] - m).powi(2))
                    .sum::<f64>()
                    / n as f64;
                let se_v = cov[4 * j] * (2.0 / n as f64).sqrt();
                assert!((v - cov[4 * j]).abs() < 5.0 * se_v, "{ty} comp {k} var {j}");
            }
        }
        let means_twice = gm.sample_new_points(NewPoints::Mean, 2, 0).unwrap();
        assert_eq!(means_twice, [gm.means(), gm.means()].concat());
        assert_eq!(
            gm.sample_new_points(NewPoints::Sample, 4, 9).unwrap(),
            gm.component_sample(4, 9).unwrap()
        );
    }
}
