//! Data-set computations of an HMoG as matrix products: `log p(x)` of every row and the
//! averaged posterior statistics (the E-step) in `O(n K k²)`.
//!
//! Given `x`, the posterior of component `k` keeps its precision `Λ_k` (the lower interaction
//! moves only the location: `η_k(x) = η_k + Θ_XYᵀ x`), so each `Λ_k` is factorised once per
//! call instead of once per row; [`Hmog::posterior_statistics`] is the per-row reference.

use faer::Mat;

use super::Hmog;
use crate::expfam::{ExponentialFamily, log_sum_exp};
use crate::harmonium::HarmoniumError;
use crate::linalg::{Cholesky, product};
use crate::samples::Samples;

/// What one pass over a data set gives.
pub(crate) struct BatchPosterior {
    /// `log p(x)` of every row.
    pub log_density: Vec<f64>,
    /// The average of [`Hmog::posterior_statistics`] over the rows.
    pub statistics: Vec<f64>,
    /// `p(z = k | x)`, `n × K` row-major.
    pub responsibilities: Vec<f64>,
}

impl Hmog {
    /// `p(z = k | x)` for every row of `data` (scikit-learn's `predict_proba`), `n × K`
    /// row-major; the batch form of [`Hmog::posterior_soft_assignments`].
    pub fn predict_proba(&self, data: &Samples) -> Result<Vec<f64>, HarmoniumError> {
        Ok(self.batch_posterior(data, false)?.responsibilities)
    }

    /// The most probable component of every row of `data` (scikit-learn's `predict`); the
    /// batch form of [`Hmog::posterior_hard_assignment`].
    pub fn predict(&self, data: &Samples) -> Result<Vec<usize>, HarmoniumError> {
        let p = self.predict_proba(data)?;
        Ok(p.chunks_exact(self.components).map(super::argmax).collect())
    }

    pub(crate) fn batch_posterior(
        &self,
        data: &Samples,
        with_statistics: bool,
    ) -> Result<BatchPosterior, HarmoniumError> {
        data.check_width(self.observable.data_dim())?;
        let (n, d, k) = (data.rows(), self.observable.data_dim(), self.latent_dim);
        let upper = self.upper_mixture()?;
        let y = *upper.observable();
        let kk = self.components;
        let psi = self.log_partition()?;
        let theta = Mat::from_fn(d, k, |i, j| self.interaction[i * k + j]);
        let x = data.as_mat();
        let shift = product(x, theta.as_ref()); // n × k: Θᵀx per row
        let mut logits = Mat::<f64>::zeros(n, kk);
        let mut means = Vec::with_capacity(kk);
        let mut covs = Vec::with_capacity(kk);
        for c in 0..kk {
            let natural = upper.component(c)?;
            let precision = y.precision(&natural)?;
            let factor = Cholesky::new(precision.as_ref(), "a component's posterior precision")?;
            let cov = factor.inverse();
            let eta = Mat::from_fn(n, k, |r, j| natural[j] + shift[(r, j)]);
            let m = product(eta.as_ref(), cov.as_ref()); // rows: Λ⁻¹ η (cov symmetric)
            let bias = if c == 0 {
                0.0
            } else {
                upper.latent_bias()[c - 1]
            };
            for r in 0..n {
                let q: f64 = (0..k).map(|j| eta[(r, j)] * m[(r, j)]).sum();
                logits[(r, c)] = bias + 0.5 * q - 0.5 * factor.log_det();
            }
            means.push(m);
            covs.push(cov);
        }
        let mut log_density = Vec::with_capacity(n);
        let mut resp = Mat::<f64>::zeros(n, kk);
        let mut sx = vec![0.0; self.observable.dim()];
        let mut sx_sum = vec![0.0; self.observable.dim()];
        let mut row_logits = vec![0.0; kk];
        for (r, xr) in data.iter_rows().enumerate() {
            (0..kk).for_each(|c| row_logits[c] = logits[(r, c)]);
            let lse = log_sum_exp(&row_logits);
            (0..kk).for_each(|c| resp[(r, c)] = (row_logits[c] - lse).exp());
            self.observable.sufficient_statistic_into(xr, &mut sx);
            let base: f64 = self
                .observable_bias
                .iter()
                .zip(&sx)
                .map(|(a, b)| a * b)
                .sum();
            log_density.push(base + self.observable.log_base_measure(xr) + lse - psi);
            if with_statistics {
                sx_sum.iter_mut().zip(&sx).for_each(|(a, b)| *a += b);
            }
        }
        if !with_statistics {
            return Ok(BatchPosterior {
                log_density,
                statistics: Vec::new(),
                responsibilities: crate::linalg::to_rows(resp.as_ref()),
            });
        }
        let inv_n = 1.0 / n as f64;
        let mut statistics: Vec<f64> = sx_sum.iter().map(|s| s * inv_n).collect();
        // E[y | x] per row, then the cross statistic Σ x E[y|x]ᵀ / n.
        let mut ey = Mat::<f64>::zeros(n, k);
        for (c, m) in means.iter().enumerate() {
            for r in 0..n {
                for j in 0..k {
                    ey[(r, j)] += resp[(r, c)] * m[(r, j)];
                }
            }
        }
        let cross = product(x.transpose(), ey.as_ref());
        for i in 0..d {
            statistics.extend((0..k).map(|j| cross[(i, j)] * inv_n));
        }
        // Per component: weight, and mean parameters of y given (x, z = k) averaged with the
        // responsibilities: E[y] and E[yyᵀ] = Λ⁻¹ + m mᵀ.
        let mut weights = Vec::with_capacity(kk);
        let mut components = Vec::with_capacity(kk);
        for (c, (m, cov)) in means.iter().zip(&covs).enumerate() {
            let w: f64 = (0..n).map(|r| resp[(r, c)]).sum();
            if w <= 0.0 {
                // No responsibility at all: a zero weight marks the component empty for the
                // M-step; its (unused) statistics are the posterior's own.
                weights.push(0.0);
                components.push(y.mean_from_moments(&vec![0.0; k], cov.as_ref()));
                continue;
            }
            let weighted = Mat::from_fn(n, k, |r, j| resp[(r, c)] * m[(r, j)]);
            let second = product(weighted.transpose(), m.as_ref());
            let mean: Vec<f64> = (0..k)
                .map(|j| (0..n).map(|r| weighted[(r, j)]).sum::<f64>() / w)
                .collect();
            let spread = Mat::from_fn(k, k, |a, b| {
                cov[(a, b)] + second[(a, b)] / w - mean[a] * mean[b]
            });
            weights.push(w * inv_n);
            components.push(
                y.mean_from_moments(&mean, crate::linalg::symmetrize(spread.as_ref()).as_ref()),
            );
        }
        statistics.extend(upper.join_mean_mixture(&weights, &components)?);
        Ok(BatchPosterior {
            log_density,
            statistics,
            responsibilities: crate::linalg::to_rows(resp.as_ref()),
        })
    }
}
