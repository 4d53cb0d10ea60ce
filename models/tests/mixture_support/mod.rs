//! Shared by the mixture tests: known three-component mixtures in three dimensions of every
//! covariance type, and an independent Gaussian log-density (explicit 3 × 3 determinant and
//! inverse by cofactors, no faer) to check ours against.

#![allow(dead_code)]

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::mixture::GaussianMixture;

/// Every covariance type.
pub const TYPES: [CovarianceType; 4] = [
    CovarianceType::Full,
    CovarianceType::Diagonal,
    CovarianceType::Isotropic,
    CovarianceType::Fixed,
];

/// Weights of the known mixtures.
pub const WEIGHTS: [f64; 3] = [0.2, 0.3, 0.5];

/// Means of the known mixtures, `spread` apart along the axes.
pub fn means(spread: f64) -> Vec<f64> {
    vec![
        -spread, 0.0, 0.0, //
        0.0, spread, 1.0, //
        spread, -1.0, 2.0,
    ]
}

/// Full covariances of the known mixtures (positive definite: leading minors checked by
/// hand and by [`det3`] in the tests that use them).
pub const FULL: [[f64; 9]; 3] = [
    [1.0, 0.3, 0.1, 0.3, 0.8, -0.2, 0.1, -0.2, 0.5],
    [0.6, -0.1, 0.0, -0.1, 1.2, 0.4, 0.0, 0.4, 0.9],
    [1.5, 0.5, 0.3, 0.5, 1.0, 0.2, 0.3, 0.2, 0.7],
];

/// The per-type covariance array of the known mixture of type `ty`.
pub fn covariances(ty: CovarianceType) -> Vec<f64> {
    match ty {
        CovarianceType::Full => FULL.concat(),
        CovarianceType::Diagonal => vec![1.0, 0.8, 0.5, 0.6, 1.2, 0.9, 1.5, 1.0, 0.7],
        CovarianceType::Isotropic => vec![1.0, 0.6, 1.5],
        CovarianceType::Fixed => vec![],
    }
}

/// The known mixture of type `ty` with means `spread` apart.
pub fn truth(ty: CovarianceType, spread: f64) -> GaussianMixture {
    GaussianMixture::new(ty, WEIGHTS.to_vec(), means(spread), covariances(ty)).unwrap()
}

/// The full 3 × 3 covariance (row-major) of component `k` of the known mixture of type `ty`.
pub fn full_covariance(ty: CovarianceType, k: usize) -> [f64; 9] {
    let c = covariances(ty);
    let mut out = [0.0; 9];
    match ty {
        CovarianceType::Full => out.copy_from_slice(&c[9 * k..9 * k + 9]),
        CovarianceType::Diagonal => (0..3).for_each(|j| out[4 * j] = c[3 * k + j]),
        CovarianceType::Isotropic => (0..3).for_each(|j| out[4 * j] = c[k]),
        CovarianceType::Fixed => (0..3).for_each(|j| out[4 * j] = 1.0),
    }
    out
}

/// Determinant of a row-major 3 × 3 matrix by cofactor expansion.
pub fn det3(a: &[f64; 9]) -> f64 {
    a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6])
        + a[2] * (a[3] * a[7] - a[4] * a[6])
}

/// Inverse of a row-major 3 × 3 matrix: the adjugate over the determinant.
pub fn inv3(a: &[f64; 9]) -> [f64; 9] {
    let det = det3(a);
    let cof = |r0: usize, r1: usize, c0: usize, c1: usize| {
        a[3 * r0 + c0] * a[3 * r1 + c1] - a[3 * r0 + c1] * a[3 * r1 + c0]
    };
    // adj[i][j] = cofactor C[j][i]
    [
        cof(1, 2, 1, 2) / det,
        -cof(0, 2, 1, 2) / det,
        cof(0, 1, 1, 2) / det,
        -cof(1, 2, 0, 2) / det,
        cof(0, 2, 0, 2) / det,
        -cof(0, 1, 0, 2) / det,
        cof(1, 2, 0, 1) / det,
        -cof(0, 2, 0, 1) / det,
        cof(0, 1, 0, 1) / det,
    ]
}

/// `log N(x; μ, Σ)` in three dimensions, straight from the formula.
pub fn log_normal3(x: &[f64], mu: &[f64], cov: &[f64; 9]) -> f64 {
    let p = inv3(cov);
    let z = [x[0] - mu[0], x[1] - mu[1], x[2] - mu[2]];
    let mut quad = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            quad += z[i] * p[3 * i + j] * z[j];
        }
    }
    -0.5 * (3.0 * (2.0 * std::f64::consts::PI).ln() + det3(cov).ln() + quad)
}

/// `log Σ_k exp(v_k)`, shifted by the maximum.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `|a − b| ≤ tol · max(1, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// For each fitted component, the index of the nearest true mean.
pub fn match_components(fitted: &GaussianMixture, true_means: &[f64]) -> Vec<usize> {
    let d = fitted.n_features();
    (0..fitted.n_components())
        .map(|k| {
            let m = fitted.mean(k);
            (0..true_means.len() / d)
                .min_by(|&a, &b| {
                    let da: f64 = (0..d).map(|j| (m[j] - true_means[a * d + j]).powi(2)).sum();
                    let db: f64 = (0..d).map(|j| (m[j] - true_means[b * d + j]).powi(2)).sum();
                    da.total_cmp(&db)
                })
                .unwrap()
        })
        .collect()
}
