//! The M-step, as scikit-learn's `_estimate_gaussian_parameters`: `n_k = Σ_i r_ik + 10 ε`,
//! `μ_k = Σ_i r_ik x_i / n_k`, covariances with `reg_covar` added to the diagonal
//! (full: the responsibility-weighted scatter of the centred data; diagonal:
//! `Σ r x² / n_k − μ² + reg`; spherical: the mean of the diagonal ones; fixed: none), then
//! the precision Cholesky factors.
//!
//! The sufficient statistics `Rᵀ [1 | X | X²]` are one matrix product (by blocks of
//! samples, summed in block order); full scatters are products `Dᵀ D` of
//! `D = √r_k ∘ (X − μ_k)` over (component, block) pairs in parallel, lower triangle only.

use faer::{Accum, Mat, MatRef};
use rayon::prelude::*;

use super::GaussianMixture;
use super::components;
use super::estep::{CHUNK_ROWS, Design, component_parts};
use crate::expfam::CovarianceType;
use crate::linalg::{matmul, matmul_lower};

/// Why an M-step failed (the fit adds the initialisation and iteration).
#[derive(Debug)]
pub(crate) enum MStepFailure {
    /// Component `k` has total responsibility `mass` below the threshold.
    Empty { component: usize, mass: f64 },
    /// Component `k`'s covariance has no Cholesky factor (or a variance is not positive).
    Singular { component: usize, reason: String },
}

/// How the M-step's weights are normalised.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WeightNorm {
    /// `n_k / Σ n_k` (every EM iteration).
    BySum,
    /// `n_k / n` (scikit-learn's initialisation from responsibilities).
    BySamples,
}

/// `Rᵀ [1 | X | …]`, `K × m` column-major, summed over blocks in block order.
fn statistics(design: &Design<'_>, resp: &[f64], k: usize) -> Mat<f64> {
    let partials: Vec<Mat<f64>> = (0..design.n_chunks())
        .into_par_iter()
        .map(|c| {
            let r0 = c * CHUNK_ROWS;
            let rows = CHUNK_ROWS.min(design.n - r0);
            let r = MatRef::from_row_major_slice(&resp[r0 * k..(r0 + rows) * k], rows, k);
            let mut out = Mat::<f64>::zeros(k, design.m);
            matmul(
                out.as_mut(),
                Accum::Replace,
                r.transpose(),
                design.aug_rows(r0, rows),
                1.0,
            );
            out
        })
        .collect();
    let mut total = Mat::<f64>::zeros(k, design.m);
    for p in &partials {
        total += p;
    }
    total
}

/// The lower triangle of `Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ` for every component, as products
/// `Dᵀ D` of `D = √r_k ∘ (X − μ_k)` over the (component, row range) pairs in parallel,
/// summed over the ranges in order.
fn scatters(design: &Design<'_>, resp: &[f64], means: &[f64], k: usize) -> Vec<Mat<f64>> {
    let d = design.d;
    let parts = component_parts(design.n, k);
    let np = parts.len();
    let partials: Vec<Mat<f64>> = (0..k * np)
        .into_par_iter()
        .map(|t| {
            let (c, (r0, r1)) = (t / np, parts[t % np]);
            let mu = &means[c * d..(c + 1) * d];
            let x_rows = design.x[r0 * d..r1 * d].chunks_exact(d);
            let mut centred = vec![0.0; (r1 - r0) * d];
            for (i, (out_row, x)) in centred.chunks_exact_mut(d).zip(x_rows).enumerate() {
                let w = resp[(r0 + i) * k + c].sqrt();
                for ((o, x), m) in out_row.iter_mut().zip(x).zip(mu) {
                    *o = w * (x - m);
                }
            }
            let centred = MatRef::from_row_major_slice(&centred, r1 - r0, d);
            let mut out = Mat::<f64>::zeros(d, d);
            matmul_lower(
                out.as_mut(),
                Accum::Replace,
                centred.transpose(),
                centred,
                1.0,
            );
            out
        })
        .collect();
    partials
        .chunks(np)
        .map(|parts| {
            let mut total = parts[0].clone();
            for p in &parts[1..] {
                total += p;
            }
            total
        })
        .collect()
}

/// Errors unless `variance = E[x²] − E[x]² + reg` (with `second = E[x²]`) stands above the
/// rounding error of that difference: below it the variance is zero to working precision
/// and its inverse would be noise (scikit-learn only rejects variances ≤ 0).
fn check_variance(
    variance: f64,
    second: f64,
    component: usize,
    j: usize,
) -> Result<(), MStepFailure> {
    if variance > 8.0 * f64::EPSILON * second.abs() && variance.is_finite() {
        return Ok(());
    }
    Err(MStepFailure::Singular {
        component,
        reason: format!("variance {j} is {variance:e}, zero to working precision"),
    })
}

/// Replaces the parameters of `model` by the M-step estimates from responsibilities `resp`
/// (`n × K` row-major). Components whose total responsibility is below `min_mass` are
/// [`MStepFailure::Empty`].
pub(crate) fn m_step(
    model: &mut GaussianMixture,
    design: &Design<'_>,
    resp: &[f64],
    reg_covar: f64,
    min_mass: f64,
    norm: WeightNorm,
) -> Result<(), MStepFailure> {
    let (k, d, ty) = (model.n_components(), design.d, model.covariance_type);
    let stats = statistics(design, resp, k);
    let eps10 = 10.0 * f64::EPSILON;
    let mut nk = vec![0.0; k];
    let mut means = vec![0.0; k * d];
    for c in 0..k {
        let mass = stats[(c, 0)];
        if mass.is_nan() || mass < min_mass {
            return Err(MStepFailure::Empty { component: c, mass });
        }
        nk[c] = mass + eps10;
        for j in 0..d {
            means[c * d + j] = stats[(c, 1 + j)] / nk[c];
        }
    }
    let covariances: Vec<f64> = match ty {
        CovarianceType::Full => {
            let lower = scatters(design, resp, &means, k);
            let mut cov = vec![0.0; k * d * d];
            for (c, s) in lower.iter().enumerate() {
                for i in 0..d {
                    for j in 0..=i {
                        let v = s[(i, j)] / nk[c];
                        cov[c * d * d + i * d + j] = v;
                        cov[c * d * d + j * d + i] = v;
                    }
                    cov[c * d * d + i * d + i] += reg_covar;
                }
            }
            cov
        }
        CovarianceType::Diagonal => {
            let mut cov = Vec::with_capacity(k * d);
            for (t, mu) in means.iter().enumerate() {
                let (c, j) = (t / d, t % d);
                let second = stats[(c, 1 + d + j)] / nk[c];
                let var = second - mu * mu + reg_covar;
                check_variance(var, second, c, j)?;
                cov.push(var);
            }
            cov
        }
        CovarianceType::Isotropic => {
            let mut cov = Vec::with_capacity(k);
            for c in 0..k {
                let mu2: f64 = means[c * d..(c + 1) * d].iter().map(|m| m * m).sum();
                let second = stats[(c, 1 + d)] / nk[c];
                let var = (second - mu2) / d as f64 + reg_covar;
                check_variance(var, second / d as f64, c, 0)?;
                cov.push(var);
            }
            cov
        }
        CovarianceType::Fixed => Vec::new(),
    };
    let factors: Vec<Result<(Vec<f64>, f64), String>> = (0..k)
        .into_par_iter()
        .map(|c| components::component_factor(ty, d, &covariances, c))
        .collect();
    let mut precisions_cholesky = Vec::with_capacity(covariances.len());
    let mut log_det = Vec::with_capacity(k);
    for (c, f) in factors.into_iter().enumerate() {
        let (u, ld) = f.map_err(|reason| MStepFailure::Singular {
            component: c,
            reason,
        })?;
        precisions_cholesky.extend_from_slice(&u);
        log_det.push(ld);
    }
    let total = match norm {
        WeightNorm::BySum => nk.iter().sum::<f64>(),
        WeightNorm::BySamples => design.n as f64,
    };
    model.weights = nk.iter().map(|v| v / total).collect();
    model.means = means;
    model.covariances = covariances;
    model.precisions_cholesky = precisions_cholesky;
    model.log_det_cholesky = log_det;
    Ok(())
}
