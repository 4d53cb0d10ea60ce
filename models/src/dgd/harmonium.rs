//! The mixture prior as a conjugated harmonium (categorical component `c`, Gaussian latent
//! vector `z`), which is how it is sampled on the engine: `c` gates the Gaussian means and
//! precisions of `z`'s coordinates, and block Gibbs alternates `z ~ p(z | c)` and
//! `c ~ p(c | z)`. Each runtime chain is one latent vector.

use faer::Mat;

use super::GaussianMixturePrior;
use crate::expfam::{Categorical, Gaussian};
use crate::harmonium::{Harmonium, HarmoniumError};

impl GaussianMixturePrior {
    /// The mixture `p(c, z)` as a harmonium with the same densities (the parameter priors
    /// are not part of it: they are densities over `θ`, not over `(c, z)`).
    pub fn to_harmonium(&self) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        let d = self.dim();
        let family = Gaussian::new(d, self.covariance_type())?;
        let variances = self.covariance();
        let components = (0..self.n_components())
            .map(|k| {
                let cov =
                    Mat::from_fn(d, d, |i, j| if i == j { variances[k * d + i] } else { 0.0 });
                Ok(family.natural_from_mean_covariance(self.mean(k), cov.as_ref())?)
            })
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        Harmonium::from_components(family, &self.mixture_probs(), &components)
    }
}
