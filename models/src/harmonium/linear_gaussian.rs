//! Linear Gaussian models as harmoniums: construction from and reading back to the
//! generative parameters `z ~ N(m, S)`, `x | z ~ N(μ + A z, D)`.

use faer::{Mat, MatRef};

use super::{Conjugated, Coupling, Harmonium, HarmoniumError};
use crate::expfam::{CovarianceType, ExponentialFamily, Gaussian};
use crate::linalg::{Cholesky, spd_inverse, to_rows};

/// The generative parameters of a linear Gaussian model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussianParts {
    /// `μ` (`d`).
    pub mean: Vec<f64>,
    /// `A`, `d × k`.
    pub loadings: Mat<f64>,
    /// `D`, `d × d` (representable by the observable family).
    pub noise: Mat<f64>,
    /// The prior mean `m` (`k`).
    pub prior_mean: Vec<f64>,
    /// The prior covariance `S`, `k × k`.
    pub prior_covariance: Mat<f64>,
}

impl Harmonium<Gaussian, Gaussian> {
    /// The linear Gaussian model `z ~ N(m, S)`, `x | z ~ N(μ + A z, D)` over an observable
    /// family (its covariance type must represent `D`) and a full-covariance latent: `θ_X`
    /// encodes `N(μ, D)`, `Θ = D⁻¹ A`, and the latent bias is the prior's natural parameters
    /// minus the conjugation parameters.
    pub fn linear_gaussian(
        observable: Gaussian,
        mean: &[f64],
        loadings: MatRef<'_, f64>,
        noise: MatRef<'_, f64>,
        prior_mean: &[f64],
        prior_covariance: MatRef<'_, f64>,
    ) -> Result<Harmonium<Gaussian, Gaussian>, HarmoniumError> {
        let k = loadings.ncols();
        let latent = Gaussian::new(k, CovarianceType::Full)?;
        let precision = spd_inverse(noise, "the noise covariance")?;
        let observable_bias = observable.natural_from_mean_precision(mean, precision.as_ref())?;
        let interaction = to_rows((&precision * loadings).as_ref());
        let couplings = (Coupling::Location, Coupling::Location);
        let unbiased = Harmonium::new(
            observable,
            latent,
            couplings,
            observable_bias,
            vec![0.0; latent.dim()],
            interaction,
        )?;
        let rho = unbiased.conjugation_parameters()?;
        let prior = latent.natural_from_mean_covariance(prior_mean, prior_covariance)?;
        let latent_bias = prior.iter().zip(&rho).map(|(p, r)| p - r).collect();
        Harmonium::new(
            observable,
            latent,
            couplings,
            unbiased.observable_bias().to_vec(),
            latent_bias,
            unbiased.interaction().to_vec(),
        )
    }

    /// The generative parameters of a linear Gaussian harmonium (the inverse of
    /// [`Harmonium::linear_gaussian`]): `D` from the observable precision, `μ = D η`,
    /// `A = D Θ`, and the prior from [`Conjugated::prior`].
    pub fn linear_gaussian_parts(&self) -> Result<LinearGaussianParts, HarmoniumError> {
        let (d, k) = (self.observable().data_dim(), self.latent().data_dim());
        let (mean, noise) = self.observable().mean_covariance(self.observable_bias())?;
        let theta = Mat::from_fn(d, k, |i, j| self.interaction()[i * k + j]);
        let loadings = &noise * &theta;
        let (prior_mean, prior_covariance) = self.latent().mean_covariance(&self.prior()?)?;
        Cholesky::new(prior_covariance.as_ref(), "the prior covariance")?;
        Ok(LinearGaussianParts {
            mean,
            loadings,
            noise,
            prior_mean,
            prior_covariance,
        })
    }
}
