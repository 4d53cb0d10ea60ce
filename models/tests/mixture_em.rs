//! EM against exact answers: the log-likelihood never decreases; one EM step equals the
//! M-step written out from the formulas; the lower bound of each iteration is the
//! log-likelihood of the parameters entering it; one component gives the sample mean and
//! covariance; data drawn from a known mixture give back its parameters within sampling
//! error; restarts, seeds, thread counts, progress and `max_iter = 0` behave as documented.

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::mixture::{
    FitProgress, GaussianMixture, GaussianMixtureOptions, InitParams,
};
use blockgibbs_models::samples::Samples;

mod mixture_support;
use mixture_support::*;

fn options(ty: CovarianceType, k: usize) -> GaussianMixtureOptions {
    GaussianMixtureOptions {
        covariance_type: ty,
        ..GaussianMixtureOptions::new(k)
    }
}

/// Every parameter given: EM starts exactly at `start`.
fn starting_at(start: &GaussianMixture, base: GaussianMixtureOptions) -> GaussianMixtureOptions {
    let ty = start.covariance_type();
    GaussianMixtureOptions {
        weights_init: Some(start.weights().to_vec()),
        means_init: Some(start.means().to_vec()),
        precisions_init: (ty != CovarianceType::Fixed).then(|| start.precisions()),
        ..base
    }
}

#[test]
fn em_never_decreases_the_log_likelihood() {
    // Overlapping components and random responsibilities: many slow iterations.
    for ty in TYPES {
        let (x, _) = truth(ty, 1.5).sample(3000, 5).unwrap();
        // (k-means++ and random_from_data start from single samples: with reg_covar = 0
        // their covariances are singular, see mixture_errors.rs.)
        for init in [InitParams::Random, InitParams::KMeans] {
            let o = GaussianMixtureOptions {
                reg_covar: 0.0,
                tol: 0.0,
                max_iter: 60,
                init_params: init,
                seed: 3,
                ..options(ty, 3)
            };
            let fit = GaussianMixture::fit(&x, &o).unwrap();
            let lb = &fit.report.lower_bounds;
            assert_eq!((lb.len(), fit.report.n_iter), (60, 60), "{ty} {init:?}");
            assert!(!fit.report.converged);
            for (i, w) in lb.windows(2).enumerate() {
                assert!(
                    w[1] >= w[0] - 1e-9 * w[0].abs(),
                    "{ty} {init:?}: iteration {} lowered the log-likelihood {} → {}",
                    i + 2,
                    w[0],
                    w[1]
                );
            }
            // The final parameters are at least as good as the last lower bound.
            assert!(fit.model.score(&x).unwrap() >= lb[59] - 1e-9 * lb[59].abs());
        }
    }
}

/// One M-step from the formulas, with scikit-learn's `10 ε` and `reg_covar` placement.
fn m_step_by_hand(x: &Samples, resp: &[Vec<f64>], ty: CovarianceType, reg: f64) -> GaussianMixture {
    let d = x.cols();
    let k = resp[0].len();
    let nk: Vec<f64> = (0..k)
        .map(|c| resp.iter().map(|r| r[c]).sum::<f64>() + 10.0 * f64::EPSILON)
        .collect();
    let total: f64 = nk.iter().sum();
    let weights = nk.iter().map(|v| v / total).collect();
    let mut means = vec![0.0; k * d];
    for c in 0..k {
        for (row, r) in x.iter_rows().zip(resp) {
            for j in 0..d {
                means[c * d + j] += r[c] * row[j] / nk[c];
            }
        }
    }
    let mut covs = Vec::new();
    for c in 0..k {
        let mut s = vec![0.0; d * d];
        for (row, r) in x.iter_rows().zip(resp) {
            for a in 0..d {
                for b in 0..d {
                    s[a * d + b] +=
                        r[c] * (row[a] - means[c * d + a]) * (row[b] - means[c * d + b]) / nk[c];
                }
            }
        }
        match ty {
            CovarianceType::Full => {
                (0..d).for_each(|j| s[j * d + j] += reg);
                covs.extend(s);
            }
            CovarianceType::Diagonal => covs.extend((0..d).map(|j| s[j * d + j] + reg)),
            CovarianceType::Isotropic => {
                covs.push((0..d).map(|j| s[j * d + j] + reg).sum::<f64>() / d as f64)
            }
            CovarianceType::Fixed => {}
        }
    }
    GaussianMixture::new(ty, weights, means, covs).unwrap()
}

#[test]
fn one_em_step_equals_the_formulas() {
    for ty in TYPES {
        let (x, _) = truth(ty, 2.0).sample(500, 8).unwrap();
        // Start away from the truth.
        let start = GaussianMixture::new(
            ty,
            vec![0.5, 0.25, 0.25],
            vec![-1.0, 0.5, 0.0, 0.5, 1.0, 1.0, 1.5, 0.0, 1.0],
            match ty {
                CovarianceType::Full => [[2.0, 0.5, 0.0, 0.5, 1.0, 0.1, 0.0, 0.1, 1.5]; 3].concat(),
                CovarianceType::Diagonal => vec![2.0, 1.0, 1.5, 1.0, 1.0, 1.0, 3.0, 2.0, 1.0],
                CovarianceType::Isotropic => vec![2.0, 1.0, 3.0],
                CovarianceType::Fixed => vec![],
            },
        )
        .unwrap();
        let reg = 1e-2;
        let o = GaussianMixtureOptions {
            max_iter: 1,
            reg_covar: reg,
            ..starting_at(&start, options(ty, 3))
        };
        let fit = GaussianMixture::fit(&x, &o).unwrap();
        let proba = start.predict_proba(&x).unwrap();
        let resp: Vec<Vec<f64>> = proba.chunks(3).map(<[f64]>::to_vec).collect();
        let want = m_step_by_hand(&x, &resp, ty, reg);
        let got = &fit.model;
        for (a, b) in [
            (got.weights(), want.weights()),
            (got.means(), want.means()),
            (got.covariances(), want.covariances()),
        ] {
            assert_eq!(a.len(), b.len());
            for (u, v) in a.iter().zip(b) {
                assert!(close(*u, *v, 1e-10), "{ty}: {u} vs {v}");
            }
        }
        // The lower bound of that iteration is the log-likelihood of the start.
        assert!(close(
            fit.report.lower_bound,
            start.score(&x).unwrap(),
            1e-12
        ));
    }
}

#[test]
fn each_lower_bound_is_the_log_likelihood_entering_its_iteration() {
    for ty in TYPES {
        let (x, _) = truth(ty, 2.0).sample(400, 2).unwrap();
        let o = GaussianMixtureOptions {
            tol: 0.0,
            max_iter: 6,
            init_params: InitParams::KMeans,
            seed: 4,
            ..options(ty, 3)
        };
        let long = GaussianMixture::fit(&x, &o).unwrap();
        let start = GaussianMixture::fit(
            &x,
            &GaussianMixtureOptions {
                max_iter: 0,
                ..o.clone()
            },
        )
        .unwrap()
        .model;
        let mut model = start;
        for (i, &lb) in long.report.lower_bounds.iter().enumerate() {
            assert!(
                close(lb, model.score(&x).unwrap(), 1e-10),
                "{ty} iteration {}",
                i + 1
            );
            let step = GaussianMixtureOptions {
                max_iter: 1,
                ..starting_at(&model, o.clone())
            };
            model = GaussianMixture::fit(&x, &step).unwrap().model;
        }
    }
}

#[test]
fn one_component_gives_the_sample_mean_and_covariance() {
    let (x, _) = truth(CovarianceType::Full, 2.0).sample(777, 1).unwrap();
    let n = x.rows() as f64;
    let mean: Vec<f64> = (0..3)
        .map(|j| x.iter_rows().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = [0.0; 9];
    for r in x.iter_rows() {
        for a in 0..3 {
            for b in 0..3 {
                cov[3 * a + b] += (r[a] - mean[a]) * (r[b] - mean[b]) / n;
            }
        }
    }
    let reg = 1e-6;
    for ty in TYPES {
        let fit = GaussianMixture::fit(&x, &options(ty, 1)).unwrap();
        assert!(fit.report.converged && fit.report.n_iter <= 3, "{ty}");
        let gm = &fit.model;
        assert_eq!(gm.weights(), &[1.0]);
        (0..3).for_each(|j| assert!(close(gm.mean(0)[j], mean[j], 1e-12)));
        let want: Vec<f64> = match ty {
            CovarianceType::Full => (0..9)
                .map(|e| cov[e] + if e % 4 == 0 { reg } else { 0.0 })
                .collect(),
            CovarianceType::Diagonal => (0..3).map(|j| cov[4 * j] + reg).collect(),
            CovarianceType::Isotropic => vec![(cov[0] + cov[4] + cov[8]) / 3.0 + reg],
            CovarianceType::Fixed => vec![],
        };
        for (a, b) in gm.covariances().iter().zip(&want) {
            assert!(close(*a, *b, 1e-10), "{ty}: {a} vs {b}");
        }
        // The maximum-likelihood fit scores exactly as the formula says.
        let direct: f64 = x
            .iter_rows()
            .map(|r| {
                log_normal3(
                    r,
                    gm.mean(0),
                    &gm.component_covariance(0).try_into().unwrap(),
                )
            })
            .sum::<f64>()
            / n;
        assert!(close(gm.score(&x).unwrap(), direct, 1e-12));
    }
}

#[test]
fn a_known_mixture_is_recovered_within_sampling_error() {
    let n = 6000usize;
    for ty in TYPES {
        let truth = truth(ty, 10.0);
        let (x, _) = truth.sample(n, 21).unwrap();
        for init in [
            InitParams::KMeans,
            InitParams::KMeansPlusPlus,
            InitParams::RandomFromData,
        ] {
            let o = GaussianMixtureOptions {
                tol: 1e-10,
                max_iter: 500,
                init_params: init,
                n_init: 3,
                seed: 5,
                ..options(ty, 3)
            };
            let fit = GaussianMixture::fit(&x, &o).unwrap();
            assert!(fit.report.converged, "{ty} {init:?}");
            let gm = &fit.model;
            let map = match_components(gm, truth.means());
            let mut seen = map.clone();
            seen.sort_unstable();
            assert_eq!(
                seen,
                vec![0, 1, 2],
                "{ty} {init:?}: one fitted component per true one"
            );
            for (k, &t) in map.iter().enumerate() {
                let (w, nk) = (WEIGHTS[t], WEIGHTS[t] * n as f64);
                let se_w = (w * (1.0 - w) / n as f64).sqrt();
                assert!(
                    (gm.weights()[k] - w).abs() < 5.0 * se_w,
                    "{ty} {init:?} weight {t}"
                );
                let cov = full_covariance(ty, t);
                let fitted = gm.component_covariance(k);
                for j in 0..3 {
                    let se = (cov[4 * j] / nk).sqrt();
                    let err = (gm.mean(k)[j] - truth.mean(t)[j]).abs();
                    assert!(
                        err < 5.0 * se,
                        "{ty} {init:?} mean {t}/{j}: {err} vs se {se}"
                    );
                }
                for a in 0..3 {
                    for b in 0..3 {
                        let e = 3 * a + b;
                        let se = match ty {
                            CovarianceType::Full => {
                                ((cov[4 * a] * cov[4 * b] + cov[e].powi(2)) / nk).sqrt()
                            }
                            CovarianceType::Diagonal => cov[e] * (2.0 / nk).sqrt(),
                            // One variance from 3 coordinates.
                            CovarianceType::Isotropic => cov[e] * (2.0 / (3.0 * nk)).sqrt(),
                            CovarianceType::Fixed => 0.0,
                        };
                        let err = (fitted[e] - cov[e]).abs();
                        assert!(
                            err <= 5.0 * se + 1e-5,
                            "{ty} {init:?} cov {t} ({a},{b}): {err}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn restarts_keep_the_best_and_seeds_and_threads_do_not_matter() {
    let (x, _) = truth(CovarianceType::Diagonal, 1.5)
        .sample(800, 13)
        .unwrap();
    let o = GaussianMixtureOptions {
        init_params: InitParams::Random,
        seed: 17,
        ..options(CovarianceType::Diagonal, 4)
    };
    let single = GaussianMixture::fit(&x, &o).unwrap();
    let multi = GaussianMixture::fit(
        &x,
        &GaussianMixtureOptions {
            n_init: 6,
            ..o.clone()
        },
    )
    .unwrap();
    // The first restart draws what the single fit drew; the best can only be better.
    assert!(multi.report.lower_bound >= single.report.lower_bound);
    if multi.report.best_init == 0 {
        assert_eq!(multi.model, single.model);
    }
    assert_eq!(GaussianMixture::fit(&x, &o).unwrap(), single);
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    };
    for ty in TYPES {
        let o = GaussianMixtureOptions {
            seed: 2,
            ..options(ty, 3)
        };
        let (x, _) = truth(ty, 2.0).sample(1500, 4).unwrap();
        let one = pool(1).install(|| GaussianMixture::fit(&x, &o)).unwrap();
        let three = pool(3).install(|| GaussianMixture::fit(&x, &o)).unwrap();
        assert_eq!(one, three, "{ty}: bit-identical for any thread count");
    }
}

#[test]
fn progress_reports_every_iteration() {
    let (x, _) = truth(CovarianceType::Full, 2.0).sample(600, 6).unwrap();
    let o = GaussianMixtureOptions {
        n_init: 2,
        ..options(CovarianceType::Full, 3)
    };
    let mut seen: Vec<FitProgress> = Vec::new();
    let fit = GaussianMixture::fit_with_progress(&x, &o, |p| seen.push(*p)).unwrap();
    let of_best: Vec<f64> = seen
        .iter()
        .filter(|p| p.init == fit.report.best_init)
        .map(|p| p.lower_bound)
        .collect();
    assert_eq!(of_best, fit.report.lower_bounds);
    assert!(seen.iter().all(|p| p.n_init == 2 && p.max_iter == 100));
    for init in 0..2 {
        let its: Vec<&FitProgress> = seen.iter().filter(|p| p.init == init).collect();
        assert_eq!(its[0].change, f64::INFINITY);
        for (i, w) in its.windows(2).enumerate() {
            assert_eq!(w[1].iteration, i + 2);
            assert_eq!(w[1].change, w[1].lower_bound - w[0].lower_bound);
        }
        assert!(its.last().unwrap().change.abs() < o.tol);
    }
}

#[test]
fn zero_iterations_return_the_start_and_labels_come_from_a_final_e_step() {
    for ty in TYPES {
        let start = truth(ty, 3.0);
        let (x, _) = start.sample(300, 1).unwrap();
        let o = GaussianMixtureOptions {
            max_iter: 0,
            ..starting_at(&start, options(ty, 3))
        };
        let fit = GaussianMixture::fit(&x, &o).unwrap();
        assert_eq!(fit.report.n_iter, 0);
        assert!(!fit.report.converged && fit.report.lower_bounds.is_empty());
        assert_eq!(fit.report.lower_bound, f64::NEG_INFINITY);
        if ty == CovarianceType::Fixed {
            assert_eq!(fit.model, start);
        } else {
            let again = GaussianMixture::from_precisions(
                ty,
                start.weights().to_vec(),
                start.means().to_vec(),
                &start.precisions(),
            )
            .unwrap();
            assert_eq!(fit.model, again);
        }
        assert_eq!(fit.labels, fit.model.predict(&x).unwrap());
        let full = GaussianMixture::fit(&x, &options(ty, 3)).unwrap();
        assert_eq!(full.labels, full.model.predict(&x).unwrap());
    }
}

#[test]
fn one_hot_starts_keep_scikit_learns_unnormalised_first_weights() {
    // scikit-learn's k-means++ and random_from_data starts give each component one sample
    // and weight n_k / n = 1/n: the first lower bound is log(K/n) below the log-likelihood
    // of the normalised start. max_iter = 0 returns the normalised start.
    let (x, _) = truth(CovarianceType::Diagonal, 2.0).sample(500, 3).unwrap();
    for init in [InitParams::KMeansPlusPlus, InitParams::RandomFromData] {
        let o = GaussianMixtureOptions {
            init_params: init,
            seed: 9,
            ..options(CovarianceType::Diagonal, 3)
        };
        let start = GaussianMixture::fit(
            &x,
            &GaussianMixtureOptions {
                max_iter: 0,
                ..o.clone()
            },
        )
        .unwrap()
        .model;
        assert!(
            start
                .weights()
                .iter()
                .all(|&w| (w - 1.0 / 3.0).abs() < 1e-15)
        );
        let first = GaussianMixture::fit(&x, &o).unwrap().report.lower_bounds[0];
        let want = start.score(&x).unwrap() + (3.0f64 / 500.0).ln();
        assert!(close(first, want, 1e-10), "{init:?}: {first} vs {want}");
    }
}
