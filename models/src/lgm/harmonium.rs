//! The exponential-family view of a linear Gaussian model: natural parameters of the joint
//! harmonium, its log partition and conjugation parameters, and the mean ↔ natural maps
//! (the M-step of EM is [`LinearGaussianModel::from_mean_statistics`]).

use faer::Mat;

use super::model::{check_finite, check_latent_dim, check_len, finite_or_overflow};
use super::{LgmError, LinearGaussianModel, NoiseType};
use crate::linalg::{self, Cholesky};

use super::density::LN_2PI;

/// Natural parameters of the joint `p(x, z)` written as a harmonium,
///
/// ```text
/// log p(x, z) = θ_x·x − ½ Σ_i P_x,i x_i² + θ_z·z − ½ zᵀ P_z z + xᵀ Θ z − ψ,
/// ```
///
/// with a Gaussian observable of diagonal (or isotropic) precision `P_x = D⁻¹`, a Gaussian
/// latent, and an interaction `Θ = D⁻¹ A` on the first moments only. In the usual
/// `(η₁, η₂)` form of a Gaussian the second natural parameter is `−½ P`; the precisions
/// are stored here because they are what users reason about. The latent terms are *not*
/// the prior: the prior is `(θ_z, P_z) + ρ` with the [`ConjugationParameters`] `ρ`.
#[derive(Clone, Debug, PartialEq)]
pub struct LgmNaturalParameters {
    /// `θ_x = D⁻¹ μ`, length `d`.
    pub observable_linear: Vec<f64>,
    /// `P_x = D⁻¹`, the diagonal, length `d` (all equal for isotropic noise).
    pub observable_precision: Vec<f64>,
    /// `Θ = D⁻¹ A`, `d × k` row-major.
    pub interaction: Vec<f64>,
    /// `θ_z = S⁻¹ m − Aᵀ D⁻¹ μ`, length `k`.
    pub latent_linear: Vec<f64>,
    /// `P_z = S⁻¹ + Aᵀ D⁻¹ A`, `k × k` row-major: also the precision of every posterior
    /// `p(z | x)`, whose linear term is `θ_z + Θᵀ x`.
    pub latent_precision: Vec<f64>,
}

/// The conjugation parameters `ρ` of the harmonium: the observable log partition satisfies
/// `ψ_X(θ_x + Θ z, P_x) = ψ_X(θ_x, P_x) + ρ_linear·z − ½ zᵀ ρ_precision z` for every `z`,
/// so the prior over `z` has natural parameters `(θ_z + ρ_linear, P_z + ρ_precision)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConjugationParameters {
    /// `Aᵀ D⁻¹ μ`, length `k`.
    pub linear: Vec<f64>,
    /// `−Aᵀ D⁻¹ A`, `k × k` row-major.
    pub precision: Vec<f64>,
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
    /// The natural parameters of the joint `p(x, z)` (see [`LgmNaturalParameters`]).
    pub fn natural_parameters(&self) -> Result<LgmNaturalParameters, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        let precision: Vec<f64> = self.noise_variance().iter().map(|v| 1.0 / v).collect();
        let interaction: Vec<f64> = (0..d * k)
            .map(|i| self.loadings()[i] * precision[i / k])
            .collect();
        let rho = self.conjugation_parameters()?;
        let prior_precision =
            Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?.inverse();
        let prior_linear = mat_vec(&prior_precision, self.prior_mean());
        let out = LgmNaturalParameters {
            observable_linear: self
                .mean()
                .iter()
                .zip(&precision)
                .map(|(m, p)| m * p)
                .collect(),
            observable_precision: precision,
            interaction,
            latent_linear: prior_linear
                .iter()
                .zip(&rho.linear)
                .map(|(a, b)| a - b)
                .collect(),
            latent_precision: (0..k * k)
                .map(|i| prior_precision[(i / k, i % k)] - rho.precision[i])
                .collect(),
        };
        for (field, values) in [
            ("observable_precision", &out.observable_precision),
            ("interaction", &out.interaction),
            ("latent_precision", &out.latent_precision),
        ] {
            check_finite(field, values).map_err(|_| LgmError::Overflow { what: field })?;
        }
        Ok(out)
    }

    /// The model with natural parameters `theta` (the inverse of
    /// [`Self::natural_parameters`]): `D = P_x⁻¹`, `μ = D θ_x`, `A = D Θ`, prior precision
    /// `S⁻¹ = P_z − Θᵀ D Θ` (must be positive definite: otherwise the joint is not
    /// normalisable) and `m = S (θ_z + Θᵀ μ)`.
    pub fn from_natural_parameters(
        noise_type: NoiseType,
        theta: &LgmNaturalParameters,
    ) -> Result<LinearGaussianModel, LgmError> {
        let d = theta.observable_linear.len();
        let k = theta.latent_linear.len();
        check_latent_dim(k, d)?;
        check_len("observable_precision", &theta.observable_precision, d)?;
        check_len("interaction", &theta.interaction, d * k)?;
        check_len("latent_precision", &theta.latent_precision, k * k)?;
        for (field, values) in [
            ("observable_linear", &theta.observable_linear),
            ("observable_precision", &theta.observable_precision),
            ("interaction", &theta.interaction),
            ("latent_linear", &theta.latent_linear),
            ("latent_precision", &theta.latent_precision),
        ] {
            check_finite(field, values)?;
        }
        if let Some(index) = theta.observable_precision.iter().position(|&p| p <= 0.0) {
            return Err(LgmError::NotPositive {
                field: "observable_precision",
                index,
                value: theta.observable_precision[index],
            });
        }
        let noise: Vec<f64> = theta.observable_precision.iter().map(|p| 1.0 / p).collect();
        let mean: Vec<f64> = theta
            .observable_linear
            .iter()
            .zip(&noise)
            .map(|(t, v)| t * v)
            .collect();
        let loadings: Vec<f64> = (0..d * k)
            .map(|i| theta.interaction[i] * noise[i / k])
            .collect();
        let big_theta = Mat::from_fn(d, k, |i, j| theta.interaction[i * k + j]);
        let scaled = Mat::from_fn(d, k, |i, j| big_theta[(i, j)] * noise[i]);
        let correction = big_theta.transpose() * &scaled;
        let prior_precision = Mat::from_fn(k, k, |i, j| {
            theta.latent_precision[i * k + j] - correction[(i, j)]
        });
        let prior_precision = Cholesky::new(
            linalg::symmetrize(prior_precision.as_ref()).as_ref(),
            "prior precision P_z − Θᵀ D Θ",
        )?;
        let prior_cov = linalg::symmetrize(prior_precision.inverse().as_ref());
        let shifted: Vec<f64> = (0..k)
            .map(|j| {
                theta.latent_linear[j] + (0..d).map(|i| big_theta[(i, j)] * mean[i]).sum::<f64>()
            })
            .collect();
        let prior_mean = mat_vec(&prior_cov, &shifted);
        LinearGaussianModel::new(noise_type, mean, loadings, k, noise)?
            .with_prior(prior_mean, linalg::to_rows(prior_cov.as_ref()))
    }

    /// The conjugation parameters `ρ` (see [`ConjugationParameters`]).
    pub fn conjugation_parameters(&self) -> Result<ConjugationParameters, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        let a = self.loadings_mat();
        let noise = self.noise_variance();
        let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let quadratic = a.transpose() * &scaled;
        let linear = (0..k)
            .map(|j| (0..d).map(|i| scaled[(i, j)] * self.mean()[i]).sum())
            .collect();
        let precision = (0..k * k).map(|i| -quadratic[(i / k, i % k)]).collect();
        Ok(ConjugationParameters {
            linear: finite_or_overflow(linear, "conjugation parameters")?,
            precision: finite_or_overflow(precision, "conjugation parameters")?,
        })
    }

    /// The log partition `ψ` of the joint in [`LgmNaturalParameters`] form (Lebesgue base
    /// measure): `½ (μᵀ D⁻¹ μ + log det 2πD + mᵀ S⁻¹ m + log det 2πS)`, which equals
    /// `ψ_Z(θ_z + ρ) + ψ_X(θ_x)` of the conjugated harmonium.
    pub fn log_partition(&self) -> Result<f64, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        let prior = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let solved = prior.solve_vec(self.prior_mean());
        let prior_quad: f64 = solved
            .iter()
            .zip(self.prior_mean())
            .map(|(a, b)| a * b)
            .sum();
        let obs_quad: f64 = self
            .mean()
            .iter()
            .zip(self.noise_variance())
            .map(|(m, v)| m * m / v)
            .sum();
        let obs_log_det: f64 = self.noise_variance().iter().map(|v| v.ln()).sum();
        let out =
            0.5 * (obs_quad + obs_log_det + prior_quad + prior.log_det() + (d + k) as f64 * LN_2PI);
        if !out.is_finite() {
            return Err(LgmError::Overflow {
                what: "log partition",
            });
        }
        Ok(out)
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

/// `M v` for a square faer matrix.
fn mat_vec(m: &Mat<f64>, v: &[f64]) -> Vec<f64> {
    (0..m.nrows())
        .map(|i| (0..m.ncols()).map(|j| m[(i, j)] * v[j]).sum())
        .collect()
}
