//! Finite mixtures: harmoniums with a [`Categorical`] latent, seen component by component.
//!
//! Component `k` has natural parameters `θ_X + Θ e_k` (component 0: `θ_X`), the prior
//! weights are the categorical with natural parameters `θ_Z + ρ`, and the joint mean
//! parameters `[E s_X, E s_Z, E s_X ⊗ s_Z]` split into the weights and the components'
//! mean parameters `E[s_X | z = k]`.

use super::{Conjugated, Coupling, Harmonium, HarmoniumError};
use crate::expfam::{Categorical, ExponentialFamily, check_vector};

impl<X: ExponentialFamily> Harmonium<X, Categorical> {
    /// A mixture from its weights (positive, summing to 1) and the natural parameters of
    /// its components, every observable coordinate coupled.
    pub fn from_components(
        observable: X,
        weights: &[f64],
        components: &[Vec<f64>],
    ) -> Result<Harmonium<X, Categorical>, HarmoniumError> {
        let k = components.len();
        let latent = Categorical::new(k)?;
        let prior = latent.natural_from_probabilities(weights)?;
        let rows = observable.dim();
        for c in components {
            check_vector("component", c, rows)?;
        }
        let mut interaction = vec![0.0; rows * (k - 1)];
        for r in 0..rows {
            for c in 1..k {
                interaction[r * (k - 1) + c - 1] = components[c][r] - components[0][r];
            }
        }
        let psi0 = observable.log_partition(&components[0])?;
        let latent_bias = (1..k)
            .map(|c| Ok(prior[c - 1] - (observable.log_partition(&components[c])? - psi0)))
            .collect::<Result<Vec<f64>, HarmoniumError>>()?;
        Harmonium::new(
            observable,
            latent,
            (Coupling::Full, Coupling::Full),
            components[0].clone(),
            latent_bias,
            interaction,
        )
    }

    /// Natural parameters of component `k`: `θ_X + Θ e_k`.
    pub fn component(&self, k: usize) -> Result<Vec<f64>, HarmoniumError> {
        self.likelihood_at(&[k as f64])
    }

    /// The mixture weights `p(z = k)`.
    pub fn weights(&self) -> Result<Vec<f64>, HarmoniumError> {
        Ok(self.latent().probabilities(&self.prior()?)?)
    }

    /// The joint mean parameters `[E s_X, E s_Z, E s_X ⊗ s_Z]`.
    pub fn mean_parameters(&self) -> Result<Vec<f64>, HarmoniumError> {
        let weights = self.weights()?;
        let components = (0..weights.len())
            .map(|k| Ok(self.observable().to_mean(&self.component(k)?)?))
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        self.join_mean_mixture(&weights, &components)
    }

    /// Splits joint mean parameters into the weights and each component's mean parameters
    /// `E[s_X | z = k]`; needs every observable coordinate coupled. A weight at or below
    /// 1e-12 is an empty component.
    pub fn split_mean_mixture(
        &self,
        mean: &[f64],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), HarmoniumError> {
        check_vector("mean", mean, self.param_dim())?;
        let (rows, cols) = self.interaction_shape();
        let dx = self.observable().dim();
        if rows != dx {
            return Err(HarmoniumError::Unsupported {
                operation: "splitting mixture mean parameters",
                reason: "every observable coordinate must be coupled (Coupling::Full)".into(),
            });
        }
        let (sx, rest) = mean.split_at(dx);
        let (pz, cross) = rest.split_at(cols);
        let p0 = 1.0 - pz.iter().sum::<f64>();
        let weights: Vec<f64> = std::iter::once(p0).chain(pz.iter().copied()).collect();
        if let Some(k) = weights.iter().position(|&w| w.is_nan() || w <= 1e-12) {
            return Err(HarmoniumError::EmptyComponent {
                category: k,
                weight: weights[k],
            });
        }
        let components = (0..=cols)
            .map(|k| {
                (0..dx)
                    .map(|r| {
                        if k == 0 {
                            (sx[r] - (0..cols).map(|c| cross[r * cols + c]).sum::<f64>()) / p0
                        } else {
                            cross[r * cols + k - 1] / weights[k]
                        }
                    })
                    .collect()
            })
            .collect();
        Ok((weights, components))
    }

    /// Joint mean parameters from weights and components' mean parameters (the inverse of
    /// [`Harmonium::split_mean_mixture`]).
    pub fn join_mean_mixture(
        &self,
        weights: &[f64],
        components: &[Vec<f64>],
    ) -> Result<Vec<f64>, HarmoniumError> {
        let (rows, cols) = self.interaction_shape();
        let dx = self.observable().dim();
        check_vector("weights", weights, cols + 1)?;
        if components.len() != cols + 1 {
            return Err(HarmoniumError::Invalid {
                field: "components",
                reason: format!(
                    "{} components for {} categories",
                    components.len(),
                    cols + 1
                ),
            });
        }
        for c in components {
            check_vector("component mean", c, dx)?;
        }
        let mut out: Vec<f64> = (0..dx)
            .map(|r| weights.iter().zip(components).map(|(w, c)| w * c[r]).sum())
            .collect();
        out.extend_from_slice(&weights[1..]);
        #[allow(clippy::needless_range_loop)] // r indexes every component
        for r in 0..rows {
            out.extend((1..=cols).map(|k| weights[k] * components[k][r]));
        }
        Ok(out)
    }
}
