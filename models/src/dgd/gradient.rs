//! Analytic gradients of the MAP objective with respect to the mixture's means,
//! log-variances and weight logits (and of the mixture's negative log density with respect to
//! the points, for the representation layer).
//!
//! With `ℓ_k = ln π_k + ln N(x; μ_k, Σ_k)` and responsibilities `r_k = e^{ℓ_k} / Σ_{j∈A} e^{ℓ_j}`
//! over the allowed components `A` (all of them, or a class's), the gradients of
//! `−ln Σ_{k∈A} e^{ℓ_k}` are
//! `∂/∂μ_kj = −r_k (x_j − μ_kj)/σ²_kj`,
//! `∂/∂v_kj = r_k (1 − (x_j − μ_kj)²/σ²_kj)/2` (summed over `j` for an isotropic `v_k`),
//! `∂/∂a_k = π_k − r_k` (with `r_k = 0` outside `A`), and `∂/∂x_j = Σ_k r_k (x_j − μ_kj)/σ²_kj`.

use std::ops::Range;

use super::error::{DgdError, at_least_one};
use super::mixture::{ComponentCache, GaussianMixturePrior};
use super::special::log_sum_exp;
use crate::expfam::CovarianceType;
use crate::samples::Samples;

/// A gradient with respect to the mixture's parameters, in their layouts.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorGradient {
    /// With respect to the means, `K × d`.
    pub means: Vec<f64>,
    /// With respect to the log-variances (the layout of
    /// [`GaussianMixturePrior::log_var`]).
    pub log_var: Vec<f64>,
    /// With respect to the weight logits, `K`.
    pub logits: Vec<f64>,
}

impl PriorGradient {
    /// A zero gradient shaped like `prior`'s parameters.
    pub fn zeros(prior: &GaussianMixturePrior) -> PriorGradient {
        PriorGradient {
            means: vec![0.0; prior.means.len()],
            log_var: vec![0.0; prior.log_var.len()],
            logits: vec![0.0; prior.logits.len()],
        }
    }

    /// The entries in the order of the optimiser's parameter vector: means, log-variances,
    /// logits.
    pub fn to_flat(&self) -> Vec<f64> {
        [&self.means[..], &self.log_var, &self.logits].concat()
    }
}

/// Scratch space reused across rows.
pub(crate) struct RowScratch {
    log_joint: Vec<f64>,
    resp: Vec<f64>,
}

impl RowScratch {
    pub(crate) fn new(k: usize) -> RowScratch {
        RowScratch {
            log_joint: vec![0.0; k],
            resp: vec![0.0; k],
        }
    }
}

impl GaussianMixturePrior {
    /// The gradient of [`GaussianMixturePrior::objective`] (the mean of `forward(x)`).
    pub fn gradient(&self, x: &Samples) -> Result<PriorGradient, DgdError> {
        self.gradient_with_total(x, x.rows())
    }

    /// The gradient of the mean of [`GaussianMixturePrior::forward_with_total`]`(x, n_total)`:
    /// `(1/|x|) Σ_i ∇(−log p(x_i | θ)) − ∇ log p(θ) / n_total`, the unbiased mini-batch estimate
    /// of the objective's gradient on a data set of `n_total` samples.
    pub fn gradient_with_total(
        &self,
        x: &Samples,
        n_total: usize,
    ) -> Result<PriorGradient, DgdError> {
        at_least_one("n_total", n_total)?;
        x.check_width(self.dim)?;
        let rows: Vec<usize> = (0..x.rows()).collect();
        let ranges = vec![0..self.n_components; x.rows()];
        let mut grad = PriorGradient::zeros(self);
        self.accumulate_rows(x, &rows, &ranges, 1.0 / x.rows() as f64, &mut grad, None)?;
        self.accumulate_prior(1.0 / n_total as f64, &mut grad);
        Ok(grad)
    }

    /// Adds `weight · ∇θ(−ln Σ_{k∈allowed[r]} π_k N(x_row; k))` for each `rows[r]` to `grad`,
    /// and `∇x` of the same (unweighted) to `grad_x` (`rows.len() × d`) when given; returns the
    /// sum of the unweighted values.
    pub(crate) fn accumulate_rows(
        &self,
        x: &Samples,
        rows: &[usize],
        allowed: &[Range<usize>],
        weight: f64,
        grad: &mut PriorGradient,
        mut grad_x: Option<&mut [f64]>,
    ) -> Result<f64, DgdError> {
        let cache = self.cache();
        let mut scratch = RowScratch::new(self.n_components);
        let mut total = 0.0;
        for (r, &i) in rows.iter().enumerate() {
            let gx = grad_x
                .as_deref_mut()
                .map(|g| &mut g[r * self.dim..(r + 1) * self.dim]);
            total += self
                .accumulate_row(
                    &cache,
                    x.row(i),
                    allowed[r].clone(),
                    weight,
                    grad,
                    gx,
                    &mut scratch,
                )
                .ok_or(DgdError::ZeroDensity { row: i })?;
        }
        Ok(total)
    }

    /// One row of [`GaussianMixturePrior::accumulate_rows`]; `None` if the allowed components
    /// all give density 0.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accumulate_row(
        &self,
        cache: &ComponentCache,
        x: &[f64],
        allowed: Range<usize>,
        weight: f64,
        grad: &mut PriorGradient,
        grad_x: Option<&mut [f64]>,
        scratch: &mut RowScratch,
    ) -> Option<f64> {
        let d = self.dim;
        self.log_components_row(cache, x, &mut scratch.log_joint);
        for (k, l) in scratch.log_joint.iter_mut().enumerate() {
            *l = if allowed.contains(&k) {
                *l + cache.log_weights[k]
            } else {
                f64::NEG_INFINITY
            };
        }
        let lse = log_sum_exp(&scratch.log_joint);
        if lse == f64::NEG_INFINITY {
            return None;
        }
        for (r, l) in scratch.resp.iter_mut().zip(&scratch.log_joint) {
            *r = (l - lse).exp();
        }
        for (k, g) in grad.logits.iter_mut().enumerate() {
            *g += weight * (cache.log_weights[k].exp() - scratch.resp[k]);
        }
        let mut gx = grad_x;
        for k in allowed {
            let r = scratch.resp[k];
            if r == 0.0 {
                continue;
            }
            for j in 0..d {
                let idx = k * d + j;
                let diff = x[j] - self.means[idx];
                let scaled = diff * cache.inv_var[idx];
                grad.means[idx] -= weight * r * scaled;
                let dv = weight * r * 0.5 * (1.0 - diff * scaled);
                match self.covariance {
                    CovarianceType::Diagonal => grad.log_var[idx] += dv,
                    CovarianceType::Isotropic => grad.log_var[k] += dv,
                    _ => {}
                }
                if let Some(g) = gx.as_deref_mut() {
                    g[j] += r * scaled;
                }
            }
        }
        Some(-lse)
    }

    /// Adds `scale · ∇(−log p(θ))` to `grad`.
    pub(crate) fn accumulate_prior(&self, scale: f64, grad: &mut PriorGradient) {
        for (m, g) in self
            .means
            .chunks_exact(self.dim)
            .zip(grad.means.chunks_exact_mut(self.dim))
        {
            self.mean_prior.add_grad_log_prob(m, -scale, g);
        }
        if let Some(p) = &self.log_var_prior {
            for (v, g) in self.log_var.iter().zip(&mut grad.log_var) {
                *g -= scale * p.grad_log_prob(*v);
            }
        }
        self.weight_prior
            .add_grad_logits(&self.mixture_probs(), -scale, &mut grad.logits);
    }

    /// The parameters in the optimiser's order: means, log-variances, logits.
    pub(crate) fn flat_parameters(&self) -> Vec<f64> {
        [&self.means[..], &self.log_var, &self.logits].concat()
    }

    /// Sets the parameters from the optimiser's vector (same length, assumed finite).
    pub(crate) fn set_flat_parameters(&mut self, flat: &[f64]) {
        let (nm, nv) = (self.means.len(), self.log_var.len());
        self.means.copy_from_slice(&flat[..nm]);
        self.log_var.copy_from_slice(&flat[nm..nm + nv]);
        self.logits.copy_from_slice(&flat[nm + nv..]);
    }
}
