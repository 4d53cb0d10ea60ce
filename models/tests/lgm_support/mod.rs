//! Independent reference computations for the linear Gaussian model tests: dense
//! `(d + k)`-dimensional joint Gaussians built from the generative definition, dense
//! log densities through a `d × d` Cholesky factor, and random models.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]
#![allow(dead_code)]

use blockgibbs_models::lgm::{LinearGaussianModel, NoiseType};
use blockgibbs_models::linalg::{Cholesky, Mat, symmetric_eigen};
use blockgibbs_models::samples::Samples;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A random model with a non-standard prior (mean and correlated covariance).
pub fn random_model(seed: u64, d: usize, k: usize, noise: NoiseType) -> LinearGaussianModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mean: Vec<f64> = (0..d).map(|_| rng.random_range(-2.0..2.0)).collect();
    let loadings: Vec<f64> = (0..d * k).map(|_| rng.random_range(-1.5..1.5)).collect();
    let variances: Vec<f64> = match noise {
        NoiseType::Diagonal => (0..d).map(|_| rng.random_range(0.2..1.5)).collect(),
        NoiseType::Isotropic => vec![rng.random_range(0.2..1.5)],
    };
    let prior_mean: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
    // S = R Rᵀ + 0.3 I with a random R: symmetric positive definite.
    let r: Vec<f64> = (0..k * k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let prior_cov: Vec<f64> = (0..k * k)
        .map(|ij| {
            let (i, j) = (ij / k, ij % k);
            (0..k).map(|c| r[i * k + c] * r[j * k + c]).sum::<f64>()
                + if i == j { 0.3 } else { 0.0 }
        })
        .collect();
    LinearGaussianModel::new(noise, mean, loadings, k, variances)
        .unwrap()
        .with_prior(prior_mean, prior_cov)
        .unwrap()
}

/// The joint of `(x, z)` as one `(d + k)`-dimensional Gaussian, from the generative
/// definition: `(x, z) = c + T (u, ε)` with `u, ε` standard normal, `z = m + L u`,
/// `x = μ + A z + √D ε`, so the covariance is `T Tᵀ`.
pub fn joint_gaussian(model: &LinearGaussianModel) -> (Vec<f64>, Mat<f64>) {
    let (d, k) = (model.observable_dim(), model.latent_dim());
    let s = Mat::from_fn(k, k, |i, j| model.prior_covariance()[i * k + j]);
    let l = Cholesky::new(s.as_ref(), "S").unwrap().lower().to_owned();
    let a = Mat::from_fn(d, k, |i, j| model.loadings()[i * k + j]);
    let al = &a * &l;
    let n = d + k;
    let t = Mat::from_fn(n, n, |r, c| match (r < d, c < k) {
        (true, true) => al[(r, c)],
        (true, false) => {
            if c - k == r {
                model.noise_variance()[r].sqrt()
            } else {
                0.0
            }
        }
        (false, true) => l[(r - d, c)],
        (false, false) => 0.0,
    });
    let cov = &t * t.transpose();
    let mut mean = Vec::with_capacity(n);
    for i in 0..d {
        let am: f64 = (0..k).map(|j| a[(i, j)] * model.prior_mean()[j]).sum();
        mean.push(model.mean()[i] + am);
    }
    mean.extend_from_slice(model.prior_mean());
    (mean, cov)
}

/// `log N(x; mean, cov)` through a dense Cholesky factor.
pub fn dense_log_density(x: &[f64], mean: &[f64], cov: &Mat<f64>) -> f64 {
    let chol = Cholesky::new(cov.as_ref(), "cov").unwrap();
    let r: Vec<f64> = x.iter().zip(mean).map(|(a, b)| a - b).collect();
    let solved = chol.solve_vec(&r);
    let quad: f64 = r.iter().zip(&solved).map(|(a, b)| a * b).sum();
    -0.5 * (x.len() as f64 * LN_2PI + chol.log_det() + quad)
}

/// The `[lo, hi) × [lo, hi)` block of `m`.
pub fn block(m: &Mat<f64>, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) -> Mat<f64> {
    Mat::from_fn(rows.len(), cols.len(), |i, j| {
        m[(rows.start + i, cols.start + j)]
    })
}

/// The marginal of `x` read off the joint: its mean and covariance blocks.
pub fn dense_marginal(model: &LinearGaussianModel) -> (Vec<f64>, Mat<f64>) {
    let d = model.observable_dim();
    let (mean, cov) = joint_gaussian(model);
    (mean[..d].to_vec(), block(&cov, 0..d, 0..d))
}

/// Average log-likelihood of `x` under the dense marginal.
pub fn dense_average_log_likelihood(model: &LinearGaussianModel, x: &Samples) -> f64 {
    let (mean, cov) = dense_marginal(model);
    x.iter_rows()
        .map(|row| dense_log_density(row, &mean, &cov))
        .sum::<f64>()
        / x.rows() as f64
}

/// The sample mean and ML covariance, computed row by row.
pub fn sample_moments(x: &Samples) -> (Vec<f64>, Mat<f64>) {
    let (n, d) = (x.rows() as f64, x.cols());
    let mut mean = vec![0.0; d];
    for row in x.iter_rows() {
        for i in 0..d {
            mean[i] += row[i] / n;
        }
    }
    let mut cov = Mat::<f64>::zeros(d, d);
    for row in x.iter_rows() {
        for i in 0..d {
            for j in 0..d {
                cov[(i, j)] += (row[i] - mean[i]) * (row[j] - mean[j]) / n;
            }
        }
    }
    (mean, cov)
}

/// The Tipping–Bishop PPCA solution from the eigen-decomposition of the sample covariance:
/// `(σ², A Aᵀ + σ² I)`.
pub fn tipping_bishop(x: &Samples, k: usize) -> (f64, Mat<f64>) {
    let d = x.cols();
    let (_, cov) = sample_moments(x);
    let e = symmetric_eigen(cov.as_ref(), "cov").unwrap();
    let sigma2 = e.values[..d - k].iter().sum::<f64>() / (d - k) as f64;
    let mut c = Mat::<f64>::zeros(d, d);
    for col in d - k..d {
        let scale = e.values[col] - sigma2;
        for i in 0..d {
            for j in 0..d {
                c[(i, j)] += scale * e.vectors[(i, col)] * e.vectors[(j, col)];
            }
        }
    }
    for i in 0..d {
        c[(i, i)] += sigma2;
    }
    (sigma2, c)
}

/// `A Aᵀ + D` of a standard-prior model, entry by entry.
pub fn covariance_of(model: &LinearGaussianModel) -> Mat<f64> {
    dense_marginal(model).1
}

/// Largest `|a_ij − b_ij|`.
pub fn max_abs_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut m: f64 = 0.0;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            m = m.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    m
}

/// Sines of the principal angles between the column spaces of `a` and `b` (`d × k`
/// row-major each): the singular values of `(I − P_a) Q_b`, from the eigenvalues of
/// `Q_bᵀ (I − P_a) Q_b`.
pub fn principal_angle_sines(a: &[f64], b: &[f64], d: usize, k: usize) -> Vec<f64> {
    let orth = |m: &[f64]| {
        // Q = M (MᵀM)^{-1/2} via the eigen-decomposition of MᵀM.
        let m = Mat::from_fn(d, k, |i, j| m[i * k + j]);
        let g = m.transpose() * &m;
        let e = symmetric_eigen(g.as_ref(), "gram").unwrap();
        let inv_sqrt = Mat::from_fn(k, k, |i, j| {
            (0..k)
                .map(|c| e.vectors[(i, c)] * e.vectors[(j, c)] / e.values[c].sqrt())
                .sum::<f64>()
        });
        &m * &inv_sqrt
    };
    let (qa, qb) = (orth(a), orth(b));
    let proj = &qb - &qa * (qa.transpose() * &qb);
    let g = proj.transpose() * &proj;
    let e = symmetric_eigen(g.as_ref(), "residual gram").unwrap();
    e.values.iter().map(|v| v.max(0.0).sqrt()).collect()
}
