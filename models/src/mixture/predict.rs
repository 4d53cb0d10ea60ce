//! What a mixture says about data: responsibilities, labels, log-densities, information
//! criteria (scikit-learn's and multiDGD's method names).

use super::estep::{Design, Responsibilities, check_rows, e_step, log_prob};
use super::{GaussianMixture, MixtureError};
use crate::samples::Samples;

/// The index of the largest entry of each row of `values` (`n × k` row-major); ties go to
/// the first, as numpy's `argmax`.
fn argmax_rows(values: &[f64], k: usize) -> Vec<usize> {
    values
        .chunks_exact(k)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

impl GaussianMixture {
    fn design<'a>(&self, x: &'a Samples) -> Result<Design<'a>, MixtureError> {
        x.check_width(self.n_features)?;
        Ok(Design::new(x, self.covariance_type))
    }

    /// Labels from a prepared design (the final E-step of a fit).
    pub(crate) fn predict_design(&self, design: &Design<'_>) -> Result<Vec<usize>, MixtureError> {
        let k = self.n_components();
        let joint = log_prob(self, design, true);
        check_rows(&joint, k)?;
        Ok(argmax_rows(&joint, k))
    }

    /// An E-step on `x`, with NaN (overflow) reported.
    fn checked_e_step(&self, x: &Samples) -> Result<Responsibilities, MixtureError> {
        let e = e_step(self, &self.design(x)?);
        check_rows(&e.log_prob_norm, 1)?;
        Ok(e)
    }

    /// Component log-densities on `x`, with NaN (overflow) reported.
    fn checked_log_prob(&self, x: &Samples, with_weights: bool) -> Result<Vec<f64>, MixtureError> {
        let p = log_prob(self, &self.design(x)?, with_weights);
        check_rows(&p, self.n_components())?;
        Ok(p)
    }

    /// The responsibilities `p(k | x_i)`, `[n, K]` row-major (scikit-learn's
    /// `predict_proba`). Errors if `x` has the wrong number of columns.
    pub fn predict_proba(&self, x: &Samples) -> Result<Vec<f64>, MixtureError> {
        Ok(self.checked_e_step(x)?.resp)
    }

    /// goal-jax's name for [`GaussianMixture::predict_proba`].
    pub fn posterior_soft_assignments(&self, x: &Samples) -> Result<Vec<f64>, MixtureError> {
        self.predict_proba(x)
    }

    /// The most probable component of each sample, `argmax_k w_k N(x_i; μ_k, Σ_k)`
    /// (scikit-learn's `predict`).
    pub fn predict(&self, x: &Samples) -> Result<Vec<usize>, MixtureError> {
        self.predict_design(&self.design(x)?)
    }

    /// multiDGD's name for [`GaussianMixture::predict`].
    pub fn clustering(&self, x: &Samples) -> Result<Vec<usize>, MixtureError> {
        self.predict(x)
    }

    /// `log p(x_i)` of every sample (scikit-learn's `score_samples`).
    pub fn score_samples(&self, x: &Samples) -> Result<Vec<f64>, MixtureError> {
        Ok(self.checked_e_step(x)?.log_prob_norm)
    }

    /// The mean of `log p(x_i)` (scikit-learn's `score`).
    pub fn score(&self, x: &Samples) -> Result<f64, MixtureError> {
        let s = self.score_samples(x)?;
        Ok(s.iter().sum::<f64>() / s.len() as f64)
    }

    /// The Bayesian information criterion `−2 n · score(x) + p ln n` with scikit-learn's
    /// parameter count `p` ([`GaussianMixture::n_parameters`]); lower is better.
    pub fn bic(&self, x: &Samples) -> Result<f64, MixtureError> {
        let n = x.rows() as f64;
        Ok(-2.0 * self.score(x)? * n + self.n_parameters() as f64 * n.ln())
    }

    /// The Akaike information criterion `−2 n · score(x) + 2p`; lower is better.
    pub fn aic(&self, x: &Samples) -> Result<f64, MixtureError> {
        let n = x.rows() as f64;
        Ok(-2.0 * self.score(x)? * n + 2.0 * self.n_parameters() as f64)
    }

    /// The component densities `N(x_i; μ_k, Σ_k)` without the weights, `[n, K]`
    /// row-major (multiDGD's `sample_probs`, which however includes the weights).
    pub fn sample_probs(&self, x: &Samples) -> Result<Vec<f64>, MixtureError> {
        let mut p = self.checked_log_prob(x, false)?;
        p.iter_mut().for_each(|v| *v = v.exp());
        Ok(p)
    }

    /// `log N(x_i; μ_k, Σ_k)` without the weights, `[n, K]` row-major (the logarithm of
    /// [`GaussianMixture::sample_probs`], without its underflow).
    pub fn component_log_densities(&self, x: &Samples) -> Result<Vec<f64>, MixtureError> {
        self.checked_log_prob(x, false)
    }
}
