//! Exact i.i.d. sampling (ancestral: a component, then a Gaussian through the Cholesky
//! factor of its covariance) with a seeded ChaCha8 stream.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{GaussianMixture, MixtureError};
use crate::expfam::CovarianceType;
use crate::linalg::{Cholesky, MatRef};
use crate::samples::Samples;

/// What [`GaussianMixture::sample_new_points`] returns for each component (multiDGD's
/// `resample_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NewPoints {
    /// The component means (`'mean'`).
    Mean,
    /// Draws from the components (`'sample'`).
    Sample,
}

impl GaussianMixture {
    /// The lower Cholesky factors `L_k` (`Σ_k = L_k L_kᵀ`) as row-major `d × d`, or the
    /// standard deviations for the non-full types.
    fn draw_scales(&self) -> Result<Vec<Vec<f64>>, MixtureError> {
        let d = self.n_features;
        (0..self.n_components())
            .map(|k| match self.covariance_type {
                CovarianceType::Full => {
                    let cov = MatRef::from_row_major_slice(
                        &self.covariances[k * d * d..(k + 1) * d * d],
                        d,
                        d,
                    );
                    // Cannot fail for a built model (its covariances were factorised then),
                    // but a typed error costs nothing.
                    let chol = Cholesky::new(cov, "covariance").map_err(|e| {
                        MixtureError::NotPositiveDefinite {
                            field: "covariances",
                            component: k,
                            reason: e.to_string(),
                        }
                    })?;
                    Ok(crate::linalg::to_rows(chol.lower()))
                }
                _ => Ok(self.stddev()[k * d..(k + 1) * d].to_vec()),
            })
            .collect()
    }

    /// Appends one draw from component `k` to `out`.
    fn draw_into(&self, k: usize, scale: &[f64], rng: &mut ChaCha8Rng, out: &mut Vec<f64>) {
        let d = self.n_features;
        let z: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        let mu = self.mean(k);
        for i in 0..d {
            let noise = match self.covariance_type {
                CovarianceType::Full => (0..=i).map(|j| scale[i * d + j] * z[j]).sum(),
                _ => scale[i] * z[i],
            };
            out.push(mu[i] + noise);
        }
    }

    fn check_count(n: usize) -> Result<(), MixtureError> {
        if n == 0 {
            return Err(MixtureError::InvalidArgument {
                field: "n",
                value: "0".into(),
                reason: "at least one sample",
            });
        }
        Ok(())
    }

    /// `n` i.i.d. draws from the mixture and the component each came from (scikit-learn's
    /// `sample`: the draws are grouped by component, in component order).
    pub fn sample(&self, n: usize, seed: u64) -> Result<(Samples, Vec<usize>), MixtureError> {
        Self::check_count(n)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut labels: Vec<usize> = (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let last = self.weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                self.weights
                    .iter()
                    .position(|&w| {
                        acc += w;
                        u < acc
                    })
                    .unwrap_or(last)
            })
            .collect();
        labels.sort_unstable();
        let scales = self.draw_scales()?;
        let mut values = Vec::with_capacity(n * self.n_features);
        for &k in &labels {
            self.draw_into(k, &scales[k], &mut rng, &mut values);
        }
        // Only covariances near f64::MAX could overflow a draw; that is a typed error too.
        let x = Samples::new(values, self.n_features)?;
        Ok((x, labels))
    }

    /// `n` draws from every component, `[n, K, d]` row-major: entry `(i, k, j)` at
    /// `(i·K + k)·d + j` (multiDGD's `component_sample`).
    pub fn component_sample(&self, n: usize, seed: u64) -> Result<Vec<f64>, MixtureError> {
        Self::check_count(n)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let scales = self.draw_scales()?;
        let mut values = Vec::with_capacity(n * self.n_components() * self.n_features);
        for _ in 0..n {
            for (k, scale) in scales.iter().enumerate() {
                self.draw_into(k, scale, &mut rng, &mut values);
            }
        }
        Ok(values)
    }

    /// `n` new points per component, `[n·K, d]` row-major with point `i` of component `k`
    /// in row `i·K + k` (multiDGD's `sample_new_points`): the means repeated `n` times, or
    /// [`GaussianMixture::component_sample`] flattened. (multiDGD returns the means once
    /// whatever `n`: `n = 1` is its behaviour.)
    pub fn sample_new_points(
        &self,
        mode: NewPoints,
        n: usize,
        seed: u64,
    ) -> Result<Vec<f64>, MixtureError> {
        Self::check_count(n)?;
        match mode {
            NewPoints::Mean => Ok(self.means.repeat(n)),
            NewPoints::Sample => self.component_sample(n, seed),
        }
    }
}
