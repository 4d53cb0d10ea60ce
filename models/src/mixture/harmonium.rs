//! The mixture as a conjugated harmonium (categorical latent `c`, Gaussian observable `x`):
//! the form in which it is sampled on the engine — `c` gates the Gaussian means, precisions
//! and (for full covariances) couplings of `x`'s coordinates — and in which it meets the
//! other Models II families.

use super::GaussianMixture;
use crate::expfam::{Categorical, Gaussian};
use crate::harmonium::{Harmonium, HarmoniumError};
use crate::linalg::from_rows;

impl GaussianMixture {
    /// The mixture `p(c, x)` as a harmonium with the same densities: component `k`'s natural
    /// parameters `(Λ_k μ_k, −½ Λ_k)` in the layout of a Gaussian family of this covariance
    /// type, and the weights as the prior.
    pub fn to_harmonium(&self) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        let d = self.n_features();
        let family = Gaussian::new(d, self.covariance_type())?;
        let components = (0..self.n_components())
            .map(|k| {
                let precision = from_rows(d, d, &self.component_precision(k), "precision")?;
                Ok(family.natural_from_mean_precision(self.mean(k), precision.as_ref())?)
            })
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        Harmonium::from_components(family, self.weights(), &components)
    }
}
