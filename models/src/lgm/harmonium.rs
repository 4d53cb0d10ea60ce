//! The exponential-family view of a linear Gaussian model: the joint as the crate's generic
//! [`Harmonium`] (natural parameters, conjugation, log partition), and the centred mean
//! statistics with their maximum-likelihood map back to parameters (the M-step of EM,
//! [`LinearGaussianModel::from_mean_statistics`], which floors the noise variances).

use faer::Mat;

use super::model::{check_finite, check_latent_dim, check_len, finite_or_overflow};
use super::{LgmError, LinearGaussianModel, NoiseType};
use crate::expfam::{CovarianceType, Gaussian};
use crate::harmonium::{Harmonium, HarmoniumError};
use crate::linalg::{self, Cholesky};

/// A harmonium construction error, as an overflow when the parameters were finite but their
/// natural form is not (loadings of 1e200 over noise of 1e-200).
fn overflow_or(e: HarmoniumError) -> LgmError {
    match e {
        HarmoniumError::Family(crate::expfam::ExpFamError::NonFinite { .. })
        | HarmoniumError::Linalg(linalg::LinalgError::NonFinite { .. }) => LgmError::Overflow {
            what: "natural parameters",
        },
        other => LgmError::Harmonium(other),
    }
}

/// The mean parameters of the joint, `E[s(x, z)]` for the harmonium's sufficient statistic
/// `s(x, z) = (x, x∘x, z, z zᵀ, x zᵀ)`, stored centred for accuracy: the raw moments are
/// `E[x∘x] = var + mean²`, `E[z zᵀ] = Cov z + E[z] E[z]ᵀ` and
/// `E[x zᵀ] = Cov(x, z) + E[x] E[z]ᵀ`. For isotropic noise the statistic is `Σ_i x_i²`,
/// whose mean is the sum of the per-dimension second moments.
///
/// EM's E-step produces these (averaged over the data and the posterior); its M-step maps
/// them back to parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LgmMeanStatistics {
    /// `E[x]`, length `d`.
    pub observable_mean: Vec<f64>,
    /// `Var x_i`, length `d`.
    pub observable_variance: Vec<f64>,
    /// `E[z]`, length `k`.
    pub latent_mean: Vec<f64>,
    /// `Cov z`, `k × k` row-major.
    pub latent_covariance: Vec<f64>,
    /// `Cov(x, z)`, `d × k` row-major.
    pub cross_covariance: Vec<f64>,
}

impl LinearGaussianModel {
    /// The model as a harmonium of the crate's exponential families — a Gaussian
    /// observable of the noise's covariance type coupled through `x` to a full-covariance
    /// Gaussian latent through `z` — with the same joint density. Its natural parameters,
    /// conjugation parameters, log partition and engine lowering are the harmonium's.
    pub fn to_harmonium(&self) -> Result<Harmonium<Gaussian, Gaussian>, LgmError> {
        let d = self.observable_dim();
        let observable = Gaussian::new(d, self.noise_type().covariance_type())?;
        let noise = Mat::from_fn(d, d, |i, j| {
            if i == j {
                self.noise_variance()[i]
            } else {
                0.0
            }
        });
        let h = Harmonium::linear_gaussian(
            observable,
            self.mean(),
            self.loadings_mat().as_ref(),
            noise.as_ref(),
            self.prior_mean(),
            self.prior_cov_mat().as_ref(),
        )
        .map_err(overflow_or)?;
        Ok(h)
    }

    /// The model with the joint density of a linear Gaussian harmonium (the inverse of
    /// [`Self::to_harmonium`]); the observable must have diagonal or isotropic covariance
    /// and the prior must be normalisable.
    pub fn from_harmonium(
        h: &Harmonium<Gaussian, Gaussian>,
    ) -> Result<LinearGaussianModel, LgmError> {
        let noise_type = match h.observable().covariance_type() {
            CovarianceType::Diagonal => NoiseType::Diagonal,
            CovarianceType::Isotropic => NoiseType::Isotropic,
            other => {
                return Err(LgmError::Harmonium(HarmoniumError::Unsupported {
                    operation: "reading a linear Gaussian model",
                    reason: format!("the observable noise is {other}, not diagonal or isotropic"),
                }));
            }
        };
        let parts = h.linear_gaussian_parts()?;
        let d = parts.mean.len();
        let k = parts.loadings.ncols();
        let noise = (0..d).map(|i| parts.noise[(i, i)]).collect();
        LinearGaussianModel::new(
            noise_type,
            parts.mean,
            linalg::to_rows(parts.loadings.as_ref()),
            k,
            noise,
        )?
        .with_prior(
            parts.prior_mean,
            linalg::to_rows(parts.prior_covariance.as_ref()),
        )
    }

    /// The mean parameters of the model's own joint (see [`LgmMeanStatistics`]):
    /// `E[x] = μ + A m`, `Var x_i = (A S Aᵀ)_ii + D_ii`, `E[z] = m`, `Cov z = S`,
    /// `Cov(x, z) = A S`.
    pub fn mean_statistics(&self) -> Result<LgmMeanStatistics, LgmError> {
        let k = self.latent_dim();
        let a = self.loadings_mat();
        let cross = &a * &self.prior_cov_mat();
        let variance = (0..self.observable_dim())
            .map(|i| {
                (0..k).map(|j| cross[(i, j)] * a[(i, j)]).sum::<f64>() + self.noise_variance()[i]
            })
            .collect();
        Ok(LgmMeanStatistics {
            observable_mean: self.marginal_mean()?,
            observable_variance: finite_or_overflow(variance, "observable variance")?,
            latent_mean: self.prior_mean().to_vec(),
            latent_covariance: self.prior_covariance().to_vec(),
            cross_covariance: finite_or_overflow(
                linalg::to_rows(cross.as_ref()),
                "cross covariance",
            )?,
        })
    }

    /// The maximum-likelihood model for the mean statistics `stats` within the family of
    /// `noise_type` — the inverse of [`Self::mean_statistics`] on that family and the M-step
    /// of EM. The joint Gaussian is fitted as a prior and a regression: `m = E[z]`,
    /// `S = Cov z`, `A = Cov(x, z) S⁻¹`, `μ = E[x] − A m`, and the residual variances
    /// `D_ii = Var x_i − (A Cov(z, x))_ii` (their mean for isotropic noise), floored at
    /// `min_noise_variance` (the constrained maximum, since each term of the expected
    /// log-likelihood is unimodal in `D_ii`). The result keeps the prior `N(m, S)`;
    /// [`Self::whiten`] maps it to the standard prior.
    pub fn from_mean_statistics(
        noise_type: NoiseType,
        stats: &LgmMeanStatistics,
        min_noise_variance: f64,
    ) -> Result<LinearGaussianModel, LgmError> {
        let d = stats.observable_mean.len();
        let k = stats.latent_mean.len();
        check_latent_dim(k, d)?;
        check_len("observable_variance", &stats.observable_variance, d)?;
        check_len("latent_covariance", &stats.latent_covariance, k * k)?;
        check_len("cross_covariance", &stats.cross_covariance, d * k)?;
        for (field, values) in [
            ("observable_mean", &stats.observable_mean),
            ("observable_variance", &stats.observable_variance),
            ("latent_mean", &stats.latent_mean),
            ("latent_covariance", &stats.latent_covariance),
            ("cross_covariance", &stats.cross_covariance),
        ] {
            check_finite(field, values)?;
        }
        let latent_cov = Mat::from_fn(k, k, |i, j| stats.latent_covariance[i * k + j]);
        let latent_cov = linalg::symmetrize(latent_cov.as_ref());
        let chol = Cholesky::new(latent_cov.as_ref(), "latent covariance Cov z")?;
        let cross = Mat::from_fn(d, k, |i, j| stats.cross_covariance[i * k + j]);
        let loadings = chol.solve(cross.transpose()).transpose().to_owned();
        let mut residual: Vec<f64> = (0..d)
            .map(|i| {
                stats.observable_variance[i]
                    - (0..k)
                        .map(|j| loadings[(i, j)] * cross[(i, j)])
                        .sum::<f64>()
            })
            .collect();
        if noise_type == NoiseType::Isotropic {
            let average = residual.iter().sum::<f64>() / d as f64;
            residual.iter_mut().for_each(|v| *v = average);
        }
        residual
            .iter_mut()
            .for_each(|v| *v = v.max(min_noise_variance));
        let mean: Vec<f64> = (0..d)
            .map(|i| {
                stats.observable_mean[i]
                    - (0..k)
                        .map(|j| loadings[(i, j)] * stats.latent_mean[j])
                        .sum::<f64>()
            })
            .collect();
        LinearGaussianModel::new(
            noise_type,
            mean,
            linalg::to_rows(loadings.as_ref()),
            k,
            residual,
        )?
        .with_prior(
            stats.latent_mean.clone(),
            linalg::to_rows(latent_cov.as_ref()),
        )
    }
}
