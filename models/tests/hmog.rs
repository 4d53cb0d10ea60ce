//! Hierarchical mixtures of Gaussians against exact answers: log p(x) through the joint
//! normal of (x, y) per component (no conjugation parameters involved), EM's monotone
//! log-likelihood, whitening that leaves p(x) unchanged, the mean ↔ natural round trip,
//! gradients against finite differences, ancestral and engine samples against the exact
//! moments, and clustering of planted data.

mod harmonium_support;

use blockgibbs_models::expfam::{CovarianceType, ExponentialFamily, Gaussian};
use blockgibbs_models::harmonium::HarmoniumError;
use blockgibbs_models::hmog::{Hmog, HmogFitOptions, HmogMoments, HmogSampler, HmogVariant};
use blockgibbs_models::linalg::{Cholesky, Mat};
use blockgibbs_models::metrics::adjusted_rand_index;
use blockgibbs_models::samples::Samples;
use blockgibbs_models::training::SamplingOptions;
use blockgibbs_runtime::{SampleCollector, SamplingSchedule};
use harmonium_support::{assert_within, chain_mean_se, log_sum_exp};

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// ½ hᵀP⁻¹h − ½ log det P: the full Gaussian log partition.
fn gaussian_psi(p: &Mat<f64>, h: &[f64]) -> f64 {
    let c = Cholesky::new(p.as_ref(), "P").unwrap();
    let s = c.solve_vec(h);
    0.5 * h.iter().zip(&s).map(|(a, b)| a * b).sum::<f64>() - 0.5 * c.log_det()
}

/// log p(x) and p(z | x) of an HMoG computed component by component through the joint
/// normal of (x, y): independent of the conjugation machinery.
fn exact(h: &Hmog, x: &[f64]) -> (f64, Vec<f64>) {
    let (d, k, kk) = (h.observable().data_dim(), h.latent_dim(), h.components());
    let p = h.parts();
    let xfull = h.observable().full();
    let tx = h.observable().embed_natural(&p.observable_bias).unwrap();
    let px = xfull.precision(&tx).unwrap();
    let upper = h.upper_mixture().unwrap();
    let yfull = *upper.observable();
    let mut joint_terms = Vec::new();
    let mut x_terms = Vec::new();
    for z in 0..kk {
        let ty = upper.component(z).unwrap();
        let py = yfull.precision(&ty).unwrap();
        let theta_z = if z == 0 {
            0.0
        } else {
            upper.latent_bias()[z - 1]
        };
        let big = Mat::from_fn(d + k, d + k, |i, j| match (i < d, j < d) {
            (true, true) => px[(i, j)],
            (false, false) => py[(i - d, j - d)],
            (true, false) => -p.interaction[i * k + (j - d)],
            (false, true) => -p.interaction[j * k + (i - d)],
        });
        let lin: Vec<f64> = tx[..d].iter().chain(&ty[..k]).copied().collect();
        joint_terms.push(theta_z + gaussian_psi(&big, &lin));
        let shifted: Vec<f64> = (0..k)
            .map(|j| ty[j] + (0..d).map(|i| p.interaction[i * k + j] * x[i]).sum::<f64>())
            .collect();
        let quad: f64 = (0..d)
            .map(|i| (0..d).map(|j| px[(i, j)] * x[i] * x[j]).sum::<f64>())
            .sum();
        let lin_x: f64 = (0..d).map(|i| tx[i] * x[i]).sum();
        let log_h = -0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
        x_terms.push(theta_z + log_h + lin_x - 0.5 * quad + gaussian_psi(&py, &shifted));
    }
    let lse = log_sum_exp(&x_terms);
    let post = x_terms.iter().map(|t| (t - lse).exp()).collect();
    (lse - log_sum_exp(&joint_terms), post)
}

/// Data drawn from a planted analytic HMoG: components on a circle of radius `spread` in a
/// 2-D latent space, seen through random loadings with diagonal noise.
fn planted(d: usize, kk: usize, spread: f64, n: usize, seed: u64) -> (Hmog, Samples, Vec<usize>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let k = 2;
    let moments = HmogMoments {
        mean: (0..d).map(|_| rng.random_range(-1.0..1.0)).collect(),
        loadings: (0..d * k).map(|_| rng.random_range(-1.0..1.0)).collect(),
        noise: Mat::from_fn(d, d, |i, j| {
            if i == j {
                0.2 + 0.1 * (i % 3) as f64
            } else {
                0.0
            }
        }),
        weights: vec![1.0 / kk as f64; kk],
        means: (0..kk)
            .map(|c| {
                let a = std::f64::consts::TAU * c as f64 / kk as f64;
                vec![spread * a.cos(), spread * a.sin()]
            })
            .collect(),
        covariances: (0..kk)
            .map(|c| {
                Mat::from_fn(
                    k,
                    k,
                    |i, j| if i == j { 0.3 + 0.1 * c as f64 } else { 0.05 },
                )
            })
            .collect(),
    };
    let model = Hmog::from_moments(
        Gaussian::new(d, CovarianceType::Diagonal).unwrap(),
        &moments,
    )
    .unwrap();
    let draws = model.sample(n, seed + 1).unwrap();
    let labels = draws.z.iter().map(|&z| z as usize).collect();
    (model, Samples::new(draws.x, d).unwrap(), labels)
}

#[test]
fn log_density_and_assignments_equal_the_joint_normal_computation() {
    let data = Samples::new(
        (0..60 * 4)
            .map(|i| ((i * 31 + 7) % 23) as f64 / 5.0)
            .collect(),
        4,
    )
    .unwrap();
    for variant in [
        HmogVariant::Analytic,
        HmogVariant::Symmetric {
            components: CovarianceType::Diagonal,
        },
        HmogVariant::Differentiable {
            posterior: CovarianceType::Diagonal,
        },
        HmogVariant::Differentiable {
            posterior: CovarianceType::Isotropic,
        },
    ] {
        for obs in [
            CovarianceType::Diagonal,
            CovarianceType::Isotropic,
            CovarianceType::Full,
        ] {
            let h = Hmog::initialize(variant, obs, 2, 3, &data, 3).unwrap();
            for x in [vec![0.5, 1.0, -0.3, 2.0], vec![3.0, 0.0, 1.0, 1.0]] {
                let (want, post) = exact(&h, &x);
                let got = h.log_observable_density(&x).unwrap();
                assert!(
                    rel_close(got, want, 1e-10),
                    "{variant:?}/{obs}: {got} vs {want}"
                );
                let soft = h.posterior_soft_assignments(&x).unwrap();
                for (a, b) in soft.iter().zip(&post) {
                    assert!((a - b).abs() < 1e-10);
                }
            }
        }
    }
}

#[test]
fn analytic_em_is_monotone_and_whitening_keeps_p_x() {
    let (_, data, _) = planted(5, 3, 2.0, 300, 10);
    for obs in [CovarianceType::Diagonal, CovarianceType::Isotropic] {
        let mut h = Hmog::initialize(HmogVariant::Analytic, obs, 2, 3, &data, 4).unwrap();
        let mut last = h.average_log_observable_density(&data).unwrap();
        let first = last;
        for _ in 0..15 {
            h = h.em_step(&data).unwrap();
            let ll = h.average_log_observable_density(&data).unwrap();
            assert!(ll >= last - 1e-9 * last.abs(), "{obs}: {last} → {ll}");
            last = ll;
        }
        assert!(last > first + 1e-3);
        // The mean → natural map inverts the natural → mean map.
        let back = h.natural_from_mean(&h.mean_parameters().unwrap()).unwrap();
        for (a, b) in back.params().iter().zip(h.params()) {
            assert!(rel_close(*a, b, 1e-7), "{a} vs {b}");
        }
        // Whitening: the same p(x), a standard-normal latent marginal.
        let w = h.whiten().unwrap();
        for x in data.iter_rows().take(20) {
            let (a, b) = (
                h.log_observable_density(x).unwrap(),
                w.log_observable_density(x).unwrap(),
            );
            assert!(rel_close(a, b, 1e-9), "{a} vs {b}");
        }
        let mean = w.mean_parameters().unwrap();
        let y = Gaussian::new(2, CovarianceType::Full).unwrap();
        let start = w.observable().dim() + 5 * 2;
        let (m, c) = y
            .mean_covariance_from_mean(&mean[start..start + y.dim()])
            .unwrap();
        for i in 0..2 {
            assert!(m[i].abs() < 1e-9);
            for j in 0..2 {
                assert!((c[(i, j)] - (i == j) as u8 as f64).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences_and_gradient_fitting_ascends() {
    let (_, data, _) = planted(4, 3, 2.0, 80, 20);
    for variant in [
        HmogVariant::Analytic,
        HmogVariant::Symmetric {
            components: CovarianceType::Diagonal,
        },
        HmogVariant::Differentiable {
            posterior: CovarianceType::Diagonal,
        },
    ] {
        let h = Hmog::initialize(variant, CovarianceType::Diagonal, 2, 3, &data, 5).unwrap();
        let (ll, grad) = h.gradient(&data).unwrap();
        let p = h.params();
        let eps = 1e-5;
        for i in (0..p.len()).step_by(3) {
            let mut up = p.clone();
            let mut down = p.clone();
            up[i] += eps;
            down[i] -= eps;
            let f = |q: &[f64]| {
                h.with_params(q)
                    .unwrap()
                    .average_log_observable_density(&data)
                    .unwrap()
            };
            let fd = (f(&up) - f(&down)) / (2.0 * eps);
            assert!(
                (fd - grad[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                "{variant:?} coordinate {i}: finite difference {fd} vs gradient {}",
                grad[i]
            );
        }
        if variant != HmogVariant::Analytic {
            let options = HmogFitOptions {
                max_iter: 40,
                ..Default::default()
            };
            let (fitted, report) = h.fit(&data, &options, &mut |_, _| {}).unwrap();
            assert!(
                report.log_likelihood > ll + 1e-3,
                "{variant:?}: {ll} → {}",
                report.log_likelihood
            );
            assert_eq!(report.history.len(), report.iterations);
            assert!(fitted.log_partition().is_ok());
        }
    }
}

#[test]
fn samples_from_the_prior_and_the_engine_match_exact_moments() {
    let (h, _, _) = planted(3, 3, 0.8, 10, 30);
    let mean = h.mean_parameters().unwrap();
    let weights = h.prior_mixture().unwrap().weights().unwrap();
    let n = 40_000;
    let draws = h.sample(n, 8).unwrap();
    let (xs, zs) = (draws.x, draws.z);
    let col: Vec<f64> = xs.chunks_exact(3).map(|x| x[1]).collect();
    let m = col.iter().sum::<f64>() / n as f64;
    let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
    assert!(
        (m - mean[1]).abs() < 5.0 * (v / n as f64).sqrt(),
        "{m} vs {}",
        mean[1]
    );
    let f2 = zs.iter().filter(|&&z| z == 2.0).count() as f64 / n as f64;
    assert!((f2 - weights[2]).abs() < 5.0 * (weights[2] * (1.0 - weights[2]) / n as f64).sqrt());

    // The engine's three-level chain: blocks {x, z} then {y}.
    let chains = 64;
    let options = SamplingOptions {
        chains,
        seed: 2,
        threads: 2,
        ..Default::default()
    };
    let mut s = HmogSampler::new(&h, &options).unwrap();
    let [gx, gy, gz] = s.groups().clone();
    let mut nodes = vec![gx.node(1), gy.node(0), gz.node(0)];
    nodes.truncate(3);
    let mut collector = SampleCollector::new(nodes);
    let samples = 3000;
    s.sampler_mut()
        .run(
            &SamplingSchedule::new(200, samples, 1),
            &mut [&mut collector],
        )
        .unwrap();
    let ey0 = mean[h.observable().dim() + 3 * 2];
    type RowFn = Box<dyn Fn(&[f32]) -> f64>;
    let checks: [(&str, f64, RowFn); 3] = [
        ("E[x1]", mean[1], Box::new(|r| r[0] as f64)),
        ("E[y0]", ey0, Box::new(|r| r[1] as f64)),
        (
            "P(z=2)",
            weights[2],
            Box::new(|r| (r[2] == 2.0) as u8 as f64),
        ),
    ];
    for (label, want, f) in checks {
        assert_within(label, chain_mean_se(&collector, f), want);
    }
}

#[test]
fn analytic_fit_recovers_planted_clusters() {
    let (truth, data, labels) = planted(6, 3, 4.0, 600, 40);
    let start = Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        2,
        3,
        &data,
        1,
    )
    .unwrap();
    let options = HmogFitOptions {
        max_iter: 200,
        tol: 1e-8,
        ..Default::default()
    };
    let (fitted, report) = start.fit(&data, &options, &mut |_, _| {}).unwrap();
    let predicted: Vec<usize> = data
        .iter_rows()
        .map(|x| fitted.posterior_hard_assignment(x).unwrap())
        .collect();
    let ari = adjusted_rand_index(&labels, &predicted).unwrap();
    let truth_ll = truth.average_log_observable_density(&data).unwrap();
    assert!(ari > 0.9, "ARI {ari}");
    // The maximum-likelihood fit is at least as likely as the truth, up to a small slack
    // for a local optimum.
    assert!(
        report.log_likelihood > truth_ll - 0.05,
        "{} vs truth {truth_ll}",
        report.log_likelihood
    );
}

#[test]
fn invalid_inputs_are_typed_errors() {
    let data = Samples::new((0..20 * 3).map(|i| (i % 7) as f64).collect(), 3).unwrap();
    let bad =
        |r: Result<Hmog, HarmoniumError>| assert!(matches!(r, Err(HarmoniumError::Invalid { .. })));
    bad(Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        3,
        2,
        &data,
        1,
    ));
    bad(Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        0,
        2,
        &data,
        1,
    ));
    bad(Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        1,
        21,
        &data,
        1,
    ));
    let sym = Hmog::initialize(
        HmogVariant::Symmetric {
            components: CovarianceType::Diagonal,
        },
        CovarianceType::Diagonal,
        1,
        2,
        &data,
        1,
    )
    .unwrap();
    assert!(matches!(
        sym.em_step(&data),
        Err(HarmoniumError::Unsupported { .. })
    ));
    let wrong = Samples::new(vec![1.0; 8], 4).unwrap();
    assert!(sym.average_log_observable_density(&wrong).is_err());
    assert!(sym.log_observable_density(&[f64::NAN, 0.0, 0.0]).is_err());
    let options = HmogFitOptions {
        max_iter: 0,
        ..Default::default()
    };
    assert!(sym.fit(&data, &options, &mut |_, _| {}).is_err());
}

#[test]
fn batch_computations_equal_the_per_row_reference() {
    let (_, data, _) = planted(5, 3, 1.5, 40, 50);
    for variant in [
        HmogVariant::Analytic,
        HmogVariant::Differentiable {
            posterior: CovarianceType::Diagonal,
        },
    ] {
        let h = Hmog::initialize(variant, CovarianceType::Isotropic, 2, 3, &data, 2).unwrap();
        let batch = h.expectation_step(&data).unwrap();
        let mut per_row = vec![0.0; batch.len()];
        for x in data.iter_rows() {
            for (a, b) in per_row.iter_mut().zip(h.posterior_statistics(x).unwrap()) {
                *a += b / data.rows() as f64;
            }
        }
        for (a, b) in batch.iter().zip(&per_row) {
            assert!(rel_close(*a, *b, 1e-10), "{variant:?}: {a} vs {b}");
        }
        let proba = h.predict_proba(&data).unwrap();
        let labels = h.predict(&data).unwrap();
        for (r, (x, s)) in data
            .iter_rows()
            .zip(h.score_samples(&data).unwrap())
            .enumerate()
        {
            assert!(rel_close(s, h.log_observable_density(x).unwrap(), 1e-11));
            let soft = h.posterior_soft_assignments(x).unwrap();
            for (a, b) in soft.iter().zip(&proba[r * 3..(r + 1) * 3]) {
                assert!((a - b).abs() < 1e-11);
            }
            assert_eq!(labels[r], h.posterior_hard_assignment(x).unwrap());
        }
    }
}
