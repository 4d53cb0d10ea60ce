//! Exponential families against exact answers: enumeration for the discrete families, the
//! closed-form normal density for the Gaussian ones, finite differences of ψ for the mean
//! map, and round trips of the mean ↔ natural maps.

mod harmonium_support;

use blockgibbs_models::expfam::{
    Bernoulli, Boltzmann, Categorical, CovarianceType, ExpFamError, ExponentialFamily, Gaussian,
    Spin, evaluate_polynomial,
};
use blockgibbs_models::linalg::{Cholesky, from_rows};
use harmonium_support::{discrete_support as support, normal_log_density};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn random_natural<F: ExponentialFamily>(f: &F, seed: u64) -> Vec<f64> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..f.dim()).map(|_| rng.random_range(-1.2..1.2)).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// The checks every family passes: ∇ψ = to_mean by central differences, to_natural inverts
/// to_mean, the polynomial statistic equals the statistic, and the sample mean of the
/// statistic is within 5 standard errors of the mean parameters.
fn generic_checks<F: ExponentialFamily>(f: &F, natural: &[f64], points: &[Vec<f64>]) {
    let mean = f.to_mean(natural).unwrap();
    let h = 1e-5;
    for i in 0..f.dim() {
        let mut up = natural.to_vec();
        let mut down = natural.to_vec();
        up[i] += h;
        down[i] -= h;
        let fd = (f.log_partition(&up).unwrap() - f.log_partition(&down).unwrap()) / (2.0 * h);
        assert!(
            close(fd, mean[i], 1e-7),
            "{}: dψ/dθ[{i}] = {fd}, to_mean = {}",
            f.name(),
            mean[i]
        );
    }
    let back = f.to_natural(&mean).unwrap();
    for (a, b) in back.iter().zip(natural) {
        assert!(close(*a, *b, 1e-8), "{}: round trip {a} vs {b}", f.name());
    }
    let terms = f.statistic_terms();
    assert_eq!(terms.len(), f.dim());
    for x in points {
        let s = f.sufficient_statistic(x).unwrap();
        for (k, poly) in terms.iter().enumerate() {
            assert!(close(evaluate_polynomial(poly, x), s[k], 1e-14));
        }
        let base_terms = evaluate_polynomial(&f.base_measure_terms(), x);
        let constant = f.log_base_measure(x) - base_terms;
        let zero = vec![0.0; f.data_dim()];
        if f.check_point(&zero).is_ok() {
            assert!(close(f.log_base_measure(&zero), constant, 1e-14));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 40_000;
    let draws = f.sample(natural, n, &mut rng).unwrap();
    let stats: Vec<Vec<f64>> = draws
        .chunks_exact(f.data_dim())
        .map(|x| f.sufficient_statistic(x).unwrap())
        .collect();
    for k in 0..f.dim() {
        let m = stats.iter().map(|s| s[k]).sum::<f64>() / n as f64;
        let v = stats.iter().map(|s| (s[k] - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (v / n as f64).sqrt();
        assert!(
            (m - mean[k]).abs() < 5.0 * se + 1e-12,
            "{}: sample mean of s[{k}] {m} vs {} (se {se})",
            f.name(),
            mean[k]
        );
    }
}

/// ψ, the means and the negative entropy of a discrete family by enumeration.
fn discrete_checks<F: ExponentialFamily>(f: &F, natural: &[f64]) {
    let points = support(f);
    let logw: Vec<f64> = points
        .iter()
        .map(|x| {
            let s = f.sufficient_statistic(x).unwrap();
            s.iter().zip(natural).map(|(a, b)| a * b).sum::<f64>() + f.log_base_measure(x)
        })
        .collect();
    let z: f64 = logw.iter().map(|w| w.exp()).sum();
    assert!(close(f.log_partition(natural).unwrap(), z.ln(), 1e-12));
    let mean = f.to_mean(natural).unwrap();
    let mut exact = vec![0.0; f.dim()];
    let mut neg_entropy = 0.0;
    for (x, w) in points.iter().zip(&logw) {
        let p = w.exp() / z;
        neg_entropy += p * p.ln();
        for (e, s) in exact.iter_mut().zip(f.sufficient_statistic(x).unwrap()) {
            *e += p * s;
        }
    }
    for (a, b) in mean.iter().zip(&exact) {
        assert!(close(*a, *b, 1e-12));
    }
    assert!(close(f.negative_entropy(&mean).unwrap(), neg_entropy, 1e-9));
    for x in &points {
        let lp = f.log_density(natural, x).unwrap();
        let s = f.sufficient_statistic(x).unwrap();
        let w: f64 = s.iter().zip(natural).map(|(a, b)| a * b).sum();
        assert!(close(lp, w - z.ln(), 1e-12));
    }
    generic_checks(f, natural, &points);
}

#[test]
fn bernoulli_spin_categorical_boltzmann_against_enumeration() {
    let b = Bernoulli::new(3).unwrap();
    discrete_checks(&b, &random_natural(&b, 1));
    let s = Spin::new(3).unwrap();
    discrete_checks(&s, &random_natural(&s, 2));
    let c = Categorical::new(4).unwrap();
    discrete_checks(&c, &random_natural(&c, 3));
    let m = Boltzmann::new(4).unwrap();
    discrete_checks(&m, &random_natural(&m, 4));
}

fn spd3() -> Vec<f64> {
    vec![1.5, 0.4, -0.3, 0.4, 1.0, 0.2, -0.3, 0.2, 0.8]
}

#[test]
fn gaussian_every_covariance_type_against_the_normal_density() {
    let mu = [0.3, -0.7, 1.1];
    let sigmas: [(CovarianceType, Vec<f64>); 4] = [
        (CovarianceType::Full, spd3()),
        (
            CovarianceType::Diagonal,
            vec![1.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 2.0],
        ),
        (
            CovarianceType::Isotropic,
            vec![0.7, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0, 0.7],
        ),
        (
            CovarianceType::Fixed,
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        ),
    ];
    let points = vec![
        vec![0.0, 0.0, 0.0],
        vec![1.0, -2.0, 0.5],
        vec![-0.3, 0.9, 2.2],
    ];
    for (ty, sigma) in sigmas {
        let g = Gaussian::new(3, ty).unwrap();
        let cov = from_rows(3, 3, &sigma, "Σ").unwrap();
        let natural = g.natural_from_mean_covariance(&mu, cov.as_ref()).unwrap();
        assert_eq!(natural.len(), g.dim());
        for x in &points {
            let want = normal_log_density(x, &mu, &sigma);
            let got = g.log_density(&natural, x).unwrap();
            assert!(close(got, want, 1e-12), "{ty}: {got} vs {want}");
        }
        let (m, s) = g.mean_covariance(&natural).unwrap();
        for i in 0..3 {
            assert!(close(m[i], mu[i], 1e-12));
            for j in 0..3 {
                assert!(close(s[(i, j)], sigma[i * 3 + j], 1e-12));
            }
        }
        // −H = E[log p] = −½ log det(2πeΣ).
        let det = Cholesky::new(cov.as_ref(), "Σ").unwrap().log_det();
        let want = -0.5 * (3.0 * (2.0 * std::f64::consts::PI).ln() + 3.0 + det);
        let mean = g.to_mean(&natural).unwrap();
        assert!(close(g.negative_entropy(&mean).unwrap(), want, 1e-12));
        generic_checks(&g, &natural, &points);
    }
}

#[test]
fn one_dimensional_gaussian_density_integrates_to_one() {
    let g = Gaussian::new(1, CovarianceType::Full).unwrap();
    let natural = [0.8, -0.6];
    let h = 1e-3;
    let total: f64 = (-20_000..20_000)
        .map(|k| (g.log_density(&natural, &[k as f64 * h]).unwrap()).exp() * h)
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

#[test]
fn errors_are_typed() {
    let b = Bernoulli::new(2).unwrap();
    assert!(matches!(
        b.to_natural(&[0.5, 1.0]),
        Err(ExpFamError::Domain { .. })
    ));
    assert!(matches!(
        b.sufficient_statistic(&[0.5, 1.0]),
        Err(ExpFamError::OutsideSupport { index: 0, .. })
    ));
    assert!(matches!(
        b.log_partition(&[f64::NAN, 0.0]),
        Err(ExpFamError::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        b.log_partition(&[0.0]),
        Err(ExpFamError::Shape { .. })
    ));
    assert!(matches!(
        Categorical::new(1),
        Err(ExpFamError::Domain { .. })
    ));
    let c = Categorical::new(3).unwrap();
    assert!(c.sufficient_statistic(&[3.0]).is_err());
    assert!(c.to_natural(&[0.6, 0.5]).is_err());
    let g = Gaussian::new(2, CovarianceType::Full).unwrap();
    // precision with a negative eigenvalue
    assert!(matches!(
        g.log_partition(&[0.0, 0.0, -0.5, -3.0, -0.5]),
        Err(ExpFamError::Domain { .. })
    ));
    // a mean whose covariance E[xx] − μμᵀ is not positive definite
    assert!(matches!(
        g.to_natural(&[1.0, 0.0, 1.0, 0.0, 1.0]),
        Err(ExpFamError::Domain { .. })
    ));
    let d = Gaussian::new(2, CovarianceType::Diagonal).unwrap();
    let full = from_rows(2, 2, &[1.0, 0.5, 0.5, 1.0], "Σ").unwrap();
    assert!(
        d.natural_from_mean_covariance(&[0.0, 0.0], full.as_ref())
            .is_err()
    );
    assert!(matches!(
        Boltzmann::new(40),
        Err(ExpFamError::TooLarge { .. })
    ));
    let m = Boltzmann::new(2).unwrap();
    // E[z1 z2] > E[z1] is outside the marginal polytope.
    assert!(m.to_natural(&[0.3, 0.4, 0.35]).is_err());
    assert!(Gaussian::new(0, CovarianceType::Full).is_err());
}
