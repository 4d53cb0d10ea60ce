//! The E-step: per-component log-densities through the cached precision Cholesky factors,
//! as scikit-learn's `_estimate_log_gaussian_prob`, then log-sum-exp and responsibilities.
//!
//! Work is split into blocks of samples (and components) that run in parallel (rayon); the
//! blocks depend only on the data size and `K`, never on the thread count, and reductions
//! run in block order, so results are bit-identical for any number of threads.
//!
//! - Full covariances: `y = X U_k − μ_k U_k` (a faer matrix product per component and
//!   [`component_parts`] row range), `log N = −½ (d log 2π + ‖y‖²) + Σ log diag U_k`.
//! - Diagonal, spherical and fixed: the quadratic form expands into one matrix product of
//!   the [`Design`] `[1 | X | X²]` (or `[1 | X | ‖x‖²]`) with a `m × K` coefficient matrix
//!   whose first row holds each component's constant, as scikit-learn's
//!   `Σ μ²λ − 2 X (μλ)ᵀ + X² λᵀ` — the squares of the data are formed once per fit.

use std::f64::consts::PI;

use faer::{Accum, Mat, MatMut, MatRef};
use rayon::prelude::*;

use super::{GaussianMixture, MixtureError};
use crate::expfam::CovarianceType;
use crate::linalg::matmul;
use crate::samples::Samples;

/// Samples per block of the parallel batch computations.
pub(crate) const CHUNK_ROWS: usize = 256;

/// The data with the extra columns the batch products of one covariance type need:
/// `[1 | X | X²]` (diagonal), `[1 | X | ‖x‖²]` (spherical, fixed) or `[1 | X]` (full),
/// row-major `n × m`.
pub(crate) struct Design<'a> {
    pub(crate) x: &'a [f64],
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) aug: Vec<f64>,
    pub(crate) m: usize,
}

impl<'a> Design<'a> {
    /// Arranges `x` for `ty`.
    pub(crate) fn new(x: &'a Samples, ty: CovarianceType) -> Design<'a> {
        let (n, d) = (x.rows(), x.cols());
        let m = match ty {
            CovarianceType::Full => 1 + d,
            CovarianceType::Diagonal => 1 + 2 * d,
            CovarianceType::Isotropic | CovarianceType::Fixed => 2 + d,
        };
        let mut aug = Vec::with_capacity(n * m);
        for row in x.iter_rows() {
            aug.push(1.0);
            aug.extend_from_slice(row);
            match ty {
                CovarianceType::Full => {}
                CovarianceType::Diagonal => aug.extend(row.iter().map(|v| v * v)),
                _ => aug.push(row.iter().map(|v| v * v).sum()),
            }
        }
        Design {
            x: x.as_slice(),
            n,
            d,
            aug,
            m,
        }
    }

    /// Number of blocks of [`CHUNK_ROWS`] samples.
    pub(crate) fn n_chunks(&self) -> usize {
        self.n.div_ceil(CHUNK_ROWS)
    }

    /// Rows `r0..r0 + rows` of the design as a `rows × m` view.
    pub(crate) fn aug_rows(&self, r0: usize, rows: usize) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.aug[r0 * self.m..(r0 + rows) * self.m], rows, self.m)
    }
}

/// What the blocks share: for full covariances `μ_k U_k` and the constants, otherwise the
/// `m × K` coefficient matrix of the expanded quadratic form.
enum Prepared {
    Full { mu_u: Vec<f64>, constant: Vec<f64> },
    Expanded(Mat<f64>),
}

fn prepare(model: &GaussianMixture, m: usize, with_weights: bool) -> Prepared {
    let (k, d) = (model.n_components(), model.n_features);
    let half_log_2pi = -0.5 * d as f64 * (2.0 * PI).ln();
    let log_w = |c: usize| {
        if with_weights {
            model.weights[c].ln()
        } else {
            0.0
        }
    };
    match model.covariance_type {
        CovarianceType::Full => {
            let mut mu_u = vec![0.0; k * d];
            for c in 0..k {
                let u = &model.precisions_cholesky[c * d * d..(c + 1) * d * d];
                let mu = model.mean(c);
                for j in 0..d {
                    mu_u[c * d + j] = (0..=j).map(|i| mu[i] * u[i * d + j]).sum();
                }
            }
            let constant = (0..k)
                .map(|c| half_log_2pi + model.log_det_cholesky[c] + log_w(c))
                .collect();
            Prepared::Full { mu_u, constant }
        }
        ty => {
            let mut b = Mat::<f64>::zeros(m, k);
            for c in 0..k {
                let mu = model.mean(c);
                let prec = |j: usize| match ty {
                    CovarianceType::Diagonal => model.precisions_cholesky[c * d + j].powi(2),
                    CovarianceType::Isotropic => model.precisions_cholesky[c].powi(2),
                    _ => 1.0,
                };
                let mut quad = 0.0;
                for j in 0..d {
                    let p = prec(j);
                    quad += mu[j] * mu[j] * p;
                    b[(1 + j, c)] = mu[j] * p;
                    if ty == CovarianceType::Diagonal {
                        b[(1 + d + j, c)] = -0.5 * p;
                    }
                }
                if ty != CovarianceType::Diagonal {
                    b[(1 + d, c)] = -0.5 * prec(0);
                }
                b[(0, c)] = half_log_2pi - 0.5 * quad + model.log_det_cholesky[c] + log_w(c);
            }
            Prepared::Expanded(b)
        }
    }
}

/// Row ranges for the per-component products of full covariances: few enough that each is
/// a sizeable matrix product, enough (times `K`) to keep a few threads busy. They depend
/// only on `n` and `K`, so results do not depend on the thread count.
pub(crate) fn component_parts(n: usize, k: usize) -> Vec<(usize, usize)> {
    let parts = 8usize.div_ceil(k).min(n.div_ceil(128)).max(1);
    let size = n.div_ceil(parts);
    (0..parts)
        .map(|p| (p * size, ((p + 1) * size).min(n)))
        .filter(|(a, b)| a < b)
        .collect()
}

/// `‖(x_i − μ_k)ᵀ U_k‖²` of rows `r0..r1` for component `c`, as scikit-learn computes it:
/// `X U_k − μ_k U_k`.
fn full_squared_norms(
    model: &GaussianMixture,
    design: &Design<'_>,
    mu_u: &[f64],
    c: usize,
    (r0, r1): (usize, usize),
) -> Vec<f64> {
    let d = design.d;
    let rows = r1 - r0;
    let x = MatRef::from_row_major_slice(&design.x[r0 * d..r1 * d], rows, d);
    let u =
        MatRef::from_row_major_slice(&model.precisions_cholesky[c * d * d..(c + 1) * d * d], d, d);
    let mut y = vec![0.0; rows * d];
    matmul(
        MatMut::from_row_major_slice_mut(&mut y, rows, d),
        Accum::Replace,
        x,
        u,
        1.0,
    );
    let shift = &mu_u[c * d..(c + 1) * d];
    y.chunks_exact(d)
        .map(|row| row.iter().zip(shift).map(|(a, b)| (a - b) * (a - b)).sum())
        .collect()
}

/// `log p(x_i, k) = log w_k + log N(x_i; μ_k, Σ_k)` (or without `log w_k`), `n × K`
/// row-major — scikit-learn's `_estimate_weighted_log_prob`.
pub(crate) fn log_prob(
    model: &GaussianMixture,
    design: &Design<'_>,
    with_weights: bool,
) -> Vec<f64> {
    let k = model.n_components();
    let mut out = vec![0.0; design.n * k];
    match prepare(model, design.m, with_weights) {
        Prepared::Full { mu_u, constant } => {
            let parts = component_parts(design.n, k);
            let np = parts.len();
            let norms: Vec<Vec<f64>> = (0..k * np)
                .into_par_iter()
                .map(|t| full_squared_norms(model, design, &mu_u, t / np, parts[t % np]))
                .collect();
            for (t, sq) in norms.iter().enumerate() {
                let (c, (r0, _)) = (t / np, parts[t % np]);
                for (i, v) in sq.iter().enumerate() {
                    out[(r0 + i) * k + c] = constant[c] - 0.5 * v;
                }
            }
        }
        Prepared::Expanded(b) => {
            out.par_chunks_mut(CHUNK_ROWS * k)
                .enumerate()
                .for_each(|(c, block)| {
                    let r0 = c * CHUNK_ROWS;
                    let rows = block.len() / k;
                    let dst = MatMut::from_row_major_slice_mut(block, rows, k);
                    matmul(
                        dst,
                        Accum::Replace,
                        design.aug_rows(r0, rows),
                        b.as_ref(),
                        1.0,
                    );
                });
        }
    }
    out
}

/// `ln` of the smallest normal `f64`.
const UNDERFLOW: f64 = -708.396_418_532_264_1;

/// Replaces each row of `block` (`rows × K` joint log-probabilities) by its
/// responsibilities and writes `log p(x_i)` to `norm`.
fn normalise_block(block: &mut [f64], norm: &mut [f64], k: usize) {
    for (row, lp) in block.chunks_exact_mut(k).zip(norm.iter_mut()) {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            let z = *v - max;
            // Below this, exp gives a subnormal or zero, at most 2⁻¹⁰²² of the sum (which is
            // ≥ 1) — and libm's subnormal path costs ten times a normal exp.
            *v = if z < UNDERFLOW { 0.0 } else { z.exp() };
            sum += *v;
        }
        *lp = max + sum.ln();
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// The result of an E-step.
pub(crate) struct Responsibilities {
    /// `r_ik = p(k | x_i)`, `n × K` row-major.
    pub(crate) resp: Vec<f64>,
    /// `log p(x_i)` per sample.
    pub(crate) log_prob_norm: Vec<f64>,
}

/// Errors with the first row of log-densities `values` (`rows × k`) that overflowed: one
/// holding a NaN or `+∞`, or `−∞` throughout (finite data and parameters give finite
/// log-densities unless a square overflows; a zero weight makes one entry `−∞`, not all).
pub(crate) fn check_rows(values: &[f64], k: usize) -> Result<(), MixtureError> {
    let bad = |row: &[f64]| {
        row.iter().any(|v| v.is_nan() || *v == f64::INFINITY)
            || row.iter().all(|v| *v == f64::NEG_INFINITY)
    };
    match values.chunks_exact(k).position(bad) {
        Some(row) => Err(MixtureError::Overflow { row }),
        None => Ok(()),
    }
}

impl Responsibilities {
    /// The mean of `log p(x_i)`: scikit-learn's lower bound for this E-step.
    pub(crate) fn mean_log_prob(&self) -> f64 {
        self.log_prob_norm.iter().sum::<f64>() / self.log_prob_norm.len() as f64
    }
}

/// One E-step: responsibilities and `log p(x_i)` of every sample.
pub(crate) fn e_step(model: &GaussianMixture, design: &Design<'_>) -> Responsibilities {
    let k = model.n_components();
    let mut resp = log_prob(model, design, true);
    let mut log_prob_norm = vec![0.0; design.n];
    resp.par_chunks_mut(CHUNK_ROWS * k)
        .zip(log_prob_norm.par_chunks_mut(CHUNK_ROWS))
        .for_each(|(block, norm)| normalise_block(block, norm, k));
    Responsibilities {
        resp,
        log_prob_norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_parts_tile_the_rows() {
        for n in [1, 5, 127, 128, 129, 1797, 10_000] {
            for k in [1, 2, 3, 8, 10, 50] {
                let parts = component_parts(n, k);
                assert_eq!(parts[0].0, 0);
                assert_eq!(parts.last().unwrap().1, n);
                assert!(
                    parts
                        .windows(2)
                        .all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1)
                );
                assert!(parts.len() * k >= 8.min(k * n.div_ceil(128)), "n {n} k {k}");
            }
        }
    }

    #[test]
    fn overflowed_rows_are_named() {
        let inf = f64::INFINITY;
        assert_eq!(check_rows(&[0.0, -inf, -1.0, -2.0], 2), Ok(()));
        assert_eq!(
            check_rows(&[0.0, -1.0, -inf, -inf], 2),
            Err(MixtureError::Overflow { row: 1 })
        );
        assert_eq!(
            check_rows(&[f64::NAN, 0.0], 2),
            Err(MixtureError::Overflow { row: 0 })
        );
        assert_eq!(
            check_rows(&[0.0, inf], 1),
            Err(MixtureError::Overflow { row: 1 })
        );
    }
}
