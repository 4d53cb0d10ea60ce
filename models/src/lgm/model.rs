//! [`LinearGaussianModel`]: the parameters, their validation, and whitening of the prior.

use faer::Mat;

use super::{LgmError, NoiseType};
use crate::linalg::{self, Cholesky};

/// A linear Gaussian model `z ~ N(m, S)`, `x | z ~ N(μ + A z, D)` with `k` latent and `d`
/// observable dimensions, `1 ≤ k < d`, and `D` diagonal ([`NoiseType::Diagonal`], factor
/// analysis) or `σ² I` ([`NoiseType::Isotropic`], probabilistic PCA). See the
/// [module documentation](super) for its exponential-family (harmonium) form.
///
/// Parameters are stored in these source coordinates; matrices are row-major `f64`. Every
/// constructor validates shapes, finiteness and positivity, so a value of this type is
/// always a proper distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussianModel {
    noise_type: NoiseType,
    latent_dim: usize,
    /// `μ`, length `d`.
    mean: Vec<f64>,
    /// `A`, `d × k` row-major.
    loadings: Vec<f64>,
    /// The diagonal of `D`, length `d` (all equal when isotropic).
    noise: Vec<f64>,
    /// `m`, length `k`.
    prior_mean: Vec<f64>,
    /// `S`, `k × k` row-major.
    prior_cov: Vec<f64>,
}

pub(crate) fn check_finite(field: &'static str, values: &[f64]) -> Result<(), LgmError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(LgmError::NonFinite {
            field,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// `values` if all are finite, else [`LgmError::Overflow`] naming `what`: for quantities
/// computed from valid parameters, a non-finite value can only be an overflow.
pub(crate) fn finite_or_overflow(
    values: Vec<f64>,
    what: &'static str,
) -> Result<Vec<f64>, LgmError> {
    match values.iter().all(|v| v.is_finite()) {
        true => Ok(values),
        false => Err(LgmError::Overflow { what }),
    }
}

pub(crate) fn check_len(
    field: &'static str,
    values: &[f64],
    expected: usize,
) -> Result<(), LgmError> {
    if values.len() != expected {
        return Err(LgmError::Shape {
            field,
            expected,
            found: values.len(),
        });
    }
    Ok(())
}

/// Errors unless `1 ≤ latent_dim < observable_dim`.
pub(crate) fn check_latent_dim(latent_dim: usize, observable_dim: usize) -> Result<(), LgmError> {
    if latent_dim == 0 || latent_dim >= observable_dim {
        return Err(LgmError::LatentDim {
            latent_dim,
            observable_dim,
        });
    }
    Ok(())
}

/// Validates noise variances for `noise_type` over `d` dimensions and expands an isotropic
/// variance to `d` copies. Isotropic noise may be given as one value or as `d` equal values.
pub(crate) fn check_noise(
    noise_type: NoiseType,
    noise: Vec<f64>,
    d: usize,
) -> Result<Vec<f64>, LgmError> {
    let noise = match noise_type {
        NoiseType::Isotropic if noise.len() == 1 => vec![noise[0]; d],
        _ => noise,
    };
    check_len("noise_variance", &noise, d)?;
    check_finite("noise_variance", &noise)?;
    if let Some(index) = noise.iter().position(|&v| v <= 0.0) {
        return Err(LgmError::NonPositiveNoise {
            index,
            value: noise[index],
        });
    }
    if noise_type == NoiseType::Isotropic
        && let Some(index) = noise.iter().position(|&v| v != noise[0])
    {
        return Err(LgmError::NotIsotropic {
            index,
            value: noise[index],
            first: noise[0],
        });
    }
    Ok(noise)
}

impl LinearGaussianModel {
    /// A model with the standard prior `z ~ N(0, I)`: observable `mean` `μ` (length `d`),
    /// `loadings` `A` (`d × latent_dim`, row-major: row `i` holds the loadings of observable
    /// `i`), and noise variances (length `d`; for [`NoiseType::Isotropic`] also a single
    /// value). Errors name the field at fault: wrong lengths, non-finite values,
    /// non-positive or (isotropic) unequal noise, `latent_dim` not in `1..d`.
    ///
    /// ```
    /// use blockgibbs_models::lgm::{LinearGaussianModel, NoiseType};
    /// // 3 observables, 1 factor: x = μ + a z + ε.
    /// let m = LinearGaussianModel::new(
    ///     NoiseType::Diagonal,
    ///     vec![0.0, 1.0, 2.0],
    ///     vec![1.0, 0.5, -0.5],
    ///     1,
    ///     vec![0.1, 0.2, 0.3],
    /// )
    /// .unwrap();
    /// assert_eq!((m.observable_dim(), m.latent_dim()), (3, 1));
    /// assert!(LinearGaussianModel::new(NoiseType::Diagonal, vec![0.0; 3], vec![1.0; 3], 1,
    ///     vec![0.1, 0.0, 0.3]).is_err());
    /// ```
    pub fn new(
        noise_type: NoiseType,
        mean: Vec<f64>,
        loadings: Vec<f64>,
        latent_dim: usize,
        noise_variance: Vec<f64>,
    ) -> Result<LinearGaussianModel, LgmError> {
        let d = mean.len();
        check_latent_dim(latent_dim, d)?;
        check_finite("mean", &mean)?;
        check_len("loadings", &loadings, d * latent_dim)?;
        check_finite("loadings", &loadings)?;
        let noise = check_noise(noise_type, noise_variance, d)?;
        let mut prior_cov = vec![0.0; latent_dim * latent_dim];
        for j in 0..latent_dim {
            prior_cov[j * latent_dim + j] = 1.0;
        }
        Ok(LinearGaussianModel {
            noise_type,
            latent_dim,
            mean,
            loadings,
            noise,
            prior_mean: vec![0.0; latent_dim],
            prior_cov,
        })
    }

    /// The same model with prior `z ~ N(prior_mean, prior_covariance)` (`k`, and `k × k`
    /// row-major, symmetric positive definite; only its lower triangle is read and the
    /// matrix is stored symmetrised). The observable marginal changes with the prior;
    /// [`LinearGaussianModel::whiten`] maps back to the standard prior without changing it.
    pub fn with_prior(
        mut self,
        prior_mean: Vec<f64>,
        prior_covariance: Vec<f64>,
    ) -> Result<LinearGaussianModel, LgmError> {
        let k = self.latent_dim;
        check_len("prior_mean", &prior_mean, k)?;
        check_finite("prior_mean", &prior_mean)?;
        check_len("prior_covariance", &prior_covariance, k * k)?;
        check_finite("prior_covariance", &prior_covariance)?;
        let lower = Mat::from_fn(k, k, |i, j| {
            let (r, c) = if i >= j { (i, j) } else { (j, i) };
            prior_covariance[r * k + c]
        });
        Cholesky::new(lower.as_ref(), "prior covariance")?;
        self.prior_mean = prior_mean;
        self.prior_cov = linalg::to_rows(lower.as_ref());
        Ok(self)
    }

    /// Diagonal (factor analysis) or isotropic (probabilistic PCA) noise.
    pub fn noise_type(&self) -> NoiseType {
        self.noise_type
    }

    /// `d`, the number of observable dimensions.
    pub fn observable_dim(&self) -> usize {
        self.mean.len()
    }

    /// `k`, the number of latent dimensions (factors).
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// `μ`, the observable offset (the marginal mean when the prior mean is zero).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// `A`, `d × k` row-major.
    pub fn loadings(&self) -> &[f64] {
        &self.loadings
    }

    /// The diagonal of `D`, one variance per observable dimension (all equal for PPCA).
    pub fn noise_variance(&self) -> &[f64] {
        &self.noise
    }

    /// `m`, the prior mean of the latent.
    pub fn prior_mean(&self) -> &[f64] {
        &self.prior_mean
    }

    /// `S`, the prior covariance of the latent, `k × k` row-major.
    pub fn prior_covariance(&self) -> &[f64] {
        &self.prior_cov
    }

    /// Whether the prior is exactly `N(0, I)` (always so after [`Self::whiten`] or a fit).
    pub fn has_standard_prior(&self) -> bool {
        let k = self.latent_dim;
        self.prior_mean.iter().all(|&v| v == 0.0)
            && (0..k * k).all(|i| self.prior_cov[i] == if i % (k + 1) == 0 { 1.0 } else { 0.0 })
    }

    /// The equivalent model with the standard prior `N(0, I)` and the same observable
    /// distribution `p(x)`: with `S = L Lᵀ` (Cholesky), `z' = L⁻¹(z − m)` is standard normal
    /// and `μ + A z = (μ + A m) + (A L) z'`, so `A' = A L` and `μ' = μ + A m`. The noise
    /// is unchanged. The posterior over `z'` is the image of the posterior over `z`.
    pub fn whiten(&self) -> Result<LinearGaussianModel, LgmError> {
        let k = self.latent_dim;
        let chol = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let a = self.loadings_mat();
        let whitened = &a * chol.lower();
        LinearGaussianModel::new(
            self.noise_type,
            self.marginal_mean()?,
            linalg::to_rows(whitened.as_ref()),
            k,
            self.noise.clone(),
        )
    }

    /// `μ + A m`, the mean of the observable marginal.
    pub fn marginal_mean(&self) -> Result<Vec<f64>, LgmError> {
        let k = self.latent_dim;
        let out: Vec<f64> = self
            .mean
            .iter()
            .zip(self.loadings.chunks_exact(k))
            .map(|(mu, row)| {
                mu + row
                    .iter()
                    .zip(&self.prior_mean)
                    .map(|(a, m)| a * m)
                    .sum::<f64>()
            })
            .collect();
        finite_or_overflow(out, "marginal mean")
    }

    /// `A` as a `d × k` faer matrix.
    pub(crate) fn loadings_mat(&self) -> Mat<f64> {
        let k = self.latent_dim;
        Mat::from_fn(self.mean.len(), k, |i, j| self.loadings[i * k + j])
    }

    /// `S` as a `k × k` faer matrix.
    pub(crate) fn prior_cov_mat(&self) -> Mat<f64> {
        let k = self.latent_dim;
        Mat::from_fn(k, k, |i, j| self.prior_cov[i * k + j])
    }
}
